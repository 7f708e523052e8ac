"""Reports people read and machines parse: run folders, plots, comparison with papers, audits of papers.

>>> from wekawbc.report import write_run_folder, load_run
>>> write_run_folder("runs/j48", evaluate(predictions), settings={"classifier": "J48", "seed": 1})
>>> run = load_run("runs/j48")

See ``docs/report.md`` for the run-folder layout and the ``report``, ``compare`` and ``audit`` commands.
Names are imported on first use, so ``wekawbc --help`` does not load numpy or the audit.
"""

from __future__ import annotations

from wekawbc._lazy import lazy_exports

_PUBLIC = {
    "wekawbc.papers.audit": ("Finding", "audit_paper", "matrix_predictions"),
    "wekawbc.report.audit": ("findings_markdown", "findings_table"),
    "wekawbc.report.compare": ("compare_with_paper", "comparison_html", "comparison_markdown"),
    "wekawbc.report.render": ("compare_runs", "render_runs_html", "render_runs_markdown"),
    "wekawbc.report.runfolder": ("Run", "load_run", "render_run_folder", "write_run_folder"),
}
__all__, __getattr__ = lazy_exports(__name__, _PUBLIC)
