"""The territory store on PostgreSQL/PostGIS (the ``server`` and ``pg_url`` fixtures of tests/conftest.py: skipped
without a reachable server, unless ``$CPTS_GEO_REQUIRE_PG=1`` (CI), where they fail)."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest

from cpts_geo.storage import store as store_module
from cpts_geo.commands.main import main
from cpts_geo.errors import InputError
from cpts_geo.region.registry import read_registry, save_registry
from cpts_geo.storage.store import BEFORE_HISTORY, AlreadySaved, PostgresTerritoryStore, open_store
from cpts_geo.territory.model import Territory
from tests.test_registry_history import concurrent_saves, round_trip
from tests.test_store import concurrent_draft_saves, concurrent_new_drafts

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv"
#: An app process in short: opens the store of $CPTS_GEO_STORE, reads the draft, waits for the start signal (a
#: file), saves it from the version it read; prints what it read and what happened, as JSON.
SAVING_PROCESS = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from cpts_geo.storage.store import DraftChanged, open_store
    from cpts_geo.territory.model import Territory
    author, code, signal = sys.argv[1:]
    store = open_store()
    loaded = store.stored("Projet", owner="a@ex.fr")
    print(json.dumps({"read": sorted(loaded.iris), "version": loaded.version}), flush=True)
    while not Path(signal).exists():
        time.sleep(0.01)
    try:
        number = store.save(Territory(frozenset({code}), "Projet"), owner="a@ex.fr", author=author,
                            loaded_version=loaded.version)
        print(json.dumps({"saved": number}))
    except DraftChanged as err:
        print(json.dumps({"refused": str(err)}))
""")


def test_postgis_is_installed(server):
    with psycopg.connect(server) as connection:
        version = connection.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'").fetchone()
    assert version is not None


def test_same_interface_as_sqlite(pg_url, tmp_path):
    for store in (open_store(pg_url), open_store(tmp_path / "store.sqlite")):
        store.save(Territory(frozenset({"661360101", "661360102"}), "CPTS Perpignan"), kind="draft")
        store.save(Territory(frozenset({"661360101"}), "CPTS Perpignan"), kind="draft")   # replaced
        store.save_many([Territory(frozenset({"66028"}), "A"), Territory(frozenset({"66186"}), "B")])
        assert store.load("CPTS Perpignan") == Territory(frozenset({"661360101"}), "CPTS Perpignan")
        assert [name for name, _ in store.names()] == ["CPTS Perpignan"]
        assert store.load_all("registry") == {"A": frozenset({"66028"}), "B": frozenset({"66186"})}
        store.delete("A", kind="registry")
        assert set(store.load_all("registry")) == {"B"}
        with pytest.raises(InputError, match="Aucun territoire"):
            store.load("A", kind="registry")
    assert isinstance(open_store(pg_url), PostgresTerritoryStore)
    assert "@" in open_store(pg_url).location and "options" not in open_store(pg_url).location


def test_failed_import_leaves_the_registry_intact(pg_url, monkeypatch):
    store = open_store(pg_url)
    store.save_many([Territory(frozenset({"66028"}), "A")], replace_kind=True)
    monkeypatch.setattr(store_module, "UPSERT", "INSERT INTO nowhere VALUES (?, ?, ?, ?, ?)")
    with pytest.raises(InputError, match="Erreur de la base PostgreSQL.*Rien n'a été modifié"):
        store.save_many([Territory(frozenset({"66186"}), "B")], replace_kind=True)   # DELETE ran, then failed
    assert store.load_all("registry") == {"A": frozenset({"66028"})}


def test_owners_versions_and_sharing(pg_url):
    store = open_store(pg_url)
    store.save(Territory(frozenset({"66028"}), "Projet"), owner="a@ex.fr")
    store.save(Territory(frozenset({"66186"}), "Projet"), owner="b@ex.fr")
    with pytest.raises(AlreadySaved):
        store.save(Territory(frozenset({"66189"}), "Projet"), owner="a@ex.fr", replace=False)
    store.save(Territory(frozenset({"66189"}), "Projet"), owner="a@ex.fr", author="b@ex.fr")
    assert [(v.number, v.iris, v.author) for v in store.versions("Projet", owner="a@ex.fr")] == [
        (2, {"66189"}, "b@ex.fr"), (1, {"66028"}, "a@ex.fr")]
    store.share("Projet", ["c@ex.fr"], owner="a@ex.fr")
    assert store.stored("Projet", owner="a@ex.fr").shared_with == ("c@ex.fr",)
    assert store.load_all() == {"Projet (a@ex.fr)": {"66189"}, "Projet (b@ex.fr)": {"66186"}}
    store.delete("Projet", owner="a@ex.fr")
    assert store.versions("Projet", owner="a@ex.fr") == [] and store.load("Projet", owner="b@ex.fr").iris == {"66186"}


def test_store_of_an_earlier_version_is_migrated(pg_url):
    with psycopg.connect(pg_url) as connection:
        connection.execute("CREATE TABLE territories (kind TEXT NOT NULL, name TEXT NOT NULL, iris TEXT NOT NULL, "
                           "attributes TEXT NOT NULL DEFAULT '{}', updated TEXT NOT NULL, "
                           "perimeter geometry(MultiPolygon, 4326), PRIMARY KEY (kind, name))")
        connection.execute("INSERT INTO territories (kind, name, iris, updated) VALUES "
                           "('draft', 'Ancien', '[\"660280101\"]', '2026-01-01'), "
                           "('registry', 'CPTS R', '[\"66186\"]', '2026-01-01')")
    store = open_store(pg_url)
    assert store.load("Ancien") == Territory(frozenset({"660280101"}), "Ancien")
    assert store.load_all("registry") == {"CPTS R": frozenset({"66186"})}
    store.save(Territory(frozenset({"66028"}), "Ancien"), owner="a@ex.fr")
    assert len(open_store(pg_url).entries()) == 2
    assert [(v.number, v.saved, v.comment, v.cpts) for v in open_store(pg_url).registry_versions()] == [
        (1, "2026-01-01", BEFORE_HISTORY, {"CPTS R": {"66186"}})]       # the registry saved before the history


def test_foreign_table_is_refused_and_left_alone(pg_url):
    with psycopg.connect(pg_url) as connection:
        connection.execute("CREATE TABLE territories (id INTEGER, label TEXT)")
        connection.execute("INSERT INTO territories VALUES (1, 'x')")
    with pytest.raises(InputError, match="territories.*pas celle de cpts-geo.*id, label"):
        open_store(pg_url)
    with psycopg.connect(pg_url) as connection:
        assert connection.execute("SELECT * FROM territories").fetchall() == [(1, "x")]
        assert connection.execute("SELECT to_regclass('territory_versions')").fetchone() == (None,)


def test_unreachable_database_is_a_french_error():
    with pytest.raises(InputError, match="Base PostgreSQL injoignable"):
        open_store("postgresql://nobody@127.0.0.1:1/none")


def test_coverage_command_on_a_shared_registry(pg_url, france_dir, tmp_path, capsys):
    assert main(["coverage", "--registry", str(EXAMPLE), "--save", "--db", pg_url, "--region", "76",
                 "--out", str(tmp_path), "--data", str(france_dir)]) == 0
    capsys.readouterr()
    assert main(["coverage", "--db", pg_url, "--departement", "66", "--json", "--out", str(tmp_path),
                 "--data", str(france_dir)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [w["code"] for w in payload["white_zones"]] == ["66147", "66040"]
    assert len(open_store(pg_url).load_all("registry")) == 16


def test_shared_registry_perimeters_are_postgis_geometries(pg_url, france, tmp_path):
    """What a GIS user of the ARS reads in the database: one MultiPolygon per CPTS, in EPSG:4326."""
    imported = read_registry(france, EXAMPLE)
    save_registry(france, open_store(pg_url), imported)
    with psycopg.connect(pg_url) as connection:
        kinds = connection.execute("SELECT DISTINCT GeometryType(perimeter), ST_SRID(perimeter) FROM territories "
                                   "WHERE kind = 'registry'").fetchall()
        area = connection.execute("SELECT ST_Area(perimeter::geography) / 1e6 FROM territories "
                                  "WHERE name = 'CPTS Ruscino'").fetchone()[0]
        # overlaps in the geometry, beyond the slivers of the ~14 m contours: the one of the coverage report
        overlapping = connection.execute(
            "SELECT a.name, b.name FROM territories a JOIN territories b ON a.name < b.name "
            "AND ST_Intersects(a.perimeter, b.perimeter) "
            "WHERE ST_Area(ST_Intersection(a.perimeter, b.perimeter)::geography) > 1e5").fetchall()
    assert kinds == [("MULTIPOLYGON", 4326)]
    sqlite = open_store(tmp_path / "store.sqlite")
    save_registry(france, sqlite, imported)
    # true area on the ellipsoid; EPSG:3035 is equal-area (Lambert-93 is conformal: +0.25 % here)
    expected = gpd.GeoSeries([sqlite.load_perimeters()["CPTS Ruscino"]], crs=4326).to_crs(3035).area.iloc[0] / 1e6
    assert area == pytest.approx(expected, rel=1e-4)          # 50.7 km²
    assert overlapping == [("CPTS Aspres", "CPTS Vallespir")]  # both hold Montbolo (IRIS 662140000)
    assert open_store(pg_url).load_perimeters()["CPTS Ruscino"].equals(sqlite.load_perimeters()["CPTS Ruscino"])


def test_registry_history_round_trip(pg_url, france, france_dir, tmp_path, capsys):
    """Save, save, diff, restore on the shared registry, as in SQLite (tests/test_registry_history.py)."""
    round_trip(france, france_dir, pg_url, tmp_path, capsys)
    with psycopg.connect(pg_url) as connection:
        assert connection.execute("SELECT COUNT(*) FROM registry_versions").fetchone() == (3,)


def test_concurrent_registry_saves(pg_url, france):
    """Two officers saving the shared registry from the same version: one wins, the other is told in French."""
    concurrent_saves(france, pg_url)


def test_concurrent_draft_saves(pg_url):
    """Two porteurs saving one shared draft from two store objects on the same database."""
    concurrent_draft_saves(pg_url)


def test_concurrent_new_drafts(pg_url):
    """Two tabs creating a draft of one name at once on PostgreSQL: the second is asked to confirm."""
    concurrent_new_drafts(pg_url)


def test_two_processes_save_the_same_draft(pg_url, tmp_path):
    """Two OS processes on one PostgreSQL store (as two app processes behind a proxy), both having read version 1
    of a draft saved by a third: both see it, both save at once, one is saved and the other refused in French."""
    open_store(pg_url).save(Territory(frozenset({"66028"}), "Projet"), owner="a@ex.fr")
    signal = tmp_path / "go"
    env = {**os.environ, "CPTS_GEO_STORE": pg_url, "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, "-c", SAVING_PROCESS, author, code, str(signal)], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for author, code in (("a@ex.fr", "66186"), ("b@ex.fr", "66189"))]
    assert [json.loads(process.stdout.readline()) for process in processes] == [{"read": ["66028"], "version": 1}] * 2
    signal.touch()
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        outcomes.append(json.loads(out))
    saved = [n for n, outcome in enumerate(outcomes) if "saved" in outcome]
    assert len(saved) == 1 and outcomes[saved[0]] == {"saved": 2}
    refusal = outcomes[1 - saved[0]]["refused"]
    assert refusal.startswith("Le brouillon « Projet » a été modifié par quelqu'un d'autre depuis son chargement ; "
                              "rechargez-le") and refusal.endswith("Rien n'a été enregistré.")
    winner = ("66186", "66189")[saved[0]]
    store = open_store(pg_url)
    assert store.load("Projet", owner="a@ex.fr").iris == {winner}
    assert [(v.number, v.iris) for v in store.versions("Projet", owner="a@ex.fr")] == [(2, {winner}), (1, {"66028"})]


def test_store_of_the_environment_is_postgresql(pg_url, monkeypatch, tmp_path, capsys):
    """``CPTS_GEO_STORE=postgresql://…`` (the app, the commands without --db) opens the database, not a file (it
    was read as the path ``postgresql:/…`` by the commands)."""
    monkeypatch.setenv("CPTS_GEO_STORE", pg_url)
    monkeypatch.chdir(tmp_path)
    open_store().save(Territory(frozenset({"66028"}), "Projet"))
    open_store().save_many([Territory(frozenset({"66186"}), "CPTS A")], author="a@ars.fr")
    assert isinstance(open_store(), PostgresTerritoryStore) and open_store(pg_url).load("Projet").iris == {"66028"}
    assert main(["registry", "history"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Historique du registre de {open_store(pg_url).location} :" and "— a@ars.fr — 1 CPTS" in out[1]
    assert list(tmp_path.iterdir()) == []


def test_two_app_sessions_on_postgresql(pg_url, dep66_dir, monkeypatch):
    """The drawing page on a PostgreSQL store: what one session saves, another lists and opens; the second to save
    the draft both opened is refused in French (the page's message), the first one's kept."""
    from streamlit.testing.v1 import AppTest

    from tests.test_app import APP, RUSCINO_URL, click, plain

    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", pg_url)
    first, second = AppTest.from_file(APP, default_timeout=120), AppTest.from_file(APP, default_timeout=120)
    first.query_params["zones"] = RUSCINO_URL
    first.run()
    first.text_input(key="session_name").input("CPTS Ruscino").run()
    click(first, "Enregistrer le brouillon")
    second.run()
    assert second.selectbox(key="draft_choice").options == ["CPTS Ruscino"]
    click(second, "Rouvrir")
    assert len(second.session_state["session"].selection) == 16
    first.session_state["session"].remove_commune("66186")
    click(first, "Enregistrer le brouillon")                     # version 2
    second.session_state["session"].remove_commune("66189")
    click(second, "Enregistrer le brouillon")
    assert not second.exception and plain(second.error[0].value).startswith(
        "Le brouillon « CPTS Ruscino » a été modifié par quelqu'un d'autre depuis son chargement ; rechargez-le")
    assert {c[:5] for c in open_store(pg_url).load("CPTS Ruscino").iris} == {"66028", "66136", "66189"}
    assert [v.number for v in open_store(pg_url).versions("CPTS Ruscino")] == [2, 1]


def test_connections_lost_are_replaced(pg_url):
    """The server restarted (or an administrator ended the app's sessions): the process's next query gets a new
    connection, no error."""
    store = open_store(pg_url)
    store.save(Territory(frozenset({"66028"}), "Projet"))
    with psycopg.connect(pg_url, autocommit=True) as connection:
        ended = connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
                                   "'cpts-geo' AND datname = current_database() AND pid <> pg_backend_pid()").fetchall()
    assert ended and all(done for (done,) in ended)
    assert store.load("Projet").iris == {"66028"}
    store.save(Territory(frozenset({"66186"}), "Projet"))
    assert [v.number for v in open_store(pg_url).versions("Projet")] == [2, 1]


def test_server_lost_while_the_page_is_open(pg_url, dep66_dir, monkeypatch):
    """The database stops answering between two clicks: the page says so in French (no traceback, no server
    address), keeps the selection, and works again once the server is back."""
    from psycopg_pool import ConnectionPool
    from streamlit.testing.v1 import AppTest

    from cpts_geo.web.app_cache import STORE_UNAVAILABLE
    from tests.test_app import APP, RUSCINO_URL, plain

    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", pg_url)
    page = AppTest.from_file(APP, default_timeout=120)
    page.query_params["zones"] = RUSCINO_URL
    page.run()
    assert not page.error
    working = store_module._POOLS[pg_url]
    with ConnectionPool("postgresql://nobody@127.0.0.1:1/none", min_size=0, max_size=1, timeout=1,
                        open=True) as lost:
        monkeypatch.setitem(store_module._POOLS, pg_url, lost)
        page.run()
    assert not page.exception and [plain(box.value) for box in page.error] == [STORE_UNAVAILABLE]
    assert len(page.session_state["session"].selection) == 16
    monkeypatch.setitem(store_module._POOLS, pg_url, working)
    page.run()
    assert not page.exception and not page.error and len(page.session_state["session"].selection) == 16
