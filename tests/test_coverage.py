"""Coverage report on the example registry of Pyrénées-Orientales and Aude (cases checked by hand)."""

import io
import json
import re
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import shapely
from pypdf import PdfReader

from cpts_geo.commands.main import main
from cpts_geo.config import DEFAULT_MIRROR
from cpts_geo.region.coverage import area_of, coverage_report, registry_elsewhere, report_tables
from cpts_geo.errors import InputError
from cpts_geo.exports.maps import coverage_map as coverage_print_map
from cpts_geo.exports.maps import key_name, save_figure
from cpts_geo.exports.sheets import TEXT_MARK
from cpts_geo.territory.offer import NOT_AVAILABLE, territory_offer
from cpts_geo.region.registry import read_registry
from cpts_geo.storage.store import open_store
from cpts_geo.territory.model import Territory, summarize
from tests.conftest import EXAMPLE, calc_rows

HEALTH = DEFAULT_MIRROR / "health"


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

    from cpts_geo.web import webmap
    from cpts_geo.web.coverage_map import CptsNames, coverage_map, white_zone_features

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

    names = next(c for c in folium_map._children.values() if isinstance(c, CptsNames))
    assert names.group.layer_name == "Noms des CPTS" and len(names.places) == 10
    places = {name: (lat, lng) for lat, lng, name in names.places}
    aspres_shape = next(shapely.geometry.shape(f["geometry"]) for f in layers["CPTS"]["features"]
                        if f["properties"]["name"] == "CPTS Aspres")
    assert aspres_shape.contains(shapely.Point(places["CPTS Aspres"][::-1]))      # the name is written on its CPTS
    order = [name for _, _, name in names.places]   # largest first: its name wins where two would meet
    assert order[0] == "CPTS Cerdagne - Capcir" and order.index("CPTS Perpignan") > order.index("CPTS Aspres")
    script = folium_map.get_root().render()
    assert "overlaps(pair[1], other)" in script         # a name is hidden where it would cover one already shown
    near_cpts = union("CPTS").buffer(1e-4)
    porte = area.communes.geometry["66147"]    # white, on the frontier: its outline is no CPTS's
    assert shapely.difference(area.commune_borders, near_cpts).intersection(porte.boundary).length > 0.05
    assert shapely.difference(union("Communes"), near_cpts).length < 1e-6


def test_cpts_reaching_beyond_the_departement_is_drawn_whole(france, example, report_66):
    """The map of the 66 loads the Aude too: CPTS Salanque (« Morceaux 2 ») drawn and framed with Fitou (11144), as
    at the scale of the région; the map still opens on the 66."""
    import folium

    from cpts_geo.web import webmap
    from cpts_geo.web.coverage_map import coverage_map, cpts_shapes, departements_of, focus_view, map_departements

    assert departements_of(report_66, france) == ("66",)
    assert map_departements(report_66, france, example) == ("11", "66")
    area = webmap.MapData(france).area(map_departements(report_66, france, example))
    shapes = cpts_shapes(area, example, report_66)
    fitou = area.communes.geometry["11144"]
    assert shapes.geometry["CPTS Salanque"].intersection(fitou).area > 0.95 * fitou.area
    outline, ((south, west), (north, east)) = focus_view(shapes, "CPTS Salanque")
    assert shapely.box(west, south, east, north).contains(fitou.buffer(-1e-4))
    folium_map = coverage_map(area, example, report_66, shapes, departements_of(report_66, france))
    bounds = next(c for c in folium_map._children.values() if isinstance(c, folium.map.FitBounds)).bounds
    assert bounds == webmap.MapData(france).area(("66",)).bounds         # framed on the 66, not on the Aude


def test_a_share_short_of_full_never_reads_100_percent(report_66):
    from cpts_geo.formatting import fr_percent

    assert report_66.population_total - report_66.population_covered == 144     # Porté-Puymorens and Casefabre
    assert fr_percent(report_66.covered_share) == "99,97\u00a0%" and fr_percent(1.0) == "100,0\u00a0%"


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


def test_general_practitioners_and_apl_per_cpts_checked_on_the_source_files(france, example, report_66):
    """Recomputed from the raw BPE and DREES files: GP per 10,000 and APL weighted by standardised population."""
    registry = pd.read_csv(EXAMPLE, sep=";", dtype=str)
    aspres = registry.loc[registry["cpts"] == "CPTS Aspres"]
    assert aspres["code_iris"].isna().all()                     # whole communes only
    communes = sorted(aspres["code_insee"])
    bpe = pd.read_csv(HEALTH / "bpe2025_communes_66_11.csv", sep=";", dtype={"code_insee": str})
    gp = bpe[bpe["typequ_label"] == "médecin généraliste"].set_index("code_insee")["count"]
    apl = pd.read_csv(HEALTH / "apl_mg_communes_2023.csv", dtype={"codgeo": str}).set_index("codgeo")
    population = france.communes.loc[communes, "population"].sum()
    expected_gp = gp.reindex(communes).fillna(0).sum()
    expected_apl = (apl.loc[communes, "apl_mg"] * apl.loc[communes, "pop_std_2021_mg"]).sum() \
        / apl.loc[communes, "pop_std_2021_mg"].sum()
    cpts = report_66.cpts.set_index("name")
    row = cpts.loc["CPTS Aspres"]
    assert (row["gp_count"], row["gp_per_10000"], row["apl"]) == (58, 7.39, 3.74)
    assert (expected_gp, round(expected_gp / population * 1e4, 2), round(expected_apl, 3)) == (58, 7.39, 3.74)
    assert not row["gp_estimated"]
    # CPTS Ruscino shares Perpignan with CPTS Perpignan: its part is estimated, as for the territory alone.
    ruscino = territory_offer(france, example["CPTS Ruscino"]).as_dict()
    gp_ruscino = ruscino["professionals"][0]
    assert cpts.loc["CPTS Ruscino", "gp_estimated"] and gp_ruscino["estimated"]
    assert (cpts.loc["CPTS Ruscino", "gp_count"], cpts.loc["CPTS Ruscino", "gp_per_10000"],
            cpts.loc["CPTS Ruscino", "apl"]) == (gp_ruscino["count"], gp_ruscino["per_10000"], ruscino["apl"]["value"])
    # White zones: each commune's APL, and the white zones together weighted by standardised population.
    white = report_66.white_zones.set_index("code")["apl"]
    assert white.to_dict() == {"66147": apl.at["66147", "apl_mg"], "66040": apl.at["66040", "apl_mg"]} \
        == {"66147": 0.452, "66040": 0.35}
    std = apl.loc[["66147", "66040"], "pop_std_2021_mg"]
    assert report_66.offer["white_zones"]["apl"] == round((white * std).sum() / std.sum(), 3) == 0.423
    assert report_66.offer["white_zones"]["gp_count"] == 0 and report_66.offer["apl_millesime"] == 2023


def test_gp_not_available_outside_the_bpe_mirror(france):
    lozere = {"CPTS Lozère": frozenset(france.iris.index[france.iris["departement"] == "48"])}
    report = coverage_report(france, lozere, area_of(france, "76", "48"))
    row = report.as_dict()["cpts"][0]
    assert row["gp_count"] is None and row["gp_per_10000"] is None and not row["gp_estimated"]
    assert 0 < row["apl"] < 10                                  # the APL covers all France but Mayotte
    sheet = report_tables(report, france)["CPTS"].iloc[0]
    assert sheet["Médecins généralistes pour 10 000 hab."] == NOT_AVAILABLE
    assert sheet["APL médecins généralistes 2023"] == row["apl"]
    assert any(limit.startswith(f"Médecins généralistes (BPE) : {NOT_AVAILABLE} pour le(s) département(s) 48")
               for limit in report.limits)


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
    # every enclave of a département in another, and no other piece: the Enclave des Papes (84) in the Drôme, Othe
    # (54) in the Meuse, three communes of the Nord in the Pas-de-Calais, two of the Hautes-Pyrénées in the Béarn
    assert [(row.cpts, row.around, row.whole, row.communes) for row in report.enclosed.itertuples()] == [
        ("CPTS 54", "CPTS 55", False, ["54412"]), ("CPTS 59", "CPTS 62", False, ["59097", "59176", "59405"]),
        ("CPTS 65", "CPTS 64", False, ["65160", "65422", "65476"]), ("CPTS 65", "CPTS 64", False, ["65185", "65292"]),
        ("CPTS 84", "CPTS 26", False, ["84053", "84097", "84138", "84150"])]


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
    assert workbook.sheetnames == ["Synthèse", "CPTS", "Zones blanches", "Chevauchements", "Zones isolées",
                                   "CPTS enclavées", "EPCI", "Limites"]
    assert workbook["Zones blanches"]["B3"].value == "Porté-Puymorens"        # under the title and the header
    sheet = {cell.value: column for column, cell in enumerate(workbook["CPTS"][2])}
    aspres = next(row for row in workbook["CPTS"].iter_rows(values_only=True) if row[0] == "CPTS Aspres")
    assert (aspres[sheet["Médecins généralistes (BPE 2025)"]], aspres[sheet["Médecins généralistes pour 10 000 hab."]],
            aspres[sheet["APL médecins généralistes 2023"]]) == (58, 7.39, 3.74)
    ruscino_row = next(row for row in workbook["CPTS"].iter_rows(values_only=True) if row[0] == "CPTS Ruscino")
    assert ruscino_row[sheet["Médecins généralistes (BPE 2025)"]] == "≈\u00a072 (estimation)"   # never « 71,6 »
    assert "Estimé (commune partagée)" not in sheet
    white = {cell.value: row.value for cell, row in zip(workbook["Zones blanches"][2], workbook["Zones blanches"][3])}
    assert (white["Commune"], white["APL médecins généralistes 2023"]) == ("Porté-Puymorens", 0.452)
    assert payload["offer"]["white_zones"]["apl"] == 0.423
    assert (ruscino["gp_estimated"], ruscino["apl"]) == (True, 4.797)
    csv = (tmp_path / "couverture_departement_66_chevauchements.csv").read_text(encoding="utf-8-sig")
    assert "CPTS Aspres / CPTS Vallespir;Tresserre (66214);\u2060662140000;1166" in csv
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
    assert main(["coverage", "--db", str(tmp_path / "absent.sqlite"), "--region", "76",
                 "--data", str(france_dir)]) == 2
    assert "absent.sqlite (rien n'y a encore été enregistré ?)" in capsys.readouterr().err
    assert not (tmp_path / "absent.sqlite").exists()      # a command that reads creates nothing
    open_store(tmp_path / "vide.sqlite")
    assert main(["coverage", "--db", str(tmp_path / "vide.sqlite"), "--region", "76",
                 "--data", str(france_dir)]) == 2
    assert "Aucun registre enregistré" in capsys.readouterr().err


def ars_page(monkeypatch, data_dir, store, dep: str | None = "66"):
    """The « Vue ARS » page opened from the entrypoint as a user does (with ``?dep=``), on ``data_dir`` and ``store``."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CPTS_GEO_DATA", str(data_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(store))
    page = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    page.switch_page("pages/2_Vue_ARS.py")
    if dep:
        page.query_params["dep"] = dep
    page.run()
    return page


def test_ars_page(dep66_dir, france, example, report_66, tmp_path, monkeypatch):
    from cpts_geo.region.registry import save_registry
    from cpts_geo.storage.store import open_store

    store = tmp_path / "registre.sqlite"
    save_registry(france, open_store(store), read_registry(france, EXAMPLE))
    page = ars_page(monkeypatch, dep66_dir, store, dep=None)
    assert not page.exception
    assert page.selectbox(key="ars_region").value == "76"
    metrics = {m.label: m.value for m in page.metric}
    assert metrics["Communes en zone blanche"] == "2" and metrics["Zones isolées"] == "1"
    assert metrics["APL zones blanches 2023"] == "0,42"
    listed = page.dataframe[0].value.set_index("CPTS")
    assert listed.loc["CPTS Aspres", ["MG / 10 000 hab.", "APL MG"]].tolist() == [7.39, 3.74]
    assert [e.label for e in page.expander][:3] == ["Zones blanches (2)", "Chevauchements (1)", "Zones isolées (1)"]
    assert dict(page.query_params) == {"region": "76"}
    page.selectbox(key="ars_departement").select("66").run()       # the choice is kept in the link
    assert dict(page.query_params) == {"region": "76", "dep": "66"}
    assert page.title[0].value.replace("\\", "") == "Couverture en CPTS : Pyrénées-Orientales (66)"
    metrics = {m.label: m.value for m in page.metric}
    assert not page.exception and metrics["Communes en zone blanche"] == "2"
    assert metrics["CPTS en morceaux"] == "0"           # Salanque's Fitou is not in a bundle of the 66
    assert metrics["Population couverte"] == "99,97\u00a0%"
    # the printable map of the département says what the page says
    pdf = save_figure(coverage_print_map(france, example, report_66), "pdf")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).replace("\u00a0", " ")
    assert metrics["Population couverte"].replace("\u00a0", " ") in text and "100,0 %" not in text
    assert "département Pyrénées-Orientales (66)" in text and report_66.area.stem == "departement_66"


def test_ars_page_click_frames_the_cpts(france_dir, france, example, tmp_path, monkeypatch):
    """« Morceaux » next to the name; a CPTS picked in the list is outlined and framed on the map, the map itself
    sent unchanged (the browser keeps it: bench/bench_ars_focus.py for the time in Chromium)."""
    from cpts_geo.region.registry import save_registry
    from cpts_geo.storage.store import open_store

    store = tmp_path / "registre.sqlite"
    save_registry(france, open_store(store), read_registry(france, EXAMPLE))
    page = ars_page(monkeypatch, france_dir, store)
    listed = page.dataframe[0].value
    assert list(listed.columns)[:2] == ["CPTS", "Morceaux"]
    assert listed.set_index("CPTS").at["CPTS Salanque", "Morceaux"] == 2               # with Fitou (Aude)
    assert {m.label: m.value for m in page.metric}["CPTS en morceaux"] == "1"

    def focus():
        return json.loads(page.get("bidi_component")[0].proto.json)

    def folium_map():
        return next(e.proto for e in page.get("component_instance") if "folium" in e.proto.component_name)

    assert focus()["outline"] is None
    before = folium_map()
    row = listed.index[listed["CPTS"] == "CPTS Ruscino"][0]
    page.session_state["ars_list"] = {"selection": {"rows": [int(row)], "columns": []}}
    page.run()
    assert not page.exception
    outline = shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in focus()["outline"]["features"]])
    ruscino = france.territory_shapes({"CPTS Ruscino": example["CPTS Ruscino"]}).geometry.iloc[0]
    assert outline.symmetric_difference(ruscino).area < 0.01 * ruscino.area      # the map's simplified outline
    (south, west), (north, east) = focus()["bounds"]
    assert shapely.box(west, south, east, north).contains(outline.buffer(-1e-6))
    assert folium_map().json_args == before.json_args                           # the map is the same
    link = next(b for b in page.get("link_button") if "CPTS Ruscino" in b.proto.label)
    assert link.proto.url.startswith("./?zones=66028") and link.proto.url.endswith("&registre=1")


def test_ars_page_shows_the_version_it_saved_or_restored(france_dir, france, example, tmp_path, monkeypatch):
    """« Enregistrer comme nouvelle version » and « Restaurer »: the page runs again on the new version (sidebar,
    figures, plan and history), without asking to reload it."""
    from cpts_geo.region.registry import save_registry

    store = open_store(tmp_path / "registre.sqlite")
    save_registry(france, store, read_registry(france, EXAMPLE))
    page = ars_page(monkeypatch, france_dir, tmp_path / "registre.sqlite")

    def shown():
        version = next(c.value for c in page.sidebar.caption if "Registre enregistré" in c.value)
        history = next(e for e in page.expander if e.label == "Historique du registre").dataframe[0].value
        return (re.search(r"version (\d+)", version).group(1), history["Version"].tolist(),
                {m.label: m.value for m in page.metric}["Communes en zone blanche"])

    assert shown() == ("1", [1], "2")
    page.toggle(key="ars_propose").set_value(True).run()
    next(b for b in page.button if b.key == "ars_plan_save").click().run()
    assert not page.exception
    assert shown() == ("2", [2, 1], "0")        # both white communes of the 66 taken by a CPTS
    assert "(version 2)" in page.success[0].value.replace("\\", "")
    assert "Aucune proposition" in " ".join(c.value for c in page.caption)       # the plan of version 2
    assert page.selectbox(key="ars_diff_old").value == 1
    next(b for b in page.button if b.key == "ars_restore").click().run()
    assert not page.exception
    assert shown() == ("3", [3, 2, 1], "2")
    assert "Version 1 restaurée" in page.success[0].value and "rechargez" not in page.success[0].value
    assert "(version 3)" in page.success[0].value.replace("\\", "")


def test_ars_page_opens_the_area_of_its_link(dep66_dir, france, tmp_path, monkeypatch):
    page = ars_page(monkeypatch, dep66_dir, tmp_path / "vide.sqlite")
    assert not page.exception
    assert page.selectbox(key="ars_region").value == "76" and page.selectbox(key="ars_departement").value == "66"


def test_registry_elsewhere(france, example):
    assert registry_elsewhere(france, example, area_of(france, "76", "11")) is None     # some CPTS are there
    one = registry_elsewhere(france, {"CPTS Aspres": example["CPTS Aspres"]}, area_of(france, "53"))
    assert one.main_region == "76" and one.message == (
        "La CPTS du registre n'est pas dans la région Bretagne (53) : 1 dans la région Occitanie (76, département "
        "Pyrénées-Orientales (66)). Choisissez sa région pour la voir.")


def test_registry_of_another_region_is_named(france_dir, tmp_path, monkeypatch):
    """A registry of the Occitanie uploaded while the Finistère is shown: no silent 0 % and empty list, but where
    its CPTS are, and a button to their région."""
    page = ars_page(monkeypatch, france_dir, tmp_path / "vide.sqlite", dep="29")
    page.radio(key="ars_source").set_value("Fichier (CSV, GeoJSON, GeoPackage, Shapefile zippé)").run()
    page.get("file_uploader")[0].upload("registre.csv", EXAMPLE.read_bytes(), "text/csv").run()
    assert not page.exception and not page.metric and not page.dataframe
    assert page.warning[0].value.replace("\\", "") == (
        "Aucune des 16 CPTS du registre n'est dans le département Finistère (29) : 16 dans la région Occitanie (76, "
        "départements Aude (11), Pyrénées-Orientales (66)). Choisissez leur région pour voir leur couverture.")
    next(b for b in page.button if b.key == "ars_show_region").click().run()
    assert page.selectbox(key="ars_region").value == "76" and page.selectbox(key="ars_departement").value == ""
    assert all("du registre n'est" not in w.value for w in page.warning)     # only the checks' warnings are left
    assert {m.label: m.value for m in page.metric}["Zones isolées"] == "1"
    # counts with the French thousands separator, beside the populations; APL always with 2 decimals
    assert {m.label: m.value for m in page.metric}["Communes en zone blanche"] == "3\u202f789"
    assert "Zones blanches (3\u202f789)" in [e.label for e in page.expander]
    apl_columns = [config for table in page.dataframe for name, config in json.loads(table.proto.columns).items()
                   if name.startswith("APL")]
    assert apl_columns and all(c["type_config"] == {"type": "number", "format": "localized", "step": 0.01}
                               for c in apl_columns)
    assert any("« sous-dense » sous 2,50" in c.value for c in page.caption)


def test_csv_read_by_a_french_spreadsheet(france_dir, tmp_path, capsys, libreoffice):
    """The coverage and plan CSVs of Occitanie opened by LibreOffice in French: figures are numbers (decimal comma,
    « 2 » not « 2.0 », shares in %), codes keep their leading zero (Ariège 09…)."""
    assert main(["coverage", "--registry", str(EXAMPLE), "--region", "76", "--propose", "--out", str(tmp_path),
                 "--data", str(france_dir)]) == 0
    capsys.readouterr()
    white = calc_rows(libreoffice, tmp_path / "couverture_region_76_zones_blanches.csv")
    assert white[0][:4] == ("Code INSEE", "Commune", "Département", "Population hors CPTS")
    assert len(white) == 3_790 and all(isinstance(row[0], str) for row in white)
    rows = {row[0].lstrip(TEXT_MARK): row for row in white[1:]}
    assert rows["09225"][1:3] == ("Pamiers", TEXT_MARK + "09")
    assert isinstance(rows["09225"][3], int) and rows["31555"][3] == 514_819 and rows["31555"][5] == 4.569
    summary = {row[0]: row[1] for row in calc_rows(libreoffice, tmp_path / "couverture_region_76_synthese.csv")}
    assert summary["Part couverte"] == 0.1431 and summary["Population totale"] == 6_124_653
    assert summary["Millésime de population"] == 2023
    epci = calc_rows(libreoffice, tmp_path / "couverture_region_76_epci.csv")
    assert all(isinstance(row[4], (int, float)) for row in epci[1:]) and max(row[4] for row in epci[1:]) == 1
    proposals = calc_rows(libreoffice, tmp_path / "plan_couverture_region_76_propositions.csv")
    assert proposals[0][7:10] == ("Score", "Taille avant", "Taille après")
    assert proposals[1][:10] == (1, "Zone isolée", "Casefabre (66040)", TEXT_MARK + "660400000", 44, "CPTS Aspres",
                                 None, 0.927, 2, 2)
    new = next(row for row in proposals if str(row[5]).endswith("(à créer)"))           # « Nouvelle CPTS N — pôle »
    assert (new[7], new[8], isinstance(new[9], int)) == (None, None, True)


def test_coverage_workbook_is_formatted(france_dir, tmp_path, capsys):
    """The XLSX of the report: title row, bold frozen header with filters, widths, %, thousands and € formats,
    properties of cpts-geo."""
    assert main(["coverage", "--registry", str(EXAMPLE), "--region", "76", "--out", str(tmp_path),
                 "--data", str(france_dir)]) == 0
    capsys.readouterr()
    book = openpyxl.load_workbook(tmp_path / "couverture_region_76.xlsx")
    assert (book.properties.creator, book.properties.title) == ("cpts-geo", "Couverture par les CPTS — région "
                                                                            "Occitanie (76)")
    assert "zones blanches" in book.properties.subject
    white = book["Zones blanches"]
    assert white["A1"].value == "Couverture par les CPTS — région Occitanie (76) — Zones blanches"
    assert white["A1"].font.b and white["A2"].font.b and white["A2"].value == "Code INSEE"
    assert white.freeze_panes == "A3" and white.auto_filter.ref == "A2:G3791"
    assert (white["A3"].value, white["A3"].number_format) == ("31555", "@")
    assert (white["D3"].value, white["D3"].number_format) == (514_819, "#,##0")
    assert white.column_dimensions["B"].width >= len("Saint-Martin-de-Villereglan")          # in 11, white
    assert white.column_dimensions["D"].width < 30
    cpts = book["CPTS"]
    funding = [cell for cell in cpts[2] if cell.value == "Fonctionnement annuel (€)"][0].column
    assert cpts.cell(3, funding).number_format == '#,##0 "€"' and cpts.cell(3, funding).value in (87_500, 105_000)
    summary = {row[0].value: row[1] for row in book["Synthèse"].iter_rows(min_row=3)}
    assert (summary["Part couverte"].value, summary["Part couverte"].number_format) == (0.1431, "0.0%")
    assert summary["Millésime de population"].number_format == "0"
    limits = book["Limites"]
    assert limits["A3"].alignment.wrap_text and limits.column_dimensions["A"].width == 60


# --- the printed map of a whole région (issue 20): readable and light at 1:2,500,000 -------------------------------

def map_texts(fig, ax) -> list:
    """The texts drawn on the map (names and numbers first, then scale bar and north arrow), with their box on the
    page, and how many are names or numbers (:class:`~cpts_geo.exports.maps.MapLabels` draws them at zorder 6)."""
    renderer = fig.canvas.get_renderer()
    texts = sorted(ax.texts, key=lambda text: text.get_zorder() != 6)
    return [(text.get_text(), text.get_window_extent(renderer)) for text in texts], \
        sum(text.get_zorder() == 6 for text in texts)


def assert_readable_region_map(fig, report):
    """No two texts of the map overlap, each is whole inside the map, every CPTS is named or numbered and keyed, each
    overlap and isolated zone has its red marker, département limits are drawn and in the legend; PDF under 3 MB."""
    ax = fig.axes[0]
    texts, labels = map_texts(fig, ax)
    frame = ax.get_window_extent()
    for position, (text, box) in enumerate(texts[:labels]):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, text
        for other, other_box in texts[position + 1:]:
            assert not box.overlaps(other_box), (text, other)
    named = {text for text, _ in texts[:labels]}
    key = " ".join(" ".join(text.get_text() for text in fig.texts).split())   # a name wrapped: whole again
    numbered = [name for name in report.cpts["name"] if name not in named]
    # whole, without the « CPTS » the key's title says, or cut only where they cannot fit even wrapped
    assert all(re.search(rf"\b\d+ {re.escape(' '.join(key_name(name).split())[:20])}", key) for name in numbered)
    numbers = {text for text in named if text.isdigit()}
    assert numbers == {str(n) for n in range(1, len(numbered) + 1)}          # each numbered CPTS on the map
    markers = [patch.get_gid() for patch in ax.patches]
    assert markers.count("chevauchement") == len(report.overlaps)
    assert markers.count("zone_isolee") == len(report.isolated)
    legend = [" ".join(t.get_text().split()) for legend in fig.legends for t in legend.get_texts()]
    assert "Limite de département" in legend
    assert any(len(line.get_segments()) > 10 and line.get_linestyle()[0][1] for line in ax.collections
               if hasattr(line, "get_segments"))                        # the dashed département limits
    pdf = save_figure(fig, "pdf")
    assert len(pdf) < 3_000_000
    return pdf


def test_region_print_map_with_the_example_registry(france, example):
    """Occitanie with the 16 CPTS of the example: Salanque and Perpignan no longer drawn over one another, the
    overlap (Tresserre) circled and the isolated zone (Casefabre) squared in red, a PDF of 20 MB now under 3 MB."""
    report = coverage_report(france, example, area_of(france, "76"))
    assert (len(report.overlaps), len(report.isolated)) == (1, 1)
    fig = coverage_print_map(france, example, report)
    pdf = assert_readable_region_map(fig, report)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Salanque" in text and "Perpignan" in text and "Repère d'une zone isolée" in text
    # the legend draws the isolated zone's marker as the map does: a dashed red square
    legend = next(legend for legend in fig.legends)
    square = next(handle for handle, label in zip(legend.legend_handles, legend.get_texts())
                  if label.get_text().startswith("Repère d'une zone isolée"))
    marker = next(patch for patch in fig.axes[0].patches if patch.get_gid() == "zone_isolee")
    assert square.get_linestyle() == marker.get_linestyle() == "--"
    assert square.get_edgecolor() == marker.get_edgecolor() and square.get_width() == square.get_height()


def test_region_print_map_of_164_cpts(france):
    """Occitanie tiled by 164 synthetic CPTS (its EPCI, four communes in two CPTS): most are numbered, none
    overlaps another, the key beside the map; drawn in seconds."""
    from tests.synthetic_registry import synthetic_registry

    registry = synthetic_registry(france, "76", set(), 140, overlaps=5)
    report = coverage_report(france, registry, area_of(france, "76"))
    assert (len(report.cpts), len(report.overlaps)) == (164, 4)
    start = time.perf_counter()
    fig = coverage_print_map(france, registry, report)
    assert time.perf_counter() - start < 20               # under 5 s on an idle machine: bench/bench_coverage.py
    assert_readable_region_map(fig, report)
    key = " ".join(" ".join(text.get_text() for text in fig.texts).split())
    assert "…" not in key                                 # long names wrapped, never cut
    assert "CC Région Lézignanaise, Corbières et Minervois" in key and "CPTS CC" not in key
