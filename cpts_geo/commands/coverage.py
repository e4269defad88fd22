"""``coverage``: coverage of a région or département by the CPTS of a registry (ARS view)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from cpts_geo.commands.arguments import add_command, add_data_option, add_store_option, argument_text, whole_number
from cpts_geo.data.bundle import Bundle
from cpts_geo.region.coverage import area_of, coverage_files, coverage_report, fr_number
from cpts_geo.exports.maps import coverage_map as coverage_print_map
from cpts_geo.exports.maps import save_figure
from cpts_geo.errors import InputError
from cpts_geo.formatting import fr_euros, fr_int
from cpts_geo.region.registry import RegistryImport, check_savable, read_registry, registry_from_store, save_registry
from cpts_geo.commands.output import show, write_files
from cpts_geo.region.planning import (KIND_LABELS, Plan, PlanSettings, before_after_lines, comparison, plan_files,
                                      propose)
from cpts_geo.data.reference import departement_label
from cpts_geo.storage.store import TerritoryStore, open_store

#: Rows of each list printed in text mode (the files have them all).
PRINTED_ROWS = 15
#: Largest population of the plan's options (more inhabitants than France has).
MAX_PLAN_POPULATION = 100_000_000
#: The plan's options (``--propose``): argument → field of :class:`PlanSettings`.
PLAN_OPTIONS = {"min_population": "floor", "target_min": "target_min", "target_max": "target_max"}


def load_registry(bundle: Bundle, args, store: TerritoryStore | None) -> RegistryImport:
    """The registry of the command: a file, the drafts of ``store``, or the registry saved in ``store``."""
    if args.registry:
        return read_registry(bundle, args.registry)
    if args.drafts:
        return registry_from_store(bundle, store, kind="draft")
    stored = store.load_all("registry")
    if not stored:
        raise InputError(f"Aucun registre enregistré dans {store.location} : importez-en un avec "
                         "« --registry FICHIER --save ».")
    return RegistryImport(f"registre enregistré dans {store.location}", cpts=stored)


def print_text(report, imported: RegistryImport, files: list[Path]) -> None:
    """The report in French: key figures, CPTS, white zones, overlaps, isolated zones."""
    show(imported.message(), error=True)
    show("\n".join(report.headline()))
    show(f"\nCPTS (population, taille, morceaux ; médecins généralistes pour 10 000 habitants, APL "
         f"{report.offer['apl_millesime'] or ''}) :")
    for row in report.cpts.itertuples():
        pieces = f", {row.pieces} morceaux" if row.pieces > 1 else ""
        inside = (f" dont {fr_int(row.population_in_area)} {report.area.inside} ({report.area.outside} : "
                  f"{', '.join(map(departement_label, row.outside_departements))})") if row.outside_departements else ""
        show(f"  {row.name} : {row.commune_count} communes, {fr_int(row.population)} habitants{inside}, "
             f"taille {row.taille}{pieces} ; médecins généralistes {fr_number(row.gp_per_10000, 1)}"
             f"{' (estimé)' if row.gp_estimated else ''}, APL {fr_number(row.apl, 2)}")
    show("\nZones blanches (communes hors CPTS, les plus peuplées d'abord) :")
    for row in report.white_zones.head(PRINTED_ROWS).itertuples():
        part = "" if row.whole else f" (en partie : {len(row.iris)} IRIS)"
        show(f"  {row.name} ({row.code}) : {fr_int(row.population)} habitants{part}, APL {fr_number(row.apl, 2)}")
    show("\nChevauchements :")
    for row in report.overlaps.head(PRINTED_ROWS).itertuples():
        show(f"  {' / '.join(row.cpts)} : communes {', '.join(row.communes)} ({fr_int(row.population)} habitants)")
    show("\nZones isolées :")
    for row in report.isolated.head(PRINTED_ROWS).itertuples():
        show(f"  communes {', '.join(row.communes)} ({fr_int(row.population)} habitants), "
             f"entourées par {', '.join(row.around)}")
    show("\nFichiers écrits : " + ", ".join(map(str, files)))
    show("Limites des données :")
    for limit in report.limits:
        show(f"  - {limit}")


def print_plan(plan: Plan, bundle: Bundle) -> None:
    """The proposals and the figures before/after them, in French."""
    show(f"\nPropositions pour une couverture complète : {len(plan.proposals)}.")
    for number, proposal in enumerate(plan.proposals, 1):
        score = f" (score {proposal.score:.2f})".replace(".", ",") if proposal.score is not None else ""
        show(f"  {number}. {KIND_LABELS[proposal.kind]} — {proposal.zone_label(bundle)} → "
             f"{proposal.destination()}{score}")
        for reason in proposal.reasons:
            show(f"       {reason}")
    show("\nAvant → après (toutes les propositions appliquées) :")
    for line in before_after_lines(plan):
        show(f"  {line}")
    changed = comparison(plan)
    changed = changed[changed["population_before"].ne(changed["population_after"]).fillna(True)]
    show("\nCPTS modifiées (population, taille, fonctionnement ACI par an) :")
    for row in changed.itertuples():
        show(f"  {row.name} : {_figure(row.population_before, fr_int)} → {_figure(row.population_after, fr_int)} "
             f"habitants, taille {_figure(row.taille_before, str)} → {_figure(row.taille_after, str)}, "
             f"{_figure(row.funding_eur_before, fr_euros)} → {_figure(row.funding_eur_after, fr_euros)}")
    if changed.empty:
        show("  aucune")


def _figure(value, show) -> str:
    return "—" if pd.isna(value) else show(value)


def plan_settings(args) -> PlanSettings:
    """The plan's settings from the options (defaults for those not given); they need ``--propose``."""
    given = {field: getattr(args, option) for option, field in PLAN_OPTIONS.items()
             if getattr(args, option) is not None}
    if (given or args.ignore_epci) and not args.propose:
        raise InputError("--min-population, --target-min, --target-max et --ignore-epci s'utilisent avec --propose.")
    return PlanSettings(**given, respect_epci=not args.ignore_epci)


def run(args) -> int:
    """Read the registry, write the report files, then (``--save``) replace the stored registry.

    Everything that can fail (reading, checking the registry to save, report, files) comes before the one
    transaction of ``--save``: a failure leaves the stored registry unchanged and writes no report.
    """
    if args.save and not args.registry:
        raise InputError("--save enregistre le registre lu avec --registry FICHIER : donnez ce fichier.")
    settings = plan_settings(args)
    bundle = Bundle.load(args.data)
    area = area_of(bundle, args.region, args.departement)
    store = open_store(args.db, read_only=not args.save) if args.save or not args.registry else None
    imported = load_registry(bundle, args, store)
    if args.save:
        check_savable(imported, args.accept_ignored,
                      how="relancez avec --accepter-lignes-ignorees pour l'enregistrer sans elles")
    plan = propose(bundle, imported.cpts, area, settings) if args.propose else None
    report = plan.before if plan else coverage_report(bundle, imported.cpts, area)
    stem = f"couverture_{area.stem}"
    contents = coverage_files(report, bundle, stem)
    if plan:
        contents.update(plan_files(plan, bundle, stem.replace("couverture", "plan_couverture", 1)))
    if args.map:
        maps = {f"{stem}_carte": lambda: coverage_print_map(bundle, imported.cpts, report)}
        if plan:
            maps[f"{stem}_carte_proposee"] = lambda: coverage_print_map(bundle, plan.registry_after, plan.after,
                                                                         proposed=plan.moved(), new_cpts=plan.new_cpts())
        for name, draw in maps.items():
            for fmt in ("pdf", "png"):
                contents[f"{name}.{fmt}"] = save_figure(draw(), fmt)
    files = write_files(args.out, contents)
    if args.save:
        save_registry(bundle, store, imported, author=args.author, comment=args.comment,
                      accept_ignored=args.accept_ignored)
    if args.json:
        payload = {**report.as_dict(), **(plan.as_dict() if plan else {}), "registry": imported.as_dict(),
                   "files": [str(f) for f in files]}
        show(json.dumps(payload, ensure_ascii=False, indent=2, default=int))
    else:
        print_text(report, imported, files)
        if plan:
            print_plan(plan, bundle)
    return 0


def add_parser(subparsers) -> None:
    parser = add_command(
        subparsers, "coverage", "couverture d'une région par les CPTS : zones blanches, chevauchements, tailles "
                                "(vue ARS)",
        "Lit un registre des CPTS (fichier, brouillons de l'application ou registre enregistré) et donne pour la "
        "région ou le département : population couverte, zones blanches, chevauchements, zones isolées, CPTS en "
        "plusieurs morceaux, et par CPTS sa population, sa taille, ses médecins généralistes et son APL. Écrit le "
        "rapport en XLSX et CSV (et la carte A4 avec --map) ; --propose ajoute un plan de couverture complète.",
        ("python -m cpts_geo coverage --registry docs/registry_example/registre_cpts_66_11.csv --region 76",
         "python -m cpts_geo coverage --registry registre.csv --region 76 --save --db postgresql://…",
         "python -m cpts_geo coverage --departement 66 --propose --map --out rapport/"))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--registry", type=Path, metavar="FICHIER",
                        help="registre des CPTS : CSV cpts;code_insee (ou code_iris), GeoJSON, GeoPackage ou "
                             "Shapefile (défaut : le registre enregistré dans la base)")
    source.add_argument("--drafts", action="store_true", help="prendre pour registre les brouillons de l'application")
    parser.add_argument("--save", action="store_true",
                        help="enregistrer le registre lu comme nouvelle version (tout ou rien ; les versions "
                             "précédentes restent dans l'historique : « registry history »)")
    parser.add_argument("--accepter-lignes-ignorees", dest="accept_ignored", action="store_true",
                        help="--save : enregistrer le registre même si des lignes du fichier ont été ignorées "
                             "(sans elles ; refusé sinon)")
    parser.add_argument("--author", default="", type=argument_text, metavar="NOM",
                        help="--save : qui enregistre (gardé avec la version du registre)")
    parser.add_argument("--comment", default="", type=argument_text, metavar="TEXTE",
                        help="--save : commentaire de la version du registre")
    parser.add_argument("--region", metavar="CODE",
                        help="code de la région (ex. 76 pour l'Occitanie ; sans --region ni --departement : "
                             "toutes les données préparées)")
    parser.add_argument("--departement", metavar="CODE",
                        help="code du département (limite le rapport à ce département)")
    add_store_option(parser)
    parser.add_argument("--out", type=Path, default=Path("."), metavar="DOSSIER",
                        help="dossier des fichiers XLSX/CSV du rapport (défaut : dossier courant)")
    parser.add_argument("--map", action="store_true", help="écrire aussi la carte A4 imprimable (PDF et PNG)")
    parser.add_argument("--propose", action="store_true",
                        help="proposer qui prend chaque zone blanche et chaque chevauchement (couverture complète), "
                             "avec la situation avant/après")
    people = whole_number("un nombre d'habitants", 1, MAX_PLAN_POPULATION)
    defaults = PlanSettings()
    parser.add_argument("--min-population", metavar="HABITANTS", type=people,
                        help="--propose : plancher ; une zone blanche plus petite va à une CPTS voisine, jamais à une "
                             f"nouvelle CPTS sauf si elle n'a aucune voisine (défaut : {fr_int(defaults.floor)})")
    parser.add_argument("--target-min", metavar="HABITANTS", type=people,
                        help="--propose : population minimale de chaque nouvelle CPTS découpée dans une grande zone "
                             f"blanche (défaut : {fr_int(defaults.target_min)})")
    parser.add_argument("--target-max", metavar="HABITANTS", type=people,
                        help="--propose : une intercommunalité ou une commune plus peuplée est découpée en plusieurs "
                             f"nouvelles CPTS (défaut : {fr_int(defaults.target_max)})")
    parser.add_argument("--ignore-epci", action="store_true",
                        help="--propose : découper les nouvelles CPTS sans suivre les intercommunalités")
    parser.add_argument("--json", action="store_true", help="sortie JSON (un objet ; clés dans docs/cli.md)")
    add_data_option(parser)
    parser.set_defaults(func=run)
