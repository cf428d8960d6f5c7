"""Real writers to train on beside MNIST: the UCI training set's 8x8 digits.

MNIST's writers are American; a '4' with a closed, triangular top, as many
others write it, is rare among them, and after an 8x8 scan's blur a model
trained on MNIST alone reads it as a '6'. The UCI optical-recognition
training set (30 writers, 3,823 digits, 8x8; ``mnist_cnn/data/uci``) is
shipped with the package; :func:`uci_training_images` gives its digits as
``predict`` would see them sent: upscaled to 64x64 (bilinear, dark on
light) and normalised by :func:`mnist_cnn.vision.normalise.to_mnist`.
The UCI *test* set's 13 writers are kept out (the handwriting benchmark
reads them).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
from PIL import Image

from ..errors import DataError

__all__ = ["load_uci_training_set", "uci_pictures", "uci_training_images"]

#: Digits of each class in the UCI training set, as UCI lists them.
UCI_TRAINING_COUNTS = (376, 389, 380, 389, 387, 376, 377, 387, 380, 382)
_FILE = "optdigits-train.npz"


def load_uci_training_set() -> tuple[np.ndarray, np.ndarray]:
    """The UCI training set as shipped: uint8 ``(3823, 8, 8)`` ink counts 0-16, and labels.

    Raises:
        DataError: The file is missing or not what it should be (a broken install).
    """
    try:
        path = resources.files("mnist_cnn.data").joinpath("uci", _FILE)
        with path.open("rb") as handle, np.load(handle) as data:
            images, labels = data["images"], data["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"cannot read the UCI training set shipped with mnist-cnn ({exc}); "
            "reinstall the package (pip install -e .)"
        ) from None
    if (
        images.shape != (len(labels), 8, 8)
        or images.max() > 16
        or tuple(np.bincount(labels, minlength=10)) != UCI_TRAINING_COUNTS
    ):
        raise DataError(f"the shipped UCI training set ({_FILE}) is damaged; reinstall")
    return images, labels


def uci_pictures(images: np.ndarray, resample: int, dark_ink: bool = True) -> list[np.ndarray]:
    """UCI 8x8 digits (ink counts 0-16) as a user would send them: uint8 64x64
    pictures, dark ink on light paper (or light on dark), upscaled with ``resample``."""
    from ..vision.variants import to_uint8

    ink = np.asarray(images) / 16.0
    gray = 1.0 - 0.9 * ink if dark_ink else 0.1 + 0.8 * ink
    return [np.asarray(Image.fromarray(to_uint8(g)).resize((64, 64), resample)) for g in gray]


@functools.lru_cache(maxsize=2)
def uci_training_images(limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The UCI training set as ``predict`` sees it: uint8 ``(N, 28, 28)``, white on black.

    Each digit is drawn dark on light paper, upscaled to 64x64 bilinear (a
    blurry scan; a blocky one normalises to nearly the same 28x28, and adding
    it too, twice the weight, cost MNIST's test digits more: see
    ``benchmarks/results/20261127-uci-writers-half.json``), and normalised by the vision
    pipeline (no classifier: the plain reading). About 5 ms per image, so the
    result is kept for the process (each fold of ``cv`` reuses it); the
    arrays are read-only.

    Args:
        limit: Only the first ``limit`` digits (for tests).
    """
    from ..vision.normalise import to_mnist

    images, labels = load_uci_training_set()
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    out = [
        np.round(255 * np.clip(to_mnist(picture), 0.0, 1.0)).astype(np.uint8)
        for picture in uci_pictures(images, Image.BILINEAR)
    ]
    x, y = np.stack(out), labels.astype(np.int64)
    x.flags.writeable = y.flags.writeable = False
    return x, y
