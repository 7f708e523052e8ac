"""``wekawbc audit WEKA_OUTPUT.txt`` on real Weka output, unchanged and with one number changed by hand.

The outputs come from Weka itself (``tests/weka_corpus.py``). Unchanged, no check disagrees. Then each
number of the summary and of the class-details table, one at a time, is changed in the parsed block and
the block rendered back (the renderer gives Weka's own lines byte for byte, so this is the hand edit
of that one line); the audit must name that number among its disagreements, or, for the numbers that
need the classifier's scores (MAE, RMSE, relative errors, correlation, coverage), say it cannot check it.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

import weka_corpus as wc
from wekawbc.evaluation.parse import parse_text, render_evaluation
from wekawbc.report.weka_audit import audit_weka_text

CASES = [("3.9", "cv5_cost"), ("3.9", "cv_k"), ("3.9", "test_set"), ("3.9", "toggle"), ("3.6", "cv5_cost"),
         ("3.9", "regression")]
SLOW_CASES = {("3.9", "test_set"), ("3.9", "toggle")}
# What a disagreement about a changed number mentions (quantity or note).
_MENTION = {"total_cost": "Total Cost", "kb_information_bits": "K&B Information",
            "class_complexity_order0_bits": "order 0", "class_complexity_scheme_bits": "scheme",
            "unclassified": "UnClassified"}
_NOT_CHECKABLE = {"mean_absolute_error", "root_mean_squared_error", "relative_absolute_error_pct",
                  "root_relative_squared_error_pct", "correlation_coefficient", "coverage_pct", "mean_region_size_pct",
                  "coverage_level"}
_NAMES = {"correct_pct": "Correctly Classified Instances %", "incorrect_pct": "Incorrectly Classified Instances %"}


def _run(name: str, version: str) -> wc.Run:
    return next(r for r in (wc.RUNS39 if version == "3.9" else wc.RUNS36) if r.name == name)


def _blocks(text: str) -> list[dict]:
    return [b for b in parse_text(text)["evaluations"] if b["summary"] is not None]


def _changed(value: float, key: str) -> float:
    if key in ("kappa", "average_cost") or key.endswith("per_instance"):
        return round(value + 0.05, 4)
    if key in ("tp_rate", "fp_rate", "precision", "recall", "f_measure", "mcc"):
        return round(value - 0.02 if value >= 0.5 else value + 0.02, 3)
    if key in ("roc_area", "prc_area"):
        return round(value - 0.1 if value >= 0.5 else value + 0.1, 3)
    return value + 1


def _disagreements(block: dict) -> list:
    parsed = parse_text(render_evaluation(block))
    return [f for f in audit_weka_text(parsed) if f.consistent is False]


def _mutations(block: dict):
    for key, value in block["summary"].items():
        if value is not None:
            yield ("summary", None, key), value
    for i, row in enumerate(block["classes"] or []):
        for key, value in row.items():
            if key != "class" and value is not None:
                yield ("classes", i, key), value
    for key, value in (block["weighted_avg"] or {}).items():
        if value is not None:
            yield ("weighted_avg", None, key), value


def _apply(block: dict, where: tuple, value: float) -> dict:
    part, i, key = where
    changed = copy.deepcopy(block)
    target = changed[part] if i is None else changed[part][i]
    target[key] = value
    return changed


def _audit_params():
    return [pytest.param(v, n, id=f"{v}-{n}", marks=(pytest.mark.slow,) if (v, n) in SLOW_CASES else ())
            for v, n in CASES]


@pytest.mark.parametrize("version, name", _audit_params())
def test_unchanged_weka_output_has_no_disagreement(version, name, weka_text) -> None:
    parsed = parse_text(weka_text(version, "en", _run(name, version)))
    findings = audit_weka_text(parsed)
    assert [f for f in findings if f.consistent is False] == []
    assert sum(f.consistent is True for f in findings) >= (10 if name != "regression" else 0)


@pytest.mark.parametrize("version, name", _audit_params())
def test_each_number_changed_by_hand_is_found(version, name, weka_text) -> None:
    blocks = _blocks(weka_text(version, "en", _run(name, version)))
    checked = 0
    for block in blocks:
        for where, value in _mutations(block):
            part, i, key = where
            changed = _changed(value, key)
            found = _disagreements(_apply(block, where, changed))
            label = block["classes"][i]["class"] if part == "classes" else "Weighted Avg." if part == "weighted_avg" \
                else _MENTION.get(key)
            if part == "classes" and key in ("roc_area", "prc_area"):
                label = "Weighted Avg."  # a lone class's area needs the scores: found through the weighted average
            if key in _NOT_CHECKABLE or (version == "3.6" and key == "kb_relative_info_score_pct") or \
                    (block["confusion_matrix"] is None and key == "total_instances"):
                assert found == [], (where, found)
                continue
            assert found, f"{block['title']}: {where} changed {value} -> {changed} was not found"
            if label is not None:
                assert any(label in f.quantity or label in f.note for f in found), (where, found)
            else:
                assert any(f.published == f"{changed:g}" for f in found), (where, found)
            checked += 1
    assert checked >= (0 if name == "regression" else 20)


def test_audit_cli_on_a_weka_output(weka_text, tmp_path: Path) -> None:
    text = weka_text("3.9", "en", _run("cv5_cost", "3.9"))
    good = tmp_path / "weka.txt"
    good.write_text(text)
    block = _blocks(text)[-1]
    bad = tmp_path / "edited.txt"
    bad.write_text(render_evaluation(_apply(block, ("summary", None, "kappa"), 0.5)))
    done = subprocess.run([sys.executable, "-m", "wekawbc", "audit", str(good), "--json"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["counts"]["inconsistent"] == 0
    done = subprocess.run([sys.executable, "-m", "wekawbc", "audit", str(bad), "--disagreements"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Kappa statistic" in done.stdout and "1 inconsistent" in done.stdout


@pytest.mark.parametrize("name", ["plain_pred", "csv_pred", "reg_pred", "xml_pred"])
def test_printed_predictions_are_checked(name, weka_text) -> None:
    parsed = parse_text(weka_text("3.9", "en", _run(name, "3.9")))
    findings = audit_weka_text(parsed)
    assert findings and all(f.consistent for f in findings)
    row = parsed["evaluations"][0]["predictions"][4]
    if "actual_index" in row:
        row["error"] = not row["error"]  # a '+' added or removed by hand
        quantity = "prediction error flags"
    else:
        row["error"] = round(row["error"] + 0.01, 3)
        quantity = "prediction errors"
    found = [f for f in audit_weka_text(parsed) if f.consistent is False]
    assert [f.quantity for f in found] == [quantity] and f"inst# {row['inst']}" in found[0].recomputed
