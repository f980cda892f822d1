"""The one registry of professions agrees with itself and with the embedded Assurance Maladie file."""

from __future__ import annotations

import csv
from pathlib import Path

from cpts_diag.professions import (
    AMELI_DENOMINATORS,
    AMELI_INHABITANTS,
    AMELI_PROFESSIONS,
    BPE_OTHER_EQUIPMENTS,
    BPE_PROFESSIONS,
    GP_EQUIPMENT,
    bpe_label,
)

DATA = Path(__file__).resolve().parent.parent / "data"


def _ameli_rows() -> list[dict]:
    with open(DATA / "ameli_professionnels_liberaux_2024.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_embedded_ameli_file_holds_exactly_the_registry_professions_and_denominators():
    rows = _ameli_rows()
    ids = [pid for pid, _label in AMELI_PROFESSIONS.values()]
    assert len(set(ids)) == len(ids) == 14
    assert {r["profession"] for r in rows} == set(ids)
    denominators = {(r["profession"], r["population_reference"]) for r in rows}
    assert denominators == {(pid, AMELI_DENOMINATORS.get(pid, AMELI_INHABITANTS)) for pid in ids}
    assert ("sages_femmes", "femmes de 15 à 49 ans") in denominators


def test_bpe_codes_link_only_to_ameli_professions():
    ameli_ids = {pid for pid, _label in AMELI_PROFESSIONS.values()}
    linked = {key for _label, key in BPE_PROFESSIONS.values() if key}
    assert linked <= ameli_ids
    assert BPE_PROFESSIONS[GP_EQUIPMENT] == ("Médecins généralistes", "medecins_generalistes")
    assert not set(BPE_PROFESSIONS) & BPE_OTHER_EQUIPMENTS
    assert set(AMELI_DENOMINATORS) <= ameli_ids


def test_labels_of_known_and_unknown_codes():
    assert bpe_label("D277") == "Chirurgiens-dentistes"
    assert bpe_label("D246") == "Code BPE D246 (non répertorié)"  # orthophonistes: no code in the BPE 2024 list
