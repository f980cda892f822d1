"""Tests of cpts_diag.io.atomic: a failed write leaves the previous file whole and no temporary file."""

import hashlib
import os

import pytest

from cpts_diag.io.atomic import atomic_path, atomic_write_bytes, atomic_write_text, file_sha256


def test_atomic_write_text(tmp_path, monkeypatch):
    target = tmp_path / "sub" / "carte.html"
    atomic_write_text(target, "première version é")
    assert target.read_text(encoding="utf-8") == "première version é"
    atomic_write_text(target, "seconde")
    assert target.read_text(encoding="utf-8") == "seconde"
    assert os.listdir(target.parent) == ["carte.html"]

    def broken_replace(src, dst):
        raise OSError("disque plein")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write_text(target, "jamais écrit")
    assert target.read_text(encoding="utf-8") == "seconde"
    assert os.listdir(target.parent) == ["carte.html"]


def test_a_failure_inside_the_block_keeps_the_previous_file(tmp_path):
    target = tmp_path / "indicateurs.xlsx"
    target.write_bytes(b"ancienne version")
    seen = []
    with pytest.raises(RuntimeError, match="panne"):
        with atomic_path(target) as tmp:
            seen.append(tmp)
            tmp.write_bytes(b"moitie d'un nouveau fich")
            raise RuntimeError("panne au milieu de l'ecriture")
    assert target.read_bytes() == b"ancienne version"
    assert os.listdir(tmp_path) == ["indicateurs.xlsx"]
    # the temporary file was beside the target, hidden, with the target's extension
    (tmp,) = seen
    assert tmp.parent == tmp_path and tmp.name.startswith(".indicateurs.") and tmp.suffix == ".xlsx"
    assert not tmp.exists()


def test_a_failure_before_anything_is_written_creates_no_file(tmp_path):
    target = tmp_path / "nouveau" / "carte.html"
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(target):
            raise KeyboardInterrupt
    assert not target.exists()
    assert os.listdir(tmp_path / "nouveau") == []  # the folder is created, left empty


def test_the_temporary_path_does_not_exist_yet(tmp_path):
    # writers such as GDAL create the file themselves and refuse an existing one
    with atomic_path(tmp_path / "perimetre.gpkg") as tmp:
        assert not tmp.exists()
        tmp.write_bytes(b"gpkg")
    assert (tmp_path / "perimetre.gpkg").read_bytes() == b"gpkg"


def test_atomic_write_bytes_replaces_the_content(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"\x00\x01premier")
    atomic_write_bytes(target, b"\xffsecond")
    assert target.read_bytes() == b"\xffsecond"
    assert os.listdir(tmp_path) == ["a.bin"]


def test_atomic_write_text_keeps_line_endings_and_returns_the_path(tmp_path):
    target = tmp_path / "t.csv"
    assert atomic_write_text(target, "a;b\r\nc;d\n", encoding="cp1252") == target
    assert target.read_bytes() == b"a;b\r\nc;d\n"
    atomic_write_text(target, "é", encoding="cp1252")
    assert target.read_bytes() == b"\xe9"


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (5 << 20) // 2])
def test_file_sha256_equals_hashlib_on_the_bytes(tmp_path, size):
    data = bytes((i * 7 + size) % 251 for i in range(size))
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_file_state_changes_with_any_write_even_same_size_and_modification_time(tmp_path):
    import os

    from cpts_diag.io.atomic import file_state

    f = tmp_path / "a.csv"
    f.write_text("x,1\n", encoding="utf-8")
    os.utime(f, ns=(1_600_000_000_000_000_000,) * 2)
    before = file_state(f)
    assert file_state(f) == before and before[0] == str(f)
    f.write_text("x,2\n", encoding="utf-8")  # same size
    os.utime(f, ns=(1_600_000_000_000_000_000,) * 2)  # same modification time
    assert file_state(f) != before
