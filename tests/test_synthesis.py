"""Strengths and weaknesses derived from the indicators (cpts_diag.synthesis)."""

from __future__ import annotations

import pandas as pd
import pytest

from cpts_diag.synthesis import (
    FICTITIOUS_NOTE,
    STRENGTH,
    WEAKNESS,
    derive_findings,
)

NNBSP = "\u202f"
NAN = float("nan")

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
    "part_75_plus": (
        "CartoSanté / INSEE, indicateurs par bassin de vie 2022",
        "2022",
        "bassin de vie",
        "%",
        "Démographie",
        "Part des 75 ans et plus",
    ),
    "densite_mg_liberaux": (
        "CartoSanté / INSEE, indicateurs par bassin de vie 2022",
        "2024",
        "bassin de vie",
        "pour 10 000 hab.",
        "Offre de soins",
        "Densité de médecins généralistes libéraux",
    ),
    "part_sans_mt_17_plus": (
        "EXEMPLE FICTIF de table CPAM (données fictives)",
        "aucun",
        "commune",
        "%",
        "Accès aux soins",
        "Part des patients de 17 ans et plus sans médecin traitant",
    ),
    "taux_pauvrete": (
        "CartoSanté / INSEE, indicateurs par bassin de vie 2022",
        "2021",
        "bassin de vie",
        "%",
        "Santé et social",
        "Taux de pauvreté",
    ),
}


def _row(indicator, level, value, low=NAN, high=NAN, code=None, name=None, quality="exacte"):
    source, vintage, source_level, unit, theme, label = _SOURCES[indicator]
    code = code or {"territoire": "T", "departement": "06", "region": "93", "france": "FR"}[level]
    name = (
        name
        or {
            "territoire": "T",
            "departement": "Alpes-Maritimes",
            "region": "Provence-Alpes-Côte d'Azur",
            "france": "France",
        }[level]
    )
    return {
        "indicator": indicator,
        "label": label,
        "theme": theme,
        "level": level,
        "level_code": code,
        "level_name": name,
        "value": value,
        "value_low": low,
        "value_high": high,
        "unit": unit,
        "source": source,
        "vintage": vintage,
        "source_level": source_level,
        "coverage": 1.0,
        "quality": quality,
    }


def _table(rows):
    return pd.DataFrame(rows)


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
    assert "DREES, APL aux médecins généralistes (millésime 2023, niveau commune)" in f.text
    assert f.territory_value[0] == pytest.approx(3.1234)


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


def test_gp_density_compared_with_each_departement():
    rows = [
        _row("densite_mg_liberaux", "territoire", 9.0),
        _row("densite_mg_liberaux", "departement", 10.5, code="06", name="Alpes-Maritimes"),
        _row("densite_mg_liberaux", "departement", 8.0, code="83", name="Var"),
        _row("densite_mg_liberaux", "region", 9.0),
    ]
    syn = derive_findings(_table(rows))
    assert [f.reference_name for f in syn.weaknesses] == ["Alpes-Maritimes"]
    assert [f.reference_name for f in syn.strengths] == ["Var"]
    assert "du département Alpes-Maritimes (10,5\u00a0pour 10 000 hab.)" in syn.weaknesses[0].text


def test_equal_values_within_tolerance_give_no_finding():
    syn = derive_findings(_table([_row("apl_mg_2023", "territoire", 4.0), _row("apl_mg_2023", "region", 4.05)]))
    assert syn.findings == [] and syn.inconclusive == []


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


def test_missing_comparison_is_listed_not_invented():
    syn = derive_findings(_table([_row("apl_mg_2023", "territoire", 3.0), _row("apl_mg_2023", "region", NAN)]))
    assert syn.findings == []
    assert syn.inconclusive and "pas de valeur de comparaison" in syn.inconclusive[0]


def test_population_under_threshold():
    rows = [
        _row("apl_mg_2023_pop_sous_seuil", "territoire", 4178.0),
        _row("apl_mg_2023_part_sous_seuil", "territoire", 5.09),
        _row("apl_mg_2023_part_sous_seuil", "region", 5.1),
    ]
    syn = derive_findings(_table(rows))
    first = syn.weaknesses[0]
    assert first.indicator == "apl_mg_2023_pop_sous_seuil"
    assert first.text.startswith(f"4{NNBSP}178 habitants, soit 5,1{NNBSP}% de la population,")
    none = derive_findings(_table([_row("apl_mg_2023_pop_sous_seuil", "territoire", 0.0)]))
    assert none.weaknesses == [] and none.strengths[0].text.startswith("Aucun habitant")


def test_unknown_population_under_threshold_says_nothing():
    syn = derive_findings(_table([_row("apl_mg_2023_pop_sous_seuil", "territoire", NAN)]))
    assert syn.findings == []


def test_findings_on_a_real_paca_territory_follow_the_library_values():
    from cpts_diag import settings
    from cpts_diag.indicators import diagnose

    diag = diagnose(settings.DEFAULT_PERIMETERS, "CPTS Sud 04")
    ind = diag.indicators
    syn = derive_findings(diag)

    def value(indicator, level):
        r = ind[(ind["indicator"] == indicator) & (ind["level"] == level)]
        return float(r["value"].iloc[0])

    apl_t, apl_r = value("apl_mg_2023", "territoire"), value("apl_mg_2023", "region")
    old_t, old_r = value("part_75_plus", "territoire"), value("part_75_plus", "region")
    kinds = {f.indicator: f.kind for f in syn.findings}
    assert abs(apl_t - apl_r) > 0.02 * apl_r and abs(old_t - old_r) > 0.02 * old_r  # clear-cut cases
    assert kinds["apl_mg_2023"] == (STRENGTH if apl_t > apl_r else WEAKNESS)
    assert kinds["part_75_plus"] == (WEAKNESS if old_t > old_r else STRENGTH)
    apl_text = next(f.text for f in syn.findings if f.indicator == "apl_mg_2023")
    assert f"{apl_t:.2f}".replace(".", ",") in apl_text and f"{apl_r:.2f}".replace(".", ",") in apl_text
    # no CPAM table given: no finding about médecin traitant, nothing fictitious
    assert not any(f.fictitious for f in syn.findings)
    assert not any("médecin traitant" in f.text for f in syn.findings)
