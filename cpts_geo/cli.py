"""Command line: ``python -m cpts_geo <command>`` (commands in :mod:`cpts_geo.commands`)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from cpts_geo import commands
from cpts_geo.errors import CptsGeoError

#: Exit code for invalid input (unknown codes, unreadable file, empty selection).
EXIT_INVALID_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    """The parser with every sub-command of :mod:`cpts_geo.commands`."""
    parser = argparse.ArgumentParser(prog="python -m cpts_geo",
                                     description="Délimiter, vérifier et exporter le territoire d'une CPTS.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE")
    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"{commands.__name__}.{module.name}").add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; a :class:`CptsGeoError` becomes a French message on stderr and exit code 2.

    An :class:`OSError` that no reader turned into a French message (a file or folder of the
    command line that cannot be used, a full disk) is reported the same way, naming the file and
    the system's reason; any other exception is a bug and keeps its traceback.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except CptsGeoError as err:
        print(f"Erreur : {err}", file=sys.stderr)
    except OSError as err:
        where = f" : {err.filename}" if err.filename else ""
        print(f"Erreur : fichier ou dossier inutilisable{where} ({err.strerror or err}).", file=sys.stderr)
    return EXIT_INVALID_INPUT
