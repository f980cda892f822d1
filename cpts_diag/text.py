"""Text keys for matching what users type: accents, case and spacing ignored."""

from __future__ import annotations

import re
import unicodedata


def strip_accents(text: str) -> str:
    """``"Santé Œ"`` -> ``"Sante Œ"``: combining accents removed (NFKD).

    Examples
    --------
    >>> strip_accents("Côte d'Azur")
    "Cote d'Azur"
    """
    text = unicodedata.normalize("NFKD", str(text))
    return "".join(ch for ch in text if not unicodedata.combining(ch))


def fold(text: str) -> str:
    """Comparison key: no accents, case-folded, typographic apostrophe made plain, spaces collapsed.

    Examples
    --------
    >>> fold("  CPTS  du Gapençais ")
    'cpts du gapencais'
    """
    return " ".join(strip_accents(text).casefold().replace("’", "'").split())


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"})
# typographic apostrophes and dashes separate words like their plain forms (dropped with the accents otherwise)
_SEPARATORS = str.maketrans({"’": "'", "‘": "'", "–": "-", "—": "-"})
# an article written after the name, as in INSEE's former upper-case names: « ABERGEMENT-CLEMENCIAT (L') »
_TRAILING_ARTICLE = r"\s*\((?:le|la|les|l'?)\)\s*$"
_SAINT = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}


def _words(text) -> list[str]:
    text = strip_accents(str(text).translate(_LIGATURES).translate(_SEPARATORS)).casefold()
    text = re.sub(_TRAILING_ARTICLE, "", text)
    return re.sub(r"[^a-z0-9]+", " ", text).split()


def commune_keys(names) -> list[str]:
    """:func:`commune_key` of many names at once (vectorised over a sequence or a Series)."""
    import pandas as pd

    text = pd.Series(list(names), dtype=object).fillna("").astype(str)
    text = text.str.translate(_LIGATURES).str.translate(_SEPARATORS).str.casefold()
    text = text.str.normalize("NFKD").str.encode("ascii", "ignore").str.decode("ascii")
    text = text.str.replace(_TRAILING_ARTICLE, "", regex=True)
    text = text.str.replace(r"[^a-z0-9]+", " ", regex=True).str.strip()
    for short, long in _SAINT.items():
        text = text.str.replace(rf"\b{short}\b", long, regex=True)
    text = text.str.replace(r"^(?:le|la|les|l) (?=\S)", "", regex=True)  # a leading article, not a lone word
    return text.str.replace(" ", "", regex=False).tolist()


def commune_key(text) -> str:
    """Comparison key of a commune name: accents, case, « œ », hyphens, apostrophes and spaces, « St » / « Ste »
    for « Saint » / « Sainte » and a leading (or INSEE-style trailing) article ignored.

    Examples
    --------
    >>> commune_key("Saint-Martin-d'Hères") == commune_key("ST MARTIN D HERES")
    True
    >>> commune_key("L’Abergement-Clémenciat") == commune_key("Abergement-Clémenciat (L')")
    True
    >>> commune_key("Les Baux-de-Provence"), commune_key("Œuilly"), commune_key("Le")
    ('bauxdeprovence', 'oeuilly', 'le')
    """
    return commune_keys([text])[0]


_PLM = ("paris", "marseille", "lyon")
_ORDINAL = re.compile(r"^(\d{1,2}|[ivxl]+?)(?:e|er|ere|eme|em|ieme|ier)?$")
_ARR_WORDS = {"arrondissement", "arrondissements", "arr", "arrt", "ardt", "arrdt", "ar"}
_ROMAN = {"i": 1, "v": 5, "x": 10, "l": 50}


def _roman(text: str) -> int | None:
    values = [_ROMAN[c] for c in text]
    total = sum(-v if i + 1 < len(values) and v < values[i + 1] else v for i, v in enumerate(values))
    return total if 0 < total <= 20 else None


def arrondissement_key(text) -> tuple[str, int] | None:
    """(city, number) of an arrondissement municipal named the usual ways, or None.

    Paris, Marseille and Lyon; « 4e », « 4ème », « 04 », « IVe », « 1er », a postcode (« 13004 »), with or
    without « arrondissement ».

    Examples
    --------
    >>> arrondissement_key("Marseille 4e Arrondissement"), arrondissement_key("MARSEILLE 13004")
    (('marseille', 4), ('marseille', 4))
    >>> arrondissement_key("Paris XVe"), arrondissement_key("Lyon 3ème arr."), arrondissement_key("Marseille")
    (('paris', 15), ('lyon', 3), None)
    """
    words = _words(text)
    if len(words) < 2 or words[0] not in _PLM or not set(words[2:]) <= _ARR_WORDS:
        return None
    token = words[1]
    if re.fullmatch(r"\d{5}", token):  # postcode: 75015, 13004, 69003
        prefix = {"paris": "75", "marseille": "13", "lyon": "69"}[words[0]]
        return (words[0], int(token[3:])) if token.startswith(prefix) and int(token[3:]) > 0 else None
    match = _ORDINAL.match(token)
    if match is None:
        return None
    number = int(match.group(1)) if match.group(1).isdigit() else _roman(match.group(1))
    return (words[0], number) if number else None
