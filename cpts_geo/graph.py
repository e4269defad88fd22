"""Adjacency graph of zones (IRIS or communes).

Two zones are neighbours when they share a border of real length: the part of the
boundary of one that lies within ``tolerance`` metres of the other must be longer than
``min_shared`` metres. The tolerance absorbs the small gaps and overlaps of real
contours; the minimum length rejects contacts at a corner (docs/adjacency.md).

The graph is built once, vectorised (shapely STRtree + array operations), saved as an
edge table and loaded as a :class:`ZoneGraph` (scipy sparse matrix).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from cpts_geo.config import ADJACENCY_MIN_SHARED_M, ADJACENCY_TOLERANCE_M

EDGE_COLUMNS = ["a", "b", "shared_m"]


def shared_borders(codes, geometries, tolerance: float = ADJACENCY_TOLERANCE_M,
                   min_shared: float = ADJACENCY_MIN_SHARED_M) -> pd.DataFrame:
    """Edge table ``a, b, shared_m`` (a < b) of zones sharing a border.

    ``geometries`` must be in a metric CRS. ``shared_m`` is the length of the longer of
    the two one-sided measures (boundary of A near B, boundary of B near A).
    """
    codes = np.asarray(codes)
    geoms = np.asarray(geometries)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance)
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(geoms)
    grown = shapely.buffer(geoms, tolerance, quad_segs=2)
    one_way = shapely.length(shapely.intersection(boundaries[left], grown[right]))
    other_way = shapely.length(shapely.intersection(boundaries[right], grown[left]))
    shared = np.maximum(one_way, other_way)
    real = shared > min_shared
    a, b = codes[left[real]], codes[right[real]]
    swap = a > b
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    return pd.DataFrame({"a": a, "b": b, "shared_m": shared[real].round(1)}).sort_values(["a", "b"],
                                                                                          ignore_index=True)


def shared_borders_by_crs(zones: gpd.GeoDataFrame, code_column: str, crs_column: str, **rule) -> pd.DataFrame:
    """Edge table of ``zones``, each group of rows measured in the metric CRS named in ``crs_column``."""
    tables = [
        shared_borders(group[code_column], group.geometry.to_crs(crs).array, **rule)
        for crs, group in zones.groupby(crs_column, sort=True)
    ]
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=EDGE_COLUMNS)


def aggregate_edges(edges: pd.DataFrame, parent: pd.Series) -> pd.DataFrame:
    """Edges between parents (e.g. communes) from edges between children (IRIS).

    ``parent`` maps a child code to its parent code; the shared length of two parents
    is the sum over their child pairs.
    """
    up = pd.DataFrame({"a": edges["a"].map(parent), "b": edges["b"].map(parent), "shared_m": edges["shared_m"]})
    up = up[up["a"] != up["b"]]
    swap = up["a"] > up["b"]
    up.loc[swap, ["a", "b"]] = up.loc[swap, ["b", "a"]].to_numpy()
    return up.groupby(["a", "b"], as_index=False, sort=True)["shared_m"].sum()


class ZoneGraph:
    """Adjacency of zones as a sparse matrix over the sorted zone codes.

    Positions (0..n-1) follow ``codes``; every operation of the checks is a sparse
    matrix operation (scipy.sparse.csgraph), so it costs as much as the zones involved.
    """

    def __init__(self, codes, edges: pd.DataFrame):
        self.codes = np.asarray(codes, dtype=object)
        order = np.argsort(self.codes)
        if not (order == np.arange(len(order))).all():
            raise ValueError("ZoneGraph codes must be sorted")
        a = np.searchsorted(self.codes, edges["a"].to_numpy(dtype=object))
        b = np.searchsorted(self.codes, edges["b"].to_numpy(dtype=object))
        weights = edges["shared_m"].to_numpy(dtype=float)
        n = len(self.codes)
        self.matrix = sparse.csr_matrix((np.concatenate([weights, weights]),
                                         (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n))

    def __len__(self) -> int:
        return len(self.codes)

    @property
    def edge_count(self) -> int:
        return self.matrix.nnz // 2

    def positions(self, codes) -> np.ndarray:
        """Positions of known ``codes`` (unknown codes must be filtered before)."""
        return np.searchsorted(self.codes, np.asarray(list(codes), dtype=object))

    def mask(self, codes) -> np.ndarray:
        """Boolean mask over all zones, True for ``codes``."""
        mask = np.zeros(len(self.codes), dtype=bool)
        mask[self.positions(codes)] = True
        return mask

    def neighbours(self, code: str) -> list[str]:
        """Codes of the neighbours of one zone."""
        row = self.matrix[self.positions([code])[0]]
        return sorted(self.codes[row.indices])

    def components(self, mask: np.ndarray) -> list[np.ndarray]:
        """Connected pieces of the zones selected by ``mask``, largest first (arrays of positions)."""
        selected = np.flatnonzero(mask)
        if not len(selected):
            return []
        count, labels = csgraph.connected_components(self.matrix[selected][:, selected], directed=False)
        pieces = [selected[labels == k] for k in range(count)]
        return sorted(pieces, key=lambda p: (-len(p), p[0]))

    def touching(self, mask: np.ndarray) -> np.ndarray:
        """Mask of the zones outside ``mask`` that share a border with it."""
        return (self.matrix @ mask.astype(float) > 0) & ~mask

    def enclosed(self, covered: np.ndarray, candidates: np.ndarray, open_edge: np.ndarray) -> list[np.ndarray]:
        """Pieces of non-covered zones cut off by ``covered``.

        A piece of ``candidates`` (zones not covered, inside the area considered) is
        enclosed when none of its zones touches a zone that is neither covered nor a
        candidate, nor lies on ``open_edge`` (sea, frontier, edge of the data): it cannot
        be reached from outside without crossing ``covered``.
        """
        candidates = candidates & ~covered
        outside = ~covered & ~candidates
        leaks = candidates & ((self.matrix @ outside.astype(float) > 0) | open_edge)
        return [piece for piece in self.components(candidates) if not leaks[piece].any()]


def landmass_ids(graph: ZoneGraph) -> np.ndarray:
    """Id of the connected land mass of each zone (0 = the largest)."""
    count, labels = csgraph.connected_components(graph.matrix, directed=False)
    sizes = np.bincount(labels, minlength=count)
    rank = np.empty(count, dtype=int)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(count)
    return rank[labels]
