"""Map layers, search and clicks, on the Pyrénées-Orientales data."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pytest
import shapely

from cpts_geo import webmap
from cpts_geo.errors import InputError
from cpts_geo.perimeters import read_neighbours
from cpts_geo.session import DrawingSession


@pytest.fixture(scope="module")
def area(dep66):
    return webmap.MapData(dep66).area(["66"])


def test_simplified_layer(area):
    assert len(area.iris) == 313
    assert area.iris.geometry.is_valid.all() and not area.iris.geometry.is_empty.any()
    assert area.iris.crs.to_epsg() == 4326
    payload = len(json.dumps(area.iris_features()))
    assert 150_000 < payload < 600_000
    (south, west), (north, east) = area.bounds
    assert 42.3 < south < north < 43 and 1.7 < west < east < 3.2


def test_base_map_and_layers(area, dep66):
    html = webmap.base_map(area).get_root().render()
    assert "660280101" in html and len(html) < 1_200_000
    cabestany = frozenset(dep66.iris_by_commune["66028"])
    layers = webmap.selection_layers(area, cabestany | {"661360801"}, ["66136"],
                                     {"CPTS voisine": frozenset(dep66.iris_by_commune["66172"])}, ["66186"])
    assert [layer.layer_name for layer in layers] == ["CPTS voisines", "Sélection", "Communes découpées",
                                                     "Zone signalée"]
    assert all(layer._children for layer in layers)




def test_epci_outlines_and_picker(area, dep66):
    # The 12 EPCI of the Pyrénées-Orientales (COG 2026), drawn as outlines and offered by name.
    assert len(area.epci) == 12
    choices = webmap.epci_choices(area)
    assert choices["200027183"] == "CU Perpignan Méditerranée Métropole"
    assert list(choices.values()) == sorted(choices.values(), key=webmap._plain)
    perpignan_metropole = area.epci.geometry["200027183"]
    cabestany = area.communes.geometry["66028"].representative_point()
    ceret = area.communes.geometry["66049"].representative_point()
    assert perpignan_metropole.contains(cabestany) and not perpignan_metropole.contains(ceret)
    html = webmap.base_map(area).get_root().render()
    assert '"dashArray": "10 5 2 5"' in html           # the EPCI outlines' style


def test_whole_epci_toggled_in_one_action(dep66):
    session = DrawingSession(dep66)
    assert session.toggle_epci("200027183")
    assert session.territory.communes(dep66) == set(dep66.epci_communes["200027183"])
    assert len(session.territory.communes(dep66)) == 37
    assert session.toggle_epci("200027183") and not session.selection     # all in: removed
    session.toggle_commune("66028")
    session.toggle_epci("200027183")                                       # partly in: completed
    assert len(session.territory.communes(dep66)) == 37


@pytest.mark.parametrize("text, code", [("cabestany", "66028"), ("Cabestany", "66028"), ("66028", "66028"),
                                        ("66330", "66028"), ("perpignan", "66136"), ("saint nazaire", "66186")])
def test_search_communes(dep66, text, code):
    assert webmap.search_communes(dep66, text)[0][0] == code


def test_click_to_code():
    event = {"last_active_drawing": {"type": "Feature", "properties": {"code": "660280101"}},
             "last_object_clicked": {"lat": 42.68, "lng": 2.95}}
    assert webmap.clicked_code(event) == "660280101"
    assert webmap.clicked_code({"last_active_drawing": {"properties": {"name": "x"}}}) is None
    assert webmap.clicked_code(None) is None


def test_view_of_a_commune(dep66):
    centre, zoom = webmap.view_of(webmap.MapData(dep66).iris_bounds(dep66.iris_by_commune["66028"]))
    assert 42.6 < centre[0] < 42.7 and 2.9 < centre[1] < 3.0 and 12 <= zoom <= 15


def test_asking_twice_for_the_same_commune_moves_the_map_again(dep66):
    """streamlit-folium only moves the map when its centre changes: two zoom requests differ."""
    session = DrawingSession(dep66)
    bounds = webmap.MapData(dep66).iris_bounds
    session.zoom_to(["66028"])
    first = webmap.view_of(bounds(session.view), request=session.view_requests)
    session.zoom_to(["66028"])
    second = webmap.view_of(bounds(session.view), request=session.view_requests)
    assert first[0] != second[0] and first[1] == second[1]
    assert abs(first[0][0] - second[0][0]) < 1e-8 and first[0][1] == second[0][1]


def _gpkg(frame: gpd.GeoDataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_file(buffer, driver="GPKG")
    return buffer.getvalue()


def test_neighbours_from_perimeters(dep66):
    communes = dep66.commune_geometry(["66186", "66189"]).to_crs(2154)
    bow_tie = shapely.Polygon([(690000, 6170000), (700000, 6180000), (700000, 6170000), (690000, 6180000)])
    frame = gpd.GeoDataFrame({"nom": ["CPTS Est", "Nœud"]}, geometry=[communes.union_all(), bow_tie], crs=2154)
    report = read_neighbours(dep66, _gpkg(frame), "voisines.gpkg")
    assert report.cpts["CPTS Est"] == set(dep66.iris_by_commune["66186"]) | set(dep66.iris_by_commune["66189"])
    assert "Nœud" in report.cpts and "géométrie(s) invalide(s) réparée(s)" in report.message()


def test_neighbours_from_csv_and_bad_files(dep66):
    report = read_neighbours(dep66, b"cpts;code\nCPTS Sud;66028\nCPTS Sud;66186\n", "voisines.csv")
    assert len(report.cpts["CPTS Sud"]) == 5
    with pytest.raises(InputError, match="voisines.geojson"):
        read_neighbours(dep66, b"not json", "voisines.geojson")
    with pytest.raises(InputError, match="format"):
        read_neighbours(dep66, b"x", "voisines.docx")
    unknown = read_neighbours(dep66, b"cpts;code\nCPTS Sud;66028\nCPTS Sud;99999\n", "voisines.csv")
    assert unknown.cpts == {"CPTS Sud": frozenset(dep66.iris_by_commune["66028"])}
    assert "99999" in unknown.message()
