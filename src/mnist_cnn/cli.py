"""The ``mnist-cnn`` command: one subcommand per verb, each a thin call into the library.

Errors meant for the user (:class:`~mnist_cnn.errors.MnistCnnError`) are
printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import ImageError, MnistCnnError

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


def _import_keras_quietly() -> None:
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


# ---------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace) -> int:
    from .training import train

    config = train_config_from_args(args)
    result = train(config, verbose=args.verbose, report=not args.no_report)
    m = result.metrics
    per_epoch = ", ".join(f"{s:.1f}" for s in m["seconds_per_epoch"])
    print(f"Seconds per epoch: {per_epoch}")
    print(f"Run: {result.run_dir}  (also {Path(config.out_dir) / 'latest'})")
    if (result.run_dir / "report.html").is_file():
        print(f"Report: {result.run_dir / 'report.html'}")
    return 0


# ---------------------------------------------------------------- evaluate
def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import evaluate

    result = evaluate(
        args.model_or_run,
        data_dir=args.data_dir,
        limit=args.limit,
        out=args.out,
        runs_dir=args.runs_dir,
        dataset=args.dataset,
    )
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model: {result['model']}")
    rows = [
        ("test_loss", f"{result['test_loss']:.4f}"),
        ("test_accuracy", f"{result['test_accuracy']:.4f}"),
        ("n_test", str(result["n_test"])),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"{'metric':<{width}}  value")
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(
        "per-digit accuracy: "
        + "  ".join(
            f"{d}:{acc:.3f}" for d, acc in result["per_class_accuracy"].items() if acc is not None
        )
    )
    if result["written_to"]:
        print(f"wrote {result['written_to']}")
    return 0


# ---------------------------------------------------------------- report / cv / compare
def cmd_report(args: argparse.Namespace) -> int:
    from .report import write_report

    path = write_report(
        args.run,
        out=args.out,
        handwriting=args.handwriting,
        data_dir=args.data_dir,
        reevaluate=args.evaluate,
        runs_dir=args.runs_dir,
    )
    print(f"wrote {path}")
    return 0


class _StoreGiven(argparse._StoreAction):
    """``store``, also noting that the flag was given (``args._given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _note_given(namespace, self.dest)


class _BooleanGiven(argparse.BooleanOptionalAction):
    """``--flag/--no-flag``, also noting that it was given (``args._given``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        super().__call__(parser, namespace, values, option_string)
        _note_given(namespace, self.dest)


def _note_given(namespace: argparse.Namespace, dest: str) -> None:
    given = set(getattr(namespace, "_given", ()))
    given.add(dest)
    namespace._given = given


def add_config_arguments(
    parser: argparse.ArgumentParser, config_class: type | None = None
) -> None:
    """One flag per field of ``config_class`` (default :class:`~mnist_cnn.config.TrainConfig`).

    The flag is ``--field-name`` (or the field's ``metadata["flag"]``), its type,
    default and help come from the field; ``bool`` fields get ``--name/--no-name``.
    Each flag stores into ``args.<field name>`` and notes, in ``args._given``, that
    it was given, so :func:`train_config_from_args` can apply it over a ``--config``.
    """
    import dataclasses
    import typing

    from .config import TrainConfig

    config_class = config_class or TrainConfig
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        meta = field.metadata
        flags = meta.get("flag", "--" + field.name.replace("_", "-"))
        flags = (flags,) if isinstance(flags, str) else tuple(flags)
        default = field.default
        if default is dataclasses.MISSING:
            default = field.default_factory()
        kwargs: dict = {"dest": field.name, "default": default, "help": meta.get("help")}
        kind = hints[field.name]
        if kind is bool:
            parser.add_argument(*flags, action=_BooleanGiven, **kwargs)
            continue
        # int | None, str | None: the flag takes the non-None type.
        args_of = [a for a in typing.get_args(kind) if a is not type(None)]
        kwargs["type"] = args_of[0] if args_of else kind
        choices = meta.get("choices")
        if callable(choices):
            choices = choices()
        if choices is not None:
            kwargs["choices"] = tuple(choices)
        if "metavar" in meta:
            kwargs["metavar"] = meta["metavar"]
        if default is not None and kwargs["help"] is not None:
            kwargs["help"] += " (default: %(default)s)"
        parser.add_argument(*flags, action=_StoreGiven, **kwargs)


def train_config_from_args(args: argparse.Namespace):
    """The :class:`~mnist_cnn.config.TrainConfig` of the train flags (``train``, ``cv``).

    Every config field is read from the flag of the same name (``--out`` is
    ``out_dir``), so a field added to the config reaches ``train`` and ``cv``
    without a change here. With ``--config FILE`` (a run's ``config.json``), the
    file's settings are the starting point and only the flags given override them.
    """
    import dataclasses

    from .config import TrainConfig

    names = [f.name for f in dataclasses.fields(TrainConfig) if hasattr(args, f.name)]
    if getattr(args, "config", None):
        # The saved run's settings, with only the flags given on this command over them.
        base = TrainConfig.load(args.config)
        given = getattr(args, "_given", set())
        recorded = base.data_dir
        moved = recorded is not None and not Path(recorded).is_dir()
        if moved and "data_dir" not in given and base.dataset != "idx":
            # Another machine: the checksums make any copy of MNIST or
            # Fashion-MNIST the same data, so search the usual places.
            print(
                f"note: {recorded} (the config's data_dir) is not here; "
                "looking for the data in the usual places",
                file=sys.stderr,
            )
            base = base.replace(data_dir=None)
        return base.replace(**{name: getattr(args, name) for name in names if name in given})
    return TrainConfig(**{name: getattr(args, name) for name in names})


def cmd_cv(args: argparse.Namespace) -> int:
    from . import crossval

    if args.resume:
        result = crossval.resume_cv(args.resume, verbose=args.verbose, report=not args.no_report)
    else:
        result = crossval.cross_validate(
            train_config_from_args(args),
            folds=args.folds,
            test=args.test,
            verbose=args.verbose,
            report=not args.no_report,
        )
    print(crossval.format_summary(result.summary))
    print(f"cv run: {result.cv_dir}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from . import compare

    comparison = compare.compare_runs(args.runs)
    if args.html:
        from .fileio import atomic_write_text
        from .report import render_compare

        atomic_write_text(args.html, render_compare(comparison))
    if args.json:
        print(json.dumps(comparison, indent=2))
    else:
        print(compare.format_table(comparison))
    if args.html:
        print(f"wrote {args.html}", file=sys.stderr)
    return 0


# ---------------------------------------------------------------- predict / read
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


def _open_inputs(inputs: list[str], runs_dir: str | None = None):
    """``[MODEL_OR_RUN] IMAGE...``: the predictor, the image files, and the arguments
    that matched no file (each already reported on stderr).

    The predictor is ``None`` when there is no image to work on.
    """
    model_or_run, patterns = _split_model_and_images(inputs)
    paths, problems = expand_inputs(patterns)
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not paths:
        if not problems:
            print("error: no images given", file=sys.stderr)
        return None, paths, problems
    return _load_predictor(model_or_run, runs_dir), paths, problems


def _load_predictor(model_or_run: str | None, runs_dir: str | None = None):
    from .inference import Predictor

    predictor = Predictor.load(model_or_run, runs_dir=runs_dir)
    print(f"model: {predictor.path}", file=sys.stderr)
    return predictor


def cmd_predict(args: argparse.Namespace) -> int:
    from . import preprocess

    predictor, paths, problems = _open_inputs(args.inputs, args.runs_dir)
    if predictor is None:
        return EXIT_ERROR

    good: list[tuple[Path, object, object]] = []
    several: dict[Path, int] = {}
    failed = len(problems)
    for path in paths:
        try:
            if args.raw:
                image28 = preprocess.to_mnist(path, assume_mnist=True)
                original = image28
            else:
                result = preprocess.preprocess(path, classify=predictor.predict_proba)
                image28, original = result.image28, result.gray
                if result.digits_side_by_side > 1:
                    several[path] = result.digits_side_by_side
                    print(
                        f"warning: {path}: holds {result.digits_side_by_side} digits side by "
                        "side; predict reads one digit (the answer below is for the largest). "
                        f"Read the number with: mnist-cnn read {path}",
                        file=sys.stderr,
                    )
        except ImageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        good.append((path, original, image28))

    if good:
        import numpy as np

        from .inference import Prediction

        probs = predictor.predict_proba(np.stack([g[2] for g in good]))
        for (path, _, _), p in zip(good, probs, strict=True):
            pred = Prediction.from_probabilities(p)
            uncertain = pred.probability < args.min_confidence or path in several
            if args.json:
                answer = {
                    "file": str(path),
                    **pred.to_dict(args.min_confidence, predictor.class_names),
                }
                if path in several:
                    answer.update(uncertain=True, digits_side_by_side=several[path])
                print(json.dumps(answer))
            else:
                top3 = "  ".join(f"{d}:{q:.3f}" for d, q in pred.top3)
                flag = "  (uncertain)" if uncertain else ""
                if path in several:
                    flag = f"  (uncertain: {several[path]} digits, use read)"
                name = f" ({predictor.class_names[pred.digit]})" if predictor.class_names else ""
                print(f"{path}: {pred.digit}{name}  p={pred.probability:.3f}  top3 {top3}{flag}")
        if args.preview:
            pairs = [
                (f"{path.name}: {int(p.argmax())}", original, image28)
                for (path, original, image28), p in zip(good, probs, strict=True)
            ]
            preprocess.save_preview(pairs, args.preview)
            print(f"preview: {args.preview}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0


def cmd_read(args: argparse.Namespace) -> int:
    from . import reading

    predictor, paths, problems = _open_inputs(args.inputs, args.runs_dir)
    if predictor is None:
        return EXIT_ERROR
    verify = None
    if not args.no_verifier:
        from .verifier import Verifier

        verify = Verifier.load()
    failed = len(problems)
    for index, path in enumerate(paths):
        try:
            result = reading.read_number(path, predictor.predict_proba, verify)
        except ImageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed += 1
            continue
        low = [i for i, d in enumerate(result.digits) if d[1] < args.min_confidence]
        if args.json:
            print(json.dumps({"file": str(path), **result.to_dict(args.min_confidence)}))
        else:
            probs = " ".join(f"{d[0]}:{d[1]:.2f}" for d in result.digits)
            flag = "  (uncertain)" if low else ""
            print(f"{path}: {result.text}  [{probs}]{flag}")
        if args.preview:
            target = Path(args.preview)
            if len(paths) > 1:
                target = target.with_name(f"{target.stem}-{index + 1}{target.suffix or '.png'}")
            reading.save_boxes_preview(path, result, target)
            print(f"preview: {target}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else 0


def _split_model_and_images(inputs: list[str]) -> tuple[str | None, list[str]]:
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


# ---------------------------------------------------------------- samples / env
def cmd_samples(args: argparse.Namespace) -> int:
    from . import datasets, plots

    (x_train, y_train), (x_test, y_test) = datasets.load_dataset(args.dataset, args.data_dir)
    x, y = (x_train, y_train) if args.split == "train" else (x_test, y_test)
    start = args.start
    if not 0 <= start <= len(x) - 9:
        raise MnistCnnError(f"--start must be between 0 and {len(x) - 9}, got {start}")
    plots.save_samples(
        x[start : start + 9],
        y[start : start + 9],
        args.out,
        class_names=datasets.class_names(args.dataset),
    )
    print(f"labels: {' '.join(str(int(v)) for v in y[start : start + 9])}")
    print(f"wrote {args.out}")
    return 0


def cmd_env(args: argparse.Namespace) -> int:
    from . import envinfo

    report = envinfo.report()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    versions = report["versions"]
    cpu = report["cpu"]
    print(f"platform      {report['platform']}")
    for key, value in versions.items():
        print(f"{key:<13} {value}")
    print(f"cpu           {cpu['model']} ({cpu['machine']})")
    print(f"cpus          {cpu['usable_cpus']} usable of {cpu['logical_cpus']}")
    print(f"cpu features  {' '.join(cpu['features']) or '-'}")
    print(f"memory        {report['memory_gib']} GiB")
    return 0


# ---------------------------------------------------------------- export / serve
def cmd_export(args: argparse.Namespace) -> int:
    from .export import export

    result = export(
        args.model_or_run,
        args.out,
        format=args.format,
        parity_images=0 if args.no_check else args.check_images,
        data_dir=args.data_dir,
        runs_dir=args.runs_dir,
    )
    if args.json:
        print(json.dumps(result.to_dict()))
        return 0
    print(f"model: {result.source}", file=sys.stderr)
    check = (
        f"max |difference| from Keras {result.max_abs_diff:.2g} on "
        f"{result.parity_images:,} MNIST test images"
        if result.max_abs_diff is not None
        else "not checked"
    )
    print(f"wrote {result.path} ({result.format}, {result.kind}; {check})")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import ServeConfig, run

    if args.runtime == "keras":
        _import_keras_quietly()
    config = ServeConfig(
        model=args.model_or_run,
        verifier=None if args.no_verifier else args.verifier,
        use_verifier=not args.no_verifier,
        runtime=args.runtime,
        host=args.host,
        port=args.port,
        max_body_bytes=args.max_body_mb * 1024 * 1024,
        min_confidence=args.min_confidence,
        cache_dir=args.cache_dir,
        workers=args.workers,
        runs_dir=args.runs_dir,
    )
    return run(config)


# ---------------------------------------------------------------- parser
def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``train`` and ``cv``: one per config field, then the run's own."""
    add_config_arguments(p)
    p.add_argument(
        "--config",
        default=None,
        metavar="JSON",
        help="start from a run's config.json (rerun it); flags given override its values",
    )
    p.add_argument(
        "--verbose",
        default="auto",
        type=lambda v: v if v == "auto" else int(v),
        help="Keras progress: auto, 0, 1 (bar) or 2 (line per epoch)",
    )
    p.add_argument(
        "--no-report", action="store_true", help="do not write report.html into the run"
    )


def _add_dataset(p: argparse.ArgumentParser, default_text: str, default=None) -> None:
    from .datasets import DATASETS

    p.add_argument(
        "--dataset",
        choices=tuple(DATASETS),
        default=default,
        help=f"the dataset of --data-dir (default: {default_text})",
    )


def _add_runs_dir(p: argparse.ArgumentParser) -> None:
    """``--runs-dir``, for the verbs that find a run by default (``RUNS_DIR/latest``)."""
    p.add_argument(
        "--runs-dir",
        default=None,
        metavar="DIR",
        help="folder of runs, for the default RUNS_DIR/latest "
        "(default: $MNIST_CNN_RUNS, else runs)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mnist-cnn", description="Handwritten digit recognition with a Keras CNN."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train a model (the tutorial's defaults) and save a run")
    _add_train_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="test loss and accuracy of a model or run")
    p.add_argument("model_or_run", nargs="?", default=None, metavar="MODEL_OR_RUN")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--limit", type=int, default=None, help="only the first N test images")
    p.add_argument("--out", default=None, help="where to write evaluation.json")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_dataset(p, "the run's own (its config.json), else mnist")
    _add_runs_dir(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "report",
        help="write a run's self-contained report.html",
        description="Write report.html into a run (or a cv run): config, environment, "
        "learning curves, test metrics with a 95%% interval, per-digit scores, confusion "
        "matrix, the worst mistakes, calibration. The numbers come from evaluation.json "
        "(evaluated first when the run has none).",
    )
    p.add_argument("run", nargs="?", default=None, metavar="RUN", help="default: RUNS_DIR/latest")
    p.add_argument("--out", default=None, help="HTML file to write (default: RUN/report.html)")
    p.add_argument(
        "--handwriting",
        default=None,
        metavar="JSON",
        help="include a benchmarks/bench_handwriting.py result "
        "(default: the run's handwriting.json, if any)",
    )
    p.add_argument("--evaluate", action="store_true", help="evaluate again first")
    p.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    _add_runs_dir(p)
    p.set_defaults(func=cmd_report)

    # cv takes every train flag (the same TrainConfig); --validation-split is
    # unused there, each fold's held-out part is its validation set.
    p = sub.add_parser(
        "cv",
        help="stratified k-fold cross-validation with the train flags",
        description="Stratified k-fold cross-validation on the training images (the first "
        "--train-limit of them, if given): each fold trains with the same config on the "
        "other folds and validates on its own. Writes a cv run directory with cv.json and "
        "report.html. --validation-split is not used.",
    )
    _add_train_arguments(p)
    p.add_argument("--folds", type=int, default=5, help="number of folds, 2-10 (default 5)")
    p.add_argument(
        "--test",
        action="store_true",
        help="also evaluate each fold's model and their mean-probability ensemble on the test set",
    )
    p.add_argument(
        "--resume",
        default=None,
        metavar="DIR",
        help="finish an interrupted cv run (its own settings; other flags are ignored)",
    )
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser(
        "compare",
        help="compare runs: the config keys that differ and the metrics",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run or cv run directories")
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")
    p.add_argument("--html", default=None, metavar="FILE", help="also write an HTML page")
    p.set_defaults(func=cmd_compare)

    for name, func, helptext in (
        ("predict", cmd_predict, "classify single-digit images"),
        ("read", cmd_read, "read a multi-digit number from each image"),
    ):
        p = sub.add_parser(
            name,
            help=helptext,
            description=helptext + ". Without MODEL_OR_RUN, "
            "uses RUNS_DIR/latest (see --runs-dir), else the packaged default model "
            "('default').",
        )
        p.add_argument(
            "inputs",
            nargs="+",
            metavar="[MODEL_OR_RUN] IMAGE",
            help="optional model (.keras, run directory or 'default'), "
            "then image files, folders or globs",
        )
        p.add_argument(
            "--json", action="store_true", help="print JSON Lines, one object per image"
        )
        p.add_argument("--preview", default=None, metavar="PNG", help="save what the model saw")
        p.add_argument(
            "--min-confidence",
            type=float,
            default=0.6,
            help="mark answers below this probability as uncertain (default 0.6)",
        )
        if name == "predict":
            p.add_argument(
                "--raw",
                action="store_true",
                help="images are already 28x28 MNIST-style (white on black)",
            )
        else:
            p.add_argument(
                "--no-verifier",
                action="store_true",
                help="split and merge digits by the classifier and geometry alone, "
                "without the packaged segment verifier",
            )
        _add_runs_dir(p)
        p.set_defaults(func=func)

    p = sub.add_parser("samples", help="draw the 3x3 grid of MNIST samples")
    p.add_argument("--out", default="samples.png")
    p.add_argument("--split", choices=("train", "test"), default="train")
    p.add_argument("--start", type=int, default=0, help="index of the first image")
    p.add_argument("--data-dir", default=None)
    _add_dataset(p, "mnist", default="mnist")
    p.set_defaults(func=cmd_samples)

    p = sub.add_parser(
        "export",
        help="export a model for other runtimes (ONNX, SavedModel, LiteRT), checked against Keras",
        description="Export a model (default: runs/latest, else the packaged one; "
        "'default' for the packaged model, 'verifier' for the segment verifier) with "
        "input 'image' float32 [N,28,28,1] and output 'probabilities'.",
    )
    p.add_argument("model_or_run", nargs="?", default=None, metavar="MODEL_OR_RUN")
    p.add_argument("--format", choices=("onnx", "saved_model", "litert"), default="onnx")
    p.add_argument(
        "--out", required=True, help="the .onnx file, SavedModel folder or .tflite file to write"
    )
    p.add_argument(
        "--check-images",
        type=int,
        default=1000,
        metavar="N",
        help="compare with the Keras model on the first N MNIST test images (default 1000)",
    )
    p.add_argument("--no-check", action="store_true", help="skip the comparison with Keras")
    p.add_argument("--data-dir", default=None, help="folder with the four MNIST IDX files")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_runs_dir(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "serve",
        help="an HTTP API and a page to draw digits on (needs mnist-cnn[serve])",
        description="Serve /v1/predict, /v1/read and a drawing page at / through "
        "onnxruntime. MODEL_OR_RUN may be an exported .onnx file; a .keras model is "
        "exported once into a cache folder.",
    )
    p.add_argument("model_or_run", nargs="?", default=None, metavar="MODEL_OR_RUN")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--runtime",
        choices=("onnx", "keras"),
        default="onnx",
        help="onnx (default: no TensorFlow in the server) or keras",
    )
    p.add_argument(
        "--verifier", default=None, help="segment verifier (.onnx or .keras; default packaged)"
    )
    p.add_argument("--no-verifier", action="store_true", help="read numbers without it")
    p.add_argument(
        "--max-body-mb", type=int, default=10, help="largest request body in MiB (default 10)"
    )
    p.add_argument("--min-confidence", type=float, default=0.6)
    p.add_argument("--cache-dir", default=None, help="where exported ONNX models are cached")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (preprocessing holds the GIL: one process uses one core)",
    )
    _add_runs_dir(p)
    p.set_defaults(func=cmd_serve, needs_keras=False)

    p = sub.add_parser("env", help="versions and CPU facts, for bug reports")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_env)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # Images may come before and after options ("predict a.png --json b.png"):
    # argparse stops a positional list at the first option, so collect the rest.
    args, extra = parser.parse_known_args(argv)
    if extra:
        if getattr(args, "inputs", None) is not None and not any(e.startswith("-") for e in extra):
            args.inputs += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        if args.command != "env" and getattr(args, "needs_keras", True):
            _import_keras_quietly()
        return args.func(args)
    except MnistCnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
