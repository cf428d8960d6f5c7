"""Printed boxes around handwriting: a form's field, a cheque's amount box, a comb of cells.

People write digits where a form asks for them: inside a printed rectangle,
or one digit per cell of a comb. To the plain recipe the box is the largest
piece of ink, so it crops to the box and the digit inside shrinks to a
speck; to the number reader its sides are extra '1's. :func:`find_form_lines`
finds the box's lines in a binarised image, exactly and conservatively: two
thin straight horizontal lines, one above and one below the writing, joined
by two or more thin straight vertical lines that run from one to the other,
with the writing between them; or an open comb, one such line under the
writing with three or more ticks rising from it at an even pitch, each
shorter than the writing. A digit has no such frame (a tight crop's bar
of a '7' or a '1' touching the edges is one line, not a closed box), ruled
or squared paper has more than two lines across, and an underline has no
sides or ticks. :func:`erase_lines` paints the lines in the paper's tone, so every
later stage sees handwriting on paper.

Example:
    >>> lines = find_form_lines(mask)  # doctest: +SKIP
    >>> if lines is not None:
    ...     gray = erase_lines(gray, lines)  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from . import baseline
from .ink import long_runs, measure_stroke_width

__all__ = ["erase_lines", "find_box", "find_edge_remnants", "find_form_lines"]

# A box's top and bottom lines run across at least this fraction of the picture.
_MIN_ACROSS = 0.45
# A side runs at least this fraction of the way from the top line to the bottom one.
_MIN_SIDE = 0.8
# A line is at most this thick on average: this fraction of the picture's
# shorter side, or 2.5 px if more (a printed rule, not a pen's bar).
_MAX_THICKNESS = 0.06
# A rule's thickness is within a pixel of its median over this fraction of its length.
_MIN_EVEN = 0.8
# An open comb's ticks are at most this fraction of the writing's height, and
# at least this fraction of the places on their even pitch hold one.
_MAX_TICK = 0.85
_MIN_TICKS_PRESENT = 0.75
# Of the ink that is not the box's, at least this fraction lies inside it.
_MIN_INSIDE = 0.6
# What is left of a box the picture was cut at (find_edge_remnants): pieces of
# ink lying wholly within this fraction of the shorter side from the edges,
# running along at least _MIN_REMNANT of a side, at most _REMNANT_THINNER as
# thick as the writing's strokes, and _GAP of a stroke's width clear of it.
_EDGE_BAND = 0.05
_MIN_REMNANT = 0.3
_REMNANT_THINNER = 0.6
_GAP = 0.5
# A rule is at least this many times as long as it is thick.
_MIN_ELONGATION = 10


def _even(thickness: np.ndarray) -> bool:
    """A line's thickness, along it, is within a pixel of its median over
    :data:`_MIN_EVEN` of its length (as a printed rule's is)."""
    return bool(np.mean(np.abs(thickness - np.median(thickness)) <= 1) >= _MIN_EVEN)


def _lines(mask: np.ndarray, length: int, limit: float) -> list[tuple[slice, slice, np.ndarray]]:
    """Thin horizontal lines of ``mask`` at least ``length`` long: (rows, cols, pixels)."""
    # A rule tilted by a degree or two drifts across rows: runs are sought in
    # the mask spread by two pixels up and down, and kept where the ink is.
    spread = mask.copy()
    for shift in (1, 2):
        spread[shift:] |= mask[:-shift]
        spread[:-shift] |= mask[shift:]
    if not (spread.sum(axis=1) >= length).any():
        return []
    runs = long_runs(spread, length) & mask
    labels, _ = ndi.label(runs, structure=np.ones((3, 3), bool))
    found = []
    for index, (rows, cols) in enumerate(ndi.find_objects(labels), start=1):
        pixels = labels[rows, cols] == index
        along = cols.stop - cols.start
        # A printed rule is as thick all along (give or take a pixel, and
        # where a stroke crosses it); the paper left between a bold digit
        # and the picture's edge is not.
        thickness = pixels.sum(axis=0)
        if along >= length and thickness.mean() <= limit and _even(thickness):
            found.append((rows, cols, pixels))
    return found


def find_form_lines(mask: np.ndarray) -> np.ndarray | None:
    """The printed box (or comb of cells) around the writing in ``mask``, if there is one.

    Two forms are found: a closed box or comb (a rule above the writing and
    one below, joined by two or more sides), and an open comb (one rule
    under the writing, with three or more ticks rising from it at an even
    pitch, each shorter than the writing, as a form's cells for one digit
    each often are).

    Args:
        mask: bool ``(h, w)``, the ink (either polarity's ink class).

    Returns:
        bool ``(h, w)``, the pixels of the form's lines, or ``None`` when the
        ink holds no such form.
    """
    mask = np.asarray(mask, bool)
    height, width = mask.shape
    if min(height, width) < 16 or not mask.any():
        return None
    limit = max(2.5, _MAX_THICKNESS * min(height, width))
    across = _lines(mask, max(8, round(_MIN_ACROSS * width)), limit)
    if not across:
        return None
    across.sort(key=lambda line: line[0].start)
    if len(across) == 1:  # an underline, a tight crop's bar, or an open comb's rule
        return _open_comb(mask, across[0], limit)
    (top_rows, top_cols, top), (bottom_rows, bottom_cols, bottom) = across[0], across[-1]
    # Between them, a line as long as they are is ruled or squared paper;
    # a shorter one is writing (the bar of a '7', the base of a '2').
    shorter = min(top_cols.stop - top_cols.start, bottom_cols.stop - bottom_cols.start)
    if any(cols.stop - cols.start >= 0.8 * shorter for _, cols, _ in across[1:-1]):
        return None
    gap = bottom_rows.start - top_rows.stop
    if gap < 8:
        return None
    lines = np.zeros(mask.shape, bool)
    lines[top_rows, top_cols] |= top
    lines[bottom_rows, bottom_cols] |= bottom
    # The sides: vertical lines that run from the top line to the bottom one
    # (found as horizontal lines of the transposed band between them).
    top_y, band = top_rows.start, slice(top_rows.start, bottom_rows.stop)
    sides = [
        (ys, xs, pixels.T)
        for xs, ys, pixels in _lines(mask[band].T, max(8, round(_MIN_SIDE * gap)), limit)
        if ys.start <= top_rows.stop - top_y + 2 and ys.stop >= bottom_rows.start - top_y - 2
    ]
    if len(sides) < 2:
        return None
    for ys, xs, pixels in sides:
        lines[band][ys, xs] |= pixels
    return _holding_writing(mask, lines, slice(top_rows.stop, bottom_rows.start), sides, limit)


def _open_comb(
    mask: np.ndarray, rule: tuple[slice, slice, np.ndarray], limit: float
) -> np.ndarray | None:
    """``rule`` and the ticks rising from it, if they make an open comb under the writing."""
    rows, cols, pixels = rule
    written = np.flatnonzero(mask[: rows.start].any(axis=1))
    if written.size == 0 or rows.start - written[0] < 16:
        return None
    tall = rows.start - written[0]  # from the writing's top down to the rule
    band = slice(written[0], rows.stop)
    ticks = [
        (ys, xs, pixels.T)
        for xs, ys, pixels in _lines(mask[band].T, max(6, round(0.08 * tall)), limit)
        # reaching down to the rule, and shorter than the writing
        if ys.stop >= tall - 2 and ys.stop - ys.start <= _MAX_TICK * tall
    ]
    if len(ticks) < 3:
        return None
    # The ticks stand at an even pitch; a digit's stroke that reaches down to
    # the rule between them does not. Each gap between neighbours is tried as
    # the pitch, from each tick: the grid kept holds the most ticks, less two
    # for each of its places left empty.
    centres = np.array([(xs.start + xs.stop) / 2 for _, xs, _ in ticks])
    best, best_score = None, 0
    for pitch in np.diff(np.sort(centres)):
        if pitch < 0.3 * tall:
            continue
        for anchor in centres:
            steps = (centres - anchor) / pitch
            grid = np.abs(steps - np.round(steps)) <= 0.15
            places = round(float(np.ptp(centres[grid])) / pitch) + 1
            score = int(grid.sum()) - 2 * (places - int(grid.sum()))
            if (
                grid.sum() >= 3
                and grid.sum() >= _MIN_TICKS_PRESENT * places
                and score > best_score
            ):
                best, best_score = grid, score
    if best is None:
        return None
    ticks = [tick for tick, keep in zip(ticks, best, strict=True) if keep]
    lines = np.zeros(mask.shape, bool)
    lines[rows, cols] |= pixels
    for ys, xs, tick in ticks:
        lines[band][ys, xs] |= tick
    return _holding_writing(mask, lines, slice(written[0], rows.start), ticks, limit)


def _holding_writing(
    mask: np.ndarray, lines: np.ndarray, rows: slice, sides: list, limit: float
) -> np.ndarray | None:
    """``lines``, if most of the writing (the ink clear of them) lies within ``rows``
    and between the outermost ``sides``; else ``None``."""
    left = min(xs.start for _, xs, _ in sides)
    right = max(xs.stop for _, xs, _ in sides)
    # The writing is what lies clear of the lines: a digit's own curves near
    # straight sides (a squarish '0' filling a cut-out) are not writing inside.
    writing = mask & (ndi.distance_transform_edt(~lines) > 2 * limit)
    inside = writing[rows, left:right].sum()
    area = (rows.stop - rows.start) * (right - left)
    if inside < max(8, 0.002 * area) or inside < _MIN_INSIDE * writing.sum():
        return None
    return lines


def find_box(gray: np.ndarray) -> tuple[np.ndarray, bool] | None:
    """The printed box in a grayscale picture: ``(lines, dark_ink)``, or ``None``.

    The ink is the class of one Otsu threshold that the plain recipe takes
    for ink (:func:`mnist_cnn.vision.baseline.dark_ink_by_frame`); where the
    border is dark, the dark class is tried too, since a picture cut at its
    box has the box's dark lines all round its border. Failing both, the
    lines are sought once more with the cut halfway from the threshold to
    the paper's tone, where a faint or one-pixel rule is whole. (On 500
    held-out training digits in boxes this found 8 more boxes and read 8
    more digits, 485 -> 493; on every other kind of the stress corpus, the
    UCI writers and the drawn digits, no image changed.)

    Args:
        gray: float32 ``(h, w)`` in [0, 1], 1 = white.
    """
    threshold = baseline.otsu_threshold(gray)
    light = gray > threshold
    tried = [baseline.dark_ink_by_frame(light)]
    if baseline.polarity_from_frame(light) is False:
        tried.append(True)  # dark lines round the border: a picture cut at its box
    for dark_ink in tried:
        lines = find_form_lines(~light if dark_ink else light)
        if lines is not None:
            return lines, dark_ink
    # A faint or thin rule (mid-grey, one pixel wide, turned a little) falls
    # partly on the paper's side of the threshold and breaks up: its lines
    # are sought again with the cut halfway from the threshold to the paper.
    for dark_ink in dict.fromkeys(tried):
        paper = gray[light] if dark_ink else gray[~light]
        if paper.size == 0:
            continue
        cut = (threshold + float(np.median(paper))) / 2
        lines = find_form_lines(gray <= cut if dark_ink else gray >= cut)
        if lines is not None:
            return lines, dark_ink
    return None


def find_edge_remnants(gray: np.ndarray) -> np.ndarray | None:
    """What is left of a box along the edges of a picture cut at it, or ``None``.

    A field cut out of a form at its box, or just inside it, keeps slivers of
    the box's lines along its edges, often only part of a side (the form was
    turned a little). They are too little of a box for :func:`find_box`, but
    to the plain recipe they are ink that reaches the frame, and the digit
    shrinks inside them. Where the paper shows just inside the edges (the
    picture is dark ink on light paper), a piece of dark ink is such a sliver
    when all of it lies within :data:`_EDGE_BAND` of the frame, it runs along
    at least :data:`_MIN_REMNANT` of a side, as thick all along and
    :data:`_MIN_ELONGATION` times as long as thick (a printed rule, not a
    corner of paper that a bold digit cut off), it is thinner than the
    writing's strokes by :data:`_REMNANT_THINNER` (the bar of a '7' or a '5'
    cropped tightly is as thick as the rest of the digit), and it lies clear
    of the writing by :data:`_GAP` of a stroke's width (a piece of a stroke
    that the threshold broke off lies a pixel or two from the rest). Ink
    other than the slivers must remain.

    Args:
        gray: float32 ``(h, w)`` in [0, 1], 1 = white.

    Returns:
        bool ``(h, w)``, the slivers' pixels, for :func:`erase_lines`.
    """
    height, width = gray.shape
    if min(height, width) < 16:
        return None
    light = gray > baseline.otsu_threshold(gray)
    band = max(2, round(_EDGE_BAND * min(height, width)))
    # Just inside the slivers, the frame is the paper's, light: a printed form.
    if not baseline.polarity_from_frame(light[band:-band, band:-band]):
        return None
    mask = ~light
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    if count < 2:
        return None
    inner = np.zeros(mask.shape, bool)
    inner[band:-band, band:-band] = True
    objects = ndi.find_objects(labels)
    slivers = []
    for index, (rows, cols) in enumerate(objects, start=1):
        piece = labels[rows, cols] == index
        along = max((cols.stop - cols.start) / width, (rows.stop - rows.start) / height)
        if along < _MIN_REMNANT or (inner[rows, cols] & piece).any():
            continue
        # A printed rule is a line, as thick all along.
        across = piece.sum(axis=0 if piece.shape[1] >= piece.shape[0] else 1)
        if _even(across) and len(across) >= _MIN_ELONGATION * across.mean():
            slivers.append(index)
    if not slivers:
        return None
    writing = mask & ~np.isin(labels, slivers)
    if not writing.any():
        return None
    stroke = measure_stroke_width(writing)
    # Clear of the writing: a piece of a stroke that the threshold broke off
    # lies a pixel or two from the rest of it.
    clear = ndi.distance_transform_edt(~writing) > max(2.0, _GAP * stroke)
    slivers = [index for index in slivers if clear[labels == index].all()]
    if not slivers:
        return None
    remnants = np.isin(labels, slivers)
    # Without them, the border is the paper's (not where a bold light digit
    # left strips of dark paper along the edges).
    if not baseline.polarity_from_frame(light | remnants):
        return None
    # A sliver's thickness: its area over its length along the edges.
    boxes = [objects[index - 1] for index in slivers]
    length = sum(max(rows.stop - rows.start, cols.stop - cols.start) for rows, cols in boxes)
    if remnants.sum() / length > _REMNANT_THINNER * stroke:
        return None
    return remnants


def erase_lines(gray: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """``gray`` with ``lines`` (any resolution; scaled to ``gray``'s) painted in the paper's tone.

    The lines are widened by a pixel or two so their anti-aliased edges go
    with them; the paper's tone is the median of the pixels just around them.

    Args:
        gray: float32 ``(H, W)`` in [0, 1], 1 = white.
        lines: bool ``(h, w)`` from :func:`find_form_lines`.
    """
    gray = np.asarray(gray, np.float32)
    height, width = gray.shape
    widen = max(1, round(height / lines.shape[0]))
    if lines.shape != gray.shape:
        rows = np.minimum(np.arange(height) * lines.shape[0] // height, lines.shape[0] - 1)
        cols = np.minimum(np.arange(width) * lines.shape[1] // width, lines.shape[1] - 1)
        lines = lines[np.ix_(rows, cols)]
    erase = ndi.binary_dilation(lines, iterations=widen)
    around = ndi.binary_dilation(erase, iterations=2) & ~erase
    paper = float(np.median(gray[around] if around.any() else gray))
    return np.where(erase, paper, gray).astype(np.float32)
