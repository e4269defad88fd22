"""Command line: ``python -m cpts_geo <command>`` (commands in :mod:`cpts_geo.commands`)."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys

from cpts_geo import commands
from cpts_geo.commands.arguments import FrenchArgumentParser
from cpts_geo.errors import CptsGeoError
from cpts_geo.commands.output import show

#: Exit code for invalid input (unknown codes, unreadable file, empty selection).
EXIT_INVALID_INPUT = 2
#: Modules of :mod:`cpts_geo.commands` that are the command line itself, not sub-commands.
CLI_MODULES = ("arguments", "main", "output")
#: What the general help says first.
DESCRIPTION = """Délimiter, vérifier et exporter le territoire d'une CPTS ; couverture d'une région
par les CPTS (vue ARS). Aide d'une commande : python -m cpts_geo COMMANDE --help
(documentation : docs/cli.md)."""
#: The environment variables the commands read, shown at the end of the general help.
ENVIRONMENT = """variables d'environnement :
  CPTS_GEO_DATA       dossier des données préparées (défaut : data/ du projet ;
                      option --data)
  CPTS_GEO_STORE      base des brouillons et du registre : fichier SQLite ou
                      URL postgresql://… (défaut : ~/.local/share/cpts-geo/
                      territoires.sqlite ; option --db)
  CPTS_GEO_MIRROR     miroir des données ouvertes lu par prepare (défaut :
                      ../shared/data ; option --mirror)
  CPTS_GEO_DOWNLOADS  dossier des téléchargements de prepare --download
                      (défaut : CPTS_GEO_DATA/cache/downloads)"""


def build_parser(argv: list[str] | None = None) -> FrenchArgumentParser:
    """The parser with the sub-commands of :mod:`cpts_geo.commands`: only the one named in ``argv``
    when there is one (its module alone is imported: ``prepare`` does not load matplotlib), else all."""
    parser = FrenchArgumentParser(prog="python -m cpts_geo", description=DESCRIPTION, epilog=ENVIRONMENT)
    subparsers = parser.add_subparsers(title="commandes", dest="command", required=True, metavar="COMMANDE")
    names = sorted(module.name for module in pkgutil.iter_modules(commands.__path__)
                   if module.name not in CLI_MODULES)
    named = [name for name in names if argv and argv[0] == name]
    for name in named or names:
        importlib.import_module(f"{commands.__name__}.{name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; a :class:`CptsGeoError` (a command line that cannot be read too) becomes a French message
    on stderr and exit code 2.

    Output cut short by its reader (``| head``) ends quietly with exit code 0. An :class:`OSError` that no reader
    turned into a French message (a file or folder of the command line that cannot be used, a full disk) is
    reported the same way, naming the file and the system's reason; any other exception is a bug and keeps its
    traceback.
    """
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser(argv).parse_args(argv)
        return args.func(args)
    except CptsGeoError as err:
        show(f"Erreur : {err}", error=True)
    except BrokenPipeError:     # the reader of the output stopped early (« | head »): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # no second error when Python exits
        return 0
    except OSError as err:
        where = f" : {err.filename}" if err.filename else ""
        show(f"Erreur : fichier ou dossier inutilisable{where} ({err.strerror or err}).", error=True)
    return EXIT_INVALID_INPUT
