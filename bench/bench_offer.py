"""Benchmark of the offer of care (by hand): what it adds to summary + checks of a 50-IRIS territory
(target ≤ 5 ms), and the size of the establishments map layer of each département (target ≤ 300 kB).

    python bench/bench_offer.py [--data data]

Measured 2026-12-01 on 2 cores (load ≈ 4 from other jobs), all France with the mirror's offer:
summary + checks of the 50-IRIS territory 21.8 ms, with the offer 24.9 ms; the offer alone 2.3 ms
(≤ 5 ms: met); first call, tables read and indexed, 0.3 s.
2026-12-02 (load 2.5–6 on 2 cores): the offer alone 1.3–2.8 ms; the drawing page's panel (offer and its French
tables) 7–11 ms at best, 23–30 ms on average under that load. Establishments layer as sent to the map (one layer
per group, escaped name, type and FINESS number on hover): Haute-Garonne (31) the largest, 244 kB for 1,183
points (≤ 300 kB: met); Hérault 235 kB, Pyrénées-Orientales 100 kB. The APL layer sends only a colour per
commune (5 kB for the 66: the IRIS are already in the browser).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from bench_core import fifty_iris_territory, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="prepared bundle (all France)")
    args = parser.parse_args()

    from cpts_geo.data.bundle import Bundle
    from cpts_geo.territory.checks import run_checks
    from cpts_geo.territory.offer import offer_panel, territory_offer
    from cpts_geo.web.webmap import MapData, establishments_layer
    from cpts_geo.territory.model import Territory, summarize

    bundle = Bundle.load(args.data)
    territory = Territory(frozenset(fifty_iris_territory(bundle)), "bench")
    base = lambda: (summarize(bundle, territory), run_checks(bundle, territory, {}))  # noqa: E731
    base()
    start = time.perf_counter()
    territory_offer(bundle, territory.iris)
    first = time.perf_counter() - start
    without, _ = timed(base, repeat=30)
    with_offer, _ = timed(lambda: (base(), territory_offer(bundle, territory.iris)), repeat=30)
    alone, _ = timed(lambda: territory_offer(bundle, territory.iris), repeat=30)
    print(f"Summary + checks, {len(territory.iris)} IRIS: {without * 1000:.1f} ms; with the offer "
          f"{with_offer * 1000:.1f} ms; the offer alone {alone * 1000:.2f} ms (target ≤ 5 ms added); "
          f"first call, tables read and indexed: {first * 1000:.0f} ms")
    panel, _ = timed(lambda: offer_panel(territory_offer(bundle, territory.iris)), repeat=30)
    print(f"The drawing page's « Offre de soins » panel (offer and its French tables): {panel * 1000:.1f} ms")

    sizes, map_data = {}, MapData(bundle)
    for departement in sorted(bundle.offer.covered("establishments")):
        layer = establishments_layer(map_data.area([departement]), bundle.offer)
        sizes[departement] = (len(json.dumps(layer, ensure_ascii=False).encode()),
                              sum(len(group["features"]["features"]) for group in layer["layers"]))
    if sizes:
        largest = max(sizes, key=lambda d: sizes[d][0])
        print(f"Establishments map layer as sent to the browser (points, escaped names on hover), "
              f"{len(sizes)} départements: largest {largest} "
              f"{sizes[largest][0] / 1000:.0f} kB for {sizes[largest][1]} points (target ≤ 300 kB); "
              + ", ".join(f"{d} {s / 1000:.0f} kB" for d, (s, _) in sizes.items()))


if __name__ == "__main__":
    main()
