"""Reports people read and machines parse: run folders, plots, comparison with papers, audits of papers.

Public API::

    from wekawbc.report import audit_paper, Finding
"""

from wekawbc.report.audit import Finding, audit_paper, findings_markdown, findings_table, matrix_predictions

__all__ = ["Finding", "audit_paper", "findings_markdown", "findings_table", "matrix_predictions"]
