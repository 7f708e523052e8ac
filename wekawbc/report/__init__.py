"""Reports people read and machines parse: run folders, plots, comparison with papers, audits of papers.

>>> from wekawbc.report import write_run_folder, load_run
>>> write_run_folder("runs/j48", evaluate(predictions), settings={"classifier": "J48", "seed": 1})
>>> run = load_run("runs/j48")

See ``docs/report.md`` for the run-folder layout and the ``report``, ``compare`` and ``audit`` commands.
"""

from wekawbc.report.audit import Finding, audit_paper, findings_markdown, findings_table, matrix_predictions
from wekawbc.report.compare import compare_with_paper, comparison_html, comparison_markdown
from wekawbc.report.render import compare_runs, render_runs_html, render_runs_markdown
from wekawbc.report.runfolder import Run, load_run, render_run_folder, write_run_folder

__all__ = ["Finding", "Run", "audit_paper", "compare_runs", "compare_with_paper", "comparison_html",
           "comparison_markdown", "findings_markdown", "findings_table", "load_run", "matrix_predictions",
           "render_run_folder", "render_runs_html", "render_runs_markdown", "write_run_folder"]
