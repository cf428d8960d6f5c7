"""The segment verifier's network: is this piece of a number one whole digit?

Its input is two 28x28 channels (:data:`INPUT_SHAPE`): the piece normalised
the MNIST way, and the piece in its context on the line; its output, the
probability that the piece is one whole digit. The packaged one lives at
:func:`default_verifier_path`; :class:`mnist_cnn.inference.verifier.Verifier`
loads and runs it, :mod:`mnist_cnn.training.verifier_data` makes its training
data and ``benchmarks/train_verifier.py`` trains it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["INPUT_SHAPE", "build_verifier", "default_verifier_path"]

INPUT_SHAPE = (28, 28, 2)


def default_verifier_path() -> Path:
    """Where the packaged segment verifier lives (its score weights beside it, as .json)."""
    return Path(__file__).resolve().parent / "weights" / "verifier.keras"


def build_verifier(seed: int = 0):
    """The verifier network: three small convolutions, a dense layer, a sigmoid (60k weights).

    Args:
        seed: Seeds the initial weights and the dropout masks, layer by layer:
            the same seed builds the same network. The global random state
            (Python, NumPy, the backend) is left alone; a training script that
            wants ``fit``'s shuffling reproducible seeds it itself.

    Returns:
        A compiled Keras model taking float32 ``(N, 28, 28, 2)`` inputs in [0, 1]
        and returning ``(N, 1)`` probabilities.
    """
    import keras
    from keras import layers

    seeds = iter(range(seed * 100, seed * 100 + 100))

    def kernel():
        return keras.initializers.GlorotUniform(seed=next(seeds))

    model = keras.Sequential(
        [
            keras.Input(shape=INPUT_SHAPE),
            layers.Conv2D(16, 3, activation="relu", padding="same", kernel_initializer=kernel()),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, activation="relu", padding="same", kernel_initializer=kernel()),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu", padding="same", kernel_initializer=kernel()),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(64, activation="relu", kernel_initializer=kernel()),
            layers.Dropout(0.3, seed=next(seeds)),
            layers.Dense(1, activation="sigmoid", kernel_initializer=kernel()),
        ],
        name="segment_verifier",
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="binary_crossentropy",
        metrics=["accuracy"],
    )
    return model
