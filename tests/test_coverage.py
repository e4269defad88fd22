"""Coverage report on the example registry of Pyrénées-Orientales and Aude (cases checked by hand)."""

import json
import time
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from cpts_geo.cli import main
from cpts_geo.coverage import area_of, coverage_report
from cpts_geo.errors import InputError
from cpts_geo.registry import read_registry
from cpts_geo.territory import Territory, summarize

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"


@pytest.fixture(scope="module")
def example(france):
    return read_registry(france, EXAMPLE).cpts


@pytest.fixture(scope="module")
def report_66(france, example):
    return coverage_report(france, example, area_of(france, "76", "66"))


def test_white_zones_and_isolated_commune(france, report_66):
    white = report_66.white_zones.set_index("code")
    assert white.index.tolist() == ["66147", "66040"]          # most populated first
    assert white.loc["66147", "name"] == "Porté-Puymorens" and white.loc["66147", "population"] == 100
    assert white.loc["66040", "population"] == france.communes.at["66040", "population"] == 44
    assert white["whole"].all()
    # Casefabre is cut off by CPTS Aspres; Porté-Puymorens is on the frontier, so it is not isolated.
    assert report_66.isolated[["communes", "population", "around"]].to_dict(orient="records") == [
        {"communes": ["66040"], "population": 44, "around": ["CPTS Aspres"]}]


def test_web_map_of_the_coverage(france, example, report_66):
    """White communes drawn whole with their population; commune borders only inside the CPTS."""
    import folium
    import shapely

    from cpts_geo import webmap
    from cpts_geo.coverage_map import coverage_map, white_zone_features

    area = webmap.MapData(france).area(("66",))
    white = white_zone_features(area, report_66)["features"]
    assert [(f["properties"]["code"], f["properties"]["population"]) for f in white] == [("66147", "100"),
                                                                                         ("66040", "44")]
    assert shapely.geometry.shape(white[0]["geometry"]).equals(area.communes.geometry["66147"])
    folium_map = coverage_map(area, example, report_66)
    layers = {c.layer_name: c.data for c in folium_map._children.values() if isinstance(c, folium.GeoJson)}
    assert list(layers) == ["Communes", "CPTS", "Zones blanches", "Chevauchements", "Zones isolées"]
    assert len(layers["CPTS"]["features"]) == 10 and len(layers["Zones blanches"]["features"]) == 2
    def union(layer):
        return shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in layers[layer]["features"]])

    near_cpts = union("CPTS").buffer(1e-4)
    porte = area.communes.geometry["66147"]    # white, on the frontier: its outline is no CPTS's
    assert shapely.difference(area.commune_borders, near_cpts).intersection(porte.boundary).length > 0.05
    assert shapely.difference(union("Communes"), near_cpts).length < 1e-6


def test_overlap_and_population_covered(france, report_66):
    assert report_66.overlaps.to_dict(orient="records") == [
        {"cpts": ["CPTS Aspres", "CPTS Vallespir"], "communes": ["66214"], "iris": ["662140000"],
         "population": 1166}]
    assert france.communes.at["66214", "population"] == 1166
    total = france.communes.loc[france.communes["departement"] == "66", "population"].sum()
    assert report_66.population_total == pytest.approx(total)
    assert report_66.population_covered == pytest.approx(total - 144)   # Tresserre counted once
    assert report_66.population_overlap == pytest.approx(1166)


def test_cpts_sizes_pieces_and_tailles(france, example, report_66, ruscino):
    cpts = report_66.cpts.set_index("name")
    # Every CPTS with a zone in the département, whole (Salanque reaches into the Aude with Fitou).
    assert len(cpts) == 10 and "CPTS du Grand Narbonne" not in cpts.index
    assert cpts.loc["CPTS Ruscino", ["population", "taille", "commune_count"]].tolist() == [48_454, 2, 4]
    assert summarize(france, ruscino).population.value == 48_454
    assert cpts.loc["CPTS Perpignan", ["population", "taille"]].tolist() == [159_296, 3]
    assert cpts.loc["CPTS Agly - Corbières catalanes", ["population", "taille"]].tolist() == [40_694, 2]
    assert cpts.loc["CPTS Salanque", "pieces"] == 2 and cpts.loc["CPTS Salanque", "detached_communes"] == ["11144"]
    assert report_66.several_pieces == ["CPTS Salanque"]
    assert (cpts.drop("CPTS Salanque")["pieces"] == 1).all()
    assert cpts.loc["CPTS Ruscino", "aci_band"] == "de 40 000 à 80 000 habitants"
    assert cpts.loc["CPTS Ruscino", "funding_eur"] == 105_000
    salanque = Territory(example["CPTS Salanque"], "CPTS Salanque")
    assert cpts.loc["CPTS Salanque", "population"] == summarize(france, salanque).population.value


def test_region_report_covers_both_departements(france, example):
    report = coverage_report(france, example, area_of(france, "76"))
    assert len(report.cpts) == 16
    assert set(report.white_zones.loc[report.white_zones["departement"].isin(["11", "66"]), "code"]) == {
        "66147", "66040"}
    assert report.covered_share < 0.2       # the rest of Occitanie has no CPTS in the example


def test_all_france_tiled_by_departements_is_fast_and_covered(france):
    by_departement = {f"CPTS {d}": frozenset(codes) for d, codes in france.iris.groupby("departement")["code_iris"]}
    start = time.perf_counter()
    report = coverage_report(france, by_departement, area_of(france))
    assert time.perf_counter() - start < 5
    assert report.covered_share == 1 and report.white_zones.empty and report.overlaps.empty
    assert report.isolated.empty
    islands = report.cpts.set_index("name").loc[["CPTS 17", "CPTS 29", "CPTS 56"], "pieces"]
    assert (islands == 1).all()             # islands do not make a CPTS in several pieces
    tailles = report.cpts.set_index("name")["taille"]
    assert (tailles["CPTS 48"], tailles["CPTS 59"]) == (2, 4)       # Lozère 76 000, Nord 2.6 million
    assert "CPTS 84" in report.several_pieces                        # the Enclave des Papes of Vaucluse


def test_area_errors(france):
    with pytest.raises(InputError, match="n'est pas dans la région 76"):
        area_of(france, "76", "75")
    with pytest.raises(InputError, match="Région 99 absente"):
        area_of(france, "99")


def test_cli_json_and_files(france_dir, tmp_path, capsys):
    code = main(["coverage", "--registry", str(EXAMPLE), "--region", "76", "--departement", "66", "--json",
                 "--map", "--out", str(tmp_path), "--data", str(france_dir)])
    assert code == 0
    payload = json.loads(capsys.readouterr().out)
    assert [(w["code"], w["population"]) for w in payload["white_zones"]] == [("66147", 100), ("66040", 44)]
    assert payload["overlaps"][0]["cpts"] == ["CPTS Aspres", "CPTS Vallespir"]
    assert payload["isolated"][0]["communes"] == ["66040"]
    ruscino = next(c for c in payload["cpts"] if c["name"] == "CPTS Ruscino")
    assert (ruscino["population"], ruscino["taille"], ruscino["pieces"]) == (48_454, 2, 1)
    assert payload["registry"]["ignored"] == []
    workbook = openpyxl.load_workbook(tmp_path / "couverture_departement_66.xlsx")
    assert workbook.sheetnames == ["Synthèse", "CPTS", "Zones blanches", "Chevauchements", "Zones isolées", "EPCI", "Limites"]
    assert workbook["Zones blanches"]["B2"].value == "Porté-Puymorens"
    csv = (tmp_path / "couverture_departement_66_chevauchements.csv").read_text(encoding="utf-8-sig")
    assert "CPTS Aspres / CPTS Vallespir;Tresserre (66214);662140000;1166" in csv
    assert str(tmp_path / "couverture_departement_66_carte.pdf") in payload["files"]
    page = PdfReader(tmp_path / "couverture_departement_66_carte.pdf").pages[0]
    assert round(float(page.mediabox.width)) == 842 and "Zone isolée" in page.extract_text()


def test_cli_saves_then_reads_the_stored_registry(france_dir, tmp_path, capsys):
    db = tmp_path / "registre.sqlite"
    assert main(["coverage", "--registry", str(EXAMPLE), "--save", "--db", str(db), "--departement", "11",
                 "--out", str(tmp_path), "--data", str(france_dir)]) == 0
    capsys.readouterr()
    assert main(["coverage", "--db", str(db), "--departement", "66", "--json", "--out", str(tmp_path),
                 "--data", str(france_dir)]) == 0
    assert len(json.loads(capsys.readouterr().out)["cpts"]) == 10
    assert main(["coverage", "--db", str(tmp_path / "vide.sqlite"), "--region", "76",
                 "--data", str(france_dir)]) == 2
    assert "Aucun registre enregistré" in capsys.readouterr().err


def test_ars_page(dep66_dir, france, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from cpts_geo.registry import save_registry
    from cpts_geo.store import open_store

    store = tmp_path / "registre.sqlite"
    save_registry(france, open_store(store), read_registry(france, EXAMPLE))
    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(store))
    page = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    page.switch_page("pages/2_Vue_ARS.py")      # as a user does, from the entrypoint
    page.run()
    assert not page.exception
    assert page.selectbox(key="ars_region").value == "76"
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Communes en zone blanche"] == "2" and metrics["Zones isolées"] == "1"
    assert [e.label for e in page.expander][:3] == ["Zones blanches (2)", "Chevauchements (1)", "Zones isolées (1)"]
    assert dict(page.query_params) == {"region": "76"}
    page.selectbox(key="ars_departement").select("66").run()       # the choice is kept in the link
    assert dict(page.query_params) == {"region": "76", "dep": "66"}
    assert not page.exception and {m.label: m.value for m in page.metric}["Communes en zone blanche"] == "2"


def test_ars_page_opens_the_area_of_its_link(dep66_dir, france, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "vide.sqlite"))
    page = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    page.switch_page("pages/2_Vue_ARS.py")
    page.query_params["dep"] = "66"
    page.run()
    assert not page.exception
    assert page.selectbox(key="ars_region").value == "76" and page.selectbox(key="ars_departement").value == "66"
