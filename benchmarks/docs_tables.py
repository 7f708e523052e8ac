"""The tables of docs/ rendered from their results files: ``python3 -m benchmarks.docs_tables [--check]``.

A table in a Markdown file of docs/ (or README.md) lives between two markers::

    <!-- table: RENDERER from results/pbc/cnn_five.json, results/pbc/experiment_five.json#J48 -->
    ...generated, do not edit...
    <!-- /table -->

``RENDERER`` names a function of :data:`RENDERERS`; the sources are results files (paths relative to
the Markdown file), ``FILE#RUN`` picking one run of a file that holds several (its ``runs``: an
experiment's repetition 1, the runs of one split). Every results file records what made it (``made_by``: the commands, the commit, the
library versions, the wall time); :func:`made_by_problems` says what one lacks.

Without ``--check`` the tables are rewritten in place; with it nothing is written and the exit status
is 1 when a document differs from its results files (the differing documents are named). Naming
documents (``python3 -m benchmarks.docs_tables docs/cells.md``) renders those only.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Sequence

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- table: (?P<name>[\w-]+) from (?P<sources>[^>]+?) -->\n(?P<body>.*?)^<!-- /table -->",
                    re.DOTALL | re.MULTILINE)
"""A table: both markers at the start of a line (an example indented in a code block is no table)."""
REQUIRED_VERSIONS = ("wekawbc", "python", "weka")

Run = tuple[str, dict[str, Any]]
"""(name, figures of one run folder: labels, summary, weighted_avg, macro_avg, classes, confusion_matrix, bootstrap)."""


def documents(root: Path = ROOT) -> list[Path]:
    """The Markdown files whose tables are kept: README.md and docs/*.md."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _load(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"docs_tables: error: {path}: {error}") from None


def sources(document: Path, text: str) -> list[Path]:
    """Every results file the tables of ``document`` are rendered from."""
    return sorted({(document.parent / source.strip().split("#")[0]).resolve()
                   for match in MARKER.finditer(text) for source in match["sources"].split(",")})


def made_by_problems(data: dict[str, Any]) -> list[str]:
    """What a results file lacks of its provenance (empty when complete)."""
    made_by = data.get("made_by")
    if not isinstance(made_by, dict):
        return ["no made_by record"]
    problems = []
    if not re.fullmatch(r"[0-9a-f]{7,40}", str(made_by.get("commit", ""))):
        problems.append(f"made_by.commit is {made_by.get('commit')!r}, not a commit hash")
    if made_by.get("code_changed_since_commit"):
        problems.append("made by code that differed from its commit")
    commands = made_by.get("commands")
    if not commands or not all(isinstance(c, str) and c.startswith("wekawbc ") for c in commands):
        problems.append("made_by.commands does not list the wekawbc commands")
    versions = made_by.get("versions") or {}
    problems += [f"made_by.versions lacks {name}" for name in REQUIRED_VERSIONS if name not in versions]
    return problems


# ---- formatting ------------------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    from wekawbc.report.render import markdown_table

    return markdown_table(list(header), [list(row) for row in rows], raw_cells=True)


def _demote(markdown: str, levels: int = 2) -> str:
    """A command's Markdown inside a page section: its headings ``levels`` deeper."""
    return re.sub(r"^#", "#" * (levels + 1), markdown, flags=re.MULTILINE)


def _f(value: float | None, digits: int = 3) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


def _ci(interval: dict[str, Any], scale: float = 1.0, digits: int = 3) -> str:
    low, high = interval.get("low"), interval.get("high")
    bounds = "" if low is None or high is None else f" [{low * scale:.{digits}f}, {high * scale:.{digits}f}]"
    return f"{interval['estimate'] * scale:.{digits}f}{bounds}"


def _runs(files: Sequence[tuple[str, dict[str, Any]]]) -> list[Run]:
    """Each source as a run: a file of one run as it is, ``FILE#NAME`` as its run NAME (``runs``)."""
    runs = []
    for source, data in files:
        stem, _, name = source.partition("#")
        runs.append((name, data["runs"][name]) if name else (Path(stem).stem, data))
    return runs


# ---- renderers: (sources as (name, data)) -> Markdown ------------------------------------------------------------


def experiment_summary(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """The Experimenter table of an experiment (every metric, every scheme, the t-test marks)."""
    from wekawbc.report.experiment import experiment_table_markdown

    (_, data), = files
    tables = [SimpleNamespace(metric=test["metric"], baseline=test["baseline"], alpha=test["alpha"],
                              schemes=tuple(s["scheme"] for s in test["schemes"]),
                              means=tuple(s["mean"] for s in test["schemes"]),
                              stds=tuple(s["std"] for s in test["schemes"]),
                              marks=tuple(s["mark"] for s in test["schemes"])) for test in data["tests"]]
    return experiment_table_markdown(tables, f"{data['evaluation']} (seeds {data['seeds']})")


def repetition_1(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Repetition 1 of every scheme of an experiment, pooled: summary and recall per class."""
    (_, data), = files
    schemes = [s["scheme"] for s in data["tests"][0]["schemes"]]
    labels = next(iter(data["runs"].values()))["labels"]
    rows = []
    for scheme in schemes:
        run = data["runs"][scheme]
        rows.append([scheme, _f(run["summary"]["correct_pct"], 1), _f(run["summary"]["kappa"]),
                     _f(run["macro_avg"]["f_measure"]), _f(run["weighted_avg"]["roc_area"]),
                     *(_f(r) for r in run["classes"]["recall"])])
    return _table(["scheme", "% correct", "kappa", "macro F", "weighted ROC area",
                   *(f"recall {label}" for label in labels)], rows)


def run_per_class(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """One row per run and class: n, recall with its bootstrap interval, precision, F-measure."""
    rows = []
    for name, run in _runs(files):
        recall = run["bootstrap"]["metrics"]["recall"]
        counts = [sum(row) for row in run["confusion_matrix"]]
        classes = run["classes"]
        for j, label in enumerate(run["labels"]):
            rows.append([f"`{name}`", label, f"{counts[j]:g}", _ci(recall[label]), _f(classes["precision"][j]),
                         _f(classes["f_measure"][j])])
    return _table(["run", "class", "n", "recall [95 % CI]", "precision", "F-measure"], rows)


def minority_recall(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """One row per run: accuracy, kappa, macro-F1 and the two smallest classes' recall, with intervals."""
    rows, smallest = [], None
    for name, run in _runs(files):
        counts = [sum(row) for row in run["confusion_matrix"]]
        smallest = smallest or [run["labels"][j] for j in sorted(range(len(counts)), key=counts.__getitem__)[:2]]
        metrics = run["bootstrap"]["metrics"]
        rows.append([f"`{name}`", _ci(metrics["accuracy"], 100, 1), _f(metrics["kappa"]["estimate"], 4),
                     _ci(metrics["macro_f1"]), *(_ci(metrics["recall"][label]) for label in smallest or [])])
    return _table(["run", "accuracy % [95 % CI]", "kappa", "macro-F1 [95 % CI]",
                   *(f"{label} recall [95 % CI]" for label in smallest or [])], rows)


def confusion_matrix(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """A run's confusion matrix, rows actual and columns predicted."""
    (name, run), = _runs(files)
    labels = run["labels"]
    rows = [[f"**{label}**", *(f"{count:g}" for count in row)] for label, row in zip(labels, run["confusion_matrix"])]
    return _table([f"`{name}`: actual \\ predicted", *labels], rows)


def weka_text(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Weka's evaluation text of a ``wekawbc weka --json`` results file."""
    (_, data), = files
    text = data["weka_text"]
    blocks = ("\n".join(line.rstrip() for line in text[key].strip("\n").splitlines())
              for key in ("summary", "class_details", "matrix"))
    return "```\n" + "\n\n".join(blocks) + "\n```"


def runs_side_by_side(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """``wekawbc report RUN RUN -o DIR``'s table (runs.json), rendered as that command renders it (headings
    two levels deeper)."""
    from wekawbc.report.render import render_runs_markdown

    (_, data), = files
    return _demote(render_runs_markdown({k: v for k, v in data.items() if k != "made_by"}))


def comparison(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """``wekawbc compare PAPER RUN... -o DIR``'s table, rendered as that command renders it (headings two
    levels deeper)."""
    from wekawbc.report.compare import comparison_markdown

    (_, data), = files
    return _demote(comparison_markdown({k: v for k, v in data.items() if k != "made_by"}))


def timings(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """What made each results file: commands, commit, start (UTC) and wall time."""
    rows = []
    for source, data in files:
        made_by = data["made_by"]
        commands = "<br>".join(f"`{c}`" for c in made_by["commands"])
        rows.append([f"`{Path(source).name}`", commands, f"`{made_by['commit']}`", made_by["started"],
                     f"{made_by['wall_s']:.0f} s"])
    return _table(["results file", "commands", "commit", "started", "wall"], rows)


def _part(source: str, data: dict[str, Any], default: str) -> Any:
    """The part of a results file a source names: ``FILE#a/b`` is ``data[a][b]``, a bare ``FILE`` its ``default``."""
    _, _, path = source.partition("#")
    for key in (path or default).split("/"):
        data = data[key]
    return data


def cell_summary(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """A ``wekawbc validate-cells --json`` summary (segmentation Dice, lobes, granules: one row per class), as
    the command prints it; ``FILE#lobes/held-out`` picks one summary of a file holding several."""
    from wekawbc.cells.cli import summary_markdown

    (source, data), = files
    return summary_markdown(_part(source, data, "summary"))


DETECTION_COLUMNS = {"fields": "fields", "annotated": "annotated", "found": "found", "matched": "matched",
                     "recall": "recall", "precision": "precision", "false_per_field": "false / field",
                     "false_per_field_red_cell_cluster": "red-cell cluster",
                     "false_per_field_platelet_clump": "platelet clump", "false_per_field_edge": "edge",
                     "false_per_field_poor_box": "poor box", "fields_without_detection": "fields without detection"}


def detection(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """One row per ``wekawbc validate-cells --check detection --json`` file: share, stain, the detection counts,
    recall, precision and the false detections per field by type."""
    rows = []
    for _, data in files:
        (row,) = data["summary"].values()
        rows.append([data["share"], data["stain"] or "as stained",
                     *(_f(row[key]) if isinstance(row[key], float) else f"{row[key]}" for key in DETECTION_COLUMNS)])
    return _table(["share", "stain", *DETECTION_COLUMNS.values()], rows)


def audit_findings(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """``wekawbc audit PAPER --json``'s findings as ``wekawbc audit PAPER --markdown`` prints them, and its count."""
    from wekawbc.papers.audit import Finding
    from wekawbc.report.audit import findings_markdown

    (_, data), = files
    findings = [Finding(**finding) for finding in data["findings"]]
    counts = data["counts"]
    return (findings_markdown(findings) + f"\n{data['paper']}: {len(findings)} findings: {counts['consistent']} "
            f"consistent, {counts['inconsistent']} inconsistent, {counts['not checkable']} not checkable")


def arff_weka(files: Sequence[tuple[str, dict[str, Any]]]) -> str:
    """Each shared data set's ARFF (``wekawbc extract``) cross-validated by Weka's J48."""
    (_, data), = files
    return _table(["data set", "instances (cells)", "features", "labelled instances scored", "% correct", "kappa"],
                  [[row["data_set"], row["instances"], row["features"], f"{row['scored']:g}",
                    f"{row['pct_correct']:.2f}", _f(row["kappa"])] for row in data["rows"]])


RENDERERS: dict[str, Callable[[Sequence[tuple[str, dict[str, Any]]]], str]] = {
    f.__name__: f for f in (experiment_summary, repetition_1, run_per_class, minority_recall,
                            confusion_matrix, weka_text, runs_side_by_side, comparison, timings, cell_summary,
                            detection, audit_findings, arff_weka)
}


def render(document: Path, text: str) -> str:
    """``text`` with every table rendered afresh from its results files."""
    cache: dict[Path, dict[str, Any]] = {}

    def one(match: re.Match) -> str:
        name = match["name"]
        if name not in RENDERERS:
            raise SystemExit(f"docs_tables: error: {document}: unknown table renderer {name!r}")
        files = []
        for source in (s.strip() for s in match["sources"].split(",")):
            path = (document.parent / source.split("#")[0]).resolve()
            if path not in cache:
                cache[path] = _load(path)
            files.append((source, cache[path]))
        body = RENDERERS[name](files).rstrip("\n")
        return f"<!-- table: {name} from {match['sources']} -->\n{body}\n<!-- /table -->"

    return MARKER.sub(one, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m benchmarks.docs_tables", description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a document differs")
    parser.add_argument("only", nargs="*", metavar="DOCUMENT", type=Path,
                        help="these Markdown files only (default: README.md and docs/*.md)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from wekawbc._io import atomic_write_text

    differ = []
    for document in [path.resolve() for path in args.only] or documents():
        text = document.read_text()
        new = render(document, text)
        if new != text:
            differ.append(document)
            if not args.check:
                atomic_write_text(document, new)
    for document in differ:
        print(f"{document.relative_to(ROOT)}: {'differs from its results files' if args.check else 'tables rewritten'}")
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
