"""Loading a trained model and predicting digits, fast.

``Predictor`` wraps a Keras model with a compiled forward pass: Keras's
``model.predict`` builds a dataset pipeline per call (about 60 ms for one
image under TensorFlow), while a compiled direct call takes about a
millisecond. Model resolution order for commands without an explicit model:
``runs/latest`` (or ``$MNIST_CNN_RUNS/latest``, or a ``runs_dir`` argument),
then the model packaged with mnist-cnn.
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

DEFAULT_MODEL_NAME = "default"


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

    Example:
        >>> predictor = Predictor.load("runs/latest")
        >>> probs = predictor.predict_proba(images)  # (N, 28, 28) floats in [0, 1]
    """

    def __init__(
        self, model, path: Path | None = None, class_names: Sequence[str] | None = None
    ) -> None:
        self.model = model
        self.path = path
        #: Names by label when the model was trained on a dataset with named
        #: classes (Fashion-MNIST), else ``None`` (the digits are the names).
        self.class_names = tuple(class_names) if class_names else None
        self._forward = compile_forward(model)

    @classmethod
    def load(cls, model_or_run: str | os.PathLike[str] | None = None, **kwargs) -> Predictor:
        path = resolve_model_path(model_or_run, **kwargs)
        return cls(load_model(path), path, run_class_names(path))

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
        out = [self._forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        return np.concatenate(out).astype(np.float32, copy=False)

    def predict(self, images: np.ndarray) -> list[Prediction]:
        return [Prediction.from_probabilities(p) for p in self.predict_proba(images)]

    __call__ = predict_proba


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
    """A fast ``model(x, training=False)`` for numpy batches of ``input_shape`` images."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        fn = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec([None, *input_shape], tf.float32)],
        )
        return lambda x: fn(tf.constant(x)).numpy()
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
