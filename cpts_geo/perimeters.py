"""Neighbouring CPTS from an uploaded file, read with the registry readers.

A CSV of ``cpts;code`` rows or a GeoJSON/GeoPackage/zipped Shapefile of perimeters (an IRIS
belongs to a CPTS when more than half of its area is inside, see :mod:`cpts_geo.registry`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath

from cpts_geo.errors import InputError
from cpts_geo.registry import (ARCHIVE_SUFFIXES, TEXT_SUFFIXES, VECTOR_SUFFIXES, RegistryImport, max_registry_bytes,
                               read_registry)
from cpts_geo.sources.readers import check_size


def read_neighbours(bundle, data: bytes, filename: str) -> RegistryImport:
    """Neighbouring CPTS of an uploaded file, chosen by its extension; what was ignored is in the report."""
    name = PurePath(filename).name
    suffix = PurePath(name).suffix.lower()
    label = f"Le fichier « {name} »"
    if suffix not in TEXT_SUFFIXES + VECTOR_SUFFIXES + ARCHIVE_SUFFIXES:
        raise InputError(f"{label} n'est pas d'un format reconnu (attendu : CSV « cpts;code », GeoJSON, "
                         "GeoPackage ou Shapefile zippé).")
    check_size(label, len(data), max_registry_bytes(name))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        imported = read_registry(bundle, path)
    if not imported.cpts:
        raise InputError(f"{label} ne donne aucune CPTS utilisable. {imported.message()}")
    return imported
