"""Train the packaged default model: ``robust`` with augmentation, over several seeds.

    python benchmarks/train_default_model.py --seeds 3

Each seed trains with the same recipe (``RECIPE`` below) in its own process
via ``mnist-cnn train``, holding out the last 10 % of the training set for
validation. Then the candidates are: each seed alone, and the ensemble of all
seeds (mean of their probabilities, one ``.keras`` file). The candidate with
the best *validation* score is written to
``src/mnist_cnn/models/weights/default.keras``: the mean of its accuracy on the
held-out 6,000 training images as they are and on the same images in a real-input
form (``mnist_cnn.vision.degrade``: stretched, 1-bit, shrunk to 7-18 px and blown
up, bold or hairline; one fixed draw), since the model is for real images as much
as for MNIST. The test set plays no part in the choice. Test accuracy is
reported as mean ± std over the seeds, and for the ensemble. Results go to
``benchmarks/results/default-model.json`` and ``weights/default.json``.

``--from-runs DIR`` skips training and takes the seeds' runs from ``DIR``
(the runs a previous call wrote to ``--out``).

``--low-res`` makes the packaged model for pictures blown up from a small
source (``weights/low_res.keras``, see ``mnist_cnn.vision.resolution``) the
same way, with ``--uci-writers`` added to the recipe; results go to
``weights/low_res.json`` and ``benchmarks/results/low-res-model.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

from mnist_cnn import models
from mnist_cnn.data import datasets
from mnist_cnn.fileio import atomic_path, write_json
from mnist_cnn.inference import Predictor, load_model
from mnist_cnn.vision.degrade import degrade_batch

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "src" / "mnist_cnn" / "models" / "weights"
RECIPE = ["--recipe", "robust"]  # mnist-cnn recipes robust


def _accuracy(model, x, y) -> float:
    """Accuracy on uint8 MNIST images, or on float images in [0, 1] as they are."""
    images = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x
    probabilities = Predictor(model).predict_proba(images)
    return float(np.mean(probabilities.argmax(axis=1) == y))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=str(ROOT / "runs" / "default-model"))
    parser.add_argument("--from-runs", default=None, metavar="DIR", help="reuse trained runs")
    parser.add_argument(
        "--low-res", action="store_true", help="the model for small sources (--uci-writers)"
    )
    args = parser.parse_args()
    recipe = RECIPE + (["--uci-writers"] if args.low_res else [])
    target = "low_res" if args.low_res else "default"

    run_dirs = []
    if args.from_runs:
        found = sorted(
            {p.resolve() for p in Path(args.from_runs).iterdir() if (p / "config.json").is_file()}
        )
        by_seed = {json.loads((p / "config.json").read_text())["seed"]: p for p in found}
        run_dirs = [by_seed[seed] for seed in range(args.seeds)]
    for seed in range(args.seeds if not run_dirs else 0):
        cmd = [
            sys.executable,
            "-m",
            "mnist_cnn",
            "train",
            *recipe,
            "--seed",
            str(seed),
            "--out",
            args.out,
            "--verbose",
            "2",
        ]
        print("$", " ".join(cmd[2:]), flush=True)
        subprocess.run(cmd, check=True)
        run_dirs.append((Path(args.out) / "latest").resolve())

    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    held_out = int(round(0.9 * len(x_train)))  # --validation-split 0.1 holds out the last 10 %
    x_val, y_val = x_train[held_out:], y_train[held_out:]
    x_val_real = degrade_batch(x_val, np.random.default_rng(2026))
    members, runs = [], []
    for seed, run in enumerate(run_dirs):
        model = load_model(run)
        members.append(model)
        metrics = json.loads((run / "metrics.json").read_text())
        runs.append(
            {
                "seed": seed,
                "run": str(run.relative_to(ROOT)) if run.is_relative_to(ROOT) else str(run),
                "val_accuracy": _accuracy(model, x_val, y_val),
                "val_real_inputs_accuracy": _accuracy(model, x_val_real, y_val),
                "test_accuracy": _accuracy(model, x_test, y_test),
                **{k: metrics[k] for k in ("test_loss", "seconds_per_epoch", "precision")},
            }
        )
        print(json.dumps({k: v for k, v in runs[-1].items() if k != "seconds_per_epoch"}))

    # (name, model, validation accuracies, test accuracy); chosen on validation only.
    candidates = [
        (
            f"seed {r['seed']}",
            m,
            {k: r[k] for k in ("val_accuracy", "val_real_inputs_accuracy")},
            r["test_accuracy"],
        )
        for r, m in zip(runs, members, strict=True)
    ]
    if len(members) > 1:
        ensemble = models.average_models(members, name=f"robust_ensemble_of_{len(members)}")
        ensemble_test = _accuracy(ensemble, x_test, y_test)
        ensemble_val = {
            "val_accuracy": _accuracy(ensemble, x_val, y_val),
            "val_real_inputs_accuracy": _accuracy(ensemble, x_val_real, y_val),
        }
        candidates.append(
            (f"ensemble of {len(members)} seeds", ensemble, ensemble_val, ensemble_test)
        )
    for candidate in candidates:
        candidate[2]["val_score"] = statistics.mean(candidate[2].values())
    name, chosen, chosen_val, chosen_test = max(candidates, key=lambda c: c[2]["val_score"])
    tests = [r["test_accuracy"] for r in runs]
    summary = {
        "date": dt.date.today().isoformat(),
        "recipe": "mnist-cnn train " + " ".join(recipe) + " --seed SEED",
        "seeds": len(runs),
        "test_accuracy_mean": statistics.mean(tests),
        "test_accuracy_std": statistics.stdev(tests) if len(tests) > 1 else 0.0,
        "candidates": {c[0]: c[2] for c in candidates},
        "chosen": name,
        "chosen_by": (
            "best validation score: the mean of the accuracies on the last 10 % of the"
            " training set (held out) as it is and in a real-input form"
        ),
        "chosen_val_accuracy": chosen_val["val_accuracy"],
        "chosen_val_score": chosen_val["val_score"],
        "chosen_test_accuracy": chosen_test,
        "runs": runs,
    }
    if len(members) > 1:
        summary["ensemble_test_accuracy"] = ensemble_test
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    with atomic_path(WEIGHTS / f"{target}.keras") as tmp:
        chosen.save(tmp)
    results = ROOT / "benchmarks" / "results" / f"{target.replace('_', '-')}-model.json"
    for path in (WEIGHTS / f"{target}.json", results):
        write_json(path, summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, indent=2))


if __name__ == "__main__":
    main()
