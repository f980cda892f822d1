"""The one-way data flow of docs/ARCHITECTURE.md: a module imports only modules of its own or an upper row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cpts_diag"
DOC = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"


def _rows() -> dict[str, int]:
    """Module -> row number, read from the data-flow table of docs/ARCHITECTURE.md."""
    rows = {}
    section = DOC.read_text(encoding="utf-8").split("## Data flow", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        m = re.match(r"\| (\d)\. [^|]+\| ([^|]+)\|", line)
        if m:
            for name in re.findall(r"\b[a-z_]+(?:\.[a-z_]+)*\b", re.sub(r"\([^)]*\)", "", m.group(2))):
                rows[name] = int(m.group(1))
    return rows


def _modules() -> dict[str, Path]:
    """Dotted name below cpts_diag ("checks", "io.tables", "reports.batch.run") -> file, for every module of the
    package; a package below the subpackages ("reports.batch") is a module too (its ``__init__``)."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE).with_suffix("")
        if rel.name == "__init__":
            rel = rel.parent
            if len(rel.parts) < 2:  # cpts_diag itself, io/, outputs/, reports/
                continue
        if not rel.parts[0].startswith("_"):
            found[".".join(rel.parts)] = path
    return found


def _module_of(dotted: str) -> str:
    """ "cpts_diag.io.tables" -> "io.tables"; "cpts_diag.checks.X" -> "checks"; the longest module prefix."""
    parts = dotted.split(".")[1:]
    while len(parts) > 1 and not (
        PACKAGE.joinpath(*parts).with_suffix(".py").is_file() or PACKAGE.joinpath(*parts, "__init__.py").is_file()
    ):
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "cpts_diag":
            if PACKAGE.joinpath(*node.module.split(".")[1:]).is_dir():  # from a package import its modules
                found.update(_module_of(f"{node.module}.{a.name}") for a in node.names)
            else:
                found.add(_module_of(node.module))
        elif isinstance(node, ast.Import):
            found.update(_module_of(a.name) for a in node.names if a.name.startswith("cpts_diag."))
    return found


def test_every_module_has_a_row():
    rows = _rows()
    modules = set(_modules())
    assert modules <= set(rows), sorted(modules - set(rows))
    assert set(rows) <= modules, sorted(set(rows) - modules)  # the table names no module that is gone


def test_subpackages_are_rows_of_the_flow():
    """outputs/ and reports/ sit below the domain; io/ and build/ never import the domain, outputs/ or reports/."""
    rows = _rows()
    assert all(rows[m] >= 5 for m in rows if m.startswith(("outputs.", "reports.")))
    assert all(rows[m] <= 3 for m in rows if m.startswith(("io.", "build.")))


def test_run_time_never_imports_build_time():
    """build/ makes data/: of the run-time modules, only the CLI (its `data build` command) imports it."""
    importers = sorted(
        me
        for me, path in _modules().items()
        if not me.startswith("build.") and any(dep.startswith("build.") for dep in _imports(path))
    )
    assert importers == ["cli"]


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


def _defines_code(path: Path) -> bool:
    return any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) for n in ast.parse(path.read_text(encoding="utf-8")).body)


def test_every_module_has_a_test_file():
    """Every module cpts_diag/**/X.py has its tests in tests/test_X.py (the repository's flat convention), or
    tests/test_P_X.py for a module X of a package P (outputs/maps/web.py: tests/test_maps_web.py); a package's
    ``__init__`` that defines nothing (a docstring, re-exports) needs none."""
    tests = {p.name for p in (PACKAGE.parent / "tests").glob("test_*.py")}
    missing = []
    for dotted, path in _modules().items():
        parts = dotted.split(".")
        if path.name == "__init__.py" and not _defines_code(path):
            continue
        if not {f"test_{parts[-1]}.py", f"test_{'_'.join(parts[-2:])}.py"} & tests:
            missing.append(str(path.relative_to(PACKAGE)))
    assert sorted(missing) == []


#: Libraries the document cites besides the package.
_OUTSIDE = {"os", "sys", "fcntl", "dask", "distributed", "distributed.scheduler", "pd", "np", "gpd"}
_EXTENSIONS = {"py", "log", "json", "csv", "html", "xlsx", "gpkg", "ipynb", "md", "txt", "css", "js", "yml", "toml"}


def test_names_cited_by_the_architecture_document_exist():
    """Every `module.name` that docs/ARCHITECTURE.md cites (« `runner.KernelSession` ») exists in the package."""
    import importlib

    modules = _modules()
    by_short = {}
    for dotted in modules:  # "reports.batch.plan" is cited as itself, "batch.plan" or "plan"
        parts = dotted.split(".")
        for k in range(len(parts)):
            by_short.setdefault(".".join(parts[k:]), dotted)
    missing = []
    for prefix, name in set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)\.([A-Za-z_]\w*)\b[^`]*`", DOC.read_text("utf-8"))):
        dotted = by_short.get(prefix)
        if prefix in _OUTSIDE or name in _EXTENSIONS or f"{dotted}.{name}" in modules:
            continue  # another library, a file name (`batch.log`) or a submodule
        if dotted is None or not hasattr(importlib.import_module(f"cpts_diag.{dotted}"), name):
            missing.append(f"{prefix}.{name}")
    assert sorted(missing) == []


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of ``graph`` (module -> modules it imports) as [a, b, …, a], or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*path[path.index(dep) :], dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_cycle_finder_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) == []


def test_no_import_cycle():
    """No circle, within a row too, imports inside functions included (ast.walk sees them)."""
    modules = _modules()
    graph = {me: {dep for dep in _imports(path) if dep in modules and dep != me} for me, path in modules.items()}
    assert _cycle(graph) == []
