"""Small reference tables shipped with the package (codes and names of départements and régions)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent


@cache
def departements_table() -> pd.DataFrame:
    """Départements with their name and région: ``code_departement, nom_departement, code_region, nom_region``."""
    deps = pd.read_csv(HERE / "departements.csv", sep=";", dtype=str)
    regions = pd.read_csv(HERE / "regions.csv", sep=";", dtype=str)
    return deps.merge(regions, on="code_region", how="left")
