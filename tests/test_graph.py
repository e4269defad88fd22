"""Adjacency graph: rule on synthetic squares and facts of the real IRIS contours."""

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import box

from cpts_geo.data.graph import ZoneGraph, aggregate_edges, landmass_ids, shared_borders

LLIVIA_NEIGHBOURS = {"66005", "66025", "66072", "66167", "66181", "66202", "66218"}


def pairs(edges):
    return {(a, b) for a, b in zip(edges["a"], edges["b"])}


def test_shared_border_rule_on_synthetic_squares():
    squares = {
        "A": box(0, 0, 100, 100),
        "B": box(100, 0, 200, 100),          # shares a 100 m edge with A
        "C": box(200, 100, 300, 200),        # touches B at one corner only
        "D": box(0, 102, 100, 202),          # 2 m gap along A: noise, still a neighbour
        "E": box(110, 112, 190, 212),        # 10 m or more from all others: isolated
    }
    edges = shared_borders(list(squares), list(squares.values()))
    assert pairs(edges) == {("A", "B"), ("A", "D")}
    assert edges.set_index(["a", "b"]).loc[("A", "B"), "shared_m"] >= 100


def test_commune_edges_sum_iris_borders():
    edges = shared_borders(["x1", "x2", "y1"], [box(0, 0, 50, 100), box(50, 0, 100, 100), box(100, 0, 200, 100)])
    up = aggregate_edges(edges, pd_series({"x1": "X", "x2": "X", "y1": "Y"}))
    assert pairs(up) == {("X", "Y")}
    assert 100 <= up["shared_m"].iat[0] <= 110


def pd_series(mapping):
    import pandas as pd
    return pd.Series(mapping)


def test_zone_graph_components_and_enclosure():
    # 3 x 3 grid; the ring of 8 cells encloses the centre.
    codes = [f"{r}{c}" for r in range(3) for c in range(3)]
    geoms = [box(c * 100, r * 100, c * 100 + 100, r * 100 + 100) for r in range(3) for c in range(3)]
    graph = ZoneGraph(codes, shared_borders(codes, geoms))
    assert graph.edge_count == 12                      # rook adjacency, no diagonal
    ring = graph.mask(set(codes) - {"11"})
    enclosed = graph.enclosed(ring, np.ones(9, bool), np.zeros(9, bool))
    assert [list(graph.codes[p]) for p in enclosed] == [["11"]]
    # the centre on an open edge (e.g. sea) is never enclosed
    assert graph.enclosed(ring, np.ones(9, bool), graph.mask({"11"})) == []
    diagonal = graph.mask({"00", "11", "22"})
    assert len(graph.components(diagonal)) == 3
    assert list(landmass_ids(graph)) == [0] * 9


def test_real_graph_counts(france, dep66):
    # 48,592 metropolitan IRIS 2020 + 129 overseas communes (one zone each, from the mirror);
    # 34,917 communes of today (COG 2026) with contours, restored communes and overseas included.
    assert france.meta["counts"] == {"iris": 48721, "communes": 34917,
                                     "iris_edges": france.iris_graph.edge_count,
                                     "commune_edges": france.commune_graph.edge_count}
    # 140,739 pairs share an exact edge; the tolerance adds pairs split by slivers a few metres wide.
    assert 140_739 <= france.iris_graph.edge_count <= 141_500
    # Département 66 alone: 846 pairs (844 exact + 2 across a sub-metre sliver, data README).
    assert dep66.iris_graph.edge_count == 846


def test_known_commune_neighbours(france):
    graph = france.commune_graph
    assert graph.neighbours("66028") == ["66037", "66136", "66186", "66189"]   # Cabestany
    assert len(graph.neighbours("66136")) == 15                                # Perpignan
    assert graph.neighbours("75101") == ["75102", "75103", "75104", "75106", "75107", "75108", "75109"]


def test_no_neighbours_across_the_sea(france):
    graph = france.commune_graph
    for island in ("29155", "85113", "29083"):          # Ouessant, Île d'Yeu, Île-de-Sein
        assert graph.neighbours(island) == []
    deps = france.communes["departement"]
    edges = france.commune_edges
    corsica = edges["a"].map(deps).isin(["2A", "2B"]) != edges["b"].map(deps).isin(["2A", "2B"])
    assert not corsica.any()
    belle_ile = france.communes.loc[["56009", "56114", "56152", "56241"], "landmass"]
    assert belle_ile.nunique() == 1 and belle_ile.iat[0] != 0
    assert france.communes.at["75101", "landmass"] == 0


def test_llivia_is_a_hole_not_a_commune(france):
    communes = france.commune_geometry(france.communes.index[france.communes["departement"] == "66"]).to_crs(2154)
    union = shapely.coverage_union_all(communes.geometry.array)
    holes = [shapely.Polygon(ring) for part in getattr(union, "geoms", [union]) for ring in part.interiors]
    assert len(holes) == 1 and abs(holes[0].area / 1e6 - 13.01) < 0.05
    around = set(communes.index[communes.intersects(holes[0].buffer(30))])
    assert around == LLIVIA_NEIGHBOURS
    # the communes on opposite sides of Llívia are not neighbours, and all are on an open border
    assert "66218" not in france.commune_graph.neighbours("66072")
    iris_around = [i for c in LLIVIA_NEIGHBOURS for i in france.iris_by_commune[c]]
    assert france.open_edge[france.iris_graph.positions(iris_around)].all()
    assert isinstance(communes, gpd.GeoDataFrame)


def test_edges_are_those_of_the_buffer_rule_on_real_contours(france):
    """The fast build gives the edge set of the rule measured on every pair (docs/adjacency.md), here on
    the 2,000+ IRIS of the Bouches-du-Rhône and the Var (Marseille's dense quarters, coast, islands)."""
    zones = france.iris_geometry(france.iris.index[france.iris["departement"].isin(["13", "83"])]).to_crs(2154)
    geoms, codes = zones.geometry.to_numpy(), zones.index.to_numpy()
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=5.0)
    left, right = left[left < right], right[left < right]
    grown = shapely.buffer(geoms, 5.0, quad_segs=2)
    rule = np.maximum(shapely.length(shapely.intersection(shapely.boundary(geoms[left]), grown[right])),
                      shapely.length(shapely.intersection(shapely.boundary(geoms[right]), grown[left])))
    expected = {tuple(sorted(p)) for p in zip(codes[left[rule > 20]], codes[right[rule > 20]])}
    edges = shared_borders(codes, geoms)
    assert len(expected) > 3_000 and pairs(edges) == expected
    measured = dict(zip(map(tuple, np.sort(np.stack([codes[left], codes[right]], axis=1), axis=1)), rule))
    assert all(0 < shared <= measured[(a, b)] + 0.1 for a, b, shared in edges.itertuples(index=False))
