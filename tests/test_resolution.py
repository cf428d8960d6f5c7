"""Pictures blown up from a small source, and the model that reads them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from mnist_cnn.training import real_writers
from mnist_cnn.vision import resolution, variants
from mnist_cnn.vision.loading import load_image


def _gray(picture: np.ndarray) -> np.ndarray:
    return np.asarray(picture, np.float32) / 255.0


@pytest.fixture(scope="module")
def uci():
    images, labels = real_writers.load_uci_training_set()
    return images[:40], labels[:40]


@pytest.mark.parametrize("resample", [Image.BILINEAR, Image.NEAREST])
@pytest.mark.parametrize("dark_ink", [True, False])
def test_8x8_digits_blown_up_are_small_sources(uci, resample, dark_ink):
    pictures = real_writers.uci_pictures(uci[0], resample, dark_ink)
    assert all(resolution.upscaled_from_small(_gray(p)) for p in pictures)


def test_a_16x15_scan_blown_up_blockily_is_a_small_source(mnist_test):
    x, _ = mnist_test
    for digit in x[:20]:
        paper = variants.to_uint8(1.0 - 0.9 * variants.ink_box_crop(digit))
        small = Image.fromarray(paper).resize((15, 16), Image.BOX)
        picture = np.asarray(small.resize((60, 64), Image.NEAREST))
        assert resolution.upscaled_from_small(_gray(picture))


def test_large_pictures_are_judged_as_well(uci, mnist_test):
    # An 8x8 digit blown up to 2,000 px (shrunk to 512 px first inside) is still small.
    for resample in (Image.NEAREST, Image.BILINEAR):
        picture = real_writers.uci_pictures(uci[0][:1], resample)[0]
        huge = np.asarray(Image.fromarray(picture).resize((2000, 2000), resample))
        assert resolution.upscaled_from_small(_gray(huge))
    # A photo-sized page with a digit drawn at full resolution is not.
    digit = np.asarray(Image.fromarray(255 - mnist_test[0][0]).resize((900, 900), Image.BICUBIC))
    page = np.full((3000, 2400), 230, np.uint8)
    page[1000:1900, 700:1600] = np.minimum(digit, 230)
    noise = np.random.default_rng(0).normal(0, 4, page.shape)
    assert not resolution.upscaled_from_small(_gray(np.clip(page + noise, 0, 255)))


def test_mnist_digits_photos_and_blank_pictures_are_not(mnist_test):
    x, _ = mnist_test
    rng = np.random.default_rng(0)
    for digit in x[:30]:
        # MNIST's own 28x28 frame is too small to be a blown-up 16 px source.
        assert resolution.upscale_error(_gray(255 - digit)) is None
        assert not resolution.upscaled_from_small(_gray(255 - digit))
        # Enlarged 4x it holds more than 16 px of detail.
        big = np.asarray(Image.fromarray(255 - digit).resize((112, 112), Image.BILINEAR))
        assert not resolution.upscaled_from_small(_gray(big))
        for make in (variants.scaled_300, variants.off_centre, variants.rgb_jpeg):
            assert not resolution.upscaled_from_small(load_image(make(digit, rng)))
    assert resolution.upscale_error(np.ones((64, 64), np.float32)) is None
    assert not resolution.upscaled_from_small(np.full((64, 64), 0.5, np.float32))


def test_the_packaged_default_reads_small_sources_with_its_companion(uci, mnist_test, tmp_path):
    from mnist_cnn.inference import Predictor, predict_files
    from mnist_cnn.models import default_model_path, low_res_model_path
    from mnist_cnn.vision import normalise

    predictor = Predictor.load("default")
    assert predictor.low_res_path == low_res_model_path()
    small = real_writers.uci_pictures(uci[0][:6], Image.BILINEAR)
    x, _ = mnist_test
    paths = []
    for i, picture in enumerate([*small, 255 - x[0]]):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(picture).save(paths[-1])
    answers = predict_files(predictor, paths)
    companion = predictor.for_picture(_gray(small[0]))
    assert companion is not predictor and companion.path == low_res_model_path()
    assert predictor.for_picture(_gray(255 - x[0])) is predictor
    # Each answer is its own model's reading of the 28x28 it saw.
    for answer, reader in zip(answers, [companion] * len(small) + [predictor], strict=True):
        expected = normalise.classify_views(reader.predict_proba, answer.image28[None])[0]
        assert answer.prediction.probability == pytest.approx(float(expected.max()), abs=1e-5)
        assert answer.prediction.digit == int(expected.argmax())
    # ... and says which model that was.
    assert [a.small_source for a in answers] == [True] * len(small) + [False]
    assert [a.to_dict().get("small_source", False) for a in answers] == [True] * len(small) + [
        False
    ]
    # A model someone trained reads every picture itself.
    own = tmp_path / "own.keras"
    own.write_bytes(default_model_path().read_bytes())
    assert Predictor.load(own).low_res_path is None


def test_the_service_reads_small_sources_with_its_second_classifier(uci, mnist_test):
    import io

    from mnist_cnn.serve.service import DigitService, Upload

    def answering(digit):
        def classify(images):
            probs = np.full((len(images), 10), 0.01, np.float32)
            probs[:, digit] = 0.91
            return probs

        return classify

    service = DigitService(answering(3), classify_small=answering(7))
    x, _ = mnist_test
    uploads = []
    for i, picture in enumerate(
        [real_writers.uci_pictures(uci[0][:1], Image.NEAREST)[0], 255 - x[0]]
    ):
        buffer = io.BytesIO()
        Image.fromarray(picture).save(buffer, format="PNG")
        uploads.append(Upload(f"{i}.png", buffer.getvalue()))
    answers, _ = service.predict(uploads)
    assert [a["digit"] for a in answers] == [7, 3]
    assert [a.get("small_source", False) for a in answers] == [True, False]
    assert [a["digit"] for a in DigitService(answering(3)).predict(uploads)[0]] == [3, 3]
