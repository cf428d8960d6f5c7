"""The one typed configuration of a training run.

Defaults live here and nowhere else; the CLI's flags override them, and the
resolved config is written into every run directory as ``config.json``, from
which :meth:`TrainConfig.from_dict` rebuilds it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run.

    Attributes:
        model: Registry name of the architecture (see ``mnist-cnn train --help``).
        epochs: Passes over the training split. The tutorial uses 3.
        batch_size: Images per gradient step. The tutorial uses 128.
        validation_split: Fraction of the training images, taken from the end
            as Keras's ``validation_split`` does, held out for validation.
            Ignored when an explicit validation set is passed to ``train``.
        seed: Seeds Python, NumPy and the backend (``keras.utils.set_random_seed``).
        precision: ``"float32"``; ``"mixed_bfloat16"`` (bfloat16 arithmetic with
            float32 weights, 1.2-1.7x faster on CPUs with AVX512-BF16 or AMX);
            or ``"auto"``, which picks bfloat16 only on such CPUs under the
            TensorFlow backend. The saved model is float32 either way.
        augment: Train on randomly shifted, rotated, scaled, thickened/thinned
            and elastically distorted digits (for real handwriting).
        real_inputs: With ``augment``, the fraction of training images shown
            each epoch as a real input looks after normalisation (stretched to
            a square, 1-bit, down-and-up sampled, hairline or bold strokes;
            :mod:`mnist_cnn.vision.degrade`), in [0, 1]. 0 turns it off.
        learning_rate: Adam's learning rate (Keras's default is 0.001).
        schedule: ``"constant"`` (the tutorial) or ``"cosine"`` decay to zero
            over the run.
        train_limit: Use only the first N training images (quick looks, tests).
        test_limit: Evaluate on only the first N test images.
        data_dir: Folder with the four MNIST IDX files; ``None`` searches the
            usual places (see :func:`mnist_cnn.datasets.load_mnist`).
        out_dir: Parent folder of run directories.
        steps_per_execution: Training steps run per call into the backend's
            compiled function (Keras ``compile(steps_per_execution=...)``).
            The same steps, batches and updates, with less Python overhead
            per step; the progress bar updates once per call. ``0`` means
            auto: 25 under TensorFlow, 1 elsewhere.
    """

    model: str = "baseline"
    epochs: int = 3
    batch_size: int = 128
    validation_split: float = 0.2
    seed: int = 42
    precision: str = "auto"
    augment: bool = False
    real_inputs: float = 0.0
    learning_rate: float = 0.001
    schedule: str = "constant"
    train_limit: int | None = None
    test_limit: int | None = None
    data_dir: str | None = None
    out_dir: str = "runs"
    steps_per_execution: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from .models import available_models

        if self.model not in available_models():
            raise ConfigError(
                f"unknown model {self.model!r}; choose one of: {', '.join(available_models())}"
            )
        _check_int("epochs", self.epochs, minimum=1)
        _check_int("batch_size", self.batch_size, minimum=1)
        _check_int("seed", self.seed, minimum=0)
        if not isinstance(self.validation_split, (int, float)) or not (
            0.0 <= self.validation_split < 1.0
        ):
            raise ConfigError(f"validation_split must be in [0, 1), got {self.validation_split!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        if self.schedule not in SCHEDULES:
            raise ConfigError(
                f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}"
            )
        if not isinstance(self.learning_rate, (int, float)) or self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if not isinstance(self.real_inputs, (int, float)) or not 0.0 <= self.real_inputs <= 1.0:
            raise ConfigError(f"real_inputs must be in [0, 1], got {self.real_inputs!r}")
        if self.real_inputs and not self.augment:
            raise ConfigError("real_inputs needs augment (add --augment)")
        _check_int("steps_per_execution", self.steps_per_execution, minimum=0)
        for name in ("train_limit", "test_limit"):
            value = getattr(self, name)
            if value is not None:
                _check_int(name, value, minimum=1)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with ``changes`` applied (and validated)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild a config from :meth:`to_dict` output, rejecting unknown keys."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        """Read a ``config.json`` written with a run."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from None
        return cls.from_dict(data)


def _check_int(name: str, value: Any, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
