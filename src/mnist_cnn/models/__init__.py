"""Models: the networks and the packaged weights.

Owns the registry of digit classifiers built by name (:mod:`~mnist_cnn.models.registry`:
the tutorial's ``baseline``, the ``robust`` model of the packaged default),
ensembles saved as one model (:mod:`~mnist_cnn.models.ensemble`), the segment
verifier's network (:mod:`~mnist_cnn.models.verifier`) and the packaged
``weights/`` (``default.keras``, ``low_res.keras``, ``verifier.keras`` and their ``.json``). It may
import Keras, inside the functions that build models (so importing it costs
nothing), and :mod:`mnist_cnn.errors`; no other part of the package. Running a
model is :mod:`mnist_cnn.inference`, training one :mod:`mnist_cnn.training`.
"""

from .. import _lazy

_EXPORTS = {
    **dict.fromkeys(
        (
            "INPUT_SHAPE",
            "NUM_CLASSES",
            "available_models",
            "build_model",
            "default_model_path",
            "low_res_model_path",
            "register",
        ),
        ".registry",
    ),
    "average_models": ".ensemble",
    **dict.fromkeys(("build_verifier", "default_verifier_path"), ".verifier"),
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    return _lazy.load(__name__, _EXPORTS, name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
