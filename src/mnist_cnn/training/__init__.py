"""Training: the tutorial's ``fit``, reproducible and fast on a CPU, saved as a run.

Owns the trainer (:mod:`~mnist_cnn.training.trainer`: :func:`train`, what
``mnist-cnn train`` calls, writing a run directory through :mod:`mnist_cnn.runs`),
its per-epoch checkpoints and ``--resume`` (:mod:`~mnist_cnn.training.checkpoint`),
augmentation for real handwriting (:mod:`~mnist_cnn.training.augment`),
stratified k-fold cross-validation (:mod:`~mnist_cnn.training.crossval`) and
the segment verifier's training data (:mod:`~mnist_cnn.training.verifier_data`).
It may import Keras and the library below it: :mod:`mnist_cnn.data`,
:mod:`mnist_cnn.models`, :mod:`mnist_cnn.vision`, :mod:`mnist_cnn.inference`
(to score a trained model), :mod:`mnist_cnn.evaluation` (its numbers, plots and
report) and the top-level modules; never :mod:`mnist_cnn.serve` or
:mod:`mnist_cnn.cli`. Importing it loads nothing: the names below are loaded on
first use.
"""

from .. import _lazy

_EXPORTS = {
    **dict.fromkeys(
        ("TrainResult", "load_data", "resolve_config", "save_run", "split_validation", "train"),
        ".trainer",
    ),
    **dict.fromkeys(("CvResult", "cross_validate", "resume_cv"), ".crossval"),
    **dict.fromkeys(("AugmentedBatches", "build_augmenter"), ".augment"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
