"""Build the compact data bundle from the open data.

The bundle (``data/`` by default) holds:

* ``iris_shapes/iris.parquet``: GeoParquet (EPSG:4326), one row per IRIS with its commune,
  population, age bands, metric bounding box, land mass and ``open_m``, the length of its
  border that no other IRIS shares (sea, frontier, edge of the data);
* ``iris_shapes/adjacency_iris.parquet`` and ``adjacency_communes.parquet``: edge tables;
* ``population/communes.parquet``: one row per commune (or arrondissement municipal) with
  its legal population, the method used, its postal codes;
* ``population/age_reference.parquet``: age bands summed per département and région;
* ``population/qpv.parquet``, ``population/aci.parquet``: reference tables;
* ``reference/aliases.parquet`` (former codes → current commune) and ``reference/epci.parquet``;
* ``bundle.json``: sources, millésimes, limits and the adjacency rule.
* ``offer/``: the offer of care, professionals, establishments, APL (see :mod:`cpts_geo.territory.offer`).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_geo import __version__
from cpts_geo.config import ADJACENCY_MIN_SHARED_M, ADJACENCY_TOLERANCE_M, departement_of, local_crs
from cpts_geo.errors import DataError
from cpts_geo.data.bundle import Bundle
from cpts_geo.data.graph import ZoneGraph, aggregate_edges, landmass_ids, shared_borders_by_crs
from cpts_geo.data.layout import (ACI_FILE, AGE_REFERENCE_FILE, ALIASES_FILE, BUNDLE_FORMAT, COMMUNE_EDGES_FILE,
                                  COMMUNES_FILE, EPCI_FILE, IRIS_EDGES_FILE, IRIS_FILE, META_FILE, POPULATION_METHODS,
                                  QPV_FILE)
from cpts_geo.data.offer_tables import OFFER_DIR, write_offer
from cpts_geo.data.reference import departements_table, outside_cpts
from cpts_geo.data.sources import AGE_BANDS, SourceTables
from cpts_geo.data.sources.readers import listed


class Progress:
    """Prints the steps of a long build on stderr, with their duration."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.start = time.perf_counter()

    def step(self, message: str) -> None:
        if self.enabled:
            print(f"[{time.perf_counter() - self.start:6.1f} s] {message}", file=sys.stderr, flush=True)


def select_departements(tables: SourceTables, region: str | None, departement: str | None) -> set[str] | None:
    """Départements to keep for ``--region``/``--departement`` (None = all)."""
    if not region and not departement:
        return None
    deps = departements_table()
    if departement:
        wanted = {d.strip().upper() for d in str(departement).split(",")}
    else:
        wanted = set(deps.loc[deps["code_region"].isin({r.strip() for r in str(region).split(",")}),
                              "code_departement"])
    unknown = wanted - set(deps["code_departement"])
    if unknown or not wanted:
        reasons = [f"{code} : {outside_cpts(code)}" if outside_cpts(code) else code for code in sorted(unknown)]
        raise DataError(f"Code de département ou de région inconnu : {' ; '.join(reasons) or region}.")
    return wanted


def check_unique_codes(tables: SourceTables) -> None:
    """Refuse source tables where a commune or an IRIS appears twice (a :class:`DataError` naming the codes)."""
    for label, table, column in (("des communes", tables.communes, "code_insee"), ("des contours IRIS", tables.iris,
                                 "code_iris"), ("de la population des IRIS", tables.iris_population, "code_iris")):
        repeated = sorted(set(table.loc[table[column].duplicated(), column].astype(str)))
        if repeated:
            raise DataError(f"Codes en double dans le fichier {label} ({tables.meta.get('origin', 'données sources')}) "
                            f": {listed(repeated)} ; corrigez le fichier ou remplacez-le par une copie intacte.")


def departement_growth(communes: pd.DataFrame, column: str = "population") -> pd.Series:
    """Growth of each département's population from the IRIS-population year to the millésime of ``column``
    (``column / population_ref`` summed over the communes that have both, by ``departement``)."""
    known = communes[communes[column].notna() & communes["population_ref"].notna()]
    sums = known.groupby("departement")[[column, "population_ref"]].sum()
    return sums[column] / sums["population_ref"]


def commune_populations(iris: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """Population of each commune of the IRIS contours, with its method.

    A commune keeps its legal population when its geography matches the IRIS contours
    (its population in the IRIS-population year equals the sum of its IRIS). When it
    absorbed other communes since, the population of its own IRIS is scaled by its
    growth; when it was absorbed, by the growth of its département.
    """
    iris_sum = iris.groupby("code_insee")["pop_total"].sum(min_count=1).rename("iris_sum")
    table = iris_sum.to_frame().join(communes.set_index("code_insee")[["nom", "population", "population_ref"]])
    table["departement"] = table.index.map(departement_of)
    dep_growth = departement_growth(table)
    same_geography = table["population_ref"].isna() | table["iris_sum"].isna() | \
        ((table["population_ref"] - table["iris_sum"]).abs() <= 1)
    has_legal = table["population"].notna()
    method = np.select([has_legal & same_geography, has_legal], ["legal", "estimated_changed"], "estimated_merged")
    population = np.select(
        [method == "legal", method == "estimated_changed"],
        [table["population"], table["iris_sum"] * table["population"] / table["population_ref"]],
        table["iris_sum"] * table["departement"].map(dep_growth).fillna(1.0),
    )
    return pd.DataFrame({"population": population, "population_method": method}, index=table.index)


def current_codes(codes: pd.Series, aliases: pd.DataFrame) -> pd.Series:
    """Commune codes carried to today's communes through the COG's former codes (chains followed)."""
    links = aliases[aliases["kind"] != "retablie"].set_index("code")["current"]
    for _ in range(5):
        moved = codes.map(links)
        if moved.isna().all():
            break
        codes = moved.fillna(codes)
    return codes


def place_population_rows(population: pd.DataFrame, contours: pd.Series, aliases: pd.DataFrame) -> pd.DataFrame:
    """The IRIS population rows keyed as the ``contours`` (their IRIS codes): a row whose IRIS is not in the
    contours, keyed under a former commune, takes the code of the same suffix under the current commune when the
    contours have it and no row gives it a population (an empty row there is replaced)."""
    outside = ~population["code_iris"].isin(contours)
    moved = current_codes(population["code_iris"].str[:5], aliases) + population["code_iris"].str[5:]
    populated = population.loc[population["pop_total"].fillna(0) > 0, "code_iris"]
    free = outside & moved.isin(set(contours) - set(populated)) & ~moved.where(outside).duplicated(keep=False)
    replaced = population["code_iris"].isin(moved[free])
    return population.assign(code_iris=population["code_iris"].where(~free, moved))[~replaced]


def complete_absorbed_communes(tables: SourceTables) -> SourceTables:
    """Give their inhabitants back to the IRIS of the communes absorbed by a commune nouvelle.

    The population rows are first keyed as the contours (:func:`place_population_rows`). When a
    commune merged since the IRIS-population year, the habitat IRIS of the absorbed communes
    (renumbered under the new code in the contours) may still have no population nor age bands,
    while the chef-lieu's IRIS take the whole legal population. Such empty IRIS of a current
    commune share equally the population of the rows left under its former codes (by the commune
    history); when there is none and the population file held the former chef-lieu only (the
    commune has former codes in the COG, a reference population and inhabitants), they share what
    its other IRIS do not hold of its population of the IRIS-population year, estimated as its
    legal population of the first millésime after it (``population_next``, else ``population``)
    divided by its département's growth. That total becomes its reference population, so that its
    IRIS add up to it. Returns the completed tables.
    """
    aliases = tables.cog.aliases
    placed = place_population_rows(tables.iris_population, tables.iris["code_iris"], aliases)
    left = placed[~placed["code_iris"].isin(tables.iris["code_iris"])]
    left_by_commune = left.groupby(current_codes(left["code_iris"].str[:5], aliases))["pop_total"].sum()
    iris = tables.iris[["code_iris", "code_insee", "typ_iris"]].assign(
        code_insee=lambda t: current_codes(t["code_insee"], aliases))
    iris = iris.merge(placed.drop(columns=["code_insee"]), on="code_iris", how="left")
    bands = [b for b in AGE_BANDS if b in iris.columns]
    empty = iris["pop_total"].fillna(0).eq(0) & (iris["typ_iris"] == "H") & iris[bands].isna().all(axis=1)
    communes = tables.communes.set_index("code_insee")
    column = "population_next" if "population_next" in communes else "population"
    eligible = communes.index[(communes[column] > 0) & communes["population_ref"].notna()
                              & communes.index.isin(aliases.loc[aliases["kind"] != "retablie", "current"])]
    receiving = empty & iris["code_insee"].isin(eligible.union(left_by_commune.index[left_by_commune > 0]))
    candidates = sorted(set(iris.loc[receiving, "code_insee"]))
    if not candidates:
        return replace(tables, iris_population=placed)
    growth = departement_growth(communes.drop(index=candidates, errors="ignore"), column)
    estimate = (communes[column].reindex(candidates)
                / communes["departement"].reindex(candidates).map(growth).fillna(1.0))
    held = iris[iris["code_insee"].isin(candidates)].groupby("code_insee")["pop_total"].sum()
    missing = left_by_commune.reindex(candidates).fillna((estimate - held).clip(lower=0))
    receivers = iris.loc[receiving].groupby("code_insee")["code_iris"].transform("size")
    completed = pd.Series((iris.loc[receiving, "code_insee"].map(missing) / receivers).to_numpy(),
                          index=iris.loc[receiving, "code_iris"])
    rows = placed.set_index("code_iris")
    rows = rows.reindex(rows.index.union(completed.index))
    rows["code_insee"] = rows["code_insee"].fillna(tables.iris.set_index("code_iris")["code_insee"]
                                                   .reindex(rows.index))
    rows.loc[completed.index, "pop_total"] = completed
    communes.loc[communes.index.intersection(candidates), "population_ref"] = held + missing
    limit = ("Communes nouvelles dont la population par IRIS ne comptait pas les communes absorbées ("
             f"{listed(communes['nom'].get(code, code) for code in candidates)}) : "
             "leurs IRIS reçoivent à parts égales la population de ces communes, estimée par l'évolution du "
             "département quand le fichier ne la donne pas.")
    return replace(tables, iris_population=rows.rename_axis("code_iris").reset_index(), communes=communes.reset_index(),
                   meta={**tables.meta, "limits": [*tables.meta.get("limits", []), limit]})


def build_iris_table(tables: SourceTables) -> gpd.GeoDataFrame:
    """IRIS contours joined with their population, shares and bands.

    ``code_insee`` is the current commune of each IRIS (COG), ``code_insee_2020`` the commune of
    the contours' edition: the IRIS of the communes merged since belong to the commune nouvelle.
    """
    iris = tables.iris.rename(columns={"code_insee": "code_insee_2020"})
    iris.insert(1, "code_insee", current_codes(iris["code_insee_2020"], tables.cog.aliases))
    iris = iris.merge(tables.iris_population.drop(columns=["code_insee"]), on="code_iris", how="left")
    counts = iris.groupby("code_insee")["code_iris"].transform("size")
    commune_total = iris.groupby("code_insee")["pop_total"].transform("sum")
    iris["share"] = np.where(commune_total > 0, iris["pop_total"].fillna(0) / commune_total, 1.0 / counts)
    iris["departement"] = iris["code_insee"].map(departement_of)
    iris["crs"] = iris["departement"].map(local_crs)
    return iris


def metric_geometry(iris: gpd.GeoDataFrame) -> pd.Series:
    """Each IRIS's geometry projected in the metric CRS of its département (column ``crs``), computed once."""
    metric = pd.Series(None, index=iris.index, dtype=object)
    for crs, group in iris.groupby("crs"):
        metric.loc[group.index] = np.asarray(group.geometry.to_crs(crs).array, dtype=object)
    return metric


def metric_bounds(metric: pd.Series) -> pd.DataFrame:
    """Bounding box (metres, local CRS), area and perimeter of each projected IRIS geometry."""
    geoms = np.asarray(metric.array, dtype=object)
    bounds = pd.DataFrame(shapely.bounds(geoms), columns=["xmin", "ymin", "xmax", "ymax"], index=metric.index)
    bounds["area_km2"] = shapely.area(geoms) / 1e6
    bounds["perimeter_m"] = shapely.length(geoms)
    return bounds


def restored_into(tables: SourceTables) -> pd.Series:
    """Communes re-established since the contours (index) → the commune whose IRIS draw them."""
    aliases = tables.cog.aliases
    restored = aliases[aliases["kind"] == "retablie"]
    return restored.set_index("code")["current"].rename("drawn_in")


def build_commune_table(iris: gpd.GeoDataFrame, tables: SourceTables) -> pd.DataFrame:
    """One row per commune of the contours: name, codes, population, postal codes, EPCI.

    A commune re-established since the contours has a row of its own (``n_iris`` 0, ``drawn_in``
    the commune whose IRIS cover it); the population of those IRIS is that of the whole group.
    """
    deps = departements_table().set_index("code_departement")
    source = tables.communes.set_index("code_insee")
    grouped = iris.groupby("code_insee", sort=True)
    table = pd.DataFrame({
        "nom": grouped["nom_commune"].first(),
        "n_iris": grouped.size(),
        "departement": grouped["departement"].first(),
    })
    table["nom"] = source["nom"].reindex(table.index).fillna(table["nom"])
    table["commune_parent"] = source["commune_parent"].reindex(table.index) if "commune_parent" in source else pd.NA
    table["region"] = source["region"].reindex(table.index).fillna(table["departement"].map(deps["code_region"]))
    table = table.join(commune_populations(iris, tables.communes))
    drawn_in = restored_into(tables)
    drawn_in = drawn_in[drawn_in.isin(table.index) & drawn_in.index.isin(source.index) & ~drawn_in.index.isin(table.index)]
    restored = pd.DataFrame({
        "nom": source.loc[drawn_in.index, "nom"], "n_iris": 0,
        "departement": source.loc[drawn_in.index, "departement"],
        "commune_parent": pd.NA, "region": source.loc[drawn_in.index, "region"],
        "population": source.loc[drawn_in.index, "population"], "population_method": "legal",
        "drawn_in": drawn_in})
    table = pd.concat([table, restored]).sort_index()
    table["group_population"] = table["population"].add(
        restored.groupby("drawn_in")["population"].sum().reindex(table.index), fill_value=0)
    postal = tables.postal_codes.sort_values("code_postal").groupby("code_insee")["code_postal"].agg(",".join)
    table["postal_codes"] = postal.reindex(table.index).fillna("")
    epci = source["epci"] if "epci" in source else tables.cog.commune_epci
    own_epci = pd.Series(epci.reindex(table.index).to_numpy(), index=table.index, dtype=object)
    table["epci"] = table["commune_parent"].map(epci).astype(object).fillna(own_epci).fillna("").astype(str)
    table["epci_nom"] = table["epci"].map(tables.cog.epci.set_index("code")["nom"]).astype(object).fillna("")
    table.index.name = "code_insee"
    return table.reset_index()


def age_reference(iris: pd.DataFrame) -> pd.DataFrame:
    """Age bands summed over the measured IRIS of each département and région."""
    bands = [b for b in AGE_BANDS if b in iris.columns and iris[b].notna().any()]
    measured = iris[iris[bands].notna().all(axis=1)] if bands else iris.iloc[0:0]
    rows = []
    for level, column in (("departement", "departement"), ("region", "region")):
        sums = measured.groupby(column)[["pop_total", *bands]].sum()
        sums.index.name = "code"
        rows.append(sums.reset_index().assign(level=level))
    return pd.concat(rows, ignore_index=True)


def prepare_bundle(tables: SourceTables, out_dir: Path, region: str | None = None,
                   departement: str | None = None, progress: bool = True,
                   tolerance: float = ADJACENCY_TOLERANCE_M, min_shared: float = ADJACENCY_MIN_SHARED_M) -> dict:
    """Build the bundle in ``out_dir`` from normalised source tables; returns its metadata."""
    log = Progress(progress)
    check_unique_codes(tables)
    keep = select_departements(tables, region, departement)
    if keep is not None:
        tables = tables.restrict(keep)
        log.step(f"Restriction aux départements {', '.join(sorted(keep))}")
    if tables.iris.empty:
        raise DataError("Aucun IRIS dans les données pour la zone demandée.")

    log.step(f"Préparation de {len(tables.iris):,} IRIS".replace(",", " "))
    tables = complete_absorbed_communes(tables)
    iris = build_iris_table(tables)
    communes = build_commune_table(iris, tables)
    log.step(f"{int((iris['code_insee'] != iris['code_insee_2020']).sum())} IRIS de communes fusionnées depuis les "
             f"contours rattachés à leur commune actuelle (COG {tables.cog.millesime or 'non fourni'})")
    iris = iris.merge(communes[["code_insee", "region", "group_population"]]
                      .rename(columns={"group_population": "commune_pop"}), on="code_insee")
    iris["population"] = iris["commune_pop"] * iris["share"]
    iris = iris.drop(columns=["commune_pop"])
    metric = metric_geometry(iris)
    iris = pd.concat([iris, metric_bounds(metric)], axis=1)

    log.step("Graphe d'adjacence des IRIS (STRtree, tolérance "
             f"{tolerance:g} m, frontière commune > {min_shared:g} m)")
    iris_edges = shared_borders_by_crs(iris["code_iris"], metric, iris["crs"], tolerance=tolerance,
                                       min_shared=min_shared)
    commune_edges = aggregate_edges(iris_edges, iris.set_index("code_iris")["code_insee"])
    log.step(f"{len(iris_edges):,} paires d'IRIS voisins, {len(commune_edges):,} paires de communes voisines"
             .replace(",", " "))
    iris = iris.sort_values("code_iris", ignore_index=True)
    iris["landmass"] = landmass_ids(ZoneGraph(iris["code_iris"], iris_edges))
    shared_total = pd.concat([iris_edges.set_index("a")["shared_m"], iris_edges.set_index("b")["shared_m"]])
    iris["open_m"] = (iris["perimeter_m"] - shared_total.groupby(level=0).sum().reindex(iris["code_iris"])
                      .fillna(0).to_numpy()).clip(lower=0).round(0)
    landmass = iris.groupby("code_insee")["landmass"].min()
    communes["landmass"] = communes["drawn_in"].fillna(communes["code_insee"]).map(landmass)
    communes["n_neighbours"] = communes["code_insee"].map(
        pd.concat([commune_edges["a"], commune_edges["b"]]).value_counts()).fillna(0).astype(int)

    out_dir = Path(out_dir)
    for sub in ("iris_shapes", "population", "reference"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    iris = iris.drop(columns=["nom_commune"])
    iris.to_parquet(out_dir / IRIS_FILE, index=False, compression="zstd")
    iris_edges.to_parquet(out_dir / IRIS_EDGES_FILE, index=False)
    commune_edges.to_parquet(out_dir / COMMUNE_EDGES_FILE, index=False)
    communes.to_parquet(out_dir / COMMUNES_FILE, index=False)
    age_reference(iris).to_parquet(out_dir / AGE_REFERENCE_FILE, index=False)
    qpv = tables.qpv.astype({c: str for c in tables.qpv.columns if c != "pop_qpv"})
    if len(qpv):
        qpv["code_insee"] = current_codes(qpv["code_insee"], tables.cog.aliases)
    qpv.to_parquet(out_dir / QPV_FILE, index=False)
    tables.aci.to_parquet(out_dir / ACI_FILE, index=False)
    aliases = tables.cog.aliases.copy()
    aliases["current"] = current_codes(aliases["current"], aliases)
    aliases.to_parquet(out_dir / ALIASES_FILE, index=False)
    tables.cog.epci.to_parquet(out_dir / EPCI_FILE, index=False)

    meta = {
        **tables.meta,
        "built": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpts_geo_version": __version__,
        "bundle_format": BUNDLE_FORMAT,
        "departements": sorted(iris["departement"].unique().tolist()),
        "counts": {"iris": int(len(iris)), "communes": int(len(communes)),
                   "iris_edges": int(len(iris_edges)), "commune_edges": int(len(commune_edges))},
        "adjacency": {"tolerance_m": tolerance, "min_shared_m": min_shared},
        "population_methods": POPULATION_METHODS,
        "cog_millesime": tables.cog.millesime,
    }
    (out_dir / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8")
    write_offer(Bundle.load(out_dir), tables.health)
    log.step(f"Bundle écrit dans {out_dir} (offre de soins dans {OFFER_DIR}/)")
    return meta
