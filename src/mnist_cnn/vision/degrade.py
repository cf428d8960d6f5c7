"""What real inputs become after normalisation, drawn at random: training data for robustness.

A digit that reaches the model from a scan or a phone has been through
things MNIST's writers' digits never were: stretched to fill a square frame
(the aspect ratio lost, in either direction), thresholded to 1 bit, shrunk to
8-18 pixels and blown up again (blurry or blocky), drawn with a hairline or a
fat marker. :func:`degrade` applies a random mix of these to an MNIST digit
and normalises the result exactly as :mod:`mnist_cnn.vision.baseline` does at
inference, so the model trains on what it will be shown. The ranges are
wider than the stress corpus's (:mod:`mnist_cnn.vision.variants`), so the
corpus is not simply re-drawn from the training distribution.

Example:
    >>> rng = np.random.default_rng(0)
    >>> x = degrade_batch(x_train[:100], rng)  # doctest: +SKIP
    >>> x.shape, x.dtype
    ((100, 28, 28), dtype('float32'))
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from .baseline import plain_to_mnist
from .variants import ink_box_crop

__all__ = ["add_flag", "degrade", "degrade_batch"]

_FILTERS = (Image.NEAREST, Image.BILINEAR, Image.BICUBIC)


def _resize(ink: np.ndarray, width: int, height: int, resample: int) -> np.ndarray:
    image = Image.fromarray(np.ascontiguousarray(ink, np.float32), mode="F")
    return np.clip(np.asarray(image.resize((width, height), resample), np.float32), 0.0, 1.0)


def _disk(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return yy**2 + xx**2 <= radius**2 + 0.5


def add_flag(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A '1' given a flag: a stroke from the top of its stem down to the left.

    Many writers outside the US write '1' so (and cross their '7'); MNIST's
    writers rarely did, and a model trained on it reads a flagged '1'
    stretched to a square frame as a '7'. The flag is 25-50 % of the digit's
    height long, 20-60 degrees below the horizontal, as thick as the stem
    (ink area over height), drawn 4x larger and area-averaged down.

    Args:
        digit: uint8 ``(28, 28)`` MNIST '1', white on black.
        rng: Random generator.

    Returns:
        uint8 ``(28, 28)``: the digit with its flag (unchanged if it has no ink).
    """
    digit = np.asarray(digit, np.uint8)
    mask = digit > 127
    rows = np.flatnonzero(mask.any(axis=1))
    if not len(rows):
        return digit
    top, height = int(rows[0]), int(rows[-1] - rows[0] + 1)
    x0 = float(np.flatnonzero(mask[top]).mean()) + 0.5
    width = float(np.clip(mask.sum() / height, 1.5, 4.0))
    angle = np.deg2rad(rng.uniform(20.0, 60.0))
    length = rng.uniform(0.25, 0.5) * height
    dx, dy = length * np.cos(angle), length * np.sin(angle)
    if x0 - dx < 1.0:  # keep the flag inside the frame
        dx, dy = (x0 - 1.0), (x0 - 1.0) * np.tan(angle)
    side = 4 * digit.shape[0]
    flag = Image.new("L", (side, side), 0)
    start = (4 * x0, 4 * (top + 0.5))
    end = (4 * (x0 - dx), 4 * (top + 0.5 + dy))
    ImageDraw.Draw(flag).line([start, end], fill=255, width=max(1, round(4 * width)))
    small = np.asarray(flag.resize(digit.shape[::-1], Image.BOX), np.uint8)
    return np.maximum(digit, small)


def degrade(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One MNIST digit through a random mix of real-input degradations, normalised to 28x28.

    At least one of these is applied, each otherwise with its own probability:
    an aspect change (fully stretched to a square, or a random factor of
    0.55-1.8 on the width), a stroke-width change (hairline to very bold),
    down-and-up sampling through 7-18 px (nearest, bilinear or bicubic back
    up), and 1-bit thresholding (at 0.3-0.65).

    Args:
        digit: uint8 ``(28, 28)`` MNIST digit, white on black.
        rng: Random generator.

    Returns:
        float32 ``(28, 28)`` in [0, 1], white on black, normalised as the
        plain recipe normalises a real image.
    """
    ink = ink_box_crop(np.asarray(digit, np.uint8), level=25)
    height, width = ink.shape
    # Work at a scanner-like resolution, 3-5x MNIST's.
    scale = float(rng.uniform(3.0, 5.0))
    ink = _resize(ink, max(2, round(width * scale)), max(2, round(height * scale)), Image.BICUBIC)

    chosen = rng.random(4) < (0.45, 0.35, 0.45, 0.35)
    if not chosen.any():
        chosen[rng.integers(4)] = True
    stretch, stroke, low_res, one_bit = chosen
    if stretch:
        height, width = ink.shape
        if rng.random() < 0.6:
            side = max(height, width)
            new_w, new_h = side, side
        else:
            new_w, new_h = max(2, round(width * rng.uniform(0.55, 1.8))), height
        ink = _resize(ink, new_w, new_h, Image.BICUBIC)
    if stroke:
        radius = int(rng.integers(1, 5))
        if rng.random() < 0.65:
            ink = ndi.grey_dilation(np.pad(ink, radius), footprint=_disk(radius))
        else:
            thinned = ndi.grey_erosion(ink, footprint=_disk(min(radius, 2)))
            ink = np.maximum(thinned, 0.35 * ink)
    if low_res:
        height, width = ink.shape
        side = int(rng.integers(7, 19))
        if rng.random() < 0.5:  # stretched to a square source
            small_w, small_h = side, side
        else:
            factor = side / max(height, width)
            small_w, small_h = max(2, round(width * factor)), max(2, round(height * factor))
        small = _resize(ink, small_w, small_h, Image.BOX)
        up = float(rng.uniform(4.0, 8.0))
        resample = _FILTERS[int(rng.integers(len(_FILTERS)))]
        ink = _resize(small, max(2, round(small_w * up)), max(2, round(small_h * up)), resample)
    if one_bit:
        ink = (ink > rng.uniform(0.3, 0.65)).astype(np.float32)
    if not (ink > 0.5).any():
        return plain_to_mnist(1.0 - np.asarray(digit, np.float32) / 255.0, dark_ink=True)
    # The frame is the digit's own box, as in a cut-out scan.
    return plain_to_mnist(1.0 - ink, dark_ink=True)


def degrade_batch(digits: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """:func:`degrade` over ``(N, 28, 28)`` uint8 digits; returns float32 ``(N, 28, 28)``."""
    return np.stack([degrade(d, rng) for d in np.asarray(digits)]).astype(np.float32)
