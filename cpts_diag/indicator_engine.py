"""The vectorised pass of the indicators (:mod:`cpts_diag.indicators` explains the method).

:class:`Pass` holds the membership of every group (territories, départements, régions, France) and the
per-unit sums and flags each source adds; a :class:`Spec` says how an indicator is computed from them and
:func:`evaluate` computes it for every group at once (:class:`Result`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from cpts_diag.indicator_data import Source
from cpts_diag.reference import Reference
from cpts_diag.schema import FRANCE_ZONES, FULL_COVERAGE, Quality

#: A comparison level (département, région, France) whose coverage is below this share is not shown.
MIN_COMPARISON_COVERAGE = 0.5


@dataclass(frozen=True)
class Spec:
    """How an indicator is computed from the per-unit sums and flags of a :class:`Pass`.

    ``kind`` is ratio (``num`` / ``den``), sum (of ``num``), masked_ratio or masked_sum (``num``, ``den``:
    CPAM count columns with masked cells) or special (computed apart); ``has`` names the unit flags of
    "has data" (and of "approximate value", :attr:`Pass.approx`, when set). ``unit_column``: the unit's own
    value is a column of ``Diagnostic.communes``; ``by_arrondissement``: a commune-level source publishes
    Paris, Lyon and Marseille by arrondissement (False: whole cities only).
    """

    id: str
    label: str
    theme: str
    unit: str
    source: Source
    vintage: str
    kind: str = "ratio"
    num: str = ""
    den: str = ""
    has: str = ""
    source_level: str = "commune"
    scale: float = 1.0
    proxy: bool = False
    departement_only: bool = False
    unit_column: bool = True
    by_arrondissement: bool = True


def keyed_spec(
    ident: str, label: str, theme: str, unit: str, source: Source, vintage: str, kind="ratio", key="", **options
):
    """A spec reading the per-unit sums ``key|num``, ``key|den`` and flags ``key`` (``key`` defaults to ``ident``)."""
    key = key or ident
    return Spec(ident, label, theme, unit, source, vintage, kind, f"{key}|num", f"{key}|den", key, **options)


class Result(NamedTuple):
    """One indicator for every group (arrays); ``present``: the group has a row for it."""

    value: np.ndarray
    value_low: np.ndarray
    value_high: np.ndarray
    coverage: np.ndarray
    quality: np.ndarray
    present: np.ndarray


def bincount(index: np.ndarray, weights, size: int) -> np.ndarray:
    return np.bincount(index, weights=np.asarray(weights, dtype=float), minlength=size)[:size]


# --------------------------------------------------------------------------------- engine
class Pass:
    """One vectorised pass: membership of every group, per-unit and per-group sums."""

    def __init__(self, names: list[str], units: pd.DataFrame, reference: Reference):
        self.reference = reference
        self.territories = list(dict.fromkeys(names))
        france = reference.communes[reference.communes["zone"].isin(FRANCE_ZONES)]
        deps, regions = sorted(set(france["departement"])), sorted(set(france["region"]))
        # group ids: territories, départements (the base groups, fed directly by units), régions, France
        self.n_terr, self.n_base = len(self.territories), len(self.territories) + len(deps)
        self.dep_gid = {d: self.n_terr + i for i, d in enumerate(deps)}
        self.reg_gid = {r: self.n_base + i for i, r in enumerate(regions)}
        self.france_gid = self.n_base + len(regions)
        self.n_groups = self.france_gid + 1
        dep_region = reference.departements["region"]
        self.dep_to_reg = np.array([self.reg_gid[dep_region[d]] for d in deps])

        terr = pd.DataFrame(
            {
                "group": units["cpts"].map({name: i for i, name in enumerate(self.territories)}).to_numpy(dtype=int),
                "key": units["unit"].astype(object).to_numpy(),
                "code_insee": units["code_insee"].astype(object).to_numpy(),
                "arrondissement": units["arrondissement"].astype(object).to_numpy(),
                "departement": units["departement"].astype(object).to_numpy(),
                "population": units["population"].to_numpy(dtype=float),
                "infra": units["infracommunal"].to_numpy(dtype=bool),
            }
        )
        comm = pd.DataFrame(
            {
                "group": france["departement"].map(self.dep_gid).to_numpy(dtype=int),
                "key": france.index.astype(object).to_numpy(),
                "code_insee": france.index.astype(object).to_numpy(),
                "arrondissement": pd.Series(pd.NA, index=france.index, dtype=object).to_numpy(),
                "departement": france["departement"].astype(object).to_numpy(),
                "population": france["population"].to_numpy(dtype=float),
                "infra": np.zeros(len(france), dtype=bool),
            }
        )
        self.m = pd.concat([terr, comm], ignore_index=True)
        self.n_rows = len(self.m)
        self.n_terr_rows = len(terr)
        self.group = self.m["group"].to_numpy()
        self.infra = self.m["infra"].to_numpy()
        self.population = np.nan_to_num(self.m["population"].to_numpy(dtype=float))
        self.unit_values: dict[str, np.ndarray] = {}  # per-M-row contributions
        self.has: dict[str, np.ndarray] = {}  # per-M-row "has data" flags
        self.approx: dict[str, np.ndarray] = {}  # per-M-row "value approximate" flags (keyed like has)
        self.specs: list[Spec] = []

    # -- joining sources ------------------------------------------------------------------
    def join(self, rows: pd.DataFrame, on: str = "key") -> tuple[np.ndarray, pd.DataFrame]:
        """(M row of each matched source row, matched source rows)."""
        left = pd.DataFrame({on: self.m[on].to_numpy(), "_row": np.arange(self.n_rows)})
        joined = left.merge(rows, on=on, how="inner", sort=False)
        return joined["_row"].to_numpy(), joined

    def add(self, name: str, row: np.ndarray, values) -> None:
        """Sum ``values`` of matched source rows into per-unit contributions ``name``."""
        values = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=np.inf)
        self.unit_values[name] = bincount(row, values, self.n_rows)

    def flags(self, row: np.ndarray, present) -> np.ndarray:
        """Per-unit flags: whether any matched source row of the unit is ``present``."""
        return bincount(row, np.asarray(present, dtype=float), self.n_rows) > 0

    def add_ratio(self, key: str, row: np.ndarray, ok: np.ndarray, num, den) -> None:
        """Per-unit sums ``key|num`` and ``key|den`` of the matched source rows where ``ok``, flags ``key``."""
        self.add(f"{key}|num", row, np.where(ok, num, 0.0))
        self.add(f"{key}|den", row, np.where(ok, den, 0.0))
        self.has[key] = self.flags(row, ok)

    # -- reducing to groups ---------------------------------------------------------------
    def _rollup(self, base: np.ndarray) -> np.ndarray:
        """Extend base-group sums (territories, départements) with régions and France."""
        out = np.zeros(self.n_groups)
        out[: self.n_base] = base
        dep_part = base[self.n_terr : self.n_base]
        out += bincount(self.dep_to_reg, dep_part, self.n_groups)
        out[self.france_gid] = dep_part.sum()
        return out

    def group_sum(self, per_row: np.ndarray, certain: bool = False) -> np.ndarray:
        weights = np.where(self.infra, 0.0, per_row) if certain else per_row
        return self._rollup(bincount(self.group, weights, self.n_base))

    def coverage(self, has: str) -> tuple[np.ndarray, np.ndarray]:
        """(coverage share, any split unit with data) per group."""
        flags = self.has[has]
        covered = self.group_sum(self.population * flags)
        total = self.group_sum(self.population)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, covered / total, np.where(self.group_sum(flags * 1.0) > 0, 1.0, 0.0))
        split = self.group_sum((flags & self.infra) * 1.0) > 0
        return share, split


# ---------------------------------------------------------------------------- evaluation
def _ratio(num, den, scale):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, scale * num / den, np.nan)


def _masked_ratio_bounds(nl, nb, dl, db, scale):
    """Share bounds as cpts_diag.masked.share_bounds, vectorised; (value, low, high)."""
    nh, dh = nl + nb, dl + db
    exact = (nb == 0) & (db == 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(exact & (dl > 0), np.clip(nl / dl, 0, 1), np.nan)
        low = np.where(np.isinf(dh), 0.0, nl / dh)
        high = np.where(dl > 0, nh / dl, 1.0)
    empty = ~(dh > 0)
    low = np.where(empty, np.nan, np.clip(low, 0, 1))
    high = np.where(empty, np.nan, np.clip(high, 0, 1))
    return scale * value, scale * low, scale * high


def evaluate(p: Pass, spec: Spec) -> Result:
    """Value, bounds, coverage and quality of one indicator for every group (arrays)."""
    coverage, split = p.coverage(spec.has)
    complete = coverage >= FULL_COVERAGE
    n_masked = np.zeros(p.n_groups)
    if spec.kind == "ratio":
        num, den = p.unit_values[spec.num], p.unit_values[spec.den]
        value = _ratio(p.group_sum(num), p.group_sum(den), spec.scale)
        v_cert = _ratio(p.group_sum(num, True), p.group_sum(den, True), spec.scale)
        ranged = split & ~np.isnan(v_cert) & ~np.isclose(v_cert, value)
        low = np.where(ranged, np.fmin(value, v_cert), np.nan)
        high = np.where(ranged, np.fmax(value, v_cert), np.nan)
    elif spec.kind == "sum":
        s_all = p.group_sum(p.unit_values[spec.num])
        s_cert = p.group_sum(p.unit_values[spec.num], True)
        value = np.where(complete & ~split, s_all, np.nan)
        low = np.where(complete & ~split, np.nan, np.where(split, s_cert, s_all))
        high = np.where(split & complete, s_all, np.nan)
    elif spec.kind == "masked_sum":
        lo_all = p.group_sum(p.unit_values[f"{spec.num}|low"])
        bound = p.group_sum(p.unit_values[f"{spec.num}|bound"])
        lo_cert = p.group_sum(p.unit_values[f"{spec.num}|low"], True)
        n_masked = p.group_sum(p.unit_values[f"{spec.num}|nmask"])
        exact = (n_masked == 0) & complete & ~split
        value = np.where(exact, lo_all, np.nan)
        low = np.where(exact, np.nan, np.where(split, lo_cert, lo_all))
        high = np.where(exact | ~complete, np.nan, lo_all + bound)
    else:  # masked_ratio

        def bounds(certain):  # from the known numerator and denominator and the bounds of their masked cells
            nl, nb, dl, db = (
                p.group_sum(p.unit_values[f"{c}|{part}"], certain)
                for c in (spec.num, spec.den)
                for part in ("low", "bound")
            )
            return _masked_ratio_bounds(nl, nb, dl, db, spec.scale)

        (value, l_all, h_all), (_v, l_cert, h_cert) = bounds(False), bounds(True)
        n_masked = p.group_sum(p.unit_values[f"{spec.num}|nmask"]) + p.group_sum(p.unit_values[f"{spec.den}|nmask"])
        exact = (n_masked == 0) & ~split
        low = np.where(exact, np.nan, np.where(split, np.fmin(l_all, l_cert), l_all))
        high = np.where(exact, np.nan, np.where(split, np.fmax(h_all, h_cert), h_all))
    approx = p.group_sum(p.approx[spec.has] * 1.0) > 0 if spec.has in p.approx else False
    quality = np.where(
        (coverage < FULL_COVERAGE) | (n_masked > 0),
        Quality.MASKED.value,
        np.where(split | spec.proxy | approx, Quality.APPROXIMATE.value, Quality.EXACT.value),
    ).astype(object)
    if spec.source.fictitious:
        quality[:] = Quality.FICTITIOUS.value
    # a range that collapses (e.g. a split commune contributing nothing) is a value
    collapse = np.isfinite(low) & np.isfinite(high) & np.isclose(low, high)
    value = np.where(collapse & np.isnan(value), low, value)
    low, high = np.where(collapse, np.nan, low), np.where(collapse, np.nan, high)
    # no data at all, or a comparison level too little covered: not shown
    comparison = np.arange(p.n_groups) >= p.n_terr
    hidden = (coverage <= 0) | (comparison & (coverage < MIN_COMPARISON_COVERAGE))
    value, low, high = (np.where(hidden, np.nan, a) for a in (value, low, high))
    return Result(value, low, high, coverage, quality, comparison | (not spec.departement_only))


def special_values(p: Pass, terr_table: pd.DataFrame) -> dict[str, Result]:
    """Number of communes and ACI tier (territories from territory_table)."""
    n = p.n_groups
    idx = terr_table.set_index("cpts").reindex(p.territories)
    n_comm = bincount(p.group[p.n_terr_rows :], np.ones(p.n_rows - p.n_terr_rows), p.n_base)
    n_comm[: p.n_terr] = idx["n_communes"].to_numpy(dtype=float)
    tiers = idx[["tier", "tier_min", "tier_max"]].astype(float).reset_index(drop=True).reindex(range(n))
    approx = np.r_[idx["approximate"].to_numpy(dtype=bool), np.zeros(n - p.n_terr, dtype=bool)]
    tier_quality = np.where(approx, Quality.APPROXIMATE.value, Quality.EXACT.value).astype(object)
    exact = np.full(n, Quality.EXACT.value, dtype=object)
    no_bounds = np.full(n, np.nan)
    return {
        "nombre_communes": Result(p._rollup(n_comm), no_bounds, no_bounds, np.ones(n), exact, np.ones(n, dtype=bool)),
        "taille_aci": Result(
            tiers["tier"].to_numpy(),
            np.where(approx, tiers["tier_min"], np.nan),
            np.where(approx, tiers["tier_max"], np.nan),
            np.ones(n),
            tier_quality,
            np.arange(n) < p.n_terr,
        ),
    }


def unit_value(p: Pass, spec: Spec) -> np.ndarray:
    """Each territory unit's own value of an indicator (NaN when unknown or masked)."""

    def own(name):
        return p.unit_values[name][: p.n_terr_rows]

    if spec.kind == "ratio":
        out = _ratio(own(spec.num), own(spec.den), spec.scale)
    elif spec.kind == "sum":
        out = own(spec.num)
    elif spec.kind == "masked_sum":
        out = np.where(own(f"{spec.num}|nmask") == 0, own(f"{spec.num}|low"), np.nan)
    else:  # masked_ratio
        known = (own(f"{spec.num}|nmask") == 0) & (own(f"{spec.den}|nmask") == 0)
        out = np.where(known, _ratio(own(f"{spec.num}|low"), own(f"{spec.den}|low"), spec.scale), np.nan)
    return np.where(p.has[spec.has][: p.n_terr_rows], out, np.nan)
