"""A small real perimeter file of the Finistère (Bretagne) and what its check must find, computed from the raw
embedded files (``data/communes_cog2026.csv``, ``data/communes_adjacence_cog2026.csv`` read with dtype=str),
independently of cpts_diag. Shared by tests/test_check_workbook.py and tests/test_check_outputs.py.

* « CPTS Pays de Douarnenez »: the 5 communes of CC Douarnenez Communauté, Douarnenez given by the former code
  29283 (Tréboul, line 2, outdated), Le Juch listed twice (lines 3 and 7);
* « CPTS Pays Fouesnantais »: the 7 communes of CC du Pays Fouesnantais, plus Douarnenez (a conflict, and a
  second piece), the unknown code 29999 (line 16) and Guidel in the Morbihan (a third piece, a second
  département: the other communes of the Morbihan are outside the file).

Study area: the Finistère (29); every other commune of it is an orphan.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA = Path(__file__).resolve().parent.parent / "data"
DOUARNENEZ, FOUESNANT = "CPTS Pays de Douarnenez", "CPTS Pays Fouesnantais"
ROWS = [
    (DOUARNENEZ, "29283"),
    (DOUARNENEZ, "29087"),
    (DOUARNENEZ, "29090"),
    (DOUARNENEZ, "29224"),
    (DOUARNENEZ, "29226"),
    (DOUARNENEZ, "29087"),
    *((FOUESNANT, c) for c in ("29006", "29032", "29057", "29058", "29060", "29161", "29247")),
    (FOUESNANT, "29046"),
    (FOUESNANT, "29999"),
    (FOUESNANT, "56078"),
]


def write_file(folder: Path) -> Path:
    """The perimeter CSV (header on line 1: row i of ROWS is on line i + 2)."""
    path = folder / "cpts_finistere.csv"
    path.write_text("cpts;code_insee\n" + "".join(f"{t};{c}\n" for t, c in ROWS), encoding="utf-8")
    return path


def communes() -> pd.DataFrame:
    """The current communes of the COG 2026, indexed by code, population as nullable integers."""
    cog = pd.read_csv(DATA / "communes_cog2026.csv", dtype=str, keep_default_na=False)
    cog = cog[cog["type"] == "commune-actuelle"].set_index("code_insee")
    return cog.assign(population=pd.to_numeric(cog["population"]).astype("Int64"))  # empty: unknown


def current_code(code: str, cog: pd.DataFrame) -> str | None:
    """The current commune of a code: itself, the commune listing it among its former codes, or None."""
    if code in cog.index:
        return code
    former = cog[cog["anciens_codes"].str.split("|").map(lambda codes: code in codes)]
    return former.index[0] if len(former) else None


def members(cog: pd.DataFrame) -> dict[str, list[str]]:
    """Current codes of each territory, once each, in file order."""
    out: dict[str, list[str]] = {}
    for territory, code in ROWS:
        current = current_code(code, cog)
        if current is not None and current not in out.setdefault(territory, []):
            out[territory].append(current)
    return out


def pieces(codes: list[str]) -> list[list[str]]:
    """Connected parts of a set of communes through shared borders (« contact » links), largest first."""
    adj = pd.read_csv(DATA / "communes_adjacence_cog2026.csv", dtype=str)
    adj = adj[(adj["lien"] == "contact") & adj["a"].isin(codes) & adj["b"].isin(codes)]
    neighbours = {c: set() for c in codes}
    for a, b in zip(adj["a"], adj["b"]):
        neighbours[a].add(b)
        neighbours[b].add(a)
    left, parts = set(codes), []
    while left:
        todo, part = [min(left)], set()
        while todo:
            c = todo.pop()
            if c not in part:
                part.add(c)
                todo.extend(neighbours[c] - part)
        left -= part
        parts.append(sorted(part))
    return sorted(parts, key=lambda p: (-len(p), p))
