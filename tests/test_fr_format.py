"""The French formatting layer (hand-computed expectations)."""

import math

import pytest

from cpts_diag import fr_format as fr
from cpts_diag.fr_format import MISSING, NBSP, NNBSP, Style
from cpts_diag.tiers import tier_label

NAN = math.nan


@pytest.mark.parametrize(
    ("value", "decimals", "style", "expected"),
    [
        (1234567.891, 1, Style.HTML, f"1{NNBSP}234{NNBSP}567,9"),
        (1234567.891, 1, Style.TERMINAL, "1 234 567,9"),
        (1234567.891, 2, Style.EXCEL, "1 234 567,89"),
        (12345.678, 1, Style.HTML, f"12{NNBSP}345,7"),
        (999.6, 0, Style.HTML, f"1{NNBSP}000"),
        (-1234.56, 2, Style.HTML, f"-1{NNBSP}234,56"),
        (-0.04, 1, Style.HTML, "0,0"),  # no "-0,0"
        (3, 1, Style.HTML, "3,0"),
        (123, 0, Style.HTML, "123"),
        (float("inf"), 1, Style.HTML, "∞"),
        (NAN, 1, Style.HTML, "n.d."),
        (None, 0, Style.TERMINAL, "n.d."),
    ],
)
def test_number(value, decimals, style, expected):
    assert fr.number(value, decimals, style=style) == expected


def test_integer_percent_missing():
    assert fr.integer(886040) == f"886{NNBSP}040"
    assert fr.integer(None, missing="?") == "?"
    assert fr.percent(12.345) == f"12,3{NNBSP}%"
    assert fr.percent(0.5, 0, ratio=True) == f"50{NNBSP}%"
    assert fr.percent(37.2, 0, style=Style.TERMINAL) == "37 %"
    assert fr.percent(None) == MISSING == "n.d."
    assert fr.is_missing(float("nan")) and fr.is_missing(None) and not fr.is_missing(0)


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((NAN, 4531, 362268, 0), {}, f"entre 4{NNBSP}531 et 362{NNBSP}268"),
        ((NAN, 4531, 362268, 0), {"style": Style.TERMINAL}, "4 531–362 268"),
        ((4.786, 4.734, 4.791, 2), {}, "4,79 (entre 4,73 et 4,79)"),
        ((4.786, 4.734, 4.791, 2), {"style": Style.TERMINAL}, "4,79 (4,73–4,79)"),
        ((NAN, 12, None, 0), {"style": Style.TERMINAL}, "≥ 12"),
        ((NAN, 12, None, 0), {}, "≥ 12"),  # a lone bound is said, never hidden as n.d.
        ((NAN, None, 7, 0), {"style": Style.TERMINAL}, "≤ 7"),
        ((NAN, 5.01, 4.99, 1), {}, "5,0"),  # bounds equal as shown: one value
        ((5.0, 4.996, 5.004, 2), {}, "5,00"),  # bounds that add nothing are left out
        ((5.0, None, None, 2), {}, "5,00"),
        ((NAN, None, None, 1), {}, "n.d."),
        ((NAN, None, None, 1), {"missing": None}, None),
        ((12.345,), {"unit": "%"}, f"12,3{NNBSP}%"),
        ((85696.0,), {"unit": "hab."}, f"85{NNBSP}696{NBSP}hab."),
        ((85696.0,), {"unit": "hab.", "show_unit": False}, f"85{NNBSP}696"),
        ((NAN, 10, 20), {"unit": "hab."}, f"entre 10 et 20{NBSP}hab."),
        ((4.786,), {"unit": "consultations/an/hab."}, f"4,79{NBSP}consultations/an/hab."),
        ((3.6387,), {"unit": "consultations/an/hab.", "show_unit": False}, "3,64"),
        ((4.77, 3.74, 4.77), {"unit": "consultations/an/hab.", "show_unit": False}, "4,77 (entre 3,74 et 4,77)"),
        ((None, 2.0, 2.0), {"unit": "%", "show_unit": False}, "2,0"),
    ],
)
def test_value_text(args, kwargs, expected):
    assert fr.value_text(*args, **kwargs) == expected


def test_population():
    assert fr.population(85696.0) == f"85{NNBSP}696"
    assert fr.population(None, 4531, 362268) == f"entre 4{NNBSP}531 et 362{NNBSP}268"
    assert fr.population(None, None, None, missing=None) is None


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((2,), {}, "taille 2"),
        ((2.0,), {"short": True}, "T2"),
        ((None, 1, 4), {}, "taille 1 à 4"),
        ((None, 1, 4), {"short": True}, "T1 à T4"),
        ((None, 3, 3), {}, "taille 3"),
        ((None, 1, 2), {"explain": True}, "taille indéterminée (de 1 à 2 selon la population retenue)"),
        ((None,), {}, "taille indéterminée"),
        ((NAN, None, None), {"short": True, "unknown": "—"}, "—"),
    ],
)
def test_tier_label(args, kwargs, expected):
    assert tier_label(*args, **kwargs) == expected


def test_enumeration_yes_no_and_figure_text():
    assert fr.enumeration([]) == "" and fr.enumeration([29075]) == "29075"
    assert fr.enumeration(["CPTS A", "CPTS B"]) == "CPTS A et CPTS B"
    assert fr.enumeration(["Brest", "Quimper", "Morlaix"]) == "Brest, Quimper et Morlaix"
    assert (fr.yes_no(True), fr.yes_no(0), fr.yes_no("x")) == ("oui", "non", "oui")
    assert fr.figure_text("CPTS $Est$") == r"CPTS \$Est\$"
