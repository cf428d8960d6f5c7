"""The HTTP service: every endpoint and every error status, through FastAPI's TestClient,
and schemathesis against the app's own OpenAPI schema.

The models are the packaged ones exported to ONNX once per test session (by
``mnist_cnn.inference.onnx_runtime.cached_onnx``, in a child process, as ``mnist-cnn
serve`` does on first start).
"""

import base64
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("onnxruntime")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from PIL import Image  # noqa: E402

from mnist_cnn import cli, models, preprocess  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "docs" / "examples"


@pytest.fixture(scope="session")
def onnx_models(tmp_path_factory):
    """``(classifier.onnx, verifier.onnx)``: the packaged models, exported once per session."""
    from mnist_cnn.inference.onnx_runtime import cached_onnx

    cache = tmp_path_factory.getbasetemp() / "onnx-cache"
    verifier = Path(models.default_model_path()).with_name("verifier.keras")
    return cached_onnx(models.default_model_path(), cache_dir=cache), cached_onnx(
        verifier, cache_dir=cache
    )


@pytest.fixture(scope="session")
def service(onnx_models):
    from mnist_cnn.serve.service import load_service

    classifier, verifier = onnx_models
    return load_service(str(classifier), verifier=str(verifier))


@pytest.fixture(scope="session")
def app(service):
    from mnist_cnn.serve import create_app

    return create_app(service, max_body_bytes=2 * 1024 * 1024)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def assert_error(response, status: int, error: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "detail"}
    assert isinstance(body["detail"], str) and "\n" not in body["detail"]
    if error is not None:
        assert body["error"] == error
    return body


# ------------------------------------------------------------------ answers
def test_predict_multipart_several_files(client, mnist_test):
    x, y = mnist_test
    files = [("files", (f"d{i}.png", png_bytes(x[i]), "image/png")) for i in range(6)]
    response = client.post("/v1/predict", files=files)
    assert response.status_code == 200, response.text
    answers = response.json()["predictions"]
    assert [a["file"] for a in answers] == [f"d{i}.png" for i in range(6)]
    assert [a["digit"] for a in answers] == [int(v) for v in y[:6]]
    assert "inference;dur=" in response.headers["server-timing"]


def test_predict_answers_like_the_cli(client, digit_pngs, capsys):
    """Same fields and values as ``mnist-cnn predict --json`` (the CLI runs Keras, the
    service ONNX: probabilities agree to rounding)."""
    paths, _ = digit_pngs
    assert cli.main(["predict", "default", "--json", *map(str, paths)]) == 0
    from_cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    files = [("files", (p.name, p.read_bytes(), "image/png")) for p in paths]
    from_api = client.post("/v1/predict", files=files).json()["predictions"]
    for ours, theirs in zip(from_api, from_cli, strict=True):
        assert set(ours) == set(theirs)
        assert ours["file"] == Path(theirs["file"]).name
        assert ours["digit"] == theirs["digit"]
        assert ours["uncertain"] == theirs["uncertain"]
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=1e-5)
        assert [t["digit"] for t in ours["top3"]][:1] == [t["digit"] for t in theirs["top3"]][:1]


def _service_and_cli_answers(client, capsys, path: Path, content_type: str) -> tuple[dict, dict]:
    """``POST /v1/predict`` and ``mnist-cnn predict default --json`` on one file."""
    assert cli.main(["predict", "default", "--json", str(path)]) == 0
    theirs = json.loads(capsys.readouterr().out)
    files = [("files", (path.name, path.read_bytes(), content_type))]
    ours = client.post("/v1/predict", files=files).json()["predictions"][0]
    return ours, theirs


def test_several_digits_in_one_picture_are_flagged_like_the_cli(client, capsys):
    ours, theirs = _service_and_cli_answers(client, capsys, EXAMPLES / "year.jpg", "image/jpeg")
    assert set(ours) == set(theirs)
    assert ours["uncertain"] is theirs["uncertain"] is True
    assert ours["digits_side_by_side"] == theirs["digits_side_by_side"] == 4


def test_a_drawing_that_is_no_digit_is_flagged_like_the_cli(client, capsys, tmp_path):
    from mnist_cnn.vision.not_digits import NOT_DIGITS

    path = tmp_path / "w.png"
    Image.fromarray(NOT_DIGITS["letter_w"](np.random.default_rng(2))).save(path)
    ours, theirs = _service_and_cli_answers(client, capsys, path, "image/png")
    assert set(ours) == set(theirs)
    assert ours["uncertain"] is theirs["uncertain"] is True
    assert ours["not_a_digit"] == theirs["not_a_digit"] == "more than 3 strokes side by side"


def test_predict_json_data_url_with_the_input_the_model_saw(client, classify):
    data = (EXAMPLES / "seven.jpg").read_bytes()
    url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    response = client.post("/v1/predict", json={"image": url, "include_input": True})
    assert response.status_code == 200, response.text
    answer = response.json()["predictions"][0]
    assert answer["digit"] == 7 and answer["file"] == "image"
    seen = np.asarray(Image.open(io.BytesIO(base64.b64decode(answer["input_png"]))))
    assert seen.shape == (28, 28)
    # Oracle: the library's own preprocessing of the same bytes, with the same
    # model (through Keras) arbitrating between readings.
    expected = preprocess.preprocess(data, classify=classify).image28
    assert np.max(np.abs(seen / 255.0 - expected)) <= 1 / 255 + 1e-6


def test_predict_plain_base64_list_and_query_flag(client, mnist_test):
    x, y = mnist_test
    images = [base64.b64encode(png_bytes(x[i])).decode() for i in range(3)]
    response = client.post("/v1/predict?include_input=true", json={"images": images})
    answers = response.json()["predictions"]
    assert [a["digit"] for a in answers] == [int(v) for v in y[:3]]
    assert all("input_png" in a for a in answers)
    assert [a["file"] for a in answers] == ["images[0]", "images[1]", "images[2]"]


def test_predict_raw_skips_preprocessing(client, mnist_test, digit_pngs, capsys):
    """``?raw=true`` is ``predict --raw``: the same answers for 28x28 MNIST images."""
    paths, labels = digit_pngs
    assert cli.main(["predict", "default", "--raw", "--json", *map(str, paths)]) == 0
    from_cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    files = [("files", (p.name, p.read_bytes(), "image/png")) for p in paths]
    answers = client.post("/v1/predict?raw=true", files=files).json()["predictions"]
    assert [a["digit"] for a in answers] == [c["digit"] for c in from_cli] == labels
    for ours, theirs in zip(answers, from_cli, strict=True):
        assert ours["probability"] == pytest.approx(theirs["probability"], abs=1e-5)
    big = png_bytes(np.zeros((40, 30), np.uint8))
    response = client.post("/v1/predict?raw=1", files=[("files", ("big.png", big, "image/png"))])
    assert assert_error(response, 422, "not_mnist_sized")["detail"].startswith(
        "big.png: expected a 28x28 MNIST image, got 30x40 pixels"
    )


def test_read_a_number_with_boxes(client):
    data = (EXAMPLES / "year.jpg").read_bytes()
    response = client.post("/v1/read", files={"file": ("year.jpg", data, "image/jpeg")})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"] == "2026" and body["file"] == "year.jpg"
    assert (body["width"], body["height"]) == Image.open(io.BytesIO(data)).size
    assert len(body["digits"]) == 4 and all(len(d["box"]) == 4 for d in body["digits"])
    assert body["uncertain"] is False and body["marks"] == []
    url = "data:image/jpeg;base64," + base64.b64encode(data).decode()
    again = client.post("/v1/read", json={"image": url, "include_input": True}).json()
    assert again["text"] == "2026" and len(again["inputs_png"]) == 4


def test_read_lists_the_marks_it_skipped(client, mnist_test):
    from mnist_cnn.data import synthetic

    x, _ = mnist_test
    amount = synthetic.compose_amount(x[:4], np.random.default_rng(2), "trailing_dash")
    assert amount.marks == ["dash"]
    response = client.post("/v1/read", files={"file": ("amount.png", png_bytes(amount.image))})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["text"]) == 4
    assert [m["kind"] for m in body["marks"]] == ["dash"]
    (mark,) = body["marks"]
    # The dash is after the digits, in the image's pixels.
    assert mark["box"][0] >= max(d["box"][2] for d in body["digits"]) - 2
    assert mark["box"][2] <= body["width"]
    declared = client.get("/openapi.json").json()["paths"]["/v1/read"]["post"]["responses"]
    schema = declared["200"]["content"]["application/json"]["schema"]
    assert "marks" in schema["required"]
    assert "dash" in schema["properties"]["marks"]["items"]["properties"]["kind"]["enum"]


def test_one_image_as_the_whole_body(client, mnist_test):
    """``Content-Type: image/...``: the image is the body, as ``curl --data-binary`` sends it."""
    x, y = mnist_test
    response = client.post(
        "/v1/predict", content=png_bytes(x[0]), headers={"content-type": "image/png"}
    )
    assert response.status_code == 200, response.text
    (answer,) = response.json()["predictions"]
    multipart = client.post(
        "/v1/predict", files=[("files", ("a.png", png_bytes(x[0]), "image/png"))]
    )
    assert answer["file"] == "image" and answer["digit"] == int(y[0])
    assert answer["probability"] == multipart.json()["predictions"][0]["probability"]
    year = (EXAMPLES / "year.jpg").read_bytes()
    read = client.post("/v1/read", content=year, headers={"content-type": "image/jpeg"})
    assert read.status_code == 200 and read.json()["text"] == "2026"
    headers = {"content-type": "image/png"}
    assert_error(client.post("/v1/predict", content=b"", headers=headers), 422, "empty_file")
    assert_error(client.post("/v1/read", content=b"text", headers=headers), 415, "not_an_image")


def test_server_timing_and_metrics_per_route(client, mnist_test):
    x, _ = mnist_test
    response = client.post(
        "/v1/predict", files=[("files", ("a.png", png_bytes(x[0]), "image/png"))]
    )
    stages = dict(
        part.strip().split(";dur=") for part in response.headers["server-timing"].split(",")
    )
    assert {"decode", "preprocess", "inference", "app"} <= set(stages)
    assert float(stages["app"]) >= float(stages["preprocess"]) + float(stages["inference"])
    client.get("/no/such/path")
    text = client.get("/metrics").text
    assert 'http_requests_total{handler="/v1/predict",method="POST",status="2xx"}' in text
    assert 'handler="none"' in text and 'handler="/no/such/path"' not in text
    assert 'handler="/metrics"' not in text


def test_docs_work_offline(client):
    """Swagger UI comes from the swagger-ui-bundle-v2 package: no CDN."""
    page = client.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text and "https://" not in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 404


def test_health_ready_metrics_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["runtime"] == "onnx"
    assert ready["model"].endswith(".onnx") and ready["verifier"].endswith(".onnx")
    client.post("/v1/predict", json={"image": "!!"})
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "http_requests_total" in metrics.text
    assert 'handler="/v1/predict"' in metrics.text
    assert client.get("/docs").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    assert client.get("/static/app.js").status_code == 200


def test_stage_times_reach_the_metrics(client, mnist_test):
    x, _ = mnist_test
    client.post("/v1/predict", files=[("files", ("a.png", png_bytes(x[0]), "image/png"))])
    text = client.get("/metrics").text
    for stage in ("decode", "preprocess", "inference"):
        assert f'mnist_cnn_stage_seconds_count{{stage="{stage}"}}' in text


def test_openapi_declares_every_error(client):
    schema = client.get("/openapi.json").json()
    for path in ("/v1/predict", "/v1/read"):
        responses = schema["paths"][path]["post"]["responses"]
        for status in ("200", "400", "413", "415", "422"):
            assert status in responses, (path, status)
        body = schema["paths"][path]["post"]["requestBody"]["content"]
        assert {"multipart/form-data", "application/json"} <= set(body)


# ------------------------------------------------------------------ errors
def test_body_over_the_limit_is_refused_from_its_length(client):
    big = b"x" * (2 * 1024 * 1024 + 1)
    response = client.post(
        "/v1/predict", content=big, headers={"content-type": "application/json"}
    )
    assert_error(response, 413, "body_too_large")


def test_chunked_body_over_the_limit_is_refused_while_reading(client):
    def chunks():
        for _ in range(40):
            yield b"y" * 65536

    response = client.post(
        "/v1/read", content=chunks(), headers={"content-type": "application/octet-stream"}
    )
    # No Content-Length: counted as it arrives (or refused for its type first).
    assert response.status_code in (413, 415)
    assert set(response.json()) == {"error", "detail"}


def test_body_limit_counts_without_content_length(app):
    """Straight through the ASGI interface: a streamed body without Content-Length."""
    import anyio

    sent = []

    async def run():
        chunks = [b"z" * 1024 * 1024] * 3
        messages = [
            {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
            for i, c in enumerate(chunks)
        ]

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/v1/predict",
            "raw_path": b"/v1/predict",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"host", b"test")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
        }
        await app(scope, receive, send)

    anyio.run(run)
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413


def test_image_over_40_megapixels(client):
    buffer = io.BytesIO()
    Image.new("L", (8000, 5001), 255).save(buffer, format="PNG")
    response = client.post(
        "/v1/predict", files=[("files", ("huge.png", buffer.getvalue(), "image/png"))]
    )
    body = assert_error(response, 413, "image_too_large")
    assert body["detail"].startswith("huge.png: the image is too large")


def test_not_an_image(client):
    response = client.post("/v1/predict", files=[("files", ("notes.txt", b"hello", "text/plain"))])
    body = assert_error(response, 415, "not_an_image")
    assert body["detail"] == "notes.txt: not an image file Pillow can read"


def test_unsupported_content_type(client):
    assert_error(
        client.post("/v1/predict", content=b"abc", headers={"content-type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    assert_error(client.post("/v1/read", content=b""), 415)


def test_blank_image_gets_the_cli_message(client, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    Image.new("L", (120, 120), 255).save(blank)
    assert cli.main(["predict", "default", str(blank)]) == 1
    cli_line = capsys.readouterr().err.strip().splitlines()[-1]
    for endpoint, field in (("/v1/predict", "files"), ("/v1/read", "file")):
        response = client.post(
            endpoint, files=[(field, (str(blank), blank.read_bytes(), "image/png"))]
        )
        body = assert_error(response, 422, "no_digit")
        assert cli_line == f"error: {body['detail']}"


def test_damaged_image(client, mnist_test):
    data = png_bytes(np.tile(mnist_test[0][0], (8, 8)))
    response = client.post(
        "/v1/predict", files=[("files", ("cut.png", data[: len(data) // 2], "image/png"))]
    )
    body = assert_error(response, 422)
    assert body["detail"].startswith("cut.png: ")
    assert_error(
        client.post("/v1/predict", files=[("files", ("empty.png", b"", "image/png"))]), 422
    )


def test_malformed_requests(client):
    headers = {"content-type": "application/json"}
    assert_error(client.post("/v1/predict", content=b"{bad", headers=headers), 400, "bad_request")
    assert_error(client.post("/v1/predict", json=[1, 2]), 422, "invalid_request")
    assert_error(client.post("/v1/predict", json={}), 422, "invalid_request")
    assert_error(client.post("/v1/predict", json={"image": 5}), 422, "invalid_request")
    assert_error(client.post("/v1/predict", json={"image": "%%%"}), 422, "invalid_base64")
    assert_error(client.post("/v1/predict", json={"images": []}), 422)
    assert_error(client.post("/v1/read", json={"image": "data:text/plain,hi"}), 422)
    assert_error(client.post("/v1/predict", json={"image": "aGk=", "include_input": 3}), 422)
    assert_error(client.post("/v1/predict", files=[("other", ("a.png", b"x", "image/png"))]), 422)
    assert_error(client.post("/v1/predict", data={"files": "text"}), 415)  # urlencoded
    text_field = client.post("/v1/predict", files=[("files", (None, "text"))])
    assert_error(text_field, 422, "invalid_request")
    too_many = {"images": ["aGk="] * 65}
    assert_error(client.post("/v1/predict", json=too_many), 413, "too_many_images")
    broken = b"--xyz\r\nContent-Disposition: form-data; name=files\r\n\r\nabc"
    response = client.post(
        "/v1/predict",
        content=broken,
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code in (400, 422)
    assert set(response.json()) == {"error", "detail"}


def test_an_image_that_trips_a_bug_is_a_422_not_a_500(service, monkeypatch, mnist_test):
    from mnist_cnn.serve.service import RejectedInput, Upload

    def broken(*args, **kwargs):
        raise IndexError("index 28 is out of bounds")

    monkeypatch.setattr(preprocess, "preprocess", broken)
    with pytest.raises(RejectedInput) as caught:
        service.predict([Upload("odd.png", png_bytes(mnist_test[0][0]))])
    assert caught.value.status == 422
    assert caught.value.detail == "odd.png: cannot process the image (index 28 is out of bounds)"


def test_not_found_and_wrong_method_are_json(client):
    assert_error(client.get("/nothing-here"), 404, "not_found")
    response = client.get("/v1/predict")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


# ------------------------------------------------------------------ no TensorFlow
def test_serving_process_never_imports_tensorflow(onnx_models, tmp_path):
    classifier, verifier = onnx_models
    script = f"""
import sys
from fastapi.testclient import TestClient
from mnist_cnn.serve.service import load_service
from mnist_cnn.serve import create_app
app = create_app(load_service({str(classifier)!r}, verifier={str(verifier)!r}))
client = TestClient(app)
data = open({str(EXAMPLES / "year.jpg")!r}, "rb").read()
answer = client.post("/v1/read", files={{"file": ("y.jpg", data, "image/jpeg")}}).json()
assert answer["text"] == "2026", answer
loaded = sorted(m for m in ("tensorflow", "keras", "tf2onnx", "torch", "jax") if m in sys.modules)
print(loaded)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_cache_exports_once(onnx_models, tmp_path_factory):
    from mnist_cnn.inference.onnx_runtime import cached_onnx

    cache = tmp_path_factory.getbasetemp() / "onnx-cache"
    before = onnx_models[0].stat().st_mtime_ns
    again = cached_onnx(models.default_model_path(), cache_dir=cache)
    assert again == onnx_models[0] and again.stat().st_mtime_ns == before


def test_onnx_classifier_refuses_other_files(tmp_path, onnx_models):
    from mnist_cnn.errors import ModelError
    from mnist_cnn.inference.onnx_runtime import OnnxClassifier, OnnxVerifier

    bogus = tmp_path / "bogus.onnx"
    bogus.write_bytes(b"not onnx")
    with pytest.raises(ModelError, match="cannot load ONNX model"):
        OnnxClassifier.load(bogus)
    with pytest.raises(ModelError, match=r"expected \[N, 28, 28, 1\]"):
        OnnxClassifier.load(onnx_models[1])
    with pytest.raises(ModelError, match=r"expected \[N, 28, 28, 2\]"):
        OnnxVerifier.load(onnx_models[0])


@pytest.mark.slow
def test_keras_runtime_gives_the_same_answers(service, mnist_test):
    from mnist_cnn.serve.service import Upload, load_service

    keras_service = load_service("default", runtime="keras")
    assert keras_service.info["low_res_model"].endswith("low_res.keras")
    x, _ = mnist_test
    uploads = [Upload(f"{i}.png", png_bytes(x[i])) for i in range(20)]
    ours, _ = service.predict(uploads)
    theirs, _ = keras_service.predict(uploads)
    assert [a["digit"] for a in ours] == [a["digit"] for a in theirs]
    for a, b in zip(ours, theirs, strict=True):
        assert a["probability"] == pytest.approx(b["probability"], abs=1e-5)


# ------------------------------------------------------------------ schemathesis


@pytest.fixture(scope="module")
def api_schema(app):
    from schemathesis.config import SchemathesisConfig

    # Images cannot be described in JSON Schema: schema-valid multipart and base64
    # bodies are mostly not images, so a declared 4xx is an acceptable answer to them.
    config = SchemathesisConfig.from_dict(
        {
            "checks": {
                "positive_data_acceptance": {"expected-statuses": ["2xx", "413", "415", "422"]},
                # Schema-invalid bodies may also be too many images (413) or not
                # images at all (415): both are declared rejections.
                "negative_data_rejection": {
                    "expected-statuses": ["400", "401", "403", "404", "406", "413", "415", "422"]
                },
            }
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_api_conforms_to_its_schema(api_schema, mode):
    """Generated requests to every operation: all of schemathesis's checks, no 5xx, every
    response as declared. (Its pytest plugin's lazy fixtures do not run under pytest 9, so
    the cases are drawn from ``as_strategy`` directly.)"""
    from hypothesis import given

    strategy = api_schema.as_strategy(schemathesis.GenerationMode(mode))
    seen = set()

    @given(case=strategy)
    @settings(
        max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case):
        response = case.call_and_validate()
        assert response.status_code < 500
        seen.add((case.operation.path, response.status_code))

    check()
    paths = {path for path, _ in seen}
    assert {"/v1/predict", "/v1/read"} <= paths, seen
    assert any(status >= 400 for _, status in seen), seen


@pytest.mark.slow
def test_serve_with_two_worker_processes(onnx_models, tmp_path):
    """``mnist-cnn serve --workers 2``: the models resolved once, each worker answers."""
    import socket
    import time
    import urllib.request

    classifier, verifier = onnx_models
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    command = [sys.executable, "-m", "mnist_cnn", "serve", str(classifier), "--verifier",
               str(verifier), "--port", str(port), "--workers", "2"]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as r:
                    if json.load(r)["status"] == "ready":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "not ready in 60 s"
            time.sleep(0.2)
        from mnist_cnn.serve.service import png_base64

        body = json.dumps({"image": png_base64(np.zeros((28, 28)) + np.eye(28))}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/predict",
            data=body,
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.load(r)["predictions"][0]["digit"] in range(10)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        proc.stderr.close()


def test_serve_errors_are_one_line(tmp_path, capsys):
    for argv, message in (
        (["serve", str(tmp_path / "none.keras")], "no model or run directory at"),
        (["serve", str(tmp_path / "none.onnx")], "no ONNX model at"),
        (["serve", "--workers", "0"], "--workers must be at least 1"),
        (["serve", "default", "--runtime", "keras", "--verifier", "v.onnx"], "needs .keras"),
    ):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and message in err and "\n" not in err


def test_the_packaged_models_serve_small_sources_like_predict(tmp_path, mnist_test):
    """Under onnx too, a picture blown up from 8x8 is read by the packaged companion."""
    from mnist_cnn.inference import Predictor, predict_files
    from mnist_cnn.serve.service import Upload, load_service
    from mnist_cnn.training import real_writers

    onnx_service = load_service("default", cache_dir=str(tmp_path / "cache"))
    assert onnx_service.info["low_res_model"].endswith(".onnx")
    images, _ = real_writers.load_uci_training_set()
    pictures = [
        *real_writers.uci_pictures(images[:4], Image.BILINEAR),
        *real_writers.uci_pictures(images[:4], Image.NEAREST, dark_ink=False),
        255 - mnist_test[0][0],
    ]
    paths = []
    for i, picture in enumerate(pictures):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(picture).save(paths[-1])
    served, _ = onnx_service.predict([Upload(p.name, p.read_bytes()) for p in paths])
    printed = predict_files(Predictor.load("default"), paths)
    for a, b in zip(served, printed, strict=True):
        assert a["digit"] == b.prediction.digit
        assert a["probability"] == pytest.approx(b.prediction.probability, abs=1e-4)
