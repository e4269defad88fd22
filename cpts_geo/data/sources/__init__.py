"""Readers of the open data, normalised to one schema whatever the origin.

Every origin (the local mirror ``../shared/data``, a folder of official files, or the
official downloads) yields a :class:`SourceTables`:

``iris``  GeoDataFrame in EPSG:4326, one row per IRIS:
    ``code_iris, code_insee, nom_commune, nom_iris, typ_iris, geometry``
    (codes are strings; ``code_insee`` is the arrondissement in Paris/Lyon/Marseille).
``communes``  DataFrame, one row per commune or arrondissement municipal:
    ``code_insee, nom, type ('commune'|'arrondissement_municipal'), commune_parent,
    departement, region, population, population_ref`` where ``population`` is the
    legal population (PMUN) of ``meta['population_millesime']`` and ``population_ref``
    the PMUN of the IRIS-population year when known (else NA); optionally ``population_next``,
    the PMUN of the first millésime after the IRIS-population year (closer to it than ``population``).
``iris_population``  DataFrame, one row per IRIS:
    ``code_iris, code_insee, pop_total`` and the age bands found among
    ``AGE_BANDS`` (float, NA when absent).
``postal_codes``  DataFrame of (``code_insee``, ``code_postal``) pairs.
``qpv``  DataFrame ``code_qp, nom_qp, code_insee, pop_qpv`` (may be empty).
``aci``  DataFrame of the ACI amounts (columns of ``aci_cpts.csv``; may be empty).
``cog``  :class:`cpts_geo.data.sources.cog.Cog`: former codes of the current communes and the EPCI
    (empty when the origin has none: codes are then taken as they are in the contours).
``health``  :class:`cpts_geo.data.sources.health.HealthTables`: the offer-of-care sources (professionals,
    establishments, APL, nurse zoning), all of France as read (empty tables when absent).
``meta``  dict: ``iris_edition``, ``iris_source``, ``population_millesime``,
    ``population_source``, ``population_census_years`` (optional: département → year of the census its
    populations repeat, Mayotte), ``iris_population_year``, ``iris_population_source``,
    ``postal_source``, ``qpv_source``, ``limits`` (list of French sentences).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from cpts_geo.data.sources.cog import Cog, empty_cog
from cpts_geo.data.sources.health import HealthTables

#: Age bands of the INSEE "base infracommunale" population files, as bundle columns.
AGE_BANDS = ("pop_0014", "pop_1529", "pop_3044", "pop_4559", "pop_6074", "pop_75p", "pop_65p", "pop_80p")


@dataclass
class SourceTables:
    """The normalised open data that ``prepare`` turns into a bundle."""

    iris: gpd.GeoDataFrame
    communes: pd.DataFrame
    iris_population: pd.DataFrame
    postal_codes: pd.DataFrame
    qpv: pd.DataFrame = field(default_factory=pd.DataFrame)
    aci: pd.DataFrame = field(default_factory=pd.DataFrame)
    cog: Cog = field(default_factory=empty_cog)
    health: HealthTables = field(default_factory=HealthTables)
    meta: dict = field(default_factory=dict)

    def restrict(self, departements: set[str]) -> "SourceTables":
        """Keep only the rows of the given départements."""
        from cpts_geo.config import departement_of

        def keep(codes: pd.Series) -> pd.Series:
            return codes.map(departement_of).isin(departements)

        return SourceTables(
            iris=self.iris[keep(self.iris["code_insee"])].reset_index(drop=True),
            communes=self.communes[self.communes["departement"].isin(departements)].reset_index(drop=True),
            iris_population=self.iris_population[keep(self.iris_population["code_insee"])].reset_index(drop=True),
            postal_codes=self.postal_codes[keep(self.postal_codes["code_insee"])].reset_index(drop=True),
            qpv=self.qpv[keep(self.qpv["code_insee"])].reset_index(drop=True) if len(self.qpv) else self.qpv,
            aci=self.aci,
            cog=self.cog,
            health=self.health,
            meta=dict(self.meta),
        )
