"""A report folder: its files, its name (slug) and its atomic writing.

A report folder ``out_dir/<slug>/`` holds :data:`REPORT_FILES`. It is built in a temporary folder beside
the target and swapped in complete (:func:`swap_in`): a crash or an interruption never leaves a
half-written report that looks complete, and a previous good report stays until the new one is complete.

Examples
--------
>>> slugify("CPTS du Pays d'Apt")
'cpts-du-pays-d-apt'
>>> slugify("CPTS Cœur du Var")
'cpts-coeur-du-var'
>>> slugify("Marseille 2 & 3")
'marseille-2-et-3'
>>> slugify("a/b")  # a character was dropped: stable hash suffix
'a-b-3ec69c'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
import unicodedata
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

#: Files of a complete report folder (name -> meaning).
REPORT_FILES = {
    "rapport": "rapport.html",
    "carte": "carte.html",
    "indicateurs": "indicateurs.xlsx",
    "perimetre": "perimetre.gpkg",
    "notebook": "diagnostic.ipynb",
}

#: Mimetype of the machine-readable summary the notebook displays next to its key figures.
SUMMARY_MIMETYPE = "application/vnd.cpts-diag.summary+json"

MAX_SLUG = 60
_HASH_LEN = 6
# Characters that only separate words: replaced by "-" without counting as lost information.
_SEPARATORS = set(" \t\n-_'’‘`.,;:()[]")
_TRANSLIT = {
    ch: ascii_text
    for chars, ascii_text in (
        ("œŒ", "oe"),
        ("æÆ", "ae"),
        ("ß", "ss"),
        ("øØ", "o"),
        ("đĐ", "d"),
        ("łŁ", "l"),
        ("&", " et "),
        ("+", " plus "),
    )
    for ch in chars
}
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


# ------------------------------------------------------------------------------------------- slugs
def _short_hash(name: str, length: int = _HASH_LEN) -> str:
    return hashlib.sha1(name.encode("utf-8")).hexdigest()[:length]


def _slug_base(name: str) -> tuple[str, bool]:
    """ASCII slug of ``name`` and whether characters were dropped."""
    dropped = False
    out = []
    for ch in name:
        if ch in _TRANSLIT:
            out.append(_TRANSLIT[ch])
        elif ch in _SEPARATORS or ch.isspace():
            out.append(" ")
        else:  # accents are stripped; quotes, slashes, <, >, emoji, non-Latin script... are dropped
            ascii_part = "".join(c for c in unicodedata.normalize("NFKD", ch) if c.isascii() and c.isalnum())
            out.append(ascii_part or " ")
            dropped = dropped or not ascii_part
    return re.sub(r"[^a-z0-9]+", "-", "".join(out).lower()).strip("-"), dropped


def _with_suffix(base: str, suffix: str) -> str:
    head = base[: MAX_SLUG - len(suffix) - 1].rstrip("-")
    return f"{head}-{suffix}" if head else f"territoire-{suffix}"


def slugify(name: str) -> str:
    """File-system-safe slug of any territory name (accents, quotes, slashes, markup...).

    The slug is lowercase ASCII ``[a-z0-9-]``, at most 60 characters, never empty, never starting with a
    dot or a hyphen. Accents are transliterated (``é`` -> ``e``, ``œ`` -> ``oe``, ``&`` -> ``et``); when
    characters had to be dropped (quotes, slashes, ``<``, non-Latin letters...) or the name was truncated,
    a stable 6-character hash of the name is appended so that two different names do not collapse onto
    the same slug.

    Examples
    --------
    >>> slugify("CPTS Vallée des Paillons et de la Banquière")
    'cpts-vallee-des-paillons-et-de-la-banquiere'
    >>> slugify("") .startswith("territoire-")
    True
    """
    name = "" if name is None else str(name)
    base, dropped = _slug_base(name)
    if not base or dropped or len(base) > MAX_SLUG or base in _RESERVED:
        return _with_suffix(base, _short_hash(name))  # "territoire-<hash>" for an empty base
    return base


def unique_slugs(names: Iterable[str]) -> dict[str, str]:
    """Slugs of several names, distinct for distinct names.

    Names whose slugs collide (e.g. ``"CPTS A-B"`` and ``"CPTS A B"``) get the hash suffix of their
    exact name; the result is stable (it does not depend on the order of ``names``).

    Examples
    --------
    >>> s = unique_slugs(["CPTS A-B", "CPTS A B", "CPTS C"])
    >>> s["CPTS C"], s["CPTS A-B"] != s["CPTS A B"]
    ('cpts-c', True)
    """
    first = {n: slugify(n) for n in map(str, names)}
    counts = Counter(first.values())
    out = {n: s if counts[s] == 1 else _with_suffix(_slug_base(n)[0], _short_hash(n)) for n, s in first.items()}
    # Pathological remaining collisions (hash prefix clash): longer hashes.
    seen: set[str] = set()
    for n in sorted(out):
        s = out[n]
        length = _HASH_LEN
        while s in seen:  # taken by another name (each name comes once)
            length += 4
            s = _with_suffix(_slug_base(n)[0], _short_hash(n, length))
        seen.add(s)
        out[n] = s
    return out


# ----------------------------------------------------------------------------------------- writing
def cleanup_stale(out_dir: Path, slug: str) -> None:
    """Remove temporary folders of this slug left by a killed run (older than one hour)."""
    now = time.time()
    for p in out_dir.glob(f".{slug}.*"):
        with contextlib.suppress(OSError):
            if p.is_dir() and (p.name.endswith(".tmp") or ".old-" in p.name) and now - p.stat().st_mtime > 3600:
                shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def building(out_dir: Path, name: str) -> Iterator[Path]:
    """A temporary folder beside ``out_dir/<name>``, swapped in complete (:func:`swap_in`) when the block ends;
    removed on any failure, a previous folder then staying in place."""
    cleanup_stale(out_dir, name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir))
    try:
        yield tmp
        swap_in(tmp, out_dir / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_report_folder(out_dir, slug: str, files: dict[str, bytes]) -> Path:
    """Write a report folder from its files' bytes (a Dask worker's result), atomically (:func:`building`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    missing = [name for name in REPORT_FILES.values() if name not in files]
    if missing:
        raise RuntimeError(f"fichiers manquants dans le résultat : {', '.join(missing)}")
    with building(out_dir, slug) as tmp:
        for name, data in files.items():
            if Path(name).name != name or name.startswith("."):
                raise RuntimeError(f"nom de fichier inattendu dans le résultat : {name!r}")
            with open(tmp / name, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
    return out_dir / slug


def swap_in(tmp: Path, target: Path) -> None:
    """Give the complete folder ``tmp`` the usual permissions and put it in place of ``target``.

    mkdtemp makes ``tmp`` private to its owner; the swap is made of renames on one file system, and a
    previous ``target`` is put back when ``tmp`` cannot take its place.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(tmp, 0o777 & ~mask)
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(target, old)
    try:
        os.replace(tmp, target)
    except BaseException:
        if old is not None and not target.exists():
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
