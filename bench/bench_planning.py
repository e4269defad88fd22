"""Benchmark of the coverage proposals (run by hand: ``python bench/bench_planning.py``).

A région of about 1,000 real communes (PACA, 961) is split into 70 synthetic CPTS from its EPCI
(tests/synthetic_registry.py: the largest EPCI cut into several CPTS, one EPCI in seven left white,
three communes in two CPTS). Prints the time of :func:`cpts_geo.planning.propose` (target: at most
2 s after the data is loaded), of its two coverage reports (before, after) and of the proposals
alone, with what the plan does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.bundle import Bundle  # noqa: E402
from cpts_geo.coverage import area_of, coverage_report  # noqa: E402
from cpts_geo.planning import outcome, propose  # noqa: E402
from tests.synthetic_registry import synthetic_registry  # noqa: E402


def timed(action, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", default="93", help="région (default 93, PACA: 961 communes)")
    parser.add_argument("--cpts", type=int, default=70, help="number of synthetic CPTS (default 70)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()

    start = time.perf_counter()
    bundle = Bundle.load(args.data)
    bundle.iris_graph, bundle.commune_graph, bundle.offer      # noqa: B018 (loaded before timing)
    print(f"bundle loaded in {time.perf_counter() - start:.1f} s")
    epci = sorted(set(bundle.communes.loc[bundle.communes["region"] == args.region, "epci"].dropna()))
    registry = synthetic_registry(bundle, args.region, set(epci[::7]), args.cpts, overlaps=3)
    area = area_of(bundle, args.region)
    communes = int((bundle.communes["region"] == args.region).sum())
    print(f"{area.label}: {communes} communes, {int(area.mask.sum())} IRIS, {len(registry)} CPTS, "
          f"{len(epci[::7])} EPCI white of {len(epci)}")

    propose(bundle, registry, area)                                 # warm-up (caches of the bundle)
    plan_times, plan = timed(lambda: propose(bundle, registry, area), args.repeat)
    report_times, _ = timed(lambda: coverage_report(bundle, registry, area), args.repeat)
    median_plan, median_report = statistics.median(plan_times), statistics.median(report_times)
    print(f"propose(): median {median_plan:.2f} s, worst {max(plan_times):.2f} s over {args.repeat} runs "
          f"(target ≤ 2 s); of which two coverage reports ≈ {2 * median_report:.2f} s, "
          f"proposals ≈ {median_plan - 2 * median_report:.2f} s")
    kinds = {kind: sum(p.kind == kind for p in plan.proposals) for kind in ("isolated", "white", "overlap")}
    new = sum(p.to is None for p in plan.proposals)
    print(f"{len(plan.proposals)} proposals ({kinds}), {new} new CPTS, "
          f"{sum(p.to is not None and p.taille_before != p.taille_after for p in plan.proposals)} taille changes")
    before, after = outcome(plan.before), outcome(plan.after)
    for key in ("covered_share", "white_zones", "white_population", "overlaps", "cpts_per_taille", "aci_total_eur"):
        print(f"  {key}: {before[key]} → {after[key]}")
    print(f"  CPTS in several pieces: {len(before['several_pieces'])} → {len(after['several_pieces'])}")


if __name__ == "__main__":
    main()
