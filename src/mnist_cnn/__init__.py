"""mnist-cnn: the Keras CNN-on-MNIST tutorial as a library, a command line and a service.

The package is organised by concern, each subpackage saying in its docstring
what it owns and what it may import (``tests/test_layout.py`` keeps the rules):
:mod:`~mnist_cnn.data` (MNIST and IDX datasets), :mod:`~mnist_cnn.models`
(architectures and packaged weights), :mod:`~mnist_cnn.training`,
:mod:`~mnist_cnn.evaluation` (metrics, plots, reports), :mod:`~mnist_cnn.vision`
(real images to MNIST's 28x28, no Keras), :mod:`~mnist_cnn.inference` (predict,
export, onnxruntime), :mod:`~mnist_cnn.serve` (the HTTP service) and
:mod:`~mnist_cnn.cli`. Beside them: :mod:`~mnist_cnn.config` (the typed run
config), :mod:`~mnist_cnn.runs` (run directories), :mod:`~mnist_cnn.errors`,
:mod:`~mnist_cnn.fileio` and :mod:`~mnist_cnn.envinfo`; :mod:`~mnist_cnn.preprocess`
and :mod:`~mnist_cnn.reading` gather the public names of the image code.

Importing the package loads no Keras, TensorFlow or matplotlib: the public
names below (the README's Library section) are imported on first use.

Example:
    >>> from mnist_cnn import Predictor, to_mnist  # doctest: +SKIP
    >>> Predictor.load().predict([to_mnist("photo.jpg")])  # doctest: +SKIP
"""

from . import _lazy

_EXPORTS = {
    "TrainConfig": ".config",
    **dict.fromkeys(
        (
            "ConfigError",
            "DataError",
            "DownloadError",
            "ExportError",
            "ImageError",
            "MnistCnnError",
            "ModelError",
        ),
        ".errors",
    ),
    **dict.fromkeys(
        ("load_dataset", "load_idx_dataset", "load_mnist", "prepare_images", "prepare_labels"),
        ".data.datasets",
    ),
    "read_idx": ".data.idx",
    **dict.fromkeys(("available_models", "build_model", "register"), ".models.registry"),
    "average_models": ".models.ensemble",
    **dict.fromkeys(("TrainResult", "train"), ".training.trainer"),
    **dict.fromkeys(("CvResult", "cross_validate", "resume_cv"), ".training.crossval"),
    **dict.fromkeys(("evaluate", "summarize"), ".evaluation.evaluator"),
    "write_report": ".evaluation.report",
    **dict.fromkeys(("compare_runs", "format_table"), ".evaluation.compare"),
    **dict.fromkeys(("Prediction", "Predictor", "load_model"), ".inference.predictor"),
    **dict.fromkeys(("FileAnswer", "predict_files"), ".inference.files"),
    "Verifier": ".inference.verifier",
    "load_image": ".vision.loading",
    "to_mnist": ".vision.normalise",
    **dict.fromkeys(("ReadResult", "read_number"), ".vision.reading"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
