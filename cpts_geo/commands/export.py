"""``export``: the files of the lettre d'intention (map, tables, perimeter, pre-diagnostic)."""

from __future__ import annotations

from pathlib import Path

from cpts_geo.arguments import argument_text
from cpts_geo.bundle import Bundle
from cpts_geo.commands.summary import add_territory_arguments, load_others, postal_overrides, territory_argument
from cpts_geo.errors import InputError
from cpts_geo.exports.files import FORMATS, TerritoryExport
from cpts_geo.output import show, write_files
from cpts_geo.territory import others_without_self


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
    parser = subparsers.add_parser("export", help="exporter carte, tableaux, périmètre et pré-diagnostic")
    add_territory_arguments(parser, default_name="CPTS")
    parser.add_argument("--format", default="all", help=f"formats séparés par des virgules : {', '.join(FORMATS)} "
                                                        "(défaut : all)")
    parser.add_argument("--out", type=Path, default=Path("."), help="dossier où écrire les fichiers")
    parser.add_argument("--orientation", choices=["portrait", "landscape"], default="portrait",
                        help="orientation de la carte A4")
    parser.add_argument("--auteur", default=None, type=argument_text,
                        help="porteur ou structure, écrit comme auteur dans les métadonnées des PDF, DOCX et XLSX "
                             "(« cpts-geo » y est ajouté)")
    parser.set_defaults(func=run)
