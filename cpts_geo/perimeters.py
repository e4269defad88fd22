"""Neighbouring CPTS from a file: CSV of ``cpts;code`` rows, or GeoJSON/GeoPackage of perimeters.

A drawn perimeter is turned into IRIS: an IRIS belongs to a CPTS when more than half of its
area lies inside the perimeter, measured in the metric CRS of its département.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import PurePath

import geopandas as gpd
import pyogrio
import shapely

from cpts_geo.codes import MAX_UPLOAD_BYTES, NAME_COLUMNS, read_cpts_file, resolve_codes
from cpts_geo.config import STORAGE_CRS
from cpts_geo.errors import InputError

#: Share of an IRIS's area a perimeter must cover for the IRIS to count as inside.
MIN_OVERLAP_SHARE = 0.5
GEO_SUFFIXES = (".geojson", ".json", ".gpkg")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")


@dataclass
class NeighbourReport:
    """CPTS read from a file (name → IRIS codes) and French notes on how they were read."""

    cpts: dict[str, frozenset[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_neighbours(bundle, data: bytes, filename: str) -> NeighbourReport:
    """Neighbouring CPTS of an uploaded file, chosen by its extension."""
    suffix = PurePath(filename).suffix.lower()
    label = f"Le fichier « {filename} »"
    if suffix in TEXT_SUFFIXES:
        return _from_codes(bundle, read_cpts_file(data, label=label), label)
    if suffix in GEO_SUFFIXES:
        if len(data) > 10 * MAX_UPLOAD_BYTES:
            raise InputError(f"{label} est trop volumineux ({len(data) / 1e6:.0f} Mo ; maximum "
                             f"{10 * MAX_UPLOAD_BYTES / 1e6:.0f} Mo).")
        return iris_by_overlap(bundle, read_perimeters(data, label))
    raise InputError(f"{label} n'est pas d'un format reconnu (attendu : CSV « cpts;code », GeoJSON ou "
                     "GeoPackage).")


def _from_codes(bundle, codes_by_cpts: dict[str, list[str]], label: str) -> NeighbourReport:
    report = NeighbourReport()
    for name, codes in codes_by_cpts.items():
        resolved = resolve_codes(bundle, codes)
        if not resolved.ok:
            raise InputError(f"{label}, CPTS « {name} » : {resolved.message()}.")
        report.cpts[name] = resolved.iris
    return report


def read_perimeters(data: bytes, label: str) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Perimeters of a GeoJSON/GeoPackage, named, valid and in EPSG:4326, with notes on the fixes."""
    try:
        with warnings.catch_warnings():  # GDAL warns that an in-memory file has no extension
            warnings.simplefilter("ignore", RuntimeWarning)
            table = pyogrio.read_dataframe(data)
    except Exception as err:  # pyogrio and GDAL raise several error types for unreadable data
        raise InputError(f"{label} n'a pas pu être lu comme GeoJSON ou GeoPackage : fichier abîmé ou "
                         "d'un autre format.") from err
    if table.empty:
        raise InputError(f"{label} ne contient aucun périmètre.")
    if table.crs is None:
        raise InputError(f"{label} n'indique pas son système de coordonnées.")
    by_name = {str(c).lower().replace("_", "").replace(" ", ""): c for c in table.columns}
    name_column = next((by_name[n] for n in NAME_COLUMNS if n in by_name), None)
    if name_column is None:
        raise InputError(f"{label} doit avoir un attribut « cpts » ou « nom » donnant le nom de chaque CPTS "
                         f"(attributs lus : {', '.join(c for c in table.columns if c != 'geometry')}).")
    notes = []
    table = table[table.geometry.notna() & ~table.geometry.is_empty]
    invalid = ~table.geometry.is_valid
    if invalid.any():
        table.loc[invalid, "geometry"] = shapely.make_valid(table.geometry[invalid].array)
        notes.append(f"{int(invalid.sum())} géométrie(s) invalide(s) corrigée(s) (make_valid) : "
                     f"{', '.join(table.loc[invalid, name_column].astype(str))}.")
    table = table.to_crs(STORAGE_CRS)
    perimeters = table.dissolve(by=name_column)[["geometry"]]
    perimeters.index = perimeters.index.astype(str).str.strip()
    return perimeters, notes


def iris_by_overlap(bundle, read: tuple[gpd.GeoDataFrame, list[str]]) -> NeighbourReport:
    """IRIS of each perimeter: those whose area is more than half inside it (metric CRS)."""
    perimeters, notes = read
    iris = bundle.iris_geometry()
    report = NeighbourReport(notes=list(notes))
    for name, perimeter in perimeters.geometry.items():
        candidates = iris.iloc[iris.sindex.query(perimeter, predicate="intersects")]
        inside = []
        for crs, group in candidates.groupby("crs"):
            zones = group.geometry.to_crs(crs)
            shape = gpd.GeoSeries([perimeter], crs=STORAGE_CRS).to_crs(crs).iloc[0]
            share = shapely.area(shapely.intersection(zones.array, shape)) / shapely.area(zones.array)
            inside.extend(zones.index[share > MIN_OVERLAP_SHARE])
        if inside:
            report.cpts[name] = frozenset(inside)
        else:
            report.notes.append(f"CPTS « {name} » : aucun IRIS couvert à plus de 50 % (hors des données ?).")
    if not report.cpts:
        raise InputError("Aucun des périmètres du fichier ne couvre d'IRIS des données préparées.")
    return report
