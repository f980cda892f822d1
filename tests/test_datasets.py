"""The registry of the embedded datasets agrees with data/ and with data/SOURCES.md, and names each file once."""

from __future__ import annotations

import ast
import csv
import importlib
import re
from pathlib import Path

import pytest

from cpts_diag.datasets import DATASETS, FLOAT, STR

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
PACKAGE = ROOT / "cpts_diag"


def _documented(path: Path = DATA / "SOURCES.md") -> dict[str, tuple[str, str]]:
    """File -> (licence, vintage) of the table of data/SOURCES.md (« idem » is the row above)."""
    out, previous = {}, ("", "")
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        licence = previous[0] if cells[3] == "idem" else cells[3]
        vintage = previous[1] if cells[4] == "idem" else cells[4]
        previous = (licence, vintage)
        for name in re.findall(r"`([^`]+\.(?:csv|json|gpkg|txt))`", cells[0]):
            out[name] = previous
    return out


def _header(dataset) -> list[str]:
    with open(DATA / dataset.file, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh, delimiter=dataset.sep))


def test_every_file_of_data_is_declared_once():
    files = sorted(str(p.relative_to(DATA)) for p in DATA.rglob("*") if p.is_file() and p.name != "SOURCES.md")
    declared = [d.file for d in DATASETS.values()]
    assert sorted(declared) == files
    assert all(key == d.key for key, d in DATASETS.items())


def test_sources_md_documents_each_file_with_the_registry_licence_and_vintage():
    documented = _documented()
    assert sorted(documented) == sorted(d.file for d in DATASETS.values())
    for d in DATASETS.values():
        assert documented[d.file] == (d.licence, d.vintage), d.file


def test_the_check_of_sources_md_sees_a_changed_licence(tmp_path):
    text = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    changed = text.replace("| ODbL / INSEE |", "| Licence Ouverte |", 1)
    assert changed != text
    (tmp_path / "SOURCES.md").write_text(changed, encoding="utf-8")
    assert _documented()["communes_bv2022.csv"] == ("ODbL / INSEE", "BV 2022, COG 2024")
    assert _documented(tmp_path / "SOURCES.md")["communes_bv2022.csv"] == ("Licence Ouverte", "BV 2022, COG 2024")


@pytest.mark.parametrize("key", [k for k, d in DATASETS.items() if d.file.endswith(".csv")])
def test_each_table_has_its_declared_columns_and_types(key):
    dataset = DATASETS[key]
    header = _header(dataset)
    if dataset.more_columns:
        assert set(dataset.columns) <= set(header)
    else:
        assert list(dataset.columns) == header
    with open(DATA / dataset.file, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=dataset.sep))
    assert rows
    for column, kind in dataset.columns.items():
        assert kind in (STR, FLOAT)
        if kind == FLOAT:  # every cell a number or empty (unknown, never 0)
            for value in (r[column].replace(",", ".") if dataset.published else r[column] for r in rows):
                assert value == "" or float(value) == float(value), (column, value)


def test_codes_are_declared_as_text():
    """Codes keep their leading zeros and Corsican letters: declared str, never float."""
    codes = {"code_insee", "code", "CODGEO", "siren", "a", "b", "departement", "region", "code_commune", "bv2022"}
    for d in DATASETS.values():
        assert all(kind == STR for column, kind in d.columns.items() if column in codes), d.key
    with open(DATA / "communes_cog2026.csv", encoding="utf-8", newline="") as fh:
        first = {r["code_insee"] for r in csv.DictReader(fh)}
    assert {"01001", "2A004", "97411"} <= first  # Ain, Corse-du-Sud, La Réunion (Saint-Denis)


def test_each_built_file_names_a_build_function_that_exists():
    for d in DATASETS.values():
        if d.file == "financement_aci.csv":
            assert d.build == ""  # kept by hand
            continue
        module, _, name = d.build.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name)), d.build


def _strings_outside_docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings
    ]


def test_each_data_file_name_appears_once_in_the_package():
    strings = {path: _strings_outside_docstrings(path) for path in PACKAGE.rglob("*.py")}
    for d in DATASETS.values():
        name = Path(d.file).name
        holders = sorted(str(p.relative_to(PACKAGE)) for p, found in strings.items() if any(name in s for s in found))
        assert holders == ["datasets.py"], (name, holders)
