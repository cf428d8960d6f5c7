"""Compare runs: the config keys that differ, and the metrics, side by side.

:func:`compare_runs` is what ``mnist-cnn compare`` calls. It reads each run's
files (``config.json``, ``metrics.json``, ``evaluation.json``, or a cv run's
``cv.json``) and computes nothing new; :func:`format_table` prints the result
for the terminal, :func:`mnist_cnn.evaluation.report.render_compare` as a page.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelError

#: The metrics compared, in order, with how to print them.
METRICS: tuple[tuple[str, str], ...] = (
    ("test_accuracy", "{:.4f}"),
    ("test_accuracy_ci95", "ci"),
    ("test_loss", "{:.4f}"),
    ("ece", "{:.4f}"),
    ("val_accuracy", "{:.4f}"),
    ("val_loss", "{:.4f}"),
    ("cv_val_accuracy", "pm"),
    ("cv_test_accuracy", "pm"),
    ("cv_ensemble_test_accuracy", "{:.4f}"),
    ("n_test", "{:d}"),
    ("median_seconds_per_epoch", "{:.1f}"),
    ("train_seconds", "{:.1f}"),
    ("cv_total_seconds", "{:.1f}"),
    ("peak_rss_mb", "{:.0f}"),
)


def run_metrics(run_dir: Path) -> dict[str, Any]:
    """The comparable numbers of one run or cv run (``None`` where it has none)."""
    from .evaluator import EVALUATION_FILE
    from .report import read_json

    values: dict[str, Any] = dict.fromkeys(name for name, _ in METRICS)
    cv = read_json(run_dir / "cv.json")
    if cv is not None:
        summary = cv.get("summary") or {}
        values["cv_val_accuracy"] = summary.get("val_accuracy")
        values["cv_test_accuracy"] = summary.get("test_accuracy")
        values["val_accuracy"] = (summary.get("val_accuracy") or {}).get("mean")
        values["val_loss"] = (summary.get("val_loss") or {}).get("mean")
        ensemble = cv.get("ensemble") or {}
        values["cv_ensemble_test_accuracy"] = ensemble.get("test_accuracy")
        values["cv_total_seconds"] = cv.get("total_seconds")
        return values
    metrics = read_json(run_dir / "metrics.json") or {}
    evaluation = read_json(run_dir / EVALUATION_FILE) or {}
    for key in ("test_accuracy", "test_loss", "val_accuracy", "val_loss", "n_test"):
        values[key] = evaluation.get(key, metrics.get(key))
    values["test_accuracy_ci95"] = evaluation.get("test_accuracy_ci95")
    values["ece"] = (evaluation.get("calibration") or {}).get("ece")
    if metrics.get("seconds_per_epoch"):
        values["median_seconds_per_epoch"] = float(np.median(metrics["seconds_per_epoch"]))
    values["train_seconds"] = metrics.get("train_seconds")
    values["peak_rss_mb"] = metrics.get("peak_rss_mb")
    return values


def compare_runs(runs: Sequence[str | os.PathLike[str]]) -> dict[str, Any]:
    """Compare the configs and metrics of ``runs``.

    Args:
        runs: Run directories (``mnist-cnn train``) or cv run directories
            (``mnist-cnn cv``), at least one.

    Returns:
        A JSON-ready dict: ``runs`` (directory names), ``paths``,
        ``config_differences`` (each config key whose value is not the same
        in every run, to the list of values, one per run), ``same_config``
        (the keys they share, with the value) and ``metrics`` (metric name to
        one value per run, ``None`` where a run has none; metrics no run has
        are left out).

    Raises:
        ModelError: a path is not a run directory.
    """
    from .report import read_json, resolve_run_dir

    if not runs:
        raise ModelError("give at least one run directory to compare")
    dirs = [resolve_run_dir(run) for run in runs]
    configs = []
    for run_dir in dirs:
        config = read_json(run_dir / "config.json")
        if config is None:
            cv = read_json(run_dir / "cv.json") or {}
            config = cv.get("config") or {}
        if (run_dir / "cv.json").is_file():
            cv = read_json(run_dir / "cv.json") or {}
            config = {**config, "cv_folds": cv.get("folds"), "cv_test": cv.get("test")}
        configs.append(config)
    keys = list(dict.fromkeys(key for config in configs for key in config))
    differences, same = {}, {}
    for key in keys:
        values = [config.get(key) for config in configs]
        if all(v == values[0] for v in values):
            same[key] = values[0]
        else:
            differences[key] = values
    per_run = [run_metrics(run_dir) for run_dir in dirs]
    metrics = {
        name: [m[name] for m in per_run]
        for name, _ in METRICS
        if any(m[name] is not None for m in per_run)
    }
    return {
        "runs": [run_dir.resolve().name for run_dir in dirs],
        "paths": [str(run_dir) for run_dir in dirs],
        "config_differences": differences,
        "same_config": same,
        "metrics": metrics,
    }


def format_value(name: str, value: Any) -> str:
    """One cell of the comparison table, as printed."""
    if value is None:
        return "-"
    style = dict(METRICS).get(name)
    if style == "ci":
        return f"{value[0]:.4f}-{value[1]:.4f}"
    if style == "pm":
        return "-" if value.get("mean") is None else f"{value['mean']:.4f} ± {value['std']:.4f}"
    if style is not None:
        try:
            return style.format(value)
        except (ValueError, TypeError):
            return str(value)
    return str(value)


def format_table(comparison: dict[str, Any]) -> str:
    """The comparison as a fixed-width table: differing config keys, then metrics."""
    header = ["", *comparison["runs"]]
    rows: list[list[str]] = []
    if comparison["config_differences"]:
        rows.append(["config (differing)"] + [""] * len(comparison["runs"]))
        for key, values in comparison["config_differences"].items():
            rows.append([f"  {key}", *(format_value(key, v) for v in values)])
    else:
        rows.append(["config: identical"] + [""] * len(comparison["runs"]))
    rows.append(["metrics"] + [""] * len(comparison["runs"]))
    for name, values in comparison["metrics"].items():
        rows.append([f"  {name}", *(format_value(name, v) for v in values)])
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )
