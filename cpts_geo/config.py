"""Paths and constants shared by every layer."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

#: Where the prepared bundle lives (``data/`` of the project unless overridden).
DATA_DIR = Path(os.environ.get("CPTS_GEO_DATA", PROJECT_ROOT / "data"))

#: Local mirror of the open data, used by default by ``prepare`` when present.
DEFAULT_MIRROR = Path(os.environ.get("CPTS_GEO_MIRROR", PROJECT_ROOT.parent / "shared" / "data"))

#: Folder for downloads of the official files (``prepare --download``).
DOWNLOAD_DIR = Path(os.environ.get("CPTS_GEO_DOWNLOADS", DATA_DIR / "cache" / "downloads"))

#: Adjacency rule: two zones are neighbours when the part of the boundary of one
#: lying within ``ADJACENCY_TOLERANCE_M`` of the other is longer than
#: ``ADJACENCY_MIN_SHARED_M``. See docs/adjacency.md for the measurements behind it.
ADJACENCY_TOLERANCE_M = 5.0
ADJACENCY_MIN_SHARED_M = 20.0

#: A zone whose border shared with no other zone (sea, frontier, edge of the data) is
#: longer than this is "open": it can never be enclosed by a territory.
OPEN_BORDER_MIN_M = 200.0

#: CRS of the bundle's geometry (what web maps and GeoJSON want).
STORAGE_CRS = "EPSG:4326"

#: Metric CRS per territory: Lambert-93 for metropolitan France, local UTM overseas.
LOCAL_CRS_BY_DEPARTEMENT = {
    "971": "EPSG:5490",  # Guadeloupe, RGAF09 / UTM 20N
    "972": "EPSG:5490",  # Martinique, RGAF09 / UTM 20N
    "973": "EPSG:2972",  # Guyane, RGFG95 / UTM 22N
    "974": "EPSG:2975",  # La Réunion, RGR92 / UTM 40S
    "976": "EPSG:4471",  # Mayotte, RGM04 / UTM 38S
}
METROPOLE_CRS = "EPSG:2154"

#: Qualitative palette of the CPTS on every map (ColorBrewer Set3 and Paired), cycled.
CPTS_PALETTE = ("#8dd3c7", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#bc80bd", "#ccebc5",
                "#a6cee3", "#b2df8a", "#fb9a99", "#cab2d6", "#ffed6f", "#1f78b4", "#33a02c", "#6a3d9a")


def local_crs(departement: str) -> str:
    """Metric CRS to measure lengths and areas in a département."""
    return LOCAL_CRS_BY_DEPARTEMENT.get(departement, METROPOLE_CRS)


def departement_of(code_insee: str) -> str:
    """Département code of an INSEE commune code (``97x`` overseas, ``2A``/``2B`` Corsica)."""
    return code_insee[:3] if code_insee.startswith("97") else code_insee[:2]
