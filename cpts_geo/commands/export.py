"""``export``: the files of the lettre d'intention (map, tables, perimeter, pre-diagnostic)."""

from __future__ import annotations

from pathlib import Path

from cpts_geo.commands.arguments import add_command, argument_text
from cpts_geo.data.bundle import Bundle
from cpts_geo.commands.summary import add_territory_arguments, load_others, postal_overrides, territory_argument
from cpts_geo.errors import InputError
from cpts_geo.exports.files import FORMATS, TerritoryExport
from cpts_geo.commands.output import show, write_files
from cpts_geo.territory.model import others_without_self


def formats_argument(value: str) -> list[str]:
    """``--format png,pdf`` (or ``all``) as a list of known formats."""
    wanted = list(FORMATS) if value.strip() == "all" else list(dict.fromkeys(
        f.strip().lower() for f in value.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise InputError(f"Format(s) inconnu(s) : {', '.join(unknown) or value} (formats : {', '.join(FORMATS)}, "
                         "ou all).")
    return wanted


def run(args) -> int:
    formats = formats_argument(args.format)
    bundle = Bundle.load(args.data)
    territory, _ = territory_argument(bundle, args)
    overrides = postal_overrides(bundle, territory, args.postal)
    others, itself = others_without_self(territory, load_others(bundle, args.other_cpts))
    for name in itself:
        show(f"Note — « {name} » de --other-cpts est le territoire exporté lui-même (même nom ou mêmes IRIS) : "
             "elle n'est ni dessinée ni vérifiée comme CPTS voisine.", error=True)
    exporter = TerritoryExport(bundle, territory, others, overrides,
                               detailed=args.detailed, orientation=args.orientation,
                               author=args.auteur)
    exported = [exporter.export(fmt) for fmt in formats]
    paths = write_files(args.out, {file.filename: file.data for file in exported})
    for fmt, path in zip(formats, paths):
        show(f"{FORMATS[fmt][2]} : {path}")
    for alert in exporter.alerts:
        show(f"Attention — {alert} (signalé dans chaque fichier)", error=True)
    return 0


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers, "export", "exporter carte, tableaux, périmètre et pré-diagnostic",
        "Écrit les fichiers de la lettre d'intention : carte A4 (PNG, PDF), tableau (CSV, XLSX), section DOCX, "
        "pré-diagnostic PDF et périmètre (GeoJSON, GeoPackage, Shapefile zippé).",
        ('python -m cpts_geo export --codes perimetre.csv --name "CPTS Ruscino" --format pdf,xlsx --out exports/',
         "python -m cpts_geo export --perimeter cpts_ruscino_perimetre.gpkg --out exports/"))
    add_territory_arguments(parser, default_name="CPTS")
    parser.add_argument("--format", default="all", metavar="FORMATS",
                        help=f"formats séparés par des virgules : {', '.join(FORMATS)} (défaut : all, tous)")
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DOSSIER",
                        help="dossier où écrire les fichiers (défaut : dossier courant)")
    parser.add_argument("--orientation", choices=["portrait", "landscape"], default="portrait",
                        help="orientation de la carte A4 : portrait (défaut) ou landscape (paysage)")
    parser.add_argument("--auteur", default=None, type=argument_text, metavar="NOM",
                        help="porteur ou structure, écrit comme auteur dans les métadonnées des PDF, DOCX et XLSX "
                             "et au pied de la carte (« cpts-geo » y est ajouté)")
    parser.set_defaults(func=run)
