"""The SQLite territory store: owners, versions, migration of earlier stores, and hostile store files or URLs."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import zipfile

import pytest

from cpts_geo.storage import store as store_module
from cpts_geo.errors import InputError
from cpts_geo.storage.store import AlreadySaved, DraftChanged, open_store
from cpts_geo.territory.model import Territory
from cpts_geo.storage.users import Drafts, User

A = Territory(frozenset({"660280101", "660280102"}), "CPTS Ruscino")
B = Territory(frozenset({"66186"}), "CPTS Ruscino")


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_owners_keep_their_own_drafts_of_the_same_name(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    store.save(A, owner="a@ex.fr")
    store.save(B, owner="b@ex.fr")
    assert store.load("CPTS Ruscino", owner="a@ex.fr").iris == A.iris
    assert store.load("CPTS Ruscino", owner="b@ex.fr").iris == B.iris
    assert store.names(owner="a@ex.fr") == [("CPTS Ruscino", store.names(owner="a@ex.fr")[0][1])]
    assert store.load_all() == {"CPTS Ruscino (a@ex.fr)": A.iris, "CPTS Ruscino (b@ex.fr)": B.iris}
    with pytest.raises(InputError, match="Aucun territoire"):
        store.load("CPTS Ruscino")                       # the local user has none
    store.delete("CPTS Ruscino", owner="a@ex.fr")
    assert [(e.owner, e.name) for e in store.entries()] == [("b@ex.fr", "CPTS Ruscino")]


def test_replacing_asks_and_versions_are_kept(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    store.save(A, replace=False)
    with pytest.raises(AlreadySaved, match="déjà enregistré.*confirmez"):
        store.save(B, replace=False)
    assert store.load("CPTS Ruscino").iris == A.iris     # not replaced
    store.save(B, author="b@ex.fr")
    assert [(v.number, v.iris, v.author) for v in store.versions("CPTS Ruscino")] == [
        (2, B.iris, "b@ex.fr"), (1, A.iris, "")]
    assert store.version("CPTS Ruscino", 1).iris == A.iris
    with pytest.raises(InputError, match="Aucune version 3"):
        store.version("CPTS Ruscino", 3)
    store.save_many([A], kind="registry")
    assert store.versions("CPTS Ruscino", kind="registry") == []   # only drafts are versioned
    store.delete("CPTS Ruscino")
    assert store.versions("CPTS Ruscino") == []


def test_sharing(tmp_path):
    store = open_store(tmp_path / "s.sqlite")
    store.save(A, owner="a@ex.fr")
    store.share("CPTS Ruscino", ["c@ex.fr", "b@ex.fr"], owner="a@ex.fr")
    assert store.stored("CPTS Ruscino", owner="a@ex.fr").shared_with == ("b@ex.fr", "c@ex.fr")
    with pytest.raises(InputError, match="Aucun territoire"):
        store.share("CPTS Ruscino", ["c@ex.fr"], owner="b@ex.fr")


def old_store(path, with_perimeter: bool) -> None:
    """A store as written by an earlier version (no owner; perhaps no perimeter)."""
    with closing_connection(path) as old:
        old.execute("CREATE TABLE territories (kind TEXT NOT NULL, name TEXT NOT NULL, iris TEXT NOT NULL, "
                    "attributes TEXT NOT NULL DEFAULT '{}', updated TEXT NOT NULL, "
                    f"{'perimeter BLOB, ' if with_perimeter else ''}PRIMARY KEY (kind, name))")
        old.execute("INSERT INTO territories (kind, name, iris, attributes, updated) VALUES "
                    "('draft', 'Ancien', '[\"660280101\"]', '{}', '2026-01-01'), "
                    "('registry', 'CPTS R', '[\"66186\"]', '{}', '2026-01-01')")


class closing_connection:
    def __init__(self, path):
        self.connection = sqlite3.connect(path)

    def __enter__(self):
        return self.connection

    def __exit__(self, *exc):
        self.connection.commit()
        self.connection.close()


@pytest.mark.parametrize("with_perimeter", [False, True])
def test_store_of_an_earlier_version_is_migrated(tmp_path, with_perimeter):
    path = tmp_path / "ancien.sqlite"
    old_store(path, with_perimeter)
    store = open_store(path)
    assert store.load("Ancien") == Territory(frozenset({"660280101"}), "Ancien")   # the local user's now
    assert store.load_all("registry") == {"CPTS R": frozenset({"66186"})}
    store.save(Territory(frozenset({"66028"}), "Ancien"), owner="a@ex.fr")
    assert len(store.entries()) == 2
    assert open_store(path).load("Ancien").iris == {"660280101"}                 # opening again: no change


def test_failed_migration_changes_nothing(tmp_path, monkeypatch):
    path = tmp_path / "ancien.sqlite"
    old_store(path, with_perimeter=True)
    before = digest(path)
    monkeypatch.setattr(store_module, "VERSIONS_SCHEMA", "CREATE TABLE broken (")   # fails after the copy
    with pytest.raises(InputError, match="Rien n'a été modifié"):
        open_store(path)
    assert digest(path) == before
    monkeypatch.undo()
    assert open_store(path).load("Ancien").iris == {"660280101"}


# --- hostile store files: each gives a French message naming the file, and the file is unchanged ----------

def write_bytes(data: bytes):
    return lambda path: path.write_bytes(data)


def foreign_table(sql: str):
    def make(path):
        with closing_connection(path) as db:
            for statement in sql.split(";"):
                db.execute(statement)
    return make


def truncated_store(path):
    store = open_store(path)
    store.save(A)
    path.write_bytes(path.read_bytes()[:2000])


def damaged_pages(path):
    store = open_store(path)
    store.save_many([Territory(frozenset({f"66{i:03d}"}), f"CPTS {i}") for i in range(300)])
    data = bytearray(path.read_bytes())
    data[4096:len(data)] = b"\xff" * (len(data) - 4096)
    path.write_bytes(bytes(data))


def zip_file(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("territoires.sqlite", "x")


def bad_json(path):
    open_store(path).save(A)
    with closing_connection(path) as db:
        db.execute("UPDATE territories SET iris = '[\"660280101\", ' WHERE name = 'CPTS Ruscino'")


HOSTILE_FILES = {
    "random bytes": (write_bytes(os.urandom(4096)), "endommagé"),
    "text file": (write_bytes(b"kind;name\ndraft;x\n" * 50), "endommagé"),
    "sqlite header then garbage": (write_bytes(b"SQLite format 3\x00" + b"\x01" * 2000), "endommagé"),
    "truncated store": (truncated_store, "endommagé"),
    "damaged pages": (damaged_pages, "endommagé"),
    "zip renamed": (zip_file, "endommagé"),
    "utf-16 text": (write_bytes("territoires".encode("utf-16") * 300), "endommagé"),
    "foreign territories table": (foreign_table("CREATE TABLE territories (id INTEGER, label TEXT);"
                                                "INSERT INTO territories VALUES (1, 'x')"), "pas celle de cpts-geo"),
    "foreign table with kind only": (foreign_table("CREATE TABLE territories (kind TEXT, geom BLOB)"),
                                     "pas celle de cpts-geo"),
    "territories is a view": (foreign_table("CREATE TABLE t (a TEXT);CREATE VIEW territories AS SELECT a FROM t"),
                              "territories"),
    "territories is an index name": (foreign_table("CREATE TABLE t (a TEXT);CREATE INDEX territories ON t (a)"),
                                     "territories"),
    "foreign versions table": (foreign_table("CREATE TABLE territory_versions (x INTEGER)"), "pas celle de cpts-geo"),
    "codes not JSON": (bad_json, "illisible"),
}


@pytest.mark.parametrize("make", HOSTILE_FILES, ids=list(HOSTILE_FILES))
def test_hostile_store_file(tmp_path, make):
    path = tmp_path / "territoires.sqlite"
    build, words = HOSTILE_FILES[make]
    build(path)
    before = digest(path)
    with pytest.raises(InputError, match=words) as error:
        store = open_store(path)
        store.load_all()          # some damage shows only when reading
        store.save(B, owner="b@ex.fr")
    assert str(path) in str(error.value) or "territories" in str(error.value)
    assert digest(path) == before


@pytest.fixture
def read_only(monkeypatch):
    """Make the store file read-only; as root (who writes anyway), SQLite opens it read-only as it would."""
    def make(path):
        path.chmod(0o444)
        if os.geteuid() == 0:
            connect = sqlite3.connect
            monkeypatch.setattr(sqlite3, "connect",
                                lambda target, **kw: connect(f"file:{target}?mode=ro", uri=True, **kw))
    return make


@pytest.mark.parametrize("action", [
    lambda s: s.save(B),
    lambda s: s.save(B, owner="b@ex.fr"),
    lambda s: s.save_many([B], kind="registry", replace_kind=True),
    lambda s: s.delete("CPTS Ruscino"),
    lambda s: s.share("CPTS Ruscino", ["b@ex.fr"]),
], ids=["replace", "new owner", "registry", "delete", "share"])
def test_read_only_store_is_read_but_not_written(tmp_path, read_only, action):
    path = tmp_path / "territoires.sqlite"
    open_store(path).save(A)
    before = digest(path)
    read_only(path)
    store = open_store(path)
    assert store.load("CPTS Ruscino") == A
    with pytest.raises(InputError, match=r"lecture seule.*Rien n'a été modifié") as error:
        action(store)
    assert str(path) in str(error.value)
    assert digest(path) == before and store.load("CPTS Ruscino") == A


def test_read_only_store_of_an_earlier_version(tmp_path, read_only):
    path = tmp_path / "ancien.sqlite"
    old_store(path, with_perimeter=False)
    before = digest(path)
    read_only(path)
    with pytest.raises(InputError, match=f"{path}.*lecture seule"):
        open_store(path)
    assert digest(path) == before


def test_store_location_that_is_a_folder(tmp_path):
    (tmp_path / "territoires.sqlite").mkdir()
    with pytest.raises(InputError, match=f"{tmp_path}.*dossier"):
        open_store(tmp_path / "territoires.sqlite")
    assert not any((tmp_path / "territoires.sqlite").iterdir())


def test_store_folder_under_a_file(tmp_path):
    blocker = tmp_path / "fichier"
    blocker.write_text("pas un dossier")
    with pytest.raises(InputError, match=f"{blocker}.*CPTS_GEO_STORE"):
        open_store(blocker / "territoires.sqlite")
    assert blocker.read_text() == "pas un dossier"


@pytest.mark.parametrize("url", [
    "postgresql://h/db?nonsense=1",
    "postgresql://%zz@h/db",
    "postgresql://[::1/db",
    "postgresql://u:secret@h/db?options",
])
def test_malformed_postgresql_url(url):
    with pytest.raises(InputError, match="Adresse de base PostgreSQL invalide") as error:
        open_store(url)
    assert "secret" not in str(error.value) and "postgresql://" in str(error.value)


@pytest.mark.parametrize("url", ["mysql://u:secret@h/base", "sqlite:///var/lib/cpts/store.sqlite", "http://serveur/base",
                                 "file:///tmp/store.sqlite", "MySQL://h/base"])
def test_unknown_store_scheme_is_refused(url, tmp_path, monkeypatch):
    """Neither ignored nor taken as a file name (that would create ``sqlite:/var/…`` in the current folder)."""
    monkeypatch.chdir(tmp_path)
    for given in (url, None):
        monkeypatch.setenv("CPTS_GEO_STORE", url)
        with pytest.raises(InputError, match=r"^Base des territoires non reconnue : adresse « \w+://… » \(variable "
                                             r"CPTS_GEO_STORE ou option --db\).*postgresql://utilisateur@serveur") as error:
            open_store(given)
        assert "secret" not in str(error.value)
    assert list(tmp_path.iterdir()) == []


def test_store_named_by_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "env.sqlite"))
    open_store().save(A)
    assert open_store(tmp_path / "env.sqlite").load("CPTS Ruscino") == A
    monkeypatch.setenv("CPTS_GEO_STORE", " ")
    monkeypatch.setattr(store_module, "DEFAULT_STORE", tmp_path / "default.sqlite")
    assert open_store().location == str(tmp_path / "default.sqlite")


@pytest.mark.parametrize("url", ["postgresql://u:secret@127.0.0.1:abc/db",
                                 "postgresql://u:secret@127.0.0.1:1/db?sslmode=bogus"])
def test_unusable_postgresql_url(url):
    with pytest.raises(InputError, match="PostgreSQL") as error:
        open_store(url)
    assert "secret" not in str(error.value)


def drafts_in(location, email: str) -> Drafts:
    """The drafts of a user through a store object of its own, as in another app process."""
    return Drafts(open_store(location), User(email), lambda iris: set())


def concurrent_draft_saves(location) -> None:
    """Two people (two store objects, as two app processes) load version 1 of a shared draft: each sees the
    other's saves; the second save is refused in French, nothing overwritten; two saves at once from the same
    version: one wins; a draft deleted meanwhile is not saved again."""
    alice, bob = drafts_in(location, "a@ex.fr"), drafts_in(location, "b@ex.fr")
    assert alice.save(Territory(frozenset({"66028"}), "Projet")) == 1
    alice.share("Projet", "b@ex.fr")
    loaded_by_alice, loaded_by_bob = alice.get("Projet"), bob.get("Projet", "a@ex.fr")   # bob sees alice's save
    assert (loaded_by_alice.version, loaded_by_bob.version, loaded_by_bob.iris) == (1, 1, {"66028"})
    assert bob.save(Territory(frozenset({"66186"}), "Projet"), "a@ex.fr", replace=True, loaded_version=1) == 2
    with pytest.raises(DraftChanged, match=r"^Le brouillon « Projet » a été modifié par quelqu'un d'autre depuis son "
                                           r"chargement ; rechargez-le \(« Rouvrir »\) avant d'enregistrer \(version 2 "
                                           r"enregistrée le \d+(er)? \w+ 20\d\d, \d\d:\d\d par b@ex.fr, après la version 1 "
                                           r"que vous aviez chargée\)\. Rien n'a été enregistré\.$"):
        alice.save(Territory(frozenset({"66189"}), "Projet"), replace=True, loaded_version=1)
    assert [(v.number, v.author, v.iris) for v in alice.versions("Projet")] == [
        (2, "b@ex.fr", {"66186"}), (1, "a@ex.fr", {"66028"})]
    assert alice.get("Projet").iris == {"66186"}

    barrier, outcomes = threading.Barrier(2), []

    def save(drafts, code):
        barrier.wait()
        try:
            outcomes.append(("saved", drafts.save(Territory(frozenset({code}), "Projet"), "a@ex.fr", replace=True,
                                                  loaded_version=2), code))
        except DraftChanged as err:
            outcomes.append(("refused", str(err), code))

    threads = [threading.Thread(target=save, args=(drafts_in(location, email), code))
               for email, code in (("a@ex.fr", "66136"), ("b@ex.fr", "66172"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcome[0] for outcome in outcomes) == ["refused", "saved"]
    (_, number, winner), (_, refusal, _) = sorted(outcomes, key=lambda outcome: outcome[0] != "saved")
    assert number == 3 and "(version 3 enregistrée le " in refusal
    assert [v.number for v in bob.versions("Projet", "a@ex.fr")] == [3, 2, 1]
    assert bob.get("Projet", "a@ex.fr").iris == {winner}

    alice.delete("Projet")              # while she has it open in another tab
    with pytest.raises(DraftChanged, match=r"\(supprimé entre-temps, après la version 3 que vous aviez chargée\)"):
        drafts_in(location, "a@ex.fr").save(Territory(frozenset({"66028"}), "Projet"), replace=True, loaded_version=3)
    assert alice.store.entries() == []


def test_concurrent_draft_saves_sqlite(tmp_path):
    concurrent_draft_saves(tmp_path / "store.sqlite")


def concurrent_new_drafts(location) -> None:
    """Two tabs of one user create a draft of the same name at once: the one that writes second is asked to
    confirm (« existe déjà »), the first one's draft stays (the check was made before the other's save)."""
    first, second = drafts_in(location, "a@ex.fr"), drafts_in(location, "a@ex.fr")
    write = second.store.save_many

    def first_saves_meanwhile(*args, **kwargs):   # the first tab saves after the second has started its save
        first.save(Territory(frozenset({"66028"}), "Nouveau"))
        return write(*args, **kwargs)

    second.store.save_many = first_saves_meanwhile
    with pytest.raises(AlreadySaved, match="^Un territoire « Nouveau » est déjà enregistré : confirmez pour le "
                                           "remplacer"):
        second.save(Territory(frozenset({"66186"}), "Nouveau"))
    assert first.get("Nouveau").iris == {"66028"} and [v.number for v in first.versions("Nouveau")] == [1]
    second.store.save_many = write
    assert second.save(Territory(frozenset({"66186"}), "Nouveau"), replace=True) == 2   # once confirmed


def test_concurrent_new_drafts_sqlite(tmp_path):
    concurrent_new_drafts(tmp_path / "store.sqlite")
