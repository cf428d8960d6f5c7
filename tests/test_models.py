import numpy as np
import pytest

from mnist_cnn import models
from mnist_cnn.errors import ConfigError


def test_baseline_is_exactly_the_tutorial_model():
    model = models.build_model("baseline")
    summary = []
    for layer in model.layers:
        cfg = layer.get_config()
        summary.append(
            (
                type(layer).__name__,
                cfg.get("filters") or cfg.get("units"),
                tuple(cfg["kernel_size"]) if "kernel_size" in cfg else None,
                cfg.get("activation"),
                tuple(cfg["pool_size"]) if "pool_size" in cfg else None,
                cfg.get("rate"),
            )
        )
    assert summary == [
        ("Conv2D", 32, (3, 3), "relu", None, None),
        ("Conv2D", 64, (3, 3), "relu", None, None),
        ("MaxPooling2D", None, None, None, (2, 2), None),
        ("Dropout", None, None, None, None, 0.25),
        ("Flatten", None, None, None, None, None),
        ("Dense", 128, None, "relu", None, None),
        ("Dropout", None, None, None, None, 0.5),
        ("Dense", 10, None, "softmax", None, None),
    ]
    assert model.count_params() == 1_199_882
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)


def test_baseline_is_compiled_like_the_tutorial():
    model = models.build_model("baseline")
    assert type(model.optimizer).__name__ == "Adam"
    assert model.loss == "categorical_crossentropy"
    probs = model.predict(np.zeros((2, 28, 28, 1), np.float32), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ConfigError, match="unknown model 'resnet'.*baseline"):
        models.build_model("resnet")


def test_registry_rejects_duplicate_names():
    with pytest.raises(ValueError, match="already registered"):
        models.register("baseline")(lambda: None)


def test_average_models_is_one_file_giving_the_members_mean(tmp_path):
    import keras

    members = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        members.append(models.build_model("robust", compile=False))  # same name, different weights
    ensemble = models.average_models(members, name="pair")
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    want = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), want, atol=1e-6)
    path = tmp_path / "pair.keras"
    ensemble.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), want, atol=1e-6)


def test_packaged_model_reads_mnist(mnist_test):
    import json

    from mnist_cnn.inference import Predictor

    x, y = mnist_test
    predictor = Predictor.load("default")
    accuracy = np.mean(predictor.predict_proba(x[:2000] / 255.0).argmax(axis=1) == y[:2000])
    assert accuracy >= 0.99
    # Its record says how it was chosen: on validation data, never the test set.
    record = json.loads(predictor.path.with_suffix(".json").read_text())
    assert record["chosen_by"].startswith("best validation score")
    assert record["chosen"] in record["candidates"]
    chosen = record["candidates"][record["chosen"]]
    assert all(c["val_score"] <= chosen["val_score"] for c in record["candidates"].values())
    assert record["test_accuracy_mean"] >= 0.993
