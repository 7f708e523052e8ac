"""Extraction speed before and after issue 17: the same crops, both code versions, interleaved.

Run: git archive 2247b90 | tar -x -C /tmp/base && PYTHONPATH=. python3 docs/cells_results/extract_speed.py /tmp/base docs/cells_results/extract_speed.json
(an optional third argument names the archived commit when it is not 2247b90).

Each round runs ``extract_features(read_image(path), mode="crop")`` on 100 pbc crops (20 per
class, every 35th) in a fresh process, once with the code in BASE_DIR (the commit before issue 17)
and once with this checkout, alternately (A B A B A B); the figure is cells per CPU-second of that
process (least affected by other work on a shared machine), best of 3 rounds.
"""
import json
import os
import subprocess
import sys

BASE, OUT = sys.argv[1], sys.argv[2]
BASE_COMMIT = sys.argv[3] if len(sys.argv) > 3 else "2247b90"  # the commit archived in BASE
ROUNDS = 3
SNIPPET = """
import time, cv2
cv2.setNumThreads(1)
from wekawbc.cells.dataset import CLASSES, load_dataset, read_image
from wekawbc.features import extract_features, feature_names
data = load_dataset(DATA)
paths = [r.image for name in CLASSES for r in [r for r in data if r.label == name][::35][:20]]
extract_features(read_image(paths[0]), mode="crop")
cpu = time.process_time(); wall = time.perf_counter(); cells = 0
for path in paths:
    cells += len(extract_features(read_image(path), mode="crop"))
print(cells / (time.process_time() - cpu), cells / (time.perf_counter() - wall), len(feature_names()))
"""


DATA = os.path.abspath("../shared/datasets/pbc")


def run(path: str) -> list[float]:
    # Run inside ``path``: ``python -c`` puts the working folder first on sys.path.
    env = dict(os.environ, PYTHONPATH=path, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", f"DATA = {DATA!r}" + SNIPPET], env=env, cwd=path,
                         capture_output=True, text=True, check=True)
    return [float(v) for v in out.stdout.split()]


rounds = {"before": [], "after": []}
for _ in range(ROUNDS):
    rounds["before"].append(run(BASE))
    rounds["after"].append(run(os.getcwd()))
best = {key: max(r[0] for r in values) for key, values in rounds.items()}
result = {"command": " ".join(sys.argv), "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"],
          capture_output=True, text=True).stdout.strip(), "base_commit": BASE_COMMIT, "crops": 100,
          "cells_per_cpu_second": best, "ratio_after_before": best["after"] / best["before"],
          "features": {key: int(values[0][2]) for key, values in rounds.items()},
          "rounds_cpu_wall": rounds, "load_average": os.getloadavg()[0]}
json.dump(result, open(OUT, "w"), indent=2)
print(json.dumps(result, indent=2))
