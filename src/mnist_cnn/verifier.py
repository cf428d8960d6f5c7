"""The segment verifier: is this piece of a number one whole digit?

Reading a number means choosing where one digit ends and the next begins
(:mod:`mnist_cnn.reading`). The digit classifier alone is a poor judge of
that: it reads a '1' merged into the '3' beside it as a confident '3', and
half a '0' as a confident '1'. The verifier is a small CNN trained for
exactly that question. Its input is two 28x28 channels: the piece
normalised the MNIST way (what the classifier sees) and the piece in its
context (1.6 line heights square, its own ink at full strength and its
neighbours' at half), which shows the piece's size and whether ink goes on
past its edges. Its output is the probability that the piece is one whole
digit, neither a fragment nor several digits.

It is trained on numbers composed from MNIST *training* digits
(:mod:`mnist_cnn.synthetic`): every candidate piece the reader considers is
labelled by comparing its columns with where each digit really lies.
``benchmarks/train_verifier.py`` trains the packaged one and chooses the
reader's score weights on validation numbers; both are saved together.

Example:
    >>> verifier = Verifier.load()  # the packaged one  # doctest: +SKIP
    >>> reading.read_number("year.jpg", predictor, verifier)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import synthetic
from .errors import ImageError, ModelError
from .fileio import atomic_path, write_json
from .vision import reading

__all__ = [
    "Verifier",
    "build_verifier",
    "default_verifier_path",
    "is_whole_digit",
    "make_examples",
    "random_number",
]

INPUT_SHAPE = (28, 28, 2)


def default_verifier_path() -> Path:
    """Where the packaged segment verifier lives (its score weights beside it, as .json)."""
    return Path(__file__).resolve().parent / "weights" / "verifier.keras"


def build_verifier(seed: int = 0):
    """The verifier network: three small convolutions, a dense layer, a sigmoid (60k weights)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(16, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu", padding="same"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dropout(0.3),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="segment_verifier",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model


def is_whole_digit(columns: tuple[int, int], spans: Sequence[tuple[int, int]]) -> bool:
    """Whether a candidate spanning ``columns`` is exactly one of the digits at ``spans``.

    A digit's own columns are those no other digit's ink reaches. The
    candidate must cover at least 85% of one digit's own columns and at most
    20% of any other digit's: so a '1' swallowed by its neighbour, half a
    digit, or two digits together are not whole, while a cut through the
    overlap of two touching digits, or one that clips a pixel of a neighbour,
    is.
    """
    c0, c1 = columns
    covered = []
    for j, (s0, s1) in enumerate(spans):
        own = np.ones(s1 - s0, dtype=bool)
        for k, (t0, t1) in enumerate(spans):
            if k != j:
                own[max(t0, s0) - s0 : max(min(t1, s1) - s0, 0)] = False
        if not own.any():  # wholly inside another digit's columns: judge by all of it
            own[:] = True
        cols = np.arange(s0, s1)[own]
        covered.append(float(np.mean((cols >= c0) & (cols < c1))))
    best = int(np.argmax(covered))
    return covered[best] >= 0.85 and all(
        share <= 0.2 for k, share in enumerate(covered) if k != best
    )


def random_number(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> tuple[synthetic.ComposedNumber, str]:
    """A number of 2-8 digits drawn from ``(x, y)``, written in a random size, spacing and pen."""
    length = int(rng.integers(2, 9))
    index = rng.choice(len(x), length, replace=False)
    height = int(rng.integers(40, 97))
    # Many numbers have touching or overlapping digits: those are the pieces
    # the reader most needs judged (a '1' leaning into its neighbour).
    gap = (float(rng.uniform(-0.15, 0.0)), float(rng.uniform(0.0, 0.45)))
    number = synthetic.compose_number(x[index], rng, height, gap, varied=True)
    return number, "".join(str(int(v)) for v in y[index])


def make_examples(
    x: np.ndarray,
    y: np.ndarray,
    classify: reading.Classifier,
    numbers: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Verifier training data: every piece the reader weighs, in ``numbers`` composed numbers.

    Args:
        x, y: MNIST digits (uint8 ``(N, 28, 28)``) and labels to compose from.
        classify: The digit classifier the reader runs with.
        numbers: How many numbers to compose.
        rng: Source of everything random.

    Returns:
        ``inputs`` float32 ``(M, 28, 28, 2)`` and ``labels`` float32 ``(M,)``
        (1 = one whole digit).
    """
    inputs, labels = [], []
    for _ in range(numbers):
        number, _ = random_number(x, y, rng)
        record: list = []
        try:
            reading.read_number_recorded(
                number.image, classify, None, reading.WEIGHTS_WITHOUT_VERIFIER, record
            )
        except ImageError:
            continue
        for crops, contexts in record:
            for crop, context in zip(crops, contexts, strict=True):
                inputs.append(np.stack([crop.image28, context], axis=-1))
                labels.append(is_whole_digit((crop.box[0], crop.box[2]), number.spans))
    if not inputs:
        return np.zeros((0, *INPUT_SHAPE), np.float32), np.zeros(0, np.float32)
    return np.stack(inputs).astype(np.float32), np.asarray(labels, np.float32)


class Verifier:
    """A loaded segment verifier and the reader's score weights chosen with it.

    Calling it maps float32 ``(N, 28, 28, 2)`` inputs to ``(N,)`` probabilities
    that each is one whole digit; pass it as ``verify`` to
    :func:`mnist_cnn.reading.read_number`.
    """

    def __init__(self, model, weights: reading.ScoreWeights, path: Path | None = None) -> None:
        from .inference import _compile_forward

        self.model = model
        self.weights = weights
        self.path = path
        self._forward = _compile_forward(model, INPUT_SHAPE)

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> Verifier:
        """Load a verifier (default: the packaged one) and the weights saved beside it.

        Raises:
            ModelError: the file is missing or not a Keras model.
        """
        from .inference import load_keras_file

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
