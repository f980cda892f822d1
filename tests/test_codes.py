"""Tests of cpts_diag.codes (strict INSEE code normaliser)."""

import numpy as np
import pytest

from cpts_diag.codes import (
    PLM_PARENT,
    CodeFormatError,
    arrondissement_parent,
    is_arrondissement_code,
    normalize_code,
)

RESTORED = "zéro initial restauré (1001 → 01001)"


@pytest.mark.parametrize(
    "raw, code, warning",
    [
        ("01001", "01001", None),
        (" 13055 ", "13055", None),
        ("13 055", "13055", None),
        ("13\u00a0055", "13055", None),  # non-breaking space from a French spreadsheet
        ("13\u202f055", "13055", None),  # narrow NBSP
        ("2a004", "2A004", None),
        ("2B033", "2B033", None),
        ("97411", "97411", None),
        ("97608", "97608", None),
        ("97501", "97501", None),
        ("97701", "97701", None),
        ("98735", "98735", None),
        ("13214", "13214", None),
        (13055, "13055", None),
        (13055.0, "13055", None),
        (np.int64(6088), "06088", "zéro initial restauré (6088 → 06088)"),
        (1001, "01001", RESTORED),
        (1001.0, "01001", RESTORED),
        ("1001", "01001", RESTORED),
        ("1001.0", "01001", RESTORED),
        ("13055.0", "13055", None),
        # pre-1976 Corsican codes: Ajaccio 2A004, Bastia 2B033 (numbers are unique in Corsica)
        ("20004", "2A004", "ancien code de la Corse converti (20004 → 2A004)"),
        (20033, "2B033", "ancien code de la Corse converti (20033 → 2B033)"),
    ],
)
def test_normalize_code_valid(raw, code, warning):
    assert normalize_code(raw) == (code, warning)


@pytest.mark.parametrize(
    "raw, reason_part",
    [
        ("", "vide"),
        ("   ", "vide"),
        (None, "vide"),
        (float("nan"), "vide"),
        ("ABCDE", "5 chiffres"),
        ("123", "3 caractères"),
        ("1234567", "7 caractères"),
        ("2C001", "2A ou 2B"),
        ("20999", "2A ou 2B"),  # no Corsican commune numbered 999
        ("00123", "00"),
        ("0100", "00"),  # restored to 00100: still invalid
        ("96001", "96"),
        ("99100", "99"),
        ("97900", "979"),
        ("98100", "981"),
        ("13000", "000"),
        ("97100", "00"),
        (1001.5, "non entier"),
        (123, "3 chiffres"),
        (-1001, "négatif"),
        (True, "booléenne"),
        ("13055a", "6 caractères"),
    ],
)
def test_normalize_code_invalid(raw, reason_part):
    with pytest.raises(CodeFormatError) as info:
        normalize_code(raw)
    assert reason_part in info.value.reason
    assert info.value.args == (f"code commune invalide : {info.value.reason} (valeur « {raw} »)",)


def test_code_format_error_message_is_french_and_names_value():
    with pytest.raises(CodeFormatError) as info:
        normalize_code("ABCDE")
    assert info.value.value == "ABCDE"
    assert str(info.value) == (
        "code commune invalide : 5 chiffres attendus (ou 2A/2B pour la Corse) (valeur « ABCDE »)"
    )


@pytest.mark.parametrize(
    "code, expected",
    [
        ("75101", True),
        ("75120", True),
        ("75121", False),
        ("75100", False),
        ("69381", True),
        ("69389", True),
        ("69390", False),
        ("69380", False),
        ("13201", True),
        ("13216", True),
        ("13217", False),
        ("13200", False),
        ("75056", False),
        ("13055", False),
        ("2A004", False),
        (13201, False),
    ],
)
def test_is_arrondissement_code(code, expected):
    assert is_arrondissement_code(code) is expected


def test_arrondissement_parent():
    assert PLM_PARENT == {"75": "75056", "69": "69123", "13": "13055"}
    assert arrondissement_parent("75113") == "75056"
    assert arrondissement_parent("69383") == "69123"
    assert arrondissement_parent("13214") == "13055"
    assert arrondissement_parent("13055") is None
    assert arrondissement_parent("06088") is None
