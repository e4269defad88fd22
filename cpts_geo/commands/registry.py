"""``registry``: history of the stored registry — list its versions, compare two, restore one."""

from __future__ import annotations

import json
from pathlib import Path

from cpts_geo.bundle import Bundle
from cpts_geo.errors import InputError
from cpts_geo.registry_history import history_lines, registry_diff, restore_version
from cpts_geo.store import open_store

#: Actions and the number of version numbers each takes.
ACTIONS = {"history": 0, "diff": 2, "restore": 1}
USAGE = "« registry history », « registry diff V1 V2 » ou « registry restore V »"


def version_numbers(action: str, values: list[str]) -> list[int]:
    """The version numbers of the command line, checked (a French error otherwise)."""
    if action not in ACTIONS:
        raise InputError(f"Action inconnue : « {action} » (attendu : {USAGE}).")
    if len(values) != ACTIONS[action]:
        raise InputError(f"« registry {action} » attend {ACTIONS[action]} numéro(s) de version, "
                         f"{len(values)} donné(s) (attendu : {USAGE}).")
    numbers = []
    for value in values:
        if not value.strip().isdigit():
            raise InputError(f"Numéro de version invalide : « {value} » (un nombre entier, voir « registry history »).")
        numbers.append(int(value))
    return numbers


def run(args) -> int:
    numbers = version_numbers(args.action, args.versions)
    store = open_store(args.db)
    if args.action == "history":
        versions = store.registry_versions()
        if args.json:
            print(json.dumps([{"version": v.number, "saved": v.saved, "author": v.author, "comment": v.comment,
                               "source": v.source, "cpts_count": len(v.cpts)} for v in versions],
                             ensure_ascii=False, indent=2))
        else:
            print(f"Historique du registre de {store.location} :")
            print("\n".join(history_lines(versions)))
        return 0
    versions = [store.registry_version(n) for n in numbers]    # every number checked before the bundle is read
    bundle = Bundle.load(args.data)
    if args.action == "diff":
        diff = registry_diff(bundle, *versions)
        print(json.dumps(diff.as_dict(), ensure_ascii=False, indent=2, default=int) if args.json
              else "\n".join(diff.lines(bundle)))
        return 0
    imported = restore_version(bundle, store, numbers[0], author=args.author)
    restored = store.registry_versions()[0]
    print(f"Version {numbers[0]} restaurée : {len(imported.cpts)} CPTS ; enregistrée comme version "
          f"{restored.number} de {store.location} (les versions précédentes sont conservées).")
    return 0


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("registry", help="historique du registre enregistré : versions, différences, "
                                                     "restauration")
    parser.add_argument("action", help="history (versions), diff V1 V2 (différences) ou restore V (restaurer)")
    parser.add_argument("versions", nargs="*", help="numéros de version (voir « registry history »)")
    parser.add_argument("--db", help="base des territoires : fichier SQLite ou URL postgresql://… "
                                     "(par défaut : celle de la variable CPTS_GEO_STORE, comme l'application)")
    parser.add_argument("--author", default="", help="restore : qui restaure (gardé avec la nouvelle version)")
    parser.add_argument("--json", action="store_true", help="sortie JSON (history, diff)")
    parser.add_argument("--data", type=Path, default=None, help="dossier du bundle préparé")
    parser.set_defaults(func=run)
