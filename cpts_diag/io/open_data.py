"""Open data of the deeper diagnostic: loading the compact embedded files.

Five open sources complete the diagnostic (issue 10); each is built by ``cpts-diag data build`` into a
small CSV of ``data/`` (described in data/SOURCES.md; built by :mod:`cpts_diag.build.open_data`) and loaded here,
once:

* populations municipales 2016, 2019–2022 (INSEE, via ``@etalab/decoupage-administratif``), each
  published in its own COG, harmonised to COG 2026 by :func:`cpts_diag.build.open_data.harmonise_vintage`;
* Filosofi 2019 median disposable income per commune (INSEE), codes as published;
* the Assurance Maladie 2024 counts and densities of libéral professionals by département, région and
  France;
* the ARS nurse zonage per commune (arrondissement in Paris, Lyon, Marseille);
* INSEE crude mortality 2013–2018 by EPCI (geography ~2020) and département.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag.io.embedded import load_dataset

#: Population vintages harmonised to COG 2026 (2023 is the population légale of the COG 2026 file).
POP_VINTAGES = ("2016", "2019", "2020", "2021", "2022")

#: Vintage whose populations weight the social indicators (census 2022, the year of the shares).
SOCIAL_WEIGHT_VINTAGE = "2022"

#: ARS nurse zonage levels: level -> (published token, French label).
ZONAGE_LEVELS = {
    1: ("1_Tres_sous_dotee", "très sous-dotée"),
    2: ("2_Sous_dotee", "sous-dotée"),
    3: ("3_intermediaire", "intermédiaire"),
    4: ("4_Tres_dotee", "très dotée"),
    5: ("5_Sur_dotee", "sur-dotée"),
}


# ------------------------------------------------------------------------------------ loading
@dataclass(frozen=True)
class OpenData:
    """The embedded open data of the deeper diagnostic.

    * ``pop_hist``: indexed by COG 2026 unit (commune or arrondissement municipal), float ``pop_YYYY`` for
      :data:`POP_VINTAGES` (NaN when the unit cannot be harmonised alone);
    * ``pop_groups``: ``annee``, ``unites`` (tuple of units), ``population``: groups of units split since the vintage;
    * ``filosofi``: ``code`` (as published), ``nbpers`` (persons in fiscal households 2019), ``q2`` (median
      disposable income per consumption unit, €), NaN when absent;
    * ``ameli``: ``profession`` (id), ``niveau`` (departement | region | france), ``code``, ``effectif``,
      ``densite`` (per 100,000 of ``population_reference``: inhabitants, or the population of
      :data:`AMELI_DENOMINATORS`);
    * ``zonage``: nurse zonage level (1–5, float; NaN when « résultat non disponible ») by published code;
    * ``mortality``: ``niveau`` (epci | departement), ``code``, ``nom``, ``periode``, ``taux`` (‰, NaN when absent).
    """

    pop_hist: pd.DataFrame
    pop_groups: pd.DataFrame
    filosofi: pd.DataFrame
    ameli: pd.DataFrame
    zonage: pd.Series
    mortality: pd.DataFrame


@functools.lru_cache(maxsize=4)
def load_open_data(data_dir: str | Path | None = None) -> OpenData:
    """Load the embedded open data of the deeper diagnostic (cached).

    Raises InputError when a file is missing (data not built).
    """
    pop_hist = load_dataset("population_history", data_dir).set_index("code_insee")[[f"pop_{y}" for y in POP_VINTAGES]]
    groups = load_dataset("population_groups", data_dir)
    pop_groups = groups.assign(unites=[tuple(u.split("|")) for u in groups["unites"]])
    filo = load_dataset("filosofi", data_dir)
    filosofi = pd.DataFrame({"code": filo["CODGEO"], "nbpers": filo["NBPERS19"], "q2": filo["Q219"]})
    ameli = load_dataset("ameli", data_dir)
    zon = load_dataset("nurse_zonage", data_dir)
    zonage = pd.Series(zon["niveau"].to_numpy(), index=zon["code"], name="zonage")
    mortality = load_dataset("mortality", data_dir)
    return OpenData(
        pop_hist=pop_hist, pop_groups=pop_groups, filosofi=filosofi, ameli=ameli, zonage=zonage, mortality=mortality
    )


def weighted_quantile(values, weights, q: float) -> float:
    """Weighted quantile (lower value at which the cumulated weight reaches ``q``); NaN when empty.

    Examples
    --------
    >>> weighted_quantile([10, 20, 30], [1, 1, 2], 0.5)
    20.0
    """
    v = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    ok = ~np.isnan(v) & ~np.isnan(w) & (w > 0)
    v, w = v[ok], w[ok]
    if not len(v):
        return float("nan")
    order = np.argsort(v, kind="stable")
    v, w = v[order], w[order]
    cum = np.cumsum(w) / w.sum()
    return float(v[np.searchsorted(cum, q - 1e-12)])
