"""Store of named territories (drafts of the app, registry of the ARS).

A territory is stored as its name, its kind (``draft`` or ``registry``), its IRIS codes,
a JSON of free attributes and, when given, its perimeter (EPSG:4326; WKB in SQLite, a PostGIS
``geometry(MultiPolygon, 4326)`` in PostgreSQL, so that QGIS or SQL can read a shared registry). The default store is a SQLite file in the user's data
folder (``$CPTS_GEO_STORE`` or ``~/.local/share/cpts-geo/territoires.sqlite``); an ARS that
shares one registry between several people points :func:`open_store` at a PostgreSQL
database instead (``postgresql://user@host/base``, psycopg 3). Both backends have the same
interface and schema, and every write is one transaction: an import is all-or-nothing and
never half-writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import psycopg.conninfo
import shapely
from shapely.geometry.base import BaseGeometry

from cpts_geo.errors import InputError
from cpts_geo.territory import Territory

DEFAULT_STORE = Path(os.environ.get("CPTS_GEO_STORE",
                                    Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
                                    / "cpts-geo" / "territoires.sqlite"))
POSTGRES_SCHEMES = ("postgresql://", "postgres://")

SCHEMA = """
CREATE TABLE IF NOT EXISTS territories (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    iris TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{{}}',
    updated TEXT NOT NULL,
    perimeter {perimeter_type},
    PRIMARY KEY (kind, name)
)
"""
UPSERT = ("INSERT INTO territories (kind, name, iris, attributes, updated, perimeter) "
          "VALUES (?, ?, ?, ?, ?, {perimeter_value}) ON CONFLICT (kind, name) DO UPDATE SET iris = excluded.iris, "
          "attributes = excluded.attributes, updated = excluded.updated, perimeter = excluded.perimeter")


class TerritoryStore:
    """Named territories in a SQLite file (see module docstring)."""

    PERIMETER_TYPE = "BLOB"       # column type of the perimeter
    PERIMETER_VALUE = "?"         # SQL that turns the WKB parameter into that column
    PERIMETER_OUTPUT = "perimeter"  # SQL that reads that column back as WKB

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or DEFAULT_STORE)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._create_schema()
        except (OSError, sqlite3.Error) as err:
            raise InputError(f"Impossible d'ouvrir le fichier des territoires enregistrés {self.path} : {err}. "
                             "Choisissez un autre emplacement (variable CPTS_GEO_STORE).") from err

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    @property
    def location(self) -> str:
        """Where the territories are kept (file path or database URL without password)."""
        return str(self.path)

    def _create_schema(self) -> None:
        with self._transaction() as db:
            db.execute(SCHEMA.format(perimeter_type=self.PERIMETER_TYPE))
            db.execute("SELECT * FROM territories WHERE 1 = 0")
            if "perimeter" not in [column[0] for column in db.description]:   # a store of an earlier version
                db.execute(f"ALTER TABLE territories ADD COLUMN perimeter {self.PERIMETER_TYPE}")

    @contextmanager
    def _transaction(self):
        """A cursor inside one transaction: committed on success, rolled back on any error."""
        with closing(sqlite3.connect(self.path, timeout=10)) as connection, connection:
            yield connection.cursor()

    def _query(self, sql: str, parameters=()) -> list[tuple]:
        with self._transaction() as db:
            db.execute(sql, parameters)
            return db.fetchall()

    def save(self, territory: Territory, kind: str = "draft", attributes: dict | None = None) -> None:
        """Save (or replace) one territory under its name."""
        self.save_many([territory], kind, attributes)

    def save_many(self, territories, kind: str = "registry", attributes: dict | None = None,
                  replace_kind: bool = False, perimeters: Mapping[str, BaseGeometry] | None = None) -> None:
        """Save several territories in one transaction; ``replace_kind`` first removes the others of that kind.

        ``perimeters``: name → polygonal geometry in EPSG:4326, stored beside the codes (optional).
        """
        territories = list(territories)
        for territory in territories:
            if not territory.name.strip():
                raise InputError("Donnez un nom au territoire avant de l'enregistrer.")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        shapes = perimeters or {}
        rows = [(kind, t.name.strip(), json.dumps(sorted(t.iris)), json.dumps(attributes or {}, ensure_ascii=False),
                 now, shapely.to_wkb(shapes[t.name]) if t.name in shapes else None) for t in territories]
        with self._transaction() as db:
            if replace_kind:
                db.execute("DELETE FROM territories WHERE kind = ?", (kind,))
            db.executemany(UPSERT.format(perimeter_value=self.PERIMETER_VALUE), rows)

    def load(self, name: str, kind: str = "draft") -> Territory:
        """The territory saved under ``name``."""
        rows = self._query("SELECT iris FROM territories WHERE kind = ? AND name = ?", (kind, name))
        if not rows:
            raise InputError(f"Aucun territoire enregistré sous le nom « {name} ».")
        return Territory(frozenset(json.loads(rows[0][0])), name)

    def names(self, kind: str = "draft") -> list[tuple[str, str]]:
        """``(name, updated)`` of the saved territories of a kind, most recent first."""
        return [tuple(row) for row in self._query(
            "SELECT name, updated FROM territories WHERE kind = ? ORDER BY updated DESC, name", (kind,))]

    def load_all(self, kind: str = "draft") -> dict[str, frozenset[str]]:
        """Every territory of a kind, name → IRIS codes."""
        rows = self._query("SELECT name, iris FROM territories WHERE kind = ? ORDER BY name", (kind,))
        return {name: frozenset(json.loads(iris)) for name, iris in rows}

    def load_perimeters(self, kind: str = "registry") -> dict[str, BaseGeometry]:
        """The stored perimeters of a kind (EPSG:4326), name → geometry; territories without one are left out."""
        rows = self._query(f"SELECT name, {self.PERIMETER_OUTPUT} FROM territories "
                           "WHERE kind = ? AND perimeter IS NOT NULL ORDER BY name", (kind,))
        return {name: shapely.from_wkb(bytes(wkb)) for name, wkb in rows}

    def delete(self, name: str, kind: str = "draft") -> None:
        """Remove one territory."""
        with self._transaction() as db:
            db.execute("DELETE FROM territories WHERE kind = ? AND name = ?", (kind, name))


class PostgresTerritoryStore(TerritoryStore):
    """The same store in a PostgreSQL/PostGIS database, shared by several people (psycopg 3)."""

    PERIMETER_TYPE = "geometry(MultiPolygon, 4326)"
    PERIMETER_VALUE = "ST_Multi(ST_GeomFromWKB(?, 4326))"
    PERIMETER_OUTPUT = "ST_AsBinary(perimeter)"

    def __init__(self, url: str):
        self.url = url
        self._create_schema()

    def _create_schema(self) -> None:
        try:
            with self._transaction() as db:
                db.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
                if not db.fetchall():
                    db.execute("CREATE EXTENSION postgis")
        except psycopg.Error as err:
            raise InputError(f"PostGIS n'est pas disponible dans la base {self.location} : un administrateur doit "
                             f"l'installer (CREATE EXTENSION postgis). Détail : {str(err).strip()}") from err
        super()._create_schema()

    @property
    def location(self) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.url)
        return f"postgresql://{info.get('user', '')}@{info.get('host', '')}:{info.get('port', 5432)}/{info.get('dbname', '')}"

    @contextmanager
    def _transaction(self):
        try:
            connection = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.OperationalError as err:
            raise InputError(f"Base PostgreSQL injoignable ({self.location}) : {str(err).strip()}") from err
        with connection, connection.cursor() as cursor:
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


def open_store(location: Path | str | None = None) -> TerritoryStore:
    """The store at ``location``: a ``postgresql://`` URL, or a SQLite file (default: :data:`DEFAULT_STORE`)."""
    if str(location or "").startswith(POSTGRES_SCHEMES):
        return PostgresTerritoryStore(str(location))
    return TerritoryStore(location)
