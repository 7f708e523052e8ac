"""The experiment page: Experimenter tables of every data set and task, rendered for people.

The runner (:mod:`wekawbc.experiment.runner`) computes the tables; this module only renders them:
metric labels and directions from the metric registry, three significant figures (the JSON keeps full
precision), an em dash (with a tooltip saying why) where a metric is undefined, and what ``v`` and ``*``
mean on the page itself, per cell as a tooltip too (``v`` on an error metric is worse).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

from wekawbc.evaluation.metrics import METRICS
from wekawbc.report.render import Cell, markdown_table, markdown_text, render_html

__all__ = ["ExperimentSection", "experiment_table_markdown", "render_experiment_html", "short_number"]


@dataclass(frozen=True)
class ExperimentSection:
    """One block of the experiment page: a title, its Experimenter tables (one per metric), links, a note."""

    title: str
    tables: Sequence[Any] = ()
    """:class:`wekawbc.experiment.stats.ExperimentTable` objects on the same schemes."""
    mode: str = ""
    links: Sequence[tuple[str, str]] = field(default_factory=tuple)
    """(relative address, text) of the pages the block points to: run reports, comparisons."""
    text: str | None = None
    """Preformatted text shown as is (e.g. the cross-lab summary)."""


_DASH = "\u2014"
_UNDEFINED = "undefined: the metric has no value on some fold (Weka prints ?), e.g. a class absent from a test fold"


def short_number(value: float | None) -> str:
    """Three significant figures, two decimals from 1 on (97.84, 0.973, 0.0123); an em dash when undefined."""
    if value is None or not math.isfinite(value):
        return _DASH
    return f"{value:.2f}" if abs(value) >= 1 else f"{value:#.3g}"


def _defined(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _metric_label(name: str) -> str:
    metric = METRICS.get(name)
    if metric is None:
        return name
    arrow = "" if metric.higher_is_better is None else (" ↑" if metric.higher_is_better else " ↓")
    return metric.label + arrow


def _mark_meaning(mark: str, metric_name: str, baseline: str) -> str:
    """What ``v`` or ``*`` says on this metric: higher/lower than the baseline, and whether that is better."""
    if mark not in ("v", "*"):
        return ""
    higher = mark == "v"
    metric = METRICS.get(metric_name)
    direction = None if metric is None else metric.higher_is_better
    verdict = "" if direction is None else (", i.e. better" if higher == direction else ", i.e. worse")
    return f"{mark}: significantly {'higher' if higher else 'lower'} than the baseline {baseline}{verdict}"


def _cell(mean: float | None, std: float | None, mark: str, metric: str, baseline: str) -> Cell:
    """Mean ± standard deviation and the mark; an em dash (with a tooltip saying why) where undefined."""
    if not _defined(mean):
        return Cell(_DASH, "na", title=_UNDEFINED)
    text = short_number(mean) + (f" ± {short_number(std)}" if _defined(std) else "")
    notes = [] if _defined(std) else ["standard deviation undefined (a single value)"]
    meaning = _mark_meaning(mark.strip(), metric, baseline)
    if meaning:
        text += f" {mark.strip()}"
        notes.append(meaning)
    return Cell(text, title="; ".join(notes))


def _cells(table) -> list[Cell]:
    return [_cell(mean, std, mark, table.metric, table.baseline)
            for mean, std, mark in zip(table.means, table.stds, table.marks)]


def _explanation(tables: Sequence[Any]) -> str:
    baseline, alpha = tables[0].baseline, tables[0].alpha
    return (f"Mean ± standard deviation over every fold of every repetition, rounded to three significant figures "
            f"(experiment.json keeps every digit). v / *: significantly higher / lower than the baseline "
            f"{baseline} (corrected resampled paired t-test, alpha {alpha}). The marks go by value, as in Weka's "
            "Experimenter, so on a metric marked ↓ (lower is better: an error) v means worse and * better; on a "
            f"metric marked ↑ v means better. {_DASH} : undefined (some fold has no value; Weka prints ?).")


def experiment_table_markdown(tables: Sequence[Any], mode: str = "") -> str:
    """The Experimenter tables of one data set and task as Markdown, with what the marks mean."""
    header = ["Metric", *tables[0].schemes]
    rows = [[_metric_label(table.metric), *(cell.text for cell in _cells(table))] for table in tables]
    lead = f"{markdown_text(mode)}. " if mode else ""
    return f"{lead}{markdown_text(_explanation(tables))}\n\n{markdown_table(header, rows)}"


def render_experiment_html(name: str, sections: Sequence[ExperimentSection]) -> str:
    """The experiment's page: one block per section (tables, links, notes) in the report layout."""
    blocks = []
    for section in sections:
        block: dict[str, Any] = {"title": section.title, "mode": section.mode, "text": section.text,
                                 "links": [{"href": href, "text": text} for href, text in section.links]}
        if section.tables:
            block["explanation"] = _explanation(section.tables)
            block["header"] = ["Metric", *section.tables[0].schemes]
            block["rows"] = [[_metric_label(table.metric), *_cells(table)] for table in section.tables]
        blocks.append(block)
    return render_html("experiment.html.j2", title=f"wekawbc experiment {name}", name=name, sections=blocks, wide=True)
