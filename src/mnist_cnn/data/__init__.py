"""Datasets: MNIST and other IDX datasets (find, download, verify, load), and numbers
composed from their digits.

Owns the IDX format (:mod:`~mnist_cnn.data.idx`), the datasets known by name
with their checksums, mirrors, class names and cache folders
(:mod:`~mnist_cnn.data.catalog`), downloads (:mod:`~mnist_cnn.data.download`),
finding and loading a dataset and the tutorial's reshaping and one-hot labels
(:mod:`~mnist_cnn.data.datasets`), and multi-digit numbers and amounts
composed from MNIST digits (:mod:`~mnist_cnn.data.synthetic`). It may import
numpy, scipy, Pillow and the standard library, and :mod:`mnist_cnn.errors` and
:mod:`mnist_cnn.fileio`; never Keras, a backend or matplotlib, nor another
subpackage (``tests/test_layout.py``), so anything can load data cheaply.
The public names below are importable from here (``from mnist_cnn.data
import load_mnist``), each loaded on first use.
"""

from .. import _lazy

_EXPORTS = {
    **dict.fromkeys(
        (
            "DATASETS",
            "DATA_ENV_VAR",
            "FASHION_MNIST_FILES",
            "FASHION_MNIST_MIRRORS",
            "MIRRORS",
            "MNIST_FILES",
            "cache_for",
            "class_names",
            "default_cache_dir",
        ),
        ".catalog",
    ),
    **dict.fromkeys(
        (
            "find_mnist_dir",
            "load_dataset",
            "load_idx_dataset",
            "load_mnist",
            "prepare_images",
            "prepare_labels",
            "resolve_dataset_dir",
            "resolve_mnist_dir",
        ),
        ".datasets",
    ),
    **dict.fromkeys(("download_fashion_mnist", "download_mnist"), ".download"),
    **dict.fromkeys(("FILE_NAMES", "SUMS_FILE_NAME", "has_mnist", "read_idx"), ".idx"),
    **dict.fromkeys(("ComposedNumber", "compose_amount", "compose_number"), ".synthetic"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
