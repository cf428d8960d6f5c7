"""Loading a trained model and predicting digits, fast.

``Predictor`` wraps a Keras model with a compiled forward pass: Keras's
``model.predict`` builds a dataset pipeline per call (about 60 ms for one
image under TensorFlow), while a compiled direct call takes about a
millisecond, most of it in the kernels; up to four images at a time go
through the same layers in numpy instead (:mod:`~mnist_cnn.inference.small_batch`,
checked against the compiled pass when the predictor is made), about half
that. With ``runtime="onnx"`` the same model
runs in onnxruntime instead (exported once; about a third of the time for one
image, needs the ``serve`` and ``export`` extras). Model resolution order for
commands without an explicit model: ``runs/latest`` (or
``$MNIST_CNN_RUNS/latest``, or a ``runs_dir`` argument), then the model
packaged with mnist-cnn.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import runs
from ..errors import ModelError
from ..models import registry
from .small_batch import SMALL_BATCH

DEFAULT_MODEL_NAME = "default"
#: Where :class:`Predictor` runs the model: the Keras backend's compiled forward
#: pass, or onnxruntime on an ONNX export of the model.
RUNTIMES = ("keras", "onnx")


def resolve_model_path(
    model_or_run: str | os.PathLike[str] | None = None,
    *,
    runs_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Find the ``.keras`` file to use.

    Args:
        model_or_run: A ``.keras`` file, a run directory, ``"default"`` for the
            packaged model, or ``None``: ``runs_dir/latest`` if there is one,
            else the packaged model.
        runs_dir: Where ``mnist-cnn train`` wrote its runs; ``None`` means
            ``$MNIST_CNN_RUNS``, else ``runs`` (:func:`mnist_cnn.runs.default_runs_dir`).

    Raises:
        ModelError: nothing usable was found; the message says what to do.
    """
    packaged = registry.default_model_path()
    if model_or_run is not None and str(model_or_run) == DEFAULT_MODEL_NAME:
        if packaged.is_file():
            return packaged
        raise ModelError(
            f"the packaged default model is missing from {packaged}; reinstall mnist-cnn"
        )
    if model_or_run is not None:
        return runs.model_file(model_or_run)
    runs_dir = runs.default_runs_dir() if runs_dir is None else runs_dir
    latest = runs.resolve_latest(runs_dir)
    if latest is not None:
        return latest / runs.MODEL_FILE
    if packaged.is_file():
        return packaged
    raise ModelError(
        f"no model given and no {Path(runs_dir) / runs.LATEST}; train one with "
        "'mnist-cnn train' or pass a .keras file or run directory"
    )


def load_model(model_or_run: str | os.PathLike[str] | None = None, **kwargs):
    """Load a Keras model (see :func:`resolve_model_path` for the look-up).

    Raises:
        ModelError: the file is not a readable Keras model.
    """
    return load_keras_file(resolve_model_path(model_or_run, **kwargs))


def load_keras_file(path: Path, *, what: str = "model", compile: bool = True):
    """Load the ``.keras`` file at ``path``, turning every failure into a :class:`ModelError`.

    Args:
        path: The file.
        what: What it holds, for messages ("model", "verifier").
        compile: Restore the training configuration too.
    """
    import keras

    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not a Keras model file (not a .keras zip archive)")
    try:
        return keras.saving.load_model(path, compile=compile)
    except Exception as exc:  # Keras raises many types for damaged files
        raise ModelError(f"cannot load {what} {path}: {type(exc).__name__}: {exc}") from None


def image_batch(images: np.ndarray) -> np.ndarray:
    """Images as the models take them: float32 ``(N, 28, 28, 1)``.

    Args:
        images: ``(N, 28, 28)``, ``(N, 28, 28, 1)`` or one ``(28, 28)`` image.

    Raises:
        ValueError: Any other shape.
    """
    x = np.asarray(images, dtype=np.float32)
    if x.shape[-2:] == (28, 28):
        x = x[..., None]
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1:] != (28, 28, 1):
        raise ValueError(f"expected images of shape (N, 28, 28[, 1]), got {np.shape(images)}")
    return x


@dataclass(frozen=True)
class Prediction:
    """One image's answer: the digit, its probability, and the three best."""

    digit: int
    probability: float
    top3: list[tuple[int, float]]

    @classmethod
    def from_probabilities(cls, probs: np.ndarray) -> Prediction:
        order = np.argsort(probs)[::-1][:3]
        return cls(
            digit=int(order[0]),
            probability=float(probs[order[0]]),
            top3=[(int(i), float(probs[i])) for i in order],
        )

    def to_dict(
        self, min_confidence: float = 0.6, class_names: Sequence[str] | None = None
    ) -> dict:
        """The answer as JSON-ready values: the shape ``predict --json`` prints and the
        service returns.

        Args:
            min_confidence: Answers below this probability are marked ``uncertain``.
            class_names: Names by label (a model trained on Fashion-MNIST); adds
                ``label``, the name of ``digit`` (which stays the class number).
        """
        answer = {
            "digit": self.digit,
            "probability": round(self.probability, 6),
            "top3": [{"digit": d, "probability": round(q, 6)} for d, q in self.top3],
            "uncertain": self.probability < min_confidence,
        }
        if class_names:
            answer["label"] = class_names[self.digit]
        return answer


class Predictor:
    """A model with a compiled, low-latency forward pass.

    Args:
        model: A Keras model taking float32 ``(N, 28, 28, 1)`` images.
        path: The ``.keras`` file it came from, if any.
        class_names: Names by label (see :attr:`class_names`).
        low_res_path: A second model for pictures blown up from a small source
            (:func:`mnist_cnn.vision.resolution.upscaled_from_small`), loaded
            on first use by :meth:`for_picture`; :meth:`load` gives the
            packaged default model the packaged ``low_res.keras``.
        runtime: ``"keras"`` (the backend's compiled forward pass) or ``"onnx"``:
            the model exported to ONNX (in this process, or for a ``path`` once
            into the cache of :func:`mnist_cnn.inference.onnx_runtime.cached_onnx`)
            and run by onnxruntime with one thread, which on a CPU takes a
            third of the time for one image. The answers agree to 1e-5
            (:data:`mnist_cnn.inference.export.PARITY_TOLERANCE`, checked on export).

    Raises:
        ModelError: ``runtime`` is unknown, or ``"onnx"`` without onnxruntime and
            tf2onnx installed (``pip install 'mnist-cnn[serve,export]'``) or
            with a model that cannot be exported.

    Example:
        >>> predictor = Predictor.load("runs/latest")
        >>> probs = predictor.predict_proba(images)  # (N, 28, 28) floats in [0, 1]
    """

    def __init__(
        self,
        model,
        path: Path | None = None,
        class_names: Sequence[str] | None = None,
        *,
        runtime: str = "keras",
        low_res_path: Path | None = None,
    ) -> None:
        if runtime not in RUNTIMES:
            raise ModelError(f"unknown runtime {runtime!r}; choose one of: {', '.join(RUNTIMES)}")
        self.model = model
        self.path = path
        self.runtime = runtime
        #: Names by label when the model was trained on a dataset with named
        #: classes (Fashion-MNIST), else ``None`` (the digits are the names).
        self.class_names = tuple(class_names) if class_names else None
        self.low_res_path = low_res_path
        self._low_res: Predictor | None = None
        self._small = None
        if runtime == "onnx":
            self._forward = onnx_forward(model, path)
        else:
            self._forward = compile_forward(model)
            self._small = checked_small_batch_forward(model, self._forward)

    @classmethod
    def load(
        cls,
        model_or_run: str | os.PathLike[str] | None = None,
        *,
        runtime: str = "keras",
        **kwargs,
    ) -> Predictor:
        """The model :func:`resolve_model_path` finds, ready to predict (``runtime``
        as in the class)."""
        path = resolve_model_path(model_or_run, **kwargs)
        return cls(
            load_model(path),
            path,
            run_class_names(path),
            runtime=runtime,
            low_res_path=packaged_low_res_model(path),
        )

    def for_picture(self, gray: np.ndarray) -> Predictor:
        """The predictor to read the digit of the picture ``gray`` (grayscale in [0, 1]).

        A picture blown up from at most 16 pixels
        (:func:`~mnist_cnn.vision.resolution.upscaled_from_small`) is read by
        the model at ``low_res_path`` when there is one (the packaged default
        model's companion, also trained on real 8x8 writers); every other
        picture by this predictor.
        """
        from ..vision.resolution import upscaled_from_small

        if self.low_res_path is None or not upscaled_from_small(gray):
            return self
        return self.low_res()

    def low_res(self) -> Predictor | None:
        """The predictor for pictures blown up from a small source (the model at
        ``low_res_path``, loaded on first use, same runtime), or ``None``."""
        if self._low_res is None and self.low_res_path is not None:
            self._low_res = Predictor(
                load_keras_file(self.low_res_path), self.low_res_path, runtime=self.runtime
            )
        return self._low_res

    def predict_proba(self, images: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class probabilities for float32 images in [0, 1].

        Args:
            images: ``(N, 28, 28)``, ``(N, 28, 28, 1)`` or one ``(28, 28)`` image.

        Returns:
            ``(N, 10)`` float32 probabilities.
        """
        x = image_batch(images)
        if len(x) == 0:
            return np.zeros((0, registry.NUM_CLASSES), np.float32)
        if self._small is not None and len(x) <= SMALL_BATCH:
            return self._small(x)
        if len(x) <= batch_size:
            return self._forward(x).astype(np.float32, copy=False)
        out = [self._forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float32, copy=False)

    def predict(self, images: np.ndarray) -> list[Prediction]:
        return [Prediction.from_probabilities(p) for p in self.predict_proba(images)]

    __call__ = predict_proba


def packaged_low_res_model(model_path: Path) -> Path | None:
    """The packaged model for small-source pictures, when ``model_path`` is the
    packaged default model and it is installed; else ``None`` (a model someone
    trained reads every picture itself)."""
    low_res = registry.low_res_model_path()
    if Path(model_path).resolve() != registry.default_model_path().resolve():
        return None
    return low_res if low_res.is_file() else None


def run_class_names(model_path: Path) -> tuple[str, ...] | None:
    """The class names of the dataset the run holding ``model_path`` was trained on.

    ``None`` for digits (MNIST, or a model outside a run) and unnamed classes.
    """
    import json

    from ..data.catalog import DATASETS

    try:
        config = json.loads((Path(model_path).parent / "config.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    dataset = config.get("dataset") if isinstance(config, dict) else None
    return DATASETS.get(dataset) if isinstance(dataset, str) else None


def compile_forward(model, input_shape: tuple[int, ...] = (28, 28, 1)):
    """A fast ``model(x, training=False)`` for numpy batches of ``input_shape`` images.

    Under TensorFlow the model is traced once, for any batch size, and the traced
    graph is called without ``tf.function``'s per-call argument matching (a
    tenth of a millisecond of Python per call, a tenth of the time of one image).
    """
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        spec = tf.TensorSpec([None, *input_shape], tf.float32)
        call = _direct_call(tf.function(lambda x: model(x, training=False)), spec)
        return lambda x: call(tf.constant(x)).numpy()
    if backend == "jax":
        import jax

        fn = jax.jit(lambda x: model(x, training=False))
        return lambda x: np.asarray(fn(x))
    if backend == "torch":
        import torch

        def forward(x):
            with torch.inference_mode():
                return keras.ops.convert_to_numpy(model(x, training=False))

        return forward
    return lambda x: keras.ops.convert_to_numpy(model(x, training=False))


def checked_small_batch_forward(model, forward):
    """:func:`~mnist_cnn.inference.small_batch.numpy_forward` of ``model`` if it
    agrees with ``forward`` (the compiled pass) to the export tolerance on a few
    random images, else ``None``."""
    from .export import PARITY_TOLERANCE
    from .small_batch import numpy_forward

    small = numpy_forward(model)
    if small is None:
        return None
    images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
    try:
        agree = np.abs(small(images) - forward(images)).max() <= PARITY_TOLERANCE
    except ValueError:  # shapes the translation got wrong
        return None
    return small if agree else None


def _direct_call(function, spec):
    """``function``'s graph for ``spec`` as a one-tensor-in, one-tensor-out callable.

    Calls the traced graph's flat entry point (``call_flat`` of the concrete
    function's inference function, with the captured variables appended), which
    is what the concrete function itself ends up calling when no gradient tape
    watches. Those names are TensorFlow internals: when they are missing or
    misbehave, the public concrete function is used instead (same graph, same
    numbers, slower by the argument binding).
    """
    import tensorflow as tf

    concrete = function.get_concrete_function(spec)
    if not tf.is_tensor(concrete.structured_outputs):
        return concrete
    inference = getattr(concrete, "_inference_function", None)
    captured = tuple(concrete.captured_inputs)

    def call(x):
        return inference.call_flat(x, *captured)[0]

    try:
        probe = tf.zeros([1, *spec.shape[1:]], spec.dtype)
        if not np.array_equal(call(probe).numpy(), concrete(probe).numpy()):
            return concrete
    except Exception:  # noqa: BLE001 - another TensorFlow's internals: use the public call
        return concrete
    return call


def onnx_forward(model, path: Path | None = None):
    """``model``'s forward pass in onnxruntime (one thread), for :class:`Predictor`.

    A model from a ``.keras`` file (``path``) goes through
    :func:`mnist_cnn.inference.onnx_runtime.cached_onnx`: exported once in a child
    process, then reused by every later process. A model only in memory is
    exported here, into a temporary folder, and checked against its Keras
    forward pass on random images.

    Raises:
        ModelError: onnxruntime or tf2onnx is missing, or the export failed.
    """
    import tempfile

    from ..errors import ExportError
    from .onnx_runtime import OnnxClassifier, cached_onnx, load_session

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelError(
            "runtime onnx needs onnxruntime; install it with pip install 'mnist-cnn[serve,export]'"
        ) from None
    if path is not None:
        return OnnxClassifier.load(cached_onnx(path))
    from .export import export_keras_model

    parity = np.random.default_rng(0).random((64, *registry.INPUT_SHAPE), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="mnist-cnn-onnx-") as folder:
        source = Path(folder) / "model.keras"
        model.save(source)
        try:
            result = export_keras_model(
                model, Path(folder) / "model.onnx", source=source, parity=parity
            )
        except ExportError as exc:
            raise ModelError(f"runtime onnx: {exc}") from None
        # onnxruntime reads the whole file here; the folder can go.
        return OnnxClassifier(load_session(result.path))
