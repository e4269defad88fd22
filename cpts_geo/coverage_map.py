"""Map of the coverage of an area (ARS view): every CPTS coloured, white zones, overlaps and isolated zones.

Built on the simplified layers of :mod:`cpts_geo.webmap` (tiles, commune borders inside the CPTS,
white communes whole); plain folium objects, no Streamlit, so that it is tested without a browser.
"""

from __future__ import annotations

import math

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from cpts_geo import webmap
from cpts_geo.bundle import dissolve_territories
from cpts_geo.config import CPTS_PALETTE, STORAGE_CRS
from cpts_geo.coverage import CoverageReport
from cpts_geo.user_text import html_text

COLOURS = {"white": "#d7191c", "overlap": "#ff7f00", "isolated": "#000000", "focus": "#e7298a"}
CPTS_TOOLTIP = (["name", "population", "taille"], ["CPTS", "Population", "Taille"])
#: Leaflet style of the outline of the CPTS picked in the list.
FOCUS_STYLE = {"color": COLOURS["focus"], "weight": 4, "fill": False}


def white_zone_features(area: webmap.AreaLayer, report: CoverageReport) -> dict:
    """White zones as GeoJSON: a commune covered by no CPTS as one feature, the white IRIS of the others."""
    white = report.white_zones[report.white_zones["code"].isin(area.communes.index)]
    whole = white[white["whole"]]
    communes = gpd.GeoDataFrame({
        "code": whole["code"].to_numpy(), "commune": whole["name"].map(html_text).to_numpy(),
        "nom_iris": "commune entière",
        "population": [webmap.fr_int(p) for p in whole["population"]]},
        geometry=area.communes.geometry.loc[whole["code"]].array, crs=STORAGE_CRS)
    partial = [c for codes in white.loc[~white["whole"], "iris"] for c in codes]
    iris = area.iris[area.iris.index.isin(partial)][[*webmap.FEATURE_FIELDS, "geometry"]]
    return pd.concat([communes, iris], ignore_index=True).to_geo_dict(drop_id=True)


def _fixed_style(colour: str, fill: float, weight: float, dash: str | None = None):
    style = {"color": colour, "fillColor": colour, "fillOpacity": fill, "weight": weight, "dashArray": dash}
    return lambda _feature: style


def label_min_zoom(name: str, piece) -> int:
    """The first zoom level at which ``name`` (11 px bold, about 6.5 px a character) is at most twice as wide as
    ``piece`` (a polygon in EPSG:4326) on a web Mercator map: below it the names would cover one another."""
    west, _, east, _ = piece.bounds
    text_px = 6.5 * len(name) / 2
    return max(0, math.ceil(math.log2(text_px * 360 / (256 * max(east - west, 1e-9)))))


class LabelZooms(MacroElement):
    """Shows each CPTS name (``.cpts-name``) only from its ``data-min-zoom`` (:func:`label_min_zoom`) on, and not
    where it would cover a name already shown (the names come largest CPTS first, see :func:`name_labels`)."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function (map) {
        function overlaps(a, b) {
            return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        }
        function update() {
            var zoom = map.getZoom(), shown = [];
            map.getContainer().querySelectorAll(".cpts-name").forEach(function (label) {
                label.style.display = zoom >= Number(label.dataset.minZoom) ? "" : "none";
                if (label.style.display) return;
                var box = label.getBoundingClientRect();
                if (shown.some(function (other) { return overlaps(box, other); })) label.style.display = "none";
                else shown.push(box);
            });
        }
        map.on("zoomend moveend resize", update);   // also once the frame has its size (names have no box before)
        map.whenReady(function () { update(); setTimeout(update, 300); });
    })({{ this._parent.get_name() }});
    {% endmacro %}""")


class MapLegend(MacroElement):
    """A small legend in a corner of the map: a swatch (CSS of its box) and a label per line, the labels escaped."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function (map) {
        var legend = L.control({position: "bottomright"});
        legend.onAdd = function () {
            var box = L.DomUtil.create("div", "cpts-legend");
            box.style.cssText = "background:#fff;padding:4px 8px;font:12px sans-serif;line-height:18px;"
                + "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3)";
            box.innerHTML = {{ this.html|tojson }};
            return box;
        };
        legend.addTo(map);
    })({{ this._parent.get_name() }});
    {% endmacro %}""")

    def __init__(self, items: list[tuple[str, str]]):
        super().__init__()
        self._name = "MapLegend"
        self.html = "".join(f'<div><span style="display:inline-block;width:14px;height:10px;margin-right:6px;'
                            f'vertical-align:middle;box-sizing:border-box;{swatch}"></span>{html_text(label)}</div>'
                            for swatch, label in items)


#: The legend of the coverage map: swatches drawn as the layers are.
COVERAGE_LEGEND = [
    (f"background:{CPTS_PALETTE[0]};border:1px solid #333", "CPTS (une couleur par CPTS)"),
    (f"background:{COLOURS['white']};opacity:.7", "Zone blanche (hors CPTS)"),
    (f"background:{COLOURS['overlap']};border:2px solid {COLOURS['overlap']}", "Chevauchement de CPTS"),
    (f"border:2px dashed {COLOURS['isolated']}", "Zone isolée (hors CPTS, entourée de CPTS)"),
]


def name_labels(shapes: gpd.GeoDataFrame) -> folium.FeatureGroup:
    """The name of each CPTS written on it (at a point inside its largest piece), inert HTML, shown from the zoom
    at which it fits its CPTS (:class:`LabelZooms`); the largest CPTS first, whose names win where two meet."""
    labels = folium.FeatureGroup(name="Noms des CPTS")
    by_size = np.argsort(-shapely.area(shapes.geometry.to_numpy()), kind="stable")   # degrees: only to order them
    for name, geometry in shapes.geometry.iloc[by_size].items():
        largest = max(getattr(geometry, "geoms", [geometry]), key=lambda piece: piece.area)
        point = largest.point_on_surface()
        html = (f'<div class="cpts-name" data-min-zoom="{label_min_zoom(name, largest)}" style="font:600 11px '
                'sans-serif;color:#222;white-space:nowrap;width:max-content;transform:translate(-50%,-50%);'
                f'text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff">{html_text(name)}</div>')
        folium.Marker([point.y, point.x], icon=folium.DivIcon(html=html, icon_size=(0, 0)),
                      interactive=False).add_to(labels)
    return labels


def cpts_shapes(area: webmap.AreaLayer, registry: dict[str, frozenset[str]], report: CoverageReport
                ) -> gpd.GeoDataFrame:
    """The outline of each CPTS of ``report`` on the map (simplified), indexed by name."""
    return dissolve_territories(area.iris.geometry, {name: registry[name] for name in report.cpts["name"]})


def coverage_map(area: webmap.AreaLayer, registry: dict[str, frozenset[str]], report: CoverageReport,
                 shapes: gpd.GeoDataFrame | None = None, shown: tuple[str, ...] | None = None) -> folium.Map:
    """The map of ``report``: CPTS coloured with their name, population and taille; problems on top. ``shapes``:
    :func:`cpts_shapes`, if already made. ``shown``: the départements of the area (:func:`departements_of`) when
    ``area`` holds more (:func:`map_departements`), the map being framed on them. The CPTS picked in the list is
    drawn apart (:func:`focus_view`), so that the map stays the same in the browser."""
    folium_map = webmap.empty_map(area, area.departements_bounds(shown) if shown else None)
    table = report.cpts.set_index("name")
    shapes = (cpts_shapes(area, registry, report) if shapes is None else shapes).copy()
    # commune borders inside the CPTS only: the white zones are drawn commune by commune (lighter page)
    webmap.commune_borders_layer(shapely.intersection(area.commune_borders, shapely.union_all(shapes.geometry.array))
                                 ).add_to(folium_map)
    shapes["colour"] = [CPTS_PALETTE[i % len(CPTS_PALETTE)] for i in range(len(shapes))]
    shapes["population"] = table.loc[shapes.index, "population"].map(webmap.fr_int)
    shapes["taille"] = table.loc[shapes.index, "taille"].astype(str)
    if len(shapes):
        features = shapes.reset_index().assign(name=lambda table: table["name"].map(html_text))  # tooltips are HTML
        folium.GeoJson(features.to_geo_dict(drop_id=True), name="CPTS",
                       style_function=lambda f: {"color": "#333333", "weight": 1.2, "fillOpacity": 0.55,
                                                 "fillColor": f["properties"]["colour"]},
                       tooltip=folium.GeoJsonTooltip(fields=CPTS_TOOLTIP[0], aliases=CPTS_TOOLTIP[1])
                       ).add_to(folium_map)
        name_labels(shapes).add_to(folium_map)
        LabelZooms().add_to(folium_map)
    shared = [c for codes in report.overlaps["iris"] for c in codes]
    isolated = [c for codes in report.isolated["iris"] for c in codes]
    for features, name, style in (
            (white_zone_features(area, report), "Zones blanches", _fixed_style(COLOURS["white"], 0.6, 0.8)),
            (area.iris_features(shared), "Chevauchements", _fixed_style(COLOURS["overlap"], 0.7, 2.5)),
            (area.iris_features(isolated), "Zones isolées", _fixed_style(COLOURS["isolated"], 0.0, 3, "4 4"))):
        if features["features"]:
            folium.GeoJson(features, name=name, style_function=style,
                           tooltip=folium.GeoJsonTooltip(fields=webmap.FEATURE_FIELDS,
                                                         aliases=webmap.TOOLTIP_ALIASES)).add_to(folium_map)
    folium.LayerControl(collapsed=True).add_to(folium_map)
    MapLegend(COVERAGE_LEGEND).add_to(folium_map)
    return folium_map


def focus_view(shapes: gpd.GeoDataFrame, name: str) -> tuple[dict, list]:
    """The outline of CPTS ``name`` (of :func:`cpts_shapes`) as GeoJSON, and its bounds ``[[south, west], [north,
    east]]``; drawn in :data:`FOCUS_STYLE` (Leaflet)."""
    shape = shapes.loc[[name], ["geometry"]]
    return shape.to_geo_dict(drop_id=True), webmap.bounds_of(shape.geometry)


def commune_at(area: webmap.AreaLayer, lat: float, lng: float) -> str | None:
    """The INSEE code of the commune of the map under a point (a click), or None outside the area."""
    hits = area.communes.sindex.query(shapely.Point(lng, lat), predicate="intersects")
    return str(area.communes.index[hits[0]]) if len(hits) else None


def departements_of(report: CoverageReport, bundle) -> tuple[str, ...]:
    """Départements of the area of ``report``."""
    return tuple(sorted(np.unique(bundle.iris["departement"].to_numpy()[report.area.mask])))


def map_departements(report: CoverageReport, bundle, registry: dict[str, frozenset[str]]) -> tuple[str, ...]:
    """Départements the map must load: those of the area, and those where its CPTS reach beyond it (a CPTS crossing
    the limit of the area is drawn whole, all its pieces)."""
    codes = [code for name in report.cpts["name"] for code in registry[name]]
    beyond = bundle.iris["departement"].reindex(codes).dropna()
    return tuple(sorted({*departements_of(report, bundle), *beyond}))
