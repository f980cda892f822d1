"""A tiny hand-made COG and unit squares, shared by tests/test_checks.py and tests/test_check_outputs.py.

The fake COG (written to a temporary folder by :func:`write_cog`, loaded with ``load_reference(folder)``):

* département 13 (région 93): communes 13001..13006, Grandville 13010 (50 000 hab., split
  infra-communally in the tests), commune nouvelle 13020 with its commune déléguée 13021, 13030 with
  the former code 13031 (anciens_codes), Marseille 13055 with arrondissements 13201, 13202, 13203;
* département 84 (région 93): 84001, 84002; département 26 (région 84): 26001.
"""

import csv

import geopandas as gpd
import pandas as pd
from shapely.geometry import box

from cpts_diag.checks import check_perimeters

# code, type, nom, parent, departement, region, population, anciens_codes
RECORDS = [
    ("13001", "commune-actuelle", "Alpha", "", "13", "93", 1000, ""),
    ("13002", "commune-actuelle", "Bravo", "", "13", "93", 2000, ""),
    ("13003", "commune-actuelle", "Charlie", "", "13", "93", 3000, ""),
    ("13004", "commune-actuelle", "Delta", "", "13", "93", 400, ""),
    ("13005", "commune-actuelle", "Echo", "", "13", "93", 500, ""),
    ("13006", "commune-actuelle", "Foxtrot", "", "13", "93", 600, ""),
    ("13010", "commune-actuelle", "Grandville", "", "13", "93", 50000, ""),
    ("13020", "commune-actuelle", "Nouvelle", "", "13", "93", 1500, ""),
    ("13021", "commune-deleguee", "Ancienne", "13020", "13", "93", 300, ""),
    ("13030", "commune-actuelle", "Fusionnée", "", "13", "93", 700, "13031"),
    ("13055", "commune-actuelle", "Marseille", "", "13", "93", 300, ""),
    ("13201", "arrondissement-municipal", "Marseille 1er", "13055", "13", "93", 100, ""),
    ("13202", "arrondissement-municipal", "Marseille 2e", "13055", "13", "93", 120, ""),
    ("13203", "arrondissement-municipal", "Marseille 3e", "13055", "13", "93", 80, ""),
    ("84001", "commune-actuelle", "Golf", "", "84", "93", 700, ""),
    ("84002", "commune-actuelle", "Hotel", "", "84", "93", 800, ""),
    ("26001", "commune-actuelle", "India", "", "26", "84", 900, ""),
]
CURRENT_13 = [r[0] for r in RECORDS if r[1] == "commune-actuelle" and r[4] == "13"]
NAMES = {r[0]: r[2] for r in RECORDS}
POP = {r[0]: r[6] for r in RECORDS}


def write_cog(folder):
    """Write the fake COG files into ``folder``; return ``folder``."""
    with open(folder / "communes_cog2026.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "code_insee",
                "type",
                "nom",
                "commune_parente",
                "departement",
                "region",
                "zone",
                "epci_siren",
                "population",
                "anciens_codes",
            ]
        )
        for code, typ, nom, parent, dep, reg, pop, old in RECORDS:
            w.writerow([code, typ, nom, parent, dep, reg, "metro", "200000001", pop, old])
    (folder / "departements.csv").write_text(
        "code,nom,region,zone\n13,Bouches-du-Rhône,93,metro\n84,Vaucluse,93,metro\n26,Drôme,84,metro\n",
        encoding="utf-8",
    )
    (folder / "regions.csv").write_text(
        "code,nom,zone\n93,Provence-Alpes-Côte d'Azur,metro\n84,Auvergne-Rhône-Alpes,metro\n", encoding="utf-8"
    )
    (folder / "epci.csv").write_text("siren,nom,type\n200000001,CC Test,CC\n", encoding="utf-8")
    return folder


def table(*rows):
    """Canonical perimeter table from (cpts, code[, arrondissement[, infracommunal]]) tuples."""
    out = []
    for line, row in enumerate(rows, start=2):
        cpts, code = row[0], row[1]
        arr = row[2] if len(row) > 2 else None
        infra = row[3] if len(row) > 3 else (arr is not None)
        out.append({"cpts": cpts, "code_insee": code, "arrondissement": arr, "infracommunal": infra, "line": line})
    return pd.DataFrame(out, columns=["cpts", "code_insee", "arrondissement", "infracommunal", "line"])


def check(ref, *rows, **kwargs):
    kwargs.setdefault("geometries", None)
    return check_perimeters(table(*rows), ref, **kwargs)


X0, Y0, KM = 900_000.0, 6_300_000.0, 1000.0


def square(i, j, shrink=0.0):
    return box(X0 + i * KM + shrink, Y0 + j * KM + shrink, X0 + (i + 1) * KM - shrink, Y0 + (j + 1) * KM - shrink)


def polys(cells, shrink=0.0):
    """GeoDataFrame in Lambert-93 from {code: (i, j)}."""
    return gpd.GeoDataFrame(
        {"code_insee": list(cells)}, geometry=[square(i, j, shrink) for i, j in cells.values()], crs="EPSG:2154"
    )


# 3 x 3 block of T1 around an orphan (13006), T2 in two pieces east of it, T3 between them:
#   j=2: 13003 13004 13005 | 13201(T2)  84001(T3)
#   j=1: 13002 [13006] 13010 | 13030(T3) 84002(T3)
#   j=0: 13001 13020 13055 | 13202(T2)  (none)
# Codes 13201/13202 are not used as polygons; the east column uses 84xxx and 26001 instead.
GRID = {
    "13001": (0, 0),
    "13020": (1, 0),
    "13055": (2, 0),
    "13002": (0, 1),
    "13006": (1, 1),
    "13010": (2, 1),
    "13003": (0, 2),
    "13004": (1, 2),
    "13005": (2, 2),
    "84001": (3, 0),
    "84002": (3, 2),  # T2: two pieces
    "13030": (3, 1),
    "26001": (4, 1),  # T3
}
T1 = ["13001", "13020", "13055", "13002", "13010", "13003", "13004", "13005"]


def grid_rows():
    return [("T1", c) for c in T1] + [("T2", "84001"), ("T2", "84002"), ("T3", "13030"), ("T3", "26001")]
