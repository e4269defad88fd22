"""The letter table and the pre-diagnostic as XLSX, DOCX and PDF documents."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import date

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from docx import Document  # noqa: E402
from docx.oxml import OxmlElement  # noqa: E402
from docx.shared import Cm, Pt, RGBColor  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.ticker import FuncFormatter, MultipleLocator  # noqa: E402
from openpyxl import Workbook  # noqa: E402
from openpyxl.styles import Alignment, Font, PatternFill  # noqa: E402

from cpts_geo.formatting import fr_int, fr_percent  # noqa: E402
from cpts_geo.funding import TAILLE_BANDS  # noqa: E402
from cpts_geo.letter import COLUMNS, letter_footer  # noqa: E402
from cpts_geo.offer import (ND_NOTE, apl_table, communes_offer_table, establishment_counts,  # noqa: E402
                            establishment_groups, professionals_table, territory_offer)
from cpts_geo.reference import departements_table  # noqa: E402
from cpts_geo.territory import AGE_BANDS_DETAIL, AgeStructure, Summary, Territory, age_structure  # noqa: E402
from cpts_geo.user_text import spreadsheet_cell  # noqa: E402

A4_PORTRAIT_IN = (8.27, 11.69)
A4_CM = (Cm(21), Cm(29.7))
QPV_ROWS_ON_PDF = 12  # more would run into the footer; the DOCX lists them all
ALERT_COLOUR = "C00000"
QPV_CAVEAT = ("Quartiers prioritaires de la politique de la ville de la génération 2015 (décret 2014-1750), "
              "population du quartier entier ; pour une commune découpée, vérifier que le quartier est dans "
              "les IRIS retenus.")


@dataclass(frozen=True)
class Prediagnostic:
    """Age bands of the territory against its département and région, the QPV of its communes, its offer of care."""

    ages: AgeStructure
    qpv: pd.DataFrame          # one row per QPV: code_qp, nom_qp, commune, code_insee, pop_qpv, commune_entiere
    offer: dict                # TerritoryOffer.as_dict()

    def area_names(self) -> tuple[str, str]:
        """Names of the département and the région compared: ``Pyrénées-Orientales (66)``, ``Occitanie``."""
        table = departements_table().set_index("code_departement")
        if self.ages.departement not in table.index:
            return f"Département {self.ages.departement}", f"Région {self.ages.region}"
        row = table.loc[self.ages.departement]
        return f"{row['nom_departement']} ({self.ages.departement})", row["nom_region"]

    def age_table(self) -> pd.DataFrame:
        """Age bands as a table of French percentages."""
        return pd.DataFrame([(row["label"], fr_percent(row["territory"]), fr_percent(row["departement"]),
                              fr_percent(row["region"])) for row in self.ages.rows],
                            columns=["Tranche d'âge", "Territoire", *self.area_names()])


def prediagnostic(bundle, territory: Territory, summary: Summary) -> Prediagnostic:
    """The pre-diagnostic of a territory (age bands, QPV, offer of care)."""
    ages = age_structure(bundle, territory, summary.age.departement, AGE_BANDS_DETAIL)
    whole = {p.code_insee: p.whole for p in summary.communes}
    qpv = bundle.qpv[bundle.qpv["code_insee"].isin(whole)]
    qpv = qpv.assign(commune=qpv["code_insee"].map(bundle.communes["nom"]),
                     commune_entiere=qpv["code_insee"].map(whole))
    by_quartier = qpv.groupby("code_qp", sort=True).agg(  # a QPV over several communes is one row
        nom_qp=("nom_qp", "first"), commune=("commune", ", ".join), code_insee=("code_insee", ",".join),
        pop_qpv=("pop_qpv", "first"), commune_entiere=("commune_entiere", "all"))
    return Prediagnostic(ages, by_quartier.reset_index(), territory_offer(bundle, territory.iris).as_dict())


def age_chart(prediag: Prediagnostic, ax) -> None:
    """Grouped horizontal bars of the age bands (hatched, readable in black and white)."""
    rows = prediag.ages.rows
    labels = [row["label"] for row in rows]
    departement, region = prediag.area_names()
    series = (("territory", "Territoire", "#c8553d", ""), ("departement", departement, "#8d99ae", "//"),
              ("region", region, "#edf2f4", ".."))
    height = 0.27
    for offset, (key, name, colour, hatch) in enumerate(series):
        values = [100 * (row[key] or 0) for row in rows]
        ax.barh([i + (offset - 1) * height for i in range(len(rows))], values, height=height, color=colour,
                hatch=hatch, edgecolor="black", linewidth=0.5, label=name)
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel("Part de la population (IRIS mesurés)")
    ax.xaxis.set_major_locator(MultipleLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} %"))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=3, fontsize=8, frameon=False)
    ax.grid(axis="x", linewidth=0.3)


def age_chart_png(prediag: Prediagnostic, dpi: int = 150) -> bytes:
    """The age chart alone, as PNG (for the DOCX)."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    age_chart(prediag, ax)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()


def _sources_lines(bundle) -> list[str]:
    meta = bundle.meta
    return [f"Contours : {meta.get('iris_source', '')}.", f"Population : {meta.get('population_source', '')}.",
            f"Âges : {meta.get('iris_population_source', '')}.", *meta.get("limits", [])]


def letter_xlsx(bundle, summary: Summary, table: pd.DataFrame, alerts: list[str] = ()) -> bytes:
    """The letter table in an Excel workbook: sheet « Délimitation » (table and footer) and « Sources ».

    ``alerts`` (checks the territory fails) are in red on the line under the title.
    """
    book = Workbook()
    sheet = book.active
    sheet.title = "Délimitation"
    sheet.append([spreadsheet_cell(f"Délimitation géographique — {summary.name}".strip(" —"))])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([spreadsheet_cell(" ".join(alerts))] if alerts else [])
    sheet["A2"].font = Font(bold=True, color=ALERT_COLOUR)
    sheet.append(COLUMNS)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDDDDD")
    for row in table.itertuples(index=False):
        sheet.append([spreadsheet_cell(value) for value in row])
        for cell in sheet[sheet.max_row][1:]:  # codes stay text: « (660280101) » is no negative number
            cell.number_format = "@"
    sheet.append([])
    for label, value in letter_footer(summary):
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    for column, width in zip("ABC", (55, 16, 16)):
        sheet.column_dimensions[column].width = width
    sources = book.create_sheet("Sources")
    for line in _sources_lines(bundle):
        sources.append([line])
        sources.cell(sources.max_row, 1).alignment = Alignment(wrap_text=True)
    sources.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _docx_table(document, frame: pd.DataFrame) -> None:
    table = document.add_table(rows=1, cols=len(frame.columns))
    table.style = "Table Grid"
    for cell, name in zip(table.rows[0].cells, frame.columns):
        cell.text = str(name)
        cell.paragraphs[0].runs[0].bold = True
    header = table.rows[0]._tr.get_or_add_trPr()  # the header row is repeated on each page
    header.append(OxmlElement("w:tblHeader"))
    for values in frame.itertuples(index=False):
        for cell, value in zip(table.add_row().cells, values):
            cell.text = str(value)


def _docx_alerts(document, alerts: list[str]) -> None:
    """The checks the territory fails, in bold red."""
    for alert in alerts:
        run = document.add_paragraph().add_run(f"Attention — {alert}")
        run.bold = True
        run.font.color.rgb = RGBColor.from_string(ALERT_COLOUR)


def letter_docx(bundle, summary: Summary, table: pd.DataFrame, prediag: Prediagnostic,
                map_png: bytes | None = None, alerts: list[str] = ()) -> bytes:
    """A Word section « Délimitation géographique » ready to paste in the ARS template, and the pre-diagnostic.

    ``alerts`` (checks the territory fails) are in red under the heading.
    """
    document = Document()
    page = document.sections[0]  # python-docx starts from US Letter
    page.page_width, page.page_height = A4_CM
    page.left_margin = page.right_margin = page.top_margin = page.bottom_margin = Cm(2)
    document.styles["Normal"].font.size = Pt(10)
    document.add_heading("Délimitation géographique", level=1)
    _docx_alerts(document, alerts)
    document.add_paragraph(f"Territoire de la {summary.name or 'CPTS'} : communes et quartiers (IRIS) couverts.")
    _docx_table(document, table)
    for label, value in letter_footer(summary)[:2]:
        document.add_paragraph().add_run(f"{label} : ").bold = True
        document.paragraphs[-1].add_run(value)
    document.add_paragraph(summary.population.method).runs[0].italic = True
    document.add_paragraph().add_run("Taille de la CPTS :").bold = True
    for number, label, _, _ in TAILLE_BANDS:
        mark = "☒" if number == summary.taille.number else "☐"
        document.add_paragraph(f"{mark} Taille {number} : {label}")
    if map_png:
        document.add_picture(io.BytesIO(map_png), width=Cm(16))
    document.add_heading("Pré-diagnostic : population", level=1)
    document.add_paragraph(prediag.ages.note)
    _docx_table(document, prediag.age_table())
    document.add_picture(io.BytesIO(age_chart_png(prediag)), width=Cm(15))
    document.add_heading("Quartiers prioritaires de la politique de la ville", level=2)
    if prediag.qpv.empty:
        document.add_paragraph("Aucun QPV (liste 2015) dans les communes du territoire.")
    else:
        _docx_table(document, qpv_table(prediag))
    document.add_paragraph(QPV_CAVEAT).runs[0].italic = True
    _docx_offer(document, prediag.offer)
    document.add_heading("Sources et limites des données", level=2)
    for line in [*_sources_lines(bundle), f"Document produit par cpts-geo le {date.today():%d/%m/%Y}."]:
        document.add_paragraph(line, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_offer(document, offer: dict) -> None:
    """Section « Offre de soins »: professionals, APL, establishments by group, communes, sources and limits."""
    document.add_heading("Pré-diagnostic : offre de soins", level=1)
    document.add_heading("Professionnels de santé libéraux", level=2)
    _docx_table(document, professionals_table(offer))
    document.add_paragraph(ND_NOTE).runs[0].italic = True
    document.add_heading("Accessibilité aux médecins généralistes (APL)", level=2)
    _docx_table(document, apl_table(offer))
    document.add_heading("Établissements (FINESS)", level=2)
    groups = establishment_groups(offer)
    if not groups:
        document.add_paragraph("Aucun établissement FINESS localisé dans le territoire (ou source non disponible : "
                               "voir les limites).")
    for title, rows in groups:
        document.add_heading(title, level=3)
        _docx_table(document, rows)
    document.add_heading("APL et zonage infirmier des communes", level=2)
    _docx_table(document, communes_offer_table(offer))
    document.add_heading("Sources, millésimes et limites de l'offre de soins", level=2)
    for line in offer["limits"]:
        document.add_paragraph(line, style="List Bullet")


def qpv_table(prediag: Prediagnostic) -> pd.DataFrame:
    """The QPV of the territory's communes as a French table."""
    qpv = prediag.qpv
    return pd.DataFrame({"Code": qpv["code_qp"], "Quartier": qpv["nom_qp"], "Commune": qpv["commune"],
                         "Population": [fr_int(p) for p in qpv["pop_qpv"]],
                         "Commune retenue": ["entière" if w else "en partie : à vérifier"
                                             for w in qpv["commune_entiere"]]})


def prediagnostic_pdf(bundle, summary: Summary, prediag: Prediagnostic, alerts: list[str] = ()) -> bytes:
    """Two A4 pages: the checks the territory fails (in red), the age table and chart, the QPV, the sources;
    then the offer of care (:func:`offer_page`)."""
    plt.rcParams["pdf.fonttype"] = 42
    fig = plt.figure(figsize=A4_PORTRAIT_IN)
    fig.text(0.08, 0.95, f"Pré-diagnostic — {summary.name or 'CPTS'}", fontsize=16, weight="bold")
    fig.text(0.08, 0.925, f"{summary.commune_count} commune{'s' if summary.commune_count > 1 else ''}, "
             f"{fr_int(summary.population.value)} habitants (population municipale {summary.population.millesime}), "
             f"taille {summary.taille.number}", fontsize=10)
    alert_lines = [line for alert in alerts for line in textwrap.wrap(alert, 120)]
    fig.text(0.08, 0.915, "\n".join(alert_lines), fontsize=7.5, weight="bold", color=f"#{ALERT_COLOUR}", va="top")
    alert_height = len(alert_lines) * 7.5 * 1.3 / 72 / A4_PORTRAIT_IN[1]  # the age table moves down under them
    table_ax = fig.add_axes([0.08, 0.72 - alert_height, 0.84, 0.18])
    table_ax.axis("off")
    ages = prediag.age_table()
    grid = table_ax.table(cellText=ages.values, colLabels=list(ages.columns), loc="upper center")
    grid.auto_set_font_size(False)
    grid.set_fontsize(8)
    grid.scale(1, 1.3)
    chart_ax = fig.add_axes([0.22, 0.47, 0.7, 0.22])
    age_chart(prediag, chart_ax)
    qpv_ax = fig.add_axes([0.08, 0.16, 0.84, 0.22])
    qpv_ax.axis("off")
    qpv_ax.set_title("Quartiers prioritaires (QPV, liste 2015)", loc="left", fontsize=11)
    if prediag.qpv.empty:
        qpv_ax.text(0, 0.8, "Aucun QPV dans les communes du territoire.", fontsize=9)
    else:
        qpv = qpv_table(prediag)
        if len(qpv) > QPV_ROWS_ON_PDF:
            qpv_ax.set_title(f"{len(qpv) - QPV_ROWS_ON_PDF + 1} autres QPV : voir le document Word.", loc="right",
                             fontsize=8)
            qpv = qpv.head(QPV_ROWS_ON_PDF - 1)
        for column, characters in (("Quartier", 40), ("Commune", 25)):  # a table cell does not wrap
            qpv[column] = [textwrap.shorten(text, characters, placeholder=" …") for text in qpv[column]]
        grid = qpv_ax.table(cellText=qpv.values, colLabels=list(qpv.columns), loc="upper center", cellLoc="left",
                            colWidths=[0.11, 0.35, 0.24, 0.1, 0.2])
        grid.auto_set_font_size(False)
        grid.set_fontsize(7.5)
        grid.scale(1, 1.2)
    notes = [prediag.ages.note, QPV_CAVEAT, *_sources_lines(bundle)]
    fig.text(0.08, 0.03, "\n".join(textwrap.fill(n, 150) for n in notes), fontsize=6, va="bottom")
    buffer = io.BytesIO()
    with PdfPages(buffer) as pdf:
        pdf.savefig(fig)
        pdf.savefig(offer_page(summary, prediag.offer))
    plt.close("all")
    return buffer.getvalue()


def _pdf_table(fig, rect, frame: pd.DataFrame, title: str, rows: int, widths=None) -> None:
    """A table in ``rect`` of the page, cut to ``rows`` rows (the rest is named: the DOCX has them all)."""
    ax = fig.add_axes(rect)
    ax.axis("off")
    ax.set_title(title, loc="left", fontsize=10)
    if len(frame) > rows:
        ax.set_title(f"{len(frame) - rows + 1} autres lignes : voir le document Word.", loc="right", fontsize=7)
        frame = frame.head(rows - 1)
    if frame.empty:
        ax.text(0, 0.9, "Aucun (ou source non disponible : voir les limites).", fontsize=8)
        return
    cells = [[textwrap.shorten(str(value), 44, placeholder=" …") for value in row] for row in frame.values]
    grid = ax.table(cellText=cells, colLabels=list(frame.columns), loc="upper center", cellLoc="left",
                    colWidths=widths)
    grid.auto_set_font_size(False)
    grid.set_fontsize(7)
    grid.scale(1, 1.15)


def offer_page(summary: Summary, offer: dict):
    """The second page of the pre-diagnostic: the offer of care (professionals, APL, establishments, communes)."""
    fig = plt.figure(figsize=A4_PORTRAIT_IN)
    fig.text(0.08, 0.95, f"Offre de soins — {summary.name or 'CPTS'}", fontsize=16, weight="bold")
    _pdf_table(fig, [0.08, 0.70, 0.84, 0.22], professionals_table(offer), "Professionnels de santé libéraux", 12,
               [0.37, 0.09, 0.07, 0.14, 0.13, 0.1, 0.1])
    _pdf_table(fig, [0.08, 0.58, 0.84, 0.1], apl_table(offer), "Accessibilité aux médecins généralistes (APL)", 5,
               [0.7, 0.3])
    _pdf_table(fig, [0.08, 0.24, 0.47, 0.31], establishment_counts(offer), "Établissements (FINESS)", 18,
               [0.24, 0.64, 0.12])
    _pdf_table(fig, [0.57, 0.24, 0.35, 0.31], communes_offer_table(offer), "APL et zonage infirmier", 18,
               [0.48, 0.18, 0.34])
    notes = [ND_NOTE, *offer["limits"]]
    fig.text(0.08, 0.03, "\n".join(textwrap.fill(n, 150) for n in notes), fontsize=6, va="bottom")
    return fig
