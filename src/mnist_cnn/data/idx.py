"""The IDX file format of MNIST and its kin: parse, check, find the four files of a folder.

:func:`read_idx` reads one IDX file, gzip-compressed or plain, told by its
content; the checks here (gzip stream, magic number, declared dimensions
against the payload, SHA-256 of the decompressed bytes, a folder's
``SHA256SUMS``, images 3-D uint8 and labels 1-D integers in matching counts)
raise :class:`~mnist_cnn.errors.DataError` naming the file and the fix. Which
checksums apply to which folder is decided by :mod:`mnist_cnn.data.datasets`.

A message advises deleting a file only inside mnist-cnn's own download cache
(:mod:`mnist_cnn.data.catalog`): anywhere else the file may be someone's other
data under MNIST's names.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import catalog

__all__ = ["FILE_NAMES", "SUMS_FILE_NAME", "has_mnist", "read_idx"]

#: Name of the optional checksum file of a dataset folder.
SUMS_FILE_NAME = "SHA256SUMS"

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILE_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> (big-endian dtype as stored, name for messages).
_IDX_DTYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype("u1"), "uint8"),
    0x09: (np.dtype("i1"), "int8"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}


def repair_hint(path: Path) -> str:
    """What to do about a damaged file at ``path``: the end of every damage message."""
    # Deleting is advised only inside mnist-cnn's own download cache: anywhere
    # else the file may be someone's other data (Fashion-MNIST under MNIST's names).
    if path.parent.resolve() in {
        catalog.cache_for(name).resolve() for name in ("mnist", "fashion-mnist")
    }:
        return (
            f"{path} is in mnist-cnn's download cache: delete it and run again to re-download it."
        )
    return (
        f"Replace it with a good copy of {path.name} (for MNIST: from the repository's "
        f"data/mnist/ folder or a mirror such as {catalog.MIRRORS[0]}), or point --data-dir at "
        "another folder."
    )


def other_dataset_hint() -> str:
    """The end of a message where MNIST's checksums met a folder of other data."""
    return (
        " If the folder holds another dataset in the MNIST layout, say which: "
        "--dataset fashion-mnist, or --dataset idx (structural checks only)."
    )


def read_decompressed(path: Path) -> tuple[bytes, bytes]:
    """Return ``(raw_bytes, decompressed_bytes)`` of an IDX file, gzip or plain."""
    if not path.exists():
        raise DataError(
            f"{path}: file not found. Check the path, or copy the file there "
            f"(for MNIST, run again with downloads allowed to fetch it)."
        )
    if not path.is_file():
        raise DataError(f"{path}: is not a regular file. Point to the IDX file itself.")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc}). Check its permissions.") from exc
    if not raw.startswith(GZIP_MAGIC):
        return raw, raw
    try:
        return raw, gzip.decompress(raw)
    except EOFError as exc:
        raise DataError(
            f"{path}: truncated gzip stream (the file ends before the compressed data "
            f"does; {len(raw)} bytes on disk), probably an interrupted download or copy. "
            + repair_hint(path)
        ) from exc
    except (OSError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc}). " + repair_hint(path)) from exc


def parse_idx(path: Path, data: bytes) -> np.ndarray:
    """Parse decompressed IDX bytes into a read-only array in native byte order."""
    if len(data) < 4:
        raise DataError(
            f"{path}: only {len(data)} bytes after decompression, too short for an IDX "
            f"header (at least 4 bytes). " + repair_hint(path)
        )
    zero0, zero1, type_code, ndim = data[0], data[1], data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: magic number 0x{magic:08X} is not an IDX magic number (expected "
            f"0x00 0x00, a type code among "
            f"{', '.join(f'0x{code:02X}' for code in _IDX_DTYPES)} and a number of "
            f"dimensions >= 1, e.g. 0x00000803 for 3-D uint8 images). This is not an IDX "
            f"file. " + repair_hint(path)
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: magic number 0x{magic:08X} declares {ndim} dimensions, which needs a "
            f"{header_size}-byte header, but the file has only {len(data)} bytes. "
            + repair_hint(path)
        )
    dims = struct.unpack(f">{ndim}I", data[4:header_size])
    stored_dtype, dtype_name = _IDX_DTYPES[type_code]
    expected_size = math.prod(dims) * stored_dtype.itemsize
    payload_size = len(data) - header_size
    if payload_size != expected_size:
        shape_text = "x".join(str(dim) for dim in dims)
        problem = "the payload is short" if payload_size < expected_size else "trailing bytes"
        raise DataError(
            f"{path}: header declares {shape_text} {dtype_name} = {expected_size} bytes but "
            f"payload has {payload_size} ({problem}). " + repair_hint(path)
        )
    array = np.frombuffer(data, dtype=stored_dtype, offset=header_size).reshape(dims)
    if stored_dtype.byteorder == ">":
        array = array.astype(stored_dtype.newbyteorder("="))
    array.flags.writeable = False
    return array


def check_sha256(path: Path, raw: bytes, data: bytes, expected: str, source: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual == expected.lower():
        return
    note = ""
    if hashlib.sha256(raw).hexdigest() == expected.lower() and raw is not data:
        note = (
            f" The expected sum is that of the compressed file; {source} must hold sums of "
            f"the decompressed bytes (gunzip -c FILE | sha256sum)."
        )
    raise DataError(
        f"{path}: SHA-256 of the decompressed bytes is {actual}, expected {expected} "
        f"(from {source}). The file is damaged or holds other data.{note} "
        + repair_hint(path)
        + (other_dataset_hint() if "MNIST_FILES" in source else "")
    )


def check_published_gz(path: Path, raw: bytes, expected: str, title: str) -> None:
    """Check a file against the SHA-256 of its dataset's published ``.gz`` file."""
    actual = hashlib.sha256(raw).hexdigest()
    if actual == expected.lower():
        return
    form = (
        "a .gz file that is not the published one (damaged, recompressed or other data)"
        if raw.startswith(GZIP_MAGIC)
        else "decompressed, so it cannot be checked against the published sums of the .gz files"
    )
    raise DataError(
        f"{path}: SHA-256 {actual} is not {title}'s published {expected}: the file is "
        f"{form}. Put the original .gz files in the folder, or load it with --dataset idx "
        "(structural checks only)."
    )


def read_idx(path: str | os.PathLike[str], expected_sha256: str | None = None) -> np.ndarray:
    """Read one IDX file, gzip-compressed or plain.

    The format is told from the content (gzip magic bytes ``1f 8b``), not from
    the file name. All IDX element types are supported; multi-byte values are
    converted from big-endian to native byte order.

    Args:
        path: The IDX file, e.g. ``data/mnist/train-images-idx3-ubyte.gz``.
        expected_sha256: If given, the SHA-256 (hex) that the decompressed bytes
            must have.

    Returns:
        A read-only array with the shape declared by the header, e.g. uint8
        (60000, 28, 28) for MNIST training images or uint8 (60000,) for labels.

    Raises:
        DataError: The file is missing, its gzip stream is truncated or corrupt,
            the magic number is not an IDX one, the declared dimensions do not
            match the payload size, or the checksum does not match.

    Example:
        >>> labels = read_idx("data/mnist/t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
        >>> labels.shape, labels.dtype  # doctest: +SKIP
        ((10000,), dtype('uint8'))
    """
    path = Path(path)
    raw, data = read_decompressed(path)
    array = parse_idx(path, data)
    if expected_sha256 is not None:
        check_sha256(path, raw, data, expected_sha256, "the expected_sha256 argument")
    return array


def find_file(directory: Path, name: str) -> Path | None:
    """Return the path of ``name`` in ``directory``, compressed or not, if present."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def has_mnist(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds all four MNIST-layout files (``.gz`` or not)."""
    directory = Path(directory)
    return all(find_file(directory, name) is not None for name in FILE_NAMES)


def require_files(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        raise DataError(
            f"{directory}: no such folder. Point to a folder holding {', '.join(FILE_NAMES)}."
        )
    found = {name: find_file(directory, name) for name in FILE_NAMES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise DataError(
            f"{directory}: missing {', '.join(missing)}. A dataset folder must hold the four "
            f"files {', '.join(FILE_NAMES)} (gzip-compressed, or decompressed without "
            f"'.gz'). Copy them there (for MNIST, from the repository's data/mnist/ folder), "
            f"or point to another folder."
        )
    return {name: path for name, path in found.items() if path is not None}


def read_sums_file(sums_path: Path) -> dict[str, str]:
    """Parse a ``sha256sum``-format file into canonical ``.gz`` name -> hex digest."""
    try:
        text = sums_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{sums_path}: cannot be read ({exc}).") from exc
    sums: dict[str, str] = {}
    for line_number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(maxsplit=1)
        digest = parts[0].lower()
        if (
            len(parts) != 2
            or len(digest) != 64
            or any(char not in "0123456789abcdef" for char in digest)
        ):
            raise DataError(
                f"{sums_path}, line {line_number}: expected '<64 hex digits>  <file name>' "
                f"(sha256sum format), got {line!r}. Fix or delete the line."
            )
        name = Path(parts[1].lstrip("*").strip()).name
        canonical = name if name.endswith(".gz") else name + ".gz"
        sums[canonical] = digest
    missing = [name for name in FILE_NAMES if name not in sums]
    if missing:
        raise DataError(
            f"{sums_path}: lists no SHA-256 for {', '.join(missing)}. Add a line per file "
            f"(sum of the decompressed bytes: gunzip -c FILE | sha256sum), or load the "
            f"folder without checksums (verify=False)."
        )
    return {name: sums[name] for name in FILE_NAMES}


def file_stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


def check_structure(
    directory: Path, paths: Mapping[str, Path], arrays: Mapping[str, np.ndarray]
) -> None:
    for images_name, labels_name in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        images, labels = arrays[images_name], arrays[labels_name]
        images_path, labels_path = paths[images_name], paths[labels_name]
        if images.ndim != 3:
            hint = " It looks like a labels file." if images.ndim == 1 else ""
            raise DataError(
                f"{images_path}: holds a {images.ndim}-D array of shape {images.shape}, but an "
                f"images file must be 3-D (count, rows, cols).{hint} Put the right file under "
                f"this name."
            )
        if images.dtype != np.uint8:
            raise DataError(
                f"{images_path}: holds {images.dtype} pixels, but images must be uint8 "
                f"(IDX type code 0x08). Put the right file under this name."
            )
        if labels.ndim != 1:
            hint = " It looks like an images file." if labels.ndim == 3 else ""
            raise DataError(
                f"{labels_path}: holds a {labels.ndim}-D array of shape {labels.shape}, but a "
                f"labels file must be 1-D (count,).{hint} Put the right file under this name."
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DataError(
                f"{labels_path}: holds {labels.dtype} values, but labels must be integers. "
                f"Put the right file under this name."
            )
        if images.shape[0] != labels.shape[0]:
            raise DataError(
                f"{directory}: {images_path.name} holds {images.shape[0]} images but "
                f"{labels_path.name} holds {labels.shape[0]} labels; the counts must match. "
                f"One of the files belongs to another dataset or split: replace the wrong one."
            )
