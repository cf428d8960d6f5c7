"""``mnist-cnn export``: a model for other runtimes (ONNX, SavedModel, LiteRT),
checked against Keras."""

from __future__ import annotations

import argparse
import json
import sys

from .common import add_runs_dir


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export",
        help="export a model for other runtimes (ONNX, SavedModel, LiteRT), checked against Keras",
        description="Export a model (default: runs/latest, else the packaged one; "
        "'default' for the packaged model, 'verifier' for the segment verifier) with "
        "input 'image' float32 [N,28,28,1] and output 'probabilities'.",
    )
    p.add_argument("model_or_run", nargs="?", default=None, metavar="MODEL_OR_RUN")
    p.add_argument("--format", choices=("onnx", "saved_model", "litert"), default="onnx")
    p.add_argument(
        "--out", required=True, help="the .onnx file, SavedModel folder or .tflite file to write"
    )
    p.add_argument(
        "--check-images",
        type=int,
        default=1000,
        metavar="N",
        help="compare with the Keras model on the first N MNIST test images (default 1000)",
    )
    p.add_argument("--no-check", action="store_true", help="skip the comparison with Keras")
    p.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..inference.export import export

    result = export(
        args.model_or_run,
        args.out,
        format=args.format,
        parity_images=0 if args.no_check else args.check_images,
        data_dir=args.data_dir,
        runs_dir=args.runs_dir,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"model: {result.source}", file=sys.stderr)
    check = (
        f"max |difference| from Keras {result.max_abs_diff:.2g} on "
        f"{result.parity_images:,} MNIST test images"
        if result.max_abs_diff is not None
        else "not checked"
    )
    print(f"wrote {result.path} ({result.format}, {result.kind}; {check})")
    return 0
