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
        ("dataset", "emnist", "dataset must be one of mnist, fashion-mnist, idx"),
        ("dataset", "idx", "dataset idx needs its folder: add --data-dir FOLDER"),
        ("flagged_ones", 1.5, r"flagged_ones must be in \[0, 1\], got 1.5"),
        ("flagged_ones", 0.5, "flagged_ones needs augment"),
    ],
)
def test_bad_values_are_named(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{field: value})


def test_unknown_keys_are_rejected():
    with pytest.raises(ConfigError, match="unknown config keys: colour"):
        TrainConfig.from_dict({"colour": "red"})


def test_old_config_files_with_extra_still_load():
    """Configs saved before ``extra`` was removed hold ``"extra": {}``."""
    data = {**TrainConfig(epochs=2).to_dict(), "extra": {}}
    assert TrainConfig.from_dict(data) == TrainConfig(epochs=2)


def test_every_field_is_a_flag_with_its_default_and_help():
    import dataclasses

    from mnist_cnn import cli
    from mnist_cnn.cli import config_flags

    parser = cli.build_parser()
    args = parser.parse_args(["train"])
    assert config_flags.train_config_from_args(args) == TrainConfig()
    train = parser._subparsers._group_actions[0].choices["train"]
    by_dest = {a.dest: a for a in train._actions}
    for field in dataclasses.fields(TrainConfig):
        action = by_dest[field.name]
        assert action.help and action.help.startswith(field.metadata["help"]), field.name
        default = field.default
        if default is dataclasses.MISSING:
            default = field.default_factory()
        assert action.default == default
    assert by_dest["out_dir"].option_strings == ["--runs-dir", "--out"]
    assert "--real-inputs" in by_dest["real_inputs"].option_strings


def test_a_new_config_field_is_a_new_flag():
    """Adding an option is one field: the flag, its type, default and help follow."""
    import argparse
    import dataclasses

    from mnist_cnn.cli import config_flags

    @dataclasses.dataclass(frozen=True)
    class Config:
        warmup_epochs: int = dataclasses.field(default=2, metadata={"help": "warm-up"})
        label_smoothing: float | None = dataclasses.field(default=None, metadata={"help": "s"})
        mixup: bool = dataclasses.field(default=False, metadata={"help": "mix images"})

    parser = argparse.ArgumentParser()
    config_flags.add_config_arguments(parser, Config)
    args = parser.parse_args(["--warmup-epochs", "5", "--label-smoothing", "0.1", "--mixup"])
    assert (args.warmup_epochs, args.label_smoothing, args.mixup) == (5, 0.1, True)
    assert args._given == {"warmup_epochs", "label_smoothing", "mixup"}
    defaults = parser.parse_args([])
    assert (defaults.warmup_epochs, defaults.label_smoothing, defaults.mixup) == (2, None, False)
    assert "(default: 2)" in parser.format_help()


def test_recipes_resolve_to_their_settings_with_overrides_on_top():
    from mnist_cnn.config import RECIPES

    assert TrainConfig.from_recipe("tutorial") == TrainConfig()
    fast = TrainConfig.from_recipe("fast", epochs=2)
    assert (fast.recipe, fast.model, fast.batch_size, fast.schedule) == (
        "fast",
        "fast",
        256,
        "onecycle",
    )
    assert (fast.learning_rate, fast.adam_beta_1, fast.adam_beta_2) == (0.01, 0.7, 0.9)
    assert fast.epochs == 2  # the override wins over the recipe's 1
    robust = TrainConfig.from_recipe("robust")
    assert robust.augment and robust.real_inputs == 0.4 and robust.model == "robust"
    for name in RECIPES:  # each saves and reloads as itself
        config = TrainConfig.from_recipe(name)
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ConfigError, match="unknown recipe 'quick'.*fast"):
        TrainConfig.from_recipe("quick")
    with pytest.raises(ConfigError, match="adam_beta_1 must be in"):
        TrainConfig.from_recipe("fast", adam_beta_1=1.5)


def test_recipe_flag_starts_from_the_recipe_and_given_flags_override_it(capsys):
    from mnist_cnn import cli
    from mnist_cnn.cli import config_flags

    parser = cli.build_parser()
    args = parser.parse_args(["train", "--recipe", "fast", "--seed", "7", "--batch-size", "128"])
    config = config_flags.train_config_from_args(args)
    assert config == TrainConfig.from_recipe("fast", seed=7, batch_size=128)
    # Without --recipe, the defaults are the tutorial's, labelled so.
    assert config_flags.train_config_from_args(parser.parse_args(["train"])).recipe == "tutorial"
    args = parser.parse_args(["train", "--recipe", "fast", "--config", "run/config.json"])
    with pytest.raises(ConfigError, match="--recipe and --config"):
        config_flags.train_config_from_args(args)

    assert cli.main(["recipes"]) == 0
    out = capsys.readouterr().out
    assert "mnist-cnn train --recipe fast" in out and "--schedule onecycle" in out
    assert "--augment --real-inputs 0.4" in out  # booleans as flags, not "True"
    assert cli.main(["recipes", "fast", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert TrainConfig.from_dict(listed["fast"]) == TrainConfig.from_recipe("fast")
    assert cli.main(["recipes", "slow"]) != 0
    assert "unknown recipe 'slow'" in capsys.readouterr().err
