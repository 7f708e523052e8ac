while kill -0 $(cat /tmp/i12x/q1.pid) 2>/dev/null; do sleep 10; done
cd /work/wt-i12
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONPATH=/work/wt-i12
E=docs/cross_lab_results/cnn_exploration2/exp2.py
nice -n 10 python3 $E --name rsq_mild_s2 --input rsq --aug '{"hue":0.05,"stain":0.2,"blur":0.8,"scale":0.1}' --seed 2
nice -n 10 python3 $E --name rsq_mild_s3 --input rsq --aug '{"hue":0.05,"stain":0.2,"blur":0.8,"scale":0.1}' --seed 3
