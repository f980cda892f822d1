"""What a batch records: one-line French errors, ``batch.json`` written with the finished territories only."""

from __future__ import annotations

import json

from cpts_diag.errors import InputError, error_message
from cpts_diag.reports.batch.records import BATCH_FILE, read_doc, read_previous, write_state


def test_error_message_is_one_french_line():
    exc = RuntimeError("échec de l'exécution du notebook : KeyError : 'x'\n\x1b[0;31mTraceback\x1b[0m …")
    assert error_message(exc) == "échec de l'exécution du notebook : KeyError : 'x'"
    assert error_message(InputError("territoire inconnu", value="X")) == "territoire inconnu (valeur « X »)"
    long = error_message(ValueError("a" * 1000))
    assert long.startswith("erreur ValueError : a") and len(long) <= 400 and "\n" not in long


def test_batch_json_keeps_finished_territories_and_reads_back(tmp_path):
    """A territory still running is not written; an unreadable or foreign document reads as empty."""
    entries = {
        "CPTS Quimper": {"name": "CPTS Quimper", "status": "ok", "duration_s": 1.5},
        "CPTS Brest": {"name": "CPTS Brest", "status": "échec", "error": "x"},
        "CPTS Morlaix": {"name": "CPTS Morlaix", "status": "interrompu"},  # stopped before its start
    }
    write_state(tmp_path, entries, {"format": 1, "perimeters": "bretagne.csv"}, index=False, interrupted=True)
    doc = json.loads((tmp_path / BATCH_FILE).read_text(encoding="utf-8"))
    assert [e["name"] for e in doc["territories"]] == ["CPTS Quimper", "CPTS Brest"]
    assert (doc["format"], doc["perimeters"], doc["interrupted"]) == (1, "bretagne.csv", True)
    assert not (tmp_path / "index.html").exists()
    assert read_previous(read_doc(tmp_path / BATCH_FILE)) == {
        "CPTS Quimper": entries["CPTS Quimper"],
        "CPTS Brest": entries["CPTS Brest"],
    }
    (tmp_path / "autre.json").write_text("[1, 2]", encoding="utf-8")
    (tmp_path / "casse.json").write_text("{", encoding="utf-8")
    assert read_doc(tmp_path / "autre.json") == read_doc(tmp_path / "casse.json") == read_doc(tmp_path / "x") == {}
