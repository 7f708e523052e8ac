cd /work/wt-i12
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/wt-i12
E=docs/cross_lab_results/cnn_exploration2/exp2.py
nice -n 10 python3 $E --name rsq_basic --input rsq
nice -n 10 python3 $E --name cell_basic --input cell
nice -n 10 python3 $E --name rsq_mild --input rsq --aug '{"hue":0.05,"stain":0.2,"blur":0.8,"scale":0.1}'
nice -n 10 python3 $E --name rsq_wide --input rsq --aug '{"hue":0.1,"stain":0.5,"blur":1.0,"scale":0.1,"saturation":0.3}'
nice -n 10 python3 $E --name cell_wide --input cell --aug '{"hue":0.1,"stain":0.5,"blur":1.0,"scale":0.1,"saturation":0.3}'
nice -n 10 python3 $E --name cell_grey --input cell --colour grey
nice -n 10 python3 $E --name cell_hema --input cell --colour hema
