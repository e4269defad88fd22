"""The drawing map's gestures in headless Chromium (Debian ``chromium``; skipped without it, except in CI: see the
``chromium`` fixture): Shift + drag selects the zones of a box, Alt + click a whole commune, Ctrl + drag the zones
of a free shape (lasso). Slow (a Streamlit server and a browser): about 30 s."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from pathlib import Path

import pytest
import shapely

from cpts_geo.web import webmap

pytestmark = pytest.mark.usefixtures("chromium")
BENCH = Path(__file__).resolve().parent.parent / "bench" / "bench_browser_clicks.py"
#: The box dragged with Shift, over Cabestany, Saint-Nazaire and Saleilles: (north, west), (south, east); no IRIS
#: centre within 9 px of its sides at zoom 12.
BOX = ((42.692, 2.927), (42.650, 2.995))
#: The lasso drawn with Ctrl, (lat, lng), east of Perpignan: no IRIS centre within 400 m of its sides.
LASSO = [(42.706, 3.015), (42.641, 3.011), (42.632, 2.957)]
FIGURES_JS = """Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m =>
  [m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
   m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""


def browser_bench():
    spec = importlib.util.spec_from_file_location("bench_browser_clicks", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def gesture(bench, devtools, points, modifiers: int) -> dict:
    """Press at the first point, move through the others, release at the last (with the modifier keys: Alt 1,
    Ctrl 2, Shift 8); returns the summary figures once the page has taken the change."""
    before = await bench.evaluate(devtools, FIGURES_JS)
    pixels = await bench.evaluate(devtools, bench.MAP_JS + bench.POINTS_JS % json.dumps(points))
    steps = [("mousePressed", pixels[0])] + [("mouseMoved", p) for p in pixels[1:]] + [("mouseReleased", pixels[-1])]
    for kind, (x, y, _) in steps:
        await devtools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", modifiers=modifiers,
                            clickCount=0 if kind == "mouseMoved" else 1)
    start = time.monotonic()
    while (after := await bench.evaluate(devtools, FIGURES_JS)) == before or not await bench.evaluate(
            devtools, "window.__cptsIdle()"):
        assert time.monotonic() - start < 30, "the summary did not change"
        await asyncio.sleep(0.2)
    return after


async def draw(bench, debug_port: int, url: str, perpignan: tuple[float, float]) -> list[dict]:
    async with bench.map_page(debug_port, url, 120) as devtools:
        await bench.evaluate(devtools, "window.cptsDrawMap.setView([42.68, 2.93], 12, {animate: false}) && true")
        (north, west), (south, east) = BOX
        box = [[north, west], [(north + south) / 2, (west + east) / 2], [south, east]]
        return [await gesture(bench, devtools, box, 8),                 # Shift + drag: the zones of the box
                await gesture(bench, devtools, [list(perpignan)], 1),  # Alt + click: all of Perpignan
                await gesture(bench, devtools, box, 8),                 # the box again: all in, so removed
                await gesture(bench, devtools, LASSO, 2),               # Ctrl + drag: the zones of the lasso
                await gesture(bench, devtools, LASSO, 2)]               # again: all in, so removed


def test_shift_drag_selects_a_box_alt_click_a_whole_commune_ctrl_drag_a_lasso(dep66, dep66_dir):
    area = webmap.MapData(dep66).area(["66"])
    (north, west), (south, east) = BOX
    centres = [shapely.box(*shape.bounds).centroid for shape in area.iris.geometry]   # as drawmap.js
    in_box = [code for code, c in zip(area.iris.index, centres) if west < c.x < east and south < c.y < north]
    assert len(in_box) == 6 and not any(code.startswith("66136") for code in in_box)   # 4 of Cabestany, 2 whole
    saint_jacques = dep66.iris_geometry(["661360102"]).geometry.iloc[0].representative_point()
    bench = browser_bench()
    with bench.running_page("66", dep66_dir, 120) as (debug_port, url):
        boxed, with_perpignan, unboxed, lassoed, unlassoed = asyncio.run(draw(bench, debug_port, url, (saint_jacques.y, saint_jacques.x)))
    communes = len(dep66.communes_of(in_box))
    assert (boxed["IRIS"], boxed["Communes"]) == (str(len(in_box)), str(communes))
    assert (with_perpignan["IRIS"], with_perpignan["Communes"]) == (str(len(in_box) + 47), str(communes + 1))
    assert (unboxed["IRIS"], unboxed["Communes"]) == ("47", "1")
    lasso = shapely.Polygon([(lng, lat) for lat, lng in LASSO])
    in_lasso = [code for code, c in zip(area.iris.index, centres) if lasso.contains(c)]
    assert in_lasso == ["660020000", "660370102", "661860000"]   # Alénya, Canet-en-Roussillon (an IRIS), Saint-Nazaire
    assert min(lasso.exterior.distance(c) for c in centres) > 0.004
    assert (lassoed["IRIS"], lassoed["Communes"]) == ("50", "4")
    assert (unlassoed["IRIS"], unlassoed["Communes"]) == ("47", "1")


LEGEND_JS = """(() => {
  const map = window.cptsDrawMap.getContainer().getBoundingClientRect();
  const box = document.querySelector('.cpts-legends'), list = box && box.querySelector('.cpts-legend').parentElement;
  const rect = box ? box.getBoundingClientRect() : null;
  return box && {button: box.querySelector('button').innerText, unfolded: !list.hidden, text: box.innerText,
                 share: rect.width * rect.height / (map.width * map.height), idle: window.__cptsIdle()};
})()"""
TOOLTIP_JS = "[...document.querySelectorAll('.leaflet-tooltip')].map(t => t.innerText).join('|')"


async def legend_and_hover(bench, debug_port: int, url: str, perpignan: tuple[float, float]) -> tuple:
    import screenshot

    async with bench.map_page(debug_port, url, 120) as devtools:
        await devtools.call("Emulation.setDeviceMetricsOverride", width=1366, height=1150, deviceScaleFactor=1,
                            mobile=False)
        assert await bench.evaluate(devtools, screenshot.LAYER_SCRIPT % "APL médecins généralistes")
        start = time.monotonic()
        while not ((folded := await bench.evaluate(devtools, LEGEND_JS)) and folded["idle"]):
            assert time.monotonic() - start < 30, "no legend"
            await asyncio.sleep(0.2)
        await bench.evaluate(devtools, "document.querySelector('.cpts-legend-toggle').click() || true")
        unfolded = await bench.evaluate(devtools, LEGEND_JS)
        await bench.evaluate(devtools, "window.cptsDrawMap.setView(%s, 13, {animate: false}) && true"
                             % json.dumps(list(perpignan)))
        (x, y, _), = await bench.evaluate(devtools, bench.MAP_JS + bench.POINTS_JS % json.dumps([list(perpignan)]))
        for dx in (0, 2):
            await devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=x + dx, y=y)
        await asyncio.sleep(0.5)
        return folded, unfolded, await bench.evaluate(devtools, TOOLTIP_JS)


def test_legend_folds_at_1366_px_and_hover_gives_the_apl(dep66, dep66_dir):
    point = dep66.iris_geometry(["661360801"]).geometry.iloc[0].representative_point()
    bench = browser_bench()
    with bench.running_page("66", dep66_dir, 120) as (debug_port, url):
        folded, unfolded, tooltip = asyncio.run(legend_and_hover(bench, debug_port, url, (point.y, point.x)))
    assert folded["button"] == "Légende ▸" and not folded["unfolded"] and folded["share"] < 0.02
    assert unfolded["button"] == "Légende ▾" and unfolded["unfolded"] and "moins de 2,5 (sous-dense)" in unfolded["text"]
    assert "APL 2023 : 4,83" in tooltip and "661360801" in tooltip


#: A paint stroke over Saint-Nazaire, Alénya and Théza (communes of one IRIS each), (lat, lng) inside each.
STROKE = {"661860000": "Saint-Nazaire", "660020000": "Alénya", "662080000": "Théza"}
VISIBLE_TOOLTIPS_JS = """[...document.querySelectorAll('.leaflet-tooltip')]
  .filter(t => getComputedStyle(t).display !== 'none' && getComputedStyle(t).opacity !== '0').length"""
FOCUS_RING_JS = """(() => {
  const element = document.activeElement, style = getComputedStyle(element);
  return {tag: element.tagName.toLowerCase(), ring: style.outlineStyle !== 'none' && style.outlineWidth !== '0px'};
})()"""


def click_text_js(selector: str, text: str) -> str:
    """JavaScript that clicks the first element of ``selector`` whose text holds ``text``; true if found."""
    return (f"(() => {{ const e = [...document.querySelectorAll({json.dumps(selector)})]"
            f".find(e => e.innerText.includes({json.dumps(text)})); e && e.click(); return Boolean(e); }})()")


async def settled(bench, devtools, before: dict) -> dict:
    """The summary figures once they differ from ``before`` and the page has finished its runs (1 s without change)."""
    start, last, since = time.monotonic(), None, time.monotonic()
    while True:
        assert time.monotonic() - start < 30, "the page did not settle"
        figures = await bench.evaluate(devtools, FIGURES_JS)
        if figures != last:
            last, since = figures, time.monotonic()
        if figures != before and await bench.evaluate(devtools, "window.__cptsIdle()") and time.monotonic() - since > 1:
            return figures
        await asyncio.sleep(0.2)


async def paint_and_undo(bench, debug_port: int, url: str, perpignan, stroke) -> dict:
    async with bench.map_page(debug_port, url, 120) as devtools:
        assert await bench.evaluate(devtools, click_text_js("label", "pinceau"))
        await asyncio.sleep(1.5)
        await bench.evaluate(devtools, "window.cptsDrawMap.setView([42.66, 2.97], 12, {animate: false}) && true")
        result = {"perpignan": await gesture(bench, devtools, [list(perpignan)], 1)}   # Alt + click: all of Perpignan
        result["focus"] = await bench.evaluate(devtools, FOCUS_RING_JS)
        before = await bench.evaluate(devtools, FIGURES_JS)
        pixels = await bench.evaluate(devtools, bench.MAP_JS + bench.POINTS_JS % json.dumps(stroke))
        await devtools.call("Input.dispatchMouseEvent", type="mousePressed", x=pixels[0][0], y=pixels[0][1],
                            button="left", buttons=1, clickCount=1)
        tooltips = []
        for x, y, _ in pixels[1:]:
            for dx in (0, 3):   # two moves in each zone: the sticky tooltip follows the cursor
                await devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=x + dx, y=y, button="left",
                                    buttons=1)
                await asyncio.sleep(0.3)
                tooltips.append(await bench.evaluate(devtools, VISIBLE_TOOLTIPS_JS))
        await devtools.call("Input.dispatchMouseEvent", type="mouseReleased", x=pixels[-1][0] + 3, y=pixels[-1][1],
                            button="left", clickCount=1)
        result |= {"tooltips": tooltips, "painted": await settled(bench, devtools, before)}
        assert await bench.evaluate(devtools, click_text_js("button", "Annuler"))
        result["undone"] = await settled(bench, devtools, result["painted"])
        return result


def test_a_paint_stroke_is_one_undo_without_tooltip_nor_focus_ring(dep66, dep66_dir):
    perpignan = dep66.iris_geometry(["661360102"]).geometry.iloc[0].representative_point()
    stroke = [[point.y, point.x] for point in dep66.iris_geometry(list(STROKE)).geometry.representative_point()]
    bench = browser_bench()
    with bench.running_page("66", dep66_dir, 120) as (debug_port, url):
        result = asyncio.run(paint_and_undo(bench, debug_port, url, (perpignan.y, perpignan.x), stroke))
    assert (result["perpignan"]["IRIS"], result["perpignan"]["Communes"]) == ("47", "1")
    assert not result["focus"]["ring"], result["focus"]   # no black rectangle around the zone clicked
    assert result["tooltips"] == [0, 0, 0, 0]            # no hover tooltip while painting
    assert (result["painted"]["IRIS"], result["painted"]["Communes"]) == ("50", "4")
    assert (result["undone"]["IRIS"], result["undone"]["Communes"]) == ("47", "1")   # one stroke, one « Annuler »
