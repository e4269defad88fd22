"""Benchmark of the coverage proposals (run by hand: ``python bench/bench_planning.py``).

1. Speed. A région of about 1,000 real communes (PACA, 961) is split into 70 synthetic CPTS from its
   EPCI (tests/synthetic_registry.py: the largest EPCI cut into several CPTS, one EPCI in seven left
   white, three communes in two CPTS). Prints the time of :func:`cpts_geo.region.planning.propose` (target:
   at most 2 s after the data is loaded), of its two coverage reports (before, after) and of the
   proposals alone, with what the plan does; then the time of the plan of Occitanie with the example
   registry (docs/registry_example: only Aude and Pyrénées-Orientales covered, a white area of
   5.2 million inhabitants cut into new CPTS), with and without « respecter les EPCI ».
2. How close the plan comes to reality (``--agreement``): remove the CPTS of one département from a
   registry, plan the white area, and compare the plan's partition of the communes those CPTS held
   with theirs — adjusted Rand index (scikit-learn), 1 = the same partition, 0 = chance — beside the
   index of « one CPTS per EPCI ». Registries: the example registry (départements 66 and 11) and the
   synthetic PACA registry (its six départements; built from EPCI, so « one per EPCI » is near its truth).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sklearn.metrics import adjusted_rand_score  # noqa: E402

from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.region.coverage import area_of, coverage_report  # noqa: E402
from cpts_geo.region.planning import PlanSettings, outcome, propose  # noqa: E402
from cpts_geo.region.registry import read_registry  # noqa: E402
from tests.synthetic_registry import synthetic_registry  # noqa: E402

EXAMPLE = ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv"


def timed(action, repeat: int):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return times, result


def communes_partition(bundle, registry: dict[str, frozenset[str]]) -> dict[str, str]:
    """Commune → CPTS holding most of its population (whole-commune view of a registry)."""
    population = bundle.iris["population"]
    best = {}
    for name, codes in registry.items():
        for commune, held in population.reindex(list(codes)).groupby(bundle.iris["code_insee"].reindex(list(codes))).sum().items():
            if held > best.get(commune, (None, -1))[1]:
                best[commune] = (name, held)
    return {commune: name for commune, (name, _) in best.items()}


def agreement(bundle, registry: dict[str, frozenset[str]], departement: str, settings: PlanSettings) -> dict:
    """Remove the CPTS of ``departement`` (those with most of their population there), plan the white area,
    and compare the plan's partition of the communes the removed CPTS held with the real one (adjusted Rand
    index), and with « one CPTS per EPCI »."""
    dep_of = bundle.iris["departement"]
    population = bundle.iris["population"]
    removed = {name for name, codes in registry.items()
               if population.reindex(list(codes)).groupby(dep_of.reindex(list(codes))).sum().idxmax() == departement}
    kept = {name: codes for name, codes in registry.items() if name not in removed}
    real = communes_partition(bundle, {name: registry[name] for name in removed})
    real = {c: name for c, name in real.items() if bundle.communes.at[c, "departement"] == departement}
    start = time.perf_counter()
    plan = propose(bundle, kept, area_of(bundle, None, departement), settings)
    seconds = time.perf_counter() - start
    planned = communes_partition(bundle, plan.registry_after)
    communes = sorted(c for c in real if c in planned)
    epci = bundle.communes["epci"].reindex(communes).fillna("").tolist()
    truth = [real[c] for c in communes]
    new = [p for p in plan.proposals if p.new_name]
    return {"departement": departement, "removed": len(removed), "communes": len(communes),
            "plan": adjusted_rand_score(truth, [planned[c] for c in communes]),
            "one_per_epci": adjusted_rand_score(truth, epci), "new_cpts": len(new),
            "new_under_floor": sum(p.population < settings.floor for p in new),
            "new_population": sorted(round(p.population) for p in new),
            "real_population": sorted(round(population.reindex(list(registry[n])).sum()) for n in removed),
            "seconds": seconds}


def print_agreement(bundle, settings: PlanSettings, paca: dict[str, frozenset[str]]) -> None:
    """The adjusted Rand index of the plan and of « one CPTS per EPCI » per département, and their means."""
    example = read_registry(bundle, EXAMPLE).cpts
    cases = [("exemple", example, d) for d in ("66", "11")] + [("PACA synth.", paca, d)
                                                                for d in ("04", "05", "06", "13", "83", "84")]
    print(f"\nAgreement with the CPTS removed (adjusted Rand index; settings {settings}):")
    rows = []
    for label, registry, departement in cases:
        row = agreement(bundle, registry, departement, settings)
        rows.append((label, row))
        print(f"  {label} {departement}: {row['removed']} CPTS removed, {row['communes']} communes — plan "
              f"{row['plan']:.2f}, one per EPCI {row['one_per_epci']:.2f}; {row['new_cpts']} new CPTS "
              f"({row['new_under_floor']} under the floor) {row['new_population']}; real {row['real_population']}; "
              f"{row['seconds']:.1f} s")
    for label in dict.fromkeys(label for label, _ in rows):
        chosen = [row for lab, row in rows if lab == label]
        print(f"  mean over {label} ({len(chosen)} départements): plan "
              f"{statistics.mean(r['plan'] for r in chosen):.2f}, one per EPCI "
              f"{statistics.mean(r['one_per_epci'] for r in chosen):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", default="93", help="région (default 93, PACA: 961 communes)")
    parser.add_argument("--cpts", type=int, default=70, help="number of synthetic CPTS (default 70)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--agreement", action="store_true", help="also measure the agreement with real CPTS")
    parser.add_argument("--ignore-epci", action="store_true", help="agreement: plans without « respecter les EPCI »")
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
    example = read_registry(bundle, EXAMPLE).cpts
    for respect_epci in (True, False):
        times, plan = timed(lambda: propose(bundle, example, area_of(bundle, "76"), PlanSettings(respect_epci=respect_epci)),
                            1)
        new = [p.population for p in plan.proposals if p.new_name]
        print(f"Occitanie, example registry, respect_epci={respect_epci}: propose() {times[0]:.1f} s, "
              f"{len(new)} new CPTS ({min(new):,.0f}–{max(new):,.0f} inhabitants, median {statistics.median(new):,.0f})")
    if args.agreement:
        print_agreement(bundle, PlanSettings(respect_epci=not args.ignore_epci), registry)


if __name__ == "__main__":
    main()
