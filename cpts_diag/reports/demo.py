"""The main job on the embedded data (`make demo`): check, regional synthesis, diagnostic reports."""

from __future__ import annotations

from pathlib import Path

import click

from cpts_diag import settings

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
    """Run the ARS view of PACA (check, regional synthesis and map) and the reports; return the exit code.

    The same code as ``cpts-diag batch`` on any listing (:func:`cpts_diag.reports.batch.run_batch` with its
    regional view), on the embedded PACA listing and the FICTITIOUS CPAM example.
    """
    from cpts_diag.io.lock import output_lock
    from cpts_diag.reports.batch import STATUS_FAILED, run_batch

    out_dir = settings.user_path(out_dir) or settings.REPORTS_DIR
    with output_lock(out_dir):  # before anything is said (the batch takes it again)
        only = None if all_territories else list(DEMO_TERRITORIES)
        label = "des 70 CPTS" if all_territories else f"de {len(DEMO_TERRITORIES)} CPTS représentatives"
        click.echo("1/2 Vue régionale des 70 CPTS de PACA (listing ARS 01/2026) : contrôle des périmètres, synthèse")
        click.echo(f"    et carte régionales ; 2/2 rapports de diagnostic {label} ({workers} processus)…")
        result = run_batch(
            settings.DEFAULT_PERIMETERS,
            only=only,
            region="93",
            workers=workers,
            out_dir=out_dir,
            cpam="exemple",
            regional=True,
        )
        for r in result.regions:
            if r["status"] == STATUS_FAILED:
                click.echo(f"    échec de la vue régionale {r['name']} : {r['error']}", err=True)
                continue
            s = r["check"]
            click.echo(
                f"    {s['n_territories']} territoires, {s['n_study_area_covered']} communes couvertes sur "
                f"{s['n_study_area_communes']}, {s['n_orphans']} orphelines, {s['n_overlaps']} chevauchements "
                f"(dont {s['n_conflicts']} conflit), {s['n_uncovered_arrondissements']} arrondissement non couvert, "
                f"{s['n_outdated_codes']} code périmé, {s['n_approximate']} populations approximatives"
            )
            for rel in r["outputs"].values():
                click.echo(f"    {out_dir / rel}")
        click.echo("")
        click.echo(f"Terminé. Ouvrez dans un navigateur : {(out_dir / 'index.html').resolve()}")
        if not all_territories:
            click.echo("Pour les rapports des 70 CPTS : .venv/bin/cpts-diag batch --workers 2")
        click.echo("Les chiffres CPAM (médecin traitant, ALD, CSS par commune) du démonstrateur sont FICTIFS.")
        return result.exit_code
