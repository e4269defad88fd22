"""The « Vue ARS » map in headless Chromium (Debian ``chromium``; skipped without it, except in CI: see the
``chromium`` fixture): what only a browser shows — the CPTS names laid out at the zoom of a région, the legend clear
of the notice of missing tiles (no network in the test: the tiles fail)."""

from __future__ import annotations

import asyncio
import json

import pytest

from cpts_geo.region.registry import RegistryImport, save_registry
from cpts_geo.storage.store import open_store
from tests.synthetic_registry import synthetic_registry
from tests.test_drawmap_gestures import browser_bench

pytestmark = pytest.mark.usefixtures("chromium")
#: The boxes of the CPTS names shown, of the legend and of the notice of missing tiles, in the map's frame.
LAYOUT_JS = """(() => {
  const {map, doc} = window.__cptsMap(), box = e => { const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom]; };
  const notice = doc.querySelector('.cpts-tile-error');
  return {zoom: map.getZoom(), frame: box(map.getContainer()), legend: box(doc.querySelector('.cpts-legend')),
          notice: notice ? box(notice) : null,
          names: [...doc.querySelectorAll('.cpts-name')].filter(e => e.style.display !== 'none').map(box)};
})()"""


def overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


async def layout(bench, debug_port: int, url: str) -> dict:
    async with bench.map_page(debug_port, url, 240) as devtools:
        return await bench.evaluate(devtools, LAYOUT_JS)


def test_region_map_names_as_many_cpts_as_fit(france, france_dir, tmp_path):
    """Occitanie in 164 CPTS at the région's zoom: dozens of names, none over another (one name only when each
    waited for a zoom where it fits its CPTS); the legend not over the notice of missing tiles."""
    store = tmp_path / "registre.sqlite"
    registry = synthetic_registry(france, "76", set(), 140, overlaps=5)
    save_registry(france, open_store(store), RegistryImport("registre synthétique", cpts=registry))
    bench = browser_bench()
    with bench.running_page("", france_dir, 240, store=store) as (debug_port, url):
        shown = asyncio.run(layout(bench, debug_port, url.split("?")[0] + "Vue_ARS?region=76"))
    assert shown["zoom"] <= 7, json.dumps(shown)
    assert len(shown["names"]) >= 15, json.dumps(shown)
    for number, name in enumerate(shown["names"]):
        assert not any(overlap(name, other) for other in shown["names"][number + 1:])
    assert shown["notice"] and not overlap(shown["legend"], shown["notice"])
