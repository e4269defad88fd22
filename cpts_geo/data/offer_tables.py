"""The offer-of-care tables of a bundle (``offer/``), below the territories that use them.

* :func:`write_offer` (called by ``prepare``) maps the normalised health sources
  (:mod:`cpts_geo.data.sources.health`) onto the bundle's communes and IRIS and writes ``offer/`` in the
  bundle: ``professionals.parquet`` (counts by commune or IRIS), ``establishments.parquet`` (FINESS
  points with the IRIS polygon that holds them), ``apl.parquet``, ``nurse_zoning.parquet``,
  ``reference.parquet`` (densities and APL of départements, régions, France where the data cover
  them) and ``offer.json`` (sources, millésimes, covered départements, limits);
* :class:`OfferData` reads them back, with lookups built once
  (:mod:`cpts_geo.territory.offer` describes a territory from them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from cpts_geo.config import departement_of
from cpts_geo.data.reference import departements_table
from cpts_geo.data.sources.health import PROFESSIONS, HealthTables

OFFER_DIR = "offer"
FILES = {name: f"{OFFER_DIR}/{name}.parquet"
         for name in ("professionals", "establishments", "apl", "nurse_zoning", "reference")}
META_FILE = f"{OFFER_DIR}/offer.json"
KINDS = tuple(kind for kind, _, _, _ in PROFESSIONS)
#: Farthest a FINESS point outside every IRIS polygon (coast, simplified contours) is moved to the nearest one.
NEAREST_IRIS_MAX_M = 300.0


# --------------------------------------------------------------------------- codes of the sources → bundle

def commune_code_map(bundle) -> dict[str, str]:
    """Source commune code → the bundle commune holding its IRIS: a code of the bundle maps to itself,
    a former, delegated or re-established commune to its current commune (``bundle.aliases``, COG).
    One place to change when the bundle's geography moves."""
    owners = set(bundle.iris["code_insee"])
    links = dict(zip(bundle.aliases["code"], bundle.aliases["current"]))
    links.update({code: code for code in owners})
    return {code: target for code, target in links.items() if target in owners}


def _map_communes(table: pd.DataFrame, mapping: dict[str, str], departements: set[str], label: str,
                  limits: list[str]) -> pd.DataFrame:
    """``table`` with ``code_insee`` mapped to bundle communes; unknown codes of the bundle's
    départements are named in ``limits``, those of other départements silently left out."""
    mapped = table["code_insee"].map(mapping)
    unknown = sorted(set(table.loc[mapped.isna() & table["code_insee"].map(departement_of).isin(departements),
                                   "code_insee"]))
    if unknown:
        limits.append(f"{label} : {len(unknown)} code(s) commune de la source inconnus des données préparées, "
                      f"non comptés ({', '.join(unknown[:10])}{' …' if len(unknown) > 10 else ''}).")
    return table.assign(code_insee=mapped)[mapped.notna()]


# --------------------------------------------------------------------------- prepare

def _professionals(bundle, health: HealthTables, mapping, departements, limits) -> pd.DataFrame:
    table = _map_communes(health.professionals, mapping, departements, "Professionnels (BPE)", limits)
    known_iris = table["code_iris"].isin(bundle.iris.index)
    table = table.assign(code_iris=table["code_iris"].where(known_iris))
    return (table.groupby(["code_insee", "code_iris", "kind"], dropna=False)["count"].sum().reset_index()
            .astype({"count": float}))


def _establishments(bundle, health: HealthTables, mapping, departements, limits) -> pd.DataFrame:
    """FINESS points of the bundle's départements with the IRIS polygon that holds them (or the nearest
    one within :data:`NEAREST_IRIS_MAX_M`, for points on a coast drawn a little inland)."""
    table = health.establishments
    known = table["code_insee"].map(mapping).notna()
    table = table[known | table["code_insee"].map(departement_of).isin(departements)]
    points = gpd.GeoDataFrame(table.assign(known=known[table.index]).drop(columns="code_insee"), crs="EPSG:4326",
                              geometry=gpd.points_from_xy(table["lon"], table["lat"]))
    iris = bundle.iris_geometry()[["geometry"]].rename_axis("code_iris").reset_index()
    inside = gpd.sjoin(points, iris, predicate="within", how="left").drop_duplicates("finess")
    outside = inside.index[inside["code_iris"].isna()]
    if len(outside):
        near = gpd.sjoin_nearest(points.loc[outside].to_crs("EPSG:2154"), iris.to_crs("EPSG:2154"),
                                 max_distance=NEAREST_IRIS_MAX_M, how="left").drop_duplicates("finess")
        inside.loc[near.index, "code_iris"] = near["code_iris"]
    lost = inside[inside["code_iris"].isna() & inside["known"]]
    if len(lost):
        limits.append(f"Établissements (FINESS) : {len(lost)} point(s) hors des contours IRIS, non rattachés "
                      f"({', '.join(lost['finess'].head(5))}{' …' if len(lost) > 5 else ''}).")
    inside = inside.dropna(subset=["code_iris"])
    inside["code_insee"] = inside["code_iris"].map(bundle.iris["code_insee"])
    columns = ["finess", "name", "kind", "category", "code_insee", "code_iris", "lon", "lat"]
    return pd.DataFrame(inside[columns]).sort_values(["code_iris", "category", "kind", "name"], ignore_index=True)


def _apl(health: HealthTables, mapping, departements, limits) -> pd.DataFrame:
    """APL per bundle commune; communes merged since the source are averaged by standardised population."""
    table = _map_communes(health.apl, mapping, departements, "APL", limits)
    table = table.assign(weighted=table["apl"] * table["pop_std"])
    sums = table.groupby("code_insee")[["weighted", "pop_std", "pop_total"]].sum()
    return sums.assign(apl=sums["weighted"] / sums["pop_std"]).drop(columns="weighted").reset_index()


def _reference(bundle, professionals: pd.DataFrame, apl: pd.DataFrame, covered: set[str]) -> pd.DataFrame:
    """Densities per 10,000 inhabitants (and APL of départements) where the data cover the whole area."""
    communes = bundle.communes.loc[bundle.communes.index.isin(set(bundle.iris["code_insee"]))]
    deps = departements_table()
    present = set(communes["departement"])
    areas = [("departement", d, {d}) for d in sorted(present & covered)]
    areas += [("region", r, set(group)) for r, group in deps.groupby("code_region")["code_departement"]
              if set(group) <= present & covered]
    if set(deps["code_departement"]) <= present & covered:
        areas.append(("france", "FR", present))
    counts = professionals.assign(departement=professionals["code_insee"].map(communes["departement"])) \
        .pivot_table(index="departement", columns="kind", values="count", aggfunc="sum", fill_value=0.0)
    population = communes.groupby("departement")["population"].sum()
    rows = []
    for level, code, members in areas:
        members = sorted(members)
        per_kind = counts.reindex(members).fillna(0.0).sum() / population.reindex(members).sum() * 1e4
        rows += [(level, code, kind, float(value)) for kind, value in per_kind.items()]
    apl_deps = apl.assign(departement=apl["code_insee"].map(communes["departement"]))
    apl_deps = apl_deps.assign(weighted=apl_deps["apl"] * apl_deps["pop_std"]).groupby("departement")
    for dep, value in (apl_deps["weighted"].sum() / apl_deps["pop_std"].sum()).items():
        rows.append(("departement", dep, "apl", float(value)))
    return pd.DataFrame(rows, columns=["level", "code", "kind", "value"])


def write_offer(bundle, health: HealthTables, out_dir: Path | None = None) -> dict:
    """Map the health sources onto ``bundle`` and write ``offer/`` in ``out_dir`` (default: the bundle's
    folder); returns the offer's metadata (also written to ``offer/offer.json``)."""
    out = Path(out_dir or bundle.path)
    (out / OFFER_DIR).mkdir(parents=True, exist_ok=True)
    mapping = commune_code_map(bundle)
    departements = set(bundle.iris["departement"])
    limits = list(health.meta.get("limits", []))
    professionals = _professionals(bundle, health, mapping, departements, limits)
    apl = _apl(health, mapping, departements, limits)
    zoning = _map_communes(health.nurse_zoning, mapping, departements, "Zonage infirmier", limits) \
        .drop_duplicates("code_insee")
    covered = set(health.meta.get("professionals", {}).get("departements") or
                  (departements if len(health.professionals) else ()))
    tables = {"professionals": professionals, "apl": apl, "nurse_zoning": zoning,
              "establishments": _establishments(bundle, health, mapping, departements, limits),
              "reference": _reference(bundle, professionals, apl, covered)}
    for name, table in tables.items():
        table.to_parquet(out / FILES[name], index=False)
    meta = {key: dict(value) for key, value in health.meta.items() if key != "limits"}
    for key, table in (("professionals", health.professionals), ("establishments", health.establishments)):
        if key in meta and len(table):
            meta[key]["departements"] = sorted(set(meta[key].get("departements") or departements) & departements)
    meta["limits"] = limits
    (out / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    return meta


# --------------------------------------------------------------------------- loading

@dataclass
class OfferData:
    """The ``offer/`` tables of a bundle, with lookups built once (empty when prepared without them)."""

    meta: dict = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | str) -> "OfferData":
        path = Path(path)
        if not (path / META_FILE).exists():
            return cls(meta={"limits": ["Offre de soins absente des données préparées : relancez "
                                        "« python -m cpts_geo prepare »."]})
        return cls(meta=json.loads((path / META_FILE).read_text(encoding="utf-8")),
                   tables={name: pd.read_parquet(path / file) for name, file in FILES.items()})

    def _rows(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())

    def _counts(self, located: bool) -> dict[str, np.ndarray]:
        rows = self._rows("professionals")
        if rows.empty:
            return {}
        rows = rows[rows["code_iris"].notna() == located]
        wide = rows.pivot_table(index="code_iris" if located else "code_insee", columns="kind", values="count",
                                aggfunc="sum", fill_value=0.0).reindex(columns=list(KINDS), fill_value=0.0)
        return dict(zip(wide.index, wide.to_numpy()))

    @cached_property
    def by_commune(self) -> dict[str, np.ndarray]:
        """Counts given by commune only: commune → counts in the order of :data:`KINDS`."""
        return self._counts(located=False)

    @cached_property
    def by_iris(self) -> dict[str, np.ndarray]:
        """Counts of located professionals: IRIS → counts in the order of :data:`KINDS`."""
        return self._counts(located=True)

    @cached_property
    def establishments(self) -> pd.DataFrame:
        table = self._rows("establishments")
        return table if len(table) else pd.DataFrame(columns=["finess", "name", "kind", "category", "code_insee",
                                                              "code_iris", "lon", "lat"])

    @cached_property
    def establishments_by_iris(self) -> dict[str, list[dict]]:
        """IRIS → its establishments as JSON-ready dicts."""
        table = self.establishments.rename(columns={"code_insee": "commune", "code_iris": "iris"})
        records = table[["finess", "name", "kind", "category", "commune", "iris"]].to_dict(orient="records")
        by_iris: dict[str, list[dict]] = {}
        for record in records:
            by_iris.setdefault(record["iris"], []).append(record)
        return by_iris

    @cached_property
    def apl(self) -> dict[str, tuple[float, float, float]]:
        """Commune → (APL, standardised population, population)."""
        table = self._rows("apl")
        return dict(zip(table["code_insee"], zip(table["apl"], table["pop_std"], table["pop_total"]))) \
            if len(table) else {}

    @cached_property
    def nurse_zoning(self) -> dict[str, str]:
        table = self._rows("nurse_zoning")
        return dict(zip(table["code_insee"], table["zonage"])) if len(table) else {}

    @cached_property
    def reference(self) -> dict[tuple[str, str, str], float]:
        table = self._rows("reference")
        return dict(zip(zip(table["level"], table["code"], table["kind"]), table["value"])) if len(table) else {}

    def covered(self, source: str) -> set[str]:
        """Départements a source covers (none when the bundle has no such source)."""
        return set(self.meta.get(source, {}).get("departements", ()))
