"""The drawing page around its map, in headless Chromium (see tests/test_drawmap_gestures.py): the browser's Back and
Forward, the view kept when the CPTS is renamed, double clicks on the sidebar's buttons, the legend and labels of the
overseas départements. Slow (a Streamlit server and a browser)."""

from __future__ import annotations

import asyncio
import json
from functools import partial

import pytest

from cpts_geo.web.session import iris_regions
from cpts_geo.storage.store import TerritoryStore
from cpts_geo.storage.users import SINGLE_USER, Drafts
from tests.test_drawmap_gestures import BOX, FIGURES_JS, browser_bench, gesture, settled

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


async def back_and_forward(bench, debug_port: int, url: str, perpignan) -> list[tuple[dict, str]]:
    """Alt + click on Perpignan, a Shift box, then Back, Back, Forward: the figures and address after each."""
    async with bench.map_page(debug_port, url, 120) as devtools:
        await bench.evaluate(devtools, "window.cptsDrawMap.setView([42.68, 2.93], 12, {animate: false}) && true")
        (north, west), (south, east) = BOX
        states = []
        for points, modifiers in (([perpignan], 1), ([[north, west], [south, east]], 8)):
            figures = await gesture(bench, devtools, points, modifiers)
            states.append((figures, await bench.evaluate(devtools, "location.search")))
        for move in ("back", "back", "forward"):
            await bench.evaluate(devtools, f"history.{move}() || true")
            figures = await settled(bench, devtools, states[-1][0])
            await idle(bench, devtools, 2)   # the page does not write its former state back over the address
            states.append((figures, await bench.evaluate(devtools, "location.search")))
        return states


def test_back_and_forward_of_the_browser_go_through_the_selections(dep66, dep66_dir):
    point = dep66.iris_geometry(["661360102"]).geometry.iloc[0].representative_point()
    bench = browser_bench()
    with bench.running_page("66", dep66_dir, 120) as (debug_port, url):
        perpignan, boxed, back, first, forward = asyncio.run(back_and_forward(bench, debug_port, url,
                                                                              [point.y, point.x]))
    assert (perpignan[0]["Communes"], perpignan[0]["IRIS"], perpignan[1]) == ("1", "47", "?zones=66136&dep=66")
    assert boxed[0]["IRIS"] == "53" and boxed[1] != perpignan[1]
    assert back == perpignan                       # Back: the previous selection, and its address kept
    assert first == ({}, "?dep=66")                # Back again: the page as it opened, nothing selected
    assert forward == perpignan


#: The legend's box and the box of the area's zones on the page, and whether they meet.
LEGEND_OVER_AREA_JS = """(() => {
  const legend = document.querySelector('.cpts-legends').getBoundingClientRect();
  const zones = [...document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')]
    .map(path => path.getBoundingClientRect());
  const area = {left: Math.min(...zones.map(r => r.left)), right: Math.max(...zones.map(r => r.right)),
                top: Math.min(...zones.map(r => r.top)), bottom: Math.max(...zones.map(r => r.bottom))};
  return {meet: area.left < legend.right && legend.left < area.right && area.top < legend.bottom
                && legend.top < area.bottom, legend: legend.width > 100 && legend.height > 100};
})()"""
#: The labels shown on the map: their text, and the pairs of them that overlap.
LABELS_JS = """(() => {
  const shown = [...document.querySelectorAll('.cpts-label span')]
    .filter(span => getComputedStyle(span.parentElement).visibility !== 'hidden')
    .map(span => [span.innerText, span.getBoundingClientRect()]);
  const over = [];
  shown.forEach(([a, r], i) => shown.slice(i + 1).forEach(([b, p]) => {
    if (r.left < p.right && p.left < r.right && r.top < p.bottom && p.top < r.bottom) over.push([a, b]);
  }));
  return {shown: shown.map(([text]) => text), over};
})()"""


async def overseas(bench, debug_port: int, url: str) -> tuple[dict, dict]:
    """For each overseas département: whether its open legend meets its zones; La Réunion's labels at zooms 10, 11."""
    import screenshot

    legends, labels = {}, {}
    async with bench.map_page(debug_port, url + "971", 180) as devtools:
        for departement in ("971", "972", "973", "976", "974"):   # La Réunion last: its labels next
            if departement != "971":
                await devtools.call("Page.navigate", url=url + departement)
                await asyncio.sleep(2)
                for _ in range(300):
                    if await bench.evaluate(devtools, bench.MAP_JS + bench.READY_JS):
                        break
                    await asyncio.sleep(0.3)
            assert await bench.evaluate(devtools, screenshot.LAYER_SCRIPT % "Densité de population")
            await idle(bench, devtools, 2)
            if await bench.evaluate(devtools, "document.querySelector('.cpts-legend-toggle').innerText.includes('▸')"):
                await bench.evaluate(devtools, "document.querySelector('.cpts-legend-toggle').click() || true")
            await asyncio.sleep(1)
            legends[departement] = await bench.evaluate(devtools, LEGEND_OVER_AREA_JS)
        for zoom in (10, 11):
            await bench.evaluate(devtools, f"window.cptsDrawMap.setView([-21.1, 55.5], {zoom}, {{animate: false}}) && 1")
            await asyncio.sleep(1)
            labels[zoom] = await bench.evaluate(devtools, LABELS_JS)
    return legends, labels


def test_the_legend_hides_no_overseas_departement_and_labels_do_not_overlap(france_dir):
    bench = browser_bench()
    with bench.running_page("971", france_dir, 180) as (debug_port, url):
        legends, labels = asyncio.run(overseas(bench, debug_port, url.replace("dep=971", "dep=")))
    assert legends == {departement: {"meet": False, "legend": True} for departement in legends}
    assert len(legends) == 5
    assert labels[10]["over"] == [] and labels[11]["over"] == []
    assert labels[10]["shown"][:3] == ["Saint-Denis", "Saint-Paul", "Saint-Pierre"]   # the most populated first
    # where Sainte-Marie and Sainte-Suzanne would meet, the more populated is named
    assert "Sainte-Marie" in labels[11]["shown"] and "Sainte-Suzanne" not in labels[11]["shown"]
    assert len(labels[11]["shown"]) > len(labels[10]["shown"]) > 5


#: The centre of a button of the page (by its text, scrolled into view), in page pixels.
BUTTON_JS = """(text => {
  const button = [...document.querySelectorAll('button')].find(b => b.innerText.trim().endsWith(text));
  button && button.scrollIntoView({block: "center"});
  const rect = button && button.getBoundingClientRect();
  return rect && [rect.left + rect.width / 2, rect.top + rect.height / 2];
})(%s)"""
NOTICES_JS = "[...document.querySelectorAll('[data-testid=\"stAlert\"]')].map(a => a.innerText.trim())"


async def click_button(bench, devtools, text: str, clicks: int = 1) -> None:
    """Click the button that ends with ``text``, as a mouse does (a double click: two presses 60 ms apart)."""
    x, y = await bench.evaluate(devtools, BUTTON_JS % json.dumps(text))
    for count in range(1, clicks + 1):
        for kind in ("mousePressed", "mouseReleased"):
            await devtools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=count)
        await asyncio.sleep(0.06)


async def double_clicks(bench, debug_port: int, url: str) -> dict:
    async with bench.map_page(debug_port, url, 120) as devtools:
        await type_into(bench, devtools, "Rechercher une commune", "Théza")
        await idle(bench, devtools)
        result = {}
        for step, (text, clicks) in enumerate((("Ajouter", 2), ("Retirer", 2), ("Ajouter", 1))):
            before = await bench.evaluate(devtools, FIGURES_JS)
            await click_button(bench, devtools, text, clicks)
            result[step] = await settled(bench, devtools, before)
        await type_into(bench, devtools, "Nom de la CPTS", "CPTS de Théza")
        await idle(bench, devtools)
        await click_button(bench, devtools, "Enregistrer le brouillon", 2)
        await idle(bench, devtools, 3)
        result["notices"] = await bench.evaluate(devtools, NOTICES_JS)
        return result


def test_double_clicks_on_add_remove_and_save_are_harmless(dep66, dep66_dir, tmp_path):
    bench = browser_bench()
    store = tmp_path / "drafts.sqlite"
    with bench.running_page("66", dep66_dir, 120, store=store) as (debug_port, url):
        result = asyncio.run(double_clicks(bench, debug_port, url))
    assert (result[0]["Communes"], result[0]["IRIS"]) == ("1", "1")   # a double click on « Ajouter »: Théza added
    assert result[1] == {}                                            # on « Retirer »: removed
    assert (result[2]["Communes"], result[2]["IRIS"]) == ("1", "1")
    drafts = Drafts(TerritoryStore(store), SINGLE_USER, partial(iris_regions, dep66))
    assert [draft.name for draft in drafts.visible()] == ["CPTS de Théza"]
    assert len(drafts.versions("CPTS de Théza")) == 1                 # a double click on « Enregistrer »: one version
    assert any("Brouillon « CPTS de Théza »" in notice for notice in result["notices"])
    assert not [notice for notice in result["notices"] if "rreur" in notice or "existe déjà" in notice]
