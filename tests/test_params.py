"""The one parser of the CPAM parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpts_diag import settings
from cpts_diag.io.params import CpamChoice, cpam_choice


@pytest.mark.parametrize(
    "given, mode",
    [
        (None, "aucun"),
        ("", "aucun"),
        ("  ", "aucun"),
        ("aucun", "aucun"),
        ("Aucune", "aucun"),
        ("non", "aucun"),
        ("exemple", "exemple"),
        (" EXEMPLE ", "exemple"),
        ("example", "exemple"),
        ("cpam.csv", "fichier"),
        (Path("exemple.csv"), "fichier"),
    ],
)
def test_modes(given, mode):
    assert cpam_choice(given).mode == mode


def test_default_applies_to_none_only():
    assert cpam_choice(None, default="exemple").mode == "exemple"
    assert cpam_choice("", default="exemple").mode == "aucun"


def test_file_parameter_and_value(tmp_path, monkeypatch):
    """A relative file is made absolute against the current folder when parsed: it stays the same file
    after a change of folder (a kernel, a worker)."""
    monkeypatch.chdir(tmp_path)
    choice = cpam_choice(" sous/cpam.csv ")
    expected = tmp_path / "sous" / "cpam.csv"
    monkeypatch.chdir(tmp_path.parent)
    assert choice.path == choice.file == choice.value == expected
    assert choice.parameter == str(expected)
    assert cpam_choice(choice) is choice


def test_example_and_none():
    example, none = cpam_choice("exemple"), cpam_choice("aucun")
    assert (example.file, example.parameter, example.value) == (settings.DEFAULT_CPAM, "exemple", "exemple")
    assert (none.file, none.parameter, none.value) == (None, "", "aucun")
    assert cpam_choice(none.value) == none == CpamChoice("aucun")
    assert cpam_choice(example.value) == example


@pytest.mark.parametrize(
    "given, expected",
    [
        ("exemple", "exemple"),
        ("EXEMPLE", "exemple"),
        ("aucun", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_cpam_parameter(given, expected):
    assert cpam_choice(given).parameter == expected


def test_cpam_parameter_path_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cpam_choice("cpam.csv").parameter == str(tmp_path / "cpam.csv")
