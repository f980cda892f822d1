"""A FICTITIOUS example of the CPAM / Rézone-style commune table, for the PACA demo.

The real figures (patients without a médecin traitant, ALD, CSS per commune) are not open data. So that
the demo report shows every section, this module generates plausible, deterministic, clearly fictitious
figures for the PACA communes (Marseille by arrondissement). Every row carries ``donnees_fictives = 1``
and the file name says FICTIF; every indicator computed from it is flagged "données fictives".
Counts under 10 are written "<10", as a CPAM masks them, so that the masked-value path is exercised.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag.datasets import DATASETS
from cpts_diag.io.atomic import atomic_path

FILE_NAME = DATASETS["cpam_example"].file
SEED = 20260122
REGION = "93"
MASK_THRESHOLD = 10

# Plausible orders of magnitude (national ballpark, not a source): share of the population, then
# share without a médecin traitant, each drawn uniformly in [low, high].
_SHAPE = {
    "patients_17ans_plus": (0.70, 0.78, "patients_17ans_plus_sans_mt", 0.06, 0.16),
    "patients_70ans_plus": (0.13, 0.22, "patients_70ans_plus_sans_mt", 0.02, 0.08),
    "patients_ald": (0.18, 0.25, "patients_ald_sans_mt", 0.02, 0.06),
    "beneficiaires_css": (0.06, 0.16, "beneficiaires_css_sans_mt", 0.10, 0.22),
}


def _mask(values: np.ndarray) -> list[str]:
    return [f"<{MASK_THRESHOLD}" if v < MASK_THRESHOLD else str(int(v)) for v in values]


def build_cpam_example(out: Path, data_dir: Path | None = None) -> Path:
    """Write the fictitious CPAM example for the PACA communes into ``out``; return its path."""
    records = pd.read_csv((data_dir or out) / DATASETS["communes"].file, dtype=str, keep_default_na=False)
    paca = records[records["region"] == REGION]
    units = paca[
        ((paca["type"] == "commune-actuelle") & (paca["code_insee"] != "13055"))
        | (paca["type"] == "arrondissement-municipal")
    ].sort_values("code_insee")
    pop = pd.to_numeric(units["population"]).to_numpy()
    rng = np.random.default_rng(SEED)
    table = {"code_commune": units["code_insee"].to_list(), "nom_commune": units["nom"].to_list()}
    consumers = np.round(pop * rng.uniform(0.88, 0.96, len(pop)))
    for base, (lo, hi, without, wlo, whi) in _SHAPE.items():
        n = np.round(pop * rng.uniform(lo, hi, len(pop)))
        w = np.round(n * rng.uniform(wlo, whi, len(pop)))
        table[base], table[without] = _mask(n), _mask(w)
    table["population_consommante"] = _mask(consumers)
    table["annee"] = ["2025"] * len(pop)
    table["donnees_fictives"] = ["1"] * len(pop)
    path = out / FILE_NAME
    with atomic_path(path) as tmp:
        pd.DataFrame(table).to_csv(tmp, sep=";", index=False, encoding="utf-8", lineterminator="\n")
    return path
