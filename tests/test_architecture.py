"""The one-way data flow of docs/ARCHITECTURE.md: a module imports only modules of its own or an upper row."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "cpts_diag"
DOC = Path(__file__).resolve().parent.parent / "docs" / "ARCHITECTURE.md"
# The two exceptions the document names.
EXCEPTIONS = {("report_sections", "report"), ("report_sections", "batch")}


def _rows() -> dict[str, int]:
    """Module -> row number, read from the data-flow table of docs/ARCHITECTURE.md."""
    rows = {}
    section = DOC.read_text(encoding="utf-8").split("## Data flow", 1)[1].split("\n## ", 1)[0]
    for line in section.splitlines():
        m = re.match(r"\| (\d)\. [^|]+\| ([^|]+)\|", line)
        if m:
            for name in re.findall(r"\b[a-z_]+\b", re.sub(r"\([^)]*\)", "", m.group(2))):
                rows[name] = int(m.group(1))
    return rows


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cpts_diag"):
            if node.module == "cpts_diag":
                found.update(a.name for a in node.names)
            else:
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("cpts_diag."))
    return found


def test_every_module_has_a_row():
    rows = _rows()
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert modules - {"build", "cpam_example"} <= set(rows), sorted(modules - set(rows))


def test_imports_go_one_way():
    rows = _rows()
    upward = []
    for path in sorted(PACKAGE.glob("*.py")):
        me = path.stem
        if me not in rows:
            continue
        for dep in _imports(path):
            if dep in rows and rows[dep] > rows[me] and (me, dep) not in EXCEPTIONS:
                upward.append(f"{me} (ligne {rows[me]}) importe {dep} (ligne {rows[dep]})")
    assert upward == []
