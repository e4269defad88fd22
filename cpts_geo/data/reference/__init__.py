"""Small reference tables shipped with the package (codes and names of départements and régions)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
#: Collectivités d'outre-mer of the code officiel géographique (codes 975 to 989): French territory, but not a
#: département, outside the health system of the CPTS and the ARS.
OVERSEAS_COLLECTIVITIES = {"975": "Saint-Pierre-et-Miquelon", "977": "Saint-Barthélemy", "978": "Saint-Martin",
                           "984": "Terres australes et antarctiques françaises", "986": "Wallis-et-Futuna",
                           "987": "Polynésie française", "988": "Nouvelle-Calédonie", "989": "Île de Clipperton"}


@cache
def departements_table() -> pd.DataFrame:
    """Départements with their name and région: ``code_departement, nom_departement, code_region, nom_region``."""
    deps = pd.read_csv(HERE / "departements.csv", sep=";", dtype=str)
    regions = pd.read_csv(HERE / "regions.csv", sep=";", dtype=str)
    return deps.merge(regions, on="code_region", how="left")


def departement_label(code: str) -> str:
    """``Vaucluse (84)`` (``Département 99 (99)`` for an unknown code)."""
    names = departements_table().set_index("code_departement")["nom_departement"]
    return f"{names.get(code, f'Département {code}')} ({code})"


def region_name(code: str) -> str:
    """``Occitanie`` (``Région 99`` for an unknown code)."""
    names = departements_table().drop_duplicates("code_region").set_index("code_region")["nom_region"]
    return names.get(code, f"Région {code}")


def outside_cpts(code: str) -> str | None:
    """Why a commune or territory code of a collectivité d'outre-mer (``98714``, ``987``) has no CPTS, in French;
    None for any other code."""
    name = OVERSEAS_COLLECTIVITIES.get(str(code)[:3])
    return f"collectivité d'outre-mer ({name}), hors du champ des CPTS" if name else None
