"""Smoke tests under other Keras backends, each in a fresh interpreter."""

import importlib.util
import os
import subprocess
import sys

import pytest

SCRIPT = """
import json, sys
import numpy as np
import keras
from mnist_cnn.config import TrainConfig
from mnist_cnn.training import train
from mnist_cnn.inference import Predictor

assert keras.backend.backend() == sys.argv[1], keras.backend.backend()
result = train(TrainConfig(train_limit=1024, test_limit=256, epochs=1, out_dir=sys.argv[2]),
               verbose=0, log=lambda line: None)
loaded = keras.saving.load_model(result.run_dir / "model.keras")
x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
diff = float(np.abs(Predictor(loaded).predict_proba(x) - result.model.predict(x, verbose=0)).max())
print(json.dumps({"acc": result.metrics["test_accuracy"], "diff": diff,
                  "precision": result.metrics["precision"]}))
"""


@pytest.mark.slow
@pytest.mark.torch
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_torch_backend_trains_saves_and_predicts(tmp_path):
    env = dict(os.environ, KERAS_BACKEND="torch")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, "torch", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["precision"] == "float32"  # bfloat16 "auto" is TensorFlow-only
    assert result["acc"] > 0.5  # 1 epoch on 819 images: well above chance (0.1)
    assert result["diff"] < 1e-5
