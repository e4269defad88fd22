"""``summary``: summary, checks and letter table of a territory given by its codes."""

from __future__ import annotations

import json
from pathlib import Path

from cpts_geo.commands.arguments import add_command, add_data_option, argument_text
from cpts_geo.data.bundle import Bundle
from cpts_geo.territory.checks import run_checks
from cpts_geo.data.codes import MAX_UPLOAD_BYTES, normalise_code, read_code_file, resolve_codes, split_codes
from cpts_geo.errors import InputError
from cpts_geo.exports.perimeter import read_perimeter
from cpts_geo.formatting import fr_int
from cpts_geo.territory.funding import funding_text
from cpts_geo.territory.letter import letter_markdown, letter_table
from cpts_geo.territory.offer import offer_lines, territory_offer
from cpts_geo.commands.output import show
from cpts_geo.region.registry import TEXT_SUFFIXES, read_registry
from cpts_geo.data.sources.readers import ARCHIVE_SUFFIXES, VECTOR_SUFFIXES, listed, read_input_bytes
from cpts_geo.territory.model import Territory, check_postal_overrides, summarize
from cpts_geo.user_text import clean_text

LEVEL_MARKS = {"ok": "[OK]", "info": "[i]", "warning": "[!]", "error": "[X]"}


def _is_path(value: str) -> bool:
    """True when ``value`` names an existing file or folder (a long list of codes is not a path)."""
    try:
        return Path(value).exists()
    except (OSError, ValueError):  # name too long, NUL character
        return False


def codes_argument(value: str) -> list[str]:
    """Codes from ``--codes``: a comma list, or the path of a CSV/TXT file of codes (checked: size, type)."""
    if not value.strip():
        raise InputError("L'option --codes est vide : donnez des codes INSEE ou IRIS séparés par des virgules, "
                         "ou un fichier CSV/TXT de codes.")
    path = Path(value)
    if path.suffix.lower() in TEXT_SUFFIXES or _is_path(value):
        if not _is_path(value):
            raise InputError(f"Fichier de codes introuvable : {listed([value], width=200)}")
        if path.suffix.lower() in VECTOR_SUFFIXES + ARCHIVE_SUFFIXES:
            raise InputError(f"Le fichier {path.name} est une couche géographique : --codes attend des codes ou un "
                             f"fichier CSV/TXT de codes. Pour un périmètre exporté par cpts-geo, utilisez "
                             f"--perimeter {path.name} (ou --other-cpts pour des CPTS voisines).")
        label = f"Le fichier {path.name}"
        return read_code_file(read_input_bytes(path, label, MAX_UPLOAD_BYTES), label=label)
    return split_codes(value)


def territory_argument(bundle: Bundle, args):
    """The territory of ``--codes`` or of ``--perimeter`` (a perimeter file exported by cpts-geo), and its code
    report; ``--name`` wins over the name stored in the perimeter."""
    if args.perimeter is None:
        return load_territory(bundle, codes_argument(args.codes), args.name or args.default_name)
    territory = read_perimeter(bundle, args.perimeter)
    return load_territory(bundle, sorted(territory.iris), args.name or territory.name or args.default_name)


def postal_overrides(bundle: Bundle, territory: Territory, values: list[str] | None) -> dict[str, str]:
    """``--postal 66136=66000`` options as a mapping commune → postal code, checked against the territory and
    La Poste's codes (:func:`~cpts_geo.territory.model.check_postal_overrides`; its warnings go to standard error)."""
    overrides = {}
    for value in values or []:
        commune, _, postal = value.partition("=")
        commune, postal = normalise_code(commune), postal.strip()
        if not commune or not postal:
            raise InputError(f"Option --postal invalide : « {value} » (attendu : CODE_INSEE=CODE_POSTAL).")
        if overrides.get(commune, postal) != postal:
            raise InputError(f"Option --postal : deux codes postaux pour la commune {commune} "
                             f"({overrides[commune]} et {postal}) ; gardez-en un.")
        overrides[commune] = postal
    for warning in check_postal_overrides(bundle, territory, overrides):
        show(f"Attention — {warning}", error=True)
    return overrides


def load_territory(bundle: Bundle, codes: list[str], name: str):
    """Resolve codes to a territory; unknown codes or an empty selection raise :class:`InputError`."""
    report = resolve_codes(bundle, codes)
    if not report.ok:
        raise InputError(f"{fr_int(len(report.problems))} code(s) non reconnu(s) — {report.message()}.")
    if not report.iris:
        raise InputError("La sélection est vide : donnez au moins un code de commune ou d'IRIS.")
    return Territory(report.iris, clean_text(name)), report


def load_others(bundle: Bundle, path: Path | None) -> dict[str, frozenset[str]]:
    """Neighbouring CPTS from a registry file (CSV ``cpts;code`` rows or perimeters), resolved to IRIS.

    What the registry reader ignored or noted is printed on standard error; a file without any
    usable CPTS raises :class:`InputError`.
    """
    if path is None:
        return {}
    imported = read_registry(bundle, path)
    if not imported.cpts:
        raise InputError(f"Aucune CPTS voisine utilisable dans {Path(path).name}. {imported.message()}")
    if len(imported.ignored) or imported.notes or len(imported.doubtful):
        show(imported.message(), error=True)
    return imported.cpts


def summary_payload(bundle: Bundle, territory: Territory, others, report, overrides, detailed: bool) -> dict:
    """The summary, the checks and the letter table as one JSON-ready dict."""
    summary = summarize(bundle, territory, overrides)
    checks = run_checks(bundle, territory, others, report)
    table = letter_table(bundle, summary, detailed)
    return {**summary.as_dict(),
            "checks": {c.name: c.as_dict() for c in checks},
            "letter_table": table.to_dict(orient="records"),
            "offer": territory_offer(bundle, territory.iris).as_dict(),
            "sources": {k: bundle.meta.get(k) for k in ("iris_source", "population_source",
                                                        "iris_population_source", "postal_source")}}, \
        (summary, checks, table)


def print_text(bundle: Bundle, summary, checks, table, offer: dict) -> None:
    """Human-readable summary in French."""
    pop = summary.population
    show(f"Territoire {summary.name or '(sans nom)'} : {summary.commune_count} communes{summary.iris_text}")
    show(f"Population : {fr_int(pop.value)} habitants ({pop.source})")
    show(f"  Méthode : {pop.method}")
    show(f"Taille : {summary.taille.number} ({summary.taille.label})")
    for item in summary.taille.funding:
        show(f"  {item['label']} : {funding_text(item)}")
    show(f"Codes postaux : {', '.join(summary.postal_codes)}"
         + (f" (à confirmer, communes à plusieurs codes : {', '.join(summary.postal_codes_to_confirm)})"
            if summary.postal_codes_to_confirm else ""))
    if summary.epci:
        show("Intercommunalités (EPCI) : " + "; ".join(e.label for e in summary.epci))
    if summary.age.rows:
        show("Structure par âge :")
        ages = summary.age.table()
        for row in ages.itertuples(index=False):
            show(f"  {row[0]:<18} " + "  ".join(f"{name} {cell:>6}" for name, cell in zip(ages.columns[1:], row[1:])))
        show(f"  {summary.age.note}")
    show("\n".join(offer_lines(offer)))
    show("\nVérifications :")
    for check in checks:
        show(f"  {LEVEL_MARKS[check.level]} {check.title} : {check.message}")
    show("\nTableau de la lettre d'intention :\n")
    show(letter_markdown(table, summary))
    show("Limites des données :")
    for limit in [*summary.limits, *offer["limits"]]:
        show(f"  - {limit}")


def run(args) -> int:
    bundle = Bundle.load(args.data)
    territory, report = territory_argument(bundle, args)
    overrides = postal_overrides(bundle, territory, args.postal)
    others = load_others(bundle, args.other_cpts)
    payload, (summary, checks, table) = summary_payload(bundle, territory, others, report, overrides, args.detailed)
    if args.json:
        show(json.dumps(payload, ensure_ascii=False, indent=2))
    else:
        print_text(bundle, summary, checks, table, payload["offer"])
    return 0


def add_territory_arguments(parser, default_name: str = "") -> None:
    """The options that describe a territory, shared by ``summary`` and ``export``."""
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument("--codes", metavar="CODES",
                       help="codes INSEE de communes (commune entière) et codes IRIS, séparés par des virgules ou des "
                            "espaces, ou fichier CSV/TXT de codes")
    given.add_argument("--perimeter", type=Path, metavar="FICHIER",
                       help="périmètre exporté par cpts-geo (GeoJSON, GeoPackage ou Shapefile zippé)")
    parser.add_argument("--name", type=argument_text, metavar="NOM",
                        help="nom de la CPTS" + (f" (défaut : {default_name})" if default_name else ""))
    parser.set_defaults(default_name=default_name)
    parser.add_argument("--other-cpts", type=Path, metavar="FICHIER",
                        help="CPTS voisines, pour les chevauchements et les zones isolées : CSV cpts;code "
                             "(code_insee ou code_iris) ou périmètres GeoJSON/GeoPackage/Shapefile")
    parser.add_argument("--postal", action="append", metavar="INSEE=CP", type=argument_text,
                        help="code postal à retenir pour une commune à plusieurs codes (répétable)")
    rows = parser.add_mutually_exclusive_group()
    rows.add_argument("--par-iris", dest="detailed", action="store_true",
                      help="tableau : une ligne par IRIS, aussi pour les communes entières (style de la lettre Ruscino)")
    rows.add_argument("--compact", dest="detailed", action="store_false",
                      help="tableau : une ligne par commune entière (défaut)")
    add_data_option(parser)


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers, "summary", "résumé, vérifications et tableau de la lettre d'intention",
        "Affiche les communes et IRIS du territoire, sa population (millésime et méthode), sa taille et le "
        "financement ACI, les EPCI, la structure par âge, l'offre de soins, les vérifications (un seul tenant, "
        "enclaves, chevauchements, communes isolées) et le tableau de la lettre d'intention.",
        ('python -m cpts_geo summary --codes 66028,66186,66189 --name "CPTS Ruscino"',
         "python -m cpts_geo summary --codes perimetre.csv --other-cpts voisines.csv --json"))
    add_territory_arguments(parser)
    parser.add_argument("--json", action="store_true", help="sortie JSON (un objet ; clés dans docs/cli.md)")
    parser.set_defaults(func=run)
