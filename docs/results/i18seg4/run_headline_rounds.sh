#!/bin/bash
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 WEKAWBC_DATASETS=/work/shared/datasets
for round in 1 2; do
  for tree in /tmp/i18seg4/base /work/wt-i18seg4; do
    name=$([ $tree = /work/wt-i18seg4 ] && echo now || echo base30d4b20)
    (cd $tree && PYTHONPATH=$tree nice python3 -m benchmarks extract > /tmp/i18seg4/h_${name}_$round.md 2>/dev/null)
    echo "$name $round $(date -u) $(grep -m1 'extract_features' /tmp/i18seg4/h_${name}_$round.md | awk -F'|' '{print $5, $6}')"
  done
done
