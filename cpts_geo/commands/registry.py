"""``registry``: history of the stored registry — list its versions, compare two, restore one."""

from __future__ import annotations

import json

from cpts_geo.commands.arguments import add_command, add_data_option, add_store_option, argument_text, whole_number
from cpts_geo.data.bundle import Bundle
from cpts_geo.commands.output import show
from cpts_geo.region.history import history_lines, registry_diff, restore_version
from cpts_geo.storage.store import open_store

#: Largest version number read on the command line.
MAX_VERSION = 1_000_000_000


def run(args) -> int:
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
    numbers = args.versions
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
    parser = add_command(
        subparsers, "registry", "historique du registre enregistré : versions, différences, restauration",
        "Chaque enregistrement du registre (coverage --save, page « Vue ARS ») est une nouvelle version ; aucune "
        "n'est modifiée ni effacée. Aide d'une action : python -m cpts_geo registry ACTION --help.")
    actions = parser.add_subparsers(title="actions", dest="action", required=True, metavar="ACTION")
    version = whole_number("un numéro de version", 1, MAX_VERSION)
    history = add_command(actions, "history", "lister les versions du registre, la plus récente d'abord",
                          "Pour chaque version : numéro, date (heure de Paris), auteur, nombre de CPTS, fichier "
                          "source et commentaire.",
                          ("python -m cpts_geo registry history --db registre.sqlite",))
    history.add_argument("--json", action="store_true", help="sortie JSON (une liste de versions)")
    diff = add_command(actions, "diff", "comparer deux versions du registre",
                       "CPTS ajoutées, retirées et renommées, communes et IRIS passés d'une CPTS à une autre ou "
                       "entrés dans le registre ou sortis de lui, et chaque CPTS modifiée avec sa population, sa "
                       "taille et son financement ACI avant et après.",
                       ("python -m cpts_geo registry diff 1 2 --db registre.sqlite",))
    diff.add_argument("versions", nargs=2, metavar="VERSION", type=version,
                      help="numéros des deux versions comparées, la plus ancienne d'abord (voir registry history)")
    diff.add_argument("--json", action="store_true", help="sortie JSON")
    restore = add_command(actions, "restore", "enregistrer une version ancienne comme nouvelle version",
                          "Les versions suivantes restent dans l'historique.",
                          ('python -m cpts_geo registry restore 1 --db registre.sqlite --author "ARS Occitanie"',))
    restore.add_argument("versions", nargs=1, metavar="VERSION", type=version,
                         help="numéro de la version restaurée (voir registry history)")
    restore.add_argument("--author", default="", type=argument_text, metavar="NOM",
                         help="qui restaure (gardé avec la nouvelle version)")
    for action in (history, diff, restore):
        add_store_option(action)
    for action in (diff, restore):
        add_data_option(action)
    parser.set_defaults(func=run)
