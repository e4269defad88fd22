"""Embedded store of named territories (drafts of the app, registry of the ARS).

A territory is stored as its name, its kind (``draft`` or ``registry``), its IRIS codes
and a JSON of free attributes. The default store is a SQLite file in the user's data
folder (``$CPTS_GEO_STORE`` or ``~/.local/share/cpts-geo/territoires.sqlite``). Every
write is one transaction: an import is all-or-nothing and never half-writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

from cpts_geo.errors import InputError
from cpts_geo.territory import Territory

DEFAULT_STORE = Path(os.environ.get("CPTS_GEO_STORE",
                                    Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share"))
                                    / "cpts-geo" / "territoires.sqlite"))

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


class TerritoryStore:
    """Named territories in a SQLite file (see module docstring)."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or DEFAULT_STORE)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10)

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
        with closing(self._connect()) as db, db:
            if replace_kind:
                db.execute("DELETE FROM territories WHERE kind = ?", (kind,))
            db.executemany("INSERT OR REPLACE INTO territories VALUES (?, ?, ?, ?, ?)", rows)

    def load(self, name: str, kind: str = "draft") -> Territory:
        """The territory saved under ``name``."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT iris FROM territories WHERE kind = ? AND name = ?", (kind, name)).fetchone()
        if row is None:
            raise InputError(f"Aucun territoire enregistré sous le nom « {name} ».")
        return Territory(frozenset(json.loads(row[0])), name)

    def names(self, kind: str = "draft") -> list[tuple[str, str]]:
        """``(name, updated)`` of the saved territories of a kind, most recent first."""
        with closing(self._connect()) as db:
            return db.execute("SELECT name, updated FROM territories WHERE kind = ? ORDER BY updated DESC, name",
                              (kind,)).fetchall()

    def load_all(self, kind: str = "draft") -> dict[str, frozenset[str]]:
        """Every territory of a kind, name → IRIS codes."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT name, iris FROM territories WHERE kind = ?", (kind,)).fetchall()
        return {name: frozenset(json.loads(iris)) for name, iris in rows}

    def delete(self, name: str, kind: str = "draft") -> None:
        """Remove one territory."""
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM territories WHERE kind = ? AND name = ?", (kind, name))
