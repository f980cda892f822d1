"""The one-way data flow of docs/ARCHITECTURE.md: a module imports only modules of its own or an upper row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cpts_diag"
DOC = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"
SUBPACKAGES = ("io", "outputs", "reports")


def _rows() -> dict[str, int]:
    """Module -> row number, read from the data-flow table of docs/ARCHITECTURE.md."""
    rows = {}
    section = DOC.read_text(encoding="utf-8").split("## Data flow", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        m = re.match(r"\| (\d)\. [^|]+\| ([^|]+)\|", line)
        if m:
            for name in re.findall(r"\b[a-z_]+(?:\.[a-z_]+)?\b", re.sub(r"\([^)]*\)", "", m.group(2))):
                rows[name] = int(m.group(1))
    return rows


def _modules() -> dict[str, Path]:
    """Dotted name below cpts_diag ("checks", "io.tables") -> file, for every module of the package."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        if rel.name != "__init__" and not rel.parts[0].startswith("_"):
            found[".".join(rel.parts)] = path
    return found


def _module_of(dotted: str) -> str:
    """ "cpts_diag.io.tables" -> "io.tables"; "cpts_diag.checks" -> "checks"."""
    parts = dotted.split(".")[1:]
    return ".".join(parts[:2] if parts and parts[0] in SUBPACKAGES else parts[:1])


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "cpts_diag":
            if node.module in ("cpts_diag", *(f"cpts_diag.{p}" for p in SUBPACKAGES)):
                found.update(_module_of(f"{node.module}.{a.name}") for a in node.names)
            else:
                found.add(_module_of(node.module))
        elif isinstance(node, ast.Import):
            found.update(_module_of(a.name) for a in node.names if a.name.startswith("cpts_diag."))
    return found


def test_every_module_has_a_row():
    rows = _rows()
    modules = set(_modules())
    assert modules - {"io.build", "io.cpam_example"} <= set(rows), sorted(modules - set(rows))
    assert set(rows) <= modules, sorted(set(rows) - modules)  # the table names no module that is gone


def test_subpackages_are_rows_of_the_flow():
    """outputs/ and reports/ sit below the domain; io/ never imports outputs/ or reports/."""
    rows = _rows()
    assert all(rows[m] >= 5 for m in rows if m.startswith(("outputs.", "reports.")))
    assert all(rows[m] <= 3 for m in rows if m.startswith("io."))


def test_imports_go_one_way():
    rows = _rows()
    upward = []
    for me, path in sorted(_modules().items()):
        if me not in rows:
            continue
        for dep in _imports(path):
            if dep in rows and rows[dep] > rows[me]:
                upward.append(f"{me} (ligne {rows[me]}) importe {dep} (ligne {rows[dep]})")
    assert upward == []


def test_every_module_has_a_test_file():
    """Every module cpts_diag/**/X.py has its tests in tests/test_X.py (the repository's flat convention)."""
    tests = {p.name for p in (PACKAGE.parent / "tests").glob("test_*.py")}
    missing = sorted(str(p.relative_to(PACKAGE)) for p in _modules().values() if f"test_{p.name}" not in tests)
    assert missing == []


#: Libraries the document cites besides the package.
_OUTSIDE = {"os", "sys", "dask", "distributed", "distributed.scheduler", "pd", "np", "gpd"}
_EXTENSIONS = {"py", "log", "json", "csv", "html", "xlsx", "gpkg", "ipynb", "md", "txt", "css", "js", "yml", "toml"}


def test_names_cited_by_the_architecture_document_exist():
    """Every `module.name` that docs/ARCHITECTURE.md cites (« `runner.KernelSession` ») exists in the package."""
    import importlib

    modules = _modules()
    by_short = {}
    for dotted in modules:
        by_short.setdefault(dotted, dotted)
        by_short.setdefault(dotted.rsplit(".", 1)[-1], dotted)
    missing = []
    for prefix, name in set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)\.([A-Za-z_]\w*)\b[^`]*`", DOC.read_text("utf-8"))):
        dotted = by_short.get(prefix)
        if prefix in _OUTSIDE or name in _EXTENSIONS or f"{dotted}.{name}" in modules:
            continue  # another library, a file name (`batch.log`) or a submodule
        if dotted is None or not hasattr(importlib.import_module(f"cpts_diag.{dotted}"), name):
            missing.append(f"{prefix}.{name}")
    assert sorted(missing) == []
