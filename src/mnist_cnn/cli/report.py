"""``mnist-cnn report``: write a run's (or cv run's) self-contained ``report.html``."""

from __future__ import annotations

import argparse

from .common import add_runs_dir


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write a run's self-contained report.html",
        description="Write report.html into a run (or a cv run): config, environment, "
        "learning curves, test metrics with a 95%% interval, per-digit scores, confusion "
        "matrix, the worst mistakes, calibration. The numbers come from evaluation.json "
        "(evaluated first when the run has none).",
    )
    p.add_argument("run", nargs="?", default=None, metavar="RUN", help="default: RUNS_DIR/latest")
    p.add_argument("--out", default=None, help="HTML file to write (default: RUN/report.html)")
    p.add_argument(
        "--handwriting",
        default=None,
        metavar="JSON",
        help="include a benchmarks/bench_handwriting.py result "
        "(default: the run's handwriting.json, if any)",
    )
    p.add_argument("--evaluate", action="store_true", help="evaluate again first")
    p.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.report import write_report

    path = write_report(
        args.run,
        out=args.out,
        handwriting=args.handwriting,
        data_dir=args.data_dir,
        reevaluate=args.evaluate,
        runs_dir=args.runs_dir,
    )
    print(f"wrote {path}")
    return 0
