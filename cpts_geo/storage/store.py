"""Store of named territories (drafts of the app, registry of the ARS).

A territory is stored as its kind (``draft`` or ``registry``), its owner, its name, its IRIS
codes, a JSON of free attributes, the e-mails it is shared with and, when given, its
perimeter (EPSG:4326; WKB in SQLite, a PostGIS ``geometry(MultiPolygon, 4326)`` in PostgreSQL,
so that QGIS or SQL can read a shared registry). A draft belongs to its owner (the e-mail of a
logged-in user, ``""`` for the single user of a laptop and for drafts saved before owners
existed); two owners may use the same name. Every save of a draft also appends a version, so
that a previous state can be restored (:meth:`TerritoryStore.versions`). Every save of the registry
appends a version of the whole registry (date, author, comment, source file, its CPTS) to
``registry_versions``, which is never changed (:meth:`TerritoryStore.registry_versions`).

The store is named by ``$CPTS_GEO_STORE`` (or the ``--db`` option of the commands): the path of a SQLite
file (default ``~/.local/share/cpts-geo/territoires.sqlite``), or a PostgreSQL database
(``postgresql://user@host/base``, psycopg 3) that several people and several app processes share —
drafts, versions, sharing, registry and its history alike. Any other ``scheme://`` is refused. Both backends
have the same interface and schema, a store of an earlier version is migrated when opened, and every write
is one transaction: an import is all-or-nothing and never half-writes. A save starting from a loaded
version (``loaded_version``) is refused if someone else saved since (:class:`ChangedSinceLoaded`). A store
that cannot be used (corrupt or read-only file, foreign table, malformed URL, unreachable server) raises
:class:`StoreUnavailable` (an :class:`~cpts_geo.errors.InputError`) naming its location and is left untouched; so does a row changed outside cpts-geo (« illisible », naming
the row). A command that only reads opens the store read-only (``open_store(..., read_only=True)``): a missing
store is refused, never created, and a database without our tables is never changed.
A PostgreSQL store keeps a pool of connections per process and database, shared by the sessions of an app process.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import psycopg.conninfo
from psycopg_pool import ConnectionPool, PoolTimeout
import shapely
from shapely.geometry.base import BaseGeometry

from cpts_geo.errors import InputError
from cpts_geo.formatting import fr_datetime
from cpts_geo.territory.model import Territory
from cpts_geo.user_text import clean_text

#: The SQLite file used when neither ``$CPTS_GEO_STORE`` nor ``--db`` names a store.
DEFAULT_STORE = (Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
                 / "cpts-geo" / "territoires.sqlite")
#: URL schemes of a PostgreSQL store; a location with any other ``scheme://`` is refused, a file is named by its path.
POSTGRES_SCHEMES = ("postgresql", "postgres")
URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
#: Connections kept open to each PostgreSQL store, per process (shared by the sessions of an app process): at most
#: ``POOL_SIZE`` at once, closed after ``POOL_IDLE_S`` unused; a connection is awaited ``CONNECT_TIMEOUT_S`` at most.
POOL_SIZE, POOL_IDLE_S, CONNECT_TIMEOUT_S = 4, 60, 10
#: Options of every connection: ``application_name`` names the app's connections in ``pg_stat_activity``.
CONNECTION_OPTIONS = {"connect_timeout": CONNECT_TIMEOUT_S, "application_name": "cpts-geo"}
_POOLS: dict[str, ConnectionPool] = {}
#: Databases whose schema this process has created or migrated (once per process).
_SCHEMA_READY: set[str] = set()
_POOLS_LOCK = threading.Lock()
#: Owner of the registry, of the drafts of the single-user mode and of drafts saved before owners existed.
NO_OWNER = ""

SCHEMA = """
CREATE TABLE IF NOT EXISTS territories (
    kind TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL,
    iris TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{{}}',
    updated TEXT NOT NULL,
    perimeter {perimeter_type},
    shared_with TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (kind, owner, name)
)
"""
VERSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS territory_versions (
    kind TEXT NOT NULL,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    iris TEXT NOT NULL,
    updated TEXT NOT NULL,
    author TEXT NOT NULL,
    PRIMARY KEY (kind, owner, name, version)
)
"""
#: Every save of the registry, whole: who, when, why, from which file, and its CPTS (JSON name → IRIS codes).
REGISTRY_VERSIONS_SCHEMA = """
CREATE TABLE IF NOT EXISTS registry_versions (
    version INTEGER NOT NULL PRIMARY KEY,
    saved TEXT NOT NULL,
    author TEXT NOT NULL,
    comment TEXT NOT NULL,
    source TEXT NOT NULL,
    cpts TEXT NOT NULL
)
"""
#: Columns our tables have (``territories``: in any version); a table of that name without them is refused, never changed.
REQUIRED_COLUMNS = {"territories": {"kind", "name", "iris", "attributes", "updated"},
                    "territory_versions": {"kind", "owner", "name", "version", "iris", "updated", "author"},
                    "registry_versions": {"version", "saved", "author", "comment", "source", "cpts"}}
UPSERT = ("INSERT INTO territories (kind, owner, name, iris, attributes, updated, perimeter) "
          "VALUES (?, ?, ?, ?, ?, ?, {perimeter_value}) ON CONFLICT (kind, owner, name) DO UPDATE SET "
          "iris = excluded.iris, attributes = excluded.attributes, updated = excluded.updated, "
          "perimeter = excluded.perimeter")
ADD_VERSION = ("INSERT INTO territory_versions (kind, owner, name, version, iris, updated, author) "
               "SELECT ?, ?, ?, COALESCE(MAX(version), 0) + 1, ?, ?, ? FROM territory_versions "
               "WHERE kind = ? AND owner = ? AND name = ?")
ADD_REGISTRY_VERSION = ("INSERT INTO registry_versions (version, saved, author, comment, source, cpts) "
                        "SELECT COALESCE(MAX(version), 0) + 1, ?, ?, ?, ?, ? FROM registry_versions")
#: Kinds whose every save is kept as a version.
VERSIONED_KINDS = ("draft",)
#: Longest comment of a registry version kept.
MAX_COMMENT_LENGTH = 1000
#: Comment of the version made, when a store is migrated, of a registry saved before the history existed.
BEFORE_HISTORY = "Registre enregistré avant l'historique des versions"


class StoreUnavailable(InputError):
    """The store cannot be used (location, file, server, tables or stored data): the message names its location,
    for the operator (the app shows users a message without it, :func:`cpts_geo.web.app_cache.shown_error`)."""


class AlreadySaved(InputError):
    """A territory of that name exists: replacing it must be asked for (``replace=True``)."""


class ChangedSinceLoaded(InputError):
    """A territory was saved by someone else since it was loaded: saving would overwrite their version."""


class RegistryChanged(ChangedSinceLoaded):
    """The registry was saved by someone else since it was loaded."""


class DraftChanged(ChangedSinceLoaded):
    """A draft was saved (or deleted) by someone else since it was loaded."""


@dataclass(frozen=True)
class StoredTerritory:
    """One saved territory with who owns it and who it is shared with."""

    kind: str
    owner: str
    name: str
    iris: frozenset[str]
    updated: str
    shared_with: tuple[str, ...] = ()
    version: int = 0     # its last version (0: never versioned), the ``loaded_version`` of a save starting from it

    @property
    def territory(self) -> Territory:
        return Territory(self.iris, self.name)


@dataclass(frozen=True)
class Version:
    """A saved state of a territory: its number (1 = first save), date, author and codes."""

    number: int
    updated: str
    author: str
    iris: frozenset[str]


@dataclass(frozen=True)
class RegistryVersion:
    """A saved state of the whole registry: number (1 = first save), date, author, comment, source file, CPTS."""

    number: int
    saved: str
    author: str
    comment: str
    source: str
    cpts: dict[str, frozenset[str]]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class TerritoryStore:
    """Named territories in a SQLite file (see module docstring)."""

    PERIMETER_TYPE = "BLOB"       # column type of the perimeter
    PERIMETER_VALUE = "?"         # SQL that turns the WKB parameter into that column
    PERIMETER_OUTPUT = "perimeter"  # SQL that reads that column back as WKB
    DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)
    TABLE_EXISTS = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?"

    def __init__(self, path: Path | str | None = None, read_only: bool = False):
        self.path, self.read_only = Path(path or DEFAULT_STORE), read_only
        if self.path.is_dir():
            raise StoreUnavailable(self._error_message(IsADirectoryError("c'est un dossier")))
        if read_only and not self.path.exists():
            raise StoreUnavailable(f"Fichier des territoires enregistrés introuvable : {self.location} (rien n'y a "
                                   "encore été enregistré ?). Rien n'a été créé.")
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise StoreUnavailable(self._error_message(err)) from err
        self._open_schema()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    @property
    def location(self) -> str:
        """Where the territories are kept (file path or database URL without password)."""
        return str(self.path)

    def _error_message(self, err: Exception) -> str:
        detail = str(err).strip() or type(err).__name__
        reasons = (("readonly", "il est en lecture seule"), ("read-only", "il est en lecture seule"),
                   ("not a database", "ce n'est pas une base de territoires (fichier endommagé ?)"),
                   ("malformed", "le fichier est endommagé"), ("locked", "il est occupé par un autre programme"))
        reason = next((text for key, text in reasons if key in detail.lower()), "il ne peut pas être lu ou écrit")
        return (f"Impossible d'utiliser le fichier des territoires enregistrés {self.location} : {reason} "
                f"({detail}). Rien n'a été modifié. Choisissez un autre emplacement (variable CPTS_GEO_STORE).")

    def _open_schema(self) -> None:
        """Read-only: check that our tables are there; else create or migrate them."""
        if self.read_only:
            self._check_schema()
        else:
            self._create_schema()

    def _check_schema(self) -> None:
        """A store opened read-only must have our tables, of this version (nothing is created or migrated)."""
        with self._transaction() as db:
            present = []
            for table in REQUIRED_COLUMNS:
                db.execute(self.TABLE_EXISTS, (table,))
                if db.fetchall()[0][0]:
                    present.append(table)
            if "territories" not in present:
                raise StoreUnavailable(f"{self.location} n'est pas un magasin cpts-geo (aucune table « territories ») "
                                       ": rien n'a été lu ni modifié. Donnez la base des territoires de cpts-geo "
                                       "(option --db).")
            columns = set().union(*(self._our_columns(db, table) for table in present))
        if len(present) < len(REQUIRED_COLUMNS) or not {"owner", "perimeter", "shared_with"} <= columns:
            raise StoreUnavailable(f"Le magasin {self.location} a été créé par une version précédente de cpts-geo : "
                                   "ouvrez-le une fois avec l'application ou « coverage --save » pour le mettre à "
                                   "jour. Rien n'a été modifié.")

    def _create_schema(self) -> None:
        """Create the tables, or check and migrate those of an earlier version (in one transaction; two processes
        starting at once on a new store: the second waits, then finds the tables)."""
        with self._transaction(lock="schema") as db:
            db.execute(SCHEMA.format(perimeter_type=self.PERIMETER_TYPE))
            db.execute(VERSIONS_SCHEMA)
            columns = self._our_columns(db, "territories")
            self._our_columns(db, "territory_versions")
            if "perimeter" not in columns:   # before perimeters were stored
                db.execute(f"ALTER TABLE territories ADD COLUMN perimeter {self.PERIMETER_TYPE}")
            if "owner" not in columns:       # before owners: every territory becomes the local user's
                db.execute("ALTER TABLE territories RENAME TO territories_before_owners")
                db.execute(SCHEMA.format(perimeter_type=self.PERIMETER_TYPE))
                db.execute("INSERT INTO territories (kind, owner, name, iris, attributes, updated, perimeter) "
                           "SELECT kind, '', name, iris, attributes, updated, perimeter "
                           "FROM territories_before_owners")
                db.execute("DROP TABLE territories_before_owners")
            db.execute(self.TABLE_EXISTS, ("registry_versions",))
            history = db.fetchall()[0][0]
            db.execute(REGISTRY_VERSIONS_SCHEMA)
            self._our_columns(db, "registry_versions")
            if not history:     # before the registry history: a registry saved then is version 1
                db.execute("SELECT name, attributes, updated FROM territories WHERE kind = 'registry' AND owner = '' "
                           "ORDER BY updated DESC LIMIT 1")
                for name, attributes, updated in db.fetchall():
                    attributes = self._stored_json(attributes or "{}", lambda value: isinstance(value, dict),
                                                   "un objet JSON", f"Le territoire « {name} »")
                    self._add_registry_version(db, updated, "", BEFORE_HISTORY, str(attributes.get("source", "")))

    def _our_columns(self, db, table: str) -> set[str]:
        """The columns of one of our tables; a table of that name made by another program is refused."""
        db.execute(f"SELECT * FROM {table} WHERE 1 = 0")
        columns = {column[0] for column in db.description}
        if not REQUIRED_COLUMNS[table] <= columns:
            raise StoreUnavailable(
                f"La base {self.location} contient déjà une table « {table} » qui n'est pas celle de cpts-geo "
                f"(colonnes : {', '.join(sorted(columns))}) : rien n'a été modifié. "
                "Choisissez un autre emplacement (variable CPTS_GEO_STORE ou option --db).")
        return columns

    def _connect(self, lock: str | None = None):
        """A connection whose context commits on success and rolls back on error (see :meth:`_transaction`);
        ``lock``: the transaction takes the write lock of the file at once (``BEGIN IMMEDIATE``)."""
        return _SqliteConnection(self.path, lock is not None, self.read_only)

    @contextmanager
    def _transaction(self, lock: str | None = None):
        """A cursor inside one transaction: committed on success, rolled back on any error.

        ``lock``: what no other writer may change until this transaction ends, in any process using the store: a
        history table (``registry_versions``, ``territory_versions``: a second writer waits, then sees the first
        one's version) or ``schema``; readers are not blocked. A database error (corrupt or read-only file, SQL
        refused by the server…) becomes a :class:`StoreUnavailable` naming the store.
        """
        try:
            with self._connect(lock) as cursor:
                yield cursor
        except self.DATABASE_ERRORS as err:
            raise StoreUnavailable(self._error_message(err)) from err

    def _query(self, sql: str, parameters=()) -> list[tuple]:
        with self._transaction() as db:
            db.execute(sql, parameters)
            return db.fetchall()

    # --- writing --------------------------------------------------------------------------
    def save(self, territory: Territory, kind: str = "draft", attributes: dict | None = None,
             owner: str = NO_OWNER, author: str | None = None, replace: bool = True,
             loaded_version: int | None = None) -> int:
        """Save one territory under its name; an existing one is replaced only when ``replace``
        (else :class:`AlreadySaved`, checked in the saving transaction: of two tabs creating one name at once, the
        second is asked too). ``author``: who saves it, kept with the version (default: the owner).
        ``loaded_version``: the version of a draft the saver started from; if another was saved (or the draft
        deleted) since, :class:`DraftChanged` and nothing is saved. Returns the number of the version saved."""
        return self.save_many([territory], kind, attributes, owner=owner, author=author, loaded_version=loaded_version,
                              new=not replace)

    def save_many(self, territories, kind: str = "registry", attributes: dict | None = None,
                  replace_kind: bool = False, perimeters: Mapping[str, BaseGeometry] | None = None,
                  owner: str = NO_OWNER, author: str | None = None, comment: str = "",
                  loaded_version: int | None = None, new: bool = False) -> int:
        """Save several territories in one transaction; ``replace_kind`` first removes the others of that kind
        (of that owner). Returns the number of the version saved (of the last territory, or of the registry;
        0 for a kind without versions).

        ``perimeters``: name → polygonal geometry in EPSG:4326, stored beside the codes (optional). A save of
        the registry adds, in the same transaction, a version of the whole registry (:meth:`registry_versions`)
        with ``author``, ``comment`` and the ``source`` of ``attributes``. ``loaded_version``: the registry
        version the saver started from (0: none); if another was saved since, :class:`RegistryChanged` and
        nothing is saved (two savers at once: the second waits for the first, then gets that error); for a draft
        (one territory), :class:`DraftChanged`. ``new``: none of them may exist yet (else :class:`AlreadySaved`).
        Names, author, comment and text attributes (the source) are stored as :func:`~cpts_geo.user_text.clean_text`
        makes them (no control character, terminal escape or bidi override).
        """
        territories = list(territories)
        attributes = {key: clean_text(value) if isinstance(value, str) else value
                      for key, value in (attributes or {}).items()}
        for territory in territories:
            if not clean_text(territory.name):
                raise InputError("Donnez un nom au territoire avant de l'enregistrer.")
        now = _now()
        shapes = perimeters or {}
        rows = [(kind, owner, clean_text(t.name), json.dumps(sorted(t.iris)),
                 json.dumps(attributes, ensure_ascii=False), now,
                 shapely.to_wkb(shapes[t.name]) if t.name in shapes else None) for t in territories]
        saver = clean_text(owner if author is None else author)
        versions = [(kind, owner, row[2], row[3], now, saver, kind, owner, row[2])
                    for row in rows] if kind in VERSIONED_KINDS else []
        registry = kind == "registry" and owner == NO_OWNER
        with self._transaction(lock=_history_table(kind, owner)) as db:
            if registry and loaded_version is not None:
                self._check_registry_version(db, loaded_version)
            if versions and loaded_version is not None:
                (name,) = [row[2] for row in rows]
                self._check_version(db, kind, owner, name, loaded_version)
            if new:
                self._check_new(db, kind, owner, [row[2] for row in rows])
            if replace_kind:
                db.execute("DELETE FROM territories WHERE kind = ? AND owner = ?", (kind, owner))
            db.executemany(UPSERT.format(perimeter_value=self.PERIMETER_VALUE), rows)
            for version in versions:
                db.execute(ADD_VERSION, version)
            if registry:
                return self._add_registry_version(db, now, clean_text(author or ""), clean_text(comment, MAX_COMMENT_LENGTH),
                                                  str(attributes.get("source", "")))
            if versions:
                db.execute("SELECT MAX(version) FROM territory_versions WHERE kind = ? AND owner = ? AND name = ?",
                           (kind, owner, rows[-1][2]))
                return db.fetchall()[0][0]
        return 0

    def _check_registry_version(self, db, loaded: int) -> None:
        """Raise :class:`RegistryChanged` if the last registry version is not ``loaded`` (in the saving transaction)."""
        db.execute("SELECT version, saved, author FROM registry_versions ORDER BY version DESC LIMIT 1")
        last = next(iter(db.fetchall()), (0, "", ""))
        if last[0] != loaded:
            raise RegistryChanged(_changed_message("Le registre", "rechargez-le", loaded, *last))

    def _check_version(self, db, kind: str, owner: str, name: str, loaded: int) -> None:
        """Raise :class:`DraftChanged` if the last version of a territory is not ``loaded`` (in the saving
        transaction)."""
        db.execute("SELECT version, updated, author FROM territory_versions WHERE kind = ? AND owner = ? AND name = ? "
                   "ORDER BY version DESC LIMIT 1", (kind, owner, name))
        last = next(iter(db.fetchall()), (0, "", ""))
        if last[0] != loaded:
            raise DraftChanged(_changed_message(f"Le brouillon « {name} »", "rechargez-le (« Rouvrir »)", loaded,
                                                *last))

    def _check_new(self, db, kind: str, owner: str, names: list[str]) -> None:
        """Raise :class:`AlreadySaved` if a territory of one of these names exists (in the saving transaction)."""
        for name in names:
            db.execute("SELECT 1 FROM territories WHERE kind = ? AND owner = ? AND name = ?", (kind, owner, name))
            if db.fetchall():
                raise AlreadySaved(f"Un territoire « {name} » est déjà enregistré : confirmez pour le remplacer (sa "
                                   "version actuelle restera dans l'historique).")

    def _add_registry_version(self, db, saved: str, author: str, comment: str, source: str) -> int:
        """Append the registry as it is in this transaction to its history; returns the version's number."""
        db.execute("SELECT name, iris FROM territories WHERE kind = 'registry' AND owner = '' ORDER BY name")
        cpts = {name: self._json_list(iris, name) for name, iris in db.fetchall()}
        db.execute(ADD_REGISTRY_VERSION, (saved, author, comment, source, json.dumps(cpts, ensure_ascii=False)))
        db.execute("SELECT MAX(version) FROM registry_versions")
        return db.fetchall()[0][0]

    def share(self, name: str, emails, kind: str = "draft", owner: str = NO_OWNER) -> None:
        """Set the e-mails a territory is shared with (replacing the previous list)."""
        self.stored(name, kind, owner)   # exists, or a French error
        with self._transaction() as db:
            db.execute("UPDATE territories SET shared_with = ? WHERE kind = ? AND owner = ? AND name = ?",
                       (json.dumps(sorted(set(emails))), kind, owner, name))

    def delete(self, name: str, kind: str = "draft", owner: str = NO_OWNER, author: str = "") -> None:
        """Remove one territory and its versions (a CPTS removed from the registry makes a registry version)."""
        with self._transaction(lock=_history_table(kind, owner)) as db:
            for table in ("territories", "territory_versions"):
                db.execute(f"DELETE FROM {table} WHERE kind = ? AND owner = ? AND name = ?", (kind, owner, name))
            if kind == "registry" and owner == NO_OWNER:
                self._add_registry_version(db, _now(), author, f"« {name} » supprimée du registre", "")

    # --- reading --------------------------------------------------------------------------
    def exists(self, name: str, kind: str = "draft", owner: str = NO_OWNER) -> bool:
        return bool(self._query("SELECT 1 FROM territories WHERE kind = ? AND owner = ? AND name = ?",
                                (kind, owner, name)))

    def load(self, name: str, kind: str = "draft", owner: str = NO_OWNER) -> Territory:
        """The territory saved under ``name``."""
        return self.stored(name, kind, owner).territory

    def stored(self, name: str, kind: str = "draft", owner: str = NO_OWNER) -> StoredTerritory:
        """The territory saved under ``name`` with its owner and sharing."""
        found = self.entries(kind, owners=[owner], name=name)
        if not found:
            raise InputError(f"Aucun territoire enregistré sous le nom « {name} ».")
        return found[0]

    def entries(self, kind: str = "draft", owners=None, name: str | None = None) -> list[StoredTerritory]:
        """The saved territories of a kind (of some owners, or all), most recent first."""
        sql = ("SELECT kind, owner, name, iris, updated, shared_with, (SELECT COALESCE(MAX(version), 0) "
               "FROM territory_versions v WHERE v.kind = t.kind AND v.owner = t.owner AND v.name = t.name) "
               "FROM territories t WHERE kind = ?")
        parameters: list = [kind]
        if owners is not None:
            owners = list(owners)
            sql += f" AND owner IN ({', '.join('?' * len(owners))})" if owners else " AND 1 = 0"
            parameters += owners
        if name is not None:
            sql += " AND name = ?"
            parameters.append(name)
        rows = self._query(sql + " ORDER BY updated DESC, name, owner", parameters)
        return [StoredTerritory(kind, owner, name, frozenset(self._json_list(iris, name)), updated,
                                tuple(self._json_list(shared, name)), version)
                for kind, owner, name, iris, updated, shared, version in rows]

    def _json_list(self, text: str, name: str) -> list[str]:
        """A JSON list of texts of a stored territory (codes, e-mails)."""
        return self._stored_json(text, _is_text_list, "une liste de textes", f"Le territoire « {name} »")

    def names(self, kind: str = "draft", owner: str = NO_OWNER) -> list[tuple[str, str]]:
        """``(name, updated)`` of the saved territories of a kind and owner, most recent first."""
        return [(entry.name, entry.updated) for entry in self.entries(kind, owners=[owner])]

    def load_all(self, kind: str = "draft") -> dict[str, frozenset[str]]:
        """Every territory of a kind, name → IRIS codes (a name used by several owners: ``name (owner)``)."""
        return labelled(self.entries(kind))

    def load_perimeters(self, kind: str = "registry") -> dict[str, BaseGeometry]:
        """The stored perimeters of a kind (EPSG:4326), name → geometry; territories without one are left out."""
        rows = self._query(f"SELECT name, {self.PERIMETER_OUTPUT} FROM territories "
                           "WHERE kind = ? AND perimeter IS NOT NULL ORDER BY name", (kind,))
        return {name: shapely.from_wkb(bytes(wkb)) for name, wkb in rows}

    def versions(self, name: str, kind: str = "draft", owner: str = NO_OWNER) -> list[Version]:
        """The saved versions of a territory, most recent first."""
        rows = self._query("SELECT version, updated, author, iris FROM territory_versions "
                           "WHERE kind = ? AND owner = ? AND name = ? ORDER BY version DESC", (kind, owner, name))
        return [Version(number, updated, author, frozenset(self._json_list(iris, name))) for number, updated, author, iris in rows]

    def version(self, name: str, number: int, kind: str = "draft", owner: str = NO_OWNER) -> Version:
        """One saved version of a territory."""
        found = [v for v in self.versions(name, kind, owner) if v.number == number]
        if not found:
            raise InputError(f"Aucune version {number} du territoire « {name} ».")
        return found[0]


    def registry_versions(self) -> list[RegistryVersion]:
        """Every saved version of the registry, most recent first."""
        rows = self._query("SELECT version, saved, author, comment, source, cpts FROM registry_versions "
                           "ORDER BY version DESC")
        return [self._registry_version(row) for row in rows]

    def latest_registry(self) -> RegistryVersion | None:
        """The last saved version of the registry (the registry as it is now), or None before any save."""
        rows = self._query("SELECT version, saved, author, comment, source, cpts FROM registry_versions "
                           "ORDER BY version DESC LIMIT 1")
        return next((self._registry_version(row) for row in rows), None)

    def registry_version(self, number: int) -> RegistryVersion:
        """One saved version of the registry, with its CPTS."""
        rows = self._query("SELECT version, saved, author, comment, source, cpts FROM registry_versions "
                           "WHERE version = ?", (number,))
        if not rows:
            known = self._query("SELECT MIN(version), MAX(version) FROM registry_versions")[0]
            listed = f"versions {known[0]} à {known[1]}" if known[0] is not None else "aucune version enregistrée"
            raise InputError(f"Aucune version {number} du registre dans {self.location} ({listed}).")
        return self._registry_version(rows[0])

    def _registry_version(self, row: tuple) -> RegistryVersion:
        """A row of ``registry_versions`` (texts changed by hand into numbers are read as text)."""
        number, saved, author, comment, source, cpts = row
        return RegistryVersion(number, str(saved), str(author), str(comment), str(source),
                               self._registry_cpts(cpts, number))

    def _registry_cpts(self, text: str, number: int) -> dict[str, frozenset[str]]:
        cpts = self._stored_json(text, _is_registry, "un objet nom de CPTS → liste de codes",
                                 f"La version {number} du registre")
        return {name: frozenset(codes) for name, codes in cpts.items()}

    def _stored_json(self, text, valid, expected: str, row: str):
        """The JSON value of a stored row; ``valid(value)`` false, or no JSON, is a French error naming ``row``."""
        try:
            value = json.loads(text)
        except (TypeError, ValueError) as err:
            detail = f"JSON illisible : {err}"
        else:
            if valid(value):
                return value
            detail = f"attendu : {expected} ; lu : {_shown_json(value)}"
        raise StoreUnavailable(f"{row} de {self.location} est illisible (changé hors de cpts-geo ? {detail}). "
                           "Rien n'a été modifié.")


def _is_text_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_registry(value) -> bool:
    return isinstance(value, dict) and all(map(_is_text_list, value.values()))


def _shown_json(value, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else f"{text[:width]}…"


def _history_table(kind: str, owner: str) -> str | None:
    """The history table a save or deletion of that kind adds to (locked during it), if any."""
    if kind == "registry" and owner == NO_OWNER:
        return "registry_versions"
    return "territory_versions" if kind in VERSIONED_KINDS else None


def _changed_message(what: str, reload: str, loaded: int, number: int, saved: str, author: str) -> str:
    """The French refusal of a save starting from version ``loaded`` when the last one is ``number``."""
    since = (f"version {number} enregistrée le {fr_datetime(saved)} par {author or 'un auteur non indiqué'}"
             if number else "supprimé entre-temps")
    return (f"{what} a été modifié par quelqu'un d'autre depuis son chargement ; {reload} avant d'enregistrer "
            f"({since}, après la version {loaded} que vous aviez chargée). Rien n'a été enregistré.")


def labelled(entries) -> dict[str, frozenset[str]]:
    """Territories by name; a name used by several owners is told apart as ``name (owner)``."""
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.name] = counts.get(entry.name, 0) + 1
    return {(entry.name if counts[entry.name] == 1 else f"{entry.name} ({entry.owner or 'local'})"): entry.iris
            for entry in sorted(entries, key=lambda e: (e.name, e.owner))}


class _SqliteConnection:
    """A SQLite connection in one explicit transaction (DDL included, so that a migration is all-or-nothing)."""

    def __init__(self, path: Path, write_lock: bool = False, read_only: bool = False):
        self.path, self.write_lock, self.read_only = path, write_lock, read_only

    def __enter__(self):
        if self.read_only:    # a URI so that SQLite neither creates the file nor writes to it
            self.connection = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=10,
                                              isolation_level=None)
        else:
            self.connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        self.connection.execute("BEGIN IMMEDIATE" if self.write_lock else "BEGIN")
        return self.connection.cursor()

    def __exit__(self, kind, error, traceback):
        with closing(self.connection):
            self.connection.execute("COMMIT" if kind is None else "ROLLBACK")
        return False


class PostgresTerritoryStore(TerritoryStore):
    """The same store in a PostgreSQL/PostGIS database, shared by several people (psycopg 3)."""

    PERIMETER_TYPE = "geometry(MultiPolygon, 4326)"
    PERIMETER_VALUE = "ST_Multi(ST_GeomFromWKB(?, 4326))"
    PERIMETER_OUTPUT = "ST_AsBinary(perimeter)"
    DATABASE_ERRORS = (psycopg.Error,)
    TABLE_EXISTS = "SELECT COUNT(*) FROM (SELECT to_regclass(?::text) AS found) AS t WHERE found IS NOT NULL"

    def __init__(self, url: str, read_only: bool = False):
        self.url, self.read_only = url, read_only
        try:
            self._conninfo = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error as err:
            raise StoreUnavailable(f"Adresse de base PostgreSQL invalide ({self.location}) : {str(err).strip()}. "
                                   "Forme attendue : postgresql://utilisateur@serveur:5432/base") from err
        with _POOLS_LOCK:
            if url not in _POOLS:   # the first store of this database in the process: its own connections
                _POOLS[url] = ConnectionPool(url, min_size=0, max_size=POOL_SIZE, max_idle=POOL_IDLE_S,
                                             timeout=CONNECT_TIMEOUT_S, kwargs=CONNECTION_OPTIONS,
                                             check=ConnectionPool.check_connection, open=True)
            if read_only or url not in _SCHEMA_READY:   # checked, or created/migrated once per process
                self._open_schema()
                if not read_only:
                    _SCHEMA_READY.add(url)
                return
        self._query("SELECT 1")     # the server still answers (a page opening the store says so at once)

    def _create_schema(self) -> None:
        with self._transaction() as db:
            db.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            missing = not db.fetchall()
        if missing:
            try:
                with self._transaction(lock="schema") as db:
                    db.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            except InputError as err:
                raise StoreUnavailable(f"PostGIS n'est pas disponible dans la base {self.location} : un "
                                       "administrateur doit l'installer (CREATE EXTENSION postgis). Détail : "
                                       f"{str(err.__cause__).strip()}") from err
        super()._create_schema()

    @property
    def location(self) -> str:
        info = getattr(self, "_conninfo", None)
        if info is None:   # a URL psycopg cannot read: shown without its password
            return re.sub(r"(://[^:@/]*):[^@/]*@", r"\1:***@", self.url)
        return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"

    def _error_message(self, err: Exception) -> str:
        return f"Erreur de la base PostgreSQL {self.location} : {str(err).strip()}. Rien n'a été modifié."

    @contextmanager
    def _connect(self, lock: str | None = None):
        """A connection of the process's pool for this database (a new one while the schema is being checked)."""
        pool = _POOLS.get(self.url)
        try:
            connection = pool.connection() if pool else psycopg.connect(self.url, **CONNECTION_OPTIONS)
            with connection as open_connection, open_connection.cursor() as cursor:
                if self.read_only:   # this transaction only (a pooled connection goes back to others as it was)
                    cursor.execute("SET TRANSACTION READ ONLY")
                if lock:   # one writer at a time, whatever the process (readers are not blocked); released at commit
                    cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"cpts_geo.{lock}",))
                yield _QmarkCursor(cursor)
        except (psycopg.OperationalError, PoolTimeout) as err:
            if not isinstance(err, PoolTimeout) and err.sqlstate is not None:   # the server answered: not a connection
                raise
            raise StoreUnavailable(f"Base PostgreSQL injoignable ({self.location}) : "
                                   f"{str(err).strip() or type(err).__name__}") from err


class _QmarkCursor:
    """A psycopg cursor that takes the ``?`` placeholders of the SQLite queries."""

    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, sql: str, parameters=()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), parameters)

    def executemany(self, sql: str, rows) -> None:
        self._cursor.executemany(sql.replace("?", "%s"), rows)

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall() if self._cursor.description else []

    @property
    def description(self):
        return self._cursor.description


def open_store(location: Path | str | None = None, read_only: bool = False) -> TerritoryStore:
    """The store at ``location`` (default: ``$CPTS_GEO_STORE``, else :data:`DEFAULT_STORE`): a ``postgresql://``
    URL, or the path of a SQLite file; another ``scheme://`` is a French error (never taken as a file name).

    ``read_only``: for a command that only reads; the store must exist and have the tables of this version, and
    nothing is created, migrated or written (SQLite opened ``mode=ro``, PostgreSQL in read-only transactions)."""
    location = str(location or os.environ.get("CPTS_GEO_STORE", "").strip() or DEFAULT_STORE)
    scheme = URL_SCHEME.match(location)
    if scheme is None:
        return TerritoryStore(location, read_only)
    if scheme[1].lower() in POSTGRES_SCHEMES:
        return PostgresTerritoryStore(location, read_only)
    raise StoreUnavailable(f"Base des territoires non reconnue : adresse « {scheme[1]}://… » (variable "
                           "CPTS_GEO_STORE ou option --db). Donnez le chemin d'un fichier SQLite (sans « sqlite:// » "
                           "devant) ou l'adresse d'une base PostgreSQL : postgresql://utilisateur@serveur:5432/base. "
                           "Rien n'a été ouvert.")


if __name__ == "__main__":   # python -m cpts_geo.storage.store: the store of $CPTS_GEO_STORE made or migrated (scripts/serve.sh)
    try:
        open_store()
    except InputError as error:
        raise SystemExit(f"Erreur : {error}") from None
