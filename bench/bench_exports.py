"""Time of each export of the Ruscino perimeter (run by hand: ``python bench/bench_exports.py``)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.bundle import Bundle  # noqa: E402
from cpts_geo.codes import resolve_codes  # noqa: E402
from cpts_geo.exports.files import FORMATS, TerritoryExport  # noqa: E402
from cpts_geo.territory import Territory  # noqa: E402
from tests.conftest import RUSCINO_CODES  # noqa: E402


def main() -> None:
    bundle = Bundle.load()
    bundle.iris_geometry()  # geometry read once, as in the app
    territory = Territory(resolve_codes(bundle, RUSCINO_CODES).iris, "CPTS Ruscino")
    start = time.perf_counter()
    exporter = TerritoryExport(bundle, territory)
    print(f"summary and letter table: {(time.perf_counter() - start) * 1000:.0f} ms")
    for fmt in FORMATS:
        start = time.perf_counter()
        exported = exporter.export(fmt)
        print(f"{fmt:8} {(time.perf_counter() - start) * 1000:7.0f} ms  {len(exported.data) / 1024:8.1f} KiB  "
              f"{exported.filename}")


if __name__ == "__main__":
    main()
