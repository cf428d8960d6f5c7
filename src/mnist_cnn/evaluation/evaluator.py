"""Evaluation on the MNIST test set: everything ``evaluation.json`` and the report show.

:func:`summarize` turns a model's test probabilities into the numbers of the
evaluation report (loss, accuracy with its Wilson interval, per-class scores,
confusion matrix, most-confused pairs, calibration, the worst mistakes);
:func:`evaluate` loads a model and the test set, runs it, and writes the
result as ``evaluation.json``. The report page (:mod:`mnist_cnn.evaluation.report`) is a
view of that file and computes nothing itself.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import write_json
from . import metrics

#: Misclassified test images kept for the report's gallery (highest loss first).
TOP_LOSSES = 48
#: Equal-width confidence bins for the expected calibration error.
CALIBRATION_BINS = 15
EVALUATION_FILE = "evaluation.json"


def summarize(
    probabilities: np.ndarray,
    labels: np.ndarray,
    *,
    top_k: int = TOP_LOSSES,
    n_bins: int = CALIBRATION_BINS,
) -> dict[str, Any]:
    """The evaluation of a model from its test-set probabilities.

    Args:
        probabilities: ``(N, 10)`` class probabilities (softmax outputs).
        labels: ``(N,)`` true digits (integers 0-9).
        top_k: How many misclassified images to keep, highest loss first.
        n_bins: Confidence bins for the calibration error.

    Returns:
        A JSON-ready dict: ``test_loss`` (mean cross-entropy, as Keras
        computes it), ``test_accuracy``, ``test_accuracy_ci95`` (Wilson
        interval, ``[lower, upper]``), ``n_test``, ``n_errors``,
        ``per_class_accuracy`` (recall per digit; ``None`` for an absent
        digit), ``per_class`` (per digit: ``precision``, ``recall``, ``f1``,
        ``support``), ``macro_avg``, ``confusion_matrix`` (rows: true digit,
        columns: predicted), ``most_confused`` (``true``, ``predicted``,
        ``count``), ``calibration`` (``ece``, ``n_bins``, ``bins``) and
        ``top_losses`` (``index`` into the test images, ``true``,
        ``predicted``, ``probability``, ``true_probability``, ``loss``).
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels).astype(np.int64)
    num_classes = probs.shape[1]
    predicted = probs.argmax(axis=1)
    n = len(labels)
    correct = int((predicted == labels).sum())
    confusion = metrics.confusion_matrix(labels, predicted, num_classes)
    scores = metrics.per_class_scores(confusion)
    lower, upper = metrics.wilson_interval(correct, n) if n else (None, None)
    return {
        "test_loss": float(metrics.cross_entropy(probs, labels).mean()) if n else None,
        "test_accuracy": correct / n if n else None,
        "test_accuracy_ci95": [lower, upper],
        "n_test": n,
        "n_errors": n - correct,
        "per_class_accuracy": {
            str(d): (s["recall"] if s["support"] else None) for d, s in enumerate(scores)
        },
        "per_class": {str(d): s for d, s in enumerate(scores)},
        "macro_avg": metrics.macro_average(scores),
        "confusion_matrix": confusion.tolist(),
        "most_confused": metrics.most_confused(confusion, limit=10),
        "calibration": {
            "ece": metrics.expected_calibration_error(probs, labels, n_bins),
            "n_bins": n_bins,
            "method": "top-label, equal-width bins",
            "bins": metrics.reliability_bins(probs, labels, n_bins),
        },
        "top_losses": metrics.top_losses(probs, labels, limit=top_k),
    }


def evaluate(
    model_or_run: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    out: str | os.PathLike[str] | None = None,
    top_k: int = TOP_LOSSES,
    runs_dir: str | os.PathLike[str] | None = None,
    dataset: str | None = None,
    save_to_run: bool = False,
) -> dict[str, Any]:
    """Evaluate a model on the MNIST test set; write the result only where asked.

    Args:
        model_or_run: A ``.keras`` file or run directory (see
            :func:`mnist_cnn.inference.predictor.resolve_model_path`).
        data_dir: Folder with the MNIST IDX files; ``None`` searches as usual.
        limit: Evaluate only the first N test images.
        out: Where to write the result as JSON; ``None`` writes nothing
            (unless ``save_to_run``).
        top_k: Misclassified images kept for the report's gallery.
        runs_dir: Where to find ``latest`` when ``model_or_run`` is ``None``.
        dataset: ``"mnist"``, ``"fashion-mnist"`` or ``"idx"``; ``None`` means
            the run's own (its ``config.json``, whose ``data_dir`` is then also
            the default for the other two), else ``"mnist"``.
        save_to_run: With ``out=None``, write ``evaluation.json`` into the run
            directory the model belongs to (what ``mnist-cnn evaluate`` and the
            report do); a bare model file still gets nothing written.

    Returns:
        The fields of :func:`summarize`, plus ``model`` (the ``.keras``
        file), ``data`` (``split``, ``limit``, ``data_dir``: which images the
        ``top_losses`` indices refer to) and ``written_to`` (the JSON file,
        or ``None``; not stored in the file).
    """
    from ..data import datasets
    from ..inference.predictor import Predictor, load_model, resolve_model_path

    path = resolve_model_path(model_or_run, runs_dir=runs_dir)
    predictor = Predictor(load_model(path), path)
    if dataset is None:
        run_config = _run_config(path)
        dataset = run_config.get("dataset", "mnist")
        recorded = run_config.get("data_dir")
        if dataset != "mnist" and data_dir is None and recorded and Path(recorded).is_dir():
            data_dir = recorded
    _, (x_test, y_test) = datasets.load_dataset(dataset, data_dir)
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    probabilities = predictor.predict_proba(datasets.prepare_images(x_test))
    result = {
        "model": str(path),
        **summarize(probabilities, y_test, top_k=top_k),
        "data": {
            "split": "test",
            "limit": limit or None,
            "dataset": dataset,
            "data_dir": None if data_dir is None else str(data_dir),
        },
    }
    if out is None and save_to_run and (path.parent / "config.json").exists():
        out = path.parent / EVALUATION_FILE
    if out is not None:
        write_json(out, result)
    result["written_to"] = None if out is None else str(out)
    return result


def _run_config(model_path: Path) -> dict[str, Any]:
    """The ``config.json`` of the run holding ``model_path`` (``{}`` outside a run)."""
    import json

    try:
        config = json.loads((model_path.parent / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}
