"""The main job on the embedded data (`make demo`): check, regional synthesis, diagnostic reports."""

from __future__ import annotations

from pathlib import Path

import click

from cpts_diag import settings

__all__ = ["run_demo", "DEMO_TERRITORIES"]

# A representative subset of the 70 PACA CPTS: every département, a Marseille CPTS by arrondissement,
# a Nice CPTS split infra-communally, a large rural one, a CPTS holding a former commune code,
# the Enclave des Papes (Vaucluse communes surrounded by the Drôme).
DEMO_TERRITORIES = (
    "CPTS Guil Durance",
    "CPTS Alpes Bléone Durance",
    "CPTS Nice ouest Vallée",
    "CPTS Actes Santé",
    "CPTS du Pays d'Arles",
    "CPTS Var Estérel Méditerranée",
    "CPTS du Grand Avignon",
    "CPTS Pays Grassois",
    "Drôme Provençale Enclave des Papes",
)


def run_demo(out_dir: Path | None = None, all_territories: bool = False, workers: int = 2) -> int:
    """Run the check, the regional synthesis and the reports; return the exit code."""
    from cpts_diag.checks import check_perimeters
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.outputs.check_outputs import write_check_outputs
    from cpts_diag.reference import load_reference
    from cpts_diag.reports.batch import run_batch, run_synthesis

    out_dir = settings.user_path(out_dir) or settings.REPORTS_DIR
    reference = load_reference()
    perimeters = read_perimeters(settings.DEFAULT_PERIMETERS, names_by_code=reference.names)
    click.echo("1/3 Contrôle des périmètres des 70 CPTS de PACA (listing ARS 01/2026)…")
    report = check_perimeters(perimeters, reference, geometries="default", regions=["93"])
    s = report.to_dict()["summary"]
    click.echo(
        f"    {s['n_territories']} territoires, {s['n_study_area_covered']} communes couvertes sur "
        f"{s['n_study_area_communes']}, {s['n_orphans']} orphelines, {s['n_overlaps']} chevauchements "
        f"(dont {s['n_conflicts']} conflit), {s['n_uncovered_arrondissements']} arrondissement non couvert, "
        f"{s['n_outdated_codes']} code périmé, {s['n_approximate']} populations approximatives"
    )
    for path in write_check_outputs(report, out_dir / "controle_perimetres"):
        click.echo(f"    {path}")

    click.echo("2/3 Synthèse régionale…")
    synthesis = run_synthesis(settings.DEFAULT_PERIMETERS, "93", out_dir, "exemple")
    click.echo(f"    {synthesis}")

    only = None if all_territories else list(DEMO_TERRITORIES)
    label = "des 70 CPTS" if all_territories else f"de {len(DEMO_TERRITORIES)} CPTS représentatives"
    click.echo(f"3/3 Rapports de diagnostic {label} ({workers} processus)…")
    result = run_batch(settings.DEFAULT_PERIMETERS, only=only, workers=workers, out_dir=out_dir, cpam="exemple")
    click.echo("")
    click.echo(f"Terminé. Ouvrez dans un navigateur : {(out_dir / 'index.html').resolve()}")
    if not all_territories:
        click.echo("Pour les rapports des 70 CPTS : .venv/bin/cpts-diag batch --workers 2")
    click.echo("Les chiffres CPAM (médecin traitant, ALD, CSS par commune) du démonstrateur sont FICTIFS.")
    return result.exit_code
