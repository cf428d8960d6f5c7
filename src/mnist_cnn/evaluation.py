"""Evaluation on the MNIST test set: loss, accuracy, per-class accuracy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from . import datasets, inference
from .fileio import write_json


def evaluate(
    model_or_run: str | os.PathLike[str] | None = None,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    out: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Evaluate a model on the MNIST test set and write ``evaluation.json``.

    Args:
        model_or_run: A ``.keras`` file or run directory (see
            :func:`mnist_cnn.inference.resolve_model_path`).
        data_dir: Folder with the MNIST IDX files; ``None`` searches as usual.
        limit: Evaluate only the first N test images.
        out: Where to write the JSON. Default: ``evaluation.json`` in the run
            directory, or in the current folder for a bare model file outside
            a run.

    Returns:
        ``test_loss``, ``test_accuracy``, ``n_test``, ``per_class_accuracy``,
        ``confusion_matrix`` (rows: true digit, columns: predicted), ``model``.
    """
    path = inference.resolve_model_path(model_or_run)
    model = inference.load_model(path)
    _, (x_test, y_test) = datasets.load_mnist(data_dir)
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    x = datasets.prepare_images(x_test)
    y = datasets.prepare_labels(y_test)
    if not model.compiled:
        model.compile(loss="categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = (float(v) for v in model.evaluate(x, y, batch_size=512, verbose=0)[:2])
    predicted = inference.Predictor(model).predict_proba(x).argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (y_test.astype(int), predicted), 1)
    totals = confusion.sum(axis=1)
    per_class = {
        str(d): (float(confusion[d, d] / totals[d]) if totals[d] else None) for d in range(10)
    }
    result = {
        "model": str(path),
        "test_loss": loss,
        "test_accuracy": accuracy,
        "n_test": int(len(x_test)),
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
    }
    if out is None:
        out = (
            path.parent / "evaluation.json"
            if (path.parent / "config.json").exists()
            else Path("evaluation.json")
        )
    write_json(out, result)
    result["written_to"] = str(out)
    return result
