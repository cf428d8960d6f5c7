"""Load benchmark of ``mnist-cnn serve``: bounded, on 127.0.0.1 only.

Starts ``mnist-cnn serve`` (ONNX runtime) on a free loopback port, then:

1. one request at a time (``--sequential`` of them): end-to-end latency, and
   where the time goes (decode, preprocessing, inference from the server's
   ``Server-Timing`` header; the rest is HTTP, JSON and the client);
2. ``--requests`` ``POST /v1/predict`` with a 28x28 PNG at concurrency
   ``--concurrency`` (async httpx): errors, p50/p95/p99, requests/s, and the
   server's resident memory before and after;
3. in-process, after the server has stopped: one image through onnxruntime
   (one thread) against the Keras :class:`mnist_cnn.inference.Predictor`.

Writes ``benchmarks/results/<timestamp>-serve.json``. Client and server share the
machine's cores, so the figures are a floor for the server alone.

    .venv/bin/python benchmarks/bench_serve.py --requests 2000
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from mnist_cnn import envinfo, models  # noqa: E402
from mnist_cnn.data import datasets  # noqa: E402
from mnist_cnn.fileio import write_json  # noqa: E402
from mnist_cnn.inference.onnx_runtime import OnnxClassifier, cached_onnx  # noqa: E402

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` and its children (the worker processes), in MB."""
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            with open(f"/proc/{current}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pids += [int(child) for child in children]
    return total


def percentiles(values: list[float]) -> dict[str, float]:
    ms = np.asarray(values) * 1000
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
    }


def png_payloads(count: int) -> list[bytes]:
    from PIL import Image

    _, (x_test, _) = datasets.load_mnist()
    payloads = []
    for image in x_test[:count]:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        payloads.append(buffer.getvalue())
    return payloads


def server_timing(header: str | None) -> dict[str, float]:
    stages = {}
    for part in (header or "").split(","):
        name, _, duration = part.strip().partition(";dur=")
        if duration:
            stages[name] = float(duration)
    return stages


async def run_load(
    url: str, payloads: list[bytes], total: int, concurrency: int, path: str = "/v1/predict"
):
    import httpx

    latencies: list[float] = []
    errors: dict[str, int] = {}
    stage_ms: dict[str, list[float]] = {}
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def worker():
            for i in counter:
                files = {"files": (f"{i}.png", payloads[i % len(payloads)], "image/png")}
                start = time.perf_counter()
                try:
                    response = await client.post(path, files=files)
                    elapsed = time.perf_counter() - start
                    if response.status_code != 200:
                        key = str(response.status_code)
                        errors[key] = errors.get(key, 0) + 1
                        continue
                    for name, ms in server_timing(response.headers.get("server-timing")).items():
                        stage_ms.setdefault(name, []).append(ms)
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                    errors[key] = errors.get(key, 0) + 1
                    continue
                latencies.append(elapsed)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return latencies, errors, stage_ms, wall


def sequential(url: str, payloads: list[bytes], count: int, path: str = "/v1/predict"):
    import httpx

    latencies, stage_ms = [], {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for i in range(count):
            files = {"files": (f"{i}.png", payloads[i % len(payloads)], "image/png")}
            start = time.perf_counter()
            response = client.post(path, files=files)
            latencies.append(time.perf_counter() - start)
            response.raise_for_status()
            for name, ms in server_timing(response.headers.get("server-timing")).items():
                stage_ms.setdefault(name, []).append(ms)
    return latencies, stage_ms


def median_ms(values) -> float:
    return round(float(statistics.median(values)), 4)


def in_process(classifier_path: Path, payload: bytes, runs: int) -> dict:
    """One image: decode + preprocess, and inference through ONNX and through Keras."""
    from mnist_cnn import preprocess

    image = preprocess.preprocess(payload).image28[None]
    timings = {}
    start = time.perf_counter()
    for _ in range(200):
        preprocess.preprocess(payload)
    timings["preprocess_28x28_png_ms"] = round((time.perf_counter() - start) / 200 * 1000, 4)

    onnx = OnnxClassifier.load(classifier_path)
    for _ in range(50):
        onnx(image)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        onnx(image)
        samples.append((time.perf_counter() - start) * 1000)
    timings["onnx_one_image_median_ms"] = median_ms(samples)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mnist_cnn.inference import Predictor

    predictor = Predictor.load("default")
    for _ in range(20):
        predictor.predict_proba(image)
    samples = []
    for _ in range(min(runs, 500)):
        start = time.perf_counter()
        predictor.predict_proba(image)
        samples.append((time.perf_counter() - start) * 1000)
    timings["keras_one_image_median_ms"] = median_ms(samples)
    probs_onnx = onnx(image)
    probs_keras = predictor.predict_proba(image)
    timings["onnx_vs_keras_max_abs_diff"] = float(np.abs(probs_onnx - probs_keras).max())
    return timings


def measure(url: str, payloads: list[bytes], path: str, args) -> dict:
    """One request at a time, then ``args.requests`` at ``args.concurrency``, on ``path``."""
    seq_latencies, seq_stages = sequential(url, payloads, args.sequential, path)
    latencies, errors, stage_ms, wall = asyncio.run(
        run_load(url, payloads, args.requests, args.concurrency, path)
    )
    stages = {name: median_ms(v) for name, v in seq_stages.items()}
    seq_p50 = float(np.median(seq_latencies)) * 1000
    return {
        "endpoint": "POST " + path,
        "one_at_a_time": {
            "requests": args.sequential,
            **percentiles(seq_latencies),
            "stages_median_ms": stages,
            "http_and_rest_median_ms": round(seq_p50 - sum(stages.values()), 3),
        },
        "concurrent": {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "errors": sum(errors.values()),
            "errors_by_kind": errors,
            "requests_per_second": round(len(latencies) / wall, 1),
            **percentiles(latencies),
            "stages_median_ms": {name: median_ms(v) for name, v in stage_ms.items()},
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=500)
    parser.add_argument("--in-process-runs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument("--out", default=None, help="JSON file (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if not 0 < args.requests <= 100_000 or not 0 < args.concurrency <= 64:
        parser.error("--requests must be in 1..100000 and --concurrency in 1..64")

    classifier = cached_onnx(models.default_model_path(), log=print)
    verifier = cached_onnx(models.default_model_path().with_name("verifier.keras"), log=print)
    payloads = png_payloads(100)
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "mnist_cnn", "serve", str(classifier), "--verifier",
         str(verifier), "--host", HOST, "--port", str(port), "--workers", str(args.workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"server exited: {server.stderr.read()}")
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                    if json.load(response)["status"] == "ready":
                        break
            except OSError:
                time.sleep(0.05)
        ready_seconds = time.perf_counter() - started
        print(f"server ready in {ready_seconds:.2f} s at {url}")

        asyncio.run(run_load(url, payloads, 300, args.concurrency))  # warm-up
        rss_before = rss_mb(server.pid)
        load_average_before = os.getloadavg()
        variants = {}
        for name, path in (
            ("preprocessed", "/v1/predict"),
            ("raw", "/v1/predict?raw=true"),
        ):
            variants[name] = measure(url, payloads, path, args)
            print(name, json.dumps(variants[name]))
        rss_after = rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()

    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_serve.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "payload": "multipart, one 28x28 MNIST test PNG per request (100 different digits)",
        "server": "mnist-cnn serve, ONNX runtime (1 intra-op thread), uvicorn",
        "workers": args.workers,
        "client": "async httpx in one process on the same machine",
        "model": models.default_model_path().name,
        "ready_seconds": round(ready_seconds, 2),
        "requests": args.requests,
        "concurrency": args.concurrency,
        "preprocessed": variants["preprocessed"],
        "raw": variants["raw"],
        "server_rss_mb": {
            "before": round(rss_before, 1),
            "after": round(rss_after, 1),
            "change_percent": round((rss_after - rss_before) / rss_before * 100, 1),
            "requests_between": 2 * (args.requests + args.sequential),
        },
        "load_average_at_start": [round(v, 2) for v in load_average_before],
        "cpu": envinfo.report()["cpu"],
    }
    result["in_process"] = in_process(classifier, payloads[0], args.in_process_runs)
    result["versions"] = envinfo.package_versions()
    out = Path(args.out) if args.out else (
        REPO / "benchmarks" / "results" / f"{dt.datetime.now():%Y%m%d-%H%M%S}-serve.json"
    )  # fmt: skip
    write_json(out, result)
    print(json.dumps(result, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
