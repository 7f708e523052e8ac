"""The metric registry: one name per quantity, consistent with Weka's text layout and the engine."""

from __future__ import annotations

import dataclasses

import pytest

from wekawbc.evaluation import EvaluationResult
from wekawbc.evaluation._text import DETAIL_COLUMNS, SUMMARY_LINES
from wekawbc.evaluation.metrics import METRICS, class_metrics, metric, summary_metrics, weighted_metrics


def test_names_and_keys_are_unique_per_scope():
    assert len(METRICS) == len({m.name for m in METRICS.values()})
    for scope in ("summary", "class", "weighted"):
        keys = [m.text_key for m in METRICS.values() if m.scope == scope and m.text_key]
        assert len(keys) == len(set(keys)), scope


def test_text_keys_are_weka_text_lines_and_columns():
    printed = {key for _, _, keys in SUMMARY_LINES for key in keys}
    assert {m.text_key for m in summary_metrics() if m.text_key} <= printed
    columns = {key for key, _, _ in DETAIL_COLUMNS}
    assert {m.text_key for m in class_metrics() if m.text_key} == columns
    assert {m.text_key for m in weighted_metrics(engine=True)} == columns


def test_every_engine_metric_is_a_result_attribute():
    fields = {f.name for f in dataclasses.fields(EvaluationResult)}
    engine = [m.name for m in (*summary_metrics(engine=True), *class_metrics(), *weighted_metrics(engine=True))]
    assert set(engine) <= fields
    assert not {m.name for m in (*summary_metrics(engine=False), *weighted_metrics(engine=False))} & fields


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(KeyError, match="pct_correct"):
        metric("accuracy")
