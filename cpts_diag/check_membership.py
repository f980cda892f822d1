"""Findings of a check about what the file lists: codes, typed names, duplicates, overlaps, arrondissements.

Computed by :func:`cpts_diag.checks.check_perimeters`; each finding is a JSON-ready dict.
"""

from __future__ import annotations

import difflib
import re
from operator import itemgetter

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.reference import FORMER, UNKNOWN, Reference
from cpts_diag.text import arrondissement_key, commune_keys
from cpts_diag.tiers import near_threshold, tier_margin

#: Kinds of conflict between territories: a commune split below commune level, by arrondissement, or claimed twice.
INFRACOMMUNAL, ARRONDISSEMENT_SPLIT, CONFLICT = "infracommunal", "arrondissement", "conflict"


def json_int(value):
    """JSON-ready integer (None for missing)."""
    return None if fr.is_missing(value) else round(float(value))


def _names(codes, reference: Reference) -> list[str]:
    """Names of commune / arrondissement codes (the code itself when unknown)."""
    return [reference.names.get(c, c) for c in codes]


def _code_findings(members: pd.DataFrame, reference: Reference) -> tuple[list, list]:
    """Unknown and outdated codes, each sorted by territory, line and code."""
    unknown = members[members["status"] == UNKNOWN]
    former = members[members["status"] == FORMER]
    order = itemgetter("territory", "line", "code")
    return (
        sorted(
            ({"code": r.code_given, "territory": r.cpts, "line": int(r.line)} for r in unknown.itertuples()), key=order
        ),
        sorted(
            (
                {
                    "code": r.code_given,
                    "current_code": r.code_insee,
                    "current_name": name,
                    "note": r.note,
                    "territory": r.cpts,
                    "line": int(r.line),
                }
                for r, name in zip(former.itertuples(), former["code_insee"].map(reference.communes["nom"]))
            ),
            key=order,
        ),
    )


#: A typed name that is no commune's and this close to its code's name (difflib ratio of the keys) is a
#: spelling variant (« Mahallon » for Mahalon), not a mismatch.
_SPELLING_VARIANT = 0.85
# « Brest (29) », « Brest (29200) », « Brest 29200 »: the département or postcode written after the name
_NAME_SUFFIX = re.compile(r"\s*(?:\(\s*[0-9][0-9AaBb][0-9]{0,3}\s*\)|[0-9]{5})\s*$")


def _typed_names(table: pd.DataFrame) -> pd.Series | None:
    """The ``nom_commune`` column (str or missing) aligned with :func:`resolve_members`, or None."""
    if "nom_commune" not in table:
        return None
    names = table["nom_commune"].reset_index(drop=True).astype(object)
    names = names.where(names.notna(), "").astype(str).str.strip()
    return names if (names != "").any() else None


def _name_mismatches(names: pd.Series, members: pd.DataFrame, reference: Reference) -> tuple[list[dict], int]:
    """Rows whose typed commune name is not a COG name of their code, and the number of rows that cannot be
    decided (a former code whose name the COG 2026 does not keep)."""
    rows = members.assign(typed=names.to_numpy())
    rows = rows[(rows["typed"] != "") & (rows["status"] != UNKNOWN)]
    rows = rows.assign(key=commune_keys(rows["typed"].str.replace(_NAME_SUFFIX, "", regex=True)))
    keys = reference.name_keys

    def own(r) -> list[str]:
        return [r.code_given, r.code_insee] + ([r.arrondissement] if isinstance(r.arrondissement, str) else [])

    # the usual case, a name of one of the row's codes, is decided by set lookups
    matches = [any(r.key in keys.get(code, ()) for code in own(r)) for r in rows.itertuples(index=False)]
    departement_of = dict(zip(reference.records["code_insee"], reference.records["departement"]))
    out, undecided = [], 0
    for r in rows[~np.asarray(matches, dtype=bool)].itertuples(index=False):
        codes = own(r)
        plm = arrondissement_key(r.typed)
        if plm is not None and len(codes) > 2 and plm == arrondissement_key(reference.names[r.arrondissement]):
            continue  # « Marseille 4e » for the 4th arrondissement
        if r.status == FORMER and r.code_given not in keys:
            undecided += 1  # the former commune's name is not in the COG 2026: nothing to compare with
            continue
        others = [c for c in reference.codes_by_name.get(r.key, []) if c not in codes]
        if plm is not None and not others:
            others = [a for a in reference.arrondissements.index if arrondissement_key(reference.names[a]) == plm]
        expected = set().union(*(keys.get(code, ()) for code in codes))
        similarity = max((difflib.SequenceMatcher(None, r.key, e).ratio() for e in expected), default=0.0)
        if not others and similarity >= _SPELLING_VARIANT:
            continue
        dep = departement_of.get(r.code_insee)
        out.append(
            {
                "line": int(r.line),
                "territory": r.cpts,
                "code_insee": r.code_given,
                "typed_name": r.typed,
                "cog_name": reference.names.get(r.code_given) or reference.record_names[r.code_given][0],
                "codes_with_typed_name": sorted(others, key=lambda c: departement_of.get(c) != dep),
            }
        )
    out.sort(key=itemgetter("territory", "line"))
    return out, undecided


def _duplicates(known: pd.DataFrame, reference: Reference) -> list[dict]:
    """Same unit (commune or arrondissement) listed twice in one territory, before or after mapping."""
    work = known.assign(unit=known["arrondissement"].fillna(known["code_insee"]))
    dup = work[work.duplicated(["cpts", "unit"], keep=False)]
    grouped = dup.groupby(["cpts", "unit"], sort=True).agg(
        lines=("line", lambda s: sorted({int(x) for x in s})),
        given=("code_given", lambda s: sorted(set(s))),
    )
    return [
        {
            "territory": territory,
            "code_insee": code,
            "name": reference.names.get(code, code),
            "lines": lines,
            "after_mapping": len(given) > 1,
            "codes_given": given,
        }
        for (territory, code), lines, given in zip(grouped.index, grouped["lines"], grouped["given"])
    ]


def _overlaps(known: pd.DataFrame, reference: Reference) -> tuple[list[dict], set[str]]:
    """Overlap findings and the set of communes listed by arrondissement only (no whole claim)."""
    whole_row = known["arrondissement"].isna()
    # one claim per (commune, territory): whole (some row without arrondissement), declared infra-communal
    claims = (
        known.assign(whole=whole_row, infra=known["infracommunal"].astype(bool) & whole_row)
        .groupby(["code_insee", "cpts"], sort=False)[["whole", "infra"]]
        .any()
        .reset_index()
    )
    per = claims.groupby("code_insee", sort=False).agg(
        n=("cpts", "size"), n_whole=("whole", "sum"), n_infra=("infra", "sum")
    )
    split_by_arr = set(per.index[per["n_whole"] == 0])
    multi = per[per["n"] >= 2]
    territories = (
        claims[claims["code_insee"].isin(multi.index)].groupby("code_insee")["cpts"].agg(lambda s: sorted(set(s)))
    )
    names = dict(zip(multi.index, _names(multi.index, reference)))

    def finding(code: str, kind: str) -> dict:
        return {"code_insee": code, "name": names[code], "territories": territories[code], "kind": kind}

    # a commune listed whole in one territory and by arrondissement in another stays a conflict
    all_arr = multi["n_whole"] == 0
    out = [
        finding(code, INFRACOMMUNAL if n_infra == n else CONFLICT)
        for code, n, n_infra in zip(multi.index[~all_arr], multi["n"][~all_arr], multi["n_infra"][~all_arr])
    ]
    # PLM communes listed by arrondissement only: check at arrondissement level.
    arr_communes = multi.index[all_arr]
    arr_rows = known[known["code_insee"].isin(arr_communes) & ~whole_row]
    per_arr = arr_rows.groupby("arrondissement")["cpts"].agg(lambda s: sorted(set(s)))
    shared = per_arr[per_arr.map(len) >= 2]
    conflicted = set(arr_rows.loc[arr_rows["arrondissement"].isin(shared.index), "code_insee"])
    out += [
        {"code_insee": arr, "name": name, "territories": terr, "kind": CONFLICT}
        for arr, terr, name in zip(shared.index, shared, _names(shared.index, reference))
    ]
    out += [finding(code, ARRONDISSEMENT_SPLIT) for code in arr_communes if code not in conflicted]
    out.sort(key=lambda d: d["code_insee"])
    return out, split_by_arr


def _uncovered_arrondissements(known: pd.DataFrame, split_by_arr: set[str], reference: Reference) -> list[dict]:
    """Arrondissements municipaux in no territory, of the PLM communes listed by arrondissement only."""
    arr = reference.arrondissements
    claimed = set(known["arrondissement"].dropna())
    missing = arr[arr["commune_parente"].isin(split_by_arr) & ~arr.index.isin(claimed)].sort_index()
    return [
        {
            "code": code,
            "name": row["nom"],
            "population": json_int(row["population"]),
            "commune": row["commune_parente"],
            "commune_name": reference.communes["nom"].get(row["commune_parente"], row["commune_parente"]),
        }
        for code, row in missing.iterrows()
    ]


def _territory_records(table: pd.DataFrame, known: pd.DataFrame, reference: Reference) -> list[dict]:
    """Territory dicts from territory_table, with the names of communes split infra-communally."""
    split = known[known["infracommunal"].astype(bool) & known["arrondissement"].isna()]
    split_names = (
        split.drop_duplicates(["cpts", "code_insee"])
        .assign(nom=lambda d: d["code_insee"].map(reference.communes["nom"]))
        .groupby("cpts", sort=False)["nom"]
        .agg(list)
    )
    ints = ("population", "population_min", "population_max", "tier", "tier_min", "tier_max")
    records = []
    for row in table.itertuples(index=False):
        record = {
            "name": row.cpts,
            **{key: json_int(getattr(row, key)) for key in ints},
            "approximate": bool(row.approximate),
            "n_communes": int(row.n_communes),
            "departements": list(row.departements),
            "regions": list(row.regions),
            "split_communes": split_names.get(row.cpts, []) if row.approximate else [],
        }
        # an approximate population (bounds) that comes near a threshold cannot say whether it is near: None
        margin = tier_margin(record["population"])
        near = near_threshold(record["population_min"], record["population_max"])
        record["tier_margin"], record["tier_threshold"] = margin or (None, None)
        record["near_threshold"] = (near is not None) if margin is not None else (None if near else False)
        records.append(record)
    return records
