"""Benchmark of the « Vue ARS » page in a real browser: how long the map of a région takes to show after a change of
scope or a registry upload (by hand).

    python bench/bench_ars_scope.py [--region 76] [--departement 66] [--cpts 140] [--rounds 2] [--port 8650]

Saves a registry of at least ``--cpts`` CPTS tiling the région from its EPCI (tests/synthetic_registry.py, as
bench/bench_ars_focus.py) in a temporary store, starts ``streamlit run app.py`` and opens the « Vue ARS » page of
the région in headless Chromium. Then, as a user does (the sidebar's select boxes, the file uploader), it switches
to the département and back to the whole région ``--rounds`` times, uploads the registry without its last CPTS as
a CSV file, and switches again. Each step is timed from the action until the map of the new scope is drawn (a
Leaflet map not seen before, with its layers) and the page has finished its run (target ≤ 3 s for the Occitanie).
Prints one JSON line per step, then the worst.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from bench_browser_clicks import MAP_JS  # noqa: E402
from headless import WINDOW, DevTools, app_server, chromium, evaluate, page_targets  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.region.registry import RegistryImport, save_registry  # noqa: E402
from cpts_geo.storage.store import open_store  # noqa: E402
from tests.synthetic_registry import synthetic_registry  # noqa: E402

#: Marks the map shown now as seen: the next one drawn is told apart from it.
MARK_JS = "(() => { const found = window.__cptsMap(); if (found.map) found.map.__cptsSeen = true; return true; })()"
#: Whether a map not marked is drawn with its layers and the page has finished its run.
NEW_MAP_JS = """(() => {
  const found = window.__cptsMap && window.__cptsMap();
  return Boolean(found && found.map && !found.map.__cptsSeen && Object.keys(found.map._layers).length > 10
                 && window.__cptsIdle());
})()"""
#: Types ``text`` in the select box labelled ``label`` of the sidebar (the options are filtered on it).
SELECT_JS = """((label, text) => {
  const box = [...document.querySelectorAll('[data-testid="stSelectbox"]')]
    .find(b => b.innerText.startsWith(label));
  const input = box.querySelector('input');
  input.focus();
  input.click();
  return true;
})(%r, %r)"""
#: Clicks the option of the radio buttons whose text starts with ``text``.
RADIO_JS = """((text) => {
  const option = [...document.querySelectorAll('[data-testid="stRadio"] label')]
    .find(l => l.innerText.trim().startsWith(text));
  option.click();
  return Boolean(option);
})(%r)"""


async def wait_new_map(devtools: DevTools, start: float, timeout: float) -> float:
    """Seconds from ``start`` until a new map is drawn and the page idle."""
    while not await evaluate(devtools, NEW_MAP_JS):
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the map did not show within the time limit")
        await asyncio.sleep(0.05)
    return time.perf_counter() - start


async def choose(devtools: DevTools, label: str, text: str, timeout: float) -> float:
    """Pick the option of the select box ``label`` matching ``text``, as typed on the keyboard; seconds until the
    map of the new scope is drawn."""
    await evaluate(devtools, MARK_JS)
    await evaluate(devtools, SELECT_JS % (label, text))
    await devtools.call("Input.insertText", text=text)
    await asyncio.sleep(0.3)
    start = time.perf_counter()
    for kind in ("keyDown", "keyUp"):
        await devtools.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13)
    return await wait_new_map(devtools, start, timeout)


async def upload(devtools: DevTools, csv: Path, timeout: float) -> float:
    """Switch the source to a file and upload ``csv``; seconds from the upload until its map is drawn."""
    await evaluate(devtools, MAP_JS + RADIO_JS % "Fichier")
    while not await evaluate(devtools, "Boolean(document.querySelector('input[type=file]'))"):
        await asyncio.sleep(0.1)
    await evaluate(devtools, MARK_JS)
    root = (await devtools.call("DOM.getDocument", depth=-1, pierce=True))["root"]["nodeId"]
    node = (await devtools.call("DOM.querySelector", nodeId=root, selector="input[type=file]"))["nodeId"]
    start = time.perf_counter()
    await devtools.call("DOM.setFileInputFiles", files=[str(csv)], nodeId=node)
    return await wait_new_map(devtools, start, timeout)


async def steps(debug_port: int, url: str, csv: Path, departement: str, rounds: int, timeout: float) -> list[dict]:
    """The timed steps, one after the other in one browser tab."""
    async with connect(page_targets(debug_port)[0], max_size=64 << 20) as connection:
        devtools = DevTools(connection)
        await devtools.call("Emulation.setDeviceMetricsOverride", width=WINDOW[0], height=WINDOW[1],
                            deviceScaleFactor=1, mobile=False)
        start = time.perf_counter()
        await devtools.call("Page.navigate", url=url)
        await asyncio.sleep(1)
        await evaluate(devtools, MAP_JS)
        results = [{"step": "page opened (région)", "s": await wait_new_map(devtools, start, timeout)}]
        for registry in ("stored", "uploaded"):
            if registry == "uploaded":
                results.append({"step": "registry uploaded", "s": await upload(devtools, csv, timeout)})
            for round_ in range(1, rounds + 1):
                for step, text in ((f"département {departement}", departement), ("whole région", "Toute")):
                    await asyncio.sleep(1)
                    results.append({"step": f"{registry} registry, {step} (round {round_})",
                                    "s": await choose(devtools, "Département", text, timeout)})
        return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="76")
    parser.add_argument("--departement", default="66")
    parser.add_argument("--cpts", type=int, default=140)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=8650, help="of the app; the browser's DevTools on the next")
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--data", type=Path, default=os.environ.get("CPTS_GEO_DATA", ROOT / "data"))
    args = parser.parse_args()
    bundle = Bundle.load(args.data)
    epci = sorted(set(bundle.communes.loc[bundle.communes["region"] == args.region, "epci"].dropna()))
    registry = synthetic_registry(bundle, args.region, set(epci[::7]), args.cpts, overlaps=3)
    with tempfile.TemporaryDirectory(prefix="cpts-geo-ars-scope-") as folder:
        store = Path(folder, "registre.sqlite")
        save_registry(bundle, open_store(store), RegistryImport("registre synthétique", cpts=registry))
        csv = Path(folder, "registre.csv")
        csv.write_text("cpts;code_iris\n" + "".join(f"{name};{code}\n" for name in sorted(registry)[:-1]
                                                    for code in sorted(registry[name])), encoding="utf-8")
        env = {"CPTS_GEO_DATA": str(args.data), "CPTS_GEO_STORE": str(store)}
        with app_server(env, port=args.port, timeout=args.timeout) as (port, _), \
                chromium(debug_port=args.port + 1) as debug_port:
            results = asyncio.run(steps(debug_port, f"http://127.0.0.1:{port}/Vue_ARS?region={args.region}", csv,
                                        args.departement, args.rounds, args.timeout))
    for result in results:
        print(json.dumps({**result, "s": round(result["s"], 2)}, ensure_ascii=False))
    print(json.dumps({"region": args.region, "cpts": len(registry), "worst_s": round(max(r["s"] for r in results), 2),
                      "load_average": os.getloadavg()[0]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
