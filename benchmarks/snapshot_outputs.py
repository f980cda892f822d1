"""Normalised text snapshot of every file the command line writes, to prove a refactoring leaves them unchanged.

Usage::

    PYTHONPATH=. python benchmarks/snapshot_outputs.py OUT_DIR      # run the commands, write the snapshot
    diff -r BEFORE_DIR/snapshot AFTER_DIR/snapshot                    # compare two snapshots

Runs ``cpts-diag demo`` (check of the 70 PACA CPTS, regional synthesis, 9 reports with the FICTITIOUS
CPAM example), then ``check``, ``indicators`` and ``batch`` on the EPCI of four other régions taken as
territories (Bretagne, Grand Est, Corse, La Réunion: the first 2 EPCI by SIREN of each, real communes of the
embedded COG). Every output file is turned into text: HTML with its dates, times and random element ids
normalised; Excel workbooks cell by cell (value, number format, fill, bold); GeoPackages layer by layer (rows
with WKT); JSON with durations and dates normalised. Never run by the tests (about two minutes).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

REGIONS = ("53", "44", "94", "04")
PER_REGION = 2

_PATTERNS = [
    (re.compile(r"\b\d{2}/\d{2}/\d{4}( à \d{2}[:h]\d{2}(:\d{2})?)?"), "DATE"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(\+\d{2}:\d{2})?"), "DATETIME"),
    (
        re.compile(
            r"\b(map|geo_json|tile_layer|layer_control|macro_element|element|feature_group|"
            r"cpts_layer|cpts_decorations|[a-z_]+)_[0-9a-f]{32}\b"
        ),
        r"\1_ID",
    ),
    (re.compile(r'id="cell-id=[0-9a-f-]+"'), 'id="cell-id=ID"'),
    (re.compile(r"\b\d+(,\d+)? s\b"), "N s"),
    (re.compile(r"/\.([a-z0-9-]+)\.[a-z0-9_]{8}(\.tmp)?/"), r"/.\1.TMP/"),  # temporary folder of a report
    (re.compile(r"\[\d\d:\d\d<\d\d:\d\d, +\d+(\.\d+)?s/[a-zé]+\]"), "[DURÉES]"),  # tqdm bars
]
_TIMING_KEYS = re.compile(r"(duration|elapsed|seconds|started|finished|generated|time|date|_s)$", re.I)


def _normalise(text: str, root: Path) -> str:
    import cpts_diag

    repo = Path(cpts_diag.__file__).resolve().parents[1]  # the checkout the snapshot was taken from
    text = text.replace(str(root.resolve()), "ROOT").replace(str(root), "ROOT").replace(str(repo), "REPO")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _json_clean(obj):
    if isinstance(obj, dict) and "id" in obj and "injected-parameters" in str(obj.get("metadata")):
        return _json_clean({k: v for k, v in obj.items() if k != "id"})  # papermill draws a new cell id
    territories = obj.get("territories") if isinstance(obj, dict) else None
    if isinstance(territories, list) and all(isinstance(t, dict) for t in territories):  # batch.json: completion order
        obj = {**obj, "territories": sorted(obj["territories"], key=lambda t: str(t.get("name")))}
    if isinstance(obj, dict):  # the fingerprint covers the package's source: it changes with any edit
        return {k: ("T" if _TIMING_KEYS.search(k) or k == "fingerprint" else _json_clean(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_clean(v) for v in obj]
    return obj


def _xlsx_text(path: Path) -> str:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    lines = []
    for ws in wb.worksheets:
        lines.append(f"== {ws.title} {ws.dimensions} freeze={ws.freeze_panes}")
        for row in ws.iter_rows():
            for c in row:
                if c.value is None and c.fill.fgColor.rgb in (None, "00000000"):
                    continue
                lines.append(f"{c.coordinate}\t{c.value!r}\t{c.number_format}\t{c.fill.fgColor.rgb}\t{c.font.b}")
    return "\n".join(lines)


def _gpkg_text(path: Path) -> str:
    import geopandas as gpd
    import pyogrio

    lines = []
    for name, _ in pyogrio.list_layers(path):
        gdf = gpd.read_file(path, layer=name)
        lines.append(f"== {name} {gdf.crs} {list(gdf.columns)}")
        lines.append(gdf.to_wkt().to_csv(index=False) if "geometry" in gdf else gdf.to_csv(index=False))
    return "\n".join(lines)


def snapshot(root: Path, snap: Path) -> int:
    n = 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and snap not in p.parents):
        rel = path.relative_to(root)
        if rel.parts[0] == "snapshot" or ".cache" in rel.parts:
            continue
        target = snap / (str(rel).replace("/", "__") + ".txt")
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            text = _xlsx_text(path)
        elif suffix == ".gpkg":
            text = _gpkg_text(path)
        elif suffix in (".json", ".ipynb"):
            text = json.dumps(_json_clean(json.loads(path.read_text(encoding="utf-8"))), indent=1, ensure_ascii=False)
        elif path.name == "cpts-diag.lock":  # pid, start time and command of the last writer
            text = re.sub(r"\A\d+\n", "PID\n", path.read_text(encoding="utf-8"))
        elif suffix in (".html", ".txt", ".csv", ".md", ".log"):
            text = path.read_text(encoding="utf-8")
        else:
            text = f"{path.stat().st_size} bytes"
        target.write_text(_normalise(text, root), encoding="utf-8")
        n += 1
    return n


def _run(root: Path, name: str, *args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "cpts_diag.cli", *args], capture_output=True, text=True, cwd=root)
    stderr = "\n".join(
        line for line in re.split(r"[\r\n]", proc.stderr) if "territoire" not in line or "%|" not in line
    )
    (root / "snapshot").mkdir(exist_ok=True)
    (root / "snapshot" / f"cmd_{name}.txt").write_text(
        _normalise(f"exit {proc.returncode}\n--stdout--\n{proc.stdout}\n--stderr--\n{stderr}", root),
        encoding="utf-8",
    )


def _epci_file(path: Path) -> None:
    from cpts_diag.reference import load_reference

    reference = load_reference()
    communes = reference.communes
    names = reference.epci["nom"].to_dict()
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Nom CPTS", "Code INSEE"])
        for region in REGIONS:
            members = communes[(communes["region"].astype(str) == region) & (communes["epci_siren"].astype(str) != "")]
            for siren in sorted(set(members["epci_siren"]))[:PER_REGION]:
                for code in members.index[members["epci_siren"] == siren]:
                    writer.writerow([names.get(siren, siren), code])


def main(root: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    epci = root / "epci.csv"
    _epci_file(epci)
    _run(root, "demo", "demo", "--out", str(root / "demo"), "--workers", "2")
    _run(root, "check_epci", "check", str(epci), "--out", str(root / "check_epci"))
    _run(root, "check_epci_json", "check", str(epci), "--json")
    with epci.open(encoding="utf-8") as fh:
        territories = sorted({row["Nom CPTS"] for row in csv.DictReader(fh)})
    _run(root, "indicators_epci", "indicators", str(epci), "--territoire", territories[0], "--json")
    _run(root, "batch_epci", "batch", str(epci), "--out", str(root / "batch_epci"), "--workers", "2")
    n = snapshot(root, root / "snapshot")
    print(f"{n} fichiers dans {root / 'snapshot'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
