"""The segment verifier at run time: load it, run it, save it with its score weights.

Reading a number means choosing where one digit ends and the next begins
(:mod:`mnist_cnn.vision.reading`). The digit classifier alone is a poor judge of
that: it reads a '1' merged into the '3' beside it as a confident '3', and
half a '0' as a confident '1'. The verifier is a small CNN trained for
exactly that question. Its input is two 28x28 channels: the piece
normalised the MNIST way (what the classifier sees) and the piece in its
context (1.6 line heights square, its own ink at full strength and its
neighbours' at half), which shows the piece's size and whether ink goes on
past its edges. Its output is the probability that the piece is one whole
digit, neither a fragment nor several digits.

The network is :func:`mnist_cnn.models.verifier.build_verifier`; it is trained
on numbers composed from MNIST *training* digits
(:mod:`mnist_cnn.training.verifier_data`): every candidate piece the reader
considers is labelled by comparing its columns with where each digit really
lies. ``benchmarks/train_verifier.py`` trains the packaged one and chooses the
reader's score weights on validation numbers; both are saved together.

Example:
    >>> verifier = Verifier.load()  # the packaged one  # doctest: +SKIP
    >>> reading.read_number("year.jpg", predictor, verifier)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from ..errors import ModelError
from ..fileio import atomic_path, write_json
from ..models.verifier import INPUT_SHAPE, default_verifier_path
from ..vision import reading

__all__ = ["Verifier"]


class Verifier:
    """A loaded segment verifier and the reader's score weights chosen with it.

    Calling it maps float32 ``(N, 28, 28, 2)`` inputs to ``(N,)`` probabilities
    that each is one whole digit; pass it as ``verify`` to
    :func:`mnist_cnn.vision.reading.read_number`.
    """

    def __init__(self, model, weights: reading.ScoreWeights, path: Path | None = None) -> None:
        from .predictor import compile_forward

        self.model = model
        self.weights = weights
        self.path = path
        self._forward = compile_forward(model, INPUT_SHAPE)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Verifier:
        """Load a verifier (default: the packaged one) and the weights saved beside it.

        Raises:
            ModelError: the file is missing or not a Keras model.
        """
        from .predictor import load_keras_file

        path = Path(path) if path is not None else default_verifier_path()
        if not path.is_file():
            raise ModelError(f"segment verifier {path} not found; reinstall mnist-cnn")
        model = load_keras_file(path, what="verifier", compile=False)
        if tuple(model.input_shape[1:]) != INPUT_SHAPE:
            raise ModelError(
                f"{path} takes inputs of shape {model.input_shape[1:]}, "
                f"not a segment verifier's {INPUT_SHAPE}"
            )
        weights = reading.WEIGHTS_WITH_VERIFIER
        sidecar = path.with_suffix(".json")
        if sidecar.is_file():
            saved = json.loads(sidecar.read_text()).get("score_weights")
            if saved:
                weights = reading.ScoreWeights(**saved)
        return cls(model, weights, path)

    def save(self, path: str | os.PathLike[str], info: dict | None = None) -> None:
        """Save the model and, beside it as .json, the score weights and ``info`` (atomically)."""
        path = Path(path)
        with atomic_path(path) as tmp:
            self.model.save(tmp)
        write_json(
            path.with_suffix(".json"),
            {"score_weights": dataclasses.asdict(self.weights), **(info or {})},
        )

    def __call__(self, inputs: np.ndarray) -> np.ndarray:
        x = np.asarray(inputs, dtype=np.float32)
        if x.ndim != 4 or x.shape[1:] != INPUT_SHAPE:
            raise ValueError(f"expected inputs of shape (N, 28, 28, 2), got {x.shape}")
        if len(x) == 0:
            return np.zeros(0, np.float32)
        out = [self._forward(x[i : i + 1024]) for i in range(0, len(x), 1024)]
        return np.concatenate(out).reshape(-1).astype(np.float32)
