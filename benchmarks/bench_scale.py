"""The whole pipeline at growing cell counts: synthetic cells -> features -> ARFF -> Weka RandomForest 10-fold -> report.

For each size (``WEKAWBC_SCALE_CELLS``, default ``1000,10000``): the generator writes that many
synthetic crops (the paper's class mix, seed 1; timed apart), then ``python3 -m wekawbc run`` runs
an experiment on them as a separate process under ``/usr/bin/time``: feature extraction (batches
written to disk as they finish), the ARFF (and Parquet when pyarrow is installed), Weka's
RandomForest (defaults) on 10 folds, the evaluation engine, the run folder and the HTML report.
Reported: wall time and peak resident memory of that process (the JVM runs inside it), and the
results as JSON (``WEKAWBC_BENCH_JSON``, default ``docs/results/bench_scale.json``).
Run: ``python3 -m benchmarks scale``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent


def _config(data: Path, out: Path) -> str:
    return f"""name = "scale"
[[datasets]]
name = "synthetic"
path = "{data}"
[evaluation]
folds = 10
repetitions = 1
[[classifiers]]
weka = "weka.classifiers.trees.RandomForest"
[output]
reports = "{out / 'reports'}"
arff = "{out / 'arff'}"
cache = "{out / 'cache'}"
"""


def _one(cells: int, root: Path) -> dict:
    from wekawbc.synthetic import PAPER_CLASS_COUNTS, scaled_counts, write_dataset

    started = time.perf_counter()
    data = write_dataset(root / "data", scaled_counts(cells / sum(PAPER_CLASS_COUNTS.values())), seed=1)
    generated = time.perf_counter() - started
    (root / "run.toml").write_text(_config(data, root))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(_ROOT), os.environ.get("PYTHONPATH"))))}
    load = os.getloadavg()[0]
    done = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M %U %S", sys.executable, "-m", "wekawbc", "run",
                           str(root / "run.toml"), "--no-progress"], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    wall, peak_kb, user, system = done.stderr.strip().splitlines()[-1].split()[1:]
    arff = next((root / "arff").glob("*.arff"))
    summary = json.loads(next((root / "reports").rglob("experiment.json")).read_text())
    row = summary["summary"][0] if isinstance(summary.get("summary"), list) else {}
    return {"cells": sum(1 for _ in (data / "images").rglob("*.png")), "generate_s": round(generated, 1),
            "run_wall_s": float(wall), "run_cpu_s": round(float(user) + float(system), 1), "peak_rss_mb": round(int(peak_kb) / 1024, 1),
            "arff_mb": round(arff.stat().st_size / 1024**2, 2),
            "parquet": any((root / "arff").glob("*.parquet")), "load_average_at_start": round(load, 1),
            "pct_correct": row.get("pct_correct_mean", row.get("pct_correct"))}


def main() -> str:
    sizes = [int(size) for size in os.environ.get("WEKAWBC_SCALE_CELLS", "1000,10000").split(",")]
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=_ROOT).stdout.strip()
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(_one(size, Path(tmp)))
    record = {"code": revision, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "rows": rows}
    out = Path(os.environ.get("WEKAWBC_BENCH_JSON", _ROOT / "docs" / "results" / "bench_scale.json"))
    out.write_text(json.dumps(record, indent=1) + "\n")
    lines = [
        "## The whole pipeline at growing cell counts (bench_scale)",
        "",
        f"Command: `python3 -m benchmarks scale` (code {revision}; results {out.name}). Synthetic crops (128 px, the "
        "paper's class mix) -> `python3 -m wekawbc run`: features, ARFF, Weka RandomForest (defaults) 10-fold, "
        f"evaluation, run folder and report, one process (JVM inside). Machine: {record['machine']}, shared.",
        "",
        "| cells | generating the crops (s) | run: wall (s) | run: CPU (s) | run: peak memory (MB) | s per 1,000 cells | ARFF (MB) "
        "| Parquet | load average at start |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        *(f"| {r['cells']:,} | {r['generate_s']} | {r['run_wall_s']} | {r['run_cpu_s']} | {r['peak_rss_mb']} | "
          f"{1000 * r['run_wall_s'] / r['cells']:.1f} | {r['arff_mb']} | {'yes' if r['parquet'] else 'no (pyarrow absent)'} "
          f"| {r['load_average_at_start']} |" for r in rows),
        "",
    ]
    return "\n".join(lines)
