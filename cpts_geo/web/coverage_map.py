"""Map of the coverage of an area (ARS view): every CPTS coloured, white zones, overlaps and isolated zones.

Built on the simplified layers of :mod:`cpts_geo.web.webmap` (tiles, commune borders inside the CPTS,
white communes whole); plain folium objects, no Streamlit, so that it is tested without a browser.
"""

from __future__ import annotations


import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from cpts_geo.web import webmap
from cpts_geo.data.bundle import dissolve_territories
from cpts_geo.config import CPTS_PALETTE, STORAGE_CRS
from cpts_geo.region.coverage import CoverageReport
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


class MapLegend(MacroElement):
    """A small legend in the top right corner of the map (under the layers button; the bottom corners hold the
    scale, the attribution and the notice of missing tiles): a swatch (CSS of its box) and a label per line, the
    labels escaped."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function (map) {
        var legend = L.control({position: "topright"});   // under the layers button, clear of the notices below
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


class CptsNames(MacroElement):
    """The name of each CPTS written on it (at a point inside its largest piece) in the feature group ``group``: as
    many names as fit at the zoom shown without covering one another, the largest CPTS first (whose names win where
    two meet), updated at each zoom and move. The names are escaped HTML, placed by one small script: no folium
    marker per CPTS to render (a second of the map's rendering for the 140 CPTS of the Occitanie)."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function (map, group) {
        var labels = {{ this.places|tojson }}.map(function (place) {
            var label = document.createElement("div");
            label.className = "cpts-name";
            label.style.cssText = "font:600 11px sans-serif;color:#222;white-space:nowrap;width:max-content;"
                + "transform:translate(-50%,-50%);text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 3px #fff";
            label.innerHTML = place[2];   // escaped (html_text)
            L.marker([place[0], place[1]], {icon: L.divIcon({html: label, className: "", iconSize: [0, 0]}),
                                            interactive: false}).addTo(group);
            return label;
        });
        function overlaps(a, b) {
            return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        }
        function update() {
            var shown = [];
            labels.forEach(function (label) { label.style.display = ""; });
            labels.map(function (label) { return [label, label.getBoundingClientRect()]; }).forEach(function (pair) {
                if (shown.some(function (other) { return overlaps(pair[1], other); })) pair[0].style.display = "none";
                else if (pair[1].width) shown.push(pair[1]);
            });
        }
        map.on("zoomend moveend resize overlayadd", update);   // also once the frame has its size
        map.whenReady(function () { update(); setTimeout(update, 300); });
    })({{ this._parent.get_name() }}, {{ this.group.get_name() }});
    {% endmacro %}""")

    def __init__(self, shapes: gpd.GeoDataFrame, group: folium.FeatureGroup):
        super().__init__()
        self._name = "CptsNames"
        self.group = group
        by_size = np.argsort(-shapely.area(shapes.geometry.to_numpy()), kind="stable")  # degrees: only to order them
        largest = [max(getattr(shape, "geoms", [shape]), key=lambda piece: piece.area)
                   for shape in shapes.geometry.iloc[by_size]]
        points = shapely.point_on_surface(largest)
        self.places = [[round(point.y, 5), round(point.x, 5), html_text(name)]
                       for point, name in zip(points, shapes.index[by_size])]


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
        names = folium.FeatureGroup(name="Noms des CPTS").add_to(folium_map)
        CptsNames(shapes, names).add_to(folium_map)
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
