"""Every CLI verb, for real, on tiny data; errors are one line, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_cnn import cli, models


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_packaged_model(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "default_model_path", lambda: tmp_path / "absent.keras")


def test_train_writes_a_run(in_tmp, capsys):
    code = cli.main(
        [
            "train",
            "--train-limit",
            "640",
            "--test-limit",
            "200",
            "--epochs",
            "1",
            "--seed",
            "5",
            "--verbose",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Train Data : X=(640, 28, 28) Y=(640,)" in out
    assert "Train on 512 samples, validate on 128 samples" in out
    assert "Test accuracy:" in out
    latest = in_tmp / "runs" / "latest"
    assert (latest / "model.keras").is_file()
    assert json.loads((latest / "config.json").read_text())["seed"] == 5


def test_evaluate_prints_a_table_and_writes_json(trained_run, in_tmp, capsys):
    code = cli.main(["evaluate", str(trained_run.run_dir), "--limit", "500"])
    out = capsys.readouterr().out
    assert code == 0
    assert "test_accuracy" in out and "test_loss" in out
    result = json.loads((trained_run.run_dir / "evaluation.json").read_text())
    assert result["n_test"] == 500
    assert 0.85 < result["test_accuracy"] <= 1.0
    assert sum(map(sum, result["confusion_matrix"])) == 500


def test_predict_json_lines(trained_run, digit_pngs, capsys):
    paths, labels = digit_pngs
    code = cli.main(["predict", str(trained_run.run_dir), "--raw", "--json", *map(str, paths)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    records = [json.loads(line) for line in lines]
    assert [r["file"] for r in records] == [str(p) for p in paths]
    for record in records:
        assert set(record) >= {"file", "digit", "probability", "top3"}
        assert record["top3"][0]["digit"] == record["digit"]
    assert sum(r["digit"] == label for r, label in zip(records, labels, strict=True)) >= 4


def test_predict_uses_runs_latest(trained_run, digit_pngs, monkeypatch, capsys):
    monkeypatch.chdir(trained_run.run_dir.parent.parent)
    runs_name = trained_run.run_dir.parent.name
    monkeypatch.setattr(
        cli,
        "_load_predictor",
        lambda model: __import__("mnist_cnn.inference").inference.Predictor.load(
            model, runs_dir=runs_name
        ),
    )
    paths, _ = digit_pngs
    assert cli.main(["predict", "--raw", str(paths[0])]) == 0
    assert f"{paths[0]}:" in capsys.readouterr().out


def test_predict_without_any_model_says_what_to_do(in_tmp, digit_pngs, no_packaged_model, capsys):
    paths, _ = digit_pngs
    assert cli.main(["predict", str(paths[0])]) == 2
    err = capsys.readouterr().err
    assert "error: no model given" in err and "mnist-cnn train" in err


def test_predict_bad_file_does_not_stop_the_others(trained_run, digit_pngs, tmp_path, capsys):
    paths, _ = digit_pngs
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    code = cli.main(
        ["predict", str(trained_run.run_dir), "--raw", str(bad), str(paths[0]), "missing.png"]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "notes.png" in captured.err and "missing.png: no such file" in captured.err
    assert f"{paths[0]}:" in captured.out
    assert "Traceback" not in captured.err


def test_predict_accepts_folders_and_globs(trained_run, digit_pngs, capsys):
    paths, _ = digit_pngs
    folder = paths[0].parent
    assert cli.main(["predict", str(trained_run.run_dir), "--raw", "--json", str(folder)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 5
    pattern = str(folder / "digit[01]_*.png")
    assert cli.main(["predict", str(trained_run.run_dir), "--raw", "--json", pattern]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 2


def test_evaluate_missing_model_is_one_line(in_tmp, capsys):
    assert cli.main(["evaluate", "nowhere/model.keras"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "error: no model or run directory at nowhere/model.keras"


def test_samples_and_env(in_tmp, capsys):
    assert cli.main(["samples", "--out", "grid.png"]) == 0
    assert "labels: 5 0 4 1 9 2 1 3 1" in capsys.readouterr().out
    assert (in_tmp / "grid.png").read_bytes()[:4] == b"\x89PNG"
    assert cli.main(["env", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["versions"]["keras"] and report["cpu"]["logical_cpus"] >= 1


def test_bad_data_dir_is_one_line(in_tmp, capsys):
    assert cli.main(["samples", "--data-dir", str(in_tmp)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(in_tmp) in err and "Traceback" not in err


def test_console_script_is_installed():
    exe = Path(sys.executable).with_name("mnist-cnn")
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    for verb in ("train", "evaluate", "predict", "read", "samples", "env"):
        assert verb in proc.stdout


def test_bad_flag_value_is_reported_by_argparse(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "--epochs", "three"])
    assert exc.value.code == 2
    assert "invalid int value: 'three'" in capsys.readouterr().err


def test_invalid_config_is_one_line(in_tmp, capsys):
    assert cli.main(["train", "--epochs", "0"]) == 2
    assert capsys.readouterr().err.strip() == "error: epochs must be an integer >= 1, got 0"
    assert not os.path.exists("runs")
