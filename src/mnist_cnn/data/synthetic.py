"""Synthetic handwritten numbers composed from MNIST digits.

Used to test and benchmark :mod:`mnist_cnn.reading`, and to train the
segment verifier (:mod:`mnist_cnn.training.verifier_data`). Each digit is scaled up, laid
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

__all__ = [
    "AMOUNT_KINDS",
    "ComposedAmount",
    "ComposedNumber",
    "compose_amount",
    "compose_number",
    "date_digits",
    "digit_ink",
]


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


#: Kinds of written amounts :func:`compose_amount` draws.
AMOUNT_KINDS = (
    "plain",
    "decimal",
    "thousands",
    "trailing_dash",
    "underline",
    "patterned_paper",
    "ruled_paper",
    "small",
    "date",
    "sum",
    "currency",
    "tilted",
    "boxed",
    "comb",
    "cheque",
)

#: Kinds of amount that combine the parts other kinds show one at a time. A
#: cheque's courtesy amount (as on Chilean and Swiss cheques): small, after a
#: '$', thousands separated, ended by a dash, on security paper.
_AMOUNT_PARTS = {
    "cheque": ("small", "currency", "thousands", "trailing_dash", "patterned_paper"),
}


# How ``compose_amount`` writes N digits as a date: digits per run between
# the slashes (d/m, dd/mm, d/m/yy, dd/mm/yy, dd/mm/yyyy, ...).
_DATE_LAYOUTS = {
    1: [(1,)],
    2: [(1, 1)],
    3: [(1, 2), (2, 1)],
    4: [(2, 2)],
    5: [(1, 2, 2), (2, 1, 2)],
    6: [(2, 2, 2)],
    7: [(1, 2, 4), (2, 1, 4)],
    8: [(2, 2, 4)],
}


def date_digits(count: int, rng: np.random.Generator) -> tuple[list[int], tuple[int, ...]]:
    """The digits of a real date written with ``count`` digits, and its layout.

    The layout is one of :data:`_DATE_LAYOUTS` (digits per run between the
    slashes); a one-digit run is a day or month from 1 to 9, a two-digit one
    01-31 or 01-12, the year 00-99 or 1950-2049. Day and month come in either
    order. Give both to :func:`compose_amount` (``kind="date"``) to draw it.

    Args:
        count: Digits in the date, 2 to 8.
        rng: Source of every random choice.
    """
    if not 2 <= count <= 8:
        raise ValueError(f"a date has 2 to 8 digits, got {count}")
    options = _DATE_LAYOUTS[count]
    layout = options[int(rng.integers(len(options)))]
    day, month = int(rng.integers(1, 32)), int(rng.integers(1, 13))
    first, second = (day, month) if rng.random() < 0.5 else (month, day)
    parts = []
    for run, value in zip(layout[:2], (first, second), strict=True):
        if run == 1:
            value = value if value <= 9 else int(rng.integers(1, 10))
        parts.append(f"{value:0{run}d}")
    if len(layout) == 3:
        year = int(rng.integers(1950, 2050))
        parts.append(f"{year % 100:02d}" if layout[2] == 2 else f"{year:04d}")
    return [int(c) for c in "".join(parts)], layout


@dataclass(frozen=True)
class ComposedAmount:
    """A number written as people write amounts.

    Attributes:
        image: uint8 ``(H, W)`` grayscale, dark ink on light paper.
        marks: The marks drawn, left to right, by kind (``"dot"``,
            ``"comma"``, ``"dash"``, ``"slash"``, ``"plus"``, ``"equals"``,
            ``"currency"``, ``"underline"``, ``"box"``).
    """

    image: np.ndarray
    marks: list[str]


def _mark_ink(
    kind: str, height: int, rng: np.random.Generator, lean: tuple[float, float] = (35.0, 55.0)
) -> tuple[np.ndarray, int]:
    """A mark drawn with a pen about as wide as MNIST's; returns its ink and its top
    offset from the digit box's top (MNIST ink spans 4/28 to 24/28 of the box)."""
    from PIL import ImageDraw

    pen = max(2, round(height * 2.5 / 28 * rng.uniform(0.8, 1.3)))
    base = round(height * 24 / 28)
    if kind == "dot":
        size = pen + round(rng.uniform(0, 0.05) * height)
        canvas = Image.new("L", (size + 2, size + 2), 0)
        ImageDraw.Draw(canvas).ellipse([1, 1, size, size], fill=255)
        top = base - size
    elif kind == "comma":
        w, h = pen + round(0.06 * height), round(rng.uniform(0.14, 0.24) * height)
        canvas = Image.new("L", (w + 2, h + 2), 0)
        ImageDraw.Draw(canvas).line([(w, 1), (1, h)], fill=255, width=pen)
        top = base - round(0.35 * h)
    elif kind == "dash":
        w = round(rng.uniform(0.3, 0.55) * height)
        canvas = Image.new("L", (w + 2, pen + 2), 0)
        ImageDraw.Draw(canvas).line([(1, pen // 2 + 1), (w, pen // 2 + 1)], fill=255, width=pen)
        top = round(height * rng.uniform(0.45, 0.6))
    elif kind == "slash":
        # From bottom left to top right, about as tall as the digits' ink
        # (20/28 of the box), leaning ``lean`` degrees from the vertical.
        h = round(rng.uniform(0.65, 0.85) * height)
        w = max(1, round(h * np.tan(np.radians(rng.uniform(*lean)))))
        canvas = Image.new("L", (w + pen + 2, h + pen + 2), 0)
        end = pen // 2 + 1
        ImageDraw.Draw(canvas).line([(end, h + end), (w + end, end)], fill=255, width=pen)
        top = round(height * 14 / 28 - (h + pen) / 2 + rng.uniform(-0.05, 0.05) * height)
    elif kind == "plus":
        size = round(rng.uniform(0.3, 0.45) * height)
        canvas = Image.new("L", (size + pen + 2, size + pen + 2), 0)
        draw, mid, end = ImageDraw.Draw(canvas), (size + pen) // 2 + 1, pen // 2 + 1
        draw.line([(end, mid), (size + end, mid)], fill=255, width=pen)
        draw.line([(mid, end), (mid, size + end)], fill=255, width=pen)
        top = round(height * rng.uniform(0.45, 0.55) - (size + pen) / 2)
    elif kind == "equals":
        w = round(rng.uniform(0.3, 0.5) * height)
        apart = round(rng.uniform(0.12, 0.2) * height)
        canvas = Image.new("L", (w + 2, apart + pen + 2), 0)
        draw, end = ImageDraw.Draw(canvas), pen // 2 + 1
        draw.line([(1, end), (w, end)], fill=255, width=pen)
        draw.line([(1, apart + end), (w, apart + end)], fill=255, width=pen)
        top = round(height * rng.uniform(0.45, 0.55) - (apart + pen) / 2)
    elif kind == "currency":
        # A '$': an S about as tall as the digits, its stroke through it
        # reaching 0.1-0.2 of the box above and below.
        h = round(rng.uniform(0.6, 0.75) * height)
        w = round(rng.uniform(0.4, 0.55) * height)
        over = [round(rng.uniform(0.1, 0.2) * height) for _ in range(2)]
        canvas = Image.new("L", (w + pen + 2, h + sum(over) + pen + 2), 0)
        draw, end = ImageDraw.Draw(canvas), pen // 2 + 1
        y = over[0] + end
        draw.arc([end, y, w + end, y + h // 2], 90, 330, fill=255, width=pen)
        draw.arc([end, y + h // 2, w + end, y + h], 270, 150, fill=255, width=pen)
        middle = end + w // 2
        draw.line([(middle, end), (middle, h + sum(over) + end)], fill=255, width=pen)
        top = round(height * 14 / 28 - h / 2) - over[0] - end
    else:
        raise ValueError(f"unknown mark kind {kind!r}")
    ink = np.asarray(canvas, np.float32) / 255.0
    return ndi.gaussian_filter(ink, 0.6), top


def compose_amount(
    digits: np.ndarray,
    rng: np.random.Generator,
    kind: str,
    height: int = 64,
    *,
    slash_lean: tuple[float, float] = (35.0, 55.0),
    date_layout: tuple[int, ...] | None = None,
) -> ComposedAmount:
    """Write MNIST digits as an amount of the given ``kind`` (see :data:`AMOUNT_KINDS`).

    ``decimal`` puts a '.' or ',' before the last two digits; ``thousands``
    separates groups of three with '.' or ','; ``trailing_dash`` ends the
    amount with '-', '.-' or '/-'; ``underline`` draws a line under it (touching
    the digits or not); ``patterned_paper`` lays wavy security-paper lines
    under the ink; ``ruled_paper`` light ruled lines; ``small`` writes it
    30-45 px tall; ``date`` writes the digits as a date (1/5, 12/05,
    1/5/26, 12/05/2026: :data:`_DATE_LAYOUTS`); ``sum`` writes the digits as ``a+b=c``;
    ``currency`` puts a '$' (its stroke longer than the digits) before them;
    ``tilted`` writes a ``decimal`` amount on a line sloping 4-10 degrees up
    or down (a hurried hand, a phone held askew); ``boxed`` writes a ``decimal``
    amount inside a printed box (a cheque's amount box), ``comb`` one digit per
    cell of a printed comb (a form's field: closed, or open, a rule under the
    digits with ticks 0.2-0.6 of their height between them); their lines are
    1-3 px, black to dark grey, under the ink (lighter ones are not ink and
    do no harm). ``cheque`` combines ``small``, ``currency``, ``thousands``,
    ``trailing_dash`` and ``patterned_paper``, as a cheque's amount is written.

    Args:
        digits: ``(N, 28, 28)`` uint8 MNIST digits, N >= 1.
        rng: Source of every random choice.
        kind: One of :data:`AMOUNT_KINDS`.
        height: Pixels per 28x28 digit box (``small`` ignores it).
        slash_lean: Range of the degrees each '/' leans right of the
            vertical. MNIST's '1's lean up to about 48 degrees, and a reader
            tells a '/' from them only when it leans more.
        date_layout: For ``date``, the digits per run between the slashes
            (:func:`date_digits` gives one with a real date's digits);
            default one of :data:`_DATE_LAYOUTS` for the count.

    Returns:
        The image and the marks drawn; the digits read left to right as given.
    """
    if kind not in AMOUNT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(AMOUNT_KINDS)}, got {kind!r}")
    parts = _AMOUNT_PARTS.get(kind, (kind,))
    if "small" in parts:
        height = int(rng.integers(30, 46))
    count = len(digits)
    # The sequence to lay out: digit indices and mark names.
    items: list = list(range(count))
    separator = "dot" if rng.random() < 0.5 else "comma"
    if kind in ("decimal", "tilted", "boxed") and count >= 3:
        items.insert(count - 2, separator)
    elif "thousands" in parts and count >= 4:
        for position in range(count - 3, 0, -3):
            items.insert(position, separator)
    elif kind == "date":
        if date_layout is None:
            options = _DATE_LAYOUTS.get(count, [(2, 2, count - 4)])
            layout = options[int(rng.integers(len(options)))] if len(options) > 1 else options[0]
        elif sum(date_layout) == count:
            layout = date_layout
        else:
            raise ValueError(f"date_layout {date_layout} does not hold {count} digits")
        for position in reversed(np.cumsum(layout)[:-1]):
            items.insert(int(position), "slash")
    elif kind == "sum" and count >= 3:
        plus = int(rng.integers(1, count - 1))
        equals = int(rng.integers(plus + 1, count))
        items.insert(equals, "equals")
        items.insert(plus, "plus")
    if "trailing_dash" in parts:
        items += [["dash"], ["dot", "dash"], ["slash", "dash"]][int(rng.integers(3))]
    if "currency" in parts:
        items.insert(0, "currency")
    placed = []
    for item in items:
        if isinstance(item, str):
            ink, top = _mark_ink(item, height, rng, slash_lean)
        else:
            ink = digit_ink(digits[item], height)
            top = (height - ink.shape[0]) // 2
        placed.append((item, ink, top))
    gaps = [
        int(
            round(
                rng.uniform(0.02, 0.12 if isinstance(a[0], str) or isinstance(b[0], str) else 0.3)
                * height
            )
        )
        for a, b in zip(placed[:-1], placed[1:], strict=True)
    ]
    cell = 0  # a comb's cells
    if kind == "comb":
        cell = round(height * rng.uniform(0.95, 1.3))
        gaps = [cell - a[1].shape[1] for a in placed[:-1]]  # left ends one cell apart
    if kind == "comb":
        width = len(placed) * cell + 2 * height
    else:
        width = sum(p[1].shape[1] for p in placed) + sum(gaps) + 2 * height
    canvas = np.zeros((2 * height, max(width, 2 * height)), np.float32)
    x = height
    line_top = height // 2
    for k, (item, ink, top) in enumerate(placed):
        jitter = 0 if isinstance(item, str) else int(rng.integers(-height // 12, height // 12 + 1))
        y = min(max(0, line_top + top + jitter), canvas.shape[0] - ink.shape[0])
        shift = (cell - ink.shape[1]) // 2 if kind == "comb" else 0  # centred in its cell
        region = canvas[y : y + ink.shape[0], x + shift : x + shift + ink.shape[1]]
        np.maximum(region, ink, out=region)
        x += ink.shape[1] + (gaps[k] if k < len(gaps) else 0)
    marks = [item for item in items if isinstance(item, str)]
    if kind == "underline":
        pen = max(2, round(height * 2.5 / 28))
        y = line_top + round(height * rng.uniform(0.88, 1.0))  # touching or just under
        x0, x1 = round(height * rng.uniform(0.6, 0.95)), x - round(height * rng.uniform(-0.3, 0.1))
        canvas[y : y + pen, x0:x1] = np.maximum(canvas[y : y + pen, x0:x1], 1.0)
        marks.append("underline")
    if kind == "tilted":
        slope = float(rng.choice([-1.0, 1.0]) * rng.uniform(4.0, 10.0))
        canvas = np.clip(ndi.rotate(canvas, slope, reshape=True, order=1), 0.0, 1.0)
    paper = np.full(canvas.shape, 0.9, np.float32)
    if kind in ("boxed", "comb"):  # a form's printed lines, under the ink
        printed = np.zeros(canvas.shape, bool)
        rule = int(rng.integers(1, 4))
        y0 = line_top - round(height * rng.uniform(0.05, 0.25))
        below = round(height * rng.uniform(0.0, 0.25))
        y1 = min(canvas.shape[0] - rule, line_top + height + below)
        if kind == "boxed":
            x0 = round(height * rng.uniform(0.3, 0.9))
            x1 = canvas.shape[1] - round(height * rng.uniform(0.3, 0.9))
            sides = [x0, x1 - rule]
        else:
            x0 = height - round(0.04 * cell)
            x1 = x0 + len(placed) * cell + rule
            sides = list(range(x0, x1, cell))
        printed[y1 - rule : y1, x0:x1] = True
        if kind == "comb" and rng.random() < 0.5:  # open: ticks rising from the rule
            y0 = y1 - round(height * rng.uniform(0.2, 0.6))
        else:
            printed[y0 : y0 + rule, x0:x1] = True
        for side in sides:
            printed[y0:y1, side : side + rule] = True
        paper[printed] = rng.uniform(0.1, 0.35)
        marks.append("box")
    if "patterned_paper" in parts:
        yy, xx = np.mgrid[0 : canvas.shape[0], 0 : canvas.shape[1]].astype(np.float32)
        period = rng.uniform(0.15, 0.3) * height
        amplitude = rng.uniform(0.05, 0.15) * height
        phase = amplitude * np.sin(xx / rng.uniform(0.3, 0.6) / height * 2 * np.pi)
        waves = 0.5 + 0.5 * np.cos((yy + phase) / period * 2 * np.pi)
        paper = paper - rng.uniform(0.12, 0.25) * waves**4
    elif kind == "ruled_paper":
        spacing = int(height * rng.uniform(0.5, 0.9))
        paper[int(rng.integers(0, spacing)) :: spacing] = 0.72
    paper = paper + 0.02 * rng.standard_normal(canvas.shape)
    gray = paper * (1.0 - canvas) + 0.1 * canvas
    image = (np.clip(gray, 0, 1) * 255 + 0.5).astype(np.uint8)
    return ComposedAmount(image=image, marks=marks)
