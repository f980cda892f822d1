"""Strict normaliser of INSEE commune (and arrondissement municipal) codes.

A commune code has five characters: a département part (``01``–``95`` except ``20``, ``2A``/``2B`` for Corsica
since 1976, ``971``–``978`` and ``984``–``989`` overseas) and a commune number. :func:`normalize_code` repairs only
what is unambiguous (spaces, lower-case ``2a``, numbers from Excel that lost their leading zero, pre-1976 Corsican
codes ``20xxx``) and raises :class:`CodeFormatError` on anything else.
"""

from __future__ import annotations

import functools
import math
import numbers
import re

#: Commune code of Paris, Lyon and Marseille, keyed by département.
PLM_PARENT = {"75": "75056", "69": "69123", "13": "13055"}

# (first, last) arrondissement municipal codes of Paris, Lyon, Marseille.
_PLM_RANGES = {"75": (75101, 75120), "69": (69381, 69389), "13": (13201, 13216)}

_METRO = re.compile(r"^(\d{2})(\d{3})$")
_CORSICA = re.compile(r"^2[AB](\d{3})$")
_OVERSEAS_DEPS = {"971", "972", "973", "974", "975", "976", "977", "978", "984", "986", "987", "988", "989"}
_FLOAT_TEXT = re.compile(r"^(\d{4,5})\.0*$")
_SPACES = re.compile(r"\s+")  # includes NBSP and narrow NBSP for str patterns


class CodeFormatError(ValueError):
    """A value that cannot be turned into a valid INSEE commune code (``value``: the raw value, ``reason``: why
    it is invalid, in French)."""

    def __init__(self, value, reason: str):
        self.value = value
        self.reason = reason
        super().__init__(f"code commune invalide : {reason} (valeur « {value} »)")


def _from_number(raw) -> tuple[str, str | None]:
    """Convert an int/float (Excel number cell) to a code."""
    if isinstance(raw, float) and math.isnan(raw):
        raise CodeFormatError(raw, "valeur vide")
    if isinstance(raw, float) and not raw.is_integer():
        raise CodeFormatError(raw, "nombre non entier")
    if raw < 0:
        raise CodeFormatError(raw, "nombre négatif")
    digits = str(int(raw))
    if len(digits) not in (4, 5):
        raise CodeFormatError(raw, f"{len(digits)} chiffres au lieu de 5")
    return _from_text(digits, raw)


def _from_text(text: str, raw) -> tuple[str, str | None]:
    """The code of a cleaned-up text: a lost leading zero restored, a pre-1976 Corsican code converted."""
    if re.fullmatch(r"\d{4}", text):
        code = "0" + text
        _validate(code, raw)
        return code, f"zéro initial restauré ({text} → {code})"
    if re.fullmatch(r"20\d{3}", text):  # pre-1976 Corsican code: 2A/2B of the same commune number
        prefix = _corsica_prefixes().get(text[2:])
        if prefix is None:
            raise CodeFormatError(raw, "la Corse s'écrit 2A ou 2B depuis 1976, pas 20")
        return prefix + text[2:], f"ancien code de la Corse converti ({text} → {prefix + text[2:]})"
    _validate(text, raw)
    return text, None


@functools.lru_cache(maxsize=1)
def _corsica_prefixes() -> dict[str, str]:
    """Commune number -> ``2A``/``2B``, from the COG reference (numbers are unique in Corsica)."""
    try:
        from cpts_diag.reference import load_reference

        reference = load_reference()
    except Exception:  # no reference data: 20xxx stays refused
        return {}
    codes = set(reference.records["code_insee"]) | set(reference.former)
    return {c[2:]: c[:2] for c in codes if _CORSICA.match(c)}


def _validate(code: str, raw) -> None:
    """Raise CodeFormatError unless ``code`` is a well-formed commune code."""
    m = _CORSICA.match(code)
    if m:
        if m.group(1) == "000":
            raise CodeFormatError(raw, "numéro de commune 000")
        return
    m = _METRO.match(code)
    if not m:
        if re.match(r"^2[A-Z]\d{3}$", code):
            raise CodeFormatError(raw, "la Corse s'écrit 2A ou 2B")
        if len(code) != 5:
            raise CodeFormatError(raw, f"{len(code)} caractères au lieu de 5")
        raise CodeFormatError(raw, "5 chiffres attendus (ou 2A/2B pour la Corse)")
    dep = m.group(1)
    if dep == "00":
        raise CodeFormatError(raw, "département 00 inexistant")
    if dep == "20":
        raise CodeFormatError(raw, "la Corse s'écrit 2A ou 2B depuis 1976, pas 20")
    if dep in ("96", "99"):
        raise CodeFormatError(raw, f"département {dep} inexistant")
    if dep in ("97", "98"):
        if code[:3] not in _OVERSEAS_DEPS:
            raise CodeFormatError(raw, f"département ou collectivité {code[:3]} inexistant")
        if code[3:] == "00":
            raise CodeFormatError(raw, "numéro de commune 00")
    elif m.group(2) == "000":
        raise CodeFormatError(raw, "numéro de commune 000")


def normalize_code(raw) -> tuple[str, str | None]:
    """Normalise one INSEE commune or arrondissement code, strictly, into ``(code, warning)``.

    ``raw`` is the value as read: text (spaces, including inner and non-breaking ones, are removed; ``2a``/``2b``
    are upper-cased), or a number from Excel (``1001`` or ``1001.0``). A lost leading zero (number or 4-digit
    text) is restored; a pre-1976 Corsican code ``20xxx`` of a commune known to the COG reference is converted to
    its ``2A``/``2B`` code (commune numbers are unique in Corsica): ``warning`` says so, in French (else None).
    Raises :class:`CodeFormatError` on an empty value, letters, a wrong length, a ``20xxx`` of no known Corsican
    commune, ``00xxx``, an unknown overseas département, a commune number 000.

    Examples
    --------
    >>> normalize_code(" 13 055 ")
    ('13055', None)
    >>> normalize_code(1001)
    ('01001', 'zéro initial restauré (1001 → 01001)')
    >>> normalize_code("2a004")
    ('2A004', None)
    >>> normalize_code(20004)
    ('2A004', 'ancien code de la Corse converti (20004 → 2A004)')
    """
    if raw is None or isinstance(raw, bool):
        raise CodeFormatError(raw, "valeur vide" if raw is None else "valeur booléenne")
    if isinstance(raw, numbers.Integral):
        return _from_number(int(raw))
    if isinstance(raw, numbers.Real):
        return _from_number(float(raw))
    if not isinstance(raw, str):
        raise CodeFormatError(raw, "type de valeur inattendu")
    text = _SPACES.sub("", raw).replace("\u200b", "").replace("\ufeff", "").upper()
    if not text:
        raise CodeFormatError(raw, "valeur vide")
    m = _FLOAT_TEXT.match(text)
    if m:  # "1001.0": a number written as text by a spreadsheet export
        return _from_number(int(m.group(1)))
    return _from_text(text, raw)


def is_arrondissement_code(code: str) -> bool:
    """Tell whether ``code`` is an arrondissement municipal of Paris, Lyon or Marseille.

    Examples
    --------
    >>> is_arrondissement_code("13214"), is_arrondissement_code("13055")
    (True, False)
    """
    if not isinstance(code, str) or not re.fullmatch(r"\d{5}", code):
        return False
    bounds = _PLM_RANGES.get(code[:2])
    return bounds is not None and bounds[0] <= int(code) <= bounds[1]


def arrondissement_parent(code: str) -> str | None:
    """Commune code (75056, 69123, 13055) of an arrondissement municipal, else None.

    Examples
    --------
    >>> arrondissement_parent("69383"), arrondissement_parent("69001")
    ('69123', None)
    """
    return PLM_PARENT[code[:2]] if is_arrondissement_code(code) else None
