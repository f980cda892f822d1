"""Perimeter checks: codes, duplicates, overlaps, orphans, enclaves, contiguity, populations.

:func:`check_perimeters` takes perimeters as read by :func:`cpts_diag.io.perimeters.read_perimeters` and returns a
:class:`CheckReport` of structured findings; :func:`cpts_diag.outputs.check_outputs.format_text` renders it as a
French summary for the terminal and :meth:`CheckReport.to_dict` as the JSON document of ``cpts-diag check --json``.

Rules
-----
* **Codes**: a code in no COG vintage known to the project is *unknown* (blocking); a former code (merged commune,
  commune déléguée or associée) is *outdated*: reported, then treated as the current commune, so a territory
  listing both is reported as a *duplicate after mapping*.
* **Overlaps**: a commune claimed by two territories or more is

  - ``"infracommunal"`` when every territory claiming it declares it split infra-communally;
  - ``"arrondissement"`` for Paris, Lyon or Marseille listed by arrondissement municipal, as long as no
    arrondissement is in two territories (an informational split);
  - ``"conflict"`` otherwise: an arrondissement in two territories (``code_insee`` is then the arrondissement), a
    PLM commune listed whole in one territory and by arrondissement in another, or any other multiple claim.
    Conflicts are blocking.

* **Names**: where the table has a ``nom_commune`` column (the name typed in the file), each name is compared with
  the COG names of its code (:func:`cpts_diag.text.commune_key`: accents, case, hyphens, « St », articles ignored;
  for a former code, the former commune's name is accepted too; an arrondissement municipal may be written
  « Marseille 4e », « Paris XVe »...). A name that is another commune's, or no commune's and not a spelling
  variant of the code's name, is a *name mismatch*: not blocking (the code is valid), but the diagnosis may
  describe another commune than the one meant.
* **Orphans**: current communes of the study area in no territory. The study area is made of the départements of
  ``regions`` and the ``departements`` given; by default, the départements whose communes the file lists for more
  than half (:data:`STUDY_AREA_SHARE`): a regional listing covers nearly all of its départements (PACA: 901
  communes of 946), a coordinator's file of one or two CPTS a small part of one, and only the former can say that
  a commune has no CPTS. The check of a région's ARS view (:func:`check_region`) takes the région when it is
  declared or when the file covers it for the most part, else the default départements that lie in it
  (:data:`REGION_VIEW_RULE`). Communes of the other départements the file touches, in no territory, are *outside
  the file* (``outside_file``): information, never orphans. A PLM commune covered by some of its arrondissements
  is not an orphan: its missing arrondissements are *uncovered arrondissements*.
* **Geometry**, anywhere in France, from the embedded national adjacency (communes within 100 m of each other,
  Paris, Lyon and Marseille by arrondissement; :mod:`cpts_diag.commune_geo`) or from the user's own polygons
  (``geometries``):

  - *discontiguous* territories: several pieces on one land mass. Pieces that each lie on their own land mass (an
    island commune with its mainland neighbours: Ouessant, Ré, Belle-Île...) are separated by the sea only:
    reported as information (``island_territories``), not as a problem;
  - *enclaves*: groups of orphan units (communes, uncovered arrondissements) whose neighbours all belong to one
    territory and that touch neither the sea nor a national border; such a group of communes outside the file is
    *non vérifiable* (the file does not say whether another CPTS holds it);
  - *non vérifiable* (``unverifiable``): a territory with a member without polygon, or a candidate enclave next to
    one, is never called discontinuous or an enclave: it is listed, with the communes that prevent the check.

* **Tier margins**: every territory record carries ``tier_margin`` (signed inhabitants from the nearest ACI
  threshold), ``tier_threshold`` and ``near_threshold`` (within 5 % of a threshold: :mod:`cpts_diag.tiers`); for an
  approximate population, the first two are None and so is the third when the bounds come that near.
* **Proposals** (:mod:`cpts_diag.proposals`): for each orphan (commune of the study area, uncovered arrondissement),
  enclave and conflicting overlap, the territories that could take it, ranked, with their populations and tiers
  after; only when the geometric checks ran (they need the adjacency).

Everything is vectorised over communes; loops run over territories or findings only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from operator import itemgetter
from pathlib import Path

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.check_contiguity import (
    _embedded_adjacency,
    _geometric_findings,
    _proposal_links,
    _units,
    _user_adjacency,
)
from cpts_diag.check_membership import (
    CONFLICT,
    _code_findings,
    _duplicates,
    _name_mismatches,
    _overlaps,
    _territory_records,
    _typed_names,
    _uncovered_arrondissements,
    json_int,
)
from cpts_diag.datasets import DATASETS
from cpts_diag.errors import InputError
from cpts_diag.io.perimeters import Perimeters
from cpts_diag.proposals import RANKING_RULE, build_proposals
from cpts_diag.reference import POPULATION_SOURCE, Reference, load_reference
from cpts_diag.territories import (
    population_units,
    region_coverage,
    resolve_members,
    territories_in_region,
    territory_table,
    unit_population,
)
from cpts_diag.tiers import TIER_RULE

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
    f"une fois, data/{DATASETS['adjacency'].file}, voir data/SOURCES.md)"
)


# --------------------------------------------------------------------------- report


@dataclass
class CheckReport:
    """Structured findings of :func:`check_perimeters`.

    Every list attribute holds plain dicts of JSON-ready values; see :meth:`to_dict` for their keys. Not in the
    JSON: ``members`` (resolved perimeter rows), ``polygons`` (the user's polygons as the check read and aligned
    them, or None), ``perimeters`` (the Perimeters checked, None for a bare table: a simulation reuses them),
    ``reference`` and ``touching`` (code of an orphan unit or of a commune outside the file -> sorted territories
    it touches, when the geometric checks ran), for the outputs, :func:`territory_findings` and the maps.
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
    perimeters: Perimeters | None = field(default=None, repr=False)
    reference: Reference | None = field(default=None, repr=False)
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

        The user's polygons when the check used them; otherwise the embedded display polygons of the member
        communes, the orphans, the communes outside the file and the arrondissements listed or uncovered.
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
            gdf = display_polygons(codes).drop(columns="type")
        except InputError:
            return None
        if self.reference is not None:
            gdf.insert(1, "nom", gdf["code_insee"].map(self.reference.names))
        return gdf

    def to_dict(self) -> dict:
        """The JSON document of ``cpts-diag check --json`` (plain Python values).

        Keys: ``territories`` (name, population, population_min, population_max, tier, tier_min, tier_max, approximate,
        n_communes, departements, regions, split_communes, and the *tier margins* of the module docstring: tier_margin,
        tier_threshold, near_threshold), ``overlaps`` (code_insee, name, territories, kind), ``name_mismatches`` (line,
        territory, code_insee as given, typed_name, cog_name, codes_with_typed_name), ``orphans`` and ``outside_file``
        (code_insee, name, population, departement), ``uncovered_arrondissements`` (code, name, population, commune,
        commune_name), ``outdated_codes`` (code, current_code, current_name, note, territory, line), ``unknown_codes``
        (code, territory, line), ``duplicates`` (territory, code_insee, name, lines, after_mapping, codes_given),
        ``discontiguous`` and ``island_territories`` (territory, n_pieces, pieces, piece_names, piece_populations),
        ``enclaves`` (territory, communes, names, population), ``unverifiable`` (check, territory, communes, names; why
        for pieces too close to decide; outside_file True for communes outside the file surrounded by one territory),
        ``multi_departement`` (territory, departements, regions), ``proposals`` (:mod:`cpts_diag.proposals`),
        ``study_area``, ``study_area_rule``, ``geometry_checks``, ``notes``, ``warnings``, ``summary``, ``blocking``,
        ``source``, ``sources``.
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
    deps = reference.departements
    if region_view is not None and not regions and not departements:
        code, coverage = region_view
        region_text = f"la région {reference.region_name(code)} ({code})"
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
        rule = (
            "zone d'étude par défaut : les départements dont le fichier liste plus de la moitié des communes "
            "(des arrondissements à Paris, Lyon et Marseille listées par arrondissement ; --region ou --departement "
            f"pour la déclarer) ; {outside_rule}"
        )
    else:
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
    """User commune polygons of a ``geometries`` argument (:func:`check_perimeters`), French notes, source text."""
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


def _total_population(units: pd.DataFrame) -> int:
    """Population of the distinct units (:func:`population_units`) covered by at least one territory."""
    whole = set(units.loc[units["arrondissement"].isna(), "code_insee"])
    keep = units["arrondissement"].isna() | ~units["code_insee"].isin(whole)
    return json_int(units[keep].drop_duplicates("unit")["population"].sum()) or 0


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

    ``perimeters``: perimeters read by :func:`~cpts_diag.io.perimeters.read_perimeters`, or their canonical table
    (columns ``cpts, code_insee, arrondissement, infracommunal, line``). ``reference``: the embedded COG 2026 by
    default.

    ``geometries``: ``"default"`` uses the embedded national adjacency (no polygons read); a GeoDataFrame of
    commune polygons (``code_insee``, geometry) or a path read with
    :func:`~cpts_diag.geometry.read_commune_polygons` uses the user's polygons (aligned to the COG: former codes,
    arrondissements), two of which are adjacent within ``tolerance_m`` metres; None skips the geometric checks
    (the report says so).

    ``regions``, ``departements``: the study area (module docstring: *Orphans*). ``region_view``, a région code,
    is the check of that région's ARS view (:func:`check_region`): without a declared study area, that of the view,
    and communes outside the file of that région only (the table may hold only some territories of the file). An
    unknown région or département code raises InputError.
    """
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
    report.perimeters = perimeters if isinstance(perimeters, Perimeters) else None
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
            {"code_insee": r.Index, "name": r.nom, "population": json_int(r.population), "departement": r.departement}
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
        uncovered_codes = [a["code"] for a in report.uncovered_arrondissements]
        outside = outside_rows.index.union(pd.Index([a["code_insee"] for a in outside_arr]))
        found = _geometric_findings(
            adjacency, known, orphan_rows.index, uncovered_codes, outside, reference, tolerance_m
        )
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
        "orphan_population": json_int(orphan_rows["population"].sum()) or 0,
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
    :data:`REGION_VIEW_RULE` (:func:`cpts_diag.territories.region_coverage`). ``perimeters`` as for
    :func:`check_perimeters`. Raises InputError for an unknown région or one where no territory has a commune.
    """
    reference = reference if reference is not None else load_reference()
    code = reference.region_code(region, "vue régionale")
    table = perimeters.table if hasattr(perimeters, "table") else perimeters
    names = territories_in_region(table, code, reference)
    if not names:
        raise InputError(
            f"aucun territoire n'a de commune dans la région {code}", path=getattr(perimeters, "source", None)
        )
    subset = table[table["cpts"].astype(str).isin(names)]
    subset = replace(perimeters, table=subset) if hasattr(perimeters, "table") else subset
    return check_perimeters(subset, reference, geometries, regions=[code] if declared else None, region_view=code)


# ------------------------------------------------------------------ one territory


def territory_findings(report: CheckReport, territory: str) -> dict:
    """The findings of ``report`` that concern one territory (for its report), JSON-ready.

    Keys: ``territory``; ``blocking`` (an unknown code or a conflicting overlap of the territory); ``overlaps``
    (code_insee, name, kind, population, other_territories); ``shared_population`` (population of its communes or
    arrondissements in conflict, counted in its population and in another territory's); ``outdated_codes`` (code,
    current_code, current_name, line, note, population: that of the whole current commune, counted: False when the
    current commune is counted through another row); ``unknown_codes``, ``name_mismatches``, ``duplicates``,
    ``enclaves``, ``unverifiable`` (lists as in the report); ``discontiguous``, ``island``, ``multi_departement``
    (the territory's record, or None); ``uncovered_arrondissements`` (of the communes it lists by arrondissement);
    ``orphans_touching`` and ``outside_file_touching`` (orphans and communes outside the file that touch it, as in
    the report); ``study_area_rule``, ``geometry_checks``, ``names_checked`` (the file has commune names),
    ``sources``.
    """
    population = unit_population(report.reference if report.reference is not None else load_reference())

    def mine(items: list[dict]) -> list[dict]:
        return [dict(item) for item in items if item.get("territory") == territory]

    def one(items: list[dict]) -> dict | None:
        return next(iter(mine(items)), None)

    overlaps = [
        {
            "code_insee": o["code_insee"],
            "name": o["name"],
            "kind": o["kind"],
            "population": json_int(population.get(o["code_insee"])),
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
        outdated.append({**o, "population": json_int(population.get(current)), "counted": current not in seen})
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
