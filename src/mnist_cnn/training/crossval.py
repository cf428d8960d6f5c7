"""Stratified k-fold cross-validation: is a test accuracy a lucky seed?

:func:`cross_validate` is what ``mnist-cnn cv`` calls. It splits the training
images (all 60,000, or the first ``train_limit``) into ``folds`` stratified
folds, and for each fold trains the run's config on the other folds with
:func:`mnist_cnn.training.trainer.train`, validating on the fold it left out. Fold
``i`` (from 1) trains with seed ``config.seed + i - 1``; the split itself is
drawn with ``config.seed``. With ``test=True`` each fold's model is also
evaluated on the test set, and so is the ensemble that averages the folds'
probabilities.

A cv run directory ``runs/<timestamp>-cv<K>-<model>/`` holds ``config.json``
(the :class:`~mnist_cnn.config.TrainConfig`), ``cv.json`` (settings, per-fold
results, mean ± std, time; rewritten after every fold), ``folds/fold-NN.json``
per finished fold (and ``fold-NN-test.npy``, its test probabilities, with
``test``), and ``report.html``. Each file is written atomically when its fold
finishes, so an interrupted cv keeps its finished folds and
:func:`resume_cv` (``mnist-cnn cv --resume DIR``) trains only the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import envinfo, runs
from ..config import TrainConfig
from ..errors import ConfigError, ModelError
from ..evaluation import metrics
from ..evaluation.report import CV_FILE, read_json, write_cv_report
from ..fileio import atomic_path, write_json

FOLDS_DIR = "folds"
MIN_FOLDS, MAX_FOLDS = 2, 10
SUMMARY_KEYS = ("val_accuracy", "val_loss", "test_accuracy", "test_loss")


@dataclass
class CvResult:
    """What :func:`cross_validate` and :func:`resume_cv` return.

    Attributes:
        cv_dir: The cv run directory.
        summary: The content of its ``cv.json``.
    """

    cv_dir: Path
    summary: dict[str, Any]


def check_folds(folds: int) -> None:
    """Raise :class:`ConfigError` unless ``folds`` is an integer in 2..10."""
    if (
        isinstance(folds, bool)
        or not isinstance(folds, int)
        or not (MIN_FOLDS <= folds <= MAX_FOLDS)
    ):
        raise ConfigError(
            f"folds must be an integer from {MIN_FOLDS} to {MAX_FOLDS}, got {folds!r}"
        )


def stratified_folds(labels: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Assign every image to one of ``folds`` folds, class by class.

    The images of each class are shuffled (with ``seed``) and dealt to the
    folds in turn, continuing where the previous class stopped, so each
    fold gets ``floor`` or ``ceil`` of ``n_class / folds`` images of every
    class, and the fold sizes differ by at most one.

    Args:
        labels: ``(N,)`` integer class labels.
        folds: Number of folds (2-10).
        seed: Seed of the shuffle.

    Returns:
        ``(N,)`` int64 array: the fold (0-based) of each image.
    """
    check_folds(folds)
    labels = np.asarray(labels)
    if len(labels) < folds:
        raise ConfigError(f"{folds} folds need at least {folds} images, got {len(labels)}")
    rng = np.random.default_rng(seed)
    order = np.concatenate(
        [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    )
    assignment = np.empty(len(labels), dtype=np.int64)
    assignment[order] = np.arange(len(labels)) % folds
    return assignment


def split_fingerprint(assignment: np.ndarray) -> str:
    """SHA-256 of a fold assignment, to check that a resumed cv splits the same way."""
    return hashlib.sha256(np.ascontiguousarray(assignment, dtype=np.int64).tobytes()).hexdigest()


def new_cv_dir(out_dir: str | os.PathLike[str], folds: int, model: str) -> Path:
    """Create ``out_dir/<timestamp>-cv<folds>-<model>`` (``-2``, ``-3``... if taken)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = runs.new_run_name(f"cv{folds}-{model}")
    candidate, suffix = out / name, 2
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            candidate, suffix = out / f"{name}-{suffix}", suffix + 1


def fold_file(cv_dir: Path, fold: int) -> Path:
    """``folds/fold-NN.json`` of fold ``fold`` (1-based)."""
    return cv_dir / FOLDS_DIR / f"fold-{fold:02d}.json"


def fold_probabilities_file(cv_dir: Path, fold: int) -> Path:
    """``folds/fold-NN-test.npy``: fold ``fold``'s test-set probabilities."""
    return cv_dir / FOLDS_DIR / f"fold-{fold:02d}-test.npy"


TrainFunction = Callable[..., Any]


def cross_validate(
    config: TrainConfig,
    *,
    folds: int = 5,
    test: bool = False,
    verbose: int | str = 0,
    report: bool = True,
    log: Callable[[str], None] = print,
    train_fn: TrainFunction | None = None,
) -> CvResult:
    """Run stratified k-fold cross-validation of ``config`` as a new cv run.

    Args:
        config: The training config every fold uses (its ``validation_split``
            is not used; ``train_limit`` takes the first N training images,
            ``test_limit`` the first N test images for ``test``).
        folds: Number of folds, 2-10.
        test: Also evaluate each fold's model, and the mean-probability
            ensemble of all folds, on the test set.
        verbose: Keras's progress-bar setting for each fold's ``fit``.
        report: Write the cv run's ``report.html`` at the end.
        log: Where progress lines go.
        train_fn: The training function (default :func:`mnist_cnn.training.trainer.train`);
            tests pass a wrapper.

    Returns:
        A :class:`CvResult`.
    """
    check_folds(folds)
    if not isinstance(test, bool):
        raise ConfigError(f"test must be True or False, got {test!r}")
    if config.train_limit is not None and config.train_limit < folds:
        raise ConfigError(
            f"{folds} folds need at least {folds} training images, got train_limit "
            f"{config.train_limit}"
        )
    cv_dir = new_cv_dir(config.out_dir, folds, config.model)
    write_json(cv_dir / "config.json", config.to_dict())
    state = {"kind": "cv", "folds": folds, "test": test, "complete": False}
    write_json(cv_dir / CV_FILE, state)
    log(f"cv run: {cv_dir}")
    return _run(cv_dir, config, folds, test, verbose, report, log, train_fn)


def resume_cv(
    cv_dir: str | os.PathLike[str],
    *,
    verbose: int | str = 0,
    report: bool = True,
    log: Callable[[str], None] = print,
    train_fn: TrainFunction | None = None,
) -> CvResult:
    """Finish an interrupted cv run: train the folds without a result, keep the others.

    The folds, ``test`` and config are the cv run's own (``cv.json`` and
    ``config.json``).

    Raises:
        ModelError: ``cv_dir`` is not a cv run directory.
    """
    path = Path(cv_dir)
    state = read_json(path / CV_FILE)
    if not isinstance(state, dict) or state.get("kind") != "cv":
        raise ModelError(f"{path} is not a cv run directory (no {CV_FILE} made by 'mnist-cnn cv')")
    config = TrainConfig.load(path / "config.json")
    log(f"resuming cv run: {path}")
    return _run(
        path, config, int(state["folds"]), bool(state["test"]), verbose, report, log, train_fn
    )


@contextlib.contextmanager
def _quiet_retracing():
    """Hide TensorFlow's "N out of the last N calls triggered tf.function retracing"
    warning while folds run: each fold builds a new model, so new functions are
    expected. The logger's level is restored after."""
    logger = logging.getLogger("tensorflow")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _run(
    cv_dir: Path,
    config: TrainConfig,
    folds: int,
    test: bool,
    verbose: int | str,
    report: bool,
    log: Callable[[str], None],
    train_fn: TrainFunction | None,
) -> CvResult:
    import keras

    from .trainer import load_data, train

    train_fn = train_fn or train
    (x_all, y_all), (x_test, y_test) = load_data(config)
    assignment = stratified_folds(y_all, folds, config.seed)
    fingerprint = split_fingerprint(assignment)
    previous = read_json(cv_dir / CV_FILE) or {}
    recorded = (previous.get("split") or {}).get("sha256")
    if recorded and recorded != fingerprint:
        raise ModelError(
            f"{cv_dir}: the training data no longer splits as when this cv started "
            "(different data or limit); start a new cv instead of resuming"
        )
    split = {
        "method": "stratified",
        "seed": config.seed,
        "n_images": int(len(y_all)),
        "fold_sizes": np.bincount(assignment, minlength=folds).tolist(),
        "sha256": fingerprint,
    }
    if not test:
        x_test, y_test = x_test[:0], y_test[:0]
    write_json(cv_dir / CV_FILE, _summary(config, folds, test, split, [], False, None))

    results: list[dict[str, Any]] = []
    for fold in range(1, folds + 1):
        done = read_json(fold_file(cv_dir, fold))
        if done is not None and (not test or fold_probabilities_file(cv_dir, fold).is_file()):
            log(f"fold {fold}/{folds}: done before (val_accuracy {done['val_accuracy']:.4f})")
            results.append(done)
            continue
        inside = assignment == fold - 1
        seed = config.seed + fold - 1
        log(
            f"fold {fold}/{folds}: train on {int((~inside).sum())}, "
            f"validate on {int(inside.sum())}"
        )
        keras.utils.clear_session()
        start = time.perf_counter()
        try:
            with _quiet_retracing():
                result = train_fn(
                    config.replace(seed=seed),
                    data=((x_all[~inside], y_all[~inside]), (x_test, y_test)),
                    validation_data=(x_all[inside], y_all[inside]),
                    save=False,
                    verbose=verbose,
                    log=lambda line: None,
                )
        except KeyboardInterrupt:
            log(
                f"interrupted in fold {fold}; {len(results)} finished fold(s) kept. "
                f"Resume with: mnist-cnn cv --resume {cv_dir}"
            )
            raise
        m = result.metrics
        record = {
            "fold": fold,
            "seed": seed,
            "n_train": m["n_train"],
            "n_validation": m["n_validation"],
            "validation_class_counts": np.bincount(y_all[inside], minlength=10).tolist(),
            "val_accuracy": m["val_accuracy"],
            "val_loss": m["val_loss"],
            "test_accuracy": m["test_accuracy"],
            "test_loss": m["test_loss"],
            "seconds_per_epoch": m["seconds_per_epoch"],
            "train_seconds": m["train_seconds"],
            "seconds": round(time.perf_counter() - start, 3),
            "peak_rss_mb": m.get("peak_rss_mb"),
        }
        if test and result.test_probabilities is not None:
            with atomic_path(fold_probabilities_file(cv_dir, fold)) as tmp:
                np.save(tmp, result.test_probabilities.astype(np.float32), allow_pickle=False)
        # The fold's JSON last: its presence means the fold (and its .npy) is complete.
        write_json(fold_file(cv_dir, fold), record)
        results.append(record)
        log(
            f"fold {fold}/{folds}: val_accuracy {record['val_accuracy']:.4f}  "
            f"val_loss {record['val_loss']:.4f}  ({record['seconds']:.1f} s)"
        )
        write_json(cv_dir / CV_FILE, _summary(config, folds, test, split, results, False, None))
        del result

    ensemble = _ensemble(cv_dir, folds, y_test) if test and len(y_test) else None
    summary = _summary(config, folds, test, split, results, True, ensemble)
    write_json(cv_dir / CV_FILE, summary)
    if report:
        write_cv_report(cv_dir)
    return CvResult(cv_dir=cv_dir, summary=summary)


def _ensemble(cv_dir: Path, folds: int, y_test: np.ndarray) -> dict[str, Any]:
    from ..evaluation.evaluator import summarize

    probabilities = np.mean(
        [
            np.load(fold_probabilities_file(cv_dir, fold), allow_pickle=False)
            for fold in range(1, folds + 1)
        ],
        axis=0,
    )
    evaluation = summarize(probabilities, y_test, top_k=0)
    return {
        "method": f"mean of the {folds} folds' probabilities",
        "test_accuracy": evaluation["test_accuracy"],
        "test_accuracy_ci95": evaluation["test_accuracy_ci95"],
        "test_loss": evaluation["test_loss"],
        "ece": evaluation["calibration"]["ece"],
        "n_test": evaluation["n_test"],
    }


def _summary(
    config: TrainConfig,
    folds: int,
    test: bool,
    split: dict[str, Any],
    results: list[dict[str, Any]],
    complete: bool,
    ensemble: dict[str, Any] | None,
) -> dict[str, Any]:
    import keras

    return {
        "kind": "cv",
        "folds": folds,
        "test": test,
        "complete": complete,
        "seed_scheme": "fold i (from 1) trains with seed + i - 1; the split uses seed",
        "split": split,
        "config": config.to_dict(),
        "fold_results": results,
        "summary": {key: metrics.mean_std([r.get(key) for r in results]) for key in SUMMARY_KEYS},
        "ensemble": ensemble,
        "total_seconds": round(sum(r["seconds"] for r in results), 3),
        "backend": keras.backend.backend(),
        "versions": envinfo.package_versions(),
        "cpu": envinfo.cpu_info(),
    }


def format_summary(cv: dict[str, Any]) -> str:
    """A fixed-width table of the folds, with mean ± std, for the terminal."""
    lines = [
        f"{'fold':>4}  {'seed':>5}  {'val_acc':>8}  {'val_loss':>8}  {'test_acc':>8}  {'s':>7}"
    ]
    for r in cv["fold_results"]:
        test_acc = "-" if r.get("test_accuracy") is None else f"{r['test_accuracy']:.4f}"
        lines.append(
            f"{r['fold']:>4}  {r['seed']:>5}  {r['val_accuracy']:>8.4f}  "
            f"{r['val_loss']:>8.4f}  {test_acc:>8}  {r['seconds']:>7.1f}"
        )
    s = cv["summary"]
    lines.append(
        f"val_accuracy {_pm(s['val_accuracy'])}  val_loss {_pm(s['val_loss'])}  "
        f"({s['val_accuracy']['n']} folds, mean ± std)"
    )
    if s["test_accuracy"]["n"]:
        lines.append(f"test_accuracy {_pm(s['test_accuracy'])}")
    if cv.get("ensemble"):
        lines.append(
            f"ensemble of the folds: test_accuracy {cv['ensemble']['test_accuracy']:.4f}  "
            f"test_loss {cv['ensemble']['test_loss']:.4f}"
        )
    lines.append(f"total time {cv['total_seconds']:.1f} s")
    return "\n".join(lines)


def _pm(stats: dict[str, Any]) -> str:
    if stats["mean"] is None:
        return "-"
    return f"{stats['mean']:.4f} ± {stats['std']:.4f}"
