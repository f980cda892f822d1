"""Findings of a check about the shape of territories: pieces, islands, enclaves, what cannot be verified.

From the adjacency of the embedded commune geometry (or of the user's polygons), computed by
:func:`cpts_diag.checks.check_perimeters`; each finding is a JSON-ready dict.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.check_membership import _names, json_int
from cpts_diag.errors import InputError
from cpts_diag.reference import Reference
from cpts_diag.territories import unit_population


def _piece_labels(n_nodes: int, ea: np.ndarray, eb: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest node index) of each node, given edges ``ea``-``eb``.

    Vectorised min-label propagation with pointer jumping: each round is a few numpy operations over the edges;
    the number of rounds grows with the diameter of the pieces (logarithmically thanks to pointer jumping, in
    practice a handful).
    """
    labels = np.arange(n_nodes)
    ea, eb = np.asarray(ea, dtype=np.int64), np.asarray(eb, dtype=np.int64)
    while True:
        low = np.minimum(labels[ea], labels[eb])
        new = labels.copy()
        np.minimum.at(new, labels[ea], low)  # hook the roots of both ends onto the smaller label
        np.minimum.at(new, labels[eb], low)
        while True:  # pointer jumping to the roots
            jumped = new[new]
            if np.array_equal(jumped, new):
                break
            new = jumped
        if np.array_equal(new, labels):
            return labels
        labels = new


_NO_LINKS = pd.DataFrame({"a": [], "b": []}, dtype=str)


@dataclass
class _Adjacency:
    """What the contiguity and enclave checks need, from the embedded data or from user polygons.

    ``pairs``: adjacency (columns a, b); ``near``, ``across``, ``possible``: the links ``proche``,
    ``mer_ou_etranger`` and ``possible`` of :mod:`cpts_diag.commune_geo`; ``without_polygon``: units whose
    adjacency is unknown; ``exposed``: units touching the sea or a national border (None: decided from
    ``polygons`` instead); ``land_mass``: code -> land mass (None when unknown); ``by_arrondissement``: Paris, Lyon,
    Marseille units are their arrondissements; ``borders``: shared border (a, b, km) of the ``pairs`` (None when
    unknown: user polygons).
    """

    pairs: pd.DataFrame
    without_polygon: set
    land_mass: pd.Series | None
    near: pd.DataFrame = field(default_factory=_NO_LINKS.copy)
    across: pd.DataFrame = field(default_factory=_NO_LINKS.copy)
    possible: pd.DataFrame = field(default_factory=_NO_LINKS.copy)
    exposed: set | None = None
    by_arrondissement: bool = False
    polygons: object = None
    borders: pd.DataFrame | None = None


def _embedded_adjacency(notes: list[str]) -> _Adjacency | None:
    """The embedded national adjacency, or None (with a note) when the data were not built."""
    from cpts_diag.commune_geo import ACROSS, CONTACT, NEAR, POSSIBLE, load_commune_geo

    try:
        geo = load_commune_geo()
    except (InputError, FileNotFoundError):
        notes.append(
            "contrôles géométriques non effectués : contiguïté des communes embarquée absente "
            "(lancez « cpts-diag data build »)"
        )
        return None
    masses = geo.units["masse_terrestre"]
    return _Adjacency(
        pairs=geo.links(CONTACT),
        near=geo.links(NEAR),
        across=geo.links(ACROSS),
        possible=geo.links(POSSIBLE),
        without_polygon=geo.without_polygon,
        exposed=set(geo.units.index[geo.exposed]),
        land_mass=masses[masses != ""],
        by_arrondissement=True,
        borders=geo.borders(),
    )


def _user_adjacency(polygons, relevant: pd.Index, tolerance_m: float, notes: list[str]) -> _Adjacency | None:
    """Adjacency of user polygons (communes of the study area and of the territories)."""
    from cpts_diag.geometry import adjacency_pairs

    sub = polygons[polygons["code_insee"].astype(str).isin(relevant).to_numpy()]
    sub = sub[~sub["code_insee"].astype(str).duplicated()]
    with_polygon = pd.Index(sub["code_insee"].astype(str))
    if len(with_polygon) == 0:
        notes.append(
            "contrôles géométriques non effectués : les contours fournis ne couvrent aucune "
            "commune de la zone d'étude ni des territoires"
        )
        return None
    missing = relevant.difference(with_polygon)
    if len(missing):
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        notes.append(
            f"{fr.integer(len(missing))} commune(s) sans polygone dans les contours fournis : "
            f"continuité et enclaves non vérifiables autour d'elles ({shown})"
        )
    land = None
    with contextlib.suppress(InputError, FileNotFoundError):  # land masses are optional here
        from cpts_diag.commune_geo import load_commune_geo

        masses = load_commune_geo().units["masse_terrestre"]
        land = masses[masses != ""]
    return _Adjacency(
        pairs=adjacency_pairs(sub, tolerance_m=tolerance_m), without_polygon=set(missing), land_mass=land, polygons=sub
    )


def _proposal_links(adj: _Adjacency, known: pd.DataFrame, reference: Reference, codes: set[str]) -> pd.DataFrame:
    """The links between units (a, b, lien, km: shared border of a contact, NaN when unknown) that have one end
    in ``codes``, for the proposals."""
    from cpts_diag.commune_geo import ACROSS, CONTACT, NEAR, POSSIBLE

    frames = []
    for kind, links in ((CONTACT, adj.pairs), (NEAR, adj.near), (ACROSS, adj.across), (POSSIBLE, adj.possible)):
        links = links[links["a"].isin(codes) | links["b"].isin(codes)]
        links = _unit_pairs(links, known, reference) if adj.by_arrondissement else links
        frames.append(links[["a", "b"]].assign(lien=kind))
    out = pd.concat(frames, ignore_index=True).drop_duplicates(["a", "b"])
    if adj.borders is not None:
        return out.merge(adj.borders, on=["a", "b"], how="left")
    return out.assign(km=np.nan)


def _units(known: pd.DataFrame, by_arrondissement: bool) -> pd.DataFrame:
    """(cpts, unit) rows: the arrondissement municipal when listed (and supported), else the commune."""
    unit = known["arrondissement"].fillna(known["code_insee"]) if by_arrondissement else known["code_insee"]
    return (
        pd.DataFrame({"cpts": known["cpts"].to_numpy(), "code_insee": unit.astype(str).to_numpy()})
        .drop_duplicates()
        .reset_index(drop=True)
    )


def _unit_pairs(pairs: pd.DataFrame, known: pd.DataFrame, reference: Reference) -> pd.DataFrame:
    """Pairs of the graph whose nodes are the units: a PLM commune listed only by arrondissement is
    replaced by its arrondissements; the arrondissements of the other PLM communes are left out."""
    by_arr = set(known.loc[known["arrondissement"].notna(), "code_insee"])
    whole = set(known.loc[known["arrondissement"].isna(), "code_insee"])
    parent = reference.arrondissements["commune_parente"]
    drop_commune = by_arr - whole
    keep_arr = set(parent.index[parent.isin(by_arr)])

    def allowed(col: pd.Series) -> np.ndarray:
        return (~col.isin(drop_commune) & (~col.isin(parent.index) | col.isin(keep_arr))).to_numpy()

    return pairs[allowed(pairs["a"]) & allowed(pairs["b"])]


def _territory_pieces(units: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Number of connected pieces of every territory (vectorised over all territories)."""
    nodes = units.assign(node=np.arange(len(units)))
    intra = pairs.merge(nodes.rename(columns={"code_insee": "a", "node": "ea"}), on="a").merge(
        nodes.rename(columns={"code_insee": "b", "node": "eb"}), on=["b", "cpts"]
    )
    labels = _piece_labels(len(units), intra["ea"].to_numpy(), intra["eb"].to_numpy())
    return units.assign(label=labels).groupby("cpts", sort=False)["label"].nunique()


def _apart_only_by(pieces: list[list[str]], links: pd.DataFrame, land_mass: pd.Series | None) -> bool:
    """True when the pieces, joined by ``links``, lie each on a land mass of its own.

    Pieces on different land masses (an island and the mainland) are apart by the sea only; so are
    pieces joined by a link across the sea or a foreign salient. Without land masses, only links count.
    """
    from cpts_diag.geometry import components

    label = {c: i for i, piece in enumerate(pieces) for c in piece}
    edges = pd.DataFrame({"a": links["a"].map(label).astype(str), "b": links["b"].map(label).astype(str)})
    groups = components([str(i) for i in range(len(pieces))], edges)
    if land_mass is None:
        return len(groups) == 1
    masses = [{land_mass.get(pieces[int(i)][0]) for i in group} for group in groups]
    # every mass known, and no mass shared by two groups
    return not any(None in m for m in masses) and sum(map(len, masses)) == len(set().union(*masses))


def _geometric_findings(
    adj: _Adjacency,
    known: pd.DataFrame,
    orphans: pd.Index,
    uncovered_arr: list[str],
    outside: pd.Index,
    reference: Reference,
    tolerance_m: float,
) -> dict:
    """Discontiguous territories, territories with islands, enclaves, what cannot be verified, and the
    territories that each orphan unit and each commune outside the file touches (``touching``)."""
    from cpts_diag.geometry import components, find_enclaves

    def unverifiable_record(check: str, territory, codes: list[str]) -> dict:
        return {"check": check, "territory": territory, "communes": codes, "names": _names(codes, reference)}

    units = _units(known, adj.by_arrondissement)
    pairs, near, across = (
        _unit_pairs(links, known, reference) if adj.by_arrondissement else links
        for links in (adj.pairs, adj.near, adj.across)
    )
    pop = unit_population(reference)

    blind = units[units["code_insee"].isin(adj.without_polygon)]
    unverifiable = [
        unverifiable_record("continuité", territory, sorted(set(codes)))
        for territory, codes in blind.groupby("cpts", sort=True)["code_insee"]
    ]

    n_pieces = _territory_pieces(units, pairs)
    discontiguous, islands = [], []
    for territory in n_pieces.index[(n_pieces > 1) & ~n_pieces.index.isin(blind["cpts"])]:
        nodes = units.loc[units["cpts"] == territory, "code_insee"].tolist()

        def inside(df: pd.DataFrame, nodes: list = nodes) -> pd.DataFrame:
            return df[df["a"].isin(nodes) & df["b"].isin(nodes)]

        comps = components(nodes, inside(pairs))
        record = {
            "territory": territory,
            "n_pieces": len(comps),
            "pieces": comps,
            "piece_names": [_names(c, reference) for c in comps],
            "piece_populations": [json_int(pop.reindex(c).sum()) for c in comps],
        }
        if _apart_only_by(comps, inside(across), adj.land_mass):
            islands.append(record)
        elif _apart_only_by(comps, pd.concat([inside(across), inside(near)]), adj.land_mass):
            apart = sorted(c for piece in comps[1:] for c in piece)
            why = "morceaux distants de moins de 300 m : contours simplifiés trop imprécis pour trancher"
            unverifiable.append({**unverifiable_record("continuité", territory, apart), "why": why})
        else:
            discontiguous.append(record)
    discontiguous.sort(key=lambda d: d["territory"])
    islands.sort(key=lambda d: d["territory"])

    # Enclaves: groups of orphan units surrounded by one territory, away from the sea and borders.
    first = units.sort_values(["code_insee", "cpts"]).drop_duplicates("code_insee")
    membership = dict(zip(first["code_insee"], first["cpts"]))
    orphan_units = list(orphans) + (list(uncovered_arr) if adj.by_arrondissement else [])
    uncertain = adj.without_polygon | set(adj.possible["a"]) | set(adj.possible["b"])
    enclaves = []
    neighbours = pd.concat([pairs, near])
    found = find_enclaves(orphan_units, membership, neighbours, gdf=adj.polygons, tolerance_m=tolerance_m)
    if adj.polygons is not None and adj.without_polygon:
        # a boundary next to a missing polygon cannot be checked: such candidates are undecided
        confirmed = [f["communes"] for f in found]
        for item in find_enclaves(orphan_units, membership, neighbours, gdf=None):
            if item["communes"] not in confirmed:
                found.append({**item, "undecided": True})
    for item in found:
        group = list(item["communes"])
        if adj.exposed is not None and adj.exposed.intersection(group):
            continue
        blind_others = {c for c in adj.without_polygon if membership.get(c) != item["territory"]}
        if item.get("undecided") or uncertain.intersection(group) or (adj.possible.empty and blind_others):
            unverifiable.append(unverifiable_record("enclave", item["territory"], group))
            continue
        enclaves.append(
            {
                "territory": item["territory"],
                "communes": group,
                "names": _names(group, reference),
                "population": json_int(pop.reindex(group).sum()),
            }
        )
    # an orphan without polygon is undecided when it may touch a territory (or exposure is unknown)
    possible = pd.concat([adj.possible, adj.possible.rename(columns={"a": "b", "b": "a"})])
    unverifiable += [
        unverifiable_record("enclave", None, [code])
        for code in sorted(set(orphan_units) & adj.without_polygon)
        if adj.exposed is None or set(possible.loc[possible["a"] == code, "b"]) & set(membership)
    ]
    # communes outside the file surrounded by one territory: the file does not say whether another CPTS
    # holds them, so neither an enclave nor nothing
    outside = list(outside)
    near_outside = neighbours[neighbours["a"].isin(outside) | neighbours["b"].isin(outside)]
    for item in find_enclaves(outside, membership, near_outside, gdf=adj.polygons, tolerance_m=tolerance_m):
        group = list(item["communes"])
        if adj.exposed is not None and adj.exposed.intersection(group):
            continue
        why = (
            f"communes hors fichier entourées par {item['territory']} : le fichier ne dit pas si une autre CPTS "
            "les couvre (déclarez leur département dans la zone d'étude pour trancher)"
        )
        unverifiable.append(
            {**unverifiable_record("enclave", item["territory"], group), "why": why, "outside_file": True}
        )

    # territories touched by each orphan unit and commune outside the file
    both = pd.concat([pairs, pairs.rename(columns={"a": "b", "b": "a"})])
    around = both[both["a"].isin(set(orphan_units) | set(outside))].merge(
        units.rename(columns={"code_insee": "b"}), on="b"
    )
    touching = around.groupby("a")["cpts"].agg(lambda s: sorted(set(s))).to_dict()
    return {
        "discontiguous": discontiguous,
        "island_territories": islands,
        "enclaves": enclaves,
        "unverifiable": unverifiable,
        "touching": touching,
    }
