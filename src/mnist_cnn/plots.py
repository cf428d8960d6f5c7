"""Figures: the tutorial's sample grid and learning curves, fixed and saved.

Matplotlib is imported lazily with the non-interactive Agg backend, so the
functions work on machines without a screen and cost nothing at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from .fileio import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_samples(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    path: str | os.PathLike[str],
    *,
    count: int = 9,
) -> None:
    """Save the tutorial's 3x3 grid of the first ``count`` images with labels.

    Args:
        images: ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` images, uint8 or float.
        labels: ``N`` integer labels (or one-hot rows).
        path: PNG file to write (atomically).
        count: How many images, at most 9.
    """
    plt = _pyplot()
    images = np.asarray(images)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    count = min(count, 9, len(images))
    fig = plt.figure(figsize=(6, 6))
    try:
        for i in range(count):
            ax = fig.add_subplot(3, 3, i + 1)
            ax.imshow(images[i].reshape(images.shape[1], images.shape[2]), cmap="gray")
            ax.set_title(f"label {int(labels[i])}")
            ax.axis("off")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)


def save_learning_curves(
    history: Mapping[str, Sequence[float]], path: str | os.PathLike[str]
) -> None:
    """Save the tutorial's plot of training/validation accuracy and loss per epoch.

    The tutorial's cell read a ``history`` it never assigned, with the Keras 1
    keys ``acc``/``val_acc``; this reads the Keras 3 keys ``accuracy`` and
    ``val_accuracy`` (falling back to the old ones), and numbers epochs from 1.

    Args:
        history: ``History.history``: lists per epoch under ``loss``,
            ``accuracy`` and, when there was validation, ``val_loss`` and
            ``val_accuracy``.
        path: PNG file to write (atomically).
    """
    plt = _pyplot()

    def series(*keys: str) -> list[float] | None:
        for key in keys:
            if key in history and len(history[key]):
                return [float(v) for v in history[key]]
        return None

    acc = series("accuracy", "acc")
    val_acc = series("val_accuracy", "val_acc")
    loss = series("loss")
    val_loss = series("val_loss")
    if acc is None or loss is None:
        raise ValueError(f"history needs 'loss' and 'accuracy', got keys {sorted(history)}")
    epochs = list(range(1, len(loss) + 1))

    fig = plt.figure(figsize=(8, 8))
    try:
        ax = fig.add_subplot(2, 1, 1)
        ax.plot(epochs, acc, marker="o", label="Training Accuracy")
        if val_acc is not None:
            ax.plot(epochs, val_acc, marker="o", label="Validation Accuracy")
        ax.legend(loc="lower right")
        ax.set_ylabel("Accuracy")
        ax.set_ylim([min(ax.get_ylim()[0], min(acc)), 1])
        ax.set_title("Training and Validation Accuracy")
        ax.set_xticks(epochs)

        ax = fig.add_subplot(2, 1, 2)
        ax.plot(epochs, loss, marker="o", label="Training Loss")
        if val_loss is not None:
            ax.plot(epochs, val_loss, marker="o", label="Validation Loss")
        ax.legend(loc="upper right")
        ax.set_ylabel("Cross Entropy")
        top = max([1.0, *loss, *(val_loss or [])])
        ax.set_ylim([0, top])
        ax.set_title("Training and Validation Loss")
        ax.set_xlabel("epoch")
        ax.set_xticks(epochs)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
    finally:
        plt.close(fig)
