"""Proposals of a perimeter check: for each orphan and each conflict, the territories that could take it.

A proposal never changes a file: it lists the options, ranked, with what each would make of the populations and
ACI tiers of the territories concerned; the chargé de mission decides (``cpts-diag simulate`` tries a change and
writes the corrected file). :func:`build_proposals` is called by :func:`cpts_diag.checks.check_perimeters`; the
proposals are the ``proposals`` key of the check's JSON document.

Kinds (``kind``):

* ``"orphan"``: an orphan commune of the study area, or an uncovered arrondissement municipal of Paris, Lyon or
  Marseille (``unit``: ``"commune"`` / ``"arrondissement"``). Candidates: the territories it touches, else the
  nearest ones (:data:`RANKING_RULE`). Communes outside the file (``outside_file``) are not orphans and get no
  proposal;
* ``"enclave"``: a group of orphan communes surrounded by one territory: the whole group to that territory;
* ``"overlap"``: a commune (or arrondissement) that several territories claim in conflict. The options are the
  claiming territories, each keeping it while the others give it up, with every claiming territory's population
  and tier after the option (``territories_after``).

Each candidate (option) carries ``rank``, ``territory``, ``link`` (best adjacency link with the territory:
``contact``, ``proche``, ``mer_ou_etranger``, ``possible``, None when not adjacent), ``distance`` (links to
cross: 1 for a neighbour; None for an overlap's territory that the commune does not touch), ``border_km``
(shared border with the territory, None when unknown), ``same_epci``, ``same_bassin_de_vie``, ``reasons``
(French), and the territory's ``population_after`` (None when approximate), ``population_after_min``,
``population_after_max``, ``tier_before``, ``tier_after`` (None when undetermined), ``tier_after_min``,
``tier_after_max``, ``tier_changes``, ``tier_margin_after`` and ``near_threshold_after`` (:mod:`cpts_diag.tiers`;
None when approximate bounds come near a threshold). Populations follow the check's rules (populations légales
2023, bounds for communes split infra-communally, arrondissements as units).
"""

from __future__ import annotations

from collections import deque

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.check_membership import json_int
from cpts_diag.reference import Reference
from cpts_diag.territories import unit_population
from cpts_diag.tiers import near_threshold, tier_margin, tiers_of

#: Adjacency links, strongest first (:mod:`cpts_diag.commune_geo`).
LINK_ORDER = ("contact", "proche", "mer_ou_etranger", "possible")

RANKING_RULE = (
    "candidats classés : d'abord les territoires limitrophes (contours à moins de 100 m), puis les voisins "
    "incertains (100 à 300 m, face à face par la mer, commune sans contour) ; pour une commune qu'aucun territoire "
    "ne touche, les plus proches en nombre de communes sans CPTS à traverser ; à égalité, ceux du même bassin de "
    "vie et du même EPCI d'abord (un point chacun), puis la plus longue frontière commune, puis le nom. Une "
    "proposition ne modifie pas le fichier : le chargé de mission décide (cpts-diag simulate pour l'essayer)"
)

_LINK_TEXT = {
    "proche": "voisin à 100–300 m (contiguïté incertaine)",
    "mer_ou_etranger": "en face, par la mer ou l'étranger",
    "possible": "voisin possible (commune sans contour)",
}


def candidate_state(population_min, population_max, approximate: bool, record: dict) -> dict:
    """The ``*_after`` keys of a candidate: territory ``record`` (a check territory record) with these population
    bounds (``approximate``: a commune split infra-communally, the population is known by its bounds only).

    Examples
    --------
    >>> before = {"tier": 2, "tier_min": 2, "tier_max": 2}
    >>> s = candidate_state(82_471, 82_471, False, before)
    >>> s["population_after"], s["tier_after"], s["tier_changes"], s["tier_margin_after"], s["near_threshold_after"]
    (82471, 3, True, 2471, True)
    """
    lo, hi = json_int(population_min), json_int(population_max)
    tmin, tmax = (None if v is None else int(tiers_of([v])[0]) for v in (lo, hi))
    tier = tmin if tmin == tmax else None
    population = None if approximate or hi is None else hi
    margin = tier_margin(population)
    near = near_threshold(lo, hi) is not None
    return {
        "population_after": population,
        "population_after_min": lo,
        "population_after_max": hi,
        "tier_before": record["tier"],
        "tier_after": tier,
        "tier_after_min": tmin,
        "tier_after_max": tmax,
        "tier_changes": (record["tier_min"], record["tier_max"]) != (tmin, tmax),
        "tier_margin_after": None if margin is None else margin[0],
        "near_threshold_after": near if margin is not None else (None if near else False),
    }


def _added(record: dict, population) -> dict:
    """The state of a territory (check record) that takes ``population`` more inhabitants."""
    delta = 0 if fr.is_missing(population) else population
    lo, hi = record["population_min"], record["population_max"]
    return candidate_state(
        None if lo is None else lo + delta, None if hi is None else hi + delta, record["approximate"], record
    )


def _without(units: pd.DataFrame, record: dict, code: str) -> dict:
    """The state of a territory (check record; ``units``: its population units,
    :func:`cpts_diag.territories.population_units`) that gives up ``code``: a commune (whole, infra-communal, or by
    its arrondissements) or an arrondissement."""
    gone = units[(units["code_insee"] == code) | (units["unit"] == code)]
    high = record["population_max"] - gone["population"].sum()
    low = record["population_min"] - gone.loc[~gone["infracommunal"].astype(bool), "population"].sum()
    return candidate_state(low, high, round(low) != round(high), record)


def _unit_attributes(codes, reference: Reference) -> pd.DataFrame:
    """EPCI (siren) and bassin de vie of units (communes, or arrondissements through their commune)."""
    from cpts_diag.indicator_data import load_bassins_de_vie

    codes = pd.Index(pd.unique(np.asarray(list(codes), dtype=object)))
    commune = pd.Series(codes, index=codes)
    commune = commune.map(reference.arrondissements["commune_parente"]).fillna(commune)
    return pd.DataFrame(
        {
            "epci": commune.map(reference.communes["epci_siren"]).replace("", pd.NA),
            "bv": commune.map(load_bassins_de_vie()["bv2022"]),
        },
        index=codes,
    )


def _departement(code: str, reference: Reference) -> str | None:
    """Département of a commune or arrondissement code."""
    parent = reference.arrondissements["commune_parente"].get(code, code)
    return reference.communes["departement"].get(parent)


def _neighbours(codes, links: pd.DataFrame, units: pd.DataFrame) -> pd.DataFrame:
    """(code, cpts, link rank, border km) of each territory that a unit of ``codes`` touches."""
    near = links[links["a"].isin(set(codes))].merge(units.rename(columns={"code_insee": "b"}), on="b")
    near = near.assign(rank=near["lien"].map({k: i for i, k in enumerate(LINK_ORDER)}).astype(int))
    return (
        near.groupby(["a", "cpts"], sort=False)
        .agg(rank=("rank", "min"), km=("km", lambda s: s.sum(min_count=1)))
        .reset_index()
        .rename(columns={"a": "code"})
    )


def _nearest(targets: list[str], links: pd.DataFrame, units: pd.DataFrame, passable: set[str]) -> dict:
    """Code -> (hops, territories at that distance) for the ``targets`` that no territory touches, through units
    in no territory (``passable``): a breadth-first search from the units next to a territory."""
    if not targets:
        return {}
    inner = links[links["a"].isin(passable) & links["b"].isin(passable)]
    graph: dict[str, list[str]] = {}
    for a, b in zip(inner["a"].to_numpy(dtype=object), inner["b"].to_numpy(dtype=object)):
        graph.setdefault(a, []).append(b)
    edge = links[links["a"].isin(passable)].merge(units.rename(columns={"code_insee": "b"}), on="b")
    near: dict[str, set[str]] = {}
    for a, territory in zip(edge["a"].to_numpy(dtype=object), edge["cpts"].to_numpy(dtype=object)):
        near.setdefault(a, set()).add(territory)
    dist = dict.fromkeys(near, 1)
    queue = deque(sorted(near))
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, ()):
            if nxt not in dist:
                dist[nxt] = dist[node] + 1
                near[nxt] = set(near[node])
                queue.append(nxt)
            elif dist[nxt] == dist[node] + 1:
                near[nxt] |= near[node]
    return {code: (dist[code], sorted(near[code])) for code in targets if code in dist}


def _reasons(row: dict) -> list[str]:
    out = []
    if row["link"] == "contact":
        km = row["border_km"]
        if km is None:
            out.append("limitrophe")
        elif km >= 0.05:
            out.append(f"limitrophe : frontière commune de {fr.number(km, 1)}\u00a0km")
        else:
            out.append("limitrophe (contact en un point)")
    elif row["link"] is not None:
        out.append(_LINK_TEXT[row["link"]])
    elif row["distance"] is None:  # an overlap's commune and a territory it does not touch
        out.append("ne touche aucune autre commune du territoire : y resterait isolée")
    else:
        n = row["distance"] - 1
        out.append(f"non limitrophe : {n} commune{'s' if n > 1 else ''} sans CPTS entre les deux")
    if row["same_bassin_de_vie"]:
        out.append(f"même bassin de vie ({row['_bv_name']})")
    if row["same_epci"]:
        out.append(f"même EPCI ({row['_epci_name']})")
    return out


def _ranked(rows: list[dict]) -> list[dict]:
    """Candidates sorted by :data:`RANKING_RULE`, numbered, private keys dropped."""

    def key(r):
        link = LINK_ORDER.index(r["link"]) if r["link"] is not None else len(LINK_ORDER)
        points = int(r["same_bassin_de_vie"]) + int(r["same_epci"])
        distance = r["distance"] if r["distance"] is not None else np.inf
        return (link, distance, -points, -(r["border_km"] or 0.0), r["territory"])

    ranked = enumerate(sorted(rows, key=key), start=1)
    return [{"rank": rank, **{k: v for k, v in r.items() if not k.startswith("_")}} for rank, r in ranked]


class _Context:
    """What the candidates of every proposal are computed from (one check)."""

    def __init__(self, territories, units, links, reference):
        self.records = {t["name"]: t for t in territories}
        self.units = units
        self.reference = reference
        self.population = unit_population(reference)
        attributes = _unit_attributes(pd.concat([units["code_insee"], links["a"]]), reference)
        self.epci_of = attributes["epci"].dropna().to_dict()
        self.bv_of = attributes["bv"].dropna().to_dict()
        member_attr = units.join(attributes, on="code_insee")
        self.territory_epci = _sets(member_attr, "epci")
        self.territory_bv = _sets(member_attr, "bv")

    def candidate(self, codes: list[str], territory: str, link_rank, distance: int | None, km, others_of=None) -> dict:
        """A candidate and its reasons (``others_of``: the territory's own units to compare with, for an overlap)."""
        epci_set = self.territory_epci.get(territory, set()) if others_of is None else others_of[0]
        bv_set = self.territory_bv.get(territory, set()) if others_of is None else others_of[1]
        epci = next((self.epci_of[c] for c in codes if self.epci_of.get(c) in epci_set), None)
        bv = next((self.bv_of[c] for c in codes if self.bv_of.get(c) in bv_set), None)
        row = {
            "territory": territory,
            "link": None if link_rank is None else LINK_ORDER[int(link_rank)],
            "distance": None if distance is None else int(distance),
            "border_km": None if km is None or fr.is_missing(km) else round(float(km), 3),
            "same_epci": epci is not None,
            "same_bassin_de_vie": bv is not None,
            "_epci_name": None if epci is None else str(self.reference.epci["nom"].get(epci, epci)),
            "_bv_name": None if bv is None else str(self.reference.names.get(bv, bv)),  # named after its centre
        }
        return {**row, "reasons": _reasons(row)}


def _sets(frame: pd.DataFrame, column: str) -> dict[str, set]:
    """Territory -> the set of values of ``column`` of its units."""
    pairs = frame[["cpts", column]].dropna().drop_duplicates()
    return {name: set(group) for name, group in pairs.groupby("cpts", sort=False)[column]}


def build_proposals(
    territories: list[dict],
    units: pd.DataFrame,
    population: pd.DataFrame,
    orphans: list[dict],
    enclaves: list[dict],
    conflicts: list[dict],
    links: pd.DataFrame,
    passable: set[str],
    reference: Reference,
) -> list[dict]:
    """The proposals of a check: conflicting overlaps first, then orphans (by code), then enclaves.

    ``territories``: the check's territory records; ``units``: (cpts, code_insee) of every territory's units (the
    arrondissements of Paris, Lyon, Marseille where the adjacency has them); ``population``: the population units
    of the territories (:func:`cpts_diag.territories.population_units`, as the check counts them); ``orphans``:
    orphan communes and uncovered arrondissements (code_insee, name, population, departement, unit); ``enclaves``
    and ``conflicts``: the check's findings; ``links``: unit adjacency (a, b, lien, km: shared border, NaN when
    unknown); ``passable``: units in no territory, through which the nearest territories of an orphan that touches
    none are searched.
    """
    links = pd.concat([links, links.rename(columns={"a": "b", "b": "a"})], ignore_index=True)
    ctx = _Context(territories, units, links, reference)
    # the territories each orphan, enclave commune and conflict touches, in one join
    codes = [o["code_insee"] for o in orphans] + [c for e in enclaves for c in e["communes"]]
    touching = _neighbours(codes + [c["code_insee"] for c in conflicts], links, units)
    by_code = {code: group for code, group in touching.groupby("code", sort=False)}
    claimed = set().union(*(c["territories"] for c in conflicts)) if conflicts else set()
    units_of = dict(list(population.loc[population["cpts"].isin(claimed)].groupby("cpts", sort=False)))
    out = [_overlap(c, ctx, units_of, by_code.get(c["code_insee"], touching.iloc[0:0])) for c in conflicts]

    alone = [o["code_insee"] for o in orphans if o["code_insee"] not in by_code]
    nearest = _nearest(alone, links, units, passable)
    for o in orphans:
        code = o["code_insee"]
        if code in by_code:
            g = by_code[code]
            rows = [ctx.candidate([code], t, r, 1, km) for t, r, km in zip(g["cpts"], g["rank"], g["km"])]
        elif code in nearest:
            hops, names = nearest[code]
            rows = [ctx.candidate([code], t, None, hops, None) for t in names]
        else:
            rows = []
        candidates = [{**r, **_added(ctx.records[r["territory"]], o["population"])} for r in rows if r["territory"]]
        proposal = {
            "kind": "orphan",
            "unit": o.get("unit", "commune"),
            "code_insee": code,
            "codes": [code],
            "name": o["name"],
            "population": o["population"],
            "departement": o.get("departement"),
            "candidates": _ranked(candidates),
        }
        if not rows:
            proposal["note"] = "aucun territoire voisin, ni joignable par des communes sans CPTS"
        out.append(proposal)

    for e in enclaves:
        territory = e["territory"]
        touch = touching[touching["code"].isin(e["communes"]) & (touching["cpts"] == territory)]
        rank, km = (touch["rank"].min(), touch["km"].sum(min_count=1)) if len(touch) else (None, None)
        row = ctx.candidate(list(e["communes"]), territory, rank, 1, km)
        row["reasons"].insert(0, f"groupe entouré par {territory}")
        out.append(
            {
                "kind": "enclave",
                "unit": "commune",
                "code_insee": None,
                "codes": list(e["communes"]),
                "name": ", ".join(e["names"]),
                "population": e["population"],
                "departement": _departement(e["communes"][0], ctx.reference),
                "candidates": _ranked([{**row, **_added(ctx.records[territory], e["population"])}]),
            }
        )
    return out


def _overlap(conflict: dict, ctx: _Context, units_of: dict[str, pd.DataFrame], touch: pd.DataFrame) -> dict:
    """The options of a conflicting overlap: each claiming territory keeps it, the others give it up (``units_of``:
    territory -> its population units; ``touch``: the territories the commune touches)."""
    code = conflict["code_insee"]
    claiming = list(conflict["territories"])
    touch = touch.set_index("cpts")
    states = {}
    for t in claiming:
        record = ctx.records[t]
        states[t] = {
            "keeps": candidate_state(record["population_min"], record["population_max"], record["approximate"], record),
            "gives_up": _without(units_of[t], record, code),
        }
    options = []
    for t in claiming:
        own = ctx.units.loc[(ctx.units["cpts"] == t) & (ctx.units["code_insee"] != code), "code_insee"]
        others_of = ({ctx.epci_of.get(c) for c in own} - {None}, {ctx.bv_of.get(c) for c in own} - {None})
        rank, km = (touch.at[t, "rank"], touch.at[t, "km"]) if t in touch.index else (None, None)
        row = ctx.candidate([code], t, rank, None if rank is None else 1, km, others_of=others_of)
        after = [{"territory": u, "keeps": u == t, **states[u]["keeps" if u == t else "gives_up"]} for u in claiming]
        options.append({**row, **states[t]["keeps"], "territories_after": after})
    return {
        "kind": "overlap",
        "unit": "arrondissement" if code in ctx.reference.arrondissements.index else "commune",
        "code_insee": code,
        "codes": [code],
        "name": conflict["name"],
        "population": json_int(ctx.population.get(code)),
        "departement": _departement(code, ctx.reference),
        "candidates": _ranked(options),
    }
