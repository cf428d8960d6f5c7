"""The page reading's ink analysis: paper modelled first, then the ink found.

:func:`analyse_ink` decides the polarity from which side of the background
the strong outliers lie, paints a dark desk around the page in the paper's
tone, divides out a coarse background estimate (uneven light, shadows),
thresholds with Otsu's method on the pixels that stand out from the noise
(so grid and ruling lines fall below it), adds faint strokes and labels the
components. :func:`ink_to_mnist` fits one digit's ink into 28x28 the MNIST
way, with its stroke width brought into MNIST's range. Used by
:mod:`mnist_cnn.vision.normalise` where a page is involved, and by
:mod:`mnist_cnn.vision.reading` for whole numbers. Imports numpy, scipy and
Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from scipy.spatial import ConvexHull, QhullError

from ..errors import ImageError
from . import baseline
from .loading import ImageSource, load_image, source_name

__all__ = [
    "MNIST_SIZE",
    "Component",
    "InkMap",
    "analyse_ink",
    "blank_error",
    "box_gap",
    "digit_zone",
    "find_components",
    "find_ink",
    "has_ink",
    "ink_to_mnist",
    "long_runs",
    "resize",
    "robust_sigma",
    "select_digit",
    "measure_stroke_width",
    "to_working_scale",
]

MNIST_SIZE = 28
MNIST_BOX = 20
# Index coordinates of the centre of mass of MNIST digits (measured: 14.0 +/- 0.3
# on both axes, i.e. MNIST shifted by whole pixels towards (14, 14)).
MNIST_CENTRE = 14.0
# Median stroke width of MNIST digits, full width at half maximum, in 28x28
# pixels (measured on the test set: 10th-90th percentile 1.9-3.7).
MNIST_STROKE = 2.5

# The analysis runs at a resolution whose longer side lies in this range:
# large photos are shrunk (area averaging keeps thin strokes as grey), tiny
# inputs such as 28x28 digits are enlarged so morphology has room to work.
_WORK_MAX_SIDE = 1200
_WORK_MIN_SIDE = 112
# Window (coarse cells) of the first background estimate.
_BACKGROUND_WINDOW = 11
# Strokes are brought within this range of MNIST's width (ratios) before shrinking.
_STROKE_MIN = 0.85
_STROKE_MAX = 1.5
# Ink levels start this fraction of the threshold above the background.
_LOW_FRACTION = 0.3
# _above_ruling's second cut must keep this fraction of the writing's ink and
# leave at most this fraction of the lines' pixels. Chosen on training digits:
# at 0.5 a boxed amount's faint '2' was cut away (1 of 200); at 0.7 no amount
# changed and notebook digits read as at 0.5.
_KEPT_ABOVE_RULING = 0.7
_LINES_LEFT = 0.2
# Ruled paper (_erase_ruling): a row is on a ruling line where the mask covers
# this fraction of the page's width; at least _MIN_RULINGS such lines, evenly
# spaced (each gap within _EVEN_SPACING of a whole number of the smallest),
# thinner than the writing's strokes by _RULING_THINNER.
_RULED_COVER = 0.25
_MIN_RULINGS = 3
_EVEN_SPACING = 0.15
_RULING_THINNER = 0.6
# select_digit leaves out pieces at least this many times longer than thick
# and thinner than the digit's stroke by _RULING_THINNER: the bits of ruling
# or grid lines that erasure missed (in a shadow, beyond the margin), which
# would otherwise chain out from the digit and join it.
_LINE_PIECE_LENGTH = 4
# Ink level that counts towards a digit's bounding box.
_BOX_LEVEL = 0.15
# The paper beside a desk fills at least this fraction of its convex hull.
_MIN_PAPER_SOLIDITY = 0.95
# At most this fraction of what lies outside the paper may be bright ground.
_MAX_GROUND_OUTSIDE = 0.1


@dataclass(frozen=True)
class InkMap:
    """Where the ink is, at the working resolution. Produced by :func:`analyse_ink`.

    Attributes:
        gray: The input in grayscale, float32 ``(H, W)`` in [0, 1], 1 = white,
            at its original resolution.
        ink: Flattened, contrast-normalised ink, float32 ``(h, w)`` in [0, 1]
            at the working resolution (1 = full ink, 0 = background), with
            the anti-aliased grey levels kept.
        mask: Binarised ink, bool ``(h, w)``.
        labels: Connected components of ``mask`` (8-connectivity), int32
            ``(h, w)``, 0 = background.
        count: Number of components in ``labels``.
        scale: Working pixels per original pixel (``h / H``).
        inverted: True when the input had dark ink on a light background
            (and was inverted to MNIST's white on black).
        stroke_width: Median stroke width of the ink, in working pixels.
        contrast: Ink level above the background before normalisation, in
            [0, 1] gray levels; low values mean faint ink.
        noise: Robust standard deviation of the background, in gray levels.
        reach: How far (working pixels) anti-aliased edges reach beyond ``mask``.
        outside_paper: True when a desk or dark margin around the page was
            found and painted over in the paper's tone.
        turn: How ``gray`` was turned from the input (:func:`turn`), so that
            boxes map back to the input's pixels; ``None`` if it was not.
    """

    gray: np.ndarray
    ink: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    count: int
    scale: float
    inverted: bool
    stroke_width: float
    contrast: float
    noise: float
    reach: float
    outside_paper: bool = False
    turn: Turn | None = None

    def to_original(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """Map a working-resolution box ``(x0, y0, x1, y1)`` (end exclusive) to the input's."""
        height, width = self.gray.shape
        x0, y0, x1, y1 = box
        box = (
            max(0, int(np.floor(x0 / self.scale))),
            max(0, int(np.floor(y0 / self.scale))),
            min(width, int(np.ceil(x1 / self.scale))),
            min(height, int(np.ceil(y1 / self.scale))),
        )
        return box if self.turn is None else self.turn.to_input(box)


class Turn(NamedTuple):
    """A rotation of an image by :func:`turn`: where each of its pixels came from.

    A pixel ``(y, x)`` of the turned image shows the input at
    ``matrix @ (y, x) + offset``; ``shape`` is the input's ``(H, W)``.
    """

    matrix: np.ndarray
    offset: np.ndarray
    shape: tuple[int, int]

    def to_input(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """The input's box ``(x0, y0, x1, y1)`` around a box of the turned image."""
        x0, y0, x1, y1 = box
        corners = np.array([(y, x) for y in (y0, y1) for x in (x0, x1)], np.float64)
        ys, xs = (corners @ self.matrix.T + self.offset).T
        height, width = self.shape
        return (
            max(0, int(np.floor(xs.min()))),
            max(0, int(np.floor(ys.min()))),
            min(width, int(np.ceil(xs.max()))),
            min(height, int(np.ceil(ys.max()))),
        )


def turn(gray: np.ndarray, degrees: float) -> tuple[np.ndarray, Turn]:
    """``gray`` turned clockwise (as shown) by ``degrees`` on a canvas that holds all of it.

    The corners the input does not cover repeat its nearest edge, so no new
    edge (a desk, a page border) appears there.
    """
    theta = np.radians(degrees)
    cos, sin = abs(np.cos(theta)), abs(np.sin(theta))
    height, width = gray.shape
    shape = (int(np.ceil(width * sin + height * cos)), int(np.ceil(width * cos + height * sin)))
    matrix = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    centre_in = (np.array([height, width], np.float64) - 1) / 2
    centre_out = (np.array(shape, np.float64) - 1) / 2
    offset = centre_in - matrix @ centre_out
    turned = ndi.affine_transform(
        np.asarray(gray, np.float32), matrix, offset=offset, output_shape=shape, order=1,
        mode="nearest",
    )  # fmt: skip
    return turned, Turn(matrix, offset, (height, width))


# --------------------------------------------------------------------------- finding ink


def resize(image: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """Resize a float image to ``size = (width, height)`` with Pillow (mode F)."""
    result = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F").resize(
        size, resample
    )
    return np.asarray(result, dtype=np.float32)


def long_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """The pixels of ``mask`` in horizontal runs of at least ``length`` pixels.

    The same pixels as a binary opening with a ``(1, length)`` structuring
    element, in time linear in the image's size instead of proportional to
    ``length`` as well (a line across a 1200 px page: 20 ms, not 450).
    Vertical runs: ``long_runs(mask.T, length).T``.
    """
    return run_lengths(mask) >= max(length, 1)


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """The length of the horizontal run of ``mask`` each pixel is in (0 off the mask).

    Vertical runs: ``run_lengths(mask.T).T``.
    """
    height, width = mask.shape
    padded = np.zeros((height, width + 2), np.int8)
    padded[:, 1:-1] = mask
    steps = np.diff(padded.ravel())
    starts = np.flatnonzero(steps == 1)  # a run covers starts + 1 .. ends (flat indices)
    ends = np.flatnonzero(steps == -1)
    fill = np.zeros(padded.size + 1, np.int64)
    fill[starts + 1] += ends - starts
    fill[ends + 1] -= ends - starts
    return np.cumsum(fill[:-1]).reshape(height, width + 2)[:, 1:-1]


def _ruling_rows(
    mask: np.ndarray, across: np.ndarray, stroke: float, least: int
) -> tuple[np.ndarray, int] | None:
    """The rows of ``mask`` on ruling lines and the lines' thickness, or ``None``.

    ``across`` holds each pixel's vertical run length (:func:`run_lengths` of
    ``mask.T``, transposed back).

    A ruling line is a band of rows each covered over :data:`_RULED_COVER` of
    the width by pixels in vertical runs thinner than ``stroke`` (the
    writing's) by :data:`_RULING_THINNER` (so a digit's bar lying along a
    line neither counts nor thickens it); ``least`` of them are needed,
    evenly spaced when there are several (a gap of two lines where the shadow
    dropped one).
    """
    thin = mask & (across <= _RULING_THINNER * stroke)
    rows = thin.mean(axis=1) >= _RULED_COVER
    labels, count = ndi.label(rows)
    if count < least:
        return None
    bands = [s[0] for s in ndi.find_objects(labels)]
    lines = [b for b in bands if b.stop - b.start <= _RULING_THINNER * stroke]
    if len(lines) < least:
        return None
    if len(lines) > 1:
        gaps = np.diff([(b.start + b.stop) / 2 for b in lines])
        multiples = gaps / max(gaps.min(), 1.0)
        if np.abs(multiples - np.round(multiples)).max() > _EVEN_SPACING:
            return None
    on_line = np.zeros(len(rows), bool)
    for band in lines:
        on_line[max(0, band.start - 1) : band.stop + 1] = True
    return on_line, max(b.stop - b.start for b in lines)


def _erase_ruling(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` that are ruled paper's lines, not writing.

    Ruled paper photographed in uneven light keeps lines (or, where the
    shadow dims them, pieces of lines) in the ink mask beside a small digit,
    joined to it by the margin line. As in staff-line removal for printed
    music: on rows where evenly spaced thin lines run across the page
    (:func:`_ruling_rows`), pixels whose vertical run is no longer than a
    line is thick are the line's; a stroke crossing a line keeps its pixels
    there (its run is longer). Then, on ruled paper, a thin column
    covering the page's height (a margin line) is erased the same way.
    """
    # The writing's stroke width, without the rows and columns lines may run along.
    covered_rows = ndi.binary_dilation(mask.mean(axis=1) >= _RULED_COVER)
    covered_columns = ndi.binary_dilation(mask.mean(axis=0) >= _RULED_COVER)
    writing = mask & ~covered_rows[:, None] & ~covered_columns[None, :]
    if not writing.any():
        return np.zeros_like(mask)
    stroke = measure_stroke_width(writing)
    across = run_lengths(mask.T).T  # each pixel's vertical run
    found = _ruling_rows(mask, across, stroke, _MIN_RULINGS)
    if found is None:
        return np.zeros_like(mask)
    rows, thickness = found
    erase = rows[:, None] & mask & (across <= thickness + 1)
    left = mask & ~erase
    along = run_lengths(left)  # each remaining pixel's horizontal run
    margin = _ruling_rows(left.T, along.T, stroke, 1)
    if margin is not None:
        columns, width = margin
        erase |= columns[None, :] & left & (along <= width + 1)
    return erase


def to_working_scale(gray: np.ndarray) -> tuple[np.ndarray, float]:
    height, width = gray.shape
    longer = max(height, width)
    if longer > _WORK_MAX_SIDE:
        scale = _WORK_MAX_SIDE / longer
        resample = Image.BOX  # area averaging: thin strokes survive as grey
    elif longer < _WORK_MIN_SIDE:
        scale = float(np.ceil(_WORK_MIN_SIDE / longer))
        resample = Image.BILINEAR
    else:
        return gray, 1.0
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    work = resize(gray, size, resample)
    return np.clip(work, 0.0, 1.0), size[1] / height


def _coarse_filter(image: np.ndarray, cells: int, percentile: float, window: int) -> np.ndarray:
    """A rank filter over a large neighbourhood, computed cheaply on a coarse grid.

    The image is area-averaged down to about ``cells`` cells on its shorter
    side, filtered with a ``window`` x ``window`` percentile filter there, and
    brought back to full size with bilinear interpolation (the background is
    smooth, so nothing is lost).
    """
    height, width = image.shape
    step = max(1.0, min(height, width) / cells)
    small_size = (max(1, round(width / step)), max(1, round(height / step)))
    small = resize(image, small_size, Image.BOX)
    size = min(window, 2 * (min(small.shape) // 2) + 1) if min(small.shape) > 2 else 1
    if size > 1:
        small = ndi.percentile_filter(small, percentile, size=size, mode="reflect")
        small = ndi.uniform_filter(small, size=3, mode="nearest")
    return resize(small, (width, height), Image.BILINEAR)


def robust_sigma(values: np.ndarray) -> float:
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def _ink_is_dark(work: np.ndarray) -> bool:
    """Decide the polarity: True for dark ink on a light background.

    The background is whatever most pixels look like locally (a coarse median
    filter follows uneven lighting). Ink is the strong outliers from it; the
    side (darker or lighter) holding more outlier mass is the ink. This does
    not look at the image border, so a tightly cropped digit whose strokes
    touch the edge keeps its polarity, and a bold digit covering much of the
    picture is still judged by its strokes' contrast, not by the mean.
    """
    background = _coarse_filter(work, cells=24, percentile=50, window=9)
    residual = work - background
    sigma = max(robust_sigma(residual), 0.01)
    dark = np.maximum(-residual - 3.0 * sigma, 0.0).sum()
    light = np.maximum(residual - 3.0 * sigma, 0.0).sum()
    if dark == light:
        # No outliers at all (e.g. a two-level image split exactly in half):
        # fall back to the border, which is mostly background.
        border = np.concatenate([work[0], work[-1], work[:, 0], work[:, -1]])
        return bool(np.median(border) >= np.median(work))
    return bool(dark > light)


def _mask_outside_paper(work: np.ndarray) -> tuple[np.ndarray, bool]:
    """Paint what lies around the page (a dark desk, a shadowed margin) in the paper's tone.

    A phone photo of a page often shows the table beside it. Next to the
    paper it contrasts like ink, and its edge would be taken for a stroke.
    At a coarse scale, where strokes vanish, the paper is the largest bright
    region; when the rest is much darker (under 45 % of the paper's
    brightness, darker than shadows usually make it) and covers at least 15 %
    of the picture's rim, the paper is convex (a page, not the ground
    between the strokes of a tightly cropped digit) and little bright ground
    lies beyond it (a desk is dark; a '7's bar along the top of a cut-out
    leaves ground on both sides of its stem), everything outside the
    paper (its holes filled, so the writing stays inside) takes the paper's
    median brightness.
    """
    height, width = work.shape
    step = max(1.0, min(height, width) / 48)
    small = resize(work, (max(1, round(width / step)), max(1, round(height / step))), Image.BOX)
    threshold = _otsu(small.ravel())
    bright = small > threshold
    if not bright.any() or bright.all():
        return work, False
    # A shadow dims the paper by a factor; a desk or a dark margin is another
    # material, far darker than the paper.
    if float(small[~bright].mean()) > 0.45 * float(small[bright].mean()):
        return work, False
    # A desk runs along an edge; writing that touches the edge only meets it
    # here and there.
    rim = np.concatenate([~bright[0], ~bright[-1], ~bright[1:-1, 0], ~bright[1:-1, -1]])
    if rim.mean() < 0.15:
        return work, False
    labels, count = ndi.label(bright)
    areas = np.bincount(labels.ravel())[1:]
    paper = ndi.binary_fill_holes(labels == 1 + int(np.argmax(areas)))
    outside = ~ndi.binary_erosion(paper, iterations=1, border_value=1)
    if not 0.03 <= outside.mean() <= 0.8:
        return work, False
    # A desk runs along the whole of at least one side of the picture; ink
    # that touches the frame (a tight crop) meets each side only in places.
    sides = (outside[0], outside[-1], outside[:, 0], outside[:, -1])
    if max(float(side.mean()) for side in sides) < 0.9:
        return work, False
    # A page seen from above is a convex quadrilateral. Ground that bends
    # around the dark part is the ground of a tightly cropped digit, and the
    # dark part one of its strokes (often, in a blurry low-resolution scan).
    if _solidity(paper) < _MIN_PAPER_SOLIDITY:
        return work, False
    # A desk is dark. Bright ground beyond the "paper" is the rest of the ground
    # of a cut-out digit, which a stroke along the side (a '7's bar) cut in two.
    if (bright & ~paper).sum() > _MAX_GROUND_OUTSIDE * outside.sum():
        return work, False
    level = float(np.median(small[paper & bright]))
    full = (
        np.asarray(
            Image.fromarray(outside.astype(np.uint8) * 255).resize((width, height), Image.NEAREST)
        )
        > 0
    )
    return np.where(full, np.float32(level), work).astype(np.float32), True


def _solidity(region: np.ndarray) -> float:
    """Pixels of ``region`` over those of its convex hull (1 for a rectangle, less for an L)."""
    points = np.argwhere(region).astype(np.float64)
    try:
        hull = ConvexHull(points)
    except QhullError:  # all in one row or column: a strip, convex
        return 1.0
    # Pixel centres span the hull; its area plus half its perimeter plus one
    # counts the pixels a convex shape covers (exact for a rectangle).
    return float(len(points) / (hull.volume + hull.area / 2 + 1))


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of ``values`` (1-D, finite): values above it form the upper class.

    Callers pass only the pixels that already stand out from the noise, so
    when they are all alike (a two-level drawing with no anti-aliasing) they
    are all ink: the threshold then lies just below them.
    """
    return baseline.otsu_threshold(values)


def measure_stroke_width(mask: np.ndarray, ink: np.ndarray | None = None) -> float:
    """Mean stroke width: twice the ink's area over its boundary length, in pixels.

    With ``ink`` (soft intensities) the area is the ink's integral, which does
    not depend on where the threshold cut the anti-aliased edges.
    """
    boundary = int((mask & ~ndi.binary_erosion(mask, border_value=0)).sum())
    if boundary == 0:
        return 0.0
    area = float(ink.sum()) if ink is not None else float(mask.sum())
    return 2.0 * area / boundary


def _flatten(ink_up: np.ndarray, dark_ink: bool) -> tuple[np.ndarray, float]:
    """Subtract the background from ``ink_up`` (ink bright); return it and the noise level."""
    # A low percentile over a window wide compared with strokes follows
    # shading and gradients but not thin ink.
    background = _coarse_filter(ink_up, cells=32, percentile=20, window=_BACKGROUND_WINDOW)
    flat = ink_up - background
    sigma = max(robust_sigma(flat), 0.002)
    if dark_ink:
        # Light falls on paper and ink alike, so shade is a factor, not an
        # offset: divide by the paper's brightness so that ink in a shadow is
        # as strong as ink in full light.
        ground = flat <= max(4.0 * sigma, 0.02)
        flat = flat / np.maximum(1.0 - background, 0.05)
        sigma = max(robust_sigma(flat[ground] if ground.any() else flat), 0.002)
    return flat.astype(np.float32), sigma


def _add_faint_strokes(
    flat: np.ndarray, mask: np.ndarray, threshold: float, sigma: float
) -> np.ndarray:
    """Add to ``mask`` the strokes too faint for the global threshold.

    A digit written with less pressure than its neighbours may stay below a
    threshold set by the darker ones. Such strokes are found at half the
    threshold, as components that touch no stroke already found (so grid and
    ruling lines, which cross the digits, are not added), and are cut at half
    their own contrast, as the others are. Components that are mostly long
    straight horizontal or vertical runs (pieces of grid lines) are left out.
    """
    weak = flat > max(4.0 * sigma, 0.5 * threshold, 0.02)
    labels, count = ndi.label(weak, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return mask
    touched = np.zeros(count + 1, dtype=bool)
    touched[labels[mask]] = True
    peaks = ndi.maximum(flat, labels, np.arange(count + 1)).astype(np.float32)
    peaks[0] = 0.0
    faint = (peaks > 8.0 * sigma) & (peaks > 0.06) & ~touched
    # Pieces of grid or ruling lines (cut off from the rest of the grid where
    # the paper is brighter) are faint too: drop components made mostly of
    # long straight horizontal or vertical runs.
    length = max(15, min(flat.shape) // 8)
    lines = long_runs(weak, length) | long_runs(weak.T, length).T
    candidates = np.flatnonzero(faint)
    if candidates.size:
        area = ndi.sum_labels(np.ones_like(flat), labels, candidates)
        on_lines = ndi.sum_labels(lines, labels, candidates)
        faint[candidates[on_lines > 0.5 * area]] = False
    local = np.maximum(0.5 * peaks[labels], 0.5 * threshold)
    added = faint[labels] & (flat > local)
    # A digit written lighter than its neighbours may also be partly above
    # the threshold and partly below it, in pieces: its faint strokes join
    # at half its own peak (never ruling or grid lines crossing it).
    if touched[1:].any():
        added |= touched[labels] & (flat > local) & ~lines
    return mask | added


def _above_ruling(flat: np.ndarray, mask: np.ndarray, threshold: float) -> float:
    """The threshold that leaves out ruling lines the first one took for ink.

    On ruled paper under a small digit, the lines are most of what stands out
    from the noise, and Otsu splits them from the noise rather than the ink
    from them. Where long straight runs are most of ``mask``, the pixels over
    ``threshold`` are split again; the higher cut is taken if it keeps most
    of the writing (:data:`_KEPT_ABOVE_RULING` of what is not on the lines)
    and drops most of the lines (all but :data:`_LINES_LEFT`), so faint ink
    as light as the lines is never cut away (the writing's share is of its
    ink, so that its anti-aliased edges count for little).
    """
    length = max(15, min(flat.shape) // 8)
    lines = long_runs(mask, length) | long_runs(mask.T, length).T
    writing = mask & ~lines
    if lines.sum() < 0.5 * mask.sum() or not writing.any():
        return threshold
    higher = _otsu(flat[mask])
    ink = flat[writing]
    if (
        ink[ink > higher].sum() >= _KEPT_ABOVE_RULING * ink.sum()
        and np.mean(flat[lines] > higher) <= _LINES_LEFT
    ):
        return higher
    return threshold


def analyse_ink(gray: np.ndarray) -> InkMap:
    """Find the ink in a grayscale image, whatever its polarity, lighting and size.

    Args:
        gray: float32 ``(H, W)`` in [0, 1], 1 = white, as from :func:`load_image`.

    Returns:
        An :class:`InkMap` at the working resolution (longer side between 112
        and 1200 pixels). It may hold zero components (a blank page).
    """
    gray = np.asarray(gray, dtype=np.float32)
    work, scale = to_working_scale(gray)
    dark_ink = _ink_is_dark(work)
    outside_paper = False
    if dark_ink:
        work, outside_paper = _mask_outside_paper(work)
    flat, sigma = _flatten(1.0 - work if dark_ink else work, dark_ink)
    # Anti-aliased edges reach about a pixel beyond the half-ink boundary,
    # more when a small input was enlarged.
    reach = max(2.0, scale)

    candidates = flat > max(4.0 * sigma, 0.02)
    empty = np.zeros(work.shape, dtype=bool)
    blank = InkMap(
        gray,
        np.zeros_like(work),
        empty,
        np.zeros(work.shape, np.int32),
        0,
        scale,
        dark_ink,
        0.0,
        0.0,
        sigma,
        reach,
        outside_paper,
    )
    if candidates.sum() < 4:
        return blank
    # Otsu on the pixels that stand out from the noise only: it then splits
    # stroke cores from faint structures (anti-aliased edges, grid and ruling
    # lines, shadows) instead of ink from the vast paper.
    threshold = max(_otsu(flat[candidates]), 4.0 * sigma)
    mask = flat > threshold
    if not mask.any():
        return blank
    threshold = _above_ruling(flat, mask, threshold)
    mask = flat > threshold
    mask = _add_faint_strokes(flat, mask, threshold, sigma)
    ruling = _erase_ruling(mask)
    if ruling.any() and (mask & ~ruling).any():
        mask &= ~ruling
        flat = np.where(ruling, 0.0, flat).astype(np.float32)
    level = float(np.percentile(flat[mask], 75))
    low = min(max(3.0 * sigma, _LOW_FRACTION * threshold), 0.8 * threshold)
    ink = np.clip((flat - low) / max(level - low, 1e-6), 0.0, 1.0).astype(np.float32)
    labels, count = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    return InkMap(
        gray=gray,
        ink=ink,
        mask=mask,
        labels=labels.astype(np.int32),
        count=int(count),
        scale=float(scale),
        inverted=dark_ink,
        stroke_width=measure_stroke_width(mask, ink),
        contrast=level,
        noise=sigma,
        reach=reach,
        outside_paper=outside_paper,
    )


# --------------------------------------------------------------------------- to 28x28


def ink_to_mnist(
    ink: np.ndarray, mask: np.ndarray, stroke_width: float | None = None
) -> tuple[np.ndarray, float]:
    """Turn one digit's ink into a 28x28 MNIST image.

    Args:
        ink: float32 ``(h, w)`` in [0, 1], 1 = ink, holding only this digit
            (everything else zeroed). Any size.
        mask: bool ``(h, w)``, the digit's binarised strokes (used for the
            stroke width). May be all False for tiny inputs.
        stroke_width: Stroke width in ``ink`` pixels, if known; measured from
            ``mask`` otherwise.

    Returns:
        ``(image28, thickened_by)``: float32 ``(28, 28)`` in [0, 1] with the
        digit fitted in 20x20 (aspect ratio kept) and its centre of mass at
        MNIST's centre; and by how many pixels strokes were thickened.
    """
    rows = np.flatnonzero(ink.max(axis=1) > _BOX_LEVEL)
    cols = np.flatnonzero(ink.max(axis=0) > _BOX_LEVEL)
    if rows.size == 0:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32), 0.0
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    crop_mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    if stroke_width is None:
        stroke_width = measure_stroke_width(crop_mask, crop)

    # Strokes far thinner than MNIST's once shrunk (a fine pen photographed at
    # high resolution) would come out faint and broken, and far thicker ones
    # (a marker, a fat canvas brush) would fill the loops: bring them within
    # MNIST's usual range first.
    longer = max(crop.shape)
    target = MNIST_STROKE * longer / MNIST_BOX
    change = 0.0
    if stroke_width > 0:
        wanted = np.clip(stroke_width, _STROKE_MIN * target, _STROKE_MAX * target)
        change = float(wanted) - stroke_width
    if abs(change) >= 1.0:
        radius = abs(change) / 2
        reach = int(np.ceil(radius))
        yy, xx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
        disk = (yy**2 + xx**2) <= radius**2 + 0.5
        if change > 0:
            crop = ndi.grey_dilation(np.pad(crop, reach), footprint=disk)
        else:
            crop = ndi.grey_erosion(crop, footprint=disk)
        rows = np.flatnonzero(crop.max(axis=1) > _BOX_LEVEL)
        cols = np.flatnonzero(crop.max(axis=0) > _BOX_LEVEL)
        if rows.size == 0:
            return np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32), change
        crop = crop[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        longer = max(crop.shape)
    else:
        change = 0.0

    height, width = crop.shape
    factor = MNIST_BOX / longer
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = np.clip(resize(crop, size, Image.LANCZOS), 0.0, 1.0)
    peak = float(small.max())
    if peak <= 0:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32), change
    small /= peak

    cy, cx = ndi.center_of_mass(small)
    top = int(np.clip(round(MNIST_CENTRE - cy), 0, MNIST_SIZE - size[1]))
    left = int(np.clip(round(MNIST_CENTRE - cx), 0, MNIST_SIZE - size[0]))
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    out[top : top + size[1], left : left + size[0]] = small
    return out, change


@dataclass(frozen=True)
class Component:
    """One connected piece of ink in an :class:`InkMap`.

    Attributes:
        label: Its value in ``InkMap.labels``.
        area: Number of ink pixels.
        box: Bounding box ``(x0, y0, x1, y1)`` in working pixels, end exclusive.
    """

    label: int
    area: int
    box: tuple[int, int, int, int]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]


def find_components(info: InkMap) -> list[Component]:
    """The ink components of ``info``, without ruling lines, grid lines and page edges.

    A component is taken for a line, not ink, when it is thin (under 5% of the
    image across) and spans at least 90% of the image along it.
    """
    if info.count == 0:
        return []
    areas = np.bincount(info.labels.ravel(), minlength=info.count + 1)
    height, width = info.labels.shape
    found = []
    for label, slices in enumerate(ndi.find_objects(info.labels), start=1):
        if slices is None:
            continue
        y0, y1 = slices[0].start, slices[0].stop
        x0, x1 = slices[1].start, slices[1].stop
        box_height, box_width = y1 - y0, x1 - x0
        if (box_width >= 0.9 * width and box_height < 0.05 * height) or (
            box_height >= 0.9 * height and box_width < 0.05 * width
        ):
            continue
        found.append(Component(label, int(areas[label]), (x0, y0, x1, y1)))
    return found


def box_gap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> int:
    """Chessboard gap between two boxes, 0 when they touch or overlap."""
    return max(b[0] - a[2], a[0] - b[2], b[1] - a[3], a[1] - b[3], 0)


def _line_piece(component: Component, stroke: float) -> bool:
    """A straight piece of a ruling or grid line: at least
    :data:`_LINE_PIECE_LENGTH` times longer than thick, and thinner than
    :data:`_RULING_THINNER` of the digit's ``stroke``."""
    thick = min(component.width, component.height)
    long = max(component.width, component.height)
    return long >= _LINE_PIECE_LENGTH * thick and component.area / long <= _RULING_THINNER * stroke


def select_digit(info: InkMap) -> list[Component]:
    """The components that make up the single digit in ``info`` (largest first)."""
    candidates = sorted(find_components(info), key=lambda c: c.area, reverse=True)
    if not candidates:
        return []
    main = candidates[0]
    keep = [main]
    x0, y0, x1, y1 = main.box
    # Grow the digit with nearby pieces (broken strokes); drop specks,
    # far-away marks and pieces of ruling or grid lines.
    stroke = measure_stroke_width(info.labels[y0:y1, x0:x1] == main.label)
    rest = [c for c in candidates[1:] if not _line_piece(c, stroke)]
    changed = True
    while changed:
        changed = False
        size = max(x1 - x0, y1 - y0)
        remaining = []
        for component in rest:
            if component.area >= 0.03 * main.area and (
                box_gap((x0, y0, x1, y1), component.box) <= 0.25 * size
            ):
                keep.append(component)
                bx0, by0, bx1, by1 = component.box
                x0, y0, x1, y1 = min(x0, bx0), min(y0, by0), max(x1, bx1), max(y1, by1)
                changed = True
            else:
                remaining.append(component)
        rest = remaining
    return keep


def digit_zone(info: InkMap, selected: np.ndarray) -> np.ndarray:
    """Pixels of the selected components (labels), with their anti-aliased fringe.

    The fringe reaches ``info.reach`` pixels beyond the binarised strokes and
    stops where another component is nearer, so a neighbour's edges, grid
    lines and specks stay out.
    """
    distance, (iy, ix) = ndi.distance_transform_edt(info.labels == 0, return_indices=True)
    nearest = info.labels[iy, ix]
    reach = info.reach
    return np.isin(nearest, selected) & (distance <= reach)


def blank_error(name: str) -> ImageError:
    return ImageError(
        f"{name}: no digit found (the image looks blank: no ink stands out from the background)"
    )


def has_ink(info: InkMap) -> bool:
    return info.count > 0 and info.contrast >= 0.06 and info.contrast >= 6.0 * info.noise


def find_ink(source: ImageSource) -> InkMap:
    """Read an image and find its ink: :func:`load_image`, then :func:`analyse_ink`.

    Raises:
        ImageError: The image cannot be read or processed, or no ink stands
            out from its background (a blank page).
    """
    name = source_name(source)
    gray = load_image(source)
    try:
        info = analyse_ink(gray)
    except (ValueError, MemoryError) as exc:
        raise ImageError(f"{name}: cannot process the image ({exc})") from None
    if not has_ink(info):
        raise blank_error(name)
    return info
