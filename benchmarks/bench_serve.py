"""Load benchmark of ``mnist-cnn serve``: bounded, on 127.0.0.1 only.

Starts ``mnist-cnn serve`` (ONNX runtime) on a free loopback port, then:

1. one request at a time (``--sequential`` of them): end-to-end latency, and
   where the time goes, from the server's ``Server-Timing`` header: decode,
   preprocessing and inference; ``app_other``, the rest of the application's
   time (multipart, JSON, routing, metrics); ``outside_app``, the rest of the
   round trip (uvicorn's HTTP, the loopback socket and the client);
2. ``--requests`` ``POST /v1/predict`` with a 28x28 PNG at concurrency
   ``--concurrency``: errors, p50/p95/p99, requests/s, the client's CPU time per
   request, and the server's resident memory before and after;
3. in-process, after the server has stopped: one image through onnxruntime
   (one thread) against the Keras :class:`mnist_cnn.inference.Predictor`.

The client (``--client``) is either ``raw``, a minimal asyncio HTTP/1.1 client
over keep-alive connections that sends ready-made multipart requests (about
0.1 ms of CPU per request), or ``httpx``'s async client (1.2-1.5 ms of CPU per
request here). Client and server share the machine's two cores, so the lighter
client leaves the server more of them; both are reported when asked.

With ``--baseline-src DIR`` (another checkout's ``src``, e.g. main's), the same
measurements run in turn against a server started from that tree (on uvicorn's
h11 and asyncio, as it ran before httptools and uvloop were installed) and its
cached ONNX export, so that before and after come from one run on one machine
state.

Writes ``benchmarks/results/<timestamp>-serve.json``.

    .venv/bin/python benchmarks/bench_serve.py --requests 2000
    .venv/bin/python benchmarks/bench_serve.py --baseline-src ../main/src --client raw,httpx
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import os
import resource
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
from mnist_cnn.serve.service import Upload, load_service  # noqa: E402

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


BOUNDARY = "mnist-cnn-bench-boundary"


def multipart_request(path: str, name: str, payload: bytes) -> bytes:
    """One whole ``POST`` with a multipart body (field ``files``), as bytes on the wire."""
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def run_load_raw(url: str, payloads: list[bytes], total: int, concurrency: int, path: str):
    """``total`` requests over ``concurrency`` keep-alive connections: a few lines of
    asyncio instead of an HTTP library, so that the client takes little of the CPU
    the server needs. Each answer's status and JSON are checked."""
    port = int(url.rsplit(":", 1)[1])
    requests = [multipart_request(path, f"{i}.png", p) for i, p in enumerate(payloads)]
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stage_ms: dict[str, list[float]] = {}
    counter = iter(range(total))

    async def worker():
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            for i in counter:
                start = time.perf_counter()
                writer.write(requests[i % len(requests)])
                head = await reader.readuntil(b"\r\n\r\n")
                headers = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    key, _, value = line.partition(":")
                    if key:
                        headers.setdefault(key.strip().lower(), []).append(value.strip())
                body = await reader.readexactly(int(headers["content-length"][0]))
                elapsed = time.perf_counter() - start
                status = head[9:12].decode()
                if status != "200" or "predictions" not in json.loads(body):
                    errors[status] = errors.get(status, 0) + 1
                    continue
                timing = ", ".join(headers.get("server-timing", []))
                for name, ms in server_timing(timing).items():
                    stage_ms.setdefault(name, []).append(ms)
                latencies.append(elapsed)
        finally:
            writer.close()

    start = time.perf_counter()
    results = await asyncio.gather(*(worker() for _ in range(concurrency)), return_exceptions=True)
    wall = time.perf_counter() - start
    for result in results:
        if isinstance(result, BaseException):
            key = type(result).__name__
            errors[key] = errors.get(key, 0) + 1
    return latencies, errors, stage_ms, wall


async def run_load_httpx(
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


def run_load(client: str, url, payloads, total: int, concurrency: int, path: str):
    """Run one load; returns latencies, errors, stage times, wall seconds and the
    client's CPU seconds per request."""
    load = run_load_raw if client == "raw" else run_load_httpx
    before = resource.getrusage(resource.RUSAGE_SELF)
    latencies, errors, stage_ms, wall = asyncio.run(load(url, payloads, total, concurrency, path))
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return latencies, errors, stage_ms, wall, cpu / max(total, 1)


def median_ms(values) -> float:
    return round(float(statistics.median(values)), 4)


def breakdown(latencies: list[float], stage_ms: dict[str, list[float]]) -> dict:
    """Median milliseconds per stage, with ``app_other`` (the application's time
    outside decode, preprocess and inference) and ``outside_app`` (the round trip
    outside the application: uvicorn's HTTP, the socket, the client). Medians of
    parts do not add up exactly to the median of the whole."""
    stages = {name: median_ms(v) for name, v in stage_ms.items() if name != "app"}
    result = dict(stages)
    if "app" in stage_ms:
        app = median_ms(stage_ms["app"])
        result["app_other"] = round(app - sum(stages.values()), 3)
        result["outside_app"] = round(float(np.median(latencies)) * 1000 - app, 3)
    else:  # a server without the app;dur timing (before it was added)
        result["http_and_rest"] = round(
            float(np.median(latencies)) * 1000 - sum(stages.values()), 3
        )
    return result


def measure(url: str, payloads: list[bytes], path: str, client: str, args) -> dict:
    """One request at a time, then ``args.requests`` at ``args.concurrency``, on ``path``."""
    seq, seq_errors, seq_stages, _, seq_cpu = run_load(
        client, url, payloads, args.sequential, 1, path
    )
    latencies, errors, stage_ms, wall, cpu = run_load(
        client, url, payloads, args.requests, args.concurrency, path
    )
    return {
        "endpoint": "POST " + path,
        "client": client,
        "one_at_a_time": {
            "requests": args.sequential,
            "errors": sum(seq_errors.values()),
            **percentiles(seq),
            "stages_median_ms": breakdown(seq, seq_stages),
            "client_cpu_ms_per_request": round(seq_cpu * 1000, 3),
        },
        "concurrent": {
            "requests": args.requests,
            "concurrency": args.concurrency,
            "errors": sum(errors.values()),
            "errors_by_kind": errors,
            "requests_per_second": round(len(latencies) / wall, 1),
            **percentiles(latencies),
            "stages_median_ms": breakdown(latencies, stage_ms),
            "client_cpu_ms_per_request": round(cpu * 1000, 3),
        },
    }


def in_process(
    classifier_path: Path, verifier_path: Path, payloads: list[bytes], runs: int, baseline=None
) -> dict:
    """One image in this process: the service's stages, and inference through ONNX
    (this export and, given ``baseline``, the baseline's, call for call in turn) and
    through Keras."""
    from mnist_cnn import preprocess

    service = load_service(str(classifier_path), verifier=str(verifier_path))
    stage_ms: dict[str, list[float]] = {}
    total = []
    for i in range(max(runs // 2, 200)):
        start = time.perf_counter()
        _, times = service.predict([Upload(f"{i}.png", payloads[i % len(payloads)])])
        total.append((time.perf_counter() - start) * 1000)
        for stage, seconds in times.seconds.items():
            stage_ms.setdefault(stage, []).append(seconds * 1000)
    timings: dict = {
        "service_predict_28x28_png_median_ms": median_ms(total),
        "service_stages_median_ms": {k: median_ms(v) for k, v in stage_ms.items()},
    }

    image = preprocess.preprocess(payloads[0]).image28[None]
    sessions = {"onnx": OnnxClassifier.load(classifier_path)}
    if baseline is not None:
        sessions["onnx_baseline"] = OnnxClassifier.load(baseline)
    samples: dict[str, list[float]] = {name: [] for name in sessions}
    for onnx in sessions.values():
        for _ in range(100):
            onnx(image)
    for _ in range(runs):
        for name, onnx in sessions.items():  # in turn, so that both see the same noise
            start = time.perf_counter()
            onnx(image)
            samples[name].append((time.perf_counter() - start) * 1000)
    for name, values in samples.items():
        timings[f"{name}_one_image_median_ms"] = median_ms(values)
        timings[f"{name}_one_image_p10_ms"] = round(float(np.percentile(values, 10)), 4)
    if baseline is not None:
        timings["onnx_baseline_file"] = Path(baseline).name

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from mnist_cnn.inference import Predictor

    predictor = Predictor.load("default")
    for _ in range(20):
        predictor.predict_proba(image)
    keras_samples = []
    for _ in range(min(runs, 500)):
        start = time.perf_counter()
        predictor.predict_proba(image)
        keras_samples.append((time.perf_counter() - start) * 1000)
    timings["keras_one_image_median_ms"] = median_ms(keras_samples)
    probs_onnx = sessions["onnx"](image)
    probs_keras = predictor.predict_proba(image)
    timings["onnx_vs_keras_max_abs_diff"] = float(np.abs(probs_onnx - probs_keras).max())
    return timings


# The server a baseline tree runs: its own create_app, on uvicorn's pure-Python HTTP
# and asyncio loop (what it ran on before httptools and uvloop were installed).
BASELINE_SERVER = """
import os, socket, sys
import uvicorn
from mnist_cnn.service import load_service
from mnist_cnn.serve import create_app
model, verifier, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = create_app(load_service(model, verifier=verifier))
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("127.0.0.1", port))
config = uvicorn.Config(app, http="h11", loop="asyncio", log_level="warning", access_log=False)
uvicorn.Server(config).run(sockets=[sock])
"""


def start_server(src: Path, classifier: Path, verifier: Path, workers: int, baseline: bool):
    port = free_port()
    url = f"http://{HOST}:{port}"
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    if baseline:
        command = [
            sys.executable,
            "-c",
            BASELINE_SERVER,
            str(classifier),
            str(verifier),
            str(port),
        ]
    else:
        command = [sys.executable, "-m", "mnist_cnn", "serve", str(classifier),
                   "--verifier", str(verifier), "--host", HOST, "--port", str(port),
                   "--workers", str(workers)]  # fmt: skip
    started = time.perf_counter()
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    while True:
        if server.poll() is not None:
            raise SystemExit(f"server exited: {server.stderr.read()}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                if json.load(response)["status"] == "ready":
                    break
        except OSError:
            time.sleep(0.05)
    return server, url, time.perf_counter() - started


def stop_server(server) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def serve_and_measure(src, classifier, verifier, payloads, clients, args, baseline=False) -> dict:
    server, url, ready_seconds = start_server(src, classifier, verifier, args.workers, baseline)
    print(f"{'baseline' if baseline else 'this'} server ready in {ready_seconds:.2f} s at {url}")
    try:
        run_load("raw", url, payloads, 300, args.concurrency, "/v1/predict")  # warm-up
        rss_before = rss_mb(server.pid)
        runs = {}
        for client in clients:
            for name, path in (("preprocessed", "/v1/predict"), ("raw", "/v1/predict?raw=true")):
                runs[f"{name}/{client}"] = measure(url, payloads, path, client, args)
                print(name, client, json.dumps(runs[f"{name}/{client}"]))
        rss_after = rss_mb(server.pid)
    finally:
        stop_server(server)
    return {
        "src": str(src),
        "server": "uvicorn h11 + asyncio (baseline)"
        if baseline
        else "mnist-cnn serve (uvicorn picks httptools and uvloop when installed)",
        "ready_seconds": round(ready_seconds, 2),
        "runs": runs,
        "server_rss_mb": {
            "before": round(rss_before, 1),
            "after": round(rss_after, 1),
            "change_percent": round((rss_after - rss_before) / rss_before * 100, 1),
            "requests_between": len(runs) * (args.requests + args.sequential),
        },
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--sequential", type=int, default=500)
    parser.add_argument("--in-process-runs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--client", default="raw", help="raw, httpx, or both comma-separated (default raw)"
    )
    parser.add_argument(
        "--baseline-src", default=None, help="also measure a server from this src tree, in turn"
    )
    parser.add_argument("--out", default=None, help="JSON file (default benchmarks/results/)")
    args = parser.parse_args(argv)
    if not 0 < args.requests <= 100_000 or not 0 < args.concurrency <= 64:
        parser.error("--requests must be in 1..100000 and --concurrency in 1..64")
    clients = args.client.split(",")
    if not set(clients) <= {"raw", "httpx"}:
        parser.error(f"--client takes raw and/or httpx, not {args.client}")

    classifier = cached_onnx(models.default_model_path(), log=print)
    verifier = cached_onnx(models.default_model_path().with_name("verifier.keras"), log=print)
    payloads = png_payloads(100)
    load_average_before = os.getloadavg()
    servers = {}
    baseline_classifier = None
    if args.baseline_src:
        # The baseline tree's own cached export (named as that tree names it).
        baseline_src = Path(args.baseline_src).resolve()
        found = subprocess.run(
            [sys.executable, "-c", "import sys; from mnist_cnn import models; "
             "from mnist_cnn.onnx_inference import cached_onnx; p = models.default_model_path(); "
             "print(cached_onnx(p)); print(cached_onnx(p.with_name('verifier.keras')))"],
            env={**os.environ, "PYTHONPATH": str(baseline_src)}, capture_output=True, text=True,
            check=True,
        ).stdout.split()  # fmt: skip
        baseline_classifier, baseline_verifier = Path(found[-2]), Path(found[-1])
        servers["baseline"] = serve_and_measure(
            baseline_src, baseline_classifier, baseline_verifier, payloads, clients, args, True
        )
    servers["this"] = serve_and_measure(
        REPO / "src", classifier, verifier, payloads, clients, args
    )

    result = {
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": "python benchmarks/bench_serve.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "payload": "multipart, one 28x28 MNIST test PNG per request (100 different digits)",
        "onnx": "1 intra-op thread",
        "workers": args.workers,
        "clients": {
            "raw": "asyncio streams, ready-made requests, keep-alive, in one process",
            "httpx": "httpx.AsyncClient, keep-alive, in one process",
        },
        "model": models.default_model_path().name,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "servers": servers,
        "load_average_at_start": [round(v, 2) for v in load_average_before],
        "cpu": envinfo.report()["cpu"],
    }
    result["in_process"] = in_process(
        classifier, verifier, payloads, args.in_process_runs, baseline_classifier
    )
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
