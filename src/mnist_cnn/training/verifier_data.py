"""Training data for the segment verifier: every piece the reader weighs, labelled.

Numbers are composed from MNIST *training* digits (:mod:`mnist_cnn.data.synthetic`);
every candidate piece the reader (:func:`mnist_cnn.vision.reading.read_number`)
considers is labelled whole or not by comparing its columns with where each
digit really lies. ``benchmarks/train_verifier.py`` trains
:func:`mnist_cnn.models.verifier.build_verifier` on it. Imports numpy and
:mod:`mnist_cnn.vision` only: no Keras.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data import synthetic
from ..errors import ImageError
from ..models.verifier import INPUT_SHAPE
from ..vision import reading

__all__ = ["is_whole_digit", "make_examples", "random_number"]


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
