"""Shared helpers of the benchmarks: timing, peak memory, French figure table, JSON results.

Not a test module: the benchmarks are run by hand (``python benchmarks/run_all.py``).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DEFAULT_OPENDATA = (REPO_DIR / ".." / "shared" / "opendata").resolve()

if str(REPO_DIR) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO_DIR))

MISSED = "objectif non atteint"


@dataclass
class Figure:
    """One measured figure: ``value`` compared with ``target`` (``value <= target`` is OK)."""

    key: str
    label: str
    value: float | None
    unit: str
    target: float | None = None

    @property
    def ratio(self) -> float | None:
        if self.target in (None, 0) or self.value is None:
            return None
        return self.value / self.target

    @property
    def ok(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        return self.value <= self.target

    def to_dict(self) -> dict:
        return {**asdict(self), "ratio": self.ratio, "ok": self.ok}


class Results:
    """Figures of one benchmark, printed as they come and dumped as JSON for run_all."""

    def __init__(self, name: str):
        self.name = name
        self.figures: list[Figure] = []
        self.info: dict = {}

    def add(self, key, label, value, unit, target=None, echo=True) -> Figure:
        fig = Figure(key, label, value, unit, target)
        self.figures.append(fig)
        if echo:
            print("  " + format_figure(fig), flush=True)
        return fig

    def dump(self, path) -> None:
        if not path:
            return
        doc = {"name": self.name, "figures": [f.to_dict() for f in self.figures], "info": self.info}
        Path(path).write_text(json.dumps(doc, ensure_ascii=False, indent=1, default=str), encoding="utf-8")

    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.ok is False]

    def finish(self, title: str, json_out) -> int:
        """Print the summary table and the missed targets, dump the JSON; return the exit code (0)."""
        print()
        print(table(self.figures, title))
        if self.missed():
            print(f"\n{MISSED} : " + ", ".join(f.label for f in self.missed()))
        self.dump(json_out)
        return 0


def fmt_value(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s":
        return f"{value:.2f} s" if value < 100 else f"{value:.0f} s"
    if unit in ("Mo", "Ko"):
        return f"{value:,.0f} {unit}".replace(",", "\u202f")
    if unit == "":
        return f"{value:.2f}"
    if unit == "nb":
        return f"{value:.0f}"
    return f"{value:,.0f} {unit}".replace(",", "\u202f")


def format_figure(fig: Figure) -> str:
    text = f"{fig.label} : {fmt_value(fig.value, fig.unit)}"
    if fig.target is not None:
        text += f"  (objectif ≤ {fmt_value(fig.target, fig.unit)}"
        if fig.ratio is not None:
            text += f", ratio {fig.ratio:.2f}"
        text += ")"
        if fig.ok is False:
            text += f"  → {MISSED}"
        elif fig.ok:
            text += "  → OK"
    return text


def table(figures: list[Figure], title: str | None = None) -> str:
    """Plain-text table: figure / value / target / ratio / OK."""
    rows = [("Mesure", "Valeur", "Objectif", "Ratio", "OK")]
    for f in figures:
        rows.append(
            (
                f.label,
                fmt_value(f.value, f.unit),
                "—" if f.target is None else "≤ " + fmt_value(f.target, f.unit),
                "—" if f.ratio is None else f"{f.ratio:.2f}",
                "—" if f.ok is None else ("oui" if f.ok else "NON"),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [title] if title else []
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(r)))
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (ru_maxrss is in KiB on Linux)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 1024 / 1024


def children_peak_rss_mb() -> float:
    """Peak resident memory of the largest waited-for child process, in MB."""
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return rss / 1024 if sys.platform != "darwin" else rss / 1024 / 1024


@contextmanager
def timer(store: dict, key: str):
    t0 = time.perf_counter()
    try:
        yield
    finally:
        store[key] = time.perf_counter() - t0


def timed(fn, *args, profile: bool = False, top: int = 15, **kwargs):
    """Call ``fn`` and return (result, seconds, profile text or None)."""
    prof = cProfile.Profile() if profile else None
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    result = fn(*args, **kwargs)
    if prof:
        prof.disable()
    dt = time.perf_counter() - t0
    text = None
    if prof:
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("cumulative").print_stats(top)
        buf.write("\n--- par temps propre (tottime) ---\n")
        stats.sort_stats("tottime").print_stats(top)
        text = _trim_profile(buf.getvalue())
    return result, dt, text


def _trim_profile(text: str) -> str:
    repo = str(REPO_DIR) + "/"
    return "\n".join(
        line.replace(repo, "")
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced"))
    )


def print_load() -> None:
    """Print the machine load: the figures are only meaningful on an otherwise idle machine."""
    import os

    try:
        load = os.getloadavg()
    except OSError:
        return
    cpus = os.cpu_count() or 1
    text = f"  charge de la machine : {load[0]:.2f} (1 min) pour {cpus} cœurs"
    if load[0] > 0.5 * cpus:
        text += " — machine chargée par d'autres processus, mesures pessimistes"
    print(text, flush=True)


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--opendata", default=str(DEFAULT_OPENDATA), help="dossier des données ouvertes (défaut : ../shared/opendata)"
    )
    parser.add_argument(
        "--json", dest="json_out", default=None, help="écrire les mesures dans ce fichier JSON (utilisé par run_all.py)"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profiler (cProfile) les étapes mesurées et afficher les fonctions les plus coûteuses",
    )
    return parser


def wait_import(module: str, timeout: float = 0.0, every: float = 30.0):
    """Import ``module``; retry until ``timeout`` seconds while it is missing or broken."""
    import importlib

    deadline = time.monotonic() + timeout
    while True:
        try:
            return importlib.import_module(module)
        except Exception as exc:  # module still being written by someone else
            if time.monotonic() >= deadline:
                raise
            print(
                f"  (import de {module} impossible : {type(exc).__name__}: {exc} ; nouvel essai dans {every:.0f} s)",
                flush=True,
            )
            time.sleep(every)
