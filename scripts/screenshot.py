"""Open the map page in headless Chromium and save docs/screenshot.png (run by hand, not in CI).

    python scripts/screenshot.py [--out docs/screenshot.png] [--zones 66028-66186] [--offline] [--click 66037]
                                 [--layers apl,finess] [--tab "Offre de soins"] [--width 1366] [--height 1150]
    python scripts/screenshot.py --ars registre.sqlite --out docs/screenshot_ars.png [--offline]

Starts ``streamlit run app.py`` on a free port with the Ruscino territory preloaded through
the URL, drives Chromium (Debian package ``chromium``) through the DevTools protocol, waits
until the map shows the selection and the summary, and saves a PNG screenshot. With
``--click CODE`` it first clicks the map, as a user does, inside that IRIS or commune, and
waits until the summary figures change (the time is printed): the whole path browser → map
component → session → summary, in a real browser. ``--offline`` blocks every request that does
not go to the app (as on a closed network): the map must still draw (Leaflet comes from the
app's ``static/``) and show its notice about the missing background. ``--layers`` switches on offer layers of
the map (« Afficher : » under it) and waits for their legend; ``--width`` sets the window's width (1366: a
laptop screen, where figures and buttons must not be cut), ``--height`` makes the window taller, to see the
whole panel; ``--tab`` opens that tab of the panel beside the map.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from websockets.asyncio.client import connect

from headless import ROOT, WINDOW, DevTools, app_server, chromium, evaluate, page_targets

sys.path.insert(0, str(ROOT))
from cpts_geo.web.webmap import OPTIONAL_LAYERS  # noqa: E402
RUSCINO = "66028-66136.0801.0901.0902.1001.1101.1202.1203.1901.1902.1903-66186-66189"
#: The notice of the map when its background tiles fail (``cpts_geo/web/drawmap``, ``webmap.TileErrorNotice`` on the
#: « Vue ARS » page's map, in its iframe).
NOTICE_SCRIPT = """(() => {
  const frame = [...document.querySelectorAll('iframe')].find(f => f.title.includes('folium'));
  const notice = (frame ? frame.contentDocument : document).querySelector('.cpts-tile-error');
  return notice ? notice.innerText : null;
})()"""
#: True once the map (of the drawing page, or in the iframe of the « Vue ARS » page) holds drawn zones and the
#: summary shows its figures.
READY_SCRIPT = """(() => {
  const frame = [...document.querySelectorAll('iframe')].find(f => f.title.includes('folium'));
  const doc = frame ? frame.contentDocument : document;
  const paths = doc ? doc.querySelectorAll('path.leaflet-interactive').length : 0;
  const metrics = document.querySelectorAll('[data-testid="stMetricValue"]').length;
  return paths > 10 && metrics >= 3;   // population, taille, communes (and IRIS, but overseas)
})()"""


#: Page coordinates of a (lat, lng) point of the drawing map (cpts_geo/web/drawmap).
POINT_SCRIPT = """((lat, lng) => {
  const map = window.cptsDrawMap;
  const box = map.getContainer().getBoundingClientRect(), point = map.latLngToContainerPoint([lat, lng]);
  return [box.left + point.x, box.top + point.y];
})(%r, %r)"""
#: Ticks the switch of an offer layer under the drawing map (its French label); true once done.
LAYER_SCRIPT = """(label => {
  const box = [...document.querySelectorAll('[data-testid="stCheckbox"] label')].find(l => l.innerText.trim() === label);
  if (box) box.querySelector("input").click();
  return Boolean(box);
})(%r)"""
LEGENDS_SCRIPT = "document.querySelectorAll('.cpts-legend').length"
METRICS_SCRIPT = "[...document.querySelectorAll('[data-testid=\"stMetricValue\"]')].map(e => e.innerText)"


def inside_point(code: str) -> tuple[float, float]:
    """(lat, lng) of the point farthest inside an IRIS (9 characters) or a commune of the default bundle."""
    import shapely

    from cpts_geo.data.bundle import Bundle

    bundle = Bundle.load()
    shapes = bundle.iris_geometry([code]) if len(code) == 9 else bundle.commune_geometry([code])
    centre = shapely.get_point(shapely.maximum_inscribed_circle(shapes.geometry.iloc[0]), 0)
    return centre.y, centre.x


async def click_map(devtools: DevTools, lat: float, lng: float, timeout: float) -> None:
    """Click the map at (lat, lng) and wait until the summary figures change; prints them and the time."""
    before = await evaluate(devtools, METRICS_SCRIPT)
    x, y = await evaluate(devtools, POINT_SCRIPT % (lat, lng))
    start = time.monotonic()
    for kind in ("mousePressed", "mouseReleased"):
        await devtools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
    while (after := await evaluate(devtools, METRICS_SCRIPT)) == before:
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"the summary did not change after the click at ({x:.0f}, {y:.0f}) px")
        await asyncio.sleep(0.1)
    print(f"click at ({x:.0f}, {y:.0f}) px: summary {before} -> {after} in {time.monotonic() - start:.2f} s "
          "(browser, server and redraw)")
    await devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=5, y=5)   # no hover style in the shot


#: Clicks the panel tab whose label is the given JSON string; false when there is none.
TAB_SCRIPT = """(() => {
  const tab = [...document.querySelectorAll('[role="tab"]')].find(t => t.textContent.trim() === %s);
  if (tab) tab.click();
  return Boolean(tab);
})()"""
#: True once the tab is selected and the page has finished its run (no stale element, no running sign).
TAB_SHOWN_SCRIPT = """(() => {
  const tab = [...document.querySelectorAll('[role="tab"]')].find(t => t.textContent.trim() === %s);
  return Boolean(tab) && tab.getAttribute('aria-selected') === 'true'
    && !document.querySelector('[data-stale="true"]') && !document.querySelector('[data-testid="stStatusWidget"]');
})()"""


async def show_layers(devtools: DevTools, labels: list[str], timeout: float) -> None:
    """Switch on the offer layers of ``labels`` and wait until the map shows a legend for each."""
    start = time.monotonic()
    for label in labels:
        if not await evaluate(devtools, LAYER_SCRIPT % label):
            raise RuntimeError(f"no switch « {label} » under the map")
        while await evaluate(devtools, LEGENDS_SCRIPT) < labels.index(label) + 1:
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"the layer « {label} » did not show")
            await asyncio.sleep(0.2)
    print(f"layers {labels} shown in {time.monotonic() - start:.1f} s")


async def open_tab(devtools: DevTools, label: str, timeout: float) -> None:
    """Open the tab ``label`` of the panel and wait until its content has replaced the previous tab's."""
    if not await evaluate(devtools, TAB_SCRIPT % json.dumps(label)):
        raise RuntimeError(f"no tab « {label} » in the panel")
    start = time.monotonic()
    while not await evaluate(devtools, TAB_SHOWN_SCRIPT % json.dumps(label)):
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"the tab « {label} » did not open")
        await asyncio.sleep(0.2)
    print(f"tab « {label} » shown in {time.monotonic() - start:.1f} s")


async def capture(debug_port: int, url: str, out: Path, timeout: float, offline: bool,
                  click: tuple[float, float] | None = None, layers=(), window=WINDOW, tab: str | None = None) -> float:
    """Load ``url``, wait for the map (and click it at ``click``), write the PNG; returns the seconds until the map was ready."""
    async with connect(page_targets(debug_port)[0], max_size=64 << 20) as connection:
        devtools = DevTools(connection)
        if offline:
            await devtools.call("Fetch.enable", patterns=[{"urlPattern": "*"}])
        await devtools.call("Emulation.setDeviceMetricsOverride", width=window[0], height=window[1],
                            deviceScaleFactor=1, mobile=False)
        # numbers and dates as a French user sees them (Intl and navigator.languages)
        await devtools.call("Emulation.setLocaleOverride", locale="fr-FR")
        user_agent = (await devtools.call("Browser.getVersion"))["userAgent"]
        await devtools.call("Emulation.setUserAgentOverride", userAgent=user_agent, acceptLanguage="fr-FR")
        start = time.monotonic()
        await devtools.call("Page.navigate", url=url)
        while not await evaluate(devtools, READY_SCRIPT):
            if time.monotonic() - start > timeout:
                raise TimeoutError("the map did not show within the time limit")
            await asyncio.sleep(0.5)
        ready = time.monotonic() - start
        await asyncio.sleep(2.5)  # let the tiles and the fit-to-bounds animation settle
        if offline:
            notice = await evaluate(devtools, NOTICE_SCRIPT)
            print(f"offline: blocked {sorted(devtools.blocked)}; map notice: {notice!r}")
            if not notice:
                raise RuntimeError("offline: the map does not say that its background is missing")
        if click:
            await click_map(devtools, *click, timeout)
            await asyncio.sleep(1.5)
        if layers:
            await show_layers(devtools, list(layers), timeout)
            await asyncio.sleep(1.5)
        if tab:
            await open_tab(devtools, tab, timeout)
            await asyncio.sleep(1.5)
        shot = await devtools.call("Page.captureScreenshot", format="png")
        out.write_bytes(base64.b64decode(shot["data"]))
        return ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    parser.add_argument("--zones", default=RUSCINO, help="selection in the URL form of the app")
    parser.add_argument("--name", default="CPTS Ruscino")
    parser.add_argument("--dep", default="66", help="département shown")
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("--offline", action="store_true",
                        help="closed network: block every request but the app's (no background tiles)")
    parser.add_argument("--click", metavar="CODE", help="click the map inside this IRIS or commune first")
    parser.add_argument("--layers", default="", help="offer layers to switch on, among: "
                        + ", ".join(OPTIONAL_LAYERS))
    parser.add_argument("--tab", help="open this tab of the panel beside the map (e.g. « Offre de soins »)")
    parser.add_argument("--width", type=int, default=WINDOW[0], help="window width (px; a laptop: 1366)")
    parser.add_argument("--height", type=int, default=WINDOW[1], help="window height (px)")
    parser.add_argument("--ars", metavar="STORE", type=Path,
                        help="shoot the « Vue ARS » page instead, on the registry saved in this store "
                             "(python -m cpts_geo coverage --registry … --save --db STORE)")
    parser.add_argument("--port", type=int, help="of the app (default: a free one); the browser's DevTools on the "
                                                 "next")
    args = parser.parse_args()
    click = inside_point(args.click) if args.click else None
    layers = [OPTIONAL_LAYERS[kind] for kind in filter(None, args.layers.split(","))]
    window = (args.width, args.height)
    env = {"CPTS_GEO_STORE": str(args.ars.resolve())} if args.ars else {}
    with app_server(env, port=args.port, timeout=args.timeout) as (app_port, _), \
            chromium(window, debug_port=args.port and args.port + 1) as debug_port:
        url = (f"http://127.0.0.1:{app_port}/Vue_ARS?dep={args.dep}" if args.ars else
               f"http://127.0.0.1:{app_port}/?" + urlencode({"zones": args.zones, "nom": args.name, "dep": args.dep}))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        ready = asyncio.run(capture(debug_port, url, args.out, args.timeout, args.offline, click, layers, window, args.tab))
        print(f"{args.out}: map ready after {ready:.1f} s, {args.out.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
