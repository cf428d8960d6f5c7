"""Shared fixtures: MNIST arrays and a small trained classifier."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from helpers import read_idx_gz

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test images (uint8, (N, 28, 28)) and labels."""
    x = read_idx_gz("t10k-images-idx3-ubyte.gz", 16, (10000, 28, 28))
    y = read_idx_gz("t10k-labels-idx1-ubyte.gz", 8, (10000,))
    return x, y


@pytest.fixture(scope="session")
def classify(tmp_path_factory):
    """A callable mapping (N, 28, 28) float32 images in [0, 1] to (N, 10) probabilities.

    Uses the packaged default model when it exists; otherwise trains the
    tutorial model briefly on 12,000 training images (about 20 s on 2 cores).
    """
    import keras

    from mnist_cnn import models
    from mnist_cnn.inference import Predictor

    path = models.default_model_path()
    if Path(path).exists():
        model = keras.saving.load_model(path)
    else:
        keras.utils.set_random_seed(0)
        x = read_idx_gz("train-images-idx3-ubyte.gz", 16, (60000, 28, 28))[:12000]
        y = read_idx_gz("train-labels-idx1-ubyte.gz", 8, (60000,))[:12000]
        model = models.build_model("baseline")
        model.fit(
            x.reshape(-1, 28, 28, 1).astype("float32") / 255.0,
            keras.utils.to_categorical(y, 10),
            batch_size=128,
            epochs=2,
            verbose=0,
        )
    # The compiled forward pass: model.predict costs 50-100 ms per call.
    predictor = Predictor(model, path)

    def _classify(images: np.ndarray) -> np.ndarray:
        return predictor.predict_proba(np.asarray(images, dtype="float32").reshape(-1, 28, 28))

    return _classify


@pytest.fixture(scope="session")
def verify():
    """The packaged segment verifier (mnist_cnn.inference.verifier.Verifier)."""
    from mnist_cnn.inference.verifier import Verifier

    return Verifier.load()


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """One real training run on 6,000 MNIST images (2 epochs), saved as a run.

    Returns the :class:`mnist_cnn.training.trainer.TrainResult`; its ``run_dir`` is
    under a temporary ``runs/`` folder.
    """
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.training import train

    out = tmp_path_factory.mktemp("runs")
    config = TrainConfig(train_limit=6000, test_limit=2000, epochs=2, seed=1, out_dir=str(out))
    return train(config, verbose=0, log=lambda line: None)


@pytest.fixture
def digit_pngs(tmp_path, mnist_test):
    """Five MNIST test digits saved as 28x28 grayscale PNGs; returns (paths, labels)."""
    from PIL import Image

    x, y = mnist_test
    paths = []
    for i in range(5):
        path = tmp_path / f"digit{i}_label{int(y[i])}.png"
        Image.fromarray(x[i]).save(path)
        paths.append(path)
    return paths, [int(v) for v in y[:5]]
