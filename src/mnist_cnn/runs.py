"""Run directories: ``runs/<timestamp>-<model>/`` and the ``runs/latest`` pointer.

The runs folder is ``runs`` unless ``$MNIST_CNN_RUNS`` or a caller (the CLI's
``--runs-dir``) names another (:func:`default_runs_dir`).

A run is assembled in a hidden staging folder and renamed into place only when
every file is written, so ``runs/`` never holds a half-finished run, and
``runs/latest`` always points at a complete one.
"""

from __future__ import annotations

import datetime as _dt
import os
import shutil
from pathlib import Path

from .errors import ModelError

MODEL_FILE = "model.keras"
LATEST = "latest"
RUNS_ENV_VAR = "MNIST_CNN_RUNS"


def default_runs_dir() -> str:
    """Where runs go and are looked for: ``$MNIST_CNN_RUNS`` if set, else ``runs``.

    Read at each call, so the CLI's ``--runs-dir`` and the environment variable
    apply the same way to every verb.
    """
    return os.environ.get(RUNS_ENV_VAR) or "runs"


def new_run_name(model: str, now: _dt.datetime | None = None) -> str:
    """``<YYYYmmdd-HHMMSS>-<model>``, the name of a new run directory."""
    now = now or _dt.datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{model}"


def staging_dir(out_dir: str | os.PathLike[str], name: str) -> Path:
    """A fresh hidden folder under ``out_dir`` to assemble run ``name`` in."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = out / f".staging-{name}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def staged_name(staging: Path) -> str:
    """The run name a :func:`staging_dir` folder is assembling."""
    return staging.name.removeprefix(".staging-").rsplit("-", 1)[0]


def publish(staging: Path, name: str) -> Path:
    """Move a complete staging folder to its final name and point ``latest`` at it.

    If ``name`` is taken (two runs in one second), ``-2``, ``-3``... is appended.
    """
    out = staging.parent
    final = out / name
    suffix = 2
    while final.exists():
        final = out / f"{name}-{suffix}"
        suffix += 1
    os.replace(staging, final)
    point_latest(out, final)
    return final


def point_latest(out_dir: Path, run_dir: Path) -> None:
    """Atomically make ``out_dir/latest`` a relative symlink to ``run_dir``."""
    link = out_dir / LATEST
    tmp = out_dir / f".{LATEST}.{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        os.symlink(run_dir.name, tmp, target_is_directory=True)
    except OSError:
        # No symlinks (some Windows setups): a text file naming the run instead.
        tmp.write_text(run_dir.name + "\n", encoding="utf-8")
    if link.is_dir() and not link.is_symlink():
        raise ModelError(f"{link} is a real folder; rename it so it can point to the newest run")
    os.replace(tmp, link)


def resolve_latest(out_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The run ``out_dir/latest`` points at, or ``None`` if there is none.

    ``out_dir`` defaults to :func:`default_runs_dir`.
    """
    out_dir = default_runs_dir() if out_dir is None else out_dir
    link = Path(out_dir) / LATEST
    if link.is_symlink() or link.is_dir():
        target = link.resolve()
        return target if (target / MODEL_FILE).is_file() else None
    if link.is_file():
        target = Path(out_dir) / link.read_text(encoding="utf-8").strip()
        return target if (target / MODEL_FILE).is_file() else None
    return None


def model_file(model_or_run: str | os.PathLike[str]) -> Path:
    """The ``.keras`` file named by a model path or a run directory.

    Raises:
        ModelError: the path does not exist or holds no model.
    """
    path = Path(model_or_run)
    if path.is_dir():
        candidate = path / MODEL_FILE
        if candidate.is_file():
            return candidate
        raise ModelError(
            f"{path} is a folder without {MODEL_FILE}; pass a run directory made by "
            "'mnist-cnn train' or a .keras file"
        )
    if path.is_file():
        if path.suffix != ".keras":
            raise ModelError(f"{path} is not a .keras model file")
        return path
    raise ModelError(f"no model or run directory at {path}")
