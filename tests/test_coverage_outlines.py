"""Checks of the CPTS outlines an ARS needs (issue 19): a CPTS enclosed by another, a CPTS extending outside the area
with its population inside beside the whole — on the example registry of the 66 and the 11, real data."""

import json

import openpyxl
import shapely

from cpts_geo.commands.main import main
from cpts_geo.region.coverage import area_of, coverage_report, report_tables
from cpts_geo.region.registry import read_registry
from tests.conftest import EXAMPLE
from tests.test_coverage import ars_page

AGLY = "CPTS Agly - Corbières catalanes"
#: the five CPTS of the example registry with communes on both sides of the 66/11 border
ACROSS_66_11 = [AGLY, "CPTS Cerdagne - Capcir", "CPTS Conflent", "CPTS Fenouillèdes", "CPTS Salanque"]


def enclosed_records(report) -> list[tuple]:
    return [(row.cpts, row.around, row.whole, row.communes, row.population) for row in report.enclosed.itertuples()]


def test_enclosed_cpts_of_the_example_registry(france, example, report_66):
    """Ruscino lies inside CPTS Perpignan (Saint-Nazaire's étang de Canet is inside the commune, not sea); Fitou, the
    commune of CPTS Salanque in the Aude, is enclaved in CPTS Agly - Corbières catalanes (the étang de Leucate too)."""
    ruscino = ("CPTS Ruscino", "CPTS Perpignan", True, ["66028", "66136", "66186", "66189"], 48_454)
    fitou = ("CPTS Salanque", AGLY, False, ["11144"], 1_158)
    assert enclosed_records(report_66) == [ruscino, fitou]
    assert enclosed_records(coverage_report(france, example, area_of(france, "76"))) == [ruscino, fitou]
    assert enclosed_records(coverage_report(france, example, area_of(france, "76", "11"))) == [fitou]  # Ruscino: 66
    assert report_66.enclosed_text() == (
        "CPTS Ruscino (toute la CPTS, 48\u202f454 habitants) dans CPTS Perpignan ; Fitou (11144), partie de "
        f"CPTS Salanque (1\u202f158 habitants), dans {AGLY}")
    # the same facts read on the geometry: each outline lies within 5 m (the adjacency tolerance) of its encloser's
    shapes = france.territory_shapes(example).to_crs(2154).geometry
    fitou_shape = france.commune_geometry(["11144"]).to_crs(2154).geometry.iat[0]
    for inner, outer in [(shapes["CPTS Ruscino"], shapes["CPTS Perpignan"]), (fitou_shape, shapes[AGLY])]:
        assert inner.boundary.length > 10_000
        assert shapely.difference(inner.boundary, outer.buffer(5)).length < 50     # a few tile-grid slivers at most
    # and the main piece of Salanque is on the coast: not enclosed though it touches only Agly and Perpignan
    salanque_main = shapely.difference(shapes["CPTS Salanque"], fitou_shape.buffer(1))
    assert shapely.difference(salanque_main.boundary,
                              shapes[[AGLY, "CPTS Perpignan"]].union_all().buffer(5)).length > 5_000


def commune_iris(bundle, *communes) -> frozenset[str]:
    return frozenset(i for c in communes for i in bundle.iris_by_commune[c])


def test_the_enclosure_rule_at_the_coast_at_a_white_zone_and_between_two_cpts(france, example):
    """A CPTS is enclosed by another when its whole outline is that CPTS's border: never on the coast, never beside a
    white zone (nor beside a zone of a third CPTS, even one shared with the encloser)."""
    area = area_of(france, "76", "66")
    casefabre = commune_iris(france, "66040")                     # white, inland, in the middle of CPTS Aspres
    aspres = example["CPTS Aspres"]

    def enclosed(registry):
        return enclosed_records(coverage_report(france, registry, area))

    assert enclosed({"A": casefabre, "B": aspres}) == [("A", "B", True, ["66040"], 44)]
    neighbours = france.commune_graph.neighbours("66040")
    first = commune_iris(france, neighbours[0])
    assert enclosed({"A": casefabre, "B": aspres - first}) == []                  # a white neighbour
    assert enclosed({"A": casefabre, "B": aspres - first, "C": first}) == []      # two CPTS around
    assert enclosed({"A": casefabre, "B": aspres, "C": first}) == []              # a neighbour shared by B and C
    # Saint-Cyprien (66171) on the coast, every land neighbour in one CPTS: not enclosed (the sea is open)
    coast = "66171"
    assert france.open_edge[france.iris.index.get_indexer(commune_iris(france, coast))].any()
    around = commune_iris(france, *france.commune_graph.neighbours(coast))
    assert enclosed({"A": commune_iris(france, coast), "B": around}) == []
    # a CPTS in two pieces: its inland piece is named as a part of it, its coastal piece is not
    assert enclosed({"A": casefabre | commune_iris(france, coast), "B": aspres | around}) == [
        ("A", "B", False, ["66040"], 44)]


def test_population_inside_the_departement_beside_the_whole(france, example, report_66):
    """At the scope of the 66, the CPTS table says which CPTS extend into the Aude and their population in the 66."""
    cpts = report_66.cpts.set_index("name")
    assert report_66.population_total == 496_855
    assert cpts["population"].sum() == 510_057                # whole CPTS: their parts in the Aude counted
    assert cpts["population_in_area"].sum() == 497_877        # inside the 66 …
    assert 497_877 == report_66.population_covered + report_66.population_overlap    # … Tresserre in two CPTS
    assert report_66.extending_outside["name"].tolist() == ACROSS_66_11
    assert set(cpts.loc[ACROSS_66_11, "outside_departements"].map(tuple)) == {("11",)}
    assert cpts.loc["CPTS Salanque", ["population", "population_in_area"]].tolist() == [28_966, 27_808]
    assert cpts.loc[AGLY, ["population", "population_in_area"]].tolist() == [40_694, 33_049]
    communes = france.communes.loc[cpts.at[AGLY, "communes"]]       # whole communes: the census figures add up
    assert communes.loc[communes["departement"] == "66", "population"].sum() == 33_049
    inside = cpts.drop(ACROSS_66_11)
    assert (inside["population"] == inside["population_in_area"]).all()
    assert (inside["outside_departements"].str.len() == 0).all()
    lines = report_66.outline_lines()
    assert lines[1] == ("CPTS débordant hors du département : " + ", ".join(ACROSS_66_11) + ". Population des CPTS "
                        "dans le département : 497\u202f877 habitants (510\u202f057 avec leurs parties hors du "
                        "département ; une zone partagée entre CPTS comptée dans chacune).")
    region = coverage_report(france, example, area_of(france, "76"))
    assert region.extending_outside.empty and region.outline_lines()[1] == "CPTS débordant hors de la région : aucune."


def test_tables_say_it_with_french_headers(france, example, report_66):
    tables = report_tables(report_66, france)
    cpts = tables["CPTS"].set_index("CPTS")
    assert cpts.loc["CPTS Salanque", ["Population (toute la CPTS)", "Population dans le département",
                                      "Départements hors du département"]].tolist() == [28_966, 27_808, "Aude (11)"]
    assert cpts.loc["CPTS Ruscino", "Départements hors du département"] == ""
    enclosed = tables["CPTS enclavées"]
    assert enclosed[["CPTS", "Partie enclavée", "Enclavée dans", "Communes", "Population"]].values.tolist() == [
        ["CPTS Ruscino", "toute la CPTS", "CPTS Perpignan",
         "Cabestany (66028), Perpignan (66136), Saint-Nazaire (66186), Saleilles (66189)", 48_454],
        ["CPTS Salanque", "une partie", AGLY, "Fitou (11144)", 1_158]]
    summary = dict(tables["Synthèse"].values.tolist())
    assert summary["CPTS enclavées dans une autre CPTS"] == report_66.enclosed_text()
    assert summary["CPTS débordant hors du département"] == ", ".join(ACROSS_66_11)
    assert (summary["Population des CPTS dans le département"],
            summary["Population des CPTS avec leurs parties hors du département"]) == (497_877, 510_057)
    whole_data = report_tables(coverage_report(france, example, area_of(france)), france)
    assert "Population" in whole_data["CPTS"] and "Population dans le département" not in whole_data["CPTS"]


def test_cli_text_json_and_workbook(france_dir, tmp_path, capsys):
    arguments = ["coverage", "--registry", str(EXAMPLE), "--region", "76", "--departement", "66", "--out",
                 str(tmp_path), "--data", str(france_dir)]
    assert main(arguments) == 0
    text = capsys.readouterr().out
    assert ("CPTS enclavées dans une autre CPTS : CPTS Ruscino (toute la CPTS, 48\u202f454 habitants) dans CPTS "
            "Perpignan ; Fitou (11144), partie de CPTS Salanque") in text
    assert ("CPTS Salanque : 6 communes, 28\u202f966 habitants dont 27\u202f808 dans le département (hors du "
            "département : Aude (11)), taille 1, 2 morceaux") in text
    assert "CPTS Ruscino : 4 communes, 48\u202f454 habitants, taille 2" in text
    assert main([*arguments, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert [(e["cpts"], e["around"], e["whole"]) for e in payload["enclosed"]] == [
        ("CPTS Ruscino", "CPTS Perpignan", True), ("CPTS Salanque", AGLY, False)]
    salanque = next(c for c in payload["cpts"] if c["name"] == "CPTS Salanque")
    assert (salanque["population_in_area"], salanque["outside_departements"]) == (27_808, ["11"])
    book = openpyxl.load_workbook(tmp_path / "couverture_departement_66.xlsx")
    sheet = book["CPTS enclavées"]
    assert [c.value for c in sheet[2]] == ["CPTS", "Partie enclavée", "Enclavée dans", "Communes", "IRIS",
                                           "Population"]
    assert (sheet["A4"].value, sheet["D4"].value, sheet["F4"].value, sheet["F4"].number_format) == (
        "CPTS Salanque", "Fitou (11144)", 1_158, "#,##0")
    header = [c.value for c in book["CPTS"][2]]
    row = next(r for r in book["CPTS"].iter_rows(min_row=3, values_only=True) if r[0] == AGLY)
    assert row[header.index("Population dans le département")] == 33_049


def test_ars_page_names_them(dep66_dir, france, tmp_path, monkeypatch):
    """The « Vue ARS » page of the 66 (a bundle of the 66 alone: Fitou and the Aude are not in it) names the CPTS
    enclosed by another; the Aude's parts unknown to that bundle, no CPTS is said to extend outside."""
    from cpts_geo.region.registry import save_registry
    from cpts_geo.storage.store import open_store

    store = tmp_path / "registre.sqlite"
    save_registry(france, open_store(store), read_registry(france, EXAMPLE))
    page = ars_page(monkeypatch, dep66_dir, store)
    assert not page.exception
    assert [w.value.replace("\\", "") for w in page.warning if "enclavées" in w.value] == [
        "CPTS enclavées dans une autre CPTS : CPTS Ruscino (toute la CPTS, 48\u202f454 habitants) dans CPTS "
        "Perpignan."]
    assert "CPTS débordant hors du département : aucune." in [i.value.replace("\\", "") for i in page.info]
    listed = page.dataframe[0].value.set_index("CPTS")
    assert listed.loc["CPTS Ruscino", ["Population", "Population dans le département"]].tolist() == [48_454, 48_454]
    assert "CPTS enclavées (1)" in [e.label for e in page.expander]
