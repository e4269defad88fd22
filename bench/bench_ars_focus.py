"""Benchmark of the « Vue ARS » page in a real browser: a click in the CPTS list until the map frames it (by hand).

    python bench/bench_ars_focus.py [--region 76] [--cpts 70] [--clicks 10] [--data DIR]

Saves a registry of at least ``--cpts`` CPTS tiling the région from its EPCI (tests/synthetic_registry.py: one
CPTS an EPCI at least, one EPCI in seven white; 140 CPTS for the Occitanie) in a temporary store, starts ``streamlit run app.py`` on the « Vue ARS » page of the région and
drives headless Chromium (with bench/bench_browser_clicks.py's set-up). For each of the first ``--clicks`` rows of the list it
clicks the row, as a user does, and measures in the page (polled every 5 ms) the time until the map shows the
outline of that CPTS and has moved to it (target ≤ 1 s), and until the page has finished its run. Prints one JSON
line: median and worst of both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from bench_browser_clicks import map_page, running_page  # noqa: E402
from headless import evaluate  # noqa: E402

from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.web.coverage_map import COLOURS  # noqa: E402
from cpts_geo.region.registry import RegistryImport, save_registry  # noqa: E402
from cpts_geo.storage.store import open_store  # noqa: E402
from tests.synthetic_registry import synthetic_registry  # noqa: E402

#: Page coordinates of the row-selection cell of each visible row of the CPTS list (the first data frame).
ROWS_JS = """(() => {
  const box = document.querySelector('[data-testid="stDataFrame"]').getBoundingClientRect();
  const rows = [];
  for (let y = box.top + 35 + 17; y < box.bottom - 10; y += 35) rows.push([box.left + 18, y]);
  return rows;
})()"""
#: Resolves with the times (ms from now) when the map (bench_browser_clicks.MAP_JS) shows the outline of the
#: CPTS picked and has a new centre, and when the page's run has ended.
WATCH_JS = """(() => {
  const start = performance.now(), centre = window.__cptsMap().map.getCenter();
  const outlined = () => window.__cptsMap().doc.querySelectorAll('path[stroke="%s"]').length > 0;
  window.__arsWatch = new Promise(resolve => {
    let framed = null;
    const timer = setInterval(() => {
      const now = performance.now() - start, map = window.__cptsMap().map;
      if (framed === null && outlined() && !map.getCenter().equals(centre)) framed = now;
      if (framed !== null && window.__cptsIdle()) {
        clearInterval(timer);
        resolve({framed, idle: now, zoom: map.getZoom()});
      } else if (now > 30000) {
        clearInterval(timer);
        resolve({framed, idle: null, zoom: map.getZoom()});
      }
    }, 5);
  });
  return true;
})()""" % COLOURS["focus"]


async def click_rows(debug_port: int, url: str, clicks: int, timeout: float) -> list[dict]:
    """Click the first ``clicks`` rows of the CPTS list one after the other; the times of each."""
    async with map_page(debug_port, url, timeout) as devtools:
        results = []
        for x, y in (await evaluate(devtools, ROWS_JS))[:clicks]:
            await evaluate(devtools, WATCH_JS)
            for kind in ("mousePressed", "mouseReleased"):
                await devtools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
            times = (await devtools.call("Runtime.evaluate", expression="window.__arsWatch", awaitPromise=True,
                                         returnByValue=True))["result"]["value"]
            results.append(times)
            print(json.dumps(times), file=sys.stderr)
            await asyncio.sleep(1.0)
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="76")
    parser.add_argument("--cpts", type=int, default=70)
    parser.add_argument("--clicks", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--data", type=Path, default=os.environ.get("CPTS_GEO_DATA", ROOT / "data"))
    args = parser.parse_args()
    bundle = Bundle.load(args.data)
    epci = sorted(set(bundle.communes.loc[bundle.communes["region"] == args.region, "epci"].dropna()))
    with tempfile.TemporaryDirectory(prefix="cpts-geo-ars-bench-") as folder:
        os.environ["CPTS_GEO_STORE"] = str(Path(folder, "registre.sqlite"))
        registry = synthetic_registry(bundle, args.region, set(epci[::7]), args.cpts, overlaps=3)
        save_registry(bundle, open_store(os.environ["CPTS_GEO_STORE"]), RegistryImport("registre synthétique",
                                                                                       cpts=registry))
        with running_page("", args.data, args.timeout) as (debug_port, url):
            results = asyncio.run(click_rows(debug_port, url.split("?")[0] + f"Vue_ARS?region={args.region}",
                                             args.clicks, args.timeout))
    framed = [r["framed"] for r in results if r["framed"] is not None]
    idle = [r["idle"] for r in results if r["idle"] is not None]
    print(json.dumps({"region": args.region, "cpts": len(registry), "clicks": len(results), "framed_ms": {
        "median": round(statistics.median(framed)), "worst": round(max(framed)), "missed": len(results) - len(framed)},
        "run_ended_ms": {"median": round(statistics.median(idle)), "worst": round(max(idle))} if idle else None}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
