"""Sub-commands ``report``, ``compare`` and ``audit``."""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def _audit(args: argparse.Namespace) -> int:
    from wekawbc.papers import load_paper
    from wekawbc.report.audit import audit_paper, findings_markdown, findings_table, summary_counts

    paper = load_paper(args.paper)
    findings = audit_paper(paper)
    counts = summary_counts(findings)
    if args.json:
        print(json.dumps({"paper": paper.key, "counts": counts, "findings": [f.to_dict() for f in findings]},
                         indent=1, ensure_ascii=False))
    elif args.markdown:
        print(findings_markdown(findings), end="")
    else:
        print(findings_table(findings), end="")
        print(f"\n{paper.key}: {len(findings)} findings: {counts['consistent']} consistent, "
              f"{counts['inconsistent']} inconsistent, {counts['not checkable']} not checkable")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser(
        "audit", help="check a paper's published numbers against its own confusion matrices and counts",
        description="Recompute everything a paper's confusion matrices and class counts determine and check every "
                    "printed value against it, within its printed precision; check the tables against each other "
                    "and the text.")
    audit.add_argument("paper", metavar="PAPER", help="a bundled paper (alkrimi2023) or a paper JSON file")
    output = audit.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the findings as JSON")
    output.add_argument("--markdown", action="store_true", help="print the findings as a Markdown table")
    audit.set_defaults(handler=_audit)
