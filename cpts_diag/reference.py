"""COG 2026 commune reference: current communes, déléguées/associées, arrondissements, former codes.

Built from data/communes_cog2026.csv (see data/SOURCES.md). Every code is a ``str``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cpts_diag import settings
from cpts_diag.datasets import DATASETS
from cpts_diag.io.embedded import load_dataset

COG_VINTAGE = "COG 2026"
POPULATION_SOURCE = "INSEE, populations légales 2023 (population municipale), COG 2026"

CURRENT, ARRONDISSEMENT, FORMER, UNKNOWN = "current", "arrondissement", "former", "unknown"

_DELEGATED = ("commune-deleguee", "commune-associee")
_KIND_LABEL = {"commune-deleguee": "commune déléguée", "commune-associee": "commune associée"}


def former_code_map(communes: pd.DataFrame, changes: pd.DataFrame | None = None) -> dict[str, str]:
    """Map every former commune code to the current (COG 2026) commune that holds it.

    Sources, in order of authority: ``anciens_codes`` of current communes, parents of communes
    déléguées/associées, then the INSEE change table 2018 -> 2024 (fusions and changes of code,
    followed to a current code). A code that is a current commune is never remapped.
    """
    actual = communes[communes["type"] == "commune-actuelle"]
    current = set(actual["code_insee"])
    mapping: dict[str, str] = {}
    for code, former in zip(actual["code_insee"], actual["anciens_codes"].fillna("")):
        for old in filter(None, str(former).split("|")):
            if old not in current:
                mapping.setdefault(old, code)
    delegated = communes[communes["type"].isin(_DELEGATED)]
    for code, parent in zip(delegated["code_insee"], delegated["commune_parente"]):
        if code not in current and parent in current:
            mapping.setdefault(code, parent)
    if changes is not None:
        moves = changes[(changes["typemodif"].isin(["f", "c"])) & (changes["cod_from"] != changes["cod_to"])]
        step = dict(zip(moves["cod_from"], moves["cod_to"]))
        for old in step:
            if old in current or old in mapping:
                continue
            target, seen = step[old], {old}
            while target not in current and target in step and target not in seen:
                seen.add(target)
                target = step[target]
            target = target if target in current else mapping.get(target)
            if target:
                mapping[old] = target
    return mapping


@dataclass(frozen=True)
class Reference:
    """The commune reference of one COG vintage.

    ``records`` holds all records (types commune-actuelle, commune-deleguee, commune-associee,
    arrondissement-municipal), as published; ``communes`` the current communes indexed by ``code_insee`` (nom,
    departement, region, epci_siren, population as float); ``arrondissements`` the arrondissements municipaux
    (Paris, Lyon, Marseille) indexed by code, with their parent commune and population; ``former`` maps a
    former code to its current commune code.
    """

    records: pd.DataFrame
    communes: pd.DataFrame
    arrondissements: pd.DataFrame
    departements: pd.DataFrame
    regions: pd.DataFrame
    epci: pd.DataFrame
    former: dict[str, str]
    vintage: str = COG_VINTAGE
    _delegated_kind: dict[str, str] = field(default_factory=dict, repr=False)

    @functools.cached_property
    def names(self) -> dict[str, str]:
        """Code -> name of current communes and arrondissements municipaux."""
        return {**self.communes["nom"].to_dict(), **self.arrondissements["nom"].to_dict()}

    @functools.cached_property
    def record_names(self) -> dict[str, list[str]]:
        """Code -> names of every record with that code: the current commune or arrondissement, and the
        commune déléguée or associée that shares it or held it (« Étrez » for 01154)."""
        out: dict[str, list[str]] = {}
        for code, name in zip(self.records["code_insee"], self.records["nom"]):
            out.setdefault(code, []).append(name)
        return out

    @functools.cached_property
    def _name_keys(self) -> pd.DataFrame:
        """code_insee, type rank (current commune 0, arrondissement 1, déléguée or associée 2) and
        :func:`cpts_diag.text.commune_key` of the name of every record."""
        from cpts_diag.text import commune_keys

        rank = {"commune-actuelle": 0, "arrondissement-municipal": 1}
        return pd.DataFrame(
            {
                "code_insee": self.records["code_insee"].to_numpy(),
                "rank": self.records["type"].map(rank).fillna(2).to_numpy(),
                "key": commune_keys(self.records["nom"]),
            }
        )

    @functools.cached_property
    def name_keys(self) -> dict[str, frozenset[str]]:
        """Code -> :func:`cpts_diag.text.commune_key` of the names of its records (see :attr:`record_names`)."""
        keys = self._name_keys
        return {code: frozenset(group) for code, group in keys.groupby("code_insee", sort=False)["key"]}

    @functools.cached_property
    def codes_by_name(self) -> dict[str, list[str]]:
        """:func:`cpts_diag.text.commune_key` of a name -> codes of the records bearing it: current communes
        first, then arrondissements municipaux, then communes déléguées and associées (each by code)."""
        keys = self._name_keys.sort_values(["rank", "code_insee"], kind="stable").drop_duplicates(["key", "code_insee"])
        return {key: list(group) for key, group in keys.groupby("key", sort=False)["code_insee"]}

    def region_code(self, value, where: str = "option --region") -> str:
        """A région code as typed (``" 93"``, ``6`` -> ``"06"``), checked against the COG.

        Raises InputError (« code région inconnu (where) ») when it is not a région.
        """
        code = str(value).strip().upper()
        code = code.zfill(2) if code.isdigit() and len(code) == 1 else code
        if code not in self.regions.index:
            from cpts_diag.errors import InputError

            raise InputError(f"code région inconnu ({where})", value=str(value))
        return code

    def departement_name(self, code: str) -> str:
        return self.departements["nom"].get(code, code)

    def region_name(self, code: str) -> str:
        return self.regions["nom"].get(code, code)

    def resolve_codes(self, codes) -> pd.DataFrame:
        """Resolve codes against the COG, vectorised.

        Returns a DataFrame aligned on ``codes`` with columns ``code`` (as given), ``status``
        (current | arrondissement | former | unknown), ``code_current`` (the current commune, or NA),
        ``arrondissement`` (for an arrondissement municipal code, else NA) and ``note`` (French).
        """
        codes = pd.Series(codes, dtype=object).astype(str).reset_index(drop=True)
        is_current = codes.isin(self.communes.index)
        is_arr = codes.isin(self.arrondissements.index) & ~is_current
        former_target = codes.map(self.former)
        is_former = former_target.notna() & ~is_current & ~is_arr
        status = np.select([is_current, is_arr, is_former], [CURRENT, ARRONDISSEMENT, FORMER], UNKNOWN)
        code_current = pd.Series(pd.NA, index=codes.index, dtype=object)
        code_current[is_current] = codes[is_current]
        code_current[is_arr] = codes[is_arr].map(self.arrondissements["commune_parente"])
        code_current[is_former] = former_target[is_former]
        note = pd.Series("", index=codes.index, dtype=object)
        for i in np.flatnonzero(is_former.to_numpy()):
            old, new = codes[i], code_current[i]
            kind = self._delegated_kind.get(old, "ancienne commune")
            note[i] = f"{kind} {old} rattachée à {self.communes.at[new, 'nom']} ({new}) au {self.vintage}"
        return pd.DataFrame(
            {
                "code": codes,
                "status": status,
                "code_current": code_current,
                "arrondissement": codes.where(is_arr, pd.NA),
                "note": note,
            }
        )


def load_reference(data_dir: str | Path | None = None) -> Reference:
    """Load the embedded COG 2026 reference (cached per folder)."""
    return _load_reference(Path(data_dir or settings.DATA_DIR).resolve())


@functools.lru_cache(maxsize=4)
def _load_reference(data_dir: Path) -> Reference:
    folder = None if data_dir == settings.DATA_DIR.resolve() else data_dir
    records = load_dataset("communes", folder)
    changes = load_dataset("code_changes", data_dir) if (data_dir / DATASETS["code_changes"].file).exists() else None
    actual = records[records["type"] == "commune-actuelle"].set_index("code_insee")
    actual = actual.assign(population=pd.to_numeric(actual["population"]))
    arr = records[records["type"] == "arrondissement-municipal"].set_index("code_insee")
    arr = arr.assign(population=pd.to_numeric(arr["population"]))
    delegated = records[records["type"].isin(_DELEGATED)]
    kinds = {c: _KIND_LABEL[t] for c, t in zip(delegated["code_insee"], delegated["type"])}
    return Reference(
        records=records,
        communes=actual,
        arrondissements=arr,
        departements=load_dataset("departements", data_dir).set_index("code"),
        regions=load_dataset("regions", data_dir).set_index("code"),
        epci=load_dataset("epci", data_dir).set_index("siren"),
        former=former_code_map(records, changes),
        _delegated_kind=kinds,
    )
