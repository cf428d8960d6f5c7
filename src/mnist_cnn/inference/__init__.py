"""Inference: trained models put to work, fast, in this process or another runtime.

Owns loading a model and predicting with a compiled forward pass
(:mod:`~mnist_cnn.inference.predictor`: :class:`Predictor`, :class:`Prediction`,
which model ``runs/latest`` or ``default`` means), answers for image files
(:mod:`~mnist_cnn.inference.files`: :func:`predict_files`), the segment verifier at run
time (:mod:`~mnist_cnn.inference.verifier`), onnxruntime inference without
TensorFlow (:mod:`~mnist_cnn.inference.onnx_runtime`) and the export to ONNX and
SavedModel, checked against Keras (:mod:`~mnist_cnn.inference.export`). It may
import Keras and a backend (inside functions, so that ``onnx_runtime`` stays
TensorFlow-free), onnxruntime, :mod:`mnist_cnn.models`, :mod:`mnist_cnn.data`,
:mod:`mnist_cnn.vision` and the top-level modules; never
:mod:`mnist_cnn.training`, :mod:`mnist_cnn.evaluation`, :mod:`mnist_cnn.serve`
or :mod:`mnist_cnn.cli`. The names below are loaded on first use.
"""

from .. import _lazy

_EXPORTS = {
    **dict.fromkeys(
        (
            "Prediction",
            "Predictor",
            "image_batch",
            "load_keras_file",
            "load_model",
            "resolve_model_path",
            "run_class_names",
        ),
        ".predictor",
    ),
    "Verifier": ".verifier",
    **dict.fromkeys(("FileAnswer", "predict_files"), ".files"),
    **dict.fromkeys(("OnnxClassifier", "OnnxVerifier", "cached_onnx"), ".onnx_runtime"),
    **dict.fromkeys(("ExportResult", "export_keras_model"), ".export"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
