"""Side-by-side training benchmark: mnist-cnn's trainer vs the tutorial's stock ``fit``.

Run with ``make bench`` (or ``python benchmarks/bench_train.py --seeds 3``).
In one run, alternating A/B/A/B, each trial in a fresh process:

* (a) ``mnist_cnn.training.train`` with the CLI's defaults (what ``mnist-cnn
  train`` does);
* (b) stock Keras ``model.fit`` exactly as the tutorial writes it: float32,
  batch 128, ``validation_split=0.2``, 3 epochs, on the same backend and data.

It also measures, in the same run, the machine's sgemm and convolution
GFLOP/s, and in-process inference speed. Results go to
``benchmarks/results/<timestamp>-train.json``, and a Markdown table is printed.
Timings are wall-clock on a possibly shared machine: compare the ratio and
medians from one run, not numbers across runs.
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

# FLOPs of the tutorial model per image (multiply-add = 2 FLOPs).
CONV1 = 2 * 26 * 26 * 32 * 3 * 3 * 1
CONV2 = 2 * 24 * 24 * 64 * 3 * 3 * 32
DENSE1 = 2 * 9216 * 128
DENSE2 = 2 * 128 * 10
FORWARD_FLOPS = CONV1 + CONV2 + DENSE1 + DENSE2
# Backward: weight gradients for every layer, input gradients for all but conv1.
TRAIN_FLOPS = FORWARD_FLOPS + (CONV1 + CONV2 + DENSE1 + DENSE2) + (CONV2 + DENSE1 + DENSE2)
N_TRAIN, N_VAL = 48_000, 12_000
EPOCH_FLOPS = TRAIN_FLOPS * N_TRAIN + FORWARD_FLOPS * N_VAL


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load():
    from mnist_cnn.data import datasets

    return datasets.load_mnist()


def worker_project(seed: int, epochs: int) -> dict:
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.training import train

    result = train(
        TrainConfig(seed=seed, epochs=epochs), save=False, verbose=0, log=lambda s: None
    )
    m = result.metrics
    return {
        "seconds_per_epoch": m["seconds_per_epoch"],
        "test_accuracy": m["test_accuracy"],
        "val_accuracy": m["val_accuracy"],
        "precision": m["precision"],
    }


def worker_stock(seed: int, epochs: int) -> dict:
    import keras
    from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from keras.models import Sequential
    from keras.utils import to_categorical

    keras.utils.set_random_seed(seed)
    (trainX, trainy), (testX, testy) = _load()
    # The tutorial, cell by cell (with keras.Input instead of input_shape=).
    trainX = trainX.reshape((trainX.shape[0], 28, 28, 1))
    testX = testX.reshape((testX.shape[0], 28, 28, 1))
    trainY = to_categorical(trainy)
    testY = to_categorical(testy)
    train_norm = trainX.astype("float32") / 255.0
    test_norm = testX.astype("float32") / 255.0
    model = Sequential()
    model.add(keras.Input(shape=(28, 28, 1)))
    model.add(Conv2D(32, kernel_size=(3, 3), activation="relu"))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(10, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])

    from mnist_cnn.training.trainer import EpochTimer

    timer = EpochTimer()
    history = model.fit(
        train_norm,
        trainY,
        batch_size=128,
        validation_split=0.2,
        epochs=epochs,
        verbose=0,
        callbacks=[timer],
    )
    score = model.evaluate(test_norm, testY, verbose=0)
    return {
        "seconds_per_epoch": [round(s, 3) for s in timer.seconds],
        "test_accuracy": float(score[1]),
        "val_accuracy": float(history.history["val_accuracy"][-1]),
        "precision": "float32",
    }


def worker_flops() -> dict:
    """sgemm and the tutorial's conv2 (forward+backward) throughput, float32."""
    import numpy as np
    import tensorflow as tf

    def best_of(fn, repeats):
        fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    n = 2048
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    mm = tf.function(lambda: tf.linalg.matmul(a, b))
    sgemm = 2 * n**3 / best_of(lambda: mm().numpy(), 10) / 1e9

    x = tf.random.normal((128, 26, 26, 32))
    w = tf.Variable(tf.random.normal((3, 3, 32, 64)))

    @tf.function
    def fwd():
        return tf.nn.relu(tf.nn.conv2d(x, w, 1, "VALID"))

    @tf.function
    def fwd_bwd():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.nn.conv2d(x, w, 1, "VALID")
            # The loss must need y's values, or the forward conv is pruned.
            loss = tf.reduce_sum(tf.square(y))
        gx, gw = tape.gradient(loss, [x, w])
        return loss + tf.reduce_sum(gx) + tf.reduce_sum(gw)

    conv_fwd = CONV2 * 128 / best_of(lambda: fwd().numpy(), 10) / 1e9
    conv_train = 3 * CONV2 * 128 / best_of(lambda: fwd_bwd().numpy(), 10) / 1e9

    # The same convolution in bfloat16 (what --precision auto uses where the CPU
    # has bf16 instructions): the floor for the mixed-precision trainer.
    xb = tf.cast(x, tf.bfloat16)
    wb = tf.Variable(tf.cast(w, tf.bfloat16))

    @tf.function
    def fwd_bwd_bf16():
        with tf.GradientTape() as tape:
            tape.watch(xb)
            y = tf.nn.conv2d(xb, wb, 1, "VALID")
            loss = tf.reduce_sum(tf.square(tf.cast(y, tf.float32)))
        gx, gw = tape.gradient(loss, [xb, wb])
        return (
            loss + tf.reduce_sum(tf.cast(gx, tf.float32)) + tf.reduce_sum(tf.cast(gw, tf.float32))
        )

    try:
        conv_train_bf16 = 3 * CONV2 * 128 / best_of(lambda: fwd_bwd_bf16().numpy(), 10) / 1e9
    except Exception:  # noqa: BLE001 - no bf16 kernels on this CPU/build
        conv_train_bf16 = None
    del np
    return {
        "sgemm_gflops": sgemm,
        "conv_forward_gflops": conv_fwd,
        "conv_train_gflops": conv_train,
        "conv_train_bf16_gflops": conv_train_bf16,
    }


def worker_inference() -> dict:
    """Predict throughput on the 10k test images and single-image latency."""
    import numpy as np

    from mnist_cnn import models
    from mnist_cnn.data import datasets
    from mnist_cnn.inference import Predictor

    _, (x_test, _) = datasets.load_mnist()
    x = x_test.astype(np.float32) / 255.0
    model = models.build_model("baseline")
    predictor = Predictor(model)
    predictor.predict_proba(x[:1024])
    start = time.perf_counter()
    predictor.predict_proba(x)
    throughput = len(x) / (time.perf_counter() - start)

    one = x[:1]
    for _ in range(20):
        predictor.predict_proba(one)
    latencies = []
    for i in range(500):
        start = time.perf_counter()
        predictor.predict_proba(x[i : i + 1])
        latencies.append((time.perf_counter() - start) * 1000)
    stock = []
    for i in range(30):
        start = time.perf_counter()
        model.predict(x[i : i + 1, ..., None], verbose=0)
        stock.append((time.perf_counter() - start) * 1000)
    latencies.sort()
    return {
        "predict_images_per_second": throughput,
        "latency_ms_median": statistics.median(latencies),
        "latency_ms_p99": latencies[int(0.99 * len(latencies)) - 1],
        "stock_keras_predict_latency_ms_median": statistics.median(stock[5:]),
    }


WORKERS = {"project": worker_project, "stock": worker_stock}


def run_worker(kind: str, *extra: str) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, *extra],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarize(trials: list[dict]) -> dict:
    steady = [s for t in trials for s in t["seconds_per_epoch"][1:]]
    accs = [t["test_accuracy"] for t in trials]
    median = statistics.median(steady)
    return {
        "median_seconds_per_epoch": median,
        "images_per_second": N_TRAIN / median,
        "test_accuracy_mean": statistics.mean(accs),
        "test_accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "peak_rss_mb_max": max(t["peak_rss_mb"] for t in trials),
        "precision": trials[0]["precision"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="JSON file to write")
    args = parser.parse_args()

    if args.worker:
        if args.worker == "flops":
            out = worker_flops()
        elif args.worker == "inference":
            out = worker_inference()
        else:
            out = WORKERS[args.worker](args.seed, args.epochs)
        out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        print(json.dumps(out))
        return

    started = dt.datetime.now()
    env_info = json.loads(
        subprocess.run(
            [sys.executable, "-m", "mnist_cnn", "env", "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    flops_before = run_worker("flops")
    trials: dict[str, list[dict]] = {"project": [], "stock": []}
    for seed in range(args.seeds):
        for kind in ("project", "stock"):  # A/B/A/B
            trial = run_worker(kind, "--seed", str(seed), "--epochs", str(args.epochs))
            trial["seed"] = seed
            trials[kind].append(trial)
            print(
                f"{kind:8s} seed {seed}: s/epoch {trial['seconds_per_epoch']} "
                f"test_acc {trial['test_accuracy']:.4f} rss {trial['peak_rss_mb']} MB",
                file=sys.stderr,
            )
    flops_after = run_worker("flops")
    inference = run_worker("inference")

    conv = statistics.mean([flops_before["conv_train_gflops"], flops_after["conv_train_gflops"]])
    floor = EPOCH_FLOPS / (conv * 1e9)
    bf16 = [f["conv_train_bf16_gflops"] for f in (flops_before, flops_after)]
    conv_bf16 = statistics.mean(bf16) if None not in bf16 else None
    floor_bf16 = EPOCH_FLOPS / (conv_bf16 * 1e9) if conv_bf16 else None
    a, b = summarize(trials["project"]), summarize(trials["stock"])
    report = {
        "started": started.isoformat(timespec="seconds"),
        "env": env_info,
        "epochs": args.epochs,
        "seeds": args.seeds,
        "model_flops": {
            "forward_per_image": FORWARD_FLOPS,
            "train_per_image": TRAIN_FLOPS,
            "epoch_with_validation": EPOCH_FLOPS,
        },
        "machine": {
            "before": flops_before,
            "after": flops_after,
            "float32_floor_seconds_per_epoch": floor,
            "bfloat16_floor_seconds_per_epoch": floor_bf16,
        },
        "project": a,
        "stock_fit": b,
        "speedup_vs_stock": b["median_seconds_per_epoch"] / a["median_seconds_per_epoch"],
        "project_vs_float32_floor": a["median_seconds_per_epoch"] / floor,
        "project_vs_bfloat16_floor": (
            a["median_seconds_per_epoch"] / floor_bf16 if floor_bf16 else None
        ),
        "inference": inference,
        "trials": trials,
    }
    out = Path(args.out) if args.out else RESULTS / f"{started:%Y%m%d-%H%M%S}-train.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")

    print(
        f"| trainer | median s/epoch | images/s | test accuracy ({args.seeds} seeds) | peak RSS |"
    )
    print("|---|---|---|---|---|")
    for name, s in (("mnist-cnn train (" + a["precision"] + ")", a), ("stock `fit` (float32)", b)):
        print(
            f"| {name} | {s['median_seconds_per_epoch']:.1f} | {s['images_per_second']:.0f} | "
            f"{s['test_accuracy_mean']:.4f} ± {s['test_accuracy_std']:.4f} | "
            f"{s['peak_rss_mb_max']:.0f} MB |"
        )
    print(
        f"\nspeed-up vs stock fit: {report['speedup_vs_stock']:.2f}x; float32 floor "
        f"{floor:.1f} s/epoch (conv {conv:.0f} GFLOP/s, sgemm "
        f"{flops_before['sgemm_gflops']:.0f} GFLOP/s); ours/floor "
        f"{report['project_vs_float32_floor']:.2f}"
        + (
            f"; bfloat16 floor {floor_bf16:.1f} s/epoch (conv {conv_bf16:.0f} GFLOP/s)"
            if floor_bf16
            else ""
        )
    )
    print(
        f"inference: {inference['predict_images_per_second']:.0f} images/s; single image "
        f"median {inference['latency_ms_median']:.2f} ms, "
        f"p99 {inference['latency_ms_p99']:.2f} ms "
        f"(stock model.predict {inference['stock_keras_predict_latency_ms_median']:.1f} ms)"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
