"""Synthetic handwritten numbers composed from MNIST digits.

Used to test and benchmark :mod:`mnist_cnn.reading`, and to train the
segment verifier (:mod:`mnist_cnn.verifier`). Each digit is scaled up, laid
left to right with a random gap (negative gaps make neighbours overlap), and
drawn as dark ink on slightly noisy grey paper. The returned spans say where
each digit's ink lies, so a reader's boxes can be checked against them.

Example:
    >>> rng = np.random.default_rng(0)
    >>> number = compose_number(x_test[:4], rng)  # doctest: +SKIP
    >>> number.image.shape, number.spans[0]  # doctest: +SKIP
    ((128, 300), (64, 101))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

__all__ = ["ComposedNumber", "compose_number", "digit_ink"]


@dataclass(frozen=True)
class ComposedNumber:
    """A composed number.

    Attributes:
        image: uint8 ``(H, W)`` grayscale, dark ink on light paper.
        spans: ``(x0, x1)`` per digit, left to right: the columns of its ink,
            end exclusive, in ``image`` pixels.
        height: The height each 28x28 MNIST digit box was scaled to; the ink
            itself is about 0.7 of it.
    """

    image: np.ndarray
    spans: list[tuple[int, int]]
    height: int


def digit_ink(digit: np.ndarray, height: int) -> np.ndarray:
    """An MNIST digit as ink in [0, 1], ``height`` px tall, cropped to its columns of ink."""
    image = Image.fromarray(np.asarray(digit, dtype=np.uint8)).resize(
        (height, height), Image.BICUBIC
    )
    ink = np.clip(np.asarray(image, dtype=np.float32) / 255.0, 0.0, 1.0)
    cols = np.flatnonzero(ink.max(axis=0) > 0.05)
    return ink[:, cols[0] : cols[-1] + 1]


def compose_number(
    digits: np.ndarray,
    rng: np.random.Generator,
    height: int = 64,
    gap: tuple[float, float] = (-0.06, 0.4),
    *,
    varied: bool = False,
) -> ComposedNumber:
    """Lay MNIST digits left to right on paper.

    Args:
        digits: ``(N, 28, 28)`` uint8 MNIST digits.
        rng: Source of the gaps, jitter and paper noise.
        height: Pixels per 28x28 digit box.
        gap: Range of the gaps between neighbours, as fractions of ``height``
            (negative: overlap).
        varied: Also vary each digit's size (0.85-1.1x), the whole number's
            stroke width (thinner or thicker pen) and the ink's darkness, as
            different writers and pens do.

    Returns:
        The image and each digit's span.
    """
    scales = rng.uniform(0.85, 1.1, len(digits)) if varied else np.ones(len(digits))
    inks = [
        digit_ink(d, max(8, int(round(height * s)))) for d, s in zip(digits, scales, strict=True)
    ]
    gaps = [int(round(rng.uniform(*gap) * height)) for _ in inks[1:]]
    width = sum(i.shape[1] for i in inks) + sum(gaps) + 2 * height
    canvas = np.zeros((2 * height, max(width, 2 * height)), np.float32)
    x = height
    spans = []
    for k, ink in enumerate(inks):
        y = height // 2 + int(rng.integers(-height // 10, height // 10 + 1))
        y = min(y + (height - ink.shape[0]) // 2, canvas.shape[0] - ink.shape[0])
        region = canvas[y : y + ink.shape[0], x : x + ink.shape[1]]
        np.maximum(region, ink, out=region)
        spans.append((x, x + ink.shape[1]))
        x += ink.shape[1] + (gaps[k] if k < len(gaps) else 0)
    ink_level = 0.1
    if varied:
        pen = rng.choice(["thin", "same", "thick"], p=[0.25, 0.5, 0.25])
        size = max(3, int(round(height / 20)))
        if pen == "thin":
            canvas = ndi.grey_erosion(canvas, size=(size, size)) * 0.5 + canvas * 0.5
        elif pen == "thick":
            canvas = ndi.grey_dilation(canvas, size=(size, size))
        ink_level = float(rng.uniform(0.05, 0.45))
    paper = 0.9 + 0.02 * rng.standard_normal(canvas.shape)
    gray = paper * (1.0 - canvas) + ink_level * canvas
    image = (np.clip(gray, 0, 1) * 255 + 0.5).astype(np.uint8)
    return ComposedNumber(image=image, spans=spans, height=height)
