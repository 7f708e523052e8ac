"""Run folders: what write_run_folder writes, reading them back, re-rendering, side-by-side reports, plots."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from wekawbc._io import WekawbcError
from wekawbc.cli import main
from wekawbc.evaluation import evaluate
from wekawbc.predictions import Predictions, read_predictions_csv
from wekawbc.report.runfolder import RUN_FORMAT_VERSION, load_run, write_run_folder

FIVE = ("neutrophil", "lymphocyte", "eosinophil", "monocyte", "basophil")


def synthetic_predictions(labels, counts, separation: float, seed: int, ids=None) -> Predictions:
    """Seeded soft predictions whose true class gets ``separation`` extra logit (higher = better classifier)."""
    rng = np.random.default_rng(seed)
    actual = np.repeat(np.arange(len(labels)), counts)
    logits = rng.normal(size=(actual.size, len(labels)))
    logits[np.arange(actual.size), actual] += separation
    distribution = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    fold = rng.integers(0, 5, actual.size)
    return Predictions(labels, actual, distribution, fold=fold, ids=ids)


@pytest.fixture(scope="module")
def cell_images(tmp_path_factory):
    from PIL import Image

    folder = tmp_path_factory.mktemp("cells")
    paths, masks = [], {}
    for k in range(4):
        image = np.zeros((24, 24, 3), dtype=np.uint8)
        image[6:18, 6:18] = (60 * k, 100, 200)
        paths.append(str(folder / f"cell{k}.png"))
        Image.fromarray(image).save(paths[-1])
        mask = np.zeros((24, 24), dtype=np.uint8)
        mask[5:19, 5:19] = 128
        mask[9:15, 9:15] = 255
        masks[paths[-1]] = str(folder / f"mask{k}.png")
        Image.fromarray(mask).save(masks[paths[-1]])
    return paths, masks


@pytest.fixture(scope="module")
def good_run(tmp_path_factory, cell_images):
    images, masks = cell_images
    counts = [111, 46, 31, 8, 5]
    ids = [images[i % 4] for i in range(sum(counts))]
    predictions = synthetic_predictions(FIVE, counts, 2.5, seed=3, ids=ids)
    result = evaluate(predictions)
    out = tmp_path_factory.mktemp("runs") / "good"
    write_run_folder(out, result, settings={"classifier": "synthetic", "separation": 2.5, "seed": 7},
                     dataset=images[0], n_bootstrap=200, masks=masks)
    return out, result, predictions


def test_run_folder_holds_every_number_and_the_provenance(good_run, cell_images):
    out, result, predictions = good_run
    names = {p.name for p in out.iterdir()}
    assert {"report.json", "report.md", "report.html", "weka.txt", "predictions.csv", "plots"} <= names
    report = json.loads((out / "report.json").read_text())
    assert report["format"] == "wekawbc.run" and report["format_version"] == RUN_FORMAT_VERSION
    assert report["evaluation"] == json.loads(json.dumps(result.to_dict(extras=True)))
    assert report["seed"] == 7 and report["settings"]["classifier"] == "synthetic"
    assert report["versions"]["weka"] == "3.9.7" and "numpy" in report["versions"]
    assert report["dataset"]["fingerprint"].startswith("sha256:") and report["dataset"]["n_instances"] == 201
    assert report["dataset"]["class_counts"] == {"neutrophil": 111, "lymphocyte": 46, "eosinophil": 31,
                                                 "monocyte": 8, "basophil": 5}
    assert set(report["mask_paths"]) == set(cell_images[0])  # the four images, each shown in a gallery
    recall = report["bootstrap"]["metrics"]["recall"]["basophil"]
    assert recall["low"] <= recall["estimate"] <= recall["high"]
    assert (out / "weka.txt").read_text() == result.weka_text()
    back = read_predictions_csv(out / "predictions.csv")
    np.testing.assert_array_equal(back.distribution, predictions.distribution)
    for name in ("confusion_counts", "confusion_normalised", "roc_curves", "pr_curves", "class_metrics",
                 "class_distribution", "segmentation", "misclassified"):
        assert (out / "plots" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (out / "plots" / f"{name}.svg").read_bytes()[:400]


def test_html_is_self_contained_and_markdown_readable(good_run):
    out, result, _ = good_run
    page = (out / "report.html").read_text()
    assert not re.search(r'(src|href)="(https?:)?//', page), "no external resources"
    sources = re.findall(r'<img src="([^"]{0,30})', page)
    assert len(sources) == 8 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert page.count("<table") >= 6 and "Weighted Avg." in page and "3.9.7" in page
    markdown = (out / "report.md").read_text()
    assert "## Confusion matrix" in markdown and "| basophil |" in markdown and "(plots/roc_curves.png)" in markdown
    assert result.matrix_text() in markdown


def test_load_run_round_trip_and_rerender(good_run, tmp_path):
    out, result, _ = good_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "report.html").unlink()
    run = load_run(copy)
    assert run.labels == FIVE and run.predictions.n_instances == 201
    assert run.result().weka_text() == result.weka_text()
    assert main(["report", str(copy), "--no-plots"]) == 0
    assert (copy / "report.html").is_file()


@pytest.mark.parametrize("edit, message", [
    (lambda d, r: (d / "report.json").unlink(), "incomplete run folder: report.json is missing"),
    (lambda d, r: r.update(format_version=0), "run format version 0; this wekawbc reads version 1"),
    (lambda d, r: r["evaluation"].pop("weighted_avg"), "missing evaluation.weighted_avg"),
    (lambda d, r: r.pop("versions"), "missing versions"),
    (lambda d, r: (d / "predictions.csv").unlink(), "missing predictions file predictions.csv"),
    # (the synthetic run has no training counts: its report now claims a file that is not there)
    (lambda d, r: r["files"].update(train_counts="train_counts.csv"), "missing training counts file train_counts.csv"),
    (lambda d, r: r.update(format="something"), "not a wekawbc run report"),
])
def test_incomplete_or_old_run_folders_say_what_is_missing(tmp_path, good_run, edit, message):
    copy = tmp_path / "broken"
    shutil.copytree(good_run[0], copy)
    report = json.loads((copy / "report.json").read_text())
    edit(copy, report)
    if (copy / "report.json").exists():
        (copy / "report.json").write_text(json.dumps(report))
    with pytest.raises(WekawbcError, match=re.escape(message)):
        load_run(copy)


def test_report_compares_runs_and_marks_the_best(good_run, tmp_path, capsys):
    worse = synthetic_predictions(FIVE, [111, 46, 31, 8, 5], 0.5, seed=4)
    write_run_folder(tmp_path / "worse", evaluate(worse), settings={"seed": 1}, n_bootstrap=0, plots=False,
                     title="worse")
    assert main(["report", str(good_run[0]), str(tmp_path / "worse"), "-o", str(tmp_path / "cmp")]) == 0
    out = capsys.readouterr().out
    accuracy_row = next(line for line in out.splitlines() if line.startswith("| Correctly Classified (%)"))
    good, bad = accuracy_row.split("|")[2:4]
    assert good.strip().startswith("**") and not bad.strip().startswith("**")
    error_row = next(line for line in out.splitlines() if line.startswith("| Mean absolute error"))
    assert error_row.split("|")[2].strip().startswith("**"), "lowest error is best"
    table = json.loads((tmp_path / "cmp" / "runs.json").read_text())
    assert table["rows"][0]["best"] == [0]
    assert 'class="best"' in (tmp_path / "cmp" / "runs.html").read_text()


def test_report_refuses_runs_on_different_class_sets(good_run, tmp_path, capsys):
    binary = synthetic_predictions(("agranulocyte", "granulocyte"), [50, 150], 2.0, seed=5)
    write_run_folder(tmp_path / "binary", evaluate(binary), settings={"seed": 1}, n_bootstrap=0, plots=False)
    assert main(["report", str(good_run[0]), str(tmp_path / "binary")]) == 1
    assert "cannot compare runs on different class sets" in capsys.readouterr().err


def test_plot_functions_draw_on_a_given_axes(good_run):
    from matplotlib.figure import Figure

    from wekawbc.report import plots

    _, result, _ = good_run
    fig = Figure()
    axes = fig.subplots(1, 4)
    assert plots.plot_confusion_matrix(result.confusion_matrix, result.labels, ax=axes[0]) is axes[0]
    assert plots.plot_roc_curves(result, ax=axes[1]) is axes[1]
    assert len(axes[1].get_lines()) == 6  # five classes and the diagonal
    assert plots.plot_class_metrics(result.labels, {"recall": result.recall}, ax=axes[2]) is axes[2]
    assert plots.plot_class_distribution(result.labels, [1, 2, 3, 4, 5], ax=axes[3]) is axes[3]
    assert [t.get_text() for t in axes[0].texts][:2] == [f"{result.confusion_matrix[0, 0]:g}",
                                                         f"{result.confusion_matrix[0, 1]:g}"]


def test_undefined_statistics_are_written_as_null(tmp_path):
    # Class "c" never occurs and is never predicted: Weka's '?' values and empty bootstrap intervals.
    actual = np.array([0, 0, 1, 1, 0, 1])
    distribution = np.array([[.9, .1, 0], [.2, .8, 0], [.1, .9, 0], [.6, .4, 0], [1, 0, 0], [0, 1, 0]])
    predictions = Predictions(("a", "b", "c"), actual, distribution)
    out = write_run_folder(tmp_path / "run", evaluate(predictions), n_bootstrap=20, plots=False)
    report = json.loads((out / "report.json").read_text())  # strict JSON: no NaN
    assert report["bootstrap"]["metrics"]["recall"]["c"]["low"] is None
    assert next(c for c in report["evaluation"]["classes"] if c["class"] == "c")["recall"] is None
    assert "| c | ? |" in (out / "report.md").read_text()


def test_rerender_without_plots_keeps_the_figures(good_run, tmp_path):
    copy = tmp_path / "keep"
    shutil.copytree(good_run[0], copy)
    before = (copy / "report.html").read_text().count("<img ")
    assert main(["report", str(copy), "--no-plots"]) == 0
    assert (copy / "report.html").read_text().count("<img ") == before == 8


def test_html_pages_escape_user_text(tmp_path):
    # Class names, titles and commands are the user's: the templates escape them (autoescape).
    hostile = ("<script>alert(1)</script>", "b&b")
    predictions = synthetic_predictions(hostile, [20, 20], 2.0, seed=1)
    out = write_run_folder(tmp_path / "run", evaluate(predictions), settings={"seed": 1}, n_bootstrap=0, plots=False,
                           title="<img src=x onerror=alert(2)>", command="wekawbc weka '<b>'")
    page = (out / "report.html").read_text()
    assert "<script>alert" not in page and "<img src=x" not in page and "<b>'" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "b&amp;b" in page
    assert main(["report", str(out), str(out), "-o", str(tmp_path / "both"), "--no-plots"]) == 0
    assert "<script>alert" not in (tmp_path / "both" / "runs.html").read_text()
