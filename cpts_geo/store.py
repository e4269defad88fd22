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

The default store is a SQLite file in the user's data folder (``$CPTS_GEO_STORE`` or
``~/.local/share/cpts-geo/territoires.sqlite``); an ARS that shares one registry between several
people points :func:`open_store` at a PostgreSQL database instead (``postgresql://user@host/base``,
psycopg 3). Both backends have the same interface and schema, a store of an earlier version is
migrated when opened, and every write is one transaction: an import is all-or-nothing and never
half-writes. A store that cannot be used (corrupt or read-only file, foreign table, malformed
URL, unreachable server) raises :class:`~cpts_geo.errors.InputError` naming its location and
is left untouched; so does a row changed outside cpts-geo (« illisible », naming the row). A command
that only reads opens the store read-only (``open_store(..., read_only=True)``): a missing store is
refused, never created, and a database without our tables is never changed.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import psycopg.conninfo
import shapely
from shapely.geometry.base import BaseGeometry

from cpts_geo.errors import InputError
from cpts_geo.territory import Territory
from cpts_geo.user_text import clean_text

DEFAULT_STORE = Path(os.environ.get("CPTS_GEO_STORE",
                                    Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
                                    / "cpts-geo" / "territoires.sqlite"))
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
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


class AlreadySaved(InputError):
    """A territory of that name exists: replacing it must be asked for (``replace=True``)."""


class RegistryChanged(InputError):
    """The registry was saved by someone else since it was loaded: saving would overwrite their version."""


@dataclass(frozen=True)
class StoredTerritory:
    """One saved territory with who owns it and who it is shared with."""

    kind: str
    owner: str
    name: str
    iris: frozenset[str]
    updated: str
    shared_with: tuple[str, ...] = ()

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
            raise InputError(self._error_message(IsADirectoryError("c'est un dossier")))
        if read_only and not self.path.exists():
            raise InputError(f"Fichier des territoires enregistrés introuvable : {self.location} (rien n'y a encore "
                             "été enregistré ?). Rien n'a été créé.")
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise InputError(self._error_message(err)) from err
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
                raise InputError(f"{self.location} n'est pas un magasin cpts-geo (aucune table « territories ») : "
                                 "rien n'a été lu ni modifié. Donnez la base des territoires de cpts-geo "
                                 "(option --db).")
            columns = set().union(*(self._our_columns(db, table) for table in present))
        if len(present) < len(REQUIRED_COLUMNS) or not {"owner", "perimeter", "shared_with"} <= columns:
            raise InputError(f"Le magasin {self.location} a été créé par une version précédente de cpts-geo : "
                             "ouvrez-le une fois avec l'application ou « coverage --save » pour le mettre à jour. "
                             "Rien n'a été modifié.")

    def _create_schema(self) -> None:
        """Create the tables, or check and migrate those of an earlier version (in one transaction)."""
        with self._transaction() as db:
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
            raise InputError(
                f"La base {self.location} contient déjà une table « {table} » qui n'est pas celle de cpts-geo "
                f"(colonnes : {', '.join(sorted(columns))}) : rien n'a été modifié. "
                "Choisissez un autre emplacement (variable CPTS_GEO_STORE ou option --db).")
        return columns

    def _connect(self, write_lock: bool = False):
        """A connection whose context commits on success and rolls back on error (see :meth:`_transaction`);
        ``write_lock``: the transaction takes the write lock at once (``BEGIN IMMEDIATE``)."""
        return _SqliteConnection(self.path, write_lock, self.read_only)

    @contextmanager
    def _transaction(self, write_lock: bool = False):
        """A cursor inside one transaction: committed on success, rolled back on any error.

        ``write_lock``: no other writer of the registry history can run until this transaction ends (a second
        one waits, then sees the first one's version). A database error (corrupt or read-only file, SQL
        refused by the server…) becomes an :class:`InputError` naming the store.
        """
        try:
            with self._connect(write_lock) as cursor:
                yield cursor
        except self.DATABASE_ERRORS as err:
            raise InputError(self._error_message(err)) from err

    def _query(self, sql: str, parameters=()) -> list[tuple]:
        with self._transaction() as db:
            db.execute(sql, parameters)
            return db.fetchall()

    # --- writing --------------------------------------------------------------------------
    def save(self, territory: Territory, kind: str = "draft", attributes: dict | None = None,
             owner: str = NO_OWNER, author: str | None = None, replace: bool = True) -> None:
        """Save one territory under its name; an existing one is replaced only when ``replace``
        (else :class:`AlreadySaved`). ``author``: who saves it, kept with the version (default: the owner)."""
        if not replace and self.exists(clean_text(territory.name), kind, owner):
            raise AlreadySaved(f"Un territoire « {clean_text(territory.name)} » est déjà enregistré : confirmez pour "
                               "le remplacer (sa version actuelle restera dans l'historique).")
        self.save_many([territory], kind, attributes, owner=owner, author=author)

    def save_many(self, territories, kind: str = "registry", attributes: dict | None = None,
                  replace_kind: bool = False, perimeters: Mapping[str, BaseGeometry] | None = None,
                  owner: str = NO_OWNER, author: str | None = None, comment: str = "",
                  loaded_version: int | None = None) -> None:
        """Save several territories in one transaction; ``replace_kind`` first removes the others of that kind
        (of that owner).

        ``perimeters``: name → polygonal geometry in EPSG:4326, stored beside the codes (optional). A save of
        the registry adds, in the same transaction, a version of the whole registry (:meth:`registry_versions`)
        with ``author``, ``comment`` and the ``source`` of ``attributes``. ``loaded_version``: the registry
        version the saver started from (0: none); if another was saved since, :class:`RegistryChanged` and
        nothing is saved (two savers at once: the second waits for the first, then gets that error).
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
        with self._transaction(write_lock=registry) as db:
            if registry and loaded_version is not None:
                self._check_registry_version(db, loaded_version)
            if replace_kind:
                db.execute("DELETE FROM territories WHERE kind = ? AND owner = ?", (kind, owner))
            db.executemany(UPSERT.format(perimeter_value=self.PERIMETER_VALUE), rows)
            for version in versions:
                db.execute(ADD_VERSION, version)
            if registry:
                self._add_registry_version(db, now, clean_text(author or ""), clean_text(comment, MAX_COMMENT_LENGTH),
                                           attributes.get("source", ""))

    def _check_registry_version(self, db, loaded: int) -> None:
        """Raise :class:`RegistryChanged` if the last registry version is not ``loaded`` (in the saving transaction)."""
        db.execute("SELECT version, saved, author FROM registry_versions ORDER BY version DESC LIMIT 1")
        number, saved, author = next(iter(db.fetchall()), (0, "", ""))
        if number != loaded:
            raise RegistryChanged(
                "Le registre a été modifié par quelqu'un d'autre depuis son chargement ; rechargez-le avant "
                f"d'enregistrer (version {number} enregistrée le {saved.replace('T', ' ')} par "
                f"{author or 'un auteur non indiqué'}, après la version {loaded} que vous aviez chargée). "
                "Rien n'a été enregistré.")

    def _add_registry_version(self, db, saved: str, author: str, comment: str, source: str) -> None:
        """Append the registry as it is in this transaction to its history."""
        db.execute("SELECT name, iris FROM territories WHERE kind = 'registry' AND owner = '' ORDER BY name")
        cpts = {name: self._json_list(iris, name) for name, iris in db.fetchall()}
        db.execute(ADD_REGISTRY_VERSION, (saved, author, comment, source, json.dumps(cpts, ensure_ascii=False)))

    def share(self, name: str, emails, kind: str = "draft", owner: str = NO_OWNER) -> None:
        """Set the e-mails a territory is shared with (replacing the previous list)."""
        self.stored(name, kind, owner)   # exists, or a French error
        with self._transaction() as db:
            db.execute("UPDATE territories SET shared_with = ? WHERE kind = ? AND owner = ? AND name = ?",
                       (json.dumps(sorted(set(emails))), kind, owner, name))

    def delete(self, name: str, kind: str = "draft", owner: str = NO_OWNER, author: str = "") -> None:
        """Remove one territory and its versions (a CPTS removed from the registry makes a registry version)."""
        with self._transaction(write_lock=kind == "registry" and owner == NO_OWNER) as db:
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
        sql = "SELECT kind, owner, name, iris, updated, shared_with FROM territories WHERE kind = ?"
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
                                tuple(self._json_list(shared, name))) for kind, owner, name, iris, updated, shared in rows]

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
        raise InputError(f"{row} de {self.location} est illisible (changé hors de cpts-geo ? {detail}). "
                         "Rien n'a été modifié.")


def _is_text_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_registry(value) -> bool:
    return isinstance(value, dict) and all(map(_is_text_list, value.values()))


def _shown_json(value, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else f"{text[:width]}…"


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
            raise InputError(f"Adresse de base PostgreSQL invalide ({self.location}) : {str(err).strip()}. "
                             "Forme attendue : postgresql://utilisateur@serveur:5432/base") from err
        self._open_schema()

    def _create_schema(self) -> None:
        with self._transaction() as db:
            db.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
            missing = not db.fetchall()
        if missing:
            try:
                with self._transaction() as db:
                    db.execute("CREATE EXTENSION postgis")
            except InputError as err:
                raise InputError(f"PostGIS n'est pas disponible dans la base {self.location} : un administrateur "
                                 f"doit l'installer (CREATE EXTENSION postgis). Détail : {str(err.__cause__).strip()}"
                                 ) from err
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
    def _connect(self, write_lock: bool = False):
        try:
            connection = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as err:
            raise InputError(f"Base PostgreSQL injoignable ({self.location}) : {str(err).strip()}") from err
        connection.read_only = self.read_only
        with connection, connection.cursor() as cursor:
            if write_lock:   # one writer of the registry history at a time (readers are not blocked)
                cursor.execute("LOCK TABLE registry_versions IN SHARE ROW EXCLUSIVE MODE")
            yield _QmarkCursor(cursor)


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
    """The store at ``location``: a ``postgresql://`` URL, or a SQLite file (default: :data:`DEFAULT_STORE`).

    ``read_only``: for a command that only reads; the store must exist and have the tables of this version, and
    nothing is created, migrated or written (SQLite opened ``mode=ro``, PostgreSQL in read-only transactions)."""
    if str(location or "").startswith(POSTGRES_SCHEMES):
        return PostgresTerritoryStore(str(location), read_only)
    return TerritoryStore(location, read_only)
