"""Perimeter checks: codes, duplicates, overlaps, orphans, enclaves, contiguity, populations.

:func:`check_perimeters` takes perimeters as read by :func:`cpts_diag.io.perimeters.read_perimeters`
and returns a :class:`CheckReport` of structured findings;
:func:`cpts_diag.outputs.check_outputs.format_text` renders it as a French summary for the terminal and
:meth:`CheckReport.to_dict` as the JSON document of ``cpts-diag check --json``.

Rules
-----
* **Codes**: a code in no COG vintage known to the project is *unknown* (blocking); a former code
  (merged commune, commune déléguée or associée) is *outdated*: reported, then treated as the
  current commune, so a territory listing both is reported as a *duplicate after mapping*.
* **Overlaps**: a commune claimed by two territories or more is

  - ``"infracommunal"`` when every territory claiming it declares it split infra-communally;
  - ``"arrondissement"`` for Paris, Lyon or Marseille listed by arrondissement municipal, as long
    as no arrondissement is in two territories (an informational split);
  - ``"conflict"`` otherwise: an arrondissement in two territories (``code_insee`` is then the
    arrondissement), a PLM commune listed whole in one territory and by arrondissement in another,
    or any other multiple claim. Conflicts are blocking.

* **Names**: where the table has a ``nom_commune`` column (the name typed in the file), each name is
  compared with the COG names of its code (:func:`cpts_diag.text.commune_key`: accents, case, hyphens,
  « St », articles ignored; for a former code, the former commune's name is accepted too; an
  arrondissement municipal may be written « Marseille 4e », « Paris XVe »...). A name that is another
  commune's, or no commune's and not a spelling variant of the code's name, is a *name mismatch*: not
  blocking (the code is valid), but the diagnosis may describe another commune than the one meant.
* **Orphans**: current communes of the study area in no territory. The study area is made of the
  départements of ``regions`` and the ``departements`` given; by default, the départements whose
  communes the file lists for more than half (:data:`STUDY_AREA_SHARE`): a regional listing covers
  nearly all of its départements (PACA: 901 communes of 946), a coordinator's file of one or two
  CPTS a small part of one, and only the former can say that a commune has no CPTS. The check of a
  région's ARS view (:func:`check_region`) takes the région when it is declared or when the file covers
  it for the most part, else the default départements that lie in it (:data:`REGION_VIEW_RULE`).
  Communes of the other départements the file touches, in no territory, are *outside the file*
  (``outside_file``): information, never orphans. A PLM commune covered by some of its arrondissements is not an
  orphan: its missing arrondissements are *uncovered arrondissements*.
* **Geometry**, anywhere in France, from the embedded national adjacency (communes within 100 m
  of each other, Paris, Lyon and Marseille by arrondissement; :mod:`cpts_diag.commune_geo`) or from
  the user's own polygons (``geometries``):

  - *discontiguous* territories: several pieces on one land mass. Pieces that each lie on their
    own land mass (an island commune with its mainland neighbours: Ouessant, Ré, Belle-Île...) are
    separated by the sea only: reported as information (``island_territories``), not as a problem;
  - *enclaves*: groups of orphan units (communes, uncovered arrondissements) whose neighbours all
    belong to one territory and that touch neither the sea nor a national border; such a group of
    communes outside the file is *non vérifiable* (the file does not say whether another CPTS holds it);
  - *non vérifiable* (``unverifiable``): a territory with a member without polygon, or a candidate
    enclave next to one, is never called discontinuous or an enclave: it is listed, with the
    communes that prevent the check.

* **Tier margins**: every territory record carries ``tier_margin`` (signed inhabitants from the nearest ACI
  threshold), ``tier_threshold`` and ``near_threshold`` (within 5 % of a threshold: :mod:`cpts_diag.tiers`).
* **Proposals** (:mod:`cpts_diag.proposals`): for each orphan (commune of the study area, uncovered
  arrondissement), enclave and conflicting overlap, the territories that could take it, ranked, with their
  populations and tiers after; only when the geometric checks ran (they need the adjacency).

Everything is vectorised over communes; loops run over territories or findings only.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.errors import InputError
from cpts_diag.proposals import RANKING_RULE, build_proposals
from cpts_diag.reference import (
    FORMER,
    POPULATION_SOURCE,
    UNKNOWN,
    Reference,
    load_reference,
)
from cpts_diag.territories import (
    population_units,
    region_coverage,
    resolve_members,
    territories_in_region,
    territory_table,
)
from cpts_diag.text import arrondissement_key, commune_keys
from cpts_diag.tiers import TIER_RULE, near_threshold, tier_margin

__all__ = [
    "ARRONDISSEMENT_SPLIT",
    "CONFLICT",
    "FINDING_KINDS",
    "INFRACOMMUNAL",
    "REGION_VIEW_RULE",
    "STUDY_AREA_SHARE",
    "CheckReport",
    "check_perimeters",
    "check_region",
    "territory_findings",
]

INFRACOMMUNAL, ARRONDISSEMENT_SPLIT, CONFLICT = "infracommunal", "arrondissement", "conflict"

#: Keys of the list-valued findings of a report, in display order.
FINDING_KINDS = (
    "overlaps",
    "name_mismatches",
    "orphans",
    "outside_file",
    "uncovered_arrondissements",
    "outdated_codes",
    "unknown_codes",
    "duplicates",
    "discontiguous",
    "island_territories",
    "enclaves",
    "unverifiable",
    "multi_departement",
)

#: Default study area: the départements whose communes the file lists for more than this share.
STUDY_AREA_SHARE = 0.5
#: The study area of a région's ARS view (:func:`check_region`), as users read it (index, README, notebook 03).
#: Both shares are REGION_COVERAGE_SHARE and STUDY_AREA_SHARE (one half).
REGION_VIEW_RULE = (
    "zone d'étude d'une vue régionale : la région entière quand elle est déclarée (--region) ou quand le fichier "
    "contient plus de la moitié de ses communes et de sa population ; sinon, ses départements dont le fichier "
    "liste plus de la moitié des communes ; ailleurs, une commune absente du fichier est « hors fichier » (le "
    "fichier ne dit pas si elle a une CPTS), jamais orpheline"
)

_DEFAULT_GEOMETRY_SOURCE = (
    "contiguïté des communes : IGN ADMIN EXPRESS simplifié, codes COG 2026 (adjacence à 100 m calculée "
    "une fois, data/communes_adjacence_cog2026.csv, voir data/SOURCES.md)"
)


# --------------------------------------------------------------------------- report


@dataclass
class CheckReport:
    """Structured findings of :func:`check_perimeters`.

    Every list attribute holds plain dicts of JSON-ready values (str, int, float, bool, None,
    lists); see :meth:`to_dict` for their keys. ``members`` (resolved perimeter rows),
    ``polygons`` (the user's polygons as the check read and aligned them, never read
    again; or None), ``reference`` and ``touching`` (code of an orphan unit or of a commune outside the
    file -> sorted territories it touches, when the geometric checks ran) are kept for
    :func:`cpts_diag.outputs.check_outputs.write_check_outputs`, :func:`territory_findings` and the maps, and
    are not part of the JSON.
    """

    territories: list[dict] = field(default_factory=list)
    overlaps: list[dict] = field(default_factory=list)
    name_mismatches: list[dict] = field(default_factory=list)
    orphans: list[dict] = field(default_factory=list)
    outside_file: list[dict] = field(default_factory=list)
    uncovered_arrondissements: list[dict] = field(default_factory=list)
    outdated_codes: list[dict] = field(default_factory=list)
    unknown_codes: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)
    discontiguous: list[dict] = field(default_factory=list)
    island_territories: list[dict] = field(default_factory=list)
    enclaves: list[dict] = field(default_factory=list)
    unverifiable: list[dict] = field(default_factory=list)
    multi_departement: list[dict] = field(default_factory=list)
    proposals: list[dict] = field(default_factory=list)
    study_area: list[str] = field(default_factory=list)
    study_area_rule: str = ""
    geometry_checks: bool = False
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    source: str | None = None
    sources: list[str] = field(default_factory=list)
    members: pd.DataFrame | None = field(default=None, repr=False)
    polygons: object = field(default=None, repr=False)
    reference: object = field(default=None, repr=False)
    touching: dict = field(default_factory=dict, repr=False)

    @property
    def conflicts(self) -> list[dict]:
        """Overlaps of kind ``"conflict"``."""
        return [o for o in self.overlaps if o["kind"] == CONFLICT]

    @property
    def blocking(self) -> bool:
        """True when an unknown code or a conflict overlap exists."""
        return bool(self.unknown_codes) or bool(self.conflicts)

    @property
    def exit_code(self) -> int:
        """Exit code of ``cpts-diag check``: 1 when blocking, else 0."""
        return 1 if self.blocking else 0

    def map_polygons(self):
        """Commune polygons (EPSG:4326) for maps and the GeoPackage, or None.

        The user's polygons when the check used them; otherwise the embedded display polygons of
        the member communes, of the orphans of the study area, of the communes outside the file and of
        the arrondissements municipaux (listed or uncovered) of Paris, Lyon and Marseille.
        """
        if self.polygons is not None:
            return self.polygons
        if self.members is None or not self.geometry_checks:
            return None
        from cpts_diag.commune_geo import display_polygons

        codes = (
            set(self.members["code_insee"].dropna().astype(str))
            | {o["code_insee"] for o in self.orphans}
            | {o["code_insee"] for o in self.outside_file}
            | set(self.members["arrondissement"].dropna().astype(str))
            | {a["code"] for a in self.uncovered_arrondissements}
        )
        try:
            gdf = display_polygons(codes)
        except InputError:
            return None
        gdf = gdf.drop(columns="type").reset_index(drop=True)
        if self.reference is not None:
            gdf.insert(1, "nom", gdf["code_insee"].map(self.reference.names))
        return gdf

    def to_dict(self) -> dict:
        """The JSON document of ``cpts-diag check --json`` (plain Python values).

        Keys: ``territories`` (name, population, population_min, population_max, tier, tier_min,
        tier_max, approximate, n_communes, departements, regions, split_communes, tier_margin and tier_threshold:
        signed inhabitants from the nearest ACI threshold and that threshold, None when approximate;
        near_threshold: within 5 % of a threshold, None when approximate bounds come that near), ``overlaps``
        (code_insee, name, territories, kind), ``name_mismatches`` (line, territory, code_insee as given,
        typed_name, cog_name, codes_with_typed_name), ``orphans`` and ``outside_file`` (code_insee, name,
        population, departement), ``uncovered_arrondissements`` (code, name, population, commune, commune_name),
        ``outdated_codes`` (code, current_code, current_name, note, territory, line),
        ``unknown_codes`` (code, territory, line), ``duplicates`` (territory, code_insee, name,
        lines, after_mapping, codes_given), ``discontiguous`` and ``island_territories`` (territory,
        n_pieces, pieces, piece_names, piece_populations), ``enclaves`` (territory, communes, names,
        population), ``unverifiable`` (check, territory, communes, names; why for pieces too close to
        decide; outside_file True for communes outside the file surrounded by one territory),
        ``multi_departement`` (territory, departements, regions), ``proposals`` (see
        :mod:`cpts_diag.proposals`), ``study_area``,
        ``study_area_rule``, ``geometry_checks``, ``notes``, ``warnings``, ``summary``, ``blocking``, ``source``,
        ``sources``.
        """
        return {
            "territories": self.territories,
            **{kind: getattr(self, kind) for kind in FINDING_KINDS},
            "proposals": self.proposals,
            "study_area": list(self.study_area),
            "study_area_rule": self.study_area_rule,
            "geometry_checks": bool(self.geometry_checks),
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "summary": dict(self.summary),
            "blocking": self.blocking,
            "source": self.source,
            "sources": list(self.sources),
        }


# ------------------------------------------------------------------------- helpers


def _int(value):
    """JSON-ready integer (None for missing)."""
    return None if fr.is_missing(value) else round(float(value))


def _codes_option(values, kind: str) -> list[str]:
    """Normalise --region / --departement codes (``4`` -> ``04``, ``2a`` -> ``2A``)."""
    if values is None:
        return []
    out = []
    for v in [values] if isinstance(values, str) else values:
        code = str(v).strip().upper()
        if not code:
            raise InputError(f"code {kind} vide")
        out.append(code.zfill(2) if code.isdigit() else code)
    return list(dict.fromkeys(out))


def _study_area(
    reference: Reference,
    regions,
    departements,
    covered: pd.Index,
    split_by_arr: set[str],
    claimed_arr: set[str],
    region_view: tuple[str, pd.Series] | None = None,
) -> tuple[list[str], str, list[str]]:
    """Départements of the study area, the French statement of its rule, and notes on the départements that
    the file touches outside it (how much of each the file lists).

    The share of a département that the file lists counts its communes, and the arrondissements of Paris, Lyon
    and Marseille when the file lists them by arrondissement (``split_by_arr``; ``claimed_arr``: those listed).
    ``region_view``: (région code, its row of :func:`cpts_diag.territories.region_coverage`) for the study area
    of that région's view when none is declared (:data:`REGION_VIEW_RULE`).
    """
    regions = _codes_option(regions, "région")
    departements = _codes_option(departements, "département")
    for codes, table, kind, option in (
        (regions, reference.regions, "région", "--region"),
        (departements, reference.departements, "département", "--departement"),
    ):
        for code in codes:
            if code not in table.index:
                raise InputError(f"code {kind} inconnu (option {option})", value=code)
    arr = reference.arrondissements
    split = arr.loc[arr["commune_parente"].isin(split_by_arr), "departement"]
    dep_of = pd.concat([reference.communes["departement"].drop(list(split_by_arr), errors="ignore"), split])
    units = covered.difference(list(split_by_arr)).union(pd.Index(sorted(claimed_arr & set(split.index))))
    listed = dep_of.reindex(units).dropna().value_counts()
    total = dep_of.value_counts().reindex(listed.index)
    share = listed / total
    outside_rule = (
        "une commune de la zone d'étude absente du fichier est orpheline ; dans les autres départements du "
        "fichier, elle est « hors fichier » : le fichier ne dit pas si elle a une CPTS (information)"
    )
    if region_view is not None and not regions and not departements:
        code, coverage = region_view
        region_text = f"la région {reference.region_name(code)} ({code})"
        deps = reference.departements
        in_region = set(deps.index[deps["region"] == code])
        if coverage["mostly_covered"]:
            area = sorted(in_region)
            rule = (
                f"zone d'étude de la vue régionale : {region_text} entière, dont le fichier contient plus de la "
                f"moitié des communes et de la population ; {outside_rule}"
            )
        else:
            area = sorted(set(share.index[share > STUDY_AREA_SHARE]) & in_region)
            rule = (
                f"zone d'étude de la vue régionale : les départements de {region_text} dont le fichier liste plus "
                f"de la moitié des communes — le fichier ne contient que {fr.integer(coverage['n_covered'])} de ses "
                f"{fr.integer(coverage['n_communes'])} communes et "
                f"{fr.percent(coverage['population_covered'] / coverage['population'], 1, ratio=True)} de sa "
                "population, il en faudrait plus de la moitié des deux pour prendre toute la région (--region "
                f"{code}, ou zone_etude_region = True dans le carnet 03, pour la déclarer) ; {outside_rule}"
            )
    elif not regions and not departements:
        area = sorted(share.index[share > STUDY_AREA_SHARE])
        how = "règle par défaut"
        rule = (
            "zone d'étude par défaut : les départements dont le fichier liste plus de la moitié des communes "
            "(des arrondissements à Paris, Lyon et Marseille listées par arrondissement ; --region ou --departement "
            f"pour la déclarer) ; {outside_rule}"
        )
    else:
        deps = reference.departements
        chosen = {"région": [f"{reference.region_name(r)} ({r})" for r in regions], "département": departements}
        how = " + ".join(
            f"{kind}{'s' if len(codes) > 1 else ''} {', '.join(codes)}" for kind, codes in chosen.items() if codes
        )
        area = sorted(set(deps.index[deps["region"].isin(regions)]) | set(departements))
        rule = f"zone d'étude déclarée ({how}) ; {outside_rule}"
    others = sorted(set(share.index) - set(area))
    notes = []
    if others:
        parts = [
            f"{reference.departement_name(d)} ({d}) : {fr.integer(listed[d])} sur {fr.integer(total[d])} "
            f"({fr.percent(share[d], 0, ratio=True)})"
            for d in others
        ]
        notes.append("communes listées par le fichier dans les départements hors zone d'étude : " + " ; ".join(parts))
    return area, rule, notes


def _load_polygons(geometries, reference: Reference) -> tuple[object, list[str], str | None]:
    """User commune polygons of a ``geometries`` argument, with French notes and the source text.

    ``"default"``: no polygons, the embedded adjacency is used; a path: read, then aligned on the
    COG; a GeoDataFrame: aligned; None: no geometric checks.
    """
    if isinstance(geometries, str) and geometries == "default":
        return None, [], _DEFAULT_GEOMETRY_SOURCE
    if geometries is None:
        note = (
            "contrôles géométriques non effectués (aucun contour de communes) : continuité des "
            "territoires et enclaves non vérifiées"
        )
        return None, [note], None
    notes: list[str] = []
    if isinstance(geometries, (str, os.PathLike)):
        from cpts_diag.geometry import read_commune_polygons

        source = f"contours des communes : {Path(geometries).name}"
        geometries = read_commune_polygons(geometries)
        notes.extend(geometries.attrs.get("notes", []))
    else:
        source = "contours des communes fournis par l'utilisateur"
    polygons, align_notes = _align(geometries, reference)
    if align_notes:
        notes.append(
            f"{len(align_notes)} alignement(s) des contours sur le {reference.vintage} : "
            + " ; ".join(align_notes[:5])
            + (" …" if len(align_notes) > 5 else "")
        )
    return polygons, notes, source


def _align(gdf, reference: Reference) -> tuple[object, list[str]]:
    """Align user polygons to the COG: former codes and arrondissements to current communes."""
    from cpts_diag.geometry import align_to_cog

    codes = gdf["code_insee"].astype(str)
    arr_parent = reference.arrondissements["commune_parente"]
    present_arr = set(codes[codes.isin(arr_parent.index) & ~codes.isin(reference.communes.index)])
    gdf, notes = align_to_cog(gdf, dict(reference.former) | {c: arr_parent[c] for c in present_arr})
    # the notes of the arrondissements give way to one note per PLM commune
    notes = [n for n in notes if n.split(" ", 1)[0] not in present_arr]
    notes += [
        f"polygones des arrondissements municipaux de {reference.communes.at[parent, 'nom']} réunis en une commune "
        f"({parent})"
        for parent in sorted({arr_parent[c] for c in present_arr})
    ]
    return gdf, notes


def _names(codes, reference: Reference) -> list[str]:
    """Names of commune / arrondissement codes (the code itself when unknown)."""
    return [reference.names.get(c, c) for c in codes]


# ------------------------------------------------------------------------ findings


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
            "population": _int(row["population"]),
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
            **{key: _int(getattr(row, key)) for key in ints},
            "approximate": bool(row.approximate),
            "n_communes": int(row.n_communes),
            "departements": list(row.departements),
            "regions": list(row.regions),
            "split_communes": split_names.get(row.cpts, []) if row.approximate else [],
        }
        # an approximate population (bounds) that comes near a threshold cannot say whether it is near: None
        margin = tier_margin(record["population"])
        near = near_threshold(record["population_min"], record["population_max"])
        record["tier_margin"] = None if margin is None else margin[0]
        record["tier_threshold"] = None if margin is None else margin[1]
        record["near_threshold"] = (near is not None) if margin is not None else (None if near else False)
        records.append(record)
    return records


def _total_population(units: pd.DataFrame) -> int:
    """Population of the distinct units (:func:`population_units`) covered by at least one territory."""
    whole = set(units.loc[units["arrondissement"].isna(), "code_insee"])
    keep = units["arrondissement"].isna() | ~units["code_insee"].isin(whole)
    return _int(units[keep].drop_duplicates("unit")["population"].sum()) or 0


def _piece_labels(n_nodes: int, ea: np.ndarray, eb: np.ndarray) -> np.ndarray:
    """Connected-component label (smallest node index) of each node, given edges ``ea``-``eb``.

    Vectorised min-label propagation with pointer jumping: each round is a few numpy operations
    over the edges; the number of rounds grows with the diameter of the pieces (logarithmically
    thanks to pointer jumping, in practice a handful).
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

    ``pairs``: adjacency (columns a, b); ``near``: polygons 100 to 300 m apart (contiguity unknown at
    the precision of simplified polygons); ``across``: units facing each other across the sea or a
    foreign salient, no French commune between them; ``possible``: pairs involving a unit without
    polygon; ``without_polygon``: units whose adjacency is unknown; ``exposed``: units touching the sea or a
    national border (None: decided from ``polygons`` instead); ``land_mass``: code -> land mass (None
    when unknown); ``by_arrondissement``: Paris, Lyon, Marseille units are their arrondissements; ``borders``:
    shared border (a, b, km) of the ``pairs`` (None when unknown: user polygons).
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
    all_arr = set(parent.index)

    def allowed(col: pd.Series) -> np.ndarray:
        return (~col.isin(drop_commune) & (~col.isin(all_arr) | col.isin(keep_arr))).to_numpy()

    return pairs[allowed(pairs["a"]) & allowed(pairs["b"])]


def _territory_pieces(units: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Number of connected pieces of every territory (vectorised over all territories)."""
    nodes = units.assign(node=np.arange(len(units)))
    intra = pairs.merge(nodes.rename(columns={"code_insee": "a", "node": "ea"}), on="a").merge(
        nodes.rename(columns={"code_insee": "b", "node": "eb"}), on=["b", "cpts"]
    )
    labels = _piece_labels(len(units), intra["ea"].to_numpy(), intra["eb"].to_numpy())
    return units.assign(label=labels).groupby("cpts", sort=False)["label"].nunique()


_NEAR_MAX_M = 300.0


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
    pop = reference.communes["population"]
    if adj.by_arrondissement:
        pop = pd.concat([pop, reference.arrondissements["population"]])
    pop = pop[~pop.index.duplicated()]

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
            "piece_populations": [_int(pop.reindex(c).sum()) for c in comps],
        }
        if _apart_only_by(comps, inside(across), adj.land_mass):
            islands.append(record)
        elif _apart_only_by(comps, pd.concat([inside(across), inside(near)]), adj.land_mass):
            apart = sorted(c for piece in comps[1:] for c in piece)
            why = (
                f"morceaux distants de moins de {int(_NEAR_MAX_M)} m : contours simplifiés trop imprécis pour trancher"
            )
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
                "population": _int(pop.reindex(group).sum()),
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


# ----------------------------------------------------------------------------- main


def check_perimeters(
    perimeters,
    reference: Reference | None = None,
    geometries="default",
    regions=None,
    departements=None,
    tolerance_m: float = 100.0,
    *,
    region_view: str | None = None,
) -> CheckReport:
    """Check CPTS perimeters against the COG, each other and the commune polygons.

    ``perimeters``: perimeters read by :func:`~cpts_diag.io.perimeters.read_perimeters`, their
    canonical table (columns ``cpts, code_insee, arrondissement, infracommunal, line``), or a file to
    read. ``reference``: the embedded COG 2026 by default.

    ``geometries``: ``"default"`` uses the embedded national adjacency (no polygons read); a
    GeoDataFrame of commune polygons (``code_insee``, geometry) or a path read with
    :func:`~cpts_diag.geometry.read_commune_polygons` uses the user's polygons (aligned to the
    COG: former codes, arrondissements), two of which are adjacent within ``tolerance_m`` metres;
    None skips the geometric checks (the report says so).

    ``regions``, ``departements``: study area for orphans; by default the départements whose communes the
    file lists for more than half (:data:`STUDY_AREA_SHARE`). ``region_view``, a région code, is the check of
    that région's ARS view (see :func:`check_region`): without a declared study area, that of the view
    (:data:`REGION_VIEW_RULE`), and communes outside the file of that région only (the table may hold only
    some territories of the file). An unknown région or département code raises InputError.
    """
    from cpts_diag.io.perimeters import read_perimeters

    if isinstance(perimeters, (str, os.PathLike)):
        perimeters = read_perimeters(perimeters)
    reference = reference if reference is not None else load_reference()
    table = perimeters.table if hasattr(perimeters, "table") else perimeters
    warnings = list(getattr(perimeters, "warnings", []) or [])
    source = getattr(perimeters, "source", None)
    source_name = Path(source).name if source is not None else None

    members = resolve_members(table, reference)
    known = members[members["code_insee"].notna()].copy()
    known["code_insee"] = known["code_insee"].astype(str)
    known["arrondissement"] = known["arrondissement"].astype(object).where(known["arrondissement"].notna(), None)

    report = CheckReport(warnings=warnings, source=source_name, members=members, reference=reference)
    report.unknown_codes, report.outdated_codes = _code_findings(members, reference)
    typed = _typed_names(table)
    if typed is not None:
        report.name_mismatches, undecided = _name_mismatches(typed, members, reference)
        if undecided:
            report.notes.append(
                f"{fr.integer(undecided)} nom(s) de commune non vérifiable(s) : ancien code dont le "
                f"{reference.vintage} ne garde pas le nom (comparé seulement au nom de la commune actuelle)"
            )
    report.duplicates = _duplicates(known, reference)
    report.overlaps, split_by_arr = _overlaps(known, reference)
    report.uncovered_arrondissements = _uncovered_arrondissements(known, split_by_arr, reference)

    units = population_units(members, reference)
    report.territories = _territory_records(territory_table(members, reference, units=units), known, reference)
    report.multi_departement = [
        {"territory": t["name"], "departements": t["departements"], "regions": t["regions"]}
        for t in report.territories
        if len(t["departements"]) > 1 or len(t["regions"]) > 1
    ]

    # Study area, orphans and communes outside the file.
    communes = reference.communes
    covered = pd.Index(known["code_insee"].unique())
    claimed_arr = set(known["arrondissement"].dropna())
    view = None
    if region_view is not None:
        code = reference.region_code(region_view, "vue régionale")
        coverage = region_coverage(table, reference, members=members)
        if code not in coverage.index:
            raise InputError(f"aucun territoire n'a de commune dans la région {code}", path=source)
        view = (code, coverage.loc[code])
    report.study_area, report.study_area_rule, area_notes = _study_area(
        reference, regions, departements, covered, split_by_arr, claimed_arr, view
    )
    in_area = communes[communes["departement"].isin(report.study_area)]
    orphan_rows = in_area[~in_area.index.isin(covered)].sort_index()
    touched = communes[communes["departement"].isin(communes["departement"].reindex(covered).dropna())]
    if view is not None:  # a région's view checks some territories of the file: elsewhere, others may list a commune
        touched = touched[touched["region"] == view[0]]
    outside_rows = touched[~touched.index.isin(covered) & ~touched.index.isin(in_area.index)].sort_index()
    report.orphans, report.outside_file = (
        [
            {"code_insee": r.Index, "name": r.nom, "population": _int(r.population), "departement": r.departement}
            for r in rows.itertuples()
        ]
        for rows in (orphan_rows, outside_rows)
    )
    # uncovered arrondissements outside the study area are outside the file too
    arr_dep = reference.arrondissements["departement"]
    uncovered = report.uncovered_arrondissements
    report.uncovered_arrondissements = [a for a in uncovered if arr_dep[a["code"]] in report.study_area]
    outside_arr = [
        {"code_insee": a["code"], "name": a["name"], "population": a["population"], "departement": arr_dep[a["code"]]}
        for a in uncovered
        if arr_dep[a["code"]] not in report.study_area
        and (view is None or reference.departements.at[arr_dep[a["code"]], "region"] == view[0])
    ]
    report.outside_file = sorted(report.outside_file + outside_arr, key=itemgetter("code_insee"))
    area_text = (
        f"{', '.join(report.study_area)} ({fr.integer(len(in_area))} commune{'s' if len(in_area) > 1 else ''})"
        if report.study_area
        else "aucune (aucune commune n'est dite orpheline)"
    )
    report.notes.append(f"{report.study_area_rule} — zone d'étude : {area_text}")
    report.notes.extend(area_notes)

    # Geometry: contiguity and enclaves from the embedded adjacency or from user polygons.
    polygons, polygon_notes, geo_source = _load_polygons(geometries, reference)
    report.notes.extend(polygon_notes)
    adjacency = None
    if polygons is not None:
        relevant = in_area.index.union(covered).union(outside_rows.index)
        adjacency = _user_adjacency(polygons, relevant, tolerance_m, report.notes)
    elif geometries is not None:
        adjacency = _embedded_adjacency(report.notes)
    if adjacency is not None:
        uncovered = [a["code"] for a in report.uncovered_arrondissements]
        outside = outside_rows.index.union(pd.Index([a["code_insee"] for a in outside_arr]))
        found = _geometric_findings(adjacency, known, orphan_rows.index, uncovered, outside, reference, tolerance_m)
        report.geometry_checks = True
        for key, value in found.items():
            setattr(report, key, value)
        report.polygons = polygons
        arr_orphans = [
            {**{k: a[k] for k in ("name", "population")}, "code_insee": a["code"], "departement": arr_dep[a["code"]]}
            for a in report.uncovered_arrondissements
            if adjacency.by_arrondissement
        ]
        orphan_items = [{**o, "unit": "commune"} for o in report.orphans]
        orphan_items += [{**a, "unit": "arrondissement"} for a in arr_orphans]
        passable = {o["code_insee"] for o in orphan_items} | set(outside)
        if orphan_items or report.conflicts:
            near_codes = passable | {o["code_insee"] for o in report.conflicts}
            report.proposals = build_proposals(
                report.territories,
                _units(known, adjacency.by_arrondissement),
                units,
                sorted(orphan_items, key=itemgetter("code_insee")),
                report.enclaves,
                report.conflicts,
                _proposal_links(adjacency, known, reference, near_codes),
                passable,
                reference,
            )
        blind = [u for u in report.unverifiable if not u.get("outside_file")]
        if blind:
            report.notes.append(
                f"{len(blind)} contrôle(s) non vérifiable(s) faute de contour de commune : "
                "ni continuité ni enclave n'est affirmée pour ces communes"
            )

    # Summary and sources.
    report.summary = {
        "n_territories": len(report.territories),
        "n_communes": len(covered.intersection(communes.index)),
        "population_total": _total_population(units),
        "n_study_area_communes": len(in_area),
        "n_study_area_covered": int(in_area.index.isin(covered).sum()),
        "n_overlaps": len(report.overlaps),
        "n_conflicts": len(report.conflicts),
        "n_orphans": len(report.orphans),
        "orphan_population": _int(orphan_rows["population"].sum()) or 0,
        "n_outside_file": len(report.outside_file),
        "n_name_mismatches": len(report.name_mismatches),
        "n_names_checked": 0 if typed is None else int((typed != "").sum()),
        "n_uncovered_arrondissements": len(report.uncovered_arrondissements),
        "n_outdated_codes": len(report.outdated_codes),
        "n_unknown_codes": len(report.unknown_codes),
        "n_duplicates": len(report.duplicates),
        "n_discontiguous": len(report.discontiguous),
        "n_enclaves": len(report.enclaves),
        "n_island_territories": len(report.island_territories),
        "n_unverifiable": len(report.unverifiable),
        "n_multi_departement": len(report.multi_departement),
        "n_approximate": sum(t["approximate"] for t in report.territories),
        "n_near_threshold": sum(t["near_threshold"] is True for t in report.territories),
        "n_proposals": len(report.proposals),
    }
    report.sources = [
        f"INSEE, Code officiel géographique ({reference.vintage})",
        POPULATION_SOURCE,
        f"périmètres : {source_name or 'table fournie'}",
        TIER_RULE,
    ]
    if report.geometry_checks and geo_source:
        report.sources.insert(3, geo_source)
    if report.proposals:
        report.notes.append(f"propositions : {RANKING_RULE}")
    elif not report.geometry_checks and (report.orphans or report.conflicts):
        report.notes.append("propositions de rattachement non établies : elles demandent la contiguïté des communes")
    return report


def check_region(
    perimeters, region: str, reference: Reference | None = None, *, declared: bool = False, geometries="default"
) -> CheckReport:
    """The check of a région's ARS view: the territories with a commune in région ``region`` (code), alone.

    A national file is not checked whole for each région; a territory on two régions is in both checks. The
    study area is the région when ``declared`` (``--region``: its communes outside the file are orphans), else
    :data:`REGION_VIEW_RULE`: the région when the file holds more than half of its communes and of its
    population (:func:`cpts_diag.territories.region_coverage`), otherwise the départements of the région that
    the file lists for more than half; elsewhere the communes outside the file are ``outside_file``, never
    orphans. ``perimeters`` as for :func:`check_perimeters`. Raises InputError for an unknown région or one
    where no territory has a commune.
    """
    import dataclasses

    from cpts_diag.io.perimeters import read_perimeters

    if isinstance(perimeters, (str, os.PathLike)):
        perimeters = read_perimeters(perimeters)
    reference = reference if reference is not None else load_reference()
    code = reference.region_code(region, "vue régionale")
    table = perimeters.table if hasattr(perimeters, "table") else perimeters
    names = territories_in_region(table, code, reference)
    if not names:
        raise InputError(
            f"aucun territoire n'a de commune dans la région {code}", path=getattr(perimeters, "source", None)
        )
    subset = table[table["cpts"].astype(str).isin(names)]
    subset = dataclasses.replace(perimeters, table=subset) if hasattr(perimeters, "table") else subset
    return check_perimeters(subset, reference, geometries, regions=[code] if declared else None, region_view=code)


# ------------------------------------------------------------------ one territory


def territory_findings(report: CheckReport, territory: str) -> dict:
    """The findings of ``report`` that concern one territory (for its report), JSON-ready.

    Keys: ``territory``; ``blocking`` (an unknown code or a conflicting overlap of the territory);
    ``overlaps`` (code_insee, name, kind, population, other_territories); ``shared_population`` (population
    of its communes or arrondissements in conflict, counted in its population and in another territory's);
    ``outdated_codes`` (code, current_code, current_name, line, note, population: that of the whole
    current commune, counted: False when the current commune is counted through another row);
    ``unknown_codes``, ``name_mismatches``, ``duplicates``, ``enclaves`` (lists as in the report);
    ``discontiguous``, ``island``, ``multi_departement`` (the territory's record, or None);
    ``unverifiable``; ``uncovered_arrondissements`` (of the communes it lists by arrondissement);
    ``orphans_touching`` and ``outside_file_touching`` (orphans of the study area and communes outside the
    file that touch it: code_insee, name, population, departement); ``study_area_rule``,
    ``geometry_checks``, ``names_checked`` (the file has commune names), ``sources``.
    """
    reference = report.reference if report.reference is not None else load_reference()
    population = pd.concat([reference.arrondissements["population"], reference.communes["population"]])
    population = population[~population.index.duplicated()]

    def mine(items: list[dict], key: str = "territory") -> list[dict]:
        return [dict(item) for item in items if item.get(key) == territory]

    def one(items: list[dict]) -> dict | None:
        found = mine(items)
        return found[0] if found else None

    overlaps = [
        {
            "code_insee": o["code_insee"],
            "name": o["name"],
            "kind": o["kind"],
            "population": _int(population.get(o["code_insee"])),
            "other_territories": [t for t in o["territories"] if t != territory],
        }
        for o in report.overlaps
        if territory in o["territories"]
    ]
    members = report.members if report.members is not None else pd.DataFrame(columns=["cpts", "code_given"])
    own = members[members["cpts"] == territory]
    # a former code adds its whole current commune, unless the territory lists it already (current code first)
    seen = set(own["code_given"])
    outdated = []
    for o in mine(report.outdated_codes):
        current = o["current_code"]
        outdated.append({**o, "population": _int(population.get(current)), "counted": current not in seen})
        seen.add(current)
    by_arr = set(own.loc[own["arrondissement"].notna(), "code_insee"].astype(str)) if len(own) else set()

    def touching(items: list[dict]) -> list[dict]:
        return [dict(item) for item in items if territory in report.touching.get(item["code_insee"], ())]

    return {
        "territory": territory,
        "blocking": any(u["territory"] == territory for u in report.unknown_codes)
        or any(o["kind"] == CONFLICT for o in overlaps),
        "overlaps": overlaps,
        "shared_population": sum(o["population"] or 0 for o in overlaps if o["kind"] == CONFLICT),
        "outdated_codes": outdated,
        "unknown_codes": mine(report.unknown_codes),
        "name_mismatches": mine(report.name_mismatches),
        "duplicates": mine(report.duplicates),
        "discontiguous": one(report.discontiguous),
        "island": one(report.island_territories),
        "enclaves": mine(report.enclaves),
        "unverifiable": mine(report.unverifiable),
        "uncovered_arrondissements": [dict(a) for a in report.uncovered_arrondissements if a["commune"] in by_arr],
        "orphans_touching": touching(report.orphans),
        "outside_file_touching": touching(report.outside_file),
        "multi_departement": one(report.multi_departement),
        "study_area_rule": report.study_area_rule,
        "geometry_checks": bool(report.geometry_checks),
        "names_checked": bool(report.summary.get("n_names_checked")),
        "sources": list(report.sources),
    }
