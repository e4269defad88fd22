"""Every export of a territory by format, for the CLI and the app's download buttons."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from cpts_geo.territory.checks import run_checks
from cpts_geo.errors import InputError
from cpts_geo.exports import perimeter, tables
from cpts_geo.territory.letter import letter_table
from cpts_geo.territory.model import Territory, others_without_self, summarize
from cpts_geo.user_text import clean_text

#: format → (file suffix, MIME type, French label: short enough for a button a third of the page wide on a 1366 px
#: screen; the coordinate systems are said beside the buttons, :data:`PERIMETER_SYSTEMS`)
FORMATS = {
    "csv": ("_tableau.csv", "text/csv", "Tableau (CSV pour Excel)"),
    "xlsx": ("_tableau.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Tableau (Excel)"),
    "docx": ("_lettre.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             "Délimitation et pré-diagnostic (Word)"),
    "prediag": ("_prediagnostic.pdf", "application/pdf", "Pré-diagnostic (PDF)"),
    "png": ("_carte.png", "image/png", "Carte (PNG 300 dpi)"),
    "pdf": ("_carte.pdf", "application/pdf", "Carte (PDF vectoriel)"),
    "geojson": ("_perimetre.geojson", "application/geo+json", "Périmètre (GeoJSON)"),
    "gpkg": ("_perimetre.gpkg", "application/geopackage+sqlite3", "Périmètre (GeoPackage)"),
    "shp": ("_perimetre_shp.zip", "application/zip", "Périmètre (Shapefile zippé)"),
}
#: The coordinate systems of the perimeter files.
PERIMETER_SYSTEMS = ("Périmètres en Lambert-93 (GeoPackage, Shapefile ; projection locale outre-mer) ou WGS 84 "
                     "(GeoJSON), une entité par IRIS et une pour le territoire.")


@dataclass(frozen=True)
class ExportedFile:
    """One exported file, ready to write or to download."""

    filename: str
    mime: str
    data: bytes


#: letters that Unicode does not decompose into ASCII (NFKD keeps « œ » whole, so it would be dropped)
LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ẞ": "SS", "ø": "o", "Ø": "O",
                           "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D",
                           "ı": "i", "’": "_"})


#: Markup in a name (``<b>``, ``</span>``, ``<img src=…>``): no word of the name, left out of file names.
MARKUP_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
#: Longest file name stem made from a name: with the longest suffix, far below the 255 bytes of a file name.
MAX_STEM_LENGTH = 80


def file_stem(name: str) -> str:
    """A safe file name from a CPTS name: ``CPTS Ruscino`` → ``cpts_ruscino``, ``Cœur`` → ``coeur``, markup tags
    left out (``CPTS <b>Ruscino</b>`` → ``cpts_ruscino``); a name longer than :data:`MAX_STEM_LENGTH` (up to 200
    characters, ``œ`` written ``oe``) is cut and ends with 8 characters of the whole name's hash, so that two long
    names that differ at their end keep two files. Documents keep the whole name."""
    words = MARKUP_TAG.sub(" ", name)
    ascii_name = unicodedata.normalize("NFKD", words.translate(LIGATURES)).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_") or "cpts"
    if len(stem) <= MAX_STEM_LENGTH:
        return stem
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{stem[:MAX_STEM_LENGTH - len(digest) - 1].rstrip('_')}_{digest}"


class TerritoryExport:
    """The exports of one territory; the summary, tables and layers are computed once and shared."""

    def __init__(self, bundle, territory: Territory, others: dict[str, frozenset[str]] | None = None,
                 postal_overrides: dict[str, str] | None = None, detailed: bool = False,
                 orientation: str = "portrait", author: str | None = None):
        if not territory.iris:
            raise InputError("Le territoire est vide : sélectionnez au moins une commune ou un IRIS avant "
                             "d'exporter.")
        unknown = sorted(code for code in territory.iris if code not in bundle.iris.index)
        if unknown:
            raise InputError(f"Le territoire contient des IRIS absents des données : {', '.join(unknown[:10])}.")
        self.bundle, self.territory = bundle, territory
        self.others, _ = others_without_self(territory, others or {})   # never the territory as its own neighbour
        self.orientation = orientation
        #: the porteur or structure, in the documents' metadata (PDF, PNG, DOCX, XLSX) with cpts-geo
        self.author = clean_text(author or "") or None
        self.summary = summarize(bundle, territory, postal_overrides)
        #: the checks the territory fails, printed on every document (a territory is exported even when invalid)
        self.alerts = [f"Territoire non conforme : {check.message}"
                       for check in run_checks(bundle, territory, self.others) if check.level == "error"]
        self.table = letter_table(bundle, self.summary, detailed)
        self.stem = file_stem(territory.name)
        self._map_png: bytes | None = None

    def map_figure(self, size: tuple[float, float] | None = None):
        """The map page: A4 in the export's orientation, or ``size`` in inches (portrait)."""
        from cpts_geo.exports.maps import territory_map

        return territory_map(self.bundle, self.territory, self.others,
                             orientation="portrait" if size else self.orientation, alerts=self.alerts, size=size,
                             author=self.author)

    def docx_map_png(self) -> bytes:
        """The map drawn at the DOCX's text width (:data:`tables.DOCX_MAP_INCHES`), placed there at 100 %."""
        from cpts_geo.exports.maps import save_figure

        return save_figure(self.map_figure(tables.DOCX_MAP_INCHES), "png", dpi=200)

    def map_image(self, fmt: str) -> bytes:
        from cpts_geo.exports.maps import save_figure

        if fmt == "png" and self._map_png is not None:
            return self._map_png
        data = save_figure(self.map_figure(), fmt)
        if fmt == "png":
            self._map_png = data
        return data

    def export(self, fmt: str) -> ExportedFile:
        """The file of one format (see :data:`FORMATS`)."""
        if fmt not in FORMATS:
            raise InputError(f"Format d'export inconnu : {fmt} (formats : {', '.join(FORMATS)}).")
        suffix, mime, _ = FORMATS[fmt]
        if fmt == "csv":
            data = tables.letter_csv(self.table, self.summary, self.alerts)
        elif fmt == "xlsx":
            data = tables.letter_xlsx(self.bundle, self.summary, self.table, self.alerts, self.author)
        elif fmt in ("docx", "prediag"):
            prediag = tables.prediagnostic(self.bundle, self.territory, self.summary)
            data = (tables.letter_docx(self.bundle, self.summary, self.table, prediag, self.docx_map_png(),
                                       self.alerts, self.author)
                    if fmt == "docx" else tables.prediagnostic_pdf(self.bundle, self.summary, prediag, self.alerts,
                                                                   self.author))
        elif fmt in ("png", "pdf"):
            data = self.map_image(fmt)
        else:
            iris, whole = perimeter.perimeter_layers(self.bundle, self.territory, self.summary)
            crs = perimeter.metric_crs(self.summary)
            data = {"geojson": lambda: perimeter.geojson_bytes(iris, whole),
                    "gpkg": lambda: perimeter.geopackage_bytes(iris, whole, crs),
                    "shp": lambda: perimeter.shapefile_zip_bytes(iris, whole, crs, self.stem)}[fmt]()
        return ExportedFile(self.stem + suffix, mime, data)
