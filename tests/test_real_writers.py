"""The UCI training set's writers, shipped to train on (mnist_cnn.training.real_writers)."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn.config import ConfigError, TrainConfig
from mnist_cnn.training import real_writers, trainer


def test_the_shipped_uci_training_set_is_whole():
    images, labels = real_writers.load_uci_training_set()
    assert images.shape == (3823, 8, 8) and images.dtype == np.uint8
    assert images.max() == 16 and images.min() == 0
    assert tuple(np.bincount(labels, minlength=10)) == real_writers.UCI_TRAINING_COUNTS


def test_uci_digits_come_out_as_predict_sees_them():
    images, labels = real_writers.uci_training_images(limit=12)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    assert labels.tolist() == real_writers.load_uci_training_set()[1][:12].tolist()
    # White ink on black, fitted into 20 px and centred, as MNIST's digits are.
    for image in images:
        assert image[0].max() == 0 and image[:, 0].max() == 0 and image.max() == 255
        rows = np.flatnonzero(image.max(axis=1) > 0)
        cols = np.flatnonzero(image.max(axis=0) > 0)
        assert max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 in range(19, 23)


def test_uci_writers_need_mnist():
    with pytest.raises(ConfigError, match="uci_writers adds handwritten digits to MNIST"):
        TrainConfig(uci_writers=True, dataset="fashion-mnist")


@pytest.mark.slow
def test_uci_writers_are_fitted_on_and_never_validated_on(mnist_test, monkeypatch):
    x, y = mnist_test
    extra = (np.full((40, 28, 28), 7, np.uint8), np.full(40, 4, np.int64))
    monkeypatch.setattr(real_writers, "uci_training_images", lambda: extra)
    lines = []
    result = trainer.train(
        TrainConfig(epochs=1, precision="float32", uci_writers=True, validation_split=0.25),
        data=((x[:200], y[:200]), (x[200:240], y[200:240])),
        save=False,
        verbose=0,
        log=lines.append,
    )
    assert result.metrics["n_train"] == 150 + 40 and result.metrics["n_validation"] == 50
    assert any("Adding 40 UCI" in line for line in lines)
