"""A sweep over the départements rather than examples: in each, a territory made of its most populated commune
(less one IRIS when it has several, so that it is split) and its adjacent communes of the same département; its
summary JSON (as ``summary --json`` prints it), letter table (CSV and XLSX), pre-diagnostic pages and printed
map (figure, then PNG) must agree with each other and with the real data:

* the map frames the territory (its bounds inside the drawn extent, filling at least 60 % of it across or up);
* every figure is the sum of its parts: population = whole communes' populations + the IRIS populations of the
  split ones, each commune's IRIS adding up to the commune; communes = rows of whole communes + distinct split
  communes of the letter table; the same population on the table, the map and the pre-diagnostic;
* a source that does not cover the département (BPE outside 66 and 11, FINESS outside Occitanie) is « non
  disponible », never 0;
* codes intact in every table (5-character INSEE codes with their leading zero, 9-character IRIS codes);
* the PNG map under 3 MB.

By default a sample of 20 départements (2A, 2B, 75, 13, 69, 59, the five overseas, and 01, 05, 11, 29, 31, 48, 66,
67, 93); ``CPTS_GEO_SWEEP=all`` sweeps all 101. Measured alone on 2 cores shared with other jobs (load average
3–7), the all-France bundle built by the session (about 10 s of it): the sample in 56 s, all 101 in 5 min 4 s.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re

import matplotlib.text
import pytest
from openpyxl import load_workbook

from cpts_geo.data.codes import resolve_codes
from cpts_geo.commands.summary import summary_payload
from cpts_geo.exports import tables
from cpts_geo.exports.files import TerritoryExport
from cpts_geo.territory import offer as offer_module
from cpts_geo.exports.maps import framed_parts, save_figure
from cpts_geo.exports.perimeter import metric_crs
from cpts_geo.exports.sheets import TEXT_MARK
from cpts_geo.data.reference import departements_table
from cpts_geo.territory.model import Territory

OVERSEAS = ["971", "972", "973", "974", "976"]
ALWAYS = ["2A", "2B", "75", "13", "69", "59", *OVERSEAS]
SAMPLE = [*ALWAYS, "01", "05", "11", "29", "31", "48", "66", "67", "93"]
ALL = os.environ.get("CPTS_GEO_SWEEP") == "all"
#: what the real data cover (data README): professionals of the BPE in two départements, FINESS in one région
BPE_DEPARTEMENTS = {"66", "11"}
FINESS_REGION = "76"
INSEE_CODE = re.compile(r"(\d{5}|2[AB]\d{3})")
IRIS_CODE = re.compile(r"(\d{9}|2[AB]\d{7})")
MAX_PNG_BYTES = 3_000_000
NOT_AVAILABLE = "non disponible"


def departements() -> list[str]:
    """The départements swept: the sample, or all 101 with ``CPTS_GEO_SWEEP=all``."""
    table = departements_table()
    metropolitan_and_overseas = table[table["code_departement"].str.fullmatch(r"\d\d|2[AB]|97[1-46]")]
    return sorted(metropolitan_and_overseas["code_departement"]) if ALL else SAMPLE


def test_the_sweep_covers_every_departement_of_the_bundle(france):
    assert len(departements()) == (101 if ALL else 20) and set(ALWAYS) <= set(departements())
    assert set(departements()) <= set(france.departements["code_departement"])
    assert len(france.departements) == 101


def sweep_codes(bundle, departement: str) -> list[str]:
    """The most populated commune of the département (its IRIS but the last, when it has several) and the
    communes adjacent to it in the same département, as codes a user would give."""
    communes = bundle.communes[bundle.communes["departement"] == departement]
    centre = communes["population"].idxmax()
    around = sorted(c for c in bundle.commune_graph.neighbours(centre) if c in communes.index)
    centre_iris = bundle.iris_by_commune[centre]
    return [*(centre_iris[:-1] if len(centre_iris) > 1 else [centre]), *around]


@pytest.fixture(scope="module")
def cases(france):
    """Département → its exports (the pre-diagnostic as the texts of its pages), computed once for the tests of
    this module."""
    computed = {}

    def case(departement: str) -> dict:
        if departement not in computed:
            report = resolve_codes(france, sweep_codes(france, departement))
            assert report.ok, report.message()
            territory = Territory(report.iris, f"CPTS sweep {departement}")
            payload, _ = summary_payload(france, territory, {}, report, {}, detailed=False)
            export = TerritoryExport(france, territory)
            computed[departement] = {
                "territory": territory, "export": export,
                "json": json.loads(json.dumps(payload, ensure_ascii=False)),
                "csv": export.export("csv").data, "xlsx": export.export("xlsx").data,
                "prediag": [plain(text) for text in figure_texts(tables.prediagnostic_pages(
                    france, export.summary, tables.prediagnostic(france, territory, export.summary)))]}
        return computed[departement]

    return case


def figure_texts(figures) -> list[str]:
    """Every text drawn on some figures (titles, table cells, legends)."""
    return [artist.get_text() for fig in figures for artist in fig.findobj(matplotlib.text.Text) if artist.get_text()]


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\u00a0", " ")


def letter_rows_from_csv(data: bytes) -> tuple[list[list[str]], dict[str, str]]:
    """The table rows (codes without their text mark) and the footer (label → value) of a letter CSV."""
    lines = [[cell.removeprefix(TEXT_MARK) for cell in line]
             for line in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")]
    blank = next(n for n, line in enumerate(lines) if not any(line))
    return lines[1:blank], {line[0]: line[1] for line in lines[blank + 1:]}


@pytest.mark.parametrize("departement", departements())
def test_sweep_figures_add_up(france, cases, departement):
    case = cases(departement)
    payload, territory = case["json"], case["territory"]
    communes = payload["communes"]
    assert {c["departement"] for c in communes} == {departement}
    iris_population = france.iris["population"]
    for commune in communes:
        all_iris = france.iris_by_commune[commune["code"]]
        assert iris_population.loc[list(all_iris)].sum() == pytest.approx(
            france.communes.at[commune["code"], "population"], abs=1)
        expected = (france.communes.at[commune["code"], "population"] if commune["whole"]
                    else iris_population.loc[commune["iris"]].sum())
        assert commune["population"] == round(expected)
    assert payload["population"]["value"] == pytest.approx(sum(c["population"] for c in communes), abs=len(communes))
    assert payload["population"]["value"] == round(iris_population.loc[sorted(territory.iris)].sum())
    assert payload["iris_count"] == len(territory.iris) == sum(len(c["iris"]) for c in communes)
    population = payload["population"]["value"]
    assert payload["taille"]["number"] == (1 if population < 40_000 else 2 if population < 80_000
                                           else 3 if population <= 175_000 else 4)
    centre_split = [c for c in communes if not c["whole"]]
    assert len(centre_split) == (0 if departement in OVERSEAS else 1)      # overseas: one IRIS per commune

    rows = payload["letter_table"]
    whole_rows = [r for r in rows if not r["CODE IRIS"]]
    split_communes = {r["CODE INSEE"] for r in rows if r["CODE IRIS"]}
    assert len(whole_rows) + len(split_communes) == payload["commune_count"] == len(communes)
    csv_rows, footer = letter_rows_from_csv(case["csv"])
    assert csv_rows == [list(r.values()) for r in rows]
    split_text = f" (dont {len(centre_split)} en partie)" if centre_split else ""
    assert footer["Nombre de communes"] == f"{len(communes)}{split_text}"
    shown_population = f"{population:,}".replace(",", " ")
    assert plain(footer["Population"]).startswith(f"{shown_population} habitants")
    assert footer["Taille de la CPTS"].startswith(f"{payload['taille']['number']} ")

    sheet = load_workbook(io.BytesIO(case["xlsx"]))["Délimitation"]
    xlsx_rows = [list(row) for row in sheet.iter_rows(min_row=4, max_row=3 + len(csv_rows), values_only=True)]
    assert [[cell or "" for cell in row] for row in xlsx_rows] == csv_rows
    for _, postal, insee, iris in csv_rows:
        assert INSEE_CODE.fullmatch(insee) and insee.startswith(departement if len(departement) == 3
                                                                  else departement[:2]), insee
        # an IRIS keeps the code of the 2020 contours: 930590101 of Pierrefitte-sur-Seine is in Saint-Denis (93066)
        assert iris == "" or (IRIS_CODE.fullmatch(iris) and france.commune_of_iris[iris] == insee), iris
        assert all(re.fullmatch(r"\d{5}", code) for code in re.findall(r"\d+", postal)), postal

    prediag = case["prediag"]
    assert any(f"{shown_population} habitants" in text for text in prediag)
    offer = payload["offer"]
    if departement in BPE_DEPARTEMENTS:
        for professional in offer["professionals"]:
            assert professional["per_10000"] == pytest.approx(professional["count"] / population * 1e4, abs=0.01)
    if france.communes.at[communes[0]["code"], "region"] == FINESS_REGION:
        establishments = offer["establishments"]
        assert establishments and {e["iris"] for e in establishments} <= territory.iris
        assert f"Établissements (FINESS) : {len(establishments)}" in prediag


@pytest.mark.parametrize("departement", departements())
def test_sweep_map_frames_the_territory(france, cases, departement):
    case = cases(departement)
    export = case["export"]
    fig = export.map_figure()
    ax = fig.axes[0]
    zones = france.iris_geometry(sorted(case["territory"].iris)).to_crs(metric_crs(export.summary))
    framed, far_note = framed_parts(zones, france.communes["nom"])     # far islets (Cayenne) left out, noted
    xmin, ymin, xmax, ymax = framed.total_bounds
    (left, right), (bottom, top) = ax.get_xlim(), ax.get_ylim()
    assert left < xmin and xmax < right and bottom < ymin and ymax < top
    assert max((xmax - xmin) / (right - left), (ymax - ymin) / (top - bottom)) >= 0.6
    population = f"{case['json']['population']['value']:,}".replace(",", " ")
    assert any(f"{population} habitants" in plain(text) for text in figure_texts([fig]))
    assert far_note is None or any(plain(far_note)[:40] in plain(text) for text in figure_texts([fig]))
    png = save_figure(fig, "png")
    assert png.startswith(b"\x89PNG") and len(png) < MAX_PNG_BYTES


@pytest.mark.parametrize("departement", departements())
def test_sweep_a_source_that_does_not_cover_the_departement_is_not_zero(france, cases, departement):
    """BPE outside 66 and 11, FINESS outside Occitanie: « non disponible » in the summary JSON (``offer``) and the
    pre-diagnostic, never a count of 0."""
    case = cases(departement)
    offer = case["json"]["offer"]
    prediag = case["prediag"]
    counts = [p["count"] for p in offer["professionals"]]
    if departement in BPE_DEPARTEMENTS:
        assert all(isinstance(count, (int, float)) for count in counts) and max(counts) > 0
    else:
        assert counts and all(count is None for count in counts)
        assert any(limit.startswith(f"Professionnels de santé (BPE) : {NOT_AVAILABLE}") for limit in offer["limits"])
    if france.communes.at[case["json"]["communes"][0]["code"], "region"] != FINESS_REGION:
        # the JSON says the FINESS does not cover the territory (its empty list is no count)
        assert offer["coverage"]["establishments"] == offer_module.NOT_AVAILABLE and offer["establishments"] == []
        assert not any(re.search(r"Établissements \(FINESS\) : 0\b", text) for text in prediag)
        assert any(re.search(rf"Établissements \(FINESS\) : {NOT_AVAILABLE}", text) for text in prediag)
    apl = offer["apl"]
    assert apl["value"] is None or apl["value"] > 0
