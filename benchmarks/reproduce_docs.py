"""Regenerate the figures of docs/ from the shared data: ``python3 -m benchmarks.reproduce_docs [PART ...]``.

Each part runs documented ``wekawbc`` commands (at ``nice -n 10``, one thread per process) from a
clean work folder, then writes its results file under ``docs/results/`` (``pbc/`` unless said below) (the numbers the docs
show, the commands, the commit and library versions that made them, the wall time); at the end the
doc tables are rendered from the results files (:mod:`benchmarks.docs_tables`). Running it again
gives the same files (the runs are seeded and deterministic; only the times and dates change).

Parts, in order (a later part may read an earlier one's output):

    fast-j48      J48, 1 x 10-fold, on 100 pbc crops (re-run by tests/test_docs_tables.py)
    weka-five     wekawbc run docs/experiment_pbc.toml          (docs/experiment_pbc.md)
    weka-binary   wekawbc run docs/experiment_pbc_binary.toml   (docs/experiment_pbc.md)
    report        wekawbc report / compare on weka-five's and weka-binary's run folders (docs/report_pbc.md)
    cnn-five-split  the CNN (wekawbc cnn evaluate), RandomForest and J48 (wekawbc weka on weka-five's ARFF)
                  on one 66 % split of the same cells (docs/cnn.md)
    cnn-five      the CNN, 1 x 10-fold on Weka's folds, five-class (docs/cnn.md)
    audit         wekawbc audit alkrimi2023 --json (docs/audit_alkrimi2023.md; results in docs/results/audit/)
    cells         wekawbc validate-cells: segmentation Dice on jtsc and bccd, detection on bccd in five stains
                  (docs/cells.md; results in docs/results/cells/)
    demo          wekawbc demo (J48, RandomForest, SMO, Logistic, CNN on 1000 synthetic crops) and the Dice of the
                  segmentation on its synthetic set (docs/experiment.md; results in docs/results/demo/)
    arff-weka     wekawbc extract on every image of jtsc, bccd and pbc, then J48 10-fold on each ARFF
                  (docs/cells.md; results in docs/results/cells/arff_weka.json)

``--collect-only`` rebuilds the results files from the outputs already in ``reports/`` (and their
``reports/reproduce/PART.made_by.json``) without running anything. See docs/REPRODUCE.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results" / "pbc"
WORK = ROOT / "reports" / "reproduce"
PBC = "../shared/datasets/pbc"
J48 = "weka.classifiers.trees.J48 -C 0.25 -M 2"
RF = "weka.classifiers.trees.RandomForest -P 100 -I 100 -num-slots 1 -K 0 -M 1.0 -V 0.001 -S 1"
FAST_COUNTS = "neutrophil=40,lymphocyte=20,eosinophil=20,monocyte=10,basophil=10"
SPLIT_RUNS = ("CNN", "RandomForest", "J48")
FIVE = ROOT / "reports" / "pbc-paper-mix" / "pbc-five"
BINARY = ROOT / "reports" / "pbc-paper-mix-binary" / "pbc-binary"


@dataclass(frozen=True)
class Part:
    """One regeneration step: the commands (``wekawbc`` arguments), what to delete first, how to collect."""

    name: str
    commands: tuple[tuple[str, ...], ...]
    collect: Callable[["Part", dict[str, Any]], dict[str, dict[str, Any]]]
    """made_by -> {results file name: content without made_by}."""
    clean: tuple[str, ...] = field(default=())
    """Paths (from the repository root) removed before the commands run."""
    results: Path = RESULTS
    """The folder its results files go to."""
    stdout: str | None = None
    """A file of the work folder that the last command's standard output goes to (instead of the log)."""
    exit_codes: tuple[int, ...] = (0,)
    """Exit codes that count as success (3: ``extract`` went on past images it lists, as documented)."""

    @property
    def work(self) -> Path:
        return WORK / self.name


def _display(arguments: tuple[str, ...]) -> str:
    return "wekawbc " + " ".join(shlex.quote(a) for a in arguments)


def _git(*arguments: str) -> str:
    return subprocess.run(["git", *arguments], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


def run_part(part: Part) -> dict[str, Any]:
    """Run a part's commands from a clean work folder; its made_by record (also written beside the outputs)."""
    from wekawbc.provenance import library_versions

    for path in (*part.clean, str(part.work.relative_to(ROOT))):
        target = ROOT / path
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    part.work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    commit, changed = _git("rev-parse", "--short", "HEAD"), bool(_git("status", "--porcelain", "--", "wekawbc"))
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    with open(WORK / f"{part.name}.log", "w") as log:
        for i, arguments in enumerate(part.commands, 1):
            print(f"[{part.name}] {_display(arguments)}", flush=True)
            to_file = part.stdout is not None and i == len(part.commands)
            with open(part.work / part.stdout, "w") if to_file else contextlib.nullcontext(log) as out:
                done = subprocess.run(["nice", "-n", "10", sys.executable, "-m", "wekawbc", *arguments], cwd=ROOT,
                                      env=env, stdout=out, stderr=log if to_file else subprocess.STDOUT)
            if done.returncode not in part.exit_codes:
                raise subprocess.CalledProcessError(done.returncode, _display(arguments))
    made_by = {"commands": [_display(a) for a in part.commands], "commit": commit, "code_changed_since_commit": changed,
               "versions": library_versions(), "started": started,
               "wall_s": round(time.perf_counter() - t0, 1), "machine": f"{os.cpu_count()} CPUs, nice -n 10"}
    (WORK / f"{part.name}.made_by.json").write_text(json.dumps(made_by, indent=1) + "\n")
    return made_by


def _write_results(folder: Path, made_by: dict[str, Any], results: dict[str, dict[str, Any]]) -> None:
    from wekawbc._io import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    for name, content in results.items():
        atomic_write_text(folder / name, json.dumps({"made_by": made_by, **content}, indent=1,
                                                     ensure_ascii=False, allow_nan=False) + "\n")


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


# ---- collectors: the numbers the docs show, taken from what the commands wrote --------------------------------


def _collect_fast(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    data = _read(part.work / "j48.json")
    keep = ("classifier", "mode", "seed", "folds", "n_instances", "labels", "statistics", "class_statistics",
            "confusion_matrix", "train_counts", "weka_text")
    return {"fast_j48.json": {key: data[key] for key in keep}}


def _run_numbers(folder: Path) -> dict[str, Any]:
    """A run folder's figures (its report.json): summary, averages, per class, matrix, bootstrap intervals."""
    report = _read(folder / "report.json")
    evaluation = report["evaluation"]
    summary = evaluation["summary"]
    keep = ("correct_pct", "kappa", "mean_absolute_error", "root_mean_squared_error", "total_instances")
    per_class = {key: [row[key] for row in evaluation["classes"]] for key in ("recall", "precision", "f_measure")}
    return {"labels": evaluation["labels"], "summary": {key: summary[key] for key in keep},
            "weighted_avg": evaluation["weighted_avg"], "macro_avg": evaluation["macro_avg"], "classes": per_class,
            "confusion_matrix": evaluation["confusion_matrix"]["matrix"], "bootstrap": report["bootstrap"],
            "settings": report["settings"]}


def _experiment(folder: Path) -> dict[str, Any]:
    data = _read(folder / "experiment.json")
    runs = {path.name: _run_numbers(path) for path in sorted((folder / "runs").iterdir()) if path.is_dir()}
    return {key: data[key] for key in ("dataset", "task", "evaluation", "seeds", "baseline", "alpha", "tests")} | {
        "runs": runs}


def _copy_experiment_files(folder: Path, target: Path) -> None:
    """The run's own Experimenter tables and comparison, as it wrote them (docs/experiment_pbc_results/)."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("experiment.md", "experiment.txt", "compare_alkrimi2023.md"):
        shutil.copyfile(folder / name, target / name)


def _collect_five(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _copy_experiment_files(FIVE, ROOT / "docs" / "experiment_pbc_results")
    return {"experiment_five.json": _experiment(FIVE)}


def _collect_binary(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    _copy_experiment_files(BINARY, ROOT / "docs" / "experiment_pbc_results" / "binary")
    return {"experiment_binary.json": _experiment(BINARY)}


def _collect_report(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    def comparison(folder: str) -> dict[str, Any]:
        (path,) = (part.work / folder).glob("compare_alkrimi2023_*.json")
        return _read(path)

    return {"report_runs.json": _read(part.work / "runs" / "runs.json"),
            "report_compare_five.json": comparison("compare_five"),
            "report_compare_binary.json": comparison("compare_binary")}


def _collect_split(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"cnn_five_split.json": {"runs": {name: _run_numbers(part.work / name) for name in SPLIT_RUNS}}}


def _collect_cnn(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{part.name.replace('-', '_')}.json": _run_numbers(part.work)}


def _cnn(name: str, *options: str) -> Part:
    command = ("cnn", "evaluate", PBC, "--folds", "10", "--seed", "1", "--class-counts", "paper", "--threads", "1",
               *options, "--out", f"reports/reproduce/{name}")
    return Part(name, (command,), _collect_cnn)


def _split_part() -> Part:
    out = "reports/reproduce/cnn-five-split"
    arff = "arff_exports/pbc-paper-mix-pbc-five.arff"
    return Part("cnn-five-split", (
        ("cnn", "evaluate", PBC, "--split", "66", "--seed", "1", "--class-counts", "paper", "--task", "five",
         "--threads", "1", "--out", f"{out}/CNN"),
        ("weka", arff, "--classifier", RF, "--split", "66", "--seed", "1", "--out", f"{out}/RandomForest"),
        ("weka", arff, "--classifier", J48, "--split", "66", "--seed", "1", "--out", f"{out}/J48")), _collect_split)


def _report_part() -> Part:
    five = [str((FIVE / "runs" / scheme).relative_to(ROOT)) for scheme in ("RandomForest", "J48")]
    binary = [str((BINARY / "runs" / scheme).relative_to(ROOT)) for scheme in ("RandomForest", "J48")]
    return Part("report", (("report", *five, "-o", "reports/reproduce/report/runs"),
                           ("compare", "alkrimi2023", *five, "-o", "reports/reproduce/report/compare_five"),
                           ("compare", "alkrimi2023", *binary, "-o", "reports/reproduce/report/compare_binary")),
                _collect_report)


DOCS = ROOT / "docs" / "results"
JTSC, BCCD = "../shared/datasets/jtsc", "../shared/datasets/bccd"
SHARES = ("held-out", "all", "development")
STAINS = (None, "bluish", "violet", "orange", "pale")


def _validation(dataset: str, check: str, share: str, *options: str) -> tuple[str, ...]:
    """``wekawbc validate-cells`` writing its JSON to the cells part's work folder, named as its results file."""
    name = f"{Path(dataset).name}-{check}-{share}{''.join('-' + o.lstrip('-') for o in options if o != '--stain')}"
    return ("validate-cells", dataset, "--check", check, "--share", share, *options, "--json",
            f"reports/reproduce/cells/{name}.json")


def _cells_part() -> Part:
    commands = [_validation(JTSC, "segmentation", share) for share in SHARES]
    commands += [_validation(BCCD, "segmentation", share, "--fields") for share in ("all", "held-out")]
    commands += [_validation(BCCD, "detection", share, *(("--stain", stain) if stain else ()))
                 for share in ("development", "held-out") for stain in STAINS]
    return Part("cells", tuple(commands), _collect_cells, results=DOCS / "cells")


def _collect_cells(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {path.name: _read(path) for path in sorted(part.work.glob("*.json"))}


def _collect_demo(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"demo.json": _experiment(part.work / "synthetic-five"),
            "synthetic_segmentation.json": _read(part.work / "synthetic-segmentation.json")}


def _collect_audit(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {"alkrimi2023.json": _read(part.work / "audit.json")}


ARFF_SETS = ("jtsc", "bccd", "pbc")


def _arff_part() -> Part:
    """Every image of each shared data set through ``wekawbc extract``, then J48's 10-fold CV on the ARFF."""
    commands: list[tuple[str, ...]] = []
    for name in ARFF_SETS:
        arff = f"reports/reproduce/arff-weka/{name}.arff"
        commands += [("extract", f"../shared/datasets/{name}", "-o", arff, "--jobs", "2"),
                     ("weka", arff, "--classifier", J48, "--folds", "10", "--seed", "1", "--json",
                      f"reports/reproduce/arff-weka/{name}_j48.json")]
    return Part("arff-weka", tuple(commands), _collect_arff, results=DOCS / "cells", exit_codes=(0, 3))


def _collect_arff(part: Part, made_by: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rows = []
    for name in ARFF_SETS:
        header = (part.work / f"{name}.arff").read_text(encoding="utf-8").split("@data", 1)[0]
        attributes = sum(1 for line in header.splitlines() if line.lower().startswith("@attribute"))
        run = _read(part.work / f"{name}_j48.json")
        statistics = run["statistics"]
        rows.append({"data_set": name, "instances": int(run["n_instances"]), "features": attributes - 1,
                     "scored": statistics["total_instances"], "pct_correct": statistics["pct_correct"],
                     "kappa": statistics["kappa"]})
    return {"arff_weka.json": {"classifier": J48, "folds": 10, "seed": 1, "rows": rows}}


PARTS: tuple[Part, ...] = (
    Part("fast-j48", (("cnn", "subsample", PBC, "--class-counts", FAST_COUNTS, "-o", "reports/reproduce/fast-j48/pbc100"),
                      ("extract", "reports/reproduce/fast-j48/pbc100", "-o", "reports/reproduce/fast-j48/pbc100.arff",
                       "--mode", "crop", "--allow-outside"),
                      ("weka", "reports/reproduce/fast-j48/pbc100.arff", "--classifier", J48, "--folds", "10",
                       "--seed", "1", "--json", "reports/reproduce/fast-j48/j48.json")),
         _collect_fast),
    Part("weka-five", (("run", "docs/experiment_pbc.toml"),), _collect_five,
         clean=("reports/pbc-paper-mix", "reports/pbc-paper-mix-cache", "arff_exports/pbc-paper-mix-pbc-five.arff")),
    Part("weka-binary", (("run", "docs/experiment_pbc_binary.toml"),), _collect_binary,
         clean=("reports/pbc-paper-mix-binary", "arff_exports/pbc-paper-mix-binary-pbc-binary.arff")),
    _report_part(),
    _split_part(),
    _cnn("cnn-five", "--task", "five"),
    Part("audit", (("audit", "alkrimi2023", "--json"),), _collect_audit, results=DOCS / "audit", stdout="audit.json"),
    _cells_part(),
    Part("demo", (("demo", "--out", "reports/reproduce/demo", "--no-progress"),
                  ("validate-cells", "reports/reproduce/demo/synthetic", "--check", "segmentation", "--json",
                   "reports/reproduce/demo/synthetic-segmentation.json")), _collect_demo, results=DOCS / "demo"),
    _arff_part(),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.reproduce_docs", description=__doc__.split("\n")[0])
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"parts to run (default: all): "
                        f"{', '.join(p.name for p in PARTS)}")
    parser.add_argument("--collect-only", action="store_true",
                        help="only rebuild the results files and tables from the outputs already written")
    args = parser.parse_args(argv)
    chosen = args.parts or [p.name for p in PARTS]
    unknown = sorted(set(chosen) - {p.name for p in PARTS})
    if unknown:
        parser.error(f"unknown part(s) {unknown}")
    sys.path.insert(0, str(ROOT))
    for part in (p for p in PARTS if p.name in chosen):
        if args.collect_only:
            made_by = _read(WORK / f"{part.name}.made_by.json")
        else:
            made_by = run_part(part)
            print(f"[{part.name}] {made_by['wall_s']:.0f} s", flush=True)
        _write_results(part.results, made_by, part.collect(part, made_by))
    from benchmarks.docs_tables import main as tables

    return tables([])


if __name__ == "__main__":
    sys.exit(main())
