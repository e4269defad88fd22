"""Benchmark of the ARS view on all metropolitan France (run by hand: ``python bench/bench_coverage.py``).

A synthetic registry tiles France with about 800 CPTS: contiguous clusters of communes grown
from random seeds (nearest seed on the commune graph, like groupings of EPCI), with a few
clusters dropped (white zones) and a few communes given to two CPTS (overlaps). Prints the
time of the coverage report of all France and of each région (target: under 5 s after the
data is loaded, on 2 cores), and of the import of a 1,000-row CSV registry (read, validated,
saved in SQLite, and in PostgreSQL when ``$CPTS_GEO_TEST_PG`` is set). Then the printed maps (issue 20):
the coverage map of Occitanie with the example registry (16 CPTS) and with 164 synthetic CPTS (its EPCI), and
the map of a territory in pieces far apart (Mende + Brest): time to draw, to write the PDF, and its size (target:
drawn in under 5 s, PDF under 3 MB). Before / after, load average 1.5: Occitanie with the example registry
3.6 s drawn + 3.9 s written, 20.0 MB / 1.6 + 1.1 s, 1.7 MB; 164 CPTS 3.4 + 3.8 s, 18.1 MB / 2.6 + 1.4 s, 1.5 MB;
Mende + Brest (load average 3.6) 8.3 + 6.9 s, 23.7 MB / 0.2 + 0.4 s, 0.53 MB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import csgraph

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.data.codes import resolve_codes  # noqa: E402
from cpts_geo.region.coverage import area_of, coverage_report  # noqa: E402
from cpts_geo.exports.maps import coverage_map, save_figure, territory_map  # noqa: E402
from cpts_geo.region.registry import read_registry, save_registry  # noqa: E402
from cpts_geo.storage.store import open_store  # noqa: E402
from cpts_geo.territory.model import Territory  # noqa: E402
from tests.synthetic_registry import synthetic_registry  # noqa: E402

EXAMPLE = ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv"


def synthetic_commune_rows(bundle, count: int = 800, white_share: float = 0.02, overlap_share: float = 0.05,
                           seed: int = 0) -> pd.DataFrame:
    """``cpts, code_insee`` rows of ``count`` contiguous clusters tiling the communes of the bundle."""
    rng = np.random.default_rng(seed)
    graph = bundle.commune_graph
    seeds = np.sort(rng.choice(len(graph), size=count, replace=False))
    _, _, nearest = csgraph.dijkstra(graph.matrix, directed=False, indices=seeds, unweighted=True,
                                         min_only=True, return_predecessors=True)
    reached = nearest >= 0
    rows = pd.DataFrame({"cluster": np.searchsorted(seeds, nearest[reached]), "code_insee": graph.codes[reached]})
    dropped = rng.choice(count, size=int(count * white_share), replace=False)
    rows = rows[~rows["cluster"].isin(dropped)]
    edges = graph.matrix.tocoo()
    cluster_of = pd.Series(rows["cluster"].to_numpy(), index=rows["code_insee"])
    across = pd.DataFrame({"code_insee": graph.codes[edges.row], "other": graph.codes[edges.col]})
    across["cluster"] = across["other"].map(cluster_of)
    across = across[across["cluster"].notna() & (across["code_insee"].map(cluster_of) != across["cluster"])]
    lent = across.drop_duplicates("cluster").sample(frac=overlap_share, random_state=seed)
    rows = pd.concat([rows, lent[["cluster", "code_insee"]].astype({"cluster": int})], ignore_index=True)
    return pd.DataFrame({"cpts": "CPTS synthétique " + rows["cluster"].astype(str).str.zfill(3),
                         "code_insee": rows["code_insee"]})


def timed(func):
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def print_map(draw) -> str:
    """Time to draw a map page (``draw()``), to write its PDF, and the PDF's size."""
    draw_s, fig = timed(draw)
    pdf_s, pdf = timed(lambda: save_figure(fig, "pdf"))
    return f"drawn {draw_s:.2f} s, PDF written {pdf_s:.2f} s, {len(pdf) / 1e6:.2f} MB"


def print_maps(bundle) -> None:
    """The printed maps of issue 20 (see the module docstring)."""
    occitanie = area_of(bundle, "76")
    for label, registry in (("example registry", read_registry(bundle, EXAMPLE).cpts),
                            ("164 synthetic CPTS", synthetic_registry(bundle, "76", set(), 140, overlaps=5))):
        report = coverage_report(bundle, registry, occitanie)
        print(f"coverage map of Occitanie, {label}: " + print_map(lambda: coverage_map(bundle, registry, report)))
    pieces = Territory(resolve_codes(bundle, ["48095", "29019"]).iris, "Mende et Brest")
    print("map of Mende + Brest: " + print_map(lambda: territory_map(bundle, pieces)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None, help="bundle of all metropolitan France")
    parser.add_argument("--cpts", type=int, default=800)
    args = parser.parse_args()
    load_s, bundle = timed(lambda: Bundle.load(args.data))
    graph_s, _ = timed(lambda: (bundle.iris_graph, bundle.commune_graph, bundle.open_edge))
    rows = synthetic_commune_rows(bundle, args.cpts)
    with tempfile.TemporaryDirectory() as tmp:
        national = Path(tmp, "registre_national.csv")
        rows.to_csv(national, sep=";", index=False)
        read_s, imported = timed(lambda: read_registry(bundle, national))
        small = Path(tmp, "registre_1000.csv")
        rows.head(1000).to_csv(small, sep=";", index=False)
        small_s, small_import = timed(lambda: read_registry(bundle, small))
        sqlite_s, _ = timed(lambda: save_registry(bundle, open_store(Path(tmp, "store.sqlite")), small_import))
        dsn = os.environ.get("CPTS_GEO_TEST_PG")
        pg_s = timed(lambda: save_registry(bundle, open_store(dsn), small_import))[0] if dsn else None
    france_s, report = timed(lambda: coverage_report(bundle, imported.cpts, area_of(bundle)))
    regions = sorted(set(bundle.iris["region"]))
    regions_s, _ = timed(lambda: [coverage_report(bundle, imported.cpts, area_of(bundle, r)) for r in regions])
    print(f"bundle load {load_s:.2f} s, graphs {graph_s:.2f} s; {len(bundle.iris)} IRIS, {len(bundle.communes)} communes")
    print(f"synthetic registry: {len(imported.cpts)} CPTS, {len(rows)} rows; read + validated in {read_s:.2f} s")
    print(f"coverage of all France: {france_s:.2f} s (target < 5 s) — {len(report.white_zones)} white communes, "
          f"{len(report.overlaps)} overlapping pairs, {len(report.isolated)} isolated pieces, "
          f"{len(report.several_pieces)} CPTS in several pieces, {len(report.enclosed)} enclosed by another, "
          f"covered {report.covered_share:.1%}")
    print(f"coverage of the {len(regions)} régions one after the other: {regions_s:.2f} s")
    print(f"import of a 1,000-row registry: read + validated {small_s:.2f} s, saved with the dissolved perimeters "
          f"in SQLite {sqlite_s:.2f} s"
          + (f", in PostgreSQL/PostGIS {pg_s:.2f} s" if pg_s is not None else " (PostgreSQL: set CPTS_GEO_TEST_PG)"))
    print_maps(bundle)


if __name__ == "__main__":
    main()
