"""The data of one territory report, loaded once: :func:`load_report_data` gives a :class:`ReportData`.

It reads the perimeters, checks them (:func:`cpts_diag.checks.check_perimeters`, default study area) and
keeps the findings that concern the territory (:func:`cpts_diag.checks.territory_findings`), computes the
diagnostic (diagnostics and findings are taken from the cache that the reports of one batch share: every
territory of a perimeter file is checked and diagnosed in one pass, pickled, and read by the next reports,
keyed by :func:`cpts_diag.io.fingerprint.run_fingerprint`), and prepares the map layers (the territory's
communes, its outline, the neighbouring territories and the orphans of the check nearby). The sections of
:mod:`cpts_diag.reports.sections` only display it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import pickle
import platform
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag import settings
from cpts_diag.errors import InputError
from cpts_diag.io.atomic import file_state
from cpts_diag.io.params import cpam_choice
from cpts_diag.schema import Level

if TYPE_CHECKING:
    import geopandas as gpd

    from cpts_diag.indicators import Diagnostic
    from cpts_diag.reference import Reference

#: The indicator the territory map shows (its value is carried by the map rows).
MAP_INDICATOR = "apl_mg_2023"


@dataclass
class ReportData:
    """Everything a territory report shows, loaded once.

    ``territory`` is named as in the perimeter file; ``diag`` holds the indicators with comparisons
    (:func:`cpts_diag.indicators.diagnose`), ``reference`` the COG 2026 reference, ``perimeter_warnings`` the French
    warnings of the perimeter reader, ``perimeter`` the check findings that concern the territory
    (:func:`cpts_diag.checks.territory_findings`). ``map_communes``: polygons of the territory's communes
    (EPSG:4326) with ``code_insee``, ``nom``, ``population``, ``epci``, the map indicator and ``note``, None when no
    polygon is available; likewise the territory ``outline``, the ``neighbours`` territories (``cpts``) and the
    ``orphans`` of the check's study area (``code_insee``, ``nom``; never a commune merely outside the file) near the
    territory; ``missing_polygons``: territory commune codes without a polygon. ``cpam_mode``: ``"exemple"``
    (fictitious table), ``"fichier"`` or ``"aucun"``. :func:`write_outputs` writes into ``out_dir`` (None: nothing
    written) and lists its files in ``outputs`` (name -> Path).
    """

    territory: str
    diag: Diagnostic
    reference: Reference
    perimeters_path: Path
    perimeter_warnings: list[str]
    perimeter: dict
    map_communes: gpd.GeoDataFrame | None
    outline: gpd.GeoDataFrame | None
    neighbours: gpd.GeoDataFrame | None
    orphans: gpd.GeoDataFrame | None
    missing_polygons: list[str]
    cpam_mode: str
    insee_ages: Path | None
    bpe: Path | None
    out_dir: Path | None
    outputs: dict[str, Path] = field(default_factory=dict)
    cached: bool = False

    @property
    def indicators(self) -> pd.DataFrame:
        return self.diag.indicators

    @property
    def summary(self) -> dict:
        return self.diag.summary

    @property
    def polygons(self) -> gpd.GeoDataFrame:
        """:attr:`map_communes`, for the maps, which are drawn only when there are polygons."""
        assert self.map_communes is not None
        return self.map_communes

    @cached_property
    def territory_positions(self) -> dict[str, int]:
        """indicator -> position of its first territory row in :attr:`indicators`, built once."""
        out: dict[str, int] = {}
        for i, (ident, level) in enumerate(zip(self.indicators["indicator"], self.indicators["level"])):
            if level == Level.TERRITORY:
                out.setdefault(ident, i)
        return out

    @cached_property
    def levels(self) -> list[tuple[Level, str, str]]:
        """Comparison columns of the tables: (level, level_code, French header), territory first, built once."""
        ind = self.indicators
        cols = [(Level.TERRITORY, self.territory, "Territoire")]
        for level in (Level.DEPARTEMENT, Level.REGION):
            sub = ind[ind["level"] == level].drop_duplicates("level_code")
            for code, name in zip(sub["level_code"], sub["level_name"]):
                header = f"{name} ({code})" if level == Level.DEPARTEMENT else str(name)
                cols.append((level, str(code), header))
        cols.append((Level.FRANCE, "FR", "France"))
        return cols

    @cached_property
    def lookup(self) -> dict[str, dict]:
        """indicator -> {(level, level_code): row dict} (the territory's rows under its name), built once."""
        out: dict[str, dict] = {}
        for rec in self.indicators.to_dict("records"):
            code = rec["level_code"] if rec["level"] != Level.TERRITORY else self.territory
            out.setdefault(rec["indicator"], {})[(rec["level"], str(code))] = rec
        return out


# The units of the last perimeter table (with that table and reference): the reports of a batch share
# one table (see _DiagnosticCache.load), whose units are then computed once per kernel, not per report.
_UNITS: list[tuple[pd.DataFrame, Any, pd.DataFrame]] = []


def _table_units(table: pd.DataFrame, reference) -> pd.DataFrame:
    """(cpts, code, unit) of a perimeter table: current commune code, and the arrondissement municipal
    when one is listed (Paris, Lyon, Marseille are then drawn by arrondissement). Read only: the result
    is shared by the calls with the same table and reference objects."""
    for known, ref, units in _UNITS:
        if known is table and ref is reference:
            return units
    code = table["code_insee"].astype(str)
    current = code.map(reference.former)
    code = current.where(current.notna(), code)
    arr = table["arrondissement"]
    unit = arr.where(arr.notna(), code)
    units = pd.DataFrame(
        {"cpts": table["cpts"].astype(str).to_numpy(), "code": code.to_numpy(), "unit": unit.to_numpy()}
    ).drop_duplicates()
    _UNITS[:] = [(table, reference, units)]
    return units


_SHARED_NOTE = "commune partagée entre plusieurs CPTS (découpage infra-communal)"


def _map_layers(table: pd.DataFrame, territory: str, diag, reference, orphan_units=frozenset()):
    """Territory units with values, outline, neighbouring territories and orphans (EPSG:4326).

    Units are communes, or the arrondissements municipaux of Paris, Lyon and Marseille when the
    perimeter lists them; polygons are the embedded display polygons (national, COG 2026). Orphans are the
    nearby ``orphan_units`` (orphan communes and uncovered arrondissements of the check).
    """
    import geopandas as gpd

    from cpts_diag.commune_geo import display_polygons
    from cpts_diag.geometry import territory_outlines

    communes = diag.communes
    units = list(dict.fromkeys(communes["unit"].dropna().astype(str)))
    try:
        polygons = display_polygons(units)
    except Exception:  # noqa: BLE001 - data not built: the report says the map is unavailable
        return None, None, None, None, units
    polygons = polygons[~polygons["code_insee"].duplicated()]
    geo = polygons.set_index("code_insee").geometry
    present = [u for u in units if u in geo.index]
    missing = [u for u in units if u not in geo.index]
    if not present:
        return None, None, None, None, missing

    epci_names, sirens = reference.epci["nom"], reference.communes["epci_siren"]
    # One row per unit: diagnose groups the members of a territory by unit (infracommunal: bool).
    rows = communes.set_index(communes["unit"].astype(str)).loc[present]
    values = rows[MAP_INDICATOR] if MAP_INDICATOR in communes else [np.nan] * len(present)
    columns = {
        "code_insee": present,
        "nom": rows["nom"].astype(str).to_numpy(),
        "population": rows["population"].astype(float).to_numpy() if "population" in communes else np.nan,
        "epci": [str(epci_names.get(s, s) or "—") for s in (sirens.get(str(c), "") for c in rows["code_insee"])],
        MAP_INDICATOR: [np.nan if fr.is_missing(v) else float(v) for v in values],
        "note": [_SHARED_NOTE if shared else "—" for shared in rows["infracommunal"]],
    }
    map_communes = gpd.GeoDataFrame(pd.DataFrame(columns), geometry=geo.loc[present].to_numpy(), crs=polygons.crs)
    own = map_communes.assign(cpts=territory)
    outline = territory_outlines(own, own[["cpts", "code_insee"]]).rename(columns={"territory": "cpts"})

    # Around: units within ~5 km of the territory's bounding box, at the level the file uses
    # (arrondissements of a city listed by arrondissement, whole communes otherwise).
    listed = _table_units(table, reference)
    by_arr = set(listed.loc[listed["unit"] != listed["code"], "code"])
    x0, y0, x1, y1 = map_communes.total_bounds
    near = display_polygons(bbox=(x0 - 0.06, y0 - 0.045, x1 + 0.06, y1 + 0.045))
    parent = reference.arrondissements["commune_parente"]
    is_arr = near["type"] == "ARM"
    keep = np.where(is_arr, near["code_insee"].map(parent).isin(by_arr), ~near["code_insee"].isin(by_arr))
    near = near[keep]
    near_codes = set(near["code_insee"])
    others = listed[listed["cpts"] != territory]
    near_names = set(others.loc[others["unit"].isin(near_codes), "cpts"])
    neighbours = None
    if near_names:
        members = others[others["cpts"].isin(near_names)]
        around = display_polygons(members["unit"])
        neighbours = territory_outlines(
            around, members.rename(columns={"unit": "code_insee"})[["cpts", "code_insee"]]
        ).rename(columns={"territory": "cpts"})
        neighbours = neighbours[neighbours.geometry.notna()]
    # orphans: nearby orphan units of the check (study area only; communes outside the file stay plain)
    orphan = near[near["code_insee"].isin(orphan_units)]
    orphans = None
    if len(orphan):
        orphans = orphan.assign(nom=orphan["code_insee"].map(reference.names))[["code_insee", "nom", "geometry"]]
    return map_communes, outline, neighbours, orphans, missing


def _orphan_units(check) -> frozenset:
    """Codes of the orphan communes and uncovered arrondissements of a check (what maps hatch)."""
    return frozenset(o["code_insee"] for o in check.orphans) | {a["code"] for a in check.uncovered_arrondissements}


# --------- cache of diagnostics (one computation per perimeter file and inputs, shared by a batch)
_CACHE_KEEP = 6
# The unpickled common part (reference, perimeter table, warnings, territory names) of the last cache
# folder read: the same for every report of a batch, unpickled once per kernel instead of once per report
# (~0.04 s for the national file). Keyed by io.atomic.file_state (its folder is the content fingerprint).
_COMMON: dict[tuple, tuple] = {}


def _cache_root() -> Path | None:
    """Private cache folder (``settings.CACHE_DIR``; ``0`` disables it), or None when unusable."""
    env = os.environ.get("CPTS_DIAG_CACHE", settings.CACHE_DIR)
    if env.strip().lower() in ("", "0", "off", "non", "aucun"):
        return None
    root = Path(env)
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = root.stat()
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o022):
            return None  # not ours, or writable by others: never unpickle from it
    except OSError:
        return None
    return root


class _DiagnosticCache:
    """Diagnostics and check findings of every territory of a perimeter file, pickled once, read by the next
    reports.

    The key is :func:`cpts_diag.io.fingerprint.run_fingerprint` (content of the perimeter and user files, of the
    embedded data and of the package source), with the files' paths (messages name them) and the library
    versions (pickles): any change computes afresh.
    """

    def __init__(self, folder: Path):
        self.folder = folder

    @classmethod
    def open(cls, perimeters, cpam, insee_ages, bpe) -> _DiagnosticCache | None:
        from cpts_diag.io.fingerprint import run_fingerprint

        root = _cache_root()
        if root is None:
            return None
        inputs = {"perimeters": perimeters, "cpam": cpam, "insee_ages": insee_ages, "bpe": bpe}
        key = run_fingerprint(
            inputs,
            paths={k: str(getattr(v, "value", v)) for k, v in inputs.items()},
            versions=[platform.python_version(), pd.__version__, np.__version__],
        )
        return cls(root / key[:24])

    @staticmethod
    def _entry(name: str) -> str:
        return hashlib.sha1(str(name).encode("utf-8")).hexdigest()[:20] + ".pkl"

    def load(self, territory: str | None):
        """(reference, perimeter table, warnings, orphan units, diagnostic, findings) of ``territory``, or None.

        The reference, table, warnings and orphan units are shared by the calls that read the same file: read only.
        """
        from cpts_diag.indicators import find_territory

        if not (self.folder / "complete").is_file():
            return None
        try:
            path = self.folder / "common.pkl"
            key = file_state(path)
            common = _COMMON.get(key)
            if common is None:
                with open(path, "rb") as fh:
                    reference, table, warnings, named_by, orphan_units = pickle.load(fh)
                common = (reference, table, warnings, named_by, orphan_units, table["cpts"].astype(str).unique())
                _COMMON.clear()
                _COMMON[key] = common
            reference, table, warnings, named_by, orphan_units, names = common
            name = find_territory(names, territory)
            if named_by is not None and territory and name != str(territory).strip():
                return None  # a one-territory file takes the name it is given: not the cached one
            with open(self.folder / self._entry(name), "rb") as fh:
                diag, findings = pickle.load(fh)
        # OSError: a folder pruned by another batch meanwhile, a file not readable; InputError: a one-territory
        # file cached under another name (it takes the name it is given), or no name given for several
        except (
            OSError,
            pickle.UnpicklingError,
            EOFError,
            AttributeError,
            ImportError,
            TypeError,
            ValueError,
            InputError,
        ):
            return None
        return reference, table, warnings, orphan_units, diag, findings

    def store(
        self, reference, table, warnings, named_by: str | None, orphan_units, diagnostics: dict, findings: dict
    ) -> None:
        """Write every diagnostic with its check findings, then the ``complete`` marker (each file atomically);
        ``named_by``: the ``territory_source`` of the perimeters (a one-territory file is cached under one name)."""
        from cpts_diag.io.atomic import atomic_path
        from cpts_diag.reference import Reference

        if (self.folder / "complete").is_file():
            return
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        base = Reference(**{f.name: getattr(reference, f.name) for f in dataclasses.fields(Reference)})
        with atomic_path(self.folder / "common.pkl") as tmp:
            common = (base, table, list(warnings), named_by, frozenset(orphan_units))
            tmp.write_bytes(pickle.dumps(common, protocol=pickle.HIGHEST_PROTOCOL))
        for name, diag in diagnostics.items():
            with atomic_path(self.folder / self._entry(name)) as tmp:
                tmp.write_bytes(pickle.dumps((diag, findings[name]), protocol=pickle.HIGHEST_PROTOCOL))
        with atomic_path(self.folder / "complete") as tmp:
            tmp.write_text("ok\n", encoding="utf-8")
        # keep the most recent entries only
        entries = sorted(
            (p for p in self.folder.parent.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in entries[_CACHE_KEEP:]:
            shutil.rmtree(old, ignore_errors=True)


def load_report_data(territory: str | None, perimeters="", cpam="", insee_ages="", bpe="", out_dir="") -> ReportData:
    """Load the perimeters, compute the diagnostic and prepare the map layers (once per report).

    ``territory``: case and accents ignored; an unknown name raises an InputError listing close matches; None or
    "": the file's only territory. It also names the territory of a file without territory column.
    ``perimeters``: "" is the embedded PACA listing (ARS PACA, 01/2026). ``cpam``: "" for the default of the
    command line (the FICTITIOUS example with the embedded listing only, :func:`cpts_diag.io.params.cpam_choice`),
    "exemple" (embedded FICTITIOUS table), "aucun" (none), or a CPAM / Rézone file. ``insee_ages``, ``bpe``: INSEE
    age-structure and BPE files (official layouts), "" for none. ``out_dir``: folder where
    :func:`write_outputs` writes; "" writes nothing. Relative paths are taken from the current folder (the
    folder the notebook runs in) and kept absolute.
    """
    from cpts_diag.checks import check_perimeters, territory_findings
    from cpts_diag.indicator_data import load_indicator_data
    from cpts_diag.indicators import diagnose, diagnose_all, find_territory
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.outputs.open_report import map_columns

    perimeters_path = settings.user_path(perimeters) or settings.DEFAULT_PERIMETERS
    choice = cpam_choice(cpam, perimeters_path)
    ages_path, bpe_path = settings.user_path(insee_ages), settings.user_path(bpe)
    cache = _DiagnosticCache.open(perimeters_path, choice, ages_path, bpe_path)
    hit = cache.load(territory) if cache is not None else None
    if hit is not None:
        reference, table, warnings, orphan_units, diag, findings = hit
    else:
        reference = load_indicator_data().reference  # one COG load per kernel
        perims = read_perimeters(perimeters_path, names_by_code=reference.names, territory=territory or None)
        table, warnings = perims.table, list(perims.warnings)
        name = find_territory(table["cpts"].astype(str).unique(), territory)  # unknown: InputError
        check = check_perimeters(perims, reference)
        orphan_units = _orphan_units(check)
        kwargs = {"cpam": choice.file, "insee_ages": ages_path, "bpe": bpe_path}
        diag = None
        if cache is not None:
            try:  # every territory at once (one vectorised pass), stored for the next reports
                every = diagnose_all(perims, reference, **kwargs)
                diag = every[name]
                everyone = {n: territory_findings(check, n) for n in every}
                cache.store(reference, table, warnings, perims.territory_source, orphan_units, every, everyone)
            except Exception:  # noqa: BLE001 - the cache is an optimisation only
                diag = None
        if diag is None:
            diag = diagnose(perims, name, reference, **kwargs)
        findings = territory_findings(check, name)
    map_communes, outline, neighbours, orphans, missing = _map_layers(
        table, diag.territory, diag, reference, orphan_units
    )
    return ReportData(
        territory=diag.territory,
        diag=diag,
        reference=reference,
        perimeters_path=Path(perimeters_path),
        # the file by its name, as everywhere in the report (not the folders of her computer)
        perimeter_warnings=[w.replace(f"« {perimeters_path} »", f"« {Path(perimeters_path).name} »") for w in warnings],
        perimeter=findings,
        map_communes=map_columns(map_communes, diag.communes),
        outline=outline,
        neighbours=neighbours,
        orphans=orphans,
        missing_polygons=missing,
        cpam_mode=choice.mode,
        insee_ages=ages_path,
        bpe=bpe_path,
        out_dir=settings.user_path(out_dir),
        cached=hit is not None,
    )
