"""Exports of the Ruscino perimeter, opened with the libraries a user would use."""

import io
import json
import zipfile

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
from docx import Document
from docx.oxml.ns import qn
from openpyxl import load_workbook
from pypdf import PdfReader

from cpts_geo.commands.summary import load_others
from cpts_geo.errors import InputError
from cpts_geo.exports import tables
from cpts_geo.exports.files import FORMATS, TerritoryExport, file_stem
from cpts_geo.exports.perimeter import read_perimeter
from cpts_geo.territory import Territory
from tests.test_cli import run_cli
from tests.conftest import RUSCINO_CODES

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


def test_xlsx_letter_table(files):
    sheet = load_workbook(files["xlsx"])["Délimitation"]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[2] == ("COMMUNES / QUARTIERS", "CODE POSTAL", "CODE INSEE")
    assert rows[3] == ("Ouest (660280101) - Cabestany", "66330", "(660280101)")   # text cells: no negative number
    assert {sheet.cell(4, column).number_format for column in (2, 3)} == {"@"}
    table = rows[3:3 + 16]
    assert len(table) == 16 and table[-1] == ("Saleilles", "66280", "66189")
    footer = {r[0]: r[1] for r in rows[3 + 16:] if r[0]}
    assert footer["Nombre de communes"] == "4 (dont 1 en partie)"
    assert footer["Population"].startswith("48\u202f454 habitants")
    assert footer["Taille de la CPTS"].startswith("2 ")
    sources = [r[0] for r in load_workbook(files["xlsx"])["Sources"].iter_rows(values_only=True)]
    assert any("14 m" in s for s in sources)


def test_csv_is_the_letter_csv(files):
    lines = files["csv"].read_bytes().decode("utf-8-sig").splitlines()
    assert lines[1] == "Ouest (660280101) - Cabestany;66330;660280101"


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
    assert ages.rows[0].cells[0].text == "Tranche d'âge" and ages.rows[1].cells[0].text == "0 à 14 ans"
    qpv = document.tables[2]
    assert len(qpv.rows) == 10 and "Perpignan" in qpv.rows[1].cells[2].text
    assert "génération 2015" in text and "14 m" in text


def test_a_qpv_over_several_communes_is_one_row(france):
    from cpts_geo.codes import resolve_codes
    from cpts_geo.territory import summarize

    territory = Territory(resolve_codes(france, ["13201", "13202", "13203"]).iris, "Centre de Marseille")
    qpv = tables.prediagnostic(france, territory, summarize(france, territory)).qpv
    assert qpv["code_qp"].is_unique
    assert qpv.set_index("code_qp").at["QP013032", "code_insee"] == "13201,13202,13203"


def test_prediagnostic_pdf(files):
    population, offer = assert_a4(files["prediag"].read_bytes(), A4_POINTS, pages=2).split("\f")
    assert "Pré-diagnostic" in population and "QP066003" in population and "75 ans et plus" in population
    lines = offer.splitlines()
    # Ruscino: Cabestany, Saint-Nazaire and Saleilles counted exactly, Perpignan's part estimated (test_offer).
    assert "Médecins généralistes 72,0 oui 14,9 10,2 n.d. n.d." in lines
    assert "APL médecins généralistes 2023 du territoire 4,80" in lines and "Seuil usuel de la zone « sous-dense » 2,5" in lines
    assert "soins de ville Maison de santé 2" in lines and "soins de ville Pharmacie 18" in lines
    assert "Cabestany (66028) 4,80 sur-dotée" in lines
    assert "n.d. : non disponible dans les données préparées." in offer and "BPE 2025" in offer


def test_docx_offer_of_care_section(france):
    """Cabestany alone: counts of the BPE 2025 exactly, its two maisons de santé, APL 4.797, nurse zoning."""
    from cpts_geo.codes import resolve_codes

    cabestany = TerritoryExport(france, Territory(resolve_codes(france, ["66028"]).iris, "Cabestany"))
    document = Document(io.BytesIO(cabestany.export("docx").data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[headings.index("Pré-diagnostic : offre de soins"):][:4] == [
        "Pré-diagnostic : offre de soins", "Professionnels de santé libéraux",
        "Accessibilité aux médecins généralistes (APL)", "Établissements (FINESS)"]
    rows = {t.rows[0].cells[0].text: [[c.text for c in r.cells] for r in t.rows[1:]] for t in document.tables}
    professionals = {row[0]: row for row in rows["Professionnels"]}
    assert professionals["Médecins généralistes"][:4] == ["Médecins généralistes", "31", "non", "29,6"]
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


def assert_a4(pdf: bytes, size: tuple[int, int], pages: int = 1) -> str:
    """The text of the pages of ``pdf`` (separated by form feeds), after checking that they are A4 (``size``
    in points)."""
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == pages
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


def test_docx_holds_the_map(map_files):
    document = Document(io.BytesIO(map_files["docx"]))
    assert len(document.inline_shapes) == 2          # the map and the age chart


def test_coverage_print_map(france):
    from cpts_geo.coverage import area_of, coverage_report
    from cpts_geo.exports.maps import coverage_map, save_figure
    from cpts_geo.registry import read_registry

    registry = read_registry(france, REGISTRY)
    report = coverage_report(france, registry.cpts, area_of(france, None, "66"))
    text = assert_a4(save_figure(coverage_map(france, registry.cpts, report), "pdf"), A4_POINTS[::-1])
    assert "Pyrénées-Orientales" in text and "CPTS Ruscino" in text and "Zone blanche" in text


def test_an_invalid_territory_says_so_on_every_document(france):
    from cpts_geo.codes import resolve_codes

    territory = Territory(resolve_codes(france, ["84007", "84031"]).iris, "CPTS en deux morceaux")
    exporter = TerritoryExport(france, territory)
    alert = ("Territoire non conforme : Le territoire est en 2 morceaux sans frontière commune. Morceaux détachés du "
             "principal : Carpentras (84031).")
    assert exporter.alerts == [alert]
    csv_lines = exporter.export("csv").data.decode("utf-8-sig").splitlines()
    assert f"Attention;{alert};" in csv_lines
    sheet = load_workbook(io.BytesIO(exporter.export("xlsx").data))["Délimitation"]
    assert sheet["A2"].value == alert and sheet["A2"].font.color.rgb.endswith("C00000")
    document = Document(io.BytesIO(exporter.export("docx").data))
    assert document.paragraphs[1].text == f"Attention — {alert}"
    for fmt in ("pdf", "prediag"):
        text = " ".join(PdfReader(io.BytesIO(exporter.export(fmt).data)).pages[0].extract_text().split())
        assert "Territoire non conforme : Le territoire est en 2 morceaux" in text and "Carpentras (84031)" in text
    assert TerritoryExport(france, Territory(resolve_codes(france, ["84007"]).iris, "Avignon")).alerts == []


def test_whole_communes_are_one_row_and_docx_headers_repeat(france, france_dir):
    from cpts_geo.codes import resolve_codes

    paris = Territory(resolve_codes(france, ["75113", "75114"]).iris, "CPTS Paris 13-14")
    exporter = TerritoryExport(france, paris)
    assert exporter.table.values.tolist() == [["Paris 13e Arrondissement", "75013", "75113"],
                                              ["Paris 14e Arrondissement", "75014", "75114"]]
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
    from cpts_geo.registry import read_registry

    imported = read_registry(france, files[fmt])
    assert imported.cpts == {"CPTS Ruscino": ruscino.iris} and imported.ignored.empty


def test_gis_files_keep_integers_multipolygons_and_every_commune_code(france, tmp_path):
    """Paris 13e + 14e, and 60 communes of Lozère whose codes (359 characters) do not fit a dBASE field."""
    from cpts_geo.codes import resolve_codes

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
