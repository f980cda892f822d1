"""Proposals of a perimeter check (cpts_diag.proposals) and the tier margins of its territories.

On the embedded PACA listing and on territories built here from real communes of other régions (the EPCI of the
Ain, the Haute-Garonne, the Finistère, the Bas-Rhin and La Réunion). Every expectation is recomputed in the test
from the raw embedded files read with pandas as text: the COG 2026 (populations légales 2023), the commune
adjacency and its shared borders, the ARS PACA listing.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from cpts_diag import settings
from cpts_diag.checks import check_perimeters
from cpts_diag.io.perimeters import read_perimeters

DATA = settings.DATA_DIR
THRESHOLDS = (40_000, 80_000, 175_000)


def _tier(population: int) -> int:
    """ACI tier written out here: each threshold belongs to the upper tier."""
    return 1 + sum(population >= t for t in THRESHOLDS)


@pytest.fixture(scope="module")
def cog() -> pd.DataFrame:
    raw = pd.read_csv(DATA / "communes_cog2026.csv", dtype=str, keep_default_na=False)
    raw = raw[raw["type"].isin(["commune-actuelle", "arrondissement-municipal"])].copy()
    raw["population"] = pd.to_numeric(raw["population"]).astype("Int64")  # the collectivités d'outre-mer: none
    return raw.set_index("code_insee")


@pytest.fixture(scope="module")
def links() -> pd.DataFrame:
    """Every adjacency pair, both ways (columns a, b, lien, frontiere_km as text)."""
    raw = pd.read_csv(DATA / "communes_adjacence_cog2026.csv", dtype=str, keep_default_na=False)
    return pd.concat([raw, raw.rename(columns={"a": "b", "b": "a"})], ignore_index=True)


_NEIGHBOURS: dict[int, dict] = {}


def _neighbours(links: pd.DataFrame, code: str, kinds=("contact",)) -> set[str]:
    """The units linked to ``code`` by a link of ``kinds`` (an index of ``links`` built once)."""
    index = _NEIGHBOURS.get(id(links))
    if index is None:
        index = _NEIGHBOURS[id(links)] = {}
        for a, b, kind in zip(links["a"], links["b"], links["lien"]):
            index.setdefault((a, kind), set()).add(b)
    return set().union(*(index.get((code, kind), set()) for kind in kinds))


def _epci_territories(cog: pd.DataFrame, departement: str) -> dict[str, list[str]]:
    """Territory « EPCI <siren> » -> its communes (COG 2026) in one département."""
    communes = cog[(cog["type"] == "commune-actuelle") & (cog["departement"] == departement)]
    return {f"EPCI {siren}": list(group.index) for siren, group in communes.groupby("epci_siren")}


def _write(tmp_path, territories: dict[str, list[str]], name: str = "perimetres.csv"):
    path = tmp_path / name
    lines = ["CPTS;Code INSEE"] + [f"{t};{c}" for t, codes in territories.items() for c in codes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _proposal(report, code: str) -> dict:
    return next(p for p in report.proposals if code in p["codes"])


# ---------------------------------------------------------------------------------------------- PACA


@pytest.fixture(scope="module")
def paca(cog):
    """The PACA check and the units (communes, arrondissements of Marseille) of each territory, from the raw
    ARS listing; a former code (05120 Ristolas) is its commune (05001)."""
    listing = json.loads((DATA / "perimetres" / "cpts_paca_ars_2026-01.json").read_text(encoding="utf-8"))
    records = pd.read_csv(DATA / "communes_cog2026.csv", dtype=str, keep_default_na=False)
    delegated = dict(zip(records["code_insee"], records["commune_parente"]))
    units, infra = {}, {}
    for t in listing["cpts"]:
        arr = t.get("arrondissements") or []
        codes = [c for c in t["communes"] if not (arr and c == "13055")] + arr
        units[t["nom"]] = {c if c in cog.index else delegated[c] for c in codes}
        infra[t["nom"]] = {c for c in units[t["nom"]] if cog.at[c, "nom"] in (t.get("infra") or [])}
    return check_perimeters(read_perimeters(settings.DEFAULT_PERIMETERS)), units, infra


def test_paca_every_orphan_gets_candidates_the_adjacent_ones_first(paca, links):
    report, units, _ = paca
    orphans = [o["code_insee"] for o in report.orphans] + [a["code"] for a in report.uncovered_arrondissements]
    proposed = [p for p in report.proposals if p["kind"] == "orphan"]
    assert sorted(p["code_insee"] for p in proposed) == sorted(orphans) and len(orphans) == 46
    for p in proposed:
        code = p["code_insee"]
        assert p["candidates"], code
        touching = {t for t, members in units.items() if members & _neighbours(links, code)}
        contact = [c["territory"] for c in p["candidates"] if c["link"] == "contact"]
        assert set(contact) == touching, code
        # adjacent candidates first, ranks 1, 2, 3…
        assert [c["link"] == "contact" for c in p["candidates"]] == sorted(
            (c["link"] == "contact" for c in p["candidates"]), reverse=True
        )
        assert [c["rank"] for c in p["candidates"]] == list(range(1, len(p["candidates"]) + 1))
        if not touching:  # nearest: the territories touching an orphan next to it
            assert all(c["link"] is None and c["distance"] == 2 for c in p["candidates"]), code
            around = {
                t
                for other in _neighbours(links, code, ("contact", "proche", "mer_ou_etranger", "possible"))
                if other in orphans
                for t, members in units.items()
                if members & _neighbours(links, other, ("contact", "proche", "mer_ou_etranger", "possible"))
            }
            assert {c["territory"] for c in p["candidates"]} <= around and p["candidates"], code
    # Châteaufort (04050) touches no territory: its candidates are across one orphan commune
    assert [c["link"] for c in _proposal(report, "04050")["candidates"]] == [None, None, None]


def test_paca_population_and_tier_after_are_recomputed_from_the_cog(paca, cog):
    report, units, infra = paca
    for p in report.proposals:
        added = sum(int(cog.at[c, "population"]) for c in p["codes"])
        assert p["population"] == added
        for c in p["candidates"]:
            members = units[c["territory"]]
            high = sum(int(cog.at[u, "population"]) for u in members) + added
            low = high - sum(int(cog.at[u, "population"]) for u in infra[c["territory"]])
            assert (c["population_after_min"], c["population_after_max"]) == (low, high)
            if low == high:
                assert c["population_after"] == high and c["tier_after"] == _tier(high)
                before = _tier(high - added)
                assert c["tier_before"] == before and c["tier_changes"] == (before != _tier(high))
                assert c["tier_margin_after"] == high - min(THRESHOLDS, key=lambda t: (abs(high - t), -t))
            else:  # a commune split infra-communally (Nice, Toulon): bounds only
                assert c["population_after"] is None and c["tier_margin_after"] is None
                assert (c["tier_after_min"], c["tier_after_max"]) == (_tier(low), _tier(high))


def test_paca_ranking_reasons_come_from_the_embedded_data(paca, cog, links):
    report, units, _ = paca
    bassins = pd.read_csv(DATA / "communes_bv2022.csv", dtype=str, keep_default_na=False).set_index("code_insee")
    parent = {c: cog.at[c, "commune_parente"] or c for c in cog.index}
    orphans = {p["code_insee"] for p in report.proposals}
    near = links[links["a"].isin(orphans) & (links["lien"] == "contact")]
    for p in (q for q in report.proposals if q["kind"] == "orphan"):
        code = p["code_insee"]
        for c in p["candidates"]:
            members = units[c["territory"]]
            contact = near[(near["a"] == code) & near["b"].isin(members)]
            if c["link"] == "contact":
                assert c["border_km"] == pytest.approx(sum(map(float, contact["frontiere_km"])), abs=1e-6)
            epcis = {cog.at[parent[u], "epci_siren"] for u in members}
            assert c["same_epci"] == (cog.at[parent[code], "epci_siren"] in epcis)
            bvs = {bassins.at[parent[u], "bv2022"] for u in members}
            assert c["same_bassin_de_vie"] == (bassins.at[parent[code], "bv2022"] in bvs)
    # Mandelieu-la-Napoule: Pays de Lérins (same bassin de vie and EPCI, longest such border) first
    first = _proposal(report, "06079")["candidates"][0]
    assert first["territory"] == "CPTS du Pays de Lérins" and first["same_epci"] and first["same_bassin_de_vie"]
    assert "frontière commune de 5,2\u00a0km" in first["reasons"][0]


# ---------------------------------------------------------------------------------------------- other régions


def test_bretagne_orphan_with_candidates_of_the_finistere(tmp_path, cog, links):
    territories = _epci_territories(cog, "29")
    guipavas = "29075"
    own = next(t for t, codes in territories.items() if guipavas in codes)
    territories[own].remove(guipavas)
    report = check_perimeters(read_perimeters(_write(tmp_path, territories)))
    assert [p["code_insee"] for p in report.proposals] == [guipavas]
    p = report.proposals[0]
    touching = {t for t, codes in territories.items() if set(codes) & _neighbours(links, guipavas)}
    assert {c["territory"] for c in p["candidates"]} == touching
    first = p["candidates"][0]
    assert first["territory"] == own and first["same_epci"]  # its own EPCI (Brest Métropole) first
    total = sum(int(cog.at[c, "population"]) for c in territories[own]) + int(cog.at[guipavas, "population"])
    assert first["population_after"] == total and first["tier_after"] == _tier(total)


def test_ain_a_proposal_that_crosses_a_threshold_says_so(tmp_path, cog):
    from cpts_diag.outputs.check_text import format_text, proposal_text

    territories = _epci_territories(cog, "01")
    # an EPCI whose population falls under 40 000 without one of its communes (found here from the COG)
    crossing = next(
        (t, c)
        for t, codes in sorted(territories.items())
        for c in codes
        if sum(int(cog.at[x, "population"]) for x in codes)
        >= 40_000
        > sum(int(cog.at[x, "population"]) for x in codes if x != c)
    )
    territory, commune = crossing
    territories[territory].remove(commune)
    report = check_perimeters(read_perimeters(_write(tmp_path, territories)))
    p = _proposal(report, commune)
    option = next(c for c in p["candidates"] if c["territory"] == territory)
    total = sum(int(cog.at[x, "population"]) for x in territories[territory]) + int(cog.at[commune, "population"])
    assert (option["tier_before"], option["tier_after"], option["tier_changes"]) == (1, 2, True)
    assert option["population_after"] == total and total >= 40_000
    assert "taille 1 → taille 2 (change de taille)" in proposal_text(p)
    assert "change de taille" in format_text(report)


def test_haute_garonne_conflict_options_keep_it_in_one_territory(tmp_path, cog, links):
    territories = _epci_territories(cog, "31")
    # a commune of one EPCI (that it shares borders with) also listed by a neighbouring EPCI's territory
    a, commune, b = next(
        (t, c, u)
        for t, codes in sorted(territories.items())
        if len(codes) >= 5
        for c in codes
        if set(codes) & _neighbours(links, c)
        for u, others in sorted(territories.items())
        if u != t and set(others) & _neighbours(links, c)
    )
    territories[b] = territories[b] + [commune]
    report = check_perimeters(read_perimeters(_write(tmp_path, territories)))
    assert [o["code_insee"] for o in report.conflicts] == [commune]
    p = _proposal(report, commune)
    assert p["kind"] == "overlap" and {c["territory"] for c in p["candidates"]} == {a, b}

    def population(t, without=()):
        return sum(int(cog.at[x, "population"]) for x in territories[t] if x not in without)

    for option in p["candidates"]:
        keeps = option["territory"]
        after = {o["territory"]: o for o in option["territories_after"]}
        other = b if keeps == a else a
        assert after[keeps]["keeps"] and not after[other]["keeps"]
        assert after[keeps]["population_after"] == population(keeps) == option["population_after"]
        assert after[other]["population_after"] == population(other, {commune})
        assert after[other]["tier_after"] == _tier(population(other, {commune}))
    # its own EPCI, which it touches, ranks first
    assert p["candidates"][0]["territory"] == a and p["candidates"][0]["same_epci"]


def test_bas_rhin_enclave_proposal_is_the_surrounding_territory(tmp_path, cog, links):
    geo = pd.read_csv(DATA / "communes_geo_cog2026.csv", dtype=str, keep_default_na=False).set_index("code_insee")
    territories = _epci_territories(cog, "67")
    owner = {c: t for t, codes in territories.items() for c in codes}
    inland = next(
        c
        for c in sorted(owner)
        if float(geo.at[c, "limite_exterieure_km"] or 0) == 0
        and len(_neighbours(links, c)) >= 3
        and {owner.get(n) for n in _neighbours(links, c, ("contact", "proche", "mer_ou_etranger", "possible"))}
        == {owner[c]}
    )
    territory = owner[inland]
    territories[territory].remove(inland)
    report = check_perimeters(read_perimeters(_write(tmp_path, territories)))
    assert [e["communes"] for e in report.enclaves] == [[inland]]
    enclave = next(p for p in report.proposals if p["kind"] == "enclave")
    assert enclave["codes"] == [inland] and [c["territory"] for c in enclave["candidates"]] == [territory]
    total = sum(int(cog.at[x, "population"]) for x in territories[territory]) + int(cog.at[inland, "population"])
    assert enclave["candidates"][0]["population_after"] == total
    assert enclave["candidates"][0]["reasons"][0] == f"groupe entouré par {territory}"


def test_la_reunion_orphan_proposals(tmp_path, cog, links):
    territories = _epci_territories(cog, "974")
    saint_paul = "97415"
    own = next(t for t, codes in territories.items() if saint_paul in codes)
    territories[own].remove(saint_paul)
    report = check_perimeters(read_perimeters(_write(tmp_path, territories)))
    p = _proposal(report, saint_paul)
    touching = {t for t, codes in territories.items() if set(codes) & _neighbours(links, saint_paul)}
    assert {c["territory"] for c in p["candidates"] if c["link"] == "contact"} == touching and touching
    for c in p["candidates"]:
        total = sum(int(cog.at[x, "population"]) for x in territories[c["territory"]]) + 108_088
        assert c["population_after"] == total and c["tier_after"] == _tier(total)
    assert int(cog.at[saint_paul, "population"]) == 108_088


def test_communes_outside_the_file_get_no_proposal(tmp_path, cog):
    territories = _epci_territories(cog, "29")
    one = dict([next(iter(sorted(territories.items())))])  # one territory: the Finistère is not the study area
    report = check_perimeters(read_perimeters(_write(tmp_path, one)))
    assert report.outside_file and not report.orphans and report.proposals == []


def test_no_proposal_without_the_commune_adjacency(tmp_path, cog):
    territories = _epci_territories(cog, "29")
    territories[next(t for t, codes in territories.items() if "29075" in codes)].remove("29075")
    report = check_perimeters(read_perimeters(_write(tmp_path, territories)), geometries=None)
    assert report.orphans and report.proposals == []
    assert any("propositions de rattachement non établies" in n for n in report.notes)


# ---------------------------------------------------------------------------------------------- tier margins


def test_tier_margins_of_every_territory(paca):
    report, _, _ = paca
    for t in report.territories:
        if t["approximate"]:
            assert t["tier_margin"] is None and t["tier_threshold"] is None
            low, high = t["population_min"], t["population_max"]
            near = any(low <= s * 1.05 and high >= s * 0.95 for s in THRESHOLDS)
            assert t["near_threshold"] is (None if near else False)
            continue
        pop = t["population"]
        nearest = min(THRESHOLDS, key=lambda s: (abs(pop - s), -s))
        assert (t["tier_margin"], t["tier_threshold"]) == (pop - nearest, nearest)
        assert t["near_threshold"] == (abs(pop - nearest) <= 0.05 * nearest)
    cerebellum = next(t for t in report.territories if t["name"] == "CPTS Cerebellum Pays des Sorgues et Luberon")
    assert (cerebellum["population"], cerebellum["tier_margin"], cerebellum["near_threshold"]) == (81_461, 1_461, True)
    assert report.summary["n_near_threshold"] == sum(t["near_threshold"] is True for t in report.territories) == 8


def test_check_json_carries_the_proposals(capsys):
    from cpts_diag.cli import main

    assert main(["check", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc["proposals"]) == doc["summary"]["n_proposals"] == 46
    first = doc["proposals"][0]
    assert set(first) == {"kind", "unit", "code_insee", "codes", "name", "population", "departement", "candidates"}
    assert {"territory", "population_after", "tier_after", "reasons", "rank"} <= set(first["candidates"][0])
    assert {"tier_margin", "tier_threshold", "near_threshold"} <= set(doc["territories"][0])
