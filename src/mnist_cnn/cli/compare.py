"""``mnist-cnn compare``: the config keys that differ between runs, and their metrics."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "compare",
        help="compare runs: the config keys that differ and the metrics",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run or cv run directories")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--html", default=None, metavar="FILE", help="also write an HTML page")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation import compare

    comparison = compare.compare_runs(args.runs)
    if args.html:
        from ..evaluation.report import render_compare
        from ..fileio import atomic_write_text

        atomic_write_text(args.html, render_compare(comparison))
    if args.json:
        print(json.dumps(comparison, indent=2))
    else:
        print(compare.format_table(comparison))
    if args.html:
        print(f"wrote {args.html}", file=sys.stderr)
    return 0
