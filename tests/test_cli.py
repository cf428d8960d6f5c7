"""Every CLI verb, for real, on tiny data; errors are one line, never a traceback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_cnn import cli
from mnist_cnn.cli.config_flags import train_config_from_args
from mnist_cnn.models import registry


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def no_packaged_model(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "default_model_path", lambda: tmp_path / "absent.keras")


@pytest.mark.slow
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


@pytest.mark.slow
def test_evaluate_prints_a_table_and_writes_json(trained_run, in_tmp, capsys):
    code = cli.main(["evaluate", str(trained_run.run_dir), "--limit", "500"])
    out = capsys.readouterr().out
    assert code == 0
    assert "test_accuracy" in out and "test_loss" in out
    result = json.loads((trained_run.run_dir / "evaluation.json").read_text())
    assert result["n_test"] == 500
    assert 0.85 < result["test_accuracy"] <= 1.0
    assert sum(map(sum, result["confusion_matrix"])) == 500


@pytest.mark.slow
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


@pytest.mark.slow
def test_predict_uses_runs_latest(trained_run, digit_pngs, monkeypatch, capsys):
    monkeypatch.chdir(trained_run.run_dir.parent.parent)
    runs_name = trained_run.run_dir.parent.name
    paths, _ = digit_pngs
    assert cli.main(["predict", "--runs-dir", runs_name, "--raw", str(paths[0])]) == 0
    captured = capsys.readouterr()
    assert f"{paths[0]}:" in captured.out
    assert str(trained_run.run_dir.name) in captured.err  # model: .../<run>/model.keras
    monkeypatch.setenv("MNIST_CNN_RUNS", runs_name)
    assert cli.main(["predict", "--raw", str(paths[0])]) == 0
    assert str(trained_run.run_dir.name) in capsys.readouterr().err


def test_predict_without_any_model_says_what_to_do(in_tmp, digit_pngs, no_packaged_model, capsys):
    paths, _ = digit_pngs
    assert cli.main(["predict", str(paths[0])]) == 2
    err = capsys.readouterr().err
    assert "error: no model given" in err and "mnist-cnn train" in err


@pytest.mark.slow
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


@pytest.mark.slow
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


@pytest.mark.slow
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


# ------------------------------------------------------------------ real images


@pytest.fixture
def photo_and_bad_files(tmp_path, mnist_test):
    """A photo-like digit (dark ink on grey paper, 300x300) and one file of every bad kind."""
    import numpy as np
    from PIL import Image

    from helpers import png_header
    from mnist_cnn.vision.variants import PHOTO_VARIANTS

    scaled_300 = PHOTO_VARIANTS["scaled_300"]

    x, y = mnist_test
    photo = tmp_path / "photo.jpg"
    Image.fromarray(scaled_300(x[0], None)).convert("RGB").save(photo, quality=85)
    bad = {
        "text.png": b"this is not an image",
        "bomb.png": png_header(50_000, 50_000),
        "zero.png": png_header(0, 0),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    truncated = photo.read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(truncated[: len(truncated) // 3])
    Image.fromarray(np.full((200, 300), 235, np.uint8)).save(tmp_path / "blank.png")
    names = ["text.png", "bomb.png", "zero.png", "truncated.jpg", "blank.png"]
    return photo, int(y[0]), [tmp_path / n for n in names]


@pytest.mark.slow
def test_predict_photo_with_every_kind_of_bad_input(
    trained_run, photo_and_bad_files, tmp_path, capsys
):
    photo, label, bad = photo_and_bad_files
    preview = tmp_path / "preview.png"
    args = ["predict", str(trained_run.run_dir), "--json", "--preview", str(preview)]
    code = cli.main([*args, *map(str, bad), str(photo)])
    captured = capsys.readouterr()
    assert code == 1
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["file"] for line in lines] == [str(photo)]
    assert lines[0]["digit"] == label
    assert len(lines[0]["top3"]) == 3
    errors = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(errors) == len(bad)
    for path, message in zip(bad, errors, strict=True):
        assert path.name in message
    assert "too large" in captured.err and "no digit" in captured.err
    assert "Traceback" not in captured.err
    assert preview.exists()


@pytest.mark.slow
def test_predict_flags_low_confidence(trained_run, photo_and_bad_files, capsys):
    photo, _, _ = photo_and_bad_files
    cli.main(["predict", str(trained_run.run_dir), "--min-confidence", "1.01", str(photo)])
    assert "(uncertain)" in capsys.readouterr().out


@pytest.mark.slow
def test_read_a_number(trained_run, mnist_test, tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from mnist_cnn.data.synthetic import compose_number

    x, y = mnist_test
    index = [3, 1, 4, 7]  # well-written test digits: 0 2 4 9
    image = tmp_path / "number.png"
    number = compose_number(x[index], np.random.default_rng(1), gap=(0.2, 0.3))
    Image.fromarray(number.image).save(image)
    bad = tmp_path / "bad.png"
    bad.write_text("nope")
    preview = tmp_path / "boxes.png"
    run = str(trained_run.run_dir)
    code = cli.main(["read", run, "--json", "--preview", str(preview), str(bad), str(image)])
    captured = capsys.readouterr()
    assert code == 1
    (result,) = [json.loads(line) for line in captured.out.splitlines()]
    assert result["text"] == "".join(str(int(v)) for v in y[index])
    assert len(result["digits"]) == 4 and all(len(d["box"]) == 4 for d in result["digits"])
    assert "bad.png" in captured.err and "Traceback" not in captured.err
    assert (tmp_path / "boxes-2.png").exists()  # one preview per input, numbered
    # Without the segment verifier: the same well-spaced digits, same answer.
    assert cli.main(["read", run, "--no-verifier", str(image)]) == 0
    assert capsys.readouterr().out.split(": ")[1].split()[0] == result["text"]


@pytest.mark.slow
def test_packaged_model_works_without_training(tmp_path, mnist_test):
    """Right after install, with no runs/ anywhere, predict uses the shipped model."""
    from PIL import Image

    from mnist_cnn.vision.variants import PHOTO_VARIANTS

    scaled_300 = PHOTO_VARIANTS["scaled_300"]

    if not registry.default_model_path().exists():
        pytest.skip("no packaged model in this checkout")
    x, y = mnist_test
    files = []
    for i in range(5):
        files.append(tmp_path / f"d{i}.png")
        Image.fromarray(scaled_300(x[i], None)).save(files[-1])
    proc = subprocess.run(
        [sys.executable, "-m", "mnist_cnn", "predict", "--json", *map(str, files)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "weights/default.keras" in proc.stderr
    digits = [json.loads(line)["digit"] for line in proc.stdout.splitlines()]
    assert digits == [int(v) for v in y[:5]]


@pytest.mark.slow
def test_train_config_json_is_resolved_and_reruns(in_tmp, capsys):
    """config.json records what ran; train --config of it gives the same first epoch."""
    flags = ["--verbose", "0", "--no-report"]
    first = ["train", "--train-limit", "512", "--test-limit", "100", "--epochs", "1"]
    assert cli.main([*first, "--precision", "float32", "--seed", "4", *flags]) == 0
    run = (in_tmp / "runs" / "latest").resolve()
    saved = json.loads((run / "config.json").read_text())
    assert saved["precision"] == "float32"
    assert saved["steps_per_execution"] >= 1  # "auto" (0) resolved
    assert saved["data_dir"] and Path(saved["data_dir"]).is_dir()
    assert saved["mnist_cnn_version"]

    assert cli.main(["train", "--config", str(run / "config.json"), *flags]) == 0
    rerun = (in_tmp / "runs" / "latest").resolve()
    assert rerun != run
    assert json.loads((rerun / "config.json").read_text()) == saved
    loss = [json.loads((r / "history.json").read_text())["loss"][0] for r in (run, rerun)]
    assert loss[1] == pytest.approx(loss[0], abs=1e-3)


def test_train_flags_override_a_config_file(tmp_path):
    from mnist_cnn.config import TrainConfig

    path = tmp_path / "config.json"
    saved = TrainConfig(epochs=4, seed=8, augment=True, real_inputs=0.3, precision="float32")
    path.write_text(json.dumps({**saved.to_dict(), "mnist_cnn_version": "0.0.1"}))
    parser = cli.build_parser()
    args = parser.parse_args(["train", "--config", str(path), "--seed", "9", "--no-augment"])
    with pytest.raises(Exception, match="real_inputs needs augment"):
        train_config_from_args(args)
    args = parser.parse_args(["train", "--config", str(path), "--seed", "9", "--epochs", "3"])
    assert train_config_from_args(args) == saved.replace(seed=9, epochs=3)
    args = parser.parse_args(["train", "--config", str(path)])
    assert train_config_from_args(args) == saved


def _fake_run(runs_dir: Path) -> Path:
    """A run folder with a (dummy) model file, pointed at by ``runs_dir/latest``."""
    from mnist_cnn import runs

    run = runs_dir / "20260101-000000-baseline"
    run.mkdir(parents=True)
    (run / "model.keras").write_bytes(b"")
    (run / "config.json").write_text("{}")
    runs.point_latest(runs_dir, run)
    return run


def test_every_verb_that_finds_runs_takes_runs_dir():
    parser = cli.build_parser()
    for verb in ("train", "cv", "evaluate", "report", "predict", "read", "export", "serve"):
        args, _ = parser.parse_known_args([verb, "--runs-dir", "elsewhere", "x.png", "--out", "o"])
        value = args.out_dir if verb in ("train", "cv") else args.runs_dir
        assert value == ("o" if verb in ("train", "cv") else "elsewhere"), verb
    # train's --out is an alias of --runs-dir
    args = parser.parse_args(["train", "--runs-dir", "elsewhere"])
    assert train_config_from_args(args).out_dir == "elsewhere"


def test_mnist_cnn_runs_moves_the_default_runs_folder(tmp_path, monkeypatch):
    from mnist_cnn import inference
    from mnist_cnn.config import TrainConfig
    from mnist_cnn.evaluation import report

    monkeypatch.chdir(tmp_path)
    run = _fake_run(tmp_path / "elsewhere")
    assert inference.resolve_model_path(None, runs_dir="elsewhere").resolve() == (
        run / "model.keras"
    )
    monkeypatch.setenv("MNIST_CNN_RUNS", "elsewhere")
    assert TrainConfig().out_dir == "elsewhere"
    assert train_config_from_args(cli.build_parser().parse_args(["train"])).out_dir == (
        "elsewhere"
    )
    assert inference.resolve_model_path(None).resolve() == run / "model.keras"
    assert report.resolve_run_dir(None).resolve() == run
    monkeypatch.delenv("MNIST_CNN_RUNS")
    with pytest.raises(Exception, match="no run given and no runs/latest"):
        report.resolve_run_dir(None)


def test_evaluate_finds_latest_in_runs_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = _fake_run(tmp_path / "elsewhere")
    # The dummy model file is found (and then refused as not a Keras file).
    assert cli.main(["evaluate", "--runs-dir", "elsewhere"]) == 2
    assert f"{run.name}/model.keras is not a Keras model file" in capsys.readouterr().err


def _write_idx_folder(folder: Path, n_train: int, n_test: int, seed: int = 0) -> None:
    """The four MNIST-layout files of random 28x28 images and labels 0-9, gzip-compressed."""
    import numpy as np

    from helpers import write_idx

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for split, count in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, count, dtype=np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            write_idx(folder / f"{split}-{kind}-ubyte.gz", array)


@pytest.mark.slow
def test_train_on_fashion_mnist_records_it_and_names_the_classes(in_tmp, monkeypatch, capsys):
    import hashlib

    from mnist_cnn.data import catalog

    folder = in_tmp / "fashion"
    _write_idx_folder(folder, 96, 16)
    published = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    monkeypatch.setattr(catalog, "FASHION_MNIST_FILES", published)
    flags = ["--epochs", "1", "--verbose", "0", "--no-report", "--data-dir", str(folder)]
    # MNIST's checksums do not apply: without --dataset, the message says which flag to add.
    assert cli.main(["train", *flags]) == 2
    err = capsys.readouterr().err
    assert "--dataset fashion-mnist" in err and "delete" not in err.lower()

    assert cli.main(["train", "--dataset", "fashion-mnist", *flags]) == 0
    run = (in_tmp / "runs" / "latest").resolve()
    config = json.loads((run / "config.json").read_text())
    assert (config["dataset"], config["data_dir"]) == ("fashion-mnist", str(folder))
    assert json.loads((run / "evaluation.json").read_text())["data"]["dataset"] == "fashion-mnist"

    from PIL import Image

    image = in_tmp / "item.png"
    Image.new("L", (28, 28), 0).save(image)
    capsys.readouterr()
    assert cli.main(["predict", str(run), "--raw", "--json", str(image)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["label"] == catalog.DATASETS["fashion-mnist"][answer["digit"]]
    # evaluate takes the run's dataset and folder from its config.json.
    assert cli.main(["evaluate", str(run), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_test"] == 16

    # Any IDX folder, structural checks only.
    assert cli.main(["train", "--dataset", "idx", *flags]) == 0
    assert json.loads(((in_tmp / "runs" / "latest") / "config.json").read_text())["dataset"] == (
        "idx"
    )


def test_a_config_from_another_machine_searches_for_its_data(tmp_path, capsys):
    from mnist_cnn.config import TrainConfig

    path = tmp_path / "config.json"
    elsewhere = str(tmp_path / "not-here")
    path.write_text(json.dumps(TrainConfig(epochs=2, data_dir=elsewhere).to_dict()))
    parser = cli.build_parser()
    config = train_config_from_args(parser.parse_args(["train", "--config", str(path)]))
    assert config == TrainConfig(epochs=2, data_dir=None)
    assert f"note: {elsewhere} (the config's data_dir) is not here" in capsys.readouterr().err
    # An idx folder cannot be searched for: the missing folder stays an error later.
    path.write_text(
        json.dumps(TrainConfig(dataset="idx", data_dir=elsewhere).to_dict()), encoding="utf-8"
    )
    config = train_config_from_args(parser.parse_args(["train", "--config", str(path)]))
    assert config.data_dir == elsewhere
