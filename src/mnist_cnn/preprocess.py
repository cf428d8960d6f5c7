"""Real images to MNIST's 28x28: the public names of :mod:`mnist_cnn.vision`, in one place.

The stages live in :mod:`mnist_cnn.vision` (:mod:`~mnist_cnn.vision.loading`,
:mod:`~mnist_cnn.vision.ink`, :mod:`~mnist_cnn.vision.baseline`,
:mod:`~mnist_cnn.vision.normalise`); this module keeps
``from mnist_cnn import preprocess`` working as the README shows it. It
re-exports every public name of :mod:`~mnist_cnn.vision.loading` and
:mod:`~mnist_cnn.vision.normalise` (tests/test_preprocess.py checks it), and
the ink analysis that preprocess.py held before the split.

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
from .vision.loading import MAX_PIXELS, ImageSource, load_image, source_name
from .vision.normalise import (
    LOW_RESOLUTION,
    LOW_RESOLUTION_CHECK,
    LOW_RESOLUTION_MARGIN,
    MAX_INK_DEPTH,
    MAX_LOOPS,
    MAX_STROKES_ACROSS,
    NARROWED,
    NARROWED_MARGIN,
    POLARITY_MARGIN,
    RULED_PAGE_LINES,
    UNEVEN_PAPER,
    VIEW_TURNS,
    VIEW_ZOOMS,
    Classifier,
    PlainReading,
    PreprocessResult,
    classify_each,
    classify_views,
    count_side_by_side,
    low_resolution_reading,
    narrowed_reading,
    not_a_digit,
    page_reading,
    plain_reading,
    preprocess,
    save_preview,
    sides_touched,
    source_pixels,
    to_mnist,
    views,
)

__all__ = [
    "LOW_RESOLUTION",
    "LOW_RESOLUTION_CHECK",
    "LOW_RESOLUTION_MARGIN",
    "MAX_INK_DEPTH",
    "MAX_LOOPS",
    "MAX_PIXELS",
    "MAX_STROKES_ACROSS",
    "MNIST_SIZE",
    "NARROWED",
    "NARROWED_MARGIN",
    "POLARITY_MARGIN",
    "RULED_PAGE_LINES",
    "UNEVEN_PAPER",
    "VIEW_TURNS",
    "VIEW_ZOOMS",
    "Classifier",
    "Component",
    "ImageSource",
    "InkMap",
    "PlainReading",
    "PreprocessResult",
    "analyse_ink",
    "box_gap",
    "classify_each",
    "classify_views",
    "count_side_by_side",
    "digit_zone",
    "find_components",
    "find_ink",
    "ink_to_mnist",
    "load_image",
    "low_resolution_reading",
    "narrowed_reading",
    "not_a_digit",
    "page_reading",
    "plain_reading",
    "preprocess",
    "save_preview",
    "sides_touched",
    "source_pixels",
    "source_name",
    "to_mnist",
    "views",
]
