import numpy as np
import pytest

from mnist_cnn.training.augment import (
    AugmentedBatches,
    RandomElastic,
    RandomStrokeWidth,
    build_augmenter,
)
from mnist_cnn.vision.degrade import add_flag


@pytest.fixture(scope="module")
def batch(mnist_test):
    return mnist_test[0][:64, ..., None].astype(np.float32) / 255.0


def test_augmenter_changes_images_only_in_training(batch):
    augmenter = build_augmenter(seed=0)
    same = np.asarray(augmenter(batch, training=False))
    np.testing.assert_array_equal(same, batch)
    out = np.asarray(augmenter(batch, training=True))
    assert out.shape == batch.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 + 1e-6
    assert np.abs(out - batch).mean() > 0.01
    # Still digits: the ink is neither wiped out nor smeared over the frame.
    ratio = out.sum(axis=(1, 2, 3)) / batch.sum(axis=(1, 2, 3))
    assert np.all((ratio > 0.25) & (ratio < 4.0)), ratio
    assert np.median(ratio) == pytest.approx(1.0, abs=0.25)


def test_stroke_width_thickens_and_thins(batch):
    thick = np.asarray(RandomStrokeWidth(0.5, seed=1)(batch, training=True))
    ink_before = (batch > 0.5).sum(axis=(1, 2, 3))
    ink_after = (thick > 0.5).sum(axis=(1, 2, 3))
    assert (ink_after > ink_before * 1.3).any() and (ink_after < ink_before * 0.9).any()
    with pytest.raises(ValueError, match="rate must be in"):
        RandomStrokeWidth(0.8)


def test_elastic_moves_pixels_but_keeps_mass(batch):
    out = np.asarray(RandomElastic(1.0, alpha=2.0, seed=3)(batch, training=True))
    assert np.abs(out - batch).mean() > 0.01
    ratio = out.sum(axis=(1, 2, 3)) / batch.sum(axis=(1, 2, 3))
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio


def test_augmented_batches_reshuffle_each_epoch(batch):
    y = np.eye(10, dtype=np.float32)[np.arange(64) % 10]
    data = AugmentedBatches(batch, y, batch_size=16, seed=0)
    assert len(data) == 4
    xb, yb = data[3]
    assert xb.shape == (16, 28, 28, 1) and yb.shape == (16, 10)
    first = data[0][0].copy()
    data.on_epoch_end()
    assert not np.allclose(first, data[0][0])
    # Labels travel with their images.
    assert sorted(np.concatenate([data[i][1] for i in range(4)]).argmax(1).tolist()) == sorted(
        (np.arange(64) % 10).tolist()
    )


def test_a_flag_is_drawn_from_the_top_of_a_ones_stem_down_to_the_left(mnist_test):
    x, y = mnist_test
    rng = np.random.default_rng(0)
    for digit in x[y == 1][:20]:
        flagged = add_flag(digit, rng)
        assert flagged.shape == digit.shape and flagged.dtype == np.uint8
        assert np.all(flagged >= digit)  # the '1' itself is kept
        added = (flagged > 127) & ~(digit > 127)
        assert added.sum() >= 3, "no flag"
        rows, cols = np.nonzero(digit > 127)
        top = rows.min()
        ay, ax = np.nonzero(added)
        # Below the top of the stem, left of where it starts, in its upper part.
        assert ay.min() >= top - 1 and np.median(ay) < top + 0.6 * np.ptp(rows)
        assert np.median(ax) < np.flatnonzero(digit[top] > 127).mean()
    np.testing.assert_array_equal(add_flag(np.zeros((28, 28), np.uint8), rng), 0)


def test_augmented_batches_flag_only_ones(batch):
    y = np.eye(10, dtype=np.float32)[np.arange(64) % 10]
    plain = AugmentedBatches(batch, y, batch_size=16, seed=0)
    flagged = AugmentedBatches(batch, y, batch_size=16, seed=0, flagged_ones=1.0)
    changed = np.flatnonzero(np.abs(flagged.x - batch).max(axis=(1, 2, 3)) > 0)
    assert len(changed) > 0 and set((np.arange(64) % 10)[changed].tolist()) == {1}
    assert np.all(flagged.x >= batch - 1e-6)
    np.testing.assert_array_equal(plain.x, batch)  # the caller's array is left alone
