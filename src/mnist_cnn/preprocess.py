"""Turn any picture of a handwritten digit into the 28x28 input MNIST models expect.

MNIST digits are white ink on black, anti-aliased, fitted into a 20x20 box
with their aspect ratio kept, and placed in a 28x28 field so that their centre
of mass sits at the centre. A photo of a digit is the opposite on every count:
dark ink on grey paper, any size, off-centre, unevenly lit and noisy. Resizing
the whole photo to 28x28 (what most tools do) gives the model an input it has
never seen. This module redoes MNIST's normalisation on real images:

1. :func:`load_image` reads any file Pillow reads (or bytes, a Pillow image, a
   numpy array such as a canvas drawing) into grayscale in [0, 1], applying EXIF
   rotation and compositing transparency on white, and refusing decompression
   bombs before decoding.
2. :func:`analyse_ink` finds the ink: it decides the polarity (dark on light or
   light on dark) from which side of the background the strong outliers lie,
   flattens uneven lighting by subtracting a coarse background estimate,
   thresholds with Otsu's method (applied to the pixels that stand out from
   the noise, so faint grid or ruling lines fall below it) and labels
   connected components.
3. :func:`preprocess` keeps the digit's components (dropping specks), crops
   to them, thickens strokes that would come out thinner than MNIST's,
   resizes the longer side to 20 px with anti-aliasing, pads to 28x28 and
   shifts the centre of mass to the centre, as MNIST did.

Nothing here imports Keras: the output is a plain float32 array that any
classifier can take, and :mod:`mnist_cnn.reading` reuses the same steps for
multi-digit numbers.

Example:
    >>> from mnist_cnn import preprocess
    >>> x = preprocess.to_mnist("photo_of_a_seven.jpg")  # doctest: +SKIP
    >>> x.shape, x.dtype
    ((28, 28), dtype('float32'))
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageDraw, ImageOps
from scipy import ndimage as ndi

from .errors import ImageError
from .fileio import atomic_path
from .vision import baseline

__all__ = [
    "MAX_PIXELS",
    "ImageSource",
    "Component",
    "InkMap",
    "PreprocessResult",
    "analyse_ink",
    "box_gap",
    "digit_zone",
    "find_components",
    "find_ink",
    "ink_to_mnist",
    "load_image",
    "preprocess",
    "save_preview",
    "to_mnist",
]

#: Largest image accepted, in pixels (width x height). Bigger files are refused
#: before they are decoded: a 50,000 x 50,000 PNG can be a few kilobytes on disk
#: and 2.5 GB in memory. 40 megapixels covers every phone camera in use.
MAX_PIXELS = 40_000_000

ImageSource = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]  # noqa: UP007 - runtime alias, Python 3.10

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
# Holes in the rough ink mask up to this fraction of the image are filled
# (a loop's inside is not background).
_HOLE_FRACTION = 0.01
# Ink levels start this fraction of the threshold above the background.
_LOW_FRACTION = 0.3
# Ink level that counts towards a digit's bounding box.
_BOX_LEVEL = 0.15


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

    def to_original(self, box: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
        """Map a working-resolution box ``(x0, y0, x1, y1)`` (end exclusive) to the input's."""
        height, width = self.gray.shape
        x0, y0, x1, y1 = box
        return (
            max(0, int(np.floor(x0 / self.scale))),
            max(0, int(np.floor(y0 / self.scale))),
            min(width, int(np.ceil(x1 / self.scale))),
            min(height, int(np.ceil(y1 / self.scale))),
        )


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
            the whole image) or ``"page"`` (paper modelled first).
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


# --------------------------------------------------------------------------- loading


def _source_name(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    if isinstance(source, np.ndarray):
        return "<array>"
    if isinstance(source, Image.Image):
        return str(getattr(source, "filename", "") or "<image>")
    return repr(source)


def load_image(source: ImageSource) -> np.ndarray:
    """Read an image as float32 grayscale in [0, 1] (1 = white).

    Files may be anything Pillow decodes (PNG, JPEG, BMP, GIF, TIFF, WebP, ...)
    in any mode: RGB, RGBA, palette (with or without transparency), 1-bit,
    16-bit and float. EXIF orientation is applied. Transparent pixels are
    composited on white, so a canvas PNG with black strokes on a transparent
    background reads as black on white; when the colour channels are blank and
    the ink lives only in the alpha channel, ``1 - alpha`` is used instead.
    Multi-frame files (GIF, TIFF) give their first frame.

    Args:
        source: A path, the file's bytes, a ``PIL.Image.Image``, or a numpy
            array of shape ``(H, W)``, ``(H, W, 1)``, ``(H, W, 3)`` (RGB) or
            ``(H, W, 4)`` (RGBA). Integer arrays are scaled by their dtype's
            range (uint8: /255, uint16: /65535); float arrays are taken as
            [0, 1], or as [0, 255] when their maximum exceeds 1.

    Returns:
        float32 array of shape ``(H, W)``, values in [0, 1].

    Raises:
        ImageError: The file is missing, not an image, truncated or damaged,
            has zero width or height, or has more than :data:`MAX_PIXELS`
            pixels (checked before decoding). The message names the file.
    """
    name = _source_name(source)
    if isinstance(source, np.ndarray):
        return _array_to_gray(source, name)
    if isinstance(source, Image.Image):
        _check_size(source.size, name)
        return _pil_to_gray(source, name)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return _decode(io.BytesIO(bytes(source)), name)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"{name}: no such file")
        if not path.is_file():
            raise ImageError(f"{name}: not a file")
        try:
            with open(path, "rb") as file:
                return _decode(file, name)
        except OSError as exc:  # permissions, I/O errors while reading
            raise ImageError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    raise ImageError(
        f"{name}: expected a path, bytes, a PIL image or a numpy array, "
        f"got {type(source).__name__}"
    )


def _check_size(size: tuple[int, int], name: str) -> None:
    width, height = size
    if width <= 0 or height <= 0:
        raise ImageError(f"{name}: the image is empty ({width}x{height} pixels)")
    if width * height > MAX_PIXELS:
        raise ImageError(
            f"{name}: the image is too large ({width}x{height} = {width * height:,} pixels; "
            f"the limit is {MAX_PIXELS:,}). Shrink or crop it first."
        )


def _decode(file: io.BufferedIOBase, name: str) -> np.ndarray:
    # Pillow warns (and with warnings as errors, raises) between its own limit
    # and twice it; our limit is lower and checked right after opening, before
    # any pixel is decoded, so the warning is redundant.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(file)
        except Image.DecompressionBombError:
            raise ImageError(
                f"{name}: the image is too large (more than {MAX_PIXELS:,} pixels); "
                "shrink or crop it first"
            ) from None
        except Image.UnidentifiedImageError:
            raise ImageError(f"{name}: not an image file Pillow can read") from None
        except Exception as exc:  # noqa: BLE001 - plugins raise many types on bad headers
            raise ImageError(f"{name}: not a readable image ({exc})") from None
        with image:
            _check_size(image.size, name)
            try:
                image.seek(0)
                image.load()
            except Exception as exc:  # noqa: BLE001 - truncated/corrupt data: OSError, SyntaxError, ...
                detail = str(exc) or type(exc).__name__
                raise ImageError(f"{name}: the image is truncated or damaged ({detail})") from None
            return _pil_to_gray(image, name)


def _pil_to_gray(image: Image.Image, name: str) -> np.ndarray:
    try:
        image.load()
    except Exception as exc:  # noqa: BLE001
        raise ImageError(f"{name}: the image is truncated or damaged ({exc})") from None
    # A damaged EXIF block must not make a readable picture unreadable.
    with contextlib.suppress(Exception):
        image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode.startswith("I;16"):
        gray = np.asarray(image, dtype=np.float64) / 65535.0
    elif mode in ("I", "F"):
        gray = _scale_numeric(np.asarray(image, dtype=np.float64), name)
    elif mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float64) / 255.0
        gray = _composite(rgba)
    else:
        try:
            converted = image.convert("L")
        except (ValueError, OSError):
            converted = image.convert("RGB").convert("L")
        gray = np.asarray(converted, dtype=np.float64) / 255.0
    if gray.ndim != 2 or gray.size == 0:
        raise ImageError(f"{name}: the image is empty ({image.width}x{image.height} pixels)")
    return np.clip(gray, 0.0, 1.0).astype(np.float32)


def _scale_numeric(values: np.ndarray, name: str) -> np.ndarray:
    """Scale 32-bit integer or float pixel values to [0, 1]."""
    if not np.all(np.isfinite(values)):
        raise ImageError(f"{name}: the image holds NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 1.0:
        return values
    if low >= 0.0 and high <= 255.0:
        return values / 255.0
    if low >= 0.0 and high <= 65535.0:
        return values / 65535.0
    return (values - low) / max(high - low, 1e-12)


def _composite(rgba: np.ndarray) -> np.ndarray:
    """Composite RGBA in [0, 1] on white; fall back to the alpha channel if colour is blank."""
    luma = rgba[..., 0] * 0.299 + rgba[..., 1] * 0.587 + rgba[..., 2] * 0.114
    alpha = rgba[..., 3]
    gray = alpha * luma + (1.0 - alpha)
    spread = float(np.ptp(gray))
    if float(np.ptp(alpha)) > 0.1 and spread < 0.25 * float(np.ptp(alpha)):
        # Ink drawn only in the alpha channel (e.g. white strokes on a fully
        # transparent canvas): opaque means ink.
        gray = 1.0 - alpha
    return gray


def _array_to_gray(array: np.ndarray, name: str) -> np.ndarray:
    values = np.asarray(array)
    if values.ndim == 3 and values.shape[2] == 1:
        values = values[..., 0]
    if values.ndim not in (2, 3) or (values.ndim == 3 and values.shape[2] not in (3, 4)):
        raise ImageError(
            f"{name}: expected an array of shape (H, W), (H, W, 1), (H, W, 3) or "
            f"(H, W, 4), got {values.shape}"
        )
    if values.shape[0] == 0 or values.shape[1] == 0:
        raise ImageError(
            f"{name}: the image is empty ({values.shape[1]}x{values.shape[0]} pixels)"
        )
    if values.shape[0] * values.shape[1] > MAX_PIXELS:
        raise ImageError(
            f"{name}: the image is too large ({values.shape}); the limit is {MAX_PIXELS:,} pixels"
        )
    if values.dtype == np.bool_:
        scaled = values.astype(np.float64)
    elif np.issubdtype(values.dtype, np.integer):
        info = np.iinfo(values.dtype)
        scaled = values.astype(np.float64)
        if values.dtype == np.uint16:
            scaled /= 65535.0
        elif info.max <= 255 or (scaled.min() >= 0 and scaled.max() <= 255):
            scaled /= 255.0
        else:
            scaled = _scale_numeric(scaled, name)
    elif np.issubdtype(values.dtype, np.floating):
        scaled = values.astype(np.float64)
        if not np.all(np.isfinite(scaled)):
            raise ImageError(f"{name}: the array holds NaN or infinite values")
        if scaled.max() > 1.0 + 1e-6:
            scaled = _scale_numeric(scaled, name)
    else:
        raise ImageError(f"{name}: unsupported array dtype {values.dtype}")
    scaled = np.clip(scaled, 0.0, 1.0)
    if scaled.ndim == 3:
        if scaled.shape[2] == 4:
            gray = _composite(scaled)
        else:
            gray = scaled[..., 0] * 0.299 + scaled[..., 1] * 0.587 + scaled[..., 2] * 0.114
    else:
        gray = scaled
    return gray.astype(np.float32)


# --------------------------------------------------------------------------- finding ink


def _resize(image: np.ndarray, size: tuple[int, int], resample: int) -> np.ndarray:
    """Resize a float image to ``size = (width, height)`` with Pillow (mode F)."""
    result = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F").resize(
        size, resample
    )
    return np.asarray(result, dtype=np.float32)


def _to_working_scale(gray: np.ndarray) -> tuple[np.ndarray, float]:
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
    work = _resize(gray, size, resample)
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
    small = _resize(image, small_size, Image.BOX)
    size = min(window, 2 * (min(small.shape) // 2) + 1) if min(small.shape) > 2 else 1
    if size > 1:
        small = ndi.percentile_filter(small, percentile, size=size, mode="reflect")
        small = ndi.uniform_filter(small, size=3, mode="nearest")
    return _resize(small, (width, height), Image.BILINEAR)


def _masked_background(
    image: np.ndarray, valid: np.ndarray, fallback: np.ndarray, cells: int = 48
) -> np.ndarray:
    """Smooth ``image`` using only ``valid`` pixels (normalised convolution).

    Where no valid pixel is near (inside a large blob of ink), the estimate
    comes from a wider neighbourhood, then from ``fallback``.
    """
    height, width = image.shape
    step = max(1.0, min(height, width) / cells)
    small_size = (max(1, round(width / step)), max(1, round(height / step)))
    weight = valid.astype(np.float32)
    numerator = _resize(image * weight, small_size, Image.BOX)
    denominator = _resize(weight, small_size, Image.BOX)
    estimate = np.full(numerator.shape, np.nan, dtype=np.float32)
    for sigma in (cells / 12, cells / 4, cells):
        num = ndi.gaussian_filter(numerator, sigma, mode="nearest")
        den = ndi.gaussian_filter(denominator, sigma, mode="nearest")
        fill = np.isnan(estimate) & (den > 0.02)
        estimate[fill] = num[fill] / den[fill]
    background = _resize(estimate, (width, height), Image.BILINEAR)
    return np.where(np.isfinite(background), background, fallback).astype(np.float32)


def _robust_sigma(values: np.ndarray) -> float:
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
    sigma = max(_robust_sigma(residual), 0.01)
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
    of the picture's rim, everything outside the paper (its holes filled, so
    the writing stays inside) takes the paper's median brightness.
    """
    height, width = work.shape
    step = max(1.0, min(height, width) / 48)
    small = _resize(work, (max(1, round(width / step)), max(1, round(height / step))), Image.BOX)
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
    level = float(np.median(small[paper & bright]))
    full = (
        np.asarray(
            Image.fromarray(outside.astype(np.uint8) * 255).resize((width, height), Image.NEAREST)
        )
        > 0
    )
    return np.where(full, np.float32(level), work).astype(np.float32), True


def _otsu(values: np.ndarray) -> float:
    """Otsu's threshold of ``values`` (1-D, finite): values above it form the upper class.

    Callers pass only the pixels that already stand out from the noise, so
    when they are all alike (a two-level drawing with no anti-aliasing) they
    are all ink: the threshold then lies just below them.
    """
    return baseline.otsu_threshold(values)


def _stroke_width(mask: np.ndarray, ink: np.ndarray | None = None) -> float:
    """Mean stroke width: twice the ink's area over its boundary length, in pixels.

    With ``ink`` (soft intensities) the area is the ink's integral, which does
    not depend on where the threshold cut the anti-aliased edges.
    """
    boundary = int((mask & ~ndi.binary_erosion(mask, border_value=0)).sum())
    if boundary == 0:
        return 0.0
    area = float(ink.sum()) if ink is not None else float(mask.sum())
    return 2.0 * area / boundary


def _fill_small_holes(mask: np.ndarray, max_area: float) -> np.ndarray:
    """Fill the holes of ``mask`` smaller than ``max_area`` pixels."""
    holes = ndi.binary_fill_holes(mask) & ~mask
    labels, count = ndi.label(holes)
    if count == 0:
        return mask
    areas = np.bincount(labels.ravel())
    small = areas <= max_area
    small[0] = False
    return mask | small[labels]


def _flatten(ink_up: np.ndarray, dark_ink: bool) -> tuple[np.ndarray, float]:
    """Subtract the background from ``ink_up`` (ink bright); return it and the noise level."""
    # First guess: a low percentile over a window wide compared with strokes,
    # so it follows shading and gradients but not thin ink.
    background = _coarse_filter(ink_up, cells=32, percentile=20, window=_BACKGROUND_WINDOW)
    flat = ink_up - background
    sigma = max(_robust_sigma(flat), 0.002)
    # Second guess: interpolate the background from the pixels that are not
    # ink, so bold strokes and blobs wider than the window are not mistaken
    # for background (which would hollow them out).
    rough = flat > max(4.0 * sigma, 0.02)
    valid = ~rough
    if rough.any():
        rough = flat > max(4.0 * sigma, 0.02, _otsu(flat[rough]))
        rough = ndi.binary_dilation(rough, iterations=2)
        rough = _fill_small_holes(rough, _HOLE_FRACTION * rough.size)
        valid = ~rough
        if valid.sum() > 0.05 * valid.size:
            background = _masked_background(ink_up, valid, fallback=background)
            flat = ink_up - background
            sigma = max(_robust_sigma(flat[valid]), 0.002)
    if dark_ink:
        # Light falls on paper and ink alike, so shade is a factor, not an
        # offset: divide by the paper's brightness so that ink in a shadow is
        # as strong as ink in full light.
        flat = flat / np.maximum(1.0 - background, 0.05)
        sigma = max(_robust_sigma(flat[valid] if valid.any() else flat), 0.002)
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
    lines = ndi.binary_opening(weak, structure=np.ones((1, length), dtype=bool))
    lines |= ndi.binary_opening(weak, structure=np.ones((length, 1), dtype=bool))
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


def analyse_ink(gray: np.ndarray) -> InkMap:
    """Find the ink in a grayscale image, whatever its polarity, lighting and size.

    Args:
        gray: float32 ``(H, W)`` in [0, 1], 1 = white, as from :func:`load_image`.

    Returns:
        An :class:`InkMap` at the working resolution (longer side between 112
        and 1200 pixels). It may hold zero components (a blank page).
    """
    gray = np.asarray(gray, dtype=np.float32)
    work, scale = _to_working_scale(gray)
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
    mask = _add_faint_strokes(flat, mask, threshold, sigma)
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
        stroke_width=_stroke_width(mask, ink),
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
        stroke_width = _stroke_width(crop_mask, crop)

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
    small = np.clip(_resize(crop, size, Image.LANCZOS), 0.0, 1.0)
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


def _select_digit(info: InkMap) -> list[Component]:
    """The components that make up the single digit in ``info`` (largest first)."""
    candidates = sorted(find_components(info), key=lambda c: c.area, reverse=True)
    if not candidates:
        return []
    main = candidates[0]
    keep = [main]
    x0, y0, x1, y1 = main.box
    # Grow the digit with nearby pieces (broken strokes); drop specks and
    # far-away marks.
    rest = candidates[1:]
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


def _blank_error(name: str) -> ImageError:
    return ImageError(
        f"{name}: no digit found (the image looks blank: no ink stands out from the background)"
    )


def _has_ink(info: InkMap) -> bool:
    return info.count > 0 and info.contrast >= 0.06 and info.contrast >= 6.0 * info.noise


def find_ink(source: ImageSource) -> InkMap:
    """Read an image and find its ink: :func:`load_image`, then :func:`analyse_ink`.

    Raises:
        ImageError: The image cannot be read or processed, or no ink stands
            out from its background (a blank page).
    """
    name = _source_name(source)
    gray = load_image(source)
    try:
        info = analyse_ink(gray)
    except (ValueError, MemoryError) as exc:
        raise ImageError(f"{name}: cannot process the image ({exc})") from None
    if not _has_ink(info):
        raise _blank_error(name)
    return info


#: A plain reading whose paper varies by more than this fraction of the
#: ink's contrast has uneven light or a textured ground: the page reading
#: (background flattening) is then tried beside it.
UNEVEN_PAPER = 0.15
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
        ruled: The threshold took grid or ruling lines for ink (two or more
            straight lines across 80 % of the picture in one direction).
        frame_decides: The border showed the polarity (at least 70 % of it
            in one class); otherwise the minority class was taken for ink.
    """

    image28: np.ndarray
    mask: np.ndarray
    inverted: bool
    uneven: float
    separation: float
    contrast: float
    structure: float = 1.0
    ruled: bool = False
    frame_decides: bool = True

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
    uneven = _robust_sigma(far) / max(contrast, 1e-3) if far.size >= 0.05 * work.size else 0.0
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
        ruled=_ruled(mask),
        frame_decides=frame is not None,
    )


def _ruled(mask: np.ndarray) -> bool:
    """Two or more thin straight lines across 80 % of ``mask`` in one direction (squared
    or ruled paper). A digit's stroke in a tight crop may run across the picture, but
    not as two thin parallel lines."""
    height, width = mask.shape
    if min(height, width) < 64:  # a small cut-out, not a page
        return False
    for axis, structure in (
        (0, np.ones((1, max(2, int(0.8 * width))), bool)),
        (1, np.ones((max(2, int(0.8 * height)), 1), bool)),
    ):
        lines = ndi.binary_opening(mask, structure=structure)
        if not lines.any():
            continue
        labels, _ = ndi.label(lines, structure=np.ones((3, 3), bool))
        across = mask.shape[axis]
        thin = [
            s
            for s in ndi.find_objects(labels)
            if s[axis].stop - s[axis].start <= max(3, 0.03 * across)
        ]
        if len(thin) >= 2:
            return True
    return False


def page_reading(
    info: InkMap,
) -> tuple[np.ndarray, list[Component], np.ndarray, float, float] | None:
    """The page pipeline's reading of the one digit in ``info``.

    Returns:
        ``(image28, components, zone, stroke_width, thickened_by)``, or ``None``
        when no digit-sized ink is found.
    """
    if not _has_ink(info):
        return None
    components = _select_digit(info)
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
    stroke_width = _stroke_width(digit, ink)
    image28, thickened = ink_to_mnist(ink, digit, stroke_width)
    return image28, components, zone & (ink > 0.02), stroke_width, thickened


def preprocess(source: ImageSource, classify: Classifier | None = None) -> PreprocessResult:
    """Find the one digit in an image and normalise it the MNIST way, keeping the details.

    Two readings are made. The *plain* one is LeCun's normalisation of the
    whole image (one Otsu threshold, the class the frame does not hold is
    ink, specks dropped, fitted to 20x20 and centred by centre of mass): it
    reads cut-out scans, 1-bit and low-resolution images, and bold or tightly
    cropped digits. The *page* one first models the paper (a desk around the
    page, uneven light, grid and ruling lines) before finding the ink. The
    plain reading is used unless the picture shows a page that it cannot
    handle: a desk runs along a side (the page reading is taken), or the
    ground varies by more than :data:`UNEVEN_PAPER` of the ink's contrast,
    or the threshold took grid or ruling lines for ink (the page reading is
    taken, or, given ``classify``, whichever of the two the classifier is
    surer of). Given ``classify``, a digit whose ink touches so much of the
    frame that the border does not show the polarity is also read both
    ways, and the classifier keeps the surer reading.

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
    name = _source_name(source)
    gray = load_image(source)
    work, scale = _to_working_scale(gray)
    # The plain recipe reads small images at their own resolution (an
    # enlargement would only blur a 1-bit or blocky scan); large ones shrunk.
    if scale > 1.0:
        work, scale = gray, 1.0
    structure = _neighbour_correlation(work)
    plain = plain_reading(work, structure)
    needs_page = not plain.has_ink or plain.uneven > UNEVEN_PAPER or plain.ruled
    page = None
    info = None
    if needs_page or (plain.inverted and _rim_is_dark(work)):
        try:
            info = analyse_ink(gray)
        except (ValueError, MemoryError) as exc:
            raise ImageError(f"{name}: cannot process the image ({exc})") from None
        needs_page = needs_page or info.outside_paper
        if needs_page:
            page = page_reading(info)
    desk = info is not None and info.outside_paper
    # The readings the classifier may arbitrate between. A desk along a side
    # is a structural finding: the page reading is taken outright.
    readings: list[PlainReading | None] = [plain] if plain.has_ink and not desk else []
    if readings and classify is not None and not plain.ruled and not plain.frame_decides:
        # Ink touching much of the frame (a bold or blurry digit filling its
        # box) leaves the polarity open: the classifier reads both ways.
        other = plain_reading(work, structure, dark_ink=not plain.inverted)
        if other.has_ink:
            readings.append(other)
    use_page = page is not None and needs_page
    if use_page:
        readings.append(None)  # the page reading
    if classify is not None and len(readings) > 1:
        images = [page[0] if r is None else r.image28 for r in readings]
        probs = np.asarray(classify(np.stack(images)))
        best = readings[int(np.argmax(probs.max(axis=1)))]
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
        raise _blank_error(name)
    ys, xs = np.nonzero(plain.mask)
    height, width = gray.shape
    box = (
        max(0, int(np.floor(xs.min() / scale))),
        max(0, int(np.floor(ys.min() / scale))),
        min(width, int(np.ceil((xs.max() + 1) / scale))),
        min(height, int(np.ceil((ys.max() + 1) / scale))),
    )
    labels, count = ndi.label(plain.mask, structure=np.ones((3, 3), bool))
    pieces = ndi.find_objects(labels)
    areas = np.bincount(labels.ravel())[1:]
    return PreprocessResult(
        image28=plain.image28,
        gray=gray,
        ink_box=box,
        inverted=plain.inverted,
        stroke_width=_stroke_width(plain.mask) / scale,
        thickened_by=0.0,
        components=int(count),
        method="plain",
        digits_side_by_side=count_side_by_side(
            [(p[1].start, p[0].start, p[1].stop, p[0].stop) for p in pieces],
            [int(a) for a in areas],
        ),
    )


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
                f"{_source_name(source)}: expected a 28x28 MNIST image, got {width}x{height} "
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
