"""Sub-commands ``report``, ``compare`` and ``audit``."""

from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def _is_weka_text(argument: str) -> bool:
    """A paper is a bundled name (no suffix) or a .json file; any other file is Weka's text output."""
    from pathlib import Path

    suffix = Path(argument).suffix.lower()
    return suffix != ".json" and (bool(suffix) or Path(argument).is_file())


def _audit_weka_text(args: argparse.Namespace) -> int:
    import sys

    from wekawbc.evaluation.parse import parse_file
    from wekawbc.papers.audit import summary_counts
    from wekawbc.report.audit import findings_markdown, findings_table
    from wekawbc.report.weka_audit import audit_weka_text

    parsed = parse_file(args.paper)
    findings = audit_weka_text(parsed)
    counts = summary_counts(findings)
    if args.json:
        print(json.dumps({"file": args.paper, "counts": counts, "findings": [f.to_dict() for f in findings],
                          "warnings": parsed["warnings"]}, indent=1, ensure_ascii=False, allow_nan=False))
    elif args.markdown:
        print(findings_markdown(findings), end="")
    else:
        shown = [f for f in findings if f.consistent is False] if args.disagreements else findings
        if shown:
            print(findings_table(shown), end="")
        print(f"\n{args.paper}: {len(findings)} checks: {counts['consistent']} consistent, "
              f"{counts['inconsistent']} inconsistent, {counts['not checkable']} not checkable")
    for warning in parsed["warnings"]:
        where = f"line {warning['line']}: " if warning["line"] else ""
        print(f"wekawbc: warning: {args.paper}: {where}{warning['message']}", file=sys.stderr)
    return 0


def _audit(args: argparse.Namespace) -> int:
    if _is_weka_text(args.paper):
        return _audit_weka_text(args)
    from wekawbc.papers import load_paper
    from wekawbc.papers.audit import audit_paper, summary_counts
    from wekawbc.report.audit import findings_markdown, findings_table

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


def _write_outputs(out_dir: str | None, stem: str, markdown: str, page: str, data: dict) -> None:
    if out_dir is not None:
        from pathlib import Path

        from wekawbc.report.render import write_report_files

        write_report_files(Path(out_dir) / stem, markdown, page, data)


def _report(args: argparse.Namespace) -> int:
    from wekawbc.report.render import compare_runs, render_runs_html, render_runs_markdown
    from wekawbc.report.runfolder import load_run, render_run_folder

    runs = [load_run(path) for path in args.runs]
    if len(runs) == 1:
        path = render_run_folder(runs[0], plots=not args.no_plots)
        print(f"{path / 'report.html'}\n{path / 'report.md'}")
        return 0
    table = compare_runs(runs)
    markdown = render_runs_markdown(table)
    if args.json:
        print(json.dumps(table, indent=1, ensure_ascii=False))
    else:
        print(markdown, end="")
    _write_outputs(args.output, "runs", markdown, render_runs_html(table), table)
    return 0


def _compare_weka_text(args: argparse.Namespace) -> int:
    from pathlib import Path

    from wekawbc.evaluation.parse import parse_file
    from wekawbc.report.compare import comparison_html, comparison_markdown
    from wekawbc.report.compare_weka import choose_block, compare_with_weka_text
    from wekawbc.report.runfolder import load_run

    parsed = parse_file(args.paper)
    number, block = choose_block(parsed, args.block, args.paper)
    table = compare_with_weka_text(block, number, args.paper, [load_run(path) for path in args.runs])
    markdown = comparison_markdown(table)
    if args.json:
        print(json.dumps(table, indent=1, ensure_ascii=False, allow_nan=False))
    else:
        print(markdown, end="")
    _write_outputs(args.output, f"compare_{Path(args.paper).stem}_{number}", markdown, comparison_html(table), table)
    return 0


def _compare(args: argparse.Namespace) -> int:
    if _is_weka_text(args.paper):
        return _compare_weka_text(args)
    from wekawbc.papers import load_paper
    from wekawbc.report.compare import compare_with_paper, comparison_html, comparison_markdown
    from wekawbc.report.runfolder import load_run

    paper = load_paper(args.paper)
    table = compare_with_paper(paper, [load_run(path) for path in args.runs])
    markdown = comparison_markdown(table)
    if args.json:
        print(json.dumps(table, indent=1, ensure_ascii=False))
    else:
        print(markdown, end="")
    _write_outputs(args.output, f"compare_{paper.key}_{table['task']}", markdown, comparison_html(table), table)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    report = subparsers.add_parser(
        "report", help="render a run folder's report, or compare several runs side by side",
        description="One RUN_DIR: re-draw its figures and re-write report.md and report.html from report.json and "
                    "predictions.csv. Several: a side-by-side table of their metrics, best per metric marked.")
    report.add_argument("runs", metavar="RUN_DIR", nargs="+", help="run folder(s) written by wekawbc")
    report.add_argument("--json", action="store_true", help="print the side-by-side table as JSON")
    report.add_argument("-o", "--output", metavar="DIR", help="also write runs.md, runs.html and runs.json here")
    report.add_argument("--no-plots", action="store_true",
                        help="single run: keep the figures already drawn instead of re-drawing them")
    report.set_defaults(handler=_report)

    compare = subparsers.add_parser(
        "compare", help="published values of a paper beside run(s), under every plausible reading",
        description="Put a paper's published values beside the runs' values computed under the paper's named "
                    "definition and, where it is ambiguous, under each candidate reading.")
    compare.add_argument("paper", metavar="PAPER|WEKA_OUTPUT",
                         help="a bundled paper (alkrimi2023), a paper JSON file, or a Weka output text file")
    compare.add_argument("runs", metavar="RUN_DIR", nargs="+", help="run folder(s) on the same classes")
    compare.add_argument("--json", action="store_true", help="print the comparison as JSON")
    compare.add_argument("-o", "--output", metavar="DIR",
                         help="also write compare_PAPER_TASK.md, .html and .json here")
    compare.add_argument("--block", type=int, metavar="N",
                         help="Weka output: compare its evaluation #N (default: the last one with a summary)")
    compare.set_defaults(handler=_compare)

    audit = subparsers.add_parser(
        "audit", help="check a paper's (or a Weka output's) numbers against its own confusion matrices and counts",
        description="Recompute everything a paper's confusion matrices and class counts determine and check every "
                    "printed value against it, within its printed precision; check the tables against each other "
                    "and the text. Given Weka's text output instead, check every summary number and class-details "
                    "cell against the confusion matrix (and the printed predictions).")
    audit.add_argument("paper", metavar="PAPER|WEKA_OUTPUT",
                       help="a bundled paper (alkrimi2023), a paper JSON file, or a Weka output text file")
    audit.add_argument("--disagreements", action="store_true",
                       help="Weka output: list only the numbers that disagree")
    output = audit.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the findings as JSON")
    output.add_argument("--markdown", action="store_true", help="print the findings as a Markdown table")
    audit.set_defaults(handler=_audit)
