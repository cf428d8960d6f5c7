"""Checkpoints: an interrupted training continues where it stopped.

While :func:`mnist_cnn.training.trainer.train` assembles a run in its hidden
staging folder (:func:`mnist_cnn.runs.staging_dir`), it writes ``config.json``
there at the start, and :data:`CHECKPOINT_FILE` at the end of every epoch. One
file holds all the state, written atomically (:func:`mnist_cnn.fileio.atomic_path`),
so an interruption, even during the write, leaves the previous epoch's
checkpoint intact:

* every model variable: the weights (float32 under either precision) and the
  dropout layers' seed-generator states;
* every optimizer variable: Adam's moments and its iteration count, on which
  the cosine learning-rate schedule depends;
* the number of finished epochs, their history (``history.csv`` is rewritten
  from it on resume) and their seconds;
* the Python and NumPy global random states, restored as training restarts;
* the random state of ``--augment``'s batches
  (:meth:`~mnist_cnn.training.augment.AugmentedBatches.get_state`), so they
  are the ones the interrupted run would have drawn next;
* a SHA-256 of the training and validation arrays, so a resume on other data
  is refused.

``mnist-cnn train --resume DIR`` (``train(resume=DIR)``) rebuilds the model
from the run's own config, restores this state and calls ``fit`` with
``initial_epoch`` set to the epochs done; the data order of the remaining
epochs comes from the seed, as in an uninterrupted run (under TensorFlow the
trainer's pipeline draws each epoch's order from the seed and the epoch
number, :func:`~mnist_cnn.training.trainer.uint8_datasets`; the augmented
batches save their random state here; elsewhere, Keras 3.15's
``fit(shuffle=True)`` on arrays draws the same permutation for every epoch of
a seeded run). The resumed run's weights equal an
uninterrupted run's (see
``tests/test_resume.py``), and it is published with the same files; the
checkpoint is deleted just before, since ``model.keras`` holds the
optimizer state too.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shlex
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np

from .. import envinfo, runs
from ..config import TrainConfig
from ..errors import ConfigError, DataError, ModelError
from ..fileio import atomic_path, write_json

CHECKPOINT_FILE = "checkpoint.npz"
CONFIG_FILE = "config.json"
FORMAT = 1
STAGING_PREFIX = ".staging-"
# Settings a resume may change: the data are checked by their fingerprint instead.
MAY_DIFFER = frozenset({"data_dir"})


def find_staging(path: str | os.PathLike[str]) -> Path:
    """The staging folder of an interrupted training named by ``path``.

    ``path`` is the staging folder (``runs/.staging-<run>-<pid>``, as the
    interruption message prints it) or the run directory it would have become
    (``runs/<run>``), if exactly one staging folder is assembling that run.

    Raises:
        ModelError: ``path`` names a finished run, no folder, or a folder that
            is not an interrupted training (listing any that are).
    """
    path = Path(path)
    if (path / runs.MODEL_FILE).is_file() and not path.name.startswith(STAGING_PREFIX):
        raise ModelError(
            f"{path} is a finished run; there is nothing to resume. To train longer, "
            f"start a new run from its settings: mnist-cnn train --config "
            f"{shlex.quote(str(path / CONFIG_FILE))} --epochs N"
        )
    if not path.exists():
        matches = sorted(path.parent.glob(f"{STAGING_PREFIX}{path.name}-*"))
        if len(matches) == 1:
            return matches[0]
        raise ModelError(f"no such folder: {path}")
    if not (path / CONFIG_FILE).is_file():
        inside = sorted(path.glob(f"{STAGING_PREFIX}*/{CHECKPOINT_FILE}")) if path.is_dir() else []
        hint = "; resumable there: " + ", ".join(str(p.parent) for p in inside) if inside else ""
        raise ModelError(
            f"{path} is not the staging folder of an interrupted 'mnist-cnn train' "
            f"(no {CONFIG_FILE}){hint}"
        )
    return path


def resume_config(path: str | os.PathLike[str], config: TrainConfig | None = None) -> TrainConfig:
    """The config of the interrupted training at ``path`` (see :func:`find_staging`).

    Args:
        path: The staging folder, or the run it would have become.
        config: The config the caller asks for, if any: it must be the
            interrupted run's (after :func:`~mnist_cnn.training.trainer.resolve_config`),
            except for :data:`MAY_DIFFER`.

    Raises:
        ModelError: No interrupted training at ``path``, or it has no checkpoint yet.
        ConfigError: ``config`` differs from the run's; the message names the settings.
    """
    from .trainer import resolve_config

    staging = find_staging(path)
    saved = TrainConfig.load(staging / CONFIG_FILE)
    if not (staging / CHECKPOINT_FILE).is_file():
        raise ModelError(
            f"{staging} has no checkpoint: the training stopped before its first epoch "
            f"ended. Start it again with: mnist-cnn train --config "
            f"{shlex.quote(str(staging / CONFIG_FILE))}"
        )
    if config is not None:
        asked = resolve_config(config, find_data=False).to_dict()
        differ = [
            f"{name} {asked[name]!r} (the run has {value!r})"
            for name, value in saved.to_dict().items()
            if name not in MAY_DIFFER and asked[name] != value
        ]
        if differ:
            raise ConfigError(
                f"resuming {staging} keeps its own settings; these differ: "
                f"{', '.join(differ)}. Leave them out, or start a new run"
            )
        if config.data_dir is not None:
            saved = saved.replace(data_dir=config.data_dir)
    return saved


def data_fingerprint(*arrays: np.ndarray) -> str:
    """SHA-256 of ``arrays`` (their shapes, dtypes and bytes)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        if array.size:  # (an empty validation split has no bytes to view)
            digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


class Checkpoint(keras.callbacks.Callback):
    """Writes the staging folder's :data:`CHECKPOINT_FILE` at the end of every epoch.

    Made by :meth:`begin`, which also restores a checkpoint when resuming.

    Attributes:
        staging: The staging folder.
        epochs: The run's number of epochs.
        initial_epoch: Epochs finished before this ``fit`` (``fit(initial_epoch=...)``).
        saved_epoch: Epochs the checkpoint on disk holds (0: none yet).
        history: Per-epoch lists of every finished epoch, earlier sessions' too.
        earlier_seconds: Training seconds of the earlier sessions.
    """

    def __init__(
        self,
        staging: Path,
        epochs: int,
        timer: Any,
        data: Any,
        fingerprint: str,
    ) -> None:
        super().__init__()
        self.staging = staging
        self.epochs = epochs
        self.timer = timer
        self.data = data
        self.fingerprint = fingerprint
        self.initial_epoch = self.saved_epoch = 0
        self.history: dict[str, list[float]] = {}
        self.earlier_seconds = 0.0
        self._rng_state: dict[str, Any] | None = None
        self._start = time.perf_counter()

    @classmethod
    def begin(
        cls,
        config: TrainConfig,
        model: keras.Model,
        timer: Any,
        *,
        data: Any,
        arrays: tuple[np.ndarray, ...],
        resume: str | os.PathLike[str] | None = None,
    ) -> Checkpoint:
        """A new staging folder with ``config.json``, or (``resume``) the interrupted
        one, its checkpoint restored into ``model``, ``data`` and ``timer``.

        Args:
            config: The resolved config of the run.
            model: The compiled training model (built, not yet trained).
            timer: The :class:`~mnist_cnn.training.trainer.EpochTimer` (its seconds
                continue the earlier sessions').
            data: What ``fit`` trains on: an array, or batches with
                ``get_state``/``set_state`` whose state is saved too.
            arrays: The training and validation arrays, fingerprinted.
            resume: The interrupted run's staging folder (:func:`find_staging`).

        Raises:
            ModelError: The checkpoint cannot be read or does not fit the model.
            DataError: The data differ from the interrupted run's.
        """
        fingerprint = data_fingerprint(*arrays)
        if resume is None:
            staging = runs.staging_dir(config.out_dir, runs.new_run_name(config.model))
            recorded = {"mnist_cnn_version": envinfo.package_versions()["mnist-cnn"]}
            write_json(staging / CONFIG_FILE, {**config.to_dict(), **recorded})
            return cls(staging, config.epochs, timer, data, fingerprint)
        saver = cls(find_staging(resume), config.epochs, timer, data, fingerprint)
        saver._restore(model)
        return saver

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._start = time.perf_counter()
        if self._rng_state is not None:
            random.setstate(_python_state(self._rng_state["python"]))
            np.random.set_state(_numpy_state(self._rng_state["numpy"]))

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        state = {
            "format": FORMAT,
            "epoch": epoch + 1,
            "epochs": self.epochs,
            "history": self.history,
            "seconds_per_epoch": list(self.timer.seconds),
            "train_seconds": self.earlier_seconds + time.perf_counter() - self._start,
            "data_sha256": self.fingerprint,
            "data_state": self.data.get_state() if hasattr(self.data, "get_state") else None,
            "rng": {"python": random.getstate(), "numpy": _numpy_json(np.random.get_state())},
        }
        arrays = {"state": np.array(json.dumps(state))}
        arrays.update(_numbered("model", self.model.variables))
        arrays.update(_numbered("optimizer", self.model.optimizer.variables))
        with atomic_path(self.staging / CHECKPOINT_FILE) as tmp:
            np.savez(tmp, **arrays)
        self.saved_epoch = epoch + 1

    def whole_run(
        self, history: dict[str, list[float]], train_seconds: float
    ) -> tuple[dict[str, list[float]], float]:
        """This ``fit``'s history and seconds, with the earlier sessions' before them."""
        if not self.initial_epoch:
            return history, train_seconds
        return self.history, self.earlier_seconds + train_seconds

    def stopped_message(self, exc: BaseException, history_file: Path) -> str | None:
        """What to tell the user when training (or saving the run) stops with ``exc``.

        Before the first checkpoint there is nothing to resume, and the staging
        folder is removed. ``None`` once the checkpoint is gone with the run
        being published.
        """
        what = "Interrupted" if isinstance(exc, KeyboardInterrupt) else "Training stopped"
        if not (self.staging / CHECKPOINT_FILE).is_file():
            if self.saved_epoch:
                return None
            shutil.rmtree(self.staging, ignore_errors=True)
            return f"{what} during the first epoch; there is nothing to resume"
        when = f"after epoch {self.saved_epoch} of {self.epochs}"
        if self.saved_epoch == self.epochs:
            when = f"after the last epoch ({self.epochs}), before the run was saved"
        return (
            f"{what} {when}; its history so far is in {history_file}. "
            f"Resume with: mnist-cnn train --resume {shlex.quote(str(self.staging))}"
        )

    def _restore(self, model: keras.Model) -> None:
        path = self.staging / CHECKPOINT_FILE
        try:
            with np.load(path, allow_pickle=False) as npz:
                state = json.loads(str(npz["state"]))
                model_values = _unnumbered(npz, "model")
                optimizer_values = _unnumbered(npz, "optimizer")
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"cannot read the checkpoint {path}: {exc}") from None
        if state.get("format") != FORMAT:
            raise ModelError(f"{path} was written by another version of mnist-cnn")
        if state["data_sha256"] != self.fingerprint:
            raise DataError(
                f"the training data differ from those {self.staging} was trained on "
                "(another dataset, data folder or limit); start a new run instead"
            )
        model.optimizer.build(model.trainable_variables)
        _assign(model.variables, model_values, path)
        _assign(model.optimizer.variables, optimizer_values, path)
        if state["data_state"] is not None:
            self.data.set_state(state["data_state"])
        self.initial_epoch = self.saved_epoch = int(state["epoch"])
        self.history = state["history"]
        self.earlier_seconds = float(state["train_seconds"])
        self.timer.seconds = list(state["seconds_per_epoch"])
        self._rng_state = state["rng"]


def _numbered(prefix: str, variables: list) -> Iterator[tuple[str, np.ndarray]]:
    for i, variable in enumerate(variables):
        yield f"{prefix}_{i:04d}", keras.ops.convert_to_numpy(variable)


def _unnumbered(npz: Any, prefix: str) -> list[np.ndarray]:
    return [npz[key] for key in sorted(k for k in npz.files if k.startswith(prefix + "_"))]


def _assign(variables: list, values: list[np.ndarray], path: Path) -> None:
    shapes = [tuple(v.shape) for v in variables]
    if shapes != [value.shape for value in values]:
        raise ModelError(f"{path} does not fit this model (another architecture or version)")
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def _numpy_json(state: tuple) -> list:
    name, keys, pos, has_gauss, gauss = state
    return [name, keys.tolist(), int(pos), int(has_gauss), float(gauss)]


def _numpy_state(data: list) -> tuple:
    name, keys, pos, has_gauss, gauss = data
    return (name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss)


def _python_state(data: list) -> tuple:
    version, internal, gauss = data
    return (version, tuple(internal), gauss)
