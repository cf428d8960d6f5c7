"""Was a picture blown up from a few pixels? The source resolution of a digit image.

Some collections of handwriting keep each digit at 8x8 or 16x16 pixels
(UCI's optical digits, mfeat's 16x15, old postal scans); what people send of
them is that grid enlarged, smoothly (bilinear) or blockily (nearest
neighbour). Such a picture holds no more than its source: shrunk back to
:data:`SMALL_SOURCE` pixels along its longer side and enlarged again, it is
nearly the same picture. A photo, a scan or a drawing at any working
resolution is not (MNIST's own 28x28 digits are too small a frame to ask:
the frame must be at least :data:`MIN_UPSCALE` times the source).

The packaged models use the answer to pick a classifier (see
:class:`mnist_cnn.inference.Predictor`): one that has also been trained on
real 8x8 writers reads these pictures better than the default model, which
keeps MNIST's own digits.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["SMALL_SOURCE", "upscale_error", "upscaled_from_small"]

#: Longer side, in pixels, of the largest source called small.
SMALL_SOURCE = 16
#: The picture must be at least this many times the source's size.
MIN_UPSCALE = 2.0
#: Largest mean difference between the picture and its round trip through
#: SMALL_SOURCE pixels, as a fraction of the mean difference of its pixels from
#: the ground's (median) tone, for a picture blown up from a small source.
#: Chosen on the UCI digits looked at (8x8 blown up bilinear: 0.08 at the
#: 90th percentile; nearest: 0.0) and mfeat's looked at (16x15 bilinear:
#: 0.10 median, 0.13 at the 90th percentile), against held-out MNIST training
#: digits in every kind of the stress corpus and the drawn digits: besides
#: the kinds shrunk to 8 or 16 px, at most 14 % of a kind is called small (the
#: 16-px-like cut-outs: stretched, 16 px scans, 1-bit), 1 % of the photos in
#: uneven light, none of the other photos.
MAX_UPSCALE_ERROR = 0.12
#: Below this mean difference from the ground (a blank picture) nothing is small.
_MIN_SIGNAL = 0.01
#: Larger pictures are first box-shrunk to this longer side (a picture blown
#: up from 16 px stays one; a 12-megapixel photo costs 10 ms, not 400).
_MAX_SIDE = 512


def upscale_error(gray: np.ndarray, source: int = SMALL_SOURCE) -> float | None:
    """How far ``gray`` is from its round trip through ``source`` pixels.

    The picture is shrunk (box filter) to ``source`` pixels along its longer
    side and enlarged back, bilinear and nearest neighbour; the smaller mean
    absolute difference is returned as a fraction of the picture's mean
    difference from its median tone.

    Args:
        gray: Grayscale image, float in [0, 1].
        source: The source's longer side, in pixels.

    Returns:
        The relative error, or ``None`` when the picture is less than
        :data:`MIN_UPSCALE` times ``source`` or blank.
    """
    picture = Image.fromarray(np.asarray(gray, np.float32))
    if max(picture.size) > _MAX_SIDE:
        shrink = _MAX_SIDE / max(picture.size)
        picture = picture.resize(
            (max(1, round(picture.width * shrink)), max(1, round(picture.height * shrink))),
            Image.BOX,
        )
    gray = np.asarray(picture)
    height, width = gray.shape
    factor = max(height, width) / source
    signal = float(np.mean(np.abs(gray - np.median(gray))))
    if factor < MIN_UPSCALE or signal < _MIN_SIGNAL:
        return None
    small = picture.resize(
        (max(1, round(width / factor)), max(1, round(height / factor))), Image.BOX
    )
    error = min(
        float(np.mean(np.abs(gray - np.asarray(small.resize((width, height), resample)))))
        for resample in (Image.BILINEAR, Image.NEAREST)
    )
    return error / signal


def upscaled_from_small(gray: np.ndarray) -> bool:
    """True when ``gray`` is a picture blown up from at most :data:`SMALL_SOURCE`
    pixels (see :func:`upscale_error` and :data:`MAX_UPSCALE_ERROR`)."""
    error = upscale_error(gray)
    return error is not None and error <= MAX_UPSCALE_ERROR
