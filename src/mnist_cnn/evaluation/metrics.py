"""Classification metrics on numpy arrays: what the evaluation report is made of.

Every function here takes plain arrays (integer labels, ``(N, C)``
probabilities) and returns numbers, lists or dicts ready for JSON; none
imports Keras, Matplotlib or scikit-learn (the tests check these against
scikit-learn and SciPy). Conventions:

* ``labels`` and ``predicted`` are integer class indices in ``[0, num_classes)``.
* ``probabilities`` are ``(N, num_classes)`` rows of class probabilities
  (softmax outputs, each row summing to 1).
* The confusion matrix has the true class in rows and the predicted class in
  columns, as in scikit-learn.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: Keras clips probabilities to ``[EPSILON, 1 - EPSILON]`` in its cross-entropy.
EPSILON = 1e-7


def _labels(values: Any, name: str, num_classes: int) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of class indices, got shape {array.shape}")
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise ValueError(
            f"{name} must lie in [0, {num_classes}), "
            f"got values from {array.min()} to {array.max()}"
        )
    return array.astype(np.int64, copy=False)


def _probabilities(values: Any, n: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"probabilities must be (N, classes), got shape {array.shape}")
    if n is not None and len(array) != n:
        raise ValueError(f"probabilities have {len(array)} rows for {n} labels")
    return array


def confusion_matrix(labels: Any, predicted: Any, num_classes: int = 10) -> np.ndarray:
    """Counts of (true, predicted) pairs.

    Args:
        labels: ``(N,)`` true classes.
        predicted: ``(N,)`` predicted classes.
        num_classes: Number of classes ``C``.

    Returns:
        ``(C, C)`` int64 matrix; entry ``[i, j]`` counts images of class ``i``
        predicted as ``j``.
    """
    y = _labels(labels, "labels", num_classes)
    p = _labels(predicted, "predicted", num_classes)
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels but {len(p)} predictions")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y, p), 1)
    return matrix


def per_class_scores(confusion: Any) -> list[dict[str, float | int]]:
    """Precision, recall, F1 and support of each class from a confusion matrix.

    A ratio with a zero denominator (a class never predicted, or absent) is
    reported as 0.0, as scikit-learn's ``zero_division=0`` does.

    Args:
        confusion: ``(C, C)`` counts, rows true, columns predicted.

    Returns:
        ``C`` dicts with ``precision``, ``recall``, ``f1`` (floats in [0, 1])
        and ``support`` (the number of true images of the class).
    """
    matrix = np.asarray(confusion, dtype=np.int64)
    hits = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    scores = []
    for c in range(len(matrix)):
        precision = hits[c] / predicted[c] if predicted[c] else 0.0
        recall = hits[c] / support[c] if support[c] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(
            {
                "precision": float(precision),
                "recall": float(recall),
                "f1": float(f1),
                "support": int(support[c]),
            }
        )
    return scores


def macro_average(scores: list[dict[str, float | int]]) -> dict[str, float | int]:
    """Unweighted mean of precision, recall and F1 over classes, and the total support."""
    return {
        "precision": float(np.mean([s["precision"] for s in scores])),
        "recall": float(np.mean([s["recall"] for s in scores])),
        "f1": float(np.mean([s["f1"] for s in scores])),
        "support": int(sum(s["support"] for s in scores)),
    }


def wilson_interval(successes: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (such as accuracy).

    Unlike the normal approximation it stays inside [0, 1] and is sensible
    near 0 and 1, where a good classifier's accuracy lives.

    Args:
        successes: Number of successes ``k`` (correct predictions), ``0 <= k <= n``.
        total: Number of trials ``n`` (> 0).
        confidence: Two-sided confidence level in (0, 1).

    Returns:
        ``(lower, upper)``.
    """
    if total <= 0:
        raise ValueError(f"total must be > 0, got {total}")
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be in [0, {total}], got {successes}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    from statistics import NormalDist

    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return max(0.0, centre - half), min(1.0, centre + half)


def cross_entropy(probabilities: Any, labels: Any) -> np.ndarray:
    """Per-image categorical cross-entropy, as Keras computes it.

    Rows are renormalised to sum to 1 and clipped to ``[1e-7, 1 - 1e-7]``
    before the logarithm (Keras's ``categorical_crossentropy``).

    Returns:
        ``(N,)`` float64 losses (natural log).
    """
    probs = _probabilities(probabilities)
    y = _labels(labels, "labels", probs.shape[1])
    probs = _probabilities(probabilities, len(y))
    probs = probs / probs.sum(axis=1, keepdims=True)
    true = np.clip(probs[np.arange(len(y)), y], EPSILON, 1 - EPSILON)
    return -np.log(true)


def reliability_bins(probabilities: Any, labels: Any, n_bins: int = 15) -> list[dict[str, Any]]:
    """Top-label reliability: confidence against accuracy in equal-width bins.

    Each image falls into the bin of its top probability (its confidence);
    bin ``b`` holds confidences in ``(b / n_bins, (b + 1) / n_bins]`` (the
    first bin also holds 0).

    Args:
        probabilities: ``(N, C)`` class probabilities.
        labels: ``(N,)`` true classes.
        n_bins: Number of bins over [0, 1].

    Returns:
        ``n_bins`` dicts: ``lower``, ``upper``, ``count``, and (``None`` for an
        empty bin) ``confidence`` (mean top probability) and ``accuracy``
        (fraction of top predictions that are right).
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins}")
    probs = _probabilities(probabilities)
    y = _labels(labels, "labels", probs.shape[1])
    probs = _probabilities(probabilities, len(y))
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    index = np.clip(np.ceil(confidence * n_bins).astype(np.int64) - 1, 0, n_bins - 1)
    bins = []
    for b in range(n_bins):
        inside = index == b
        count = int(inside.sum())
        bins.append(
            {
                "lower": b / n_bins,
                "upper": (b + 1) / n_bins,
                "count": count,
                "confidence": float(confidence[inside].mean()) if count else None,
                "accuracy": float(correct[inside].mean()) if count else None,
            }
        )
    return bins


def expected_calibration_error(probabilities: Any, labels: Any, n_bins: int = 15) -> float:
    """Top-label expected calibration error (Guo et al., 2017).

    ``ECE = sum_b (n_b / N) * |accuracy_b - confidence_b|`` over the bins of
    :func:`reliability_bins`: 0 for a perfectly calibrated model; a model
    that says 0.99 and is right half the time scores 0.49.

    Returns:
        The ECE, a float in [0, 1] (0.0 for no images).
    """
    bins = reliability_bins(probabilities, labels, n_bins)
    total = sum(b["count"] for b in bins)
    if not total:
        return 0.0
    return float(
        sum(b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in bins if b["count"])
    )


def most_confused(confusion: Any, limit: int = 10, min_count: int = 1) -> list[dict[str, int]]:
    """The off-diagonal cells of a confusion matrix with the most images.

    Like fastai's ``ClassificationInterpretation.most_confused``.

    Args:
        confusion: ``(C, C)`` counts, rows true, columns predicted.
        limit: At most this many pairs.
        min_count: Leave out pairs with fewer images.

    Returns:
        Dicts ``{"true", "predicted", "count"}``, most images first (ties in
        row-major order).
    """
    matrix = np.asarray(confusion, dtype=np.int64)
    pairs = [
        {"true": i, "predicted": j, "count": int(matrix[i, j])}
        for i in range(len(matrix))
        for j in range(len(matrix))
        if i != j and matrix[i, j] >= min_count
    ]
    pairs.sort(key=lambda pair: -pair["count"])  # stable: ties keep row-major order
    return pairs[:limit]


def top_losses(
    probabilities: Any, labels: Any, limit: int = 48, misclassified_only: bool = True
) -> list[dict[str, Any]]:
    """The images with the highest cross-entropy loss.

    Args:
        probabilities: ``(N, C)`` class probabilities.
        labels: ``(N,)`` true classes.
        limit: At most this many images.
        misclassified_only: Only images whose top prediction is wrong.

    Returns:
        Dicts, highest loss first: ``index`` (row in the inputs), ``true``,
        ``predicted``, ``probability`` (of the predicted class),
        ``true_probability`` and ``loss``.
    """
    probs = _probabilities(probabilities)
    y = _labels(labels, "labels", probs.shape[1])
    probs = _probabilities(probabilities, len(y))
    losses = cross_entropy(probs, y)
    predicted = probs.argmax(axis=1)
    candidates = np.flatnonzero(predicted != y) if misclassified_only else np.arange(len(y))
    order = candidates[np.argsort(-losses[candidates], kind="stable")][:limit]
    return [
        {
            "index": int(i),
            "true": int(y[i]),
            "predicted": int(predicted[i]),
            "probability": float(probs[i, predicted[i]]),
            "true_probability": float(probs[i, y[i]]),
            "loss": float(losses[i]),
        }
        for i in order
    ]


def mean_std(values: Any) -> dict[str, float | int | None]:
    """Mean and sample standard deviation (``ddof=1``, as ``statistics.stdev``).

    Returns:
        ``{"mean", "std", "n"}``; ``std`` is 0.0 for one value, and both are
        ``None`` for none.
    """
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if not len(array):
        return {"mean": None, "std": None, "n": 0}
    std = float(array.std(ddof=1)) if len(array) > 1 else 0.0
    return {"mean": float(array.mean()), "std": std, "n": int(len(array))}
