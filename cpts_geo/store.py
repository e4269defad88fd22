"""Store of named territories (drafts of the app, registry of the ARS).

A territory is stored as its name, its kind (``draft`` or ``registry``), its IRIS codes
and a JSON of free attributes. The default store is a SQLite file in the user's data
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
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import psycopg.conninfo

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
    attributes TEXT NOT NULL DEFAULT '{}',
    updated TEXT NOT NULL,
    PRIMARY KEY (kind, name)
)
"""
UPSERT = ("INSERT INTO territories VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, name) DO UPDATE SET "
          "iris = excluded.iris, attributes = excluded.attributes, updated = excluded.updated")


class TerritoryStore:
    """Named territories in a SQLite file (see module docstring)."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or DEFAULT_STORE)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._create_schema()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location!r})"

    @property
    def location(self) -> str:
        """Where the territories are kept (file path or database URL without password)."""
        return str(self.path)

    def _create_schema(self) -> None:
        with self._transaction() as db:
            db.execute(SCHEMA)

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
                  replace_kind: bool = False) -> None:
        """Save several territories in one transaction; ``replace_kind`` first removes the others of that kind."""
        territories = list(territories)
        for territory in territories:
            if not territory.name.strip():
                raise InputError("Donnez un nom au territoire avant de l'enregistrer.")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        rows = [(kind, t.name.strip(), json.dumps(sorted(t.iris)), json.dumps(attributes or {}, ensure_ascii=False),
                 now) for t in territories]
        with self._transaction() as db:
            if replace_kind:
                db.execute("DELETE FROM territories WHERE kind = ?", (kind,))
            db.executemany(UPSERT, rows)

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

    def delete(self, name: str, kind: str = "draft") -> None:
        """Remove one territory."""
        with self._transaction() as db:
            db.execute("DELETE FROM territories WHERE kind = ? AND name = ?", (kind, name))


class PostgresTerritoryStore(TerritoryStore):
    """The same store in a PostgreSQL database, shared by several people (psycopg 3)."""

    def __init__(self, url: str):
        self.url = url
        self._create_schema()

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


def open_store(location: Path | str | None = None) -> TerritoryStore:
    """The store at ``location``: a ``postgresql://`` URL, or a SQLite file (default: :data:`DEFAULT_STORE`)."""
    if str(location or "").startswith(POSTGRES_SCHEMES):
        return PostgresTerritoryStore(str(location))
    return TerritoryStore(location)
