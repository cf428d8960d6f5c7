"""MNIST and other IDX datasets: find, download, verify, parse, preprocess.

:func:`load_mnist` is a drop-in for ``keras.datasets.mnist.load_data()`` that
works offline. It returns uint8 arrays of shape (60000, 28, 28), (60000,),
(10000, 28, 28) and (10000,), read from the four canonical IDX files
(:data:`MNIST_FILES`). It looks for them, in this order, in:

1. the ``data_dir`` argument (the CLI's ``--data-dir``);
2. the folder named by the ``MNIST_CNN_DATA`` environment variable;
3. the repository's ``data/mnist/`` folder (source checkouts and editable
   installs only);
4. the user cache, ``$XDG_CACHE_HOME/mnist-cnn/mnist/`` (by default
   ``~/.cache/mnist-cnn/mnist/``);
5. and otherwise downloads them into the user cache from :data:`MIRRORS`.

A folder "has MNIST" when all four files are in it, either gzip-compressed
under the canonical ``.gz`` names or decompressed under the same names
without ``.gz``. A folder given by the user (steps 1 and 2) must hold them:
if it does not, or a file in it is damaged, that is an error, and no other
folder is tried in its place.

Checksum policy. Files are always verified by the SHA-256 of their
*decompressed* bytes, because recompressing a file (as one of the committed
files was) changes the ``.gz`` hash but not the data.

* :func:`load_mnist` and :func:`download_mnist` always verify against
  :data:`MNIST_FILES`.
* :func:`load_idx_dataset` serves any dataset stored in the MNIST layout
  (Fashion-MNIST, KMNIST, ... use the same four file names). With
  ``verify=None`` (the default) it verifies against the folder's
  ``SHA256SUMS`` file if there is one (``sha256sum`` format, sums of the
  decompressed bytes, file names with or without ``.gz``; it must list all
  four files); otherwise against :data:`MNIST_FILES` if either labels file is
  MNIST's; otherwise it loads with structural checks only (valid IDX, 3-D
  uint8 images, 1-D integer labels, matching counts). ``verify=True`` demands
  a checksum: ``SHA256SUMS`` if present, else :data:`MNIST_FILES`.
  ``verify=False`` skips checksums but keeps the structural checks.

Other datasets by name. :func:`load_dataset` (the CLI's ``--dataset``) loads
``mnist`` as above; ``fashion-mnist`` from ``data_dir`` or its own cache folder
(``~/.cache/mnist-cnn/fashion-mnist/``, downloaded from
:data:`FASHION_MNIST_MIRRORS`), checked against the published SHA-256 of its
``.gz`` files (:data:`FASHION_MNIST_FILES`; no published source lists the sums
of its decompressed bytes); and ``idx``, any folder of the four files, with
structural checks only. MNIST's checksums apply only to ``mnist``. No message
advises deleting a file outside mnist-cnn's own download cache: a folder given
by the user may hold another dataset under MNIST's names.

Every problem with a file raises :class:`~mnist_cnn.errors.DataError` (or
:class:`~mnist_cnn.errors.DownloadError`) with a message that names the file,
says what is wrong and how to fix it. Loaded datasets are kept in memory per
folder (invalidated when a file changes), and every call returns fresh,
writable copies, so a caller cannot alter what the next caller gets.

This module imports neither TensorFlow nor Keras; :func:`prepare_labels`
imports Keras when called.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.client
import math
import os
import struct
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np

from mnist_cnn.errors import DataError, DownloadError
from mnist_cnn.fileio import atomic_path

__all__ = [
    "DATASETS",
    "DATA_ENV_VAR",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_MIRRORS",
    "MIRRORS",
    "MNIST_FILES",
    "class_names",
    "SUMS_FILE_NAME",
    "default_cache_dir",
    "download_fashion_mnist",
    "download_mnist",
    "find_mnist_dir",
    "has_mnist",
    "load_dataset",
    "load_idx_dataset",
    "load_mnist",
    "prepare_images",
    "prepare_labels",
    "read_idx",
    "resolve_dataset_dir",
    "resolve_mnist_dir",
]

#: Canonical MNIST file name -> SHA-256 of its decompressed bytes.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
    ),
    "train-labels-idx1-ubyte.gz": (
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
    ),
}

#: Base URLs that serve the four canonical ``.gz`` files by name.
MIRRORS: tuple[str, ...] = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

#: Fashion-MNIST's file name -> SHA-256 of the published ``.gz`` file itself (the
#: sums zalandoresearch/fashion-mnist's files are known by; unlike MNIST_FILES,
#: not of the decompressed bytes, which no published source lists). A file
#: decompressed or recompressed since cannot be checked against them.
FASHION_MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": (
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
    ),
    "train-labels-idx1-ubyte.gz": (
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
    ),
    "t10k-images-idx3-ubyte.gz": (
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
    ),
}

#: Base URLs serving Fashion-MNIST's four ``.gz`` files by name (Keras's
#: ``fashion_mnist.load_data`` source, then the dataset's own bucket).
FASHION_MNIST_MIRRORS: tuple[str, ...] = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)

#: ``--dataset`` choices: ``mnist`` (MNIST's checksums and mirrors),
#: ``fashion-mnist`` (its own checksums and mirrors) and ``idx`` (any folder of
#: the four MNIST-layout files, structural checks only) -> class names
#: (``None``: the label numbers are the names, as MNIST's digits are).
DATASETS: dict[str, tuple[str, ...] | None] = {
    "mnist": None,
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    "idx": None,
}

#: Environment variable naming a folder that holds the MNIST files.
DATA_ENV_VAR = "MNIST_CNN_DATA"

#: Name of the optional checksum file of a dataset folder.
SUMS_FILE_NAME = "SHA256SUMS"

_TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
_TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
_TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
_TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
_FILE_NAMES = (_TRAIN_IMAGES, _TRAIN_LABELS, _TEST_IMAGES, _TEST_LABELS)

_GZIP_MAGIC = b"\x1f\x8b"

# IDX type code -> (big-endian dtype as stored, name for messages).
_IDX_DTYPES: dict[int, tuple[np.dtype, str]] = {
    0x08: (np.dtype("u1"), "uint8"),
    0x09: (np.dtype("i1"), "int8"),
    0x0B: (np.dtype(">i2"), "int16"),
    0x0C: (np.dtype(">i4"), "int32"),
    0x0D: (np.dtype(">f4"), "float32"),
    0x0E: (np.dtype(">f8"), "float64"),
}

_CHUNK_SIZE = 1 << 20
_DOWNLOAD_TIMEOUT_SECONDS = 60


# --------------------------------------------------------------------------- #
# IDX parsing
# --------------------------------------------------------------------------- #


def _repair_hint(path: Path) -> str:
    # Deleting is advised only inside mnist-cnn's own download cache: anywhere
    # else the file may be someone's other data (Fashion-MNIST under MNIST's names).
    if path.parent.resolve() in {
        _cache_for(name).resolve() for name in ("mnist", "fashion-mnist")
    }:
        return (
            f"{path} is in mnist-cnn's download cache: delete it and run again to re-download it."
        )
    return (
        f"Replace it with a good copy of {path.name} (for MNIST: from the repository's "
        f"data/mnist/ folder or a mirror such as {MIRRORS[0]}), or point --data-dir at "
        "another folder."
    )


def _other_dataset_hint() -> str:
    return (
        " If the folder holds another dataset in the MNIST layout, say which: "
        "--dataset fashion-mnist, or --dataset idx (structural checks only)."
    )


def _read_decompressed(path: Path) -> tuple[bytes, bytes]:
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
    if not raw.startswith(_GZIP_MAGIC):
        return raw, raw
    try:
        return raw, gzip.decompress(raw)
    except EOFError as exc:
        raise DataError(
            f"{path}: truncated gzip stream (the file ends before the compressed data "
            f"does; {len(raw)} bytes on disk), probably an interrupted download or copy. "
            + _repair_hint(path)
        ) from exc
    except (OSError, zlib.error) as exc:
        raise DataError(f"{path}: corrupt gzip data ({exc}). " + _repair_hint(path)) from exc


def _parse_idx(path: Path, data: bytes) -> np.ndarray:
    """Parse decompressed IDX bytes into a read-only array in native byte order."""
    if len(data) < 4:
        raise DataError(
            f"{path}: only {len(data)} bytes after decompression, too short for an IDX "
            f"header (at least 4 bytes). " + _repair_hint(path)
        )
    zero0, zero1, type_code, ndim = data[0], data[1], data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim == 0:
        raise DataError(
            f"{path}: magic number 0x{magic:08X} is not an IDX magic number (expected "
            f"0x00 0x00, a type code among "
            f"{', '.join(f'0x{code:02X}' for code in _IDX_DTYPES)} and a number of "
            f"dimensions >= 1, e.g. 0x00000803 for 3-D uint8 images). This is not an IDX "
            f"file. " + _repair_hint(path)
        )
    header_size = 4 + 4 * ndim
    if len(data) < header_size:
        raise DataError(
            f"{path}: magic number 0x{magic:08X} declares {ndim} dimensions, which needs a "
            f"{header_size}-byte header, but the file has only {len(data)} bytes. "
            + _repair_hint(path)
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
            f"payload has {payload_size} ({problem}). " + _repair_hint(path)
        )
    array = np.frombuffer(data, dtype=stored_dtype, offset=header_size).reshape(dims)
    if stored_dtype.byteorder == ">":
        array = array.astype(stored_dtype.newbyteorder("="))
    array.flags.writeable = False
    return array


def _check_sha256(path: Path, raw: bytes, data: bytes, expected: str, source: str) -> None:
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
        + _repair_hint(path)
        + (_other_dataset_hint() if "MNIST_FILES" in source else "")
    )


def _check_published_gz(path: Path, raw: bytes, expected: str, title: str) -> None:
    """Check a file against the SHA-256 of its dataset's published ``.gz`` file."""
    actual = hashlib.sha256(raw).hexdigest()
    if actual == expected.lower():
        return
    form = (
        "a .gz file that is not the published one (damaged, recompressed or other data)"
        if raw.startswith(_GZIP_MAGIC)
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
    raw, data = _read_decompressed(path)
    array = _parse_idx(path, data)
    if expected_sha256 is not None:
        _check_sha256(path, raw, data, expected_sha256, "the expected_sha256 argument")
    return array


# --------------------------------------------------------------------------- #
# Loading a dataset folder
# --------------------------------------------------------------------------- #


def _file_in(directory: Path, name: str) -> Path | None:
    """Return the path of ``name`` in ``directory``, compressed or not, if present."""
    for candidate in (directory / name, directory / name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def has_mnist(directory: str | os.PathLike[str]) -> bool:
    """Whether ``directory`` holds all four MNIST-layout files (``.gz`` or not)."""
    directory = Path(directory)
    return all(_file_in(directory, name) is not None for name in _FILE_NAMES)


def _require_files(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        raise DataError(
            f"{directory}: no such folder. Point to a folder holding {', '.join(_FILE_NAMES)}."
        )
    found = {name: _file_in(directory, name) for name in _FILE_NAMES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        raise DataError(
            f"{directory}: missing {', '.join(missing)}. A dataset folder must hold the four "
            f"files {', '.join(_FILE_NAMES)} (gzip-compressed, or decompressed without "
            f"'.gz'). Copy them there (for MNIST, from the repository's data/mnist/ folder), "
            f"or point to another folder."
        )
    return {name: path for name, path in found.items() if path is not None}


def _read_sums_file(sums_path: Path) -> dict[str, str]:
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
    missing = [name for name in _FILE_NAMES if name not in sums]
    if missing:
        raise DataError(
            f"{sums_path}: lists no SHA-256 for {', '.join(missing)}. Add a line per file "
            f"(sum of the decompressed bytes: gunzip -c FILE | sha256sum), or load the "
            f"folder without checksums (verify=False)."
        )
    return {name: sums[name] for name in _FILE_NAMES}


def _file_stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


def _check_structure(
    directory: Path, paths: Mapping[str, Path], arrays: Mapping[str, np.ndarray]
) -> None:
    for images_name, labels_name in ((_TRAIN_IMAGES, _TRAIN_LABELS), (_TEST_IMAGES, _TEST_LABELS)):
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


@functools.lru_cache(maxsize=4)
def _load_cached(
    directory: str,
    stamps: tuple[tuple[str, int, int], ...],
    mode: str,
    known_sums: tuple[tuple[str, str], ...],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load and check a folder; keyed on file stamps so changed files are reloaded.

    ``mode`` is "auto", "always" or "never" (``verify`` None, True, False of
    :func:`load_idx_dataset`), "mnist" (:func:`load_mnist`: MNIST sums only) or
    "fashion-mnist" (the published ``.gz`` sums, :data:`FASHION_MNIST_FILES`).
    ``known_sums`` are :data:`MNIST_FILES`, or in "fashion-mnist" mode
    :data:`FASHION_MNIST_FILES` (passed in, so they are part of the cache key).
    """
    del stamps  # Only part of the cache key.
    folder = Path(directory)
    paths = _require_files(folder)
    contents = {name: _read_decompressed(path) for name, path in paths.items()}

    sums_path = folder / SUMS_FILE_NAME
    mnist = dict(known_sums)
    mnist_source = "the MNIST checksums, datasets.MNIST_FILES"
    expected: dict[str, str] | None = None
    source = ""
    if mode == "mnist":
        expected, source = mnist, mnist_source
    elif mode == "fashion-mnist":
        pass  # Checked on the raw bytes below.
    elif mode != "never" and sums_path.is_file():
        expected, source = _read_sums_file(sums_path), str(sums_path)
    elif mode == "always" or (
        mode == "auto"
        and any(
            hashlib.sha256(contents[name][1]).hexdigest() == mnist[name]
            for name in (_TRAIN_LABELS, _TEST_LABELS)
        )
    ):
        expected, source = mnist, mnist_source

    if mode == "fashion-mnist":
        for name, (raw, _) in contents.items():
            _check_published_gz(paths[name], raw, mnist[name], "Fashion-MNIST")
    arrays = {name: _parse_idx(paths[name], data) for name, (_, data) in contents.items()}
    if expected is not None:
        for name, (raw, data) in contents.items():
            _check_sha256(paths[name], raw, data, expected[name], source)
    _check_structure(folder, paths, arrays)
    return (
        arrays[_TRAIN_IMAGES],
        arrays[_TRAIN_LABELS],
        arrays[_TEST_IMAGES],
        arrays[_TEST_LABELS],
    )


def _load_directory(
    directory: Path, mode: str
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    directory = directory.expanduser().resolve()
    paths = _require_files(directory)
    stamp_paths = list(paths.values())
    if (directory / SUMS_FILE_NAME).is_file():
        stamp_paths.append(directory / SUMS_FILE_NAME)
    stamps = tuple(_file_stamp(path) for path in stamp_paths)
    known = FASHION_MNIST_FILES if mode == "fashion-mnist" else MNIST_FILES
    known_sums = tuple((name, known[name].lower()) for name in _FILE_NAMES)
    x_train, y_train, x_test, y_test = _load_cached(str(directory), stamps, mode, known_sums)
    # Copies: the cached arrays are read-only and shared between callers.
    return (x_train.copy(), y_train.copy()), (x_test.copy(), y_test.copy())


def load_idx_dataset(
    directory: str | os.PathLike[str], verify: bool | None = None
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load a dataset stored as the four MNIST-layout IDX files in ``directory``.

    Works for MNIST and for datasets that reuse its file names (Fashion-MNIST,
    KMNIST, ...). See the module docstring for the checksum policy.

    Args:
        directory: Folder holding ``train-images-idx3-ubyte.gz``,
            ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz`` and
            ``t10k-labels-idx1-ubyte.gz`` (or the same names without ``.gz``),
            and optionally a ``SHA256SUMS`` file.
        verify: ``None`` verifies against ``SHA256SUMS`` if present, else
            against :data:`MNIST_FILES` if the labels are MNIST's, else not at
            all. ``True`` always verifies (``SHA256SUMS``, else
            :data:`MNIST_FILES`). ``False`` never does.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: images uint8
        (N, rows, cols) in [0, 255] and labels (N,) of the file's integer type
        (uint8 for MNIST). Fresh, writable copies.

    Raises:
        DataError: A file is missing or damaged, images are not 3-D uint8,
            labels not 1-D integers, image and label counts differ, or a
            checksum does not match.
    """
    mode = {None: "auto", True: "always", False: "never"}.get(verify)
    if mode is None:
        raise ValueError(f"verify must be None, True or False, got {verify!r}")
    return _load_directory(Path(directory), mode)


# --------------------------------------------------------------------------- #
# Finding the MNIST folder
# --------------------------------------------------------------------------- #


def _repo_data_dir() -> Path:
    """The repository's ``data/mnist/`` (exists only in a source checkout)."""
    # src/mnist_cnn/datasets.py -> parents[2] is the repository root.
    return Path(__file__).resolve().parents[2] / "data" / "mnist"


def _cache_for(dataset: str) -> Path:
    """mnist-cnn's download cache of ``dataset`` (``mnist`` or ``fashion-mnist``)."""
    return default_cache_dir().parent / dataset


def default_cache_dir() -> Path:
    """The user cache folder for MNIST: ``$XDG_CACHE_HOME/mnist-cnn/mnist``.

    ``XDG_CACHE_HOME`` is used only if set to an absolute path (as the XDG
    specification requires); otherwise ``~/.cache`` is.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "mnist-cnn" / "mnist"


def _user_dir(path: str | os.PathLike[str], where: str) -> Path:
    directory = Path(path).expanduser()
    if has_mnist(directory):
        return directory
    try:
        _require_files(directory)
    except DataError as exc:
        raise DataError(
            f"{exc} (This folder was chosen by {where}, so no other folder is tried.)"
        ) from None
    return directory


def find_mnist_dir(
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Find the folder that holds MNIST, without downloading.

    Looks in ``data_dir``, then ``$MNIST_CNN_DATA``, then the repository's
    ``data/mnist/``, then the cache folder; the first that applies wins.

    Args:
        data_dir: A folder chosen by the user. If given, it is the only one
            considered.
        cache_dir: The cache folder; defaults to :func:`default_cache_dir`.

    Returns:
        The folder, or ``None`` if neither the repository nor the cache holds
        the four files.

    Raises:
        DataError: ``data_dir`` or ``$MNIST_CNN_DATA`` is given but does not
            hold the four files (no other folder is tried in their place).
    """
    if data_dir is not None:
        return _user_dir(data_dir, "the data_dir argument / --data-dir")
    env_dir = os.environ.get(DATA_ENV_VAR, "")
    if env_dir:
        return _user_dir(env_dir, f"the {DATA_ENV_VAR} environment variable")
    repo_dir = _repo_data_dir()
    if has_mnist(repo_dir):
        return repo_dir
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if has_mnist(cache):
        return cache
    return None


def resolve_mnist_dir(
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
) -> Path:
    """Find the folder that holds MNIST, downloading into the cache if needed.

    Args:
        data_dir: A folder chosen by the user; see :func:`find_mnist_dir`.
        cache_dir: The cache folder; defaults to :func:`default_cache_dir`.
        download: Whether to download the files when no folder holds them.
        progress: Whether to draw a progress bar on stderr while downloading.

    Returns:
        The folder holding the four MNIST files.

    Raises:
        DataError: No folder holds the files and ``download`` is false, or a
            user-chosen folder lacks them.
        DownloadError: The download failed.
    """
    found = find_mnist_dir(data_dir, cache_dir)
    if found is not None:
        return found
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    if not download:
        raise DataError(
            f"MNIST not found: looked in ${DATA_ENV_VAR} (not set), {_repo_data_dir()} and "
            f"{cache}. Copy the four files {', '.join(_FILE_NAMES)} into {cache}, pass "
            f"--data-dir FOLDER or set {DATA_ENV_VAR}=FOLDER, or allow the download."
        )
    # MIRRORS is looked up now, not when download_mnist was defined.
    return download_mnist(cache, mirrors=MIRRORS, progress=progress)


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST like ``keras.datasets.mnist.load_data()``, offline when possible.

    The folder is found as described in the module docstring, and every file
    is verified against :data:`MNIST_FILES`. The first call per folder parses
    the files (about a second); later calls return copies from memory.

    Args:
        data_dir: Folder holding the four MNIST files. If given, no other
            folder is tried.
        download: Whether to download the files when no folder holds them.
        progress: Whether to draw a progress bar on stderr while downloading.
        cache_dir: The cache folder; defaults to :func:`default_cache_dir`.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: ``x_train`` uint8
        (60000, 28, 28) and ``x_test`` uint8 (10000, 28, 28) with pixels in
        [0, 255]; ``y_train`` uint8 (60000,) and ``y_test`` uint8 (10000,)
        with digits 0-9. Fresh, writable copies.

    Raises:
        DataError: The files are missing (and may not be downloaded), damaged
            or not MNIST.
        DownloadError: The download failed.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = load_mnist()  # doctest: +SKIP
        >>> x_train.shape, y_test.shape  # doctest: +SKIP
        ((60000, 28, 28), (10000,))
    """
    directory = resolve_mnist_dir(data_dir, cache_dir, download=download, progress=progress)
    return _load_directory(directory, "mnist")


# --------------------------------------------------------------------------- #
# Downloading
# --------------------------------------------------------------------------- #


class _ProgressBar:
    """A one-line progress bar on a text stream (no dependency on tqdm)."""

    def __init__(self, label: str, total: int | None, stream: IO[str] | None = None) -> None:
        self.label = label
        self.total = total if total and total > 0 else None
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self._last_draw = 0.0

    def update(self, count: int) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last_draw >= 0.1:
            self._last_draw = now
            self._draw()

    def close(self) -> None:
        self._draw()
        self.stream.write("\n")
        self.stream.flush()

    def _draw(self) -> None:
        megabytes = self.done / 1e6
        if self.total is None:
            line = f"\r{self.label}  {megabytes:.1f} MB"
        else:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * 30)
            bar = "#" * filled + "." * (30 - filled)
            line = (
                f"\r{self.label}  [{bar}] {fraction:4.0%}  "
                f"{megabytes:.1f}/{self.total / 1e6:.1f} MB"
            )
        self.stream.write(line)
        self.stream.flush()


def _fetch(url: str, destination: Path, label: str, progress: bool) -> None:
    """Stream ``url`` into ``destination``; raise if it arrives incomplete."""
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_SECONDS) as response:
        length_header = response.headers.get("Content-Length")
        total = int(length_header) if length_header and length_header.isdigit() else None
        bar = _ProgressBar(label, total) if progress else None
        received = 0
        try:
            with destination.open("wb") as out:
                while chunk := response.read(_CHUNK_SIZE):
                    out.write(chunk)
                    received += len(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise OSError(f"incomplete download: received {received} of {total} bytes")


def _decompressed_sha256(path: Path) -> str:
    """SHA-256 of a file's content after gzip decompression (if it is gzip)."""
    digest = hashlib.sha256()
    with path.open("rb") as probe:
        is_gzip = probe.read(2) == _GZIP_MAGIC
    opener = gzip.open if is_gzip else open
    try:
        with opener(path, "rb") as stream:
            while chunk := stream.read(_CHUNK_SIZE):
                digest.update(chunk)
    except EOFError as exc:
        raise OSError("truncated gzip stream") from exc
    except zlib.error as exc:
        raise OSError(f"corrupt gzip data ({exc})") from exc
    return digest.hexdigest()


def _download_one(
    name: str,
    destination: Path,
    mirrors: Iterable[str],
    progress: bool,
    dataset: str = "mnist",
) -> None:
    # MNIST is known by the sums of its decompressed bytes, Fashion-MNIST by its .gz files'.
    fashion = dataset == "fashion-mnist"
    expected = (FASHION_MNIST_FILES if fashion else MNIST_FILES)[name].lower()
    failures: list[str] = []
    for base in mirrors:
        url = base if base.endswith("/") else base + "/"
        url += name
        try:
            # atomic_path deletes the temporary file if anything below raises,
            # so a failed or unverified download leaves nothing behind.
            with atomic_path(destination) as tmp:
                _fetch(url, tmp, name, progress)
                if fashion:
                    actual = hashlib.sha256(tmp.read_bytes()).hexdigest()
                    what = "the file"
                else:
                    actual, what = _decompressed_sha256(tmp), "the decompressed bytes"
                if actual != expected:
                    raise DataError(f"SHA-256 of {what} is {actual}, expected {expected}")
            return
        except (OSError, ValueError, http.client.HTTPException, DataError) as exc:
            failures.append(f"  - {url}: {exc}")
    tried = "\n".join(failures) if failures else "  (no mirror given)"
    all_names = ", ".join(_FILE_NAMES)
    if fashion:
        raise DownloadError(
            f"Could not download {name} into {destination.parent}. Tried:\n{tried}\n"
            f"To set Fashion-MNIST up by hand, copy its four original .gz files ({all_names}) "
            f"into {destination.parent}, or put them in a folder and pass --data-dir FOLDER."
        )
    raise DownloadError(
        f"Could not download {name} into {destination.parent}. Tried:\n{tried}\n"
        f"To set MNIST up by hand, copy the four files ({all_names}) into "
        f"{destination.parent}, or put them in a folder and pass --data-dir FOLDER or set "
        f"{DATA_ENV_VAR}=FOLDER. The repository's data/mnist/ folder holds them."
    )


def download_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Iterable[str] = MIRRORS,
    progress: bool = True,
) -> Path:
    """Download the MNIST files that are missing from the cache folder.

    Each missing file is fetched from each mirror in turn (``urllib``, so
    ``file://`` URLs work) into a temporary file in the cache folder, checked
    against the SHA-256 of its decompressed bytes in :data:`MNIST_FILES`, and
    only then moved into place. A failed or unverified download leaves no file
    behind, neither partial nor temporary; files fetched before it stay.

    Args:
        cache_dir: Destination folder; defaults to :func:`default_cache_dir`.
            Created if needed.
        mirrors: Base URLs, tried in order, that serve the files by name.
        progress: Whether to draw a progress bar per file on stderr.

    Returns:
        The cache folder, now holding the four files.

    Raises:
        DownloadError: A file could not be fetched and verified from any
            mirror. The message lists each URL tried with its error and how to
            install the files by hand.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    mirrors = tuple(mirrors)
    for name in _FILE_NAMES:
        if _file_in(cache, name) is None:
            _download_one(name, cache / name, mirrors, progress)
    return cache


def download_fashion_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Iterable[str] = FASHION_MNIST_MIRRORS,
    progress: bool = True,
) -> Path:
    """Download the Fashion-MNIST files missing from its cache folder, as
    :func:`download_mnist` does for MNIST, each checked against
    :data:`FASHION_MNIST_FILES` before it is moved into place.

    Args:
        cache_dir: Destination folder; default ``$XDG_CACHE_HOME/mnist-cnn/fashion-mnist``.
        mirrors: Base URLs, tried in order, that serve the files by name.
        progress: Whether to draw a progress bar per file on stderr.

    Returns:
        The cache folder, now holding the four files.

    Raises:
        DownloadError: A file could not be fetched and verified from any mirror.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else _cache_for("fashion-mnist")
    mirrors = tuple(mirrors)
    for name in _FILE_NAMES:
        if _file_in(cache, name) is None:
            _download_one(name, cache / name, mirrors, progress, dataset="fashion-mnist")
    return cache


# --------------------------------------------------------------------------- #
# Datasets by name: --dataset mnist | fashion-mnist | idx
# --------------------------------------------------------------------------- #


def _check_dataset(dataset: str) -> None:
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")


def class_names(dataset: str) -> tuple[str, ...] | None:
    """The names of ``dataset``'s classes by label (``None``: the label numbers, as for
    ``mnist`` and ``idx``)."""
    _check_dataset(dataset)
    return DATASETS[dataset]


def resolve_dataset_dir(
    dataset: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
) -> Path:
    """The folder holding ``dataset``'s four files, downloading if needed and allowed.

    ``mnist``: :func:`resolve_mnist_dir`. ``fashion-mnist``: ``data_dir`` if
    given, else its cache folder (``$XDG_CACHE_HOME/mnist-cnn/fashion-mnist``),
    downloaded from :data:`FASHION_MNIST_MIRRORS` when empty. ``idx``:
    ``data_dir``, which it needs.

    Raises:
        DataError: The folder lacks the files, ``idx`` has no ``data_dir``, or
            the dataset is unknown.
        DownloadError: The download failed.
    """
    _check_dataset(dataset)
    if dataset == "mnist":
        return resolve_mnist_dir(data_dir, cache_dir, download=download, progress=progress)
    if data_dir is not None:
        return _user_dir(data_dir, "the data_dir argument / --data-dir")
    if dataset == "idx":
        raise DataError("--dataset idx needs the folder of the four IDX files: --data-dir FOLDER")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else _cache_for(dataset)
    if has_mnist(cache):
        return cache
    if not download:
        raise DataError(
            f"Fashion-MNIST not found in {cache}. Copy its four files ({', '.join(_FILE_NAMES)}) "
            "there, pass --data-dir FOLDER, or allow the download."
        )
    # FASHION_MNIST_MIRRORS is looked up now, so tests can point it elsewhere.
    return download_fashion_mnist(cache, mirrors=FASHION_MNIST_MIRRORS, progress=progress)


def load_dataset(
    dataset: str = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load a dataset in the MNIST layout by name, checked as that dataset.

    Args:
        dataset: ``"mnist"`` (:func:`load_mnist`, MNIST's checksums),
            ``"fashion-mnist"`` (the published sums of its ``.gz`` files,
            :data:`FASHION_MNIST_FILES`) or ``"idx"`` (any folder of the four
            files, given as ``data_dir``: structural checks only).
        data_dir: The folder; see :func:`resolve_dataset_dir` for the defaults.
        download: Whether to download ``mnist`` or ``fashion-mnist`` when missing.
        progress: Whether to draw a progress bar while downloading.
        cache_dir: The download cache folder.

    Returns:
        ``((x_train, y_train), (x_test, y_test))`` as :func:`load_mnist`
        returns them (image and label counts are the folder's).

    Raises:
        DataError: A file is missing, damaged, or not the named dataset.
        DownloadError: The download failed.
    """
    directory = resolve_dataset_dir(
        dataset, data_dir, cache_dir, download=download, progress=progress
    )
    mode = {"mnist": "mnist", "fashion-mnist": "fashion-mnist", "idx": "never"}[dataset]
    return _load_directory(directory, mode)


# --------------------------------------------------------------------------- #
# Tutorial preprocessing
# --------------------------------------------------------------------------- #


def prepare_images(x: np.ndarray) -> np.ndarray:
    """Reshape and scale images exactly as the Keras CNN tutorial does.

    Args:
        x: uint8 array (N, 28, 28), pixels in [0, 255].

    Returns:
        float32 array (N, 28, 28, 1), values in [0, 1]:
        ``x.reshape((N, 28, 28, 1)).astype("float32") / 255.0``.

    Raises:
        ValueError: ``x`` is not uint8 of shape (N, 28, 28).
    """
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"prepare_images expects images of shape (N, 28, 28), got {x.shape}")
    if x.dtype != np.uint8:
        raise ValueError(
            f"prepare_images expects uint8 pixels in [0, 255], got dtype {x.dtype} "
            f"(shape {x.shape}); scaling other data by 1/255 would be wrong"
        )
    images = x.reshape((x.shape[0], 28, 28, 1)).astype("float32")
    # In place: the same float32 values as ``/ 255.0`` without a second
    # 188 MB array for the full training set.
    images /= 255.0
    return images


def prepare_labels(y: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """One-hot encode labels with ``keras.utils.to_categorical``, as the tutorial does.

    Args:
        y: Integer array (N,) with values in [0, num_classes).
        num_classes: Number of classes (10 for digits).

    Returns:
        float32 array (N, num_classes) with a single 1.0 per row.

    Raises:
        ValueError: ``y`` is not 1-D integers in [0, num_classes), or
            ``num_classes`` is not a positive integer.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"prepare_labels expects labels of shape (N,), got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
            f"prepare_labels expects integer labels, got dtype {y.dtype} (shape {y.shape})"
        )
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"prepare_labels expects labels in [0, {num_classes}), got values from "
            f"{y.min()} to {y.max()} (shape {y.shape})"
        )
    from keras.utils import to_categorical  # Lazy: importing Keras loads TensorFlow.

    return to_categorical(y, num_classes).astype("float32")
