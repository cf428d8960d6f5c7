"""``mnist-cnn serve``: the HTTP API and the drawing page (needs ``mnist-cnn[serve]``)."""

from __future__ import annotations

import argparse

from .common import add_runs_dir, import_keras_quietly


def add_parser(sub) -> None:
    p = sub.add_parser(
        "serve",
        help="an HTTP API and a page to draw digits on (needs mnist-cnn[serve])",
        description="Serve /v1/predict, /v1/read and a drawing page at / through "
        "onnxruntime. MODEL_OR_RUN may be an exported .onnx file; a .keras model is "
        "exported once into a cache folder.",
    )
    p.add_argument("model_or_run", nargs="?", default=None, metavar="MODEL_OR_RUN")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--runtime",
        choices=("onnx", "keras"),
        default="onnx",
        help="onnx (default: no TensorFlow in the server) or keras",
    )
    p.add_argument(
        "--verifier", default=None, help="segment verifier (.onnx or .keras; default packaged)"
    )
    p.add_argument("--no-verifier", action="store_true", help="read numbers without it")
    p.add_argument(
        "--max-body-mb", type=int, default=10, help="largest request body in MiB (default 10)"
    )
    p.add_argument("--min-confidence", type=float, default=0.6)
    p.add_argument("--cache-dir", default=None, help="where exported ONNX models are cached")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (preprocessing holds the GIL: one process uses one core)",
    )
    add_runs_dir(p)
    # Keras only with --runtime keras (imported in run): the ONNX server stays TF-free.
    p.set_defaults(func=run, needs_keras=False)


def run(args: argparse.Namespace) -> int:
    from ..serve.app import ServeConfig
    from ..serve.app import run as serve

    if args.runtime == "keras":
        import_keras_quietly()
    config = ServeConfig(
        model=args.model_or_run,
        verifier=None if args.no_verifier else args.verifier,
        use_verifier=not args.no_verifier,
        runtime=args.runtime,
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_mb * 1024 * 1024,
        min_confidence=args.min_confidence,
        cache_dir=args.cache_dir,
        workers=args.workers,
        runs_dir=args.runs_dir,
    )
    return serve(config)
