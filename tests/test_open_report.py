"""Tests of cpts_diag.outputs.open_report on hand-made diagnostics: notes, rates, map tooltips, trend chart.

A diagnostic is stood in for by an object with the two tables these functions read (``communes`` and
``indicators``); every expected text is written out here.
"""

from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from cpts_diag.outputs.open_report import (  # noqa: E402
    income_note,
    map_columns,
    mortality_note,
    population_trend_figure,
    zonage_note,
)

NNBSP = "\u202f"


def _communes(**columns):
    base = {"unit": ["05061", "05023", "05046"], "nom": ["Gap", "Chorges", "La Freissinouse"]}
    return pd.DataFrame({**base, **columns})


def _income_rows(*indicators):
    return pd.DataFrame({"indicator": list(indicators), "level": "territoire"})


QUARTILES = ("revenu_median_communes_min", "revenu_median_communes_q1", "revenu_median_communes_p50")


def test_income_note_names_the_communes_without_a_median():
    communes = _communes(
        revenu_median_2019=[23970.0, np.nan, np.nan], personnes_menages_fiscaux_2019=[5e4, np.nan, np.nan]
    )
    note = income_note(SimpleNamespace(communes=communes, indicators=_income_rows(*QUARTILES)))
    assert "INSEE, Filosofi 2019" in note
    assert "pondérée par le nombre de personnes des ménages fiscaux" in note
    assert "2 commune(s) sans médiane publiée" in note
    assert "Chorges (05023), La Freissinouse (05046) ; elles ne sont pas comptées comme zéro" in note
    assert "Gap (05061)" not in note and "médianes des communes elles-mêmes" not in note
    complete = _communes(revenu_median_2019=[1.0, 2.0, 3.0], personnes_menages_fiscaux_2019=[1.0, 1.0, 1.0])
    note = income_note(SimpleNamespace(communes=complete, indicators=_income_rows(*QUARTILES)))
    assert "sans médiane" not in note and "Filosofi 2019" in note


def test_income_note_lists_the_communes_medians_without_quartiles():
    # no quartile row for the territory (one commune weighs over half): the medians themselves, heaviest first
    communes = _communes(revenu_median_2019=[21900.0, 23000.0, 25100.0], personnes_menages_fiscaux_2019=[78, 12, 10])
    diag = SimpleNamespace(communes=communes, indicators=_income_rows("revenu_median_communes_min"))
    note = income_note(diag)
    assert "voici les médianes des communes elles-mêmes" in note
    assert (
        f"Gap (05061) 21{NNBSP}900{NNBSP}€ (78{NNBSP}%) ; Chorges (05023) 23{NNBSP}000{NNBSP}€ (12{NNBSP}%) ; "
        f"La Freissinouse (05046) 25{NNBSP}100{NNBSP}€ (10{NNBSP}%)."
    ) in note


def test_zonage_note_lists_the_under_served_communes():
    diag = SimpleNamespace(communes=_communes(zonage_infirmiers=["très sous-dotée", "sous-dotée", "n.d."]))
    note = zonage_note(diag)
    assert "<li>zone très sous-dotée : 1 commune(s) — Gap (05061)</li>" in note
    assert "<li>zone sous-dotée : 1 commune(s) — Chorges (05023)</li>" in note
    assert "1 commune(s) sans zonage publié" in note
    served = zonage_note(SimpleNamespace(communes=_communes(zonage_infirmiers=["intermédiaire"] * 3)))
    assert "Aucune commune du territoire n'est classée très sous-dotée ou sous-dotée." in served
    assert "<li>" not in served and "sans zonage publié" not in served
    assert zonage_note(SimpleNamespace(communes=_communes())) == ""


def test_mortality_note_names_the_unmatched_communes():
    diag = SimpleNamespace(communes=_communes(mortalite_brute_epci=[9.1, np.nan, 8.7]))
    note = mortality_note(diag)
    assert "taux <strong>brut</strong>" in note
    assert "Non rapprochées (EPCI créé ou modifié après 2020, ou taux absent du fichier) : Chorges (05023)." in note
    assert "Non rapprochées" not in mortality_note(SimpleNamespace(communes=_communes(mortalite_brute_epci=[1.0] * 3)))


def test_map_columns_add_income_and_zonage_tooltips():
    communes = pd.DataFrame(
        {
            "unit": ["05061", "05023", "13055", "13055"],
            "revenu_median_2019": [23970.0, np.nan, 20000.0, 21000.0],
            "zonage_infirmiers": ["intermédiaire", "sous-dotée", "très dotée", "très dotée"],
        }
    )
    map_communes = pd.DataFrame({"code_insee": ["05061", "05023", "13055", "05999"], "valeur": [1, 2, 3, 4]})
    out = map_columns(map_communes, communes)
    assert out["revenu_median"].tolist() == [f"23{NNBSP}970{NNBSP}€", "n.d.", "voir le tableau", "n.d."]
    assert out["zonage_inf"].tolist() == ["intermédiaire", "sous-dotée", "voir le tableau", "n.d."]
    assert "revenu_median" not in map_communes  # a copy
    assert map_columns(map_communes, communes.drop(columns="revenu_median_2019")) is map_communes
    assert map_columns(None, communes) is None


def _trend_indicators(territory, departement=None):
    rows = []
    for year, value in zip(("2016", "2019", "2020", "2021", "2022", "2023"), territory):
        ident = "population" if year == "2023" else f"population_{year}"
        rows.append({"indicator": ident, "level": "territoire", "level_code": "", "level_name": "T", "value": value})
        if departement is not None:
            rows.append(
                {
                    "indicator": ident,
                    "level": "departement",
                    "level_code": "05",
                    "level_name": "Hautes-Alpes",
                    "value": departement,
                }
            )
    return pd.DataFrame(rows)


def test_population_trend_curves_share_one_base_year():
    import matplotlib.pyplot as plt

    # the territory lacks 2016 (a commune restored since, or Mayotte): every curve is at 100 in 2019
    indicators = _trend_indicators([np.nan, 800.0, 820.0, 840.0, 860.0, 1000.0], departement=5.0)
    france = [900.0, 1000.0, 1010.0, 1020.0, 1030.0, 1040.0]
    rows = [
        {"indicator": i, "level": "france", "level_code": "FR", "level_name": "France", "value": v}
        for i, v in zip(
            (
                "population_2016",
                "population_2019",
                "population_2020",
                "population_2021",
                "population_2022",
                "population",
            ),
            france,
        )
    ]
    diag = SimpleNamespace(territory="T", indicators=pd.concat([indicators, pd.DataFrame(rows)], ignore_index=True))
    fig = population_trend_figure(diag)
    try:
        ax = fig.axes[0]
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert set(lines) == {"Territoire (n.d. en 2016)", "Hautes-Alpes", "France"}
        t = lines["Territoire (n.d. en 2016)"]
        assert t.get_xdata().tolist() == [2019, 2020, 2021, 2022, 2023]  # 2016 unknown: not drawn
        assert t.get_ydata().tolist() == pytest.approx([100.0, 102.5, 105.0, 107.5, 125.0])
        assert lines["Hautes-Alpes"].get_ydata().tolist() == pytest.approx([100.0] * 6)
        # France has 2016, but is at 100 in 2019 like the others: 900 / 1000
        assert lines["France"].get_ydata().tolist() == pytest.approx([90.0, 100.0, 101.0, 102.0, 103.0, 104.0])
        assert ax.get_ylabel() == "indice (base 100 en 2019)"
    finally:
        plt.close(fig)


def test_france_without_2016_moves_every_curve_to_the_2019_base():
    import matplotlib.pyplot as plt

    indicators = _trend_indicators([980.0, 1000.0, 1010.0, 1020.0, 1030.0, 1050.0])
    france = [np.nan, 2000.0, 2010.0, 2020.0, 2030.0, 2040.0]  # France 2016: Mayotte not published
    rows = [
        {"indicator": i, "level": "france", "level_code": "FR", "level_name": "France", "value": v}
        for i, v in zip(
            (
                "population_2016",
                "population_2019",
                "population_2020",
                "population_2021",
                "population_2022",
                "population",
            ),
            france,
        )
    ]
    diag = SimpleNamespace(territory="T", indicators=pd.concat([indicators, pd.DataFrame(rows)], ignore_index=True))
    fig = population_trend_figure(diag)
    try:
        lines = {line.get_label(): line for line in fig.axes[0].get_lines()}
        assert lines["Territoire"].get_ydata().tolist() == pytest.approx([98.0, 100.0, 101.0, 102.0, 103.0, 105.0])
        assert lines["France (n.d. en 2016)"].get_xdata().tolist() == [2019, 2020, 2021, 2022, 2023]
        assert lines["France (n.d. en 2016)"].get_ydata()[0] == pytest.approx(100.0)
    finally:
        plt.close(fig)


def test_no_trend_without_two_known_vintages():
    diag = SimpleNamespace(territory="T", indicators=_trend_indicators([np.nan] * 5 + [1000.0]))
    assert population_trend_figure(diag) is None
