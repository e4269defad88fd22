"""History of the registry: what changed between two saved versions, and restoring one.

Every save of the registry is a version in the store (:meth:`cpts_geo.storage.store.TerritoryStore.registry_versions`),
never changed afterwards. Two versions are compared here on the bundle: CPTS added, removed or renamed (a
removed and an added CPTS that share at least :data:`RENAMED_SHARE` of their IRIS), communes and IRIS moved
from a CPTS to another (or into or out of the registry), and the population, taille and yearly ACI funding of
every CPTS whose zones changed. Restoring a version saves it again as a new version: nothing is overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from cpts_geo.formatting import fr_datetime, fr_euros, fr_int
from cpts_geo.territory.funding import taille_number
from cpts_geo.region.planning import yearly_funding
from cpts_geo.region.registry import RegistryImport, save_registry
from cpts_geo.storage.store import RegistryVersion

#: Share of common IRIS (of the union of both) from which a removed and an added CPTS are one CPTS renamed.
RENAMED_SHARE = 0.8
#: Communes listed per line of a move in the French text (the others are counted).
LISTED_COMMUNES = 8


@dataclass
class RegistryDiff:
    """What changed from version ``old`` to version ``new`` of the registry."""

    old: int
    new: int
    added: list[str]
    removed: list[str]
    renamed: list[tuple[str, str]]
    moved: pd.DataFrame          # from, to (CPTS names, "" outside the registry), communes, iris, population
    changed: pd.DataFrame        # name (in ``new``), population, taille and funding before and after

    def as_dict(self) -> dict:
        return {"old": self.old, "new": self.new, "added": self.added, "removed": self.removed,
                "renamed": [{"from": a, "to": b} for a, b in self.renamed],
                "moved": self.moved.to_dict(orient="records"),
                "changed": self.changed.astype(object).where(self.changed.notna(), None).to_dict(orient="records")}

    def lines(self, bundle) -> list[str]:
        """The differences in French, one line each."""
        names = bundle.communes["nom"]
        lines = [f"Différences de la version {self.old} à la version {self.new} du registre :"]
        lines += [f"  CPTS ajoutée : « {name} »." for name in self.added]
        lines += [f"  CPTS supprimée : « {name} »." for name in self.removed]
        lines += [f"  CPTS renommée : « {old} » → « {new} »." for old, new in self.renamed]
        for row in self.moved.itertuples():
            whole = [f"{names.get(c, c)} ({c})" for c in row.communes]
            listed = ", ".join(whole[:LISTED_COMMUNES]) + (
                f" et {len(whole) - LISTED_COMMUNES} autre(s)" if len(whole) > LISTED_COMMUNES else "")
            parts = f" ; IRIS {', '.join(row.iris)}" if row.iris else ""
            lines.append(f"  {_move(row.source, row.target)} : "
                         f"{listed or 'parties de communes'}{parts} ({fr_int(row.population)} habitants).")
        for row in self.changed.itertuples():
            taille = (f"taille {row.taille_before} → {row.taille_after}"
                      + (f", fonctionnement ACI {fr_euros(row.funding_before)} → {fr_euros(row.funding_after)} "
                         "par an" if row.taille_before != row.taille_after and pd.notna(row.funding_before)
                         and pd.notna(row.funding_after) else ""))
            lines.append(f"  « {row.name} » : {fr_int(row.population_before)} → {fr_int(row.population_after)} "
                         f"habitants, {taille}.")
        if len(lines) == 1:
            lines.append("  Aucune différence.")
        return lines


def _move(source: str, target: str) -> str:
    """A move between CPTS in French, "" being outside the registry (a white zone)."""
    if not source:
        return f"Ajouté à « {target} »"
    if not target:
        return f"Retiré de « {source} » (hors CPTS désormais)"
    return f"Déplacé de « {source} » vers « {target} »"


def _renamed(old: dict[str, frozenset[str]], new: dict[str, frozenset[str]]) -> list[tuple[str, str]]:
    """Pairs (old name, new name) of a removed and an added CPTS sharing most of their IRIS, best pairs first."""
    removed, added = sorted(set(old) - set(new)), sorted(set(new) - set(old))
    shares = sorted(((len(old[a] & new[b]) / len(old[a] | new[b]), a, b) for a in removed for b in added
                     if old[a] | new[b]), key=lambda t: (-t[0], t[1], t[2]))
    pairs, used = [], set()
    for share, a, b in shares:
        if share >= RENAMED_SHARE and a not in used and b not in used:
            pairs.append((a, b))
            used |= {a, b}
    return sorted(pairs)


def _owners(registry: dict[str, frozenset[str]]) -> dict[str, str]:
    """IRIS code → its CPTS (several joined by « / », sorted)."""
    owners: dict[str, list[str]] = {}
    for name in sorted(registry):
        for code in registry[name]:
            owners.setdefault(code, []).append(name)
    return {code: " / ".join(names) for code, names in owners.items()}


def _population(bundle, codes) -> float:
    known = [c for c in codes if c in bundle.iris.index]
    return float(bundle.iris["population"].reindex(known).sum())


def registry_diff(bundle, old: RegistryVersion, new: RegistryVersion) -> RegistryDiff:
    """Compare two versions of the registry on the bundle (see the module docstring)."""
    renamed = _renamed(old.cpts, new.cpts)
    as_new = dict(renamed)
    before = {as_new.get(name, name): codes for name, codes in old.cpts.items()}
    owner_before, owner_after = _owners(before), _owners(new.cpts)
    codes = sorted(c for c in set(owner_before) | set(owner_after) if owner_before.get(c) != owner_after.get(c))
    table = pd.DataFrame({"code": codes, "source": [owner_before.get(c, "") for c in codes],
                          "target": [owner_after.get(c, "") for c in codes]})
    commune_of = bundle.commune_of_iris
    table["commune"] = table["code"].map(lambda c: commune_of.get(c, c[:5]))
    table["population"] = bundle.iris["population"].reindex(table["code"]).fillna(0).to_numpy()
    moved = []
    for (source, target), group in table.groupby(["source", "target"], sort=True):
        whole, parts = [], []
        for commune, rows in group.groupby("commune", sort=True):
            all_iris = bundle.iris_by_commune.get(commune, ())
            (whole if set(rows["code"]) >= set(all_iris) else parts).append((commune, sorted(rows["code"])))
        moved.append({"source": source, "target": target, "communes": [c for c, _ in whole],
                      "iris": [code for _, codes in parts for code in codes],
                      "population": round(group["population"].sum())})
    moved = pd.DataFrame(moved, columns=["source", "target", "communes", "iris", "population"])
    changed = []
    for name in sorted(set(before) & set(new.cpts)):
        if before[name] != new.cpts[name]:
            p0, p1 = _population(bundle, before[name]), _population(bundle, new.cpts[name])
            changed.append({"name": name, "population_before": round(p0), "population_after": round(p1),
                            "taille_before": taille_number(p0), "taille_after": taille_number(p1),
                            "funding_before": yearly_funding(bundle, p0), "funding_after": yearly_funding(bundle, p1)})
    changed = pd.DataFrame(changed, columns=["name", "population_before", "population_after", "taille_before",
                                             "taille_after", "funding_before", "funding_after"])
    return RegistryDiff(old.number, new.number, sorted(set(new.cpts) - set(before)),
                        sorted(set(old.cpts) - set(new.cpts) - set(as_new)), renamed, moved, changed)


def restore_version(bundle, store, number: int, author: str = "", loaded_version: int | None = None
                    ) -> RegistryImport:
    """Save version ``number`` again as the registry (a new version; the ones after it are kept). Its codes are
    kept as saved, those outside the bundle too (a bundle of one département restores a regional registry whole).
    ``loaded_version``: as for :func:`~cpts_geo.region.registry.save_registry`."""
    version = store.registry_version(number)
    imported = RegistryImport(f"version {number} du registre ({version.source or 'source non indiquée'})",
                              cpts=version.cpts)
    save_registry(bundle, store, imported, author=author, comment=f"Restauration de la version {number}",
                  loaded_version=loaded_version)
    return imported


def history_lines(versions: list[RegistryVersion]) -> list[str]:
    """The versions of the registry in French, most recent first."""
    if not versions:
        return ["Aucune version du registre enregistrée."]
    return [f"Version {v.number} — {fr_datetime(v.saved)} — {v.author or 'auteur non indiqué'} — "
            f"{len(v.cpts)} CPTS — source : {v.source or 'non indiquée'}"
            + (f" — « {v.comment} »" if v.comment else "") for v in versions]
