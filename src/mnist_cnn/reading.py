"""Whole handwritten numbers: the public names of :mod:`mnist_cnn.vision.reading`.

Kept so that ``from mnist_cnn import reading`` works as the README shows it.
"""

from .vision.reading import (
    WEIGHTS_WITH_VERIFIER,
    WEIGHTS_WITHOUT_VERIFIER,
    Classifier,
    DigitCrop,
    Mark,
    ReadDigit,
    ReadResult,
    ScoreWeights,
    Verifier,
    read_number,
    read_number_recorded,
    save_boxes_preview,
    segment_digits,
)

__all__ = [
    "WEIGHTS_WITHOUT_VERIFIER",
    "WEIGHTS_WITH_VERIFIER",
    "Classifier",
    "DigitCrop",
    "Mark",
    "ReadDigit",
    "ReadResult",
    "ScoreWeights",
    "Verifier",
    "read_number",
    "read_number_recorded",
    "save_boxes_preview",
    "segment_digits",
]
