"""``mnist-cnn train``: train a model with the tutorial's defaults and save a run."""

from __future__ import annotations

import argparse
from pathlib import Path

from .config_flags import add_train_arguments, train_config_from_args


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (the tutorial's defaults) and save a run")
    add_train_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training.trainer import train

    config = train_config_from_args(args)
    result = train(config, verbose=args.verbose, report=not args.no_report)
    m = result.metrics
    per_epoch = ", ".join(f"{s:.1f}" for s in m["seconds_per_epoch"])
    print(f"Seconds per epoch: {per_epoch}")
    print(f"Run: {result.run_dir}  (also {Path(config.out_dir) / 'latest'})")
    if (result.run_dir / "report.html").is_file():
        print(f"Report: {result.run_dir / 'report.html'}")
    return 0
