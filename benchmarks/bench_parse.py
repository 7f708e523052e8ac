"""Parsing a 1,000-evaluation Weka log: the current parser vs the parser on git ``main`` (the peer).

The log is made by real Weka 3.9.7 in this process's JVM: J48 under 5-fold cross-validation (``-v``,
so one evaluation per run, with the K&B lines of ``-k``) on the five-class corpus data of
``tests/weka_corpus.py``, seeds 1..1000 (``-s``), concatenated as a log of command-line runs. The peer
is the parse function of ``git show main:wekawbc/evaluation/parse.py``, loaded into a temporary
module (it imports the same renderers). Both must find the 1,000 evaluations with equal numbers;
each parses the log several times, best time counted, first shown in brackets; wall and CPU time.
"""

from __future__ import annotations

import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_SEEDS = 1000
REPEATS = 5
ROOT = Path(__file__).resolve().parent.parent


def make_log(folder: Path) -> str:
    """The concatenated text of 1,000 Weka command-line runs (one cross-validation each)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import weka_corpus as wc
    from wekawbc.weka import jvm

    jvm.start()
    files = wc.write_inputs(folder)
    texts = []
    for seed in range(1, N_SEEDS + 1):
        run = wc.Run(f"seed{seed}", wc.J48, (), ("-t", "{train}", "-x", "5", "-v", "-k", "-s", str(seed)),
                     train="train5", folds=5)
        texts.append(f"$ java weka.classifiers.trees.J48 -t train5.arff -x 5 -v -k -s {seed}\n"
                     + wc.run39(run, files, "en"))
    return "\n".join(texts)


def load_main_parser(folder: Path):
    """The parse module as committed on git ``main`` (the peer)."""
    source = subprocess.run(["git", "show", "main:wekawbc/evaluation/parse.py"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout
    revision = subprocess.run(["git", "rev-parse", "--short", "main"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    path = folder / "parse_main.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("wekawbc_parse_main", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, revision


def _time(parse, text: str) -> tuple[list[float], list[float], dict]:
    wall, cpu, result = [], [], None
    for _ in range(REPEATS):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = parse(text, "log.txt")
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return wall, cpu, result


def _numbers(result: dict) -> list:
    return [(b["summary"], b["classes"], b["weighted_avg"], b["confusion_matrix"]) for b in result["evaluations"]]


def _record(results: dict) -> None:
    """The figures as JSON beside the documentation (``docs/bench_parse.json``), written atomically."""
    import json

    from wekawbc._io import atomic_write_text

    atomic_write_text(ROOT / "docs" / "bench_parse.json", json.dumps(results, indent=1) + "\n")


def main() -> str:
    from wekawbc.evaluation.parse import parse_text
    from wekawbc.provenance import weka_version

    load = os.getloadavg()[0]
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        log = make_log(Path(folder))
        made = time.perf_counter() - start
        old, main_revision = load_main_parser(Path(folder))
        new_wall, new_cpu, new = _time(parse_text, log)
        old_wall, old_cpu, old_result = _time(old.parse_text, log)
    same = _numbers(new) == _numbers(old_result)
    lines = log.count("\n") + 1
    _record({"command": "python3 -m benchmarks parse", "code": revision, "peer": f"main {main_revision}",
             "load_average_start": load, "cores": os.cpu_count(), "weka": weka_version(), "evaluations": N_SEEDS,
             "log_lines": lines, "log_bytes": len(log.encode()), "repeats": REPEATS,
             "this_branch": {"found": len(new["evaluations"]), "wall_s": new_wall, "cpu_s": new_cpu,
                             "warnings": len(new["warnings"])},
             "main": {"found": len(old_result["evaluations"]), "wall_s": old_wall, "cpu_s": old_cpu},
             "same_numbers": same})
    return "\n".join([
        "## Weka-text parser: a 1,000-evaluation log (bench_parse)",
        "",
        f"Command: `python3 -m benchmarks parse` (code at {revision}; peer: `parse_text` of git `main` at "
        f"{main_revision}; machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
        f"average {load:.1f} at the start; Weka {weka_version()}).",
        f"Log: {N_SEEDS} runs of Weka's J48 (`-x 5 -v -k -s SEED`, five classes, 120 instances), {lines:,} lines, "
        f"{len(log.encode()) / 1e6:.2f} MB, made by Weka in {made:.1f} s. Best of {REPEATS} (first in brackets).",
        "",
        "| | this branch `parse_text` | `main`'s `parse_text` (peer) |",
        "|---|---|---|",
        f"| evaluations found | {len(new['evaluations'])} | {len(old_result['evaluations'])} |",
        f"| wall | **{min(new_wall):.3f} s** ({new_wall[0]:.3f}) | **{min(old_wall):.3f} s** ({old_wall[0]:.3f}) |",
        f"| CPU | {min(new_cpu):.3f} s ({new_cpu[0]:.3f}) | {min(old_cpu):.3f} s ({old_cpu[0]:.3f}) |",
        f"| per evaluation (best wall) | {1e3 * min(new_wall) / N_SEEDS:.2f} ms | {1e3 * min(old_wall) / N_SEEDS:.2f} ms |",
        "",
        f"Ratio this branch / main: best wall {min(new_wall) / min(old_wall):.2f}, best CPU "
        f"{min(new_cpu) / min(old_cpu):.2f} (CPU is the steadier figure on a shared machine). "
        f"Same numbers from both (summary, class details, matrix of every evaluation): {'yes' if same else 'NO'}. "
        f"Warnings from this branch: {len(new['warnings'])}.",
        "",
    ])


if __name__ == "__main__":
    print(main())
