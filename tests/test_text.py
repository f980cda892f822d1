"""Tests of cpts_diag.text: accents, case, apostrophes and spaces folded for matching what users type."""

import pytest

from cpts_diag.text import arrondissement_key, commune_key, commune_keys, fold, strip_accents


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


@pytest.mark.parametrize(
    "typed, cog",
    [
        ("ST MARTIN D HERES", "Saint-Martin-d'Hères"),
        ("Ste-Marie", "Sainte-Marie"),
        ("Stes-Maries-de-la-Mer", "Saintes-Maries-de-la-Mer"),
        ("L’Abergement-Clémenciat", "L'Abergement-Clémenciat"),
        ("ABERGEMENT-CLEMENCIAT (L')", "L'Abergement-Clémenciat"),
        ("Abymes", "Les Abymes"),
        ("Boeurs en Othe", "Bœurs-en-Othe"),
        ("ergue  gaberic", "Ergué-Gabéric"),
        ("Île d’Yeu", "L'Île-d'Yeu"),
    ],
)
def test_commune_key_ignores_the_usual_differences(typed, cog):
    assert commune_key(typed) == commune_key(cog)


def test_commune_key_keeps_different_names_apart():
    assert commune_key("Locronan") != commune_key("Mahalon")
    assert commune_key("Saint-Martin") != commune_key("Sainte-Martine")
    assert commune_key("La") == "la"  # a lone word is not an article to drop
    assert commune_keys(["Le Mans", None, "Mans (Le)"]) == ["mans", "", "mans"]


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("Marseille 4e Arrondissement", ("marseille", 4)),
        ("MARSEILLE 4EME", ("marseille", 4)),
        ("Marseille 04", ("marseille", 4)),
        ("Marseille 13004", ("marseille", 4)),
        ("Paris 1er", ("paris", 1)),
        ("Paris XVe arrondissement", ("paris", 15)),
        ("Paris Ier", ("paris", 1)),
        ("Lyon 3ème arr.", ("lyon", 3)),
        ("Marseille", None),
        ("Lyon 69003 Nord", None),
        ("Marseille 75004", None),  # a postcode of Paris
        ("Saint-Paul 4e", None),
    ],
)
def test_arrondissement_key(typed, expected):
    assert arrondissement_key(typed) == expected
