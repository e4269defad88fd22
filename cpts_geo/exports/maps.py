"""Printable A4 maps (PNG 300 dpi, vector PDF): a CPTS territory, or the coverage of an area by CPTS.

Drawn on matplotlib :class:`~matplotlib.figure.Figure` objects (never pyplot, whose state is shared by
every session of the server) in the metric CRS of the area, no network. Both maps share one frame,
public so that other maps can use it:

* :func:`new_map_figure` — an A4 page and the axes of the map;
* :func:`draw_shapes`, :func:`draw_lines` — polygons and lines of shapely geometries on the axes;
* :func:`frame_map` — title and subtitle on top, the sources footer at the bottom, the legend, the
  locator inset and the key of numbered names beside (landscape) or under (portrait) the map; the
  view framed on a geometry at a round scale, with a scale bar, the numeric scale and a north arrow;
* :class:`MapLabels` — names that do not overlap (optional ones are left out when they would);
* :func:`source_lines` — sources, millésimes and the data limits a map needs (contours, population), for the footer;
* :func:`save_figure` — PNG or PDF bytes with their metadata (title, author, subject, date).

Fills use hatching and line styles as well as colour, so a black-and-white print stays readable.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from datetime import date, datetime, timezone
from itertools import compress

import geopandas as gpd
import matplotlib
import numpy as np
import pandas as pd
import shapely
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.figure import Figure
from matplotlib.legend_handler import HandlerPatch
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Patch, PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.transforms import Bbox

from cpts_geo.config import CPTS_PALETTE, local_crs
from cpts_geo.exports.perimeter import metric_crs
from cpts_geo.exports.tables import AUTHOR, document_author
from cpts_geo.formatting import fr_decimal, fr_int, fr_percent
from cpts_geo.data.reference import departements_table
from cpts_geo.territory.model import Territory, contour_sources, data_limits, others_without_self, summarize
from cpts_geo.user_text import clean_text

matplotlib.rcParams["pdf.fonttype"] = 42  # keep text as text in the PDF
matplotlib.rcParams["font.family"] = "DejaVu Sans"

A4_INCHES = {"portrait": (8.27, 11.69), "landscape": (11.69, 8.27)}
SIDE_MARGIN = 0.04                   # left and right page margins, in figure fractions
EDGE_IN, GAP_IN = 0.3, 0.12          # top/bottom page margin and space between blocks, in inches
PANEL_IN = 3.0                       # width of the side panel of a landscape page (legend, inset, key)
WIDE_PANEL_IN = 5.0                  # the side panel of a coverage map whose key of numbered CPTS is long
WIDE_PANEL_CPTS = 60                 # a coverage map of more CPTS takes the wide panel at once
KEY_COLUMN_IN = 1.9                  # width of a column of the key of numbered names, in a row of its own
LEGEND_COLUMN_IN = 2.4               # narrowest column of a legend in two columns
INSET_IN = (2.1, 2.1)                # width and height of the locator inset, its title included
INSET_TITLE_IN = 0.25
TITLE_PT, SUBTITLE_PT, LEGEND_PT, FOOTER_PT, KEY_PT = 17, 10, 8, 6.5, 6.5
TERRITORY_COLOUR = "#f4a259"
LAND_COLOUR, LAND_EDGE = "#ededed", "#a3a3a3"
SEA_COLOUR = "#d4e6f4"
EPCI_COLOUR = "#6a3d9a"
ALERT_COLOUR = "#c00000"
EPCI_LINE = (0, (6, 2, 1, 2))
DEPARTEMENT_STYLE = {"color": "#7a7a7a", "linewidth": 0.8, "linestyle": (0, (5, 3))}
#: the IRIS limits of a split commune, as drawn and as shown in the legend
IRIS_LINE_STYLE = {"color": "#555555", "linewidth": 0.5, "linestyle": (0, (1, 1.5))}
#: IRIS of a split commune left out of the territory and in no CPTS (those of a neighbour take its style)
NO_CPTS_STYLE = {"facecolor": "white", "edgecolor": "#777777", "hatch": "...."}
#: what the footer of a map keeps of the data limits: those of the contours drawn and of the population shown
MAP_LIMIT_WORDS = ("contours", "population municipale", "population légale", "populations légales")
#: width of the white band under the département limit where it crosses the territory (over its commune limits)
DEPARTEMENT_BAND_WIDTH = 3.0
#: neighbouring CPTS: the palette without its warm colours, which would read as the territory
NEIGHBOUR_PALETTE = tuple(c for c in CPTS_PALETTE if c not in ("#fdb462", "#fb9a99", "#fccde5", "#ffed6f"))
#: the new CPTS of a plan of full coverage (proposed map): blues with rings, apart from the palette of existing
#: CPTS; the shades alternate so that neighbouring new CPTS are told apart
NEW_CPTS_STYLE = {"facecolor": "#9ecae1", "edgecolor": "#08519c", "hatch": "oo"}
NEW_CPTS_SHADES = ("#9ecae1", "#deebf7", "#6baed6", "#c6dbef")
CPTS_HATCHES = ("", "//", "\\\\", "..", "xx", "--", "||", "oo")
NEIGHBOUR_HATCHES = ("//", "\\\\", "xx", "||", "--", "++")
NICE_SCALES = (1, 1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 7.5, 8, 9, 10)
SCALE_BAR_IN = 1.2                   # shortest scale bar on paper
HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]
#: a part of a zone (an islet of a commune) is framed when it lies within this share of the main land's size from
#: it, or holds at least FRAME_MIN_SHARE of the territory's area; the other, small and far, are left out of the view
FRAME_REACH, FRAME_MIN_SHARE = 0.5, 0.1


class MapFigure(Figure):
    """An A4 map page; its ``metadata`` (Title, Author, Subject) goes into the saved PDF or PNG."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        FigureCanvasAgg(self)
        self.metadata: dict[str, str] = {"Author": AUTHOR}


def new_map_figure(orientation: str = "portrait", size: tuple[float, float] | None = None):
    """An A4 page (``portrait`` or ``landscape``; or ``size`` in inches) and the axes of its map, placed by
    :func:`frame_map`."""
    if orientation not in A4_INCHES:
        raise ValueError(f"orientation must be one of {list(A4_INCHES)}")
    fig = MapFigure(figsize=size or A4_INCHES[orientation])
    ax = fig.add_axes([SIDE_MARGIN, 0.1, 1 - 2 * SIDE_MARGIN, 0.8])
    _bare(ax, 0.6)
    return fig, ax


def _bare(ax, frame_width: float) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(frame_width)


def _polygon_paths(geometries) -> list[Path]:
    polygons = shapely.get_parts(shapely.orient_polygons(np.asarray(geometries, dtype=object)))
    return [Path.make_compound_path(*(Path(np.asarray(ring.coords)[:, :2], closed=True)
                                      for ring in (polygon.exterior, *polygon.interiors)))
            for polygon in polygons if isinstance(polygon, shapely.Polygon) and not polygon.is_empty]


def draw_shapes(ax, geometries, zorder: float, **style) -> PatchCollection:
    """The polygons of ``geometries`` (shapely, the CRS of the axes) as one collection styled by ``style``
    (facecolor, edgecolor, linewidth, linestyle, hatch, alpha)."""
    collection = PatchCollection([PathPatch(path) for path in _polygon_paths(geometries)], zorder=zorder, **style)
    ax.add_collection(collection, autolim=False)
    return collection


def draw_lines(ax, geometries, zorder: float, **style) -> LineCollection:
    """The lines of ``geometries`` (shapely lines, or polygons whose boundaries are drawn) as one collection."""
    lines = np.array(geometries, dtype=object)  # a copy: the caller's geometries stay as they are
    polygonal = np.isin(shapely.get_type_id(lines), (3, 6))
    lines[polygonal] = shapely.boundary(lines[polygonal])
    parts = [part for part in shapely.get_parts(shapely.get_parts(lines))  # collections hold multi-lines
             if isinstance(part, shapely.LineString) and not part.is_empty]
    collection = LineCollection([np.asarray(part.coords)[:, :2] for part in parts], zorder=zorder, **style)
    ax.add_collection(collection, autolim=False)
    return collection


def source_lines(bundle, departements=()) -> list[str]:
    """Sources, millésimes and the data limits that must go with a map (of ``departements``: overseas ones add
    the source and limits of their commune contours): only those of the contours and of the population
    (:data:`MAP_LIMIT_WORDS`), not those of the age bands or the QPV, which a map does not show."""
    meta = bundle.meta
    return [f"Contours : {' ; '.join(contour_sources(bundle, departements))} ; Licence Ouverte Etalab 2.0.",
            f"Population : {meta.get('population_source', 'INSEE')}.",
            *(f"Limite : {limit}" for limit in data_limits(bundle, departements)
              if any(word in limit.casefold() for word in MAP_LIMIT_WORDS))]


def _page_text(fig, x: float, y: float, lines: list[str], width: float, **style):
    """Text at ``x``, each line wrapped to ``width`` (figure fraction; measured once)."""
    text = fig.text(x, y, "\n".join(lines), **style)
    measured = text.get_window_extent(fig.canvas.get_renderer()).width
    available = fig.bbox.width * width
    if measured > available:
        characters = int(0.97 * available * max(len(line) for line in lines) / measured)
        text.set_text("\n".join(textwrap.fill(line, characters, subsequent_indent="    ") for line in lines))
    return text


def _height(fig, artist) -> float:
    """Height of an artist in figure fractions."""
    return artist.get_window_extent(fig.canvas.get_renderer()).height / fig.bbox.height


def _width(fig, artist) -> float:
    return artist.get_window_extent(fig.canvas.get_renderer()).width / fig.bbox.width


def _entries(handles) -> list[tuple]:
    """Legend entries as (handle, geometry or None): an entry with a geometry is kept only if it shows in view."""
    return [entry if isinstance(entry, tuple) else (entry, None) for entry in handles]


class SquareEntry(Patch):
    """A legend entry drawn as a square outline (the map's marker of an isolated zone), in its patch's style."""


def _square(legend, orig_handle, xdescent, ydescent, width, height, fontsize) -> Rectangle:
    side = height * 1.6
    return Rectangle((xdescent + (width - side) / 2, ydescent + (height - side) / 2), side, side,
                     linestyle=orig_handle.get_linestyle())


def _legend(fig, handles: list, anchor: tuple[float, float], width: float, columns: int):
    """The legend entries in ``columns`` at ``anchor`` (upper left), labels wrapped to ``width`` (figure fraction)."""
    characters = max(20, int(width / columns * fig.get_size_inches()[0] * 72 / (LEGEND_PT * 0.56)) - 6)
    for handle in handles:
        handle.set_label(textwrap.fill(handle.get_label().replace("\n", " "), characters, subsequent_indent="  "))
    return fig.legend(handles=handles, loc="upper left", bbox_to_anchor=anchor, ncols=columns, fontsize=LEGEND_PT,
                      frameon=False, borderaxespad=0, handlelength=2.5, labelspacing=0.45, columnspacing=1.2,
                      handler_map={SquareEntry: HandlerPatch(patch_func=_square)})


def frame_map(fig, ax, *, title: str, subtitle: str, handles: list, footer: list[str],
              extent: gpd.GeoSeries, margin: float = 0.08, alerts: list[str] = (), locator=None,
              key_rows: int = 0, author: str | None = None, panel_in: float = PANEL_IN):
    """Lay out the page around the map and frame the view on ``extent`` (metric CRS); the box left for a key
    (figure fractions ``[x, y, width, height]``: beside the legend, or with ``key_rows`` a row of its own over the
    footer for that many names) is returned, for :func:`draw_key`.

    Title and subtitle on top, then the ``alerts`` in red (checks the territory fails); at the bottom the
    ``footer`` lines (sources, limits, who made the map — ``author``, printed as written — and when). The legend
    of ``handles`` (a handle, or a pair handle and geometry: the entry is left out when the geometry is not in
    view), the ``locator`` inset
    (a function drawing on the inset axes, given the view box) and the key go in a panel on the right of
    a landscape page (``panel_in`` inches wide), in a band under the map on a portrait one. The view is
    framed at a round scale, with a scale bar, the numeric scale and a north arrow. Draw the layers before,
    the labels (:class:`MapLabels`) after.
    """
    page_w, page_h = fig.get_size_inches()
    edge, gap, gap_x = EDGE_IN / page_h, GAP_IN / page_h, GAP_IN / page_w
    full = 1 - 2 * SIDE_MARGIN
    title_text = _page_text(fig, SIDE_MARGIN, 1 - edge, [title], full, fontsize=TITLE_PT, weight="bold", va="top")
    subtitle_top = 1 - edge - _height(fig, title_text) - gap / 2
    subtitle_text = _page_text(fig, SIDE_MARGIN, subtitle_top, [subtitle], full, fontsize=SUBTITLE_PT, va="top")
    map_top = subtitle_top - _height(fig, subtitle_text) - gap
    if alerts:
        alert_text = _page_text(fig, SIDE_MARGIN, map_top + gap / 2, list(alerts), full, fontsize=SUBTITLE_PT - 1,
                                va="top", weight="bold", color=ALERT_COLOUR)
        map_top -= _height(fig, alert_text) + gap / 2
    made = f"Réalisé par {clean_text(author)} — carte" if author and clean_text(author) else "Carte"
    lines = [*footer, f"{made} produite avec cpts-geo le {date.today():%d/%m/%Y}."]
    footer_text = _page_text(fig, SIDE_MARGIN, edge, lines, full, fontsize=FOOTER_PT, va="bottom", color="#333333")
    bottom = edge + _height(fig, footer_text) + gap
    landscape = page_w > page_h
    # with ``key_rows``, a row for the key under the map (and the band of a portrait page)
    key_w = full - (panel_in / page_w + gap_x if landscape else 0)
    key_pt, key_column_in = _key_style(key_rows)
    key_h = (math.ceil(key_rows / max(1, int(key_w * page_w / key_column_in))) + 1.5) * key_pt * 1.25 / 72 / page_h
    key_row = [SIDE_MARGIN, bottom, key_w, key_h] if key_rows else None
    map_bottom = bottom + key_h + gap if key_rows else bottom
    if not landscape:
        bottom = map_bottom
    entries = _entries(handles)
    smaller = min(1.0, page_w / A4_INCHES["portrait"][0])      # a page narrower than A4 (the DOCX map)
    inset_w, inset_h = (INSET_IN[0] * smaller / page_w, INSET_IN[1] * smaller / page_h) if locator else (0, 0)
    if landscape:
        legend_w, columns = panel_in / page_w, 1
    else:                                                   # portrait: the band left of the inset
        legend_w = full - inset_w - gap_x
        columns = 2 if legend_w * page_w >= 2 * LEGEND_COLUMN_IN else 1

    def layout(shown: list):
        """The legend of ``shown``, and the boxes of the inset, the key and the map around it."""
        if landscape:                                       # landscape: panel on the right
            panel_w = panel_in / page_w
            panel_x = 1 - SIDE_MARGIN - panel_w
            inset_box = [panel_x + (panel_w - inset_w) / 2, map_top - inset_h, inset_w, inset_h]
            legend = _legend(fig, shown, (panel_x, map_top - inset_h - (gap if locator else 0)), legend_w, columns)
            legend_bottom = legend.get_bbox_to_anchor().transformed(fig.transFigure.inverted()).y1 \
                - _height(fig, legend)
            key_box = [panel_x, bottom, panel_w, legend_bottom - gap - bottom]
            return legend, inset_box, key_box, [SIDE_MARGIN, map_bottom, panel_x - gap_x - SIDE_MARGIN,
                                                 map_top - map_bottom]
        legend = _legend(fig, shown, (SIDE_MARGIN, 0.5), legend_w, columns)  # portrait: band under the map
        band_h = max(_height(fig, legend), inset_h)
        legend.set_bbox_to_anchor((SIDE_MARGIN, bottom + band_h), transform=fig.transFigure)
        legend_right = SIDE_MARGIN + min(_width(fig, legend), legend_w) + gap_x
        inset_box = [1 - SIDE_MARGIN - inset_w, bottom + band_h - inset_h, inset_w, inset_h]
        key_box = [legend_right, bottom, inset_box[0] - gap_x - legend_right, band_h]
        return legend, inset_box, key_box, [SIDE_MARGIN, bottom + band_h + gap, full, map_top - bottom - band_h - gap]

    # the legend says only what the map shows: laid out again when the view leaves some entries out
    shown = [handle for handle, _ in entries]
    for attempt in range(3):
        legend, inset_box, key_box, map_box = layout(shown)
        ax.set_position(map_box)
        fit_view(ax, extent, margin, round_scale=True)
        (xmin, xmax), (ymin, ymax) = ax.get_xlim(), ax.get_ylim()
        view = shapely.box(xmin, ymin, xmax, ymax)
        in_view = [handle for handle, geometry in entries if geometry is None or _in_view(geometry, view)]
        if in_view == shown:
            break
        legend.remove()
        if attempt == 2:                                    # the last layout kept, with the entries in view
            anchor = legend.get_bbox_to_anchor().transformed(fig.transFigure.inverted())
            legend = _legend(fig, in_view, (anchor.x0, anchor.y1), legend_w, columns)
        shown = in_view
    if locator:                                             # its title (two lines at most) inside the box
        inset = fig.add_axes([*inset_box[:3], inset_box[3] - INSET_TITLE_IN / page_h])
        _bare(inset, 0.5)
        locator(inset, view)
    _scale_bar(ax)
    _north_arrow(ax)
    fig.metadata.update({"Title": title, "Subject": f"{subtitle}. Sources : " + " ".join(
        line for line in footer if not line.startswith("Limite"))})
    return key_row or key_box


def _in_view(geometry, view) -> bool:
    geometries = geometry.geometry.array if isinstance(geometry, (gpd.GeoSeries, gpd.GeoDataFrame)) else [geometry]
    return bool(shapely.intersects(np.asarray(geometries, dtype=object), view).any())


def fit_view(ax, geometry: gpd.GeoSeries, margin: float = 0.08, round_scale: bool = False) -> None:
    """Frame the view on ``geometry`` with an equal aspect that fills the axes; with ``round_scale``, widened
    to the next round scale (1:250 000 rather than 1:231 512)."""
    xmin, ymin, xmax, ymax = geometry.total_bounds
    width, height = (xmax - xmin) * (1 + 2 * margin), (ymax - ymin) * (1 + 2 * margin)
    box = ax.get_position(original=True)
    fig_w, fig_h = ax.figure.get_size_inches()
    aspect = (box.height * fig_h) / (box.width * fig_w)
    if height / width < aspect:
        height = width * aspect
    else:
        width = height / aspect
    if round_scale:
        scale = width / (box.width * fig_w * 0.0254)
        power = 10 ** math.floor(math.log10(scale))
        nice = next(step * power for step in NICE_SCALES if step * power >= scale * 0.9999)
        width, height = width * nice / scale, height * nice / scale
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    ax.set_xlim(cx - width / 2, cx + width / 2)
    ax.set_ylim(cy - height / 2, cy + height / 2)
    ax.set_aspect("equal")


def map_scale(ax) -> float:
    """The denominator of the numeric scale of the map on the page (metres of the map per metre of paper)."""
    xmin, xmax = ax.get_xlim()
    return (xmax - xmin) / (ax.get_position().width * ax.figure.get_size_inches()[0] * 0.0254)


def _scale_bar(ax) -> None:
    """A scale bar of a round length about a fifth of the map width, at least :data:`SCALE_BAR_IN` on paper so that
    its distances do not run into one another on a small map (metres, metric CRS), the numeric scale right of its
    last length, both on a white box that the names of the map (:class:`MapLabels`) leave clear."""
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    target = max((xmax - xmin) / 5, map_scale(ax) * SCALE_BAR_IN * 0.0254)
    length = min((m * 10 ** e for e in range(1, 7) for m in (1, 2, 5)), key=lambda v: abs(v - target))
    x0, y0, height = xmin + (xmax - xmin) * 0.04, ymin + (ymax - ymin) * 0.03, (ymax - ymin) * 0.008
    artists = [ax.add_patch(Rectangle((x0 + i * length / 2, y0), length / 2, height, edgecolor="black",
                                      facecolor="black" if i == 0 else "white", linewidth=0.8, zorder=10))
               for i in range(2)]
    artists += [ax.text(x0 + position, y0 + height * 1.8, text, ha="center", va="bottom", fontsize=8, zorder=10)
                for position, text in ((0, "0"), (length / 2, _distance(length / 2)), (length, _distance(length)))]
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()
    last_right = to_data.transform(artists[-1].get_window_extent(renderer).p1)[0]
    artists.append(ax.text(last_right + (xmax - xmin) * 0.015, y0 + height / 2, f"Échelle 1:{fr_int(map_scale(ax))}",
                           ha="left", va="center", fontsize=8, zorder=10))
    block = Bbox.union([artist.get_window_extent(renderer) for artist in artists]).padded(3)
    (left, bottom), (right, top) = to_data.transform(block.get_points())
    ax.add_patch(Rectangle((left, bottom), right - left, top - bottom, facecolor="white", alpha=0.8,
                           edgecolor="none", zorder=9.5))


def _distance(metres: float) -> str:
    """A length of the scale bar in French: ``500 m``, ``2,5 km``."""
    return f"{metres / 1000:g}".replace(".", ",") + "\u00a0km" if metres >= 1000 else f"{metres:g}\u00a0m"


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.95, 0.97), xytext=(0.95, 0.89), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, weight="bold", arrowprops={"facecolor": "black", "width": 4, "headwidth": 11},
                zorder=10, path_effects=HALO)


def _key_style(count: int) -> tuple[float, float]:
    """Font size (points) and column width (inches) of a key of ``count`` names: smaller for a long key."""
    return (KEY_PT, KEY_COLUMN_IN) if count <= 40 else (5.5, 1.6)


def _key_columns(lines: list[str], characters: int, rows: int) -> list[list[str]] | None:
    """``lines`` wrapped at ``characters`` (a long name goes on over the next line, indented) and put in columns of
    at most ``rows`` lines, a name never split between two columns; None when a name is longer than a column."""
    columns, column = [], []
    for line in lines:
        wrapped = textwrap.wrap(line, characters, subsequent_indent="    ", break_on_hyphens=False)
        if len(wrapped) > rows:
            return None
        if len(column) + len(wrapped) > rows:
            columns.append(column)
            column = []
        column += wrapped
    return [*columns, column] if column else columns


def _draw_key_columns(fig, box: list[float], title: str, size: float, columns: list[list[str]]) -> bool:
    """The key's title and each of its columns as one text; nothing drawn and False when a column is measured wider
    than its share of ``box`` (the width of the characters is only estimated)."""
    column_w = box[2] / len(columns)
    top = box[1] + box[3] - size * 1.6 / 72 / fig.get_size_inches()[1]
    texts = [fig.text(box[0] + number * column_w, top, "\n".join(column), fontsize=size, va="top", linespacing=1.25)
             for number, column in enumerate(columns)]
    if all(_width(fig, text) <= column_w * 0.97 for text in texts):
        fig.text(box[0], box[1] + box[3], title, fontsize=size + 0.5, weight="bold", va="top")
        return True
    for text in texts:
        text.remove()
    return False


def draw_key(fig, box: list[float], title: str, names: list[str]) -> bool:
    """Numbered names (``1 Badaroux`` …) in as few columns as ``box`` (figure fractions) allows, a long name wrapped
    over the next lines rather than cut; the font shrinks down to 5 pt before names are shortened (« … »), when
    even wrapped they cannot fit. Whether they fit whole is returned."""
    if not names:
        return True
    lines = [f"{number} {name}" for number, name in enumerate(names, start=1)]
    width_pt, height_pt = box[2] * fig.get_size_inches()[0] * 72, box[3] * fig.get_size_inches()[1] * 72
    sizes = [s for s in (KEY_PT, 6, 5.5, 5) if s <= _key_style(len(names))[0]]
    for size in sizes:
        rows = max(1, int(height_pt / (size * 1.25)) - 1)
        for count in range(math.ceil(len(lines) / rows), len(lines) + 1):
            for characters in range(int(width_pt / count / (size * 0.55)), 11, -2):
                columns = _key_columns(lines, characters, rows)
                if columns is None or len(columns) > count:
                    break
                if _draw_key_columns(fig, box, title, size, columns):
                    return True
            if width_pt / count / (size * 0.55) < 12:
                break
    size = sizes[-1]   # names cut to the width of their column
    rows = max(1, int(height_pt / (size * 1.25)) - 1)
    columns = [lines[start:start + rows] for start in range(0, len(lines), rows)]
    for limit in range(int(width_pt / len(columns) / (size * 0.55)), 7, -2):
        if _draw_key_columns(fig, box, title, size, [[line if len(line) <= limit else line[:limit - 1] + "…"
                                                      for line in column] for column in columns]):
            break
    return False


class MapLabels:
    """Names on a map that cover neither one another nor the scale bar and north arrow, and, when asked,
    neither the ``avoid`` geometry (the territory, which the names of its surroundings must leave clear).

    Create it after :func:`frame_map` (the view is final).
    """

    # moves tried, in label heights (vertical) and half label widths (horizontal), nearest first
    SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (1, 1), (-1, -1), (1, -1), (-1, 1))

    def __init__(self, ax, avoid=None):
        self.ax = ax
        self.renderer = ax.figure.canvas.get_renderer()
        self.placed = [artist.get_window_extent(self.renderer) for artist in [*ax.texts, *ax.patches]]
        (xmin, xmax), (ymin, ymax) = ax.get_xlim(), ax.get_ylim()
        self.view = shapely.box(xmin, ymin, xmax, ymax)
        self.avoid = avoid

    def add(self, geometry: gpd.GeoSeries, names, fontsize: float, min_area: float = 0.0, optional: bool = False,
            weight: str = "normal", colour: str = "black", boxed: bool = True, inside: float = 0.0,
            avoid: bool = False, reach: int = 0) -> list[int]:
        """Name each shape at a point of its visible part, if that part is at least ``min_area``; the positions
        (in ``names``) of the names not placed cleanly are returned.

        A name that would cover one already placed, have less than the share ``inside`` of its box on its
        shape or, with ``avoid``, touch the ``avoid`` geometry, moves up, down or sideways (with ``reach``, up to
        that many label sizes away, a thin leader line to its point when it leaves it); if it still would, an
        ``optional`` one is left out, another stays where it is.
        """
        visible = geometry.intersection(self.view).buffer(0)  # polygons only (no edge lines)
        if avoid and self.avoid is not None:
            visible = visible.difference(self.avoid)
        shown = (~visible.is_empty & (visible.area >= min_area)).to_numpy()
        # the pole of inaccessibility: the point farthest inside the shape, where a name reads best
        anchors = shapely.get_point(shapely.maximum_inscribed_circle(visible[shown].values), 0)
        boxing = {"bbox": {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75, "linewidth": 0}} \
            if boxed else {"path_effects": HALO}
        missed = [position for position, visible_enough in enumerate(shown) if not visible_enough]
        positions = [position for position, visible_enough in enumerate(shown) if visible_enough]
        for position, point, name, shape in zip(positions, anchors, compress(names, shown), visible[shown].values):
            text = self.ax.text(point.x, point.y, name, ha="center", va="center", fontsize=fontsize, weight=weight,
                                color=colour, zorder=6, clip_on=True, **boxing)
            if not self._place(text, optional, shape if inside else None, inside, avoid and self.avoid is not None,
                               reach):
                missed.append(position)
        return sorted(missed)

    def _box(self, extent):
        (x0, y0), (x1, y1) = self.ax.transData.inverted().transform([[extent.x0, extent.y0], [extent.x1, extent.y1]])
        return shapely.box(x0, y0, x1, y1)

    @staticmethod
    def _shifts(reach: int) -> list[tuple[int, int]]:
        """:data:`SHIFTS`, then every shift up to ``reach`` steps away, nearest first."""
        farther = sorted({(dx, dy) for dx in range(-2 * reach, 2 * reach + 1) for dy in range(-reach, reach + 1)}
                         - set(MapLabels.SHIFTS), key=lambda shift: (abs(shift[0]) / 2) ** 2 + shift[1] ** 2)
        return [*MapLabels.SHIFTS, *farther]

    def _place(self, text, optional: bool, shape, inside: float, avoid: bool, reach: int = 0) -> bool:
        x, y = text.get_position()
        extent = text.get_window_extent(self.renderer)       # measured once, then moved by whole shifts
        axes_box = self.ax.bbox
        step_x, step_y = extent.width * 0.55, extent.height * 1.15
        to_data = ((self.ax.get_xlim()[1] - self.ax.get_xlim()[0]) / axes_box.width,
                   (self.ax.get_ylim()[1] - self.ax.get_ylim()[0]) / axes_box.height)
        placed = np.array([(b.x0, b.y0, b.x1, b.y1) for b in self.placed]).reshape(-1, 4)
        for shift_x, shift_y in self._shifts(reach) if reach else self.SHIFTS:
            moved = extent.translated(shift_x * step_x, shift_y * step_y)
            in_axes = axes_box.x0 <= moved.x0 and moved.x1 <= axes_box.x1 and \
                axes_box.y0 <= moved.y0 and moved.y1 <= axes_box.y1
            if not in_axes or ((placed[:, 0] < moved.x1) & (placed[:, 2] > moved.x0) & (placed[:, 1] < moved.y1)
                               & (placed[:, 3] > moved.y0)).any():
                continue
            box = self._box(moved) if shape is not None or avoid else None
            if shape is not None and shape.intersection(box).area < inside * box.area:
                continue
            if avoid and self.avoid.intersects(box):
                continue
            text.set_position((x + shift_x * step_x * to_data[0], y + shift_y * step_y * to_data[1]))
            self.placed.append(moved)
            anchor = ((extent.x0 + extent.x1) / 2, (extent.y0 + extent.y1) / 2)
            if reach and not moved.contains(*anchor):                # moved off its point: a leader line to it
                ends = self.ax.transData.inverted().transform([anchor, (
                    min(max(anchor[0], moved.x0), moved.x1), min(max(anchor[1], moved.y0), moved.y1))])
                self.ax.plot(ends[:, 0], ends[:, 1], color=text.get_color(), linewidth=0.4, zorder=5.9)
            return True
        if optional:
            text.remove()
        else:
            self.placed.append(extent)
        return False


def _search_box(extent: gpd.GeoSeries):
    """A square around ``extent`` that holds any view :func:`fit_view` gives of it on an A4 page."""
    xmin, ymin, xmax, ymax = extent.total_bounds
    half = 1.3 * max(xmax - xmin, ymax - ymin, 2000)
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    return shapely.box(cx - half, cy - half, cx + half, cy + half)


def _land(bundle, box, crs: str) -> gpd.GeoDataFrame:
    """The IRIS whose bounds meet ``box`` (in ``crs``, their metric CRS), in ``crs``."""
    iris = bundle.iris
    xmin, ymin, xmax, ymax = box.bounds
    inside = ((iris["crs"] == crs) & (iris["xmax"] >= xmin) & (iris["xmin"] <= xmax) & (iris["ymax"] >= ymin)
              & (iris["ymin"] <= ymax)).to_numpy()
    return bundle.iris_geometry(iris.index[inside]).to_crs(crs)


def _surroundings(bundle, extent: gpd.GeoSeries, crs: str):
    """What any view of ``extent`` (metric ``crs``) may show around it: the square searched (:func:`_search_box`),
    its IRIS, their communes (dissolved, with their ``nom``) and what the IRIS contours do not cover there (sea,
    étangs, abroad)."""
    search = _search_box(extent)
    land = _land(bundle, search, crs)
    around = gpd.GeoDataFrame(geometry=_communes_of(land))
    around["nom"] = bundle.communes.loc[around.index, "nom"]
    sea = shapely.difference(search, shapely.coverage_union_all(around.geometry.values))
    sea = gpd.GeoSeries([part for part in shapely.get_parts(sea) if part.area > search.area / 20_000], crs=crs)
    return search, land, around, sea


def _communes_of(iris: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """The communes of ``iris`` (indexed by ``code_insee``) dissolved from their IRIS; a commune of one IRIS is
    taken as it is (most of them: dissolving each would take seconds for a région)."""
    several = iris["code_insee"].duplicated(keep=False).to_numpy()
    alone = iris.loc[~several].set_index("code_insee").geometry
    dissolved = iris.loc[several, ["code_insee", "geometry"]].dissolve(by="code_insee", method="coverage").geometry
    return gpd.GeoSeries(pd.concat([alone, dissolved]).sort_index(), crs=iris.crs).rename_axis("code_insee")


def _sea_entry(sea: gpd.GeoSeries, contours: str = "IRIS") -> list:
    """The legend entry of the sea tint (kept only when the sea shows in view), none without sea; ``contours``: what
    the zones are (« IRIS », « des communes » overseas)."""
    return [] if sea.empty else [(Patch(facecolor=SEA_COLOUR, edgecolor="none",
                                        label=f"Mer, étang, étranger (hors des contours {contours})"), sea)]


def _internal_limits(land: gpd.GeoDataFrame, column: str) -> gpd.GeoSeries:
    """The limits between the groups of ``column`` (départements) of ``land``, coasts and frontiers left out
    (the IRIS are a coverage: the groups share their limits exactly)."""
    groups = land[[column, "geometry"]].dissolve(by=column, method="coverage").geometry
    if len(groups) < 2:
        return gpd.GeoSeries([], crs=land.crs)
    outer = shapely.coverage_union_all(groups.values).boundary
    return gpd.GeoSeries([shapely.difference(shapely.union_all(groups.boundary.values), outer)], crs=land.crs)


def framed_parts(selected: gpd.GeoDataFrame, commune_names) -> tuple[gpd.GeoSeries, str | None]:
    """The parts of a territory's zones (``selected``: metric CRS, with ``code_insee``) that its map frames, and a
    note on those left out naming their communes (``commune_names``: code → name), or None.

    Framed: the largest part of each zone (a zone far from the others stays in view: the contiguity check
    names it), the parts near them (:data:`FRAME_REACH`) and any part of :data:`FRAME_MIN_SHARE` of the area at
    least. Left out: small parts far away, such as the islets of Cayenne 45 to 174 km off its coast, which
    would shrink the territory to a dot at 1:1 250 000."""
    parts = selected[["code_insee", "geometry"]].explode(index_parts=False)
    areas = parts.area
    core = (areas == areas.groupby(level=0).transform("max")).to_numpy()
    main = shapely.union_all(parts.geometry.values[core])
    xmin, ymin, xmax, ymax = main.bounds
    distance = parts.distance(main).to_numpy()
    kept = core | (areas >= FRAME_MIN_SHARE * areas.sum()).to_numpy() | \
        (distance <= FRAME_REACH * max(xmax - xmin, ymax - ymin))
    if kept.all():
        return parts.geometry, None
    far = parts[~kept]
    names = ", ".join(sorted({commune_names[code] for code in far["code_insee"]}))
    note = (f"Hors du cadre : {_count(len(far), 'partie')} détachée{'s' if len(far) > 1 else ''} de {names} "
            f"(îlots, {fr_decimal(far.area.sum() / 1e6, 2)} km², jusqu'à {fr_int(distance[~kept].max() / 1000)} km), "
            "qui font partie du territoire.")
    return parts.geometry[kept], note


def _epci_outlines(bundle, epci, crs) -> gpd.GeoDataFrame:
    """The whole shapes of some EPCI (:class:`~cpts_geo.territory.model.EpciPart`), dissolved from their communes."""
    members = sorted({c for e in epci for c in bundle.epci_communes.get(e.code, ())} & set(bundle.iris_by_commune))
    if not members:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    return bundle.commune_geometry(members)[["epci", "geometry"]].dissolve(by="epci").to_crs(crs)


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'s' if number > 1 else ''}"


def _darker(colour: str, factor: float = 0.45) -> tuple:
    return tuple(channel * factor for channel in matplotlib.colors.to_rgb(colour))


def _locator(bundle, departements: list[str], outline, crs: str):
    """The inset drawer of a territory: its région(s) by département (its own darker), the territory, the view."""
    table = departements_table().set_index("code_departement")
    regions = list(dict.fromkeys(table.loc[departements, "code_region"]))
    iris = bundle.iris
    shapes = bundle.iris_geometry(iris.index[iris["departement"].isin(table.index[table["code_region"].isin(regions)])])
    parts = shapes[["departement", "geometry"]].dissolve(by="departement", method="coverage").to_crs(crs).geometry
    parts = gpd.GeoSeries(shapely.simplify(parts.values, 200), index=parts.index, crs=crs)
    names = ", ".join(table.loc[d, "nom_departement"] for d in departements)
    region_name = ", ".join(dict.fromkeys(table.loc[departements, "nom_region"]))

    def draw(ax, view) -> None:
        ax.set_facecolor("white")
        own = parts.index.isin(departements)
        draw_shapes(ax, parts[~own].values, 1, facecolor="#e6e6e6", edgecolor="white", linewidth=0.6)
        draw_shapes(ax, parts[own].values, 1, facecolor="#bdbdbd", edgecolor="white", linewidth=0.6)
        draw_shapes(ax, outline.values, 2, facecolor=TERRITORY_COLOUR, edgecolor="black", linewidth=0.5)
        draw_shapes(ax, [view], 3, facecolor="none", edgecolor=ALERT_COLOUR, linewidth=0.8)
        fit_view(ax, gpd.GeoSeries([*parts.values, view], crs=crs), 0.03)
        title = names if names == region_name else f"{names} ({region_name})"
        ax.set_title(textwrap.fill(f"Situation : {title}", 40), fontsize=6.5, pad=2)
    return draw


def _name_places(selected: gpd.GeoDataFrame, inside: gpd.GeoDataFrame, split: list[str]) -> gpd.GeoSeries:
    """Where each commune of the territory is named (``inside``: its part): a split commune on its smaller IRIS
    (those up to the median area), where it is most built up, so that its name never sits alone on one large IRIS
    (« Route de Canet » named « Perpignan »), which keeps its own name."""
    places = inside.geometry.copy()
    for code in split:
        areas = selected.loc[selected["code_insee"] == code].geometry.area
        places[code] = shapely.union_all(selected.geometry[areas.index[areas <= areas.median()]].values)
    return places


def territory_map(bundle, territory: Territory, others: dict[str, frozenset[str]] | None = None,
                  orientation: str = "portrait", alerts: list[str] = (), author: str | None = None,
                  size: tuple[float, float] | None = None):
    """The A4 map of a CPTS territory (:class:`MapFigure`); ``others``: neighbouring CPTS, name → IRIS codes
    (the territory itself among them is left out); ``alerts``: checks the territory fails, printed in red under
    the subtitle; ``author``: the porteur, printed in the footer (« Réalisé par … ») and written in the document's
    metadata with cpts-geo; ``size``: the page in
    inches instead of A4 (the DOCX takes the map at its text width).

    The territory filled, split communes at IRIS level (the part left out dotted, its IRIS named),
    every commune named (or numbered, with the key beside the map, where names do not fit), the
    neighbouring CPTS in view each with its colour, hatching and name (the IRIS of a split commune in none dotted
    apart), the communes around in grey and
    what the IRIS contours do not cover (sea, étangs, abroad) tinted, EPCI and département limits, a
    locator inset of the région.
    """
    summary = summarize(bundle, territory)
    crs = metric_crs(summary)
    communes = sorted(territory.communes(bundle))
    split = [p.code_insee for p in summary.split_communes]
    selected = bundle.iris_geometry(sorted(territory.iris)).to_crs(crs)
    outline = gpd.GeoSeries([selected.geometry.union_all()], crs=crs)
    framed, far_note = framed_parts(selected, bundle.communes["nom"])   # far islets left out (Cayenne), noted
    groups = far_apart_groups(shapely.union_all(framed.values))         # pieces far apart (Mende + Brest): a frame each
    if len(groups) > 1:
        return pieces_map(bundle, territory, selected, groups, orientation, alerts, author, size)
    search, land, around, sea = _surroundings(bundle, framed, crs)
    neighbours, _ = others_without_self(territory, others or {})
    in_neighbours = frozenset().union(*neighbours.values())
    neighbours = bundle.territory_shapes(neighbours).to_crs(crs)
    neighbours = neighbours[neighbours.intersects(search)]
    styles = [(NEIGHBOUR_PALETTE[n % len(NEIGHBOUR_PALETTE)], NEIGHBOUR_HATCHES[n % len(NEIGHBOUR_HATCHES)])
              for n in range(len(neighbours))]
    departements = _internal_limits(land, "departement")
    crossing = departements.intersection(outline.iat[0].buffer(-1)) if not departements.empty else departements
    crossing = crossing[~crossing.is_empty]
    epci = _epci_outlines(bundle, summary.epci, crs)
    if split:
        iris_of_split = bundle.iris_geometry([i for c in split for i in bundle.iris_by_commune[c]]).to_crs(crs)
        # left out and in no CPTS: those of a neighbouring CPTS are drawn with its style
        left_out = iris_of_split.drop(index=sorted((territory.iris | in_neighbours) & set(iris_of_split.index)))
    inside = selected[["code_insee", "geometry"]].dissolve(by="code_insee")  # split communes: their part only
    name_places = _name_places(selected, inside, split)
    names = bundle.communes.loc[inside.index, "nom"].tolist()
    pop = summary.population
    split_text = f" (dont {len(split)} découpée{'s' if len(split) > 1 else ''} en IRIS)" if split else ""
    subtitle = (f"{_count(summary.commune_count, 'commune')}{split_text}{summary.iris_text} — "
                f"{fr_int(pop.value)} habitants (population municipale {pop.millesime}) — "
                f"taille {summary.taille.number}")
    main = sorted({p.departement for p in summary.communes}, key=lambda d: -sum(
        p.departement == d for p in summary.communes))
    locator = _locator(bundle, main, outline, crs)

    def page(key_rows: int):
        """The page, and whether the names of the communes numbered fit in the key."""
        fig, ax = new_map_figure(orientation, size)
        fig.metadata["Author"] = document_author(author)
        ax.set_facecolor(SEA_COLOUR)
        draw_shapes(ax, around.geometry.values, 1, facecolor=LAND_COLOUR, edgecolor=LAND_EDGE, linewidth=0.4)
        handles = [Patch(facecolor=TERRITORY_COLOUR, edgecolor="black", label="Territoire de la CPTS")]
        for (name, shape), (colour, hatch) in zip(neighbours.geometry.items(), styles):
            draw_shapes(ax, [shape], 1.5, facecolor=colour, edgecolor=_darker(colour), hatch=hatch, linewidth=0,
                        alpha=0.55)
            draw_lines(ax, [shape], 4, color=_darker(colour), linewidth=1.2, linestyle="--")
            handles.append((Patch(facecolor=colour, edgecolor=_darker(colour), hatch=hatch, linestyle="--",
                                  alpha=0.55, label=f"CPTS voisine : {name}"), shape))
        handles.append((Patch(facecolor=LAND_COLOUR, edgecolor=LAND_EDGE,
                              label="Commune hors territoire" + ("" if neighbours.empty else " et hors des CPTS voisines")),
                        around.geometry.difference(outline.iat[0])))
        handles += _sea_entry(sea, "des communes" if summary.communes_only else "IRIS")
        draw_shapes(ax, selected.geometry.values, 2, facecolor=TERRITORY_COLOUR, edgecolor="none")
        if split:
            draw_shapes(ax, left_out.geometry.values, 2, linewidth=0.3, **NO_CPTS_STYLE)
            draw_lines(ax, iris_of_split.geometry.values, 3, **IRIS_LINE_STYLE)
            handles += [(Patch(**NO_CPTS_STYLE, label="Commune découpée : IRIS hors territoire" + (
                               "" if neighbours.empty else ", dans aucune CPTS")), left_out),
                        Line2D([], [], **IRIS_LINE_STYLE, label="Limite d'IRIS")]
        draw_lines(ax, around.loc[communes].geometry.values, 3, color="#4d4d4d", linewidth=0.6)
        if not epci.empty:         # under the département dashes, wider: where they meet, both show
            draw_lines(ax, epci.geometry.values, 3.5, color=EPCI_COLOUR, linewidth=1.3, linestyle=EPCI_LINE)
            handles.append((Line2D([], [], color=EPCI_COLOUR, linewidth=1.3, linestyle=EPCI_LINE,
                                   label="Limite d'intercommunalité (EPCI) : "
                                         + ", ".join(e.nom for e in summary.epci)), epci.boundary))
        if not crossing.empty:     # inside the territory, over its commune limits: on a white band, to be seen
            draw_lines(ax, crossing.values, 4.1, color="white", linewidth=DEPARTEMENT_BAND_WIDTH)
        draw_lines(ax, departements.values, 4.2, **DEPARTEMENT_STYLE)
        handles.append((Line2D([], [], **DEPARTEMENT_STYLE, label="Limite de département"), departements))
        draw_lines(ax, outline.values, 5, color="black", linewidth=2.0)
        handles += [Line2D([], [], color="black", linewidth=2, label="Limite du territoire"),
                    Line2D([], [], color="#4d4d4d", linewidth=0.6, label="Limite de commune")]
        key_box = frame_map(fig, ax, title=territory.name or "Territoire de la CPTS", subtitle=subtitle,
                            handles=handles, footer=source_lines(bundle, set(main)), extent=framed, alerts=alerts,
                            locator=locator, key_rows=key_rows, author=author)
        if far_note:               # in the map's free corner, before the names that must not cover it
            ax.text(0.01, 0.99, textwrap.fill(far_note, 55), transform=ax.transAxes, ha="left", va="top",
                    fontsize=7, zorder=10, bbox={"boxstyle": "round,pad=0.3", "facecolor": "white", "alpha": 0.85,
                                                 "linewidth": 0})
        labels = MapLabels(ax, avoid=outline.iat[0])
        fontsize = 8 if len(names) <= 15 else 7
        unnamed = labels.add(name_places, names, fontsize, optional=True, inside=0.6)
        unnamed = sorted(unnamed, key=lambda position: names[position])
        labels.add(name_places.iloc[unnamed], [str(n) for n in range(1, len(unnamed) + 1)],
                   fontsize - 1 if len(unnamed) <= 30 else 5.5, weight="bold", boxed=len(unnamed) <= 30)
        fits = draw_key(fig, key_box, "Communes du territoire", [names[position] for position in unnamed])
        for (name, shape), (colour, _) in zip(neighbours.geometry.items(), styles):
            labels.add(gpd.GeoSeries([shape], crs=crs), [name], 8, optional=True, weight="bold", boxed=False,
                       colour=_darker(colour), avoid=True)
        if split:
            parts = selected.loc[selected["code_insee"].isin(split)]
            labels.add(parts.geometry, parts["nom_iris"], 5.5, optional=True, inside=0.9,
                       colour="#333333", boxed=False)
        others_around = around.drop(index=communes)
        labels.add(others_around.geometry, others_around["nom"], 6, labels.view.area / 150, optional=True,
                   colour="#555555", boxed=False, avoid=True)
        return fig, fits, len(unnamed)

    fig, fits, numbered = page(0)
    # the key of numbered communes did not fit beside the legend: a row of its own under the map
    return fig if fits else page(numbered)[0]


#: markers of the zones too small to see at the scale of a région: overlaps circled, isolated zones squared
ZONE_MARKERS = {"chevauchement": ("o", "-", "Repère d'un chevauchement (cercle rouge)"),
                "zone_isolee": ("s", "--", "Repère d'une zone isolée (carré rouge tireté)")}
MARKER_MIN_PT = 7                    # smallest radius of a marker, in points


def _print_tolerance(ax, points: float = 0.5) -> float:
    """``points`` printed points in metres of the map at its scale: finer details do not show on paper."""
    return map_scale(ax) * 0.0254 / 72 * points


def _zone_markers(ax, zones: dict[str, list], zorder: float = 7) -> None:
    """A red circle (overlap) or dashed square (isolated zone) around each zone of ``zones`` (kind of
    :data:`ZONE_MARKERS` → shapely geometries), at least :data:`MARKER_MIN_PT` in radius so that it shows at
    any scale; each patch has the kind as its ``gid``."""
    metres_per_point = _print_tolerance(ax, 1)
    for kind, geometries in zones.items():
        marker, linestyle, _ = ZONE_MARKERS[kind]
        for geometry in geometries:
            xmin, ymin, xmax, ymax = geometry.bounds
            radius = max(math.hypot(xmax - xmin, ymax - ymin) / 2 + 2 * metres_per_point,
                         MARKER_MIN_PT * metres_per_point)
            centre = ((xmin + xmax) / 2, (ymin + ymax) / 2)
            style = {"facecolor": "none", "edgecolor": ALERT_COLOUR, "linewidth": 1.4, "linestyle": linestyle,
                     "zorder": zorder, "gid": kind}
            ax.add_patch(Circle(centre, radius, **style) if marker == "o" else
                         Rectangle((centre[0] - radius, centre[1] - radius), 2 * radius, 2 * radius, **style))


def _marker_entries(zones: dict[str, list]) -> list:
    """The legend entries of the markers drawn, as drawn: a red circle, a dashed red square."""
    style = {"facecolor": "none", "edgecolor": ALERT_COLOUR, "linewidth": 1.4}
    return [Line2D([], [], marker="o", markersize=9, markerfacecolor="none", markeredgecolor=ALERT_COLOUR,
                   markeredgewidth=1.4, linestyle="none", label=label) if marker == "o" else
            SquareEntry(**style, linestyle=linestyle, label=label)
            for kind, (marker, linestyle, label) in ZONE_MARKERS.items() if zones.get(kind)]


def _in_view_simplified(shapes: gpd.GeoSeries, view, tolerance: float) -> gpd.GeoSeries:
    """The shapes meeting ``view``, simplified to ``tolerance``."""
    shapes = shapes[shapes.intersects(view)]
    return gpd.GeoSeries(shapely.simplify(shapes.values, tolerance, preserve_topology=True), index=shapes.index,
                         crs=shapes.crs)


def far_apart_groups(outline, near: float = 50_000, ratio: float = 3.0) -> list:
    """The pieces of ``outline`` (metric CRS) in groups of pieces less than ``near`` metres apart, largest first,
    when the whole is more than ``ratio`` times as wide as its largest group (framed whole, each group would be a
    speck: Mende and Brest); else the outline alone."""
    pieces = shapely.get_parts(outline)
    clusters = shapely.get_parts(shapely.union_all(shapely.buffer(pieces, near / 2))) if len(pieces) > 1 else []
    if len(clusters) < 2:
        return [outline]
    groups = sorted((shapely.union_all(pieces[shapely.intersects(pieces, cluster)]) for cluster in clusters),
                    key=lambda group: -group.area)
    return groups if _span(outline, near) > ratio * max(_span(group, near) for group in groups) else [outline]


def _span(geometry, least: float = 0.0) -> float:
    """The width or height of ``geometry``, the larger, and at least ``least``."""
    xmin, ymin, xmax, ymax = geometry.bounds
    return max(xmax - xmin, ymax - ymin, least)


def pieces_map(bundle, territory: Territory, selected: gpd.GeoDataFrame, groups: list, orientation: str = "portrait",
               alerts: list[str] = (), author: str | None = None, size: tuple[float, float] | None = None):
    """The A4 map of a territory in pieces far apart (:func:`far_apart_groups`): one frame per group of pieces, each
    at its own round scale with its scale bar, the communes around in grey, its communes named (or left to the
    table where they do not fit); the checks it fails (``alerts``) in red. Only the land near each piece is read:
    written in seconds whatever the distance between the pieces."""
    summary = summarize(bundle, territory)
    crs = metric_crs(summary)
    fig, ax = new_map_figure(orientation, size)
    fig.metadata["Author"] = document_author(author)
    # a frame may be narrower than a page: the land around read over the group widened by its own span
    surroundings = [_surroundings(bundle, gpd.GeoSeries([group], crs=crs).buffer(_span(group)), crs)
                    for group in groups]
    handles = [Patch(facecolor=TERRITORY_COLOUR, edgecolor="black", label="Territoire de la CPTS"),
               Patch(facecolor=LAND_COLOUR, edgecolor=LAND_EDGE, label="Commune hors territoire"),
               *_sea_entry(pd.concat([sea for *_, sea in surroundings]))[:1]]
    subtitle = (f"{_count(summary.commune_count, 'commune')}, {summary.iris_count} IRIS — "
                f"{fr_int(summary.population.value)} habitants — {len(groups)} morceaux éloignés, "
                "chacun dans son cadre à sa propre échelle")
    frame_map(fig, ax, title=territory.name or "Territoire de la CPTS", subtitle=subtitle,
              handles=[handle for handle, _ in _entries(handles)],
              footer=source_lines(bundle, {p.departement for p in summary.communes}),
              extent=gpd.GeoSeries(groups[:1], crs=crs), alerts=alerts)
    box = ax.get_position()
    ax.remove()
    page_w, page_h = fig.get_size_inches()
    gap_x, gap_y = GAP_IN / page_w, (GAP_IN + 0.25) / page_h          # room for the title of the frame below

    def cells(columns: int) -> tuple[int, float, float]:
        rows = math.ceil(len(groups) / columns)
        return columns, (box.width - gap_x * (columns - 1)) / columns, (box.height - gap_y * (rows - 1)) / rows
    # the grid whose frames are the most nearly square
    columns, cell_w, cell_h = min((cells(c) for c in range(1, len(groups) + 1)),
                                  key=lambda grid: abs(math.log(grid[1] * page_w / (grid[2] * page_h))))
    for number, (group, (_, _, around, _)) in enumerate(zip(groups, surroundings)):
        row, column = divmod(number, columns)
        panel = fig.add_axes([box.x0 + column * (cell_w + gap_x), box.y1 - (row + 1) * cell_h - row * gap_y,
                              cell_w, cell_h])
        _bare(panel, 0.6)
        panel.set_facecolor(SEA_COLOUR)
        fit_view(panel, gpd.GeoSeries([group], crs=crs), 0.15, round_scale=True)
        mine = _communes_of(selected[selected.intersects(group)])
        names = bundle.communes.loc[mine.index, "nom"].tolist()
        draw_shapes(panel, around.geometry.values, 1, facecolor=LAND_COLOUR, edgecolor=LAND_EDGE, linewidth=0.4)
        draw_shapes(panel, mine.values, 2, facecolor=TERRITORY_COLOUR, edgecolor="#4d4d4d", linewidth=0.6)
        draw_lines(panel, [group], 5, color="black", linewidth=2.0)
        panel.set_title(f"Morceau {number + 1} : " + ", ".join(names[:3]) + (" …" if len(names) > 3 else ""),
                        fontsize=9, loc="left", pad=3)
        _scale_bar(panel)
        MapLabels(panel).add(mine, names, 7, optional=True)
    return fig


def key_name(name: str) -> str:
    """A CPTS in the key « CPTS numérotées »: its name without a leading « CPTS », which the key's title says."""
    return re.sub(r"^CPTS\s+(?=\S)", "", name, flags=re.IGNORECASE)


def coverage_map(bundle, registry: dict[str, frozenset[str]], report, orientation: str = "landscape",
                 proposed: list[str] | None = None, new_cpts: tuple[str, ...] = ()):
    """The A4 map of the coverage of an area by the CPTS of a registry (ARS view); with ``proposed`` (IRIS codes of
    the zones a plan moves to existing CPTS), the map of the proposed coverage, those zones outlined, and the
    CPTS ``new_cpts`` of the plan in their own colour. Around the area, as on the
    territory map: the other communes in grey, the sea tinted and, for a département, the locator inset.

    Readable at the scale of a région: names never overlap nor leave the map (a CPTS whose name does not fit is
    numbered, with the key beside or under the map), each overlap and isolated zone is marked by a red circle or
    square, département limits are drawn; geometries are simplified to half a printed point and the grey context
    is rasterized, so that the PDF stays light (Occitanie: see README).
    """
    area_codes = bundle.iris.index[report.area.mask]
    crs = local_crs(bundle.iris.loc[area_codes[0], "departement"])
    iris = bundle.iris_geometry(area_codes).to_crs(crs)
    communes = _communes_of(iris)
    outline = gpd.GeoSeries([shapely.coverage_union_all(communes.values)], crs=crs)
    _, _, around, sea = _surroundings(bundle, communes, crs)
    outside = around.geometry.drop(index=communes.index.intersection(around.index))
    departement_limits = _internal_limits(iris, "departement")
    names = report.cpts["name"].tolist()
    in_area = set(area_codes)
    shapes = bundle.territory_shapes({name: registry[name] & in_area for name in names}).to_crs(crs)
    shapes = shapes.reindex([name for name in names if name in shapes.index]).geometry

    def union(codes) -> gpd.GeoSeries:
        """The IRIS ``codes`` of the area as one geometry (none without codes)."""
        return gpd.GeoSeries([shapely.coverage_union_all(iris.loc[sorted(set(codes) & in_area)].geometry.values)]
                             if codes else [], crs=crs)

    marked = {kind: [union(codes).iat[0] for codes in table["iris"]]
              for kind, table in (("chevauchement", report.overlaps), ("zone_isolee", report.isolated))}
    layers = ((union([c for codes in report.white_zones["iris"] for c in codes]),
               {"facecolor": "white", "edgecolor": "#d7191c", "hatch": "xxx", "linewidth": 0.4},
               "Zone blanche (aucune CPTS)"),
              (gpd.GeoSeries(marked["chevauchement"], crs=crs),
               {"facecolor": "#ff7f00", "edgecolor": "black", "hatch": "++", "linewidth": 0.6}, "Chevauchement"),
              (gpd.GeoSeries(marked["zone_isolee"], crs=crs),
               {"facecolor": "none", "edgecolor": "black", "linewidth": 2.2, "linestyle": "--"}, "Zone isolée"),
              (union(proposed or []), {"facecolor": "none", "edgecolor": "#2b5cd6", "linewidth": 1.8, "linestyle": ":"},
               "Zone déplacée par les propositions"))
    new_count = sum(name in new_cpts for name in names)
    handles = [Patch(facecolor=CPTS_PALETTE[0], edgecolor="#333333", label=f"CPTS ({len(names) - new_count})"),
               *([Patch(**NEW_CPTS_STYLE, label=f"Nouvelle CPTS proposée ({new_count})")] if new_count else []),
               (Patch(facecolor=LAND_COLOUR, edgecolor=LAND_EDGE, label="Hors de la zone affichée"), outside),
               *_sea_entry(sea),
               *(Patch(label=label, **{k: v for k, v in style.items() if k != "linewidth"})
                 for shape, style, label in layers if not shape.empty),
               *_marker_entries(marked),
               (Line2D([], [], **DEPARTEMENT_STYLE, label="Limite de département"), departement_limits),
               Line2D([], [], color="black", linewidth=1.2, label="Limite de la zone affichée")]
    subtitle = (f"{len(names)} CPTS — population couverte {fr_int(report.population_covered)} sur "
                f"{fr_int(report.population_total)} ({fr_percent(report.covered_share)}) — population municipale "
                f"{report.millesime}")
    title = "Couverture proposée en CPTS" if proposed is not None else "Couverture en CPTS"
    departements = bundle.iris.loc[area_codes, "departement"].value_counts().index.tolist()
    locator = _locator(bundle, departements, outline, crs) if report.area.kind == "departement" else None

    def page(panel_in: float):
        """The page, and whether the names of the CPTS numbered fit in the key of the side panel."""
        fig, ax = new_map_figure(orientation)
        ax.set_facecolor(SEA_COLOUR)
        key_box = frame_map(fig, ax, title=f"{title} — {report.area.label}", subtitle=subtitle, handles=handles,
                            footer=source_lines(bundle, set(departements)), extent=communes, margin=0.02,
                            locator=locator, panel_in=panel_in)
        (xmin, xmax), (ymin, ymax) = ax.get_xlim(), ax.get_ylim()
        view, tolerance = shapely.box(xmin, ymin, xmax, ymax), _print_tolerance(ax)
        # the dense grey context and commune mesh rasterized (a bitmap: not simplified), the rest vector
        draw_shapes(ax, outside[outside.intersects(view)].values, 1, facecolor=LAND_COLOUR, edgecolor=LAND_EDGE,
                    linewidth=0.25, rasterized=True)
        draw_shapes(ax, shapely.simplify(outline.values, tolerance), 1, facecolor="white", edgecolor="none")
        draw_lines(ax, communes.values, 1.1, color="#b0b0b0", linewidth=0.25, rasterized=True)
        for number, (name, shape) in enumerate(zip(shapes.index, shapely.simplify(shapes.values, tolerance,
                                                                               preserve_topology=True))):
            style = {**NEW_CPTS_STYLE, "facecolor": NEW_CPTS_SHADES[new_cpts.index(name) % len(NEW_CPTS_SHADES)]} \
                if name in new_cpts else {
                "facecolor": CPTS_PALETTE[number % len(CPTS_PALETTE)], "edgecolor": "#333333",
                "hatch": CPTS_HATCHES[number % len(CPTS_HATCHES)]}
            draw_shapes(ax, [shape], 2, **style, linewidth=0.8, alpha=0.9)
        for shape, style, _ in layers:
            draw_shapes(ax, _in_view_simplified(shape, view, tolerance).values, 3, **style)
        draw_lines(ax, shapely.simplify(departement_limits.values, tolerance), 4, **DEPARTEMENT_STYLE)
        draw_lines(ax, shapely.simplify(outline.values, tolerance), 4.5, color="black", linewidth=1.2)
        _zone_markers(ax, marked)
        labels = MapLabels(ax)
        unnamed = labels.add(shapes, shapes.index, 6.5, optional=True, inside=0.5)
        unnamed = sorted(unnamed, key=lambda position: shapes.index[position])
        labels.add(shapes.iloc[unnamed], [str(n) for n in range(1, len(unnamed) + 1)], 6, weight="bold",
                   optional=True, reach=4)
        fits = draw_key(fig, key_box, "CPTS numérotées", [key_name(shapes.index[position]) for position in unnamed])
        return fig, fits

    # a long key of numbered CPTS needs a wider panel (a row under the map would shrink it): taken at once for many
    # CPTS, else when the key did not fit beside the legend
    panel_in = WIDE_PANEL_IN if len(shapes) > WIDE_PANEL_CPTS else PANEL_IN
    fig, fits = page(panel_in)
    return fig if fits or panel_in == WIDE_PANEL_IN else page(WIDE_PANEL_IN)[0]


def save_figure(fig, fmt: str = "png", dpi: int = 300) -> bytes:
    """The figure as PNG (``dpi``) or vector PDF, page size unchanged (A4), with the figure's metadata
    (:class:`MapFigure`) and the date of creation."""
    if fmt not in ("png", "pdf"):
        raise ValueError("fmt must be 'png' or 'pdf'")
    info = getattr(fig, "metadata", {"Author": AUTHOR})
    now = datetime.now(timezone.utc)
    if fmt == "pdf":
        metadata = {**info, "Creator": AUTHOR, "CreationDate": now}
    else:
        metadata = {"Title": info.get("Title", ""), "Author": info["Author"], "Description": info.get("Subject", ""),
                    "Software": AUTHOR, "Creation Time": now.isoformat(timespec="seconds")}
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
    return buffer.getvalue()
