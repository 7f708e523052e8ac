"""The whole pipeline at growing cell counts: synthetic cells -> features -> ARFF/Parquet -> Weka RandomForest
10-fold and a small CNN 10-fold -> evaluation -> report.

For each size (``WEKAWBC_SCALE_CELLS``, default ``1000,10000``): the generator writes that many
synthetic crops (the paper's class mix, seed 1; timed apart), then ``python3 -m wekawbc run`` runs
an experiment on them as a separate process under ``/usr/bin/time``: feature extraction (batches
written to disk as they finish), the ARFF (and Parquet when pyarrow is installed), Weka's
RandomForest (defaults) on 10 folds, the CNN on the same 10 folds (``WEKAWBC_SCALE_CNN``, default
``epochs = 1, image_size = 32, batch_size = 64, threads = 1``; ``none`` leaves it out), the evaluation engine, the
run folder and the HTML report.

Reported: wall and CPU time and peak resident memory of that process (the JVM and torch run inside
it): the larger of ``/usr/bin/time``'s peak (the largest single process's) and the peak of the resident
memory of the whole process tree (the run and any process it starts, summed), sampled every 0.2 s; and
per phase that sampled peak of the tree with the phase's wall and CPU time
(the CPU used after the last sample, under a second, is not counted):
``features`` (until the ARFF appears), ``grid`` (ARFF/Parquet, Weka and the CNN on every fold, until
the summary appears), ``report`` (the run folders and the HTML report). ``WEKAWBC_SCALE_HEAP``
sets the run's ``WEKAWBC_MAX_HEAP`` (default: unset, wekawbc's own default). Results as JSON
(``WEKAWBC_BENCH_JSON``, default ``docs/results/bench_scale.json``); ``python3 -m benchmarks.bench_scale
plot RESULTS.json [MORE.json ...] OUT.png`` draws the growth curve. ``WEKAWBC_SCALE_DATA`` (a path
with ``{cells}``, e.g. ``/tmp/data{cells}``) reuses data sets the generator wrote before (seed 1). Run: ``python3 -m benchmarks scale``.
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
_PHASES = ("features", "grid", "report")
_CNN_DEFAULT = "epochs = 1, image_size = 32, batch_size = 64, threads = 1"
_TRACE_S = 10.0
"""Seconds between the rows of the memory trace: elapsed s, tree RSS (MB), phase, units finished."""


def _config(data: Path, out: Path, cnn: str) -> str:
    text = f"""name = "scale"
[[datasets]]
name = "synthetic"
path = "{data}"
[evaluation]
folds = 10
repetitions = 1
[[classifiers]]
weka = "weka.classifiers.trees.RandomForest"
"""
    if cnn != "none":
        text += f"[[classifiers]]\ncnn = {{ {cnn} }}\n"
    return text + f"""[output]
reports = "{out / 'reports'}"
arff = "{out / 'arff'}"
cache = "{out / 'cache'}"
"""


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (children of each of its threads, recursively), from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                todo += [int(child) for child in children.read_text().split()]
            except OSError:
                pass
    return found


def _tree_rss_kb(pid: int) -> int:
    """The resident memory of ``pid`` and all its descendants, summed (a stage moved into a child counts)."""
    return sum(_rss_kb(member) for member in _tree(pid))


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds of the process ``pid`` so far (threads included), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _phase(root: Path) -> str:
    if not any((root / "arff").glob("*.arff")):
        return "features"
    if not any((root / "reports").glob("*/*/experiment.json")):
        return "grid"
    return "report"


def _watch(command: list[str], env: dict, root: Path) -> tuple[subprocess.CompletedProcess, dict, list]:
    """Run ``command`` (``/usr/bin/time`` around the run); the run's resident memory peak and wall time per phase,
    and a trace of the memory (:data:`_TRACE_S`)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    phases = {name: {"wall_s": 0.0, "cpu_s": 0.0, "peak_rss_mb": 0.0} for name in _PHASES}
    child = None
    started = last = time.perf_counter()
    last_cpu, trace, traced, stages = 0.0, [], -_TRACE_S, {}
    while process.poll() is None:
        time.sleep(0.2)
        if child is None:  # the Python process /usr/bin/time started
            children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
            child = int(children.read_text().split()[0]) if children.is_file() and children.read_text().split() else None
        now = time.perf_counter()
        phase = phases[_phase(root)]
        phase["wall_s"] += now - last
        last = now
        if child is not None:
            rss = _tree_rss_kb(child) / 1024
            phase["peak_rss_mb"] = max(phase["peak_rss_mb"], rss)
            units = sum(1 for _ in (root / "reports").rglob("unit.json"))
            stage = f"{_phase(root)}, {units} units done"
            stages[stage] = round(max(stages.get(stage, 0.0), rss), 1)
            if now - started - traced >= _TRACE_S:
                traced = now - started
                trace.append([round(traced), round(rss), _phase(root), units])
            cpu = _cpu_s(child) or last_cpu  # 0 once the process is gone
            phase["cpu_s"] += cpu - last_cpu
            last_cpu = cpu
    stdout, stderr = process.communicate()
    for phase in phases.values():
        for key in phase:
            phase[key] = round(phase[key], 1)
    # The peak of each stage: the phase and the units (schemes) finished, in the configuration's order.
    phases["stages"] = stages
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), phases, trace


def _one(cells: int, root: Path, cnn: str, heap: str | None) -> dict:
    from wekawbc.synthetic import PAPER_CLASS_COUNTS, scaled_counts, write_dataset

    started = time.perf_counter()
    given = os.environ.get("WEKAWBC_SCALE_DATA")
    if given:  # generated before (the same generator and seed), not timed here
        data, generated = Path(given.format(cells=cells)), None
        if not (data / "labels.csv").is_file():
            raise RuntimeError(f"{data}: no synthetic data set (labels.csv) there")
    else:
        data = write_dataset(root / "data", scaled_counts(cells / sum(PAPER_CLASS_COUNTS.values())), seed=1)
        generated = round(time.perf_counter() - started, 1)
    (root / "run.toml").write_text(_config(data, root, cnn))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(_ROOT), os.environ.get("PYTHONPATH"))))}
    env.pop("WEKAWBC_MAX_HEAP", None)
    if heap:
        env["WEKAWBC_MAX_HEAP"] = heap
    load = os.getloadavg()[0]
    done, phases, trace = _watch(["/usr/bin/time", "-f", "TIME %e %M %U %S", sys.executable, "-m", "wekawbc", "run",
                           str(root / "run.toml"), "--no-progress"], env, root)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    wall, peak_kb, user, system = done.stderr.strip().splitlines()[-1].split()[1:]
    # /usr/bin/time's peak is the largest single process's; the sampled one sums the process tree: the larger.
    sampled = max(phases[name]["peak_rss_mb"] for name in _PHASES)
    arff = next((root / "arff").glob("*.arff"))
    summary = json.loads(next((root / "reports").glob("*/*/experiment.json")).read_text())
    rows = summary.get("summary") or []
    return {"cells": sum(1 for _ in (data / "images").rglob("*.png")), "generate_s": generated,
            "run_wall_s": float(wall), "run_cpu_s": round(float(user) + float(system), 1),
            "peak_rss_mb": round(max(int(peak_kb) / 1024, sampled), 1),
            "peak_rss_mb_time": round(int(peak_kb) / 1024, 1), "peak_rss_mb_sampled_tree": sampled, "phases": phases,
            "max_heap": heap or "wekawbc default", "cnn": cnn,
            "arff_mb": round(arff.stat().st_size / 1024**2, 2),
            "parquet": any((root / "arff").glob("*.parquet")), "load_average_at_start": round(load, 1),
            "load_average_at_end": round(os.getloadavg()[0], 1),
            "scheme_seconds": {unit["scheme"]: unit["seconds"] for unit in
                               (json.loads(path.read_text()) for path in (root / "reports").rglob("unit.json"))},
            "trace": trace,
            "pct_correct": {row.get("scheme", str(i)): row.get("pct_correct_mean", row.get("pct_correct"))
                            for i, row in enumerate(rows)}}


def plot(results: list[Path], out: Path) -> Path:
    """Wall and CPU time and peak memory against the cell count, from results JSON files (their rows together)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(path.read_text()) for path in results]
    codes = " + ".join(dict.fromkeys(record["code"] for record in records))
    rows = sorted((row for record in records for row in record["rows"]),
                  key=lambda row: row["cells"])
    cells = [row["cells"] for row in rows]
    figure, (times, memory) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    times.plot(cells, [row["run_wall_s"] / 60 for row in rows], "o-", label="wall")
    times.plot(cells, [row["run_cpu_s"] / 60 for row in rows], "s-", label="CPU")
    times.plot(cells, [rows[-1]["run_cpu_s"] / 60 * c / cells[-1] for c in cells], "k:",
               label="CPU, linear through the largest")
    times.set(xscale="log", yscale="log", xlabel="cells", ylabel="minutes", title="time of `wekawbc run`")
    times.legend()
    memory.plot(cells, [row["peak_rss_mb"] for row in rows], "o-", label="whole run")
    for phase in _PHASES:
        memory.plot(cells, [row["phases"][phase]["peak_rss_mb"] for row in rows], ".--", label=phase)
    memory.set(xscale="log", xlabel="cells", ylabel="peak resident memory (MB)", ylim=(0, None),
               title="peak memory")
    memory.legend()
    figure.suptitle(f"bench_scale, code {codes}, {records[0]['machine']}", fontsize=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=90)
    return out


def main() -> str:
    sizes = [int(size) for size in os.environ.get("WEKAWBC_SCALE_CELLS", "1000,10000").split(",")]
    cnn = os.environ.get("WEKAWBC_SCALE_CNN", _CNN_DEFAULT)
    heap = os.environ.get("WEKAWBC_SCALE_HEAP") or None
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=_ROOT).stdout.strip()
    rows: list[dict] = []
    record = {"code": revision, "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                           f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 1024**3:.0f} GB",
              "python": platform.python_version(), "rows": rows}
    out = Path(os.environ.get("WEKAWBC_BENCH_JSON", _ROOT / "docs" / "results" / "bench_scale.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(_one(size, Path(tmp), cnn, heap))
        out.write_text(json.dumps(record, indent=1) + "\n")  # after each size: a long run keeps what it finished
    return markdown(record, out.name, cnn)


def markdown(record: dict, results: str, cnn: str) -> str:
    """The Markdown section of a results record (``python3 -m benchmarks.bench_scale table RESULTS.json``)."""
    rows, revision = record["rows"], record["code"]
    lines = [
        "## The whole pipeline at growing cell counts (bench_scale)",
        "",
        f"Command: `python3 -m benchmarks scale` (code {revision}; results {results}). Synthetic crops (128 px, the "
        "paper's class mix) -> `python3 -m wekawbc run`: features, ARFF and Parquet, Weka RandomForest (defaults) "
        f"and a CNN ({cnn}) 10-fold, evaluation, run folder and report, one process (JVM and torch inside). "
        f"Machine: {record['machine']}.",
        "",
        "| cells | generating (s) | run: wall (s) | run: CPU (s) | CPU ms per cell | peak memory (MB) "
        "| features: wall (s), CPU (s), peak (MB) | grid | report | load average start/end |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *(f"| {r['cells']:,} | {'-' if r['generate_s'] is None else r['generate_s']} | {r['run_wall_s']} | {r['run_cpu_s']} | "
          f"{1000 * r['run_cpu_s'] / r['cells']:.1f} | {r['peak_rss_mb']} | "
          + " | ".join(f"{r['phases'][p]['wall_s']}, {r['phases'][p]['cpu_s']}, {r['phases'][p]['peak_rss_mb']}"
                       for p in _PHASES)
          + f" | {r['load_average_at_start']}/{r['load_average_at_end']} |" for r in rows),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__" and sys.argv[1:2] == ["plot"]:
    print(plot([Path(name) for name in sys.argv[2:-1]], Path(sys.argv[-1])))
elif __name__ == "__main__" and sys.argv[1:2] == ["table"]:
    data = json.loads(Path(sys.argv[2]).read_text())
    print(markdown(data, Path(sys.argv[2]).name, data["rows"][0]["cnn"]))
