import numpy as np
import pytest

from mnist_cnn import inference, preprocess
from mnist_cnn.errors import ModelError
from mnist_cnn.inference.predictor import Prediction
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
    # A real image is read over views around its digit, a raw MNIST one as it is.
    image28 = answers[0].image28
    viewed = preprocess.classify_views(predictor.predict_proba, image28[None])[0]
    as_is = predictor.predict_proba(image28[None])[0]
    assert not np.allclose(viewed, as_is, rtol=0, atol=1e-7)
    raw_as_is = predictor.predict_proba(raw[0].image28[None])[0]
    for answer, probabilities in ((answers[0], viewed), (raw[0], raw_as_is)):
        expected = Prediction.from_probabilities(probabilities).top3
        assert [d for d, _ in answer.prediction.top3] == [d for d, _ in expected]
        np.testing.assert_allclose(answer.prediction.top3, expected, rtol=1e-4, atol=1e-9)
    assert all(a.not_a_digit is None and "not_a_digit" not in a.to_dict() for a in answers[:3])


def test_compiled_forward_is_the_traced_graph():
    """The direct call runs the same graph as the public tf.function call: the same
    numbers to the bit, for one image and for a batch."""
    tf = pytest.importorskip("tensorflow")
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("the direct call is TensorFlow's")
    from mnist_cnn import models
    from mnist_cnn.inference.predictor import compile_forward

    model = models.build_model("baseline", compile=False)
    forward = compile_forward(model)
    spec = tf.TensorSpec([None, 28, 28, 1], tf.float32)
    public = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    for batch in (x[:1], x):
        np.testing.assert_array_equal(forward(batch), public(tf.constant(batch)).numpy())
    predictor = inference.Predictor(model)
    assert predictor.runtime == "keras"
    assert predictor.predict_proba(x[0, ..., 0]).shape == (1, 10)
    np.testing.assert_array_equal(predictor.predict_proba(x), forward(x))
    with pytest.raises(ModelError, match="unknown runtime 'tflite'; choose one of: keras, onnx"):
        inference.Predictor(model, runtime="tflite")


def test_direct_call_falls_back_to_the_public_call():
    """Without TensorFlow's internal entry point the concrete function itself is used."""
    tf = pytest.importorskip("tensorflow")
    from mnist_cnn.inference.predictor import _direct_call

    class Public:
        """A concrete function as another TensorFlow might have it: no _inference_function."""

        def __init__(self, concrete):
            self.concrete = concrete
            self.structured_outputs = concrete.structured_outputs
            self.captured_inputs = concrete.captured_inputs

        def __call__(self, x):
            return self.concrete(x)

    class Function:
        def get_concrete_function(self, spec):
            traced = tf.function(lambda x: 2.0 * x).get_concrete_function(spec)
            return Public(traced)

    call = _direct_call(Function(), tf.TensorSpec([None, 3], tf.float32))
    assert isinstance(call, Public)
    np.testing.assert_array_equal(call(tf.ones([2, 3])).numpy(), np.full((2, 3), 2.0))


@pytest.mark.slow
def test_onnx_runtime_predictor_agrees_with_keras():
    """runtime="onnx": the model exported in process and run by onnxruntime."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    from mnist_cnn import models

    model = models.build_model("baseline", compile=False)
    keras_predictor = inference.Predictor(model)
    onnx_predictor = inference.Predictor(model, runtime="onnx")
    assert onnx_predictor.runtime == "onnx" and onnx_predictor.model is model
    x = np.random.default_rng(1).random((40, 28, 28), dtype=np.float32)
    fast = onnx_predictor.predict_proba(x)
    assert fast.dtype == np.float32 and fast.shape == (40, 10)
    np.testing.assert_allclose(fast, keras_predictor.predict_proba(x), atol=1e-5)
    assert onnx_predictor.predict_proba(x[:0]).shape == (0, 10)
    assert [p.digit for p in onnx_predictor.predict(x[:3])] == [
        p.digit for p in keras_predictor.predict(x[:3])
    ]


def test_small_batches_go_through_numpy_with_the_compiled_pass_answers():
    import keras

    from mnist_cnn.inference.predictor import Predictor, compile_forward
    from mnist_cnn.inference.small_batch import SMALL_BATCH, numpy_forward
    from mnist_cnn.models import average_models, registry

    images = np.random.default_rng(1).random((SMALL_BATCH, 28, 28, 1), dtype=np.float32)
    models = [registry.build_model(name, compile=False) for name in registry.available_models()]
    models.append(average_models(models[-2:]))
    for model in models:
        small = numpy_forward(model)
        assert small is not None, model.name
        np.testing.assert_allclose(small(images), compile_forward(model)(images), atol=1e-5)
    predictor = Predictor(models[0])
    assert predictor._small is not None
    one = predictor.predict_proba(images[0])  # numpy
    many = predictor.predict_proba(np.repeat(images[:1], SMALL_BATCH + 1, axis=0))  # compiled
    assert one.dtype == np.float32 and one.shape == (1, 10)
    np.testing.assert_allclose(one[0], many[-1], atol=1e-5)

    # Layers it does not translate stay with the framework.
    same_padding = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(4, 3, padding="same"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    normalised = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    for model in (same_padding, normalised):
        assert numpy_forward(model) is None
        assert Predictor(model)._small is None


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
