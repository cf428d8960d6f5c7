"""``--recipe fast`` against a plain-PyTorch port of the fastest published MNIST recipe.

    python benchmarks/bench_fast.py [--seeds 5] [--paths native avx2]

The anchor (99.04 % mean over 30 seeds in 0.76 s on a GPU) trains a
Conv24-5x5/Pool/Conv32-3x3/Pool/FC800-256-10 network for one epoch at batch
256 with Adam (lr 0.01, betas 0.7/0.9) under a one-cycle schedule, on
standardised images. ``reference_torch`` below is that recipe in plain
PyTorch on the CPU; ``ours`` is ``mnist_cnn.training.train`` with
``TrainConfig.from_recipe("fast")``, exactly what ``mnist-cnn train --recipe
fast`` runs.

Each trial runs in a fresh process with MNIST already in memory; the clock
covers training only (for us, the whole ``fit`` call, graph tracing
included; for PyTorch, the training loop), not start-up or the test pass.
Trials alternate ours/PyTorch, seed by seed, on each path:

* ``native``: what this CPU offers (``--precision auto``: bfloat16 where the
  CPU has AVX512-BF16/AMX);
* ``avx2``: oneDNN capped at AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``, and PyTorch's
  own kernels at ``ATEN_CPU_CAPABILITY=avx2``) with ``--precision float32``,
  as on most laptops and cloud VMs.

``--split validation`` trains on the first 50,000 training images and
reports accuracy on the last 10,000 instead of the test set: the recipe was
chosen that way (``--set key=value`` tries a variant of it). Results go to
``benchmarks/results/<timestamp>-fast.json`` and a Markdown table is printed.
Timings are wall-clock on a possibly shared machine: compare within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
PATHS = {
    "native": {},
    "avx2": {
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "OPENBLAS_CORETYPE": "Haswell",
    },
}
N_VALIDATION = 10_000


def _data(split: str):
    """``((x_train, y_train), (x_eval, y_eval))`` uint8 images and labels."""
    from mnist_cnn.data import datasets

    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    if split == "validation":
        cut = len(x_train) - N_VALIDATION
        return (x_train[:cut], y_train[:cut]), (x_train[cut:], y_train[cut:])
    return (x_train, y_train), (x_test, y_test)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_ours(seed: int, split: str, path: str, settings: dict) -> dict:
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.training import train

    data = _data(split)
    overrides = {"seed": seed, **settings}
    if path == "avx2":
        overrides["precision"] = "float32"
    config = TrainConfig.from_recipe("fast", **overrides)
    result = train(config, data=data, save=False, report=False, verbose=0, log=lambda s: None)
    return {
        "train_seconds": result.metrics["train_seconds"],
        "accuracy": result.metrics["test_accuracy"],
        "precision": result.metrics["precision"],
    }


def worker_torch(seed: int, split: str, path: str, settings: dict) -> dict:
    """The reference: the published recipe in plain PyTorch, on 2 threads."""
    import numpy as np
    import torch
    from torch import nn

    torch.set_num_threads(os.cpu_count() or 1)
    torch.manual_seed(seed)
    (x_train, y_train), (x_eval, y_eval) = _data(split)
    x = torch.tensor(x_train, dtype=torch.float32).unsqueeze(1) / 255.0
    y = torch.tensor(y_train, dtype=torch.long)
    x_ev = torch.tensor(x_eval, dtype=torch.float32).unsqueeze(1) / 255.0
    mean, std = x.mean(), x.std()
    x, x_ev = (x - mean) / std, (x_ev - mean) / std
    model = nn.Sequential(
        nn.Conv2d(1, 24, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(24, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(800, 256),
        nn.ReLU(),
        nn.Linear(256, 10),
    )
    batch = 256
    steps = -(-len(x) // batch)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.7, 0.9))
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.01, total_steps=steps, cycle_momentum=False
    )
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    order = torch.randperm(len(x))
    model.train()
    for i in range(steps):
        idx = order[i * batch : (i + 1) * batch]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        schedule.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        predicted = model(x_ev).argmax(1).numpy()
    return {
        "train_seconds": round(seconds, 3),
        "accuracy": float(np.mean(predicted == y_eval)),
        "precision": "float32",
    }


WORKERS = {"ours": worker_ours, "torch": worker_torch}


def run_worker(kind: str, seed: int, split: str, path: str, settings: dict) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **PATHS[path])
    spec = json.dumps({"seed": seed, "split": split, "path": path, "settings": settings})
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, "--spec", spec],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarize(trials: list[dict]) -> dict:
    seconds = [t["train_seconds"] for t in trials]
    accs = [t["accuracy"] for t in trials]
    return {
        "median_train_seconds": statistics.median(seconds),
        "accuracy_mean": statistics.mean(accs),
        "accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "accuracy_min": min(accs),
        "peak_rss_mb_max": max(t["peak_rss_mb"] for t in trials),
        "precision": trials[0]["precision"],
    }


def parse_settings(pairs: list[str]) -> dict:
    settings = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--paths", nargs="+", choices=tuple(PATHS), default=list(PATHS))
    parser.add_argument("--split", choices=("test", "validation"), default="test")
    parser.add_argument(
        "--set", nargs="*", default=[], metavar="KEY=VALUE", help="vary our recipe (JSON values)"
    )
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch reference")
    parser.add_argument("--out", default=None, help="JSON file to write")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--spec", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        spec = json.loads(args.spec)
        out = WORKERS[args.worker](**spec)
        out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        print(json.dumps(out))
        return

    settings = parse_settings(args.set)
    started = dt.datetime.now()
    from mnist_cnn import envinfo

    env_info = envinfo.report()  # what `mnist-cnn env --json` prints (no framework loaded)
    kinds = ("ours",) if args.no_torch else ("ours", "torch")
    results: dict = {}
    for path in args.paths:
        trials: dict[str, list[dict]] = {kind: [] for kind in kinds}
        for seed in range(args.seeds):
            for kind in kinds:  # alternated, seed by seed
                trial = {"seed": seed, **run_worker(kind, seed, args.split, path, settings)}
                trials[kind].append(trial)
                print(
                    f"{path:6s} {kind:5s} seed {seed}: {trial['train_seconds']:.2f} s, "
                    f"{args.split} accuracy {trial['accuracy']:.4f} ({trial['precision']})",
                    file=sys.stderr,
                    flush=True,
                )
        summary = {kind: summarize(trials[kind]) for kind in kinds}
        if "torch" in summary:
            summary["time_vs_torch"] = (
                summary["ours"]["median_train_seconds"] / summary["torch"]["median_train_seconds"]
            )
        results[path] = {"summary": summary, "trials": trials}

    report = {
        "started": started.isoformat(timespec="seconds"),
        "env": env_info,
        "split": args.split,
        "seeds": args.seeds,
        "settings": settings,
        "paths": results,
    }
    RESULTS.mkdir(exist_ok=True)
    out = Path(args.out) if args.out else RESULTS / f"{started:%Y%m%d-%H%M%S}-fast.json"
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(f"| path | recipe | train s (median) | {args.split} accuracy mean ± std (min) |")
    print("|---|---|---|---|")
    for path, result in results.items():
        for kind in kinds:
            s = result["summary"][kind]
            name = "mnist-cnn --recipe fast" if kind == "ours" else "PyTorch reference"
            print(
                f"| {path} ({s['precision']}) | {name} | {s['median_train_seconds']:.2f} | "
                f"{s['accuracy_mean']:.4f} ± {s['accuracy_std']:.4f} ({s['accuracy_min']:.4f}) |"
            )
        if "time_vs_torch" in result["summary"]:
            print(
                f"| {path} | time ours / PyTorch | {result['summary']['time_vs_torch']:.2f}x | |"
            )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
