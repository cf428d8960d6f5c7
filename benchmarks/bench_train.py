"""Side-by-side training benchmark: mnist-cnn's trainer vs the tutorial's stock ``fit``,
on two instruction-set paths of one machine.

Run with ``make bench`` (or ``python benchmarks/bench_train.py --seeds 3 --epochs 3``).
Each path runs every trial in a fresh process with its own environment:

* ``native``: whatever the CPU has; ``mnist-cnn train --precision auto``
  (bfloat16 arithmetic where the CPU has AVX512-BF16 or AMX);
* ``avx2``: oneDNN capped at AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``, set before
  TensorFlow loads, checked from oneDNN's own report) and ``--precision
  float32`` (and numpy's OpenBLAS at ``OPENBLAS_CORETYPE=Haswell``): what a
  2-core AVX2 machine does.

On each path, alternating A/B then B/A by seed:

* (a) ``mnist_cnn.training.train`` with the CLI's defaults and that precision;
* (b) stock Keras ``model.fit`` exactly as the tutorial writes it: float32,
  batch 128, ``validation_split=0.2``, on the same backend and data.

Each path also measures, in the same run and under the same cap, the
machine's sgemm and convolution GFLOP/s (the arithmetic floor of an epoch)
and inference: one image at a time and 10,000 images through
``mnist_cnn.inference.Predictor``, for the tutorial's model and the packaged
default model, under the Keras runtime and, when onnxruntime and tf2onnx are
installed, ``runtime="onnx"`` (onnxruntime does not read ``ONEDNN_MAX_CPU_ISA``:
its rows on the avx2 path still use the CPU's own instructions).

Results go to ``benchmarks/results/<timestamp>-train.json`` (the first path's
numbers also under the older top-level names) and Markdown tables are
printed. Timings are wall-clock on a possibly shared machine: compare the
ratios and medians from one run, not numbers across runs.
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
N_IMAGES = 60_000
VALIDATION_SPLIT = 0.2
N_TRAIN, N_VAL = 48_000, 12_000
EPOCH_FLOPS = TRAIN_FLOPS * N_TRAIN + FORWARD_FLOPS * N_VAL

# The two paths: environment for every process of the path, and the trainer's precision.
# "native" clears a cap inherited from the caller's environment. OPENBLAS_CORETYPE
# caps numpy's BLAS (Predictor's small batches) the same way.
PATHS = {
    "native": {
        "env": {"ONEDNN_MAX_CPU_ISA": None, "OPENBLAS_CORETYPE": None},
        "precision": "auto",
        "bf16_probe": True,
    },
    "avx2": {
        "env": {"ONEDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"},
        "precision": "float32",
        "bf16_probe": False,
    },
}
# Models and runtimes of the inference table.
INFERENCE_MODELS = ("tutorial", "default")
RUNTIMES = ("keras", "onnx")


def split_sizes(train_limit: int | None) -> tuple[int, int]:
    """Training and validation images per epoch (Keras's validation_split arithmetic)."""
    n = min(train_limit or N_IMAGES, N_IMAGES)
    n_train = int(n * (1 - VALIDATION_SPLIT))
    return n_train, n - n_train


def epoch_flops(train_limit: int | None) -> int:
    n_train, n_val = split_sizes(train_limit)
    return TRAIN_FLOPS * n_train + FORWARD_FLOPS * n_val


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load():
    from mnist_cnn.data import datasets

    return datasets.load_mnist()


def worker_project(seed: int, epochs: int, precision: str, train_limit: int | None) -> dict:
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.training import train

    config = TrainConfig(seed=seed, epochs=epochs, precision=precision, train_limit=train_limit)
    result = train(config, save=False, verbose=0, log=lambda s: None)
    m = result.metrics
    return {
        "seconds_per_epoch": m["seconds_per_epoch"],
        "test_accuracy": m["test_accuracy"],
        "val_accuracy": m["val_accuracy"],
        "precision": m["precision"],
    }


def worker_stock(seed: int, epochs: int, precision: str, train_limit: int | None) -> dict:
    import keras
    from keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from keras.models import Sequential
    from keras.utils import to_categorical

    del precision  # the tutorial trains in float32, on every path
    keras.utils.set_random_seed(seed)
    (trainX, trainy), (testX, testy) = _load()
    if train_limit:
        trainX, trainy = trainX[:train_limit], trainy[:train_limit]
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
        validation_split=VALIDATION_SPLIT,
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


def worker_isa() -> dict:
    """One small convolution, run with ``ONEDNN_VERBOSE=1`` by the parent, which reads
    oneDNN's report of its instruction set and kernel from this process's output."""
    import tensorflow as tf

    x = tf.random.normal((8, 26, 26, 32))
    w = tf.random.normal((3, 3, 32, 64))
    tf.nn.conv2d(x, w, 1, "VALID").numpy()
    return {}


def worker_flops(bf16: bool) -> dict:
    """sgemm and the tutorial's conv2 (forward+backward) throughput, float32."""
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
    conv_train_bf16 = None
    if bf16:
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
                loss
                + tf.reduce_sum(tf.cast(gx, tf.float32))
                + tf.reduce_sum(tf.cast(gw, tf.float32))
            )

        try:
            conv_train_bf16 = 3 * CONV2 * 128 / best_of(lambda: fwd_bwd_bf16().numpy(), 10) / 1e9
        except Exception:  # noqa: BLE001 - no bf16 kernels on this CPU/build
            conv_train_bf16 = None
    return {
        "sgemm_gflops": sgemm,
        "conv_forward_gflops": conv_fwd,
        "conv_train_gflops": conv_train,
        "conv_train_bf16_gflops": conv_train_bf16,
    }


def _latency_stats(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {
        "latency_ms_median": statistics.median(ordered),
        "latency_ms_p99": ordered[max(0, int(0.99 * len(ordered)) - 1)],
        "calls": len(ordered),
    }


def worker_inference(calls: int) -> dict:
    """Single-image latency and 10k-image throughput through ``Predictor``.

    The tutorial's model (freshly built: speed does not depend on the weights) and
    the packaged default model (three networks averaged), each under the Keras
    runtime and onnxruntime; single-image calls interleaved in rounds of 50 so
    that all predictors see the same machine.
    """
    import numpy as np

    from mnist_cnn import models
    from mnist_cnn.data import datasets
    from mnist_cnn.errors import ModelError
    from mnist_cnn.inference import Predictor, load_model

    _, (x_test, _) = datasets.load_mnist()
    x = x_test.astype(np.float32) / 255.0
    built = {"tutorial": models.build_model("baseline"), "default": load_model("default")}
    predictors: dict[tuple[str, str], Predictor] = {}
    rows: dict[str, dict] = {}
    for name in INFERENCE_MODELS:
        for runtime in RUNTIMES:
            key = f"{name}/{runtime}"
            start = time.perf_counter()
            try:
                predictor = Predictor(built[name], runtime=runtime)
            except ModelError as exc:  # runtime onnx without onnxruntime/tf2onnx
                rows[key] = {"model": name, "runtime": runtime, "skipped": str(exc)}
                continue
            predictor.predict_proba(x[:1024])
            predictors[(name, runtime)] = predictor
            rows[key] = {"model": name, "runtime": runtime}
            rows[key]["setup_seconds"] = time.perf_counter() - start

    for (name, runtime), predictor in predictors.items():
        best = float("inf")
        for _ in range(2):
            start = time.perf_counter()
            predictor.predict_proba(x)
            best = min(best, time.perf_counter() - start)
        rows[f"{name}/{runtime}"]["images_per_second"] = len(x) / best

    latencies: dict[tuple[str, str], list[float]] = {key: [] for key in predictors}
    for predictor in predictors.values():
        for i in range(20):
            predictor.predict_proba(x[i : i + 1])
    rounds = max(1, calls // 50)
    for r in range(rounds):
        for key, predictor in predictors.items():
            for i in range(r * 50, r * 50 + 50):
                one = x[i % len(x) : i % len(x) + 1]
                start = time.perf_counter()
                predictor.predict_proba(one)
                latencies[key].append((time.perf_counter() - start) * 1000)
    for (name, runtime), values in latencies.items():
        rows[f"{name}/{runtime}"].update(_latency_stats(values))

    model = built["tutorial"]
    stock = []
    for i in range(30):
        start = time.perf_counter()
        model.predict(x[i : i + 1, ..., None], verbose=0)
        stock.append((time.perf_counter() - start) * 1000)
    tutorial = rows["tutorial/keras"]
    return {
        # The older fields: the tutorial's model through the Keras runtime.
        "predict_images_per_second": tutorial["images_per_second"],
        "latency_ms_median": tutorial["latency_ms_median"],
        "latency_ms_p99": tutorial["latency_ms_p99"],
        "stock_keras_predict_latency_ms_median": statistics.median(stock[5:]),
        "rows": list(rows.values()),
    }


WORKERS = {"project": worker_project, "stock": worker_stock}


def path_env(path: str, **extra: str) -> dict[str, str]:
    """The environment of a worker on ``path``: the caller's, with the path's settings."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **extra)
    for key, value in PATHS[path]["env"].items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def run_worker(kind: str, path: str, *extra: str, env: dict[str, str] | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", kind, *extra],
        capture_output=True,
        text=True,
        env=env if env is not None else path_env(path),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"worker {kind} ({path}) failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def onednn_report(path: str) -> dict:
    """oneDNN's own account of the instruction set it uses on ``path``."""
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", "isa"],
        capture_output=True,
        text=True,
        env=path_env(path, ONEDNN_VERBOSE="1"),
    )
    isa = conv = None
    for line in (proc.stdout + proc.stderr).splitlines():
        if not line.startswith("onednn_verbose"):
            continue
        if ",info,cpu,isa:" in line:  # the ISA's description has commas of its own
            isa = line.split(",info,cpu,isa:", 1)[1].strip()
        fields = line.split(",")
        if "exec" in fields and "convolution" in fields:
            conv = fields[fields.index("convolution") + 1]
    return {"isa": isa, "convolution_kernel": conv}


def epoch_spread(seconds: list[float]) -> dict:
    """max/min of a trial's epoch times: all epochs, and after the first (compilation)."""
    later = seconds[1:]
    return {
        "epoch_max_over_min": max(seconds) / min(seconds),
        "later_epochs_max_over_min": max(later) / min(later) if len(later) > 1 else None,
    }


def summarize(trials: list[dict], n_train: int) -> dict:
    steady = [s for t in trials for s in t["seconds_per_epoch"][1:]]
    first_included = not steady  # one epoch per trial: only the first is there
    if first_included:
        steady = [s for t in trials for s in t["seconds_per_epoch"]]
    accs = [t["test_accuracy"] for t in trials]
    median = statistics.median(steady)
    return {
        "median_seconds_per_epoch": median,
        "first_epoch_included": first_included,
        "images_per_second": n_train / median,
        "test_accuracy_mean": statistics.mean(accs),
        "test_accuracy_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
        "peak_rss_mb_max": max(t["peak_rss_mb"] for t in trials),
        "epoch_max_over_min_worst": max(t["epoch_max_over_min"] for t in trials),
        "later_epochs_max_over_min_worst": max(
            (t["later_epochs_max_over_min"] for t in trials if t["later_epochs_max_over_min"]),
            default=None,
        ),
        "precision": trials[0]["precision"],
    }


def floors(before: dict, after: dict, flops: int) -> dict:
    conv = statistics.mean([before["conv_train_gflops"], after["conv_train_gflops"]])
    bf16 = [f["conv_train_bf16_gflops"] for f in (before, after)]
    conv_bf16 = statistics.mean(bf16) if None not in bf16 else None
    return {
        "before": before,
        "after": after,
        "conv_train_gflops": conv,
        "conv_train_bf16_gflops": conv_bf16,
        "float32_floor_seconds_per_epoch": flops / (conv * 1e9),
        "bfloat16_floor_seconds_per_epoch": flops / (conv_bf16 * 1e9) if conv_bf16 else None,
    }


def path_report(path: str, trials: dict, machine: dict, inference: dict, onednn: dict, n_train):
    a, b = summarize(trials["project"], n_train), summarize(trials["stock"], n_train)
    f32 = machine["float32_floor_seconds_per_epoch"]
    bf16 = machine["bfloat16_floor_seconds_per_epoch"]
    return {
        "env": {k: v for k, v in PATHS[path]["env"].items() if v is not None},
        "precision_flag": PATHS[path]["precision"],
        "onednn": onednn,
        "machine": machine,
        "project": a,
        "stock_fit": b,
        "speedup_vs_stock": b["median_seconds_per_epoch"] / a["median_seconds_per_epoch"],
        "project_vs_float32_floor": a["median_seconds_per_epoch"] / f32,
        "project_vs_bfloat16_floor": a["median_seconds_per_epoch"] / bf16 if bf16 else None,
        "stock_vs_float32_floor": b["median_seconds_per_epoch"] / f32,
        "inference": inference,
        "trials": trials,
    }


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def markdown(report: dict) -> str:
    """The run's tables, as the README shows them."""
    cpu = report["env"].get("cpu", {})
    lines = [
        f"CPU: {cpu.get('model', '?')}, {cpu.get('usable_cpus', '?')} cores "
        f"({', '.join(cpu.get('features', []))}); {report['seeds']} seeds x "
        f"{report['epochs']} epochs per trainer and path"
        + (f", {report['train_limit']} images" if report["train_limit"] else ""),
        "",
        "| path | trainer | median s/epoch | images/s | vs stock | vs floor | "
        "epoch max/min (all; after 1st) | test accuracy | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for path, run in report["runs"].items():
        m = run["machine"]
        for name, s in (("mnist-cnn train", run["project"]), ("stock `fit`", run["stock_fit"])):
            if s is run["project"]:
                vs_stock = f"**{run['speedup_vs_stock']:.2f}x**"
                floor = (
                    f"{run['project_vs_bfloat16_floor']:.2f} (bf16)"
                    if run["project_vs_bfloat16_floor"] and s["precision"] != "float32"
                    else f"{run['project_vs_float32_floor']:.2f}"
                )
            else:
                vs_stock, floor = "1.00x", f"{run['stock_vs_float32_floor']:.2f}"
            first = " (incl. 1st)" if s["first_epoch_included"] else ""
            lines.append(
                f"| {path} | {name} ({s['precision']}) | {s['median_seconds_per_epoch']:.1f}"
                f"{first} | {s['images_per_second']:.0f} | {vs_stock} | {floor} | "
                f"{s['epoch_max_over_min_worst']:.2f}; "
                f"{_ratio(s['later_epochs_max_over_min_worst'])} | "
                f"{s['test_accuracy_mean']:.4f} ± {s['test_accuracy_std']:.4f} | "
                f"{s['peak_rss_mb_max']:.0f} MB |"
            )
        bf16 = m["bfloat16_floor_seconds_per_epoch"]
        lines.append(
            f"| {path} | float32 floor (conv {m['conv_train_gflops']:.0f} GFLOP/s, sgemm "
            f"{m['before']['sgemm_gflops']:.0f}) | {m['float32_floor_seconds_per_epoch']:.1f} "
            "| | | | | | |"
        )
        if bf16:
            lines.append(
                f"| {path} | bfloat16 floor (conv {m['conv_train_bf16_gflops']:.0f} GFLOP/s) "
                f"| {bf16:.1f} | | | | | | |"
            )
    lines += [
        "",
        "oneDNN: "
        + "; ".join(
            f"{path}: {run['onednn']['isa']} ({run['onednn']['convolution_kernel']})"
            for path, run in report["runs"].items()
        ),
        "",
        "| path | model | runtime | one image: median ms | p99 ms | 10k images: images/s |",
        "|---|---|---|---|---|---|",
    ]
    for path, run in report["runs"].items():
        for row in run["inference"]["rows"]:
            label = f"| {path} | {row['model']} | {row['runtime']} |"
            if "skipped" in row:
                lines.append(f"{label} skipped: {row['skipped']} | | |")
                continue
            note = " (not capped)" if row["runtime"] == "onnx" and run["env"] else ""
            lines.append(
                f"{label} {row['latency_ms_median']:.2f}{note} | {row['latency_ms_p99']:.2f} | "
                f"{row['images_per_second']:.0f} |"
            )
        lines.append(
            f"| {path} | tutorial | Keras `model.predict` | "
            f"{run['inference']['stock_keras_predict_latency_ms_median']:.1f} | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=2, help="trials per trainer and path")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per trial")
    parser.add_argument(
        "--paths",
        default=",".join(PATHS),
        help=f"comma-separated, from {', '.join(PATHS)} (default: both)",
    )
    parser.add_argument(
        "--train-limit",
        type=int,
        default=None,
        metavar="N",
        help="train on the first N images only (smoke runs; the floors scale with it)",
    )
    parser.add_argument(
        "--latency-calls", type=int, default=500, help="single-image calls per predictor"
    )
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--bf16", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="JSON file to write")
    args = parser.parse_args()

    if args.worker:
        if args.worker == "flops":
            out = worker_flops(bool(args.bf16))
        elif args.worker == "isa":
            out = worker_isa()
        elif args.worker == "inference":
            out = worker_inference(args.latency_calls)
        else:
            out = WORKERS[args.worker](args.seed, args.epochs, args.precision, args.train_limit)
        out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        print(json.dumps(out))
        return

    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = [p for p in paths if p not in PATHS]
    if unknown or not paths:
        parser.error(f"--paths: unknown {unknown}; choose from {', '.join(PATHS)}")
    limit = ["--train-limit", str(args.train_limit)] if args.train_limit else []
    n_train, _ = split_sizes(args.train_limit)
    flops = epoch_flops(args.train_limit)

    started = dt.datetime.now()
    env_info = json.loads(
        subprocess.run(
            [sys.executable, "-m", "mnist_cnn", "env", "--json"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )

    def log(message: str) -> None:
        elapsed = (dt.datetime.now() - started).total_seconds()
        print(f"[{elapsed:6.0f} s] {message}", file=sys.stderr, flush=True)

    onednn = {p: onednn_report(p) for p in paths}
    for p in paths:
        log(f"{p}: oneDNN {onednn[p]['isa']} ({onednn[p]['convolution_kernel']})")
        cap = PATHS[p]["env"].get("ONEDNN_MAX_CPU_ISA")
        if cap and cap not in (onednn[p]["isa"] or ""):
            log(f"warning: {p} asked oneDNN for {cap} and it reports {onednn[p]['isa']}")
    bf16 = {p: ["--bf16", str(int(PATHS[p]["bf16_probe"]))] for p in paths}
    flops_before = {p: run_worker("flops", p, *bf16[p]) for p in paths}
    trials: dict[str, dict[str, list[dict]]] = {p: {"project": [], "stock": []} for p in paths}
    for seed in range(args.seeds):
        for p in paths:
            kinds = ("project", "stock") if seed % 2 == 0 else ("stock", "project")
            for kind in kinds:  # A/B, then B/A
                extra = ["--seed", str(seed), "--epochs", str(args.epochs)]
                extra += ["--precision", PATHS[p]["precision"], *limit]
                trial = run_worker(kind, p, *extra)
                trial["seed"] = seed
                trial.update(epoch_spread(trial["seconds_per_epoch"]))
                trials[p][kind].append(trial)
                log(
                    f"{p:6s} {kind:8s} seed {seed}: s/epoch {trial['seconds_per_epoch']} "
                    f"({trial['precision']}) test_acc {trial['test_accuracy']:.4f} "
                    f"rss {trial['peak_rss_mb']} MB"
                )
    flops_after = {p: run_worker("flops", p, *bf16[p]) for p in paths}
    inference = {}
    for p in paths:
        inference[p] = run_worker("inference", p, "--latency-calls", str(args.latency_calls))
        log(f"{p}: inference measured")

    runs = {
        p: path_report(
            p,
            trials[p],
            floors(flops_before[p], flops_after[p], flops),
            inference[p],
            onednn[p],
            n_train,
        )
        for p in paths
    }
    first = runs[paths[0]]
    report = {
        "started": started.isoformat(timespec="seconds"),
        "env": env_info,
        "epochs": args.epochs,
        "seeds": args.seeds,
        "train_limit": args.train_limit,
        "paths": paths,
        "model_flops": {
            "forward_per_image": FORWARD_FLOPS,
            "train_per_image": TRAIN_FLOPS,
            "epoch_with_validation": flops,
        },
        "runs": runs,
        # The fields of the one-path reports before, from the first path.
        **{
            key: first[key]
            for key in (
                "machine",
                "project",
                "stock_fit",
                "speedup_vs_stock",
                "project_vs_float32_floor",
                "project_vs_bfloat16_floor",
                "inference",
                "trials",
            )
        },
    }
    out = Path(args.out) if args.out else RESULTS / f"{started:%Y%m%d-%H%M%S}-train.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    print(f"\nwrote {out} ({(dt.datetime.now() - started).total_seconds():.0f} s)")


if __name__ == "__main__":
    main()
