"""Reading whole numbers (mnist_cnn.reading) composed from MNIST test digits."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mnist_cnn import reading
from mnist_cnn.data import synthetic
from mnist_cnn.errors import ImageError
from mnist_cnn.vision import reading as vision_reading
from mnist_cnn.vision.ink import find_ink, turn

# The issue asks for >= 95% of whole numbers. With the segment verifier this
# sample reads 99%; over five such samples (1,000 numbers,
# benchmarks/bench_handwriting.py) 96.5%, 93.5-99% per sample. The misses
# are mostly single digits misclassified, then a digit cut in two or a '1'
# merged into its neighbour.
NUMBERS = 200
WHOLE_NUMBER_FLOOR = 0.95


def compose_number(digits, rng, **kwargs) -> np.ndarray:
    """Digits laid left to right, dark ink on grey paper (see mnist_cnn.data.synthetic)."""
    return synthetic.compose_number(digits, rng, **kwargs).image


@pytest.fixture(scope="module")
def numbers(mnist_test):
    x, y = mnist_test
    rng = np.random.default_rng(2026)
    cases = []
    for _ in range(NUMBERS):
        length = int(rng.integers(2, 9))
        index = rng.choice(len(x), length, replace=False)
        text = "".join(str(int(v)) for v in y[index])
        cases.append((compose_number(x[index], rng), text))
    return cases


@pytest.mark.slow
def test_whole_numbers_are_read(numbers, classify, verify):
    wrong = []
    for image, text in numbers:
        result = reading.read_number(image, classify, verify)
        if result.text != text:
            wrong.append((text, result.text))
    rate = 1 - len(wrong) / len(numbers)
    assert rate >= WHOLE_NUMBER_FLOOR, f"{rate:.1%} right; misread: {wrong}"


@pytest.mark.slow  # 100 numbers read with classifier and verifier: an accuracy floor
def test_single_digits_are_read_as_one_digit(mnist_test, classify, verify):
    """A digit alone, even one whose strokes came apart (a '5' with its bar
    detached), is one digit, not two."""
    x, y = mnist_test
    index = np.random.default_rng(9).choice(len(x), 100, replace=False)
    right = 0
    for i in index:
        image = compose_number(x[i][None], np.random.default_rng(int(i)))
        right += reading.read_number(image, classify, verify).text == str(y[i])
    # 97 of these 100 today; without the verifier, 95.
    assert right >= 96


def test_result_has_one_box_and_probability_per_digit(numbers, classify):
    image, text = numbers[0]
    result = reading.read_number(image, classify)
    assert len(result.digits) == len(result.text) == result.images.shape[0]
    assert result.images.shape[1:] == (28, 28)
    lefts = [d.box[0] for d in result.digits]
    assert lefts == sorted(lefts)
    height, width = image.shape
    for digit, probability, (x0, y0, x1, y1) in result.digits:
        assert 0 <= digit <= 9 and 0.0 < probability <= 1.0
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert 0.0 < result.probability <= 1.0


def test_segmentation_alone_counts_well_separated_digits(mnist_test):
    x, _ = mnist_test
    rng = np.random.default_rng(3)
    image = compose_number(x[:5], rng, gap=(0.3, 0.5))
    crops = reading.segment_digits(image)
    assert len(crops) == 5
    assert all(c.image28.shape == (28, 28) for c in crops)


def test_broken_strokes_are_merged(mnist_test, classify):
    x, y = mnist_test
    rng = np.random.default_rng(4)
    index = [i for i in range(300) if y[i] in (0, 8)][:4]
    image = compose_number(x[index], rng, gap=(0.35, 0.4))
    # Erase a thin horizontal band through the second digit only, breaking it
    # into a top and a bottom piece.
    middle = image.shape[0] // 2
    ink_columns = np.flatnonzero((image < 128).any(axis=0))
    runs = np.split(ink_columns, np.flatnonzero(np.diff(ink_columns) > 1) + 1)
    start, stop = runs[1][0], runs[1][-1] + 1
    image[middle - 1 : middle + 2, start:stop] = 230
    result = reading.read_number(image, classify)
    assert len(result.text) == 4, result.text


def test_touching_digits_are_split(mnist_test, classify):
    x, y = mnist_test
    rng = np.random.default_rng(5)
    right = 0
    for start in range(0, 60, 3):
        index = list(range(start, start + 3))
        image = compose_number(x[index], rng, gap=(-0.08, -0.03))
        text = "".join(str(int(v)) for v in y[index])
        right += reading.read_number(image, classify).text == text
    # Heavily overlapping digits are the reader's weak point: 15 of these 20
    # are right today.
    assert right >= 14  # of 20 three-digit numbers whose digits all overlap


def test_blank_and_unreadable_images_raise(tmp_path, classify):
    with pytest.raises(ImageError, match="no digit"):
        reading.read_number(np.full((100, 300), 240, np.uint8), classify)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(ImageError, match="bad.jpg"):
        reading.read_number(bad, classify)


def test_classifier_with_wrong_output_shape_is_reported(numbers):
    image, _ = numbers[0]
    with pytest.raises(ValueError, match=r"\(N, 10\)"):
        reading.read_number(image, lambda batch: np.zeros((len(batch), 3)))


def test_boxes_preview_is_written(numbers, classify, tmp_path):
    image, _ = numbers[1]
    result = reading.read_number(image, classify)
    out = reading.save_boxes_preview(image, result, tmp_path / "boxes.png")
    with Image.open(out) as preview:
        assert preview.mode == "RGB"
        assert preview.size == (image.shape[1], image.shape[0])
        pixels = np.asarray(preview)
    coloured = (pixels.max(axis=2).astype(int) - pixels.min(axis=2)) > 80
    assert coloured.sum() > 50  # boxes were drawn in colour


# ----------------------------------------------------------------- amounts
# Numbers as people write them: separators, a trailing dash, an underline,
# patterned or ruled paper, small writing. Marks must never become digits.
AMOUNTS_PER_KIND = 20
# A cheque's amount carries 3-5 marks, small, on security paper: a 3 px dot
# is sometimes lost among the waves or a '5''s detached bar counted as a
# dash, with the digits still right (56 of 60 training amounts had every
# mark right).
MARKS_MISSED = {"cheque": 4}


def test_date_digits_are_a_real_date():
    rng = np.random.default_rng(0)
    for count in range(2, 9):
        for _ in range(20):
            labels, layout = synthetic.date_digits(count, rng)
            assert len(labels) == sum(layout) == count
            text = "".join(map(str, labels))
            first, second = int(text[: layout[0]]), int(text[layout[0] : sum(layout[:2])])
            assert (1 <= first <= 31 and 1 <= second <= 12) or (
                1 <= first <= 12 and 1 <= second <= 31
            )
    with pytest.raises(ValueError, match="2 to 8"):
        synthetic.date_digits(9, rng)


@pytest.mark.slow
@pytest.mark.parametrize("kind", synthetic.AMOUNT_KINDS)
def test_amounts_are_read_without_their_marks(kind, mnist_test, classify, verify):
    x, y = mnist_test
    rng = np.random.default_rng(31)
    right, marks_found, marks_drawn = 0, 0, 0
    for _ in range(AMOUNTS_PER_KIND):
        length = int(rng.integers(3, 8))
        layout = None
        if kind == "date":  # a real date: a '/' leaning like a '1' is told by it
            labels, layout = synthetic.date_digits(length, rng)
            pick = np.array([rng.choice(np.flatnonzero(y == v)) for v in labels])
        else:
            pick = rng.choice(len(x), length, replace=False)
        amount = synthetic.compose_amount(x[pick], rng, kind, date_layout=layout)
        result = reading.read_number(amount.image, classify, verify)
        # What is checked is the marks and the segmentation: a digit the
        # model misreads in MNIST form too does not count against them.
        as_mnist = classify(x[pick].astype(np.float32) / 255.0).argmax(axis=1)
        right += result.text in (
            "".join(str(int(v)) for v in y[pick]),
            "".join(str(int(v)) for v in as_mnist),
        )
        marks_drawn += len(amount.marks)
        found = [m.kind for m in result.marks]
        # Every mark drawn is reported as a mark of the same kind
        # (dots and commas are both separators).
        same = {"dot": "sep", "comma": "sep"}
        marks_found += sorted(same.get(k, k) for k in found) == sorted(
            same.get(k, k) for k in amount.marks
        )
    assert right >= AMOUNTS_PER_KIND - 2, f"{kind}: {right} of {AMOUNTS_PER_KIND} right"
    missed = MARKS_MISSED.get(kind, 2)
    assert marks_found >= AMOUNTS_PER_KIND - missed, f"{kind}: marks right in {marks_found}"


def test_marks_are_in_the_json(mnist_test, classify):
    x, _ = mnist_test
    amount = synthetic.compose_amount(x[:4], np.random.default_rng(2), "trailing_dash")
    data = reading.read_number(amount.image, classify).to_dict()
    assert len(data["text"]) == 4
    assert "dash" in [m["kind"] for m in data["marks"]]
    for mark in data["marks"]:
        x0, y0, x1, y1 = mark["box"]
        assert 0 <= x0 < x1 <= amount.image.shape[1] and 0 <= y0 < y1 <= amount.image.shape[0]


def _digits_read_right(mnist_test, classify, text: str) -> np.ndarray:
    """For each character of ``text``, the first test digit of that class the model
    reads right in MNIST form (so that a miss below is the reader's, not the model's)."""
    x, y = mnist_test
    chosen = []
    for char in text:
        index = np.flatnonzero(y[:500] == int(char))
        read = classify(x[index].astype(np.float32) / 255.0).argmax(axis=1)
        chosen.append(x[index[np.flatnonzero(read == int(char))[0]]])
    return np.stack(chosen)


@pytest.mark.parametrize(
    ("kind", "text", "marks", "digits_before", "lean", "seed"),
    [
        ("date", "1205", ["slash"], [2], 52.0, 3),  # 12/05
        # Leaning like a '1': a '/' because 12 and 05 are a day and a month.
        ("date", "1205", ["slash"], [2], 40.0, 3),
        ("date", "315", ["slash"], [1], 38.0, 3),  # 3/15 (m/d)
        ("date", "120526", ["slash", "slash"], [2, 4], 52.0, 3),  # 12/05/26
        # Leaning no more than many '1's: a '/' by the whole date's layout.
        ("date", "120526", ["slash", "slash"], [2, 4], 38.0, 3),
        ("date", "12052026", ["slash", "slash"], [2, 4], 38.0, 3),  # 12/05/2026
        ("trailing_dash", "1500", ["slash", "dash"], [4, 4], 38.0, 1),  # 1500/-
        ("sum", "347", ["plus", "equals"], [1, 2], 52.0, 3),  # 3+4=7
        ("currency", "250", ["currency"], [0], 52.0, 3),  # $250
    ],
)
def test_marks_between_digits_are_skipped(
    kind, text, marks, digits_before, lean, seed, mnist_test, classify
):
    digits = _digits_read_right(mnist_test, classify, text)
    amount = synthetic.compose_amount(
        digits, np.random.default_rng(seed), kind, slash_lean=(lean, lean)
    )
    assert amount.marks == marks
    result = reading.read_number(amount.image, classify)
    assert result.text == text
    data = result.to_dict()
    assert [m["kind"] for m in data["marks"]] == marks
    # Each mark is where it was written: after its digits, before the others.
    lefts = [d.box[0] for d in result.digits]
    for mark, before in zip(result.marks, digits_before, strict=True):
        assert all(left < mark.box[0] for left in lefts[:before])
        assert all(left > mark.box[0] for left in lefts[before:])


@pytest.mark.parametrize(
    ("text", "marks"),
    [
        ("23415", []),  # 234/15 is no date
        ("51765", []),  # 5/765 neither
        ("5176", []),  # nor 5/76: 76 is no day or month
        ("5126", ["slash"]),  # 5/26 is one: the stroke is read as a '/'
    ],
)
def test_a_leaning_one_is_a_slash_only_in_a_date(text, marks, mnist_test, classify):
    # A '1' leaning as far as a '/' (35-48 degrees, straight) reads as a '1'
    # unless a '/' there makes the line a date.
    x, y = mnist_test
    ones = []
    for index in np.flatnonzero(y == 1):
        straight, lean = vision_reading._axis(synthetic.digit_ink(x[index], 64) > 0.5)
        if straight and 36 <= lean < 46 and classify(x[index : index + 1] / 255.0).argmax() == 1:
            ones.append(index)
    assert ones, "no leaning '1' in the test digits"
    at = text.index("1")
    others = _digits_read_right(mnist_test, classify, text[:at] + text[at + 1 :])
    digits = np.concatenate([others[:at], x[ones[:1]], others[at:]])
    number = synthetic.compose_number(digits, np.random.default_rng(4), gap=(0.1, 0.2))
    result = reading.read_number(number.image, classify)
    assert result.text == (text[:at] + text[at + 1 :] if marks else text)
    assert [m.kind for m in result.marks] == marks


@pytest.mark.parametrize(("at", "is_dash"), [(0.55, True), (0.15, False)])
def test_a_flat_piece_is_a_dash_only_about_the_middle_of_the_line(
    at, is_dash, mnist_test, classify
):
    # A detached top bar (of a '5' or a '7') is flat too, but sits high.
    digits = _digits_read_right(mnist_test, classify, "34")
    number = synthetic.compose_number(digits, np.random.default_rng(5), gap=(0.2, 0.2))
    image = number.image.copy()
    rows = np.flatnonzero((image < 128).any(axis=1))
    columns = np.flatnonzero((image < 128).any(axis=0))
    top, height = rows[0], rows[-1] + 1 - rows[0]
    y = int(top + at * height)
    x0 = int(columns[-1] + 0.15 * height)
    image[y : y + 5, x0 : x0 + int(0.4 * height)] = 25
    result = reading.read_number(image, classify)
    assert ("dash" in [m.kind for m in result.marks]) is is_dash
    assert result.text == "34"


@pytest.mark.parametrize("seed", [2, 3, 4, 6])
def test_a_sloping_line_is_read_level(seed, mnist_test, classify):
    # Read as it lies, the '.' or ',' of a line sloping 4-10 degrees sits off the
    # line's band: it came out a '1', the wrong separator, or nothing.
    digits = _digits_read_right(mnist_test, classify, "4917306")
    amount = synthetic.compose_amount(digits, np.random.default_rng(seed), "tilted")
    result = reading.read_number(amount.image, classify)
    assert result.text == "4917306"
    assert [m.kind for m in result.marks] == amount.marks
    # The boxes are the input's: each holds ink there and stays inside the image.
    height, width = amount.image.shape
    for box in [d.box for d in result.digits] + [m.box for m in result.marks]:
        x0, y0, x1, y1 = box
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        assert (amount.image[y0:y1, x0:x1] < 128).any()


def test_a_level_line_is_not_turned(numbers):
    # The digits' own ups and downs do not make a slope (numbers: straight lines).
    for image, _ in numbers:
        info = find_ink(image)
        assert vision_reading._level(info) is info


def test_turn_maps_boxes_back_to_the_input():
    gray = np.ones((120, 300), np.float32)
    gray[50:70, 200:230] = 0.0
    turned, how = turn(gray, 9.0)
    ys, xs = np.nonzero(turned < 0.5)
    x0, y0, x1, y1 = how.to_input((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))
    assert x0 <= 200 and y0 <= 50 and x1 >= 230 and y1 >= 70  # holds the square
    assert x1 - x0 <= 40 and y1 - y0 <= 30  # and not much more
    # A level line comes out sloping by the angle.
    line = np.ones((100, 300), np.float32)
    line[50, 20:280] = 0.0
    turned, _ = turn(line, 9.0)
    ys, xs = np.nonzero(turned < 0.5)
    assert np.degrees(np.arctan(np.polyfit(xs, ys, 1)[0])) == pytest.approx(9.0, abs=0.3)
