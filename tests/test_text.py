"""Tests of cpts_diag.text: accents, case, apostrophes and spaces folded for matching what users type."""

import pytest

from cpts_diag.text import fold, strip_accents


@pytest.mark.parametrize(
    "given, expected",
    [
        ("Gapençais", "Gapencais"),
        ("Hyères et des Îles d'Or", "Hyeres et des Iles d'Or"),
        ("ÉÈÊËÀÂÄÎÏÔÖÙÛÜŸÇ", "EEEEAAAIIOOUUUYC"),
        ("éèêëàâäîïôöùûüÿç", "eeeeaaaiioouuuyc"),
        ("Œuvre Æ", "Œuvre Æ"),  # ligatures are letters, not accented letters
        ("sans accent", "sans accent"),
    ],
)
def test_strip_accents(given, expected):
    assert strip_accents(given) == expected


@pytest.mark.parametrize(
    "given, expected",
    [
        ("  CPTS  du Gapençais ", "cpts du gapencais"),
        ("CPTS DU GAPENÇAIS", "cpts du gapencais"),
        ("CPTS Hauts pays du Verdon et Monts d’Azur", "cpts hauts pays du verdon et monts d'azur"),
        ("CPTS\tVal\nDurance", "cpts val durance"),
        ("Œuvre", "œuvre"),
        ("Straße", "strasse"),  # case folding, not only lower()
        ("", ""),
    ],
)
def test_fold(given, expected):
    assert fold(given) == expected


def test_fold_makes_the_usual_spellings_of_a_name_equal():
    spellings = ["CPTS du Gapençais", "cpts du gapencais", " CPTS  DU GAPENCAIS", "Cpts Du Gapençais"]
    assert {fold(s) for s in spellings} == {"cpts du gapencais"}
    assert fold("CPTS du Gapençais") != fold("CPTS du Gapençais Nord")


def test_non_text_values_are_converted():
    assert strip_accents(13055) == "13055"
    assert fold(4.5) == "4.5"
