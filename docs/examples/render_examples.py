"""Render the example maps of the README: ``python docs/examples/render_examples.py``.

* the CPTS Ruscino (perimeter of the foundation issue) with the CPTS of the example registry as
  neighbours: ``ruscino_map.png`` (A4 portrait, 150 dpi to keep the repository light; the export
  gives 300 dpi) and ``ruscino_map.pdf`` (vector);
* the ARS coverage map of the Pyrénées-Orientales for the example registry: ``coverage_66.png``
  (A4 landscape, 100 dpi).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.data.codes import resolve_codes  # noqa: E402
from cpts_geo.region.coverage import area_of, coverage_report  # noqa: E402
from cpts_geo.exports.maps import coverage_map, save_figure, territory_map  # noqa: E402
from cpts_geo.region.registry import read_registry  # noqa: E402
from cpts_geo.territory.model import Territory  # noqa: E402
from tests.conftest import RUSCINO_CODES  # noqa: E402

REGISTRY = ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv"


def write(name: str, content: bytes) -> None:
    path = HERE / name
    path.write_bytes(content)
    print(f"{path.relative_to(ROOT)} : {path.stat().st_size / 1024:.0f} KiB")


def main() -> None:
    bundle = Bundle.load()
    registry = read_registry(bundle, REGISTRY).cpts
    territory = Territory(resolve_codes(bundle, RUSCINO_CODES).iris, "CPTS Ruscino")
    neighbours = {name: codes for name, codes in registry.items() if name != territory.name}
    for fmt, dpi in (("png", 150), ("pdf", 300)):
        write(f"ruscino_map.{fmt}", save_figure(territory_map(bundle, territory, neighbours), fmt, dpi))
    report = coverage_report(bundle, registry, area_of(bundle, departement="66"))
    write("coverage_66.png", save_figure(coverage_map(bundle, registry, report), "png", 100))


if __name__ == "__main__":
    main()
