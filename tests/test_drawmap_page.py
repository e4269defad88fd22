"""The drawing page around its map, in headless Chromium (see tests/test_drawmap_gestures.py): the view kept when
the CPTS is renamed. Slow (a Streamlit server and a browser)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.test_drawmap_gestures import browser_bench

pytestmark = pytest.mark.usefixtures("chromium")
VIEW_JS = "JSON.stringify([window.cptsDrawMap.getZoom(), window.cptsDrawMap.getCenter()])"


async def type_into(bench, devtools, label: str, text: str) -> None:
    """Type ``text`` in the text box of aria-label ``label`` (its content replaced), then Enter."""
    assert await bench.evaluate(devtools, f"""(() => {{
      const box = document.querySelector('input[aria-label={json.dumps(label)}]');
      box && (box.focus(), box.select());
      return Boolean(box); }})()""")
    await devtools.call("Input.insertText", text=text)
    for kind in ("keyDown", "keyUp"):
        await devtools.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13)


async def idle(bench, devtools, seconds: float = 1.5) -> None:
    """Wait until the page has finished its runs (and ``seconds`` more)."""
    await asyncio.sleep(seconds)
    for _ in range(150):
        if await bench.evaluate(devtools, "window.__cptsIdle()"):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the page did not finish its run")


async def rename(bench, debug_port: int, url: str) -> tuple[str, str, str]:
    async with bench.map_page(debug_port, url, 120) as devtools:
        await bench.evaluate(devtools, "window.cptsDrawMap.setView([42.6, 2.8], 13, {animate: false}) && true")
        before = await bench.evaluate(devtools, VIEW_JS)
        await type_into(bench, devtools, "Nom de la CPTS", "CPTS des Aspres")
        await idle(bench, devtools, 3)
        return before, await bench.evaluate(devtools, VIEW_JS), await bench.evaluate(devtools, "location.search")


def test_renaming_keeps_the_view_of_the_map(dep66_dir):
    bench = browser_bench()
    with bench.running_page("66", dep66_dir, 120) as (debug_port, url):   # a link: the map frames its zones
        before, after, address = asyncio.run(rename(bench, debug_port, url + "&zones=66136.0301.0302.0303"))
    assert "nom=CPTS+des+Aspres" in address
    assert after == before == json.dumps([13, {"lat": 42.6, "lng": 2.8}], separators=(",", ":"))
