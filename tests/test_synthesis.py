"""Strengths and weaknesses derived from the indicators (cpts_diag.synthesis): the gap rule, one conclusion per
figure, the more direct indicator first, zero counts worded; then every EPCI of Bretagne, Grand Est and La Réunion
diagnosed and checked for contradictions, with expectations recomputed from the raw embedded files."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from cpts_diag.io.perimeters import read_perimeters
from cpts_diag.synthesis import (
    FICTITIOUS_NOTE,
    STRENGTH,
    WEAKNESS,
    derive_findings,
    gap_of,
)

NNBSP = "\u202f"
NAN = float("nan")
DATA = Path(__file__).resolve().parent.parent / "data"

_BV = "CartoSanté / INSEE, indicateurs par bassin de vie 2022"
_SOURCES = {
    "apl_mg_2023": (
        "DREES, APL aux médecins généralistes",
        "2023",
        "commune",
        "consultations/an/hab.",
        "Accès aux soins",
        "APL aux médecins généralistes 2023",
    ),
    "apl_mg_2023_pop_sous_seuil": (
        "DREES, APL aux médecins généralistes",
        "2023",
        "commune",
        "hab.",
        "Accès aux soins",
        "Population sous 2,5 (2023)",
    ),
    "apl_mg_2023_part_sous_seuil": (
        "DREES, APL aux médecins généralistes",
        "2023",
        "commune",
        "%",
        "Accès aux soins",
        "Part sous 2,5 (2023)",
    ),
    "part_75_plus": ("INSEE, recensement 2022", "2022", "commune", "%", "Démographie", "Part des 75 ans et plus"),
    "densite_mg_liberaux": (_BV, "2024", "bassin de vie", "pour 10 000 hab.", "Offre de soins", "Densité MG"),
    "densite_infirmiers_liberaux": (_BV, "2024", "bassin de vie", "pour 10 000 hab.", "Offre de soins", "Densité IDE"),
    "zonage_infirmiers_pop_sous_dotee": ("ARS, zonage", "2024", "commune", "hab.", "Offre de soins", "Pop. sous-dotée"),
    **{
        f"zonage_infirmiers_part_{lv}": ("ARS, zonage", "2024", "commune", "%", "Offre de soins", f"Zone {lv}")
        for lv in range(1, 6)
    },
    "part_sans_mt_17_plus": (
        "EXEMPLE FICTIF de table CPAM (données fictives)",
        "aucun",
        "commune",
        "%",
        "Accès aux soins",
        "Part des patients de 17 ans et plus sans médecin traitant",
    ),
    "part_css_cpam": ("EXEMPLE FICTIF", "aucun", "commune", "%", "Santé et social", "Part CSS"),
    "taux_pauvrete": (_BV, "2021", "bassin de vie", "%", "Santé et social", "Taux de pauvreté"),
    "fedi_2021": ("SpF, F-EDI", "2021", "commune", "score F-EDI", "Santé et social", "Score F-EDI"),
    "fedi_quintile_5_part": ("SpF, F-EDI", "2021", "commune", "%", "Santé et social", "Quintile 5 F-EDI"),
}
_NAMES = {
    "territoire": "T",
    "departement": "Alpes-Maritimes",
    "region": "Provence-Alpes-Côte d'Azur",
    "france": "France",
}


def _row(indicator, level, value, low=NAN, high=NAN, code=None, name=None, quality="exacte", coverage=1.0):
    source, vintage, source_level, unit, theme, label = _SOURCES[indicator]
    code = code or {"territoire": "T", "departement": "06", "region": "93", "france": "FR"}[level]
    return {
        "indicator": indicator,
        "label": label,
        "theme": theme,
        "level": level,
        "level_code": code,
        "level_name": name or _NAMES[level],
        "value": value,
        "value_low": low,
        "value_high": high,
        "unit": unit,
        "source": source,
        "vintage": vintage,
        "source_level": source_level,
        "coverage": coverage,
        "quality": quality,
    }


def _table(rows):
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------ single rules
def test_apl_below_region_is_a_weakness_citing_both_figures_and_source():
    syn = derive_findings(
        _table(
            [
                _row("apl_mg_2023", "territoire", 3.1234),
                _row("apl_mg_2023", "region", 4.2412),
                _row("apl_mg_2023", "france", 3.74),
            ]
        )
    )
    assert syn.strengths == []
    (f,) = syn.weaknesses
    assert f.kind == WEAKNESS and f.indicator == "apl_mg_2023"
    assert "3,12\u00a0consultations/an/hab." in f.text
    assert "4,24\u00a0consultations/an/hab." in f.text
    assert "inférieure à celle de la région Provence-Alpes-Côte d'Azur" in f.text
    assert "plus difficile que dans la région." in f.text
    assert "DREES, APL aux médecins généralistes (millésime 2023, niveau commune)" in f.text
    assert f.territory_value[0] == pytest.approx(3.1234)
    assert f.gap == pytest.approx((4.24 - 3.12) / 4.24) and not f.approximate


def test_apl_above_region_is_a_strength():
    syn = derive_findings(_table([_row("apl_mg_2023", "territoire", 5.0), _row("apl_mg_2023", "region", 4.0)]))
    assert [f.kind for f in syn.findings] == [STRENGTH]
    assert "supérieure" in syn.strengths[0].text


def test_share_of_75_plus_above_region_is_a_weakness():
    syn = derive_findings(_table([_row("part_75_plus", "territoire", 13.8), _row("part_75_plus", "region", 11.8)]))
    (f,) = syn.weaknesses
    assert f"13,8{NNBSP}%" in f.text and f"11,8{NNBSP}%" in f.text
    assert "plus âgée" in f.text


def test_masculine_subject_agrees():
    syn = derive_findings(_table([_row("taux_pauvrete", "territoire", 20.0), _row("taux_pauvrete", "region", 17.4)]))
    assert "Le taux de pauvreté est de 20,0" in syn.weaknesses[0].text
    assert "supérieur à celui de la région" in syn.weaknesses[0].text


def test_equal_values_within_tolerance_give_no_finding():
    syn = derive_findings(_table([_row("apl_mg_2023", "territoire", 4.0), _row("apl_mg_2023", "region", 4.05)]))
    assert syn.findings == [] and syn.inconclusive == []


# -------------------------------------------------------------------------------- gap rule
def test_values_are_compared_as_shown():
    # 5,4 against 5,3 as shown (1,9 %): no conclusion, even though 5,44 / 5,26 differ by 3,4 %
    rows = [_row("part_75_plus", "territoire", 5.44), _row("part_75_plus", "region", 5.26)]
    assert derive_findings(_table(rows)).findings == []
    # 11,0 against 10,7 (2,8 %): an exact value concludes from 2 %
    rows = [_row("part_75_plus", "territoire", 11.0), _row("part_75_plus", "region", 10.7)]
    (f,) = derive_findings(_table(rows)).weaknesses
    assert f.gap == pytest.approx(0.3 / 10.7) and not f.approximate


def test_an_approximate_gap_under_five_percent_concludes_nothing_and_is_said():
    # 16,9 against 17,4 (bassin de vie, approchée): 2,9 %, under the 5 % of approximate values
    rows = [
        _row("taux_pauvrete", "territoire", 16.9, quality="approchée"),
        _row("taux_pauvrete", "region", 17.4, quality="approchée"),
    ]
    syn = derive_findings(_table(rows))
    assert syn.findings == []
    (text,) = syn.inconclusive
    assert f"écart de 2,9{NNBSP}%" in text and f"5{NNBSP}%" in text and "approchée" in text
    # 16,5 against 17,4: 5,2 %, it concludes
    rows[0] = _row("taux_pauvrete", "territoire", 16.5, quality="approchée")
    (f,) = derive_findings(_table(rows)).strengths
    assert f.approximate and f.gap == pytest.approx(0.9 / 17.4)


def test_gap_of_uses_the_whole_range():
    terr = _row("part_sans_mt_17_plus", "territoire", NAN, 11.0, 11.5, quality="exacte")
    ref = _row("part_sans_mt_17_plus", "region", 10.6)
    side, gap, approximate = gap_of(terr, ref)  # a range: 5 %, from its nearest end (11,0 against 10,6: 3,8 %)
    assert approximate and side == 0 and gap == pytest.approx(0.4 / 10.6)
    side, gap, _ = gap_of(_row("part_sans_mt_17_plus", "territoire", NAN, 11.2, 11.5), ref)
    assert side == 1 and gap == pytest.approx(0.6 / 10.6)


def test_range_straddling_the_comparison_is_inconclusive_never_guessed():
    rows = [
        _row("part_sans_mt_17_plus", "territoire", 7.1, 7.1, 14.6, quality="données fictives"),
        _row("part_sans_mt_17_plus", "region", NAN, 10.8, 10.9, quality="données fictives"),
    ]
    syn = derive_findings(_table(rows))
    assert syn.findings == []
    assert len(syn.inconclusive) == 1 and "non concluante" in syn.inconclusive[0]


def test_range_entirely_above_concludes_and_flags_fictitious_data():
    rows = [
        _row("part_sans_mt_17_plus", "territoire", NAN, 12.3, 12.4, quality="données fictives"),
        _row("part_sans_mt_17_plus", "region", NAN, 10.8, 10.9, quality="données fictives"),
    ]
    (f,) = derive_findings(_table(rows)).weaknesses
    assert f.fictitious
    assert f.text.endswith(FICTITIOUS_NOTE) and "Données fictives" in f.text
    assert FICTITIOUS_NOTE not in f.sentence
    assert f"se situe entre 12,3 et 12,4{NNBSP}%" in f.text
    assert f"(entre 10,8 et 10,9{NNBSP}%)" in f.text


def test_missing_values_are_listed_not_invented():
    syn = derive_findings(_table([_row("apl_mg_2023", "territoire", 3.0), _row("apl_mg_2023", "region", NAN)]))
    assert syn.findings == []
    assert syn.inconclusive and "pas de valeur de comparaison" in syn.inconclusive[0]
    rows = [
        _row("part_75_plus", "territoire", NAN),
        _row("part_75_plus", "departement", NAN, code="976", name="Mayotte"),
        _row("part_75_plus", "region", NAN, code="06", name="Mayotte"),
    ]
    (text,) = derive_findings(_table(rows)).inconclusive
    assert "non disponible" in text and "ne couvre pas Mayotte" in text and "jamais compté comme zéro" in text


# ------------------------------------------------------------------ one conclusion per figure
def test_a_figure_compared_with_two_levels_concludes_once_or_not_at_all():
    dep = {"code": "06", "name": "Alpes-Maritimes"}
    var = {"code": "83", "name": "Var"}
    # below both départements: one weakness citing both
    rows = [
        _row("densite_mg_liberaux", "territoire", 6.0, quality="approchée"),
        _row("densite_mg_liberaux", "departement", 10.5, quality="approchée", **dep),
        _row("densite_mg_liberaux", "departement", 8.0, quality="approchée", **var),
    ]
    syn = derive_findings(_table(rows))
    (f,) = syn.findings
    assert f.kind == WEAKNESS and [name for name, _v in f.references] == ["Alpes-Maritimes", "Var"]
    assert "inférieure à celles des départements Alpes-Maritimes (10,5" in f.text and "et Var (8,0" in f.text
    assert "moins dense que dans les deux départements" in f.text
    # below one, above the other: no finding, said « contrastée »
    rows[2] = _row("densite_mg_liberaux", "departement", 5.0, quality="approchée", **var)
    syn = derive_findings(_table(rows))
    assert syn.findings == []
    (text,) = syn.inconclusive
    assert "contrastée" in text and "Alpes-Maritimes" in text and "Var" in text
    # below one, within the rule of the other: a weakness about the first, the second named as not significant
    rows[2] = _row("densite_mg_liberaux", "departement", 6.2, quality="approchée", **var)
    (f,) = derive_findings(_table(rows)).weaknesses
    assert f.reference_name == "Alpes-Maritimes" and "écart non significatif avec le département Var" in f.text
    assert "moins dense que dans le département Alpes-Maritimes" in f.text


def test_population_under_the_apl_threshold_is_one_finding_with_the_region_beside_it():
    rows = [
        _row("apl_mg_2023_pop_sous_seuil", "territoire", 4178.0),
        _row("apl_mg_2023_part_sous_seuil", "territoire", 5.09),
        _row("apl_mg_2023_part_sous_seuil", "region", 16.1),  # a lower share than the région's is no strength
    ]
    syn = derive_findings(_table(rows))
    assert syn.strengths == []
    (first,) = syn.weaknesses
    assert first.indicator == "apl_mg_2023_pop_sous_seuil"
    assert first.text.startswith(f"4{NNBSP}178 habitants, soit 5,1{NNBSP}% de la population,")
    assert f"région Provence-Alpes-Côte d'Azur : 16,1{NNBSP}% de la population" in first.text
    none = derive_findings(_table([_row("apl_mg_2023_pop_sous_seuil", "territoire", 0.0)]))
    assert none.weaknesses == [] and none.strengths[0].text.startswith("Aucun habitant ne vit")
    assert "0 hab" not in none.strengths[0].text


def test_unknown_population_under_threshold_says_nothing():
    syn = derive_findings(_table([_row("apl_mg_2023_pop_sous_seuil", "territoire", NAN)]))
    assert syn.findings == []
    syn = derive_findings(_table([_row("apl_mg_2023_pop_sous_seuil", "territoire", NAN, 0.0, 1200.0)]))
    assert syn.findings == [] and "peut-être aucun habitant" in syn.inconclusive[0]


# --------------------------------------------------------------- the more direct indicator
def _zonage(shares: dict[int, float], pop_under: float) -> list[dict]:
    rows = [_row("zonage_infirmiers_pop_sous_dotee", "territoire", pop_under)]
    return rows + [_row(f"zonage_infirmiers_part_{lv}", "territoire", shares.get(lv, 0.0)) for lv in range(1, 6)]


def test_a_nurse_zonage_sur_dotee_sets_aside_a_nurse_density_weakness():
    rows = _zonage({4: 0.0, 5: 100.0}, 0.0) + [
        _row("densite_infirmiers_liberaux", "territoire", 30.0, quality="approchée"),
        _row("densite_infirmiers_liberaux", "departement", 33.7, quality="approchée", name="Corse-du-Sud"),
    ]
    syn = derive_findings(_table(rows))
    assert [(f.indicator, f.kind) for f in syn.findings] == [("zonage_infirmiers_pop_sous_dotee", STRENGTH)]
    assert "Toute la population vit en zone très dotée ou sur-dotée" in syn.strengths[0].text
    assert f"(100,0{NNBSP}% en zone sur-dotée)" in syn.strengths[0].text  # no « 0,0 % en zone très dotée »
    (text,) = syn.overruled
    assert "Densité IDE" in text and "zonage des infirmiers libéraux" in text and "écarté" in text


def test_a_nurse_zonage_sous_dotee_sets_aside_a_nurse_density_strength():
    rows = _zonage({1: 12.5, 3: 87.5}, 5000.0) + [
        _row("densite_infirmiers_liberaux", "territoire", 40.0, quality="approchée"),
        _row("densite_infirmiers_liberaux", "departement", 33.7, quality="approchée"),
    ]
    syn = derive_findings(_table(rows))
    assert [(f.indicator, f.kind) for f in syn.findings] == [("zonage_infirmiers_pop_sous_dotee", WEAKNESS)]
    assert syn.weaknesses[0].text.startswith(f"5{NNBSP}000 habitants vivent en zone très sous-dotée ou sous-dotée")
    assert " 0 " not in syn.weaknesses[0].text  # no « 0 en zone sous-dotée »
    assert len(syn.overruled) == 1


def test_an_intermediate_nurse_zonage_lets_the_density_conclude():
    rows = _zonage({3: 100.0}, 0.0) + [
        _row("densite_infirmiers_liberaux", "territoire", 30.0, quality="approchée"),
        _row("densite_infirmiers_liberaux", "departement", 33.7, quality="approchée"),
    ]
    syn = derive_findings(_table(rows))
    assert [(f.indicator, f.kind) for f in syn.findings] == [("densite_infirmiers_liberaux", WEAKNESS)]


def test_fictitious_data_never_set_real_data_aside():
    rows = [
        _row("part_css_cpam", "territoire", 6.0, quality="données fictives"),
        _row("part_css_cpam", "region", 9.0, quality="données fictives"),
        _row("taux_pauvrete", "territoire", 20.0, quality="approchée"),
        _row("taux_pauvrete", "region", 17.0, quality="approchée"),
    ]
    syn = derive_findings(_table(rows))
    assert [(f.indicator, f.kind) for f in syn.findings] == [("taux_pauvrete", WEAKNESS)]
    assert "Part CSS" in syn.overruled[0] and "données réelles" in syn.overruled[0]


def test_fedi_concludes_when_the_most_deprived_quintile_and_the_mean_score_agree():
    def rows(q5, score):
        return [
            _row("fedi_quintile_5_part", "territoire", q5),
            _row("fedi_quintile_5_part", "region", 13.9),
            _row("fedi_2021", "territoire", score),
            _row("fedi_2021", "region", 4.6),
        ]

    (f,) = derive_findings(_table(rows(0.0, 2.8))).strengths
    assert f.text.startswith("Aucun habitant du territoire ne vit dans une commune du quintile le plus défavorisé")
    assert f"contre 13,9{NNBSP}% pour la région" in f.text and "score F-EDI moyen de 2,8 contre 4,6" in f.text
    (f,) = derive_findings(_table(rows(25.0, 6.1))).weaknesses
    assert f"25,0{NNBSP}%" in f.text and "défavorisation sociale plus marquée" in f.text
    syn = derive_findings(_table(rows(0.0, 6.1)))  # fewer in quintile 5, a higher mean score
    assert syn.findings == [] and "contrastée" in syn.inconclusive[0]


def test_findings_on_a_real_paca_territory_follow_the_library_values():
    from cpts_diag import settings
    from cpts_diag.indicators import diagnose

    diag = diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS Sud 04")
    ind = diag.indicators
    syn = derive_findings(diag)

    def value(indicator, level):
        r = ind[(ind["indicator"] == indicator) & (ind["level"] == level)]
        return float(r["value"].iloc[0])

    apl_t, apl_r = value("apl_mg_2023", "territoire"), value("apl_mg_2023", "region")
    old_t, old_r = value("part_75_plus", "territoire"), value("part_75_plus", "region")
    kinds = {f.indicator: f.kind for f in syn.findings}
    assert abs(apl_t - apl_r) > 0.05 * apl_r and abs(old_t - old_r) > 0.05 * old_r  # clear-cut cases
    assert kinds["apl_mg_2023"] == (STRENGTH if apl_t > apl_r else WEAKNESS)
    assert kinds["part_75_plus"] == (WEAKNESS if old_t > old_r else STRENGTH)
    apl_text = next(f.text for f in syn.findings if f.indicator == "apl_mg_2023")
    assert f"{apl_t:.2f}".replace(".", ",") in apl_text and f"{apl_r:.2f}".replace(".", ",") in apl_text
    # no CPAM table given: no finding about médecin traitant, nothing fictitious
    assert not any(f.fictitious for f in syn.findings)
    assert not any("médecin traitant" in f.text for f in syn.findings)


# ------------------------------------------------- every EPCI of Bretagne, Grand Est, La Réunion
REGIONS = ("53", "44", "04")
#: Indicators that describe the same thing (an independent statement of the precedence rule).
SAME_THING = (
    {"apl_mg_2023", "densite_mg_liberaux"},
    {"zonage_infirmiers_pop_sous_dotee", "densite_infirmiers_liberaux"},
    {"fedi_quintile_5_part", "part_css_cpam", "taux_pauvrete"},
)
#: What a higher value is, for the comparison rules (the rest compare with no level).
HIGHER_IS = {
    "apl_mg_2023": STRENGTH,
    "densite_mg_liberaux": STRENGTH,
    "densite_infirmiers_liberaux": STRENGTH,
    "part_75_plus": WEAKNESS,
    "fedi_quintile_5_part": WEAKNESS,
    "taux_pauvrete": WEAKNESS,
    "part_familles_monoparentales": WEAKNESS,
    "part_ald": WEAKNESS,
}


def _csv(name):
    with open(DATA / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def epci_communes():
    """{EPCI territory name: [commune codes]} of the three régions, from the raw COG and EPCI files."""
    names = {r["siren"]: r["nom"] for r in _csv("epci.csv")}
    out = defaultdict(list)
    for r in _csv("communes_cog2026.csv"):
        if r["type"] == "commune-actuelle" and r["region"] in REGIONS and r["epci_siren"]:
            out[f"{names[r['epci_siren']]} ({r['epci_siren']})"].append(r["code_insee"])
    return dict(out)


@pytest.fixture(scope="module")
def epci_synthesis(epci_communes):
    from cpts_diag.indicators import diagnose_all

    rows = [
        {"cpts": name, "code_insee": code, "arrondissement": None, "infracommunal": False, "line": 0}
        for name, codes in epci_communes.items()
        for code in codes
    ]
    diagnostics = diagnose_all(pd.DataFrame(rows))
    return {name: (d, derive_findings(d)) for name, d in diagnostics.items()}


def test_every_epci_of_three_regions_is_diagnosed(epci_communes, epci_synthesis):
    regions = defaultdict(int)
    for d, _syn in epci_synthesis.values():
        for r in d.summary["regions"]:
            regions[r] += 1
    assert set(epci_synthesis) == set(epci_communes)
    region_of = {r["code_insee"]: r["region"] for r in _csv("communes_cog2026.csv") if r["type"] == "commune-actuelle"}
    expected = defaultdict(int)
    for codes in epci_communes.values():
        for r in {region_of[c] for c in codes}:
            expected[r] += 1
    assert dict(regions) == dict(expected) and expected["04"] == 5


def test_no_epci_synthesis_contradicts_itself(epci_synthesis):
    n_findings = 0
    for name, (_d, syn) in epci_synthesis.items():
        kinds = defaultdict(set)
        for f in syn.findings:
            kinds[f.indicator].add(f.kind)
        n_findings += len(syn.findings)
        assert all(len(k) == 1 for k in kinds.values()), name  # never both a strength and a weakness
        assert len(syn.findings) == len(kinds), name  # one finding per figure
        for topic in SAME_THING:
            assert len({k for ind in topic for k in kinds.get(ind, ())}) <= 1, (name, topic)
        texts = " ".join(f.text for f in syn.findings)
        assert not re.search(r"(^|[^\d\u202f,])0[\s\u00a0](hab|commune)", texts), name  # « aucun habitant »
    assert n_findings > 1500


def _shown(row):
    """(low, high, central) of a row's value and bounds as the report shows them (unit decimals)."""
    from cpts_diag.fr_format import unit_decimals

    d = unit_decimals(str(row["unit"]))
    known = [float(f"{row[c]:.{d}f}") for c in ("value", "value_low", "value_high") if not pd.isna(row[c])]
    value = float(f"{row['value']:.{d}f}") if not pd.isna(row["value"]) else (min(known) + max(known)) / 2
    return min(known), max(known), value


def test_no_conclusion_on_a_gap_below_the_rule(epci_synthesis):
    """Each comparison finding recomputed from its rows: the gap between the shown ranges reaches 5 % of the
    comparison value for approximate or bounded values, 2 % for exact ones, in the direction of its kind."""
    checked = approximate = 0
    for name, (d, syn) in epci_synthesis.items():
        ind = d.indicators
        for f in syn.findings:
            if f.indicator not in HIGHER_IS:
                continue
            rows = ind[ind["indicator"] == f.indicator]
            terr = rows[rows["level"] == "territoire"].iloc[0]
            lo, hi, _v = _shown(terr)
            for ref_name, _values in f.references:
                ref = rows[(rows["level"] != "territoire") & (rows["level_name"] == ref_name)].iloc[0]
                rlo, rhi, rv = _shown(ref)
                rough = any(
                    r["quality"] in ("approchée", "partiellement masquée")
                    or not (pd.isna(r["value_low"]) and pd.isna(r["value_high"]))
                    for r in (terr, ref)
                )
                above = lo > rhi
                gap = (lo - rhi if above else rlo - hi) / abs(rv)
                assert gap >= (0.05 if rough else 0.02) - 1e-9, (name, f.indicator, ref_name, gap)
                assert (above == (HIGHER_IS[f.indicator] == STRENGTH)) == (f.kind == STRENGTH), (name, f.indicator)
                checked += 1
                approximate += rough
    assert checked > 1000 and approximate > 300


def test_nurse_density_never_concludes_against_the_zonage_of_the_raw_file(epci_communes, epci_synthesis):
    levels = {r["code"]: r["niveau"] for r in _csv("zonage_infirmiers_communes.csv")}
    all_over = some_under = 0
    for name, codes in epci_communes.items():
        zones = {levels.get(c, "") for c in codes}
        kinds = {f.indicator: f.kind for f in epci_synthesis[name][1].findings}
        if zones == {"5"}:  # the whole territory « sur-dotée »
            all_over += 1
            assert kinds.get("densite_infirmiers_liberaux") != WEAKNESS, name
            assert kinds.get("zonage_infirmiers_pop_sous_dotee") == STRENGTH, name
        if zones & {"1", "2"}:
            some_under += 1
            assert kinds.get("densite_infirmiers_liberaux") != STRENGTH, name
            assert kinds.get("zonage_infirmiers_pop_sous_dotee") == WEAKNESS, name
    assert all_over >= 5 and some_under >= 5


def _weighted(codes, column, social):
    rows = [social[c] for c in codes if c in social and social[c][column] != "" and social[c]["population_2022"]]
    weights = [float(r["population_2022"]) for r in rows]
    return sum(float(r[column]) * w for r, w in zip(rows, weights)) / sum(weights)


def test_share_of_75_plus_in_la_reunion_recomputed_from_the_raw_file(epci_communes, epci_synthesis):
    """The CIVIS and the CINOR against La Réunion: 75+ shares weighted by the census 2022 population of the raw
    file, the finding (or its absence) by the 2 % rule on the values as shown."""
    social = {r["code_insee"]: r for r in _csv("indicateurs_sociaux_communes.csv")}
    region = [r["code_insee"] for r in _csv("communes_cog2026.csv") if r["region"] == "04"]
    region_share = _weighted(region, "part_75_plus", social)
    seen = 0
    for name in epci_communes:
        if not name.endswith(("(249740077)", "(249740119)")):  # CA CIVIS, CINOR
            continue
        seen += 1
        share = _weighted(epci_communes[name], "part_75_plus", social)
        t, r = round(share, 1), round(region_share, 1)
        finding = [f for f in epci_synthesis[name][1].findings if f.indicator == "part_75_plus"]
        if abs(t - r) >= 0.02 * r:
            (f,) = finding
            assert f.kind == (WEAKNESS if t > r else STRENGTH)
            assert f"{t:.1f}".replace(".", ",") + f"{NNBSP}%" in f.text
            assert f"{r:.1f}".replace(".", ",") + f"{NNBSP}%" in f.text
        else:
            assert finding == []
    assert seen == 2


def test_most_deprived_quintile_in_bretagne_recomputed_from_the_raw_file(epci_communes, epci_synthesis):
    """Brest Métropole: its population in the national quintile 5 of F-EDI (census 2022 weights of the raw file)
    is what the report states, and the finding is in the direction of the raw share and the raw mean score."""
    social = {r["code_insee"]: r for r in _csv("indicateurs_sociaux_communes.csv")}
    (name,) = [n for n in epci_communes if n.endswith("(242900314)")]  # Brest Métropole
    codes = [c for c in epci_communes[name] if social.get(c, {}).get("fedi_quintile")]
    pop = {c: float(social[c]["population_2022"]) for c in codes}
    q5 = 100 * sum(p for c, p in pop.items() if social[c]["fedi_quintile"] == "5") / sum(pop.values())
    d, syn = epci_synthesis[name]
    row = d.indicators.query("indicator == 'fedi_quintile_5_part' and level == 'territoire'").iloc[0]
    assert row["value"] == pytest.approx(q5)
    score = _weighted(codes, "fedi_2021", social)
    region = [r["code_insee"] for r in _csv("communes_cog2026.csv") if r["region"] == "53"]
    scored = [c for c in region if social.get(c, {}).get("fedi_quintile")]
    rpop = {c: float(social[c]["population_2022"]) for c in scored}
    rq5 = 100 * sum(p for c, p in rpop.items() if social[c]["fedi_quintile"] == "5") / sum(rpop.values())
    rscore = _weighted(scored, "fedi_2021", social)
    kinds = {f.indicator: f for f in syn.findings}
    t, r = round(q5, 1), round(rq5, 1)
    if (
        abs(t - r) >= 0.02 * r
        and (t > r) == (round(score, 1) > round(rscore, 1))
        and round(score, 1) != round(rscore, 1)
    ):
        f = kinds["fedi_quintile_5_part"]
        assert f.kind == (WEAKNESS if t > r else STRENGTH)
        assert f"{t:.1f}".replace(".", ",") in f.text and f"{score:.1f}".replace(".", ",") in f.text
    else:
        assert "fedi_quintile_5_part" not in kinds


def test_population_under_the_apl_threshold_in_grand_est_recomputed_from_the_raw_file(epci_communes, epci_synthesis):
    """Every EPCI of the Ardennes (08) whose communes all have their own APL row: the population of the communes
    under 2,5 consultations (raw DREES file, total population 2023 of the file) is the finding's figure, a weakness
    when positive, « aucun habitant » as a strength when zero."""
    apl = {r["code_insee"]: r for r in _csv("apl_mg_communes_2022_2023.csv")}
    dep = {r["code_insee"]: r["departement"] for r in _csv("communes_cog2026.csv")}
    former = {r["code_insee"]: r["anciens_codes"].split("|") for r in _csv("communes_cog2026.csv")}
    checked = 0
    for name, codes in epci_communes.items():
        own_rows = all(dep[c] == "08" and c in apl and apl[c]["apl_mg_2023"] for c in codes)
        if not own_rows or any(old in apl for c in codes for old in former[c] if old):
            continue  # a commune merged since has the rows of its former communes too
        under = sum(float(apl[c]["pop_totale_2023"]) for c in codes if float(apl[c]["apl_mg_2023"]) < 2.5)
        (f,) = [f for f in epci_synthesis[name][1].findings if f.indicator == "apl_mg_2023_pop_sous_seuil"]
        if under > 0:
            assert f.kind == WEAKNESS and f.text.startswith(f"{under:,.0f}".replace(",", NNBSP) + " habitants")
        else:
            assert f.kind == STRENGTH and f.text.startswith("Aucun habitant")
        checked += 1
    assert checked >= 3
