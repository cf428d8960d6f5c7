"""Where does training time go? Each variant of the tutorial's training step, side by side.

    python benchmarks/explore_train.py [--steps 80] [--rounds 2]

Each variant runs in a fresh process: it builds the tutorial model, warms up
for 10 steps, then times ``--steps`` training steps of batch 128 with Keras
``fit`` and one validation pass over 12,000 images. Variants alternate over
``--rounds`` rounds; the JSON in ``benchmarks/results/`` keeps every timing,
and the table shows medians, scaled to a full epoch (375 steps + validation).
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

RESULTS = Path(__file__).resolve().parent / "results"
# Alternative allocators (Debian: libgoogle-perftools4, libjemalloc2); variants
# whose library is missing are skipped.
LIBDIR = Path("/usr/lib/x86_64-linux-gnu")
TCMALLOC = LIBDIR / "libtcmalloc_minimal.so.4"
JEMALLOC = LIBDIR / "libjemalloc.so.2"

VARIANTS = {
    "float32 (stock fit)": ({}, {}),
    "float32 + XLA jit_compile": ({"jit_compile": True}, {}),
    "float32 + steps_per_execution=25": ({"steps_per_execution": 25}, {}),
    "float32 + inter_op threads=1": ({"inter_op": 1}, {}),
    "float32, oneDNN off": ({}, {"TF_ENABLE_ONEDNN_OPTS": "0"}),
    "mixed_bfloat16": ({"policy": "mixed_bfloat16"}, {}),
    "mixed_bfloat16 + steps_per_execution=25": (
        {"policy": "mixed_bfloat16", "steps_per_execution": 25},
        {},
    ),
    "mixed_bfloat16 + validation batch 1024": (
        {"policy": "mixed_bfloat16", "val_batch": 1024},
        {},
    ),
    "float32 + tcmalloc": ({}, {"LD_PRELOAD": str(TCMALLOC)}),
    "mixed_bfloat16 + tcmalloc": ({"policy": "mixed_bfloat16"}, {"LD_PRELOAD": str(TCMALLOC)}),
    "mixed_bfloat16 + jemalloc": ({"policy": "mixed_bfloat16"}, {"LD_PRELOAD": str(JEMALLOC)}),
}


def worker(options: dict, steps: int) -> dict:
    import tensorflow as tf

    if options.get("inter_op"):
        tf.config.threading.set_inter_op_parallelism_threads(options["inter_op"])
    import keras

    from mnist_cnn import models
    from mnist_cnn.data import datasets
    from mnist_cnn.training.trainer import dtype_policy

    (x, y), _ = datasets.load_mnist()
    x, y = datasets.prepare_images(x), datasets.prepare_labels(y)
    x_val, y_val = x[48000:], y[48000:]
    keras.utils.set_random_seed(0)
    with dtype_policy(options.get("policy", "float32")):
        model = models.build_model("baseline", compile=False)
    model.compile(
        loss="categorical_crossentropy",
        optimizer="adam",
        metrics=["accuracy"],
        jit_compile=options.get("jit_compile", False),
        steps_per_execution=options.get("steps_per_execution", 1),
    )
    model.fit(x[: 128 * 10], y[: 128 * 10], batch_size=128, epochs=1, verbose=0)
    start = time.perf_counter()
    model.fit(x[: 128 * steps], y[: 128 * steps], batch_size=128, epochs=1, verbose=0)
    train = time.perf_counter() - start
    val_batch = options.get("val_batch", 128)
    model.evaluate(x_val[:1024], y_val[:1024], batch_size=val_batch, verbose=0)
    start = time.perf_counter()
    model.evaluate(x_val, y_val, batch_size=val_batch, verbose=0)
    val = time.perf_counter() - start
    return {
        "ms_per_step": 1000 * train / steps,
        "validation_seconds": val,
        "epoch_estimate_seconds": train / steps * 375 + val,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker), args.steps)))
        return

    variants = {
        name: spec
        for name, spec in VARIANTS.items()
        if "LD_PRELOAD" not in spec[1] or Path(spec[1]["LD_PRELOAD"]).exists()
    }
    timings: dict[str, list[dict]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (options, env) in variants.items():
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--worker",
                    json.dumps(options),
                    "--steps",
                    str(args.steps),
                ],
                capture_output=True,
                text=True,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
            )
            if proc.returncode:
                raise RuntimeError(f"{name} failed:\n{proc.stderr[-3000:]}")
            timings[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(name, timings[name][-1], file=sys.stderr, flush=True)

    base = statistics.median(t["epoch_estimate_seconds"] for t in timings["float32 (stock fit)"])
    rows = []
    for name, runs in timings.items():
        epoch = statistics.median(t["epoch_estimate_seconds"] for t in runs)
        rows.append(
            {
                "variant": name,
                "ms_per_step": statistics.median(t["ms_per_step"] for t in runs),
                "validation_seconds": statistics.median(t["validation_seconds"] for t in runs),
                "epoch_estimate_seconds": epoch,
                "speedup_vs_stock": base / epoch,
            }
        )
    out = RESULTS / f"{dt.datetime.now():%Y%m%d-%H%M%S}-explore.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"steps": args.steps, "rounds": args.rounds, "summary": rows, "timings": timings},
            indent=2,
        )
        + "\n"
    )
    print("| variant | ms/step | validation s | epoch estimate s | speed-up |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['variant']} | {r['ms_per_step']:.1f} | {r['validation_seconds']:.2f} | "
            f"{r['epoch_estimate_seconds']:.1f} | {r['speedup_vs_stock']:.2f}x |"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
