export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python3 exp3.py --name m_nr --stain nucleus-relative --masked
python3 exp3.py --name rsq --stain reinhard-square
python3 exp3.py --name m_nr_s2 --stain nucleus-relative --masked --seed 2
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python3 exp3.py --name nr --stain nucleus-relative
python3 exp3.py --name m_rc --stain reinhard-cell --masked
python3 exp3.py --name m_rsq --stain reinhard-square --masked
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python3 exp3.py --name m_rsq_s2 --stain reinhard-square --masked --seed 2
python3 exp3.py --name rsq_s2 --stain reinhard-square --seed 2
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python3 exp3.py --name m_rsq_wide --stain reinhard-square --masked --aug '{"hue": 0.1, "stain": 0.4, "blur": 0.8, "scale": 0.1}'
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
while kill -0 $(cat /tmp/i12c3/q4.pid) 2>/dev/null; do sleep 5; done
python3 exp3.py --name m_rsq_sv --stain reinhard-square --masked --aug '{"hue": 0.05, "stain": 0.2, "blur": 0.8, "scale": 0.1, "stain_vectors": 0.2}'
python3 exp3.py --name m_rsq_sv_s2 --stain reinhard-square --masked --seed 2 --aug '{"hue": 0.05, "stain": 0.2, "blur": 0.8, "scale": 0.1, "stain_vectors": 0.2}'
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
python3 exp3.py --name m_shape --stain reinhard-square --masked --channels shape --aug '{"scale": 0.1, "blur": 0.8, "saturation": 0.0, "channel_gain": 0.0}' &
python3 exp3.py --name m_shape_s2 --stain reinhard-square --masked --channels shape --aug '{"scale": 0.1, "blur": 0.8, "saturation": 0.0, "channel_gain": 0.0}' --seed 2
wait
python3 exp3.py --name m_rsq_sv05 --stain reinhard-square --masked --aug '{"hue": 0.05, "stain": 0.2, "blur": 0.8, "scale": 0.1, "stain_vectors": 0.05}'
python3 exp3.py --name m_rbc --stain rbc-relative --masked &
python3 exp3.py --name rbc --stain rbc-relative
