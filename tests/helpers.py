"""Helpers shared by several test modules (no test module imports another)."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MNIST_DIR = REPO / "data" / "mnist"
IDX_TYPE_CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode ``array`` as an uncompressed IDX file (big-endian)."""
    kind = array.dtype.str[1:]
    header = struct.pack(">BBBB", 0, 0, IDX_TYPE_CODES[kind], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> bytes:
    """Write ``array`` as an IDX file; return its decompressed bytes."""
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return data


def read_idx_gz(name: str, offset: int, shape: tuple[int, ...]) -> np.ndarray:
    """One of the repository's MNIST files, read without :mod:`mnist_cnn.data`.

    Deliberately independent of the package's loader, so tests of other modules
    do not depend on the loader they are not testing.
    """
    with gzip.open(MNIST_DIR / name, "rb") as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares an 8-bit grayscale image of the given size, with a token of data.

    A real 50,000 x 50,000 PNG of one colour compresses to a few megabytes; its
    header is all a reader needs to see to refuse it.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + _chunk(b"IEND", b"")
    )
