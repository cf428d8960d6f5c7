"""A numpy forward pass for one image or a few, without a framework call.

For a single 28x28 image, most of a compiled TensorFlow call is not
arithmetic: the graph executor's dispatch, and oneDNN kernels tuned for
batches (its one-image Dense reads the weights at half the speed of a plain
BLAS matrix-vector product, and under an AVX2-only CPU its one-image
convolutions fall back to im2col). The same layers as a handful of numpy
calls (``im2col`` by a strided view, one BLAS product per layer) take about
half the time, with the same answers to 1e-5. :class:`~mnist_cnn.inference.predictor.Predictor`
uses this for batches of up to :data:`SMALL_BATCH` images when
:func:`numpy_forward` can translate the model, and checks it against the
compiled pass first.

Translated: ``Sequential`` models made of
``Rescaling``, ``Conv2D`` (valid padding, stride 1), ``MaxPooling2D``
(non-overlapping), ``Dropout`` (inference: nothing), ``Flatten`` and ``Dense``
with linear, ReLU or softmax activations, all float32; and ensembles of such
models averaged by one ``Average`` layer (:func:`mnist_cnn.models.ensemble.average_models`).
Anything else returns ``None`` and stays with the framework.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["SMALL_BATCH", "numpy_forward"]

#: Batches up to this size go through the numpy pass (larger ones are faster
#: batched in the framework).
SMALL_BATCH = 4

Step = Callable[[np.ndarray], np.ndarray]


def _activation(name: str) -> Step | None:
    if name == "linear":
        return lambda x: x
    if name == "relu":
        return lambda x: np.maximum(x, 0, out=x)
    if name == "softmax":

        def softmax(x: np.ndarray) -> np.ndarray:
            z = np.exp(x - x.max(axis=-1, keepdims=True))
            return z / z.sum(axis=-1, keepdims=True)

        return softmax
    return None


def _conv(layer, config: dict) -> Step | None:
    if (
        config["padding"] != "valid"
        or tuple(config["strides"]) != (1, 1)
        or tuple(config["dilation_rate"]) != (1, 1)
        or config.get("groups", 1) != 1
        or config.get("data_format", "channels_last") != "channels_last"
    ):
        return None
    activation = _activation(config["activation"])
    if activation is None:
        return None
    weights = layer.get_weights()
    kernel = weights[0]
    bias = weights[1] if config["use_bias"] else np.zeros(kernel.shape[-1], np.float32)
    kh, kw, channels, filters = kernel.shape
    matrix = np.ascontiguousarray(kernel.reshape(kh * kw * channels, filters))

    def conv(x: np.ndarray) -> np.ndarray:
        windows = sliding_window_view(x, (kh, kw), axis=(1, 2))  # N, H', W', C, kh, kw
        n, h, w = windows.shape[:3]
        patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n, h, w, kh * kw * channels)
        return activation(patches @ matrix + bias)

    return conv


def _pool(config: dict) -> Step | None:
    size = tuple(config["pool_size"])
    if config["padding"] != "valid" or tuple(config["strides"] or size) != size:
        return None
    ph, pw = size

    def pool(x: np.ndarray) -> np.ndarray:
        n, h, w, c = x.shape
        h, w = h // ph, w // pw
        return x[:, : h * ph, : w * pw].reshape(n, h, ph, w, pw, c).max(axis=(2, 4))

    return pool


def _dense(layer, config: dict) -> Step | None:
    activation = _activation(config["activation"])
    if activation is None:
        return None
    weights = layer.get_weights()
    kernel = np.ascontiguousarray(weights[0])
    bias = weights[1] if config["use_bias"] else np.zeros(kernel.shape[-1], np.float32)
    return lambda x: activation(x @ kernel + bias)


def _layer_step(layer) -> Step | None:
    kind = type(layer).__name__
    if kind == "InputLayer" or kind == "Dropout":
        return lambda x: x
    if getattr(layer, "dtype_policy", None) is not None and layer.dtype_policy.name != "float32":
        return None
    config = layer.get_config()
    if kind == "Rescaling":
        scale, offset = np.float32(config["scale"]), np.float32(config["offset"])
        return lambda x: x * scale + offset
    if kind == "Conv2D":
        return _conv(layer, config)
    if kind == "MaxPooling2D":
        return _pool(config)
    if kind == "Flatten":
        return lambda x: x.reshape(len(x), -1)
    if kind == "Dense":
        return _dense(layer, config)
    return None


def _chain(model) -> Step | None:
    """A ``Sequential`` model's layers as one numpy function, if each translates."""
    if type(model).__name__ != "Sequential":
        return None
    steps = [_layer_step(layer) for layer in model.layers]
    if any(step is None for step in steps):
        return None

    def forward(x: np.ndarray) -> np.ndarray:
        for step in steps:
            x = step(x)
        return x

    return forward


def numpy_forward(model) -> Step | None:
    """``model``'s forward pass in numpy, or ``None`` if it has parts this cannot translate.

    The weights are copied now: a model trained further afterwards needs a new call.

    Returns:
        A function from float32 ``(N, 28, 28, 1)`` images to ``(N, classes)``
        float32 outputs, or ``None``.
    """
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if len(layers) > 1 and type(layers[-1]).__name__ == "Average":
        members = [_chain(member) for member in layers[:-1]]
        if any(member is None for member in members):
            return None

        def mean(x: np.ndarray) -> np.ndarray:
            return (sum(member(x) for member in members) / len(members)).astype(np.float32)

        return mean
    chain = _chain(model)
    if chain is None:
        return None
    return lambda x: chain(np.asarray(x, np.float32)).astype(np.float32, copy=False)
