"""``mnist-cnn predict``: classify single-digit images (files, folders, globs)."""

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

    predictor, paths, problems = open_inputs(args.inputs, args.runs_dir)
    if predictor is None:
        return EXIT_ERROR

    good: list[tuple[Path, object, object]] = []
    several: dict[Path, int] = {}
    failed = len(problems)
    for path in paths:
        try:
            if args.raw:
                image28 = preprocess.to_mnist(path, assume_mnist=True)
                original = image28
            else:
                result = preprocess.preprocess(path, classify=predictor.predict_proba)
                image28, original = result.image28, result.gray
                if result.digits_side_by_side > 1:
                    several[path] = result.digits_side_by_side
                    print(
                        f"warning: {path}: holds {result.digits_side_by_side} digits side by "
                        "side; predict reads one digit (the answer below is for the largest). "
                        f"Read the number with: mnist-cnn read {path}",
                        file=sys.stderr,
                    )
        except ImageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        good.append((path, original, image28))

    if good:
        import numpy as np

        from ..inference.predictor import Prediction

        probs = predictor.predict_proba(np.stack([g[2] for g in good]))
        for (path, _, _), p in zip(good, probs, strict=True):
            pred = Prediction.from_probabilities(p)
            uncertain = pred.probability < args.min_confidence or path in several
            if args.json:
                answer = {
                    "file": str(path),
                    **pred.to_dict(args.min_confidence, predictor.class_names),
                }
                if path in several:
                    answer.update(uncertain=True, digits_side_by_side=several[path])
                print(json.dumps(answer))
            else:
                top3 = "  ".join(f"{d}:{q:.3f}" for d, q in pred.top3)
                flag = "  (uncertain)" if uncertain else ""
                if path in several:
                    flag = f"  (uncertain: {several[path]} digits, use read)"
                name = f" ({predictor.class_names[pred.digit]})" if predictor.class_names else ""
                print(f"{path}: {pred.digit}{name}  p={pred.probability:.3f}  top3 {top3}{flag}")
        if args.preview:
            pairs = [
                (f"{path.name}: {int(p.argmax())}", original, image28)
                for (path, original, image28), p in zip(good, probs, strict=True)
            ]
            preprocess.save_preview(pairs, args.preview)
            print(f"preview: {args.preview}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0
