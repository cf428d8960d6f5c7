"""Read any picture of a digit into grayscale: files, bytes, Pillow images, numpy arrays.

:func:`load_image` decodes anything Pillow reads (PNG, JPEG, BMP, GIF, TIFF,
WebP; RGB, RGBA, palette, 1-bit, 16-bit, float), applies EXIF rotation,
composites transparency on white and refuses decompression bombs from the
header, before decoding. Every error names the source and says what to do.
Owns nothing beyond that; imports numpy and Pillow only.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, ImageOps

from ..errors import ImageError

__all__ = ["MAX_PIXELS", "ImageSource", "load_image", "source_name"]

#: Largest image accepted, in pixels (width x height). Bigger files are refused
#: before they are decoded: a 50,000 x 50,000 PNG can be a few kilobytes on disk
#: and 2.5 GB in memory. 40 megapixels covers every phone camera in use.
MAX_PIXELS = 40_000_000

ImageSource = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]  # noqa: UP007 - runtime alias, Python 3.10


def source_name(source: object) -> str:
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
    name = source_name(source)
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
