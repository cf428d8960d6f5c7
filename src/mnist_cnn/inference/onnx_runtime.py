"""Inference through onnxruntime, without TensorFlow or Keras.

The serving process (``mnist-cnn serve``) runs the models exported by
:mod:`mnist_cnn.inference.export` here. This module imports only numpy, onnxruntime and
the package's Keras-free modules; a test keeps it that way.

:class:`OnnxClassifier` is a drop-in for :class:`mnist_cnn.inference.predictor.Predictor`
as the ``classify`` callable of :func:`mnist_cnn.vision.reading.read_number`, and
:class:`OnnxVerifier` for :class:`mnist_cnn.inference.verifier.Verifier` as ``verify``.

When no ONNX file is given, :func:`cached_onnx` exports the ``.keras`` model
once into a cache folder, in a separate process, so that TensorFlow is never
loaded into the server.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from ..errors import ModelError
from .predictor import image_batch  # numpy only: no Keras behind it

__all__ = [
    "INPUT_NAME",
    "OUTPUT_NAME",
    "OnnxClassifier",
    "OnnxVerifier",
    "cached_onnx",
    "default_onnx_cache_dir",
    "load_session",
]

INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
# Part of a cached export's name: raised when mnist_cnn.export writes a different
# graph for the same .keras file, so that servers pick up the new one.
CACHE_REVISION = 3


def load_session(path: str | os.PathLike[str], *, threads: int = 1):
    """An onnxruntime session on the CPU with ``threads`` intra-op threads.

    One thread per call: the server runs several requests at once, and on a
    small machine per-request parallelism only makes them compete.

    Raises:
        ModelError: onnxruntime is missing, or the file is not a readable ONNX
            model with an ``image`` input and a ``probabilities`` output.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError(
            "onnxruntime is not installed; install it with pip install 'mnist-cnn[serve]'"
        ) from None
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"no ONNX model at {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # onnxruntime's default, stated: the NCHWc layout and fusions are worth 45 % of
    # the time of one image against the basic level. (Pre-bound IO and OrtValues
    # were slower per image than plain run() here; a smaller arena made no difference.)
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(
            str(path), sess_options=options, providers=["CPUExecutionProvider"]
        )
    except Exception as exc:  # onnxruntime raises its own types for bad files
        raise ModelError(f"cannot load ONNX model {path}: {type(exc).__name__}: {exc}") from None
    inputs = [i.name for i in session.get_inputs()]
    outputs = [o.name for o in session.get_outputs()]
    if inputs != [INPUT_NAME] or outputs != [OUTPUT_NAME]:
        raise ModelError(
            f"{path} has inputs {inputs} and outputs {outputs}; expected [{INPUT_NAME!r}] and "
            f"[{OUTPUT_NAME!r}] (export it with 'mnist-cnn export')"
        )
    return session


class _OnnxModel:
    channels = 1

    def __init__(self, session, path: Path | None = None) -> None:
        self.session = session
        self.path = path
        self.metadata = dict(session.get_modelmeta().custom_metadata_map)
        shape = session.get_inputs()[0].shape
        if list(shape[1:]) != [28, 28, self.channels]:
            raise ModelError(
                f"{path} takes inputs of shape {shape}; expected [N, 28, 28, {self.channels}]"
            )

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, threads: int = 1):
        return cls(load_session(path, threads=threads), Path(path))

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]


class OnnxClassifier(_OnnxModel):
    """A digit classifier exported to ONNX: ``(N, 28, 28)`` images -> ``(N, 10)``.

    Example:
        >>> classify = OnnxClassifier.load("default.onnx")  # doctest: +SKIP
        >>> classify(images).shape  # float32 (N, 28, 28) in [0, 1]  # doctest: +SKIP
        (N, 10)
    """

    channels = 1

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities for float32 images in [0, 1].

        Args:
            images: ``(N, 28, 28)``, ``(N, 28, 28, 1)`` or one ``(28, 28)`` image.

        Returns:
            ``(N, 10)`` float32 probabilities.
        """
        x = image_batch(images)
        if len(x) == 0:
            return np.zeros((0, 10), np.float32)
        return self._run(np.ascontiguousarray(x))

    __call__ = predict_proba


class OnnxVerifier(_OnnxModel):
    """The segment verifier exported to ONNX: ``(N, 28, 28, 2)`` -> ``(N,)``.

    Carries the reader's score weights from the ONNX metadata (as
    :class:`mnist_cnn.inference.verifier.Verifier` carries them from its ``.json``), so
    :func:`mnist_cnn.vision.reading.read_number` weighs its evidence the same way.
    """

    channels = 2

    def __init__(self, session, path: Path | None = None) -> None:
        from ..vision import reading

        super().__init__(session, path)
        saved = self.metadata.get("mnist_cnn.score_weights")
        self.weights = (
            reading.ScoreWeights(**json.loads(saved)) if saved else reading.WEIGHTS_WITH_VERIFIER
        )

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim != 4 or x.shape[1:] != (28, 28, 2):
            raise ValueError(f"expected inputs of shape (N, 28, 28, 2), got {x.shape}")
        if len(x) == 0:
            return np.zeros(0, np.float32)
        return self._run(np.ascontiguousarray(x)).reshape(-1).astype(np.float32)


def default_onnx_cache_dir() -> Path:
    """Where exported models are cached: ``$XDG_CACHE_HOME/mnist-cnn/onnx``."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "mnist-cnn" / "onnx"


def cached_onnx(
    keras_path: str | os.PathLike[str],
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    log=None,
) -> Path:
    """The ONNX export of ``keras_path``, exporting it first if it is not cached.

    The cache is keyed by the ``.keras`` file's SHA-256, so a retrained model
    is exported again. The export runs as ``python -m mnist_cnn export`` in a
    child process (with its parity check), keeping TensorFlow out of this one.

    Args:
        keras_path: The ``.keras`` classifier or segment verifier.
        cache_dir: Default :func:`default_onnx_cache_dir`.
        log: Called with a line of progress (e.g. ``print``), or ``None``.

    Raises:
        ModelError: The export failed (the child's error message is included).
    """
    keras_path = Path(keras_path)
    digest = hashlib.sha256(keras_path.read_bytes()).hexdigest()[:16]
    directory = Path(cache_dir) if cache_dir is not None else default_onnx_cache_dir()
    target = directory / f"{keras_path.stem}-{digest}-r{CACHE_REVISION}.onnx"
    if target.is_file():
        return target
    if log is not None:
        log(f"exporting {keras_path} to {target} (once; cached afterwards)")
    directory.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run(
        [sys.executable, "-m", "mnist_cnn", "export", str(keras_path), "--out", str(target)],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0 or not target.is_file():
        lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
        reason = lines[-1] if lines else (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise ModelError(f"cannot export {keras_path} to ONNX ({reason})")
    return target
