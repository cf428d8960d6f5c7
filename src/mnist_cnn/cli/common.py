"""What several verbs share: exit codes, quiet Keras import, the ``--runs-dir`` and
``--dataset`` flags, and finding image files and the model to read them with."""

from __future__ import annotations

import argparse
import glob
import os
import sys
from collections.abc import Sequence
from pathlib import Path

IMAGE_SUFFIXES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".pgm",
    ".ppm",
}
EXIT_ERROR = 2
EXIT_SOME_FAILED = 1


def import_keras_quietly() -> None:
    """Import Keras (and its backend) with the C++ log lines at import silenced.

    TensorFlow 2.21 writes oneDNN and CPU-feature notices straight to file
    descriptor 2 before Python logging exists, and no environment variable
    silences them all; they would bury the command's own output.
    """
    if "keras" in sys.modules or os.environ.get("MNIST_CNN_BACKEND_LOGS"):
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import keras  # noqa: F401
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def add_dataset(p: argparse.ArgumentParser, default_text: str, default=None) -> None:
    """``--dataset``, the dataset of ``--data-dir``."""
    from ..data.catalog import DATASETS

    p.add_argument(
        "--dataset",
        choices=tuple(DATASETS),
        default=default,
        help=f"the dataset of --data-dir (default: {default_text})",
    )


def add_runs_dir(p: argparse.ArgumentParser) -> None:
    """``--runs-dir``, for the verbs that find a run by default (``RUNS_DIR/latest``)."""
    p.add_argument(
        "--runs-dir",
        default=None,
        metavar="DIR",
        help="folder of runs, for the default RUNS_DIR/latest "
        "(default: $MNIST_CNN_RUNS, else runs)",
    )


def add_image_arguments(p: argparse.ArgumentParser) -> None:
    """``[MODEL_OR_RUN] IMAGE...``, ``--json``, ``--preview``, ``--min-confidence`` and
    ``--runs-dir``: the arguments ``predict`` and ``read`` share."""
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="[MODEL_OR_RUN] IMAGE",
        help="optional model (.keras, run directory or 'default'), "
        "then image files, folders or globs",
    )
    p.add_argument("--json", action="store_true", help="print JSON Lines, one object per image")
    p.add_argument("--preview", default=None, metavar="PNG", help="save what the model saw")
    p.add_argument(
        "--min-confidence",
        type=float,
        default=0.6,
        help="mark answers below this probability as uncertain (default 0.6)",
    )


def image_verb_description(helptext: str) -> str:
    return (
        helptext + ". Without MODEL_OR_RUN, uses RUNS_DIR/latest (see --runs-dir), else the "
        "packaged default model ('default')."
    )


def expand_inputs(patterns: Sequence[str]) -> tuple[list[Path], list[str]]:
    """Files named directly, image files inside folders, and glob matches.

    Returns:
        ``(paths, problems)``: the files in order (without duplicates), and a
        message for each argument that matched nothing.
    """
    paths: list[Path] = []
    problems: list[str] = []
    for pattern in patterns:
        path = Path(pattern)
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
            if not found:
                problems.append(f"{pattern}: folder holds no image files")
            paths.extend(found)
        elif path.exists():
            paths.append(path)
        elif glob.has_magic(pattern):
            found = sorted(
                Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file()
            )
            if not found:
                problems.append(f"{pattern}: no file matches")
            paths.extend(found)
        else:
            problems.append(f"{pattern}: no such file")
    unique = list(dict.fromkeys(paths))
    return unique, problems


def open_inputs(inputs: list[str], runs_dir: str | None = None):
    """``[MODEL_OR_RUN] IMAGE...``: the predictor, the image files, and the arguments
    that matched no file (each already reported on stderr).

    The predictor is ``None`` when there is no image to work on.
    """
    model_or_run, patterns = split_model_and_images(inputs)
    paths, problems = expand_inputs(patterns)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not paths:
        if not problems:
            print("error: no images given", file=sys.stderr)
        return None, paths, problems
    return load_predictor(model_or_run, runs_dir), paths, problems


def load_predictor(model_or_run: str | None, runs_dir: str | None = None):
    """The :class:`~mnist_cnn.inference.predictor.Predictor`, its file named on stderr."""
    from ..inference.predictor import Predictor

    predictor = Predictor.load(model_or_run, runs_dir=runs_dir)
    print(f"model: {predictor.path}", file=sys.stderr)
    return predictor


def split_model_and_images(inputs: list[str]) -> tuple[str | None, list[str]]:
    """``[MODEL_OR_RUN] IMAGE...``: the first argument is a model if it names one."""
    if len(inputs) >= 2:
        first = Path(inputs[0])
        if (
            inputs[0] == "default"
            or first.suffix == ".keras"
            or (first.is_dir() and (first / "model.keras").exists())
        ):
            return inputs[0], inputs[1:]
    return None, inputs
