"""``mnist-cnn train``: train a model with the tutorial's defaults and save a run."""

from __future__ import annotations

import argparse
import dataclasses

from .config_flags import add_train_arguments, train_config_from_args


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a model (the tutorial's defaults) and save a run")
    add_train_arguments(p)
    p.add_argument(
        "--resume",
        default=None,
        metavar="RUN_OR_STAGING_DIR",
        help="continue an interrupted training from its last finished epoch (the folder "
        "its interruption message names), with its own settings: train flags given "
        "must match them",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training.trainer import train

    config = train_config_from_args(args) if args.config or not args.resume else None
    if config is None:
        from ..config import TrainConfig
        from ..training.checkpoint import resume_config

        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        given = {n: getattr(args, n) for n in getattr(args, "_given", ()) if n in fields}
        if given:
            # Only the flags given are checked against the interrupted run's settings.
            config = resume_config(args.resume).replace(**given)
    result = train(config, verbose=args.verbose, report=not args.no_report, resume=args.resume)
    m = result.metrics
    per_epoch = ", ".join(f"{s:.1f}" for s in m["seconds_per_epoch"])
    print(f"Training took {m['train_seconds']:.1f} s (seconds per epoch: {per_epoch})")
    print(f"Run: {result.run_dir}  (also {result.run_dir.parent / 'latest'})")
    if (result.run_dir / "report.html").is_file():
        print(f"Report: {result.run_dir / 'report.html'}")
    return 0
