"""Tests of cpts_diag.errors: the one-line French message of every user input error."""

from pathlib import Path

import pytest

from cpts_diag.errors import InputError, format_message, shown_paths


def test_input_error_format():
    err = InputError("code commune invalide", "data.csv", 12, "ABCDE")
    assert str(err) == ("fichier « data.csv », ligne 12 : code commune invalide (valeur « ABCDE »)")
    assert (err.message, err.path, err.line, err.value) == ("code commune invalide", "data.csv", 12, "ABCDE")
    assert str(InputError("fichier introuvable", "/tmp/x.csv")) == ("fichier « /tmp/x.csv » : fichier introuvable")
    assert str(InputError("oups")) == "oups"
    assert str(InputError("a\nb", line=3, value="x\ny")) == "ligne 3 : a b (valeur « x y »)"
    assert format_message("m", "f.json", 2, line_label="territoire") == ("fichier « f.json », territoire 2 : m")


def test_value_is_truncated_to_80_characters_with_an_ellipsis():
    message = str(InputError("valeur trop longue", "f.csv", 2, "x" * 200))
    # 79 characters of the value, then the ellipsis: 80 characters between the French quotes
    assert message == "fichier « f.csv », ligne 2 : valeur trop longue (valeur « " + "x" * 79 + "… »)"
    exact = str(InputError("m", value="y" * 80))
    assert exact == "m (valeur « " + "y" * 80 + " »)"  # 80 characters are kept whole


def test_blank_value_is_shown_as_empty_and_zero_is_kept():
    assert (
        str(InputError("cellule vide", "f.csv", 4, "   "))
        == "fichier « f.csv », ligne 4 : cellule vide (valeur « (vide) »)"
    )
    assert str(InputError("code manquant", value="")) == "code manquant (valeur « (vide) »)"
    assert str(InputError("zéro refusé", line=7, value=0)) == "ligne 7 : zéro refusé (valeur « 0 »)"


def test_path_objects_are_shown_as_given():
    err = InputError("fichier introuvable", Path("dossier") / "p.csv")
    assert str(err) == "fichier « dossier/p.csv » : fichier introuvable"
    assert err.path == Path("dossier/p.csv")


def test_line_label_names_records_and_features():
    assert str(InputError("sans nom", "ars.json", 3, line_label="territoire")) == (
        "fichier « ars.json », territoire 3 : sans nom"
    )
    assert str(InputError("géométrie vide", "c.gpkg", 12, line_label="entité")) == (
        "fichier « c.gpkg », entité 12 : géométrie vide"
    )


def test_message_and_value_are_collapsed_to_one_line():
    err = InputError("première ligne\r\n\tseconde ligne", "p.csv", 5, "v1\n\tv2")
    assert str(err) == "fichier « p.csv », ligne 5 : première ligne seconde ligne (valeur « v1 v2 »)"


def test_a_path_with_a_line_break_still_gives_one_line():
    assert str(InputError("fichier introuvable", "a\nb\t.csv")) == "fichier « a\\nb\\t.csv » : fichier introuvable"


def test_input_error_is_an_exception_whose_args_hold_the_message():
    with pytest.raises(InputError) as exc:
        raise InputError("code commune invalide", "data.csv", 12, "ABCDE")
    assert exc.value.args == ("fichier « data.csv », ligne 12 : code commune invalide (valeur « ABCDE »)",)
    assert exc.value.line_label == "ligne"


def test_paths_in_the_current_folder_are_shown_relative(tmp_path, monkeypatch):
    """The command line shows the absolute paths it works with as she typed them, relative to her folder."""
    monkeypatch.chdir(tmp_path)
    inside, outside = tmp_path / "a b" / "f.csv", tmp_path.parent / "f.csv"
    text = f"fichier « {inside} », ligne 3 : code invalide ; fichier « {outside} »"
    assert shown_paths(text) == f"fichier « a b/f.csv », ligne 3 : code invalide ; fichier « {outside} »"
    assert shown_paths("rien à changer") == "rien à changer"
