"""The datasets mnist-cnn knows by name: their files' checksums, mirrors, class names
and download cache folders.

MNIST is known by the SHA-256 of its files' *decompressed* bytes
(:data:`MNIST_FILES`; recompressing a file changes the ``.gz`` hash, not the
data), Fashion-MNIST by the published SHA-256 of its ``.gz`` files
(:data:`FASHION_MNIST_FILES`). ``idx`` is any folder of the four MNIST-layout
files, known by nothing but their structure.

The loaders read these tables when called (``catalog.MIRRORS``, not a copy
bound at import), so tests point them at ``file://`` mirrors of small files.
Imports only the standard library and :mod:`mnist_cnn.errors`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError

__all__ = [
    "DATASETS",
    "DATA_ENV_VAR",
    "FASHION_MNIST_FILES",
    "FASHION_MNIST_MIRRORS",
    "MIRRORS",
    "MNIST_FILES",
    "cache_for",
    "check_dataset",
    "class_names",
    "default_cache_dir",
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


def check_dataset(dataset: str) -> None:
    """Raise :class:`~mnist_cnn.errors.DataError` unless ``dataset`` is a :data:`DATASETS` name."""
    if dataset not in DATASETS:
        raise DataError(f"unknown dataset {dataset!r}; choose one of: {', '.join(DATASETS)}")


def class_names(dataset: str) -> tuple[str, ...] | None:
    """The names of ``dataset``'s classes by label (``None``: the label numbers, as for
    ``mnist`` and ``idx``)."""
    check_dataset(dataset)
    return DATASETS[dataset]


def default_cache_dir() -> Path:
    """The user cache folder for MNIST: ``$XDG_CACHE_HOME/mnist-cnn/mnist``.

    ``XDG_CACHE_HOME`` is used only if set to an absolute path (as the XDG
    specification requires); otherwise ``~/.cache`` is.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "mnist-cnn" / "mnist"


def cache_for(dataset: str) -> Path:
    """mnist-cnn's download cache of ``dataset`` (``mnist`` or ``fashion-mnist``)."""
    return default_cache_dir().parent / dataset
