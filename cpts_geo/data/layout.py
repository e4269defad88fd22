"""The files of a prepared bundle and what they hold, shared by the writer (:mod:`cpts_geo.data.prepare`) and
the reader (:mod:`cpts_geo.data.bundle`)."""

from __future__ import annotations

import json
from pathlib import Path

IRIS_FILE = "iris_shapes/iris.parquet"
IRIS_EDGES_FILE = "iris_shapes/adjacency_iris.parquet"
COMMUNE_EDGES_FILE = "iris_shapes/adjacency_communes.parquet"
COMMUNES_FILE = "population/communes.parquet"
AGE_REFERENCE_FILE = "population/age_reference.parquet"
QPV_FILE = "population/qpv.parquet"
ACI_FILE = "population/aci.parquet"
ALIASES_FILE = "reference/aliases.parquet"
EPCI_FILE = "reference/epci.parquet"
META_FILE = "bundle.json"
#: Version of the bundle's layout: a bundle of another version is prepared again (``prepare --if-needed``).
BUNDLE_FORMAT = 4   # 3: the offer of care (offer/); 4: IRIS of the communes absorbed since 2016 populated

#: How a commune's population was obtained (values of ``population_method``).
POPULATION_METHODS = {
    "legal": "population municipale légale",
    "estimated_changed": "estimée : commune modifiée depuis les contours IRIS (population légale × part des IRIS)",
    "estimated_merged": "estimée : commune fusionnée depuis les contours IRIS (population IRIS × évolution du département)",
}


def bundle_is_current(out_dir: Path) -> bool:
    """True when ``out_dir`` holds a bundle of this version's layout (:data:`BUNDLE_FORMAT`)."""
    try:
        meta = json.loads((Path(out_dir) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return meta.get("bundle_format") == BUNDLE_FORMAT
