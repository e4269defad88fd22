"""The layers of the package (README « Layers »): a module imports only from its own layer or lower ones, no two
modules import each other, even through others, and every module belongs to a declared layer.

Imports are read with ``ast`` at any depth (inside functions too, ``TYPE_CHECKING`` blocks included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parent.parent / "cpts_geo"

#: The layers, lowest first: (name, the modules it holds — a package holds its modules). Same rank, same level.
LAYERS = (
    (0, "bottom", ("cpts_geo", "cpts_geo.errors", "cpts_geo.config", "cpts_geo.formatting", "cpts_geo.user_text")),
    (1, "data", ("cpts_geo.data",)),
    (2, "territory", ("cpts_geo.territory",)),
    (3, "exports", ("cpts_geo.exports",)),
    (3, "storage", ("cpts_geo.storage",)),
    (4, "region", ("cpts_geo.region",)),
    (5, "web", ("cpts_geo.web",)),
    (6, "commands", ("cpts_geo.commands", "cpts_geo.__main__")),
)


def package_sources(package: Path = PACKAGE) -> dict[str, tuple[Path, str]]:
    """Every module of the package: dotted name → (path, source)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = (path, path.read_text(encoding="utf-8"))
    return modules


def layer_of(module: str) -> tuple[int, str] | None:
    """(rank, name) of the layer a module belongs to, None when no layer declares it."""
    for rank, name, members in LAYERS:
        for member in members:
            if module == member or (member != "cpts_geo" and module.startswith(member + ".")):
                return rank, name
    return None


def imported_modules(module: str, source: str, known: set[str]) -> list[tuple[int, str]]:
    """(line, module) of every import of a module of the package in ``source``, at any depth;
    ``from package import name`` counts as an import of the module ``package.name`` when there is one."""
    found = []
    is_package = any(other.startswith(module + ".") for other in known) or module == "cpts_geo"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative: from the module's package
                anchor = module.split(".")[:len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if full in known else base))
    return [(line, name) for line, name in found if name in known and name != module]


def import_graph(modules: dict[str, tuple[Path, str]]) -> nx.DiGraph:
    """Module → imported module, each edge with the line of its first import."""
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, (_, source) in modules.items():
        for line, target in imported_modules(module, source, set(modules)):
            if not graph.has_edge(module, target):
                graph.add_edge(module, target, line=line)
    return graph


def where(modules, module: str, line: int) -> str:
    return f"{modules[module][0].relative_to(PACKAGE.parent).as_posix()}:{line}"


def upward_imports(modules: dict[str, tuple[Path, str]]) -> list[str]:
    """Every import of a higher layer, named with its file and line."""
    graph = import_graph(modules)
    wrong = []
    for module, target, data in graph.edges(data=True):
        (rank, layer), (target_rank, target_layer) = layer_of(module), layer_of(target)
        if target_rank > rank or (target_rank == rank and target_layer != layer):
            wrong.append(f"{where(modules, module, data['line'])}: {module} ({layer}) imports {target} "
                         f"({target_layer}, not below)")
    return wrong


def import_cycles(modules: dict[str, tuple[Path, str]]) -> list[str]:
    """Every group of modules that import each other, with one cycle of each spelt out import by import."""
    graph = import_graph(modules)
    cycles = []
    for group in nx.strongly_connected_components(graph):
        if len(group) > 1:
            cycle = nx.find_cycle(graph.subgraph(group))
            cycles.append(" → ".join(f"{source} ({where(modules, source, graph.edges[source, target]['line'])})"
                                     for source, target in cycle) + f" → {cycle[0][0]}")
    return cycles


def test_every_module_belongs_to_a_layer():
    modules = package_sources()
    assert len(modules) > 50
    outside = [name for name in modules if layer_of(name) is None]
    assert not outside, f"modules in no layer (place them in a folder of LAYERS, or add them there): {outside}"


def test_no_module_imports_a_higher_layer():
    wrong = upward_imports(package_sources())
    assert not wrong, "imports of a higher layer:\n" + "\n".join(wrong)


def test_no_import_cycle():
    cycles = import_cycles(package_sources())
    assert not cycles, "modules that import each other:\n" + "\n".join(cycles)


def test_an_upward_import_and_a_cycle_are_named():
    """The checks find what they look for: a lazy upward import inside a function, and a cycle."""
    modules = package_sources()
    bundle_path, bundle = modules["cpts_geo.data.bundle"]
    modules["cpts_geo.data.bundle"] = (bundle_path, bundle + "\n\ndef _draw():\n    from cpts_geo.web import webmap\n")
    layout_path, layout = modules["cpts_geo.data.layout"]
    modules["cpts_geo.data.layout"] = (layout_path, layout + "\nimport cpts_geo.data.bundle\n")
    line = len(bundle.splitlines()) + 4
    assert upward_imports(modules) == [f"cpts_geo/data/bundle.py:{line}: cpts_geo.data.bundle (data) imports "
                                       "cpts_geo.web.webmap (web, not below)"]
    cycles = import_cycles(modules)
    assert len(cycles) == 1 and "cpts_geo.data.bundle (cpts_geo/data/bundle.py:" in cycles[0] \
        and "cpts_geo.data.layout (cpts_geo/data/layout.py:" in cycles[0]


def test_a_module_outside_the_layers_is_found():
    assert layer_of("cpts_geo.new_helper") is None and layer_of("cpts_geo.data.new_reader") == (1, "data")
    assert layer_of("cpts_geo.formatting") == (0, "bottom") and layer_of("cpts_geo.__main__") == (6, "commands")
