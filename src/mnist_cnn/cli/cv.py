"""``mnist-cnn cv``: stratified k-fold cross-validation with the train flags."""

from __future__ import annotations

import argparse

from .config_flags import add_train_arguments, train_config_from_args


def add_parser(sub) -> None:
    # cv takes every train flag (the same TrainConfig); --validation-split is
    # unused there, each fold's held-out part is its validation set.
    p = sub.add_parser(
        "cv",
        help="stratified k-fold cross-validation with the train flags",
        description="Stratified k-fold cross-validation on the training images (the first "
        "--train-limit of them, if given): each fold trains with the same config on the "
        "other folds and validates on its own. Writes a cv run directory with cv.json and "
        "report.html. --validation-split is not used.",
    )
    add_train_arguments(p)
    p.add_argument("--folds", type=int, default=5, help="number of folds, 2-10 (default 5)")
    p.add_argument(
        "--test",
        action="store_true",
        help="also evaluate each fold's model and their mean-probability ensemble on the test set",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="finish an interrupted cv run (its own settings; other flags are ignored)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training import crossval

    if args.resume:
        result = crossval.resume_cv(args.resume, verbose=args.verbose, report=not args.no_report)
    else:
        result = crossval.cross_validate(
            train_config_from_args(args),
            folds=args.folds,
            test=args.test,
            verbose=args.verbose,
            report=not args.no_report,
        )
    print(crossval.format_summary(result.summary))
    print(f"cv run: {result.cv_dir}")
    return 0
