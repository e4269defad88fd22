"""Benchmark of the drawing page in a real browser: the first map, then 20 clicks on the map, end to end (run by hand).

    python bench/bench_browser_clicks.py [--dep 66 59] [--clicks 20] [--data DIR] [--first-map-only]

First map (one JSON line, ``"first_map"``): a fresh app server (its bundle loaded at start) and headless Chromium,
the time from ``Page.navigate`` (the performance clock's origin) to the map drawn: every IRIS of the area is a
path of the map's SVG (``path.leaflet-interactive`` in ``.cpts-drawmap``, at least as many as the area has IRIS)
and, for a link with a selection, the selection's colour is on some of them. Measured for a cold server (first
visitor, the Ruscino link), the same link again (warm: a reload), the page without selection (warm), and the
change of région to Hauts-de-France (from the key that picks it to the Nord's IRIS drawn; target 1.5 s).

For each département, starts ``streamlit run app.py`` on the page of that département (empty
selection), drives headless Chromium (scripts/headless.py), and clicks the map inside
``--clicks`` large IRIS, one after the other, as a user does (IRIS mode). For each click it
measures, from the mouse press, in the page itself (polled every 5 ms):

* colour: until the zone under the cursor changes colour on the map (target ≤ 150 ms);
* figures: until the summary figures (communes, IRIS, population) have changed;
* panel: until the summary figures have changed and the page has finished its run (no element
  still stale, no « running » sign) (target ≤ 500 ms in the Pyrénées-Orientales, ≤ 1 s in the Nord).

Prints the median and worst of each, as JSON lines. The IRIS are the largest of the département
as the map draws them (simplified), among those fully in view at the first framing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
from pathlib import Path
from urllib.parse import urlencode

import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from headless import WINDOW, DevTools, app_server, chromium, evaluate, page_targets  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from cpts_geo.web import webmap  # noqa: E402
from cpts_geo.data.bundle import Bundle  # noqa: E402

#: The Leaflet map of the drawing page, the document it is drawn in and that document's offset in the page.
MAP_JS = """
window.__cptsMap = () => {
  const frame = [...document.querySelectorAll('iframe')].find(f => f.title.includes('folium'));
  if (frame) {
    const rect = frame.getBoundingClientRect();
    return {map: frame.contentWindow.map, doc: frame.contentDocument, dx: rect.left, dy: rect.top};
  }
  return {map: window.cptsDrawMap, doc: document, dx: 0, dy: 0};
};
window.__cptsFill = (x, y) => {
  const {doc, dx, dy} = window.__cptsMap();
  const element = doc.elementFromPoint(x - dx, y - dy);
  return element ? element.getAttribute('fill') : null;
};
window.__cptsMetrics = () =>
  [...document.querySelectorAll('[data-testid="stMetricValue"]')].map(e => e.innerText).join('|');
window.__cptsIdle = () => !document.querySelector('[data-stale="true"], [data-testid^="stStatusWidgetRunning"]');
"""
READY_JS = """(() => {
  const found = window.__cptsMap && window.__cptsMap();
  return Boolean(found && found.map && found.doc.querySelectorAll('path.leaflet-interactive').length > 10
                 && window.__cptsIdle());
})()"""
#: Page coordinates of (lat, lng) points, and whether each is well inside the map's box.
POINTS_JS = """((points) => {
  const {map, dx, dy} = window.__cptsMap(), box = map.getContainer().getBoundingClientRect();
  return points.map(([lat, lng]) => {
    const p = map.latLngToContainerPoint([lat, lng]);
    const inside = p.x > 60 && p.y > 90 && p.x < box.width - 60 && p.y < box.height - 40;
    return [dx + box.left + p.x, dy + box.top + p.y, inside];
  });
})(%s)"""
#: Resolves with the times (ms from now) when the colour at (x, y) and the panel have changed, looked at every
#: ``interval`` ms.
WATCH_JS = """((x, y, interval) => {
  const start = performance.now(), fill = window.__cptsFill(x, y), metrics = window.__cptsMetrics();
  window.__cptsWatch = new Promise(resolve => {
    let colour = null, figures = null;
    const timer = setInterval(() => {
      const now = performance.now() - start;
      if (colour === null && window.__cptsFill(x, y) !== fill) colour = now;
      if (figures === null && window.__cptsMetrics() !== metrics) figures = now;
      if (figures !== null && window.__cptsIdle()) {
        clearInterval(timer);
        resolve({colour: colour === null ? now : colour, figures, panel: now, fill: window.__cptsFill(x, y)});
      } else if (now > 30000) {
        clearInterval(timer);
        resolve({colour, figures, panel: null, fill: window.__cptsFill(x, y)});
      }
    }, interval);
  });
  return fill;
})(%r, %r, %d)"""


#: The Ruscino link (Pyrénées-Orientales): 4 communes and parts of Perpignan.
RUSCINO_QUERY = {"zones": "66028-66136.0801.0901.0902.1001.1101.1202.1203.1901.1902.1903-66186-66189",
                 "nom": "CPTS Ruscino"}
#: Records in ``window.__cptsDrawn`` when the map first holds ``window.__cptsDrawnNeeds`` IRIS paths (with the
#: selection's colour on one of them when ``window.__cptsDrawnSelected``), on the navigation's clock.
DRAWN_JS = """
window.__cptsDrawn = null;
window.__cptsDrawnSince = 0;
window.__cptsWatchDrawn = (needs, selected, since) => {
  window.__cptsDrawn = null;
  window.__cptsDrawnSince = since;
  const timer = setInterval(() => {
    const paths = document.querySelectorAll('.cpts-drawmap path.leaflet-interactive');
    if (paths.length >= needs && (!selected || [...paths].some(p => p.getAttribute('fill') === selected))) {
      window.__cptsDrawn = performance.now() - window.__cptsDrawnSince;
      clearInterval(timer);
    }
  }, 5);
};
"""


async def wait_drawn(devtools: DevTools, timeout: float) -> float:
    """Milliseconds from the watch's start to the map drawn (see :data:`DRAWN_JS`)."""
    start = asyncio.get_running_loop().time()
    while (drawn := await evaluate(devtools, "window.__cptsDrawn")) is None:
        if asyncio.get_running_loop().time() - start > timeout:
            raise TimeoutError("the map was not drawn within the time limit")
        await asyncio.sleep(0.05)
    return drawn


async def time_to_map(devtools: DevTools, url: str, needs: int, selected: str | None, timeout: float) -> float:
    """Navigate to ``url``; milliseconds from the navigation's start to the map drawn."""
    watch = f"window.__cptsWatchDrawn({needs}, {json.dumps(selected)}, 0);"
    script = (await devtools.call("Page.addScriptToEvaluateOnNewDocument", source=DRAWN_JS + watch))["identifier"]
    await devtools.call("Page.navigate", url=url)
    await asyncio.sleep(0.2)   # the old document's value is not read
    drawn = await wait_drawn(devtools, timeout)
    await devtools.call("Page.removeScriptToEvaluateOnNewDocument", identifier=script)
    return drawn


async def time_to_region(devtools: DevTools, region: str, needs: int, selected: str | None,
                         timeout: float) -> float:
    """Pick ``region`` in the « Région » box (typed, then Enter); milliseconds from Enter to its map drawn."""
    await evaluate(devtools, "document.querySelector('[data-testid=stSidebar] [data-testid=stSelectbox] input')"
                             ".focus()")
    await devtools.call("Input.insertText", text=region)
    await asyncio.sleep(0.5)
    await evaluate(devtools, f"window.__cptsWatchDrawn({needs}, {json.dumps(selected)}, performance.now())")
    for kind in ("keyDown", "keyUp"):
        await devtools.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter",
                            windowsVirtualKeyCode=13)
    return await wait_drawn(devtools, timeout)


async def first_map_series(debug_port: int, base: str, iris_count: dict[str, int], timeout: float) -> dict:
    """The first-map times (ms): cold link, warm link, warm empty page, région change (see the module's doc)."""
    selected = webmap.IRIS_STYLES["selected"]["fillColor"]
    link = base + urlencode(RUSCINO_QUERY)
    async with connect(page_targets(debug_port)[0], max_size=64 << 20) as connection:
        devtools = DevTools(connection)
        await devtools.call("Page.enable")   # else the scripts for new documents are not run
        await devtools.call("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1],
                            deviceScaleFactor=1, mobile=False)
        cold = await time_to_map(devtools, link, iris_count["66"], selected, timeout)
        await asyncio.sleep(2)
        warm = [await time_to_map(devtools, link, iris_count["66"], selected, timeout) for _ in range(3)]
        empty = await time_to_map(devtools, base + urlencode({"dep": "66"}), iris_count["66"], None, timeout)
        await asyncio.sleep(2)
        region = await time_to_region(devtools, "Hauts-de-France", iris_count["59"], None, timeout)
    return {"first_map": "ms from navigation (région: from Enter) to the map drawn", "cold_link_ms": round(cold),
            "warm_link_ms": [round(t) for t in warm], "warm_empty_ms": round(empty), "region_nord_ms": round(region)}


def first_map(data: Path, timeout: float) -> dict:
    bundle = Bundle.load(data)
    iris_count = bundle.iris["departement"].value_counts().to_dict()
    with running_page("66", data, timeout) as (debug_port, url):
        return asyncio.run(first_map_series(debug_port, url.split("?")[0] + "?", iris_count, timeout))


def candidate_points(bundle: Bundle, departement: str, count: int) -> list[tuple[str, float, float]]:
    """(code, lat, lng) of the centres of the largest IRIS of the département as drawn (simplified)."""
    iris = webmap.MapData(bundle).departement_iris(departement)
    circles = shapely.maximum_inscribed_circle(iris.geometry.array, 1e-4)
    radius = shapely.length(circles)
    order = sorted(range(len(iris)), key=lambda i: -radius[i])[:count]
    centres = shapely.get_point(circles, 0)
    return [(iris.index[i], float(shapely.get_y(centres[i])), float(shapely.get_x(centres[i]))) for i in order]


@contextlib.asynccontextmanager
async def map_page(debug_port: int, url: str, timeout: float, page: str | None = None, settle: float = 3):
    """The DevTools connection to a page of the browser (its websocket address ``page``; by default the first),
    once it shows the drawing map of ``url``, ``settle`` seconds later (fit-to-bounds animation and tiles)."""
    async with connect(page or page_targets(debug_port)[0], max_size=64 << 20, ping_interval=None) as connection:
        devtools = DevTools(connection)
        await devtools.call("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1],
                            deviceScaleFactor=1, mobile=False)
        await devtools.call("Page.navigate", url=url)
        start = asyncio.get_running_loop().time()
        while not await evaluate(devtools, MAP_JS + READY_JS):
            if asyncio.get_running_loop().time() - start > timeout:
                raise TimeoutError("the map did not show within the time limit")
            await asyncio.sleep(0.3)
        await asyncio.sleep(settle)
        yield devtools


async def click_series(debug_port: int, url: str, candidates, clicks: int, timeout: float) -> list[dict]:
    async with map_page(debug_port, url, timeout) as devtools:
        points = await evaluate(devtools, POINTS_JS % json.dumps([[lat, lng] for _, lat, lng in candidates]))
        chosen = [(code, x, y) for (code, _, _), (x, y, inside) in zip(candidates, points) if inside][:clicks]
        results = []
        for code, x, y in chosen:
            before = await evaluate(devtools, WATCH_JS % (x, y, 5))
            for kind in ("mousePressed", "mouseReleased"):
                await devtools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
            times = (await devtools.call("Runtime.evaluate", expression="window.__cptsWatch", awaitPromise=True,
                                         returnByValue=True))["result"]["value"]
            results.append({"code": code, "fill_before": before, **times})
            await devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=5, y=5)
            await asyncio.sleep(0.3)
        return results


@contextlib.contextmanager
def running_page(departement: str, data: Path, timeout: float, store: Path | None = None,
                 secrets: Path | None = None):
    """``streamlit run app.py`` on ``data`` and headless Chromium: yields (DevTools port, URL of the drawing page
    of the département, empty selection); both stopped after. ``store``: the drafts (default
    ``$CPTS_GEO_STORE`` or a file in /tmp); ``secrets``: the app's secrets file (``[auth]`` for a login)."""
    env = {"CPTS_GEO_DATA": str(data),
           "CPTS_GEO_STORE": str(store or os.environ.get("CPTS_GEO_STORE", "/tmp/cpts-geo-bench-store.sqlite"))}
    secrets_files = ["--secrets.files", str(secrets)] if secrets else []
    with app_server(env, timeout=timeout, args=secrets_files) as (app_port, _), chromium() as debug_port:
        yield debug_port, f"http://127.0.0.1:{app_port}/?" + urlencode({"dep": departement})


def bench(departement: str, clicks: int, data: Path, timeout: float) -> dict:
    candidates = candidate_points(Bundle.load(data), departement, clicks * 3)
    with running_page(departement, data, timeout) as (debug_port, url):
        results = asyncio.run(click_series(debug_port, url, candidates, clicks, timeout))
    figures = {"departement": departement, "clicks": len(results)}
    for measure in ("colour", "figures", "panel"):
        times = [r[measure] for r in results if r[measure] is not None]
        figures |= {f"{measure}_seen": len(times), f"{measure}_median_ms": round(statistics.median(times)) if times else None,
                    f"{measure}_worst_ms": round(max(times)) if times else None}
    return figures | {"panel_each_ms": [None if r["panel"] is None else round(r["panel"]) for r in results],
                      "fills": sorted({f"{r['fill_before']}->{r['fill']}" for r in results})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dep", nargs="+", default=["66", "59"])
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--data", type=Path, default=os.environ.get("CPTS_GEO_DATA", ROOT / "data"))
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--first-map-only", action="store_true", help="only the first-map times, no clicks")
    args = parser.parse_args()
    print(json.dumps(first_map(args.data, args.timeout) | {"load_average": os.getloadavg()}), flush=True)
    if args.first_map_only:
        return 0
    for departement in args.dep:
        print(json.dumps(bench(departement, args.clicks, args.data, args.timeout)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
