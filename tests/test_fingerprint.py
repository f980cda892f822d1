"""Tests of cpts_diag.io.fingerprint: the one content fingerprint of a run (contents, never modification times)."""

import os
import re
import shutil

import pytest

from cpts_diag import settings
from cpts_diag.io.fingerprint import run_fingerprint


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A small embedded-data folder in place of data/ (with a listing under perimetres/)."""
    folder = tmp_path / "data"
    (folder / "perimetres").mkdir(parents=True)
    (folder / "table.csv").write_text("code,valeur\n06069,1\n", encoding="utf-8")
    (folder / "perimetres" / "liste.json").write_text('{"cpts": []}', encoding="utf-8")
    monkeypatch.setattr(settings, "DATA_DIR", folder)
    return folder


def _rewrite_keeping_size_and_mtime(path, text):
    st = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)


def test_a_fingerprint_is_a_stable_sha256(data, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("cpts;code_insee\nA;06069\n", encoding="utf-8")
    first = run_fingerprint({"perimetres": path}, territoire="A")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert run_fingerprint({"perimetres": str(path)}, territoire="A") == first  # str or Path


def test_input_content_counts_not_its_modification_time(data, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("cpts;code_insee\nA;06069\n", encoding="utf-8")
    first = run_fingerprint({"perimetres": path})
    _rewrite_keeping_size_and_mtime(path, "cpts;code_insee\nA;06007\n")
    edited = run_fingerprint({"perimetres": path})
    assert edited != first
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # touched only
    assert run_fingerprint({"perimetres": path}) == edited
    path.write_text("cpts;code_insee\nA;06069\n", encoding="utf-8")  # the first content again
    assert run_fingerprint({"perimetres": path}) == first
    copy = tmp_path / "ailleurs" / "copie.csv"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    assert run_fingerprint({"perimetres": copy}) == first  # a copy elsewhere: same content


def test_cpam_example_none_and_a_file_differ(data, tmp_path):
    table = tmp_path / "cpam.csv"
    shutil.copyfile(settings.DEFAULT_CPAM, table)  # even with the example's very bytes
    example = run_fingerprint({"cpam": "exemple"})
    none = run_fingerprint({"cpam": "aucun"})
    given = run_fingerprint({"cpam": table})
    assert len({example, none, given}) == 3
    assert run_fingerprint({"cpam": " EXEMPLE "}) == example
    assert run_fingerprint({"cpam": str(table)}) == given
    # left empty: the default for the perimeter file of the run, as on the command line (io.params.cpam_choice)
    assert run_fingerprint({"cpam": ""}) == run_fingerprint({"cpam": None}) == example  # embedded PACA listing
    listing = tmp_path / "mes_cpts.csv"
    listing.write_text("cpts;code_insee\nCPTS A;29232\n", encoding="utf-8")
    for default in ("", None):
        assert run_fingerprint({"perimeters": listing, "cpam": default}) == run_fingerprint(
            {"perimeters": listing, "cpam": "aucun"}
        )


def test_a_missing_input_file_is_named_not_ignored(data, tmp_path):
    absent = run_fingerprint({"bpe": tmp_path / "absent.csv"})
    assert absent != run_fingerprint({"bpe": None})
    assert absent != run_fingerprint({"bpe": tmp_path / "autre.csv"})
    (tmp_path / "absent.csv").write_text("x", encoding="utf-8")
    assert run_fingerprint({"bpe": tmp_path / "absent.csv"}) != absent


def test_roles_and_extra_values_count(data, tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("x\n", encoding="utf-8")
    assert run_fingerprint({"bpe": path}) != run_fingerprint({"insee_ages": path})
    assert run_fingerprint(territoire="A") != run_fingerprint(territoire="B")
    assert run_fingerprint(territoire="A") != run_fingerprint()
    assert run_fingerprint(a=1, b=2) == run_fingerprint(b=2, a=1)  # keyword order does not


def test_embedded_data_counts_except_the_listings(data):
    first = run_fingerprint()
    (data / "perimetres" / "liste.json").write_text('{"cpts": [{"nom": "A"}]}', encoding="utf-8")
    assert run_fingerprint() == first  # a listing counts only when it is an input
    _rewrite_keeping_size_and_mtime(data / "table.csv", "code,valeur\n06069,2\n")
    edited = run_fingerprint()
    assert edited != first
    (data / "nouveau.csv").write_text("a\n", encoding="utf-8")
    assert run_fingerprint() != edited


def test_cache_and_batch_keys_follow_file_contents_not_modification_times(tmp_path, monkeypatch):
    import os

    from cpts_diag.reports import report_data
    from cpts_diag.reports.batch import plan

    monkeypatch.setenv("CPTS_DIAG_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    (data / "sous_dossier").mkdir(parents=True)
    table = data / "sous_dossier" / "table.csv"
    table.write_text("code,valeur\n06069,1\n", encoding="utf-8")
    monkeypatch.setattr(settings, "DATA_DIR", data)
    perimeters = tmp_path / "p.csv"
    perimeters.write_text("cpts;code_insee\nCPTS Test;06069\n", encoding="utf-8")

    def keys():
        return report_data._DiagnosticCache.open(perimeters, "", None, None).folder, plan.context_hash("", "", "")

    def rewrite(path, text):  # same size, same modification time, other content
        st = path.stat()
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert (path.stat().st_size, path.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)

    first = keys()
    rewrite(table, "code,valeur\n06069,2\n")
    second = keys()
    assert second[0] != first[0] and second[1] != first[1]
    os.utime(table, ns=(table.stat().st_atime_ns, table.stat().st_mtime_ns + 10**9))  # touched only
    assert keys() == second
    rewrite(perimeters, "cpts;code_insee\nCPTS Test;06007\n")  # the perimeters key only the cache
    assert keys()[0] != second[0] and keys()[1] == second[1]


def test_a_rewrite_that_keeps_size_and_modification_time_still_changes_the_fingerprint(tmp_path, monkeypatch):
    """Hashes of the embedded data are kept per process by stat: the change time (set by every write) still
    tells a rewrite that keeps the size and the modification time."""
    data = tmp_path / "data"
    data.mkdir()
    f = data / "communes.csv"
    f.write_text("code_insee,population\n01001,100\n", encoding="utf-8")
    old = 1_600_000_000_000_000_000  # 2020: "settled", so its hash is kept by stat
    os.utime(f, ns=(old, old))
    monkeypatch.setattr(settings, "DATA_DIR", data)
    first = run_fingerprint()
    assert run_fingerprint() == first
    f.write_text("code_insee,population\n01001,999\n", encoding="utf-8")  # same size
    os.utime(f, ns=(old, old))  # same modification time
    assert run_fingerprint() != first
