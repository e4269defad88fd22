"""Time of each export of the Ruscino perimeter (run by hand: ``python bench/bench_exports.py``).

Each format is produced by a fresh exporter, so that no format profits from another's work
(the DOCX renders the map itself); neighbours are the CPTS of the example registry.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.data.codes import resolve_codes  # noqa: E402
from cpts_geo.commands.summary import load_others  # noqa: E402
from cpts_geo.exports.files import FORMATS, TerritoryExport  # noqa: E402
from cpts_geo.territory.model import Territory  # noqa: E402
from tests.conftest import RUSCINO_CODES  # noqa: E402

REGISTRY = ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv"


def main() -> None:
    bundle = Bundle.load()
    bundle.iris_geometry()  # geometry read once, as in the app
    territory = Territory(resolve_codes(bundle, RUSCINO_CODES).iris, "CPTS Ruscino")
    neighbours = load_others(bundle, REGISTRY)
    start = time.perf_counter()
    TerritoryExport(bundle, territory, neighbours)
    print(f"summary and letter table: {(time.perf_counter() - start) * 1000:.0f} ms")
    for fmt in FORMATS:
        exporter = TerritoryExport(bundle, territory, neighbours)
        start = time.perf_counter()
        exported = exporter.export(fmt)
        print(f"{fmt:8} {(time.perf_counter() - start) * 1000:7.0f} ms  {len(exported.data) / 1024:8.1f} KiB  "
              f"{exported.filename}")


if __name__ == "__main__":
    main()
