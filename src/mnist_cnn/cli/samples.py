"""``mnist-cnn samples``: the tutorial's 3x3 grid of dataset images with their labels."""

from __future__ import annotations

import argparse

from ..errors import MnistCnnError
from .common import add_dataset


def add_parser(sub) -> None:
    p = sub.add_parser("samples", help="draw the 3x3 grid of MNIST samples")
    p.add_argument("--out", default="samples.png")
    p.add_argument("--split", choices=("train", "test"), default="train")
    p.add_argument("--start", type=int, default=0, help="index of the first image")
    p.add_argument("--data-dir", default=None)
    add_dataset(p, "mnist", default="mnist")
    p.set_defaults(func=run, needs_keras=False)


def run(args: argparse.Namespace) -> int:
    from ..data import catalog, datasets
    from ..evaluation import plots

    (x_train, y_train), (x_test, y_test) = datasets.load_dataset(args.dataset, args.data_dir)
    x, y = (x_train, y_train) if args.split == "train" else (x_test, y_test)
    start = args.start
    if not 0 <= start <= len(x) - 9:
        raise MnistCnnError(f"--start must be between 0 and {len(x) - 9}, got {start}")
    plots.save_samples(
        x[start : start + 9],
        y[start : start + 9],
        args.out,
        class_names=catalog.class_names(args.dataset),
    )
    print(f"labels: {' '.join(str(int(v)) for v in y[start : start + 9])}")
    print(f"wrote {args.out}")
    return 0
