"""The one parser of the CPAM parameter."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpts_diag import settings
from cpts_diag.io.params import CpamChoice, cpam_choice, default_cpam_mode, is_embedded_listing


@pytest.mark.parametrize(
    "given, mode",
    [
        (None, "exemple"),  # no perimeter file: the embedded PACA listing, whose default is the example
        ("", "exemple"),
        ("  ", "exemple"),
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


@pytest.mark.parametrize("given", [None, "", " "])
def test_default_follows_the_perimeter_file(given, tmp_path):
    """The example only with the embedded PACA listing (given or implied); no table with a user's file."""
    user = tmp_path / "cpts_bretagne.csv"
    user.write_text("cpts;code_insee\nCPTS A;29232\n", encoding="utf-8")
    assert cpam_choice(given).mode == "exemple"
    assert cpam_choice(given, perimeters=None).mode == "exemple"
    assert cpam_choice(given, perimeters="").mode == "exemple"
    assert cpam_choice(given, perimeters=settings.DEFAULT_PERIMETERS).mode == "exemple"
    assert cpam_choice(given, perimeters=str(settings.DEFAULT_PERIMETERS)).mode == "exemple"
    assert cpam_choice(given, perimeters=user).mode == "aucun"
    assert cpam_choice(given, perimeters="absent.xlsx").mode == "aucun"
    # an explicit choice wins over the default
    assert cpam_choice("exemple", perimeters=user).mode == "exemple"
    assert cpam_choice("aucun", perimeters=None).mode == "aucun"


def test_embedded_listing_recognised_through_another_path(tmp_path, monkeypatch):
    """The same file reached by a relative path or a symbolic link is still the embedded listing."""
    link = tmp_path / "listing.json"
    link.symlink_to(settings.DEFAULT_PERIMETERS)
    assert is_embedded_listing(link) and default_cpam_mode(link) == "exemple"
    monkeypatch.chdir(settings.DEFAULT_PERIMETERS.parent)
    assert is_embedded_listing(settings.DEFAULT_PERIMETERS.name)
    copy = tmp_path / settings.DEFAULT_PERIMETERS.name
    copy.write_bytes(settings.DEFAULT_PERIMETERS.read_bytes())
    assert not is_embedded_listing(copy)  # a user's copy is a user's file


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
    assert (none.file, none.parameter, none.value) == (None, "aucun", "aucun")
    assert cpam_choice(none.value) == none == CpamChoice("aucun")
    assert cpam_choice(example.value) == example


@pytest.mark.parametrize(
    "given, expected",
    [
        ("exemple", "exemple"),
        ("EXEMPLE", "exemple"),
        ("aucun", "aucun"),
        ("", "exemple"),
        (None, "exemple"),
    ],
)
def test_cpam_parameter(given, expected):
    assert cpam_choice(given).parameter == expected


@pytest.mark.parametrize("value", [None, "", "aucun", "exemple", "cpam.csv"])
@pytest.mark.parametrize("perimeters", [None, "mes_cpts.xlsx"])
def test_parameter_round_trip(value, perimeters, tmp_path, monkeypatch):
    """What the CLI resolves reaches the notebook unchanged: the parameter is never read as « the default »."""
    monkeypatch.chdir(tmp_path)
    choice = cpam_choice(value, perimeters)
    assert choice.parameter != ""
    assert cpam_choice(choice.parameter, perimeters="autre_fichier.csv").mode == choice.mode


def test_cpam_parameter_path_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cpam_choice("cpam.csv").parameter == str(tmp_path / "cpam.csv")
