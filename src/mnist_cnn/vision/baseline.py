"""LeCun's normalisation, and nothing more: the floor for every cleverer step.

MNIST itself was made this way: the ink is found with one global threshold,
cropped, its longer side scaled to 20 px with anti-aliasing, pasted into
28x28 and shifted so its centre of mass sits at the centre. On the cut-out
scans people send (digit touching the frame, 1-bit, low resolution) this
plain recipe reads better than anything that first models the page; the
real-image pipeline in :mod:`mnist_cnn.preprocess` keeps it as one of its
candidate readings and must beat it, kind by kind, to use anything else.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

__all__ = [
    "dark_ink_by_frame",
    "polarity_from_frame",
    "otsu_threshold",
    "plain_ink",
    "plain_to_mnist",
    "fit_mnist",
]

MNIST_SIZE = 28
MNIST_BOX = 20
MNIST_CENTRE = 14.0


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of ``values`` (any shape, finite); the upper class is ``> threshold``."""
    values = np.asarray(values, np.float64).ravel()
    low, high = float(values.min()), float(values.max())
    if high - low < 1e-6:
        return low - 1e-6
    hist, edges = np.histogram(values, bins=bins, range=(low, high))
    centres = (edges[:-1] + edges[1:]) / 2
    weight0 = np.cumsum(hist)
    weight1 = weight0[-1] - weight0
    sum0 = np.cumsum(hist * centres)
    mean0 = sum0 / np.maximum(weight0, 1)
    mean1 = (sum0[-1] - sum0) / np.maximum(weight1, 1)
    between = weight0 * weight1 * (mean0 - mean1) ** 2
    return float(edges[int(np.argmax(between[:-1])) + 1])


def polarity_from_frame(light: np.ndarray) -> bool | None:
    """The polarity the frame shows: True (dark ink) when at least 70 % of the border is
    light, False when at most 30 % is, ``None`` when the frame does not tell.

    Args:
        light: bool ``(H, W)``, the pixels above the threshold.
    """
    border = np.concatenate([light[0], light[-1], light[1:-1, 0], light[1:-1, -1]])
    light_border = float(border.mean())
    if light_border >= 0.7:
        return True
    if light_border <= 0.3:
        return False
    return None


def dark_ink_by_frame(light: np.ndarray) -> bool:
    """Decide the polarity of a thresholded image: True when the ink is the dark class.

    The frame decides when it clearly can (:func:`polarity_from_frame`), since
    a bold digit may cover more than half of a small canvas while still
    touching the border only here and there. Otherwise the minority class is
    ink, and a tie goes to dark ink (paper is usually light).

    Args:
        light: bool ``(H, W)``, the pixels above the threshold.
    """
    decided = polarity_from_frame(light)
    return bool(light.mean() >= 0.5) if decided is None else decided


def plain_ink(
    gray: np.ndarray, min_fraction: float = 0.02, dark_ink: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ink of a grayscale image by one global Otsu threshold.

    Args:
        gray: float ``(H, W)`` in [0, 1], 1 = white.
        min_fraction: Components smaller than this fraction of the largest are dropped.
        dark_ink: The polarity, if known; otherwise :func:`dark_ink_by_frame` decides.

    Returns:
        ``(ink, mask)``: float32 ink in [0, 1] (1 = strongest ink, 0 = the
        background level, everything outside the kept components zeroed) and
        the bool mask of the kept components. Both all zero for a flat image.
    """
    gray = np.asarray(gray, np.float32)
    threshold = otsu_threshold(gray)
    light = gray > threshold
    if dark_ink is None:
        dark_ink = dark_ink_by_frame(light)
    mask = ~light if dark_ink else light
    level = 1.0 - gray if dark_ink else gray
    if not mask.any() or mask.all():
        empty = np.zeros(gray.shape, np.float32)
        return empty, np.zeros(gray.shape, bool)
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    areas = np.bincount(labels.ravel())[1:]
    keep = np.flatnonzero(areas >= min_fraction * areas.max()) + 1
    mask = np.isin(labels, keep)
    background = float(np.median(level[~mask])) if (~mask).any() else float(level.min())
    peak = float(level[mask].max())
    ink = np.clip((level - background) / max(peak - background, 1e-6), 0.0, 1.0)
    # Keep the anti-aliased fringe of the kept strokes (one pixel), nothing else.
    near = ndi.binary_dilation(mask, structure=np.ones((3, 3), bool))
    return np.where(near, ink, 0.0).astype(np.float32), mask


def fit_mnist(ink: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Crop ``ink`` to ``mask`` (or to its non-zero pixels), fit the longer side to 20 px
    (Lanczos), paste into 28x28 and move the centre of mass to the centre.

    Returns:
        float32 ``(28, 28)`` in [0, 1]; all zero when there is no ink.
    """
    ink = np.asarray(ink, np.float32)
    where = mask if mask is not None else ink > 0
    rows = np.flatnonzero(where.any(axis=1))
    cols = np.flatnonzero(where.any(axis=0))
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    if rows.size == 0:
        return out
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    height, width = crop.shape
    factor = MNIST_BOX / max(height, width)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = Image.fromarray(np.ascontiguousarray(crop), mode="F").resize(size, Image.LANCZOS)
    small = np.clip(np.asarray(small, np.float32), 0.0, 1.0)
    peak = float(small.max())
    if peak <= 0:
        return out
    small /= peak
    cy, cx = ndi.center_of_mass(small)
    top = int(np.clip(round(MNIST_CENTRE - cy), 0, MNIST_SIZE - size[1]))
    left = int(np.clip(round(MNIST_CENTRE - cx), 0, MNIST_SIZE - size[0]))
    out[top : top + size[1], left : left + size[0]] = small
    return out


def plain_to_mnist(gray: np.ndarray, dark_ink: bool | None = None) -> np.ndarray:
    """The whole plain recipe: :func:`plain_ink`, then :func:`fit_mnist`.

    Args:
        gray: float ``(H, W)`` in [0, 1], 1 = white (see
            :func:`mnist_cnn.preprocess.load_image`).
        dark_ink: The polarity, if known.

    Returns:
        float32 ``(28, 28)`` in [0, 1], white digit on black; all zero when
        the image is flat.
    """
    ink, mask = plain_ink(gray, dark_ink=dark_ink)
    return fit_mnist(ink, mask)
