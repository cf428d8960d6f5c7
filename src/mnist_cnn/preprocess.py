"""Real images to MNIST's 28x28: the public names of :mod:`mnist_cnn.vision`, in one place.

The stages live in :mod:`mnist_cnn.vision` (:mod:`~mnist_cnn.vision.loading`,
:mod:`~mnist_cnn.vision.ink`, :mod:`~mnist_cnn.vision.baseline`,
:mod:`~mnist_cnn.vision.normalise`); this module keeps
``from mnist_cnn import preprocess`` working as the README shows it.

Example:
    >>> from mnist_cnn import preprocess
    >>> x = preprocess.to_mnist("photo_of_a_seven.jpg")  # doctest: +SKIP
    >>> x.shape, x.dtype
    ((28, 28), dtype('float32'))
"""

from .vision.ink import (
    MNIST_SIZE,
    Component,
    InkMap,
    analyse_ink,
    box_gap,
    digit_zone,
    find_components,
    find_ink,
    ink_to_mnist,
)
from .vision.loading import MAX_PIXELS, ImageSource, load_image
from .vision.normalise import (
    UNEVEN_PAPER,
    Classifier,
    PlainReading,
    PreprocessResult,
    count_side_by_side,
    page_reading,
    plain_reading,
    preprocess,
    save_preview,
    to_mnist,
)

__all__ = [
    "MAX_PIXELS",
    "MNIST_SIZE",
    "UNEVEN_PAPER",
    "Classifier",
    "Component",
    "ImageSource",
    "InkMap",
    "PlainReading",
    "PreprocessResult",
    "analyse_ink",
    "box_gap",
    "count_side_by_side",
    "digit_zone",
    "find_components",
    "find_ink",
    "ink_to_mnist",
    "load_image",
    "page_reading",
    "plain_reading",
    "preprocess",
    "save_preview",
    "to_mnist",
]
