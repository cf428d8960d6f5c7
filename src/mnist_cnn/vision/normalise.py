"""One digit in any picture, normalised to MNIST's 28x28: the plain and page readings.

:func:`preprocess` makes the *plain* reading (LeCun's normalisation,
:mod:`mnist_cnn.vision.baseline`) of every image, the same at low
resolution for a digit cut out to its box, and the *page* reading
(:mod:`mnist_cnn.vision.ink`) only where the plain one shows a page it
cannot handle; where several readings are possible, a classifier passed in
arbitrates. It also counts digits written side by side,
:func:`not_a_digit` tells shapes no digit has, :func:`classify_views`
reads the kept 28x28 over views around it, and :func:`save_preview`
shows what the model saw. Imports numpy, scipy and
Pillow only: the classifier is any callable.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from ..errors import ImageError
from ..fileio import atomic_path
from . import baseline, forms
from .ink import (
    MNIST_SIZE,
    Component,
    InkMap,
    analyse_ink,
    blank_error,
    digit_zone,
    find_components,
    has_ink,
    ink_to_mnist,
    long_runs,
    measure_stroke_width,
    resize,
    robust_sigma,
    select_digit,
    to_working_scale,
)
from .loading import ImageSource, load_image, source_name

__all__ = [
    "LOW_RESOLUTION",
    "LOW_RESOLUTION_CHECK",
    "LOW_RESOLUTION_MARGIN",
    "MAX_INK_DEPTH",
    "MAX_LOOPS",
    "MAX_STROKES_ACROSS",
    "NARROWED",
    "NARROWED_MARGIN",
    "RULED_PAGE_LINES",
    "UNEVEN_PAPER",
    "VIEW_TURNS",
    "VIEW_ZOOMS",
    "Classifier",
    "PlainReading",
    "PreprocessResult",
    "classify_each",
    "classify_views",
    "count_side_by_side",
    "low_resolution_reading",
    "narrowed_reading",
    "not_a_digit",
    "page_reading",
    "plain_reading",
    "preprocess",
    "save_preview",
    "sides_touched",
    "source_pixels",
    "to_mnist",
    "views",
]


@dataclass(frozen=True)
class PreprocessResult:
    """A preprocessed digit and what was found on the way, for previews and debugging.

    Attributes:
        image28: The model input, float32 ``(28, 28)`` in [0, 1], white digit on
            black, MNIST style.
        gray: The input in grayscale, float32 ``(H, W)`` in [0, 1], 1 = white.
        ink_box: Bounding box ``(x0, y0, x1, y1)`` of the digit in input pixels
            (end exclusive).
        inverted: True when the input was dark ink on light paper.
        stroke_width: Median stroke width found in the input, in input pixels.
        thickened_by: How many working pixels strokes were thickened by before
            shrinking (0 when they were already as thick as MNIST's).
        components: Number of ink components kept as the digit (after specks
            were dropped).
        method: Which reading was used: ``"plain"`` (LeCun's normalisation of
            the whole image), ``"low-resolution"`` (the same on the image
            shrunk, see :func:`low_resolution_reading`), ``"narrowed"`` (the
            same on a square frame squeezed, see :func:`narrowed_reading`) or
            ``"page"`` (paper modelled first).
        digits_side_by_side: How many digit-sized pieces of ink stand side by
            side (see :func:`count_side_by_side`); more than 1 means the image
            holds a number, which ``read`` reads, not one digit.
    """

    image28: np.ndarray
    gray: np.ndarray
    ink_box: tuple[int, int, int, int]
    inverted: bool
    stroke_width: float
    thickened_by: float
    components: int
    method: str = "plain"
    digits_side_by_side: int = 1


#: Longer side, in pixels, of the ink in the low-resolution reading
#: (:func:`low_resolution_reading`), and in the reading that must agree with
#: it before the classifier may choose it (:func:`preprocess`).
LOW_RESOLUTION = 8
LOW_RESOLUTION_CHECK = 12
#: How much surer of a low-resolution reading than of the others the
#: classifier must be to take it: shrinking to 8 px thins some real writers'
#: bold digits into a confident '1'. Chosen on tuning data (1,000 held-out
#: training digits per cut-out kind, the 900 UCI writers' digits looked at):
#: 0.05 and 0.1 lose no digit of any kind and win two of the writers' (the
#: pipeline then reads them as the plain recipe does); 0.15 begins to lose.
LOW_RESOLUTION_MARGIN = 0.1
#: Width, as a fraction of the height, of the narrowed reading of a digit
#: stretched to fill a square frame (:func:`narrowed_reading`), and how much
#: surer of it the classifier must be. Chosen on tuning data: another hand's
#: drawn digits through the cut-out kinds (0.4 with 0.1 won the most flagged
#: '1's), and 400-1,000 held-out training digits per kind (none lost).
NARROWED = 0.4
NARROWED_MARGIN = 0.1
#: Where the frame leaves the polarity open and the two readings' ink is not
#: as many pieces, the reading whose ink is more pieces (the paper a bold digit
#: cuts up, or a digit broken in two) must be surer than the other by this.
#: Chosen on the mfeat digits looked at (benchmarks/bench_handwriting.py),
#: 400-500 held-out training digits per kind, the UCI digits looked at and
#: the drawn digits: a hard rule, and 0.4, lost blocky 8 px digits broken in two.
POLARITY_MARGIN = 0.25
#: Pieces under this fraction of the largest are scraps, not counted (a
#: form's box erased leaves some).
_PIECE = 0.1
#: A frame whose sides differ by at most this fraction is square (as a 16x15 scan is).
_SQUARE = 0.1
#: A plain reading that took this many ruling or grid lines for ink, with
#: ink reaching all four sides, is the page rather than a digit: the page
#: reading is taken. Ruled pages in the stress corpus show 7-15 such lines
#: (held-out training digits); a digit stretched to its frame, whose bars
#: may run across it, and a form's box at most 2.
RULED_PAGE_LINES = 3
#: A plain reading whose paper varies by more than this fraction of the
#: ink's contrast has uneven light or a textured ground: the page reading
#: (background flattening) is then tried beside it. Chosen on held-out
#: training digits on ruled notebook paper in uneven light, whose shadow the
#: plain reading takes in with the digit and so measures as even: 0.15 read
#: 0.933 of 150, 0.1 0.947, 0.07 and 0.05 0.967; at 0.07 no picture of any
#: other kind of the stress corpus (500 each), of the writers or of the drawn
#: digits changed. On 1,500 more in other layouts, 0.06 won 4 digits whose
#: shadow measured 0.066-0.069 and lost none; still no other kind changed.
UNEVEN_PAPER = 0.06
# Otsu's effectiveness (between-class over total variance) below which a
# thresholded image is noise or shading rather than ink on a ground:
# Gaussian noise gives about 0.64, uniform noise 0.75, a digit over 0.9.
_MIN_SEPARATION = 0.8
_MIN_CONTRAST = 0.06
# A blurry upscale of an 8x8 digit separates no better than uniform noise
# (0.70); what tells them apart is that its neighbouring pixels agree.
_MIN_STRUCTURE = 0.5

Classifier = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class PlainReading:
    """LeCun's plain normalisation of a whole image, and how far it can be trusted.

    Attributes:
        image28: float32 ``(28, 28)``, white on black.
        mask: bool ``(h, w)`` kept ink at the working resolution.
        inverted: True for dark ink on a light ground.
        uneven: Spread of the ground's brightness away from the strokes,
            over the ink's contrast (robust standard deviation over the gap
            between the medians); 0 when the strokes leave little ground.
        separation: Otsu's effectiveness, in [0, 1].
        contrast: Gap between the ground's and the ink's median brightness.
        structure: Correlation of neighbouring pixels in the image at its own
            resolution (ink and shading are smooth; sensor noise is not).
        rulings: How many thin straight lines across 80 % of the picture the
            threshold took for ink (in the direction with more); two or more
            are grid or ruling lines (:attr:`ruled`).
        frame_decides: The border showed the polarity (at least 70 % of it
            in one class); otherwise the minority class was taken for ink.
        method: ``"plain"``, or ``"low-resolution"`` for the plain recipe
            applied to the image shrunk (:func:`low_resolution_reading`).
    """

    image28: np.ndarray
    mask: np.ndarray
    inverted: bool
    uneven: float
    separation: float
    contrast: float
    structure: float = 1.0
    rulings: int = 0
    frame_decides: bool = True
    method: str = "plain"

    @property
    def ruled(self) -> bool:
        """The threshold took grid or ruling lines for ink (two or more)."""
        return self.rulings >= 2

    @property
    def has_ink(self) -> bool:
        """Ink on a ground, not a flat or noisy image."""
        return (
            bool(self.mask.any())
            and self.contrast >= _MIN_CONTRAST
            and self.structure >= _MIN_STRUCTURE / 2
            and (self.separation >= _MIN_SEPARATION or self.structure >= _MIN_STRUCTURE)
        )


def _neighbour_correlation(gray: np.ndarray) -> float:
    """Mean correlation of horizontally and vertically adjacent pixels (0 for noise)."""
    values = np.asarray(gray, np.float64)
    scores = []
    for a, b in ((values[:, 1:], values[:, :-1]), (values[1:], values[:-1])):
        if a.size < 4:
            continue
        a, b = a - a.mean(), b - b.mean()
        denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
        scores.append(float((a * b).sum()) / denominator if denominator > 0 else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def plain_reading(
    work: np.ndarray, structure: float = 1.0, dark_ink: bool | None = None
) -> PlainReading:
    """The plain recipe (:mod:`mnist_cnn.vision.baseline`) on a working-scale grayscale image.

    Args:
        work: float32 ``(h, w)`` grayscale in [0, 1], 1 = white.
        structure: The image's :func:`_neighbour_correlation` at its own resolution.
        dark_ink: The polarity, if known; otherwise the frame (or the minority) decides.
    """
    threshold = baseline.otsu_threshold(work)
    light = work > threshold
    frame = baseline.polarity_from_frame(light)
    if dark_ink is None:
        dark_ink = baseline.dark_ink_by_frame(light)
    ink, mask = baseline.plain_ink(work, dark_ink=dark_ink)
    ink_class = ~light if dark_ink else light
    ground, strokes = work[~ink_class], work[ink_class]
    if ground.size == 0 or strokes.size == 0:
        empty = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
        return PlainReading(
            empty, np.zeros(work.shape, bool), dark_ink, 0.0, 0.0, 0.0, structure,
            frame_decides=frame is not None,
        )  # fmt: skip
    contrast = abs(float(np.median(ground)) - float(np.median(strokes)))
    # The ground's spread is measured away from the strokes: the blurred
    # edges of an upscaled low-resolution digit are not uneven paper.
    reach = max(2, round(0.08 * max(work.shape)))
    away = ~ndi.binary_dilation(ink_class, iterations=reach)
    far = work[away]
    uneven = robust_sigma(far) / max(contrast, 1e-3) if far.size >= 0.05 * work.size else 0.0
    total = float(work.var())
    between = (
        ground.size
        * strokes.size
        / work.size**2
        * (float(ground.mean()) - float(strokes.mean())) ** 2
    )
    separation = between / total if total > 0 else 0.0
    return PlainReading(
        image28=baseline.fit_mnist(ink, mask),
        mask=mask,
        inverted=dark_ink,
        uneven=uneven,
        separation=separation,
        contrast=contrast,
        structure=structure,
        rulings=_ruling_lines(mask),
        frame_decides=frame is not None,
    )


def low_resolution_reading(
    work: np.ndarray, reading: PlainReading, side: int = LOW_RESOLUTION
) -> PlainReading:
    """``reading`` made again from the image shrunk until its ink is ``side`` px.

    Area averaging evens out what a scan cut to its box often carries: the
    jagged edges of a 1-bit digit, the blocks of a nearest-neighbour upscale,
    a stretched '1' turned into a slab. The plain recipe on the small image
    (its own Otsu threshold) is then brought back to 20 px by Lanczos, so
    the model sees a smooth digit. Returns ``reading`` itself when its ink
    is that small already.

    Args:
        work: float32 ``(h, w)`` grayscale in [0, 1], 1 = white.
        reading: A plain reading of ``work``; its polarity is kept.
        side: Longer side of the ink once shrunk, in pixels.
    """
    ys, xs = np.nonzero(reading.mask)
    factor = side / max(np.ptp(ys) + 1, np.ptp(xs) + 1, 1)
    if factor >= 1 or not reading.mask.any():
        return reading
    height, width = work.shape
    size = (max(2, round(width * factor)), max(2, round(height * factor)))
    small = np.clip(resize(work, size, Image.BOX), 0.0, 1.0)
    image28 = baseline.plain_to_mnist(small, dark_ink=reading.inverted)
    return dataclasses.replace(reading, image28=image28, method="low-resolution")


def narrowed_reading(work: np.ndarray, reading: PlainReading) -> PlainReading:
    """``reading`` made again from the picture squeezed to :data:`NARROWED` of its width.

    A scan whose digit was stretched to fill a square frame has lost its
    aspect: a '1' with a flag, stretched, is a '7' with a slanting bar. Read
    at the width of a '1', it is a '1' again; wider digits squeezed that much
    read less surely than as they are, and the classifier keeps those.

    Args:
        work: float32 ``(h, w)`` grayscale in [0, 1], 1 = white.
        reading: A plain reading of ``work``; its polarity is kept.
    """
    height, width = work.shape
    narrow = np.clip(resize(work, (max(2, round(width * NARROWED)), height), Image.BOX), 0, 1)
    image28 = baseline.plain_to_mnist(narrow, dark_ink=reading.inverted)
    return dataclasses.replace(reading, image28=image28, method="narrowed")


def _source_lines(values: np.ndarray) -> np.ndarray | None:
    """One index per source row of ``values`` if its rows are a nearest-neighbour
    enlargement (at least 2x) of fewer rows, else ``None``.

    Enlarged by ``f = n / m``, each source row becomes a run of ``floor(f)`` or
    ``ceil(f)`` equal rows, and ``k`` equal source rows in a row one run of
    about ``k * f``: every run's length lies within one row of a multiple of
    ``f``. The smallest ``m`` (largest ``f``) for which that holds is taken.
    """
    n = values.shape[0]
    changes = np.flatnonzero(np.any(values[1:] != values[:-1], axis=1)) + 1
    starts = np.concatenate([[0], changes])
    runs = np.diff(np.concatenate([starts, [n]]))
    if len(changes) == 0 or runs.min() < 2:
        return None
    for m in range(len(runs), n // 2 + 1):
        per_run = np.maximum(1, np.round(runs * m / n)).astype(int)
        if per_run.sum() == m and np.all(np.abs(runs - per_run * n / m) < 1):
            return np.concatenate(
                [
                    s + (np.arange(k) + 0.5) * r // k
                    for s, r, k in zip(starts, runs, per_run, strict=True)
                ]
            ).astype(int)
    return None


def source_pixels(work: np.ndarray) -> np.ndarray | None:
    """The picture a nearest-neighbour (blocky) enlargement was made from, or ``None``.

    An 8x8 scan blown up to 64x64 without smoothing holds no more than its 64
    pixels, in blocks whose jagged edges are not the writer's. Read from its
    source, such a picture goes through the same recipe as any small image.
    Found exactly: every row and every column must repeat in runs of two or
    more, on a regular grid, so a photo, a smooth enlargement or a JPEG is
    never taken for one.
    """
    rows = _source_lines(work)
    if rows is None:
        return None
    cols = _source_lines(work.T)
    if cols is None:
        return None
    return work[np.ix_(rows, cols)]


def sides_touched(mask: np.ndarray, within: float = 0.05) -> int:
    """How many sides of the frame the ink in ``mask`` comes within ``within`` of (0-4),
    as a fraction of the frame (0: the ink meets the side).

    Two or more within 5 %: the frame is the digit's own box (a scan cut out
    to it), not a page around it.
    """
    if not mask.any():
        return 0
    height, width = mask.shape
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    margins = (
        rows[0] / height,
        (height - 1 - rows[-1]) / height,
        cols[0] / width,
        (width - 1 - cols[-1]) / width,
    )
    return sum(margin <= within for margin in margins)


def _ruling_lines(mask: np.ndarray) -> int:
    """How many thin straight lines run across 80 % of ``mask`` in one direction
    (the more of the two directions): two or more are squared or ruled paper.
    A digit's stroke in a tight crop may run across the picture, but not as
    two thin parallel lines."""
    height, width = mask.shape
    if min(height, width) < 64:  # a small cut-out, not a page
        return 0
    most = 0
    for axis, lines in (
        (0, long_runs(mask, max(2, int(0.8 * width)))),
        (1, long_runs(mask.T, max(2, int(0.8 * height))).T),
    ):
        if not lines.any():
            continue
        labels, _ = ndi.label(lines, structure=np.ones((3, 3), bool))
        across = mask.shape[axis]
        thin = [
            s
            for s in ndi.find_objects(labels)
            if s[axis].stop - s[axis].start <= max(3, 0.03 * across)
        ]
        most = max(most, len(thin))
    return most


def page_reading(
    info: InkMap,
) -> tuple[np.ndarray, list[Component], np.ndarray, float, float] | None:
    """The page pipeline's reading of the one digit in ``info``.

    Returns:
        ``(image28, components, zone, stroke_width, thickened_by)``, or ``None``
        when no digit-sized ink is found.
    """
    if not has_ink(info):
        return None
    components = select_digit(info)
    if not components:
        return None
    selected = np.array([c.label for c in components])
    digit = np.isin(info.labels, selected)
    ys, xs = np.nonzero(digit)
    longer_side = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
    if longer_side < 0.02 * max(info.labels.shape) or longer_side < 4:
        return None
    zone = digit_zone(info, selected)
    ink = np.where(zone, info.ink, 0.0).astype(np.float32)
    stroke_width = measure_stroke_width(digit, ink)
    image28, thickened = ink_to_mnist(ink, digit, stroke_width)
    return image28, components, zone & (ink > 0.02), stroke_width, thickened


def preprocess(source: ImageSource, classify: Classifier | None = None) -> PreprocessResult:
    """Find the one digit in an image and normalise it the MNIST way, keeping the details.

    Two readings are made. The *plain* one is LeCun's normalisation of the
    whole image (one Otsu threshold, the class the frame does not hold is
    ink, specks dropped, fitted to 20x20 and centred by centre of mass): it
    reads cut-out scans, 1-bit and low-resolution images, and bold or tightly
    cropped digits; a blocky (nearest-neighbour) enlargement is read from the
    pixels it was made of (:func:`source_pixels`). The *page* one first
    models the paper (a desk around the page, uneven light, grid and ruling
    lines) before finding the ink. The plain reading is used unless the
    picture shows a page that it cannot handle: a desk runs along a side
    (the page reading is taken), or the ground varies by more than
    :data:`UNEVEN_PAPER` of the ink's contrast (unless the ink reaches all
    four sides, where no page shows), or the threshold took grid or ruling
    lines for ink (the page reading is taken, or, given ``classify``,
    whichever of the two the classifier is surer of; where that ink reaches
    all four sides it is the page, not a digit, and the page reading is
    taken outright). A printed box around
    the digit (a form's field, :mod:`mnist_cnn.vision.forms`), or what is
    left of one along the edges of a picture cut at it, is painted over in
    the paper's tone before either reading. Given ``classify``,
    a digit whose ink touches so much of the frame
    that the border does not show the polarity is also read both ways (the
    way whose ink is more pieces must be surer by :data:`POLARITY_MARGIN`:
    a digit is a stroke or a few, the paper a bold digit cuts up is more), a
    digit cut out to its box (ink within 5 % of two sides or more) is also
    read at low resolution (:func:`low_resolution_reading`), a digit whose
    ink meets all four edges of a square frame (perhaps stretched to it) is also read
    narrowed (:func:`narrowed_reading`), and the classifier keeps the surer
    reading (a low-resolution one only when surer by
    :data:`LOW_RESOLUTION_MARGIN`, a narrowed one by :data:`NARROWED_MARGIN`).

    Args:
        source: Anything :func:`load_image` accepts.
        classify: Optional classifier, ``(N, 28, 28)`` float32 -> ``(N, 10)``
            probabilities, that arbitrates between the two readings.

    Returns:
        A :class:`PreprocessResult`; its ``image28`` is what :func:`to_mnist`
        returns, and ``method`` says which reading was used.

    Raises:
        ImageError: The image cannot be read, or no ink structure is found
            in it (uniform, pure noise, or below the contrast floor).
    """
    name = source_name(source)
    gray = load_image(source)
    work, scale = to_working_scale(gray)
    # The plain recipe reads small images at their own resolution (an
    # enlargement would only blur a 1-bit or blocky scan); large ones shrunk.
    if scale > 1.0:
        work, scale = gray, 1.0
    structure = _neighbour_correlation(work)
    # A blocky enlargement is read from the pixels it was made of (its
    # structure, measured above, is the picture's). Scales are (y, x).
    source = source_pixels(work)
    if source is not None:
        work, scales = source, (source.shape[0] / gray.shape[0], source.shape[1] / gray.shape[1])
    else:
        scales = (scale, scale)
    # A printed box around the digit (a form's field) is not the digit: its
    # lines are painted in the paper's tone, and they tell the polarity. So
    # are the slivers of a box the picture was cut at, along its edges.
    page_gray, dark_ink = gray, None
    form = forms.find_box(work)
    lines = form[0] if form is not None else forms.find_edge_remnants(work)
    if form is not None:
        dark_ink = form[1]
    if lines is not None:
        page_gray = forms.erase_lines(gray, lines)
        work = page_gray if work.shape == gray.shape else forms.erase_lines(work, lines)
    plain = plain_reading(work, structure, dark_ink=dark_ink)
    touched = sides_touched(plain.mask)
    # Where the ink reaches all four sides no page shows around it, and a
    # ground that varies is the digit's own blur (a low-resolution scan).
    uneven = plain.uneven > UNEVEN_PAPER and touched < 4
    needs_page = not plain.has_ink or uneven or plain.ruled
    page = None
    info = None
    if needs_page or (plain.inverted and _rim_is_dark(work)):
        try:
            info = analyse_ink(page_gray)
        except (ValueError, MemoryError) as exc:
            raise ImageError(f"{name}: cannot process the image ({exc})") from None
        needs_page = needs_page or info.outside_paper
        if needs_page:
            page = page_reading(info)
    desk = info is not None and info.outside_paper
    # The readings the classifier may arbitrate between. A desk along a side
    # is a structural finding: the page reading is taken outright.
    # So is ruled paper whose lines (RULED_PAGE_LINES or more) the plain
    # threshold took with the digit for ink reaching all four sides: that
    # reading is the page, not a digit.
    ruled_page = plain.rulings >= RULED_PAGE_LINES and touched == 4 and page is not None
    readings: list[PlainReading | None] = (
        [plain] if plain.has_ink and not desk and not ruled_page else []
    )
    doubtful = -1  # the reading whose polarity the pieces of ink doubt
    if readings and classify is not None and not plain.ruled and not plain.frame_decides:
        # Ink touching much of the frame (a bold or blurry digit filling its
        # box) leaves the polarity open: the classifier reads both ways.
        other = plain_reading(work, structure, dark_ink=not plain.inverted)
        if other.has_ink:
            readings.append(other)
            # A digit is one stroke or a few; the paper it cuts up is more
            # pieces. The polarity whose ink is more pieces must be surer
            # (unless a form's box told the polarity).
            pieces, other_pieces = _pieces(plain.mask), _pieces(other.mask)
            if pieces != other_pieces and form is None:
                doubtful = 0 if pieces > other_pieces else 1
    # A digit cut out to its box is also read at low resolution. At 8 px a 1-bit
    # slab or a blocky scan becomes a smooth digit, but a digit scanned with more
    # detail may turn into another one: a low-resolution reading counts only where
    # the classifier reads the same digit at LOW_RESOLUTION_CHECK px, and is
    # surer of it than of the other readings by LOW_RESOLUTION_MARGIN.
    low: list[PlainReading] = []
    check: list[PlainReading] = []
    if readings and classify is not None and touched >= 2:
        low = [low_resolution_reading(work, r) for r in readings]
        check = [low_resolution_reading(work, r, LOW_RESOLUTION_CHECK) for r in readings]
    # A digit whose ink meets all four edges of a square frame may have been
    # stretched to it: it is also read narrowed (a stretched '1' is no '7').
    narrowed: list[PlainReading] = []
    height, width = work.shape
    square = abs(height - width) <= _SQUARE * max(height, width)
    if readings and classify is not None and square and sides_touched(plain.mask, 0.0) == 4:
        narrowed = [narrowed_reading(work, r) for r in readings]
    use_page = page is not None and needs_page
    if use_page:
        readings.append(None)  # the page reading
    candidates = readings + low + narrowed
    if classify is not None and len(candidates) > 1:
        # One pass of the classifier over every candidate and every check.
        images = [page[0] if r is None else r.image28 for r in candidates + check]
        probs = np.asarray(classify(np.stack(images)))
        confidence = probs[: len(candidates)].max(axis=1)
        if low:
            start, stop = len(readings), len(readings) + len(low)
            agree = probs[start:stop].argmax(axis=1) == probs[len(candidates) :].argmax(axis=1)
            confidence[start:stop] -= LOW_RESOLUTION_MARGIN
            confidence[start:stop][~agree] = -1.0
        if narrowed:
            confidence[len(candidates) - len(narrowed) :] -= NARROWED_MARGIN
        if doubtful >= 0:
            # The doubted polarity's readings: plain, low-resolution, narrowed.
            doubted = [doubtful]
            doubted += [len(readings) + doubtful] if low else []
            doubted += [len(readings) + len(low) + doubtful] if narrowed else []
            confidence[doubted] -= POLARITY_MARGIN
        best = candidates[int(np.argmax(confidence))]
        use_page = best is None
        if best is not None:
            plain = best
    if use_page:
        image28, components, zone, stroke_width, thickened = page
        pieces = find_components(info)
        zy, zx = np.nonzero(zone)
        box = info.to_original(
            (int(zx.min()), int(zy.min()), int(zx.max()) + 1, int(zy.max()) + 1)
        )
        return PreprocessResult(
            image28=image28,
            gray=gray,
            ink_box=box,
            inverted=info.inverted,
            stroke_width=stroke_width / info.scale,
            thickened_by=thickened,
            components=len(components),
            method="page",
            digits_side_by_side=count_side_by_side(
                [c.box for c in pieces], [c.area for c in pieces]
            ),
        )
    if not plain.has_ink:
        raise blank_error(name)
    ys, xs = np.nonzero(plain.mask)
    height, width = gray.shape
    scale_y, scale_x = scales
    box = (
        max(0, int(np.floor(xs.min() / scale_x))),
        max(0, int(np.floor(ys.min() / scale_y))),
        min(width, int(np.ceil((xs.max() + 1) / scale_x))),
        min(height, int(np.ceil((ys.max() + 1) / scale_y))),
    )
    labels, count = ndi.label(plain.mask, structure=np.ones((3, 3), bool))
    pieces = ndi.find_objects(labels)
    areas = np.bincount(labels.ravel())[1:]
    return PreprocessResult(
        image28=plain.image28,
        gray=gray,
        ink_box=box,
        inverted=plain.inverted,
        stroke_width=measure_stroke_width(plain.mask) / scale_y,
        thickened_by=0.0,
        components=int(count),
        method=plain.method,
        digits_side_by_side=count_side_by_side(
            [(p[1].start, p[0].start, p[1].stop, p[0].stop) for p in pieces],
            [int(a) for a in areas],
        ),
    )


def _pieces(mask: np.ndarray) -> int:
    """Connected pieces (8-neighbour) of a kept-ink mask, not counting the scraps
    (under :data:`_PIECE` of the largest piece) that a threshold leaves."""
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    if count < 2:
        return int(count)
    areas = np.bincount(labels.ravel())[1:]
    return int((areas >= _PIECE * areas.max()).sum())


def count_side_by_side(boxes: list[tuple[int, int, int, int]], areas: list[int]) -> int:
    """How many pieces of ink look like separate digits written side by side.

    A piece counts when it is at least half as tall as the tallest and has at
    least a tenth of the largest's ink; pieces whose columns overlap by more
    than a third of the narrower one's width count once (the two strokes of
    a '4', a '5' whose bar came apart).

    Args:
        boxes: ``(x0, y0, x1, y1)`` per piece, end exclusive.
        areas: Ink pixels per piece.
    """
    if not boxes:
        return 0
    tallest = max(b[3] - b[1] for b in boxes)
    largest = max(areas)
    big = sorted(
        (
            b
            for b, a in zip(boxes, areas, strict=True)
            if b[3] - b[1] >= 0.5 * tallest and a >= 0.1 * largest
        ),
        key=lambda b: b[0],
    )
    count, right, left = 0, None, None
    for x0, _, x1, _ in big:
        if right is not None:
            overlap = min(right, x1) - max(left, x0)
            if overlap > min(right - left, x1 - x0) / 3:
                left, right = min(left, x0), max(right, x1)
                continue
        count += 1
        left, right = x0, x1
    return count


#: The most closed loops a digit holds ('8': 2). :func:`not_a_digit`'s
#: thresholds: 0.14%, 0.04% and none of 20,000 MNIST training digits exceed
#: them one by one.
MAX_LOOPS = 2
#: The most strokes two rows of a digit's 28x28 cross.
MAX_STROKES_ACROSS = 3
#: Ink this deep (pixels from the nearest background, 28x28) is a blob, not a stroke.
MAX_INK_DEPTH = 8.0


#: The views of a normalised digit whose readings :func:`classify_views`
#: averages: as it is, zoomed by each factor about the centre, and turned by
#: each angle (degrees).
VIEW_ZOOMS = (0.9, 1.1)
VIEW_TURNS = (8.0, -8.0)


def views(image28: np.ndarray) -> np.ndarray:
    """``image28`` (28x28 in [0, 1]) and its :data:`VIEW_ZOOMS` and :data:`VIEW_TURNS`
    views, as a float32 ``(5, 28, 28)`` stack."""
    image = np.asarray(image28, dtype=np.float32)
    centre = np.array([(MNIST_SIZE - 1) / 2] * 2)
    out = [image]
    for zoom in VIEW_ZOOMS:
        matrix = np.eye(2) / zoom
        out.append(ndi.affine_transform(image, matrix, centre - matrix @ centre, order=1))
    for degrees in VIEW_TURNS:
        out.append(ndi.rotate(image, degrees, reshape=False, order=1))
    return np.clip(np.stack(out), 0.0, 1.0).astype(np.float32)


def classify_views(classify: Classifier, images: np.ndarray) -> np.ndarray:
    """``classify``'s probabilities for each 28x28 in ``images``, averaged over its
    :func:`views`.

    A real image's digit comes out of normalisation a little larger, smaller
    or more slanted than MNIST's; averaging the readings of views around it
    steadies the answer. Chosen on tuning data only (training digits, the
    UCI writers looked at): never worse on any kind of input, better on
    1-bit scans and blocky low-resolution writers, and on clean held-out
    digits (benchmarks/explore_views.py).
    """
    images = np.asarray(images, dtype=np.float32).reshape(-1, MNIST_SIZE, MNIST_SIZE)
    if not len(images):
        return np.asarray(classify(images))
    stacked = np.concatenate([views(image) for image in images])
    probabilities = np.asarray(classify(stacked), dtype=np.float64)
    return probabilities.reshape(len(images), -1, probabilities.shape[-1]).mean(axis=1)


def classify_each(
    classifiers: Sequence[Classifier], images: np.ndarray, *, views: bool = True
) -> np.ndarray:
    """Each 28x28 in ``images`` read by its own classifier, ``classifiers[i]`` for
    ``images[i]``, in one batch per distinct classifier: probabilities averaged
    over the image's :func:`views` (:func:`classify_views`), or as it is when
    ``views`` is False (MNIST-style images). ``predict`` and the service read a
    picture blown up from a small source with their model for those, the rest
    with the default.
    """
    images = np.asarray(images, dtype=np.float32).reshape(-1, MNIST_SIZE, MNIST_SIZE)
    out: np.ndarray | None = None
    for classify in {id(c): c for c in classifiers}.values():
        rows = [i for i, c in enumerate(classifiers) if c is classify]
        part = images[rows]
        read = np.asarray(classify_views(classify, part) if views else classify(part))
        if out is None:
            out = np.zeros((len(images), read.shape[-1]), np.float64)
        out[rows] = read
    if out is None:
        raise ValueError("classify_each needs one classifier per image, and at least one image")
    return out


def not_a_digit(image28: np.ndarray) -> str | None:
    """Why a normalised 28x28 has a shape no digit has, or None when it may be a digit.

    The classifier gives every drawing one of ten classes, often at p=1.0;
    these checks look at the shape itself, thresholded at 0.4:

    * ``"more than 2 loops"``: 3 or more closed holes of at least 3 pixels
      (a circle with a cross, a star, a target, a house);
    * ``"more than 3 strokes side by side"``: two rows or more crossing 4
      strokes or more (a 'W' or 'M', a spiral, a face, a zigzag);
    * ``"a solid blob"``: ink 8 pixels or more from the nearest background
      (a filled shape).

    Chosen on MNIST's training digits read through :func:`preprocess` (36
    of the first 20,000 are flagged, 0.18%) and the drawings of
    :data:`mnist_cnn.vision.not_digits.CHOSEN_ON` (44% flagged); 0.15% of the
    first 2,000 test digits and 44% of the held-out drawings are
    (benchmarks/bench_handwriting.py). Letters and shapes with a digit's
    outline (an 'A', an 'X', a '#', a triangle, a heart) pass.

    Args:
        image28: float ``(28, 28)`` in [0, 1], white on black, as
            :func:`to_mnist` returns.
    """
    ink = np.asarray(image28) > 0.4
    if not ink.any():
        return None
    background, count = ndi.label(~ink)
    edge = np.unique(
        np.concatenate([background[0], background[-1], background[:, 0], background[:, -1]])
    )
    sizes = np.bincount(background.ravel(), minlength=count + 1)
    loops = sum(1 for k in range(1, count + 1) if sizes[k] >= 3 and k not in edge)
    if loops > MAX_LOOPS:
        return f"more than {MAX_LOOPS} loops"
    starts = (np.diff(ink.astype(np.int8), axis=1, prepend=0) == 1).sum(axis=1)
    if np.sum(starts > MAX_STROKES_ACROSS) >= 2:
        return f"more than {MAX_STROKES_ACROSS} strokes side by side"
    if float(ndi.distance_transform_edt(ink).max()) >= MAX_INK_DEPTH:
        return "a solid blob"
    return None


def _rim_is_dark(work: np.ndarray) -> bool:
    """Cheap test for a dark desk or margin along a side, before the page analysis."""
    sides = (
        work[:3].mean(axis=0),
        work[-3:].mean(axis=0),
        work[:, :3].mean(axis=1),
        work[:, -3:].mean(axis=1),
    )
    paper = float(np.percentile(work, 75))
    return any(float(np.mean(side < 0.45 * paper)) >= 0.9 for side in sides)


def to_mnist(
    source: ImageSource, *, assume_mnist: bool = False, classify: Classifier | None = None
) -> np.ndarray:
    """Turn an image of one handwritten digit into the model's 28x28 input.

    Args:
        source: Anything :func:`load_image` accepts: a path, bytes, a PIL image
            or a numpy array (e.g. a canvas drawing), either polarity.
        assume_mnist: The image is already MNIST-formatted (the CLI's ``--raw``):
            only convert to grayscale and scale to [0, 1]; no inversion, no
            cropping, no centring.
        classify: Optional classifier that arbitrates between readings (see
            :func:`preprocess`).

    Returns:
        float32 ``(28, 28)`` in [0, 1], white digit on black, MNIST style.

    Raises:
        ImageError: The image cannot be read; with ``assume_mnist`` it is not
            28x28; otherwise no digit is found in it.
    """
    if assume_mnist:
        gray = load_image(source)
        if gray.shape != (MNIST_SIZE, MNIST_SIZE):
            height, width = gray.shape
            raise ImageError(
                f"{source_name(source)}: expected a 28x28 MNIST image, got {width}x{height} "
                "pixels (leave out --raw to preprocess any image)"
            )
        return gray
    return preprocess(source, classify).image28


# --------------------------------------------------------------------------- previews


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def save_preview(
    pairs: list[tuple[str, np.ndarray, np.ndarray]], path: str | os.PathLike[str]
) -> Path:
    """Write a PNG showing, for each input, the original beside the 28x28 the model saw.

    Args:
        pairs: ``(label, original_gray, image28)`` triples: a caption (file name
            and prediction, say), the grayscale input (any size, 1 = white)
            and the model input (28x28, 1 = ink).
        path: Where to write the PNG (atomically).

    Returns:
        The path written.
    """
    cell = 168  # 28 * 6: the model input upscaled with nearest neighbour
    caption = 16
    rows = max(1, len(pairs))
    sheet = Image.new("L", (2 * cell + 30, rows * (cell + caption + 10) + 10), 255)
    draw = ImageDraw.Draw(sheet)
    for row, (label, original, image28) in enumerate(pairs):
        top = 10 + row * (cell + caption + 10)
        original_img = Image.fromarray(_to_uint8(original), mode="L")
        original_img.thumbnail((cell, cell), Image.LANCZOS)
        offset = ((cell - original_img.width) // 2, (cell - original_img.height) // 2)
        sheet.paste(original_img, (10 + offset[0], top + offset[1]))
        draw.rectangle([10, top, 10 + cell - 1, top + cell - 1], outline=160)
        model_img = Image.fromarray(_to_uint8(image28), mode="L").resize(
            (cell, cell), Image.NEAREST
        )
        sheet.paste(model_img, (cell + 20, top))
        draw.text((10, top + cell + 2), str(label)[:60], fill=0)
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
    return Path(path)
