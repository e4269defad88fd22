"""Adjacency graph of zones (IRIS or communes).

Two zones are neighbours when they share a border of real length: the part of the
boundary of one that lies within ``tolerance`` metres of the other must be longer than
``min_shared`` metres. The tolerance absorbs the small gaps and overlaps of real
contours; the minimum length rejects contacts at a corner (docs/adjacency.md).

The graph is built once, vectorised (shapely STRtree + array operations), saved as an
edge table and loaded as a :class:`ZoneGraph` (scipy sparse matrix).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from cpts_geo.config import ADJACENCY_MIN_SHARED_M, ADJACENCY_TOLERANCE_M, OPEN_BORDER_MIN_M

EDGE_COLUMNS = ["a", "b", "shared_m"]


def shared_borders(codes, geometries, tolerance: float = ADJACENCY_TOLERANCE_M,
                   min_shared: float = ADJACENCY_MIN_SHARED_M, open_min: float = OPEN_BORDER_MIN_M) -> pd.DataFrame:
    """Edge table ``a, b, shared_m`` (a < b) of zones sharing a border (the rule of docs/adjacency.md).

    ``geometries`` must be in a metric CRS. The rule's measure (``shared_m``) is the longer
    of the two one-sided lengths of boundary lying within ``tolerance`` of the other zone.
    Neighbours of a clean coverage have more than ``min_shared`` metres of identical
    segments: they are neighbours at once, and ``shared_m`` is that exactly shared length
    (a few metres less than the rule's measure, which adds the ends of the border). The
    buffer measure is taken for all other pairs within ``tolerance`` (slivers, T-junctions,
    corners) and for every pair of a zone whose boundary is shared exactly over less than
    its perimeter minus ``open_min`` metres, so that the open border (perimeter minus
    shared borders) of a zone is the rule's wherever it may exceed ``open_min``. The edge
    set is the buffer rule's: an exactly shared length never exceeds the rule's measure.
    """
    codes = np.asarray(codes)
    geoms = np.asarray(geometries)
    n = len(geoms)
    exact = _exactly_shared(geoms)
    pair, exact_m = exact.index.to_numpy(), exact.to_numpy()
    unshared = shapely.length(geoms) - np.bincount(np.concatenate([pair // n, pair % n]),
                                                   np.concatenate([exact_m, exact_m]), minlength=n)
    maybe_open = unshared > open_min
    sure = (exact_m > min_shared) & ~maybe_open[pair // n] & ~maybe_open[pair % n]
    pair, exact_m = pair[sure], exact_m[sure]
    bounds = shapely.bounds(geoms)
    left, right = shapely.STRtree(geoms).query(shapely.box(*(bounds + [-tolerance, -tolerance,
                                                                      tolerance, tolerance]).T))
    other = np.unique(np.minimum(left, right).astype(np.int64) * n + np.maximum(left, right))
    other = other[(other // n != other % n) & ~np.isin(other, pair)]
    near = geoms[np.unique(other // n)]
    shapely.prepare(near)          # prepared geometries answer dwithin through an index of their edges
    other = other[shapely.dwithin(geoms[other // n], geoms[other % n], tolerance)]
    shapely.destroy_prepared(near)
    measured = _within_tolerance(geoms, other // n, other % n, tolerance)
    pair = np.concatenate([pair, other])
    shared = np.concatenate([exact_m, measured])
    real = shared > min_shared
    a, b = codes[pair[real] // n], codes[pair[real] % n]
    swap = a > b
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    return pd.DataFrame({"a": a, "b": b, "shared_m": shared[real].round(1)}).sort_values(["a", "b"],
                                                                                          ignore_index=True)


def _exactly_shared(geoms) -> pd.Series:
    """Length of boundary segments shared by exactly two zones (same two vertices), by pair key ``a * n + b``, a < b."""
    rings, owner = shapely.get_parts(shapely.boundary(geoms), return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    vertex = _vertex_ids(xy)
    start = np.flatnonzero(ring[1:] == ring[:-1])
    v0, v1 = vertex[start], vertex[start + 1]
    segment = np.minimum(v0, v1) * (vertex.max() + 1) + np.maximum(v0, v1)
    order = np.argsort(segment)
    segment, start = segment[order], start[order]
    first = np.flatnonzero(np.concatenate([[True], segment[1:] != segment[:-1]]))
    twice = first[np.diff(np.append(first, len(segment))) == 2]
    a, b = owner[ring[start[twice]]].astype(np.int64), owner[ring[start[twice + 1]]].astype(np.int64)
    apart = a != b
    length = np.hypot(*(xy[start[twice] + 1] - xy[start[twice]]).T)
    return pd.Series(length[apart]).groupby(np.minimum(a, b)[apart] * len(geoms) + np.maximum(a, b)[apart]).sum()


def _vertex_ids(xy: np.ndarray) -> np.ndarray:
    """The same id for points with identical coordinates (x and y factorized on their bits, then the pair)."""
    bits = np.ascontiguousarray(xy).view(np.int64)
    x, xs = pd.factorize(bits[:, 0])
    y, ys = pd.factorize(bits[:, 1])
    return pd.factorize(x.astype(np.int64) * len(ys) + y)[0].astype(np.int64)


def _within_tolerance(geoms, a, b, tolerance: float) -> np.ndarray:
    """For each pair ``a, b``: the longer of the lengths of boundary of one lying within ``tolerance`` of the other."""
    if not len(a):
        return np.zeros(0)
    grown = np.empty(len(geoms), dtype=object)
    needed = np.unique(np.concatenate([a, b]))
    grown[needed] = shapely.buffer(geoms[needed], tolerance, quad_segs=2)
    boundary = np.empty(len(geoms), dtype=object)
    boundary[needed] = shapely.boundary(geoms[needed])
    return np.maximum(shapely.length(shapely.intersection(boundary[a], grown[b])),
                      shapely.length(shapely.intersection(boundary[b], grown[a])))


def shared_borders_by_crs(codes: pd.Series, metric: pd.Series, crs: pd.Series, **rule) -> pd.DataFrame:
    """Edge table of zones whose ``metric`` geometries are each in the metric CRS named in ``crs``
    (a zone is never a neighbour of a zone measured in another CRS)."""
    tables = [shared_borders(codes.loc[rows].to_numpy(), metric.loc[rows].to_numpy(), **rule)
              for _, rows in crs.groupby(crs, sort=True).groups.items()]
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
