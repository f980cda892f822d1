"""Tests of cpts_diag.io.fingerprint: the one content fingerprint of a run (contents, never modification times)."""

from cpts_diag import settings


def test_cache_and_batch_keys_follow_file_contents_not_modification_times(tmp_path, monkeypatch):
    import os

    from cpts_diag.reports import batch
    from cpts_diag.reports import sections as rs

    monkeypatch.setenv("CPTS_DIAG_CACHE", str(tmp_path / "cache"))
    data = tmp_path / "data"
    (data / "sous_dossier").mkdir(parents=True)
    table = data / "sous_dossier" / "table.csv"
    table.write_text("code,valeur\n06069,1\n", encoding="utf-8")
    monkeypatch.setattr(settings, "DATA_DIR", data)
    perimeters = tmp_path / "p.csv"
    perimeters.write_text("cpts;code_insee\nCPTS Test;06069\n", encoding="utf-8")

    def keys():
        return rs._DiagnosticCache.open(perimeters, "", None, None).folder, batch._context_hash("", "", "")

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
