import pytest

from mnist_cnn.fileio import atomic_path, atomic_write_text, write_json


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_successful_write_replaces_and_keeps_suffix(tmp_path):
    target = tmp_path / "sub" / "plot.png"
    with atomic_path(target) as tmp:
        assert tmp.suffix == ".png" and tmp.parent == target.parent
        tmp.write_bytes(b"png")
    assert target.read_bytes() == b"png"
    atomic_write_text(tmp_path / "a.txt", "hi")
    write_json(tmp_path / "a.json", {"x": 1})
    assert (tmp_path / "a.json").read_text() == '{\n  "x": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.txt", "sub"]


def test_written_files_get_normal_permissions_not_private_temp_ones(tmp_path):
    import os
    import stat

    target = tmp_path / "model.keras"
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"model")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
