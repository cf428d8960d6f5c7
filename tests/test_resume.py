"""Checkpoints and ``train --resume``: an interrupted training continues to the same run."""

import csv
import json

import numpy as np
import pytest

from mnist_cnn import cli
from mnist_cnn.config import TrainConfig
from mnist_cnn.errors import ConfigError, ModelError
from mnist_cnn.training import checkpoint, trainer


def _quiet(line: str) -> None:
    pass


def _rows(path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text().splitlines()))


def _stagings(out) -> list:
    return sorted(out.glob(".staging-*"))


def _assert_same_weights(a, b) -> None:
    for x, y in zip(a.get_weights(), b.get_weights(), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6)


@pytest.fixture
def data(mnist_test):
    x, y = mnist_test
    return (x[:384], y[:384]), (x[384:448], y[384:448])


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_run_an_uninterrupted_one_makes(
    data, tmp_path, monkeypatch
):
    """Ctrl-C while epoch 2's checkpoint is written: epoch 1's stays, and resuming
    gives the uninterrupted run's files, history and weights.

    The weights are equal because the checkpoint restores every model and
    optimizer variable (the dropout seeds and the iteration count of the
    cosine schedule included), and the data order comes from the seed. If a
    change to the input pipeline makes the order depend on how many epochs ran
    in this process, this test fails: the checkpoint must then save that state.
    """
    config = TrainConfig(epochs=2, seed=4, schedule="cosine", out_dir=str(tmp_path / "a"))
    reference = trainer.train(config, data=data, verbose=0, log=_quiet)

    out = tmp_path / "b"
    real_savez = np.savez

    def savez_interrupted_in_epoch_2(path, **arrays):
        if json.loads(str(arrays["state"]))["epoch"] == 2:
            path.write_bytes(b"half a checkpoint")
            raise KeyboardInterrupt
        real_savez(path, **arrays)

    monkeypatch.setattr(checkpoint.np, "savez", savez_interrupted_in_epoch_2)
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config.replace(out_dir=str(out)), data=data, verbose=0, log=lines.append)
    monkeypatch.undo()
    (staging,) = _stagings(out)
    assert lines[-1] == (
        f"Interrupted after epoch 1 of 2; its history so far is in {staging / 'history.csv'}. "
        f"Resume with: mnist-cnn train --resume {staging}"
    )
    # The write was atomic: epoch 1's checkpoint, no temporary file, no published run.
    assert sorted(p.name for p in staging.iterdir()) == [
        "checkpoint.npz",
        "config.json",
        "history.csv",
    ]
    with np.load(staging / "checkpoint.npz") as npz:
        assert json.loads(str(npz["state"]))["epoch"] == 1
    assert [p.name for p in out.iterdir()] == [staging.name]

    lines.clear()
    result = trainer.train(data=data, verbose=0, log=lines.append, resume=staging)
    run = result.run_dir
    assert run.name == staging.name.removeprefix(".staging-").rsplit("-", 1)[0]
    assert sorted(p.name for p in out.iterdir()) == sorted(["latest", run.name])  # no staging
    assert (out / "latest").resolve() == run.resolve()
    assert sorted(p.name for p in run.iterdir()) == sorted(
        p.name for p in reference.run_dir.iterdir()
    )
    assert "checkpoint.npz" not in {p.name for p in run.iterdir()}

    assert result.config == reference.config.replace(out_dir=str(out))
    assert [r["epoch"] for r in _rows(run / "history.csv")] == ["1", "2"]
    history = json.loads((run / "history.json").read_text())
    assert set(history) == set(reference.history)
    for key, values in reference.history.items():
        assert history[key] == pytest.approx(values, rel=1e-5)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and len(metrics["seconds_per_epoch"]) == 2
    assert metrics["val_accuracy"] == history["val_accuracy"][-1]
    iterations = [int(np.asarray(r.model.optimizer.iterations)) for r in (result, reference)]
    assert iterations[0] == iterations[1] == 2 * 3  # 2 epochs of 3 batches of 128
    _assert_same_weights(result.model, reference.model)


@pytest.mark.slow
def test_augmented_batches_resume_where_they_stopped(data, tmp_path, monkeypatch):
    """With --augment the batches' random state is in the checkpoint too."""
    x, y = data[0]
    data = ((x[:160], y[:160]), (x[:0], y[:0]))
    config = TrainConfig(
        epochs=2, seed=2, augment=True, real_inputs=0.2, out_dir=str(tmp_path / "a")
    )
    reference = trainer.train(config, data=data, verbose=0, log=_quiet, report=False)

    def interrupt_in_epoch_2(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(trainer.EpochTimer, "on_epoch_begin", interrupt_in_epoch_2)
    out = tmp_path / "b"
    with pytest.raises(KeyboardInterrupt):
        trainer.train(config.replace(out_dir=str(out)), data=data, verbose=0, log=_quiet)
    monkeypatch.undo()
    (staging,) = _stagings(out)
    result = trainer.train(data=data, verbose=0, log=_quiet, report=False, resume=staging)
    assert len(result.history["loss"]) == 2
    _assert_same_weights(result.model, reference.model)


@pytest.mark.slow
def test_cli_resume_with_the_command_it_prints(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    flags = ["--train-limit", "320", "--test-limit", "64", "--epochs", "2", "--seed", "3"]

    def interrupt_in_epoch_2(self, epoch, logs=None):
        if epoch == 1:
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(trainer.EpochTimer, "on_epoch_begin", interrupt_in_epoch_2)
        assert cli.main(["train", *flags, "--verbose", "0"]) == 130
    out = capsys.readouterr().out
    (staging,) = _stagings(tmp_path / "runs")
    command = f"mnist-cnn train --resume runs/{staging.name}"
    assert f"Interrupted after epoch 1 of 2; its history so far is in runs/{staging.name}" in out
    assert out.rstrip().endswith(command)

    # Flags given with --resume must be the run's own: a different one is named.
    assert cli.main(["train", "--resume", f"runs/{staging.name}", "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: resuming runs/") and "epochs 3 (the run has 2)" in err

    # The run it would have become names it too; the same flags are accepted.
    name = staging.name.removeprefix(".staging-").rsplit("-", 1)[0]
    args = ["train", "--resume", f"runs/{name}", "--epochs", "2", "--verbose", "0"]
    assert cli.main([*args, "--no-report"]) == 0
    out = capsys.readouterr().out
    assert f"Run: runs/{name}  (also runs/latest)" in out
    run = tmp_path / "runs" / name
    assert [r["epoch"] for r in _rows(run / "history.csv")] == ["1", "2"]
    assert json.loads((run / "metrics.json").read_text())["n_train"] == 256
    assert json.loads((run / "config.json").read_text())["train_limit"] == 320
    assert _stagings(tmp_path / "runs") == []

    # A finished run has nothing to resume.
    assert cli.main(["train", "--resume", f"runs/{name}"]) == 2
    assert "is a finished run; there is nothing to resume" in capsys.readouterr().err


@pytest.mark.slow
def test_a_failed_save_keeps_the_checkpoint_and_resuming_saves(data, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    config = TrainConfig(epochs=1, seed=1, out_dir=str(tmp_path))
    lines: list[str] = []
    with monkeypatch.context() as patch:
        patch.setattr(trainer.plots, "save_samples", broken)
        with pytest.raises(OSError, match="disk full"):
            trainer.train(config, data=data, verbose=0, log=lines.append, report=False)
    (staging,) = _stagings(tmp_path)
    assert lines[-1].startswith("Training stopped after the last epoch (1), before the run was")
    assert lines[-1].endswith(f"Resume with: mnist-cnn train --resume {staging}")
    assert not (tmp_path / "latest").exists()

    result = trainer.train(data=data, verbose=0, log=_quiet, report=False, resume=staging)
    assert (result.run_dir / "samples.png").is_file()
    assert len(result.history["loss"]) == 1 and result.metrics["epochs"] == 1
    assert _stagings(tmp_path) == []


def test_interruption_in_the_first_epoch_leaves_nothing(data, tmp_path, monkeypatch):
    def interrupt(self, epoch, logs=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer.EpochTimer, "on_epoch_begin", interrupt)
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        trainer.train(TrainConfig(out_dir=str(tmp_path)), data=data, verbose=0, log=lines.append)
    assert lines[-1] == "Interrupted during the first epoch; there is nothing to resume"
    assert list(tmp_path.iterdir()) == []


def _staging(parent, *, config: bool = True, checkpoint_file: bool = True):
    staging = parent / ".staging-20250101-120000-baseline-99"
    staging.mkdir(parents=True)
    if config:
        (staging / "config.json").write_text(
            json.dumps(trainer.resolve_config(TrainConfig(epochs=2), find_data=False).to_dict())
        )
    if checkpoint_file:
        (staging / "checkpoint.npz").write_bytes(b"")
    return staging


def test_resume_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(ModelError, match="no such folder"):
        checkpoint.resume_config(tmp_path / "nowhere")
    staging = _staging(tmp_path / "runs")
    with pytest.raises(ModelError, match=rf"not the staging folder.*resumable there: {staging}"):
        checkpoint.resume_config(tmp_path / "runs")

    finished = tmp_path / "runs" / "20250101-110000-baseline"
    finished.mkdir()
    (finished / "model.keras").write_bytes(b"")
    with pytest.raises(ModelError, match="is a finished run.*--config .*config.json --epochs N"):
        checkpoint.resume_config(finished)

    early = _staging(tmp_path / "early", checkpoint_file=False)
    with pytest.raises(ModelError, match="has no checkpoint: the training stopped before"):
        checkpoint.resume_config(early)

    # The run it would have become finds the staging folder.
    assert checkpoint.resume_config(tmp_path / "runs" / "20250101-120000-baseline").epochs == 2
    with pytest.raises(ConfigError, match=r"these differ: epochs 3 \(the run has 2\), seed 7"):
        checkpoint.resume_config(staging, TrainConfig(epochs=3, seed=7))
    assert checkpoint.resume_config(staging, TrainConfig(epochs=2, data_dir="elsewhere")).data_dir
    with pytest.raises(ConfigError, match="save=False"):
        trainer.train(save=False, resume=staging)


def test_cli_resume_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    _staging(tmp_path / "runs", checkpoint_file=False)
    assert cli.main(["train", "--resume", "runs"]) == 2
    assert "is not the staging folder of an interrupted 'mnist-cnn train'" in (
        capsys.readouterr().err
    )
    assert cli.main(["train", "--resume", "runs/20250101-120000-baseline", "--seed", "9"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no checkpoint" in err
    assert "mnist-cnn train --config runs/.staging-20250101-120000-baseline-99/config.json" in err
