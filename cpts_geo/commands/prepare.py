"""``prepare``: build the data bundle from the local mirror or the official downloads."""

from __future__ import annotations

from pathlib import Path

from cpts_geo.commands.arguments import add_command
from cpts_geo.config import DATA_DIR, DEFAULT_MIRROR, DOWNLOAD_DIR
from cpts_geo.errors import DataError
from cpts_geo.formatting import fr_int
from cpts_geo.commands.output import show
from cpts_geo.data.layout import bundle_is_current
from cpts_geo.data.prepare import prepare_bundle
from cpts_geo.data.sources.mirror import is_mirror, read_mirror
from cpts_geo.data.sources.official import read_official


def read_sources(mirror: Path | None, download: bool):
    """Source tables from a mirror folder (normalised layout or official files) or the downloads."""
    if download:
        return read_official(DOWNLOAD_DIR, download=True)
    folder = Path(mirror) if mirror else DEFAULT_MIRROR
    if not folder.exists():
        raise DataError(f"Dossier de données introuvable : {folder}. Donnez --mirror DOSSIER, ou --download "
                        "pour télécharger les fichiers officiels (IGN, INSEE, La Poste).")
    return read_mirror(folder) if is_mirror(folder) else read_official(folder)


def run(args) -> int:
    if args.if_needed and bundle_is_current(args.out):
        show(f"Données déjà prêtes dans {args.out}.")
        return 0
    tables = read_sources(args.mirror, args.download)
    meta = prepare_bundle(tables, Path(args.out), region=args.region, departement=args.departement)
    counts = meta["counts"]
    show(f"Données prêtes dans {args.out} : {fr_int(counts['iris'])} IRIS, {fr_int(counts['communes'])} communes, "
         f"{fr_int(counts['iris_edges'])} paires d'IRIS voisins.")
    return 0


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers, "prepare", "préparer les données (contours, populations, graphe)",
        "Construit le dossier des données préparées (contours des IRIS, populations, codes postaux, EPCI, offre de "
        "soins, graphe d'adjacence) à partir d'un miroir local des données ouvertes ou des fichiers officiels "
        "téléchargés. Les autres commandes et l'application lisent ce dossier.",
        ("python -m cpts_geo prepare --departement 66 --out data66", "python -m cpts_geo prepare --if-needed"))
    origin = parser.add_mutually_exclusive_group()
    origin.add_argument("--mirror", type=Path, metavar="DOSSIER",
                        help=f"miroir des données : dossier normalisé ou fichiers officiels tels que téléchargés "
                             f"(défaut : variable CPTS_GEO_MIRROR, sinon {DEFAULT_MIRROR})")
    origin.add_argument("--download", action="store_true",
                        help="télécharger les fichiers officiels (IGN, INSEE, La Poste) au lieu du miroir")
    area = parser.add_mutually_exclusive_group()
    area.add_argument("--region", metavar="CODES", help="code(s) de région, séparés par des virgules (ex. 76)")
    area.add_argument("--departement", metavar="CODES",
                      help="code(s) de département, séparés par des virgules (ex. 66)")
    parser.add_argument("--out", type=Path, default=DATA_DIR, metavar="DOSSIER",
                        help=f"dossier des données préparées (défaut : {DATA_DIR})")
    parser.add_argument("--if-needed", action="store_true",
                        help="ne rien faire si le dossier contient déjà des données de cette version")
    parser.set_defaults(func=run)
