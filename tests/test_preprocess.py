"""The MNIST-style normalisation of real images (mnist_cnn.preprocess).

Hard inputs are built from MNIST test digits: the preprocessed 28x28 must stay
close to the original digit (correlation), and the classifier must give the
same answer on it as on the original for at least 97% of a sample.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw
from scipy import ndimage as ndi

from helpers import png_header
from mnist_cnn import preprocess
from mnist_cnn.errors import ImageError
from mnist_cnn.vision import baseline, normalise
from mnist_cnn.vision.ink import _above_ruling, _erase_ruling, analyse_ink, select_digit
from mnist_cnn.vision.variants import (
    CUTOUT_VARIANTS,
    PHOTO_VARIANTS,
    ink_box_crop,
    on_paper,
    place,
    to_uint8,
    upscale,
)

SAMPLE = 120  # digits per variant for the agreement check
REPO = Path(__file__).resolve().parents[1]


VARIANTS = list(PHOTO_VARIANTS.values())
_upscale, _on_paper, _place, _u8 = upscale, on_paper, place, to_uint8
scaled_300 = PHOTO_VARIANTS["scaled_300"]


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    return float(np.corrcoef(a, b)[0, 1])


@pytest.fixture(scope="module")
def sample(mnist_test):
    x, y = mnist_test
    rng = np.random.default_rng(7)
    index = rng.choice(len(x), SAMPLE, replace=False)
    return x[index], y[index]


def test_an_mnist_digit_comes_back_almost_unchanged(mnist_test):
    x, _ = mnist_test
    scores = [_correlation(preprocess.to_mnist(x[i]), x[i] / 255.0) for i in range(50)]
    assert np.median(scores) > 0.9
    assert min(scores) > 0.6


@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.__name__)
def test_hard_inputs_come_out_like_the_original(variant, sample, classify):
    x, _ = sample
    rng = np.random.default_rng(0)
    processed = np.stack([preprocess.to_mnist(variant(d, rng)) for d in x])
    assert processed.shape == (SAMPLE, 28, 28)
    assert processed.dtype == np.float32
    assert processed.min() >= 0.0 and processed.max() <= 1.0

    scores = np.array([_correlation(p, d / 255.0) for p, d in zip(processed, x, strict=True)])
    assert np.median(scores) > 0.75, f"median correlation {np.median(scores):.3f}"

    original = classify(x.astype(np.float32) / 255.0).argmax(axis=1)
    seen = classify(processed).argmax(axis=1)
    agreement = float(np.mean(original == seen))
    assert agreement >= 0.97, f"{variant.__name__}: agreement {agreement:.3f}"


def test_a_digit_touching_the_border_keeps_its_polarity(mnist_test):
    x, _ = mnist_test
    digit = x[0]  # a 7
    rows = np.flatnonzero(digit.max(axis=1) > 0)
    cols = np.flatnonzero(digit.max(axis=0) > 0)
    tight = 255 - digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # ink on the edges
    result = preprocess.preprocess(tight)
    assert result.inverted  # dark on light was recognised
    assert _correlation(result.image28, digit / 255.0) > 0.7


def test_a_bold_digit_filling_the_picture_keeps_its_polarity(mnist_test):
    x, _ = mnist_test
    bold = ndi.grey_dilation(_upscale(x[3], 84), footprint=np.ones((9, 9), bool))
    result = preprocess.preprocess(_u8(1.0 - bold))
    assert result.inverted


def test_specks_far_from_the_digit_are_dropped(mnist_test):
    x, _ = mnist_test
    image = np.full((200, 200), 0.9, np.float32)
    image = _on_paper(_place(_upscale(x[1], 120), (200, 200), 40, 40), image)
    image[5:8, 5:8] = 0.1  # specks in the corners
    image[190:193, 190:193] = 0.1
    result = preprocess.preprocess(_u8(image))
    clean = preprocess.preprocess(
        _u8(
            _on_paper(
                _place(_upscale(x[1], 120), (200, 200), 40, 40),
                np.full((200, 200), 0.9, np.float32),
            )
        )
    )
    assert _correlation(result.image28, clean.image28) > 0.95


def test_output_is_mnist_shaped(mnist_test):
    x, _ = mnist_test
    out = preprocess.to_mnist(scaled_300(x[5], None))
    rows = np.flatnonzero(out.max(axis=1) > 0.1)
    cols = np.flatnonzero(out.max(axis=0) > 0.1)
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 21  # fits 20x20 (+AA)
    cy, cx = ndi.center_of_mass(out)
    assert abs(cy - 14) <= 1.0 and abs(cx - 14) <= 1.0
    assert out.max() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP"])
def test_every_common_format_reads(fmt, mnist_test, tmp_path):
    x, _ = mnist_test
    path = tmp_path / f"digit.{fmt.lower()}"
    Image.fromarray(scaled_300(x[2], None)).save(path, format=fmt)
    assert _correlation(preprocess.to_mnist(path), x[2] / 255.0) > 0.75


def test_palette_16bit_and_exif_rotated(mnist_test, tmp_path):
    x, _ = mnist_test
    gray = scaled_300(x[4], None)
    reference = preprocess.to_mnist(gray)

    Image.fromarray(gray).convert("P").save(tmp_path / "p.png")
    assert _correlation(preprocess.to_mnist(tmp_path / "p.png"), reference) > 0.95

    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "16.png")
    with Image.open(tmp_path / "16.png") as image:
        assert image.mode.startswith("I")
    assert _correlation(preprocess.to_mnist(tmp_path / "16.png"), reference) > 0.95

    # A phone stores the sensor's pixels rotated and says so in EXIF (6: rotate 90 CW).
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.rot90(gray, 1).copy()).save(tmp_path / "rot.jpg", exif=exif, quality=95)
    assert _correlation(preprocess.to_mnist(tmp_path / "rot.jpg"), reference) > 0.9


def test_numpy_canvas_drawings(mnist_test):
    x, _ = mnist_test
    ink = _upscale(x[6], 280)
    white_on_black_float = ink
    rgba_canvas = np.zeros((280, 280, 4), np.uint8)
    rgba_canvas[..., 3] = _u8(ink)
    for canvas in (white_on_black_float, rgba_canvas):
        assert _correlation(preprocess.to_mnist(canvas), x[6] / 255.0) > 0.75


def test_raw_mode_only_scales(mnist_test, tmp_path):
    x, _ = mnist_test
    path = tmp_path / "d.png"
    Image.fromarray(x[0]).save(path)
    raw = preprocess.to_mnist(path, assume_mnist=True)
    np.testing.assert_allclose(raw, x[0] / 255.0, atol=1e-6)
    Image.fromarray(scaled_300(x[0], None)).save(tmp_path / "big.png")
    with pytest.raises(ImageError, match="28x28"):
        preprocess.to_mnist(tmp_path / "big.png", assume_mnist=True)


# --------------------------------------------------------------------------- bad input


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not a picture")
    with pytest.raises(ImageError, match="notes.png.*not an image"):
        preprocess.to_mnist(path)


def test_truncated_file(tmp_path, mnist_test):
    x, _ = mnist_test
    buffer = io.BytesIO()
    Image.fromarray(scaled_300(x[0], None)).save(buffer, format="PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="cut.png.*truncated"):
        preprocess.to_mnist(path)


def test_zero_by_zero(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(png_header(0, 0))
    with pytest.raises(ImageError, match="empty.png"):
        preprocess.to_mnist(path)
    with pytest.raises(ImageError, match="empty"):
        preprocess.to_mnist(np.zeros((0, 0), np.uint8))


def test_blank_page(tmp_path):
    rng = np.random.default_rng(0)
    paper = np.clip(0.9 + 0.01 * rng.standard_normal((300, 400)), 0, 1)
    path = tmp_path / "blank.jpg"
    Image.fromarray(_u8(paper)).save(path)
    with pytest.raises(ImageError, match="blank.jpg.*no digit"):
        preprocess.to_mnist(path)
    with pytest.raises(ImageError, match="no digit"):
        preprocess.to_mnist(np.full((50, 50), 255, np.uint8))


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    # 50,000 x 50,000 pixels declared; refused from the header alone.
    path = tmp_path / "bomb.png"
    path.write_bytes(png_header(50_000, 50_000))
    with pytest.raises(ImageError, match="bomb.png.*too large"):
        preprocess.to_mnist(path)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        preprocess.to_mnist(tmp_path / "nope.png")


def test_preview_is_written(tmp_path, mnist_test):
    x, _ = mnist_test
    gray = scaled_300(x[0], None) / 255.0
    out = preprocess.save_preview(
        [("a: 7", gray, preprocess.to_mnist(gray)), ("b: 2", x[1] / 255.0, x[1] / 255.0)],
        tmp_path / "preview.png",
    )
    with Image.open(out) as image:
        assert image.width > 300 and image.height > 2 * 168
    assert not list(tmp_path.glob("*.tmp*"))


def test_two_level_canvas_without_anti_aliasing():
    # A drawing app's canvas: pure 0/1 pixels, a thick stroke from edge to edge.
    canvas = np.zeros((280, 280), np.uint8)
    canvas[:, 120:160] = 255  # a '1' drawn with a 40 px brush, top to bottom
    out = preprocess.to_mnist(canvas)
    cols = np.flatnonzero(out.max(axis=0) > 0.5)
    rows = np.flatnonzero(out.max(axis=1) > 0.5)
    assert 18 <= rows.size <= 21 and 1 <= cols.size <= 6  # upright bar, 20 px tall
    assert preprocess.to_mnist(canvas.astype(bool)).max() == pytest.approx(1.0)


# ----------------------------------------------------------------- cut-out scans
# What people send besides photos: digits cut to their box (ink touching the
# frame), 1-bit scans, low-resolution sources blown up, digits stretched to
# fill a square, bold markers on small canvases, in both polarities. They
# were called "blank" or misread before the plain reading became the floor.
CUTOUT_SAMPLE = 60
# Regression floors on 60 test digits (0.95: at most 3 misread);
# benchmarks/bench_handwriting.py has the rates on 500. Jagged 1-bit digits
# stretched to a square remain the weakest kind (its misses are mostly '1's).
CUTOUT_FLOOR = {"one_bit": 0.9}


def test_first_20_tight_crops_read_right(mnist_test, classify):
    """The issue's reproduction: the first 20 test digits cut to their ink box,
    dark on white, upscaled 8x bilinear. 4 were called blank and 6 misread."""
    x, y = mnist_test
    images = []
    for digit in x[:20]:
        crop = ink_box_crop(digit)
        dark = Image.fromarray(to_uint8(1.0 - 0.9 * crop))
        images.append(
            np.asarray(dark.resize((8 * crop.shape[1], 8 * crop.shape[0]), Image.BILINEAR))
        )
    seen = np.stack([preprocess.to_mnist(image, classify=classify) for image in images])
    assert list(classify(seen).argmax(axis=1)) == list(y[:20])


# Three real digits (UCI "Multiple Features", mfeat-pix rows 485, 1691 and
# 1846; van Breukelen and Duin, CC BY 4.0): cut from Dutch utility maps,
# stretched to fill a 16x15 frame, ink 0-6. Their bold ink is the majority
# of the frame, so the paper is the minority class; read as ink, the paper
# made a sure '4' of each (p 0.95-1.0) before the polarity check.
BOLD_FRAME_FILLING = {
    2: "266666666666651 466666666666662 666663013666660 566640001666660 "
    "366660003666650 156410026666610 000000046666600 000000566664100 "
    "000000666610000 000003666500000 000266663000000 000466620000000 "
    "015666300000000 266666422221000 566666666666500 034444444444300",
    8: "036666666666630 066666666666660 066640000046661 066630000036663 "
    "066610000036660 046650000016660 036662000156640 066666300266600 "
    "465566630066600 660015665112100 660000366641000 660000015666300 "
    "661000000466610 664000001566630 466654566666500 034444444443000",
    9: "001344466666651 036666666666661 366665566666510 066650066666100 "
    "166600166666000 366633666666000 046666666666000 006666666664000 "
    "003666556663000 000121036660000 000000056660000 000000036660000 "
    "000000056620000 034323566600000 566666666600000 344444444400000",
}


def _bold_frame_filling(rows: str) -> np.ndarray:
    ink = np.array([[int(c) for c in row] for row in rows.split()]) / 6.0
    return np.asarray(Image.fromarray(to_uint8(1.0 - 0.9 * ink)).resize((60, 64), Image.BILINEAR))


def test_pieces_of_ink_are_counted_without_scraps():
    mask = np.zeros((20, 20), bool)
    mask[2:8, 2:8] = mask[12:18, 12:18] = True  # two strokes
    mask[0, 19] = True  # a scrap, under 10 % of the largest piece
    assert normalise._pieces(mask) == 2
    assert normalise._pieces(np.zeros((5, 5), bool)) == 0


@pytest.mark.parametrize("digit", sorted(BOLD_FRAME_FILLING))
def test_a_bold_digit_filling_its_frame_is_read_as_ink_not_paper(digit, classify, monkeypatch):
    image = _bold_frame_filling(BOLD_FRAME_FILLING[digit])
    seen = preprocess.to_mnist(image, classify=classify)
    assert classify(seen[None]).argmax() == digit
    # Without the check, the paper (more pieces than the ink) is read as a '4'.
    monkeypatch.setattr(normalise, "POLARITY_MARGIN", 0.0)
    seen = preprocess.to_mnist(image, classify=classify)
    assert classify(seen[None]).argmax() == 4


@pytest.mark.parametrize("name", sorted(CUTOUT_VARIANTS))
def test_cut_out_scans_are_read(name, mnist_test, classify):
    x, y = mnist_test
    index = np.random.default_rng(8).choice(len(x), CUTOUT_SAMPLE, replace=False)
    rng = np.random.default_rng(0)
    sources = [CUTOUT_VARIANTS[name](d, rng) for d in x[index]]
    results = [preprocess.preprocess(s, classify=classify) for s in sources]  # never "blank"
    polarity = np.mean([r.inverted == (not name.endswith("_light")) for r in results])
    assert polarity >= 0.9, f"{name}: polarity right in {polarity:.0%}"
    accuracy = float(
        np.mean(classify(np.stack([r.image28 for r in results])).argmax(1) == y[index])
    )
    floor = next((v for k, v in CUTOUT_FLOOR.items() if name.startswith(k)), 0.95)
    assert accuracy >= floor, f"{name}: {accuracy:.3f}"


@pytest.mark.parametrize("resample", ["bilinear", "nearest"])
def test_real_writers_8x8_digits_are_read(resample, classify):
    """Real writers: 200 of the UCI digits scikit-learn ships (13 writers, 8x8,
    filling the frame), upscaled to 64x64 as a user would send them. None is
    blank, and the pipeline reads them at least as well as the plain recipe."""
    load_digits = pytest.importorskip("sklearn.datasets").load_digits
    digits = load_digits()
    images, labels = digits.images[:200], digits.target[:200]
    method = Image.BILINEAR if resample == "bilinear" else Image.NEAREST
    sources = [
        np.asarray(Image.fromarray(to_uint8(1.0 - 0.9 * g / 16.0)).resize((64, 64), method))
        for g in images
    ]
    ours = np.stack([preprocess.preprocess(s, classify=classify).image28 for s in sources])
    plain = np.stack([baseline.plain_to_mnist(s) for s in sources])
    accuracy = float(np.mean(classify(ours).argmax(1) == labels))
    plain_accuracy = float(np.mean(classify(plain).argmax(1) == labels))
    # Blocky ones are read from their 8x8 source pixels: 0.985 (0.970 without);
    # smooth ones 0.975 (0.970 before the low-resolution reading needed a margin).
    floor = 0.98 if resample == "nearest" else 0.97
    assert accuracy >= floor, f"{resample}: {accuracy:.3f}"
    assert accuracy >= plain_accuracy, f"{accuracy:.3f} against plain {plain_accuracy:.3f}"


def test_noise_and_flat_images_are_blank():
    rng = np.random.default_rng(1)
    for image in (
        rng.random((80, 60)),  # uniform noise
        np.clip(0.5 + 0.2 * rng.standard_normal((300, 400)), 0, 1),  # Gaussian noise
        (rng.random((120, 120)) < 0.5).astype(np.float32),  # random 1-bit pixels
        np.full((40, 40), 0.3, np.float32),  # flat grey
    ):
        with pytest.raises(ImageError, match="no digit"):
            preprocess.preprocess(image)


def test_several_digits_are_counted(mnist_test):
    x, _ = mnist_test
    assert preprocess.preprocess(REPO / "docs" / "examples" / "year.jpg").digits_side_by_side == 4
    assert [preprocess.preprocess(d).digits_side_by_side for d in x[:200]] == [1] * 200


def test_sides_touched_counts_the_sides_the_ink_reaches():
    mask = np.zeros((100, 80), bool)
    assert normalise.sides_touched(mask) == 0
    mask[30:60, 20:50] = True  # a digit with margins: a page around it
    assert normalise.sides_touched(mask) == 0
    mask[2:60, 20:50] = True  # within 5 % of the top
    assert normalise.sides_touched(mask) == 1
    mask[2:99, 0:79] = True  # the frame is the ink's box
    assert normalise.sides_touched(mask) == 4


def test_the_low_resolution_reading_undoes_a_blocky_upscale(mnist_test):
    """Area averaging a nearest-neighbour upscale until its ink is 8 px gives back the
    source itself: the reading is the plain recipe on what was scanned."""
    x, _ = mnist_test
    for digit in x[:10]:
        crop = ink_box_crop(digit)
        factor = 8 / max(crop.shape)
        size = (max(2, round(crop.shape[1] * factor)), max(2, round(crop.shape[0] * factor)))
        # A two-level source, so the blocks' ink box is exactly the source's frame.
        source = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.BOX)) > 0.3
        gray = np.where(source, 0.1, 1.0).astype(np.float32)
        blocky = np.kron(gray, np.ones((7, 7), np.float32))
        plain = normalise.plain_reading(blocky, dark_ink=True)
        low = normalise.low_resolution_reading(blocky, plain)
        assert low.method == "low-resolution"
        expected = baseline.plain_to_mnist(gray, dark_ink=True)
        assert _correlation(low.image28, expected) > 0.99


def test_a_low_resolution_reading_must_be_surer_by_a_margin(mnist_test):
    """The low-resolution reading is taken only when the classifier is surer of it
    than of the plain one by LOW_RESOLUTION_MARGIN: shrunk to 8 px, some writers'
    bold digits become a confident '1'."""
    x, _ = mnist_test
    crop = ink_box_crop(x[0])
    image = (
        np.asarray(
            Image.fromarray(to_uint8(1.0 - 0.9 * crop)).resize((64, 64), Image.BILINEAR),
            np.float32,
        )
        / 255.0
    )
    plain = normalise.plain_reading(image, dark_ink=True)
    small = [
        normalise.low_resolution_reading(image, plain, side).image28
        for side in (normalise.LOW_RESOLUTION, normalise.LOW_RESOLUTION_CHECK)
    ]

    def classifier(low_confidence):
        def classify(images):
            out = np.zeros((len(images), 10), np.float32)
            for row, im in zip(out, images, strict=True):
                if any(np.allclose(im, s) for s in small):
                    row[1] = low_confidence  # the shrunk readings: a '1'
                else:
                    row[7] = 0.8
            return out

        return classify

    margin = normalise.LOW_RESOLUTION_MARGIN
    assert preprocess.preprocess(image, classifier(0.8 + margin / 2)).method == "plain"
    assert preprocess.preprocess(image, classifier(0.8 + 2 * margin)).method == "low-resolution"


def test_a_digit_stretched_to_a_square_frame_is_also_read_narrowed():
    """A digit filling a square frame to all four sides may have lost its aspect
    (a stretched '1' with a flag looks like a '7'): its narrowed reading is a
    candidate, taken when the classifier is surer of it by NARROWED_MARGIN. A
    frame that is not square keeps the digit's own aspect: no narrowed reading."""
    one = Image.new("L", (32, 32), 0)
    draw = ImageDraw.Draw(one)
    draw.line([(12, 11), (19, 2)], fill=255, width=3)
    draw.line([(19, 2), (18, 30)], fill=255, width=3)
    crop = ink_box_crop(np.asarray(one))
    stretched = CUTOUT_VARIANTS["stretched_square"](np.asarray(one), np.random.default_rng(0))
    image = np.asarray(stretched, np.float32) / 255.0
    plain = normalise.plain_reading(image)
    narrow = normalise.narrowed_reading(image, plain)
    assert narrow.method == "narrowed"
    columns = np.flatnonzero((narrow.image28 > 0.3).any(axis=0))
    assert np.ptp(columns) + 1 < 0.6 * baseline.MNIST_BOX  # a '1' is that narrow, not 20 px

    def width(im):
        return np.ptp(np.flatnonzero((im > 0.3).any(axis=0))) + 1

    def classifier(narrow_confidence, narrower_than):
        def classify(images):
            out = np.zeros((len(images), 10), np.float32)
            for row, im in zip(out, images, strict=True):
                if width(im) < narrower_than:
                    row[1] = narrow_confidence
                else:
                    row[7] = 0.8
            return out

        return classify

    margin = normalise.NARROWED_MARGIN
    below = width(narrow.image28) + 1
    assert preprocess.preprocess(image, classifier(0.8 + margin / 2, below)).method != "narrowed"
    assert preprocess.preprocess(image, classifier(0.8 + 2 * margin, below)).method == "narrowed"
    # The same '1' cut out with its own aspect (a tall frame) is not narrowed,
    # however sure the classifier would be of a '1' narrower than it.
    tall = to_uint8(1.0 - 0.9 * np.repeat(np.repeat(crop, 4, axis=0), 4, axis=1))
    tall_reading = normalise.plain_reading(np.asarray(tall, np.float32) / 255.0)
    narrower = classifier(1.0, width(tall_reading.image28))
    assert normalise.sides_touched(tall_reading.mask) == 4
    assert preprocess.preprocess(tall, narrower).method != "narrowed"


def test_source_pixels_finds_what_a_blocky_enlargement_was_made_from():
    rng = np.random.default_rng(3)
    source = rng.random((8, 6)).astype(np.float32)  # no two neighbouring rows alike
    pil = Image.fromarray(source, mode="F")
    for size in ((48, 64), (45, 45), (13, 40)):  # 8x and 6x; 7.5x and 5.6x; 5x and 2.2x
        blocky = np.asarray(pil.resize(size, Image.NEAREST))
        np.testing.assert_array_equal(normalise.source_pixels(blocky), source)
    # OpenCV's nearest neighbour takes source row floor(i * m / n), Pillow's the centre's.
    rows, cols = np.arange(30) * 8 // 30, np.arange(21) * 6 // 21
    np.testing.assert_array_equal(normalise.source_pixels(source[np.ix_(rows, cols)]), source)
    # A crop of one: a row cut off the first block.
    cropped = np.kron(source, np.ones((4, 4), np.float32))[1:]
    np.testing.assert_array_equal(normalise.source_pixels(cropped), source)
    # Two rows of the source alike do not make the source shorter.
    source[4] = source[3]
    alike = np.asarray(Image.fromarray(source).resize((48, 64), Image.NEAREST))
    np.testing.assert_array_equal(normalise.source_pixels(alike), source)
    for picture in (
        source,  # not enlarged
        np.asarray(pil.resize((9, 12), Image.NEAREST)),  # less than 2x: some rows once
        np.asarray(pil.resize((48, 64), Image.BILINEAR)),  # smooth
    ):
        assert normalise.source_pixels(picture) is None, picture.shape
    blank = np.ones((40, 40), np.float32)
    assert normalise.source_pixels(blank) is None


def test_a_blocky_digit_is_read_from_its_source_pixels(mnist_test):
    """A 1-bit digit blown up without smoothing reads as its small source does, and the
    ink box is in the picture's own pixels."""
    x, _ = mnist_test
    for digit in x[:10]:
        crop = ink_box_crop(digit)
        small = np.where(np.asarray(Image.fromarray(crop, mode="F").resize((9, 12))) > 0.4, 0, 255)
        small = np.pad(small.astype(np.uint8), 2, constant_values=255)
        blocky = np.kron(small, np.ones((6, 5), np.uint8))  # 96 x 65
        result = preprocess.preprocess(blocky)
        expected = normalise.plain_reading(small.astype(np.float32) / 255).image28
        np.testing.assert_allclose(result.image28, expected, atol=1e-6)
        ys, xs = np.nonzero(small == 0)
        box = (5 * xs.min(), 6 * ys.min(), 5 * (xs.max() + 1), 6 * (ys.max() + 1))
        assert result.ink_box == box


def test_a_blocky_cut_out_is_not_a_page_on_a_desk(mnist_test):
    """Ground bent around a stroke along a side is the digit's own, not paper beside a
    desk: the paper beside a desk is convex. 18 of these 50 were taken for desks."""
    x, _ = mnist_test
    rng = np.random.default_rng(0)
    blocky = CUTOUT_VARIANTS["low_res_8_nearest"]
    desks = [analyse_ink(preprocess.load_image(blocky(d, rng))).outside_paper for d in x[:50]]
    assert sum(desks) <= 2
    on_desk = PHOTO_VARIANTS["on_desk"]
    assert all(analyse_ink(preprocess.load_image(on_desk(d, rng))).outside_paper for d in x[:10])


def _drawn_seven() -> np.ndarray:
    """A '7' drawn at 32x32, white on black, its bar along the top of the frame."""
    image = Image.new("L", (32, 32), 0)
    draw = ImageDraw.Draw(image)
    draw.line([(4, 3), (27, 3)], fill=255, width=3)
    draw.line([(27, 3), (12, 30)], fill=255, width=3)
    return np.asarray(image)


@pytest.mark.parametrize("name", ["scan_16px", "low_res_16_bilinear", "stretched_square"])
def test_a_sevens_bar_along_the_top_of_a_cut_out_is_not_a_desk(name, classify):
    """The bar runs along the whole top side and the ground below it is convex, as
    beside a desk; but bright ground lies on both sides of the stem, and a desk is
    dark. Taken for a desk, the bar was painted out (drawn '7's read as '1')."""
    source = CUTOUT_VARIANTS[name](_drawn_seven(), np.random.default_rng(0))
    assert not analyse_ink(preprocess.load_image(source)).outside_paper
    result = preprocess.preprocess(source, classify=classify)
    assert result.method != "page"
    assert int(np.argmax(classify(result.image28[None])[0])) == 7


def test_a_blurry_digit_filling_its_frame_is_not_read_as_a_page(mnist_test):
    """Where the ink reaches all four sides, grey that varies is the digit's blur, not
    uneven light: the plain readings are kept (the page reading took 3-5 in 60)."""
    x, _ = mnist_test
    for name in ("low_res_8_bilinear", "low_res_8_nearest"):
        rng = np.random.default_rng(0)
        methods = [preprocess.preprocess(CUTOUT_VARIANTS[name](d, rng)).method for d in x[:60]]
        assert methods.count("page") <= 1, name


def test_the_preprocess_facade_re_exports_every_public_name_of_loading_and_normalise():
    from mnist_cnn.vision import loading

    for module in (loading, normalise):
        for name in module.__all__:
            assert name in preprocess.__all__, f"preprocess does not re-export {name}"
            assert getattr(preprocess, name) is getattr(module, name), name
    for name in preprocess.__all__:
        assert getattr(preprocess, name) is not None, name


# ----------------------------------------------------------------- not a digit
# The drawings the checks were chosen on (mnist_cnn.vision.not_digits.CHOSEN_ON)
# are flagged 44% by shape alone (59% with the low-confidence flag), those drawn
# after them (HELD_OUT) 44% (61%); 0.15% of the first 2,000 test digits are
# (benchmarks/bench_handwriting.py).
@pytest.mark.parametrize(
    ("shape", "reason", "at_least"),
    [
        ("circle_cross", "loops", 10),
        ("star", "loops", 7),
        ("spiral", "side by side", 10),
        ("letter_w", "side by side", 10),
        ("smiley", "side by side", 8),
        ("filled_circle", "blob", 10),
        ("filled_rectangle", "blob", 3),
    ],
)
def test_drawings_that_are_no_digit_are_told_by_their_shape(shape, reason, at_least):
    from mnist_cnn.vision.not_digits import NOT_DIGITS

    rng = np.random.default_rng(1)
    doubts = [
        normalise.not_a_digit(preprocess.to_mnist(NOT_DIGITS[shape](rng))) for _ in range(10)
    ]
    assert sum(d is not None and reason in d for d in doubts) >= at_least, doubts


def test_digits_are_not_taken_for_shapes_no_digit_has(mnist_test):
    x, _ = mnist_test
    doubts = [normalise.not_a_digit(preprocess.to_mnist(d)) for d in x[:400]]
    flagged = [(i, d) for i, d in enumerate(doubts) if d is not None]
    assert len(flagged) <= 2, flagged  # 1% would be 4; 0.15% is expected
    assert normalise.not_a_digit(np.zeros((28, 28), np.float32)) is None


def test_views_zoom_and_turn_the_digit_about_the_centre_and_their_readings_are_averaged():
    from mnist_cnn.vision import normalise

    square = np.zeros((28, 28), np.float32)
    square[9:19, 9:19] = 1.0  # 10x10 about the centre
    stack = normalise.views(square)
    assert stack.shape == (5, 28, 28) and stack.dtype == np.float32
    assert np.array_equal(stack[0], square)
    ink = stack.sum(axis=(1, 2))  # 10 px across as is, about 9 and 11 zoomed
    np.testing.assert_allclose(ink[:3], [100, 81, 121], atol=1.5)
    for turned in stack[3:]:  # turned 8 degrees: corners move, the middle stays
        assert turned[14, 14] == 1.0 and not np.array_equal(turned > 0.5, square > 0.5)
    seen = []

    def classify(images):  # class 0 for the as-is view, 1 for the others
        seen.append(len(images))
        out = np.zeros((len(images), 10))
        for i, image in enumerate(images):
            out[i, 0 if np.array_equal(image, square) else 1] = 1.0
        return out

    probabilities = normalise.classify_views(classify, np.stack([square, square]))
    assert seen == [10]  # one call for every view of both images
    np.testing.assert_allclose(probabilities[:, :2], [[0.2, 0.8], [0.2, 0.8]])
    assert normalise.classify_views(classify, np.zeros((0, 28, 28))).shape[0] == 0


def test_each_image_is_read_by_its_own_classifier_in_one_batch_per_classifier():
    calls = []

    def answering(digit):
        def classify(images):
            calls.append((digit, len(images)))
            out = np.zeros((len(images), 10))
            out[:, digit] = 1.0
            return out

        return classify

    three, seven = answering(3), answering(7)
    images = np.random.default_rng(0).random((5, 28, 28)).astype(np.float32)
    chosen = [three, seven, three, seven, three]
    read = normalise.classify_each(chosen, images)
    assert read.argmax(axis=1).tolist() == [3, 7, 3, 7, 3]
    assert sorted(calls) == [(3, 15), (7, 10)]  # five views each, one call per classifier
    calls.clear()
    assert normalise.classify_each(chosen, images, views=False).argmax(axis=1).tolist() == [
        3, 7, 3, 7, 3
    ]  # fmt: skip
    assert sorted(calls) == [(3, 3), (7, 2)]


def _lines_and_writing(writing_level: float) -> tuple[np.ndarray, np.ndarray]:
    """A flattened ruled page (ink bright): lines every 16 px at 0.2, a margin line
    across them, and a small blob of writing at ``writing_level``; and the writing."""
    flat = np.zeros((240, 200), np.float32)
    flat[8::16] = 0.2
    flat[:, 30] = 0.2
    writing = np.zeros(flat.shape, bool)
    writing[100:130, 120:124] = writing[100:104, 110:130] = True
    flat[writing] = writing_level
    return flat, writing


def test_a_second_cut_leaves_out_the_ruling_a_first_one_took_for_ink():
    flat, writing = _lines_and_writing(0.8)
    higher = _above_ruling(flat, flat > 0.1, 0.1)
    assert 0.2 <= higher < 0.8
    # Writing as light as the lines is not cut away with them.
    flat, writing = _lines_and_writing(0.2)
    assert _above_ruling(flat, flat > 0.1, 0.1) == 0.1
    # Without ruling, the first cut stands.
    blob = np.where(writing, 0.8, 0.0).astype(np.float32)
    assert _above_ruling(blob, blob > 0.1, 0.1) == 0.1


def _ruled_page(stroke: int) -> tuple[np.ndarray, np.ndarray]:
    """A ruled page's mask: 2 px lines every 32 px (some broken, one missing, as in
    a shadow), a margin line across them, and a '7' of ``stroke`` px strokes whose
    bar lies on a line; and the '7'."""
    mask = np.zeros((480, 360), bool)
    for row in range(20, 480, 32):
        if row != 212:  # the shadow hides a line
            mask[row : row + 2] = True
    mask[84:86, 200:360] = False  # and breaks another
    mask[:, 60:62] = True
    seven = np.zeros(mask.shape, bool)
    seven[148 : 148 + stroke, 150:250] = True  # the bar, along the line at 148
    for k in range(150):  # the stem, slanting down to the left
        seven[148 + k, 245 - k // 3 - stroke : 245 - k // 3] = True
    return mask | seven, seven


@pytest.mark.parametrize("stroke", [5, 9])
def test_ruling_lines_are_erased_and_the_writing_kept(stroke):
    mask, seven = _ruled_page(stroke)
    erased = _erase_ruling(mask)
    lines = mask & ~seven
    assert erased[lines].mean() > 0.97  # the lines, broken ones and the margin line
    assert not erased[seven].any()  # the '7' whole, its bar on a line included


def test_a_digit_alone_or_lines_as_thick_as_the_writing_are_not_ruling():
    mask, seven = _ruled_page(5)
    # Three bars of a '3' on blank paper: thick as the writing, not lines.
    three = np.zeros((200, 200), bool)
    for top in (20, 90, 160):
        three[top : top + 8, 40:160] = True
    three[20:168, 152:160] = True
    assert not _erase_ruling(three).any()
    # Lines as thick as the strokes (a grid of bold bars) are not ruled paper's.
    bold = seven.copy()
    for row in range(20, 480, 32):
        bold[row : row + 5] = True
    assert not _erase_ruling(bold).any()
    # Unevenly spaced lines are not ruling either.
    uneven = seven.copy()
    for row in (20, 40, 130, 150, 400):
        uneven[row : row + 2] = True
    assert not _erase_ruling(uneven).any()


@pytest.mark.parametrize("stroke", [5, 9])
def test_pieces_of_ruling_left_beside_a_digit_do_not_join_it(stroke):
    import dataclasses

    _, seven = _ruled_page(stroke)
    mask = seven.copy()
    # A piece of the '7''s stem broken off (a faint stretch of the stroke) belongs to it.
    broken = np.zeros(mask.shape, bool)
    broken[306 : 306 + 30, 190 : 190 + stroke] = True
    # What erasure missed of the line along the bar (in a shadow, beyond the
    # margin): 40 px pieces, 2 px thick, 5 px apart, from the left edge to the '7'.
    pieces = np.zeros(mask.shape, bool)
    for left in range(5, 105, 45):
        pieces[149:151, left : left + 40] = True
    mask |= broken | pieces
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    info = dataclasses.replace(
        analyse_ink(np.ones(mask.shape, np.float32)), mask=mask, labels=labels, count=count
    )
    chosen = np.isin(labels, [c.label for c in select_digit(info)])
    assert chosen[seven | broken].all()
    assert not chosen[pieces].any()


def test_small_digits_on_ruled_paper_in_uneven_light_are_read(mnist_test, classify):
    # The notebook kind: 40 of these 40 with the packaged model, 39 before
    # pieces of ruling were kept out of the digit and a page-sized plain
    # reading of ruled paper left out, 38 before the
    # ruling left by the cut was erased, 35 before the ruling was cut away (the
    # lines, most of what stands out under a small digit, had been taken for ink).
    x, y = mnist_test
    rng = np.random.default_rng(0)
    sources = [PHOTO_VARIANTS["notebook"](d, rng) for d in x[:40]]
    results = [preprocess.preprocess(s, classify=classify) for s in sources]
    images = np.stack([r.image28 for r in results])
    assert np.mean(classify(images).argmax(axis=1) == y[:40]) >= 0.95

    # Where the plain threshold took the shadowed corner and the lines with the
    # digit, ink reaching all four sides, the page reading is taken outright,
    # even by a classifier as sure of that reading as of any other.
    def undecided(images):
        return np.full((len(images), 10), 0.1, np.float32)

    page_sized = 0
    for source in sources:
        work, _ = normalise.to_working_scale(normalise.load_image(source))
        plain = normalise.plain_reading(work)
        lines = plain.rulings >= normalise.RULED_PAGE_LINES
        if lines and normalise.sides_touched(plain.mask) == 4:
            page_sized += 1
            assert preprocess.preprocess(source, classify=undecided).method == "page"
    assert page_sized >= 5
