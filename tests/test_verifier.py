"""The segment verifier (mnist_cnn.models.verifier, .inference.verifier) and its training data."""

from __future__ import annotations

import numpy as np
import pytest

from mnist_cnn import reading
from mnist_cnn.errors import ModelError
from mnist_cnn.inference.verifier import Verifier
from mnist_cnn.models.verifier import build_verifier
from mnist_cnn.training import verifier_data

SPANS = [(0, 30), (34, 44), (40, 75)]  # a wide digit, a '1', and a digit overlapping the '1'


@pytest.mark.parametrize(
    ("columns", "whole"),
    [
        ((0, 30), True),  # exactly the first digit
        ((0, 32), True),  # a little margin
        ((0, 15), False),  # half of it
        ((15, 30), False),  # the other half
        ((0, 44), False),  # the first digit and the '1'
        ((34, 75), False),  # the '1' swallowed by its neighbour
        ((34, 42), True),  # the '1', cut inside its overlap with the neighbour
        ((42, 75), True),  # the neighbour, cut inside the overlap
        ((0, 75), False),  # everything
    ],
)
def test_whole_digit_labels(columns, whole):
    assert verifier_data.is_whole_digit(columns, SPANS) is whole


def test_examples_come_from_every_piece_the_reader_weighs(mnist_test, classify):
    x, y = mnist_test
    from mnist_cnn.data import synthetic

    number = synthetic.compose_number(x[:4], np.random.default_rng(0)).image
    before = reading.read_number(number, classify)
    inputs, labels = verifier_data.make_examples(
        x[:500], y[:500], classify, 6, np.random.default_rng(0)
    )
    assert inputs.shape[1:] == (28, 28, 2) and inputs.dtype == np.float32
    assert len(inputs) == len(labels) > 12  # more pieces than digits
    assert 0.0 < labels.mean() < 1.0  # both kinds
    assert inputs.min() >= 0.0 and inputs.max() <= 1.0
    # The context channel shows the piece (full strength) and neighbours (half).
    assert (inputs[..., 1].max(axis=(1, 2)) > 0.5).all()
    # Collecting examples leaves the reader as it was.
    after = reading.read_number(number, classify)
    assert after.digits == before.digits and np.array_equal(after.images, before.images)


@pytest.mark.slow  # an accuracy floor over every piece of 40 composed numbers
def test_packaged_verifier_tells_whole_digits_from_pieces(mnist_test, classify):
    x, y = mnist_test
    inputs, labels = verifier_data.make_examples(
        x[:2000], y[:2000], classify, 40, np.random.default_rng(1)
    )
    verify = Verifier.load()
    whole = verify(inputs)
    assert whole.shape == labels.shape
    said_whole, is_whole = whole > 0.5, labels > 0.5
    accuracy = np.mean(said_whole == is_whole)
    # Most pieces are not whole digits (about 83%): saying "not whole" every
    # time would score that, so the verifier must also find the whole ones.
    assert accuracy >= 0.93, accuracy
    assert np.mean(said_whole[is_whole]) >= 0.8
    assert np.mean(~said_whole[~is_whole]) >= 0.95


def test_verifier_round_trip_keeps_score_weights(tmp_path):
    weights = reading.ScoreWeights(verifier=2.0, wide=0.5, short=0.25, piece_cost=0.1)
    saved = Verifier(build_verifier(), weights)
    path = tmp_path / "v.keras"
    saved.save(path, {"note": "test"})
    loaded = Verifier.load(path)
    assert loaded.weights == weights
    inputs = np.random.default_rng(0).random((3, 28, 28, 2), dtype=np.float32)
    np.testing.assert_allclose(loaded(inputs), saved(inputs), atol=1e-6)
    assert not list(tmp_path.glob(".*tmp*"))  # nothing half-written left behind


def test_build_verifier_is_seeded_without_reseeding_the_global_generators():
    """The seed makes the network (weights and dropout); Python's, NumPy's and the
    backend's global random state are the caller's and stay as they were."""
    import random

    import keras

    random.seed(123)
    np.random.seed(123)
    keras.utils.set_random_seed(123)
    python_state, numpy_state = random.getstate(), np.random.get_state()[1].copy()
    backend_draw = keras.random.uniform((4,), seed=None)
    keras.utils.set_random_seed(123)

    first, again, other = build_verifier(3), build_verifier(3), build_verifier(4)
    for a, b in zip(first.get_weights(), again.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(first.get_weights(), other.get_weights(), strict=True)
    )
    assert random.getstate() == python_state
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    np.testing.assert_array_equal(keras.random.uniform((4,), seed=None), backend_draw)


def test_bad_verifier_files_are_reported(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        Verifier.load(tmp_path / "missing.keras")
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a Keras model"):
        Verifier.load(junk)
    from mnist_cnn import models

    with pytest.raises(ModelError, match="segment verifier"):
        Verifier.load(models.default_model_path())  # a digit classifier


def test_verifier_with_wrong_output_shape_is_reported(mnist_test, classify):
    x, _ = mnist_test
    from mnist_cnn.data import synthetic

    image = synthetic.compose_number(x[:3], np.random.default_rng(0)).image
    with pytest.raises(ValueError, match=r"\(N,\) probabilities"):
        reading.read_number(image, classify, lambda batch: np.zeros((len(batch), 2)))
