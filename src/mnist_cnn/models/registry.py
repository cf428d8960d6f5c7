"""Model registry: every architecture is built by name, and the packaged default model.

``build_model("baseline")`` is exactly the tutorial's network. New
architectures register themselves with :func:`register` and become available
to the CLI's ``--model`` flag.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError

if TYPE_CHECKING:
    import keras

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10

ModelBuilder = Callable[..., "keras.Model"]
_REGISTRY: dict[str, ModelBuilder] = {}


def register(name: str) -> Callable[[ModelBuilder], ModelBuilder]:
    """Decorator that adds a model builder to the registry under ``name``."""

    def decorate(builder: ModelBuilder) -> ModelBuilder:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = builder
        return builder

    return decorate


def available_models() -> list[str]:
    """Names accepted by :func:`build_model`, sorted."""
    return sorted(_REGISTRY)


def build_model(name: str = "baseline", *, compile: bool = True) -> keras.Model:
    """Build (and by default compile) a registered model.

    Args:
        name: Registry name, e.g. ``"baseline"``.
        compile: Compile with adam, categorical cross-entropy and accuracy,
            as the tutorial does.

    Returns:
        A Keras model taking float32 ``(N, 28, 28, 1)`` images in [0, 1] and
        returning ``(N, 10)`` softmax probabilities.

    Raises:
        ConfigError: ``name`` is not registered.
    """
    try:
        builder = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown model {name!r}; choose one of: {', '.join(available_models())}"
        ) from None
    model = builder()
    if compile:
        model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


@register("baseline")
def baseline() -> keras.Model:
    """The tutorial's CNN: Conv32-Conv64-Pool-Dropout-Dense128-Dropout-Dense10.

    1,199,882 trainable parameters.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.Conv2D(64, (3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="baseline",
    )


@register("robust")
def robust() -> keras.Model:
    """A deeper CNN for real handwriting (the packaged default model).

    Two blocks of two 3x3 convolutions (32, then 64 filters) with max pooling
    and dropout, then Dense(256): about 20 MFLOP per image, less than
    ``baseline``'s 24, with a quarter of its parameters. Trained with
    ``--augment`` it tolerates the shifts, slants and stroke widths of real
    writing and reaches about 99.5 % on MNIST.
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Conv2D(64, 3, activation="relu"),
            layers.Conv2D(64, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(NUM_CLASSES, activation="softmax"),
        ],
        name="robust",
    )


# Mean and standard deviation of MNIST's 60,000 training pixels, scaled to [0, 1].
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
# First-layer filters of the fast model (the published recipe's 24: benchmarks/explore_fast.py).
FAST_FILTERS = 12
# The fast model's initialisation: "keras" (Glorot-uniform kernels, zero biases)
# or "pytorch" (PyTorch's default: kernels and biases uniform in +-1/sqrt(fan_in)).
FAST_INIT = "keras"


def _initializers(fan_in: int) -> dict:
    """Keyword arguments of a layer with ``fan_in`` inputs per output, for :data:`FAST_INIT`."""
    if FAST_INIT == "keras":
        return {}
    import keras

    bound = fan_in**-0.5
    return {
        "kernel_initializer": keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
        "bias_initializer": keras.initializers.RandomUniform(-bound, bound),
    }


@register("fast")
def fast() -> keras.Model:
    """The small CNN of ``--recipe fast``, after the fastest published MNIST recipe.

    Standardise (MNIST's pixel mean and deviation, inside the model, so it
    takes the same [0, 1] images as every model here), Conv12-5x5, pool,
    Conv32-3x3, pool, Dense256, Dense10: 1.45 MFLOP per image, a sixteenth
    of ``baseline``'s, and 211,426 parameters. No dropout: it trains for one
    epoch. The published network has 24 filters in its first layer; 16
    trained about a sixth faster on a CPU at the same validation accuracy,
    and 12 (with label smoothing) another 8 % faster on the AVX2 float32
    path, again at the same validation accuracy (``benchmarks/explore_fast.py``).
    """
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Rescaling(1.0 / MNIST_STD, offset=-MNIST_MEAN / MNIST_STD),
            layers.Conv2D(FAST_FILTERS, 5, activation="relu", **_initializers(25)),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, activation="relu", **_initializers(9 * FAST_FILTERS)),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(256, activation="relu", **_initializers(800)),
            layers.Dense(NUM_CLASSES, activation="softmax", **_initializers(256)),
        ],
        name="fast",
    )


def default_model_path() -> Path:
    """Where the packaged default model (trained for real handwriting) lives."""
    return Path(__file__).resolve().parent / "weights" / "default.keras"


def low_res_model_path() -> Path:
    """Where the packaged model for pictures blown up from small sources lives
    (``robust`` also trained on UCI's 8x8 writers; see
    :func:`mnist_cnn.vision.resolution.upscaled_from_small`)."""
    return Path(__file__).resolve().parent / "weights" / "low_res.keras"
