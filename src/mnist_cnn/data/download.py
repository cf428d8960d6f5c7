"""Downloads of dataset files: each file fetched from one mirror after another,
verified, and only then moved into the cache folder.

Like ``keras.utils.get_file``: known file names, SHA-256 checked, a progress
bar, and a failed or unverified download deleted; ``urllib`` fetches, so
tests serve mirrors from ``file://`` URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import sys
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from ..errors import DataError, DownloadError
from ..fileio import atomic_path
from . import catalog
from .catalog import DATA_ENV_VAR
from .idx import FILE_NAMES, GZIP_MAGIC, find_file

__all__ = ["download_fashion_mnist", "download_mnist"]

_CHUNK_SIZE = 1 << 20
_DOWNLOAD_TIMEOUT_SECONDS = 60


class ProgressBar:
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


def fetch(url: str, destination: Path, label: str, progress: bool) -> None:
    """Stream ``url`` into ``destination``; raise if it arrives incomplete."""
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_SECONDS) as response:
        length_header = response.headers.get("Content-Length")
        total = int(length_header) if length_header and length_header.isdigit() else None
        bar = ProgressBar(label, total) if progress else None
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


def decompressed_sha256(path: Path) -> str:
    """SHA-256 of a file's content after gzip decompression (if it is gzip)."""
    digest = hashlib.sha256()
    with path.open("rb") as probe:
        is_gzip = probe.read(2) == GZIP_MAGIC
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
    expected = (catalog.FASHION_MNIST_FILES if fashion else catalog.MNIST_FILES)[name].lower()
    failures: list[str] = []
    for base in mirrors:
        url = base if base.endswith("/") else base + "/"
        url += name
        try:
            # atomic_path deletes the temporary file if anything below raises,
            # so a failed or unverified download leaves nothing behind.
            with atomic_path(destination) as tmp:
                fetch(url, tmp, name, progress)
                if fashion:
                    actual = hashlib.sha256(tmp.read_bytes()).hexdigest()
                    what = "the file"
                else:
                    actual, what = decompressed_sha256(tmp), "the decompressed bytes"
                if actual != expected:
                    raise DataError(f"SHA-256 of {what} is {actual}, expected {expected}")
            return
        except (OSError, ValueError, http.client.HTTPException, DataError) as exc:
            failures.append(f"  - {url}: {exc}")
    tried = "\n".join(failures) if failures else "  (no mirror given)"
    all_names = ", ".join(FILE_NAMES)
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
    mirrors: Iterable[str] | None = None,
    progress: bool = True,
) -> Path:
    """Download the MNIST files that are missing from the cache folder.

    Each missing file is fetched from each mirror in turn (``urllib``, so
    ``file://`` URLs work) into a temporary file in the cache folder, checked
    against the SHA-256 of its decompressed bytes in :data:`~.catalog.MNIST_FILES`, and
    only then moved into place. A failed or unverified download leaves no file
    behind, neither partial nor temporary; files fetched before it stay.

    Args:
        cache_dir: Destination folder; defaults to :func:`~.catalog.default_cache_dir`.
            Created if needed.
        mirrors: Base URLs, tried in order, that serve the files by name (default:
            the catalog's, read at the call).
        progress: Whether to draw a progress bar per file on stderr.

    Returns:
        The cache folder, now holding the four files.

    Raises:
        DownloadError: A file could not be fetched and verified from any
            mirror. The message lists each URL tried with its error and how to
            install the files by hand.
    """
    cache = Path(cache_dir).expanduser() if cache_dir is not None else catalog.default_cache_dir()
    mirrors = tuple(catalog.MIRRORS if mirrors is None else mirrors)
    for name in FILE_NAMES:
        if find_file(cache, name) is None:
            _download_one(name, cache / name, mirrors, progress)
    return cache


def download_fashion_mnist(
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Iterable[str] | None = None,
    progress: bool = True,
) -> Path:
    """Download the Fashion-MNIST files missing from its cache folder, as
    :func:`download_mnist` does for MNIST, each checked against
    :data:`~.catalog.FASHION_MNIST_FILES` before it is moved into place.

    Args:
        cache_dir: Destination folder; default ``$XDG_CACHE_HOME/mnist-cnn/fashion-mnist``.
        mirrors: Base URLs, tried in order, that serve the files by name (default:
            the catalog's, read at the call).
        progress: Whether to draw a progress bar per file on stderr.

    Returns:
        The cache folder, now holding the four files.

    Raises:
        DownloadError: A file could not be fetched and verified from any mirror.
    """
    if cache_dir is None:
        cache = catalog.cache_for("fashion-mnist")
    else:
        cache = Path(cache_dir).expanduser()
    mirrors = tuple(catalog.FASHION_MNIST_MIRRORS if mirrors is None else mirrors)
    for name in FILE_NAMES:
        if find_file(cache, name) is None:
            _download_one(name, cache / name, mirrors, progress, dataset="fashion-mnist")
    return cache
