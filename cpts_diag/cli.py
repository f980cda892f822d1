"""The `cpts-diag` command line (messages in French).

Exit codes: 0 nothing blocks, 1 a blocking finding (or a failed territory in batch), 2 unusable input,
3 internal error, 130 interrupted.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from pathlib import Path

import click

from cpts_diag import settings
from cpts_diag.errors import InputError, shown_paths
from cpts_diag.io.params import cpam_choice

EXIT_OK, EXIT_BLOCKING, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _print_json(document) -> None:
    from cpts_diag.outputs.html import json_ready

    click.echo(json.dumps(json_ready(document), ensure_ascii=False, indent=2))


def _load_perimeters(path, sheet=None, territory=None, echo_warnings=True):
    """The perimeters and the COG reference; the reading warnings on stderr unless the command's own output
    shows them (``echo_warnings=False``: check prints them in its report)."""
    from cpts_diag.io.perimeters import read_perimeters
    from cpts_diag.reference import load_reference

    reference = load_reference()
    perimeters = read_perimeters(
        path or settings.DEFAULT_PERIMETERS, sheet=sheet, names_by_code=reference.names, territory=territory
    )
    for warning in perimeters.warnings if echo_warnings else ():
        click.echo(f"avertissement : {shown_paths(warning)}", err=True)
    return perimeters, reference


def _absolute(ctx, param, value):
    """A path argument or option, absolute against the current folder (settings.user_path): it is used as is by
    Jupyter kernels and batch workers that run in other folders."""
    return settings.user_path(value)


perimeters_argument = click.argument(
    "perimeters",
    required=False,
    default=None,
    metavar="[PERIMETRES]",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_absolute,
)
sheet_option = click.option(
    "--feuille", "--sheet", "sheet", default=None, metavar="FEUILLE", help="Feuille Excel à lire."
)


def _territory_option(help_text: str):
    return click.option("--territory", "--territoire", "territory", default=None, metavar="NOM", help=help_text)


_NAME_HELP = (
    "Nom du territoire d'un fichier sans colonne CPTS (par défaut : sa ligne de titre, sinon le nom du fichier)."
)
_CHOICE_HELP = "Nom de la CPTS (inutile si le fichier n'a qu'un territoire)."


class FrenchCommand(click.Command):
    """Help screens in French (click writes its own headings in English)."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = "Affiche cette aide et quitte."
        return option

    def format_options(self, ctx, formatter):
        records = [p.get_help_record(ctx) for p in self.get_params(ctx) if isinstance(p, click.Option)]
        rows = [  # click's bracketed notes in French: "[required]", "[1<=x<=32]"
            (name, re.sub(r"\[(\d+)<=x<=(\d+)\]", r"[de \1 à \2]", text.replace("[required]", "[obligatoire]")))
            for name, text in filter(None, records)
        ]
        if rows:
            with formatter.section("Options"):
                formatter.write_dl(rows)
        if isinstance(self, click.Group):
            self.format_commands(ctx, formatter)

    def format_usage(self, ctx, formatter):
        formatter.write_usage(ctx.command_path, " ".join(self.collect_usage_pieces(ctx)), prefix="Utilisation : ")


class FrenchGroup(FrenchCommand, click.Group):
    command_class = FrenchCommand

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("subcommand_metavar", "COMMANDE [ARGUMENTS]...")
        super().__init__(*args, **kwargs)

    def format_commands(self, ctx, formatter):
        rows = [
            (name, cmd.get_short_help_str(limit=formatter.width - 20))
            for name in self.list_commands(ctx)
            if (cmd := self.get_command(ctx, name)) is not None and not cmd.hidden
        ]
        if rows:
            with formatter.section("Commandes"):
                formatter.write_dl(rows)


FrenchGroup.group_class = FrenchGroup


@click.group(cls=FrenchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cpts_diag", message="cpts-diag %(version)s", help="Affiche la version et quitte.")
def cli():
    """Diagnostic territorial des CPTS : contrôle des périmètres, tailles ACI, indicateurs, rapports."""


def _file_option(name: str, help_text: str):
    """An option naming an input file (None when not given)."""
    return click.option(
        name,
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        metavar="FICHIER",
        help=help_text,
        callback=_absolute,
    )


def _out_option(help_text: str):
    """The ``--out`` option of a command: an output folder (None: the command's default)."""
    return click.option(
        "--out",
        "out_dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        metavar="DOSSIER",
        help=help_text,
        callback=_absolute,
    )


_workers_option = click.option(
    "--workers",
    default=2,
    type=click.IntRange(1, 32, clamp=False),
    metavar="N",
    help="Nombre de rapports produits en parallèle (par défaut : 2).",
)


def _options(*options):
    """One decorator for ``options``, listed in the order the help shows them."""
    return lambda func: functools.reduce(lambda f, option: option(f), reversed(options), func)


def _study_area(region_help: str, geometries_help: str):
    """The options of the study area and of the geometry checks (check, simulate), turned into the keyword
    arguments of the check by :func:`_scope`."""
    return _options(
        click.option("--region", "regions", multiple=True, metavar="CODE", help=region_help),
        click.option(
            "--departement",
            "departements",
            multiple=True,
            metavar="CODE",
            help="Code(s) département de la zone d'étude.",
        ),
        _file_option("--geometries", geometries_help),
        click.option("--sans-geometrie", "no_geometry", is_flag=True, help="Ne pas faire les contrôles géométriques."),
    )


def _scope(regions, departements, geometries, no_geometry) -> dict:
    def codes(values) -> list[str] | None:
        return [c.strip() for v in values for c in v.replace(";", ",").split(",") if c.strip()] or None

    return {
        "geometries": None if no_geometry else geometries or "default",  # "default": the embedded adjacency
        "regions": codes(regions),
        "departements": codes(departements),
    }


@cli.command("check")
@perimeters_argument
@sheet_option
@_study_area(
    "Code(s) région de la zone d'étude (ex. 93).",
    "Vos propres polygones des communes (GeoJSON/GeoPackage, code INSEE + polygone) ; "
    "par défaut, la contiguïté nationale embarquée.",
)
@click.option("--json", "as_json", is_flag=True, help="Résultat en JSON sur la sortie standard.")
@_out_option("Dossier où écrire le classeur Excel et le GeoPackage des constats.")
@_territory_option(_NAME_HELP)
def check_command(perimeters, sheet, as_json, out_dir, territory, **scope):
    """Contrôle un fichier de périmètres de CPTS."""
    from cpts_diag.checks import check_perimeters
    from cpts_diag.io.perimeters import ignored_name_note
    from cpts_diag.outputs.check_text import format_text

    # the reading warnings are in the report (text or JSON), printed once
    perims, reference = _load_perimeters(perimeters, sheet, territory, False)
    if note := ignored_name_note(perims, territory):
        click.echo(note, err=True)
    report = check_perimeters(perims, reference, **_scope(**scope))
    if as_json:
        _print_json(report.to_dict())
    else:
        click.echo(shown_paths(format_text(report)))  # her file as she typed it, like the other messages
    if out_dir:
        from cpts_diag.outputs.check_outputs import write_check_outputs

        written = write_check_outputs(report, out_dir)
        click.echo(f"Constats écrits : {', '.join(str(p) for p in written)}", err=as_json)
    sys.exit(report.exit_code)


@cli.command("simulate")
@perimeters_argument
@click.option(
    "--ajouter",
    "additions",
    multiple=True,
    metavar="CODE=TERRITOIRE",
    help='Ajouter la commune CODE au territoire (répétable), ex. --ajouter "04013=CPTS Alpes Bléone Durance".',
)
@click.option(
    "--retirer", "removals", multiple=True, metavar="CODE=TERRITOIRE", help="Retirer la commune CODE du territoire."
)
@_file_option(
    "--modifications",
    "Fichier des modifications (CSV ou XLSX : colonnes action [ajouter ou retirer], code INSEE, territoire).",
)
@sheet_option
@_study_area("Code(s) région de la zone d'étude.", "Vos propres polygones des communes (comme pour check).")
@click.option("--json", "as_json", is_flag=True, help='Résultat en JSON : {"before": …, "after": …, "changes": […]}.')
@_out_option(
    "Dossier où écrire le fichier corrigé (même nom, même format) et son journal ; jamais le dossier de l'original."
)
@_territory_option(_NAME_HELP)
def simulate_command(perimeters, additions, removals, modifications, sheet, as_json, out_dir, territory, **scope):
    """Essaie des modifications d'un fichier de périmètres : contrôle avant et après, fichier corrigé."""
    from cpts_diag.outputs.simulation_outputs import format_simulation_text
    from cpts_diag.simulation import ADD, REMOVE, parse_change, read_changes, resolve_changes, simulate

    changes = [parse_change(v, ADD) for v in additions] + [parse_change(v, REMOVE) for v in removals]
    if modifications:
        changes += read_changes(modifications)
    if not changes:
        raise InputError(
            "aucune modification : --ajouter CODE=TERRITOIRE, --retirer CODE=TERRITOIRE ou --modifications"
        )
    perims, reference = _load_perimeters(perimeters, sheet, territory, False)
    changes = resolve_changes(changes, perims)
    sim = simulate(perims, changes, reference, **_scope(**scope), sheet=sheet, territory=territory, out_dir=out_dir)
    if as_json:
        _print_json(sim.to_dict())
    else:
        click.echo(format_simulation_text(sim))
    if sim.written and as_json:
        click.echo(f"Fichier corrigé écrit : {', '.join(str(p) for p in sim.written)}", err=True)
    sys.exit(sim.exit_code)


_user_files = _options(
    click.option(
        "--cpam",
        default=None,
        metavar="FICHIER|exemple|aucun",
        help="Table CPAM/Rézone par commune (patients sans médecin traitant, ALD, CSS). Par défaut, avec le "
        "listing PACA embarqué : l'exemple FICTIF ; avec votre fichier : aucune.",
    ),
    _file_option(
        "--insee-ages", "Population par âge INSEE par commune (base évolution et structure de la population)."
    ),
    _file_option(
        "--bpe", "Base permanente des équipements INSEE (professionnels de santé par commune : D265, D281, D307…)."
    ),
)


@cli.command("indicators")
@perimeters_argument
@sheet_option
@_territory_option(_CHOICE_HELP)
@_user_files
@click.option("--json", "as_json", is_flag=True, help="Lignes d'indicateurs en JSON sur la sortie standard.")
@_out_option("Dossier où écrire le classeur Excel des indicateurs.")
def indicators_command(perimeters, sheet, territory, cpam, insee_ages, bpe, as_json, out_dir):
    """Indicateurs du diagnostic d'une CPTS, comparés au département, à la région et à la France."""
    from cpts_diag.indicators import diagnose, find_territory
    from cpts_diag.outputs.indicator_outputs import (
        format_indicator_table,
        indicator_rows_json,
        write_indicator_workbook,
    )

    perims, reference = _load_perimeters(perimeters, sheet, territory)
    name = find_territory(perims.table["cpts"].astype(str).unique(), territory, perims.source)
    diag = diagnose(perims, name, reference, cpam=cpam_choice(cpam, perimeters).file, insee_ages=insee_ages, bpe=bpe)
    if as_json:
        _print_json(indicator_rows_json(diag))
    else:
        click.echo(format_indicator_table(diag))
    if out_dir:
        from cpts_diag.reports.folder import slugify

        path = write_indicator_workbook(diag, Path(out_dir) / f"indicateurs_{slugify(diag.territory)}.xlsx")
        click.echo(f"Classeur écrit : {path}", err=as_json)


@cli.command("report")
@perimeters_argument
@_territory_option(_CHOICE_HELP)
@_user_files
@_out_option("Dossier parent du rapport (par défaut : reports/).")
def report_command(perimeters, territory, cpam, **paths):
    """Rapport de diagnostic d'une CPTS : rapport.html, carte.html, indicateurs.xlsx, perimetre.gpkg."""
    from cpts_diag.reports.runner import run_report_cli

    sys.exit(run_report_cli(perimeters, territory, cpam=cpam_choice(cpam, perimeters).value, **paths))


@cli.command("batch")
@perimeters_argument
@click.option(
    "--only", "--seulement", "only", multiple=True, metavar="NOM", help="Ne traiter que cette CPTS (répétable)."
)
@click.option(
    "--region",
    default=None,
    metavar="CODE",
    help="Ne traiter que les CPTS ayant une commune dans cette région, et faire sa vue régionale avec la région "
    "déclarée zone d'étude ; sans elle, une vue par région du fichier (zone d'étude : la région si le fichier en "
    "contient la majorité, sinon ses départements qu'il liste en majorité).",
)
@_territory_option(_NAME_HELP)
@_workers_option
@_out_option("Dossier des rapports (par défaut : reports/).")
@click.option("--force", is_flag=True, help="Tout refaire, même ce qui n'a pas changé.")
@click.option(
    "--sans-vue-regionale",
    "no_regional",
    is_flag=True,
    help="Ne pas écrire la vue régionale (contrôle, synthèse et carte par région ; jamais avec --only).",
)
@click.option(
    "--cluster",
    default=None,
    metavar="tcp://HÔTE:8786",
    help="Adresse d'un ordonnanceur Dask : les rapports sont calculés par ses workers "
    '(pip install "cpts_diag[cluster]").',
)
@_user_files
def batch_command(perimeters, only, cpam, no_regional, **options):
    """Rapports de toutes les CPTS d'un fichier (ou d'une région) et vue régionale, avec index.html."""
    from cpts_diag.reports.batch import run_batch_cli

    regional = False if no_regional or only else None
    cpam = cpam_choice(cpam, perimeters).value
    sys.exit(run_batch_cli(perimeters, only=list(only) or None, cpam=cpam, regional=regional, **options))


@cli.command("demo")
@_out_option("Dossier des sorties (par défaut : reports/).")
@click.option("--toutes", "all_territories", is_flag=True, help="Rapports des 70 CPTS (sinon un échantillon).")
@_workers_option
def demo_command(out_dir, all_territories, workers):
    """Travail principal sur les données PACA embarquées : contrôle, synthèse régionale, rapports."""
    from cpts_diag.reports.demo import run_demo

    sys.exit(run_demo(out_dir, all_territories=all_territories, workers=workers))


@cli.group("data")
def data_group():
    """Données embarquées (dossier data/)."""


@data_group.command("build")
@click.option(
    "--source",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DOSSIER",
    help="Dossier des données ouvertes au format officiel (ex. ../shared/opendata).",
    callback=_absolute,
)
@_out_option("Dossier de sortie (par défaut : data/ du projet).")
def data_build_command(source, out_dir):
    """Construit les données embarquées à partir des fichiers officiels."""
    from cpts_diag.build.data_folder import build_all

    written = build_all(source, out_dir)
    click.echo(f"{len(written)} fichiers écrits dans {out_dir or settings.DATA_DIR}")
    for path in written:
        click.echo(f"  {path}")


def _french_usage_error(err: click.ClickException) -> str:
    """One-line French message for a command-line usage error."""
    if isinstance(err, click.exceptions.BadParameter) and err.param is not None:  # MissingParameter included
        names = " / ".join(getattr(err.param, "opts", []) or [err.param.name])
        if isinstance(err, click.exceptions.MissingParameter):
            return f"paramètre obligatoire manquant : {names} (voir --help)"
        return f"valeur invalide pour {names} (voir --help)"
    if isinstance(err, click.exceptions.NoSuchOption):
        return f"option inconnue : {err.option_name} (voir --help)"
    unknown = re.match(r"No such command '(.*)'", err.format_message())
    if unknown:
        return f"commande inconnue : {unknown.group(1)} (voir --help)"
    if isinstance(err, click.exceptions.UsageError):
        return f"commande mal formée : {err.format_message()} (voir --help)"
    return err.format_message()


def main(argv=None) -> int:
    """Entry point: French one-line errors, never a traceback."""
    try:
        cli.main(args=argv, prog_name="cpts-diag", standalone_mode=False)
    except InputError as err:
        click.echo(f"erreur : {shown_paths(str(err))}", err=True)
        return EXIT_INPUT
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrompu.", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as err:
        click.echo(f"erreur : {_french_usage_error(err)}", err=True)
        return EXIT_INPUT
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except Exception as err:  # noqa: BLE001 - last resort: no traceback for users
        click.echo(f"erreur interne : {type(err).__name__} : {err}", err=True)
        click.echo("(relancez avec CPTS_DIAG_DEBUG=1 pour le détail technique)", err=True)
        if os.environ.get("CPTS_DIAG_DEBUG"):
            raise
        return EXIT_INTERNAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
