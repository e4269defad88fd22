"""Everything the maps of the app need: simplified layers per département, the layers of the drawing map
as plain GeoJSON and Leaflet styles (:mod:`cpts_geo.web.drawmap` draws them), the folium base of the « Vue ARS »
map, and commune search.

Only plain data and folium objects here (no Streamlit), so that it is tested and benchmarked without a
browser. The IRIS of an area and its fixed layers (commune borders and names, EPCI outlines) depend only on
the area and go to the browser once (:func:`draw_area`); the neighbouring CPTS, split communes and the zone
to look at change with the selection (:func:`overlay_layers`).

Every name shown on the map (tooltips, labels) is HTML-escaped here, and Leaflet comes from the
app's own ``static/`` folder (no CDN), so that the map works on a closed network.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from jinja2 import Template

from cpts_geo.data.codes import CODE_PATTERN, PLM_PARENTS
from cpts_geo.config import STORAGE_CRS, departement_of, local_crs
from cpts_geo.formatting import fr_decimal, fr_int
from cpts_geo.territory.offer import APL_THRESHOLD, NOT_AVAILABLE, establishments_geojson
from cpts_geo.user_text import html_text

#: Simplification of the IRIS borders sent to the browser (metres, metric CRS).
SIMPLIFY_TOLERANCE_M = 30.0
#: Coarser simplification for a view of a whole région (zoom 7–8: a screen pixel is 300–600 m).
REGION_TOLERANCE_M = 120.0
#: Coordinates sent to the browser are snapped to this grid (degrees, about 10 m).
COORDINATE_GRID = 1e-4

COLOURS = {
    "iris": "#4a5a6a",
    "commune": "#1f2d3a",
    "selected": "#d95f02",
    "split": "#7b3294",
    "neighbour": "#1b7837",
    "focus": "#e7298a",
    "epci": "#8c510a",
    "outline": "#1a1a1a",
    "piece": "#e31a1c",
}
MAP_HEIGHT_PX = 640
#: Plan IGN (Géoplateforme, no key needed), light enough to read the zones on it.
TILES = ("https://data.geopf.fr/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=GEOGRAPHICALGRIDSYSTEMS."
         "PLANIGNV2&STYLE=normal&TILEMATRIXSET=PM&FORMAT=image/png&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}")
ATTRIBUTION = "Fond Plan IGN ; contours IRIS © IGN-INSEE"
#: Name of the background in the maps' layer control.
TILES_NAME = "Plan IGN"

#: Leaflet 1.9.4 (BSD-2-Clause, static/leaflet/LICENSE) served by Streamlit from ``static/`` (``enableStaticServing``
#: in .streamlit/config.toml), instead of folium's CDN links (Leaflet, jQuery, Bootstrap, Font Awesome: only
#: Leaflet is used). Relative to the map's iframe (``<base>/component/streamlit_folium…/index.html``), so that
#: it also works under a ``server.baseUrlPath``.
STATIC_URL = "../../app/static"
LOCAL_JS = [("leaflet", f"{STATIC_URL}/leaflet/leaflet.js")]
LOCAL_CSS = [("leaflet_css", f"{STATIC_URL}/leaflet/leaflet.css")]
TILE_ERROR_NOTICE = "Fond de carte indisponible (réseau) : la carte reste utilisable."

#: Properties of an IRIS feature; ``code`` is what a click gives back.
FEATURE_FIELDS = ["code", "commune", "nom_iris", "population"]
TOOLTIP_ALIASES = ["Code", "Commune", "IRIS", "Population"]


@dataclass(frozen=True)
class AreaLayer:
    """The IRIS of an area with simplified geometry (EPSG:4326), and its communes."""

    departements: tuple[str, ...]
    iris: gpd.GeoDataFrame       # indexed by IRIS code; columns of FEATURE_FIELDS + code_insee, departement
    communes: gpd.GeoDataFrame   # indexed by INSEE code; nom, epci, geometry
    commune_borders: shapely.Geometry  # every border between communes once (lines)
    epci: gpd.GeoDataFrame       # indexed by EPCI code (SIREN); nom, geometry (the part within the area)

    @property
    def bounds(self) -> list[list[float]]:
        """``[[south, west], [north, east]]`` of the area, as Leaflet wants it."""
        return bounds_of(self.iris.geometry)

    def departements_bounds(self, departements) -> list[list[float]]:
        """:attr:`bounds` of some of the area's départements."""
        return bounds_of(self.iris.geometry[self.iris["departement"].isin(list(departements))])

    def iris_features(self, codes=None) -> dict:
        """GeoJSON FeatureCollection of the area's IRIS (all of them, or those of ``codes`` in the area)."""
        iris = self.iris if codes is None else self.iris[self.iris.index.isin(list(codes))]
        return iris[[*FEATURE_FIELDS, "geometry"]].to_geo_dict(drop_id=True)


class MapData:
    """Simplified layers of a bundle, computed once per département and kept."""

    def __init__(self, bundle, tolerance_m: float = SIMPLIFY_TOLERANCE_M):
        self.bundle = bundle
        self.tolerance_m = tolerance_m
        self._departement_layers: dict[str, gpd.GeoDataFrame] = {}

    def departement_iris(self, departement: str) -> gpd.GeoDataFrame:
        """IRIS of one département: borders simplified as a coverage in a metric CRS, snapped to a grid."""
        if departement not in self._departement_layers:
            self._departement_layers[departement] = self._simplify(departement)
        return self._departement_layers[departement]

    def _simplify(self, departement: str) -> gpd.GeoDataFrame:
        bundle = self.bundle
        codes = bundle.iris.index[bundle.iris["departement"] == departement]
        iris = bundle.iris_geometry(codes).to_crs(local_crs(departement))
        simplified = shapely.coverage_simplify(iris.geometry.array, self.tolerance_m)
        geometry = gpd.GeoSeries(simplified, index=iris.index, crs=iris.crs).to_crs(STORAGE_CRS)
        snapped = shapely.set_precision(geometry.array, COORDINATE_GRID)
        rounded = shapely.transform(snapped, lambda xy: xy.round(4))
        names = bundle.communes["nom"]
        table = pd.DataFrame({
            "code": iris.index,
            "code_insee": iris["code_insee"].to_numpy(),
            "departement": departement,
            "commune": names.reindex(iris["code_insee"]).map(html_text).to_numpy(),   # tooltips are HTML
            "nom_iris": iris["nom_iris"].map(html_text).to_numpy(),
            "population": [fr_int(p) for p in iris["population"].fillna(0)],
        }, index=iris.index)
        return gpd.GeoDataFrame(table, geometry=rounded, crs=STORAGE_CRS)

    def area(self, departements) -> AreaLayer:
        """The layer of one or several départements (the area the map shows)."""
        departements = tuple(sorted(set(departements)))
        iris = pd.concat([self.departement_iris(d) for d in departements])
        iris = gpd.GeoDataFrame(iris, geometry="geometry", crs=STORAGE_CRS)
        communes = iris[["code_insee", "geometry"]].dissolve(by="code_insee", method="unary")  # snapped: not a clean coverage
        communes["nom"] = self.bundle.communes["nom"].reindex(communes.index)
        communes["epci"] = self.bundle.communes["epci"].reindex(communes.index).fillna("")
        borders = shapely.line_merge(shapely.union_all(communes.boundary.array))
        epci = communes.loc[communes["epci"] != "", ["epci", "geometry"]].dissolve(by="epci", method="unary")
        epci["nom"] = self.bundle.epci["nom"].reindex(epci.index).fillna(epci.index.to_series())
        return AreaLayer(departements, iris, communes, borders, epci)

    def iris_bounds(self, codes) -> list[list[float]]:
        """Bounds of some IRIS (their départements' layers are computed if needed)."""
        codes = list(codes)
        departements = set(self.bundle.iris.loc[codes, "departement"])
        iris = pd.concat([self.departement_iris(d) for d in sorted(departements)])
        return bounds_of(iris.geometry.loc[codes])


def bounds_of(geometry: gpd.GeoSeries) -> list[list[float]]:
    """``[[south, west], [north, east]]`` of a GeoSeries in EPSG:4326."""
    west, south, east, north = geometry.total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


class TileErrorNotice(MacroElement):
    """A French notice on the map, shown once when a background tile fails to load (closed network)."""

    _template = Template("""{% macro script(this, kwargs) %}
    (function (map) {
        var notice = L.control({position: "bottomleft"}), shown = false;
        notice.onAdd = function () {
            var box = L.DomUtil.create("div", "cpts-tile-error");
            box.textContent = {{ this.text|tojson }};
            box.style.cssText = "background:#fff8e1;border:1px solid #c77c02;padding:4px 8px;font:13px sans-serif";
            return box;
        };
        map.eachLayer(function (layer) {
            if (layer instanceof L.TileLayer) {
                layer.on("tileerror", function () { if (!shown) { shown = true; notice.addTo(map); } });
            }
        });
    })({{ this._parent.get_name() }});
    {% endmacro %}""")

    def __init__(self, text: str = TILE_ERROR_NOTICE):
        super().__init__()
        self._name = "TileErrorNotice"
        self.text = text


class MetricScale(MacroElement):
    """Leaflet's scale bar in metres and kilometres only (folium's ``control_scale`` adds miles)."""

    _template = Template("""{% macro script(this, kwargs) %}
    L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});
    {% endmacro %}""")

    def __init__(self):
        super().__init__()
        self._name = "MetricScale"


def empty_map(area: AreaLayer, bounds: list[list[float]] | None = None) -> folium.Map:
    """The background tiles, framed on the area (or on ``bounds``), with Leaflet from the app, a metric scale and
    the notice of missing tiles."""
    folium_map = folium.Map(tiles=None, max_zoom=18)
    folium.TileLayer(TILES, attr=ATTRIBUTION, name=TILES_NAME, max_zoom=18).add_to(folium_map)
    folium_map.default_js, folium_map.default_css = LOCAL_JS, LOCAL_CSS
    MetricScale().add_to(folium_map)
    TileErrorNotice().add_to(folium_map)
    folium_map.fit_bounds(bounds or area.bounds)
    return folium_map


def commune_borders_layer(borders: shapely.Geometry) -> folium.GeoJson:
    """Lines between communes (not clickable); their GeoJSON written by GEOS (``shapely.to_geojson``), not walked
    point by point in Python (a second for the 2 MB of the Occitanie)."""
    return folium.GeoJson(json.loads(shapely.to_geojson(borders)), name="Communes", interactive=False,
                          style_function=lambda _: {"color": COLOURS["commune"], "weight": 1.6, "fill": False})


# --- the drawing map (cpts_geo.web.drawmap): plain GeoJSON layers and styles -------------------------------
#: Leaflet styles of the clickable IRIS of the drawing map.
IRIS_STYLES = {"iris": {"color": COLOURS["iris"], "weight": 0.6, "fillColor": "#ffffff", "fillOpacity": 0.35},
               "selected": {"color": COLOURS["selected"], "weight": 1, "fillColor": COLOURS["selected"],
                            "fillOpacity": 0.55}}
#: Commune names on the drawing map: communes of at least this population from the first zoom, all from the second.
COMMUNE_NAME_ZOOMS = ((5000, 10), (0, 12))


def map_layer(name: str, features: dict, style: dict, *, labels=(), min_zoom: int | None = None,
              point_radius: float | None = None, interactive: bool = False) -> dict:
    """One layer of the drawing map, JSON-ready: a GeoJSON FeatureCollection (EPSG:4326) drawn with a Leaflet
    ``style`` (a feature's ``style`` property overrides it; its ``tooltip`` property, HTML, is shown on hover
    when ``interactive``), point features as circles of ``point_radius`` px, ``labels`` as ``[lat, lng, html]`` in
    the style's colour (or ``[lat, lng, html, colour]``), the whole shown only from ``min_zoom``. Every text in it
    is HTML, already escaped."""
    return {"name": name, "features": features, "style": style, "labels": [list(label) for label in labels],
            "min_zoom": min_zoom, "point_radius": point_radius, "interactive": interactive}


def _geometry_features(geometry) -> dict:
    return gpd.GeoDataFrame(geometry=gpd.GeoSeries(geometry), crs=STORAGE_CRS).to_geo_dict(drop_id=True)


def _point_label(point, text: str) -> list:
    return [round(point.y, 5), round(point.x, 5), html_text(text)]


def area_layers(area: AreaLayer, bundle) -> list[dict]:
    """The layers of an area that do not change with the selection: commune borders, EPCI outlines, commune names."""
    layers = [map_layer("Communes", _geometry_features([area.commune_borders]),
                        {"color": COLOURS["commune"], "weight": 1.6, "fill": False})]
    if not area.epci.empty:
        layers.append(map_layer("Intercommunalités (EPCI)", _geometry_features(area.epci.boundary.array),
                                {"color": COLOURS["epci"], "weight": 2.4, "dashArray": "10 5 2 5", "fill": False}))
    population = bundle.communes["population"].reindex(area.communes.index).fillna(0)
    points = area.communes.geometry.representative_point()
    shown = pd.Series(False, index=area.communes.index)
    for least, zoom in COMMUNE_NAME_ZOOMS:   # the most populated first: the map shows it where two names would meet
        names = (population >= least) & ~shown
        shown |= names
        layers.append(map_layer(f"Noms des communes (zoom {zoom})", _geometry_features([]),
                                {"color": COLOURS["commune"]}, min_zoom=zoom,
                                labels=[_point_label(points[code], area.communes.at[code, "nom"])
                                        for code in population[names].sort_values(ascending=False,
                                                                                  kind="stable").index]))
    return layers


def draw_area(area: AreaLayer, bundle) -> dict:
    """What the drawing map receives once per area: the IRIS (clickable), the other layers, bounds and styles."""
    iris = area.iris[[*FEATURE_FIELDS, "code_insee", "geometry"]].to_geo_dict(drop_id=True)
    return {"iris": iris, "layers": area_layers(area, bundle), "bounds": area.bounds, "styles": IRIS_STYLES}


def _zone_shapes(area: AreaLayer, codes) -> list:
    """Shapes of the communes (INSEE codes) and IRIS (9-character codes) of the area among ``codes``."""
    communes = [code for code in codes if code in area.communes.index]
    iris = [code for code in codes if code in area.iris.index]
    return [*area.communes.geometry.loc[communes].array, *area.iris.geometry.loc[iris].array]


#: Styles of the territory's outline and of its detached pieces (a warning: the territory should be in one piece).
OUTLINE_STYLE = {"color": COLOURS["outline"], "weight": 4, "fill": False}
PIECE_STYLE = {"color": COLOURS["piece"], "weight": 4, "dashArray": "8 6", "fillColor": COLOURS["piece"],
               "fillOpacity": 0.18}


def territory_layers(area: AreaLayer, selection, detached=()) -> list[dict]:
    """The outline of the selection (its IRIS in the area, dissolved), each detached piece (``detached``: lists of
    IRIS codes, as :func:`cpts_geo.territory.checks.check_contiguity` gives them) outlined apart in a warning style and
    labelled « morceau 2 »…: one layer, each IRIS in one of its shapes (nothing sent twice)."""
    index, shapes = area.iris.index, area.iris.geometry.array
    positions = index.get_indexer(list(selection))
    positions = positions[positions >= 0]
    if not len(positions):
        return []
    piece_of = np.zeros(len(index), dtype=int)   # 0: the main piece
    found = index.get_indexer([code for codes in detached for code in codes])
    numbers = np.repeat(np.arange(2, len(detached) + 2), [len(codes) for codes in detached])
    piece_of[found[found >= 0]] = numbers[found >= 0]
    features, labels = [], []
    for number in np.unique(piece_of[positions]):
        shape = _dissolved(shapes[positions[piece_of[positions] == number]])
        features.append({"type": "Feature", "geometry": json.loads(shapely.to_geojson(shape)),
                         "properties": {"style": PIECE_STYLE} if number else {}})
        if number:
            labels.append([*_point_label(shape.point_on_surface(), f"morceau {number}"), COLOURS["piece"]])
    return [map_layer("Contour du territoire", {"type": "FeatureCollection", "features": features}, OUTLINE_STYLE,
                      labels=labels)]


def _dissolved(shapes) -> shapely.Geometry:
    """The union of IRIS shapes: as a coverage (1 ms for 150 IRIS), or a full union (15 ms) where the snapping of the
    map's IRIS left it invalid or not a coverage."""
    try:
        merged = shapely.coverage_union_all(shapes)
    except shapely.errors.GEOSException:   # « incorrectly noded inputs »
        merged = None
    return merged if merged is not None and merged.is_valid else shapely.union_all(shapes)


def overlay_layers(area: AreaLayer, split_communes=(), neighbours: dict[str, frozenset[str]] | None = None,
                   focus=()) -> list[dict]:
    """The layers that change with the selection: neighbouring CPTS (named), split communes, zone to look at
    (``focus``: communes or IRIS, e.g. an enclaved IRIS)."""
    layers = []
    for name, codes in (neighbours or {}).items():
        shapes = area.iris.geometry[area.iris.index.isin(list(codes))]
        if not shapes.empty:
            merged = shapely.coverage_union_all(shapes.array)
            layers.append(map_layer(f"CPTS voisine {html_text(name)}", _geometry_features([merged]),
                                    {"color": COLOURS["neighbour"], "weight": 2.5, "dashArray": "2 6",
                                     "fillColor": COLOURS["neighbour"], "fillOpacity": 0.12},
                                    labels=[_point_label(merged.point_on_surface(), name)]))
    for name, codes, colour, dash, weight in (("Communes découpées", split_communes, COLOURS["split"], "6 4", 3),
                                              ("Zone signalée", focus, COLOURS["focus"], None, 4)):
        if shapes := _zone_shapes(area, codes):
            layers.append(map_layer(name, _geometry_features(shapes),
                                    {"color": colour, "weight": weight, "dashArray": dash, "fill": False}))
    return layers


# --- optional layers the user switches on, sent to the browser once per area ------------------------------
#: The optional layers of the drawing map: key → French label of their switch (« Afficher : » under the map).
OPTIONAL_LAYERS = {"apl": "APL médecins généralistes", "finess": "Établissements (FINESS)",
                   "density": "Densité de population"}
#: APL classes of the map, (upper bound, colour, French label): under 2.5 a commune is usually called « sous-dense ».
APL_CLASSES = ((APL_THRESHOLD, "#d7301f", "moins de 2,5 (sous-dense)"), (3.0, "#fc8d59", "de 2,5 à moins de 3"),
               (4.0, "#fee08b", "de 3 à moins de 4"), (5.0, "#a6d96a", "de 4 à moins de 5"),
               (math.inf, "#1a9850", "5 et plus"))
#: The legend entry of a value that is not known.
UNKNOWN_ENTRY = ("#bdbdbd", NOT_AVAILABLE)
#: Population density classes (inhabitants per km²), as APL_CLASSES.
DENSITY_CLASSES = ((50, "#ffffcc", "moins de 50 hab./km²"), (200, "#c2e699", "de 50 à 200 hab./km²"),
                   (1000, "#78c679", "de 200 à 1 000 hab./km²"), (5000, "#31a354", "de 1 000 à 5 000 hab./km²"),
                   (math.inf, "#006837", "5 000 hab./km² et plus"))
#: Colours of the establishment groups (soins de ville, sanitaire, médico-social).
CATEGORY_COLOURS = {"soins de ville": "#1f78b4", "sanitaire": "#e31a1c", "médico-social": "#6a3d9a"}


def legend_entry(value: float | None, classes) -> tuple[str, str]:
    """The legend entry (colour, French label) of the class of ``classes`` (:data:`APL_CLASSES`,
    :data:`DENSITY_CLASSES`) that holds a value; :data:`UNKNOWN_ENTRY` where the value is not known."""
    if value is None or value != value:
        return UNKNOWN_ENTRY
    return next((colour, label) for bound, colour, label in classes if value < bound)


def optional_layer(name: str, layers=(), *, iris_fill: dict[str, str] | None = None,
                   iris_hover: dict[str, str] | None = None, legend=(), point_legend: bool = False,
                   note: str | None = None) -> dict:
    """A layer of the drawing map the user switches on: map layers (:func:`map_layer`) and/or a fill of the area's
    IRIS (``iris_fill``: IRIS or INSEE code → colour; the IRIS are already in the browser) and a line added to their
    hover text (``iris_hover``: IRIS or INSEE code → HTML, escaped by the caller), with its legend (``(colour,
    label)``, drawn as dots with ``point_legend``) and a note under it. Texts escaped here."""
    return {"name": html_text(name), "layers": list(layers), "iris_fill": iris_fill, "iris_hover": iris_hover,
            "legend": {"title": html_text(name), "items": [[colour, html_text(label)] for colour, label in legend],
                       "points": point_legend, "note": html_text(note) if note else None}}


def apl_layer(area: AreaLayer, offer) -> dict:
    """The area's IRIS filled with the APL class of their commune (only the commune colours are sent), the
    commune's APL in their hover text."""
    millesime = offer.meta.get("apl", {}).get("millesime")
    name = f"APL médecins généralistes {millesime or ''}".strip()
    values = {code: offer.apl.get(code, (None,))[0] for code in area.communes.index}
    return optional_layer(name, iris_fill={code: legend_entry(value, APL_CLASSES)[0] for code, value in values.items()},
                          iris_hover={code: f"<b>APL {millesime or ''}</b> : {fr_decimal(value, 2)}"
                                      for code, value in values.items()},
                          legend=[(colour, label) for _, colour, label in APL_CLASSES] + [UNKNOWN_ENTRY])


def density_layer(area: AreaLayer, bundle) -> dict:
    """The area's IRIS filled with their class of population density (inhabitants per km² of the IRIS's area in its
    département's metric CRS), the density in their hover text."""
    iris = bundle.iris.loc[area.iris.index]
    density = iris["population"] / iris["area_km2"].where(iris["area_km2"] > 0)
    meta = bundle.meta
    millesime, split_year = meta.get("population_millesime"), meta.get("iris_population_year")
    return optional_layer(
        "Densité de population", iris_fill={code: legend_entry(value, DENSITY_CLASSES)[0]
                                            for code, value in density.items()},
        iris_hover={code: f"<b>Densité</b> : {fr_int(value)} hab./km²" for code, value in density.dropna().items()},
        legend=[(colour, label) for _, colour, label in DENSITY_CLASSES],
        note=f"Population {millesime} (municipale, répartie entre IRIS selon le RP {split_year}) par km² de l'IRIS.")


def establishments_layer(area: AreaLayer, offer) -> dict:
    """FINESS establishments of the area's départements as dots, one layer per group, their name (escaped) on hover."""
    groups: dict[str, list[dict]] = {category: [] for category in CATEGORY_COLOURS}
    for departement in area.departements:
        for feature in establishments_geojson(offer, departement)["features"]:
            p = feature["properties"]
            groups[p["categorie"]].append({"type": "Feature", "geometry": feature["geometry"], "properties": {
                "tooltip": f"<b>{html_text(p['nom'])}</b><br>{html_text(p['type'])}<br>FINESS {html_text(p['finess'])}"}})
    layers = [map_layer(f"Établissements (FINESS) : {category}", {"type": "FeatureCollection", "features": features},
                        {"color": "#ffffff", "weight": 1, "fillColor": CATEGORY_COLOURS[category], "fillOpacity": 0.9},
                        point_radius=5, interactive=True)
              for category, features in groups.items() if features]
    uncovered = sorted(set(area.departements) - offer.covered("establishments"))
    return optional_layer("Établissements (FINESS)", layers, legend=list(zip(CATEGORY_COLOURS.values(),
                                                                              CATEGORY_COLOURS)),
                          point_legend=True, note=f"{NOT_AVAILABLE} : {', '.join(uncovered)}" if uncovered else None)


def switchable_layer(area: AreaLayer, bundle, kind: str) -> dict:
    """The optional layer ``kind`` (a key of :data:`OPTIONAL_LAYERS`) of an area."""
    if kind == "density":
        return density_layer(area, bundle)
    return {"apl": apl_layer, "finess": establishments_layer}[kind](area, bundle.offer)


#: Abbreviations read as the word they stand for in a searched name (« St Estève » → Saint-Estève).
NAME_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
#: Matches of a search given at most (the page says how many more there are).
SEARCH_LIMIT = 40


def _plain(text: str) -> str:
    """Lower case without accents, hyphens or apostrophes: ``Saint-Génis`` → ``saint genis``."""
    text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", " ", text).strip()


def search_communes(bundle, text: str, area=(), limit: int = SEARCH_LIMIT) -> tuple[list[tuple[str, str]], int]:
    """Communes matching a name, an INSEE code or a postal code: the first ``limit`` as ``[(code_insee, label)]``,
    and how many more match.

    Exact names first, then names that start with the text, then the others; within each, the communes of
    the départements of ``area`` first. « St », « Ste » stand for Saint, Sainte; Paris, Lyon and Marseille
    are found by name and by their code (75056, 69123, 13055) as the whole city (all its arrondissements).
    """
    query = " ".join(NAME_ABBREVIATIONS.get(word, word) for word in _plain(text).split())
    if not query:
        return [], 0
    communes = bundle.communes
    city_codes = pd.Index([code for code in bundle.arrondissements if code in PLM_PARENTS], dtype=object)
    cities = pd.Series(city_codes.map(PLM_PARENTS), index=city_codes, dtype=object)
    aliases = bundle.aliases[bundle.aliases["current"].isin(communes.index)]
    if query.isdigit() or CODE_PATTERN.match(query.upper()):
        code = query.upper()
        by_code = [*city_codes[city_codes.str.startswith(code)], *communes.index[communes.index.str.startswith(code)]]
        by_postal = communes.index[communes["postal_codes"].str.contains(rf"(?:^|,){code}", regex=True)]
        by_former_code = aliases.loc[aliases.index == code, "current"]   # 05088 → Valdoule (05024)
        hits = list(dict.fromkeys([*by_code, *by_former_code, *by_postal]))
    else:
        names = pd.concat([cities, communes["nom"]]).map(_plain)
        starts = names.str.startswith(query)
        contains = names.str.contains(query, regex=False) & ~starts
        by_former_name = aliases.loc[aliases["nom"].map(_plain) == query, "current"]   # Champtoceaux → Orée d'Anjou
        hits = list(dict.fromkeys([*names.index[starts & (names == query)], *by_former_name,
                                   *names.index[starts & (names != query)], *names.index[contains]]))
    area = set(area)
    hits = sorted(hits, key=lambda code: departement_of(code) not in area)  # stable sort
    labels = [(code, f"{cities[code]} ({code}, ses {len(bundle.arrondissements[code])} arrondissements)"
               if code in cities else commune_label(bundle, code)) for code in hits[:limit]]
    return labels, max(0, len(hits) - limit)


def epci_choices(area: AreaLayer) -> dict[str, str]:
    """The EPCI met by the area, code → name, sorted by name (for a picker)."""
    return dict(sorted(area.epci["nom"].items(), key=lambda item: _plain(item[1])))


def commune_label(bundle, code: str) -> str:
    """``Cabestany (66028, 66330)``."""
    row = bundle.communes.loc[code]
    postal = row["postal_codes"].replace(",", ", ")
    return f"{row['nom']} ({code}{', ' + postal if postal else ''})"
