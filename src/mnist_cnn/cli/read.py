"""``mnist-cnn read``: read a number written on one line, digit by digit."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ImageError
from .common import (
    EXIT_ERROR,
    EXIT_SOME_FAILED,
    add_image_arguments,
    add_runs_dir,
    image_verb_description,
    open_inputs,
)

HELP = "read a multi-digit number from each image"


def add_parser(sub) -> None:
    p = sub.add_parser("read", help=HELP, description=image_verb_description(HELP))
    add_image_arguments(p)
    p.add_argument(
        "--no-verifier",
        action="store_true",
        help="split and merge digits by the classifier and geometry alone, "
        "without the packaged segment verifier",
    )
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..vision import reading

    predictor, paths, problems = open_inputs(args.inputs, args.runs_dir)
    if predictor is None:
        return EXIT_ERROR
    verify = None
    if not args.no_verifier:
        from ..inference.verifier import Verifier

        verify = Verifier.load()
    failed = len(problems)
    for index, path in enumerate(paths):
        try:
            result = reading.read_number(path, predictor.predict_proba, verify)
        except ImageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        low = [i for i, d in enumerate(result.digits) if d[1] < args.min_confidence]
        if args.json:
            print(json.dumps({"file": str(path), **result.to_dict(args.min_confidence)}))
        else:
            probs = " ".join(f"{d[0]}:{d[1]:.2f}" for d in result.digits)
            flag = "  (uncertain)" if low else ""
            print(f"{path}: {result.text}  [{probs}]{flag}")
        if args.preview:
            target = Path(args.preview)
            if len(paths) > 1:
                target = target.with_name(f"{target.stem}-{index + 1}{target.suffix or '.png'}")
            reading.save_boxes_preview(path, result, target)
            print(f"preview: {target}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0
