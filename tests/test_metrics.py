"""mnist_cnn.evaluation.metrics against scikit-learn and SciPy (oracles) and hand-counted cases."""

import math

import numpy as np
import pytest

from mnist_cnn.evaluation import metrics

sklearn_metrics = pytest.importorskip("sklearn.metrics")
sklearn_calibration = pytest.importorskip("sklearn.calibration")


@pytest.fixture
def toy():
    """60 fixed predictions over 4 classes, with class 3 never predicted."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 4, 60)
    logits = rng.normal(size=(60, 4)) + 2.5 * np.eye(4)[labels]
    logits[:, 3] -= 10  # class 3 is never the top prediction
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probs, labels


def test_confusion_matrix_matches_sklearn(toy):
    probs, labels = toy
    predicted = probs.argmax(axis=1)
    ours = metrics.confusion_matrix(labels, predicted, num_classes=4)
    theirs = sklearn_metrics.confusion_matrix(labels, predicted, labels=range(4))
    np.testing.assert_array_equal(ours, theirs)


def test_confusion_matrix_hand_counted():
    matrix = metrics.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], num_classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert matrix.sum() == 6


def test_confusion_matrix_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        metrics.confusion_matrix([0, 3], [0, 1], num_classes=3)


def test_per_class_scores_match_sklearn(toy):
    probs, labels = toy
    predicted = probs.argmax(axis=1)
    scores = metrics.per_class_scores(metrics.confusion_matrix(labels, predicted, 4))
    precision, recall, f1, support = sklearn_metrics.precision_recall_fscore_support(
        labels, predicted, labels=range(4), zero_division=0
    )
    np.testing.assert_allclose([s["precision"] for s in scores], precision)
    np.testing.assert_allclose([s["recall"] for s in scores], recall)
    np.testing.assert_allclose([s["f1"] for s in scores], f1)
    assert [s["support"] for s in scores] == support.tolist()
    assert scores[3]["precision"] == 0.0  # never predicted: zero_division=0
    macro = metrics.macro_average(scores)
    assert macro["f1"] == pytest.approx(
        sklearn_metrics.f1_score(labels, predicted, average="macro", zero_division=0)
    )
    assert macro["support"] == 60


def test_per_class_scores_hand_counted():
    # class 0: 1 of 2 right, predicted twice (1 right); class 2: 2 of 3, predicted twice.
    scores = metrics.per_class_scores([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert scores[0] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    assert scores[1]["precision"] == 0.5 and scores[1]["recall"] == 1.0
    assert scores[1]["f1"] == pytest.approx(2 / 3)
    assert scores[2]["precision"] == 1.0 and scores[2]["recall"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(("k", "n"), [(9889, 10000), (0, 20), (20, 20), (7, 13), (1, 1)])
def test_wilson_interval_matches_scipy(k, n):
    stats = pytest.importorskip("scipy.stats")
    expected = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lower, upper = metrics.wilson_interval(k, n)
    assert lower == pytest.approx(expected.low, abs=1e-12)
    assert upper == pytest.approx(expected.high, abs=1e-12)
    assert 0.0 <= lower <= k / n <= upper <= 1.0


def test_wilson_interval_hand_computed():
    # k=8, n=10, z=1.959964: centre (0.8 + z^2/20) / (1 + z^2/10), from the formula by hand.
    z = 1.959963984540054
    centre = (0.8 + z * z / 20) / (1 + z * z / 10)
    half = z / (1 + z * z / 10) * math.sqrt(0.8 * 0.2 / 10 + z * z / 400)
    assert metrics.wilson_interval(8, 10) == pytest.approx((centre - half, centre + half))
    assert metrics.wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    with pytest.raises(ValueError, match="got 11"):
        metrics.wilson_interval(11, 10)


def test_cross_entropy_matches_sklearn_log_loss(toy):
    probs, labels = toy
    ours = metrics.cross_entropy(probs, labels).mean()
    theirs = sklearn_metrics.log_loss(labels, probs, labels=range(4))
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_cross_entropy_clips_like_keras():
    probs = np.array([[1.0, 0.0], [0.5, 0.5]])
    losses = metrics.cross_entropy(probs, [1, 0])
    assert losses[0] == pytest.approx(-math.log(1e-7))
    assert losses[1] == pytest.approx(math.log(2))


def _toy_with_confidence(confidence: np.ndarray, correct: np.ndarray, classes: int = 10):
    """Probabilities whose top probability is ``confidence``, right where ``correct``."""
    n = len(confidence)
    labels = np.arange(n) % classes
    predicted = np.where(correct, labels, (labels + 1) % classes)
    rest = (1 - confidence) / (classes - 1)
    probs = np.repeat(rest[:, None], classes, axis=1)
    probs[np.arange(n), predicted] = confidence
    return probs, labels


def test_ece_is_zero_for_a_perfectly_calibrated_toy():
    # In each bin, accuracy equals the confidence exactly: 0.6 -> 3 of 5 right, etc.
    confidence = np.repeat([0.6, 0.8, 1.0], [5, 10, 4])
    correct = np.array([1, 1, 1, 0, 0] + [1] * 8 + [0] * 2 + [1] * 4, dtype=bool)
    probs, labels = _toy_with_confidence(confidence, correct)
    assert metrics.expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-12)


def test_ece_of_an_over_confident_toy():
    # Says 0.99 every time, right half the time: ECE = |0.5 - 0.99| = 0.49.
    confidence = np.full(100, 0.99)
    correct = np.arange(100) % 2 == 0
    probs, labels = _toy_with_confidence(confidence, correct)
    assert metrics.expected_calibration_error(probs, labels) == pytest.approx(0.49)
    bins = metrics.reliability_bins(probs, labels)
    assert len(bins) == 15 and sum(b["count"] for b in bins) == 100
    assert bins[-1]["count"] == 100 and bins[-1]["accuracy"] == 0.5


def test_ece_hand_counted_two_bins():
    # 4 images at 0.95 (3 right), 6 at 0.55 (3 right), 15 bins:
    # 4/10 * |0.75 - 0.95| + 6/10 * |0.5 - 0.55| = 0.08 + 0.03.
    confidence = np.array([0.95] * 4 + [0.55] * 6)
    correct = np.array([1, 1, 1, 0, 1, 1, 1, 0, 0, 0], dtype=bool)
    probs, labels = _toy_with_confidence(confidence, correct)
    assert metrics.expected_calibration_error(probs, labels) == pytest.approx(0.11)


def test_reliability_bins_match_sklearn_calibration_curve():
    rng = np.random.default_rng(3)
    # Confidences away from bin edges, where the two conventions ((a, b] vs [a, b)) agree.
    confidence = (rng.integers(2, 15, 400) + rng.uniform(0.1, 0.9, 400)) / 15
    correct = rng.uniform(size=400) < confidence
    probs, labels = _toy_with_confidence(np.clip(confidence, 0.11, 1), correct)
    bins = [b for b in metrics.reliability_bins(probs, labels, 15) if b["count"]]
    prob_true, prob_pred = sklearn_calibration.calibration_curve(
        correct, probs.max(axis=1), n_bins=15, strategy="uniform"
    )
    np.testing.assert_allclose([b["accuracy"] for b in bins], prob_true)
    np.testing.assert_allclose([b["confidence"] for b in bins], prob_pred)


def test_most_confused_orders_off_diagonal_pairs():
    confusion = [[5, 2, 0], [3, 9, 2], [0, 7, 1]]
    pairs = metrics.most_confused(confusion, limit=3)
    assert pairs == [
        {"true": 2, "predicted": 1, "count": 7},
        {"true": 1, "predicted": 0, "count": 3},
        {"true": 0, "predicted": 1, "count": 2},
    ]
    assert len(metrics.most_confused(confusion, min_count=3)) == 2


def test_top_losses_are_the_worst_misclassified_images():
    probs = np.array(
        [
            [0.9, 0.1],  # right
            [0.3, 0.7],  # wrong, p_true 0.3
            [0.05, 0.95],  # wrong, p_true 0.05: the worst
            [0.6, 0.4],  # right
            [0.45, 0.55],  # wrong, p_true 0.45
        ]
    )
    labels = [0, 0, 0, 0, 0]
    top = metrics.top_losses(probs, labels, limit=2)
    assert [t["index"] for t in top] == [2, 1]
    assert top[0]["predicted"] == 1 and top[0]["probability"] == pytest.approx(0.95)
    assert top[0]["true_probability"] == pytest.approx(0.05)
    assert top[0]["loss"] == pytest.approx(-math.log(0.05))
    assert len(metrics.top_losses(probs, labels, limit=48)) == 3
    assert metrics.top_losses(probs, labels, limit=1, misclassified_only=False)[0]["index"] == 2


def test_mean_std_uses_the_sample_standard_deviation():
    assert metrics.mean_std([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "n": 3}
    assert metrics.mean_std([0.5]) == {"mean": 0.5, "std": 0.0, "n": 1}
    assert metrics.mean_std([]) == {"mean": None, "std": None, "n": 0}
