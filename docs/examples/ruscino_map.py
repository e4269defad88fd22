"""Render the example maps of the README: ``python docs/examples/ruscino_map.py``.

The CPTS Ruscino (perimeter of the foundation issue) with the CPTS of the example registry as
neighbours: ``ruscino_map.png`` (A4 portrait, 150 dpi to keep the repository light; the export
gives 300 dpi) and ``ruscino_map.pdf`` (vector).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.bundle import Bundle  # noqa: E402
from cpts_geo.codes import resolve_codes  # noqa: E402
from cpts_geo.commands.summary import load_others  # noqa: E402
from cpts_geo.exports.maps import save_figure, territory_map  # noqa: E402
from cpts_geo.territory import Territory  # noqa: E402
from tests.conftest import RUSCINO_CODES  # noqa: E402


def main() -> None:
    bundle = Bundle.load()
    territory = Territory(resolve_codes(bundle, RUSCINO_CODES).iris, "CPTS Ruscino")
    neighbours = load_others(bundle, ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv")
    for fmt, dpi in (("png", 150), ("pdf", 300)):
        path = HERE / f"ruscino_map.{fmt}"
        path.write_bytes(save_figure(territory_map(bundle, territory, neighbours), fmt, dpi))
        print(f"{path.relative_to(ROOT)} : {path.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
