"""How ``--recipe fast`` was chosen: variants of it side by side, on validation data only.

    python benchmarks/explore_fast.py [--seeds 3]

Each variant trains the fast recipe on the first 50,000 MNIST training images
and is scored on the last 10,000 (never the test set), in a fresh process,
variants alternating seed by seed, on this CPU's native path and on the
AVX2-capped float32 path (``benchmarks/bench_fast.py`` describes both). The
variants: the published network's 24 first-layer filters against 16, batch
256 against 128, Keras's initialisation against PyTorch's, and one-hot targets
against label smoothing (``--variants`` picks some). Results go to
``benchmarks/results/<timestamp>-explore-fast.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_fast import PATHS, RESULTS, _data, _peak_rss_mb  # noqa: E402

VARIANTS = {
    "24 filters, batch 256 (published)": {"filters": 24},
    "16 filters, batch 256": {"filters": 16},
    "16 filters, batch 128": {"filters": 16, "batch_size": 128},
    "16 filters, PyTorch's initialisation": {"filters": 16, "init": "pytorch"},
    "16 filters, one-hot targets": {"filters": 16, "set": {"label_smoothing": 0.0}},
    "16 filters, label smoothing 0.05": {"filters": 16, "set": {"label_smoothing": 0.05}},
    "16 filters, label smoothing 0.1": {"filters": 16, "set": {"label_smoothing": 0.1}},
    "12 filters, label smoothing 0.1": {"filters": 12, "set": {"label_smoothing": 0.1}},
}


def worker(seed: int, path: str, variant: dict) -> dict:
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.models import registry
    from mnist_cnn.training import train

    registry.FAST_FILTERS = variant["filters"]
    registry.FAST_INIT = variant.get("init", "keras")
    overrides = {
        "seed": seed,
        "batch_size": variant.get("batch_size", 256),
        **variant.get("set", {}),
    }
    if path == "avx2":
        overrides["precision"] = "float32"
    config = TrainConfig.from_recipe("fast", **overrides)
    result = train(
        config, data=_data("validation"), save=False, report=False, verbose=0, log=lambda s: None
    )
    return {
        "train_seconds": result.metrics["train_seconds"],
        "validation_accuracy": result.metrics["test_accuracy"],
        "precision": result.metrics["precision"],
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--paths", nargs="+", choices=tuple(PATHS), default=list(PATHS))
    parser.add_argument(
        "--variants", nargs="+", choices=tuple(VARIANTS), default=list(VARIANTS), metavar="NAME"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(**json.loads(args.worker))))
        return

    started = dt.datetime.now()
    variants = {name: VARIANTS[name] for name in args.variants}
    trials: dict = {path: {name: [] for name in variants} for path in args.paths}
    for path in args.paths:
        for seed in range(args.seeds):
            for name, variant in variants.items():
                spec = json.dumps({"seed": seed, "path": path, "variant": variant})
                env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **PATHS[path])
                proc = subprocess.run(
                    [sys.executable, __file__, "--worker", spec],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                trial = {"seed": seed, **json.loads(proc.stdout.strip().splitlines()[-1])}
                trials[path][name].append(trial)
                print(f"{path} {name} seed {seed}: {trial}", file=sys.stderr, flush=True)
    summary = {
        path: {
            name: {
                "median_train_seconds": statistics.median(t["train_seconds"] for t in runs),
                "validation_accuracy_mean": statistics.mean(
                    t["validation_accuracy"] for t in runs
                ),
                "validation_accuracy_std": statistics.stdev(t["validation_accuracy"] for t in runs)
                if len(runs) > 1
                else 0.0,
            }
            for name, runs in by_variant.items()
        }
        for path, by_variant in trials.items()
    }
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{started:%Y%m%d-%H%M%S}-explore-fast.json"
    report = {"started": started.isoformat(timespec="seconds"), "seeds": args.seeds}
    out.write_text(json.dumps({**report, "summary": summary, "trials": trials}, indent=2) + "\n")
    print("| path | variant | train s (median) | validation accuracy |")
    print("|---|---|---|---|")
    for path, by_variant in summary.items():
        for name, s in by_variant.items():
            print(
                f"| {path} | {name} | {s['median_train_seconds']:.2f} | "
                f"{s['validation_accuracy_mean']:.4f} ± {s['validation_accuracy_std']:.4f} |"
            )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
