"""Arguments of the command line: a French :mod:`argparse` parser and the types of its arguments.

:class:`FrenchArgumentParser` writes its help and its errors in French and raises :class:`UsageError`
(exit code 2 in :func:`cpts_geo.commands.main.main`, no traceback) instead of exiting. :func:`whole_number` and
:func:`argument_text` are ``type=`` functions: every number of the command line is read by the first,
every free text (names, authors, comments) by the second.
"""

from __future__ import annotations

import argparse
import re
import textwrap
from pathlib import Path

from cpts_geo.errors import InputError
from cpts_geo.formatting import fr_int

#: argparse's error messages (Python 3.11 wording) and their French form.
ARGPARSE_MESSAGES = [(re.compile(english, re.S), french) for english, french in (
    (r"argument (.+?): (.*)", None),    # "argument NAME: message": the message is translated in turn
    (r"invalid choice: (.*) \(choose from (.*)\)", r"choix invalide : \1 (choix possibles : \2)"),
    (r"the following arguments are required: (.*)", r"argument(s) obligatoire(s) manquant(s) : \1"),
    (r"one of the arguments (.*) is required", r"l'un des arguments \1 est obligatoire"),
    (r"unrecognized arguments: (.*)", r"argument(s) non reconnu(s) : \1"),
    (r"not allowed with argument (.*)", r"ne peut pas être donné avec l'argument \1"),
    (r"expected one argument", "une valeur est attendue"),
    (r"expected at most one argument", "une valeur au plus est attendue"),
    (r"expected at least one argument", "une valeur au moins est attendue"),
    (r"expected (\d+) arguments?", r"\1 valeur(s) attendue(s)"),
    (r"ignored explicit argument (.*)", r"valeur \1 inattendue (cette option n'en prend pas)"),
    (r"ambiguous option: (.*) could match (.*)", r"option ambiguë : \1 peut désigner \2"),
    (r"unexpected option string: (.*)", r"option inattendue : \1"),
    (r"invalid (.*) value: (.*)", r"valeur invalide (\1) : \2"),
)]
#: Width of the descriptions of the help (argparse wraps the options at the terminal's width, 80 columns by default).
HELP_WIDTH = 78
#: Longest argument value repeated in a message (a value of 5 000 digits is not echoed whole).
SHOWN_VALUE = 40


class UsageError(InputError):
    """The command line cannot be read (unknown option, missing or invalid argument): the message and the usage."""


def french_argparse_message(message: str) -> str:
    """An error message of :mod:`argparse` in French (unchanged when its wording is unknown)."""
    for english, french in ARGPARSE_MESSAGES:
        found = english.fullmatch(message)
        if found and french is None:
            return f"argument {found[1]} : {french_argparse_message(found[2])}"
        if found:
            return found.expand(french)
    return message


class FrenchHelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help in French: « utilisation : » and section titles followed by « : »; descriptions and epilogs keep
    their own line breaks (examples, one per line)."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "utilisation : " if prefix is None else prefix)

    def start_section(self, heading):
        super().start_section(f"{heading} " if heading else heading)   # French puts a space before the colon


class FrenchArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` in French whose errors raise :class:`UsageError` (its sub-parsers too)."""

    def __init__(self, *args, add_help: bool = True, **kwargs):
        kwargs.setdefault("formatter_class", FrenchHelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "arguments positionnels"
        self._optionals.title = "options"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help="afficher cette aide et quitter")

    def error(self, message):
        raise UsageError(f"{french_argparse_message(message)}\n{self.format_usage().rstrip()}\n"
                         f"(aide : {self.prog} --help)")


def add_command(subparsers, name: str, summary: str, description: str = "", examples: tuple[str, ...] = ()):
    """The sub-parser of command ``name``: ``summary`` in the list of commands and, with ``description`` (wrapped
    at :data:`HELP_WIDTH`), at the top of its own help; ``examples`` (command lines) at its end."""
    paragraphs = [f"{summary[0].upper()}{summary[1:]}.", *description.split("\n\n")] if description else [summary]
    epilog = "\n".join([f"exemple{'s' if len(examples) > 1 else ''} :", *(f"  {e}" for e in examples)])
    return subparsers.add_parser(name, help=summary, epilog=epilog if examples else None,
                                 description="\n\n".join(textwrap.fill(p, HELP_WIDTH) for p in paragraphs))


def add_data_option(parser: argparse.ArgumentParser) -> None:
    """``--data``: the folder of the prepared data."""
    parser.add_argument("--data", type=Path, default=None, metavar="DOSSIER",
                        help="dossier des données préparées (défaut : variable CPTS_GEO_DATA, sinon data/ du "
                             "projet ; voir la commande prepare)")


def add_store_option(parser: argparse.ArgumentParser) -> None:
    """``--db``: the store of drafts and registry."""
    parser.add_argument("--db", metavar="BASE", help="base des territoires : fichier SQLite ou URL postgresql://… "
                                                     "(défaut : variable CPTS_GEO_STORE, comme l'application)")


def shown(value: str) -> str:
    """``value`` as repeated in a message: cut after :data:`SHOWN_VALUE` characters."""
    return value if len(value) <= SHOWN_VALUE else f"{value[:SHOWN_VALUE]}… ({fr_int(len(value))} caractères)"


def whole_number(what: str, minimum: int, maximum: int):
    """A ``type=`` reading a whole number from ``minimum`` to ``maximum``: ASCII digits only (spaces between
    thousands allowed: « 40 000 »); anything else is a French error naming ``what`` and the range."""

    def read(value: str) -> int:
        digits = re.sub(r"\s", "", value)
        significant = digits.lstrip("0") or "0"    # int() of thousands of digits is refused: length first
        if (not re.fullmatch(r"[0-9]+", digits) or len(significant) > len(str(maximum))
                or not minimum <= int(significant) <= maximum):
            raise argparse.ArgumentTypeError(
                f"« {shown(value)} » n'est pas {what} valide (nombre entier de {fr_int(minimum)} à "
                f"{fr_int(maximum)}, en chiffres 0 à 9).")
        return int(significant)

    return read


def argument_text(value: str) -> str:
    """A ``type=`` for free text (name, author, comment): bytes that are not UTF-8 and Unicode non-characters,
    which no file or database can hold, are removed."""
    return "".join(char for char in value if _is_text(char))


def _is_text(char: str) -> bool:
    code = ord(char)
    return not (0xD800 <= code <= 0xDFFF or 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE)
