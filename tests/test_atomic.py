"""Tests of cpts_diag.io.atomic: a failed write leaves the previous file whole and no temporary file."""

import os

import pytest

from cpts_diag.io.atomic import atomic_write_text


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
