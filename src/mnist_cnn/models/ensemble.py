"""Ensembles: several trained models saved and served as one.

The packaged default model (``weights/default.keras``) is the mean of three
``robust`` models, made with :func:`average_models` by
``benchmarks/train_default_model.py``.
"""

from __future__ import annotations

from .registry import INPUT_SHAPE

__all__ = ["average_models"]


def average_models(members: list, name: str = "ensemble"):
    """One Keras model whose output is the mean of ``members``' class probabilities.

    The members keep their weights (copied into renamed twins, so models that
    share a name can be combined); the result is uncompiled and saves and
    loads as a single ``.keras`` file.
    """
    import keras

    inputs = keras.Input(shape=INPUT_SHAPE)
    twins = []
    for k, member in enumerate(members):
        twin = member.__class__.from_config({**member.get_config(), "name": f"{member.name}_{k}"})
        twin.set_weights(member.get_weights())
        twins.append(twin)
    outputs = keras.layers.Average(name="mean_probability")([twin(inputs) for twin in twins])
    return keras.Model(inputs, outputs, name=name)
