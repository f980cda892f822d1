"""What ``cpts-diag batch`` prints: the French summary of a batch, one line per région of its ARS view."""

from __future__ import annotations

from pathlib import Path

from cpts_diag import fr_format as fr
from cpts_diag.errors import shown_paths
from cpts_diag.reports.batch.run import run_batch
from cpts_diag.reports.index_page import STATUS_FAILED, STATUS_OK, STATUS_UNCHANGED, region_study_area_text


def run_batch_cli(perimeters=None, **options) -> int:
    """``cpts-diag batch``: run :func:`run_batch` with these options, print a French summary; return the exit code
    (:attr:`BatchResult.exit_code`). :class:`InputError` is raised for the CLI to turn into exit code 2."""
    import click

    result = run_batch(perimeters, **options)
    c = result.counts
    n = len(result.entries)
    click.echo(
        f"{fr.integer(n)} territoire{'s' if n > 1 else ''} : {fr.integer(c.get(STATUS_OK, 0))} produit(s), "
        f"{fr.integer(c.get(STATUS_UNCHANGED, 0))} inchangé(s), {fr.integer(c.get(STATUS_FAILED, 0))} en échec "
        f"— {fr.number(result.duration, 1)} s"
    )
    for e in result.failed:
        click.echo(f"échec : {e['name']} : {shown_paths(e['error'])}", err=True)
    for r in result.regions:
        click.echo(region_line(r, result.out_dir), err=r.get("status") == STATUS_FAILED)
    if result.interrupted:
        click.echo(
            "Traitement interrompu : les rapports terminés sont conservés ; relancez la même commande pour reprendre.",
            err=True,
        )
    if result.fictitious:
        click.echo("Attention : les indicateurs CPAM proviennent de l'exemple FICTIF (signalé dans chaque rapport).")
    click.echo(f"Index : {result.index.resolve()}")
    click.echo(f"Journal : {result.batch_json.resolve()}")
    return result.exit_code


def region_line(record: dict, out_dir: Path) -> str:
    """One French line of the command's summary for a région of the ARS view."""
    region = f"{record['name']} ({record['code']})"
    status = record.get("status")
    if status == STATUS_FAILED:
        return f"échec : vue régionale {region} : {record.get('error')}"
    check = record.get("check") or {}
    n = len(record.get("territories") or [])
    counts = (
        f"{fr.integer(n)} territoire{'s' if n > 1 else ''}, {fr.integer(check.get('n_orphans', 0))} commune(s) "
        f"orpheline(s), {fr.integer(check.get('n_outside_file', 0))} commune(s) hors fichier, "
        f"{fr.integer(check.get('n_overlaps', 0))} chevauchement(s)"
    )
    if "study_area" in record:  # records of an earlier version lack it
        counts += f" ; {region_study_area_text(record)}"
    label = "produite" if status == STATUS_OK else "inchangée"
    line = f"Vue régionale {region} {label} ({counts}) : {(out_dir / record['folder']).resolve()}"
    if record.get("declared") and not record.get("mostly_covered"):
        line += (
            f" — attention, le fichier ne contient que {fr.integer(record['n_covered'])} de ses "
            f"{fr.integer(record['n_communes'])} communes : ses « orphelines » sont toutes ses communes hors du fichier"
        )
    return line
