import json

import pytest

from mnist_cnn.config import TrainConfig
from mnist_cnn.errors import ConfigError


def test_defaults_are_the_tutorials():
    config = TrainConfig()
    assert (config.model, config.epochs, config.batch_size, config.validation_split) == (
        "baseline",
        3,
        128,
        0.2,
    )
    assert isinstance(config.seed, int)


def test_round_trips_through_json(tmp_path):
    config = TrainConfig(epochs=5, seed=7, train_limit=100, augment=True)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config.to_dict()))
    assert TrainConfig.load(path) == config


def test_is_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().epochs = 4  # type: ignore[misc]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("epochs", 0, "epochs must be an integer >= 1, got 0"),
        ("batch_size", 2.5, "batch_size must be an integer"),
        ("validation_split", 1.0, r"validation_split must be in \[0, 1\), got 1.0"),
        ("precision", "fp8", "precision must be one of"),
        ("model", "vgg", "unknown model 'vgg'"),
        ("learning_rate", -1.0, "learning_rate must be > 0"),
        ("train_limit", 0, "train_limit must be an integer >= 1"),
    ],
)
def test_bad_values_are_named(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{field: value})


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match="unknown config keys: colour"):
        TrainConfig.from_dict({"colour": "red"})
