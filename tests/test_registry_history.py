"""History of the registry in the SQLite store: save, save, diff, restore (the PostgreSQL store runs the same
round trip in tests/test_store_postgres.py), and the ``registry`` command's French errors."""

import json
import re
import sqlite3
import threading
from pathlib import Path

import pytest

from cpts_geo.commands.main import main
from cpts_geo.formatting import fr_datetime
from cpts_geo.region.registry import RegistryImport, read_registry, save_registry
from cpts_geo.region.history import registry_diff, restore_version
from cpts_geo.storage.store import BEFORE_HISTORY, RegistryChanged, open_store
from cpts_geo.territory.model import Territory

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"


def second_version(bundle) -> dict[str, frozenset[str]]:
    """The example edited as an ARS officer would: Casefabre given to CPTS Aspres, Tresserre left to CPTS Vallespir,
    CPTS Conflent renamed, CPTS Fenouillèdes removed, Porté-Puymorens made a CPTS of its own."""
    registry = dict(read_registry(bundle, EXAMPLE).cpts)
    registry["CPTS Aspres"] = (registry["CPTS Aspres"] | {"660400000"}) - {"662140000"}
    registry["CPTS du Conflent"] = registry.pop("CPTS Conflent")
    del registry["CPTS Fenouillèdes"]
    registry["CPTS Porté"] = frozenset({"661470000"})
    return registry


def round_trip(bundle, bundle_dir, location, tmp_path, capsys):
    """Save (command line), save (a plan accepted), history, diff, restore: nothing is overwritten."""
    fenouilledes = sorted(bundle.communes_of(read_registry(bundle, EXAMPLE).cpts["CPTS Fenouillèdes"]))
    assert main(["coverage", "--registry", str(EXAMPLE), "--save", "--db", location, "--author", "a@ars.fr",
                 "--comment", "Import initial", "--departement", "66", "--out", str(tmp_path),
                 "--data", str(bundle_dir)]) == 0
    store = open_store(location)
    save_registry(bundle, store, RegistryImport("propositions acceptées", cpts=second_version(bundle)),
                  author="b@ars.fr", comment="Propositions de couverture acceptées")
    capsys.readouterr()
    assert main(["registry", "history", "--db", location, "--json"]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["author"], v["comment"], v["source"], v["cpts_count"]) for v in history] == [
        (2, "b@ars.fr", "Propositions de couverture acceptées", "propositions acceptées", 16),
        (1, "a@ars.fr", "Import initial", "registre_cpts_66_11.csv", 16)]
    assert history[0]["saved"] >= history[1]["saved"]

    assert main(["registry", "diff", "1", "2", "--db", location, "--json", "--data", str(bundle_dir)]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert (diff["old"], diff["new"]) == (1, 2)
    assert diff["added"] == ["CPTS Porté"] and diff["removed"] == ["CPTS Fenouillèdes"]
    assert diff["renamed"] == [{"from": "CPTS Conflent", "to": "CPTS du Conflent"}]
    moved = {(m["source"], m["target"]): (m["communes"], m["iris"], m["population"]) for m in diff["moved"]}
    assert moved == {("", "CPTS Aspres"): (["66040"], [], 44),
                     ("", "CPTS Porté"): (["66147"], [], 100),
                     ("CPTS Aspres / CPTS Vallespir", "CPTS Vallespir"): (["66214"], [], 1166),
                     ("CPTS Fenouillèdes", ""): (fenouilledes, [], moved[("CPTS Fenouillèdes", "")][2])}
    changed = {c["name"]: c for c in diff["changed"]}
    assert set(changed) == {"CPTS Aspres"}
    assert (changed["CPTS Aspres"]["population_before"], changed["CPTS Aspres"]["population_after"],
            changed["CPTS Aspres"]["taille_before"], changed["CPTS Aspres"]["taille_after"]) == (78_478, 77_356, 2, 2)

    assert main(["registry", "diff", "1", "2", "--db", location, "--data", str(bundle_dir)]) == 0
    text = capsys.readouterr().out
    assert "  CPTS renommée : « CPTS Conflent » → « CPTS du Conflent ».\n" in text
    assert "  Ajouté à « CPTS Porté » : Porté-Puymorens (66147) (100 habitants).\n" in text   # was a white zone
    assert "  Retiré de « CPTS Fenouillèdes » (hors CPTS désormais) : " in text
    assert "hors registre" not in text
    assert "  « CPTS Aspres » : 78\u202f478 → 77\u202f356 habitants, taille 2.\n" not in text
    assert "  « CPTS Aspres » : 78\u202f478 → 77\u202f356 habitants, taille 2 → 2.\n" in text

    assert main(["registry", "restore", "1", "--db", location, "--author", "c@ars.fr",
                 "--data", str(bundle_dir)]) == 0
    assert "Version 1 restaurée : 16 CPTS ; enregistrée comme version 3" in capsys.readouterr().out
    store = open_store(location)
    versions = store.registry_versions()
    assert [(v.number, v.author, v.comment) for v in versions] == [
        (3, "c@ars.fr", "Restauration de la version 1"),
        (2, "b@ars.fr", "Propositions de couverture acceptées"), (1, "a@ars.fr", "Import initial")]
    assert store.load_all("registry") == versions[2].cpts == versions[0].cpts == read_registry(bundle, EXAMPLE).cpts
    assert versions[1].cpts == second_version(bundle)                 # still there after the restore
    assert registry_diff(bundle, versions[2], versions[0]).lines(bundle)[1:] == ["  Aucune différence."]
    assert set(store.load_perimeters()) == set(versions[0].cpts)      # perimeters of the restored CPTS


def concurrent_saves(bundle, location):
    """Two officers load version 1; one saves (version 2), the other's save is refused in French, nothing overwritten;
    then both save at the same time from version 2: one wins, the other gets the same French error."""
    store = open_store(location)
    save_registry(bundle, store, read_registry(bundle, EXAMPLE), author="a@ars.fr", loaded_version=0)
    loaded = store.latest_registry()
    assert (loaded.number, loaded.cpts) == (1, read_registry(bundle, EXAMPLE).cpts)
    mine = RegistryImport("propositions acceptées", cpts=second_version(bundle))
    save_registry(bundle, store, mine, author="b@ars.fr", loaded_version=loaded.number)
    theirs = RegistryImport("autre poste", cpts={**loaded.cpts, "CPTS Porté": frozenset({"661470000"})})
    with pytest.raises(RegistryChanged, match="^Le registre a été modifié par quelqu'un d'autre depuis son "
                                              "chargement ; rechargez-le .*version 2 .* par b@ars.fr, après la "
                                              "version 1 que vous aviez chargée.*Rien n'a été enregistré"):
        save_registry(bundle, store, theirs, author="c@ars.fr", loaded_version=loaded.number)
    with pytest.raises(RegistryChanged):
        restore_version(bundle, store, 1, author="c@ars.fr", loaded_version=loaded.number)
    assert [v.number for v in store.registry_versions()] == [2, 1] and store.load_all("registry") == mine.cpts

    barrier, outcomes = threading.Barrier(2), []

    def save(author, registry):
        barrier.wait()
        try:
            save_registry(bundle, open_store(location), RegistryImport(author, cpts=registry), author=author,
                          loaded_version=2)
            outcomes.append(("saved", author))
        except RegistryChanged as err:
            outcomes.append(("refused", str(err)))

    threads = [threading.Thread(target=save, args=("d@ars.fr", loaded.cpts)),
               threading.Thread(target=save, args=("e@ars.fr", theirs.cpts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(kind for kind, _ in outcomes) == ["refused", "saved"]
    winner = next(author for kind, author in outcomes if kind == "saved")
    assert "version 3 enregistrée le " in next(text for kind, text in outcomes if kind == "refused")
    versions = open_store(location).registry_versions()
    assert [(v.number, v.author) for v in versions] == [(3, winner), (2, "b@ars.fr"), (1, "a@ars.fr")]
    assert open_store(location).load_all("registry") == (loaded.cpts if winner == "d@ars.fr" else theirs.cpts)


def test_concurrent_saves_sqlite(france, tmp_path):
    concurrent_saves(france, str(tmp_path / "store.sqlite"))


def test_round_trip_sqlite(france, france_dir, tmp_path, capsys):
    round_trip(france, france_dir, str(tmp_path / "store.sqlite"), tmp_path, capsys)


def test_history_text_and_deleted_cpts(tmp_path, capsys):
    location = str(tmp_path / "store.sqlite")
    store = open_store(location)
    store.save_many([Territory(frozenset({"66028"}), "A"), Territory(frozenset({"66186"}), "B")],
                    attributes={"source": "liste.csv"}, replace_kind=True, author="a@ars.fr")
    store.delete("B", kind="registry", author="a@ars.fr")
    assert main(["registry", "history", "--db", location]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Historique du registre de {location} :"
    assert lines[1] == (f"Version 2 — {fr_datetime(store.registry_version(2).saved)} — a@ars.fr — 1 CPTS — source : "
                        "non indiquée — « « B » supprimée du registre »")
    assert re.fullmatch(r"Version 2 — \d{1,2}(er)? [a-zéû]+ 20\d\d, \d\d:\d\d — .*", lines[1])   # not ISO UTC
    assert lines[2].endswith(" — a@ars.fr — 2 CPTS — source : liste.csv")
    assert store.registry_version(1).cpts == {"A": {"66028"}, "B": {"66186"}}


@pytest.mark.parametrize("args, message", [
    (["registry", "diff", "1"], "argument\\(s\\) obligatoire\\(s\\) manquant\\(s\\) : VERSION\n"
                                "utilisation : python -m cpts_geo registry diff "),
    (["registry", "restore", "x"], "argument VERSION : « x » n'est pas un numéro de version valide"),
    (["registry", "restore", "-1"], "argument VERSION : « -1 » n'est pas un numéro de version valide"),
    (["registry", "undo"], "argument ACTION : choix invalide : 'undo' \\(choix possibles : 'history', 'diff', "
                           "'restore'\\)"),
    (["registry", "diff", "1", "9"], "Aucune version 9 du registre dans .* \\(versions 1 à 1\\)"),
    (["registry", "restore", "2"], "Aucune version 2 du registre"),
])
def test_bad_input_is_a_french_error(tmp_path, capsys, args, message):
    location = str(tmp_path / "store.sqlite")
    open_store(location).save_many([Territory(frozenset({"66028"}), "A")], replace_kind=True)
    before = open_store(location).registry_versions()
    assert main(args + ["--db", location]) == 2
    error = capsys.readouterr().err
    assert error.startswith("Erreur : ") and re.search(message, error) and "Traceback" not in error
    assert open_store(location).registry_versions() == before


def test_empty_history(tmp_path, capsys):
    open_store(tmp_path / "store.sqlite")
    assert main(["registry", "history", "--db", str(tmp_path / "store.sqlite")]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "Aucune version du registre enregistrée."
    assert main(["registry", "diff", "1", "2", "--db", str(tmp_path / "store.sqlite")]) == 2
    assert "aucune version enregistrée" in capsys.readouterr().err


def test_store_of_an_earlier_version_gets_its_registry_as_version_1(tmp_path):
    path = tmp_path / "ancien.sqlite"
    with sqlite3.connect(path) as db:      # a store from before the registry history
        db.execute("CREATE TABLE territories (kind TEXT NOT NULL, owner TEXT NOT NULL DEFAULT '', name TEXT NOT NULL, "
                   "iris TEXT NOT NULL, attributes TEXT NOT NULL DEFAULT '{}', updated TEXT NOT NULL, perimeter BLOB, "
                   "shared_with TEXT NOT NULL DEFAULT '[]', PRIMARY KEY (kind, owner, name))")
        db.execute("INSERT INTO territories (kind, name, iris, attributes, updated) VALUES "
                   "('registry', 'CPTS R', '[\"66186\"]', '{\"source\": \"ancien.csv\"}', '2026-01-01T00:00:00+00:00'), "
                   "('draft', 'Brouillon', '[\"66028\"]', '{}', '2026-01-02T00:00:00+00:00')")
    versions = open_store(path).registry_versions()
    assert [(v.number, v.saved, v.author, v.comment, v.source, v.cpts) for v in versions] == [
        (1, "2026-01-01T00:00:00+00:00", "", BEFORE_HISTORY, "ancien.csv", {"CPTS R": {"66186"}})]
    assert open_store(path).registry_versions() == versions          # opening again adds nothing
