"""MNIST digits made to look like what people send: the stress corpus.

Each variant maps a 28x28 uint8 MNIST digit (white on black) and a numpy
random generator to an image source that :func:`mnist_cnn.preprocess.load_image`
accepts (a uint8 grayscale array, 1 = white, or encoded file bytes). They
fall into three families:

* **photos and drawings** with a margin around the digit (the pipeline's
  first test set): scaled into a page, off-centre, uneven light, squared
  paper, salt-and-pepper noise, thick and thin pens, a blue-ink JPEG, an
  RGBA canvas, a page on a dark desk, a digit in a form's printed box, ruled
  notebook paper photographed in uneven light (kinds the pipeline does not
  read well yet would go in :data:`OPEN_VARIANTS`, none at present);
* **cut-out scans**, where the frame is the digit's own box and ink touches
  it: a tight crop (0-2 px margin) upscaled, a 1-bit scan, 8x8 and 16x16
  sources upscaled bilinear (blurry) or nearest (blocky), a digit stretched
  to fill a square (aspect not kept), a bold marker on a small canvas;
* each cut-out kind in **both polarities** (``_light`` variants are light ink
  on a dark ground).

Build reported figures from MNIST *test* digits and tune on training digits.
These are still our own images: they check invariances, not real writers.

Example:
    >>> rng = np.random.default_rng(0)
    >>> source = VARIANTS["tight_crop"](digit, rng)  # doctest: +SKIP
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

__all__ = [
    "CUTOUT_VARIANTS",
    "OPEN_VARIANTS",
    "PHOTO_VARIANTS",
    "VARIANTS",
    "Variant",
    "ink_box_crop",
    "on_paper",
    "place",
    "to_uint8",
    "upscale",
]

Variant = Callable[[np.ndarray, np.random.Generator], "np.ndarray | bytes"]


def upscale(digit: np.ndarray, size: int) -> np.ndarray:
    """A 28x28 uint8 MNIST digit as ink in [0, 1] at ``size`` x ``size`` (bicubic)."""
    image = Image.fromarray(np.asarray(digit, np.uint8)).resize((size, size), Image.BICUBIC)
    return np.clip(np.asarray(image, dtype=np.float32) / 255.0, 0.0, 1.0)


def on_paper(ink: np.ndarray, paper: np.ndarray, ink_level: float = 0.1) -> np.ndarray:
    """Dark ink (level ``ink_level``) laid over ``paper`` (gray, 1 = white)."""
    return paper * (1.0 - ink) + ink_level * ink


def place(ink: np.ndarray, shape: tuple[int, int], top: int, left: int) -> np.ndarray:
    canvas = np.zeros(shape, np.float32)
    canvas[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    return canvas


def to_uint8(gray: np.ndarray) -> np.ndarray:
    return (np.clip(gray, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)


def _resize(ink: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """Resize float ink in [0, 1] to ``size = (width, height)``."""
    image = Image.fromarray(np.ascontiguousarray(ink, np.float32), mode="F").resize(size, resample)
    return np.clip(np.asarray(image, np.float32), 0.0, 1.0)


def ink_box_crop(digit: np.ndarray, margin: int = 0, level: int = 0) -> np.ndarray:
    """The digit cut out to its ink's bounding box plus ``margin`` pixels, as ink in [0, 1].

    Args:
        digit: uint8 ``(28, 28)`` MNIST digit, white on black.
        margin: Pixels of background kept on each side.
        level: Pixels above this value count as ink.
    """
    ink = np.asarray(digit, np.float32) / 255.0
    rows = np.flatnonzero(digit.max(axis=1) > level)
    cols = np.flatnonzero(digit.max(axis=0) > level)
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.pad(crop, margin) if margin else crop


# --------------------------------------------------------------- photos and drawings
def inverted(d, rng):
    return 255 - d


def scaled_300(d, rng):
    ink = place(upscale(d, 220), (300, 300), 40, 40)
    return to_uint8(on_paper(ink, np.full((300, 300), 0.92, np.float32)))


def off_centre(d, rng):
    ink = place(upscale(d, 90), (260, 320), 150, 210)
    return to_uint8(on_paper(ink, np.full((260, 320), 0.88, np.float32)))


def gradient(d, rng):
    yy, xx = np.mgrid[0:240, 0:240].astype(np.float32)
    paper = 0.45 + 0.5 * (xx + yy) / (2 * 239)  # dim corner to bright corner
    ink = place(upscale(d, 160), (240, 240), 40, 40)
    return to_uint8(on_paper(ink, paper, ink_level=0.05))


def grid(d, rng):
    paper = np.full((240, 240), 0.95, np.float32)
    paper[::16, :] = 0.72  # squared paper, 16 px squares
    paper[:, ::16] = 0.72
    ink = place(upscale(d, 160), (240, 240), 40, 40)
    return to_uint8(on_paper(ink, paper))


def salt(d, rng):
    image = on_paper(place(upscale(d, 140), (200, 200), 30, 30), np.full((200, 200), 0.9))
    flips = rng.random(image.shape)
    image[flips < 0.01] = 0.0  # pepper: dark like ink
    image[flips > 0.99] = 1.0
    return to_uint8(image)


def thick(d, rng):
    ink = ndi.grey_dilation(upscale(d, 140), footprint=np.ones((9, 9), bool))
    return to_uint8(on_paper(place(ink, (200, 200), 30, 30), np.full((200, 200), 0.9)))


def thin(d, rng):
    ink = upscale(d, 280)
    ink = ndi.grey_erosion(ink, footprint=np.ones((7, 7), bool))
    return to_uint8(on_paper(place(ink, (340, 340), 30, 30), np.full((340, 340), 0.9)))


def rgb_jpeg(d, rng):
    ink = place(upscale(d, 150), (200, 200), 25, 25)
    paper = np.stack([np.full((200, 200), c, np.float32) for c in (0.93, 0.9, 0.82)], -1)
    blue_pen = np.array([0.1, 0.15, 0.55], np.float32)
    rgb = paper * (1.0 - ink[..., None]) + blue_pen * ink[..., None]
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(rgb), mode="RGB").save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def rgba(d, rng):
    # A canvas drawing: black strokes whose coverage is in alpha, transparent background.
    ink = place(upscale(d, 140), (180, 180), 20, 20)
    pixels = np.zeros((180, 180, 4), np.uint8)
    pixels[..., 3] = to_uint8(ink)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="RGBA").save(buffer, format="PNG")
    return buffer.getvalue()


def on_desk(d, rng):
    # A phone photo that shows the dark table along two edges of the page.
    paper = np.full((320, 320), 0.86, np.float32)
    image = on_paper(place(upscale(d, 170), (320, 320), 60, 90), paper)
    image[:, :50] = 0.18
    image[275:, :] = 0.22
    return to_uint8(image)


def notebook(d, rng):
    """A phone photo of ruled notebook paper: light blue lines every 32 px, a red
    margin line crossing them, the light dimming by up to 35 % towards one
    corner, a blue pen, the digit 90-200 px anywhere right of the margin, JPEG."""
    height, width = 480, 360
    paper = np.ones((height, width, 3), np.float32) * np.array([0.96, 0.95, 0.9], np.float32)
    for row in range(int(rng.integers(10, 30)), height, 32):
        paper[row : row + 2] = (0.6, 0.75, 0.95)
    paper[:, 60:62] = (0.95, 0.45, 0.45)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paper *= (1.0 - 0.35 * (xx / width) * (yy / height))[..., None]
    size = int(rng.integers(90, 200))
    top = int(rng.integers(20, height - size - 20))
    left = int(rng.integers(80, width - size - 10))
    ink = place(upscale(d, size), (height, width), top, left)[..., None]
    rgb = paper * (1.0 - ink) + np.array([0.1, 0.15, 0.55], np.float32) * ink
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(rgb), mode="RGB").save(buffer, format="JPEG", quality=70)
    return buffer.getvalue()


def form_box(d, rng):
    """Written in a printed box (a form's field): lines 1-4 px, black to mid-grey; the
    picture cut at the box or up to 14 px outside it; the digit placed anywhere in the
    box, at times touching it; the photo turned up to 1.5 degrees."""
    inner = int(rng.integers(90, 170))
    rule, margin = int(rng.integers(1, 5)), int(rng.integers(0, 15))
    side = inner + 2 * (rule + margin)
    digit = upscale(d, min(side, round(inner * rng.uniform(0.8, 1.1))))
    size = digit.shape[0]
    low, high = margin + rule - size // 8, side - margin - rule - size + size // 8
    top, left = (int(np.clip(rng.integers(low, max(low, high) + 1), 0, side - size)) for _ in "yx")
    paper = np.full((side, side), 0.92, np.float32)
    near, far = margin, side - margin
    level = float(rng.uniform(0.1, 0.5))
    for rows, cols in (
        (slice(near, near + rule), slice(near, far)),
        (slice(far - rule, far), slice(near, far)),
        (slice(near, far), slice(near, near + rule)),
        (slice(near, far), slice(far - rule, far)),
    ):
        paper[rows, cols] = level
    image = on_paper(place(digit, (side, side), top, left), paper)
    turned = Image.fromarray(to_uint8(image)).rotate(
        float(rng.uniform(-1.5, 1.5)), Image.BILINEAR, fillcolor=235
    )
    noise = rng.normal(0.0, 0.02, (side, side))
    return to_uint8(np.asarray(turned, np.float32) / 255.0 + noise)


# --------------------------------------------------------------- cut-out scans
# Each returns ink in [0, 1] (1 = ink); the registry below turns it into dark
# on white and light on dark images.
def _tight_crop(d, rng):
    """Cut to the ink's box with a 0-2 px margin, upscaled 8x bilinear."""
    crop = ink_box_crop(d, margin=int(rng.integers(0, 3)))
    height, width = crop.shape
    return _resize(crop, (8 * width, 8 * height), Image.BILINEAR)


def _scan_16(d, rng):
    """A scanned digit cut to its box, ~16 px tall at source, upscaled smoothly (grey strokes)."""
    crop = ink_box_crop(d)
    height, width = crop.shape
    scale = 16.0 / height
    small = _resize(crop, (max(2, round(width * scale)), 16), Image.BOX)
    return _resize(small, (max(2, round(width * scale)) * 6, 96), Image.BICUBIC)


def _one_bit(d, rng):
    """A 1-bit scan: each digit stretched to fill a square frame (aspect not kept), jagged."""
    crop = ink_box_crop(d)
    size = int(rng.integers(32, 65))
    square = _resize(crop, (size, size), Image.NEAREST)
    return (square > rng.uniform(0.35, 0.6)).astype(np.float32)


def _low_res(source: int, resample: int):
    def variant(d, rng):
        """A ``source``-pixel-tall scan (the digit's height fills it, aspect kept), blown up."""
        crop = ink_box_crop(d)
        height, width = crop.shape
        small_w = max(2, round(width * source / height))
        small = _resize(crop, (small_w, source), Image.BOX)
        factor = int(rng.integers(6, 13))
        return _resize(small, (small_w * factor, source * factor), resample)

    return variant


def _stretched(d, rng):
    """Stretched to fill a square (aspect not kept), grey strokes, larger frame."""
    crop = ink_box_crop(d)
    return _resize(crop, (112, 112), Image.BICUBIC)


def _bold_small(d, rng):
    """A bold marker on a small canvas: ink covers much of the frame and touches its edges."""
    crop = ink_box_crop(d, margin=1)
    height, width = crop.shape
    big = _resize(crop, (3 * width, 3 * height), Image.BICUBIC)
    bold = ndi.grey_dilation(big, footprint=np.ones((5, 5), bool))
    return _resize(bold, (max(4, round(width * 1.5)), max(4, round(height * 1.5))), Image.BOX)


def _dark_on_white(make):
    def variant(d, rng):
        return to_uint8(1.0 - 0.9 * make(d, rng))

    variant.__doc__ = make.__doc__
    return variant


def _light_on_dark(make):
    def variant(d, rng):
        return to_uint8(0.05 + 0.9 * make(d, rng))

    variant.__doc__ = make.__doc__
    return variant


_CUTOUTS: dict[str, Callable] = {
    "tight_crop": _tight_crop,
    "scan_16px": _scan_16,
    "one_bit": _one_bit,
    "low_res_8_bilinear": _low_res(8, Image.BILINEAR),
    "low_res_8_nearest": _low_res(8, Image.NEAREST),
    "low_res_16_bilinear": _low_res(16, Image.BILINEAR),
    "low_res_16_nearest": _low_res(16, Image.NEAREST),
    "stretched_square": _stretched,
    "bold_small_canvas": _bold_small,
}

#: Photos and drawings with a margin around the digit.
PHOTO_VARIANTS: dict[str, Variant] = {
    f.__name__: f
    for f in (
        inverted,
        scaled_300,
        off_centre,
        gradient,
        grid,
        salt,
        thick,
        thin,
        rgb_jpeg,
        rgba,
        on_desk,
        form_box,
        notebook,
    )
}

#: Cut-out scans, dark on white and (``_light``) light on dark.
CUTOUT_VARIANTS: dict[str, Variant] = {
    **{name: _dark_on_white(make) for name, make in _CUTOUTS.items()},
    **{f"{name}_light": _light_on_dark(make) for name, make in _CUTOUTS.items()},
}

#: Kinds the pipeline is known to read under the 0.97 target, reported by the
#: handwriting benchmark and not yet held to it by the tests. None at
#: present: ruled notebook paper in uneven light was one until the page
#: reading left pieces of ruling out of the digit and a plain reading that
#: took the ruled page for ink gave way to it (0.960 -> 0.984 of 500 test digits).
OPEN_VARIANTS: dict[str, Variant] = {}

#: Every variant, by name.
VARIANTS: dict[str, Variant] = {**PHOTO_VARIANTS, **OPEN_VARIANTS, **CUTOUT_VARIANTS}
