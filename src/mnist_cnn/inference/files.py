"""Single-digit answers for image files: what ``mnist-cnn predict`` prints, as data.

:func:`predict_files` reads each file (the real-input normalisation of
:func:`mnist_cnn.preprocess.preprocess`, or ``raw`` 28x28 MNIST-style images),
classifies them in one batch per model (a picture blown up from a few pixels
goes to the packaged default model's companion for them, see
:meth:`~mnist_cnn.inference.predictor.Predictor.for_picture`), and returns one
:class:`FileAnswer` per file in
order: a :class:`~mnist_cnn.inference.predictor.Prediction` (marked uncertain
when the image holds several digits or a shape no digit has), or the one-line
reason the file could not be read. ``FileAnswer.to_dict`` is the JSON line of
``predict --json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ImageError
from ..vision import normalise
from .predictor import Prediction, Predictor


@dataclass
class FileAnswer:
    """One file's answer (``prediction``) or the reason there is none (``error``).

    Attributes:
        path: The file (or an upload's name).
        prediction: The model's answer; ``None`` when the file could not be read.
        error: The one-line reason (an :class:`~mnist_cnn.errors.ImageError`'s message).
        digits_side_by_side: How many digits the image holds side by side; above 1
            the answer is for the largest and is marked uncertain (read the number
            with ``mnist-cnn read``).
        not_a_digit: Why the 28x28 has a shape no digit has (see
            :func:`mnist_cnn.vision.normalise.not_a_digit`), else ``None``; the
            answer is then marked uncertain, whatever its probability.
        small_source: The picture was blown up from a small source and read by the
            packaged default model's companion for those (see
            :meth:`~mnist_cnn.inference.predictor.Predictor.for_picture`).
        original: The grayscale image as read (for previews).
        image28: The 28x28 the model saw.
    """

    path: str | Path
    prediction: Prediction | None = None
    error: str | None = None
    digits_side_by_side: int = 1
    not_a_digit: str | None = None
    small_source: bool = False
    original: np.ndarray | None = None
    image28: np.ndarray | None = None

    def uncertain(self, min_confidence: float = 0.6) -> bool:
        """Below ``min_confidence``, one of several digits side by side, or not a digit's shape."""
        return self.prediction is not None and (
            self.prediction.probability < min_confidence
            or self.digits_side_by_side > 1
            or self.not_a_digit is not None
        )

    def to_dict(
        self, min_confidence: float = 0.6, class_names: Sequence[str] | None = None
    ) -> dict:
        """The JSON line ``predict --json`` prints for this file."""
        if self.prediction is None:
            return {"file": str(self.path), "error": self.error}
        answer = {"file": str(self.path), **self.prediction.to_dict(min_confidence, class_names)}
        if self.digits_side_by_side > 1:
            answer.update(uncertain=True, digits_side_by_side=self.digits_side_by_side)
        if self.not_a_digit is not None:
            answer.update(uncertain=True, not_a_digit=self.not_a_digit)
        if self.small_source:
            answer["small_source"] = True
        return answer


def predict_files(
    predictor: Predictor, paths: Iterable[str | Path], *, raw: bool = False
) -> list[FileAnswer]:
    """Classify image files, one digit each; a file that cannot be read gets its error.

    Args:
        predictor: The model (see :class:`~mnist_cnn.inference.predictor.Predictor`).
        paths: Image files.
        raw: The images are already 28x28 MNIST-style (white on black).

    Returns:
        One :class:`FileAnswer` per path, in order.
    """
    answers: list[FileAnswer] = []
    readers: list[Predictor] = []  # the model for each readable file's picture
    for path in map(Path, paths):
        try:
            if raw:
                image28 = normalise.to_mnist(path, assume_mnist=True)
                answers.append(FileAnswer(path, original=image28, image28=image28))
                readers.append(predictor)
            else:
                result = normalise.preprocess(path, classify=predictor.predict_proba)
                answers.append(
                    FileAnswer(
                        path,
                        digits_side_by_side=max(1, result.digits_side_by_side),
                        original=result.gray,
                        image28=result.image28,
                    )
                )
                readers.append(predictor.for_picture(result.gray))
        except ImageError as exc:
            answers.append(FileAnswer(path, error=str(exc)))
    readable = [a for a in answers if a.error is None]
    for answer in readable:
        answer.not_a_digit = normalise.not_a_digit(answer.image28)
    if readable:
        # A real image's digit is read over views around it, by the model for
        # its picture (one batch per model); an MNIST one as it is.
        probs = normalise.classify_each(
            readers, np.stack([a.image28 for a in readable]), views=not raw
        )
        for answer, reader, p in zip(readable, readers, probs, strict=True):
            answer.prediction = Prediction.from_probabilities(p)
            answer.small_source = reader is not predictor
    return answers
