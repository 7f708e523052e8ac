"""JVM start-up and 10-fold CV of RandomForest (1,000 x 30): wekawbc vs Weka's own command line.

Run: ``python3 -m benchmarks weka_cv``. Every variant runs on the same ARFF file in the same run,
interleaved (A B C A B C ...) so a busy machine slows each alike; medians of wall-clock and CPU
seconds (CPU is steadier when other jobs share the machine) are reported, nothing is subtracted.
"""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEATS = 3
CLASSIFIER = "weka.classifiers.trees.RandomForest"
STARTUP = ("import time; t = time.perf_counter(); from wekawbc.weka import jvm; jvm.start(); "
           "print(time.perf_counter() - t)")


def _write_data(path: Path) -> None:
    import arff
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=1000, n_features=30, n_informative=12, n_classes=5,
                               weights=[0.4, 0.25, 0.15, 0.12, 0.08], random_state=0)
    labels = ["neutrophil", "lymphocyte", "monocyte", "eosinophil", "basophil"]
    attributes = [(f"f{i}", "REAL") for i in range(x.shape[1])] + [("class", labels)]
    rows = [[*map(float, row), labels[c]] for row, c in zip(x, y)]
    path.write_text(arff.dumps({"relation": "bench", "attributes": attributes, "data": rows}))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _measure(command: list[str]) -> tuple[float, float, str]:
    """Wall-clock and CPU seconds (all threads) of a child process, and its stdout."""
    cpu, start = _children_cpu(), time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, _children_cpu() - cpu, output


def _timed(function) -> tuple[float, float]:
    """Wall-clock and process CPU seconds (every JVM thread included) of ``function()``."""
    cpu, start = time.process_time(), time.perf_counter()
    function()
    return time.perf_counter() - start, time.process_time() - cpu


def _in_process(data: Path) -> dict[str, list[tuple[float, float]]]:
    """Warm JVM: run_classifier (file in, WekaRun out) vs Weka's crossValidateModel on the loaded data."""
    from jpype import JClass

    from wekawbc.weka import load_instances, make_classifier, run_classifier

    def weka() -> None:
        instances = JClass("weka.core.converters.ConverterUtils$DataSource").read(str(data))
        instances.setClassIndex(instances.numAttributes() - 1)
        evaluation = JClass("weka.classifiers.Evaluation")(instances)
        evaluation.crossValidateModel(make_classifier(CLASSIFIER), instances, 10, JClass("java.util.Random")(1))

    def ours() -> None:
        run_classifier(data, CLASSIFIER, folds=10, seed=1)

    load_instances(data)  # warm the loader's classes for both
    times: dict[str, list[tuple[float, float]]] = {"ours": [], "weka": []}
    for repeat in range(REPEATS):  # alternate who goes first: the JIT warms up over the runs
        order = (("ours", ours), ("weka", weka)) if repeat % 2 == 0 else (("weka", weka), ("ours", ours))
        for name, function in order:
            times[name].append(_timed(function))
    return times


def _medians(values: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(v[0] for v in values), statistics.median(v[1] for v in values)


def main() -> str:
    from wekawbc.provenance import weka_jar_path
    from wekawbc.weka.jvm import find_java

    java = str(find_java().home / "bin" / "java")
    jar = str(weka_jar_path())
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "f.arff"
        _write_data(data)
        variants = {
            "jvm_start_wekawbc": [sys.executable, "-c", STARTUP],
            "jvm_start_java": [java, "-cp", jar, "weka.core.Version"],
            "cv_wekawbc": [sys.executable, "-m", "wekawbc", "weka", str(data), "--classifier", CLASSIFIER,
                           "--folds", "10", "--seed", "1"],
            "cv_weka_cli": [java, "-cp", jar, CLASSIFIER, "-t", str(data), "-x", "10", "-s", "1"],
            "cv_weka_cli_ov": [java, "-cp", jar, CLASSIFIER, "-t", str(data), "-x", "10", "-s", "1", "-o", "-v"],
        }
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
        start_inside: list[float] = []
        for _ in range(REPEATS):
            for name, command in variants.items():
                wall, cpu, output = _measure(command)
                times[name].append((wall, cpu))
                if name == "jvm_start_wekawbc":
                    start_inside.append(float(output.strip().splitlines()[-1]))
        warm = _in_process(data)
    med = {name: _medians(values) for name, values in {**times, **warm}.items()}

    def row(label: str, ours: str, weka: str) -> str:
        (ow, oc), (ww, wc) = med[ours], med[weka]
        return (f"| {label} | {ow:.2f} s wall, {oc:.2f} s CPU | {ww:.2f} s wall, {wc:.2f} s CPU | "
                f"{100 * (ow / ww - 1):+.1f} % wall, {100 * (oc / wc - 1):+.1f} % CPU |")

    return "\n".join([
        "## Weka bridge: JVM start-up and 10-fold CV of RandomForest (bench_weka_cv)",
        "",
        f"Command: `python3 -m benchmarks weka_cv`. Data: 1,000 instances x 30 numeric attributes, 5 imbalanced "
        f"classes (ARFF). `{CLASSIFIER}` with Weka's defaults (100 trees), 10 folds, seed 1. Median of {REPEATS} "
        f"interleaved runs; wall-clock and CPU seconds (all threads), nothing subtracted. Load average at the "
        f"end: {os.getloadavg()[0]:.1f}. Machine: {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, Java {find_java().home}.",
        "",
        "| what | wekawbc | Weka | wekawbc vs Weka |",
        "|---|---|---|---|",
        row("JVM start, whole process: `python -c 'jvm.start()'` (imports included) vs "
            "`java -cp weka.jar weka.core.Version`", "jvm_start_wekawbc", "jvm_start_java"),
        f"| of which `jvm.start()` alone | {statistics.median(start_inside):.2f} s wall | | |",
        row(f"10-fold CV, whole process: `wekawbc weka f.arff --classifier {CLASSIFIER} --folds 10 --seed 1` vs "
            f"`java -cp weka.jar {CLASSIFIER} -t f.arff -x 10 -s 1`", "cv_wekawbc", "cv_weka_cli"),
        row("same, Weka's command line doing only the CV (`-o -v`: no full-data model, no training-set "
            "statistics, i.e. the same work as wekawbc)", "cv_wekawbc", "cv_weka_cli_ov"),
        row("10-fold CV in one warm JVM: `run_classifier(f.arff, ...)` vs `DataSource.read` + "
            "`Evaluation.crossValidateModel`", "ours", "weka"),
        "",
        "Target: wekawbc's overhead over Weka's own CV at most 10 %.",
        "",
    ])


if __name__ == "__main__":
    print(main())
