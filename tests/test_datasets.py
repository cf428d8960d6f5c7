"""Tests for mnist_cnn.data: IDX parsing, look-up order, downloads, preprocessing.

All offline: small IDX files are built here, and downloads use file:// URLs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import idx_bytes, write_idx
from mnist_cnn.data import catalog, datasets, download, idx
from mnist_cnn.errors import DataError, DownloadError

REPO_MNIST_DIR = Path(__file__).resolve().parents[1] / "data" / "mnist"
REAL_REPO_DATA_DIR = datasets._repo_data_dir  # Saved before the fixture replaces it.
NAMES = tuple(catalog.MNIST_FILES)
TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def make_dataset(
    directory: Path, seed: int = 0, n_train: int = 12, n_test: int = 5
) -> dict[str, np.ndarray]:
    """Write a Fashion-MNIST-like folder of random IDX data; return the arrays by name."""
    rng = np.random.default_rng(seed)
    arrays = {
        TRAIN_IMAGES: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        TRAIN_LABELS: rng.integers(0, 10, n_train, dtype=np.uint8),
        TEST_IMAGES: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        TEST_LABELS: rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_idx(directory / name, array)
    return arrays


def decompressed_sums(directory: Path) -> dict[str, str]:
    return {
        name: hashlib.sha256(gzip.decompress((directory / name).read_bytes())).hexdigest()
        for name in NAMES
    }


def touch_mnist(directory: Path) -> Path:
    """Create the four file names (empty): enough for the look-up, not for loading."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        (directory / name).touch()
    return directory


@pytest.fixture(autouse=True)
def isolated_locations(tmp_path, monkeypatch):
    """Keep every test away from the real home, cache, environment and repo data."""
    monkeypatch.delenv(catalog.DATA_ENV_VAR, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(datasets, "_repo_data_dir", lambda: tmp_path / "no-repo" / "data")


@pytest.fixture()
def fake_mnist(tmp_path, monkeypatch):
    """A mirror folder of small valid files that MNIST_FILES is patched to accept."""
    mirror = tmp_path / "mirror"
    arrays = make_dataset(mirror, seed=1)
    monkeypatch.setattr(catalog, "MNIST_FILES", decompressed_sums(mirror))
    return mirror, arrays


# --------------------------------------------------------------------------- #
# The real MNIST files
# --------------------------------------------------------------------------- #


def test_real_mnist_matches_readme_figures():
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist(REPO_MNIST_DIR, download=False)
    assert (x_train.shape, x_train.dtype) == ((60000, 28, 28), np.uint8)
    assert (y_train.shape, y_train.dtype) == ((60000,), np.uint8)
    assert (x_test.shape, x_test.dtype) == ((10000, 28, 28), np.uint8)
    assert (y_test.shape, y_test.dtype) == ((10000,), np.uint8)
    counts = np.bincount(y_train, minlength=10).tolist()
    assert counts == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert (x_train / 255.0).mean() == pytest.approx(0.1306604762738429, abs=1e-12)
    assert set(np.unique(y_test).tolist()) == set(range(10))


def test_load_mnist_returns_copies_that_cannot_corrupt_the_cache():
    (x_train, y_train), _ = datasets.load_mnist(REPO_MNIST_DIR, download=False)
    x_train[:] = 0
    y_train[:] = 0
    (x_again, y_again), _ = datasets.load_mnist(REPO_MNIST_DIR, download=False)
    assert x_again.max() == 255
    assert np.bincount(y_again)[1] == 6742


def test_auto_verification_recognises_mnist_and_rejects_a_damaged_copy(tmp_path, fake_mnist):
    mirror, arrays = fake_mnist
    folder = tmp_path / "damaged"
    make_dataset(folder, seed=1)
    # Same labels as "MNIST" (so the folder is recognised) but other images.
    write_idx(folder / TEST_IMAGES, arrays[TEST_IMAGES][::-1].copy())
    datasets.load_idx_dataset(mirror)  # The intact copy passes.
    with pytest.raises(DataError, match=f"{TEST_IMAGES}.*SHA-256.*MNIST_FILES"):
        datasets.load_idx_dataset(folder)
    datasets.load_idx_dataset(folder, verify=False)  # Structurally fine.


# --------------------------------------------------------------------------- #
# read_idx
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "plain"])
def test_read_idx_parses_gzip_and_plain_files(tmp_path, compress):
    images = np.arange(3 * 4 * 5, dtype=np.uint8).reshape(3, 4, 5)
    path = tmp_path / "images.idx"
    write_idx(path, images, compress=compress)
    result = idx.read_idx(path)
    np.testing.assert_array_equal(result, images)
    assert result.dtype == np.uint8
    assert not result.flags.writeable


@pytest.mark.parametrize("dtype", [">i1", ">i2", ">i4", ">f4", ">f8"])
def test_read_idx_converts_big_endian_types_to_native(tmp_path, dtype):
    values = np.array([[-3, 0, 7], [100, -100, 1]]).astype(dtype)
    path = tmp_path / "values.gz"
    write_idx(path, values)
    result = idx.read_idx(path)
    np.testing.assert_array_equal(result, values)
    assert result.dtype == np.dtype(dtype).newbyteorder("=")


def test_read_idx_checks_the_sha256_of_the_decompressed_bytes(tmp_path):
    path = tmp_path / "labels.gz"
    data = write_idx(path, np.arange(10, dtype=np.uint8))
    idx.read_idx(path, expected_sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(DataError, match=r"labels\.gz.*SHA-256.*expected 0{64}"):
        idx.read_idx(path, expected_sha256="0" * 64)


def _good_idx() -> bytes:
    return idx_bytes(np.zeros((2, 3, 4), dtype=np.uint8))


BAD_FILES = {
    # name: (content builder or None for "missing", substring the message must hold)
    "missing": (None, "file not found"),
    "truncated-gzip": (lambda: gzip.compress(_good_idx() * 50)[:-30], "truncated gzip stream"),
    "corrupt-gzip": (
        lambda: (lambda z: z[:12] + bytes(b ^ 0xFF for b in z[12:-8]) + z[-8:])(
            gzip.compress(_good_idx())
        ),
        "corrupt gzip data",
    ),
    "bad-crc": (lambda: gzip.compress(_good_idx())[:-8] + b"\0" * 8, "corrupt gzip data"),
    "wrong-magic": (lambda: b"\x08\x03\x00\x00" + _good_idx()[4:], "magic number 0x08030000"),
    "unknown-type-code": (lambda: b"\x00\x00\x07\x03" + _good_idx()[4:], "0x00000703"),
    "too-short-for-header": (lambda: b"\x00\x00", "too short for an IDX header"),
    "header-cut": (lambda: _good_idx()[:10], "declares 3 dimensions"),
    "payload-short": (lambda: _good_idx()[:-1], "header declares 2x3x4 uint8 = 24 bytes but"),
    "payload-trailing": (lambda: _good_idx() + b"\0", "payload has 25 (trailing bytes)"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_read_idx_reports_each_kind_of_damage_with_file_and_fix(tmp_path, kind):
    build, expected = BAD_FILES[kind]
    path = tmp_path / f"{kind}-idx3-ubyte.gz"
    if build is not None:
        path.write_bytes(build())
    with pytest.raises(DataError) as caught:
        idx.read_idx(path)
    message = str(caught.value)
    assert str(path) in message
    assert expected in message
    if build is not None:
        # Says how to fix it, never to delete: the folder may hold someone's other data.
        assert f"Replace it with a good copy of {path.name}" in message
        assert "delete" not in message.lower()


def test_read_idx_payload_short_message_gives_both_sizes(tmp_path):
    path = tmp_path / "short.gz"
    path.write_bytes(gzip.compress(_good_idx()[:-5]))
    with pytest.raises(DataError, match=r"= 24 bytes but payload has 19 \(the payload is short\)"):
        idx.read_idx(path)


# --------------------------------------------------------------------------- #
# load_idx_dataset: structure and checksum policy
# --------------------------------------------------------------------------- #


def test_fashion_like_folder_loads_without_checksums(tmp_path):
    arrays = make_dataset(tmp_path / "fashion")
    (x_train, y_train), (x_test, y_test) = datasets.load_idx_dataset(tmp_path / "fashion")
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])
    np.testing.assert_array_equal(y_train, arrays[TRAIN_LABELS])
    np.testing.assert_array_equal(x_test, arrays[TEST_IMAGES])
    np.testing.assert_array_equal(y_test, arrays[TEST_LABELS])
    assert x_train.shape == (12, 28, 28) and x_train.dtype == np.uint8
    assert x_train.flags.writeable


def test_fashion_like_folder_loads_decompressed_files(tmp_path):
    folder = tmp_path / "plain"
    arrays = make_dataset(folder)
    for name in NAMES:
        (folder / name).rename(folder / name.removesuffix(".gz"))
        (folder / name.removesuffix(".gz")).write_bytes(idx_bytes(arrays[name]))
    (x_train, _), (_, y_test) = datasets.load_idx_dataset(folder)
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])
    np.testing.assert_array_equal(y_test, arrays[TEST_LABELS])


def test_fashion_like_folder_verified_by_its_sha256sums(tmp_path):
    folder = tmp_path / "fashion"
    arrays = make_dataset(folder)
    sums = decompressed_sums(folder)
    # sha256sum of the decompressed files: bare names, "*" binary marker allowed.
    lines = [f"{sums[name]} *{name.removesuffix('.gz')}" for name in NAMES]
    (folder / "SHA256SUMS").write_text("# fashion\n" + "\n".join(lines) + "\n")
    (_, y_train), _ = datasets.load_idx_dataset(folder)
    np.testing.assert_array_equal(y_train, arrays[TRAIN_LABELS])
    datasets.load_idx_dataset(folder, verify=True)


def test_wrong_sum_in_sha256sums_raises_naming_file_and_source(tmp_path):
    folder = tmp_path / "fashion"
    make_dataset(folder)
    sums = decompressed_sums(folder)
    sums[TEST_LABELS] = "ab" * 32
    (folder / "SHA256SUMS").write_text("".join(f"{sums[n]}  {n}\n" for n in NAMES))
    with pytest.raises(DataError, match=f"{TEST_LABELS}.*expected {'ab' * 32}.*SHA256SUMS"):
        datasets.load_idx_dataset(folder)
    datasets.load_idx_dataset(folder, verify=False)  # Opting out skips the sums.


def test_sha256sums_of_compressed_files_gets_a_specific_hint(tmp_path):
    folder = tmp_path / "fashion"
    make_dataset(folder)
    lines = [f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}" for n in NAMES]
    (folder / "SHA256SUMS").write_text("\n".join(lines))
    with pytest.raises(DataError, match="sum is that of the compressed file"):
        datasets.load_idx_dataset(folder)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("not-a-sum  x\n", "line 1"), ("", "lists no SHA-256 for train-images")],
)
def test_malformed_sha256sums_raises(tmp_path, content, expected):
    folder = tmp_path / "fashion"
    make_dataset(folder)
    (folder / "SHA256SUMS").write_text(content)
    with pytest.raises(DataError, match=expected):
        datasets.load_idx_dataset(folder)


def test_verify_true_without_sums_checks_against_mnist(tmp_path):
    make_dataset(tmp_path / "fashion")
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}.*MNIST_FILES"):
        datasets.load_idx_dataset(tmp_path / "fashion", verify=True)


def test_load_mnist_rejects_a_non_mnist_folder(tmp_path):
    make_dataset(tmp_path / "fashion")
    with pytest.raises(DataError, match="MNIST_FILES"):
        datasets.load_mnist(tmp_path / "fashion", download=False)


def test_missing_file_in_folder_is_named(tmp_path):
    make_dataset(tmp_path / "fashion")
    (tmp_path / "fashion" / TRAIN_LABELS).unlink()
    with pytest.raises(DataError, match=f"missing {TRAIN_LABELS}"):
        datasets.load_idx_dataset(tmp_path / "fashion")


def test_labels_file_in_place_of_images_is_a_dimension_error(tmp_path):
    folder = tmp_path / "fashion"
    arrays = make_dataset(folder)
    write_idx(folder / TRAIN_IMAGES, arrays[TRAIN_LABELS])
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}.*1-D.*must be 3-D.*labels file"):
        datasets.load_idx_dataset(folder)


def test_images_file_in_place_of_labels_is_a_dimension_error(tmp_path):
    folder = tmp_path / "fashion"
    arrays = make_dataset(folder)
    write_idx(folder / TEST_LABELS, arrays[TEST_IMAGES])
    with pytest.raises(DataError, match=f"{TEST_LABELS}.*3-D.*must be 1-D"):
        datasets.load_idx_dataset(folder)


def test_non_uint8_images_are_rejected(tmp_path):
    folder = tmp_path / "fashion"
    arrays = make_dataset(folder)
    write_idx(folder / TEST_IMAGES, arrays[TEST_IMAGES].astype(">f4"))
    with pytest.raises(DataError, match=f"{TEST_IMAGES}.*float32.*uint8"):
        datasets.load_idx_dataset(folder)


def test_image_label_count_mismatch_is_reported(tmp_path):
    folder = tmp_path / "fashion"
    arrays = make_dataset(folder)
    write_idx(folder / TRAIN_LABELS, arrays[TRAIN_LABELS][:-2].copy())
    with pytest.raises(DataError, match="holds 12 images but train-labels-idx1-ubyte.gz holds 10"):
        datasets.load_idx_dataset(folder)


def test_truncated_file_in_folder_is_reported_by_name(tmp_path):
    folder = tmp_path / "fashion"
    make_dataset(folder)
    data = (folder / TRAIN_IMAGES).read_bytes()
    (folder / TRAIN_IMAGES).write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=f"{TRAIN_IMAGES}: truncated gzip stream"):
        datasets.load_idx_dataset(folder)


def test_changed_file_is_reloaded_despite_the_in_memory_cache(tmp_path):
    folder = tmp_path / "fashion"
    make_dataset(folder)
    datasets.load_idx_dataset(folder)
    write_idx(folder / TEST_LABELS, np.full(5, 9, dtype=np.uint8))
    write_idx(folder / TEST_IMAGES, np.zeros((5, 28, 28), dtype=np.uint8))
    stat = (folder / TEST_LABELS).stat()
    os.utime(folder / TEST_LABELS, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    _, (x_test, y_test) = datasets.load_idx_dataset(folder)
    assert y_test.tolist() == [9] * 5
    assert x_test.max() == 0


def test_verify_must_be_a_bool_or_none(tmp_path):
    make_dataset(tmp_path / "fashion")
    with pytest.raises(ValueError, match="'yes'"):
        datasets.load_idx_dataset(tmp_path / "fashion", verify="yes")


# --------------------------------------------------------------------------- #
# Look-up order
# --------------------------------------------------------------------------- #


def test_lookup_order_explicit_env_repo_cache(tmp_path, monkeypatch):
    explicit = touch_mnist(tmp_path / "explicit")
    env = touch_mnist(tmp_path / "env")
    repo = touch_mnist(tmp_path / "repo" / "data" / "mnist")
    cache = touch_mnist(tmp_path / "cache")
    monkeypatch.setattr(datasets, "_repo_data_dir", lambda: repo)
    monkeypatch.setenv(catalog.DATA_ENV_VAR, str(env))

    assert datasets.find_mnist_dir(explicit, cache) == explicit
    assert datasets.find_mnist_dir(None, cache) == env
    monkeypatch.delenv(catalog.DATA_ENV_VAR)
    assert datasets.find_mnist_dir(None, cache) == repo
    (repo / TEST_LABELS).unlink()  # An incomplete repo folder is skipped.
    assert datasets.find_mnist_dir(None, cache) == cache
    (cache / TEST_LABELS).unlink()
    assert datasets.find_mnist_dir(None, cache) is None


def test_cache_defaults_to_xdg_cache_home_then_home(tmp_path, monkeypatch):
    xdg_cache = touch_mnist(tmp_path / "xdg-cache" / "mnist-cnn" / "mnist")
    assert catalog.default_cache_dir() == xdg_cache
    assert datasets.find_mnist_dir() == xdg_cache
    for value in ("", "relative/path"):  # Not absolute: ignored, as XDG requires.
        monkeypatch.setenv("XDG_CACHE_HOME", value)
        home_cache = tmp_path / "home" / ".cache" / "mnist-cnn" / "mnist"
        assert catalog.default_cache_dir() == home_cache
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert datasets.find_mnist_dir() is None
    touch_mnist(tmp_path / "home" / ".cache" / "mnist-cnn" / "mnist")
    assert datasets.find_mnist_dir() == tmp_path / "home" / ".cache" / "mnist-cnn" / "mnist"


@pytest.mark.parametrize("source", ["explicit", "env"])
def test_user_chosen_folder_without_files_is_an_error_not_a_fallback(
    tmp_path, monkeypatch, source
):
    monkeypatch.setattr(datasets, "_repo_data_dir", lambda: touch_mnist(tmp_path / "repo"))
    empty = tmp_path / "empty"
    empty.mkdir()
    if source == "env":
        monkeypatch.setenv(catalog.DATA_ENV_VAR, str(empty))
    with pytest.raises(DataError, match=f"{empty}: missing .*no other folder is tried"):
        datasets.find_mnist_dir(empty if source == "explicit" else None)
    with pytest.raises(DataError, match="no such folder"):
        datasets.load_mnist(tmp_path / "nowhere", download=False)


def test_repo_data_dir_is_found_from_the_package_location(monkeypatch):
    monkeypatch.setattr(datasets, "_repo_data_dir", REAL_REPO_DATA_DIR)
    assert REAL_REPO_DATA_DIR() == REPO_MNIST_DIR
    assert datasets.find_mnist_dir() == REPO_MNIST_DIR


def test_nothing_found_and_download_disallowed_says_where_to_put_files(tmp_path):
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match=f"MNIST not found.*{cache}.*--data-dir.*MNIST_CNN_DATA"):
        datasets.load_mnist(download=False, cache_dir=cache)


def test_nothing_found_downloads_into_the_cache_then_loads(tmp_path, fake_mnist, monkeypatch):
    mirror, arrays = fake_mnist
    monkeypatch.setattr(catalog, "MIRRORS", (mirror.as_uri(),))
    cache = tmp_path / "cache"
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist(cache_dir=cache, progress=False)
    assert sorted(os.listdir(cache)) == sorted(NAMES)
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])
    np.testing.assert_array_equal(y_test, arrays[TEST_LABELS])
    assert datasets.find_mnist_dir(cache_dir=cache) == cache  # Found next time.


# --------------------------------------------------------------------------- #
# download_mnist
# --------------------------------------------------------------------------- #


def test_download_puts_verified_files_in_the_cache(tmp_path, fake_mnist, capsys):
    mirror, arrays = fake_mnist
    cache = tmp_path / "cache"
    result = download.download_mnist(cache, mirrors=(mirror.as_uri() + "/",), progress=True)
    assert result == cache
    assert sorted(os.listdir(cache)) == sorted(NAMES)
    for name in NAMES:
        assert (cache / name).read_bytes() == (mirror / name).read_bytes()
    stderr = capsys.readouterr().err
    assert TRAIN_IMAGES in stderr and "100%" in stderr
    (x_train, _), _ = datasets.load_mnist(cache, download=False)
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])


def test_download_falls_over_to_the_next_mirror(tmp_path, fake_mnist):
    mirror, _ = fake_mnist
    broken = tmp_path / "broken-mirror"
    make_dataset(broken, seed=2)  # Serves files, but with the wrong content.
    cache = tmp_path / "cache"
    mirrors = ((tmp_path / "absent").as_uri(), broken.as_uri(), mirror.as_uri())
    download.download_mnist(cache, mirrors=mirrors, progress=False)
    assert sorted(os.listdir(cache)) == sorted(NAMES)
    assert decompressed_sums(cache) == catalog.MNIST_FILES


def test_download_skips_files_already_in_the_cache(tmp_path, fake_mnist):
    mirror, _ = fake_mnist
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / TRAIN_IMAGES).write_bytes((mirror / TRAIN_IMAGES).read_bytes())
    (mirror / TRAIN_IMAGES).unlink()  # The mirror could not serve it.
    download.download_mnist(cache, mirrors=(mirror.as_uri(),), progress=False)
    assert sorted(os.listdir(cache)) == sorted(NAMES)


@pytest.mark.parametrize("damage", ["checksum", "truncated"])
def test_failed_download_raises_and_leaves_no_file(tmp_path, fake_mnist, damage):
    _, arrays = fake_mnist
    bad = tmp_path / "bad-mirror"
    make_dataset(bad, seed=1)
    if damage == "checksum":
        write_idx(bad / TRAIN_LABELS, (arrays[TRAIN_LABELS] + 1) % 10)
    else:
        data = (bad / TRAIN_LABELS).read_bytes()
        (bad / TRAIN_LABELS).write_bytes(data[: len(data) // 2])
    absent = (tmp_path / "absent").as_uri()
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as caught:
        download.download_mnist(cache, mirrors=(absent, bad.as_uri()), progress=False)
    message = str(caught.value)
    assert f"Could not download {TRAIN_LABELS}" in message
    assert f"{absent}/{TRAIN_LABELS}" in message and f"{bad.as_uri()}/{TRAIN_LABELS}" in message
    assert ("SHA-256" if damage == "checksum" else "truncated gzip stream") in message
    assert "--data-dir" in message and "MNIST_CNN_DATA" in message and str(cache) in message
    # Files verified before the failure stay; the failed one leaves nothing, not even a temp.
    assert sorted(os.listdir(cache)) == [TRAIN_IMAGES]


def test_download_error_is_a_data_error():
    assert issubclass(DownloadError, DataError)


# --------------------------------------------------------------------------- #
# Preprocessing
# --------------------------------------------------------------------------- #


def test_prepare_images_matches_the_tutorial():
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    x[0, 0, 0], x[0, 0, 1] = 0, 255
    result = datasets.prepare_images(x)
    assert result.shape == (4, 28, 28, 1) and result.dtype == np.float32
    assert result.min() == 0.0 and result.max() == 1.0
    np.testing.assert_array_equal(result, x.reshape((4, 28, 28, 1)).astype("float32") / 255.0)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (np.zeros((4, 28, 28, 1), dtype=np.uint8), r"\(4, 28, 28, 1\)"),
        (np.zeros((4, 32, 32), dtype=np.uint8), r"\(4, 32, 32\)"),
        (np.zeros((4, 28, 28), dtype=np.float32), "float32"),
    ],
)
def test_prepare_images_rejects_wrong_input_showing_it(x, expected):
    with pytest.raises(ValueError, match=expected):
        datasets.prepare_images(x)


def test_prepare_labels_one_hot_float32():
    result = datasets.prepare_labels(np.array([3, 0, 9], dtype=np.uint8))
    assert result.shape == (3, 10) and result.dtype == np.float32
    np.testing.assert_array_equal(result.argmax(axis=1), [3, 0, 9])
    np.testing.assert_array_equal(result.sum(axis=1), [1.0, 1.0, 1.0])


def test_prepare_labels_equals_keras_to_categorical():
    """Computed with numpy (the data code never loads Keras), the same as the tutorial's."""
    import keras

    y = np.random.default_rng(0).integers(0, 10, 500).astype(np.uint8)
    expected = keras.utils.to_categorical(y, 10).astype("float32")
    np.testing.assert_array_equal(datasets.prepare_labels(y), expected)


@pytest.mark.parametrize(
    ("y", "num_classes", "expected"),
    [
        (np.zeros((3, 1), dtype=np.uint8), 10, r"\(3, 1\)"),
        (np.array([0.0, 1.0]), 10, "float64"),
        (np.array([0, 10]), 10, r"from 0 to 10"),
        (np.array([0, -1]), 10, r"from -1 to 0"),
        (np.array([0, 1]), 0, "num_classes"),
    ],
)
def test_prepare_labels_rejects_wrong_input_showing_it(y, num_classes, expected):
    with pytest.raises(ValueError, match=expected):
        datasets.prepare_labels(y, num_classes=num_classes)


def test_importing_the_module_does_not_import_keras_or_tensorflow():
    code = (
        "import sys, mnist_cnn.data.datasets, mnist_cnn.data.download; "
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_progress_bar_without_content_length_shows_megabytes():
    stream = io.StringIO()
    bar = download.ProgressBar("file.gz", None, stream=stream)
    bar.update(2_500_000)
    bar.close()
    assert "file.gz" in stream.getvalue() and "2.5 MB" in stream.getvalue()


# --------------------------------------------------------------------------- #
# Datasets by name: mnist, fashion-mnist, idx
# --------------------------------------------------------------------------- #


def raw_sums(directory: Path) -> dict[str, str]:
    """SHA-256 of the files as they are on disk (Fashion-MNIST is known by its .gz files')."""
    return {name: hashlib.sha256((directory / name).read_bytes()).hexdigest() for name in NAMES}


@pytest.fixture()
def fake_fashion(tmp_path, monkeypatch):
    """A mirror folder of small valid files that FASHION_MNIST_FILES is patched to accept."""
    mirror = tmp_path / "fashion-mirror"
    arrays = make_dataset(mirror, seed=3)
    monkeypatch.setattr(catalog, "FASHION_MNIST_FILES", raw_sums(mirror))
    return mirror, arrays


def test_mnist_checksums_on_other_data_name_the_dataset_flag_and_never_say_delete(tmp_path):
    make_dataset(tmp_path / "fashion")
    with pytest.raises(DataError) as caught:
        datasets.load_mnist(tmp_path / "fashion", download=False)
    message = str(caught.value)
    assert "MNIST_FILES" in message and "--dataset fashion-mnist" in message
    assert "--dataset idx" in message
    assert "delete" not in message.lower()


def test_a_damaged_file_in_the_own_download_cache_may_be_deleted():
    cache = catalog.default_cache_dir()
    cache.mkdir(parents=True)
    path = cache / TRAIN_LABELS
    path.write_bytes(gzip.compress(b"\x00\x00")[:-3])
    with pytest.raises(DataError, match="download cache: delete it and run again"):
        idx.read_idx(path)


def test_fashion_mnist_loads_when_its_gz_files_match(tmp_path, fake_fashion):
    mirror, arrays = fake_fashion
    (x_train, y_train), (x_test, y_test) = datasets.load_dataset("fashion-mnist", mirror)
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])
    np.testing.assert_array_equal(y_test, arrays[TEST_LABELS])
    assert catalog.class_names("fashion-mnist")[9] == "Ankle boot"
    # MNIST's checksums do not apply to it.
    with pytest.raises(DataError, match="MNIST_FILES"):
        datasets.load_dataset("mnist", mirror)


@pytest.mark.parametrize("form", ["recompressed", "decompressed"])
def test_fashion_mnist_rejects_files_it_cannot_check_without_saying_delete(
    tmp_path, fake_fashion, form
):
    mirror, arrays = fake_fashion
    folder = tmp_path / "mine"
    make_dataset(folder, seed=3)
    if form == "recompressed":  # The same data, another gzip stream.
        (folder / TEST_LABELS).write_bytes(gzip.compress(idx_bytes(arrays[TEST_LABELS]), mtime=1))
        expected = "not the published one"
    else:
        (folder / TEST_LABELS).unlink()
        (folder / TEST_LABELS.removesuffix(".gz")).write_bytes(idx_bytes(arrays[TEST_LABELS]))
        expected = "decompressed, so it cannot be checked"
    with pytest.raises(DataError) as caught:
        datasets.load_dataset("fashion-mnist", folder)
    message = str(caught.value)
    assert TEST_LABELS.removesuffix(".gz") in message and expected in message
    assert "--dataset idx" in message and "delete" not in message.lower()
    # The same folder loads as idx, with structural checks only.
    (_, _), (_, y_test) = datasets.load_dataset("idx", folder)
    np.testing.assert_array_equal(y_test, arrays[TEST_LABELS])


def test_fashion_mnist_downloads_into_its_own_cache(tmp_path, fake_fashion, monkeypatch):
    mirror, arrays = fake_fashion
    broken = tmp_path / "broken-mirror"
    make_dataset(broken, seed=4)  # Serves files, but not the published ones.
    monkeypatch.setattr(catalog, "FASHION_MNIST_MIRRORS", (broken.as_uri(), mirror.as_uri()))
    (x_train, _), _ = datasets.load_dataset("fashion-mnist", progress=False)
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])
    cache = catalog.default_cache_dir().parent / "fashion-mnist"
    assert sorted(os.listdir(cache)) == sorted(NAMES)
    assert not catalog.default_cache_dir().exists()  # MNIST's cache is left alone.
    with pytest.raises(DataError, match="Fashion-MNIST not found"):
        datasets.load_dataset("fashion-mnist", download=False, cache_dir=tmp_path / "empty")


def test_fashion_mnist_download_failure_says_how_to_set_it_up(tmp_path, fake_fashion):
    with pytest.raises(DownloadError) as caught:
        download.download_fashion_mnist(
            tmp_path / "cache", mirrors=((tmp_path / "absent").as_uri(),), progress=False
        )
    message = str(caught.value)
    assert "Fashion-MNIST" in message and "--data-dir" in message
    assert not list((tmp_path / "cache").iterdir())


def test_idx_needs_a_folder_and_checks_structure_only(tmp_path):
    with pytest.raises(DataError, match="--dataset idx needs .*--data-dir"):
        datasets.load_dataset("idx")
    arrays = make_dataset(tmp_path / "kmnist", seed=5)
    (x_train, _), _ = datasets.load_dataset("idx", tmp_path / "kmnist")
    np.testing.assert_array_equal(x_train, arrays[TRAIN_IMAGES])
    assert catalog.class_names("idx") is None and catalog.class_names("mnist") is None
    with pytest.raises(DataError, match="unknown dataset 'emnist'"):
        datasets.load_dataset("emnist", tmp_path / "kmnist")
