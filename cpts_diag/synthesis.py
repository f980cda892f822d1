"""Strengths and weaknesses of a territory, derived from its indicators and their comparisons.

Each rule compares the territory's value of one indicator with a comparison level (its région, or each
département it touches) and, when the difference is clear, writes one French sentence that cites both
figures with their source and vintage. A value known only as a range (masked counts, communes split
below the commune level) concludes only when the whole range lies on one side; otherwise the comparison
is listed as inconclusive, never guessed. Findings that use fictitious data say so.

Examples
--------
>>> from cpts_diag import settings
>>> from cpts_diag.indicators import diagnose
>>> synthesis = derive_findings(diagnose(settings.DEFAULT_PERIMETERS, "CPTS Verdon"))
>>> [(f.kind, f.indicator) for f in synthesis.strengths]
[('force', 'apl_mg_2023'), ('force', 'densite_mg_liberaux')]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from cpts_diag import fr_format as fr
from cpts_diag.indicator_data import Quality

__all__ = [
    "FICTITIOUS_NOTE",
    "RULES",
    "STRENGTH",
    "WEAKNESS",
    "Finding",
    "Rule",
    "Synthesis",
    "derive_findings",
    "source_citation",
]

STRENGTH, WEAKNESS = "force", "faiblesse"

#: Sentence ending every finding computed from fictitious data.
FICTITIOUS_NOTE = "Données fictives : à remplacer par la table de votre CPAM."

#: Relative difference under which two values are considered equal (no finding).
TOLERANCE = 0.02


@dataclass(frozen=True)
class Rule:
    """One comparison rule.

    ``indicator`` (an id of ``diag.indicators["indicator"]``) is compared with the level ``against``
    (``"region"`` or ``"departement"``); ``higher_is`` tells what a higher territory value is (``"force"`` or
    ``"faiblesse"``). ``subject`` is the French noun phrase naming the indicator in a sentence (« l'APL aux
    médecins généralistes »), ``above`` / ``below`` the French clause appended when the value is above /
    below the comparison (may be empty) and ``feminine`` the grammatical gender of ``subject`` (« la part …
    est supérieure à celle de », « le taux … est supérieur à celui de »).
    """

    indicator: str
    against: str
    higher_is: str
    subject: str
    above: str = ""
    below: str = ""
    feminine: bool = True


#: The rules, in the order findings are listed.
RULES: tuple[Rule, ...] = (
    Rule(
        "apl_mg_2023",
        "region",
        STRENGTH,
        "l'accessibilité potentielle localisée (APL) aux médecins généralistes en 2023",
        "accès aux médecins généralistes meilleur que dans la région",
        "accès aux médecins généralistes plus difficile que dans la région",
    ),
    Rule(
        "apl_mg_2023_part_sous_seuil",
        "region",
        WEAKNESS,
        "la part de la population vivant dans une "
        "commune où l'APL 2023 est inférieure à 2,5 consultations par an et par habitant",
        "zones sous-denses plus étendues que dans la région",
        "zones sous-denses moins étendues que dans la région",
    ),
    Rule(
        "densite_mg_liberaux",
        "departement",
        STRENGTH,
        "la densité de médecins généralistes libéraux",
        "offre de médecine générale plus dense que dans le département",
        "offre de médecine générale moins dense que dans le département",
    ),
    Rule(
        "densite_infirmiers_liberaux",
        "departement",
        STRENGTH,
        "la densité d'infirmiers libéraux",
        "offre infirmière plus dense que dans le département",
        "offre infirmière moins dense que dans le département",
    ),
    Rule(
        "part_75_plus",
        "region",
        WEAKNESS,
        "la part des personnes de 75 ans et plus",
        "population plus âgée que dans la région, d'où des besoins accrus de suivi et de maintien à domicile",
        "population moins âgée que dans la région",
    ),
    Rule(
        "part_sans_mt_17_plus",
        "region",
        WEAKNESS,
        "la part des patients de 17 ans et plus sans médecin traitant",
        "accès au médecin traitant plus difficile que dans la région",
        "accès au médecin traitant meilleur que dans la région",
    ),
    Rule(
        "part_sans_mt_70_plus",
        "region",
        WEAKNESS,
        "la part des patients de 70 ans et plus sans médecin traitant",
        "personnes âgées plus souvent sans médecin traitant que dans la région",
        "personnes âgées moins souvent sans médecin traitant que dans la région",
    ),
    Rule(
        "part_sans_mt_ald",
        "region",
        WEAKNESS,
        "la part des patients en ALD sans médecin traitant",
        "patients en ALD plus souvent sans médecin traitant que dans la région",
        "patients en ALD moins souvent sans médecin traitant que dans la région",
    ),
    Rule(
        "taux_pauvrete",
        "region",
        WEAKNESS,
        "le taux de pauvreté",
        "précarité plus fréquente que dans la région",
        "précarité moins fréquente que dans la région",
        feminine=False,
    ),
    Rule(
        "part_css_cpam",
        "region",
        WEAKNESS,
        "la part des bénéficiaires de la complémentaire santé solidaire (CSS)",
        "précarité plus fréquente que dans la région",
        "précarité moins fréquente que dans la région",
    ),
    Rule(
        "part_ald",
        "region",
        WEAKNESS,
        "la part de la population en affection de longue durée (ALD)",
        "besoins de suivi des maladies chroniques plus élevés que dans la région",
        "besoins de suivi des maladies chroniques moins élevés que dans la région",
    ),
)


@dataclass
class Finding:
    """One strength or weakness (``kind``: ``"force"`` or ``"faiblesse"``) about an indicator.

    ``text`` is the French sentence citing the territory value, the comparison value, source and vintage;
    ``territory_value`` and ``reference_value`` are the (value, low, high) of the territory and of the
    comparison level named ``reference_name``; ``fictitious`` tells that the territory value comes from
    fictitious data.
    """

    kind: str
    indicator: str
    theme: str
    text: str
    territory_value: tuple
    reference_value: tuple
    reference_name: str
    fictitious: bool = False

    @property
    def sentence(self) -> str:
        """The text without its closing fictitious-data note (shown apart, e.g. as a red tag)."""
        return self.text.removesuffix(" " + FICTITIOUS_NOTE)


@dataclass
class Synthesis:
    """Strengths, weaknesses and inconclusive comparisons of a territory."""

    strengths: list[Finding] = field(default_factory=list)
    weaknesses: list[Finding] = field(default_factory=list)
    inconclusive: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[Finding]:
        return self.strengths + self.weaknesses


def _interval(value: float, low: float, high: float) -> tuple[float, float] | None:
    """Smallest interval holding the value and its bounds (None when nothing is known)."""
    known = [x for x in (value, low, high) if not math.isnan(x)]
    return (min(known), max(known)) if known else None


def _side(terr: tuple[float, float, float], ref: tuple[float, float, float]) -> int | None:
    """+1 clearly above, -1 clearly below, 0 about equal, None undetermined.

    Both sides may be ranges (masked or approximate values): the comparison concludes only when the
    two ranges do not overlap (beyond a relative tolerance of :data:`TOLERANCE`).
    """
    a, b = _interval(*terr), _interval(*ref)
    if a is None or b is None:
        return None
    tol = TOLERANCE * max(abs(b[0]), abs(b[1]), 1e-9)
    if a[0] > b[1] + tol:
        return 1
    if a[1] < b[0] - tol:
        return -1
    if a[0] >= b[0] - tol and a[1] <= b[1] + tol and (a[1] - a[0]) <= 2 * tol and (b[1] - b[0]) <= 2 * tol:
        return 0
    return None


def source_citation(row: pd.Series) -> str:
    """Source of an indicator row: « source (millésime v, niveau l) », the source alone for fictitious data."""
    if row.get("quality") == Quality.FICTITIOUS:
        return str(row["source"])
    return f"{row['source']} (millésime {row['vintage']}, niveau {row['source_level']})"


def _values(row: pd.Series) -> tuple[float, float, float]:
    """(value, low, high) of an indicator row as floats, NaN when missing."""
    return tuple(float("nan") if fr.is_missing(row[c]) else float(row[c]) for c in ("value", "value_low", "value_high"))


def _fmt_row(row: pd.Series) -> str:
    return fr.value_text(row["value"], row["value_low"], row["value_high"], unit=str(row["unit"]))


def _sentence(rule: Rule, side: int, terr: pd.Series, ref: pd.Series, fictitious: bool) -> str:
    tval, rval = _fmt_row(terr), _fmt_row(ref)
    where = f"de la région {ref['level_name']}" if rule.against == "region" else f"du département {ref['level_name']}"
    comparison = ("supérieur" if side > 0 else "inférieur") + ("e" if rule.feminine else "")
    pronoun = "celle" if rule.feminine else "celui"
    subject = rule.subject[0].upper() + rule.subject[1:]
    clause = rule.above if side > 0 else rule.below
    verb = "se situe" if tval.startswith("entre") else "est de"
    text = f"{subject} {verb} {tval} sur le territoire, {comparison} à {pronoun} {where} ({rval})"
    if clause:
        text += f" : {clause}"
    text += f". Source : {source_citation(terr)}."
    if fictitious:
        text += " " + FICTITIOUS_NOTE
    return text


def _territory_row(table: pd.DataFrame, indicator: str) -> pd.Series | None:
    """The territory's row of ``indicator`` in an indicator table, None when absent."""
    rows = table[(table["indicator"] == indicator) & (table["level"] == "territoire")]
    return None if rows.empty else rows.iloc[0]


def derive_findings(diag) -> Synthesis:
    """Apply :data:`RULES` to a :class:`~cpts_diag.indicators.Diagnostic` (or to its indicator table).

    Returns the strengths and weaknesses (in rule order; against each département for département rules),
    and the French list of comparisons that could not conclude (masked or approximate values whose range
    spans the comparison value, or a missing comparison). The nurse zonage finding also reads
    ``diag.communes``.
    """
    table = diag.indicators if hasattr(diag, "indicators") else diag
    out = Synthesis()
    for rule in RULES:
        terr = _territory_row(table, rule.indicator)
        if terr is None:
            continue
        tvals = _values(terr)
        fictitious = terr["quality"] == Quality.FICTITIOUS
        rows = table[(table["indicator"] == rule.indicator) & (table["level"] == rule.against)]
        refs = [r for _, r in rows.iterrows() if _interval(*_values(r)) is not None]
        if not refs:
            out.inconclusive.append(
                f"{terr['label']} : pas de valeur de comparaison "
                f"({'région' if rule.against == 'region' else 'département'})."
            )
            continue
        for ref in refs:
            side = _side(tvals, _values(ref))
            if side is None and _interval(*tvals) is not None:
                out.inconclusive.append(
                    f"{terr['label']} : {_fmt_row(terr)} sur le territoire contre "
                    f"{_fmt_row(ref)} pour {ref['level_name']} — valeurs incertaines "
                    "(masquées ou approchées) : comparaison non concluante."
                )
            if not side:  # undetermined or about equal
                continue
            good = (side > 0) == (rule.higher_is == STRENGTH)
            finding = Finding(
                kind=STRENGTH if good else WEAKNESS,
                indicator=rule.indicator,
                theme=str(terr["theme"]),
                text=_sentence(rule, side, terr, ref, fictitious),
                territory_value=tvals,
                reference_value=_values(ref),
                reference_name=str(ref["level_name"]),
                fictitious=fictitious,
            )
            (out.strengths if good else out.weaknesses).append(finding)
    _add_underserved(table, out)
    _add_nurse_zonage(diag, table, out)
    return out


def _add_nurse_zonage(diag, table: pd.DataFrame, out: Synthesis) -> None:
    """Communes in « très sous-dotée » or « sous-dotée » nurse zones (ARS zonage): a weakness."""
    r = _territory_row(table, "zonage_infirmiers_pop_sous_dotee")
    communes = getattr(diag, "communes", None)
    if r is None or communes is None or "zonage_infirmiers" not in communes:
        return
    levels = communes["zonage_infirmiers"].astype(str)
    n_very, n_under = int((levels == "très sous-dotée").sum()), int((levels == "sous-dotée").sum())
    if n_very + n_under == 0:
        return
    value, low, high = _values(r)
    pop = fr.value_text(value, low, high, unit="hab.", show_unit=False)
    shares = []
    for lv, label in ((1, "très sous-dotée"), (2, "sous-dotée")):
        share = _territory_row(table, f"zonage_infirmiers_part_{lv}")
        if share is not None and not fr.is_missing(share["value"]):
            shares.append(f"{fr.percent(share['value'])} en zone {label}")
    detail = f" ({' ; '.join(shares)})" if shares else ""
    out.weaknesses.append(
        Finding(
            kind=WEAKNESS,
            indicator=str(r["indicator"]),
            theme=str(r["theme"]),
            text=(
                f"{fr.integer(n_very)} commune(s) en zone très sous-dotée et {fr.integer(n_under)} en zone sous-dotée "
                f"pour les infirmiers libéraux : {pop} habitants{detail}. Source : {source_citation(r)}."
            ),
            territory_value=(value, low, high),
            reference_value=(math.nan, math.nan, math.nan),
            reference_name="zonage ARS",
        )
    )


def _add_underserved(table: pd.DataFrame, out: Synthesis) -> None:
    """Population living under the APL threshold: a weakness when known to be positive, a strength when zero."""
    r = _territory_row(table, "apl_mg_2023_pop_sous_seuil")
    if r is None:
        return
    value, low, high = _values(r)
    share = _territory_row(table, "apl_mg_2023_part_sous_seuil")
    share_text = ""
    if share is not None:
        sv, slo, shi = _values(share)
        if not math.isnan(slo) and not math.isnan(shi) and fr.number(slo, 1) != fr.number(shi, 1):
            share_text = f", soit entre {fr.number(slo, 1)} et {fr.percent(shi)} de la population,"
        elif not math.isnan(sv):
            share_text = f", soit {fr.percent(sv)} de la population,"
    lo = value if not math.isnan(value) else low
    if not math.isnan(lo) and lo > 0:
        pop = fr.value_text(value, low, high, unit="hab.", show_unit=False)
        kind = WEAKNESS
        text = (
            f"{pop} habitants{share_text} vivent dans une commune où l'APL aux médecins "
            f"généralistes est inférieure à 2,5 consultations par an et par habitant en 2023, seuil "
            f"utilisé pour repérer les zones sous-denses. Source : {source_citation(r)}."
        )
    elif value == 0:
        kind = STRENGTH
        text = (
            "Aucun habitant ne vit dans une commune où l'APL aux médecins généralistes est inférieure "
            f"à 2,5 consultations par an et par habitant en 2023. Source : {source_citation(r)}."
        )
    else:
        return
    (out.weaknesses if kind == WEAKNESS else out.strengths).insert(
        0,
        Finding(
            kind=kind,
            indicator=str(r["indicator"]),
            theme=str(r["theme"]),
            text=text,
            territory_value=(value, low, high),
            reference_value=(2.5, 2.5, 2.5),
            reference_name="seuil de 2,5",
        ),
    )
