"""Neighbouring CPTS from an uploaded file, read with the registry readers.

A CSV of ``cpts;code`` rows or a GeoJSON/GeoPackage/zipped Shapefile of perimeters (an IRIS
belongs to a CPTS when more than half of its area is inside, see :mod:`cpts_geo.region.registry`).
"""

from __future__ import annotations

from cpts_geo.errors import InputError
from cpts_geo.region.registry import RegistryImport, read_registry_upload
from cpts_geo.data.sources.readers import upload_name


def read_neighbours(bundle, data: bytes, filename: str) -> RegistryImport:
    """Neighbouring CPTS of an uploaded file, chosen by its extension; what was ignored is in the report."""
    imported = read_registry_upload(bundle, data, filename)
    if not imported.cpts:
        raise InputError(f"Le fichier « {upload_name(filename)} » ne donne aucune CPTS utilisable. "
                         f"{imported.message()}")
    return imported
