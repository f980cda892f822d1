"""What a batch records: ``batch.json`` (read, written as territories end), ``index.html`` from it, the result.

``out_dir/batch.json`` records, per territory: name, slug, status (``ok`` | ``échec`` | ``inchangé``), duration,
outputs (paths relative to ``out_dir``), error message, fingerprint, population (and bounds), ACI tier and key
figures. It is rewritten atomically as territories end (at most every :data:`STATE_EVERY_S` seconds: a national
document is 3 MB) and at the end, also after an interruption, so an interrupted batch keeps what was done.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from cpts_diag import settings
from cpts_diag.io.atomic import atomic_write_text
from cpts_diag.outputs.html import json_ready
from cpts_diag.reports.index_page import STATUS_FAILED, STATUS_OK, STATUS_UNCHANGED, write_index

BATCH_FILE = "batch.json"
LOG_FILE = "batch.log"
BATCH_FORMAT = 1
INTERRUPTED = "interrompu"
#: Shortest interval between two writes of ``batch.json`` during a batch (seconds).
STATE_EVERY_S = 3.0


@dataclass
class BatchResult:
    """What :func:`run_batch` did.

    ``entries`` are the records of the territories of this run, as written in ``batch.json``; ``out_dir``
    is the output folder, ``index`` and ``batch_json`` its ``index.html`` and ``batch.json``; ``duration``
    is in seconds, end to end; ``interrupted`` means the run was stopped by Ctrl-C / SIGTERM; ``regions`` are the
    records of the régions of the ARS view (:func:`cpts_diag.reports.regional_view.run_regional_views`).
    """

    entries: list[dict]
    out_dir: Path
    index: Path
    batch_json: Path
    duration: float
    interrupted: bool = False
    fictitious: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    regions: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> list[dict]:
        """Records of the territories whose report failed."""
        return [e for e in self.entries if e["status"] == STATUS_FAILED]

    @property
    def exit_code(self) -> int:
        """130 when interrupted, 1 when a territory or a regional view failed, else 0."""
        if self.interrupted:
            return 130
        return 1 if self.failed or any(r.get("status") == STATUS_FAILED for r in self.regions) else 0


def read_doc(path: Path) -> dict:
    """A previous ``batch.json`` document (empty when absent or unreadable)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def read_previous(doc: dict) -> dict[str, dict]:
    """Records of a previous ``batch.json`` document by territory name."""
    entries = doc.get("territories")
    return {e["name"]: e for e in entries if isinstance(e, dict) and "name" in e} if isinstance(entries, list) else {}


def write_state(out_dir: Path, entries: dict[str, dict], meta: dict, *, index: bool, interrupted: bool = False) -> None:
    """Write ``batch.json`` (and, with ``index``, ``index.html`` from the same document)."""
    done = [e for e in entries.values() if e.get("status") in (STATUS_OK, STATUS_FAILED, STATUS_UNCHANGED)]
    now = _dt.datetime.now().isoformat(timespec="seconds")
    doc = json_ready(dict(meta, interrupted=interrupted, updated=now, territories=done))
    atomic_write_text(out_dir / BATCH_FILE, json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    if index:
        write_index_of(out_dir, doc)


def write_index_of(out_dir: Path, doc: dict) -> Path:
    """Write ``index.html`` of a ``batch.json`` document (perimeter file name, fictitious data, interruption)."""
    entries = [e for e in doc.get("territories", []) if isinstance(e, dict) and "name" in e]
    perimeters = doc.get("perimeters")
    regions = [r for r in doc.get("regions") or [] if isinstance(r, dict) and "code" in r]
    return write_index(
        out_dir,
        entries,
        perimeters_name=Path(perimeters).name if perimeters else None,
        interrupted=bool(doc.get("interrupted")),
        fictitious=doc.get("cpam") == "exemple" or any(e.get("fictitious") for e in entries),
        regions=regions,
    )


def refresh_index(out_dir=None) -> Path | None:
    """Rewrite ``out_dir/index.html`` from ``out_dir/batch.json`` (e.g. after adding the regional synthesis
    or the check outputs, which the index links when present). Returns None when there is no batch.json."""
    out_dir = settings.user_path(out_dir) or Path(settings.REPORTS_DIR)
    doc = read_doc(out_dir / BATCH_FILE)
    return write_index_of(out_dir, doc) if doc else None
