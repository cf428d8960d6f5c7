"""Train the packaged segment verifier and choose the reader's score weights.

    .venv/bin/python benchmarks/train_verifier.py [--numbers 5000] [--epochs 12]

1. Compose ``--numbers`` numbers from the first 54,000 MNIST *training*
   digits (2-8 digits, random size, spacing, overlap and pen) and label every
   piece the reader weighs: one whole digit or not
   (:func:`mnist_cnn.training.verifier_data.make_examples`). The classifier is the packaged
   default model.
2. Train the verifier on them; its accuracy is measured on pieces from
   numbers composed from the last 6,000 training digits (validation).
3. Read ``--tune-numbers`` validation numbers (half laid out like the tests',
   half varied) with a small grid of score weights, and keep the best. The
   test set plays no part: ``benchmarks/bench_handwriting.py`` measures the
   result on numbers composed from MNIST test digits.

Writes ``src/mnist_cnn/models/weights/verifier.keras`` (+ ``.json`` with the chosen
weights) and ``benchmarks/results/verifier.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import json
import time
from pathlib import Path

import numpy as np

from mnist_cnn import reading
from mnist_cnn.data import datasets, synthetic
from mnist_cnn.inference import Predictor
from mnist_cnn.inference.verifier import Verifier
from mnist_cnn.models.verifier import build_verifier, default_verifier_path
from mnist_cnn.training import verifier_data

ROOT = Path(__file__).resolve().parents[1]
VALIDATION_FROM = 54_000


def tuning_numbers(x, y, count, rng):
    """Validation numbers: half as the tests lay them out, half varied."""
    cases = []
    for k in range(count):
        if k % 2 == 0:
            length = int(rng.integers(2, 9))
            index = rng.choice(len(x), length, replace=False)
            image = synthetic.compose_number(x[index], rng).image
            cases.append((image, "".join(str(int(v)) for v in y[index])))
        else:
            number, text = verifier_data.random_number(x, y, rng)
            cases.append((number.image, text))
    return cases


def whole_number_accuracy(cases, classify, verify, weights) -> float:
    right = sum(
        reading.read_number(image, classify, verify, weights=weights).text == text
        for image, text in cases
    )
    return right / len(cases)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--numbers", type=int, default=5000, help="training numbers")
    parser.add_argument("--val-numbers", type=int, default=500, help="for verifier accuracy")
    parser.add_argument("--tune-numbers", type=int, default=400, help="for the score weights")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(default_verifier_path()))
    args = parser.parse_args()

    predictor = Predictor.load("default")
    classify = predictor.predict_proba
    (x, y), _ = datasets.load_mnist()
    x_fit, y_fit = x[:VALIDATION_FROM], y[:VALIDATION_FROM]
    x_val, y_val = x[VALIDATION_FROM:], y[VALIDATION_FROM:]

    start = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    inputs, labels = verifier_data.make_examples(x_fit, y_fit, classify, args.numbers, rng)
    val_inputs, val_labels = verifier_data.make_examples(
        x_val, y_val, classify, args.val_numbers, np.random.default_rng(args.seed + 1)
    )
    data_seconds = time.perf_counter() - start
    print(
        f"{len(inputs)} training pieces ({labels.mean():.0%} whole), "
        f"{len(val_inputs)} validation pieces, {data_seconds:.0f} s",
        flush=True,
    )

    import keras

    # The script owns its process: fit's shuffling is seeded too, not only the weights.
    keras.utils.set_random_seed(args.seed)
    model = build_verifier(args.seed)
    start = time.perf_counter()
    history = model.fit(
        inputs,
        labels,
        batch_size=256,
        epochs=args.epochs,
        validation_data=(val_inputs, val_labels),
        verbose=2,
    )
    train_seconds = time.perf_counter() - start
    trained = Verifier(model, reading.WEIGHTS_WITH_VERIFIER)
    trained.save(args.out, {"status": "trained; score weights not chosen yet"})

    cases = tuning_numbers(x_val, y_val, args.tune_numbers, np.random.default_rng(args.seed + 2))
    baseline = whole_number_accuracy(cases, classify, None, reading.WEIGHTS_WITHOUT_VERIFIER)
    print(f"without verifier: {baseline:.3f}", flush=True)
    grid = []
    for lam, piece, prior in itertools.product((0.5, 1.0, 2.0), (0.0, 0.4), (1.0,)):
        weights = reading.ScoreWeights(verifier=lam, wide=prior, short=prior, piece_cost=piece)
        accuracy = whole_number_accuracy(cases, classify, trained, weights)
        grid.append({"weights": dataclasses.asdict(weights), "accuracy": accuracy})
        print(f"{weights}: {accuracy:.3f}", flush=True)
    # Best accuracy; among ties, the weights nearest the middle of the grid.
    best = max(grid, key=lambda g: (g["accuracy"], -abs(g["weights"]["verifier"] - 1.0)))
    trained.weights = reading.ScoreWeights(**best["weights"])

    info = {
        "date": dt.date.today().isoformat(),
        "command": "python benchmarks/train_verifier.py "
        f"--numbers {args.numbers} --epochs {args.epochs} --seed {args.seed}",
        "classifier": str(predictor.path.relative_to(ROOT))
        if predictor.path.is_relative_to(ROOT)
        else str(predictor.path),
        "training_pieces": int(len(inputs)),
        "training_whole_fraction": float(labels.mean()),
        "validation_pieces": int(len(val_inputs)),
        "validation_accuracy": float(history.history["val_accuracy"][-1]),
        "validation_always_not_whole": float(1 - val_labels.mean()),
        "data_seconds": data_seconds,
        "train_seconds": train_seconds,
        "tuning_numbers": args.tune_numbers,
        "tuning_without_verifier": baseline,
        "tuning_best": best,
    }
    trained.save(args.out, info)
    results = ROOT / "benchmarks" / "results" / "verifier.json"
    results.write_text(json.dumps({**info, "grid": grid}, indent=2) + "\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
