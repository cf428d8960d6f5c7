"""Stratified k-fold cross-validation: the split, a tiny real cv, interruption and resume."""

import json

import numpy as np
import pytest

from mnist_cnn import cli
from mnist_cnn.cli import config_flags
from mnist_cnn.cli import cv as cv_verb
from mnist_cnn.cli import train as train_verb
from mnist_cnn.config import TrainConfig
from mnist_cnn.errors import ConfigError
from mnist_cnn.evaluation import compare
from mnist_cnn.training import crossval


@pytest.mark.parametrize("folds", [2, 3, 5, 10])
def test_folds_are_disjoint_stratified_and_cover_the_set(folds):
    # Uneven classes, one smaller than the number of folds.
    labels = np.repeat(np.arange(10), [97, 120, 33, 50, 61, 88, 7, 45, 100, 3])
    labels = np.random.default_rng(0).permutation(labels)
    assignment = crossval.stratified_folds(labels, folds, seed=4)
    # Every image in exactly one fold: disjoint and covering.
    assert assignment.shape == labels.shape
    assert set(np.unique(assignment)) == set(range(folds))
    members = [set(np.flatnonzero(assignment == f)) for f in range(folds)]
    assert sum(len(m) for m in members) == len(labels)
    assert set().union(*members) == set(range(len(labels)))
    # Stratified: each class per fold within 1 of its ideal share.
    for c in range(10):
        ideal = (labels == c).sum() / folds
        for f in range(folds):
            count = int(((labels == c) & (assignment == f)).sum())
            assert abs(count - ideal) < 1, (c, f, count, ideal)
    sizes = np.bincount(assignment, minlength=folds)
    assert sizes.max() - sizes.min() <= 1


def test_folds_depend_on_the_seed_only():
    labels = np.arange(200) % 10
    a = crossval.stratified_folds(labels, 4, seed=1)
    np.testing.assert_array_equal(a, crossval.stratified_folds(labels, 4, seed=1))
    assert not np.array_equal(a, crossval.stratified_folds(labels, 4, seed=2))
    assert crossval.split_fingerprint(a) == crossval.split_fingerprint(a.copy())


@pytest.mark.parametrize("folds", [1, 11, 2.5, True])
def test_folds_out_of_range_are_refused(folds):
    with pytest.raises(ConfigError, match="from 2 to 10"):
        crossval.stratified_folds(np.arange(50) % 10, folds, seed=0)


def test_cv_flag_errors_are_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["cv", "--folds", "11", "--train-limit", "100"]) == 2
    assert capsys.readouterr().err == "error: folds must be an integer from 2 to 10, got 11\n"
    assert cli.main(["cv", "--folds", "3", "--train-limit", "2"]) == 2
    assert "3 folds need at least 3 training images" in capsys.readouterr().err
    assert cli.main(["cv", "--resume", "nowhere"]) == 2
    assert "not a cv run directory" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


class Interrupting:
    """Calls the real training function, but raises KeyboardInterrupt at one call."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.interrupt_at = interrupt_at
        self.seeds: list[int] = []
        self.validation_sizes: list[int] = []

    def __call__(self, config, **kwargs):
        from mnist_cnn.training import train

        self.seeds.append(config.seed)
        self.validation_sizes.append(len(kwargs["validation_data"][1]))
        if len(self.seeds) == self.interrupt_at:
            raise KeyboardInterrupt
        return train(config, **kwargs)


@pytest.mark.slow
def test_tiny_cv_interrupted_then_resumed(tmp_path, capsys):
    config = TrainConfig(train_limit=300, test_limit=200, epochs=1, seed=7, out_dir=str(tmp_path))
    first = Interrupting(interrupt_at=2)
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        crossval.cross_validate(config, folds=3, test=True, log=lines.append, train_fn=first)
    (cv_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert cv_dir.name.endswith("-cv3-baseline")
    assert any("Resume with: mnist-cnn cv --resume" in line for line in lines)
    # Fold 1 was kept, atomically: its JSON and test probabilities, nothing half-written.
    assert sorted(p.name for p in (cv_dir / "folds").iterdir()) == [
        "fold-01-test.npy",
        "fold-01.json",
    ]
    state = json.loads((cv_dir / "cv.json").read_text())
    assert state["complete"] is False and len(state["fold_results"]) == 1

    second = Interrupting()
    result = crossval.resume_cv(cv_dir, log=lines.append, train_fn=second)
    assert first.seeds == [7, 8] and second.seeds == [8, 9]  # fold 1 was not retrained
    cv = result.summary
    assert cv == json.loads((cv_dir / "cv.json").read_text())
    assert cv["complete"] is True and cv["folds"] == 3
    assert [r["fold"] for r in cv["fold_results"]] == [1, 2, 3]
    assert [r["seed"] for r in cv["fold_results"]] == [7, 8, 9]

    # The folds' validation sets: 100 images each, together the 300, stratified.
    assert sum(r["n_validation"] for r in cv["fold_results"]) == 300
    assert all(r["n_validation"] + r["n_train"] == 300 for r in cv["fold_results"])
    labels = np.bincount(_train_labels(300), minlength=10)
    for r in cv["fold_results"]:
        assert np.all(np.abs(np.array(r["validation_class_counts"]) - labels / 3) < 1)
    assert cv["split"]["fold_sizes"] == [100, 100, 100]

    stats = cv["summary"]["val_accuracy"]
    values = [r["val_accuracy"] for r in cv["fold_results"]]
    assert stats["mean"] == pytest.approx(np.mean(values))
    assert stats["std"] == pytest.approx(np.std(values, ddof=1))
    assert cv["summary"]["test_accuracy"]["n"] == 3
    assert 0.0 <= cv["ensemble"]["test_accuracy"] <= 1.0 and cv["ensemble"]["n_test"] == 200
    assert cv["total_seconds"] == pytest.approx(sum(r["seconds"] for r in cv["fold_results"]))

    html = (cv_dir / "report.html").read_text()
    assert "<script" not in html and 'id="fold-table"' in html
    assert html.count("data:image/png;base64,") == 1
    assert "Unfinished" not in html

    # Resuming a finished cv trains nothing; the terminal table and compare read it.
    third = Interrupting()
    crossval.resume_cv(cv_dir, log=lines.append, train_fn=third, report=False)
    assert third.seeds == []
    table = crossval.format_summary(cv)
    assert "val_accuracy" in table and "±" in table and "ensemble" in table
    comparison = compare.compare_runs([cv_dir])
    assert comparison["metrics"]["cv_val_accuracy"][0]["n"] == 3
    assert comparison["same_config"]["cv_folds"] == 3


def _train_labels(n: int) -> np.ndarray:
    from mnist_cnn.data import datasets

    (_, y), _ = datasets.load_mnist()
    return y[:n]


@pytest.mark.slow
def test_cv_cli_on_a_tiny_subset(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["cv", "--folds", "2", "--train-limit", "200", "--epochs", "1", "--verbose", "0"]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "val_accuracy" in out and "(2 folds, mean ± std)" in out
    (cv_dir,) = (tmp_path / "runs").iterdir()
    cv = json.loads((cv_dir / "cv.json").read_text())
    assert cv["test"] is False and cv["ensemble"] is None
    assert all(r["test_accuracy"] is None for r in cv["fold_results"])
    assert (cv_dir / "report.html").is_file()
    assert not (tmp_path / "runs" / "latest").exists()  # latest is for trained models
    assert cli.main(["report", str(cv_dir)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {cv_dir / 'report.html'}"


def test_cv_takes_every_train_flag_into_its_config():
    """A train flag added later reaches cv's TrainConfig: every config field has a flag."""
    import dataclasses

    parser = cli.build_parser()
    args = parser.parse_args(
        ["cv", "--folds", "4", "--epochs", "2", "--seed", "3", "--out", "elsewhere"]
    )
    config = config_flags.train_config_from_args(args)
    assert (config.epochs, config.seed, config.out_dir) == (2, 3, "elsewhere")
    train_args = parser.parse_args(["train"])
    for field in dataclasses.fields(TrainConfig):
        assert hasattr(train_args, field.name), f"no train flag for TrainConfig.{field.name}"
        assert hasattr(args, field.name), f"cv lacks the train flag for {field.name}"
    assert args.func is cv_verb.run and train_args.func is train_verb.run
