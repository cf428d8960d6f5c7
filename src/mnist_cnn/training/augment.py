"""Data augmentation for real handwriting, as Keras layers.

Photos and drawings differ from MNIST in position, slant, size, stroke width
and small wobbles of the pen. :func:`build_augmenter` returns Keras layers
(any backend) that imitate each of these; :class:`AugmentedBatches` feeds
``fit`` a freshly augmented copy of the training set every epoch. Augmenting
a whole epoch in large chunks before it starts costs about 3 s per 48,000
images, where the same layers inside the training step doubled its time.
The augmentation is never part of a saved model.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops


@keras.saving.register_keras_serializable(package="mnist_cnn")
class RandomStrokeWidth(layers.Layer):
    """Thicken or thin the strokes of a random part of a batch.

    Grey-level dilation (a 3x3 max filter) thickens bright strokes by about a
    pixel on each side; erosion (a 3x3 min filter, capped so a stroke never
    vanishes entirely) thins them. A fraction ``rate`` of images is dilated,
    another ``rate`` eroded, the rest left alone.

    Args:
        rate: Probability of each of dilation and erosion, in [0, 0.5].
        seed: Seed of the layer's random generator.
    """

    def __init__(self, rate: float = 0.2, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= rate <= 0.5:
            raise ValueError(f"rate must be in [0, 0.5], got {rate}")
        self.rate = rate
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        dilated = ops.max_pool(images, pool_size=3, strides=1, padding="same")
        eroded = -ops.max_pool(-images, pool_size=3, strides=1, padding="same")
        # Keep some of the original where erosion would wipe a thin stroke out.
        eroded = ops.maximum(eroded, 0.5 * images)
        batch = ops.shape(images)[0]
        u = keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator)
        u = ops.cast(u, images.dtype)
        out = ops.where(u < self.rate, dilated, images)
        return ops.where(u > 1.0 - self.rate, eroded, out)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="mnist_cnn")
class RandomElastic(layers.Layer):
    """Smooth elastic distortion of a random part of a batch.

    A random displacement of up to ``alpha`` pixels is drawn at each point of
    a coarse ``grid`` x ``grid`` lattice and interpolated bilinearly to every
    pixel, so strokes bend smoothly as a hand's wobble bends them (the idea of
    Simard et al., 2003, with a control-point field instead of a Gaussian-
    filtered one: ten times cheaper, and batched). Pixels are resampled
    bilinearly with zero fill.

    Args:
        rate: Fraction of images distorted.
        alpha: Largest displacement, in pixels.
        grid: Control points per side.
        seed: Seed of the layer's random generator.
    """

    def __init__(self, rate=0.5, alpha=2.0, grid=4, seed=None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rate, self.alpha, self.grid, self.seed = rate, alpha, grid, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        dtype = images.dtype
        x = ops.cast(images, "float32")
        batch = ops.shape(x)[0]
        height, width = x.shape[1], x.shape[2]
        coarse = keras.random.uniform(
            (batch, self.grid, self.grid, 2), -1.0, 1.0, seed=self.seed_generator
        )
        apply = ops.cast(
            keras.random.uniform((batch, 1, 1, 1), seed=self.seed_generator) < self.rate,
            "float32",
        )
        field = ops.image.resize(coarse, (height, width), interpolation="bilinear")
        field = field * (self.alpha * apply)
        rows = ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1))
        cols = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width))
        sy = ops.clip(rows + field[..., 0], 0.0, height - 1.0)
        sx = ops.clip(cols + field[..., 1], 0.0, width - 1.0)
        y0, x0 = ops.floor(sy), ops.floor(sx)
        wy, wx = sy - y0, sx - x0
        y0i, x0i = ops.cast(y0, "int32"), ops.cast(x0, "int32")
        y1i = ops.minimum(y0i + 1, height - 1)
        x1i = ops.minimum(x0i + 1, width - 1)
        flat = ops.reshape(x, (-1,))
        base = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))

        def at(yi, xi):
            return ops.take(flat, base + yi * width + xi)

        top = at(y0i, x0i) * (1 - wx) + at(y0i, x1i) * wx
        bottom = at(y1i, x0i) * (1 - wx) + at(y1i, x1i) * wx
        out = (top * (1 - wy) + bottom * wy)[..., None]
        return ops.cast(out, dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rate": self.rate,
            "alpha": self.alpha,
            "grid": self.grid,
            "seed": self.seed,
        }


def build_augmenter(seed: int = 0) -> keras.Sequential:
    """The augmentation pipeline used by ``train --augment``.

    Rotation up to about 12 degrees, zoom of plus or minus 15 %, shifts of up
    to 3 pixels, shear, stroke width changes and a mild elastic distortion.

    Args:
        seed: Seeds every random layer (each with its own offset).

    Returns:
        A ``keras.Sequential`` mapping float32 ``(N, 28, 28, 1)`` images in
        [0, 1] to augmented images of the same shape and range.
    """
    return keras.Sequential(
        [
            RandomStrokeWidth(0.2, seed=seed + 1),
            RandomElastic(0.5, alpha=2.0, grid=4, seed=seed + 2),
            layers.RandomRotation(12 / 360, fill_mode="constant", seed=seed + 3),
            layers.RandomZoom((-0.15, 0.15), fill_mode="constant", seed=seed + 4),
            layers.RandomShear(x_factor=0.15, y_factor=0.0, fill_mode="constant", seed=seed + 5),
            layers.RandomTranslation(3 / 28, 3 / 28, fill_mode="constant", seed=seed + 6),
        ],
        name="augment",
    )


class AugmentedBatches(keras.utils.PyDataset):
    """Shuffled batches of a training set, re-augmented every epoch.

    Args:
        x: float32 images ``(N, 28, 28, 1)`` in [0, 1].
        y: one-hot labels ``(N, 10)``.
        batch_size: images per batch.
        seed: seeds the shuffling and the augmentation.
        chunk: images augmented per call (large chunks amortise per-call costs).
        real_inputs: fraction of images shown each epoch in their real-input
            form (:func:`mnist_cnn.vision.degrade.degrade`) before the other
            augmentations. Each image's real-input form is drawn once, when
            the batches are made (about 1 ms per image), and the epoch's
            random rotation, zoom, shear and shifts vary it from then on.
        flagged_ones: fraction of the '1's given a flag
            (:func:`mnist_cnn.vision.degrade.add_flag`) once, when the batches
            are made, before their real-input forms are drawn.
    """

    def __init__(
        self,
        x,
        y,
        batch_size: int,
        seed: int = 0,
        chunk: int = 4096,
        real_inputs: float = 0.0,
        flagged_ones: float = 0.0,
    ) -> None:
        super().__init__()
        if len(x) != len(y):
            raise ValueError(f"x and y differ in length: {len(x)} != {len(y)}")
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.chunk = chunk
        self.rng = np.random.default_rng(seed)
        self.augmenter = build_augmenter(seed)
        self.real_inputs = real_inputs
        self.degraded = None
        if flagged_ones > 0 or real_inputs > 0:
            digits = np.clip(np.rint(np.asarray(x)[..., 0] * 255.0), 0, 255).astype(np.uint8)
        if flagged_ones > 0:
            from ..vision.degrade import add_flag

            frng = np.random.default_rng([seed, 2])
            ones = np.flatnonzero(np.asarray(y).argmax(axis=1) == 1)
            ones = ones[frng.random(len(ones)) < flagged_ones]
            for i in ones:
                digits[i] = add_flag(digits[i], frng)
            self.x = np.array(x, dtype=np.float32, copy=True)
            self.x[ones, ..., 0] = digits[ones] / np.float32(255.0)
        if real_inputs > 0:
            from ..vision.degrade import degrade_batch

            self.degraded = degrade_batch(digits, np.random.default_rng([seed, 1]))[..., None]
        self._prepare()

    def get_state(self) -> dict:
        """The random state the current epoch's batches were drawn from, as JSON-ready data.

        :meth:`set_state` with it, then :meth:`on_epoch_end`, draws the same
        batches again: a resumed training (:mod:`mnist_cnn.training.checkpoint`)
        sees the epoch the interrupted one would have seen next.
        """
        return self._drawn_from

    def set_state(self, state: dict) -> None:
        """Restore a :meth:`get_state`; the next :meth:`on_epoch_end` draws from it."""
        self.rng.bit_generator.state = state["rng"]
        for variable, value in zip(self.augmenter.variables, state["seeds"], strict=True):
            variable.assign(np.asarray(value, dtype=variable.dtype))

    def _prepare(self) -> None:
        self._drawn_from = {
            "rng": self.rng.bit_generator.state,
            "seeds": [keras.ops.convert_to_numpy(v).tolist() for v in self.augmenter.variables],
        }
        order = self.rng.permutation(len(self.x))
        x = self.x[order]
        if self.degraded is not None:
            swap = self.rng.random(len(x)) < self.real_inputs
            x = np.where(swap[:, None, None, None], self.degraded[order], x)
        parts = [
            keras.ops.convert_to_numpy(self.augmenter(x[i : i + self.chunk], training=True))
            for i in range(0, len(x), self.chunk)
        ]
        self.epoch_x = np.concatenate(parts).astype(np.float32, copy=False)
        self.epoch_y = self.y[order]

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int):
        batch = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.epoch_x[batch], self.epoch_y[batch]

    def on_epoch_end(self) -> None:
        self._prepare()
