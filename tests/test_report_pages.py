"""The comparison and experiment pages as people read them: names, units, signs, marks, undefined values."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from wekawbc.evaluation import evaluate
from wekawbc.evaluation.metrics import METRICS
from wekawbc.experiment.stats import experimenter_table
from wekawbc.report.compare import format_difference, format_value, run_columns
from wekawbc.report.experiment import ExperimentSection, experiment_table_markdown, render_experiment_html
from wekawbc.report.runfolder import load_run, write_run_folder

from test_report_runfolder import FIVE, synthetic_predictions

SCHEMES = ("J48", "NaiveBayes", "Logistic", "SMO", "IBk", "RandomForest", "OneR", "ZeroR")


def _run(root, folder, settings, seed):
    predictions = synthetic_predictions(FIVE, [30, 20, 12, 8, 6], 1.5, seed=seed)
    return load_run(write_run_folder(root / folder, evaluate(predictions), settings=settings, n_bootstrap=0,
                                     plots=False))


def test_columns_are_classifier_names_made_unique(tmp_path):
    runs = [_run(tmp_path, "pruned", {"classifier": "weka.classifiers.trees.J48 -C 0.25 -M 2"}, 1),
            _run(tmp_path, "unpruned", {"classifier": "weka.classifiers.trees.J48 -U"}, 2),
            _run(tmp_path, "exp", {"scheme": "SMO+class_balancer", "classifier": "weka.classifiers.functions.SMO"}, 3),
            _run(tmp_path, "cnn", {"producer": "wekawbc cnn evaluate"}, 4)]
    assert run_columns(runs) == ["J48 (pruned)", "J48 (unpruned)", "SMO+class_balancer", "cnn"]
    twins = [_run(tmp_path / "a", "j48", {"classifier": "weka.classifiers.trees.J48"}, 1),
             _run(tmp_path / "b", "j48", {"classifier": "weka.classifiers.trees.J48"}, 1)]
    assert run_columns(twins) == ["J48 (j48) #1", "J48 (j48) #2"]


def test_values_are_marked_and_differences_signed():
    assert format_value(0.964, "percent") == "96.40 %" and format_value(0.96123, "fraction") == "0.961"
    assert format_value(None, "fraction") == "\u2014" and format_value(25.0, "count") == "25"
    assert format_difference(-0.0031, "percent") == "\u22120.31 pp"
    assert format_difference(0.0124, "fraction") == "+0.012" and format_difference(-0.00001, "fraction") == "+0.000"
    assert format_difference(-2.0, "count") == "\u22122"


def test_json_keeps_every_digit_the_page_rounds(tmp_path):
    from wekawbc.cli import main

    run = _run(tmp_path, "j48", {"classifier": "weka.classifiers.trees.J48"}, 5)
    assert main(["compare", "alkrimi2023", str(run.path), "-o", str(tmp_path / "cmp")]) == 0
    table = json.loads((tmp_path / "cmp" / "compare_alkrimi2023_five.json").read_text())
    row = next(r for r in table["rows"] if r["id"] == "t5.multi.f_measure" and r["primary"])
    assert row["values"][0] == run.evaluation["weighted_avg"]["f_measure"]  # full precision
    assert row["unit"] == "fraction" and table["runs"][0]["column"] == "J48"
    page = (tmp_path / "cmp" / "compare_alkrimi2023_five.html").read_text()
    assert f"{row['values'][0]:.3f} <span class=\"delta\">" in page
    assert table["matrices"]["labels"] == ["monocyte", "lymphocyte", "neutrophil", "eosinophil", "basophil"]
    counts = table["matrices"]["runs"][0]
    assert sum(map(sum, counts)) == run.evaluation["summary"]["total_instances"]


def fold_results(undefined: str = "J48") -> pd.DataFrame:
    """Seeded per-fold metrics of 8 schemes (10 folds × 2 repetitions); one scheme's kappa undefined."""
    rng = np.random.default_rng(3)
    rows = []
    for k, scheme in enumerate(SCHEMES):
        for repetition in (1, 2):
            for fold in range(1, 11):
                accuracy = 60 + 4 * k + rng.normal(scale=2)
                rows.append({"scheme": scheme, "repetition": repetition, "fold": fold, "n_train": 90, "n_test": 10,
                             "pct_correct": accuracy, "mean_absolute_error": 0.3 - 0.03 * k + rng.normal(scale=0.01),
                             "kappa": math.nan if scheme == undefined and fold == 3 else accuracy / 100 - 0.2})
    return pd.DataFrame(rows)


def experiment_tables():
    results = fold_results("NaiveBayes")
    return [experimenter_table(results, metric, "J48") for metric in ("pct_correct", "kappa", "mean_absolute_error")]


def experiment_page() -> str:
    return render_experiment_html("eight", [ExperimentSection("pbc, five-class task", experiment_tables(),
                                                              "2 × 10-fold cross-validation")])


def test_experiment_page_labels_marks_and_undefined_values():
    tables = experiment_tables()
    page = experiment_page()
    for name in ("pct_correct", "kappa", "mean_absolute_error"):
        assert METRICS[name].label in page and f">{name}<" not in page
    assert "nan" not in page.lower().replace("nanos", "") and "? ± ?" not in page
    # NaiveBayes' kappa has an undefined fold: its mean and deviation are those of the defined folds, as
    # Weka's tester; a metric with no defined value at all shows an em dash with a tooltip saying why.
    kappa = tables[1]
    assert all(math.isfinite(m) for m in kappa.means)
    undefined = render_experiment_html("x", [ExperimentSection("t", [experimenter_table(
        fold_results().assign(kappa=lambda f: np.where(f["scheme"] == "IBk", np.nan, f["kappa"])), "kappa", "J48")])])
    assert 'title="undefined: the metric has no value' in undefined and "\u2014</td>" in undefined
    # v on an error metric (lower is better) is worse, and the page says so, in the legend and per cell.
    mae = tables[2]
    assert METRICS["mean_absolute_error"].higher_is_better is False and "*" in mae.marks
    assert "v means worse" in page
    assert "significantly lower than the baseline J48, i.e. better" in page
    assert "significantly higher than the baseline J48, i.e. better" in page  # accuracy: v is better
    # Three significant figures on the page, every digit in the markdown's source tables' JSON.
    assert f"{tables[0].means[1]:.2f}" in page and f"{tables[0].means[1]:.4f}" not in page
    assert "Mean ± standard deviation" in experiment_table_markdown(tables)


@pytest.mark.parametrize("value, text", [(97.8412, "97.84"), (0.97312, "0.973"), (0.0123456, "0.0123"), (0.3, "0.300"), (0.0, "0.00")])
def test_short_numbers(value, text):
    from wekawbc.report.experiment import short_number

    assert short_number(value) == text and short_number(math.nan) == "\u2014"
