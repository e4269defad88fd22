"""``registry``: history of the stored registry — list its versions, compare two, restore one."""

from __future__ import annotations

import json
from pathlib import Path

from cpts_geo.arguments import argument_text, whole_number
from cpts_geo.bundle import Bundle
from cpts_geo.errors import InputError
from cpts_geo.output import show
from cpts_geo.registry_history import history_lines, registry_diff, restore_version
from cpts_geo.store import open_store

#: Actions and the number of version numbers each takes.
ACTIONS = {"history": 0, "diff": 2, "restore": 1}
USAGE = "« registry history », « registry diff V1 V2 » ou « registry restore V »"
#: Largest version number read on the command line.
MAX_VERSION = 1_000_000_000


def check_action(action: str, numbers: list[int]) -> None:
    """A French error unless ``action`` is known and given as many version numbers as it takes."""
    if action not in ACTIONS:
        raise InputError(f"Action inconnue : « {action} » (attendu : {USAGE}).")
    if len(numbers) != ACTIONS[action]:
        raise InputError(f"« registry {action} » attend {ACTIONS[action]} numéro(s) de version, "
                         f"{len(numbers)} donné(s) (attendu : {USAGE}).")


def run(args) -> int:
    numbers = args.versions
    check_action(args.action, numbers)
    store = open_store(args.db, read_only=True)   # restore too: nothing is created before its version is found
    if args.action == "history":
        versions = store.registry_versions()
        if args.json:
            show(json.dumps([{"version": v.number, "saved": v.saved, "author": v.author, "comment": v.comment,
                              "source": v.source, "cpts_count": len(v.cpts)} for v in versions],
                            ensure_ascii=False, indent=2))
        else:
            show(f"Historique du registre de {store.location} :")
            show("\n".join(history_lines(versions)))
        return 0
    versions = [store.registry_version(n) for n in numbers]    # every number checked before the bundle is read
    bundle = Bundle.load(args.data)
    if args.action == "diff":
        diff = registry_diff(bundle, *versions)
        show(json.dumps(diff.as_dict(), ensure_ascii=False, indent=2, default=int) if args.json
             else "\n".join(diff.lines(bundle)))
        return 0
    store = open_store(args.db)
    imported = restore_version(bundle, store, numbers[0], author=args.author)
    restored = store.registry_versions()[0]
    show(f"Version {numbers[0]} restaurée : {len(imported.cpts)} CPTS ; enregistrée comme version "
         f"{restored.number} de {store.location} (les versions précédentes sont conservées).")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("registry", help="historique du registre enregistré : versions, différences, "
                                                     "restauration")
    parser.add_argument("action", help="history (versions), diff V1 V2 (différences) ou restore V (restaurer)")
    parser.add_argument("versions", nargs="*", default=[], metavar="VERSION",
                        type=whole_number("un numéro de version", 1, MAX_VERSION),
                        help="numéros de version (voir « registry history »)")
    parser.add_argument("--db", help="base des territoires : fichier SQLite ou URL postgresql://… "
                                     "(par défaut : celle de la variable CPTS_GEO_STORE, comme l'application)")
    parser.add_argument("--author", default="", type=argument_text,
                        help="restore : qui restaure (gardé avec la nouvelle version)")
    parser.add_argument("--json", action="store_true", help="sortie JSON (history, diff)")
    parser.add_argument("--data", type=Path, default=None, help="dossier du bundle préparé")
    parser.set_defaults(func=run)
