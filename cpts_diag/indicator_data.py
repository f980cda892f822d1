"""Embedded indicator data, loaded once, and the registry of every data source.

The registry (:data:`SOURCES`) cites each source once — label, short name, caveats — taking producer, vintage,
geographic level, licence and file from its dataset (:data:`cpts_diag.datasets.DATASETS`); indicator rows and
reports cite these entries instead of repeating provenance in code. :func:`load_indicator_data` reads the embedded files
(``data/``, built by ``cpts-diag data build``) into tidy tables keyed by COG 2026 codes, cached.

Examples
--------
>>> SOURCES["apl"].producer
'DREES'
>>> data = load_indicator_data()
>>> data.apl.loc[data.apl["code"] == "13201", "arrondissement"].item()
'13201'
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cpts_diag import settings
from cpts_diag.datasets import DATASETS
from cpts_diag.io.embedded import load_dataset, parse_numbers
from cpts_diag.reference import Reference, load_reference


@dataclass(frozen=True, kw_only=True)
class Source:
    """One citation of a dataset: what it is, who publishes it, which vintage and geographic level.

    ``key`` is the registry key (``"apl"``, ``"bv"``...), ``label`` the French name cited in indicator rows and
    ``short`` a short one for narrow tables. ``dataset`` names the embedded file's entry of
    :data:`cpts_diag.datasets.DATASETS` (empty for a user file): ``producer``, ``vintage``, ``level`` (geographic
    level of the published data), ``license`` and ``file`` default to its text; given here, they override it
    where the citation words it differently (the comment above :data:`SOURCES`). ``note`` (caveats a reader
    must know) is French text; ``file`` is the embedded file name under ``data/`` or the user file path;
    ``fictitious`` is True for invented data.

    >>> Source(key="x", label="X", dataset="apl").file
    'apl_mg_communes_2022_2023.csv'
    """

    key: str
    label: str
    dataset: str = ""
    producer: str = ""
    vintage: str = ""
    level: str = ""
    license: str = ""
    file: str = ""
    note: str = ""
    fictitious: bool = False
    short: str = ""

    def __post_init__(self) -> None:
        if self.dataset:
            d = DATASETS[self.dataset]
            cited = dict(producer=d.producer, vintage=d.vintage, level=d.level, license=d.licence, file=d.file)
            for name, value in cited.items():
                if not getattr(self, name):
                    object.__setattr__(self, name, value)


#: Columns of :func:`sources_table`.
SOURCE_COLUMNS = ["source", "producer", "vintage", "level", "license", "note", "fictitious"]

# An entry words producer, vintage or level itself where one file holds several sources (départements, social).
SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source(
            key="cog",
            label="INSEE, populations légales 2023 (COG 2026)",
            dataset="communes",
            note=(
                "Population municipale. Une commune découpée infra-communalement (Nice, Toulon) est "
                "comptée entre 0 et sa population entière : valeur approchée, avec bornes."
            ),
            short="INSEE, pop. légales",
        ),
        Source(
            key="polygons",
            label="IGN ADMIN EXPRESS simplifié (codes COG 2026)",
            dataset="commune_areas",
            note=(
                "Superficies calculées une fois sur les contours source, sur l'ellipsoïde (aire "
                "géodésique, sans projection : ni Lambert-93 ni UTM, qui ne conservent pas les aires), en"
                " métropole comme dans les DROM ; départements, régions et France sont des sommes de "
                "communes. 4 communes rétablies en 2025 (Cantal) n'ont pas de contour : superficie "
                "inconnue, jamais zéro (voir data/SOURCES.md)."
            ),
            short="IGN, contours",
        ),
        Source(
            key="apl",
            label="DREES, APL aux médecins généralistes",
            dataset="apl",
            note=(
                "Moyenne pondérée par la population standardisée ; population sous le seuil de 2,5 "
                "consultations/an/hab. comptée en population totale (note de la DREES). Champ : France "
                "hors Mayotte. Populations 2020 (APL 2022) et 2021 (APL 2023)."
            ),
            short="DREES, APL",
        ),
        Source(
            key="bv",
            label="CartoSanté / INSEE, indicateurs par bassin de vie 2022",
            dataset="bv_indicators",
            note=(
                "Valeur du bassin de vie attribuée à chacune de ses communes, puis moyenne pondérée par "
                "la population : estimation approchée. Un bassin de vie masqué (secret statistique) "
                "laisse la population de ses communes non couverte."
            ),
            short="CartoSanté/INSEE (BV)",
        ),
        Source(
            key="bv_table",
            label="INSEE, communes → bassins de vie 2022",
            dataset="commune_bv",
            note="Rattachement au COG 2026 ; une commune absente du COG 2024 est rattachée par un ancien code.",
            short="INSEE, BV 2022",
        ),
        Source(
            key="departements",
            label="INSEE, BPE 2024 (Statistiques locales), médecins généralistes par département",
            dataset="departement_indicators",
            vintage="BPE 2024",
            note=(
                "Nombre de médecins généralistes (équipement D265) ; densité rapportée à la population "
                "légale 2023. Non disponible à la maille du territoire sans fichier BPE communal."
            ),
            short="INSEE, BPE 2024",
        ),
        Source(
            key="insee_ages",
            label="INSEE, évolution et structure de la population (fichier fourni)",
            producer="INSEE",
            vintage="selon le fichier",
            level="commune (arrondissement municipal selon le fichier)",
            license="Licence Ouverte",
            note="Fichier fourni par l'utilisateur ; remplace les parts par bassin de vie.",
            short="INSEE, âges (fichier)",
        ),
        Source(
            key="bpe",
            label="INSEE, base permanente des équipements (fichier fourni)",
            producer="INSEE",
            vintage="selon le fichier",
            level="commune (arrondissement municipal selon le fichier)",
            license="Licence Ouverte",
            note=(
                "Nombre d'équipements (lieux d'exercice, à titre libéral ; pharmacies pour D307) de "
                "chaque profession de santé du fichier : D265 médecin généraliste, D277 "
                "chirurgien-dentiste, D278 sage-femme, D281 infirmier, D279 masseur-kinésithérapeute, "
                "D280 pédicure-podologue, D307 pharmacie, spécialistes… ; un code inconnu est compté sous"
                " son code. Fichier « une ligne par équipement » ou « ensemble » : une commune d'un "
                "département présent dans le fichier mais sans ligne pour une profession en compte 0 (si "
                "la profession figure dans le fichier) ; tableau par commune : case vide ou commune "
                "absente = inconnue, jamais zéro. Densité rapportée à la population légale 2023. Remplace"
                " la densité de médecins généralistes par bassin de vie."
            ),
            short="INSEE, BPE (fichier)",
        ),
        Source(
            key="cpam",
            label="Assurance Maladie, table CPAM / Rézone CPTS (fichier fourni)",
            producer="Assurance Maladie (CPAM)",
            vintage="selon le fichier",
            level="commune (arrondissement municipal selon le fichier)",
            license="données non ouvertes, transmises par la CPAM",
            note=(
                "Effectifs masqués (« <10 »…) inconnus, jamais zéro : total donné en fourchette (somme "
                "connue … somme connue + cellules masquées × seuil)."
            ),
            short="CPAM (fichier)",
        ),
        Source(
            key="pop_hist",
            label="INSEE, populations municipales 2016, 2019 à 2022 (harmonisées au COG 2026)",
            dataset="population_history",
            note=(
                "Chaque millésime est publié dans son propre COG : communes fusionnées depuis "
                "additionnées ; une commune rétablie depuis (défusion) n'a pas de valeur propre — son "
                "groupe n'est compté que s'il est entier dans le territoire. Taux d'évolution annuel "
                "moyen = (P2023/Pdébut)^(1/n) − 1, à périmètre constant (communes harmonisées seulement)."
            ),
            short="INSEE, pop. historiques",
        ),
        Source(
            key="filosofi",
            label="INSEE, Filosofi 2019, revenu disponible médian par unité de consommation",
            dataset="filosofi",
            note=(
                "La médiane d'un territoire ne se calcule pas à partir des médianes communales : sont "
                "donnés l'étendue et la distribution des médianes communales pondérée par la population "
                "des ménages fiscaux. Communes absentes (secret statistique) : inconnues, jamais zéro."
            ),
            short="INSEE, Filosofi 2019",
        ),
        Source(
            key="dep_stats",
            label="INSEE, Statistiques locales, indicateurs par département",
            dataset="departement_indicators",
            vintage="2021",
            note="Médiane du niveau de vie 2021 (Filosofi) : valeur officielle du département.",
            short="INSEE, stat. locales",
        ),
        Source(
            key="ameli",
            label="Assurance Maladie, démographie des professionnels de santé libéraux",
            dataset="ameli",
            note=(
                "Libéraux seulement (salariés exclus). Densité publiée pour 100 000 habitants, sauf pour "
                "les sages-femmes (pour 100 000 femmes de 15 à 49 ans), les gynécologues (femmes de 15 "
                "ans et plus) et les pédiatres (enfants de moins de 15 ans) ; affichée pour 10 000 de la "
                "même population et comparée seulement à une densité de même dénominateur. Pas de valeur "
                "à la maille du territoire. Les pharmaciens ne figurent pas dans ce fichier."
            ),
            short="Assurance Maladie 2024",
        ),
        Source(
            key="zonage_inf",
            label="ARS, zonage conventionnel des infirmiers libéraux (CartoSanté)",
            dataset="nurse_zonage",
            note=(
                "Cinq niveaux : très sous-dotée, sous-dotée, intermédiaire, très dotée, sur-dotée. Zonage"
                " des infirmiers, pas celui des médecins (ZIP/ZAC)."
            ),
            short="ARS, zonage inf.",
        ),
        Source(
            key="mortalite",
            label="INSEE, taux brut de mortalité (séries historiques du recensement)",
            dataset="mortality",
            note=(
                "Taux BRUT (non standardisé sur l'âge) : un territoire âgé a mécaniquement plus de décès."
                " Territoire : taux de l'EPCI de chaque commune, moyenne pondérée par la population 2016 "
                "(approchée) ; EPCI créés après 2020 non appariés (couverture < 100 %)."
            ),
            short="INSEE, mortalité",
        ),
        Source(
            key="rp_social",
            label="INSEE, recensement 2022 : part des 75 ans et plus et des familles monoparentales par commune",
            dataset="social",
            producer="INSEE (Statistiques locales), via GitHub linalek/hackathon (commit 5be73cf)",
            vintage="recensement 2022",
            level="commune (Paris, Lyon, Marseille : ville entière)",
            note=(
                "Parts publiées par commune. Part d'un territoire, d'un département, d'une région, de la "
                "France : moyenne des parts communales pondérée par la population municipale 2022 "
                "(recensement 2022), ce qui redonne les parts départementales publiées à 0,06 point près "
                "pour les 75 ans et plus. Familles monoparentales (parmi les familles) : le nombre de "
                "familles n'est pas publié ici, la pondération par la population est une approximation "
                "(écart aux valeurs départementales publiées : 0,4 point en médiane, 1,2 au plus). Paris,"
                " Lyon, Marseille ne sont publiées qu'en ville entière : un arrondissement reçoit la part"
                " de sa ville (approchée). Mayotte : non disponible (jamais zéro)."
            ),
            short="INSEE, RP 2022",
        ),
        Source(
            key="fedi",
            label="Santé publique France, indice de défavorisation F-EDI 2021 par commune",
            dataset="social",
            producer="Santé publique France (Géodes / Odissé), via GitHub linalek/hackathon (commit 5be73cf)",
            vintage="2021",
            note=(
                "French European Deprivation Index : un score, plus élevé = plus défavorisé. Quintiles "
                "nationaux : les communes (arrondissements à Paris, Lyon, Marseille) de France "
                "métropolitaine rangées par score, chaque quintile réunissant un cinquième de leur "
                "population 2022 (quintile 5 = le plus défavorisé) ; score d'un territoire : moyenne des "
                "scores communaux pondérée par la population 2022 (ce n'est pas un taux). France "
                "métropolitaine seulement : DROM non disponibles (jamais zéro) ; 3 communes sans score "
                "(60694, 85165, 85212)."
            ),
            short="SpF, F-EDI 2021",
        ),
        Source(
            key="cpam_fictif",
            label="EXEMPLE FICTIF de table CPAM (données fictives)",
            dataset="cpam_example",
            note=(
                "DONNÉES FICTIVES générées pour la démonstration : aucun chiffre qui en provient ne décrit la réalité."
            ),
            short="CPAM FICTIF",
            fictitious=True,
        ),
    )
}

#: Bassin-de-vie indicators: id -> (column of the file, its last word the vintage, French label, theme, unit).
BV_INDICATORS: dict[str, tuple[str, str, str, str]] = {
    "densite_mg_liberaux": (
        "Densité de généralistes lib. 2024",
        "Densité de médecins généralistes libéraux",
        "Offre de soins",
        "pour 10 000 hab.",
    ),
    "densite_infirmiers_liberaux": (
        "Densité d'infirmiers lib. 2024",
        "Densité d'infirmiers libéraux",
        "Offre de soins",
        "pour 10 000 hab.",
    ),
    # The export does not state the denominator; its national mean (about 2.4) fits women, not inhabitants.
    "densite_sages_femmes_liberales": (
        "Densité de sages-femmes lib. 2024",
        "Densité de sages-femmes libérales",
        "Offre de soins",
        "pour 10 000 femmes",
    ),
    "part_ald": (
        "Part des bénéf. en ALD dans la pop 2024",
        "Part de la population en affection de longue durée (ALD)",
        "Santé et social",
        "%",
    ),
    "part_moins_15": ("Part des pers. âgées de - 15 ans 2022", "Part des moins de 15 ans", "Démographie", "%"),
    "taux_pauvrete": (
        "Taux de pauvreté 2021",
        "Taux de pauvreté (seuil à 60 % du niveau de vie médian)",
        "Santé et social",
        "%",
    ),
}

APL_YEARS = ("2022", "2023")
#: APL measures: column prefix -> French label.
APL_MEASURES = {
    "apl_mg": "APL aux médecins généralistes",
    "apl_mg_moins65": "APL aux médecins généralistes de moins de 65 ans",
}

_GP_DEP_COLUMN = "Médecin généraliste (en nombre) 2024"


@dataclass(frozen=True)
class IndicatorData:
    """The embedded indicator data, keyed by COG 2026 codes, and the ``reference`` used to resolve codes.

    * ``apl``: one row per record of the DREES file: ``code`` (as published), ``code_insee`` (current commune),
      ``arrondissement`` (or NA), and float columns ``apl_mg_YYYY``, ``apl_mg_moins65_YYYY``,
      ``pop_standardisee_YYYY``, ``pop_totale_YYYY`` (NaN when empty).
    * ``bv``: indexed by current commune code: ``bv2022`` (code, NA when none), ``bassin_de_vie`` (name), one
      float column per :data:`BV_INDICATORS` id (NaN when masked or missing) and ``<id>_statut`` (the published
      token of a masked value, else "").
    * ``departements``: indexed by département code: ``nb_mg_bpe_2024`` (float).
    * ``areas``: area in km² of each commune with a polygon, indexed by commune code.
    * ``social``: indexed by commune or arrondissement code (COG 2026): float ``population_2022`` (census 2022,
      the weight), ``part_75_plus``, ``part_familles_monoparentales`` (%), ``fedi_2021`` (score) and
      ``fedi_quintile`` (1–5, national), NaN when not published.
    * ``notes``: French notes on what could not be loaded (e.g. polygons absent).
    """

    reference: Reference
    apl: pd.DataFrame
    bv: pd.DataFrame
    departements: pd.DataFrame
    areas: pd.Series
    social: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def attach_codes(codes, reference: Reference) -> pd.DataFrame:
    """Resolve published codes (communes of any recent COG, arrondissements municipaux) to current communes.

    The frame is aligned on ``codes`` (positional index): ``code``, ``code_insee`` (current commune, NA when
    unknown), ``arrondissement`` (the code when it is an arrondissement municipal, else NA).
    """
    resolved = reference.resolve_codes(codes)
    return resolved[["code", "code_current", "arrondissement"]].rename(columns={"code_current": "code_insee"})


def _load_apl(data_dir, reference: Reference) -> pd.DataFrame:
    raw = load_dataset("apl", data_dir)
    out = attach_codes(raw["code_insee"], reference)
    out["commune"] = raw["commune"].astype(object)
    for year in APL_YEARS:
        for col in (*APL_MEASURES, "pop_standardisee", "pop_totale"):
            out[f"{col}_{year}"] = raw[f"{col}_{year}"].to_numpy()
    return out[out["code_insee"].notna()].reset_index(drop=True)


def _bv_link(bv: pd.DataFrame, data_dir) -> pd.DataFrame:
    """Commune -> bassin de vie 2022 (``bv2022`` code, NA without one) and its name (``bassin_de_vie``)."""
    link = load_dataset("commune_bv", data_dir).set_index("code_insee")
    code = link["bv2022"].astype(object).where(link["bv2022"] != "", pd.NA)
    return pd.DataFrame({"bv2022": code, "bassin_de_vie": code.map(bv["libelle"].astype(object))})


def _load_bv(data_dir) -> pd.DataFrame:
    bv = load_dataset("bv_indicators", data_dir).set_index("code")
    out = _bv_link(bv, data_dir)
    code = out["bv2022"]
    for ind, (column, *_rest) in BV_INDICATORS.items():
        values = parse_numbers(bv[column])  # parse the 1,709 BV values once, then attribute
        status = bv[column].astype(object).where(values.isna(), "")
        out[ind] = code.map(values).astype(float).to_numpy()
        out[f"{ind}_statut"] = code.map(status).fillna("").to_numpy()
    return out


@functools.lru_cache(maxsize=4)
def load_bassins_de_vie(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Bassin de vie 2022 of every commune (index ``code_insee``; columns ``bv2022``, ``bassin_de_vie``), read alone
    (without the other indicator data; cached)."""
    return _bv_link(load_dataset("bv_indicators", data_dir).set_index("code"), data_dir)


@functools.lru_cache(maxsize=4)
def load_indicator_data(data_dir: str | Path | None = None) -> IndicatorData:
    """Load the embedded indicator data of ``data_dir`` (default :data:`cpts_diag.settings.DATA_DIR`; cached; < 1 s).

    Raises InputError when a required embedded file is missing (data not built). Missing polygons are not an
    error: areas are then unknown (noted in ``notes``).
    """
    base = Path(data_dir) if data_dir else settings.DATA_DIR
    reference = load_reference(data_dir)

    notes: list[str] = []
    apl = _load_apl(data_dir, reference)
    bv = _load_bv(data_dir)
    gps = load_dataset("departement_indicators", data_dir).set_index("code")[_GP_DEP_COLUMN]
    deps = pd.DataFrame({"nb_mg_bpe_2024": parse_numbers(gps)})
    social = load_dataset("social", data_dir).set_index("code_insee")
    if (base / SOURCES["polygons"].file).exists():
        from cpts_diag.commune_geo import load_commune_geo

        areas = load_commune_geo(base).areas.rename("area_km2")
    else:
        areas = pd.Series(dtype=float, name="area_km2")
        notes.append("superficies des communes absentes : superficie et densité non disponibles")
    return IndicatorData(
        reference=reference, apl=apl, bv=bv, departements=deps, areas=areas, social=social, notes=notes
    )


def user_source(key: str, path=None, vintage: str | None = None, fictitious: bool = False) -> Source:
    """The registry entry ``key`` ("insee_ages", "bpe", "cpam") completed for the user file ``path`` and the
    ``vintage`` read from it.

    ``fictitious``: the file declares fictitious data; the entry becomes the fictitious example's (keeping its
    vintage), or is relabelled « données fictives ».
    """
    changes: dict = {} if path is None else {"file": str(path)}
    if fictitious and path is not None and Path(path).name == SOURCES["cpam_fictif"].file:
        return dataclasses.replace(SOURCES["cpam_fictif"], **changes)
    if vintage:
        changes["vintage"] = str(vintage)
    base = SOURCES[key]
    if fictitious:
        changes.update(label=f"{base.label} — DONNÉES FICTIVES", fictitious=True, short=f"{base.short} FICTIF")
        changes["note"] = (
            f"Le fichier déclare des données fictives : aucun chiffre qui en provient ne décrit la réalité. {base.note}"
        )
    return dataclasses.replace(base, **changes)


def short_source(label: str, fictitious: bool = False) -> str:
    """Short name of a source from its label (registry entry or user-file variant, « FICTIF » when
    ``fictitious``)."""
    for s in SOURCES.values():
        if label == s.label:
            return s.short
    for s in SOURCES.values():
        if label.startswith(s.label):
            return s.short + (" FICTIF" if fictitious else "")
    return label


def sources_table(sources) -> pd.DataFrame:
    """Table of sources (columns :data:`SOURCE_COLUMNS`), one row per distinct entry, in order."""
    rows = [(s.label, s.producer, s.vintage, s.level, s.license, s.note, s.fictitious) for s in sources]
    return pd.DataFrame(rows, columns=SOURCE_COLUMNS).drop_duplicates("source", ignore_index=True)
