"""``wekawbc demo`` end to end on a small synthetic set: every artefact checked."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from wekawbc.cli import main
from wekawbc.evaluation import evaluate
from wekawbc.experiment.runner import METRICS, fold_metrics
from wekawbc.predictions import Predictions, read_predictions_csv, read_train_counts_csv

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _WellFormed(HTMLParser):
    """Checks that every element is closed in order; collects links and images."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.links: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links += [v for k, v in attrs if k == "href"]
        self.tables += tag == "table"
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _check_html(path: Path) -> _WellFormed:
    parser = _WellFormed()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert not parser.errors and not parser.stack, (parser.errors, parser.stack)
    return parser


def _unit_predictions(folder: Path) -> Predictions:
    predictions = read_predictions_csv(folder / "predictions.csv")
    counts = read_train_counts_csv(folder / "train_counts.csv", predictions.labels)
    return Predictions(predictions.labels, predictions.actual, predictions.distribution, predictions.weight,
                       predictions.fold, counts, predictions.ids)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, jvm) -> tuple[Path, int, str]:
    out = tmp_path_factory.mktemp("demo")
    argv = ["demo", "--out", str(out), "--scale", "0.04", "--classifiers", "J48,NaiveBayes,CNN", "--folds", "3",
            "--repetitions", "2", "--no-progress"]
    return out, main(argv), " ".join(argv)


def test_demo_exits_zero_and_writes_the_report(demo, capsys):
    out, code, _ = demo
    assert code == 0
    run = out
    assert (run / "experiment.html").is_file() and (run / "experiment.md").is_file()
    parser = _check_html(run / "experiment.html")
    assert parser.tables == 1
    for link in parser.links:
        assert (run / link).is_file(), link
        _check_html(run / link)
    provenance = json.loads((run / "config.json").read_text())
    assert provenance["seeds"]["repetitions"] == [1, 2]
    assert provenance["versions"]["weka"].startswith("3.9")
    assert len(provenance["data_fingerprints"]["synthetic"]) == 64


def test_demo_arff_opens_in_weka(demo, jvm):
    from wekawbc.weka import load_instances

    out, _, _ = demo
    (arff,) = (out / "arff_exports").glob("*.arff")
    data = load_instances(arff).jobject
    assert data.numInstances() == 40
    assert data.classAttribute().name() == "class" and data.numClasses() == 5
    assert data.numAttributes() > 60


def test_report_numbers_equal_the_engine(demo):
    out, _, _ = demo
    run = out
    for scheme in ("J48", "NaiveBayes", "CNN"):
        folder = run / "synthetic-five" / "runs" / scheme
        report = json.loads((folder / "report.json").read_text())
        predictions = _unit_predictions(run / "grid" / "synthetic" / "five" / scheme / "rep01")
        expected = evaluate(predictions)
        assert report["evaluation"] == json.loads(json.dumps(expected.to_dict(extras=True)))
        assert (folder / "weka.txt").read_text() == expected.weka_text()
    # The CNN's run folder records every training setting, the demo's own and the defaults.
    recorded = json.loads((run / "synthetic-five" / "runs" / "CNN" / "report.json").read_text())["settings"]["cnn"]
    assert (recorded["epochs"], recorded["image_size"], recorded["balance"], recorded["seed"]) == (6, 32, "none", 1)
    assert {"learning_rate", "batch_size", "augmentation", "threads"} <= set(recorded)
    summary = json.loads((run / "synthetic-five" / "experiment.json").read_text())
    rows = {s["scheme"]: s for s in summary["summary"]}
    for scheme in ("J48", "NaiveBayes", "CNN"):
        folds = [row for r in (1, 2) for row in fold_metrics(
            _unit_predictions(run / "grid" / "synthetic" / "five" / scheme / f"rep{r:02d}"))]
        assert len(folds) == 6
        for metric in ("pct_correct", "kappa", "root_mean_squared_error"):
            values = np.array([row[metric] for row in folds])
            assert rows[scheme][f"{metric}_mean"] == pytest.approx(values.mean(), abs=1e-12)
            assert rows[scheme][f"{metric}_std"] == pytest.approx(values.std(ddof=1), abs=1e-12)
    assert [t["metric"] for t in summary["tests"]] == list(METRICS)


def test_second_run_resumes_without_redoing_work(demo, capsys):
    out, _, _ = demo
    before = {p: p.stat().st_mtime_ns for p in (out / "grid").rglob("predictions.csv")}
    assert main(["run", str(out / "demo.toml"), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "units run: 0, reused from an earlier run: 6; features reused from the cache" in printed
    assert f"report: {(out / 'experiment.html').resolve()}\n" in printed  # the folder given, exactly
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_interrupted_unit_is_redone(demo, capsys):
    out, _, _ = demo
    unit = out / "grid" / "synthetic" / "five" / "J48" / "rep02"
    kept = (unit / "predictions.csv").read_bytes()
    (unit / "unit.json").unlink()  # as if the run had stopped before the unit finished
    assert main(["run", str(out / "demo.toml"), "--no-progress"]) == 0
    assert "units run: 1, reused from an earlier run: 5" in capsys.readouterr().out
    assert (unit / "predictions.csv").read_bytes() == kept


def test_full_disk_keeps_the_previous_report(demo, capsys, monkeypatch):
    import errno

    import wekawbc._io

    out, _, _ = demo
    run = out
    before = {p: p.read_bytes() for p in run.rglob("*.json")}

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wekawbc._io.os, "fsync", no_space)
    assert main(["run", str(out / "demo.toml"), "--no-progress"]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in run.rglob("*.json")} == before
    assert not list(run.rglob("*.tmp"))


def test_demo_with_missing_data_path_fails_clearly(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--data", str(tmp_path / "nothing")]) == 1
    assert "--data" in capsys.readouterr().err


def test_demo_data_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WEKAWBC_DATA", str(tmp_path / "absent"))
    assert main(["demo", "--out", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert "$WEKAWBC_DATA" in error and "absent" in error
