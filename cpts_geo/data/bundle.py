"""Load a prepared data bundle (see :mod:`cpts_geo.data.prepare`)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cpts_geo.data import layout as files
from cpts_geo.config import DATA_DIR, OPEN_BORDER_MIN_M
from cpts_geo.errors import DataError
from cpts_geo.data.graph import ZoneGraph
from cpts_geo.data.offer_tables import OFFER_DIR, OfferData
from cpts_geo.data.reference import departements_table
from cpts_geo.data.sources import AGE_BANDS


@contextmanager
def readable(where: Path):
    """Turn a missing, truncated or garbled file of the bundle (``where``: the file or folder read) into a French
    :class:`DataError` asking to prepare the data again."""
    try:
        yield
    except (OSError, ValueError, pa.ArrowException) as err:
        raise DataError(f"Données préparées illisibles : relancez `python -m cpts_geo prepare` "
                        f"({getattr(err, 'filename', None) or where} manquant ou abîmé).") from err


def read_table(path: Path, **options) -> pd.DataFrame:
    """One Parquet table of the bundle, read within :func:`readable`."""
    with readable(path):
        return pd.read_parquet(path, **options)


@dataclass
class Bundle:
    """The reference data a territory is computed from.

    ``iris`` and ``communes`` are indexed by code; geometry is read only when asked
    (:meth:`iris_geometry`), so that loading stays fast.
    """

    path: Path
    meta: dict
    iris: pd.DataFrame
    communes: pd.DataFrame
    iris_edges: pd.DataFrame
    commune_edges: pd.DataFrame
    age_reference: pd.DataFrame
    qpv: pd.DataFrame
    aci: pd.DataFrame
    aliases: pd.DataFrame
    epci: pd.DataFrame
    _geometry: gpd.GeoSeries | None = field(default=None, repr=False)

    @classmethod
    def load(cls, path: Path | str | None = None) -> "Bundle":
        """Read the bundle at ``path`` (default: ``data/`` or ``$CPTS_GEO_DATA``), geometry excepted."""
        path = Path(path or DATA_DIR)
        meta_file = path / files.META_FILE
        if not meta_file.exists():
            raise DataError(f"Aucune donnée préparée dans {path} : lancez d'abord "
                            "« python -m cpts_geo prepare ».")
        if not files.bundle_is_current(path):
            raise DataError(f"Les données préparées dans {path} viennent d'une version antérieure de cpts-geo : "
                            "relancez « python -m cpts_geo prepare ».")
        with readable(path / files.IRIS_FILE):
            iris_columns = [c for c in pq.read_schema(path / files.IRIS_FILE).names if c != "geometry"]
        with readable(meta_file):
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
        return cls(
            path=path,
            meta=meta,
            iris=read_table(path / files.IRIS_FILE, columns=iris_columns).set_index("code_iris", drop=False),
            communes=read_table(path / files.COMMUNES_FILE).set_index("code_insee", drop=False),
            iris_edges=read_table(path / files.IRIS_EDGES_FILE),
            commune_edges=read_table(path / files.COMMUNE_EDGES_FILE),
            age_reference=read_table(path / files.AGE_REFERENCE_FILE),
            qpv=read_table(path / files.QPV_FILE),
            aci=read_table(path / files.ACI_FILE),
            aliases=read_table(path / files.ALIASES_FILE).set_index("code", drop=False),
            epci=read_table(path / files.EPCI_FILE).set_index("code", drop=False),
        )

    def warm_up(self) -> "Bundle":
        """Build now what the first click of a page needs (graphs, IRIS by commune, offer), not at that click."""
        for built_at_first_use in ("iris_graph", "commune_graph", "iris_by_commune", "commune_of_iris",
                                   "epci_communes", "age_reference_sums", "offer"):
            getattr(self, built_at_first_use)
        return self

    @cached_property
    def offer(self) -> OfferData:
        """The offer of care (``offer/``), read at first use."""
        with readable(self.path / OFFER_DIR):
            return OfferData.load(self.path)

    @cached_property
    def iris_graph(self) -> ZoneGraph:
        """Adjacency graph of the IRIS (positions follow ``self.iris`` rows)."""
        return ZoneGraph(self.iris.index, self.iris_edges)

    @cached_property
    def commune_graph(self) -> ZoneGraph:
        """Adjacency graph of the communes (a commune is the union of its IRIS)."""
        return ZoneGraph(self.communes.index, self.commune_edges)

    @cached_property
    def open_edge(self) -> np.ndarray:
        """Mask of the IRIS on the sea, a frontier or the edge of the data (never enclosed)."""
        return self.iris["open_m"].to_numpy() > OPEN_BORDER_MIN_M

    @cached_property
    def age_bands(self) -> list[str]:
        """Age-band columns that hold data in this bundle (e.g. no 65+ and 80+ in RP 2016)."""
        return [b for b in AGE_BANDS if b in self.iris.columns and self.iris[b].notna().any()]

    @cached_property
    def age_reference_sums(self) -> dict[tuple[str, str], dict[str, float]]:
        """Population by age band of each département and région: ``(level, code)`` → band → sum."""
        table = self.age_reference.set_index(["level", "code"])
        return dict(zip(table.index, table.to_dict(orient="records")))

    @cached_property
    def iris_by_commune(self) -> dict[str, tuple[str, ...]]:
        """The IRIS codes of each current commune, sorted (those of its former communes included).

        A commune re-established since the contours gets the IRIS that draw it (shared with the
        commune it had joined, see ``communes.drawn_in``)."""
        table = self.iris[["code_insee", "code_iris"]].reset_index(drop=True).sort_values(["code_insee", "code_iris"])
        communes, codes = table["code_insee"].to_numpy(dtype=object), table["code_iris"].to_numpy(dtype=object)
        starts = np.flatnonzero(np.r_[True, communes[1:] != communes[:-1]])
        by_commune = {communes[start]: tuple(codes[start:end]) for start, end in zip(starts, [*starts[1:], len(codes)])}
        by_commune.update({code: by_commune[owner] for code, owner in self.restored_communes.items()
                           if owner in by_commune})
        return by_commune

    @cached_property
    def arrondissements(self) -> dict[str, tuple[str, ...]]:
        """Paris, Lyon and Marseille (``75056``, ``69123``, ``13055``) → the codes of their arrondissements."""
        parents = self.communes["commune_parent"].dropna() if "commune_parent" in self.communes else pd.Series(dtype=object)
        return {parent: tuple(sorted(group.index)) for parent, group in parents.groupby(parents)}

    def arrondissements_or_commune(self, code_insee: str) -> tuple[str, ...]:
        """The communes a code stands for: the arrondissements of Paris, Lyon or Marseille, else the commune."""
        return self.arrondissements.get(code_insee, (code_insee,))

    @cached_property
    def restored_communes(self) -> dict[str, str]:
        """Communes re-established since the contours → the commune whose IRIS draw them."""
        if "drawn_in" not in self.communes:
            return {}
        return self.communes["drawn_in"].dropna().to_dict()

    @cached_property
    def commune_of_iris(self) -> dict[str, str]:
        """IRIS code → its current commune (not always the code's first five characters)."""
        return dict(zip(self.iris["code_iris"], self.iris["code_insee"]))

    @cached_property
    def epci_communes(self) -> dict[str, tuple[str, ...]]:
        """The communes of each EPCI present in the bundle (its members outside the bundle are left out)."""
        communes = self.communes[self.communes["epci"].fillna("") != ""] if "epci" in self.communes else \
            self.communes.iloc[0:0]
        return {code: tuple(sorted(group)) for code, group in communes.groupby("epci")["code_insee"]}

    def epci_iris(self, epci: str) -> frozenset[str]:
        """The IRIS of an EPCI's communes."""
        return frozenset(i for commune in self.epci_communes.get(epci, ()) for i in self.iris_by_commune[commune])

    def communes_of(self, iris_codes) -> set[str]:
        """Current communes of some IRIS codes known to the bundle."""
        commune_of = self.commune_of_iris
        return {commune_of[code] for code in iris_codes}

    @cached_property
    def departements(self) -> pd.DataFrame:
        """Départements present in the bundle, with their names and région."""
        present = set(self.communes["departement"])
        table = departements_table()
        return table[table["code_departement"].isin(present)].reset_index(drop=True)

    def iris_geometry(self, codes=None) -> gpd.GeoDataFrame:
        """IRIS with their geometry (EPSG:4326), all of them or only ``codes``."""
        if self._geometry is None:
            with readable(self.path / files.IRIS_FILE):
                self._geometry = gpd.read_parquet(self.path / files.IRIS_FILE,
                                                  columns=["code_iris", "geometry"]).set_index("code_iris").geometry
        geometry = self._geometry if codes is None else self._geometry.loc[list(codes)]
        return gpd.GeoDataFrame(self.iris.loc[geometry.index], geometry=geometry, crs=geometry.crs)

    def territory_shapes(self, territories: dict[str, frozenset[str]]) -> gpd.GeoDataFrame:
        """One dissolved shape per territory (index: its name; EPSG:4326), from its IRIS known to the bundle."""
        known = {code for codes in territories.values() for code in codes if code in self.iris.index}
        return dissolve_territories(self.iris_geometry(sorted(known)).geometry, territories)

    def commune_geometry(self, codes=None) -> gpd.GeoDataFrame:
        """Communes dissolved from their IRIS (EPSG:4326), all of them or only ``codes``."""
        iris_codes = None if codes is None else [i for c in codes for i in self.iris_by_commune[c]]
        iris = self.iris_geometry(iris_codes)
        dissolved = iris[["code_insee", "geometry"]].dissolve(by="code_insee", method="coverage")
        return gpd.GeoDataFrame(self.communes.loc[dissolved.index], geometry=dissolved.geometry, crs=iris.crs)


def dissolve_territories(iris: gpd.GeoSeries, territories: dict[str, frozenset[str]]) -> gpd.GeoDataFrame:
    """One shape per territory (index: its name) dissolved from the ``iris`` geometries (indexed by code)
    of its IRIS; IRIS absent from ``iris`` are left out."""
    pairs = [(name, code) for name, codes in territories.items() for code in sorted(codes) if code in iris.index]
    names, codes = zip(*pairs) if pairs else ((), ())
    frame = gpd.GeoDataFrame({"name": names}, geometry=iris.loc[list(codes)].to_numpy(), crs=iris.crs)
    return frame.dissolve(by="name")
