"""The evaluation report: one self-contained ``report.html`` per run.

The page is a view of the run's files: ``config.json``, ``metrics.json``,
``history.json`` and ``evaluation.json`` (the one source of the numbers; see
:mod:`mnist_cnn.evaluation`), plus ``handwriting.json`` when the run has the
real-handwriting stress results (``benchmarks/bench_handwriting.py`` writes
them). Images are inline ``data:`` URIs (PNG), the styles are inline, and the
page has no scripts and loads nothing from the network, so it can be mailed,
opened on a phone, or printed.

Cross-validation runs (:mod:`mnist_cnn.training.crossval`) get their own page from the
same templates; :func:`render_compare` renders ``mnist-cnn compare --html``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import runs
from ..errors import MnistCnnError, ModelError
from ..fileio import atomic_write_text
from . import plots
from .evaluator import EVALUATION_FILE

REPORT_FILE = "report.html"
#: The summary file of a cross-validation run (written by :mod:`mnist_cnn.training.crossval`).
CV_FILE = "cv.json"
HANDWRITING_FILE = "handwriting.json"
#: Side of a gallery thumbnail in pixels (28x28 scaled up without smoothing).
THUMBNAIL = 56


def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("mnist_cnn.evaluation", "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pct"] = lambda v, digits=2: "–" if v is None else f"{100 * v:.{digits}f} %"
    env.filters["num"] = lambda v, digits=4: "–" if v is None else f"{v:.{digits}f}"
    return env


def render(template: str, **context: Any) -> str:
    """Render one of the package's templates (``templates/<template>``)."""
    return _environment().get_template(template).render(**context)


def png_data_uri(data: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def figure_uri(fig) -> str:
    """A Matplotlib figure as a PNG data URI."""
    return png_data_uri(plots.figure_png(fig))


def digit_uri(image: np.ndarray, size: int = THUMBNAIL) -> str:
    """A 28x28 digit (uint8, or float in [0, 1]) as a ``size``-pixel PNG data URI.

    The digit is scaled up by repeating pixels, so it stays sharp wherever
    the page is shown (CSS ``image-rendering`` is not honoured everywhere, in
    print especially).
    """
    from PIL import Image

    pixels = np.asarray(image, dtype=np.float64).reshape(28, 28)
    if pixels.max(initial=0) <= 1.0:
        pixels = pixels * 255.0
    pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    factor = max(1, size // 28)
    pixels = np.kron(pixels, np.ones((factor, factor), dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="PNG", optimize=True)
    return png_data_uri(buffer.getvalue())


def read_json(path: Path) -> Any:
    """The JSON at ``path``, or ``None`` if there is no such file.

    Raises:
        ModelError: the file exists but is not valid JSON.
    """
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {path}: {exc}; re-create it or delete it") from None


def resolve_run_dir(
    run: str | os.PathLike[str] | None, runs_dir: str | os.PathLike[str] | None = None
) -> Path:
    """The run directory named by ``run``, or ``runs_dir/latest`` when ``None``.

    ``runs_dir`` defaults to ``$MNIST_CNN_RUNS``, else ``runs``.

    Raises:
        ModelError: there is no such run directory.
    """
    if run is None:
        runs_dir = runs.default_runs_dir() if runs_dir is None else runs_dir
        latest = runs.resolve_latest(runs_dir)
        if latest is None:
            raise ModelError(
                f"no run given and no {Path(runs_dir) / runs.LATEST}; "
                "train one with 'mnist-cnn train' or pass a run directory"
            )
        return latest
    path = Path(run)
    if not path.is_dir():
        raise ModelError(f"no run directory at {path}")
    if not ((path / "config.json").is_file() or (path / "cv.json").is_file()):
        raise ModelError(
            f"{path} is not a run directory (no config.json or cv.json); pass a folder "
            "made by 'mnist-cnn train' or 'mnist-cnn cv'"
        )
    return path


def _confusion_cells(matrix: Sequence[Sequence[int]]) -> list[list[dict[str, Any]]]:
    """Each cell's count and colours: the diagonal in blue by the row's share, the
    mistakes in red relative to the largest mistake."""
    counts = np.asarray(matrix, dtype=np.int64)
    rows = counts.sum(axis=1)
    off = counts.copy()
    np.fill_diagonal(off, 0)
    worst = max(int(off.max(initial=0)), 1)
    cells = []
    for i in range(len(counts)):
        row = []
        for j in range(len(counts)):
            count = int(counts[i, j])
            if i == j:
                alpha = count / rows[i] if rows[i] else 0.0
                rgb = "33, 102, 172"
            else:
                alpha = 0.15 + 0.85 * count / worst if count else 0.0
                rgb = "202, 0, 32"
            row.append(
                {
                    "count": count,
                    "diagonal": i == j,
                    "style": f"background-color: rgba({rgb}, {alpha:.3f});"
                    + (" color: #fff;" if alpha > 0.55 else ""),
                }
            )
        cells.append(row)
    return cells


def _gallery(
    evaluation: Mapping[str, Any],
    images: np.ndarray | None,
) -> list[dict[str, Any]]:
    items = []
    losses = evaluation.get("top_losses") or []
    if images is None or len(images) != len(losses):
        return []
    for item, image in zip(losses, images, strict=True):
        items.append({**item, "src": digit_uri(image)})
    return items


def _gallery_images(
    evaluation: Mapping[str, Any], data_dir: str | os.PathLike[str] | None
) -> np.ndarray | None:
    """The ``top_losses`` test images, loaded from its dataset as the evaluation did.

    ``None`` when the evaluation was not of the MNIST test set (arrays passed
    to :func:`mnist_cnn.training.train`) or kept no images.
    """
    data = evaluation.get("data") or {}
    losses = evaluation.get("top_losses") or []
    if data.get("split") != "test" or data.get("source") == "arrays" or not losses:
        return None
    from ..data import datasets

    dataset = data.get("dataset", "mnist")
    _, (x_test, _) = datasets.load_dataset(
        dataset, data_dir or _recorded_dir(data.get("data_dir"))
    )
    return x_test[[item["index"] for item in losses]]


def _recorded_dir(path: str | None) -> str | None:
    """A data folder a run recorded, if it is on this machine (else ``None``: search)."""
    return path if path and Path(path).is_dir() else None


def _environment_rows(metrics: Mapping[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in (metrics.get("versions") or {}).items():
        rows.append((key, value))
    cpu = metrics.get("cpu") or {}
    if cpu:
        rows.append(("cpu", f"{cpu.get('model')} ({cpu.get('machine')})"))
        rows.append(("cpus", f"{cpu.get('usable_cpus')} usable of {cpu.get('logical_cpus')}"))
        rows.append(("cpu features", " ".join(cpu.get("features") or []) or "–"))
    for key in ("precision", "steps_per_execution"):
        if key in metrics:
            rows.append((key, metrics[key]))
    return rows


def _timing_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    per_epoch = metrics.get("seconds_per_epoch")
    if per_epoch:
        rows.append(("seconds per epoch", ", ".join(f"{s:.1f}" for s in per_epoch)))
        rows.append(("median s/epoch", f"{float(np.median(per_epoch)):.1f}"))
    if metrics.get("train_seconds") is not None:
        rows.append(("training time", f"{metrics['train_seconds']:.1f} s"))
    if metrics.get("train_images_per_second") is not None:
        rows.append(("images/s (training)", f"{metrics['train_images_per_second']:,.0f}"))
    if metrics.get("peak_rss_mb") is not None:
        rows.append(("peak memory (RSS)", f"{metrics['peak_rss_mb']:,.0f} MiB"))
    for key in ("n_train", "n_validation", "n_test"):
        if metrics.get(key) is not None:
            rows.append((key.replace("_", " "), f"{metrics[key]:,}"))
    return rows


def _handwriting_rows(handwriting: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not handwriting:
        return None
    variants = [
        {"name": name, **values} for name, values in (handwriting.get("variants") or {}).items()
    ]
    numbers = handwriting.get("numbers") or {}
    readers = [
        {"name": name.replace("_", " "), **values}
        for name, values in numbers.items()
        if isinstance(values, dict)
    ]
    return {
        "model": handwriting.get("model"),
        "date": handwriting.get("date"),
        "per_variant": handwriting.get("digits_per_variant"),
        "clean": handwriting.get("clean_mnist_accuracy"),
        "variants": variants,
        "numbers_count": numbers.get("count"),
        "readers": readers,
    }


def run_context(
    run_dir: Path,
    *,
    evaluation: Mapping[str, Any],
    gallery_images: np.ndarray | None = None,
    handwriting: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """Everything ``report.html`` shows for the run in ``run_dir``."""
    config = read_json(run_dir / "config.json") or {}
    metrics = read_json(run_dir / "metrics.json") or {}
    history = read_json(run_dir / "history.json") or {}
    curves = None
    if history.get("loss") and (history.get("accuracy") or history.get("acc")):
        curves = figure_uri(plots.learning_curves_figure(history))
    calibration = evaluation.get("calibration") or {}
    reliability = None
    if calibration.get("bins"):
        reliability = figure_uri(plots.reliability_figure(calibration["bins"], calibration["ece"]))
    per_class = [
        {"digit": digit, **scores} for digit, scores in (evaluation.get("per_class") or {}).items()
    ]
    return {
        "title": title or run_dir.resolve().name,
        "model_name": config.get("model", "?"),
        "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "config": list(config.items()),
        "environment": _environment_rows(metrics),
        "timing": _timing_rows(metrics),
        "metrics": metrics,
        "curves": curves,
        "evaluation": evaluation,
        "per_class": per_class,
        "confusion": _confusion_cells(evaluation.get("confusion_matrix") or []),
        "reliability": reliability,
        "gallery": _gallery(evaluation, gallery_images),
        "handwriting": _handwriting_rows(handwriting),
    }


def write_report(
    run: str | os.PathLike[str] | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    gallery_images: np.ndarray | None = None,
    handwriting: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
    reevaluate: bool = False,
    title: str | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """Write a run's ``report.html`` (or a cross-validation run's page).

    When the run has no ``evaluation.json`` with the report's fields (runs
    made before it existed), or ``reevaluate`` is set, the model is evaluated
    first (:func:`mnist_cnn.evaluation.evaluator.evaluate`) into the run's ``evaluation.json``.

    Args:
        run: A run directory made by ``mnist-cnn train`` or ``mnist-cnn cv``;
            ``None`` means ``runs/latest``.
        out: The HTML file to write; default ``report.html`` in the run.
        gallery_images: The images of ``evaluation.json``'s ``top_losses``, in
            that order (uint8 or float in [0, 1], 28x28). Default: read from
            the MNIST test set.
        handwriting: A ``benchmarks/bench_handwriting.py`` result to include;
            default: the run's ``handwriting.json`` if it has one.
        data_dir: MNIST folder, for evaluating and for the gallery images.
        reevaluate: Evaluate again even if ``evaluation.json`` is complete.
        title: The page's heading; default: the run directory's name.
        runs_dir: Where to find ``latest`` when ``run`` is ``None``
            (default ``$MNIST_CNN_RUNS``, else ``runs``).

    Returns:
        The path of the written page.

    Raises:
        ModelError: the run directory or one of its files is missing or damaged.
        MnistCnnError: ``handwriting`` names no file.
    """
    run_dir = resolve_run_dir(run, runs_dir)
    if (run_dir / CV_FILE).is_file():
        return write_cv_report(run_dir, out=out)
    stress = read_json(Path(handwriting)) if handwriting else read_json(run_dir / HANDWRITING_FILE)
    if handwriting and stress is None:
        raise MnistCnnError(
            f"no handwriting results at {handwriting}; "
            "benchmarks/bench_handwriting.py writes them to benchmarks/results/"
        )
    config = read_json(run_dir / "config.json") or {}
    evaluation = read_json(run_dir / EVALUATION_FILE)
    if reevaluate or not evaluation or "calibration" not in evaluation:
        from .evaluator import evaluate

        evaluation = evaluate(
            run_dir,
            data_dir=data_dir or _recorded_dir(config.get("data_dir")),
            limit=config.get("test_limit"),
            out=run_dir / EVALUATION_FILE,
        )
        gallery_images = None
    if gallery_images is None:
        gallery_images = _gallery_images(
            evaluation, data_dir or _recorded_dir(config.get("data_dir"))
        )
    context = run_context(
        run_dir,
        evaluation=evaluation,
        gallery_images=gallery_images,
        handwriting=stress,
        title=title,
    )
    target = Path(out) if out is not None else run_dir / REPORT_FILE
    atomic_write_text(target, render("report.html", **context))
    return target


def write_cv_report(cv_dir: str | os.PathLike[str], *, out: str | os.PathLike[str] | None = None):
    """Write the cv run's ``report.html``: per-fold table, mean ± std, box/strip plot.

    Returns:
        The path of the page.
    """
    import datetime as dt

    path = Path(cv_dir)
    cv = read_json(path / CV_FILE)
    if not isinstance(cv, dict) or cv.get("kind") != "cv":
        raise ModelError(f"{path} is not a cv run directory (no {CV_FILE} made by 'mnist-cnn cv')")
    results = cv.get("fold_results") or []
    values = {"val_accuracy": [r["val_accuracy"] for r in results]}
    if any(r.get("test_accuracy") is not None for r in results):
        values["test_accuracy"] = [r["test_accuracy"] for r in results]
    values["val_loss"] = [r["val_loss"] for r in results]
    page = render(
        "cv.html",
        title=path.resolve().name,
        generated=dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        cv=cv,
        config=list((cv.get("config") or {}).items()),
        plot=figure_uri(plots.cv_figure(values)) if results else None,
    )
    target = Path(out) if out is not None else path / REPORT_FILE
    atomic_write_text(target, page)
    return target


def render_compare(comparison: Mapping[str, Any]) -> str:
    """The HTML page of ``mnist-cnn compare --html`` (see :mod:`mnist_cnn.evaluation.compare`)."""
    from .compare import format_value

    return render(
        "compare.html",
        title="Comparison of " + ", ".join(comparison["runs"]),
        generated=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        runs=list(zip(comparison["runs"], comparison["paths"], strict=True)),
        differences=[
            (key, [format_value(key, v) for v in values])
            for key, values in comparison["config_differences"].items()
        ],
        same=[(key, format_value(key, v)) for key, v in comparison["same_config"].items()],
        metrics=[
            (name, [format_value(name, v) for v in values])
            for name, values in comparison["metrics"].items()
        ],
    )
