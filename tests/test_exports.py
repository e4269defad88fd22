"""Exports of the Ruscino perimeter, opened with the libraries a user would use."""

import io
import json
import re
import zipfile

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from docx import Document
from docx.oxml.ns import qn
from matplotlib.collections import LineCollection
from openpyxl import load_workbook
from pypdf import PdfReader

from cpts_geo.commands.summary import load_others
from cpts_geo.errors import InputError
from cpts_geo.exports import tables
from cpts_geo.exports.files import FORMATS, TerritoryExport, file_stem
from cpts_geo.exports.perimeter import read_perimeter
from cpts_geo.territory.offer import establishment_groups
from cpts_geo.territory.model import Territory
from tests.test_cli import run_cli
from tests.conftest import RUSCINO_CODES, pdf_layout_text

A4_POINTS = (595, 842)


REGISTRY = "docs/registry_example/registre_cpts_66_11.csv"


@pytest.fixture(scope="module")
def exporter(france, ruscino):
    neighbours = load_others(france, REGISTRY)
    return TerritoryExport(france, ruscino, neighbours, postal_overrides={"66136": "66000"}, detailed=True)


@pytest.fixture(scope="module")
def files(exporter, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    paths = {}
    for fmt in ("csv", "xlsx", "geojson", "gpkg", "shp", "prediag"):
        exported = exporter.export(fmt)
        paths[fmt] = folder / exported.filename
        paths[fmt].write_bytes(exported.data)
    return paths


def test_file_names(files):
    assert files["gpkg"].name == "cpts_ruscino_perimetre.gpkg"
    assert file_stem("CPTS Pays d'Olmes / Ariège") == "cpts_pays_d_olmes_ariege"
    assert file_stem("CPTS Cœur d’Hérault — Æ Straße") == "cpts_coeur_d_herault_ae_strasse"
    # markup is no word of the name (it made « cpts_b_x_b »); a comparison sign stays a separator
    assert file_stem("CPTS <b>x</b> Nord") == "cpts_x_nord"
    assert file_stem('<img src="a.png" onerror="alert(1)">CPTS <i>Sud</i>') == "cpts_sud"
    assert file_stem("<script></script>") == "cpts" and file_stem("CPTS 3 < 5 > 2") == "cpts_3_5_2"
    long = file_stem("CPTS <span class='x'>" + "Vallée " * 20 + "</span> A")
    assert len(long) == 80 and long.startswith("cpts_vallee_vallee") and "span" not in long


def test_xlsx_letter_table(files):
    sheet = load_workbook(files["xlsx"])["Délimitation"]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[2] == ("COMMUNES / QUARTIERS", "CODE POSTAL", "CODE INSEE", "CODE IRIS")
    assert rows[3] == ("Ouest (660280101) - Cabestany", "66330", "66028", "660280101")
    assert {sheet.cell(4, column).number_format for column in (2, 3, 4)} == {"@"}    # codes stay text when edited
    assert sheet.freeze_panes == "A4" and sheet.auto_filter.ref == "A3:D19" and sheet["A3"].font.b
    table = rows[3:3 + 16]
    assert len(table) == 16 and table[-1] == ("Saleilles", "66280", "66189", None)
    footer = {r[0]: r[1] for r in rows[3 + 16:] if r[0]}
    assert footer["Nombre de communes"] == "4 (dont 1 en partie)"
    assert footer["Population"].startswith("48\u202f454 habitants")
    assert footer["Taille de la CPTS"].startswith("2 ")
    sources = [r[0] for r in load_workbook(files["xlsx"])["Sources"].iter_rows(values_only=True)]
    assert any("14 m" in s for s in sources)


def test_csv_is_the_letter_csv(files):
    lines = files["csv"].read_bytes().decode("utf-8-sig").splitlines()
    assert lines[1] == "Ouest (660280101) - Cabestany;\u206066330;\u206066028;\u2060660280101"


def test_perimeter_files_content_and_crs(files, france, ruscino):
    geojson = json.loads(files["geojson"].read_text(encoding="utf-8"))
    levels = [f["properties"]["niveau"] for f in geojson["features"]]
    assert levels.count("iris") == 16 and levels.count("territoire") == 1
    whole = next(f["properties"] for f in geojson["features"] if f["properties"]["niveau"] == "territoire")
    assert (whole["population"], whole["taille"], whole["nb_communes"]) == (48_454, 2, 4)
    layers = {name for name, _ in pyogrio.list_layers(files["gpkg"])}
    assert layers == {"iris", "territoire"}
    iris = gpd.read_file(files["gpkg"], layer="iris")
    assert iris.crs.to_epsg() == 2154 and sorted(iris["code_iris"]) == sorted(ruscino.iris)
    assert iris.set_index("code_iris").at["661360801", "commune"] == "Perpignan"
    assert not iris.set_index("code_iris").at["661360801", "commune_entiere"]
    territory = gpd.read_file(files["gpkg"], layer="territoire")
    assert territory.geometry.iat[0].area == pytest.approx(iris.geometry.area.sum(), rel=1e-6)
    with zipfile.ZipFile(files["shp"]) as archive:
        names = set(archive.namelist())
    assert {"cpts_ruscino_iris.shp", "cpts_ruscino_iris.prj", "cpts_ruscino_territoire.dbf"} <= names
    shp = gpd.read_file(f"zip://{files['shp']}!cpts_ruscino_iris.shp")
    assert shp.crs.to_epsg() == 2154 and len(shp) == 16


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_round_trip_gives_the_same_territory(files, france, ruscino, fmt):
    assert read_perimeter(france, files[fmt]) == ruscino


def test_docx_section(exporter, france):
    prediag = tables.prediagnostic(france, exporter.territory, exporter.summary)
    document = Document(io.BytesIO(tables.letter_docx(france, exporter.summary, exporter.table, prediag)))
    text = "\n".join(p.text for p in document.paragraphs)
    page = document.sections[0]
    assert (round(page.page_width.cm, 1), round(page.page_height.cm, 1)) == (21.0, 29.7)
    assert "Délimitation géographique" in text
    assert "☒ Taille 2 : de 40 000 à 80 000 habitants" in text and "☐ Taille 1" in text
    letter = document.tables[0]
    assert len(letter.rows) == 17 and letter.rows[1].cells[0].text == "Ouest (660280101) - Cabestany"
    ages = document.tables[1]
    assert [c.text for c in ages.rows[0].cells] == ["Tranche d'âge", "Territoire (IRIS couvrant 84\u00a0% de la population)",
                                                    "Pyrénées-Orientales (66)", "Occitanie"]
    assert ages.rows[1].cells[0].text == "0 à 14 ans"
    caveat = ages._tbl.getnext()                   # the caveat is the paragraph right under the age table
    assert "Recensement 2016" in "".join(caveat.itertext()) and "« 75 ans et plus »" in "".join(caveat.itertext())
    # Perpignan is taken in part (10 IRIS of 47): its 9 QPV are to locate, with a hint from the IRIS names
    qpv = {row.cells[0].text: [c.text for c in row.cells] for row in document.tables[2].rows}
    assert qpv["Code"] == ["Code", "Quartier", "Commune", "Habitants du quartier", "Au plus dans le territoire",
                           "Probablement (IRIS de nom proche)"]
    assert len(qpv) == 10 and qpv["QP066010"][2:] == ["Perpignan", "1\u202f833", "1\u202f833", "dedans (Champs de Mars)"]
    assert qpv["QP066003"][5] == "hors (Gare 1, Gare 2)" and qpv["QP066008"][5] == "à localiser"
    assert ("Perpignan n'est retenue qu'en partie (10 IRIS sur 47, 29\u202f512 habitants) : ses 9 QPV ne sont pas "
            "localisés par IRIS dans ces données ; au plus 29\u202f108 habitants du territoire y vivent. D'après les noms "
            "des IRIS, 1 serait dans le territoire, 5 hors du territoire, 3 à localiser.") in text
    assert "génération 2015" in text and "14 m" in text


def test_a_qpv_over_several_communes_is_one_row(france):
    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.territory.model import summarize

    territory = Territory(resolve_codes(france, ["13201", "13202", "13203"]).iris, "Centre de Marseille")
    summary = summarize(france, territory)
    qpv = tables.prediagnostic(france, territory, summary).qpv
    assert qpv["code_qp"].is_unique
    centre = qpv.set_index("code_qp").loc["QP013032"]
    assert (centre["code_insee"], centre["commune"]) == ("13201,13202,13203", "Marseille 1er, Marseille 2e, Marseille 3e")
    # over 6 arrondissements, 3 of them outside: in part (the territory, 120 006 inhabitants, may hold it all)
    assert (centre["situation"], centre["pop_qpv"], centre["max_in_territory"]) == (tables.QPV_PARTLY, 104_302, 104_302)
    assert summary.population.value == 120_006


def test_a_few_iris_of_marseille_do_not_take_a_qpv_of_104_302(france):
    """6 IRIS of Marseille 1er (13 378 inhabitants): the QPV of 104 302 inhabitants over 6 arrondissements is to
    locate, with at most 13 378 of them in the territory; no QPV is counted in it."""
    iris = sorted(code for code in france.iris.index if code.startswith("13201"))[:6]
    exporter = TerritoryExport(france, Territory(frozenset(iris), "CPTS Marseille Centre"))
    assert exporter.summary.population.value == 13_378
    document = Document(io.BytesIO(exporter.export("docx").data))
    text = "\n".join(p.text for p in document.paragraphs)
    assert ("Marseille 1er Arrondissement n'est retenue qu'en partie (6 IRIS sur 19, 13\u202f378 habitants) : son QPV "
            "n'est pas localisé par IRIS dans ces données ; au plus 13\u202f378 habitants du territoire y vivent.") in text
    assert "QPV entièrement dans le territoire" not in text and "QPV des communes entières" not in text
    qpv = next(t for t in document.tables if t.rows[0].cells[0].text == "Code")
    assert [[c.text for c in row.cells] for row in qpv.rows[1:]] == [[
        "QP013032", "Centre Ville Canet Arnavaux Jean Jaurès", "Marseille 1er", "104\u202f302 (6 communes)",
        "13\u202f378", "à localiser"]]


def test_the_prediagnostic_pdf_lists_every_qpv_and_the_age_coverage(france):
    """22 QPV in Marseille's north and centre flow onto a second page; 30 communes of Lozère: the age bands
    cover 46 % of the population, said in the table heading and under it."""
    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.territory.model import summarize

    marseille = sorted(code for code in france.iris.index if code.startswith("13201"))[:6]
    codes = ["13202", "13203", "13213", "13214", "13215", "13216", *marseille]
    north = TerritoryExport(france, Territory(resolve_codes(france, codes).iris, "CPTS Marseille Nord"))
    qpv = tables.prediagnostic(france, north.territory, north.summary).qpv
    assert len(qpv) == 22
    pages = assert_a4(north.export("prediag").data, A4_POINTS, pages=3).split("\f")
    assert all(code in pages[0] + pages[1] for code in qpv["code_qp"])
    assert "Pré-diagnostic — CPTS Marseille Nord (suite, page 2)" in pages[1] and "Offre de soins" in pages[2]
    assert "20 QPV entièrement dans le territoire : 105 591 habitants, soit 30,5\u00a0% de sa population." in pages[0]
    lozere = sorted(france.communes.index[france.communes.index.str.startswith("48")])[:29]
    mende = TerritoryExport(france, Territory(resolve_codes(france, ["48095", *lozere]).iris, "CPTS Lozère"))
    first = " ".join(assert_a4(mende.export("prediag").data, A4_POINTS, pages=None).split("\f")[0].split())
    assert "Territoire (IRIS : 46 % de la pop.)" in first
    assert "Recensement 2016, IRIS dont la population par âge est publiée (46 % de la population du territoire)" in first
    # under the table (drawn before the QPV heading), once: not only in the footer
    assert first.count("Recensement 2016, IRIS") == 1
    assert first.index("Recensement 2016, IRIS") < first.index("Quartiers prioritaires (QPV, liste 2015)")
    document = Document(io.BytesIO(mende.export("docx").data))
    assert document.tables[1].rows[0].cells[1].text == "Territoire (IRIS couvrant 46\u00a0% de la population)"
    villages = Territory(resolve_codes(france, [*lozere, "48077"]).iris, "Villages")   # no IRIS measured
    summary = summarize(france, villages)
    assert tables.prediagnostic(france, villages, summary).territory_label() == "Territoire (aucun IRIS mesuré)"


def test_prediagnostic_pdfs_drawn_at_once_stay_apart(france, ruscino):
    """The charts are drawn on their own Figure (no pyplot state): two sessions of the server at once."""
    from concurrent.futures import ThreadPoolExecutor

    from cpts_geo.data.codes import resolve_codes

    cabestany = Territory(resolve_codes(france, ["66028"]).iris, "Cabestany")
    exporters = [TerritoryExport(france, territory) for territory in (ruscino, cabestany) * 2]
    with ThreadPoolExecutor(4) as pool:
        pdfs = list(pool.map(lambda exporter: exporter.export("prediag").data, exporters))
    for exporter, pdf in zip(exporters, pdfs):
        first = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
        assert f"Pré-diagnostic — {exporter.territory.name}" in first
        assert PdfReader(io.BytesIO(pdf)).metadata.title == f"Pré-diagnostic — {exporter.territory.name}"


def test_prediagnostic_pdf(files):
    pages = assert_a4(files["prediag"].read_bytes(), A4_POINTS, pages=5).split("\f")
    population, offer = pages[0], "\f".join(pages[2:])      # QPV on two pages, the offer on three
    assert "Offre de soins — CPTS Ruscino" in pages[2] and "(suite, page 5)" in pages[4]
    assert "Pré-diagnostic" in population and "QP066003" in population and "75 ans et plus" in population
    lines = offer.splitlines()
    # Ruscino: Cabestany, Saint-Nazaire and Saleilles counted exactly, Perpignan's part estimated (test_offer):
    # a whole number marked as an estimate, never « 72,0 » nor a column « Estimé » of « non »
    assert "Médecins généralistes ≈\u00a072 (estimation) 14,9 10,2 n.d. n.d." in lines
    assert "Estimé" not in offer and not re.search(r"\d+,\d (estimation)", offer)
    assert "APL médecins généralistes 2023 du territoire 4,80" in lines and "Seuil usuel de la zone « sous-dense » 2,5" in lines
    assert "soins de ville Maison de santé 2" in lines and "soins de ville Pharmacie 18" in lines
    assert "Cabestany (66028) 4,80 sur-dotée" in lines
    assert "n.d. : non disponible dans les données préparées." in offer and "BPE 2025" in offer


def test_prediagnostic_of_guyane_one_column_for_departement_and_region_and_no_rows_of_nd(france):
    """Cayenne and Matoury: Guyane is a région of one département, compared once (table, chart, DOCX); the BPE
    does not cover it: one line « non disponible dans les données préparées », not 9 rows of « n.d. »."""
    from cpts_geo.data.codes import resolve_codes

    cayenne = TerritoryExport(france, Territory(resolve_codes(france, ["97302", "97307"]).iris, "CPTS Cayenne"))
    prediag = tables.prediagnostic(france, cayenne.territory, cayenne.summary)
    assert prediag.ages.references() == [("Guyane (973)", "departements", "973")]
    assert list(prediag.age_table().columns) == ["Tranche d'âge", "Territoire", "Guyane (973)"]
    assert prediag.age_table().iat[0, 2] == "32,2\u00a0%"                       # 0 à 14 ans in Guyane
    pages = tables.prediagnostic_pages(france, cayenne.summary, prediag)
    chart = next(ax for ax in pages[0].axes if ax.get_legend() is not None)
    assert [text.get_text() for text in chart.get_legend().get_texts()] == ["Territoire", "Guyane (973)"]
    text = assert_a4(cayenne.export("prediag").data, A4_POINTS, pages=None)
    first = text.split("\f")[0]
    assert first.count("Guyane") == 2                                            # table heading and chart legend
    offer = text[text.index("Offre de soins — CPTS Cayenne"):]
    assert offer.count("Professionnels de santé libéraux") == 1                 # one line, no heading repeated
    assert "Professionnels de santé libéraux (BPE) : non disponible dans les données préparées" in offer
    assert "Médecins généralistes" not in offer and "Estimé" not in offer
    document = Document(io.BytesIO(cayenne.export("docx").data))
    assert [c.text for c in document.tables[1].rows[0].cells] == ["Tranche d'âge", "Territoire", "Guyane (973)"]
    assert not any(t.rows[0].cells[0].text == "Professionnels" for t in document.tables)
    offer_lines = [p.text for p in document.paragraphs if p.text.startswith("Professionnels de santé libéraux")]
    assert offer_lines == ["Professionnels de santé libéraux (BPE) : non disponible dans les données préparées"]
    qpv_title = next(p for p in document.paragraphs if p.text == tables.QPV_LOCATED_TITLE)
    assert qpv_title.paragraph_format.keep_with_next                         # kept with its table
    # Ruscino (66) keeps its département and its région, and the QPV caveat on IRIS
    ruscino = tables.prediagnostic(france, *_ruscino_summary(france))
    assert [name for name, _, _ in ruscino.ages.references()] == ["Pyrénées-Orientales (66)", "Occitanie"]
    assert ruscino.qpv_caveat == tables.QPV_CAVEAT + tables.QPV_IRIS_CAVEAT


def _ruscino_summary(france):
    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.territory.model import summarize

    ruscino = Territory(resolve_codes(france, RUSCINO_CODES).iris, "CPTS Ruscino")
    return ruscino, summarize(france, ruscino)


def test_prediagnostic_headings_stay_with_what_follows(france):
    """CPTS Aspres of the example registry: its headings « Soins de ville (32) » and « Sanitaire (4) » fell at the
    foot of pages 3 and 4 with nothing under them; each heading now has the start of its table under it on its page
    (or moves to the next). In the DOCX, the bold titles of tables keep with them (headings do in Word's styles)."""
    from cpts_geo.territory.model import summarize

    aspres = Territory(load_others(france, REGISTRY)["CPTS Aspres"], "CPTS Aspres")
    summary = summarize(france, aspres)
    pages = tables.prediagnostic_pages(france, summary, tables.prediagnostic(france, aspres, summary))
    headings = 0
    for fig in pages:
        items = [(text.get_position()[1], text) for text in fig.texts if text.get_position()[1] > 0.1]  # no footer
        items += [(ax.get_position().y1, ax) for ax in fig.axes]
        for top, heading in items:
            if getattr(heading, "get_weight", lambda: "")() == "bold":
                headings += 1
                below = [y for y, _ in items if y < top - 1e-6]
                assert below, heading.get_text()
                assert (top - max(below)) * tables.A4_PORTRAIT_IN[1] < 0.6, heading.get_text()  # right under it
    assert headings == 11
    document = Document(io.BytesIO(TerritoryExport(france, aspres).export("docx").data))
    titles = [p for p in document.paragraphs
              if p.text in (tables.QPV_LOCATED_TITLE, tables.QPV_TO_LOCATE_TITLE, "Taille de la CPTS :")]
    assert [p.text for p in titles] == ["Taille de la CPTS :"]      # Aspres has no QPV (Cayenne: their title)
    assert all(p.paragraph_format.keep_with_next for p in titles)
    assert all(document.styles[f"Heading {level}"].paragraph_format.keep_with_next for level in (1, 2, 3))


def test_docx_offer_of_care_section(france):
    """Cabestany alone: counts of the BPE 2025 exactly, its two maisons de santé, APL 4.797, nurse zoning."""
    from cpts_geo.data.codes import resolve_codes

    cabestany = TerritoryExport(france, Territory(resolve_codes(france, ["66028"]).iris, "Cabestany"))
    document = Document(io.BytesIO(cabestany.export("docx").data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[headings.index("Pré-diagnostic : offre de soins"):][:4] == [
        "Pré-diagnostic : offre de soins", "Professionnels de santé libéraux",
        "Accessibilité aux médecins généralistes (APL)", "Établissements (FINESS)"]
    rows = {t.rows[0].cells[0].text: [[c.text for c in r.cells] for r in t.rows[1:]] for t in document.tables}
    professionals = {row[0]: row for row in rows["Professionnels"]}
    assert professionals["Médecins généralistes"][:3] == ["Médecins généralistes", "31", "29,6"]
    assert professionals["Infirmiers"][1] == "22" and professionals["Pharmacies"][1] == "3"
    assert 31 / france.communes.at["66028", "population"] * 1e4 == pytest.approx(29.6, abs=0.05)
    assert rows["Indicateur"][0] == ["APL médecins généralistes 2023 du territoire", "4,80"]
    assert rows["Indicateur"][2:] == [["Seuil usuel de la zone « sous-dense »", "2,5"],
                                      ["Population dans une commune sous le seuil", "0,0\u00a0%"]]
    groups = [p.text for p in document.paragraphs if p.style.name == "Heading 3"]
    assert [g.split(" (")[0] for g in groups] == ["Soins de ville", "Sanitaire", "Médico-social"][:len(groups)]
    establishments = [[c.text for c in r.cells] for t in document.tables if t.rows[0].cells[0].text == "Type"
                      for r in t.rows[1:]]
    # 14 of the 27 FINESS numbers of Cabestany are of the kinds kept (not MECS, SAAD, SPST…: sources/health.py).
    assert len(establishments) == 14 and [row[0] for row in establishments].count("Pharmacie") == 3
    maisons = [row for row in establishments if row[0] == "Maison de santé"]
    assert sorted(row[1] for row in maisons) == ["MAISON DE SANTE PLURIPROFESSIONNELLE CABESTANY (MSPC)",
                                                 "MSPU D'AVICENNE"]
    assert all(row[3] == "Cabestany" and row[4].startswith("66028") for row in maisons)
    assert rows["Commune"] == [["Cabestany (66028)", "4,80", "sur-dotée"]]
    text = "\n".join(p.text for p in document.paragraphs)
    assert "Source : DREES, accessibilité potentielle localisée (APL) aux médecins généralistes 2023." in text


def page_texts(pages) -> str:
    """Every text drawn on some figures (pages of a document), tables and axis labels included, one per line."""
    return "\n".join([*(" ".join(text.get_text().split()) for page in pages for text in page.texts),
                      *(ax.get_xlabel() for page in pages for ax in page.axes),
                      *(" ".join(cell.get_text().get_text().split()) for page in pages for ax in page.axes
                        for table in ax.tables for cell in table.get_celld().values())])


@pytest.mark.parametrize("codes, establishments", [
    (["75056"], "Établissements (FINESS) : non disponible dans les données préparées"),
    (["84007", "30351"], "Établissements (FINESS) : 9 (partiel : Gard seulement)")], ids=["Paris", "Avignon"])
def test_prediagnostic_says_what_the_offer_sources_do_not_cover(france, codes, establishments):
    """Paris (no BPE, no FINESS) and Avignon with Villeneuve-lès-Avignon (FINESS of Occitanie: the Gard part only):
    the PDF and the DOCX say « non disponible » or « partiel : Gard seulement », never « : 0 » nor a bare count."""
    from cpts_geo.data.codes import resolve_codes

    exporter = TerritoryExport(france, Territory(resolve_codes(france, codes).iris, "CPTS"))
    pages = tables.prediagnostic_pages(france, exporter.summary, tables.prediagnostic(
        france, exporter.territory, exporter.summary))
    text = page_texts(pages)
    assert establishments in text.splitlines() and "Établissements (FINESS) : 0" not in text
    assert "Professionnels de santé libéraux (BPE) : non disponible dans les données préparées" in text
    assert "Médecins généralistes" not in text                     # no table of « n.d. »
    document = Document(io.BytesIO(exporter.export("docx").data))
    paragraphs = [p.text for p in document.paragraphs]
    assert establishments in paragraphs and "Professionnels" not in [t.rows[0].cells[0].text for t in document.tables]


def test_empty_or_unknown_territory_is_refused(france):
    with pytest.raises(InputError, match="Le territoire est vide"):
        TerritoryExport(france, Territory(frozenset(), "Vide"))
    with pytest.raises(InputError, match="absents des données"):
        TerritoryExport(france, Territory(frozenset({"999990000"}), "X"))
    assert set(FORMATS) >= {"png", "pdf", "csv", "xlsx", "docx", "geojson", "gpkg", "shp"}


def test_cli_export_and_errors(france_dir, tmp_path):
    result = run_cli("export", "--codes", ",".join(RUSCINO_CODES), "--name", "CPTS Ruscino",
                     "--format", "csv,gpkg", "--out", tmp_path, data=france_dir)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cpts_ruscino_perimetre.gpkg", "cpts_ruscino_tableau.csv"]
    bad = run_cli("export", "--codes", "66028", "--format", "odt", "--out", tmp_path, data=france_dir)
    assert bad.returncode == 2 and "Format(s) inconnu(s) : odt" in bad.stderr and "Traceback" not in bad.stderr
    empty = run_cli("export", "--codes", ",", "--out", tmp_path, data=france_dir)
    assert empty.returncode == 2 and "vide" in empty.stderr


@pytest.fixture(scope="module")
def map_files(exporter):
    return {fmt: exporter.export(fmt).data for fmt in ("png", "pdf", "docx")}


def test_png_map_is_a4_at_300_dpi(map_files):
    from PIL import Image

    image = Image.open(io.BytesIO(map_files["png"]))
    assert abs(image.size[0] - 2481) <= 3 and abs(image.size[1] - 3507) <= 3
    assert round(image.info["dpi"][0]) == 300
    # the territory colour fills a real part of the page
    pixels = np.asarray(image.convert("RGB").resize((200, 283), Image.Resampling.NEAREST))
    orange = (pixels == (0xF4, 0xA2, 0x59)).all(axis=2).sum()
    assert orange > 0.1 * 200 * 283


def assert_a4(pdf: bytes, size: tuple[int, int], pages: int | None = 1) -> str:
    """The text of the pages of ``pdf`` (separated by form feeds), after checking that they are A4 (``size``
    in points) and, unless None, that there are ``pages``."""
    reader = PdfReader(io.BytesIO(pdf))
    assert pages is None or len(reader.pages) == pages
    for page in reader.pages:
        assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == size
    return "\f".join(page.extract_text().replace("\u202f", " ") for page in reader.pages)


def test_pdf_map_page_and_text(map_files):
    text = assert_a4(map_files["pdf"], A4_POINTS)
    for expected in ("CPTS Ruscino", "4 communes (dont 1 découpée en IRIS), 16 IRIS", "48 454 habitants", "taille 2",
                     "CPTS Perpignan", "Cabestany", "Saint-Nazaire", "Saleilles", "Perpignan", "Limite de commune",
                     "CPTS voisine", "IGN-INSEE CONTOURS-IRIS® 2020", "populations légales 2023", "14 m", "N"):
        assert expected in text
    assert "CPTS Fenouillèdes" not in text            # neighbours out of view are neither drawn nor named


def test_landscape_map(france, ruscino):
    from cpts_geo.exports.maps import save_figure, territory_map

    text = assert_a4(save_figure(territory_map(france, ruscino, orientation="landscape"), "pdf"), A4_POINTS[::-1])
    assert "CPTS Ruscino" in text and "CPTS voisine" not in text


def test_docx_holds_the_map_at_text_width_with_metadata(map_files):
    from datetime import datetime, timedelta, timezone

    from PIL import Image

    document = Document(io.BytesIO(map_files["docx"]))
    assert len(document.inline_shapes) == 2          # the map and the age chart
    picture = document.inline_shapes[0]
    assert round(picture.width.cm, 1) == 17.0        # the text width of the page
    image = Image.open(io.BytesIO(picture._inline.graphic.graphicData.pic.blipFill.blip.embed and
                                  document.part.related_parts[picture._inline.graphic.graphicData.pic.blipFill
                                                              .blip.embed].blob))
    assert round(image.size[0] / image.info["dpi"][0] * 2.54, 1) == 17.0   # drawn at that width: placed at 100 %
    description = picture._inline.docPr.get("descr")
    assert description.startswith("Carte du territoire de la CPTS Ruscino : 4 communes (Cabestany, Perpignan (en "
                                   "partie), Saint-Nazaire, Saleilles), 16 IRIS, 48\u202f454 habitants, taille 2")
    assert document.inline_shapes[1]._inline.docPr.get("descr").startswith("Graphique : part de chaque tranche")
    properties = document.core_properties
    assert properties.title == "Délimitation géographique et pré-diagnostic — CPTS Ruscino"
    assert properties.author == "cpts-geo" and "python-docx" not in (properties.comments + properties.author)
    assert abs(properties.created - datetime.now(timezone.utc)) < timedelta(minutes=10)
    assert "CONTOURS-IRIS" in properties.subject and "populations légales 2023" in properties.subject
    letter = document.tables[0]                      # columns fitted to their content, within the text width
    widths = [column.width.cm for column in letter.columns]
    assert widths[0] == max(widths) > 2 * min(widths) and sum(widths) == pytest.approx(17, abs=0.01)   # names widest
    assert all(cell.width.cm == pytest.approx(widths[0]) for cell in letter.columns[0].cells)


def test_coverage_print_map(france):
    from cpts_geo.region.coverage import area_of, coverage_report
    from cpts_geo.exports.maps import coverage_map, save_figure
    from cpts_geo.region.registry import read_registry

    registry = read_registry(france, REGISTRY)
    report = coverage_report(france, registry.cpts, area_of(france, None, "66"))
    fig = coverage_map(france, registry.cpts, report)
    text = assert_a4(save_figure(fig, "pdf"), A4_POINTS[::-1])
    assert "Pyrénées-Orientales" in text and "CPTS Ruscino" in text and "Zone blanche" in text


def test_coverage_print_map_sea_and_locator(france):
    """The coverage map of the 66 as the territory map: the Mediterranean tinted (a tenth of the map at least),
    the communes of the Aude and Ariège in grey, both in the legend, the locator inset placing it in Occitanie."""
    import matplotlib.colors as mcolors
    from PIL import Image

    from cpts_geo.region.coverage import area_of, coverage_report
    from cpts_geo.exports.maps import LAND_COLOUR, SEA_COLOUR, coverage_map, save_figure
    from cpts_geo.region.registry import read_registry

    registry = read_registry(france, REGISTRY)
    fig = coverage_map(france, registry.cpts, coverage_report(france, registry.cpts, area_of(france, None, "66")))
    ax, inset = fig.axes
    assert " ".join(inset.get_title().split()) == "Situation : Pyrénées-Orientales (Occitanie)" and inset.collections
    labels = legend_labels(fig)
    assert "Mer, étang, étranger (hors des contours IRIS)" in labels and "Hors de la zone affichée" in labels
    pixels = np.asarray(Image.open(io.BytesIO(save_figure(fig, "png", 50))).convert("RGB")).astype(int)
    box = ax.get_window_extent()
    height = pixels.shape[0]
    inside = pixels[int(height - box.y1 * 50 / fig.dpi) + 2:int(height - box.y0 * 50 / fig.dpi) - 2,
                    int(box.x0 * 50 / fig.dpi) + 2:int(box.x1 * 50 / fig.dpi) - 2]

    def share(colour) -> float:
        rgb = np.array(mcolors.to_rgb(colour)) * 255
        return float((np.abs(inside - rgb).max(axis=2) <= 3).mean())

    assert share(SEA_COLOUR) > 0.1 and share(LAND_COLOUR) > 0.1


# --- the printed map (cpts_geo/exports/maps.py), checked on its artists and rendered pixels -----------------------

def commune_codes(bundle, *names):
    return [bundle.communes.index[(bundle.communes["nom"] == name)
                                  & (bundle.communes["departement"] == "66")][0] for name in names]


@pytest.fixture(scope="module")
def ruscino_with_neighbours(france, ruscino):
    """Ruscino with two neighbouring CPTS made of communes, and itself under another name (issue 14, point 12)."""
    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.exports.maps import territory_map

    others = {"CPTS Aspres": resolve_codes(france, commune_codes(france, "Pollestres", "Villeneuve-de-la-Raho",
                                                                  "Théza")).iris,
              "CPTS Salanque": resolve_codes(france, commune_codes(france, "Bompas", "Villelongue-de-la-Salanque",
                                                                    "Sainte-Marie-la-Mer", "Torreilles")).iris,
              "Ruscino (registre)": ruscino.iris}
    return territory_map(france, ruscino, others, author="Maison de santé de Cabestany")


def legend_labels(fig) -> list[str]:
    return [" ".join(text.get_text().split()) for legend in fig.legends for text in legend.get_texts()]


def text_boxes(fig, ax):
    """Map texts with their box in map coordinates."""
    import shapely

    renderer = fig.canvas.get_renderer()
    inverse = ax.transData.inverted()
    for text in ax.texts:
        extent = text.get_window_extent(renderer)
        (x0, y0), (x1, y1) = inverse.transform([[extent.x0, extent.y0], [extent.x1, extent.y1]])
        yield text, shapely.box(x0, y0, x1, y1)


def territory_outline(france, territory, ax):
    from cpts_geo.config import METROPOLE_CRS

    return france.iris_geometry(sorted(territory.iris)).to_crs(METROPOLE_CRS).union_all()


def test_map_neighbours_own_style_names_and_legend(france, ruscino, ruscino_with_neighbours):
    fig = ruscino_with_neighbours
    ax = fig.axes[0]
    labels = legend_labels(fig)
    assert "CPTS voisine : CPTS Aspres" in labels and "CPTS voisine : CPTS Salanque" in labels
    assert not any("Ruscino (registre)" in label for label in labels)   # the territory is not its own neighbour
    assert "Commune hors territoire et hors des CPTS voisines" in labels
    assert "Mer, étang, étranger (hors des contours IRIS)" in labels   # the Mediterranean, east of Saint-Nazaire
    fills = [c for c in ax.collections if c.get_zorder() == 1.5]
    assert len(fills) == 2 and fills[0].get_hatch() != fills[1].get_hatch()
    assert len({tuple(c.get_facecolor()[0]) for c in fills}) == 2
    outline = territory_outline(france, ruscino, ax)
    texts = dict((text.get_text(), box) for text, box in text_boxes(fig, ax))
    assert {"CPTS Aspres", "CPTS Salanque", "Cabestany", "Perpignan", "Saint-Nazaire", "Saleilles"} <= set(texts)
    for name in ("CPTS Aspres", "CPTS Salanque", "Bompas", "Canet-en-Roussillon"):
        assert not texts[name].intersects(outline), name      # names around never print on the territory


def test_map_pixels_sea_land_and_territory(ruscino_with_neighbours):
    from PIL import Image

    from cpts_geo.exports.maps import LAND_COLOUR, SEA_COLOUR, TERRITORY_COLOUR, save_figure

    fig = ruscino_with_neighbours
    pixels = np.asarray(Image.open(io.BytesIO(save_figure(fig, "png", 50))).convert("RGB"))
    box = fig.axes[0].get_window_extent()
    scale = 50 / fig.dpi
    inside = pixels[pixels.shape[0] - int(box.y1 * scale) + 2:pixels.shape[0] - int(box.y0 * scale) - 2,
                    int(box.x0 * scale) + 2:int(box.x1 * scale) - 2].reshape(-1, 3)
    share = {name: (inside == np.array(Image.new("RGB", (1, 1), colour).getpixel((0, 0)))).all(axis=1).mean()
             for name, colour in (("sea", SEA_COLOUR), ("land", LAND_COLOUR), ("territory", TERRITORY_COLOUR))}
    assert share["territory"] > 0.2 and share["sea"] > 0.001 and share["land"] > 0.001, share


def test_map_split_commune_iris_named_and_scale(france, ruscino, ruscino_with_neighbours):
    from cpts_geo.exports.maps import map_scale

    ax = ruscino_with_neighbours.axes[0]
    texts = [text.get_text() for text in ax.texts]
    perpignan = set(france.iris.loc[sorted(c for c in ruscino.iris if c.startswith("66136")), "nom_iris"])
    assert len(perpignan & set(texts)) >= 3
    scale = map_scale(ax)
    assert scale % 5000 < 1e-6 * scale or -scale % 5000 < 1e-6 * scale      # a round scale: 1:75 000
    assert f"Échelle 1:{round(scale):,}".replace(",", "\u202f") in texts


def test_map_iris_of_a_neighbour_and_iris_in_no_cpts_styled_apart(france, ruscino):
    """Perpignan split: its IRIS out of Ruscino that the CPTS Perpignan holds take the neighbour's colour and hatching;
    with 5 of them taken out of the registry, those 5 alone are dotted white « dans aucune CPTS »."""
    from cpts_geo.exports.maps import NEIGHBOUR_HATCHES, NO_CPTS_STYLE, territory_map

    neighbours = load_others(france, REGISTRY)
    perpignan_out = sorted(set(france.iris_by_commune["66136"]) - ruscino.iris)
    assert set(perpignan_out) <= neighbours["CPTS Perpignan"]            # 37 IRIS, all in the CPTS Perpignan
    fig = territory_map(france, ruscino, neighbours)
    no_cpts = [c for c in fig.axes[0].collections if c.get_hatch() == NO_CPTS_STYLE["hatch"]]
    assert no_cpts == [] or not no_cpts[0].get_paths()
    assert not any("dans aucune CPTS" in label for label in legend_labels(fig))
    fewer = {**neighbours, "CPTS Perpignan": neighbours["CPTS Perpignan"] - set(perpignan_out[:5])}
    fig = territory_map(france, ruscino, fewer)
    no_cpts = [c for c in fig.axes[0].collections if c.get_hatch() == NO_CPTS_STYLE["hatch"]]
    assert len(no_cpts) == 1 and len(no_cpts[0].get_paths()) == 5
    assert NO_CPTS_STYLE["hatch"] not in NEIGHBOUR_HATCHES
    assert "Commune découpée : IRIS hors territoire, dans aucune CPTS" in legend_labels(fig)


def test_map_split_commune_named_on_its_small_iris_and_iris_line_as_in_legend(france, ruscino,
                                                                            ruscino_with_neighbours):
    """« Perpignan » is not printed on the large IRIS Route de Canet (13 km², a lobe of the territory), which
    carries its own name; the legend's « Limite d'IRIS » is the line drawn."""
    from cpts_geo.config import METROPOLE_CRS
    from cpts_geo.exports.maps import IRIS_LINE_STYLE

    fig = ruscino_with_neighbours
    ax = fig.axes[0]
    route_de_canet = france.iris_geometry(["661361202"]).to_crs(METROPOLE_CRS).geometry.iat[0]
    texts = dict((text.get_text(), box) for text, box in text_boxes(fig, ax))
    assert not texts["Perpignan"].intersects(route_de_canet)
    assert texts["Route de Canet"].within(route_de_canet)
    drawn = [c for c in ax.collections if isinstance(c, LineCollection) and c.get_zorder() == 3
             and tuple(c.get_color()[0][:3]) == (1 / 3, 1 / 3, 1 / 3)]
    legend = next(handle for legend in fig.legends for handle, text in zip(legend.legend_handles, legend.get_texts())
                  if text.get_text() == "Limite d'IRIS")
    assert len(drawn) == 1 and drawn[0].get_linewidth()[0] == legend.get_linewidth() == IRIS_LINE_STYLE["linewidth"]
    offset, dashes = drawn[0].get_linestyle()[0]
    assert (offset, tuple(dashes)) == (legend._dash_pattern[0], tuple(legend._dash_pattern[1]))  # scaled alike
    assert legend.get_color() == IRIS_LINE_STYLE["color"]


def test_map_scale_bar_french_and_clear_author_and_map_limits_in_footer(france):
    """The CPTS Salanque of the example registry (1:150 000): « 2,5 km », the numeric scale right of « 5 km », no
    name of the map on the scale bar's box; the author printed as written in the footer, which keeps only the limits
    of contours and population (not those of the age bands or the QPV)."""
    from cpts_geo.exports.maps import territory_map

    author = "Dr $x^2$ <b>Maison</b>\x1b[31m"
    neighbours = load_others(france, REGISTRY)
    fig = territory_map(france, Territory(neighbours["CPTS Salanque"], "CPTS Salanque"), neighbours, author=author)
    ax = fig.axes[0]
    boxes = dict((text.get_text(), box) for text, box in text_boxes(fig, ax))
    assert "2,5\u00a0km" in boxes and "5\u00a0km" in boxes and not any("2.5" in text for text in boxes)
    scale = next(box for text, box in boxes.items() if text.startswith("Échelle"))
    assert scale.bounds[0] > boxes["5\u00a0km"].bounds[2]
    bar = [patch for patch in ax.patches if patch.get_zorder() == 9.5]
    assert len(bar) == 1
    bar_box = shapely.box(*bar[0].get_bbox().extents)
    bar_texts = {"0", "2,5\u00a0km", "5\u00a0km", next(text for text in boxes if text.startswith("Échelle"))}
    assert all(not box.intersects(bar_box) for text, box in boxes.items() if text not in bar_texts)
    footer = next(text.get_text() for text in fig.texts if "produite avec cpts-geo" in text.get_text())
    assert "Réalisé par Dr $x^2$ <b>Maison</b> [31m — carte produite avec cpts-geo le" in footer
    assert "Contours IRIS édition 2020" in footer and "Population des communes" in footer
    assert "QPV" not in footer and "tranche d'âge" not in footer


def test_map_departement_limits_and_legend_on_paris(france):
    """Paris 13e + 14e: the limits of Paris with Hauts-de-Seine and Val-de-Marne are thin grey dashes under the
    territory outline; the Métropole du Grand Paris, out of view, is not in the legend; no white gap around."""
    import matplotlib.colors as mcolors
    from PIL import Image

    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.exports.maps import DEPARTEMENT_STYLE, save_figure, territory_map

    fig = territory_map(france, Territory(resolve_codes(france, ["75113", "75114"]).iris, "CPTS Paris 13-14"))
    ax = fig.axes[0]
    grey = mcolors.to_rgba(DEPARTEMENT_STYLE["color"])
    limits = [c for c in ax.collections if len(c.get_edgecolor()) and np.allclose(c.get_edgecolor()[0], grey)]
    outline = [c for c in ax.collections if c.get_zorder() == 5]
    assert len(limits) == 1 and len(limits[0].get_segments()) > 0 and len(outline) == 1
    assert limits[0].get_linewidth()[0] < 0.5 * outline[0].get_linewidth()[0]
    assert limits[0].get_linestyle()[0][1] is not None                        # dashed
    assert limits[0].get_zorder() < outline[0].get_zorder()
    handle = next(h for legend in fig.legends for h, t in zip(legend.legend_handles, legend.get_texts())
                  if t.get_text() == "Limite de département")
    assert mcolors.to_rgba(handle.get_color()) == grey and handle.get_linestyle() == "--"
    labels = legend_labels(fig)
    assert not any("EPCI" in label for label in labels) and "Mer, étang, étranger (hors des contours IRIS)" not in labels
    pixels = np.asarray(Image.open(io.BytesIO(save_figure(fig, "png", 60))).convert("RGB"))
    box = ax.get_window_extent()
    height = pixels.shape[0]
    inside = pixels[int(height - box.y1 * 60 / fig.dpi) + 3:int(height - box.y0 * 60 / fig.dpi) - 3,
                    int(box.x0 * 60 / fig.dpi) + 3:int(box.x1 * 60 / fig.dpi) - 3]
    assert (inside == 255).all(axis=2).mean() < 0.01                        # land everywhere: no blank area


@pytest.fixture(scope="module")
def lozere(france):
    """30 contiguous communes of Lozère around Mende."""
    from cpts_geo.data.codes import resolve_codes

    chosen = ["48095"]
    while len(chosen) < 30:
        chosen += sorted(n for c in chosen for n in france.commune_graph.neighbours(c)
                         if n.startswith("48") and n not in chosen)[:30 - len(chosen)]
    return Territory(resolve_codes(france, chosen).iris, "CPTS Cœur de Lozère")


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_map_every_commune_named_or_numbered(france, lozere, orientation):
    from cpts_geo.exports.maps import territory_map

    fig = territory_map(france, lozere, orientation=orientation)
    ax, inset = fig.axes
    names = france.communes.loc[sorted(lozere.communes(france)), "nom"].tolist()
    on_map = {text.get_text() for text in ax.texts}
    key = "\n".join(text.get_text() for text in fig.texts)
    numbered = [name for name in names if name not in on_map]
    for number, name in enumerate(sorted(numbered), start=1):
        assert str(number) in on_map and f"{number} {name}\n" in key + "\n", name
    assert len(numbered) < len(names) / 2
    outline = territory_outline(france, lozere, ax)
    (xmin, xmax), (ymin, ymax) = ax.get_xlim(), ax.get_ylim()
    bounds = outline.bounds
    # the territory fills the frame: more than half its width and 70 % of its height at least one way
    assert (bounds[2] - bounds[0]) / (xmax - xmin) > 0.5 or (bounds[3] - bounds[1]) / (ymax - ymin) > 0.7
    assert "Lozère (Occitanie)" in inset.get_title() and inset.collections    # the locator inset


def test_map_pdf_metadata_and_no_pyplot(france, ruscino, ruscino_with_neighbours):
    from datetime import datetime, timezone
    from pathlib import Path

    from matplotlib._pylab_helpers import Gcf

    import cpts_geo.exports.maps as maps

    source = Path(maps.__file__).read_text(encoding="utf-8")
    assert "import matplotlib.pyplot" not in source and "pyplot import" not in source and "plt." not in source
    managers = Gcf.get_num_fig_managers()
    reader = PdfReader(io.BytesIO(maps.save_figure(ruscino_with_neighbours, "pdf")))
    assert Gcf.get_num_fig_managers() == managers                 # no pyplot figure made on the way
    info = reader.metadata
    assert info.title == "CPTS Ruscino" and info.author == "Maison de santé de Cabestany (cpts-geo)"
    assert "IGN-INSEE CONTOURS-IRIS" in info.subject and "populations légales 2023" in info.subject
    assert "48\u202f454 habitants" in info.subject
    assert abs((datetime.now(timezone.utc) - info.creation_date).total_seconds()) < 600
    assert PdfReader(io.BytesIO(maps.save_figure(maps.territory_map(france, ruscino), "pdf"))).metadata.author \
        == "cpts-geo"


def test_cli_export_drops_the_territory_from_its_neighbours(france_dir, tmp_path):
    others = tmp_path / "voisines.csv"
    others.write_text("cpts;code_insee\nRuscino;66028\nRuscino;66186\nRuscino;66189\nCPTS Salanque;66212\n"
                      + "".join(f"Ruscino;{code}\n" for code in RUSCINO_CODES if code.startswith("66136")),
                      encoding="utf-8")
    result = run_cli("export", "--codes", ",".join(RUSCINO_CODES), "--name", "CPTS Ruscino", "--other-cpts", others,
                     "--format", "pdf", "--out", tmp_path, data=france_dir)
    assert result.returncode == 0, result.stderr
    assert "« Ruscino » de --other-cpts est le territoire exporté lui-même" in result.stderr
    assert "non conforme" not in result.stderr                    # no overlap with itself
    text = PdfReader(tmp_path / "cpts_ruscino_carte.pdf").pages[0].extract_text()
    assert "CPTS voisine : Ruscino" not in " ".join(text.split())


def test_an_invalid_territory_says_so_on_every_document(france):
    from cpts_geo.data.codes import resolve_codes

    territory = Territory(resolve_codes(france, ["84007", "84031"]).iris, "CPTS en deux morceaux")
    exporter = TerritoryExport(france, territory)
    alert = ("Territoire non conforme : Le territoire est en 2 morceaux sans frontière commune. Morceaux détachés du "
             "principal : Carpentras (84031).")
    assert exporter.alerts == [alert]
    csv_lines = exporter.export("csv").data.decode("utf-8-sig").splitlines()
    assert f"Attention;{alert};;" in csv_lines
    sheet = load_workbook(io.BytesIO(exporter.export("xlsx").data))["Délimitation"]
    assert sheet["A2"].value == alert and sheet["A2"].font.color.rgb.endswith("C00000")
    document = Document(io.BytesIO(exporter.export("docx").data))
    assert document.paragraphs[1].text == f"Attention — {alert}"
    for fmt in ("pdf", "prediag"):
        text = " ".join(PdfReader(io.BytesIO(exporter.export(fmt).data)).pages[0].extract_text().split())
        assert "Territoire non conforme : Le territoire est en 2 morceaux" in text and "Carpentras (84031)" in text
    assert TerritoryExport(france, Territory(resolve_codes(france, ["84007"]).iris, "Avignon")).alerts == []


def test_the_territory_among_its_neighbours_is_not_an_overlap(france, ruscino):
    """A neighbours file that holds the territory itself (same name, or same IRIS) raises no overlap alert."""
    from cpts_geo.data.codes import resolve_codes

    aspres = resolve_codes(france, commune_codes(france, "Pollestres")).iris
    same_name, same_iris = ("  cpts RUSCINO ", ruscino.iris | {"661360101"}), ("Ruscino (registre)", ruscino.iris)
    for name, codes in (same_name, same_iris):
        exporter = TerritoryExport(france, Territory(ruscino.iris, "CPTS Ruscino"), {name: codes, "CPTS Aspres": aspres})
        assert set(exporter.others) == {"CPTS Aspres"} and exporter.alerts == []
    overlapping = TerritoryExport(france, ruscino, {"CPTS Aspres": aspres | {RUSCINO_CODES[0]}})
    assert len(overlapping.alerts) == 1 and "CPTS Aspres" in overlapping.alerts[0]


def test_whole_communes_are_one_row_and_docx_headers_repeat(france, france_dir):
    from cpts_geo.data.codes import resolve_codes

    paris = Territory(resolve_codes(france, ["75113", "75114"]).iris, "CPTS Paris 13-14")
    exporter = TerritoryExport(france, paris)
    assert exporter.table.values.tolist() == [["Paris 13e Arrondissement", "75013", "75113", ""],
                                              ["Paris 14e Arrondissement", "75014", "75114", ""]]
    document = Document(io.BytesIO(exporter.export("docx").data))
    for table in document.tables:
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert len(document.tables[0].rows) == 3
    detailed = TerritoryExport(france, paris, detailed=True).table
    assert len(detailed) == len(paris.iris) > 100
    result = run_cli("summary", "--codes", "75113,75114", "--par-iris", "--json", data=france_dir)
    assert len(json.loads(result.stdout)["letter_table"]) == len(paris.iris)


@pytest.mark.parametrize("fmt", ["shp", "gpkg", "geojson"])
def test_exported_perimeter_reads_back_as_a_neighbour(files, france, ruscino, fmt):
    from cpts_geo.region.registry import read_registry

    imported = read_registry(france, files[fmt])
    assert imported.cpts == {"CPTS Ruscino": ruscino.iris} and imported.ignored.empty


def test_gis_files_keep_integers_multipolygons_and_every_commune_code(france, tmp_path):
    """Paris 13e + 14e, and 60 communes of Lozère whose codes (359 characters) do not fit a dBASE field."""
    from cpts_geo.data.codes import resolve_codes

    lozere = sorted(france.communes.index[france.communes.index.str.startswith("48")])[:60]
    for name, codes in (("CPTS Paris 13-14", ["75113", "75114"]), ("CPTS Lozère", lozere)):
        territory = Territory(resolve_codes(france, codes).iris, name)
        exporter = TerritoryExport(france, territory)
        paths = {}
        for fmt in ("geojson", "gpkg", "shp"):
            exported = exporter.export(fmt)
            paths[fmt] = tmp_path / exported.filename
            paths[fmt].write_bytes(exported.data)
        features = json.loads(paths["geojson"].read_bytes())["features"]
        whole = features[0]["properties"]
        assert whole["niveau"] == "territoire" and whole["codes_insee"] == ",".join(codes)
        for key in ("taille", "population", "nb_communes", "nb_iris", "millesime"):
            assert type(whole[key]) is int, key
        assert all(type(f["properties"]["population"]) is int for f in features[1:])
        assert '"taille": 2.0' not in paths["geojson"].read_text(encoding="utf-8")
        assert dict(pyogrio.list_layers(paths["gpkg"])) == {"iris": "MultiPolygon", "territoire": "MultiPolygon"}
        stem = paths["shp"].name.removesuffix("_perimetre_shp.zip")
        with zipfile.ZipFile(paths["shp"]) as archive:
            communes = archive.read(f"{stem}_communes.csv").decode("utf-8-sig").splitlines()
            notice = archive.read("LISEZMOI.txt").decode("utf-8")
        assert [line.split(";")[0] for line in communes[1:]] == codes
        field = gpd.read_file(f"zip://{paths['shp']}!{stem}_territoire.shp")["codes_inse"].iat[0]
        if name == "CPTS Paris 13-14":
            assert field == "75113,75114" and communes[1] == "75113;Paris 13e Arrondissement;oui"
            assert "liste complète" in notice
        else:
            assert field == "voir cpts_lozere_communes.csv" and "359 caractères" in notice
        for fmt in paths:
            assert read_perimeter(france, paths[fmt]) == territory


def test_cli_export_author_in_every_document_metadata(france_dir, tmp_path):
    """``--auteur``: the porteur in the metadata of the map PDF, the pre-diagnostic, the DOCX and the XLSX, with
    cpts-geo; user text cleaned (control characters, line breaks) and kept as written (no markup, no formula)."""
    author = "=Maison de santé <b>Cabestany</b>\n\x07 & co"
    result = run_cli("export", "--codes", "66028", "--name", "Cabestany", "--auteur", author,
                     "--format", "pdf,prediag,docx,xlsx", "--out", tmp_path, data=france_dir)
    assert result.returncode == 0, result.stderr
    expected = "=Maison de santé <b>Cabestany</b> & co (cpts-geo)"
    for name in ("cabestany_carte.pdf", "cabestany_prediagnostic.pdf"):
        assert PdfReader(tmp_path / name).metadata.author == expected
    assert Document(tmp_path / "cabestany_lettre.docx").core_properties.author == expected
    assert load_workbook(tmp_path / "cabestany_tableau.xlsx").properties.creator == expected
    assert "--auteur" in run_cli("export", "--help", data=france_dir).stdout


def test_map_departement_dashes_drawn_over_the_epci_limit(france):
    """Le Barcarès: the limit of Perpignan Méditerranée Métropole runs along the Aude; the département's grey
    dashes are drawn above the wider purple EPCI line, so both show where they meet and both are in the legend."""
    import matplotlib.colors as mcolors

    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.exports.maps import DEPARTEMENT_STYLE, EPCI_COLOUR, territory_map

    fig = territory_map(france, Territory(resolve_codes(france, ["66017"]).iris, "CPTS Barcarès"))
    ax = fig.axes[0]

    def drawn(colour):
        return next(c for c in ax.collections if isinstance(c, LineCollection) and len(c.get_edgecolor())
                    and np.allclose(c.get_edgecolor()[0], mcolors.to_rgba(colour)))

    departement, epci = drawn(DEPARTEMENT_STYLE["color"]), drawn(EPCI_COLOUR)
    lines = [shapely.MultiLineString([s for s in c.get_segments() if len(s) > 1]) for c in (departement, epci)]
    assert shapely.intersection(lines[0], lines[1].buffer(5)).length > 1_000         # metres along the same limit
    assert departement.get_zorder() > epci.get_zorder()
    assert departement.get_linewidth()[0] < epci.get_linewidth()[0]                 # the purple shows on each side
    labels = legend_labels(fig)
    assert "Limite de département" in labels and any(label.startswith("Limite d'intercommunalité") for label in labels)


CAYENNE = ["97302", "97309", "97307"]     # CPTS Île de Cayenne: Cayenne, Remire-Montjoly, Matoury


def test_overseas_map_frames_the_land_and_says_communes(france):
    """Île de Cayenne: the islets of Cayenne (3 parts, up to 188 km away) are left out of the frame with a note, so
    the territory fills the map (1:175 000, not 1:1 250 000) and its three communes are named; the subtitle and the
    metadata say « 3 communes » (no IRIS overseas), the sources cite the overseas contours, not CONTOURS-IRIS."""
    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.exports.maps import map_scale, territory_map

    territory = Territory(resolve_codes(france, CAYENNE).iris, "CPTS Île de Cayenne")
    fig = territory_map(france, territory)
    ax = fig.axes[0]
    mainland = france.iris_geometry(sorted(territory.iris)).to_crs("EPSG:2972").geometry.explode()
    mainland = mainland[mainland.area > 5e6]                          # the three communes' land, islets left out
    xmin, ymin, xmax, ymax = mainland.total_bounds
    (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
    assert max((xmax - xmin) / (right - left), (ymax - ymin) / (top - bottom)) > 0.6   # was about 0.1
    assert left <= xmin and xmax <= right and bottom <= ymin and ymax <= top
    assert map_scale(ax) <= 250_000
    texts = [text.get_text() for text in ax.texts]
    assert {"Cayenne", "Matoury", "Remire-Montjoly"} <= set(texts)    # named, not numbered
    note = next(" ".join(text.split()) for text in texts if text.startswith("Hors du cadre"))
    assert note.startswith("Hors du cadre : 3 parties détachées de Cayenne (îlots, ") and "188 km" in note
    page = "\n".join(text.get_text() for text in fig.texts)
    assert "3 communes — 126\u202f910 habitants" in page and "IRIS —" not in page
    assert fig.metadata["Subject"].startswith("3 communes — ") and "CONTOURS-IRIS" not in fig.metadata["Subject"]
    assert "Contours : IGN Admin Express COG 2018 (communes d'outre-mer" in page and "CONTOURS-IRIS" not in page
    assert "Mer, étang, étranger (hors des contours des communes)" in legend_labels(fig)
    assert "Contours IRIS édition 2020" not in page and "Outre-mer : pas de découpage en IRIS" in page


def test_a_territory_of_whole_communes_keeps_its_far_zones_in_the_frame(france):
    """Framing leaves out only small far parts of a zone: a zone far from the others (a detached piece the
    contiguity check names) stays in view."""
    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.exports.maps import framed_parts

    selected = france.iris_geometry(sorted(resolve_codes(france, ["66028", "66017"]).iris)).to_crs("EPSG:2154")
    framed, note = framed_parts(selected, france.communes["nom"])
    assert note is None and len(framed) == len(selected.geometry.explode())


def test_overseas_documents_say_communes_and_cite_their_sources(france):
    """The letter (DOCX) and the pre-diagnostic of the Île de Cayenne: « communes », the overseas contours as the
    source, the ages measured by commune."""
    from cpts_geo.data.codes import resolve_codes

    exporter = TerritoryExport(france, Territory(resolve_codes(france, CAYENNE).iris, "CPTS Île de Cayenne"))
    document = Document(io.BytesIO(exporter.export("docx").data))
    paragraphs = [p.text for p in document.paragraphs]
    assert "Territoire de la CPTS Île de Cayenne : communes du territoire." in paragraphs
    assert "Contours : IGN Admin Express COG 2018 (communes d'outre-mer, simplifiées), via " \
           "gregoiredavid/france-geojson." in paragraphs
    assert not any("CONTOURS-IRIS" in p for p in paragraphs)
    assert document.core_properties.subject.startswith("Sources : IGN Admin Express COG 2018")
    picture = document.inline_shapes[0]._inline.docPr.get("descr")
    assert "3 communes (Cayenne, Matoury, Remire-Montjoly), 126\u202f910 habitants" in picture
    prediag = tables.prediagnostic(france, exporter.territory, exporter.summary)
    assert prediag.communes_only and "communes dont la population par âge est publiée" in prediag.age_caveat()
    text = page_texts(tables.prediagnostic_pages(france, exporter.summary, prediag))
    assert "3 communes, 126 910 habitants" in text and "CONTOURS-IRIS" not in text   # spaces made plain
    assert "Part de la population (communes mesurées)" in text
    assert "Outre-mer : pas de découpage en IRIS dans les données préparées" in text
    assert "Contours IRIS édition 2020" not in text and not any("Contours IRIS" in p for p in paragraphs)
    qpv_caveat = next(p for p in paragraphs if p.startswith("Quartiers prioritaires de la politique de la ville de"))
    assert qpv_caveat == tables.QPV_CAVEAT and "IRIS" not in qpv_caveat and "IRIS" not in prediag.qpv_caveat


def test_map_departement_limit_shows_inside_a_territory_on_two(france):
    """Avignon (84) with Villeneuve-lès-Avignon (30): the Gard/Vaucluse limit crosses the territory; its dashes are
    drawn over the commune limits on a white band, so that it shows on the orange fill; none on one département."""
    import matplotlib.colors as mcolors

    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.exports.maps import DEPARTEMENT_STYLE, territory_map

    def collections(fig):
        ax = fig.axes[0]
        lines = [c for c in ax.collections if isinstance(c, LineCollection) and len(c.get_edgecolor())]
        return ax, lines

    territory = Territory(resolve_codes(france, ["84007", "30351"]).iris, "CPTS Avignon")
    ax, lines = collections(territory_map(france, territory))
    band = [c for c in lines if np.allclose(c.get_edgecolor()[0], mcolors.to_rgba("white"))]
    dashes = next(c for c in lines if np.allclose(c.get_edgecolor()[0], mcolors.to_rgba(DEPARTEMENT_STYLE["color"])))
    communes = next(c for c in lines if np.allclose(c.get_edgecolor()[0], mcolors.to_rgba("#4d4d4d")))
    assert len(band) == 1 and communes.get_zorder() < band[0].get_zorder() < dashes.get_zorder()
    assert band[0].get_linewidth()[0] > 2 * dashes.get_linewidth()[0]
    inside = france.iris_geometry(sorted(territory.iris)).to_crs("EPSG:2154").union_all().buffer(-50)
    drawn = shapely.MultiLineString([segment for segment in band[0].get_segments() if len(segment) > 1])
    assert drawn.intersection(inside).length > 3_000                 # metres of the limit inside the territory
    dashed = shapely.MultiLineString([segment for segment in dashes.get_segments() if len(segment) > 1])
    assert dashed.intersection(drawn.buffer(1)).length >= 0.99 * drawn.length   # the dashes run along the band
    _, alone = collections(territory_map(france, Territory(resolve_codes(france, ["66028"]).iris, "Cabestany")))
    assert not any(np.allclose(c.get_edgecolor()[0], mcolors.to_rgba("white")) for c in alone)


def table_cells_overflowing(pages) -> list[str]:
    """Texts of the table cells of ``pages`` (figures) that reach their cell's border (less than 2 px of 100 dpi)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    overflowing = []
    for page in pages:
        canvas = FigureCanvasAgg(page)
        canvas.draw()
        renderer = canvas.get_renderer()
        for table in (table for ax in page.axes for table in ax.tables):
            for cell in table.get_celld().values():
                text, box = cell.get_text().get_window_extent(renderer), cell.get_window_extent(renderer)
                if text.x0 < box.x0 + 2 or text.x1 > box.x1 - 2 or text.y0 < box.y0 or text.y1 > box.y1:
                    overflowing.append(cell.get_text().get_text())
    return overflowing


def test_prediagnostic_table_cells_fit_their_columns(france, ruscino):
    """Marseille 1er (6 IRIS) and Ruscino: every cell of every table inside its border on the rendered pages, no
    value cut (« … »): columns fitted to their content, long values wrapped."""
    iris = sorted(code for code in france.iris.index if code.startswith("13201"))[:6]
    for territory in (Territory(frozenset(iris), "CPTS Marseille Centre"), ruscino):
        exporter = TerritoryExport(france, territory)
        pages = tables.prediagnostic_pages(france, exporter.summary, tables.prediagnostic(
            france, territory, exporter.summary))
        texts = [cell.get_text().get_text() for page in pages for ax in page.axes for table in ax.tables
                 for cell in table.get_celld().values()]
        assert table_cells_overflowing(pages) == [] and not any("…" in text for text in texts)
        if territory is ruscino:                     # the longest name hint, whole on three lines
            assert ("hors (Bas Vernet Est 1, Bas Vernet Est 2, Bas Vernet Est 3, Bas Vernet Ouest 1, Bas Vernet "
                    "Ouest 2, Bas Vernet Ouest 3, Bas Vernet Ouest4)") in [" ".join(t.split()) for t in texts]
        else:
            assert "104\u202f302 (6 communes)" in texts


def test_prediagnostic_offer_lists_every_establishment(france_dir, tmp_path):
    """Perpignan whole: the offer of care continues on further pages, the header of each table repeated, until
    every establishment of ``summary --json`` is listed (their FINESS numbers all in the PDF)."""
    summary = run_cli("summary", "--codes", "66136", "--name", "Perpignan", "--json", data=france_dir)
    establishments = json.loads(summary.stdout)["offer"]["establishments"]
    exported = run_cli("export", "--codes", "66136", "--name", "Perpignan", "--format", "prediag", "--out",
                       tmp_path, data=france_dir)
    assert exported.returncode == 0, exported.stderr
    pages = assert_a4((tmp_path / "perpignan_prediagnostic.pdf").read_bytes(), A4_POINTS, pages=None).split("\f")
    offer = pages[next(n for n, page in enumerate(pages) if "Offre de soins — Perpignan" in page):]
    text = "\n".join(offer)
    assert len(establishments) == 148 and f"Établissements (FINESS) : {len(establishments)}" in text
    assert all(e["finess"] in text for e in establishments)
    listing = [page for page in offer if any(e["finess"] in page for e in establishments)]
    assert len(listing) >= 3 and all("FINESS" in page and "Commune" in page for page in listing)
    assert all("(suite, page" in page for page in offer[1:]) and "voir le document Word" not in text


def test_docx_read_in_libreoffice_keeps_codes_whole(france, ruscino, tmp_path, libreoffice):
    """The DOCX as a reader's office suite lays it out (LibreOffice → PDF → text): every code on one line (IRIS,
    commune, FINESS, the « FINESS » header), Perpignan's postal codes « à confirmer »; rows never split across
    pages, header rows repeated, French styles, the map within the page."""
    exporter = TerritoryExport(france, ruscino)                        # no --postal: Perpignan has two codes
    path = tmp_path / "lettre.docx"
    path.write_bytes(exporter.export("docx").data)
    text = pdf_layout_text(libreoffice(path, "pdf"))
    prediag = tables.prediagnostic(france, exporter.territory, exporter.summary)
    groups = [rows for _, rows in establishment_groups(prediag.offer)]
    finess = [code for rows in groups for code in rows["FINESS"]]
    codes = [*exporter.table["CODE INSEE"], *filter(None, exporter.table["CODE IRIS"]), *finess,
             *(code for rows in groups for code in rows["IRIS"])]
    assert len(finess) > 30 and [code for code in codes if not re.search(rf"(?<!\d){code}(?!\d)", text)] == []
    assert re.search(r"Nom +FINESS +Commune +IRIS", text) and "CODE INSEE" not in text     # its header wraps whole
    assert re.search(r"CODE\s+CODE\n\s+INSEE\s+IRIS", text)
    assert text.count("66000, 66100 (à confirmer)") == 10 and "Codes postaux à confirmer : Perpignan" in text
    document = Document(io.BytesIO(path.read_bytes()))
    rows = [row for table in document.tables for row in table.rows]
    assert len(rows) > 90 and all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in rows)
    assert all(table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None for table in document.tables)
    languages = {element.get(qn("w:val")) for element in document.styles.element.iter(qn("w:lang"))}
    assert languages == {"fr-FR"}
    picture = document.inline_shapes[0]
    assert round(picture.width.cm, 1) == 17.0 and picture.height.cm <= 29.7 - 2 * 2 - 1.5   # a page, a heading


def test_territory_in_pieces_far_apart_is_framed_on_each_piece(france_dir, france, tmp_path):
    """Mende and Brest (issue 20): a frame per piece at its own scale, not half of France in one frame (8.3 s drawn,
    6.9 s written and 23.7 MB before); written by the command line in seconds, a PDF under 3 MB that says the
    territory fails."""
    import time

    from cpts_geo.data.codes import resolve_codes
    from cpts_geo.exports.maps import far_apart_groups, map_scale

    island = france.commune_geometry(["29019", "29155"]).to_crs("EPSG:2154").geometry       # Brest and Ouessant
    assert len(shapely.get_parts(island.union_all())) == 2 and len(far_apart_groups(island.union_all())) == 1
    territory = Territory(resolve_codes(france, ["48095", "29019"]).iris, "Mende et Brest")
    fig = TerritoryExport(france, territory).map_figure()
    panels = {ax.get_title(loc="left"): ax for ax in fig.axes}
    assert sorted(panels) == ["Morceau 1 : Brest", "Morceau 2 : Mende"]
    for title, ax in panels.items():
        code = "29019" if "Brest" in title else "48095"
        piece = france.commune_geometry([code]).to_crs("EPSG:2154").geometry.iat[0]
        (xmin, xmax), (ymin, ymax) = ax.get_xlim(), ax.get_ylim()
        assert shapely.box(xmin, ymin, xmax, ymax).contains(piece)                     # the whole piece in view
        assert xmax - xmin < 4 * (piece.bounds[2] - piece.bounds[0]) and map_scale(ax) <= 200_000
    start = time.perf_counter()
    result = run_cli("export", "--codes", "48095,29019", "--name", "Mende et Brest", "--format", "pdf",
                     "--out", tmp_path, data=france_dir)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - start < 30          # loading the data included; 15 s before on the map alone
    pdf = (tmp_path / "mende_et_brest_carte.pdf").read_bytes()
    assert len(pdf) < 3_000_000
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Territoire non conforme" in text and "Morceau 1 : Brest" in text
