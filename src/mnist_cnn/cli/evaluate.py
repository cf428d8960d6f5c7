"""``mnist-cnn evaluate``: test loss, accuracy and the report's numbers for a model or run."""

from __future__ import annotations

import argparse
import json

from .common import add_dataset, add_runs_dir


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="test loss and accuracy of a model or run")
    p.add_argument("model_or_run", nargs="?", default=None, metavar="MODEL_OR_RUN")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--limit", type=int, default=None, help="only the first N test images")
    p.add_argument(
        "--out", default=None, help="where to write evaluation.json (default: into the run)"
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_dataset(p, "the run's own (its config.json), else mnist")
    add_runs_dir(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..evaluation.evaluator import evaluate

    result = evaluate(
        args.model_or_run,
        data_dir=args.data_dir,
        limit=args.limit,
        out=args.out,
        runs_dir=args.runs_dir,
        dataset=args.dataset,
        save_to_run=True,
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model: {result['model']}")
    rows = [
        ("test_loss", f"{result['test_loss']:.4f}"),
        ("test_accuracy", f"{result['test_accuracy']:.4f}"),
        ("n_test", str(result["n_test"])),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(
        "per-digit accuracy: "
        + "  ".join(
            f"{d}:{acc:.3f}" for d, acc in result["per_class_accuracy"].items() if acc is not None
        )
    )
    if result["written_to"]:
        print(f"wrote {result['written_to']}")
    return 0
