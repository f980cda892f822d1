"""Text keys for matching what users type: accents, case and spacing ignored."""

from __future__ import annotations

import unicodedata

__all__ = ["strip_accents", "fold"]


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
