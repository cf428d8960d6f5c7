"""Exporting a model for other runtimes: ONNX, TensorFlow SavedModel and LiteRT.

All go through Keras 3's export API (``model.export`` for ONNX, which uses
``tf2onnx`` on the TensorFlow backend; ``keras.export.ExportArchive`` for
SavedModel, which TensorFlow's LiteRT converter then turns into a ``.tflite``
file, as Keras's own ``format="litert"`` does, but keeping the names) with
stable names: the input is ``image``, float32
``[N, 28, 28, 1]`` with a dynamic batch (``[N, 28, 28, 2]`` for the segment
verifier), the output ``probabilities``. An ONNX file also carries, in its
metadata (``metadata_props``), the class order and the preprocessing its
input expects, so another program can use it without this package.

Every export is checked against the Keras model it came from on 1,000 MNIST
test images (maximum absolute difference at most :data:`PARITY_TOLERANCE`)
before it is moved into place; a file that fails the check is never written.

Needs the ``export`` extra (``pip install 'mnist-cnn[export]'``) for ONNX.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from ..errors import ExportError, ModelError
from ..fileio import atomic_path

__all__ = [
    "FORMATS",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "PARITY_TOLERANCE",
    "VERIFIER_NAME",
    "ExportResult",
    "export",
    "export_keras_model",
    "litert_outputs",
    "parity_inputs",
    "resolve_export_source",
]

FORMATS = ("onnx", "saved_model", "litert")
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"
PARITY_TOLERANCE = 1e-5
PARITY_IMAGES = 1000
# ``mnist-cnn export verifier`` names the packaged segment verifier.
VERIFIER_NAME = "verifier"
# tf2onnx's default opset; onnxruntime >= 1.14 runs it.
OPSET = 15

CLASSIFIER_PREPROCESSING = (
    "float32 [N,28,28,1] in [0,1], white digit on black, MNIST-normalised: "
    "ink found and thresholded, fitted into 20x20 keeping its aspect ratio, "
    "padded to 28x28 and centred by centre of mass "
    "(mnist_cnn.preprocess.preprocess(image).image28)"
)
VERIFIER_PREPROCESSING = (
    "float32 [N,28,28,2] in [0,1]: channel 0 a candidate piece normalised like a digit "
    "(as the classifier sees it), channel 1 the piece in context (1.6 line heights "
    "square, its own ink at full strength and its neighbours' at half); "
    "built by mnist_cnn.reading"
)


@dataclass(frozen=True)
class ExportResult:
    """What :func:`export` wrote.

    Attributes:
        path: The ONNX file or SavedModel folder.
        format: ``"onnx"``, ``"saved_model"`` or ``"litert"``.
        kind: ``"classifier"`` (digits, 10 classes) or ``"verifier"`` (one
            probability that a piece is one whole digit).
        source: The ``.keras`` file exported.
        max_abs_diff: Largest absolute difference from the Keras model on
            ``parity_images`` inputs (``None`` when the check was skipped).
        parity_images: How many inputs the parity check used.
    """

    path: Path
    format: str
    kind: str
    source: Path
    max_abs_diff: float | None
    parity_images: int

    def to_dict(self) -> dict:
        return {
            "path": str(self.path),
            "format": self.format,
            "kind": self.kind,
            "source": str(self.source),
            "max_abs_diff": self.max_abs_diff,
            "parity_images": self.parity_images,
        }


def resolve_export_source(
    model_or_run: str | os.PathLike[str] | None,
    *,
    runs_dir: str | os.PathLike[str] | None = None,
) -> Path:
    """The ``.keras`` file to export.

    Args:
        model_or_run: ``"verifier"`` for the packaged segment verifier, or
            anything :func:`mnist_cnn.inference.predictor.resolve_model_path` accepts
            (``None``, ``"default"``, a ``.keras`` file or a run directory).
        runs_dir: Where to find ``latest`` when ``model_or_run`` is ``None``.

    Raises:
        ModelError: Nothing usable was found.
    """
    from .predictor import resolve_model_path

    if model_or_run is not None and str(model_or_run) == VERIFIER_NAME:
        from ..models.verifier import default_verifier_path

        path = default_verifier_path()
        if not path.is_file():
            raise ModelError(f"the packaged segment verifier is missing from {path}")
        return path
    return resolve_model_path(model_or_run, runs_dir=runs_dir)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _kind(model, path: Path) -> str:
    shape = tuple(model.input_shape[1:])
    if shape == (28, 28, 1):
        return "classifier"
    if shape == (28, 28, 2):
        return "verifier"
    raise ModelError(
        f"{path} takes inputs of shape {shape}; only digit classifiers (28, 28, 1) "
        "and segment verifiers (28, 28, 2) can be exported"
    )


def parity_inputs(kind: str, count: int = PARITY_IMAGES, data_dir=None) -> np.ndarray:
    """The inputs an export is checked on: the first ``count`` MNIST test images.

    For a verifier, each input pairs a test image with the next one as its
    "context" channel, so both channels hold real strokes.

    Returns:
        float32 ``(count, 28, 28, 1)`` or ``(count, 28, 28, 2)`` in [0, 1].
    """
    from ..data import datasets

    _, (x_test, _) = datasets.load_mnist(data_dir)
    x = x_test[: count + 1].astype(np.float32) / 255.0
    if kind == "verifier":
        return np.stack([x[:count], 0.5 * x[1 : count + 1]], axis=-1)
    return x[:count, ..., None]


def _metadata(kind: str, source: Path, model_name: str) -> dict[str, str]:
    try:
        version = metadata.version("mnist-cnn")
    except metadata.PackageNotFoundError:
        version = "unknown"
    props = {
        "mnist_cnn.kind": kind,
        "mnist_cnn.version": version,
        "mnist_cnn.source": source.name,
        "mnist_cnn.source_sha256": file_sha256(source),
        "mnist_cnn.model_name": model_name,
        "mnist_cnn.input": INPUT_NAME,
        "mnist_cnn.output": OUTPUT_NAME,
    }
    if kind == "classifier":
        props["mnist_cnn.classes"] = json.dumps([str(d) for d in range(10)])
        props["mnist_cnn.output_meaning"] = (
            "softmax probabilities [N,10]; index i is the probability of digit i"
        )
        props["mnist_cnn.preprocessing"] = CLASSIFIER_PREPROCESSING
    else:
        props["mnist_cnn.classes"] = json.dumps(["whole digit"])
        props["mnist_cnn.output_meaning"] = (
            "[N,1] probability that each piece is one whole digit "
            "(neither a fragment nor several digits)"
        )
        props["mnist_cnn.preprocessing"] = VERIFIER_PREPROCESSING
        sidecar = source.with_suffix(".json")
        if sidecar.is_file():
            weights = json.loads(sidecar.read_text(encoding="utf-8")).get("score_weights")
            if weights:
                props["mnist_cnn.score_weights"] = json.dumps(weights)
    return props


def _input_spec(kind: str):
    import keras

    channels = 1 if kind == "classifier" else 2
    return keras.InputSpec(name=INPUT_NAME, shape=(None, 28, 28, channels), dtype="float32")


def _rename_onnx(path: Path, props: dict[str, str], doc: str) -> None:
    """Give the graph its stable names (``image`` -> ``probabilities``, batch ``N``) and
    metadata, in place."""
    import onnx

    model = onnx.load(str(path))
    graph = model.graph
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ExportError(
            f"expected one input and one output, got {len(graph.input)} and {len(graph.output)}"
        )
    old_in, old_out = graph.input[0].name, graph.output[0].name
    for node in graph.node:
        node.input[:] = [
            INPUT_NAME if n == old_in else OUTPUT_NAME if n == old_out else n for n in node.input
        ]
        node.output[:] = [OUTPUT_NAME if n == old_out else n for n in node.output]
    graph.input[0].name = INPUT_NAME
    graph.output[0].name = OUTPUT_NAME
    for value in (graph.input[0], graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    del model.metadata_props[:]
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.doc_string = doc
    graph.name = props["mnist_cnn.model_name"]
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _onnx_outputs(path: Path, inputs: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate(
        [
            session.run([OUTPUT_NAME], {INPUT_NAME: inputs[i : i + 256]})[0]
            for i in range(0, len(inputs), 256)
        ]
    )


def _saved_model_outputs(path: Path, inputs: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    return np.concatenate(
        [
            loaded.serve(tf.constant(inputs[i : i + 256]))[OUTPUT_NAME].numpy()
            for i in range(0, len(inputs), 256)
        ]
    )


def _check_parity(outputs: np.ndarray, expected: np.ndarray, target: Path) -> float:
    outputs = outputs.reshape(expected.shape)
    diff = float(np.max(np.abs(outputs - expected))) if len(expected) else 0.0
    if not diff <= PARITY_TOLERANCE:  # also catches NaN
        raise ExportError(
            f"the export of {target.name} differs from the Keras model by up to {diff:.3g} "
            f"(limit {PARITY_TOLERANCE:g}); nothing was written"
        )
    return diff


def export_keras_model(
    model,
    out: str | os.PathLike[str],
    *,
    format: str = "onnx",
    source: Path,
    parity: np.ndarray | None = None,
) -> ExportResult:
    """Export a loaded Keras model, check it, and move it into place atomically.

    Args:
        model: A Keras model taking float32 ``(N, 28, 28, 1)`` (classifier) or
            ``(N, 28, 28, 2)`` (verifier) inputs; float32 dtype policy.
        out: The ONNX file or SavedModel folder to write.
        format: One of :data:`FORMATS`.
        source: The ``.keras`` file it was loaded from (named in the metadata).
        parity: Inputs to compare the export and the Keras model on
            (``None`` skips the check).

    Raises:
        ExportError: The converter is not installed, conversion failed, or the
            export differs from the model by more than :data:`PARITY_TOLERANCE`.
    """
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of: {', '.join(FORMATS)}")
    kind = _kind(model, source)
    expected = None
    if parity is not None:
        from .predictor import compile_forward

        forward = compile_forward(model, tuple(model.input_shape[1:]))
        expected = np.concatenate(
            [forward(parity[i : i + 256]) for i in range(0, len(parity), 256)]
        )
    out = Path(out)
    if format == "onnx":
        _require_onnx_tools()
        with atomic_path(out) as tmp:
            try:
                model.export(
                    str(tmp), format="onnx", verbose=False, input_signature=[_input_spec(kind)]
                )
            except Exception as exc:  # converters raise many types
                raise ExportError(
                    f"cannot convert {source} to ONNX: {type(exc).__name__}: {exc}"
                ) from None
            props = _metadata(kind, source, model.name)
            doc = (
                f"mnist-cnn {kind} exported from {source.name}. Input '{INPUT_NAME}': "
                f"{props['mnist_cnn.preprocessing']}. Output '{OUTPUT_NAME}': "
                f"{props['mnist_cnn.output_meaning']}."
            )
            _rename_onnx(tmp, props, doc)
            diff = None
            if parity is not None:
                diff = _check_parity(_onnx_outputs(tmp, parity), expected, out)
    elif format == "litert":
        diff = _export_litert(model, out, kind, parity, expected, source)
    else:
        diff = _export_saved_model(model, out, kind, parity, expected)
    return ExportResult(
        path=out,
        format=format,
        kind=kind,
        source=source,
        max_abs_diff=diff,
        parity_images=0 if parity is None else len(parity),
    )


def _write_archive(model, folder: Path, kind: str, out: Path) -> None:
    """A SavedModel with one signature, ``serve``: ``image`` -> ``{"probabilities": ...}``."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name="serve",
        fn=lambda image: {OUTPUT_NAME: model(image, training=False)},
        input_signature=[_input_spec(kind)],
    )
    try:
        archive.write_out(str(folder), verbose=False)
    except Exception as exc:
        raise ExportError(
            f"cannot export a SavedModel to {out}: {type(exc).__name__}: {exc}"
        ) from None


def _export_litert(model, out: Path, kind: str, parity, expected, source: Path) -> float | None:
    """A LiteRT (TensorFlow Lite) flatbuffer with the signature ``serve``: input
    ``image``, output ``probabilities``, dynamic batch.

    Keras's ``model.export(format="litert")`` names the output ``output_0``; the same
    converter run on the SavedModel :func:`_write_archive` writes keeps the names.
    """
    try:
        import tensorflow as tf
    except ImportError:
        raise ExportError(
            "LiteRT export needs the TensorFlow backend (Keras converts through "
            "TensorFlow's LiteRT converter); it is not available with this install"
        ) from None
    if not hasattr(tf, "lite") or not hasattr(tf.lite, "TFLiteConverter"):
        raise ExportError(
            f"this TensorFlow ({tf.__version__}) has no LiteRT converter (tf.lite); "
            "export to onnx or saved_model instead"
        )
    staging = out.with_name(f".{out.name}.savedmodel-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _write_archive(model, staging, kind, out)
        try:
            converter = tf.lite.TFLiteConverter.from_saved_model(
                str(staging), signature_keys=["serve"]
            )
            flatbuffer = converter.convert()
        except Exception as exc:  # the converter raises many types
            raise ExportError(
                f"cannot convert {source} to LiteRT: {type(exc).__name__}: {exc}"
            ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    with atomic_path(out) as tmp:
        tmp.write_bytes(flatbuffer)
        diff = None
        if parity is not None:
            diff = _check_parity(litert_outputs(tmp, parity), expected, out)
    return diff


def litert_outputs(path: str | os.PathLike[str], inputs: np.ndarray) -> np.ndarray:
    """Run a ``.tflite`` file written by :func:`export` on float32 ``inputs``
    (TensorFlow's interpreter; the ``ai_edge_litert`` package's one when installed)."""
    import warnings

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        # TensorFlow's copy warns that it moved to ai_edge_litert; it still runs.
        warnings.simplefilter("ignore")
        interpreter = Interpreter(model_path=str(path))
    run = interpreter.get_signature_runner("serve")
    return np.concatenate(
        [run(**{INPUT_NAME: inputs[i : i + 256]})[OUTPUT_NAME] for i in range(0, len(inputs), 256)]
    )


def _export_saved_model(model, out: Path, kind: str, parity, expected) -> float | None:
    staging = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _write_archive(model, staging, kind, out)
        diff = None
        if parity is not None:
            diff = _check_parity(_saved_model_outputs(staging, parity), expected, out)
        if out.is_dir():
            shutil.rmtree(out)
        elif out.exists():
            out.unlink()
        os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return diff


def _require_onnx_tools() -> None:
    missing = []
    for module in ("tf2onnx", "onnx", "onnxruntime"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ExportError(
            f"ONNX export needs {', '.join(missing)}; install them with "
            "pip install 'mnist-cnn[export,serve]'"
        )


def export(
    model_or_run: str | os.PathLike[str] | None,
    out: str | os.PathLike[str],
    *,
    format: str = "onnx",
    parity_images: int = PARITY_IMAGES,
    data_dir: str | os.PathLike[str] | None = None,
    runs_dir: str | os.PathLike[str] | None = None,
) -> ExportResult:
    """Export a classifier or the segment verifier and check it against Keras.

    Args:
        model_or_run: ``None``/``"default"``/a ``.keras`` file/a run directory
            (see :func:`mnist_cnn.inference.predictor.resolve_model_path`), or
            ``"verifier"`` for the packaged segment verifier.
        out: The ONNX file or SavedModel folder to write (atomically).
        format: ``"onnx"``, ``"saved_model"`` or ``"litert"`` (a ``.tflite`` file).
        parity_images: How many MNIST test images the check uses (0 skips it).
        data_dir: Where MNIST is, if not in the usual places.
        runs_dir: Where to find ``latest`` when ``model_or_run`` is ``None``.

    Returns:
        An :class:`ExportResult`.

    Raises:
        ModelError: The model cannot be found or loaded.
        ExportError: Conversion failed or the check did not pass.
    """
    from .predictor import load_keras_file

    source = resolve_export_source(model_or_run, runs_dir=runs_dir)
    model = load_keras_file(source, compile=False)
    if getattr(model.dtype_policy, "name", "float32") != "float32":
        raise ExportError(
            f"{source} has dtype policy {model.dtype_policy.name}; export needs float32"
        )
    kind = _kind(model, source)
    parity = parity_inputs(kind, parity_images, data_dir) if parity_images > 0 else None
    return export_keras_model(model, out, format=format, source=source, parity=parity)
