"""Map layers, search and clicks, on the Pyrénées-Orientales data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from cpts_geo.web import webmap
from cpts_geo.errors import InputError
from cpts_geo.territory.offer import NOT_AVAILABLE, OfferData, establishments_geojson
from cpts_geo.region.perimeters import read_neighbours
from cpts_geo.data.codes import resolve_codes
from cpts_geo.web.session import DrawingSession
from tests.conftest import RUSCINO_CODES


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


def test_drawing_map_payload_and_overlays(area, dep66):
    payload = webmap.draw_area(area, dep66)
    assert len(payload["iris"]["features"]) == 313
    first = payload["iris"]["features"][0]["properties"]
    assert set(first) == {"code", "commune", "nom_iris", "population", "code_insee"}
    assert [layer["name"] for layer in payload["layers"]] == [
        "Communes", "Intercommunalités (EPCI)", "Noms des communes (zoom 10)", "Noms des communes (zoom 12)"]
    big, small = payload["layers"][2:]
    big_names = {label[2] for label in big["labels"]}
    assert {"Perpignan", "Cabestany", "Saint-Estève"} <= big_names and "Llo" not in big_names   # ≥ 5,000 inhabitants
    assert "Llo" in {label[2] for label in small["labels"]}
    assert len(big["labels"]) + len(small["labels"]) == len(area.communes) and (big["min_zoom"], small["min_zoom"]) == (10, 12)
    assert len(json.dumps(payload)) < 1_000_000
    layers = webmap.overlay_layers(area, ["66136"], {"CPTS voisine": frozenset(dep66.iris_by_commune["66172"])},
                                   ["66186"])
    assert [layer["name"] for layer in layers] == ["CPTS voisine CPTS voisine", "Communes découpées", "Zone signalée"]
    neighbour = shapely.geometry.shape(layers[0]["features"]["features"][0]["geometry"])
    assert neighbour.contains(shapely.Point(*reversed(layers[0]["labels"][0][:2])))
    assert layers[0]["labels"][0][2] == "CPTS voisine"
    perpignan = shapely.geometry.shape(layers[1]["features"]["features"][0]["geometry"])
    assert perpignan.contains(area.communes.geometry["66136"].representative_point())
    assert webmap.overlay_layers(area) == []


def test_apl_layer_colours_the_iris_by_commune(area, dep66):
    assert webmap.legend_entry(4.826, webmap.APL_CLASSES) == ("#a6d96a", "de 4 à moins de 5")   # Perpignan, APL 2023
    assert webmap.legend_entry(2.49, webmap.APL_CLASSES)[1] == "moins de 2,5 (sous-dense)"
    assert webmap.legend_entry(2.5, webmap.APL_CLASSES)[1] == "de 2,5 à moins de 3"
    assert webmap.legend_entry(None, webmap.APL_CLASSES)[1] == NOT_AVAILABLE
    assert webmap.legend_entry(float("nan"), webmap.DENSITY_CLASSES) == webmap.UNKNOWN_ENTRY
    layer = webmap.apl_layer(area, dep66.offer)
    assert layer["name"] == "APL médecins généralistes 2023" and layer["layers"] == []
    assert set(layer["iris_fill"]) == set(area.communes.index) and layer["iris_fill"]["66136"] == "#a6d96a"
    assert [label for _, label in layer["legend"]["items"]] == [
        "moins de 2,5 (sous-dense)", "de 2,5 à moins de 3", "de 3 à moins de 4", "de 4 à moins de 5", "5 et plus",
        NOT_AVAILABLE]
    assert layer["iris_hover"]["66136"] == "<b>APL 2023</b> : 4,83"   # the commune's APL in the IRIS hover text
    assert len(json.dumps(layer)) < 20_000   # the IRIS are already in the browser: only the colours go


def test_density_layer_colours_each_iris(area, dep66):
    layer = webmap.switchable_layer(area, dep66, "density")
    assert layer["name"] == "Densité de population" and layer["layers"] == []
    assert set(layer["iris_fill"]) == set(area.iris.index)
    # Perpignan, IRIS 0801: 7 248 inhabitants per km²; Llauro, one IRIS: 311 inhabitants on 8.4 km²
    assert layer["iris_fill"]["661360801"] == "#006837" and layer["iris_fill"]["660990000"] == "#ffffcc"
    assert layer["iris_hover"]["661360801"] == "<b>Densité</b> : 7\u202f248 hab./km²"
    assert layer["iris_hover"]["660990000"] == "<b>Densité</b> : 37 hab./km²"
    assert [label for _, label in layer["legend"]["items"]] == [
        "moins de 50 hab./km²", "de 50 à 200 hab./km²", "de 200 à 1 000 hab./km²", "de 1 000 à 5 000 hab./km²",
        "5 000 hab./km² et plus"]
    assert "Population 2023" in layer["legend"]["note"] and "RP 2016" in layer["legend"]["note"]
    assert webmap.legend_entry(49.9, webmap.DENSITY_CLASSES)[1] == "moins de 50 hab./km²"
    assert webmap.legend_entry(50, webmap.DENSITY_CLASSES)[1] == "de 50 à 200 hab./km²"
    assert len(json.dumps(layer, ensure_ascii=False).encode()) < 40_000


def test_territory_outline_and_detached_pieces(area, dep66):
    from cpts_geo.territory.checks import check_contiguity
    from cpts_geo.territory.model import Territory

    ruscino = frozenset(resolve_codes(dep66, RUSCINO_CODES).iris)
    outline, = webmap.territory_layers(area, ruscino)
    assert outline["name"] == "Contour du territoire" and outline["style"]["weight"] >= 3
    shape = shapely.geometry.shape(outline["features"]["features"][0]["geometry"])
    assert shape.geom_type == "Polygon" and shape.is_valid   # one outline, no inner IRIS borders
    assert shape.contains(area.communes.geometry["66028"].representative_point())
    llo_and_ruscino = ruscino | set(dep66.iris_by_commune["66099"])   # Llauro: not touching Ruscino
    check = check_contiguity(dep66, Territory(llo_and_ruscino))
    assert check.details["detached"] == [["660990000"]]
    layer, = webmap.territory_layers(area, llo_and_ruscino, check.details["detached"])
    main, piece = layer["features"]["features"]   # each IRIS in one shape: nothing sent twice
    assert main["properties"] == {} and piece["properties"]["style"]["dashArray"]   # a warning style
    assert shapely.geometry.shape(main["geometry"]).equals(shape)
    assert [label[2:] for label in layer["labels"]] == [["morceau 2", webmap.COLOURS["piece"]]]
    llauro = shapely.geometry.shape(piece["geometry"])
    assert llauro.contains(shapely.Point(*reversed(layer["labels"][0][:2])))
    assert webmap.territory_layers(area, []) == []


def test_establishments_layer(area, dep66):
    layer = webmap.establishments_layer(area, dep66.offer)
    assert [group["name"] for group in layer["layers"]] == [
        "Établissements (FINESS) : soins de ville", "Établissements (FINESS) : sanitaire",
        "Établissements (FINESS) : médico-social"]
    assert all(group["interactive"] and group["point_radius"] for group in layer["layers"])
    tooltips = [f["properties"]["tooltip"] for group in layer["layers"] for f in group["features"]["features"]]
    assert len(tooltips) == len(establishments_geojson(dep66.offer, "66")["features"]) > 300
    assert "<b>MAISON DE SANTE PLURIPROFESSIONNELLE CABESTANY (MSPC)</b><br>Maison de santé<br>FINESS " in " ".join(tooltips)
    assert "<b>MSPU D&#x27;AVICENNE</b>" in " ".join(tooltips)
    assert [label for _, label in layer["legend"]["items"]] == ["soins de ville", "sanitaire", "médico-social"]
    assert layer["legend"]["points"] and layer["legend"]["note"] is None
    assert len(json.dumps(layer, ensure_ascii=False).encode()) <= 300_000


def test_establishment_names_are_escaped(area, dep66):
    table = dep66.offer.establishments.copy()
    table.loc[table["name"] == "MSPU D'AVICENNE", "name"] = '<img src=x onerror=alert(1)>"'
    layer = webmap.establishments_layer(area, OfferData(dep66.offer.meta, {**dep66.offer.tables,
                                                                            "establishments": table}))
    text = json.dumps(layer, ensure_ascii=False)
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;" in text and "<img" not in text


def test_establishments_layer_of_the_largest_departement(france):
    """Haute-Garonne has the most FINESS points of Occitanie: its layer stays within 300 kB."""
    layer = webmap.establishments_layer(webmap.MapData(france).area(["31"]), france.offer)
    assert sum(len(group["features"]["features"]) for group in layer["layers"]) > 1000
    assert len(json.dumps(layer, ensure_ascii=False).encode()) <= 300_000
    outside = webmap.establishments_layer(webmap.MapData(france).area(["13"]), france.offer)
    assert outside["layers"] == [] and outside["legend"]["note"] == f"{NOT_AVAILABLE} : 13"


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
    epci = webmap.area_layers(area, dep66)[1]
    assert epci["style"]["dashArray"] == "10 5 2 5" and len(epci["features"]["features"]) == 12


def test_whole_epci_added_and_removed_in_one_action(dep66):
    session = DrawingSession(dep66)
    assert session.add_epci("200027183") and session.has_epci("200027183")
    assert session.territory.communes(dep66) == set(dep66.epci_communes["200027183"])
    assert len(session.territory.communes(dep66)) == 37
    assert not session.add_epci("200027183")                              # a double click: still all in
    assert session.remove_epci("200027183") and not session.selection
    assert not session.remove_epci("200027183")
    session.add_commune("66028")
    assert not session.has_epci("200027183")
    session.add_epci("200027183")                                          # partly in: completed
    assert len(session.territory.communes(dep66)) == 37


@pytest.mark.parametrize("text, code", [("cabestany", "66028"), ("Cabestany", "66028"), ("66028", "66028"),
                                        ("66330", "66028"), ("perpignan", "66136"), ("saint nazaire", "66186"),
                                        ("St Esteve", "66172"), ("ste marie la mer", "66182"), ("ST-ESTÈVE", "66172")])
def test_search_communes(dep66, text, code):
    found, more = webmap.search_communes(dep66, text)
    assert found[0][0] == code and more == 0


def test_search_gives_every_match_or_says_how_many_more(france):
    found, more = webmap.search_communes(france, "Paris", ["66"])
    codes = [code for code, _ in found]
    assert more == 0 and codes[0] == "75056" and {f"751{n:02d}" for n in range(1, 21)} <= set(codes)
    assert "Cormeilles-en-Parisis (95176, 95240)" in dict(found).values()
    found, more = webmap.search_communes(france, "sainte", ["66"])
    assert len(found) == webmap.SEARCH_LIMIT and more > 100
    assert found[0][0].startswith("66")   # the communes of the area first


@pytest.mark.parametrize("code, city, arrondissements", [("75056", "Paris", 20), ("13055", "Marseille", 16),
                                                         ("69123", "Lyon", 9)])
def test_search_paris_lyon_marseille_select_their_arrondissements(france, code, city, arrondissements):
    found, _ = webmap.search_communes(france, code)
    assert found[0] == (code, f"{city} ({code}, ses {arrondissements} arrondissements)")
    assert webmap.search_communes(france, city.lower())[0][0] == found[0]
    session = DrawingSession(france)
    session.add_commune(code)             # « Ajouter »
    parts = france.arrondissements[code]
    assert len(parts) == arrondissements and session.territory.communes(france) == set(parts)
    session.zoom_to([code])                  # « Zoomer »
    assert session.focus == parts and code[:2] in session.area
    session.remove_commune(code)
    assert not session.selection


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


def test_bench_app_measures_the_drawing_map(dep66):
    """bench/bench_app.py follows the map's API (it broke when the folium drawing map was removed)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "bench" / "bench_app.py"
    spec = importlib.util.spec_from_file_location("bench_app", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    row = bench.bench_departement(dep66, webmap.MapData(dep66), "66", repeat=1)
    assert row["iris"] == 313 and 300 < row["area_payload_kb"] < 1000 and row["click_to_summary_ms"] < 1000
