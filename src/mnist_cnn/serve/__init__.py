"""Serving: ``mnist-cnn serve``, the HTTP API and the drawing page.

Owns what the service does with an upload, without HTTP
(:mod:`~mnist_cnn.serve.service`: checks, decoding, the answers of
``predict --json`` and ``read --json``), the FastAPI app and its server
(:mod:`~mnist_cnn.serve.app`) and the page (``web/``). It may import numpy,
Pillow, onnxruntime, FastAPI and uvicorn, :mod:`mnist_cnn.vision`,
:mod:`mnist_cnn.inference`, :mod:`mnist_cnn.models` (for the packaged files)
and the top-level modules; never :mod:`mnist_cnn.training`,
:mod:`mnist_cnn.evaluation` or :mod:`mnist_cnn.cli`, and no Keras or
TensorFlow at import time: the serving process loads TensorFlow only with
``--runtime keras`` (``tests/test_layout.py``). The names below are loaded on
first use; ``mnist_cnn.serve:app_from_environment`` is the factory uvicorn's
worker processes import by that name.
"""

from .. import _lazy

_EXPORTS = {
    **dict.fromkeys(("ServeConfig", "app_from_environment", "create_app", "run"), ".app"),
    **dict.fromkeys(("DigitService", "RejectedInput", "Upload", "load_service"), ".service"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
