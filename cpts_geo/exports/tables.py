"""The letter table and the pre-diagnostic as XLSX, DOCX and PDF documents."""

from __future__ import annotations

import io
import math
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from itertools import cycle

import matplotlib
import pandas as pd
from docx import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Inches, Pt, RGBColor
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FuncFormatter, MultipleLocator
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from cpts_geo.exports.sheets import (AUTHOR, append_table, document_author, report_csv, set_properties,
                                    write_title)
from cpts_geo.formatting import fr_int, fr_percent
from cpts_geo.territory.funding import TAILLE_BANDS
from cpts_geo.territory.letter import COLUMNS, TAILLE_LABEL, letter_footer
from cpts_geo.territory.offer import (ND_NOTE, NOT_AVAILABLE, apl_table, communes_offer_table, establishment_counts,
                                      establishment_groups, establishments_line, professionals_line, professionals_table,
                                      territory_offer)
from cpts_geo.territory.model import AGE_BANDS_DETAIL, AgeStructure, Summary, Territory, age_structure, contour_sources
from cpts_geo.user_text import spreadsheet_cell

matplotlib.rcParams["pdf.fonttype"] = 42  # keep text as text in the PDF
# every text of the documents (maps included: they import this module) is drawn as written: a name such as
# « CPTS $x^2$ » is never typeset as mathematics, and « $\foo{$ » never breaks a drawing
matplotlib.rcParams.update({"text.parse_math": False, "text.usetex": False})

A4_PORTRAIT_IN = (8.27, 11.69)
A4_CM = (Cm(21), Cm(29.7))
DOCX_MARGIN_CM = 2
#: width of the text of the DOCX page (A4 less its margins): the map is drawn at this width, tables fit in it
DOCX_TEXT_CM = 21 - 2 * DOCX_MARGIN_CM
#: the map of the DOCX in inches: the text width, and a height that leaves a line under it on the page
DOCX_MAP_INCHES = (DOCX_TEXT_CM / 2.54, 9.0)
DOCX_FONT_PT = 10
#: space left and right of a DOCX cell's text: Word's and LibreOffice's cell margin (0.19 cm), and some more
DOCX_CELL_PAD_IN = 0.1
ALERT_COLOUR = "C00000"
QPV_CAVEAT = ("Quartiers prioritaires de la politique de la ville de la génération 2015 (décret 2014-1750) ; "
              "population du quartier entier (ANCT), non répartie entre les communes d'un quartier qui en couvre "
              "plusieurs.")
#: what the QPV caveat adds where the zones are IRIS (not overseas, where communes are taken whole)
QPV_IRIS_CAVEAT = (" Les QPV ne sont pas localisés par IRIS dans ces données : dans une commune retenue en partie, "
                   "vérifier sur la carte des QPV (sig.ville.gouv.fr) s'ils sont dans les IRIS retenus.")
#: where a QPV is with respect to the territory
QPV_WHOLE, QPV_PARTLY, QPV_TO_LOCATE = "en entier", "en partie", "à localiser"
#: words left out when a QPV's name is compared with IRIS names
NAME_STOP_WORDS = frozenset("quartier quartiers qpv zus ancien ancienne nouveau nouvelle de du des la le les et "
                            "sur en au aux".split())


@dataclass(frozen=True)
class Prediagnostic:
    """Age bands of the territory against its département and région, the QPV of its communes, its offer of care."""

    ages: AgeStructure
    #: one row per QPV touching the territory's communes: code_qp, nom_qp, commune, code_insee (those of the
    #: territory), pop_qpv (whole quartier), communes_qpv (its number of communes), situation (QPV_WHOLE,
    #: QPV_PARTLY: over communes outside the territory, QPV_TO_LOCATE: in a commune taken in part) and
    #: max_in_territory (at most that many of its inhabitants live in the territory); for a QPV to locate,
    #: named_in / named_out: the IRIS of its communes whose name matches its own, in and out of the territory
    qpv: pd.DataFrame
    offer: dict                # TerritoryOffer.as_dict()
    communes: tuple            # the territory's CommunePart
    population: int            # the territory's population
    communes_only: bool = False   # zones are whole communes (overseas): ages measured by commune, not by IRIS

    @property
    def measured(self) -> str:
        """What the age bands are measured on: « IRIS mesurés », or « communes mesurées » (no IRIS)."""
        return "communes mesurées" if self.communes_only else "IRIS mesurés"

    @property
    def qpv_caveat(self) -> str:
        """The limits of the QPV figures; where communes are taken in part, how to place a QPV among IRIS."""
        return QPV_CAVEAT + ("" if self.communes_only else QPV_IRIS_CAVEAT)

    def territory_label(self, short: bool = False) -> str:
        """« Territoire », with the share of its population that the age bands cover when it is not all of it:
        ``Territoire (IRIS couvrant 48 % de la population)``, ``short``: ``Territoire (IRIS : 48 % de la pop.)``."""
        if self.ages.coverage >= 0.995:
            return "Territoire"
        if not self.ages.coverage:                      # communes without IRIS: no age bands measured
            return "Territoire (aucun IRIS mesuré)"
        share = fr_percent(self.ages.coverage, 0)
        if short:
            return f"Territoire (IRIS : {share} de la pop.)"
        return f"Territoire (IRIS couvrant {share} de la population)"

    def age_caveat(self) -> str:
        """What the age table covers (census year, share of the population, bands), printed next to it."""
        oldest = self.ages.rows[-1]["label"] if self.ages.rows else "n.d."
        return f"{self.ages.note} Tranche la plus âgée publiée : « {oldest} »."

    def age_table(self, short: bool = False) -> pd.DataFrame:
        """Age bands as a table of French percentages against each département and région of the territory
        (``short``: the shorter heading of the territory)."""
        return self.ages.table(self.territory_label(short))


def prediagnostic(bundle, territory: Territory, summary: Summary) -> Prediagnostic:
    """The pre-diagnostic of a territory (age bands, QPV, offer of care)."""
    ages = age_structure(bundle, territory, summary.age.departement, AGE_BANDS_DETAIL)
    parts = {p.code_insee: p for p in summary.communes}
    touched = bundle.qpv.loc[bundle.qpv["code_insee"].isin(parts), "code_qp"].unique()
    records = []
    for code, rows in bundle.qpv[bundle.qpv["code_qp"].isin(touched)].groupby("code_qp", sort=True):
        inside = [parts[c] for c in rows["code_insee"] if c in parts]   # a QPV over several communes is one row
        population = int(rows["pop_qpv"].iat[0])
        situation = (QPV_TO_LOCATE if not all(p.whole for p in inside) else
                     QPV_PARTLY if len(inside) < len(rows) else QPV_WHOLE)
        records.append({
            "code_qp": code, "nom_qp": rows["nom_qp"].iat[0],
            "commune": ", ".join(p.nom.removesuffix(" Arrondissement") for p in inside),  # Marseille 13e
            "code_insee": ",".join(p.code_insee for p in inside), "pop_qpv": population,
            "communes_qpv": len(rows), "situation": situation,
            "max_in_territory": population if situation == QPV_WHOLE else
            min(population, round(sum(p.population for p in inside))),
            **_named_iris(bundle, territory, rows["nom_qp"].iat[0], [p.code_insee for p in inside if not p.whole])})
    qpv = pd.DataFrame(records, columns=["code_qp", "nom_qp", "commune", "code_insee", "pop_qpv", "communes_qpv",
                                         "situation", "max_in_territory", "named_in", "named_out"])
    return Prediagnostic(ages, qpv, territory_offer(bundle, territory.iris).as_dict(), tuple(summary.communes),
                         summary.population.value, summary.communes_only)


def _name_words(name: str) -> frozenset[str]:
    plain = unicodedata.normalize("NFKD", name.casefold()).encode("ascii", "ignore").decode()
    return frozenset(word for word in re.split(r"[^a-z]+", plain) if len(word) > 1 and word not in NAME_STOP_WORDS)


def _named_iris(bundle, territory: Territory, quartier: str, split_communes: list[str]) -> dict:
    """The IRIS of the split communes whose name matches the QPV's (the words of one hold all those of the
    other: « Quartier Bas-Vernet Ancien Zus » and « Bas Vernet Est 1 »), in and out of the territory: a hint
    of where the QPV lies, as the data do not place it by IRIS."""
    words = _name_words(quartier)
    iris = bundle.iris.loc[bundle.iris["code_insee"].isin(split_communes), "nom_iris"]
    named = [code for code, name in iris.items()
             if words and (other := _name_words(name)) and (words <= other or other <= words)]
    return {"named_in": tuple(iris[c] for c in named if c in territory.iris),
            "named_out": tuple(iris[c] for c in named if c not in territory.iris)}


#: colour and hatching of the bars of the départements, then of the régions compared, in turn
AGE_CHART_STYLES = {"departements": (("#8d99ae", "//"), ("#5c677d", "\\\\"), ("#b8c4d6", "--")),
                    "regions": (("#edf2f4", ".."), ("#ffffff", "xx"), ("#dddddd", "||"))}


def age_chart(prediag: Prediagnostic, ax) -> None:
    """Grouped horizontal bars of the age bands (hatched, readable in black and white)."""
    rows = prediag.ages.rows
    labels = [row["label"] for row in rows]
    styles = {level: cycle(choices) for level, choices in AGE_CHART_STYLES.items()}
    series = [(prediag.territory_label(), [row["territory"] for row in rows], ("#c8553d", "")),
              *((name, [row[level].get(code) for row in rows], next(styles[level]))
                for name, level, code in prediag.ages.references())]
    height = 0.81 / len(series)
    for offset, (name, shares, (colour, hatch)) in enumerate(series):
        ax.barh([i + (offset - (len(series) - 1) / 2) * height for i in range(len(rows))],
                [100 * (share or 0) for share in shares], height=height, color=colour, hatch=hatch,
                edgecolor="black", linewidth=0.5, label=name)
    ax.set_yticks(range(len(rows)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(f"Part de la population ({prediag.measured})")
    ax.xaxis.set_major_locator(MultipleLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g} %"))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2, fontsize=8, frameon=False)
    ax.grid(axis="x", linewidth=0.3)


def age_chart_png(prediag: Prediagnostic, dpi: int = 150) -> bytes:
    """The age chart alone, as PNG (for the DOCX)."""
    fig = Figure(figsize=(6, 3.4))
    age_chart(prediag, fig.add_subplot())
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _sources_lines(bundle, summary: Summary) -> list[str]:
    """Sources of the territory's contours (overseas: its commune contours), population and ages; its data limits."""
    meta = bundle.meta
    contours = " ; ".join(contour_sources(bundle, {p.departement for p in summary.communes}))
    return [f"Contours : {contours}.", f"Population : {meta.get('population_source', '')}.",
            f"Âges : {meta.get('iris_population_source', '')}.", *summary.limits]


def letter_csv(table: pd.DataFrame, summary: Summary, alerts: list[str] = ()) -> bytes:
    """The letter table as CSV for a French spreadsheet (:func:`cpts_geo.exports.sheets.report_csv`: ``;``, UTF-8
    with BOM, codes kept as text, no formula), its footer lines after a blank line, then ``alerts`` (the checks
    the territory fails, see ``TerritoryExport.alerts``)."""
    lines = [*letter_footer(summary), *(("Attention", alert) for alert in alerts)]
    padding = ("",) * (len(COLUMNS) - 2)
    footer = pd.DataFrame([(label, value, *padding) for label, value in lines], columns=COLUMNS)
    return report_csv(pd.concat([table, pd.DataFrame([("",) * len(COLUMNS)], columns=COLUMNS), footer]))


def letter_xlsx(bundle, summary: Summary, table: pd.DataFrame, alerts: list[str] = (),
                author: str | None = None) -> bytes:
    """The letter table in an Excel workbook: sheet « Délimitation » (table and footer) and « Sources ».

    ``alerts`` (checks the territory fails) are in red on the line under the title; ``author`` goes in the
    workbook's properties.
    """
    book = Workbook()
    set_properties(book, f"Délimitation géographique — {summary.name or 'CPTS'}",
                   f"Lettre d'intention CPTS : {summary.zones_text} du territoire, population, taille", author)
    sheet = book.active
    sheet.title = "Délimitation"
    write_title(sheet, f"Délimitation géographique — {summary.name}".strip(" —"))
    if alerts:
        sheet.cell(2, 1, spreadsheet_cell(" ".join(alerts))).font = Font(bold=True, color=ALERT_COLOUR)
    append_table(sheet, table, header_row=3)
    sheet.append([])
    for label, value in letter_footer(summary):
        sheet.append([label, value])
        sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    sources = book.create_sheet("Sources")
    for line in _sources_lines(bundle, summary):
        sources.append([line])
        sources.cell(sources.max_row, 1).alignment = Alignment(wrap_text=True)
    sources.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


#: What a table whose every row is unavailable is printed as, instead of rows of « n.d. ».
UNAVAILABLE_TABLE = f"{NOT_AVAILABLE[0].upper()}{NOT_AVAILABLE[1:]}."


def all_unavailable(frame: pd.DataFrame) -> bool:
    """Whether every row of ``frame`` is « n.d. » past its first column (its label): a source that does not cover
    the territory."""
    return len(frame) > 0 and frame.shape[1] > 1 and bool((frame.iloc[:, 1:] == "n.d.").all(axis=None))


def _docx_table(document, frame: pd.DataFrame) -> None:
    """``frame`` as a Word table: bold header repeated on each page, no row split across two pages, columns fitted
    to their content (:func:`fit_columns`, measured in a font wider than Calibri: a code never wraps); one line
    :data:`UNAVAILABLE_TABLE` instead when :func:`all_unavailable`."""
    if all_unavailable(frame):
        document.add_paragraph(UNAVAILABLE_TABLE)
        return
    table = document.add_table(rows=1, cols=len(frame.columns))
    table.style = "Table Grid"
    table.autofit = False
    for cell, name in zip(table.rows[0].cells, frame.columns):
        cell.text = str(name)
        cell.paragraphs[0].runs[0].bold = True
    table.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeated on each page
    for values in frame.itertuples(index=False):
        for cell, value in zip(table.add_row().cells, values):
            cell.text = str(value)
    for row in table.rows:
        row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))
    for column, width in zip(table.columns, fit_columns(frame, DOCX_TEXT_CM / 2.54, DOCX_FONT_PT, DOCX_CELL_PAD_IN)):
        column.width = Inches(width)
        for cell in column.cells:  # Word reads the cells' widths, LibreOffice the grid's
            cell.width = Inches(width)


def _docx_french(document) -> None:
    """French as the language of the document's styles (spelling, hyphenation)."""
    defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    language = defaults.find(qn("w:lang"))
    if language is None:
        language = OxmlElement("w:lang")
        defaults.append(language)
    language.set(qn("w:val"), "fr-FR")
    language.set(qn("w:eastAsia"), "fr-FR")


def _docx_properties(document, bundle, summary: Summary, author: str | None) -> None:
    """Real metadata: title, author, subject with the sources, created and modified now, French."""
    properties = document.core_properties
    properties.title = f"Délimitation géographique et pré-diagnostic — {summary.name or 'CPTS'}"
    properties.author = properties.last_modified_by = document_author(author)
    sources = [re.sub(r"\s*\([^)]*\)", "", source) for source in (  # without their details in brackets
        *contour_sources(bundle, {p.departement for p in summary.communes}),
        *(bundle.meta[key] for key in ("population_source", "iris_population_source", "qpv_source")
          if bundle.meta.get(key)))]
    properties.subject = textwrap.shorten("Sources : " + " ; ".join(sources), 255, placeholder=" …")  # Office limit
    properties.keywords = "CPTS ; lettre d'intention ; délimitation géographique ; pré-diagnostic"
    properties.comments = (f"Lettre d'intention CPTS (territoire, population, taille, pré-diagnostic), produit par "
                           f"{AUTHOR}.")
    properties.category = "Lettre d'intention CPTS"
    properties.language = "fr-FR"
    properties.created = properties.modified = datetime.now(timezone.utc).replace(microsecond=0)
    properties.revision = 1


def _docx_picture(document, png: bytes, width_cm: float, description: str) -> None:
    """A picture at ``width_cm``, with its alternative text (read aloud, shown when the image is missing)."""
    shape = document.add_picture(io.BytesIO(png), width=Cm(width_cm))
    shape._inline.docPr.set("descr", description)
    shape._inline.docPr.set("title", description.split(" :")[0])


def _docx_title(document, text: str) -> None:
    """A bold line that heads what follows (a table), kept on the same page as its start."""
    paragraph = document.add_paragraph()
    paragraph.add_run(text).bold = True
    paragraph.paragraph_format.keep_with_next = True


def _italic(document, text: str) -> None:
    document.add_paragraph().add_run(text).italic = True


def _docx_alerts(document, alerts: list[str]) -> None:
    """The checks the territory fails, in bold red."""
    for alert in alerts:
        run = document.add_paragraph().add_run(f"Attention — {alert}")
        run.bold = True
        run.font.color.rgb = RGBColor.from_string(ALERT_COLOUR)


def letter_docx(bundle, summary: Summary, table: pd.DataFrame, prediag: Prediagnostic,
                map_png: bytes | None = None, alerts: list[str] = (), author: str | None = None) -> bytes:
    """A Word section « Délimitation géographique » ready to paste in the ARS template, and the pre-diagnostic.

    ``alerts`` (checks the territory fails) are in red under the heading; ``map_png`` is drawn for the text
    width (:data:`DOCX_MAP_INCHES`) and placed at 100 %; ``author`` goes in the metadata.
    """
    document = Document()
    _docx_properties(document, bundle, summary, author)
    page = document.sections[0]  # python-docx starts from US Letter
    page.page_width, page.page_height = A4_CM
    page.left_margin = page.right_margin = page.top_margin = page.bottom_margin = Cm(DOCX_MARGIN_CM)
    document.styles["Normal"].font.size = Pt(DOCX_FONT_PT)
    _docx_french(document)
    document.add_heading("Délimitation géographique", level=1)
    _docx_alerts(document, alerts)
    document.add_paragraph(f"Territoire de la {summary.name or 'CPTS'} : {summary.zones_text} du territoire.")
    _docx_table(document, table)
    for label, value in letter_footer(summary):
        if label == TAILLE_LABEL:                               # the taille's boxes below
            continue
        document.add_paragraph().add_run(f"{label} : ").bold = True
        document.paragraphs[-1].add_run(value)
    document.add_paragraph(summary.population.method).runs[0].italic = True
    _docx_title(document, "Taille de la CPTS :")
    for number, label, _, _ in TAILLE_BANDS:
        mark = "☒" if number == summary.taille.number else "☐"
        document.add_paragraph(f"{mark} Taille {number} : {label}")
    if map_png:
        _docx_picture(document, map_png, DOCX_TEXT_CM, _map_description(summary))
    document.add_heading("Pré-diagnostic : population", level=1)
    document.add_heading("Structure par âge", level=2)
    _docx_table(document, prediag.age_table())
    _italic(document, prediag.age_caveat())
    _docx_picture(document, age_chart_png(prediag), 15,
                  f"Graphique : part de chaque tranche d'âge dans le territoire, le département et la région "
                  f"(mêmes chiffres que le tableau ; {prediag.territory_label()}).")
    document.add_heading("Quartiers prioritaires de la politique de la ville", level=2)
    for line in qpv_lines(prediag):
        document.add_paragraph(line)
    located, to_locate = qpv_tables(prediag)
    for title, frame in ((QPV_LOCATED_TITLE, located), (QPV_TO_LOCATE_TITLE, to_locate)):
        if len(frame):
            _docx_title(document, title)
            _docx_table(document, frame)
    _italic(document, prediag.qpv_caveat)
    _docx_offer(document, prediag.offer)
    document.add_heading("Sources et limites des données", level=2)
    for line in [*_sources_lines(bundle, summary), f"Document produit par cpts-geo le {date.today():%d/%m/%Y}."]:
        document.add_paragraph(line, style="List Bullet")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _docx_offer(document, offer: dict) -> None:
    """Section « Offre de soins »: professionals, APL, establishments by group, communes, sources and limits."""
    document.add_heading("Pré-diagnostic : offre de soins", level=1)
    if uncovered := professionals_line(offer):   # the line is the heading: the section has nothing else
        document.add_heading(uncovered, level=2)
    else:
        document.add_heading("Professionnels de santé libéraux", level=2)
        _docx_table(document, professionals_table(offer))
        document.add_paragraph(ND_NOTE).runs[0].italic = True
    document.add_heading("Accessibilité aux médecins généralistes (APL)", level=2)
    _docx_table(document, apl_table(offer))
    document.add_heading("Établissements (FINESS)", level=2)
    document.add_paragraph(establishments_line(offer))
    groups = establishment_groups(offer)
    for title, rows in groups:
        document.add_heading(title, level=3)
        _docx_table(document, rows)
    document.add_heading("APL et zonage infirmier des communes", level=2)
    _docx_table(document, communes_offer_table(offer))
    document.add_heading("Sources, millésimes et limites de l'offre de soins", level=2)
    for line in offer["limits"]:
        document.add_paragraph(line, style="List Bullet")


def _map_description(summary: Summary) -> str:
    """The alternative text of the map in the DOCX."""
    communes = ", ".join(p.nom + ("" if p.whole else " (en partie)") for p in summary.communes[:12])
    more = f" et {summary.commune_count - 12} autres" if summary.commune_count > 12 else ""
    return (f"Carte du territoire de la {summary.name or 'CPTS'} : {summary.commune_count} commune"
            f"{'s' if summary.commune_count > 1 else ''} ({communes}{more}){summary.iris_text}, "
            f"{fr_int(summary.population.value)} habitants, taille {summary.taille.number}.")


QPV_LOCATED_TITLE = "QPV des communes entières du territoire"
QPV_TO_LOCATE_TITLE = "QPV des communes retenues en partie : à localiser"


def _quartier_population(row) -> str:
    return fr_int(row.pop_qpv) + (f" ({row.communes_qpv} communes)" if row.communes_qpv > 1 else "")


def qpv_tables(prediag: Prediagnostic) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The QPV as two French tables: those of the territory's whole communes (in full, or in part when the
    quartier spreads over communes outside it), and those of its communes taken in part, which the data do not
    place by IRIS, with the most of their inhabitants that can live in the territory."""
    qpv = prediag.qpv
    located = qpv[qpv["situation"] != QPV_TO_LOCATE]
    to_locate = qpv[qpv["situation"] == QPV_TO_LOCATE]

    def columns(frame):
        return {"Code": frame["code_qp"], "Quartier": frame["nom_qp"], "Commune": frame["commune"],
                "Habitants du quartier": [_quartier_population(row) for row in frame.itertuples()]}

    return (pd.DataFrame({**columns(located), "Dans le territoire": [
                "en entier" if row.situation == QPV_WHOLE else f"en partie, au plus {fr_int(row.max_in_territory)}"
                for row in located.itertuples()]}),
            pd.DataFrame({**columns(to_locate), "Au plus dans le territoire": [
                fr_int(value) for value in to_locate["max_in_territory"]],
                QPV_HINT: [_name_hint(row) for row in to_locate.itertuples()]}))


QPV_HINT = "Probablement (IRIS de nom proche)"


def _name_hint(row) -> str:
    """``dedans (Champs de Mars)``, ``hors (Gare 1, Gare 2)``, ``en partie (…)`` or ``à localiser``."""
    named_in, named_out = ", ".join(row.named_in), ", ".join(row.named_out)
    if named_in and named_out:
        return f"en partie ({named_in} retenus ; {named_out} non)"
    if named_in or named_out:
        return f"{'dedans' if named_in else 'hors'} ({named_in or named_out})"
    return "à localiser"


def qpv_lines(prediag: Prediagnostic) -> list[str]:
    """What the QPV mean for the territory, in French sentences: the inhabitants of the QPV wholly in it and
    their share of its population; for each commune taken in part, its QPV are to be located."""
    qpv = prediag.qpv
    if qpv.empty:
        return ["Aucun QPV (liste 2015) dans les communes du territoire."]
    lines = []
    whole = qpv[qpv["situation"] == QPV_WHOLE]
    if len(whole):
        people = int(whole["pop_qpv"].sum())
        lines.append(f"{len(whole)} QPV entièrement dans le territoire : {fr_int(people)} habitants, soit "
                     f"{fr_percent(people / prediag.population) if prediag.population else 'n.d.'} de sa "
                     "population.")
    partly = qpv[qpv["situation"] == QPV_PARTLY]
    if len(partly):
        lines.append(f"{len(partly)} QPV " + ("s'étendent" if len(partly) > 1 else "s'étend") + " aussi sur des "
                     "communes hors du territoire (population du quartier non répartie entre ses communes).")
    for part in prediag.communes:
        here = qpv[(qpv["situation"] == QPV_TO_LOCATE) & qpv["code_insee"].str.split(",").map(
            lambda codes, code=part.code_insee: code in codes)]
        if part.whole or here.empty:
            continue
        most = min(int(here["pop_qpv"].sum()), round(part.population))
        inside = sum(1 for row in here.itertuples() if row.named_in and not row.named_out)
        outside = sum(1 for row in here.itertuples() if row.named_out and not row.named_in)
        hint = (f" D'après les noms des IRIS, {inside} serai{'en' if inside > 1 else ''}t dans le territoire, "
                f"{outside} hors du territoire, {len(here) - inside - outside} à localiser."
                if inside or outside else "")
        located = (f"ses {len(here)} QPV ne sont pas localisés" if len(here) > 1 else "son QPV n'est pas localisé")
        lines.append(f"{part.nom} n'est retenue qu'en partie ({len(part.iris)} IRIS sur {part.iris_total}, "
                     f"{fr_int(part.population)} habitants) : {located} par IRIS dans ces données ; au plus "
                     f"{fr_int(most)} habitants du territoire y vivent.{hint} À vérifier sur la carte des QPV.")
    return lines


_TEXT_PATH = TextToPath()


@lru_cache(maxsize=8192)
def _text_in(text: str, size: float, bold: bool = False) -> float:
    """Width in inches of the longest line of ``text`` at ``size`` points (the font of the pages)."""
    font = FontProperties(size=size, weight="bold" if bold else "normal")
    return max(_TEXT_PATH.get_text_width_height_descent(line, font, ismath=False)[0]
               for line in str(text).split("\n")) / 72


def _wrap_in(text: str, width_in: float, size: float, bold: bool = False) -> str:
    """``text`` wrapped at words into lines of ``width_in`` inches at most (a word longer than that is cut)."""
    text = str(text)
    measured = _text_in(text, size, bold)
    if measured <= width_in:
        return text
    characters = max(3, int(len(text) * width_in / measured) + 1)
    while True:
        lines = textwrap.wrap(text, characters) or [""]
        if characters <= 3 or all(_text_in(line, size, bold) <= width_in for line in lines):
            return "\n".join(lines)
        characters -= 1


def fit_columns(frame: pd.DataFrame, width_in: float, size: float, pad_in: float) -> list[float]:
    """Widths (inches) of the columns of ``frame`` in a table ``width_in`` wide: each column as wide as its
    longest value (``pad_in`` each side); when they do not all fit, the widest ones share what the others leave,
    never narrower than their longest word, and their cells wrap."""
    cells = [[str(name), *map(str, frame[name])] for name in frame.columns]
    natural = [max(_text_in(value, size, row == 0) for row, value in enumerate(column)) + 2 * pad_in
               for column in cells]
    words = [max(_text_in(word, size, row == 0) for row, value in enumerate(column) for word in value.split() or [""])
             + 2 * pad_in for column in cells]
    if sum(natural) <= width_in:                            # room left: shared in proportion
        return [width * width_in / sum(natural) for width in natural]
    low, high = 0.0, max(natural)                           # the cap on a column's width that fills the table
    for _ in range(40):
        cap = (low + high) / 2
        low, high = (cap, high) if sum(min(n, max(cap, w)) for n, w in zip(natural, words)) < width_in else (low, cap)
    widths = [min(n, max(low, w)) for n, w in zip(natural, words)]
    return [width * width_in / sum(widths) for width in widths]


class _PdfPages:
    """The A4 pages of the pre-diagnostic, filled from the top: text and tables flow onto a new page (its
    table header repeated) when the page is full."""

    WIDTH_IN, LEFT_IN, TOP_IN = A4_PORTRAIT_IN[0] - 1.3, 0.65, 0.55
    KEEP_WITH_NEXT_IN = 0.7            # room a heading needs below it (about three lines or a table's first rows)
    CELL_PAD_IN = 0.07                 # space left and right of a cell's text, and above and below it

    def __init__(self, title: str, footer: list[str]):
        self.pages = []
        self.section(title, footer)

    def section(self, title: str, footer: list[str]) -> None:
        """A new page starting a part of the document, with its own ``footer``; its pages continue ``title``."""
        self.title, self.footer = title, footer
        self._new_page(first=True)

    def _new_page(self, first: bool = False) -> None:
        self.fig = Figure(figsize=A4_PORTRAIT_IN)
        self.pages.append(self.fig)
        footer = "\n".join(textwrap.fill(line, 150) for line in self.footer)
        self.fig.text(self.LEFT_IN / A4_PORTRAIT_IN[0], 0.03, footer, fontsize=6, va="bottom")
        self.bottom_in = A4_PORTRAIT_IN[1] - 0.03 * A4_PORTRAIT_IN[1] - (footer.count("\n") + 2) * 6 * 1.2 / 72
        self.y_in = self.TOP_IN
        if not first:
            self.text([f"{self.title} (suite, page {len(self.pages)})"], 9, color="#555555")
        self.top_in = self.y_in                 # nothing drawn on the page below that

    def text(self, lines: list[str], size: float, width: int | None = None, **style) -> None:
        """Lines of text wrapped to the page (``width`` characters), moved to a new page when they do not fit; a
        bold text is a heading, moved too when the start of what follows (:attr:`KEEP_WITH_NEXT_IN`) would not fit
        under it."""
        wrapped = [part for line in lines for part in textwrap.wrap(line, width or int(self.WIDTH_IN * 72 /
                                                                                        (size * 0.55)))]
        height = len(wrapped) * size * 1.3 / 72
        keep = self.KEEP_WITH_NEXT_IN if style.get("weight") == "bold" else 0
        if self.y_in + height + keep > self.bottom_in and self.y_in > self.top_in:
            self._new_page()
        self.fig.text(self.LEFT_IN / A4_PORTRAIT_IN[0], 1 - self.y_in / A4_PORTRAIT_IN[1], "\n".join(wrapped),
                      fontsize=size, va="top", linespacing=1.3, **style)
        self.y_in += height + 0.08

    def space(self, inches: float) -> None:
        self.y_in += inches

    def axes(self, height_in: float, left_in: float = 0.0):
        """Axes of ``height_in`` across the page (from ``left_in``), on a new page when they do not fit."""
        if self.y_in + height_in > self.bottom_in:
            self._new_page()
        page_w, page_h = A4_PORTRAIT_IN
        ax = self.fig.add_axes([(self.LEFT_IN + left_in) / page_w, 1 - (self.y_in + height_in) / page_h,
                                (self.WIDTH_IN - left_in) / page_w, height_in / page_h])
        self.y_in += height_in + 0.12
        return ax

    def table(self, frame: pd.DataFrame, size: float = 7.5) -> None:
        """``frame`` as a table across the page, its columns fitted to their content (:func:`fit_columns`; long
        values wrap in their cell, never cut), continued on as many pages as it needs with its header repeated."""
        if frame.empty:
            self.text(["Aucun (ou source non disponible : voir les limites)."], size)
            return
        if all_unavailable(frame):
            self.text([UNAVAILABLE_TABLE], size)
            return
        pad = self.CELL_PAD_IN
        widths = fit_columns(frame, self.WIDTH_IN, size, pad)
        header = [_wrap_in(name, width - 2 * pad, size, bold=True) for name, width in zip(frame.columns, widths)]
        rows = [[_wrap_in(value, width - 2 * pad, size) for value, width in zip(row, widths)] for row in frame.values]

        def height(cells) -> float:
            return max(cell.count("\n") + 1 for cell in cells) * size * 1.2 / 72 + 2 * pad

        while rows:
            room, chunk = self.bottom_in - self.y_in - height(header), []
            while rows and (sum(map(height, chunk)) + height(rows[0]) <= room):
                chunk.append(rows.pop(0))
            if not chunk:                                   # not even one row under the header: next page
                if self.y_in <= self.top_in:
                    chunk.append(rows.pop(0))               # a row taller than a page: drawn as it is
                else:
                    self._new_page()
                    continue
            heights = [height(header), *map(height, chunk)]
            ax = self.axes(sum(heights))
            ax.axis("off")
            grid = ax.table(cellText=chunk, colLabels=header, cellLoc="left",
                            colWidths=[width / self.WIDTH_IN for width in widths], bbox=[0, 0, 1, 1])
            grid.auto_set_font_size(False)
            grid.set_fontsize(size)
            for (row, column), cell in grid.get_celld().items():
                cell.set_height(heights[row] / sum(heights))
                cell.PAD = pad / widths[column]
                cell.get_text().set_linespacing(1.2)
                if row == 0:
                    cell.set_text_props(weight="bold")
                    cell.set_facecolor("#eeeeee")


def prediagnostic_pdf(bundle, summary: Summary, prediag: Prediagnostic, alerts: list[str] = (),
                      author: str | None = None) -> bytes:
    """The pre-diagnostic as a PDF of :func:`prediagnostic_pages`; ``author`` goes in its metadata."""
    title = f"Pré-diagnostic — {summary.name or 'CPTS'}"
    buffer = io.BytesIO()
    metadata = {"Title": title, "Author": document_author(author), "Creator": AUTHOR,
                "Subject": "Pré-diagnostic d'une CPTS : structure par âge, QPV, offre de soins",
                "CreationDate": datetime.now(timezone.utc)}
    with PdfPages(buffer, metadata=metadata) as pdf:
        for page in prediagnostic_pages(bundle, summary, prediag, alerts):
            pdf.savefig(page)
    return buffer.getvalue()


def prediagnostic_pages(bundle, summary: Summary, prediag: Prediagnostic, alerts: list[str] = ()) -> list[Figure]:
    """The pre-diagnostic as A4 pages: the checks the territory fails (in red), the age table with what it
    covers and the chart, every QPV, the sources; then the offer of care (:func:`offer_pages`); every table
    whole, continued on further pages when needed."""
    title = f"Pré-diagnostic — {summary.name or 'CPTS'}"
    pages = _PdfPages(title, [prediag.qpv_caveat, *_sources_lines(bundle, summary)])
    pages.text([title], 16, weight="bold")
    pages.text([f"{summary.commune_count} commune{'s' if summary.commune_count > 1 else ''}, "
                f"{fr_int(summary.population.value)} habitants (population municipale "
                f"{summary.population.millesime}), taille {summary.taille.number}"], 10)
    if alerts:
        pages.text(list(alerts), 7.5, weight="bold", color=f"#{ALERT_COLOUR}")
    pages.space(0.1)
    pages.text(["Structure par âge"], 11, weight="bold")
    pages.table(prediag.age_table(short=True), size=8)
    pages.text([prediag.age_caveat()], 7, color="#333333")  # no italic: one font less to embed
    legend_rows = math.ceil((1 + len(prediag.ages.references())) / 2)
    pages.space(0.14 + 0.13 * legend_rows)              # the chart's legend is above it
    age_chart(prediag, pages.axes(2.3, left_in=1.1))
    pages.space(0.35)                                   # and its axis label under it
    pages.text(["Quartiers prioritaires (QPV, liste 2015)"], 11, weight="bold")
    pages.text(qpv_lines(prediag), 7.5)
    short = {"Habitants du quartier": "Habitants", "Au plus dans le territoire": "Au plus ici"}
    for heading, frame in zip((QPV_LOCATED_TITLE, QPV_TO_LOCATE_TITLE), qpv_tables(prediag)):
        if len(frame):
            pages.text([heading], 8.5, weight="bold")
            pages.table(frame.rename(columns=short))
    offer_pages(pages, summary, prediag.offer)
    return pages.pages


def offer_pages(pages: _PdfPages, summary: Summary, offer: dict) -> None:
    """The offer of care from a new page: professionals, APL, establishments (counts, then every one of each group),
    communes; tables continued on further pages with their header repeated."""
    title = f"Offre de soins — {summary.name or 'CPTS'}"
    pages.section(title, [ND_NOTE, *offer["limits"]])
    pages.text([title], 16, weight="bold")
    if uncovered := professionals_line(offer):   # the line is the heading: the section has nothing else
        pages.text([uncovered], 11, weight="bold")
    else:
        pages.text(["Professionnels de santé libéraux"], 11, weight="bold")
        pages.table(professionals_table(offer))
    pages.text(["Accessibilité aux médecins généralistes (APL)"], 11, weight="bold")
    pages.table(apl_table(offer))
    pages.text(["APL et zonage infirmier des communes"], 11, weight="bold")
    pages.table(communes_offer_table(offer))
    pages.text([establishments_line(offer)], 11, weight="bold")
    if offer["coverage"].get("establishments") != NOT_AVAILABLE:
        pages.table(establishment_counts(offer))
    groups = establishment_groups(offer)
    for heading, rows in groups:
        pages.text([heading], 8.5, weight="bold")
        pages.table(rows)
