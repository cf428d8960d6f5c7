import numpy as np
import pytest

from mnist_cnn import inference
from mnist_cnn.errors import ModelError
from mnist_cnn.models import registry


@pytest.mark.slow
def test_predictor_matches_keras_predict(trained_run, mnist_test):
    x = mnist_test[0][:300].astype(np.float32) / 255.0
    predictor = inference.Predictor(trained_run.model)
    fast = predictor.predict_proba(x)
    slow = trained_run.model.predict(x[..., None], verbose=0)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)
    assert predictor.predict_proba(x[0]).shape == (1, 10)
    with pytest.raises(ValueError, match=r"\(N, 28, 28\[, 1\]\), got \(3, 32, 32\)"):
        predictor.predict_proba(np.zeros((3, 32, 32)))


def test_prediction_has_sorted_top3():
    pred = inference.Prediction.from_probabilities(np.array([0.1, 0.6, 0.0, 0.3] + [0.0] * 6))
    assert pred.digit == 1 and pred.probability == pytest.approx(0.6)
    assert [d for d, _ in pred.top3] == [1, 3, 0]


@pytest.mark.slow
def test_resolution_order(trained_run, tmp_path, monkeypatch):
    run = trained_run.run_dir
    runs_dir = run.parent
    packaged = tmp_path / "default.keras"
    monkeypatch.setattr(registry, "default_model_path", lambda: packaged)
    # explicit path wins
    assert inference.resolve_model_path(run, runs_dir=runs_dir) == run / "model.keras"
    # then runs/latest
    assert (
        inference.resolve_model_path(None, runs_dir=runs_dir).resolve()
        == (run / "model.keras").resolve()
    )
    # no latest, no packaged model: a message that says what to do
    with pytest.raises(ModelError, match="train one with 'mnist-cnn train'"):
        inference.resolve_model_path(None, runs_dir=tmp_path / "nothing")
    # then the packaged model
    packaged.write_bytes(b"x")
    assert inference.resolve_model_path(None, runs_dir=tmp_path / "nothing") == packaged
    assert inference.resolve_model_path("default") == packaged


def test_bad_model_files_are_named(tmp_path):
    fake = tmp_path / "broken.keras"
    fake.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="broken.keras is not a Keras model file"):
        inference.load_model(fake)
    with pytest.raises(ModelError, match="no model or run directory at"):
        inference.load_model(tmp_path / "missing.keras")
    with pytest.raises(ModelError, match="folder without model.keras"):
        inference.load_model(tmp_path)
    text = tmp_path / "model.txt"
    text.write_text("hi")
    with pytest.raises(ModelError, match="not a .keras model file"):
        inference.load_model(text)


def test_predict_files_answers_each_file_in_order(digit_pngs, tmp_path):
    """The library call behind ``predict``: an answer per readable file, the one-line
    reason for the others, in order; year.jpg is flagged as several digits."""
    from pathlib import Path

    from PIL import Image

    from mnist_cnn import predict_files

    paths, labels = digit_pngs
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(blank)
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(b"\x89PNG not really")
    year = Path(__file__).resolve().parents[1] / "docs" / "examples" / "year.jpg"
    predictor = inference.Predictor.load("default")
    answers = predict_files(predictor, [*paths[:3], blank, damaged, year])
    assert [a.path for a in answers] == [*paths[:3], blank, damaged, year]
    assert [a.prediction.digit for a in answers[:3]] == labels[:3]
    assert answers[3].prediction is None and "blank" in answers[3].error
    assert answers[4].prediction is None and answers[4].error
    assert answers[5].digits_side_by_side == 4 and answers[5].uncertain()
    line = answers[5].to_dict()
    assert line["uncertain"] is True and line["digits_side_by_side"] == 4
    assert answers[0].to_dict()["file"] == str(paths[0])
    assert answers[3].to_dict() == {"file": str(blank), "error": answers[3].error}
    raw = predict_files(predictor, paths[:2], raw=True)
    assert [a.prediction.digit for a in raw] == labels[:2]
    assert all(a.not_a_digit is None and "not_a_digit" not in a.to_dict() for a in answers[:3])


def test_predict_files_marks_a_drawing_that_is_no_digit_uncertain(tmp_path):
    """A circle with a cross reads as some digit, often at p=1.0; it is marked
    uncertain, with the reason, however sure the model is."""
    from PIL import Image

    from mnist_cnn import predict_files
    from mnist_cnn.vision.not_digits import NOT_DIGITS

    path = tmp_path / "circle_cross.png"
    Image.fromarray(NOT_DIGITS["circle_cross"](np.random.default_rng(1))).save(path)
    (answer,) = predict_files(inference.Predictor.load("default"), [path])
    assert answer.not_a_digit == "more than 2 loops"
    assert answer.uncertain(min_confidence=0.0)
    line = answer.to_dict()
    assert line["uncertain"] is True and line["not_a_digit"] == "more than 2 loops"
