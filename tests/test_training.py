"""End-to-end training on a real MNIST subset, and the run directory it writes."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from mnist_cnn.config import TrainConfig
from mnist_cnn.errors import ConfigError
from mnist_cnn.training import trainer


@pytest.mark.slow
def test_model_learned_on_held_out_data(trained_run):
    # 6,000 training images, 2 epochs, 2,000 held-out test images.
    assert trained_run.metrics["test_accuracy"] > 0.90
    assert trained_run.metrics["val_accuracy"] > 0.90
    assert trained_run.history["loss"][-1] < trained_run.history["loss"][0]


@pytest.mark.slow
def test_run_directory_has_every_artifact(trained_run):
    run = trained_run.run_dir
    expected = {
        "model.keras",
        "config.json",
        "history.json",
        "history.csv",
        "metrics.json",
        "learning_curves.png",
        "samples.png",
    }
    assert expected <= {p.name for p in run.iterdir()}
    assert (run.parent / "latest").resolve() == run.resolve()
    assert not [p for p in run.parent.iterdir() if p.name.startswith(".")]

    config = TrainConfig.load(run / "config.json")
    assert config == trained_run.config

    metrics = json.loads((run / "metrics.json").read_text())
    for key in (
        "test_loss",
        "test_accuracy",
        "epochs",
        "seconds_per_epoch",
        "train_seconds",
        "backend",
        "versions",
        "seed",
    ):
        assert key in metrics, key
    assert len(metrics["seconds_per_epoch"]) == metrics["epochs"] == 2
    assert metrics["n_train"] == 4800 and metrics["n_validation"] == 1200

    history = json.loads((run / "history.json").read_text())
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    rows = list(csv.DictReader((run / "history.csv").read_text().splitlines()))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert float(rows[1]["val_accuracy"]) == pytest.approx(history["val_accuracy"][1])

    for png in ("learning_curves.png", "samples.png"):
        assert (run / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_saved_model_loads_in_plain_keras_and_predicts_the_same(trained_run, tmp_path):
    x = np.random.default_rng(0).random((16, 28, 28, 1), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    # A fresh interpreter that never imports mnist_cnn: the artifact stands alone.
    script = (
        "import sys, numpy as np, keras\n"
        "m = keras.saving.load_model(sys.argv[1])\n"
        "assert 'mnist_cnn' not in sys.modules\n"
        "np.save(sys.argv[3], m.predict(np.load(sys.argv[2]), verbose=0))\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            str(trained_run.run_dir / "model.keras"),
            str(tmp_path / "x.npy"),
            str(tmp_path / "y.npy"),
        ],
        check=True,
        capture_output=True,
    )
    expected = trained_run.model.predict(x, verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_saved_model_is_float32_with_the_tutorial_layers(trained_run):
    import keras

    model = keras.saving.load_model(trained_run.run_dir / "model.keras")
    assert model.dtype_policy.name == "float32"
    assert model.count_params() == 1_199_882
    # Adam's state travels with the model, so training can resume.
    assert int(model.optimizer.iterations.numpy()) == 2 * 38


def test_validation_split_takes_the_end_like_keras():
    x = np.arange(10)
    (x_train, _), (x_val, _) = trainer.split_validation(x, x, 0.2)
    assert x_train.tolist() == list(range(8)) and x_val.tolist() == [8, 9]
    (x_train, _), (x_val, _) = trainer.split_validation(x, x, 0.0)
    assert len(x_train) == 10 and len(x_val) == 0


@pytest.mark.slow
def test_explicit_validation_set_and_no_save(mnist_test):
    x, y = mnist_test
    data = ((x[:512], y[:512]), (x[512:640], y[512:640]))
    result = trainer.train(
        TrainConfig(epochs=1, precision="float32"),
        data=data,
        validation_data=(x[1000:1100], y[1000:1100]),
        save=False,
        verbose=0,
        log=lambda line: None,
    )
    assert result.run_dir is None
    assert result.metrics["n_train"] == 512 and result.metrics["n_validation"] == 100
    assert result.metrics["precision"] == "float32"


@pytest.mark.slow
def test_same_seed_same_model(mnist_test):
    x, y = mnist_test
    data = ((x[:256], y[:256]), (x[256:320], y[256:320]))
    config = TrainConfig(epochs=1, precision="float32", seed=3)
    runs = [
        trainer.train(config, data=data, save=False, verbose=0, log=lambda line: None)
        for _ in range(2)
    ]
    for a, b in zip(runs[0].model.get_weights(), runs[1].model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_failed_save_leaves_no_run_behind(mnist_test, tmp_path, monkeypatch):
    x, y = mnist_test
    data = ((x[:256], y[:256]), (x[256:320], y[256:320]))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(trainer.plots, "save_samples", broken)
    with pytest.raises(OSError, match="disk full"):
        trainer.train(
            TrainConfig(epochs=1, out_dir=str(tmp_path)),
            data=data,
            verbose=0,
            log=lambda line: None,
        )
    # No run is published; only the hidden staging folder with its checkpoint
    # stays, to resume from (tests/test_resume.py).
    (staging,) = tmp_path.iterdir()
    assert staging.name.startswith(".staging-") and (staging / "checkpoint.npz").is_file()


def test_history_csv_numbers_epochs_from_one(tmp_path):
    path = tmp_path / "history.csv"
    trainer.write_history_csv({"loss": [0.5, 0.25], "accuracy": [0.9, 0.95]}, path)
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert [(r["epoch"], r["loss"], r["accuracy"]) for r in rows] == [
        ("1", "0.5", "0.9"),
        ("2", "0.25", "0.95"),
    ]


@pytest.mark.slow
def test_interrupted_training_keeps_its_history_so_far(mnist_test, tmp_path, monkeypatch):
    """keras.callbacks.CSVLogger writes each epoch as it ends, so a crash keeps them."""
    x, y = mnist_test
    data = ((x[:256], y[:256]), (x[256:320], y[256:320]))

    def interrupt_after_the_first_epoch(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer.EpochTimer, "on_epoch_end", interrupt_after_the_first_epoch)
    lines = []
    with pytest.raises(KeyboardInterrupt):
        trainer.train(
            TrainConfig(epochs=3, out_dir=str(tmp_path)), data=data, verbose=0, log=lines.append
        )
    (staging,) = tmp_path.glob(".staging-*")
    rows = list(csv.DictReader((staging / "history.csv").read_text().splitlines()))
    assert [r["epoch"] for r in rows] == ["1"] and float(rows[0]["loss"]) > 0
    assert f"its history so far is in {staging / 'history.csv'}" in lines[-1]
    assert not (tmp_path / "latest").exists()  # No run was published.


@pytest.mark.slow
def test_recipe_fast_learns_on_a_subset_and_prints_accuracy_and_seconds(tmp_path, capsys):
    from mnist_cnn import cli

    flags = ["--train-limit", "6000", "--test-limit", "1000", "--verbose", "0", "--no-report"]
    assert cli.main(["train", "--recipe", "fast", *flags, "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    run = (tmp_path / "latest").resolve()
    metrics = json.loads((run / "metrics.json").read_text())
    # One epoch over 6,000 images (no validation split in this recipe).
    assert metrics["n_train"] == 6000 and metrics["n_validation"] == 0
    assert metrics["test_accuracy"] > 0.9
    assert f"Test accuracy: {metrics['test_accuracy']:.4f}" in out
    assert "Training took" in out
    saved = TrainConfig.load(run / "config.json")
    assert saved == TrainConfig.from_recipe(
        "fast",
        **{
            "train_limit": 6000,
            "test_limit": 1000,
            "precision": saved.precision,
            "steps_per_execution": saved.steps_per_execution,
            "data_dir": saved.data_dir,
            "out_dir": saved.out_dir,
        },
    )
    assert saved.precision != "auto"  # resolved


def test_onecycle_warms_up_to_the_peak_then_decays_to_zero():
    config = TrainConfig.from_recipe("fast")
    schedule = trainer.learning_rate_schedule(config, total_steps=100)
    rates = [float(schedule(step)) for step in range(101)]
    assert rates[0] == pytest.approx(0.01 / 25)
    assert max(rates) == pytest.approx(0.01) and rates.index(max(rates)) == 30
    assert all(a <= b for a, b in zip(rates[:30], rates[1:31], strict=True))
    assert all(a >= b for a, b in zip(rates[30:-1], rates[31:], strict=True))
    assert rates[100] < 1e-6
    assert trainer.learning_rate_schedule(TrainConfig(), 100) == 0.001  # constant


def test_uint8_pipeline_orders_each_epoch_from_the_seed_and_epoch():
    x = np.arange(250, dtype=np.uint8)[:, None, None].repeat(28, 1).repeat(28, 2)
    y = np.arange(250) % 10
    batches, validation, epoch_order = trainer.uint8_datasets((x, y), (x[:50], y[:50]), 64, seed=1)

    def order(epoch):
        epoch_order.on_epoch_begin(epoch)
        pairs = [(images.numpy()[:, 0, 0, 0], labels.numpy()) for images, labels in batches]
        assert [len(values) for values, _ in pairs] == [64, 64, 64, 58]
        for values, labels in pairs:  # each image with its own one-hot label
            assert np.array_equal(labels.argmax(1), values % 10)
        return np.concatenate([values for values, _ in pairs])

    first, second = order(0), order(1)
    assert sorted(first) == list(range(250)) == sorted(second)
    assert not np.array_equal(first, second)
    assert np.array_equal(order(0), first)  # the same epoch, the same order
    images, labels = next(iter(validation))
    assert images.dtype.name == "uint8" and images.shape == (50, 28, 28, 1)
    assert np.array_equal(labels.numpy().argmax(1), y[:50])


def test_accuracy_metric_counts_like_keras_over_several_batches():
    import keras

    rng = np.random.default_rng(0)
    ours, theirs = trainer.Accuracy(), keras.metrics.CategoricalAccuracy()
    for size in (7, 50, 1):
        labels = np.eye(10, dtype="float32")[rng.integers(0, 10, size)]
        scores = rng.random((size, 10)).astype("float32")
        scores[: size // 2] += 2 * labels[: size // 2]  # about half right
        ours.update_state(labels, scores)
        theirs.update_state(labels, scores)
    assert 0.4 < float(ours.result()) < 0.8
    assert float(ours.result()) == pytest.approx(float(theirs.result()))
    ours.reset_state()
    assert float(ours.result()) == 0.0


def test_label_smoothing_reaches_the_loss_and_is_checked():
    fast = TrainConfig.from_recipe("fast")
    assert fast.label_smoothing == 0.1 and TrainConfig().label_smoothing == 0.0
    fit_model, _ = trainer.build_training_model(fast, "float32", steps_per_epoch=10)
    labels = np.eye(10, dtype="float32")[[3]]
    sure = labels * 0.999 + 0.0001  # confident and right: little loss only without smoothing
    smoothed = float(fit_model.loss(labels, sure))
    plain = float(trainer.build_training_model(TrainConfig(), "float32")[0].loss(labels, sure))
    assert plain < 0.01 < smoothed
    with pytest.raises(ConfigError, match="label_smoothing must be in"):
        TrainConfig.from_recipe("fast", label_smoothing=1.0)


def test_a_model_fit_trained_directly_is_saved_compiled_as_the_tutorial_compiles(tmp_path):
    """Without the uint8 wrapper (augmented batches, other backends) fit trains the
    architecture itself, compiled with smoothing and our metric; the saved copy must
    still load in plain Keras."""
    import keras

    config = TrainConfig.from_recipe("fast", precision="float32")
    fit_model, model = trainer.build_training_model(config, "float32", uint8_input=False)
    assert fit_model is model
    x = np.random.default_rng(0).random((8, 28, 28, 1), dtype=np.float32)
    fit_model.fit(x, np.eye(10, dtype="float32")[np.arange(8)], epochs=1, verbose=0)
    saved = trainer.float32_copy(model, config.model)
    path = tmp_path / "model.keras"
    saved.save(path)
    loaded = keras.saving.load_model(path)
    assert [m.name for m in loaded.metrics] == ["loss", "compile_metrics"]
    expected = saved.predict(x, verbose=0)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), expected, atol=1e-6)
