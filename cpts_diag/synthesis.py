"""Strengths and weaknesses of a territory, derived from its indicators and their comparisons.

The rules, which a chargé de mission can sign (:data:`GAP_RULE` and :data:`PRECEDENCE_RULE` say them in French,
in the report and the README):

* **One conclusion per figure.** Each rule compares the territory's value of one indicator with every level
  of its rule (its région(s), or each département it touches). The comparisons that conclude must agree,
  and then make one sentence citing them all; otherwise the figure is « contrastée » and concludes nothing.
  A figure is never both a strength and a weakness.
* **A gap concludes only when it is meaningful.** Values are compared as they are shown (rounded like the
  report), and the difference must reach :data:`EXACT_GAP` (2 %) of the comparison value for exact values,
  :data:`APPROXIMATE_GAP` (5 %) when either value is approximate (bassin-de-vie approximation, share weighted
  by the population instead of its own denominator, commune split below the commune level, part of the
  population without data) or known by bounds (masked counts): the whole range must then lie outside the
  comparison's by that much. A smaller gap on an approximate value is listed as not conclusive, with its
  size; ranges that overlap are never guessed.
* **The more direct indicator of the same thing decides** (:data:`TOPICS`): the ARS nurse zonage (commune)
  before the nurse density of the bassin de vie, the APL (commune, neighbours' supply included) before the GP
  density of the bassin de vie, the F-EDI deprivation index (commune) and the CSS share (CPAM table) before
  the poverty rate of the bassin de vie. A less direct indicator that concludes the other way is set aside
  (:attr:`Synthesis.overruled`, said so); fictitious data never overrule real data.
* **Counts say what they mean**: « aucun habitant ne vit dans une commune où l'APL… », never « 0 hab. ».
  The population under the APL threshold is one finding (a weakness when someone lives there, a strength when
  no one does), the shares of the région(s) given beside it.

Findings that use fictitious data say so.

Examples
--------
>>> from cpts_diag import settings
>>> from cpts_diag.indicators import diagnose
>>> from cpts_diag.io.perimeters import read_perimeters
>>> synthesis = derive_findings(diagnose(read_perimeters(settings.DEFAULT_PERIMETERS), "CPTS Verdon"))
>>> [(f.kind, f.indicator) for f in synthesis.strengths][:2]
[('force', 'apl_mg_2023'), ('force', 'densite_mg_liberaux')]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.schema import Level, Quality

STRENGTH, WEAKNESS = "force", "faiblesse"

#: Sentence ending every finding computed from fictitious data.
FICTITIOUS_NOTE = "Données fictives : à remplacer par la table de votre CPAM."

#: Relative gap (share of the comparison value) an exact value must reach to conclude.
EXACT_GAP = 0.02
#: Relative gap an approximate value, or a value known by bounds, must reach (its whole range) to conclude.
APPROXIMATE_GAP = 0.05
_EPS = 1e-9

#: The gap rule, as users read it (report, README).
GAP_RULE = (
    "un écart ne conclut que s'il atteint 2 % de la valeur de comparaison pour une valeur exacte, et 5 % pour une "
    "valeur approchée (indicateur du bassin de vie, part pondérée par la population faute de son propre "
    "dénominateur, commune découpée, population en partie sans donnée) ou connue par une fourchette, dont toute "
    "la fourchette doit alors être du même côté ; les valeurs sont comparées telles qu'elles sont affichées. Un "
    "chiffre comparé à plusieurs régions ou départements ne conclut que si ces comparaisons vont dans le même "
    "sens : un chiffre n'est jamais à la fois une force et une faiblesse"
)
#: The precedence rule, as users read it.
PRECEDENCE_RULE = (
    "quand deux indicateurs décrivent la même chose, le plus direct l'emporte : le zonage des infirmiers de l'ARS "
    "(niveau commune) avant la densité d'infirmiers du bassin de vie, l'APL (niveau commune) avant la densité de "
    "médecins généralistes du bassin de vie, l'indice de défavorisation F-EDI (niveau commune) et la part des "
    "bénéficiaires de la CSS avant le taux de pauvreté du bassin de vie ; un constat contraire d'un indicateur "
    "moins direct est écarté (et dit)"
)
#: Added to :data:`PRECEDENCE_RULE` where the report uses fictitious data (and only there).
FICTITIOUS_PRECEDENCE = "des données fictives n'écartent jamais de données réelles"


@dataclass(frozen=True)
class Rule:
    """One comparison rule.

    ``indicator`` (an id of ``diag.indicators["indicator"]``) is compared with the level ``against`` (région or
    département); ``higher_is`` tells what a higher territory value is (``"force"`` or ``"faiblesse"``).
    ``subject`` is the French noun phrase naming the indicator in a sentence (« l'APL aux médecins généralistes »),
    ``above`` / ``below`` the French clause appended when the value is above /
    below the comparison (may be empty; ``{que}`` is replaced by « que dans la région », « que dans les deux
    départements »…) and ``feminine`` the grammatical gender of ``subject`` (« la part … est supérieure à celle
    de », « le taux … est supérieur à celui de »). ``zero`` opens the sentence instead when the territory's value
    is exactly zero (« Aucun habitant… »). ``companion``: an indicator whose difference with the same comparison
    must go the same way for the comparison to conclude (the F-EDI mean score beside the share of the most
    deprived quintile), cited as ``companion_text``.
    """

    indicator: str
    against: Level
    higher_is: str
    subject: str
    above: str = ""
    below: str = ""
    feminine: bool = True
    zero: str = ""
    companion: str = ""
    companion_text: str = ""


#: The rules, in the order findings are listed (the population under the APL threshold and the nurse zonage, which
#: compare with no level, come first and before the nurse density).
RULES: tuple[Rule, ...] = (
    Rule(
        "apl_mg_2023",
        Level.REGION,
        STRENGTH,
        "l'accessibilité potentielle localisée (APL) aux médecins généralistes en 2023",
        "accès aux médecins généralistes meilleur {que}",
        "accès aux médecins généralistes plus difficile {que}",
    ),
    Rule(
        "densite_mg_liberaux",
        Level.DEPARTEMENT,
        STRENGTH,
        "la densité de médecins généralistes libéraux",
        "offre de médecine générale plus dense {que}",
        "offre de médecine générale moins dense {que}",
    ),
    Rule(
        "densite_infirmiers_liberaux",
        Level.DEPARTEMENT,
        STRENGTH,
        "la densité d'infirmiers libéraux",
        "offre infirmière plus dense {que}",
        "offre infirmière moins dense {que}",
    ),
    Rule(
        "part_75_plus",
        Level.REGION,
        WEAKNESS,
        "la part des personnes de 75 ans et plus",
        "population plus âgée {que}, d'où des besoins accrus de suivi et de maintien à domicile",
        "population moins âgée {que}",
    ),
    Rule(
        "part_sans_mt_17_plus",
        Level.REGION,
        WEAKNESS,
        "la part des patients de 17 ans et plus sans médecin traitant",
        "accès au médecin traitant plus difficile {que}",
        "accès au médecin traitant meilleur {que}",
    ),
    Rule(
        "part_sans_mt_70_plus",
        Level.REGION,
        WEAKNESS,
        "la part des patients de 70 ans et plus sans médecin traitant",
        "personnes âgées plus souvent sans médecin traitant {que}",
        "personnes âgées moins souvent sans médecin traitant {que}",
    ),
    Rule(
        "part_sans_mt_ald",
        Level.REGION,
        WEAKNESS,
        "la part des patients en ALD sans médecin traitant",
        "patients en ALD plus souvent sans médecin traitant {que}",
        "patients en ALD moins souvent sans médecin traitant {que}",
    ),
    Rule(
        "fedi_quintile_5_part",
        Level.REGION,
        WEAKNESS,
        "la part de la population vivant dans une commune du quintile le plus défavorisé de France (indice de "
        "défavorisation F-EDI 2021)",
        "défavorisation sociale plus marquée {que}",
        "défavorisation sociale moins marquée {que}",
        zero="Aucun habitant du territoire ne vit dans une commune du quintile le plus défavorisé de France (indice "
        "de défavorisation F-EDI 2021)",
        companion="fedi_2021",
        companion_text="score F-EDI moyen",
    ),
    Rule(
        "taux_pauvrete",
        Level.REGION,
        WEAKNESS,
        "le taux de pauvreté",
        "précarité plus fréquente {que}",
        "précarité moins fréquente {que}",
        feminine=False,
    ),
    Rule(
        "part_css_cpam",
        Level.REGION,
        WEAKNESS,
        "la part des bénéficiaires de la complémentaire santé solidaire (CSS)",
        "précarité plus fréquente {que}",
        "précarité moins fréquente {que}",
    ),
    Rule(
        "part_familles_monoparentales",
        Level.REGION,
        WEAKNESS,
        "la part des familles monoparentales",
        "familles monoparentales plus fréquentes {que}, souvent plus exposées à la précarité",
        "familles monoparentales moins fréquentes {que}",
    ),
    Rule(
        "part_ald",
        Level.REGION,
        WEAKNESS,
        "la part de la population en affection de longue durée (ALD)",
        "besoins de suivi des maladies chroniques plus élevés {que}",
        "besoins de suivi des maladies chroniques moins élevés {que}",
    ),
)

_UNDERSERVED, _ZONAGE = "apl_mg_2023_pop_sous_seuil", "zonage_infirmiers_pop_sous_dotee"

#: Indicators describing the same thing, the most direct first, each with the French name used when it sets
#: another aside.
TOPICS: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("apl_mg_2023", "l'APL aux médecins généralistes (DREES, niveau commune)"),
        ("densite_mg_liberaux", "la densité de médecins généralistes du bassin de vie"),
    ),
    (
        (_ZONAGE, "le zonage des infirmiers libéraux (ARS, niveau commune)"),
        ("densite_infirmiers_liberaux", "la densité d'infirmiers du bassin de vie"),
    ),
    (
        ("fedi_quintile_5_part", "l'indice de défavorisation F-EDI (niveau commune)"),
        ("part_css_cpam", "la part des bénéficiaires de la CSS (table CPAM, niveau commune)"),
        ("taux_pauvrete", "le taux de pauvreté du bassin de vie"),
    ),
)


@dataclass
class Finding:
    """One strength or weakness (``kind``: ``"force"`` or ``"faiblesse"``) about an indicator.

    ``text`` is the French sentence citing the territory value, the comparison value(s), source and vintage;
    ``territory_value`` is the (value, low, high) of the territory, ``reference_name`` the names of the comparison
    levels; ``references`` every (name, (value, low, high)) the finding rests on; ``fictitious`` tells that the
    territory value comes from fictitious data; ``approximate`` that the gap rule was that of approximate values,
    ``gap`` the smallest relative gap between the ranges of the territory and of its comparisons (NaN for findings
    without comparison: population under the APL threshold, nurse zonage).
    """

    kind: str
    indicator: str
    theme: str
    text: str
    territory_value: tuple
    reference_name: str
    fictitious: bool = False
    references: tuple = ()
    approximate: bool = False
    gap: float = math.nan
    brief: str = ""

    @property
    def sentence(self) -> str:
        """The text without its closing fictitious-data note (shown apart, e.g. as a red tag)."""
        return self.text.removesuffix(" " + FICTITIOUS_NOTE)


@dataclass
class Synthesis:
    """Strengths, weaknesses, comparisons that do not conclude, and findings set aside by a more direct
    indicator (French sentences)."""

    strengths: list[Finding] = field(default_factory=list)
    weaknesses: list[Finding] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)
    overruled: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return self.strengths + self.weaknesses


# ------------------------------------------------------------------------------------ values
def source_citation(row: dict) -> str:
    """Source of an indicator row: « source (millésime v, niveau l) », the source alone for fictitious data."""
    if row.get("quality") == Quality.FICTITIOUS:
        return str(row["source"])
    return f"{row['source']} (millésime {row['vintage']}, niveau {row['source_level']})"


def _values(row: Mapping) -> tuple[float, float, float]:
    """(value, low, high) of an indicator row as floats, NaN when missing."""
    value, low, high = (
        float("nan") if fr.is_missing(row[c]) else float(row[c]) for c in ("value", "value_low", "value_high")
    )
    return value, low, high


def _fmt_row(row: dict, show_unit: bool = True) -> str:
    return fr.value_text(row["value"], row["value_low"], row["value_high"], unit=str(row["unit"]), show_unit=show_unit)


def _shown(x: float, decimals: int) -> float:
    """``x`` as the report shows it (rounded like :func:`cpts_diag.fr_format.number`)."""
    return float(f"{x:.{decimals}f}")


def _shown_range(row: Mapping) -> tuple[float, float, float] | None:
    """(low, high, central value) of a row's value and bounds as shown; None when nothing is known."""
    decimals = fr.unit_decimals(str(row["unit"]))
    value, low, high = (_shown(x, decimals) if not math.isnan(x) else x for x in _values(row))
    known = [x for x in (value, low, high) if not math.isnan(x)]
    if not known:
        return None
    centre = value if not math.isnan(value) else (min(known) + max(known)) / 2
    return min(known), max(known), centre


def _is_approximate(row: Mapping) -> bool:
    """An approximate value (bassin de vie, weighted by population, split commune, part without data) or bounds."""
    bounded = not (fr.is_missing(row["value_low"]) and fr.is_missing(row["value_high"]))
    return bounded or row["quality"] in (Quality.APPROXIMATE, Quality.MASKED)


def gap_of(territory: Mapping, reference: Mapping) -> tuple[int | None, float, bool]:
    """(side, relative gap, approximate) of a territory row against a comparison row, by the gap rule.

    ``side`` is +1 (clearly above), -1 (clearly below), 0 (no meaningful gap) or None (ranges that overlap
    beyond the rule, or a value unknown); ``gap`` is the distance between the two ranges as shown, over the
    comparison value (NaN when undetermined); ``approximate`` says which threshold applied
    (:data:`APPROXIMATE_GAP` or :data:`EXACT_GAP`).

    Examples
    --------
    >>> t = {"value": 5.44, "value_low": None, "value_high": None, "unit": "%", "quality": "approchée"}
    >>> r = {"value": 5.26, "value_low": None, "value_high": None, "unit": "%", "quality": "exacte"}
    >>> side, gap, approximate = gap_of(t, r)  # 5,4 against 5,3 as shown: 1,9 %, under the 5 % of approximate values
    >>> side, round(gap, 4), approximate
    (0, 0.0189, True)
    """
    approximate = _is_approximate(territory) or _is_approximate(reference)
    a, b = _shown_range(territory), _shown_range(reference)
    if a is None or b is None:
        return None, math.nan, approximate
    tol = APPROXIMATE_GAP if approximate else EXACT_GAP
    base = abs(b[2])
    if a[0] > b[1]:
        side, diff = 1, a[0] - b[1]
    elif a[1] < b[0]:
        side, diff = -1, b[0] - a[1]
    else:  # overlapping ranges: equal only when the whole span is within the rule
        span = max(a[1], b[1]) - min(a[0], b[0])
        return (0, 0.0, approximate) if span <= tol * base + _EPS else (None, math.nan, approximate)
    gap = diff / base if base > 0 else math.inf
    return (side if gap >= tol - _EPS else 0), gap, approximate


_Rows = dict[str, dict[str, list[dict]]]


def _by_indicator(table: pd.DataFrame) -> _Rows:
    """The rows of an indicator table as dicts, by indicator and level (the rules look each one up several times)."""
    out: _Rows = {}
    for rec in table.to_dict("records"):
        out.setdefault(rec["indicator"], {}).setdefault(rec["level"], []).append(rec)
    return out


def _territory_row(table: _Rows, indicator: str) -> dict | None:
    """The territory's row of ``indicator`` (rows of :func:`_by_indicator`), None when absent."""
    rows = table.get(indicator, {}).get(Level.TERRITORY)
    return rows[0] if rows else None


def _level_rows(table: _Rows, indicator: str, level: str) -> list[dict]:
    return table.get(indicator, {}).get(level, [])


# --------------------------------------------------------------------------------- sentences
def _level_word(rule: Rule) -> str:
    return "région" if rule.against == Level.REGION else "département"


def _the_level(rule: Rule) -> str:
    return "la région" if rule.against == Level.REGION else "le département"


def _of_levels(rule: Rule, refs: list[dict]) -> str:
    """« de la région X (v) », « des départements X (v) et Y (w) »."""
    items = fr.enumeration([f"{r['level_name']} ({_fmt_row(r)})" for r in refs])
    if rule.against == Level.REGION:
        return ("de la région " if len(refs) == 1 else "des régions ") + items
    return ("du département " if len(refs) == 1 else "des départements ") + items


def _for_levels(rule: Rule, refs: list[dict]) -> str:
    """« 13,9 % pour la région X et 5,0 % pour la région Y »."""
    return fr.enumeration([f"{_fmt_row(r)} pour {_the_level(rule)} {r['level_name']}" for r in refs])


def _than(rule: Rule, refs: list[dict], n_levels: int) -> str:
    """« que dans la région », « que dans les deux départements », « que dans le département Drôme »."""
    word = _level_word(rule)
    if len(refs) == 1:
        return f"que dans {_the_level(rule)}" + ("" if n_levels == 1 else f" {refs[0]['level_name']}")
    if len(refs) == n_levels:
        return f"que dans les {'deux' if len(refs) == 2 else fr.integer(len(refs))} {word}s"
    return f"que dans les {word}s {fr.enumeration([str(r['level_name']) for r in refs])}"


def _sentence(rule: Rule, side: int, terr: dict, refs, n_levels: int, companion, fictitious, others) -> str:
    """The French sentence of a finding of ``rule`` (``refs``: the comparison rows it rests on)."""
    tval = _fmt_row(terr)
    if rule.zero and _values(terr)[0] == 0 and math.isnan(_values(terr)[1]):
        text = f"{rule.zero}, contre {_for_levels(rule, refs)}"
    else:
        comparison = ("supérieur" if side > 0 else "inférieur") + ("e" if rule.feminine else "")
        pronoun = ("celle" if rule.feminine else "celui") if len(refs) == 1 else ("celles" if rule.feminine else "ceux")
        subject = rule.subject[0].upper() + rule.subject[1:]
        verb = "se situe" if tval.startswith("entre") else "est de"
        text = f"{subject} {verb} {tval} sur le territoire, {comparison} à {pronoun} {_of_levels(rule, refs)}"
    if companion:
        text += f", avec un {rule.companion_text} de {companion[0]} contre {fr.enumeration(companion[1])}"
    clause = rule.above if side > 0 else rule.below
    if clause:
        text += " : " + clause.replace("{que}", _than(rule, refs, n_levels))
    if others:
        text += " ; " + " ; ".join(others)
    text += f". Source : {source_citation(terr)}."
    if fictitious:
        text += " " + FICTITIOUS_NOTE
    return text


# ------------------------------------------------------------------------------------ rules
def _companion_values(table: _Rows, rule: Rule, ref: dict) -> tuple[int | None, str, str]:
    """(sign of the companion's difference as shown: +1, -1, 0 when the ranges meet, None when unknown; territory
    text; comparison text) at ``ref``'s level."""
    t = _territory_row(table, rule.companion)
    rows = [r for r in _level_rows(table, rule.companion, rule.against) if r["level_code"] == ref["level_code"]]
    if t is None or not rows:
        return None, "", ""
    a, b = _shown_range(t), _shown_range(rows[0])
    texts = _fmt_row(t, False), _fmt_row(rows[0], False)
    if a is None or b is None:
        return None, *texts
    return (1 if a[0] > b[1] else -1 if a[1] < b[0] else 0), *texts


def _apply_rule(table: _Rows, rule: Rule, out: Synthesis) -> Finding | None:
    """The finding of one rule (None when it concludes nothing; what does not conclude goes to ``out``)."""
    terr = _territory_row(table, rule.indicator)
    if terr is None:
        return None
    label = str(terr["label"])
    if _shown_range(terr) is None:
        deps = _level_rows(table, rule.indicator, Level.DEPARTEMENT)
        uncovered = deps and all(_shown_range(d) is None for d in deps)
        why = f" : la source ne couvre pas {fr.enumeration([str(d['level_name']) for d in deps])}" if uncovered else ""
        out.inconclusive.append(f"{label} : non disponible pour ce territoire{why} (jamais compté comme zéro).")
        return None
    refs = [r for r in _level_rows(table, rule.indicator, rule.against) if _shown_range(r) is not None]
    if not refs:
        out.inconclusive.append(f"{label} : pas de valeur de comparaison ({_level_word(rule)}).")
        return None
    fictitious = terr["quality"] == Quality.FICTITIOUS
    compared: list[tuple] = [  # (ref, side, gap, approximate, companion (sign, territory text, ref text))
        (ref, *gap_of(terr, ref), _companion_values(table, rule, ref) if rule.companion else (None, "", ""))
        for ref in refs
    ]
    concluding = [c for c in compared if c[1] in (1, -1) and (not rule.companion or c[4][0] == c[1])]
    sides = {c[1] for c in concluding}
    tval = _fmt_row(terr)
    if len(sides) == 2:
        parts = [
            f"{'supérieure' if c[1] > 0 else 'inférieure'} à {c[0]['level_name']} ({_fmt_row(c[0])})"
            for c in concluding
        ]
        out.inconclusive.append(
            f"{label} : {tval} sur le territoire, {', '.join(parts)} : comparaison contrastée, pas de conclusion."
        )
        return None
    if not sides:
        for ref, side, gap, approximate, companion in compared:
            against = f"{tval} sur le territoire contre {_for_levels(rule, [ref])}"
            if side is None:
                out.inconclusive.append(
                    f"{label} : {against} — valeurs incertaines (masquées ou approchées) : comparaison non concluante."
                )
            elif side == 0 and approximate and gap >= EXACT_GAP - _EPS:
                out.inconclusive.append(
                    f"{label} : {against} — écart de {fr.percent(100 * gap)}, sous les "
                    f"{fr.percent(100 * APPROXIMATE_GAP, 0)} exigés d'une valeur approchée : pas de conclusion."
                )
            elif side in (1, -1) and rule.companion:  # the companion goes the other way (or does not differ)
                out.inconclusive.append(
                    f"{label} : {against}, mais {rule.companion_text} de {companion[1]} contre {companion[2]} : "
                    "comparaison contrastée, pas de conclusion."
                )
        return None
    side = sides.pop()
    refs_used = [c[0] for c in concluding]
    rest = [c for c in compared if not any(c is k for k in concluding)]
    others = []
    for ref, rside, _gap, _approximate, (_sign, ctext, rtext) in rest:
        named = f"{_the_level(rule)} {ref['level_name']} ({_fmt_row(ref)})"
        if rside in (1, -1):  # the companion does not go the same way
            detail = f"égal ({ctext})" if ctext == rtext else f"de {ctext} contre {rtext}"
            others.append(f"pas de conclusion face à {named} : {rule.companion_text} {detail}")
        else:
            others.append(f"{'écart non significatif' if rside == 0 else 'comparaison non concluante'} avec {named}")
    texts = (concluding[0][4][1], [c[4][2] for c in concluding]) if rule.companion else None  # companion
    good = (side > 0) == (rule.higher_is == STRENGTH)
    return Finding(
        kind=STRENGTH if good else WEAKNESS,
        indicator=rule.indicator,
        theme=str(terr["theme"]),
        text=_sentence(rule, side, terr, refs_used, len(refs), texts, fictitious, others),
        territory_value=_values(terr),
        reference_name=", ".join(str(r["level_name"]) for r in refs_used),
        fictitious=bool(fictitious),
        references=tuple((str(r["level_name"]), _values(r)) for r in refs_used),
        approximate=any(c[3] for c in concluding),
        gap=min(c[2] for c in concluding),
        brief=f"{label} : {tval} sur le territoire contre {_for_levels(rule, refs_used)}",
    )


def _underserved(table: _Rows, out: Synthesis) -> Finding | None:
    """Population living under the APL threshold: a weakness when known to be positive, a strength when zero, with
    the share of the population and that of the région(s) beside it (one finding for the « APL < 2,5 » figure)."""
    r = _territory_row(table, _UNDERSERVED)
    if r is None:
        return None
    value, low, high = _values(r)
    share = _territory_row(table, "apl_mg_2023_part_sous_seuil")
    share_text = ""
    if share is not None:
        sv, slo, shi = _values(share)
        if not math.isnan(slo) and not math.isnan(shi) and fr.number(slo, 1) != fr.number(shi, 1):
            share_text = f", soit entre {fr.number(slo, 1)} et {fr.percent(shi)} de la population,"
        elif not math.isnan(sv):
            share_text = f", soit {fr.percent(sv)} de la population,"
    regions = _level_rows(table, "apl_mg_2023_part_sous_seuil", Level.REGION)
    regions = [x for x in regions if _shown_range(x) is not None]
    context = fr.enumeration([f"région {x['level_name']} : {_fmt_row(x)}" for x in regions]) if regions else ""
    context = f" ({context} de la population)" if context else ""
    lo = value if not math.isnan(value) else low
    if not math.isnan(lo) and lo > 0:
        pop = fr.value_text(value, low, high, unit="hab.", show_unit=False)
        kind = WEAKNESS
        text = (
            f"{pop} habitants{share_text} vivent dans une commune où l'APL aux médecins "
            f"généralistes est inférieure à 2,5 consultations par an et par habitant en 2023, seuil "
            f"utilisé pour repérer les zones sous-denses{context}. Source : {source_citation(r)}."
        )
    elif value == 0:
        kind = STRENGTH
        text = (
            "Aucun habitant ne vit dans une commune où l'APL aux médecins généralistes est inférieure "
            f"à 2,5 consultations par an et par habitant en 2023{context}. Source : {source_citation(r)}."
        )
    else:
        if not (math.isnan(low) and math.isnan(high)):
            out.inconclusive.append(
                f"{r['label']} : {fr.value_text(value, low, high, unit='hab.')} — peut-être aucun habitant : "
                "pas de conclusion."
            )
        return None
    return Finding(
        kind=kind,
        indicator=str(r["indicator"]),
        theme=str(r["theme"]),
        text=text,
        territory_value=(value, low, high),
        reference_name="seuil de 2,5",
    )


def _nurse_zonage(diag, table: _Rows) -> Finding | None:
    """The ARS nurse zonage: a weakness when someone lives in a « très sous-dotée » or « sous-dotée » zone (the
    communes counted), a strength when the whole population (with a zonage, all of it) lives in « très dotée » or
    « sur-dotée » zones, nothing otherwise."""
    r = _territory_row(table, _ZONAGE)
    if r is None:
        return None
    value, low, high = _values(r)
    lo = value if not math.isnan(value) else low
    shares = {lv: _territory_row(table, f"zonage_infirmiers_part_{lv}") for lv in range(1, 6)}
    share = {lv: (math.nan if s is None else _values(s)[0]) for lv, s in shares.items()}
    source = f"Source : {source_citation(r)}."
    common: dict[str, Any] = dict(indicator=str(r["indicator"]), theme=str(r["theme"]), reference_name="zonage ARS")
    common["territory_value"] = (value, low, high)
    if not math.isnan(lo) and lo > 0:
        communes = getattr(diag, "communes", None)
        levels = (
            communes["zonage_infirmiers"].astype(str)
            if communes is not None and "zonage_infirmiers" in communes
            else None
        )
        parts = []
        for lv, label in ((1, "très sous-dotée"), (2, "sous-dotée")):
            n = None if levels is None else int((levels == label).sum())
            if n == 0 or (n is None and not share[lv] > 0):
                continue
            where = (
                f"{fr.integer(n)} commune{'s' if n > 1 else ''} en zone {label}" if n is not None else f"zone {label}"
            )
            parts.append(where + ("" if math.isnan(share[lv]) else f" ({fr.percent(share[lv])} de la population)"))
        pop = fr.value_text(value, low, high, unit="hab.", show_unit=False)
        detail = f" : {fr.enumeration(parts)}" if parts else ""
        text = f"{pop} habitants vivent en zone très sous-dotée ou sous-dotée pour les infirmiers libéraux{detail}."
        return Finding(kind=WEAKNESS, text=f"{text} {source}", **common)
    full = not fr.is_missing(r["coverage"]) and float(r["coverage"]) >= 1 - _EPS
    well = share[4] + share[5] if not (math.isnan(share[4]) or math.isnan(share[5])) else math.nan
    if value == 0 and full and not math.isnan(well) and _shown(well, 1) >= 100:
        zones = fr.enumeration(
            [
                f"{fr.percent(share[lv])} en zone {lab}"
                for lv, lab in ((4, "très dotée"), (5, "sur-dotée"))
                if _shown(share[lv], 1) > 0
            ]
        )
        text = (
            f"Toute la population vit en zone très dotée ou sur-dotée pour les infirmiers libéraux ({zones}) : aucun "
            f"habitant en zone très sous-dotée ou sous-dotée. {source}"
        )
        return Finding(kind=STRENGTH, text=text, **common)
    return None


def _precedence(found: dict[str, Finding], out: Synthesis) -> None:
    """Within each topic of :data:`TOPICS`, drop the findings that conclude against the leading one: the most direct
    real (non-fictitious) finding, or the most direct finding when all are fictitious."""
    for topic in TOPICS:
        present = [(ind, name) for ind, name in topic if ind in found]
        if len(present) < 2:
            continue
        leader = next(((i, n) for i, n in present if not found[i].fictitious), present[0])
        lead = found[leader[0]]
        for ind, name in present:
            f = found[ind]
            if ind == leader[0] or f.kind == lead.kind:
                continue
            why = "plus direct" if present.index((ind, name)) > present.index(leader) else "tiré de données réelles"
            out.overruled.append(
                f"{f.brief or f.sentence} — constat écarté : {leader[1]}, {why}, conclut à une {lead.kind}."
            )
            del found[ind]


def derive_findings(diag) -> Synthesis:
    """Apply the rules to a :class:`~cpts_diag.indicators.Diagnostic` (or to its indicator table).

    Returns the strengths and weaknesses (in rule order, at most one per indicator), the French list of
    comparisons that could not conclude (masked or approximate values whose range spans the comparison value, an
    approximate gap under :data:`APPROXIMATE_GAP`, comparisons going opposite ways, a missing value) and the
    findings set aside by a more direct indicator of the same thing (:data:`TOPICS`). The nurse zonage finding
    also reads ``diag.communes``.
    """
    table = _by_indicator(diag.indicators if hasattr(diag, "indicators") else diag)
    out = Synthesis()
    found: dict[str, Finding] = {}
    order: list[str] = [_UNDERSERVED]
    if (f := _underserved(table, out)) is not None:
        found[_UNDERSERVED] = f
    for rule in RULES:
        if rule.indicator == "densite_infirmiers_liberaux":  # the zonage first: it is the more direct
            order.append(_ZONAGE)
            if (f := _nurse_zonage(diag, table)) is not None:
                found[_ZONAGE] = f
        order.append(rule.indicator)
        if (f := _apply_rule(table, rule, out)) is not None:
            found[rule.indicator] = f
    _precedence(found, out)
    for ind in order:
        if ind in found:
            (out.strengths if found[ind].kind == STRENGTH else out.weaknesses).append(found[ind])
    return out
