"""``mnist-cnn serve``: the HTTP API and the drawing page, on FastAPI and uvicorn.

Endpoints: ``POST /v1/predict`` (one digit per image), ``POST /v1/read`` (a
whole number), ``GET /healthz``, ``GET /readyz``, ``GET /metrics``
(Prometheus), ``/docs`` (OpenAPI, with Swagger UI served from the
``swagger-ui-bundle-v2`` package: no CDN) and the page at ``/`` (static files
packaged in ``mnist_cnn/serve/web``). The work is done by
:class:`mnist_cnn.serve.service.DigitService`;
this module only turns HTTP into its calls and its answers and errors into
HTTP. Every error is JSON ``{"error": code, "detail": message}`` and declared
in the OpenAPI schema; bad input never gets a 500.

Needs the ``serve`` extra (``pip install 'mnist-cnn[serve]'``). Under the
default ONNX runtime nothing here imports TensorFlow.
"""

import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import MnistCnnError
from ..vision.reading import MARK_KINDS
from .service import DigitService, RejectedInput, Upload, decode_base64_image

__all__ = ["ServeConfig", "create_app", "run"]

log = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent / "web"
MAX_IMAGES = 64
DEFAULT_MAX_BODY = 10 * 1024 * 1024
# Raw image bodies (Content-Type image/...) that the schema declares.
IMAGE_TYPES = ("image/png", "image/jpeg")


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``mnist-cnn serve`` needs; see :func:`mnist_cnn.serve.service.load_service`."""

    model: str | None = None
    verifier: str | None = None
    use_verifier: bool = True
    runtime: str = "onnx"
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = DEFAULT_MAX_BODY
    min_confidence: float = 0.6
    cache_dir: str | None = None
    workers: int = 1
    runs_dir: str | None = None


def _require_serve_extra() -> None:
    missing = []
    for module in (
        "fastapi",
        "uvicorn",
        "python_multipart",
        "onnxruntime",
        "prometheus_client",
        "swagger_ui_bundle",
    ):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise MnistCnnError(
            f"serving needs {', '.join(missing)}; install them with pip install 'mnist-cnn[serve]'"
        )


# ------------------------------------------------------------------ schema pieces
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "short code, e.g. no_digit"},
        "detail": {"type": "string", "description": "one-line message, as the CLI prints it"},
    },
}
TOP3_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["digit", "probability"],
        "properties": {
            "digit": {"type": "integer", "minimum": 0, "maximum": 9},
            "probability": {"type": "number", "minimum": 0, "maximum": 1},
        },
    },
}
PREDICTION_SCHEMA = {
    "type": "object",
    "required": ["file", "digit", "probability", "top3", "uncertain"],
    "properties": {
        "file": {"type": "string"},
        "digit": {"type": "integer", "minimum": 0, "maximum": 9},
        "probability": {"type": "number", "minimum": 0, "maximum": 1},
        "top3": TOP3_SCHEMA,
        "uncertain": {"type": "boolean"},
        "digits_side_by_side": {
            "type": "integer",
            "minimum": 2,
            "description": "present when the image holds several digits: read it with /v1/read",
        },
        "not_a_digit": {
            "type": "string",
            "description": "present when the drawing has a shape no digit has, and why",
        },
        "input_png": {"type": "string", "description": "the 28x28 model input, base64 PNG"},
    },
}
PREDICT_RESPONSE_SCHEMA = {
    "type": "object",
    "required": ["predictions"],
    "properties": {"predictions": {"type": "array", "items": PREDICTION_SCHEMA}},
}
BOX_SCHEMA = {
    "type": "array",
    "items": {"type": "integer"},
    "minItems": 4,
    "maxItems": 4,
    "description": "[x0, y0, x1, y1] in image pixels, end exclusive",
}
READ_RESPONSE_SCHEMA = {
    "type": "object",
    "required": ["file", "text", "digits", "uncertain", "marks", "width", "height"],
    "properties": {
        "file": {"type": "string"},
        "text": {"type": "string"},
        "digits": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["digit", "probability"],
                "properties": {
                    "digit": {"type": "integer", "minimum": 0, "maximum": 9},
                    "probability": {"type": "number", "minimum": 0, "maximum": 1},
                    "box": BOX_SCHEMA,
                },
            },
        },
        "uncertain": {"type": "boolean"},
        "marks": {
            "type": "array",
            "description": "what was skipped as not a digit, left to right",
            "items": {
                "type": "object",
                "required": ["kind", "box"],
                "properties": {
                    "kind": {"type": "string", "enum": list(MARK_KINDS)},
                    "box": BOX_SCHEMA,
                },
            },
        },
        "width": {"type": "integer"},
        "height": {"type": "integer"},
        "inputs_png": {"type": "array", "items": {"type": "string"}},
    },
}
STATUS_SCHEMA = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}},
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR_RESPONSES = {
    400: _json(ERROR_SCHEMA, "Malformed request (bad JSON or multipart)"),
    413: _json(ERROR_SCHEMA, "Body over the limit, or an image over 40 megapixels"),
    415: _json(ERROR_SCHEMA, "Not an image, or a content type other than multipart or JSON"),
    422: _json(ERROR_SCHEMA, "Damaged or blank image, or fields missing or invalid"),
}


def _request_body(many: bool) -> dict:
    files = (
        {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": MAX_IMAGES}
        if many
        else {"type": "string", "format": "binary"}
    )
    json_properties: dict[str, Any] = {
        "image": {
            "type": "string",
            "description": "base64 image bytes, or a data URL (data:image/png;base64,...)",
        },
        "include_input": {"type": "boolean", "default": False},
    }
    if many:
        json_properties["images"] = {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": MAX_IMAGES,
        }
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files" if many else "file"],
                    "properties": {("files" if many else "file"): files},
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": json_properties,
                    "anyOf": [{"required": ["image"]}]
                    + ([{"required": ["images"]}] if many else []),
                }
            },
            # One image as the whole body (curl --data-binary @digit.png -H
            # 'Content-Type: image/png'): no multipart to build or parse.
            **{
                media_type: {"schema": {"type": "string", "format": "binary"}}
                for media_type in IMAGE_TYPES
            },
        },
    }


# ------------------------------------------------------------------ body limit
class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: refuse a body over ``limit`` bytes with 413 before reading it all.

    A declared ``Content-Length`` over the limit is refused at once, without
    reading the body; a chunked body is counted as it arrives.
    """

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.limit
            except ValueError:
                return await self._refuse(send, 400, "bad_request", "invalid Content-Length")
            if too_large:
                return await self._too_large(send)
        received = 0
        started = False

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._too_large(send)

    async def _too_large(self, send):
        await self._refuse(
            send,
            413,
            "body_too_large",
            f"the request body is over the limit of {self.limit:,} bytes",
        )

    @staticmethod
    async def _refuse(send, status: int, error: str, detail: str):
        body = json.dumps({"error": error, "detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RequestMetrics:
    """ASGI middleware: Prometheus request counts and latencies per route.

    The metrics prometheus-fastapi-instrumentator records by default
    (``http_requests_total`` by method, status class and route;
    ``http_request_duration_seconds`` by method and route), at a fraction of
    its cost per request: it built a ``Request`` and a ``Response`` object
    around every call and matched the route a second time, where this reads the
    route the router has already put in the scope. Requests no route matches
    are counted under ``handler="none"``, so that random paths cannot grow the
    label set.

    It also adds ``app;dur=<ms>`` to the ``Server-Timing`` header: the time from
    the request reaching the application to its answer starting, so a client
    can tell the server's part from the network's and its own.
    """

    def __init__(self, app, registry, *, excluded=("/metrics",)) -> None:
        from prometheus_client import Counter, Histogram

        self.app = app
        self.excluded = frozenset(excluded)
        self.requests = Counter(
            "http_requests_total",
            "Requests by method, status class and route.",
            ["method", "status", "handler"],
            registry=registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Time from the request reaching the application to its answer, by route.",
            ["method", "handler"],
            registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500

        async def timed_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                elapsed = f"app;dur={(time.perf_counter() - start) * 1000:.3f}"
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"server-timing", elapsed.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            handler = getattr(scope.get("route"), "path", None) or "none"
            if handler not in self.excluded:
                method = scope["method"]
                self.requests.labels(method, f"{status // 100}xx", handler).inc()
                self.latency.labels(method, handler).observe(time.perf_counter() - start)


# ------------------------------------------------------------------ the app
def create_app(
    service: DigitService,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY,
    compute_threads: int = int(os.environ.get("MNIST_CNN_COMPUTE_THREADS", "2")),
):
    """The FastAPI application around a loaded (and warmed) :class:`DigitService`.

    Args:
        service: Does the work; see :func:`mnist_cnn.serve.service.load_service`.
        max_body_bytes: Larger request bodies get 413 before being read.
        compute_threads: Requests whose images are worked on at once (the rest wait).
    """
    import functools

    import anyio
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        Histogram,
        generate_latest,
    )
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.formparsers import MultiPartException

    app = FastAPI(
        title="mnist-cnn",
        summary="Handwritten digit recognition: one digit per image, or a whole number.",
        version=_version(),
        # /docs is served below with Swagger UI from a package, not from a CDN;
        # ReDoc has no such package, so there is none.
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service

    registry = CollectorRegistry(auto_describe=True)
    stage_seconds = Histogram(
        "mnist_cnn_stage_seconds",
        "Time per request stage (decode, preprocess, inference, read)",
        ["stage"],
        registry=registry,
        buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0),
    )

    @app.get("/metrics", include_in_schema=False)
    async def metrics():
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    def error(status: int, code: str, detail: str, headers: dict | None = None):
        return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)

    @app.exception_handler(RejectedInput)
    async def rejected(request: Request, exc: RejectedInput):
        return error(exc.status, exc.error, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        return error(422, "invalid_request", problems or "invalid request")

    @app.exception_handler(_BodyTooLarge)
    async def too_large(request: Request, exc: _BodyTooLarge):
        return error(
            413,
            "body_too_large",
            f"the request body is over the limit of {max_body_bytes:,} bytes",
        )

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        # A bug, not bad input (those are RejectedInput): still JSON, and logged.
        log.error("internal error on %s", request.url.path, exc_info=exc)
        return error(500, "internal_error", f"{type(exc).__name__}: the server failed")

    @app.exception_handler(MultiPartException)
    async def bad_multipart(request: Request, exc: MultiPartException):
        return error(400, "bad_request", f"malformed multipart body: {exc.message}")

    async def uploads_from(request: Request, field: str, many: bool) -> tuple[list[Upload], bool]:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        include_input = _flag(request, "include_input")
        if content_type == "multipart/form-data":
            try:
                form = await request.form(max_files=MAX_IMAGES, max_fields=MAX_IMAGES)
            except MultiPartException as exc:
                raise RejectedInput(
                    400, "bad_request", f"malformed multipart body: {exc.message}"
                ) from None
            except _BodyTooLarge:
                raise
            except Exception as exc:  # noqa: BLE001 - the parser raises several types
                raise RejectedInput(
                    400, "bad_request", f"malformed multipart body: {exc}"
                ) from None
            items = form.getlist(field) or form.getlist("file" if many else "files")
            uploads = []
            for index, item in enumerate(items):
                if isinstance(item, str):
                    raise RejectedInput(
                        422,
                        "invalid_request",
                        f"{field}: expected a file upload, got a text field",
                    )
                name = item.filename or f"{field}[{index}]"
                uploads.append(Upload(name, await item.read()))
            await form.close()
        elif content_type == "application/json" or content_type.endswith("+json"):
            try:
                body = await request.json()
            except _BodyTooLarge:
                raise
            except Exception:  # noqa: BLE001 - JSONDecodeError, UnicodeDecodeError
                raise RejectedInput(400, "bad_request", "the body is not valid JSON") from None
            uploads, include_input = _json_uploads(body, many, include_input)
        elif content_type.startswith("image/"):
            uploads = [Upload("image", await request.body())]
        else:
            raise RejectedInput(
                415,
                "unsupported_media_type",
                f"send multipart/form-data (field '{field}'), application/json or an "
                f"image (image/png, image/jpeg, ...), not "
                f"{content_type or 'a body without Content-Type'}",
            )
        if not uploads:
            raise RejectedInput(422, "invalid_request", f"no image given (field '{field}')")
        if len(uploads) > MAX_IMAGES:
            raise RejectedInput(
                413, "too_many_images", f"{len(uploads)} images; send at most {MAX_IMAGES}"
            )
        return uploads, include_input

    # The image work is Python holding the GIL (onnxruntime releases it): more
    # threads than this only take turns and slow each other down.
    limiter = anyio.CapacityLimiter(compute_threads)

    async def compute(function, *args, **kwargs):
        return await anyio.to_thread.run_sync(
            functools.partial(function, *args, **kwargs), limiter=limiter
        )

    def timed(response: JSONResponse, times) -> JSONResponse:
        for stage, seconds in times.seconds.items():
            stage_seconds.labels(stage).observe(seconds)
        response.headers["Server-Timing"] = ", ".join(
            f"{stage};dur={seconds * 1000:.3f}" for stage, seconds in times.seconds.items()
        )
        return response

    @app.post(
        "/v1/predict",
        summary="Classify one handwritten digit per image",
        description="Multipart files (field `files`, one or more), JSON with a base64 "
        "image or data URL (`image`, or `images` for several), or one image as the whole "
        "body (`Content-Type: image/png` or `image/jpeg`). Each answer has the "
        "fields `mnist-cnn predict --json` prints; `include_input` (query or JSON) adds "
        "the 28x28 the model saw as a base64 PNG; `raw` (query) skips preprocessing for "
        "images that already are 28x28 MNIST-style (as `predict --raw`).",
        responses={200: _json(PREDICT_RESPONSE_SCHEMA, "One answer per image"), **ERROR_RESPONSES},
        openapi_extra={
            "requestBody": _request_body(many=True),
            "parameters": [_include_input_parameter(), _raw_parameter()],
        },
    )
    async def predict(request: Request):
        uploads, include_input = await uploads_from(request, "files", many=True)
        answers, times = await compute(
            service.predict, uploads, include_input=include_input, raw=_flag(request, "raw")
        )
        return timed(JSONResponse({"predictions": answers}), times)

    @app.post(
        "/v1/read",
        summary="Read a whole number written on one line",
        description="Multipart file (field `file`), JSON with a base64 image or data URL "
        "(`image`), or the image as the whole body (`Content-Type: image/png` or "
        "`image/jpeg`). The answer has the fields `mnist-cnn read --json` prints, boxes in the "
        "image's pixels.",
        responses={200: _json(READ_RESPONSE_SCHEMA, "The number read"), **ERROR_RESPONSES},
        openapi_extra={
            "requestBody": _request_body(many=False),
            "parameters": [_include_input_parameter()],
        },
    )
    async def read(request: Request):
        uploads, include_input = await uploads_from(request, "file", many=False)
        if len(uploads) != 1:
            raise RejectedInput(422, "invalid_request", "send one image to /v1/read")
        answer, times = await compute(service.read, uploads[0], include_input=include_input)
        return timed(JSONResponse(answer), times)

    @app.get(
        "/healthz",
        summary="The process is alive",
        responses={200: _json(STATUS_SCHEMA, "Alive")},
    )
    async def healthz():
        return JSONResponse({"status": "ok"})

    @app.get(
        "/readyz",
        summary="The models are loaded and warmed",
        responses={
            200: _json(STATUS_SCHEMA, "Ready"),
            503: _json(ERROR_SCHEMA, "Still loading"),
        },
    )
    async def readyz():
        if not service.ready:
            return error(503, "not_ready", "the models are still loading")
        return JSONResponse({"status": "ready", **service.info})

    @app.get("/", include_in_schema=False)
    async def page():
        return FileResponse(WEB_DIR / "index.html", media_type="text/html")

    swagger_ui = _swagger_ui_dir()

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request):
        assets = request.scope.get("root_path", "") + "/docs/assets"
        return get_swagger_ui_html(
            openapi_url=request.scope.get("root_path", "") + app.openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )

    app.mount("/docs/assets", StaticFiles(directory=swagger_ui), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    instrumented = RequestMetrics(app, registry)
    return BodyLimit(instrumented, max_body_bytes) if max_body_bytes else instrumented


def _swagger_ui_dir() -> Path:
    """Swagger UI's files, from the ``swagger-ui-bundle-v2`` package (in the serve extra)."""
    try:
        import swagger_ui_bundle
    except ImportError:
        raise MnistCnnError(
            "/docs needs swagger-ui-bundle-v2; install it with pip install 'mnist-cnn[serve]'"
        ) from None
    path = Path(str(swagger_ui_bundle.swagger_ui_path))
    # The older swagger-ui-bundle package installs the same module with Swagger UI
    # 4, which cannot show the OpenAPI 3.1 schema FastAPI writes.
    major = path.name.removeprefix("swagger-ui-").split(".")[0]
    if not (path / "swagger-ui-bundle.js").is_file() or not major.isdigit() or int(major) < 5:
        raise MnistCnnError(
            f"{path} is not Swagger UI 5 or later; pip uninstall swagger-ui-bundle, "
            "then pip install 'mnist-cnn[serve]' (swagger-ui-bundle-v2)"
        )
    return path


def _include_input_parameter() -> dict:
    return {
        "name": "include_input",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean", "default": False},
        "description": "also return the 28x28 input(s) the model saw, as base64 PNG",
    }


def _raw_parameter() -> dict:
    return {
        "name": "raw",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean", "default": False},
        "description": "the images already are 28x28 MNIST-style, white on black "
        "(as mnist-cnn predict --raw): skip preprocessing",
    }


def _flag(request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true")


def _json_uploads(body: Any, many: bool, include_input: bool) -> tuple[list[Upload], bool]:
    if not isinstance(body, dict):
        raise RejectedInput(422, "invalid_request", "the JSON body must be an object")
    flag = body.get("include_input", include_input)
    if not isinstance(flag, bool):
        raise RejectedInput(422, "invalid_request", "include_input must be true or false")
    values: list[tuple[str, Any]] = []
    if "image" in body:
        values.append(("image", body["image"]))
    if many and "images" in body:
        images = body["images"]
        if not isinstance(images, list) or not images:
            raise RejectedInput(422, "invalid_request", "images must be a non-empty list")
        if len(images) > MAX_IMAGES:
            raise RejectedInput(
                413, "too_many_images", f"{len(images)} images; send at most {MAX_IMAGES}"
            )
        values += [(f"images[{i}]", v) for i, v in enumerate(images)]
    if not values:
        wanted = "'image' or 'images'" if many else "'image'"
        raise RejectedInput(422, "invalid_request", f"the JSON body needs {wanted}")
    uploads = []
    for name, value in values:
        if not isinstance(value, str):
            raise RejectedInput(
                422, "invalid_request", f"{name} must be a base64 string or a data URL"
            )
        uploads.append(Upload(name, decode_base64_image(value, name)))
    return uploads, flag


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("mnist-cnn")
    except metadata.PackageNotFoundError:
        return "0"


CONFIG_ENV = "MNIST_CNN_SERVE_CONFIG"


def app_from_environment():
    """The app of one worker process of ``serve --workers N``: the models named (already
    resolved and exported by the parent) in ``$MNIST_CNN_SERVE_CONFIG``."""
    from .service import load_service

    settings = json.loads(os.environ[CONFIG_ENV])
    service = load_service(
        settings["model"],
        verifier=settings["verifier"],
        use_verifier=settings["verifier"] is not None,
        runtime=settings["runtime"],
        min_confidence=settings["min_confidence"],
    )
    return create_app(service, max_body_bytes=settings["max_body_bytes"])


def run(config: ServeConfig) -> int:
    """Load the models, then serve until interrupted (the CLI's ``serve``).

    With ``config.workers > 1``, the models are resolved (and exported to the
    cache) once here, then each of the uvicorn worker processes loads its own
    copy: preprocessing is Python and holds the GIL, so one process uses one
    core.
    """
    import time

    if config.workers < 1:
        raise MnistCnnError(f"--workers must be at least 1, got {config.workers}")
    started = time.perf_counter()
    _require_serve_extra()
    from .service import load_service

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    service = load_service(
        config.model,
        verifier=config.verifier,
        use_verifier=config.use_verifier,
        runtime=config.runtime,
        min_confidence=config.min_confidence,
        cache_dir=config.cache_dir,
        log_line=say,
        runs_dir=config.runs_dir,
    )
    import uvicorn

    say(f"model: {service.info.get('model')}  verifier: {service.info.get('verifier')}")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    options = dict(host=config.host, port=config.port, log_level="warning", access_log=False)
    if config.workers == 1:
        app = create_app(service, max_body_bytes=config.max_body_bytes)
        say(
            f"runtime {config.runtime}, ready in {time.perf_counter() - started:.1f} s: "
            f"http://{config.host}:{config.port}/"
        )
        uvicorn.run(app, **options)
        return 0
    os.environ[CONFIG_ENV] = json.dumps(
        {
            "model": service.info["model"],
            "verifier": service.info["verifier"],
            "runtime": config.runtime,
            "min_confidence": config.min_confidence,
            "max_body_bytes": config.max_body_bytes,
        }
    )
    del service
    say(
        f"runtime {config.runtime}, {config.workers} worker processes starting: "
        f"http://{config.host}:{config.port}/"
    )
    from uvicorn.supervisors import Multiprocess

    settings = uvicorn.Config(
        "mnist_cnn.serve:app_from_environment", factory=True, workers=config.workers, **options
    )
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(settings, sockets=[_listening_socket(config.host, config.port)]).run()
    return 0


def _listening_socket(host: str, port: int):
    """The socket the worker processes share.

    Made here rather than by uvicorn: uvicorn's has protocol number 0, so the
    connections accepted from it have too, and asyncio then leaves Nagle's
    algorithm on; with delayed ACKs every keep-alive request waited 40 ms.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise MnistCnnError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    sock.set_inheritable(True)
    return sock
