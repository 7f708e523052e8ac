"""Full Weka evaluation of 1,000,000 predictions × 5 classes: wekawbc's engine vs Weka's own Evaluation.

Both sides get the same predictions (10 folds, imbalanced white-blood-cell-like classes, soft
distributions, so about a million distinct scores per class for the ROC/PRC curves) and compute
every number and the full text (summary, per-class details with ROC and PRC areas, confusion
matrix). Weka runs in a small Java harness (``benchmarks/WekaEvaluationBench.java``, compiled with
``javac`` against the bundled weka.jar); its instances are built before its clock starts. Each side
runs several times (wekawbc 3, Weka 2); the best time counts and the first is shown too. Wall and CPU
time are both reported because the machine is shared. The two texts must be identical.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

N_PREDICTIONS = 1_000_000
CLASSES = ("neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil")
PROPORTIONS = (0.6, 0.25, 0.08, 0.05, 0.02)
FOLDS = 10
REPEATS = 3
WEKA_REPEATS = 2  # Weka needs about a minute a run on the 2-core machine
SEED = 1


def make_predictions(n: int = N_PREDICTIONS, seed: int = SEED):
    """Imbalanced, fold-ordered soft predictions with the training counts of a 10-fold CV."""
    from wekawbc.predictions import Predictions

    rng = np.random.default_rng(seed)
    k = len(CLASSES)
    actual = rng.choice(k, size=n, p=PROPORTIONS)
    logits = rng.normal(size=(n, k)) + 2.0 * np.eye(k)[actual]
    distribution = np.exp(logits)
    distribution /= distribution.sum(axis=1, keepdims=True)
    fold = np.sort(rng.integers(0, FOLDS, n))
    per_fold = np.array([np.bincount(actual[fold == f], minlength=k) for f in range(FOLDS)], dtype=float)
    train_counts = per_fold.sum(axis=0) - per_fold
    return Predictions(CLASSES, actual, distribution, np.ones(n), fold, train_counts)


def _write_binary(predictions, path: Path) -> None:
    n, k = predictions.n_instances, predictions.n_classes
    with open(path, "wb") as handle:
        handle.write(np.array([n, k, predictions.train_counts.shape[0]], dtype="<i4").tobytes())
        handle.write(predictions.actual.astype("<i4").tobytes())
        handle.write(predictions.fold.astype("<i4").tobytes())
        handle.write(predictions.weight.astype("<f8").tobytes())
        handle.write(predictions.distribution.astype("<f8").tobytes())
        handle.write(predictions.train_counts.astype("<f8").tobytes())


def _run_weka(predictions, workdir: Path) -> tuple[list[float], list[float], list[float], str]:
    from wekawbc.provenance import weka_jar_path
    from wekawbc.weka.jvm import find_java

    java_home = find_java().home
    source = Path(__file__).with_name("WekaEvaluationBench.java")
    jar = str(weka_jar_path())
    subprocess.run([str(java_home / "bin" / "javac"), "-cp", jar, "-d", str(workdir), str(source)],
                   check=True, capture_output=True, text=True)
    data, text_path = workdir / "predictions.bin", workdir / "weka.txt"
    _write_binary(predictions, data)
    done = subprocess.run([str(java_home / "bin" / "java"), "-Xmx6g", "-cp", f"{jar}{os.pathsep}{workdir}",
                           "WekaEvaluationBench", str(data), str(WEKA_REPEATS), str(text_path)],
                          check=True, capture_output=True, text=True)
    runs = [tuple(map(float, re.findall(r"[\d.]+(?:E-?\d+)?", line))) for line in done.stdout.splitlines()]
    # Weka 3.9's text labels the classes c0..c4; rename to compare with ours.
    text = text_path.read_text()
    for j, label in enumerate(CLASSES):
        text = re.sub(rf"(?m)^(.*\s)c{j}$", rf"\g<1>{label}", text)
    return [run[0] for run in runs], [run[0] + run[1] for run in runs], [run[2] for run in runs], text


def _run_wekawbc(predictions) -> tuple[list[float], list[float], list[float], str]:
    from wekawbc.evaluation import evaluate

    numbers, totals, cpu, text = [], [], [], ""
    for _ in range(REPEATS):
        cpu_start, start = time.process_time(), time.perf_counter()
        result = evaluate(predictions)
        computed = time.perf_counter()
        text = result.weka_text()
        totals.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
        numbers.append(computed - start)
    return numbers, totals, cpu, text


def main() -> str:
    predictions = make_predictions()
    load = os.getloadavg()[0]
    ours_numbers, ours_total, ours_cpu, ours_text = _run_wekawbc(predictions)
    with tempfile.TemporaryDirectory() as folder:
        weka_feed, weka_total, weka_cpu, weka_text = _run_weka(predictions, Path(folder))
    identical = ours_text == weka_text
    from wekawbc.provenance import library_versions, weka_version

    versions = library_versions()
    return "\n".join([
        "## Evaluation engine: 1,000,000 predictions × 5 classes, full Weka evaluation",
        "",
        f"Command: `python3 -m benchmarks evaluation` (machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, load average {load:.1f} at the start; numpy {versions.get('numpy')}, "
        f"Weka {weka_version()}).",
        "Same predictions (10 folds, classes 60/25/8/5/2 %, soft distributions, seed 1) for both; each "
        "computes every number and the text (summary + class details with ROC/PRC areas + confusion matrix). "
        "Best run (first run in brackets); wekawbc ran 3 times, Weka 2.",
        "",
        "| | wekawbc `evaluate()` + `weka_text()` | Weka `Evaluation` (Java harness) |",
        "|---|---|---|",
        f"| numbers (Weka: feeding the predictions) | {min(ours_numbers):.3f} s ({ours_numbers[0]:.3f}) "
        f"| {min(weka_feed):.3f} s ({weka_feed[0]:.3f}) |",
        f"| total, text included (wall) | **{min(ours_total):.3f} s** ({ours_total[0]:.3f}) "
        f"| **{min(weka_total):.3f} s** ({weka_total[0]:.3f}) |",
        f"| total, CPU time of the process / Java main thread | {min(ours_cpu):.3f} s ({ours_cpu[0]:.3f}) "
        f"| {min(weka_cpu):.3f} s ({weka_cpu[0]:.3f}) |",
        "",
        f"Speed-up (best totals): {min(weka_total) / min(ours_total):.1f}×. "
        f"Texts byte-identical: {'yes' if identical else 'NO'}.",
        "",
    ])


if __name__ == "__main__":
    print(main())
