"""Figures: the tutorial's sample grid and learning curves, and the report's plots.

Everything uses Matplotlib's object API (:class:`matplotlib.figure.Figure`
renders to a file or bytes without pyplot): no global backend switch, no
figure registry, works without a screen. Matplotlib is imported lazily, so
the module costs nothing at import.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..fileio import atomic_path


def new_figure(width: float, height: float):
    """A :class:`matplotlib.figure.Figure` of ``width`` x ``height`` inches."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def save_figure(fig, path: str | os.PathLike[str], *, dpi: int = 100) -> None:
    """Write ``fig`` to ``path`` atomically (format from the suffix)."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi)


def figure_png(fig, *, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save_samples(
    images: np.ndarray,
    labels: Sequence[int] | np.ndarray,
    path: str | os.PathLike[str],
    *,
    count: int = 9,
    class_names: Sequence[str] | None = None,
) -> None:
    """Save the tutorial's 3x3 grid of the first ``count`` images with labels.

    Args:
        images: ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` images, uint8 or float.
        labels: ``N`` integer labels (or one-hot rows).
        path: PNG file to write (atomically).
        count: How many images, at most 9.
        class_names: Names by label (e.g. Fashion-MNIST's), shown instead of the
            numbers; ``None`` shows ``label N``.
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)
    count = min(count, 9, len(images))
    fig = new_figure(6, 6)
    for i in range(count):
        ax = fig.add_subplot(3, 3, i + 1)
        ax.imshow(images[i].reshape(images.shape[1], images.shape[2]), cmap="gray")
        label = int(labels[i])
        ax.set_title(class_names[label] if class_names else f"label {label}")
        ax.axis("off")
    fig.tight_layout()
    save_figure(fig, path)


def save_learning_curves(
    history: Mapping[str, Sequence[float]], path: str | os.PathLike[str]
) -> None:
    """Save the tutorial's plot of training/validation accuracy and loss per epoch.

    Args:
        history: See :func:`learning_curves_figure`.
        path: PNG file to write (atomically).
    """
    save_figure(learning_curves_figure(history), path)


def learning_curves_figure(history: Mapping[str, Sequence[float]]):
    """The tutorial's two panels: training/validation accuracy and loss per epoch.

    The tutorial's cell read a ``history`` it never assigned, with the Keras 1
    keys ``acc``/``val_acc``; this reads the Keras 3 keys ``accuracy`` and
    ``val_accuracy`` (falling back to the old ones), and numbers epochs from 1.

    Args:
        history: ``History.history``: lists per epoch under ``loss``,
            ``accuracy`` and, when there was validation, ``val_loss`` and
            ``val_accuracy``.

    Returns:
        A :class:`matplotlib.figure.Figure`.
    """

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

    fig = new_figure(8, 8)
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
    return fig


def reliability_figure(bins: Sequence[Mapping[str, Any]], ece: float | None = None):
    """Reliability diagram: accuracy against confidence per bin, with the diagonal.

    Args:
        bins: :func:`mnist_cnn.evaluation.metrics.reliability_bins` output (``lower``,
            ``upper``, ``count``, ``confidence``, ``accuracy``).
        ece: The expected calibration error, shown in the title.

    Returns:
        A :class:`matplotlib.figure.Figure`: bars of accuracy per bin (empty
        bins left out), the mean confidence of each bin as a dot, and below
        them the number of images per bin on a log scale.
    """
    fig = new_figure(6, 6.5)
    grid = fig.add_gridspec(2, 1, height_ratios=[3, 1])
    ax = fig.add_subplot(grid[0])
    full = [b for b in bins if b["count"]]
    widths = [b["upper"] - b["lower"] for b in full]
    lefts = [b["lower"] for b in full]
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfect calibration")
    ax.bar(
        lefts,
        [b["accuracy"] for b in full],
        width=widths,
        align="edge",
        edgecolor="black",
        color="#4c78a8",
        label="accuracy",
    )
    ax.plot(
        [b["confidence"] for b in full],
        [b["confidence"] for b in full],
        "o",
        color="#e45756",
        label="mean confidence",
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_ylabel("accuracy")
    title = "Reliability (top label)"
    if ece is not None:
        title += f": ECE {ece:.4f}"
    ax.set_title(title)
    ax.legend(loc="upper left")
    counts = fig.add_subplot(grid[1], sharex=ax)
    counts.bar(lefts, [b["count"] for b in full], width=widths, align="edge", color="#9d9d9d")
    if full:
        counts.set_yscale("log")
    counts.set_xlabel("confidence")
    counts.set_ylabel("images")
    fig.tight_layout()
    return fig


def cv_figure(values: Mapping[str, Sequence[float]]):
    """Box and strip plot of per-fold scores, one panel per metric.

    Args:
        values: Metric name (``"val_accuracy"``, ``"val_loss"``, ...) to one
            value per fold.

    Returns:
        A :class:`matplotlib.figure.Figure`.
    """
    names = [name for name, vals in values.items() if len(vals)]
    fig = new_figure(3.2 * max(1, len(names)), 4)
    for i, name in enumerate(names):
        vals = [float(v) for v in values[name]]
        ax = fig.add_subplot(1, max(1, len(names)), i + 1)
        ax.boxplot(vals, widths=0.5, showmeans=True)
        jitter = np.linspace(-0.08, 0.08, len(vals)) if len(vals) > 1 else [0.0]
        ax.plot([1 + j for j in jitter], vals, "o", color="#e45756", alpha=0.8)
        for x, y, fold in zip(jitter, vals, range(1, len(vals) + 1), strict=True):
            ax.annotate(str(fold), (1 + x, y), textcoords="offset points", xytext=(6, -3))
        ax.set_xticks([1], [name])
        ax.set_title(name)
    fig.tight_layout()
    return fig
