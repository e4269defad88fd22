"""The maps of the app on a closed network and with hostile names: Leaflet from the app, names inert in HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit_folium import _get_map_string

from cpts_geo.web import webmap
from cpts_geo.region.coverage import area_of, coverage_report
from cpts_geo.web.coverage_map import MapLegend, coverage_map

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<img src=x onerror=alert(1)>"
ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


@pytest.fixture(scope="module")
def area(dep66):
    return webmap.MapData(dep66).area(["66"])


def decoded_script(folium_map) -> str:
    """The JavaScript the map component runs, with the ``\\u003c`` escapes of its JSON strings decoded."""
    folium_map.render()
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: chr(int(m.group(1), 16)), _get_map_string(folium_map))


def test_leaflet_is_served_by_the_app(area):
    # the « Vue ARS » map (folium, in an iframe) and the drawing map (cpts_geo/web/drawmap, in the page)
    folium_map = webmap.empty_map(area)
    links = [url for _, url in folium_map.default_js + folium_map.default_css]
    assert links == ["../../app/static/leaflet/leaflet.js", "../../app/static/leaflet/leaflet.css"]
    for url in links:   # the file Streamlit serves from static/ (enableStaticServing) exists
        assert (ROOT / "static" / url.removeprefix("../../app/static/")).stat().st_size > 10_000
    assert "Leaflet 1.9.4" in (ROOT / "static" / "leaflet" / "leaflet.js").read_text()[:200]
    assert "BSD 2-Clause" in (ROOT / "static" / "leaflet" / "LICENSE").read_text()
    config = (ROOT / ".streamlit" / "config.toml").read_text()
    assert re.search(r"^enableStaticServing = true", config, re.M)
    script = decoded_script(folium_map)
    assert "https://cdn" not in script and "tileerror" in script and webmap.TILE_ERROR_NOTICE in script
    assert "L.control.scale({imperial: false})" in script and "L.control.scale()" not in script   # no miles
    drawing = (ROOT / "cpts_geo" / "web" / "drawmap" / "drawmap.js").read_text()
    assert 'new URL("app/static/leaflet/", document.baseURI)' in drawing and "https://" not in drawing
    assert "tileerror" in drawing


def test_neighbour_label_and_tooltips_are_escaped(area, dep66):
    layers = webmap.overlay_layers(area, (), {HOSTILE: frozenset(dep66.iris_by_commune["66186"])})
    payload = json.dumps([webmap.draw_area(area, dep66), layers], ensure_ascii=False)
    assert ESCAPED in payload and HOSTILE not in payload
    names = " ".join(area.iris["commune"])         # names from the data are escaped too (L'Albère…)
    assert "&#x27;" in names and "'" not in names and "&#x27;" in payload


def test_coverage_map_tooltips_are_escaped(dep66):
    area = webmap.MapData(dep66).area(["66"])
    registry = {HOSTILE: frozenset(dep66.iris_by_commune["66028"]),
                '=HYPERLINK("http://x")': frozenset(dep66.iris_by_commune["66186"])}
    report = coverage_report(dep66, registry, area_of(dep66, "76", "66"))
    script = decoded_script(coverage_map(area, registry, report))
    assert ESCAPED in script and HOSTILE not in script
    assert "=HYPERLINK(&quot;http://x&quot;)" in script


@pytest.fixture(scope="module")
def coverage_script(dep66, area) -> str:
    registry = {"CPTS Ruscino": frozenset(dep66.iris_by_commune["66028"])}
    return decoded_script(coverage_map(area, registry, coverage_report(dep66, registry, area_of(dep66, "76", "66"))))


def test_coverage_map_names_its_background(coverage_script):
    """The layer control names the background « Plan IGN », not by its WMTS address (a box wider than the map)."""
    control = re.search(r"base_layers : \{(.*?)\}", coverage_script, re.S).group(1)
    assert re.fullmatch(r'\s*"Plan IGN" : tile_layer_\w+,?\s*', control)
    assert "SERVICE=WMTS" in coverage_script            # the tiles still come from the Géoplateforme


def test_coverage_map_has_a_legend(coverage_script, area):
    """A legend says what the colours are, its labels escaped."""
    assert "cpts-legend" in coverage_script
    # not over the notice of missing tiles (bottom left, as wide as the map's column)
    assert re.search(r'L\.control\(\{position: "topright"\}\);[^\n]*\n\s*legend\.onAdd', coverage_script)
    assert 'L.control({position: "bottomleft"}), shown = false' in coverage_script
    for label in ("CPTS (une couleur par CPTS)", "Zone blanche (hors CPTS)", "Chevauchement de CPTS",
                  "Zone isolée (hors CPTS, entourée de CPTS)"):
        assert label in coverage_script
    hostile = webmap.empty_map(area)
    MapLegend([("background:red", HOSTILE)]).add_to(hostile)
    assert ESCAPED in decoded_script(hostile) and HOSTILE not in decoded_script(hostile)
