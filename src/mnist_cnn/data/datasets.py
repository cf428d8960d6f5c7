"""MNIST and other IDX datasets: find, verify, load and prepare them, by name or folder.

:func:`load_mnist` is a drop-in for ``keras.datasets.mnist.load_data()`` that
works offline. It returns uint8 arrays of shape (60000, 28, 28), (60000,),
(10000, 28, 28) and (10000,), read from the four canonical IDX files
(:data:`~.catalog.MNIST_FILES`). It looks for them, in this order, in:

1. the ``data_dir`` argument (the CLI's ``--data-dir``);
2. the folder named by the ``MNIST_CNN_DATA`` environment variable;
3. the repository's ``data/mnist/`` folder (source checkouts and editable
   installs only);
4. the user cache, ``$XDG_CACHE_HOME/mnist-cnn/mnist/`` (by default
   ``~/.cache/mnist-cnn/mnist/``);
5. and otherwise downloads them into the user cache from :data:`~.catalog.MIRRORS`
   (:mod:`mnist_cnn.data.download`).

A folder "has MNIST" when all four files are in it, either gzip-compressed
under the canonical ``.gz`` names or decompressed under the same names
without ``.gz``. A folder given by the user (steps 1 and 2) must hold them:
if it does not, or a file in it is damaged, that is an error, and no other
folder is tried in its place.

Checksum policy. Files are always verified by the SHA-256 of their
*decompressed* bytes, because recompressing a file (as one of the committed
files was) changes the ``.gz`` hash but not the data.

* :func:`load_mnist` and :func:`download_mnist` always verify against
  :data:`~.catalog.MNIST_FILES`.
* :func:`load_idx_dataset` serves any dataset stored in the MNIST layout
  (Fashion-MNIST, KMNIST, ... use the same four file names). With
  ``verify=None`` (the default) it verifies against the folder's
  ``SHA256SUMS`` file if there is one (``sha256sum`` format, sums of the
  decompressed bytes, file names with or without ``.gz``; it must list all
  four files); otherwise against :data:`~.catalog.MNIST_FILES` if either labels file is
  MNIST's; otherwise it loads with structural checks only (valid IDX, 3-D
  uint8 images, 1-D integer labels, matching counts). ``verify=True`` demands
  a checksum: ``SHA256SUMS`` if present, else :data:`~.catalog.MNIST_FILES`.
  ``verify=False`` skips checksums but keeps the structural checks.

Other datasets by name. :func:`load_dataset` (the CLI's ``--dataset``) loads
``mnist`` as above; ``fashion-mnist`` from ``data_dir`` or its own cache folder
(``~/.cache/mnist-cnn/fashion-mnist/``, downloaded from
:data:`~.catalog.FASHION_MNIST_MIRRORS`), checked against the published SHA-256 of its
``.gz`` files (:data:`~.catalog.FASHION_MNIST_FILES`; no published source lists the sums
of its decompressed bytes); and ``idx``, any folder of the four files, with
structural checks only. MNIST's checksums apply only to ``mnist``. No message
advises deleting a file outside mnist-cnn's own download cache: a folder given
by the user may hold another dataset under MNIST's names.

Every problem with a file raises :class:`~mnist_cnn.errors.DataError` (or
:class:`~mnist_cnn.errors.DownloadError`) with a message that names the file,
says what is wrong and how to fix it. Loaded datasets are kept in memory per
folder (invalidated when a file changes), and every call returns fresh,
writable copies, so a caller cannot alter what the next caller gets.

The IDX format itself (parsing and the checks of one file or folder) is
:mod:`mnist_cnn.data.idx`; the known datasets' checksums, mirrors and class
names are :mod:`mnist_cnn.data.catalog`; downloading is
:mod:`mnist_cnn.data.download`. Imports numpy only, never Keras.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from . import catalog
from .catalog import DATA_ENV_VAR, check_dataset
from .download import download_fashion_mnist, download_mnist
from .idx import (
    FILE_NAMES,
    SUMS_FILE_NAME,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    check_published_gz,
    check_sha256,
    check_structure,
    file_stamp,
    has_mnist,
    parse_idx,
    read_decompressed,
    read_sums_file,
    require_files,
)

__all__ = [
    "find_mnist_dir",
    "load_dataset",
    "load_idx_dataset",
    "load_mnist",
    "prepare_images",
    "prepare_labels",
    "resolve_dataset_dir",
    "resolve_mnist_dir",
]


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
    "fashion-mnist" (the published ``.gz`` sums, :data:`~.catalog.FASHION_MNIST_FILES`).
    ``known_sums`` are :data:`~.catalog.MNIST_FILES`, or in "fashion-mnist" mode
    :data:`~.catalog.FASHION_MNIST_FILES` (passed in, so they are part of the cache key).
    """
    del stamps  # Only part of the cache key.
    folder = Path(directory)
    paths = require_files(folder)
    contents = {name: read_decompressed(path) for name, path in paths.items()}

    sums_path = folder / SUMS_FILE_NAME
    mnist = dict(known_sums)
    mnist_source = "the MNIST checksums, catalog.MNIST_FILES"
    expected: dict[str, str] | None = None
    source = ""
    if mode == "mnist":
        expected, source = mnist, mnist_source
    elif mode == "fashion-mnist":
        pass  # Checked on the raw bytes below.
    elif mode != "never" and sums_path.is_file():
        expected, source = read_sums_file(sums_path), str(sums_path)
    elif mode == "always" or (
        mode == "auto"
        and any(
            hashlib.sha256(contents[name][1]).hexdigest() == mnist[name]
            for name in (TRAIN_LABELS, TEST_LABELS)
        )
    ):
        expected, source = mnist, mnist_source

    if mode == "fashion-mnist":
        for name, (raw, _) in contents.items():
            check_published_gz(paths[name], raw, mnist[name], "Fashion-MNIST")
    arrays = {name: parse_idx(paths[name], data) for name, (_, data) in contents.items()}
    if expected is not None:
        for name, (raw, data) in contents.items():
            check_sha256(paths[name], raw, data, expected[name], source)
    check_structure(folder, paths, arrays)
    return (
        arrays[TRAIN_IMAGES],
        arrays[TRAIN_LABELS],
        arrays[TEST_IMAGES],
        arrays[TEST_LABELS],
    )


def _load_directory(
    directory: Path, mode: str
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    directory = directory.expanduser().resolve()
    paths = require_files(directory)
    stamp_paths = list(paths.values())
    if (directory / SUMS_FILE_NAME).is_file():
        stamp_paths.append(directory / SUMS_FILE_NAME)
    stamps = tuple(file_stamp(path) for path in stamp_paths)
    known = catalog.FASHION_MNIST_FILES if mode == "fashion-mnist" else catalog.MNIST_FILES
    known_sums = tuple((name, known[name].lower()) for name in FILE_NAMES)
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
            against :data:`~.catalog.MNIST_FILES` if the labels are MNIST's, else not at
            all. ``True`` always verifies (``SHA256SUMS``, else
            :data:`~.catalog.MNIST_FILES`). ``False`` never does.

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
    # src/mnist_cnn/data/datasets.py -> parents[3] is the repository root.
    return Path(__file__).resolve().parents[3] / "data" / "mnist"


def _user_dir(path: str | os.PathLike[str], where: str) -> Path:
    directory = Path(path).expanduser()
    if has_mnist(directory):
        return directory
    try:
        require_files(directory)
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
    cache = Path(cache_dir).expanduser() if cache_dir is not None else catalog.default_cache_dir()
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
    cache = Path(cache_dir).expanduser() if cache_dir is not None else catalog.default_cache_dir()
    if not download:
        raise DataError(
            f"MNIST not found: looked in ${DATA_ENV_VAR} (not set), {_repo_data_dir()} and "
            f"{cache}. Copy the four files {', '.join(FILE_NAMES)} into {cache}, pass "
            f"--data-dir FOLDER or set {DATA_ENV_VAR}=FOLDER, or allow the download."
        )
    # MIRRORS is looked up now, not when download_mnist was defined.
    return download_mnist(cache, mirrors=catalog.MIRRORS, progress=progress)


def load_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: bool = True,
    cache_dir: str | os.PathLike[str] | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST like ``keras.datasets.mnist.load_data()``, offline when possible.

    The folder is found as described in the module docstring, and every file
    is verified against :data:`~.catalog.MNIST_FILES`. The first call per folder parses
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
# Datasets by name: --dataset mnist | fashion-mnist | idx
# --------------------------------------------------------------------------- #


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
    downloaded from :data:`~.catalog.FASHION_MNIST_MIRRORS` when empty. ``idx``:
    ``data_dir``, which it needs.

    Raises:
        DataError: The folder lacks the files, ``idx`` has no ``data_dir``, or
            the dataset is unknown.
        DownloadError: The download failed.
    """
    check_dataset(dataset)
    if dataset == "mnist":
        return resolve_mnist_dir(data_dir, cache_dir, download=download, progress=progress)
    if data_dir is not None:
        return _user_dir(data_dir, "the data_dir argument / --data-dir")
    if dataset == "idx":
        raise DataError("--dataset idx needs the folder of the four IDX files: --data-dir FOLDER")
    cache = Path(cache_dir).expanduser() if cache_dir is not None else catalog.cache_for(dataset)
    if has_mnist(cache):
        return cache
    if not download:
        raise DataError(
            f"Fashion-MNIST not found in {cache}. Copy its four files ({', '.join(FILE_NAMES)}) "
            "there, pass --data-dir FOLDER, or allow the download."
        )
    # FASHION_MNIST_MIRRORS is looked up now, so tests can point it elsewhere.
    return download_fashion_mnist(cache, mirrors=catalog.FASHION_MNIST_MIRRORS, progress=progress)


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
            :data:`~.catalog.FASHION_MNIST_FILES`) or ``"idx"`` (any folder of the four
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
    """One-hot encode labels, as the tutorial does with ``keras.utils.to_categorical``.

    The same float32 rows as ``to_categorical(y, num_classes)`` (a test checks
    it against Keras), computed with numpy so the data code never loads Keras.

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
    one_hot = np.zeros((y.size, num_classes), dtype=np.float32)
    one_hot[np.arange(y.size), y] = 1.0
    return one_hot
