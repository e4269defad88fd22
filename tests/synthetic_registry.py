"""A synthetic registry of a whole région built from its real communes (tests and bench/bench_planning.py).

Each EPCI of the région is a CPTS, except the EPCI left white; the most populated EPCI are cut
into several CPTS (runs of a breadth-first order on the commune graph) until there are
``cpts_count`` CPTS (each part in one piece but the last); ``overlaps`` communes on the border of two CPTS are put in both (no two of them neighbours).
"""

from __future__ import annotations

from scipy.sparse import csgraph


def _split(bundle, communes: list[str], parts: int) -> list[list[str]]:
    """``parts`` runs of communes: each but the last is the first communes of a breadth-first order on the
    commune graph from the first commune left (so it is in one piece); the last is what is left."""
    graph = bundle.commune_graph
    left = list(communes)
    runs = []
    for k in range(parts - 1):
        positions = graph.positions(left)
        order = csgraph.breadth_first_order(graph.matrix[positions][:, positions], 0, directed=False,
                                            return_predecessors=False)
        taken = {left[i] for i in order[:max(1, len(left) // (parts - k))]}
        runs.append(sorted(taken))
        left = [c for c in left if c not in taken]
    return runs + [left]


def synthetic_registry(bundle, region: str, white_epci: set[str], cpts_count: int,
                       overlaps: int = 0) -> dict[str, frozenset[str]]:
    """CPTS name → IRIS codes, from the EPCI of ``region`` (see the module docstring)."""
    communes = bundle.communes[(bundle.communes["region"] == region) & bundle.communes["epci"].notna()]
    groups = {epci: sorted(group["code_insee"]) for epci, group in communes.groupby("epci")
              if epci not in white_epci}
    parts = dict.fromkeys(groups, 1)
    population = communes.groupby("epci")["population"].sum()
    while sum(parts.values()) < cpts_count:
        splittable = [e for e in groups if len(groups[e]) > parts[e]]
        parts[max(splittable, key=lambda e: (population[e] / parts[e], e))] += 1
    registry = {}
    for epci, members in groups.items():
        for k, run in enumerate(_split(bundle, members, parts[epci])):
            name = f"CPTS {bundle.epci['nom'].get(epci, epci)}" + (f" {k + 1}" if parts[epci] > 1 else "")
            registry[name] = {i for c in run for i in bundle.iris_by_commune[c]}
    cpts_of = {c: name for name, codes in registry.items() for c in bundle.communes_of(codes)}
    edges = bundle.commune_edges
    shared, near = [], set()
    for a, b in zip(edges["a"], edges["b"]):
        if len(shared) == overlaps:
            break
        if a in cpts_of and b in cpts_of and cpts_of[a] != cpts_of[b] and not {a, b} & near:
            registry[cpts_of[b]] |= set(bundle.iris_by_commune[a])
            shared.append(a)
            near |= {a, b}
    return {name: frozenset(codes) for name, codes in registry.items()}
