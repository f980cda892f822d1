"""The one registry of health professions: the BPE equipment codes users' files count, the professions the
Assurance Maladie publishes, their French labels, how they link, and the population each Ameli density is for.

Read by :mod:`cpts_diag.io.userfiles` (BPE files), the build of the Ameli file (:mod:`cpts_diag.build`), the
open-data indicators and the report's professions table.

Examples
--------
>>> bpe_label("D281"), BPE_PROFESSIONS["D281"][1]
('Infirmiers', 'infirmiers')
>>> bpe_label("D999")
'Code BPE D999 (non répertorié)'
"""

from __future__ import annotations

#: Professions kept from the Assurance Maladie file: published name -> (id, French label).
AMELI_PROFESSIONS = {
    "Ensemble des médecins généralistes": ("medecins_generalistes", "Médecins généralistes libéraux"),
    "Infirmiers": ("infirmiers", "Infirmiers libéraux"),
    "Masseurs-kinésithérapeutes": ("kinesitherapeutes", "Masseurs-kinésithérapeutes libéraux"),
    "Ensemble des chirurgiens-dentistes": ("chirurgiens_dentistes", "Chirurgiens-dentistes libéraux"),
    "Sages-femmes": ("sages_femmes", "Sages-femmes libérales"),
    "Orthophonistes": ("orthophonistes", "Orthophonistes libéraux"),
    "Pédicures-podologues": ("pedicures_podologues", "Pédicures-podologues libéraux"),
    "Orthoptistes": ("orthoptistes", "Orthoptistes libéraux"),
    "Psychiatres": ("psychiatres", "Psychiatres libéraux"),
    "Pédiatres": ("pediatres", "Pédiatres libéraux"),
    "Ophtalmologues": ("ophtalmologues", "Ophtalmologues libéraux"),
    "Gynécologues médicaux et obstétriciens": ("gynecologues", "Gynécologues (médicaux et obstétriciens) libéraux"),
    "Cardiologues": ("cardiologues", "Cardiologues libéraux"),
    "Ensemble des médecins spécialistes (hors généralistes)": (
        "medecins_specialistes",
        "Médecins spécialistes libéraux (hors généralistes)",
    ),
}

#: Population to which the Assurance Maladie relates a profession's published density (per 100,000), when it
#: is not the inhabitants: id -> French noun phrase. The file does not say it; effectif × 100,000 / densité
#: gives the denominator, e.g. France 2024: 14.5 M for the sages-femmes (women aged 15 to 49), 29.6 M for the
#: gynécologues (women aged 15 and over), 11.5 M for the pédiatres (children under 15), 68.6 M for the others.
AMELI_DENOMINATORS = {
    "sages_femmes": "femmes de 15 à 49 ans",
    "gynecologues": "femmes de 15 ans et plus",
    "pediatres": "enfants de moins de 15 ans",
}
#: Denominator of every other Ameli density.
AMELI_INHABITANTS = "habitants"

#: The BPE equipment code of general practitioners.
GP_EQUIPMENT = "D265"

# Health professions of the INSEE Base permanente des équipements: sub-domain D2 « fonctions médicales et
# paramédicales (à titre libéral) » and the pharmacy D307, in the TYPEQU nomenclature of the BPE 2023 and 2024
# files, checked against the BPE 2024 referential of equipment types (D245-D262, D265-D281, D302-D307, as
# transcribed in public code). Codes it does not give are not mapped: orthophonistes and orthoptistes (no code
# there; D246, D263, D264 unused) and the older nomenclatures (D201 médecin omnipraticien…, D301 pharmacie); a
# file's rows under such a code are counted under that code and reported (BPE_OTHER_EQUIPMENTS, read_bpe).
#: code -> (French label, id of the Ameli 2024 profession or None). Display order: primary care first.
BPE_PROFESSIONS = {
    "D265": ("Médecins généralistes", "medecins_generalistes"),
    "D277": ("Chirurgiens-dentistes", "chirurgiens_dentistes"),
    "D278": ("Sages-femmes", "sages_femmes"),
    "D281": ("Infirmiers", "infirmiers"),
    "D279": ("Masseurs-kinésithérapeutes", "kinesitherapeutes"),
    "D280": ("Pédicures-podologues", "pedicures_podologues"),
    "D307": ("Pharmacies", None),
    "D266": ("Cardiologues", "cardiologues"),
    "D267": ("Dermatologues et vénéréologues", None),
    "D268": ("Gastro-entérologues et hépatologues", None),
    "D269": ("Psychiatres", "psychiatres"),
    "D270": ("Ophtalmologues", "ophtalmologues"),
    "D271": ("Oto-rhino-laryngologistes (ORL)", None),
    "D272": ("Pédiatres", "pediatres"),
    "D273": ("Pneumologues", None),
    "D274": ("Radiologues (radiodiagnostic et imagerie médicale)", None),
    "D275": ("Stomatologues", None),
    "D276": ("Gynécologues (médicaux et/ou obstétriciens)", "gynecologues"),
    "D251": ("Allergologues", None),
    "D252": ("Anesthésistes-réanimateurs", None),
    "D253": ("Chirurgiens (chirurgie générale)", None),
    "D254": ("Chirurgiens orthopédistes, plasticiens et traumatologues", None),
    "D255": ("Endocrinologues", None),
    "D256": ("Gériatres", None),
    "D257": ("Hématologues", None),
    "D258": ("Médecins de médecine physique et de réadaptation", None),
    "D259": ("Neurologues", None),
    "D260": ("Oncologues, anatomo-cyto-pathologistes", None),
    "D261": ("Rhumatologues", None),
    "D262": ("Urologues, néphrologues", None),
    "D245": ("Professionnels de l'appareillage", None),
    "D247": ("Ergothérapeutes", None),
    "D248": ("Psychomotriciens", None),
    "D249": ("Diététiciens", None),
    "D250": ("Psychologues", None),
}
#: Other equipment types of domain D in the same referential (establishments, laboratories, ambulances,
#: social care): not professions, left out of the counts (and said so in a note).
BPE_OTHER_EQUIPMENTS = frozenset(
    [f"D1{i:02d}" for i in range(1, 16)]
    + ["D302", "D303", "D304", "D305"]
    + ["D401", "D402", "D403"]
    + [f"D50{i}" for i in range(2, 8)]
    + [f"D60{i}" for i in range(1, 8)]
    + ["D701", "D702", "D703", "D704", "D705", "D710", "D711"]
)


def bpe_label(code: str) -> str:
    """French label of a BPE health equipment code (« code BPE Dxxx (non répertorié) » when unknown)."""
    return BPE_PROFESSIONS[code][0] if code in BPE_PROFESSIONS else f"Code BPE {code} (non répertorié)"
