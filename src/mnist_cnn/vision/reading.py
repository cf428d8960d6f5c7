"""Read a handwritten number (several digits on one line) from an image.

The image goes through the same ink analysis as a single digit
(:func:`mnist_cnn.vision.ink.analyse_ink`: polarity, background flattening,
thresholding); a form's printed box or comb of cells around the number is
taken out of the ink (:mod:`mnist_cnn.vision.forms`). Then:

1. Connected components of the ink are grouped into digits: pieces that
   overlap horizontally and are stacked or small (a '5' whose top bar is
   detached, a '4' drawn in two strokes) are merged; specks far from any
   digit are dropped.
2. Groups much wider than a digit (touching digits) are cut at the columns
   with the least ink, into as many pieces as their width suggests.
3. Each digit is normalised to 28x28 the MNIST way
   (:func:`mnist_cnn.vision.ink.ink_to_mnist`) and, in :func:`read_number`,
   classified left to right by any callable mapping ``(N, 28, 28)`` images to
   ``(N, 10)`` probabilities. When a classifier is given, ambiguous groups
   (neighbours that may be one broken digit, a group that may be several
   touching ones) are read every plausible way, and the reading kept is the
   one the classifier is most confident about, helped by the segment
   verifier (:mod:`mnist_cnn.inference.verifier`) when one is given: it judges whether
   each piece is one whole digit.

Nothing here imports Keras.

Example:
    >>> from mnist_cnn import reading
    >>> result = reading.read_number("year.jpg", classify)  # doctest: +SKIP
    >>> result.text
    '2026'
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy import ndimage as ndi
from scipy import stats

from ..errors import ImageError
from ..fileio import atomic_path
from . import forms
from .ink import (
    MNIST_SIZE,
    Component,
    InkMap,
    blank_error,
    box_gap,
    find_components,
    find_ink,
    ink_to_mnist,
    long_runs,
    measure_stroke_width,
    turn,
)
from .loading import ImageSource, load_image, source_name

__all__ = [
    "MARK_KINDS",
    "WEIGHTS_WITHOUT_VERIFIER",
    "WEIGHTS_WITH_VERIFIER",
    "Classifier",
    "DigitCrop",
    "Mark",
    "ReadDigit",
    "ReadResult",
    "ScoreWeights",
    "VerifyFunction",
    "read_number",
    "read_number_recorded",
    "save_boxes_preview",
    "segment_digits",
]

Box = tuple[int, int, int, int]
Classifier = Callable[[np.ndarray], np.ndarray]
VerifyFunction = Callable[[np.ndarray], np.ndarray]

# Digit widths are measured against the line's digit height. MNIST digits
# are about 0.7 as wide as tall ('1' much less, '0' and '2' up to 1).
_MIN_DIGIT_WIDTH = 0.5
_MAX_DIGIT_WIDTH = 0.9
# Without a classifier, a group is cut only when it is this many typical
# digit widths wide.
_CUT_WIDTH = 1.45
# Groups this wide (in line heights) are also read as cut into pieces. The
# verifier can tell a digit from the halves of one, so with it even narrow
# groups (two touching '1's) are tried cut.
_SPLIT_FROM = 0.8
_SPLIT_FROM_VERIFIED = 0.4
# Neighbouring groups are tried as one digit up to this many typical digit
# widths wide.
_MERGE_WIDTH = 1.2
_MERGE_WIDTH_VERIFIED = 1.6
# A piece away from every digit is a digit of its own from this fraction of
# the largest piece's area.
_OWN_DIGIT_AREA = 0.1
# The segment verifier's context view spans this many line heights.
_CONTEXT_HEIGHTS = 1.6


@dataclass(frozen=True)
class DigitCrop:
    """One digit found in an image.

    Attributes:
        box: ``(x0, y0, x1, y1)`` in the input image's pixels, end exclusive.
        image28: The digit normalised MNIST-style, float32 ``(28, 28)`` in
            [0, 1], white on black.
    """

    box: Box
    image28: np.ndarray


class ReadDigit(NamedTuple):
    """A classified digit: ``(digit, probability, box)``."""

    digit: int
    probability: float
    box: Box


# The kinds of :class:`Mark`.
MARK_KINDS = ("dot", "comma", "dash", "underline", "slash", "plus", "equals", "currency", "box")


class Mark(NamedTuple):
    """A mark on the line that is not a digit: ``(kind, box)``.

    ``kind`` is one of :data:`MARK_KINDS`: ``"dot"``, ``"comma"``, ``"dash"``,
    ``"underline"``, ``"slash"``, ``"plus"``, ``"equals"``, ``"currency"`` (a
    leading '$') or ``"box"`` (a form's printed box or comb of cells around
    the number); the box is in input pixels, end exclusive.
    """

    kind: str
    box: Box


@dataclass(frozen=True)
class ReadResult:
    """What :func:`read_number` read.

    Attributes:
        text: The digits left to right, e.g. ``"2026"``.
        digits: One :class:`ReadDigit` ``(digit, probability, box)`` per
            character of ``text``, boxes in input pixels.
        images: The 28x28 inputs the classifier saw, float32 ``(N, 28, 28)``.
        marks: What was skipped as not a digit (separators, dashes,
            underlines, '/', '+', '=', a leading '$', a printed box), left to right: a
            caller can see that "1.990" was read as the digits 1 9 9 0 with
            a separator after the first.
    """

    text: str
    digits: list[ReadDigit]
    images: np.ndarray = field(repr=False)
    marks: list[Mark] = field(default_factory=list)

    @property
    def probability(self) -> float:
        """Probability that the whole number is right (product over digits)."""
        return float(np.prod([d.probability for d in self.digits])) if self.digits else 0.0

    def to_dict(self, min_confidence: float = 0.6) -> dict:
        """The reading as JSON-ready values: the shape ``read --json`` prints and the
        service returns. ``uncertain`` is true when any digit is below ``min_confidence``.
        """
        return {
            "text": self.text,
            "digits": [
                {
                    "digit": int(d.digit),
                    "probability": round(float(d.probability), 6),
                    "box": [int(v) for v in d.box],
                }
                for d in self.digits
            ],
            "uncertain": any(d.probability < min_confidence for d in self.digits),
            "marks": [{"kind": m.kind, "box": [int(v) for v in m.box]} for m in self.marks],
        }


@dataclass
class _Group:
    """Components taken for one digit (or several touching ones), in working pixels."""

    labels: list[int]
    box: Box
    area: int

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    def union(self, other: _Group) -> _Group:
        return _Group(
            self.labels + other.labels,
            (
                min(self.box[0], other.box[0]),
                min(self.box[1], other.box[1]),
                max(self.box[2], other.box[2]),
                max(self.box[3], other.box[3]),
            ),
            self.area + other.area,
        )


@dataclass
class _Line:
    """The ink of one image, grouped into digit candidates."""

    info: InkMap
    groups: list[_Group]
    height: float  # digit height, working pixels
    digit_width: float  # typical digit width, working pixels
    centre_y: float  # vertical centre of the line's digits, working pixels
    marks: list[tuple[str, Box]] = field(default_factory=list)  # working pixels
    # A leaning stroke that is a '/' if the digits around it read as a date
    # (:func:`_one_slash_date`), working pixels.
    date_slash: Box | None = None


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def _centre(box: Box) -> float:
    return (box[0] + box[2]) / 2


def _group_components(
    components: Sequence[Component], labels: np.ndarray | None = None
) -> tuple[list[_Group], float, list[tuple[str, Box]]]:
    """Merge broken strokes into digits, set marks aside and drop specks.

    ``labels`` (the :class:`InkMap`'s) lets marks be told by their shape
    too ('/', '+', '=', '$': :func:`_shape_mark`); without it only by size
    and place.

    Returns:
        The digit groups left to right, the line's digit height, and the
        marks ``(kind, box)`` found (see :func:`_mark_kind`).
    """
    if not components:
        return [], 0.0, []
    largest = max(c.area for c in components)
    # Specks: tiny compared with the largest piece of ink.
    pieces = [c for c in components if c.area >= 0.02 * largest]
    main = [c for c in pieces if c.area >= 0.2 * largest]
    # The line's digit height: digits touching each other or broken in two
    # keep it; small digits ('5' beside a '7') and fragments do not set it.
    height = float(np.percentile([c.height for c in main], 80))
    groups = [_Group([c.label], c.box, c.area) for c in sorted(pieces, key=lambda c: c.box[0])]

    # Merge pieces stacked above one another, or small pieces lying over a
    # bigger one, as long as the result stays about one digit wide.
    while len(groups) > 1:
        best = None
        for i, a in enumerate(groups):
            for j in range(i + 1, len(groups)):
                b = groups[j]
                horizontal = _overlap(a.box[0], a.box[2], b.box[0], b.box[2])
                narrow = max(min(a.width, b.width), 1)
                if horizontal < 0.5 * narrow:
                    continue
                vertical = _overlap(a.box[1], a.box[3], b.box[1], b.box[3])
                small = min(a.height, b.height) < 0.6 * height
                stacked = vertical < 0.3 * min(a.height, b.height)
                union = max(a.box[2], b.box[2]) - min(a.box[0], b.box[0])
                if (small or stacked) and union <= 1.1 * height:
                    score = horizontal / narrow
                    if best is None or score > best[0]:
                        best = (score, i, j)
        if best is None:
            break
        _, i, j = best
        groups[i] = groups[i].union(groups.pop(j))

    # Whatever is still small is a fragment or a mark: it joins a digit it
    # almost touches, or is dropped (a dot, a smudge, a speck). A short piece
    # counts as a digit of its own only when it is bulky and not flat: a
    # detached bar (the top of a '5', the foot of a '2') is flat however much
    # ink it holds.
    digits = [
        g
        for g in groups
        if g.height >= 0.35 * height or (g.area >= 0.2 * largest and g.width < 2 * g.height)
    ]
    # Marks: separators, dashes and lines are told from digits by their size
    # and where they sit on the line, before they can join a digit.
    tall = [g for g in digits if g.height >= 0.6 * height] or digits
    band = (
        float(np.median([g.box[1] for g in tall])),
        float(np.median([g.box[3] for g in tall])),
    )
    marks: list[tuple[str, Box]] = []
    kept = []
    for group in groups:
        others = [d for d in tall if d is not group]
        # Shapes first: an '=' is two dashes, and may be as flat as one.
        kind = _shape_mark(group, labels, height, band, others) if labels is not None else None
        kind = kind or _mark_kind(group, height, band, others)
        if kind is None:
            kept.append(group)
        else:
            marks.append((kind, group.box))
    digits = [g for g in digits if any(g is k for k in kept)]
    for group in kept:
        if any(group is d for d in digits):
            continue
        near = [
            (
                k,
                box_gap(group.box, d.box),
                -_overlap(group.box[0], group.box[2], d.box[0], d.box[2]),
            )
            for k, d in enumerate(digits)
            if box_gap(group.box, d.box) <= 0.15 * height
        ]
        if near:
            k = min(near, key=lambda item: item[1:])[0]
            merged = digits[k].union(group)
            if merged.width <= 1.1 * height:
                digits[k] = merged
                continue
        if group.area >= _OWN_DIGIT_AREA * largest and group.height >= 0.2 * height:
            # Away from every digit and not a speck: a small digit of its own
            # (a '2' written small at the end of a number).
            digits.append(group)
    digits.sort(key=lambda g: _centre(g.box))
    marks.sort(key=lambda m: _centre(m[1]))
    return digits, height, marks


# Highest a dash's centre sits in the band of the line's tall digits (0 top, 1
# bottom). On training digits the drawn dashes sat from 0.43 down, and 6 of 9
# flat pieces taken for dashes in numbers with no marks sat above 0.3.
_DASH_FROM = 0.35


def _mark_kind(
    group: _Group, height: float, band: tuple[float, float], digits: Sequence[_Group]
) -> str | None:
    """``"dot"``, ``"comma"``, ``"dash"`` or ``"underline"`` when ``group`` is such a mark.

    Args:
        group: A piece of ink (or several merged).
        height: The line's digit height.
        band: ``(top, bottom)`` of the line's tall digits.
        digits: The line's other tall digits.

    A flat piece (at most 0.3 of the digit height, twice as wide as tall)
    that lies beside the digits rather than over one (a detached bar of a
    '5' or a '7' lies over its digit) is an underline at or below the
    band's bottom and a dash lower than :data:`_DASH_FROM` of the band
    (higher up it is a detached bar too). A small piece (under 0.45 of
    the digit height both ways) lying wholly in the lower half of the band
    or below it is a dot, or a comma when it reaches below the band or is
    much taller than wide. Everything else is taken for (part of) a digit.
    """
    top, bottom = band
    centre_y = (group.box[1] + group.box[3]) / 2
    over_digit = any(
        _overlap(group.box[0], group.box[2], d.box[0], d.box[2]) > 0.3 * min(group.width, d.width)
        for d in digits
    )
    flat = group.height <= 0.3 * height and group.width >= 2 * group.height
    if flat and group.width >= 1.5 * height and centre_y > bottom - 0.25 * height:
        return "underline"  # long enough to run under several digits
    if flat and not over_digit:
        if centre_y > bottom - 0.15 * height:
            return "underline"
        # A dash sits about the middle of the band; a flat piece in its top
        # third is a detached bar (of a '5' or a '7') and joins its digit.
        return "dash" if centre_y >= top + _DASH_FROM * (bottom - top) else None
    small = group.height <= 0.45 * height and group.width <= 0.45 * height
    if small and not over_digit and group.box[1] >= (top + bottom) / 2:
        below = group.box[3] > bottom + 0.1 * height
        return "comma" if below or group.height > 1.6 * group.width else "dot"
    return None


def _shape_mark(
    group: _Group,
    labels: np.ndarray,
    height: float,
    band: tuple[float, float],
    digits: Sequence[_Group],
) -> str | None:
    """``"currency"``, ``"slash"``, ``"plus"`` or ``"equals"`` when ``group`` has that shape.

    Asked before :func:`_mark_kind`.

    Args:
        group: A piece of ink (or several merged).
        labels: The ink's component labels (working pixels).
        height: The line's digit height.
        band: ``(top, bottom)`` of the line's tall digits.
        digits: The line's other tall digits.

    * ``"currency"``: the first piece on the line, before a digit or more
      (two touching digits may be one piece), covering their band, 1.15
      times their median height or more (a '/' or a long '7' after it
      may be as tall as the '$'), with a stroke through it from top to bottom
      (:func:`_stroke_through`): a '$'. A '$' no taller than the digits, or
      a '€', is read as a digit.
    * ``"equals"``: two flat pieces, one over the other, lower than 0.7 of
      the digit height, beside the digits and within the band.
    * ``"plus"``: a piece between 0.25 and 0.8 of the digit height both
      ways, about as wide as tall, whose ink lies on one horizontal and one
      vertical bar crossing near its middle (:func:`_is_cross`), centred in
      the band and beside the digits.
    * ``"slash"``: a straight stroke (its ink's minor axis under 0.2 of its
      major one) between two digits, at least half the digit height tall,
      leaning right at least :data:`_SLASH_LEAN` degrees from the vertical.
      MNIST's '1's lean too: a steeper '/' is told from a '1' only by the
      line's layout (:func:`_slashes_in_context`).
    """
    x0, y0, x1, y1 = group.box
    if group.width < 2 or group.height < 2:
        return None
    top, bottom = band
    centre_x, centre_y = _centre(group.box), (y0 + y1) / 2
    before = sum(_centre(d.box) < centre_x for d in digits)
    after = sum(_centre(d.box) > centre_x for d in digits)
    mask = np.isin(labels[y0:y1, x0:x1], group.labels)
    if after >= 1 and not before:
        # Measured against the digits after it: a tall mark would stretch the band.
        digits_top = float(np.median([d.box[1] for d in digits]))
        digits_bottom = float(np.median([d.box[3] for d in digits]))
        digits_span = digits_bottom - digits_top
        if (
            group.height >= 1.15 * float(np.median([d.height for d in digits]))
            and y0 <= digits_top + 0.1 * digits_span
            and y1 >= digits_bottom - 0.1 * digits_span
            and _stroke_through(mask)
        ):
            return "currency"
    in_band = top + 0.2 * (bottom - top) <= centre_y <= bottom - 0.1 * (bottom - top)
    over_digit = any(
        _overlap(x0, x1, d.box[0], d.box[2]) > 0.3 * min(group.width, d.width) for d in digits
    )
    if not over_digit and in_band and group.height <= 0.7 * height:
        parts = ndi.find_objects(ndi.label(mask, structure=np.ones((3, 3), bool))[0])
        boxes = [(p[1].start, p[0].start, p[1].stop, p[0].stop) for p in parts]
        flat = [
            b for b in boxes if b[3] - b[1] <= 0.3 * height and b[2] - b[0] >= 1.5 * (b[3] - b[1])
        ]
        if len(boxes) == 2 and len(flat) == 2:
            (a0, _, a1, _), (b0, _, b1, _) = flat
            if _overlap(a0, a1, b0, b1) >= 0.6 * min(a1 - a0, b1 - b0):
                return "equals"
    if (
        not over_digit
        and in_band
        and 0.25 * height <= min(group.width, group.height)
        and max(group.width, group.height) <= 0.8 * height
        and 0.6 <= group.width / group.height <= 1.6
        and _is_cross(mask)
    ):
        return "plus"
    straight, lean = _axis(mask)
    if before and after and group.height >= 0.5 * height and straight and lean >= _SLASH_LEAN:
        return "slash"
    return None


# A straight stroke leaning at least this many degrees right of the vertical
# is a '/', not a '1'. Of MNIST's 6,742 training '1's, drawn 64 px tall and
# measured as the reader sees them, 1.0% lean 42 degrees or more, 0.36% 45,
# 0.07% (5) 48.
_SLASH_LEAN = 48.0
# Less leaning straight strokes are '/' where the layout says so
# (:func:`_slashes_in_context`). Chosen on training digits while one slash
# could still make a date: from 35 degrees plain numbers read as before, at
# 30 and 33 1-2% of them lost a leaning '1' to a '/'.
_SLASH_LEAN_IN_CONTEXT = 35.0


def _is_cross(mask: np.ndarray) -> bool:
    """Whether the ink is a '+': a row bar and a column bar, as thick as its
    strokes and thinner than 0.35 of the box, crossing in the middle half, each
    spanning 70% of the box, and the corners between them (at least a quarter
    of the box) holding under 5% of the ink."""
    h, w = mask.shape
    rows, columns = mask.sum(axis=1), mask.sum(axis=0)
    row = float(np.mean(np.flatnonzero(rows >= 0.8 * rows.max())))
    column = float(np.mean(np.flatnonzero(columns >= 0.8 * columns.max())))
    if not (0.25 * h <= row <= 0.75 * h and 0.25 * w <= column <= 0.75 * w):
        return False
    stroke = max(1.0, measure_stroke_width(mask))
    if stroke > 0.35 * min(h, w):  # a blob, not two bars
        return False
    half = 0.6 * stroke
    yy, xx = np.mgrid[0:h, 0:w]
    across, down = np.abs(yy - row) <= half, np.abs(xx - column) <= half
    horizontal, vertical = mask & across, mask & down
    if np.ptp(np.flatnonzero(horizontal.any(axis=0))) < 0.7 * w:
        return False
    if np.ptp(np.flatnonzero(vertical.any(axis=1))) < 0.7 * h:
        return False
    corners = ~(across | down)
    return bool(corners.mean() >= 0.25 and (mask & corners).sum() <= 0.05 * mask.sum())


def _axis(mask: np.ndarray) -> tuple[bool, float]:
    """Whether the ink is a straight stroke (its minor axis under 0.2 of its
    major one), and how many degrees its major axis leans right of the
    vertical ('/' positive, '\\' negative)."""
    ys, xs = np.nonzero(mask)
    if xs.size < 3:
        return False, 0.0
    eigen, vectors = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    dx, dy = vectors[:, 1]
    lean = float(np.degrees(np.arctan2(abs(dx), abs(dy))))
    straight = bool(eigen[1] > 0 and eigen[0] < 0.04 * eigen[1])
    return straight, -lean if dx * dy > 0 else lean  # image rows grow downwards


def _stroke_through(mask: np.ndarray) -> bool:
    """Whether a stroke runs through the ink from top to bottom, as in a '$': the
    top and bottom tenths of its rows hold only a narrow tip each (under 0.3 of
    its width), one above the other near the middle, and the ink is not just
    that stroke."""
    h, w = mask.shape
    k = max(1, round(0.1 * h))
    tips = []
    for rows in (mask[:k], mask[-k:]):
        columns = np.flatnonzero(rows.any(axis=0))
        if columns.size == 0 or np.ptp(columns) > 0.3 * w:
            return False
        tips.append(float(columns.mean()))
    middle = all(abs(tip - (w - 1) / 2) <= 0.2 * w for tip in tips)
    return middle and abs(tips[0] - tips[1]) <= 0.2 * w and not _axis(mask)[0]


def _without(info: InkMap, erase: np.ndarray) -> InkMap:
    """``info`` with the pixels ``erase`` taken out of its ink, mask and components."""
    mask = info.mask & ~erase
    ink = np.where(erase, 0.0, info.ink).astype(np.float32)
    labels, count = ndi.label(mask, structure=np.ones((3, 3), dtype=bool))
    return dataclasses.replace(
        info, mask=mask, ink=ink, labels=labels.astype(np.int32), count=count
    )


def _remove_form_lines(info: InkMap) -> tuple[InkMap, list[Box]]:
    """Take a printed box or comb of cells around the number out of the ink
    (:func:`mnist_cnn.vision.forms.find_form_lines`); its box comes back as the
    one box of the list (working pixels), or the list is empty."""
    lines = forms.find_form_lines(info.mask)
    if lines is None:
        return info, []
    ys, xs = np.nonzero(lines)
    erase = ndi.binary_dilation(lines, iterations=max(1, round(info.reach)))
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    return _without(info, erase), [box]


def _remove_long_lines(info: InkMap) -> tuple[InkMap, list[Box]]:
    """Take underlines and baselines out of the ink, even where digits touch them.

    A horizontal run of ink longer than 1.5 times the line's height (the
    95th percentile of each column's ink extent) is longer than any stroke
    of a digit: such runs in the lowest quarter of the writing are removed
    from the mask and the ink, and each comes back as a box (working pixels).
    """
    mask = info.mask
    columns = np.flatnonzero(mask.any(axis=0))
    if columns.size == 0:
        return info, []
    first = np.argmax(mask[:, columns], axis=0)
    last = mask.shape[0] - np.argmax(mask[::-1, columns], axis=0)
    extent = float(np.percentile(last - first, 95))
    length = int(round(1.5 * extent))
    if length < 8 or length >= mask.shape[1]:
        return info, []
    lines = long_runs(mask, length)
    if not lines.any():
        return info, []
    labels, count = ndi.label(lines, structure=np.ones((3, 3), bool))
    rows = np.flatnonzero(mask.any(axis=1))
    low = rows[0] + 0.75 * (rows[-1] + 1 - rows[0])
    boxes = []
    for slices in ndi.find_objects(labels):
        y0, y1, x0, x1 = slices[0].start, slices[0].stop, slices[1].start, slices[1].stop
        # A thick bar (a block of ink) is not a line, and an underline lies
        # under the writing (a wide '4' or '7' has long bars higher up).
        if y1 - y0 <= 0.35 * extent and (y0 + y1) / 2 >= low:
            boxes.append((x0, y0, x1, y1))
    if not boxes:
        return info, []
    erase = np.zeros(mask.shape, bool)
    for x0, y0, x1, y1 in boxes:
        erase[y0:y1, x0:x1] = True
    return _without(info, erase), boxes


def _typical_width(groups: Sequence[_Group], height: float) -> float:
    widths = [g.width for g in groups if g.width < 1.3 * height]
    typical = float(np.median(widths)) if widths else 0.7 * height
    return float(np.clip(typical, _MIN_DIGIT_WIDTH * height, _MAX_DIGIT_WIDTH * height))


def _profile(group: _Group, info: InkMap) -> np.ndarray:
    """Ink per column of a group (its strokes only), lightly smoothed."""
    x0, y0, x1, y1 = group.box
    strokes = np.isin(info.labels[y0:y1, x0:x1], group.labels)
    return ndi.uniform_filter1d(strokes.sum(axis=0).astype(np.float64), size=3, mode="nearest")


def _even_cuts(profile: np.ndarray, pieces: int) -> list[int]:
    """Cut columns for ``pieces`` digits: the least ink near where an even split puts them.

    Each cut is searched within 35% of a piece's width of its even position,
    favouring that position a little so a long thin stroke is not cut at an end.
    """
    width = profile.size
    peak = max(float(profile.max()), 1e-9)
    cuts: list[int] = []
    start = 0
    for k in range(1, pieces):
        expected = k * width / pieces
        half = 0.35 * width / pieces
        lo = max(start + 1, int(expected - half))
        hi = min(width - 1, int(expected + half) + 1)
        if hi <= lo:
            cut = min(max(start + 1, int(expected)), width - 1)
        else:
            columns = np.arange(lo, hi)
            cost = profile[lo:hi] / peak + 0.3 * np.abs(columns - expected) / max(half, 1.0)
            cut = int(columns[int(np.argmin(cost))])
        cuts.append(cut)
        start = cut
    return cuts


def _single_cuts(profile: np.ndarray, limit: int = 3) -> list[int]:
    """Candidate columns for cutting a group in two: the deepest valleys of its ink profile."""
    width = profile.size
    lo, hi = max(1, int(0.15 * width)), min(width - 1, int(np.ceil(0.85 * width)))
    if hi <= lo:
        return []
    inner = profile[lo:hi]
    left = np.concatenate([[np.inf], inner[:-1]])
    right = np.concatenate([inner[1:], [np.inf]])
    minima = np.flatnonzero((inner <= left) & (inner <= right)) + lo
    chosen: list[int] = []
    for column in sorted(minima, key=lambda c: (profile[c], abs(c - width / 2))):
        if all(abs(column - c) >= 0.1 * width for c in chosen):
            chosen.append(int(column))
        if len(chosen) == limit:
            break
    return chosen


@dataclass
class _Piece:
    """One digit: a group, or the part of a group between two cut columns."""

    labels: list[int]
    x_range: tuple[int, int]  # working columns [start, stop) it may take pixels from


def _cut(group: _Group, info: InkMap, cuts: Sequence[int]) -> list[_Piece]:
    """The pieces of ``group`` cut at ``cuts`` (columns relative to its box)."""
    width = info.labels.shape[1]
    edges = [0, *[group.box[0] + c for c in sorted(cuts)], width]
    spans = zip(edges[:-1], edges[1:], strict=True)
    return [_Piece(group.labels, (start, stop)) for start, stop in spans]


def _region(group: _Group, info: InkMap) -> Box:
    margin = int(np.ceil(info.reach)) + 2
    height, width = info.labels.shape
    x0, y0, x1, y1 = group.box
    return (
        max(0, x0 - margin),
        max(0, y0 - margin),
        min(width, x1 + margin),
        min(height, y1 + margin),
    )


class _Rendered(NamedTuple):
    crop: DigitCrop
    box: Box  # working pixels
    context: np.ndarray | None  # (28, 28) view of the piece among its neighbours


def _render(
    info: InkMap,
    pieces: Sequence[_Piece],
    region: Box | None = None,
    line: _Line | None = None,
) -> list[_Rendered]:
    """Cut each piece's ink (with its fringe) out of ``info`` and normalise it to 28x28.

    Only ``region`` (working pixels, default the whole image) is looked at.
    Fringe pixels go to the nearest stroke, so a neighbour's edges stay out.
    Returns one ``(crop, working_box, context)`` per piece, in the order given
    (an empty piece gives a blank image and zero-size boxes). With ``line``,
    ``context`` is :func:`_context`'s view of the piece within the line.
    """
    height, width = info.labels.shape
    x0, y0, x1, y1 = region if region is not None else (0, 0, width, height)
    labels = info.labels[y0:y1, x0:x1]
    owner = np.where(labels > 0, -1, 0).astype(np.int32)  # -1: ink of other digits
    for number, piece in enumerate(pieces, start=1):
        start, stop = piece.x_range
        band = np.zeros(x1 - x0, dtype=bool)
        band[max(0, start - x0) : max(0, stop - x0)] = True
        owner[np.isin(labels, piece.labels) & band[None, :]] = number
    distance, (iy, ix) = ndi.distance_transform_edt(owner == 0, return_indices=True)
    nearest = np.where(distance <= info.reach, owner[iy, ix], 0)
    nearest[owner != 0] = owner[owner != 0]
    ink_region = info.ink[y0:y1, x0:x1]
    objects = ndi.find_objects(np.maximum(nearest, 0), max_label=len(pieces))
    crops = []
    for number, slices in enumerate(objects, start=1):
        if slices is None or not (owner[slices] == number).any():
            blank = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
            empty = blank if line is not None else None
            crops.append(_Rendered(DigitCrop((0, 0, 0, 0), blank), (0, 0, 0, 0), empty))
            continue
        zone = nearest[slices] == number
        strokes = owner[slices] == number
        ink = np.where(zone, ink_region[slices], 0.0).astype(np.float32)
        image28, _ = ink_to_mnist(ink, strokes, measure_stroke_width(strokes, ink))
        ys, xs = np.nonzero(zone)
        top, left = y0 + slices[0].start, x0 + slices[1].start
        work_box = (
            left + int(xs.min()),
            top + int(ys.min()),
            left + int(xs.max()) + 1,
            top + int(ys.max()) + 1,
        )
        box = info.to_original(work_box)
        context = None
        if line is not None:
            context = _context(info, np.where(zone, ink, 0.0), (top, left), work_box, line)
        crops.append(_Rendered(DigitCrop(box=box, image28=image28), work_box, context))
    return crops


def _context(info: InkMap, own: np.ndarray, corner: tuple[int, int], box: Box, line: _Line):
    """A piece seen among its neighbours, for the segment verifier.

    A square of 1.6 line heights centred on the piece (horizontally) and on
    the line (vertically), scaled to 28x28: the piece's own ink at full
    strength, everybody else's at half. It shows what normalising to 28x28
    hides: how big the piece is next to the line's digits, and whether ink
    goes on past its edges (a piece of a digit) or not.
    """
    size = max(4, int(round(_CONTEXT_HEIGHTS * line.height)))
    y0 = int(round(line.centre_y - size / 2))
    x0 = int(round((box[0] + box[2]) / 2 - size / 2))
    window = np.zeros((size, size), np.float32)
    _paste(window, 0.5 * info.ink, (y0, x0))
    _paste(window, own, (y0, x0), at=corner)
    small = Image.fromarray(window, mode="F").resize((MNIST_SIZE, MNIST_SIZE), Image.BOX)
    return np.asarray(small, dtype=np.float32)


def _paste(window: np.ndarray, source: np.ndarray, origin: tuple[int, int], at=(0, 0)) -> None:
    """Write the part of ``source`` (placed at ``at``) that falls in ``window`` (at ``origin``)."""
    top, left = at[0] - origin[0], at[1] - origin[1]
    y0, x0 = max(0, top), max(0, left)
    y1 = min(window.shape[0], top + source.shape[0])
    x1 = min(window.shape[1], left + source.shape[1])
    if y1 > y0 and x1 > x0:
        part = source[y0 - top : y1 - top, x0 - left : x1 - left]
        window[y0:y1, x0:x1] = np.maximum(window[y0:y1, x0:x1], part)


# A line of digits is turned level when its slope is clear of the digits' own
# ups and downs (:func:`_line_skew`) and over _MIN_SKEW degrees. Read as it
# lies, a sloping line puts its '.' and ',' off the band of the digits, where
# they came out as a '1', the other separator or nothing. On training-digit
# amounts (200 of each kind) this turned 12 of 2,200 level ones, changing no
# reading, and took decimal amounts sloping 4-10 degrees from 0.96 to 0.975
# exact. Beyond _MAX_SKEW the ink is not taken for a line written across.
_MIN_SKEW = 3.0
_MAX_SKEW = 20.0


def _line_skew(components: Sequence[Component]) -> float:
    """The slope, in degrees (clockwise as shown), of the line through the centres of
    the digit-sized components (Theil-Sen: the median slope over pairs); 0 when
    fewer than four of them span at least two digit heights, or when the slope
    is not clear of their scatter (a one-sided t-test at 1 %)."""
    if not components:
        return 0.0
    largest = max(c.area for c in components)
    main = [c for c in components if c.area >= 0.2 * largest]
    height = float(np.percentile([c.height for c in main], 80))
    digits = [c for c in main if c.height >= 0.5 * height and c.width <= 1.5 * height]
    if len(digits) < 4:
        return 0.0
    xs = np.array([_centre(c.box) for c in digits])
    ys = np.array([(c.box[1] + c.box[3]) / 2 for c in digits])
    if np.ptp(xs) < 2 * height:
        return 0.0
    i, j = np.triu_indices(len(digits), 1)
    apart = np.abs(xs[j] - xs[i]) >= 0.5 * height
    slope = float(np.median((ys[j] - ys[i])[apart] / (xs[j] - xs[i])[apart]))
    # Written digits go up and down: the slope counts only where it stands
    # clear of that scatter (a t-test of it against 0, one-sided at 1 %).
    residuals = ys - slope * xs
    residuals -= np.median(residuals)
    freedom = len(xs) - 2
    error = np.sqrt((residuals**2).sum() / freedom / ((xs - xs.mean()) ** 2).sum())
    if abs(slope) < stats.t.ppf(0.99, freedom) * error:
        return 0.0
    return float(np.degrees(np.arctan(slope)))


def _level(info: InkMap) -> InkMap:
    """``info``, or that of its image turned so that its line of digits runs level
    (boxes still map to the input's pixels: :meth:`InkMap.to_original`)."""
    skew = _line_skew(find_components(info))
    if not _MIN_SKEW <= abs(skew) <= _MAX_SKEW:
        return info
    turned, how = turn(info.gray, -skew)
    try:
        level = find_ink(turned)
    except ImageError:  # too large once turned, or its ink lost
        return info
    return dataclasses.replace(level, turn=how)


def _analyse(source: ImageSource) -> _Line:
    name = source_name(source)
    info, frame = _remove_form_lines(_level(find_ink(source)))
    info, lines = _remove_long_lines(info)
    groups, height, marks = _group_components(find_components(info), info.labels)
    if not groups or height < 4:
        raise blank_error(name)
    marks += [("box", box) for box in frame] + [("underline", box) for box in lines]
    marks = sorted(marks, key=lambda m: _centre(m[1]))
    width = _typical_width(groups, height)
    groups, marks, date_slash = _slashes_in_context(groups, marks, info.labels, height, width)
    if not groups:
        raise blank_error(name)
    centre_y = float(np.median([(g.box[1] + g.box[3]) / 2 for g in groups]))
    return _Line(info, groups, height, width, centre_y, marks, date_slash)


def _slashes_in_context(
    groups: list[_Group],
    marks: list[tuple[str, Box]],
    labels: np.ndarray,
    height: float,
    digit_width: float,
) -> tuple[list[_Group], list[tuple[str, Box]], Box | None]:
    """Take straight strokes leaning :data:`_SLASH_LEAN_IN_CONTEXT` degrees or
    more for '/' where the line's layout says they are one.

    Many of MNIST's '1's lean as far as a '/' is written (13% of them 30
    degrees or more), so by its shape alone a stroke counts as a '/' only
    from :data:`_SLASH_LEAN` (:func:`_shape_mark`). A less leaning stroke is
    a '/' when it makes the line a whole date, or ends an amount before a
    dash:

    * date: two slashes (those found by shape and these) cut the digits
      into runs of 1-2, 1-2 and 2 or 4 (d/m/yy, dd/mm/yyyy). One slash is
      not enough by layout alone: "92/60" is as likely "92160" with a
      leaning '1' (on test digits, one plain number in a hundred lost a '1'
      that way). Such a stroke is returned instead, and it is a '/' if the
      digits around it read as a day and a month (:func:`_one_slash_date`);
    * ``/-``: the stroke follows the last digit and a dash or '=' follows
      it, as amounts are closed on cheques ("1500/-").

    Returns:
        The digit groups and the marks, with such strokes moved to the marks
        as ``"slash"``, and the box of the stroke that cuts the line into
        runs of 1-2 digits each (the most leaning one), if no slash was found.
    """
    leaning = {}
    for k, group in enumerate(groups):
        if group.height < 0.5 * height:
            continue
        x0, y0, x1, y1 = group.box
        straight, lean = _axis(np.isin(labels[y0:y1, x0:x1], group.labels))
        if straight and lean >= _SLASH_LEAN_IN_CONTEXT:
            leaning[k] = lean
    if not leaning:
        return groups, marks, None
    slashes: set[int] = set()
    closing = [_centre(box) for kind, box in marks if kind in ("dash", "equals")]
    last = len(groups) - 1
    if last in leaning and last > 0 and any(x > _centre(groups[last].box) for x in closing):
        slashes.add(last)
    # Digits per group as their width suggests, and where the shape slashes are.
    counts = [_count_by_width(g, height, digit_width) for g in groups]
    shape_slashes = [_centre(box) for kind, box in marks if kind == "slash"]
    # A whole date (two slashes) with the most leaning strokes.
    best: tuple[float, tuple[int, ...]] | None = None
    candidates = sorted(k for k in leaning if k not in slashes)
    size = 2 - len(shape_slashes)
    for chosen in itertools.combinations(candidates, size) if size > 0 else ():
        runs = _runs(groups, counts, set(chosen), shape_slashes)
        if runs is not None and _is_date(runs):
            score = (min(leaning[k] for k in chosen), chosen)
            if best is None or score[0] > best[0]:
                best = score
    if best is not None:
        slashes.update(best[1])
    if not slashes:
        # One stroke that would make the line a day and a month (d/m, dd/mm).
        date_slash = None
        if not shape_slashes:
            for k in sorted(leaning, key=leaning.get, reverse=True):
                runs = _runs(groups, counts, {k}, [])
                if runs is not None and len(runs) == 2 and max(runs) <= 2:
                    date_slash = groups[k].box
                    break
        return groups, marks, date_slash
    marks = sorted(
        marks + [("slash", groups[k].box) for k in slashes], key=lambda m: _centre(m[1])
    )
    return [g for k, g in enumerate(groups) if k not in slashes], marks, None


def _one_slash_date(digits: list[ReadDigit], stroke: Box) -> int | None:
    """The index of the digit read from ``stroke`` (input pixels) when the others
    read as a day and a month around it (d/m, dd/mm, or m/d): a leaning '1'
    that is a '/' by what the digits say."""
    x0, _, x1, _ = stroke
    inside = [k for k, d in enumerate(digits) if x0 <= _centre(d.box) <= x1]
    if len(inside) != 1:
        return None
    k = inside[0]
    before = "".join(str(d.digit) for d in digits[:k])
    after = "".join(str(d.digit) for d in digits[k + 1 :])
    if not (1 <= len(before) <= 2 and 1 <= len(after) <= 2):
        return None
    first, second = int(before), int(after)
    day_month = 1 <= first <= 31 and 1 <= second <= 12
    month_day = 1 <= first <= 12 and 1 <= second <= 31
    return k if day_month or month_day else None


def _count_by_width(group: _Group, height: float, digit_width: float) -> int:
    """Digits in a group, before reading: one unless it is wider than any one digit."""
    return 1 if group.width < 1.3 * height else max(2, round(group.width / digit_width))


def _runs(
    groups: list[_Group], counts: list[int], chosen: set[int], shape_slashes: list[float]
) -> list[int] | None:
    """Digits between consecutive slashes, left to right (None when a run is empty)."""
    cuts = sorted([_centre(groups[k].box) for k in chosen] + shape_slashes)
    runs = [0] * (len(cuts) + 1)
    for k, group in enumerate(groups):
        if k in chosen:
            continue
        runs[int(np.searchsorted(cuts, _centre(group.box)))] += counts[k]
    return runs if all(runs) else None


def _is_date(runs: list[int]) -> bool:
    """Whether digit runs between two slashes are laid out as a date (d/m/yy, dd/mm/yyyy)."""
    return len(runs) == 3 and runs[0] <= 2 and runs[1] <= 2 and runs[2] in (2, 4)


def _geometric_count(group: _Group, line: _Line) -> int:
    """How many digits a group's width suggests: one unless clearly too wide for one."""
    ratio = group.width / line.digit_width
    return 1 if ratio < _CUT_WIDTH else max(2, round(ratio))


def segment_digits(source: ImageSource) -> list[DigitCrop]:
    """Find the digits of a handwritten number, left to right, each normalised to 28x28.

    Components of the ink are merged into digits (broken strokes) and cut
    (touching digits) by geometry alone; :func:`read_number` also asks the
    classifier when the geometry is ambiguous.

    Args:
        source: Anything :func:`mnist_cnn.preprocess.load_image` accepts.

    Returns:
        One :class:`DigitCrop` per digit, sorted by horizontal position.

    Raises:
        ImageError: The image cannot be read or holds no ink.
    """
    line = _analyse(source)
    crops = []
    for group in line.groups:
        count = _geometric_count(group, line)
        cuts = _even_cuts(_profile(group, line.info), count) if count > 1 else []
        rendered = _render(line.info, _cut(group, line.info, cuts), _region(group, line.info))
        crops += [r.crop for r in rendered]
    crops = [c for c in crops if c.box[2] > c.box[0]]
    crops.sort(key=lambda c: _centre(c.box))
    return crops


def _classify(classify: Classifier, images: np.ndarray) -> np.ndarray:
    batch = np.asarray(images, dtype=np.float32).reshape(-1, MNIST_SIZE, MNIST_SIZE)
    probabilities = np.asarray(classify(batch), dtype=np.float64)
    if probabilities.shape != (len(batch), 10):
        raise ValueError(
            f"classify must map (N, 28, 28) images to (N, 10) probabilities; "
            f"got shape {probabilities.shape} for N={len(batch)}"
        )
    return probabilities


class _Scores(NamedTuple):
    """What the models said about a batch of candidate digits."""

    probabilities: np.ndarray  # (N, 10) class probabilities
    whole: np.ndarray | None  # (N,) verifier's P(one whole digit), or None


def _reading_score(
    scores: _Scores, rows: slice, boxes: Sequence[Box], line: _Line, weights: ScoreWeights
) -> float:
    """How plausible a reading of some ink as ``len(boxes)`` digits is (log scale).

    The sum of the log-probabilities of the digits' classes; with a
    verifier, plus ``weights.verifier`` times the log of its belief that each
    piece is one whole digit. Minus penalties for shapes that single digits
    rarely have: wider than 0.95 of the line's digit height (5% of MNIST
    digits), or shorter than 0.6 of it (what cutting a digit in two often
    leaves), and a cost per extra digit.
    """
    probabilities = scores.probabilities[rows]
    score = float(np.sum(np.log(probabilities.max(axis=1) + 1e-6)))
    if scores.whole is not None:
        score += weights.verifier * float(np.sum(np.log(scores.whole[rows] + 1e-4)))
    for x0, y0, x1, y1 in boxes:
        aspect = (x1 - x0) / line.height
        score -= weights.wide * max(0.0, aspect - 0.95)
        score -= weights.short * max(0.0, np.log(0.6 * line.height / max(y1 - y0, 1)))
    return score - weights.piece_cost * (len(boxes) - 1)


@dataclass(frozen=True)
class ScoreWeights:
    """How :func:`read_number` weighs the evidence for one reading against another.

    Attributes:
        verifier: Weight of the segment verifier's log-belief per digit.
        wide: Penalty per line height of width beyond 0.95 of it.
        short: Penalty per unit of log(0.6 height / digit height).
        piece_cost: Cost of each digit beyond the first.
    """

    verifier: float = 1.0
    wide: float = 3.0
    short: float = 3.0
    piece_cost: float = 0.8


# Without a verifier the geometry priors carry the decision; with one they
# are mostly its job (chosen on validation numbers: see
# benchmarks/train_verifier.py).
WEIGHTS_WITHOUT_VERIFIER = ScoreWeights(verifier=0.0)
WEIGHTS_WITH_VERIFIER = ScoreWeights(verifier=1.0, wide=1.0, short=1.0, piece_cost=0.4)


class _Batch:
    """Collects candidate digits, scores them in one call, and hands back their rows."""

    def __init__(self, line: _Line, verify: VerifyFunction | None, record: list | None) -> None:
        self.line = line
        self.verify = verify
        self.record = record
        # Pieces get a context view, and the reader tries the wider set of
        # cuts and merges, when a verifier will judge them (or to train one).
        self.verified = verify is not None or record is not None
        self.crops: list[DigitCrop] = []
        self.contexts: list[np.ndarray] = []

    def add(self, group: _Group, cuts: Sequence[int]) -> tuple[slice, list[Box]] | None:
        """Render ``group`` cut at ``cuts``; None when a cut leaves an empty piece."""
        info = self.line.info
        line = self.line if self.verified else None
        rendered = _render(info, _cut(group, info, cuts), _region(group, info), line)
        if not all(r.box[2] > r.box[0] for r in rendered):
            return None
        start = len(self.crops)
        self.crops += [r.crop for r in rendered]
        if line is not None:
            self.contexts += [r.context for r in rendered]
        return slice(start, len(self.crops)), [r.box for r in rendered]

    def run(self, classify: Classifier) -> _Scores:
        if not self.crops:
            return _Scores(np.zeros((0, 10)), None)
        images = np.stack([c.image28 for c in self.crops])
        if self.record is not None:
            self.record.append((list(self.crops), np.stack(self.contexts)))
        probabilities = _classify(classify, images)
        whole = None
        if self.verify is not None:
            pairs = np.stack([images, np.stack(self.contexts)], axis=-1)
            whole = np.asarray(self.verify(pairs), dtype=np.float64).reshape(-1)
            if whole.shape != (len(images),):
                raise ValueError(
                    f"verify must map (N, 28, 28, 2) inputs to (N,) probabilities; "
                    f"got {whole.size} values for N={len(images)}"
                )
        return _Scores(probabilities, whole)


def _merge_by_reading(
    line: _Line, classify: Classifier, batch: _Batch, weights: ScoreWeights
) -> list[_Group]:
    """Merge neighbouring groups that read better as one digit (a broken '0', say).

    ``batch`` is a fresh :class:`_Batch` to score the candidates with.
    """
    groups = line.groups
    # The verifier can tell a wide digit from two narrow ones, so with it
    # wider unions are tried (a '5' or '2' whose stroke came apart).
    widest = (_MERGE_WIDTH_VERIFIED if batch.verified else _MERGE_WIDTH) * line.digit_width
    pairs = []
    for i in range(len(groups) - 1):
        a, b = groups[i], groups[i + 1]
        union = a.union(b)
        if union.width > widest:
            continue
        overlapping = _overlap(a.box[0], a.box[2], b.box[0], b.box[2]) > 0
        if overlapping or b.box[0] - a.box[2] <= 0.1 * line.height:
            pairs.append(i)
    if not pairs:
        return groups
    slots = {}
    for i in pairs:
        a, b = groups[i], groups[i + 1]
        options = [batch.add(a, []), batch.add(b, []), batch.add(a.union(b), [])]
        if all(option is not None for option in options):
            slots[i] = options
    scores = batch.run(classify)
    merged: list[_Group] = []
    i = 0
    while i < len(groups):
        if i in slots:
            (sa, boxes_a), (sb, boxes_b), (su, boxes_u) = slots[i]
            apart = (
                _reading_score(scores, sa, boxes_a, line, weights)
                + _reading_score(scores, sb, boxes_b, line, weights)
                - weights.piece_cost
            )
            together = _reading_score(scores, su, boxes_u, line, weights)
            if together > apart:
                merged.append(groups[i].union(groups[i + 1]))
                i += 2
                continue
        merged.append(groups[i])
        i += 1
    return merged


def read_number(
    source: ImageSource,
    classify: Classifier,
    verify: VerifyFunction | None = None,
    *,
    weights: ScoreWeights | None = None,
) -> ReadResult:
    """Read a handwritten number: segment its digits and classify them left to right.

    Segmentation is as in :func:`segment_digits`, except that where the
    geometry is ambiguous (neighbours that might be one broken digit, a
    group that might be one wide digit or two touching ones) every reading
    is classified and the most plausible one is kept: the classifier's
    confidence, the verifier's belief that each piece is one whole digit
    (when given), and how far the pieces' shapes are from a digit's.

    Args:
        source: Anything :func:`mnist_cnn.preprocess.load_image` accepts, e.g. a
            photo of "2026" written on paper.
        classify: Maps float32 ``(N, 28, 28)`` images in [0, 1] to ``(N, 10)``
            class probabilities (e.g. a Keras model's ``predict``).
        verify: Optional segment verifier: maps float32 ``(N, 28, 28, 2)``
            inputs (the 28x28 digit and its context) to ``(N,)`` probabilities
            that each is one whole digit, e.g.
            :meth:`mnist_cnn.inference.verifier.Verifier.load`'s result. It catches a
            '1' swallowed by its neighbour and digits cut into fragments.
        weights: How to weigh the evidence. Default: ``verify.weights`` (a
            :class:`mnist_cnn.inference.verifier.Verifier` carries the weights chosen
            with it), else :data:`WEIGHTS_WITH_VERIFIER` or
            :data:`WEIGHTS_WITHOUT_VERIFIER`.

    Returns:
        A :class:`ReadResult` with the number as text and each digit's
        probability and box.

    Raises:
        ImageError: The image cannot be read or holds no digit.
        ValueError: ``classify`` or ``verify`` returned the wrong shape.
    """
    if weights is None:
        weights = (
            getattr(verify, "weights", WEIGHTS_WITH_VERIFIER)
            if verify is not None
            else WEIGHTS_WITHOUT_VERIFIER
        )
    return read_number_recorded(source, classify, verify, weights, record=None)


def read_number_recorded(
    source: ImageSource,
    classify: Classifier,
    verify: VerifyFunction | None,
    weights: ScoreWeights,
    record: list | None,
) -> ReadResult:
    """:func:`read_number`; with ``record``, also append to it, per scoring call, the
    candidate crops and their context views (the segment verifier's training data)."""
    line = _analyse(source)
    groups = _merge_by_reading(line, classify, _Batch(line, verify, record), weights)

    # Readings of each group: whole; cut in two at each deep valley of its ink
    # profile; and as many digits as its width suggests, give or take one.
    batch = _Batch(line, verify, record)
    readings: list[list[tuple[slice, list[Box]]]] = []
    split_from = _SPLIT_FROM_VERIFIED if batch.verified else _SPLIT_FROM
    for group in groups:
        options: list[list[int]] = [[]]
        if group.width >= split_from * line.height:
            profile = _profile(group, line.info)
            options += [[cut] for cut in _single_cuts(profile)]
            count = max(2, round(group.width / line.digit_width))
            options += [_even_cuts(profile, n) for n in (count - 1, count, count + 1) if n >= 2]
        added = [batch.add(group, cuts) for cuts in options]
        readings.append([reading for reading in added if reading is not None])
    scores = batch.run(classify)

    chosen: list[tuple[DigitCrop, np.ndarray]] = []
    for group_readings in readings:
        if not group_readings:
            continue
        rows, _ = max(
            group_readings,
            key=lambda reading: _reading_score(scores, reading[0], reading[1], line, weights),
        )
        chosen += list(zip(batch.crops[rows], scores.probabilities[rows], strict=True))
    if not chosen:
        raise blank_error(source_name(source))
    chosen.sort(key=lambda item: _centre(item[0].box))
    digits = [ReadDigit(int(np.argmax(p)), float(np.max(p)), crop.box) for crop, p in chosen]
    marks = [Mark(kind, line.info.to_original(box)) for kind, box in line.marks]
    if line.date_slash is not None:
        k = _one_slash_date(digits, line.info.to_original(line.date_slash))
        if k is not None:  # digits[k] was read from chosen[k]
            slash = digits.pop(k)
            del chosen[k]
            marks = sorted(marks + [Mark("slash", slash.box)], key=lambda m: _centre(m.box))
    return ReadResult(
        text="".join(str(d.digit) for d in digits),
        digits=digits,
        images=np.stack([crop.image28 for crop, _ in chosen]).astype(np.float32),
        marks=marks,
    )


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def save_boxes_preview(
    source: ImageSource, result: ReadResult, path: str | os.PathLike[str]
) -> Path:
    """Draw each digit's box and reading on the image and save it as PNG (atomically).

    Args:
        source: The image that was read (anything ``load_image`` accepts).
        result: What :func:`read_number` returned for it.
        path: Where to write the PNG.

    Returns:
        The path written.
    """
    gray = load_image(source)
    image = Image.fromarray((gray * 255 + 0.5).astype(np.uint8), mode="L").convert("RGB")
    # Keep the preview a sensible size, whatever the photo's resolution.
    factor = min(1.0, 1600 / max(image.size))
    if factor < 1.0:
        image = image.resize(
            (max(1, round(image.width * factor)), max(1, round(image.height * factor))),
            Image.LANCZOS,
        )
    draw = ImageDraw.Draw(image)
    line = max(1, round(max(image.size) / 400))
    font_size = max(10, min(48, round(0.12 * image.height)))
    font = _font(font_size)
    for digit, probability, box in result.digits:
        x0, y0, x1, y1 = (round(v * factor) for v in box)
        colour = (
            (0, 160, 0)
            if probability >= 0.9
            else (230, 140, 0)
            if probability >= 0.6
            else (220, 0, 0)
        )
        draw.rectangle([x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)], outline=colour, width=line)
        label = f"{digit} {probability:.0%}"
        text_y = max(0, y0 - font_size - 2 * line)
        draw.text((x0, text_y), label, fill=colour, font=font)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)
