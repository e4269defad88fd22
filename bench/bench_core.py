"""Benchmark of the core on all metropolitan France (run by hand: ``python bench/bench_core.py``).

Prints: bundle load time and memory; graph build time against libpysal's Rook on the same
polygons (ratio, edges each finds); summary + checks time for a 50-IRIS territory
(target: under 20 ms once the data are loaded).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOAD_SNIPPET = """
import resource, time
t = time.perf_counter()
from cpts_geo.data.bundle import Bundle
b = Bundle.load({path!r}); b.iris_graph; b.commune_graph; b.iris_by_commune; b.open_edge
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure_load(path: Path) -> tuple[float, float]:
    """Seconds and peak MiB of a fresh process that imports the package and loads the bundle."""
    out = subprocess.run([sys.executable, "-c", LOAD_SNIPPET.format(path=str(path))], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def timed(func, repeat: int = 1):
    """Median seconds of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def fifty_iris_territory(bundle):
    """About 50 contiguous IRIS grown from Perpignan's centre (breadth-first on the graph)."""
    graph = bundle.iris_graph
    chosen, frontier = ["661360101"], ["661360101"]
    while len(chosen) < 50 and frontier:
        for neighbour in graph.neighbours(frontier.pop(0)):
            if neighbour not in chosen and len(chosen) < 50:
                chosen.append(neighbour)
                frontier.append(neighbour)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="prepared bundle of all France")
    parser.add_argument("--skip-libpysal", action="store_true")
    args = parser.parse_args()

    from cpts_geo.data.bundle import Bundle
    from cpts_geo.territory.checks import run_checks
    from cpts_geo.data.graph import shared_borders
    from cpts_geo.territory.model import Territory, summarize

    seconds, mib = measure_load(args.data)
    print(f"Bundle load (import + tables + both graphs), fresh process: {seconds:.2f} s, peak RSS {mib:.0f} MiB")

    bundle = Bundle.load(args.data)
    geometry = bundle.iris_geometry()
    geometry = geometry[~geometry["departement"].str.startswith("97")].to_crs("EPSG:2154")
    print(f"Metropolitan IRIS: {len(geometry):,}")
    build_s, edges = timed(lambda: shared_borders(geometry.index.to_numpy(), geometry.geometry.array))
    ours = {(a, b) for a, b in zip(edges["a"], edges["b"])}
    print(f"cpts_geo graph build: {build_s:.1f} s, {len(ours):,} edges")
    if not args.skip_libpysal:
        from libpysal.weights import Rook

        rook_s, rook = timed(lambda: Rook.from_dataframe(geometry.reset_index(drop=True), ids="code_iris",
                                                         use_index=False, silence_warnings=True))
        rook_pairs = {(min(a, b), max(a, b)) for a, ns in rook.neighbors.items() for b in ns}
        print(f"libpysal Rook: {rook_s:.1f} s, {len(rook_pairs):,} edges; time ratio ours/rook "
              f"{build_s / rook_s:.2f}")
        print(f"  edges libpysal misses: {len(ours - rook_pairs):,}; edges only libpysal has: "
              f"{len(rook_pairs - ours):,} (corner-only contacts or borders shorter than the minimum)")

    territory = Territory(frozenset(fifty_iris_territory(bundle)), "bench")
    run = lambda: (summarize(bundle, territory), run_checks(bundle, territory, {}))  # noqa: E731
    run()
    per_call, _ = timed(run, repeat=20)
    print(f"Summary + checks, {len(territory.iris)} IRIS: {per_call * 1000:.1f} ms (target < 20 ms)")
    print(f"(peak RSS of this benchmark process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
