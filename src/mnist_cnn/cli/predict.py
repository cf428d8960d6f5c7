"""``mnist-cnn predict``: classify single-digit images (files, folders, globs)."""

from __future__ import annotations

import argparse
import json
import sys

from .common import (
    EXIT_ERROR,
    EXIT_SOME_FAILED,
    add_image_arguments,
    add_runs_dir,
    image_verb_description,
    open_inputs,
)

HELP = "classify single-digit images"


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help=HELP, description=image_verb_description(HELP))
    add_image_arguments(p)
    p.add_argument(
        "--raw",
        action="store_true",
        help="images are already 28x28 MNIST-style (white on black)",
    )
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import preprocess
    from ..inference.files import predict_files

    predictor, paths, problems = open_inputs(args.inputs, args.runs_dir)
    if predictor is None:
        return EXIT_ERROR

    answers = predict_files(predictor, paths, raw=args.raw)
    for answer in answers:
        if answer.error is not None:
            print(f"error: {answer.error}", file=sys.stderr)
        elif answer.digits_side_by_side > 1:
            print(
                f"warning: {answer.path}: holds {answer.digits_side_by_side} digits side by "
                "side; predict reads one digit (the answer below is for the largest). "
                f"Read the number with: mnist-cnn read {answer.path}",
                file=sys.stderr,
            )
    good = [a for a in answers if a.prediction is not None]
    names = predictor.class_names
    for answer in good:
        pred = answer.prediction
        if args.json:
            print(json.dumps(answer.to_dict(args.min_confidence, names)))
            continue
        top3 = "  ".join(f"{d}:{q:.3f}" for d, q in pred.top3)
        flag = "  (uncertain)" if answer.uncertain(args.min_confidence) else ""
        if answer.not_a_digit is not None:
            flag = f"  (uncertain: not a digit? {answer.not_a_digit})"
        if answer.digits_side_by_side > 1:
            flag = f"  (uncertain: {answer.digits_side_by_side} digits, use read)"
        if answer.small_source:
            flag += "  [small source: read by the low-resolution model]"
        name = f" ({names[pred.digit]})" if names else ""
        print(f"{answer.path}: {pred.digit}{name}  p={pred.probability:.3f}  top3 {top3}{flag}")
    if good and args.preview:
        pairs = [(f"{a.path.name}: {a.prediction.digit}", a.original, a.image28) for a in good]
        preprocess.save_preview(pairs, args.preview)
        print(f"preview: {args.preview}", file=sys.stderr)
    failed = len(problems) + len(answers) - len(good)
    return EXIT_SOME_FAILED if failed else 0
