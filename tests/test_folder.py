"""Report folders (cpts_diag.reports.folder): slugs, and folders written complete or not at all."""

from __future__ import annotations

import re

import pytest

from cpts_diag.reports.folder import REPORT_FILES, slugify, unique_slugs, write_report_folder

NASTY = 'CPTS <script>alert(1)</script> "Nord" / L\'Étang'
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")


# ---------------------------------------------------------------------------
# slugs
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, expected",
    [
        ("CPTS du Pays d'Apt", "cpts-du-pays-d-apt"),
        ("CPTS Cœur du Var", "cpts-coeur-du-var"),
        ("CPTS Vallée des Paillons et de la Banquière", "cpts-vallee-des-paillons-et-de-la-banquiere"),
        ("CPTS Coordination Santé Marseille 2 & 3", "cpts-coordination-sante-marseille-2-et-3"),
        ("  CPTS   Verdon  ", "cpts-verdon"),
    ],
)
def test_slugify_plain_names(name, expected):
    assert slugify(name) == expected


@pytest.mark.parametrize(
    "name",
    [
        NASTY,
        "a/b",
        "a\\b",
        "..",
        ".",
        "../../etc/passwd",
        "",
        "   ",
        '"',
        "東京",
        "CON",
        "nul",
        "é" * 200,
        "x" * 61,
        "<script>",
        "CPTS\u0000nul",
        "CPTS\nretour",
    ],
)
def test_slugify_is_always_safe(name):
    slug = slugify(name)
    assert SLUG_RE.match(slug), slug
    assert 0 < len(slug) <= 60
    assert slug not in (".", "..", "con", "nul")
    assert slug == slugify(name)  # stable


def test_slugify_adds_a_hash_when_characters_are_dropped():
    assert slugify("CPTS A/B") != slugify("CPTS A B")
    assert slugify("<script>alert(1)</script>").startswith("script-alert-1-script-")
    assert slugify("..").startswith("territoire-") and slugify("") != slugify("..")
    long = "CPTS " + "très long nom " * 10
    assert len(slugify(long)) == 60 and slugify(long) != slugify(long + "x")


def test_unique_slugs_resolves_collisions_stably():
    names = ["CPTS A-B", "CPTS A B", "CPTS a b", "CPTS C", "a/b", "a-b-3ec69c"]
    slugs = unique_slugs(names)
    assert len(set(slugs.values())) == len(names)
    assert slugs["CPTS C"] == "cpts-c"
    assert all(SLUG_RE.match(s) and len(s) <= 60 for s in slugs.values())
    assert unique_slugs(list(reversed(names))) == slugs
    assert unique_slugs(["CPTS C", "CPTS C"]) == {"CPTS C": "cpts-c"}


# ---------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------
def _files(tag: bytes) -> dict[str, bytes]:
    return {name: tag + name.encode() for name in REPORT_FILES.values()}


def test_write_report_folder_replaces_a_previous_report_whole(tmp_path):
    first = write_report_folder(tmp_path, "cpts-a", _files(b"v1:"))
    assert (first / "carte.html").read_bytes() == b"v1:carte.html"
    again = write_report_folder(tmp_path, "cpts-a", _files(b"v2:"))
    assert again == first
    assert {p.name: p.read_bytes() for p in again.iterdir()} == _files(b"v2:")
    assert [p.name for p in tmp_path.iterdir()] == ["cpts-a"]  # no temporary or old folder left


@pytest.mark.parametrize(
    "files, message",
    [
        (
            {k: v for k, v in _files(b"x").items() if k != "carte.html"},
            "fichiers manquants dans le résultat : carte.html",
        ),
        ({**_files(b"x"), "../evil.txt": b"x"}, "nom de fichier inattendu dans le résultat : '../evil.txt'"),
        ({**_files(b"x"), ".cache": b"x"}, "nom de fichier inattendu dans le résultat : '.cache'"),
    ],
)
def test_a_bad_result_leaves_the_previous_report_untouched(tmp_path, files, message):
    write_report_folder(tmp_path, "cpts-a", _files(b"v1:"))
    with pytest.raises(RuntimeError) as err:
        write_report_folder(tmp_path, "cpts-a", files)
    assert str(err.value) == message
    assert {p.name: p.read_bytes() for p in (tmp_path / "cpts-a").iterdir()} == _files(b"v1:")
    assert [p.name for p in tmp_path.iterdir()] == ["cpts-a"]
    assert not (tmp_path.parent / "evil.txt").exists()
