"""Printable A4 maps (PNG 300 dpi, vector PDF): a CPTS territory, or the coverage of an area by CPTS.

Drawn with matplotlib/geopandas in the metric CRS of the area, no network. Both maps share one
frame, public so that other maps can use it:

* :func:`new_map_figure` — an A4 page and the axes of the map;
* :func:`frame_map` — title and subtitle on top, the sources footer and the legend at the bottom,
  the map in between framed on a geometry, a scale bar and a north arrow;
* :class:`MapLabels` — names that do not overlap (optional ones are left out when they would);
* :func:`source_lines` — sources, millésimes and data limits of the bundle, for the footer;
* :func:`save_figure` — PNG or PDF bytes.

Fills use hatching and line styles as well as colour, so a black-and-white print stays readable.
"""

from __future__ import annotations

import io
import textwrap
from itertools import compress
from datetime import date

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import shapely  # noqa: E402
from matplotlib import patheffects  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

from cpts_geo.config import local_crs  # noqa: E402
from cpts_geo.exports.perimeter import metric_crs  # noqa: E402
from cpts_geo.formatting import fr_int, fr_percent  # noqa: E402
from cpts_geo.territory import Territory, summarize  # noqa: E402

plt.rcParams["pdf.fonttype"] = 42  # keep text as text in the PDF
plt.rcParams["font.family"] = "DejaVu Sans"

A4_INCHES = {"portrait": (8.27, 11.69), "landscape": (11.69, 8.27)}
SIDE_MARGIN = 0.04                   # left and right page margins, in figure fractions
EDGE_IN, GAP_IN = 0.3, 0.12          # top/bottom page margin and space between blocks, in inches
TITLE_PT, SUBTITLE_PT, LEGEND_PT, FOOTER_PT = 17, 10, 8, 6.5
LEGEND_COLUMN_PT = 215               # width of one legend column, in points
TERRITORY_COLOUR = "#f4a259"
NEIGHBOUR_COLOUR = "#2a7f62"
EPCI_COLOUR = "#6a3d9a"
ALERT_COLOUR = "#c00000"
EPCI_LINE = (0, (6, 2, 1, 2))
CPTS_PALETTE = ("#8dd3c7", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#bc80bd", "#ccebc5",
                "#a6cee3", "#b2df8a", "#fb9a99", "#cab2d6", "#ffed6f", "#d9d9d9")
CPTS_HATCHES = ("", "//", "\\\\", "..", "xx", "--", "||", "oo")
HALO = [patheffects.withStroke(linewidth=2.2, foreground="white")]


def new_map_figure(orientation: str = "portrait"):
    """An A4 page (``portrait`` or ``landscape``) and the axes of its map, placed by :func:`frame_map`."""
    if orientation not in A4_INCHES:
        raise ValueError(f"orientation must be one of {list(A4_INCHES)}")
    fig = plt.figure(figsize=A4_INCHES[orientation])
    # geopandas redraws the whole figure after each layer; a page that is only saved needs none of that
    fig.canvas.draw_idle = lambda *args, **kwargs: None
    ax = fig.add_axes([SIDE_MARGIN, 0.1, 1 - 2 * SIDE_MARGIN, 0.8])
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)
    return fig, ax


def source_lines(bundle, departements=()) -> list[str]:
    """Sources, millésimes and the data limits that must go with the figures (of ``departements``: overseas
    ones add the source and limits of their commune contours)."""
    meta = bundle.meta
    overseas = any(str(d).startswith("97") for d in departements) and "overseas_source" in meta
    return [f"Contours : {meta.get('iris_source', 'IGN-INSEE CONTOURS-IRIS')} ; Licence Ouverte Etalab 2.0.",
            *([f"Contours outre-mer : {meta['overseas_source']} ; Licence Ouverte Etalab 2.0."] if overseas else []),
            f"Population : {meta.get('population_source', 'INSEE')}.",
            *(f"Limite : {limit}" for limit in [*meta.get("limits", []),
                                                 *(meta.get("limits_overseas", []) if overseas else [])])]


def _page_text(fig, y: float, lines: list[str], **style):
    """Text at the left margin, each line wrapped to the width between the margins (measured once)."""
    text = fig.text(SIDE_MARGIN, y, "\n".join(lines), **style)
    width = text.get_window_extent(fig.canvas.get_renderer()).width
    available = fig.bbox.width * (1 - 2 * SIDE_MARGIN)
    if width > available:
        characters = int(0.97 * available * max(len(line) for line in lines) / width)
        text.set_text("\n".join(textwrap.fill(line, characters, subsequent_indent="    ") for line in lines))
    return text


def _height(fig, artist) -> float:
    """Height of an artist in figure fractions."""
    return artist.get_window_extent(fig.canvas.get_renderer()).height / fig.bbox.height


def frame_map(fig, ax, *, title: str, subtitle: str, handles: list, footer: list[str],
              extent: gpd.GeoSeries, margin: float = 0.08, alerts: list[str] = ()) -> None:
    """Lay out the page around the map and frame the view on ``extent`` (metric CRS).

    Title and subtitle on top, then the ``alerts`` in red (checks the territory fails); at the bottom the ``footer`` lines (sources, limits, date of the map)
    and above them the legend of ``handles``; the map fills the space between. Then a scale bar and
    a north arrow. Draw the layers before, the labels (:class:`MapLabels`) after.
    """
    page_height_in = fig.get_size_inches()[1]
    edge, gap = EDGE_IN / page_height_in, GAP_IN / page_height_in
    title_text = _page_text(fig, 1 - edge, [title], fontsize=TITLE_PT, weight="bold", va="top")
    subtitle_top = 1 - edge - _height(fig, title_text) - gap / 2
    subtitle_text = _page_text(fig, subtitle_top, [subtitle], fontsize=SUBTITLE_PT, va="top")
    map_top = subtitle_top - _height(fig, subtitle_text) - gap
    if alerts:
        alert_text = _page_text(fig, map_top + gap / 2, list(alerts), fontsize=SUBTITLE_PT - 1, va="top",
                                weight="bold", color=ALERT_COLOUR)
        map_top -= _height(fig, alert_text) + gap / 2
    lines = [*footer, f"Carte produite avec cpts-geo le {date.today():%d/%m/%Y}."]
    footer_text = _page_text(fig, edge, lines, fontsize=FOOTER_PT, va="bottom", color="#333333")
    legend_bottom = edge + _height(fig, footer_text) + gap
    columns = max(1, int(fig.get_size_inches()[0] * 72 * (1 - 2 * SIDE_MARGIN) // LEGEND_COLUMN_PT))
    legend = fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(SIDE_MARGIN, legend_bottom),
                        ncols=columns, fontsize=LEGEND_PT, frameon=False, borderaxespad=0, handlelength=2.5)
    map_bottom = legend_bottom + _height(fig, legend) + gap
    ax.set_position([SIDE_MARGIN, map_bottom, 1 - 2 * SIDE_MARGIN, map_top - map_bottom])
    ax.set_xlabel("")
    ax.set_ylabel("")
    fit_view(ax, extent, margin)
    _scale_bar(ax)
    _north_arrow(ax)


def fit_view(ax, geometry: gpd.GeoSeries, margin: float = 0.08) -> None:
    """Frame the view on ``geometry`` with an equal aspect that fills the axes."""
    xmin, ymin, xmax, ymax = geometry.total_bounds
    width, height = (xmax - xmin) * (1 + 2 * margin), (ymax - ymin) * (1 + 2 * margin)
    box = ax.get_position(original=True)
    fig_w, fig_h = ax.figure.get_size_inches()
    aspect = (box.height * fig_h) / (box.width * fig_w)
    if height / width < aspect:
        height = width * aspect
    else:
        width = height / aspect
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    ax.set_xlim(cx - width / 2, cx + width / 2)
    ax.set_ylim(cy - height / 2, cy + height / 2)
    ax.set_aspect("equal")


def _scale_bar(ax) -> None:
    """A scale bar of a round length about a fifth of the map width (metres, metric CRS)."""
    xmin, xmax = ax.get_xlim()
    ymin, ymax = ax.get_ylim()
    target = (xmax - xmin) / 5
    length = min((m * 10 ** e for e in range(1, 7) for m in (1, 2, 5)), key=lambda v: abs(v - target))
    x0, y0, height = xmin + (xmax - xmin) * 0.04, ymin + (ymax - ymin) * 0.03, (ymax - ymin) * 0.008
    for i in range(2):
        ax.add_patch(Rectangle((x0 + i * length / 2, y0), length / 2, height, facecolor="black" if i == 0 else "white",
                               edgecolor="black", linewidth=0.8, zorder=10))
    for position, text in ((0, "0"), (length / 2, _distance(length / 2)), (length, _distance(length))):
        ax.text(x0 + position, y0 + height * 1.8, text, ha="center", va="bottom", fontsize=8, zorder=10,
                path_effects=HALO)


def _distance(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.95, 0.97), xytext=(0.95, 0.89), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, weight="bold", arrowprops={"facecolor": "black", "width": 4, "headwidth": 11},
                zorder=10, path_effects=HALO)


class MapLabels:
    """Names on a map that cover neither one another nor the scale bar and north arrow.

    Create it after :func:`frame_map` (the view is final).
    """

    # moves tried, in label heights (vertical) and half label widths (horizontal), nearest first
    SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (1, 1), (-1, -1), (1, -1), (-1, 1))

    def __init__(self, ax):
        self.ax = ax
        self.renderer = ax.figure.canvas.get_renderer()
        self.placed = [artist.get_window_extent(self.renderer) for artist in [*ax.texts, *ax.patches]]
        (xmin, xmax), (ymin, ymax) = ax.get_xlim(), ax.get_ylim()
        self.view = shapely.box(xmin, ymin, xmax, ymax)

    def add(self, geometry: gpd.GeoSeries, names, fontsize: float, min_area: float = 0.0, optional: bool = False,
            weight: str = "normal", colour: str = "black", boxed: bool = True) -> None:
        """Name each shape at a point of its visible part, if that part is at least ``min_area``.

        A name that would cover one already placed moves up, down or sideways; if it still would, an
        ``optional`` one is left out, another stays where it is.
        """
        visible = geometry.intersection(self.view).buffer(0)  # polygons only (no edge lines)
        shown = ~visible.is_empty & (visible.area >= min_area)
        # the pole of inaccessibility: the point farthest inside the shape, where a name reads best
        anchors = shapely.get_point(shapely.maximum_inscribed_circle(visible[shown].values), 0)
        style = {"bbox": {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75, "linewidth": 0}} \
            if boxed else {"path_effects": HALO}
        for point, name in zip(anchors, compress(names, shown)):
            text = self.ax.text(point.x, point.y, name, ha="center", va="center", fontsize=fontsize,
                                weight=weight, color=colour, zorder=6, clip_on=True, **style)
            self._place(text, optional)

    def _place(self, text, optional: bool) -> None:
        x, y = text.get_position()
        extent = text.get_window_extent(self.renderer)
        axes_box = self.ax.bbox
        step_y = extent.height * 1.15 * (self.ax.get_ylim()[1] - self.ax.get_ylim()[0]) / axes_box.height
        step_x = extent.width * 0.55 * (self.ax.get_xlim()[1] - self.ax.get_xlim()[0]) / axes_box.width
        for shift_x, shift_y in self.SHIFTS:
            text.set_position((x + shift_x * step_x, y + shift_y * step_y))
            extent = text.get_window_extent(self.renderer)
            inside = axes_box.x0 <= extent.x0 and extent.x1 <= axes_box.x1 and \
                axes_box.y0 <= extent.y0 and extent.y1 <= axes_box.y1
            if inside and not any(extent.overlaps(other) for other in self.placed):
                self.placed.append(extent)
                return
        if optional:
            text.remove()
        else:
            text.set_y(y)
            self.placed.append(text.get_window_extent(self.renderer))


def _near(extent: gpd.GeoSeries, margin: float):
    """The box of ``extent`` widened by ``margin``: always in the view that :func:`fit_view` gives."""
    xmin, ymin, xmax, ymax = extent.total_bounds
    dx, dy = (xmax - xmin) * margin, (ymax - ymin) * margin
    return shapely.box(xmin - dx, ymin - dy, xmax + dx, ymax + dy)


def _context(bundle, communes: set[str], crs: str, rings: int = 2) -> gpd.GeoDataFrame:
    """Communes around ``communes`` (``rings`` of neighbours), dissolved from IRIS, in ``crs``."""
    around = set(communes)
    for _ in range(rings):
        around |= {n for c in around for n in bundle.commune_graph.neighbours(c)}
    return bundle.commune_geometry(sorted(around)).to_crs(crs)


def _departement_outlines(bundle, context: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Outer limits of the départements of ``context`` (gaps in the IRIS coverage, e.g. lagoons, left out)."""
    deps = bundle.communes.loc[context.index, "departement"].unique()
    iris = bundle.iris_geometry(bundle.iris.index[bundle.iris["departement"].isin(deps)])
    parts = iris[["departement", "geometry"]].dissolve(by="departement").to_crs(context.crs).geometry
    return gpd.GeoSeries(shapely.get_exterior_ring(parts.explode().to_numpy()), crs=context.crs)


def _epci_outlines(bundle, epci, crs) -> gpd.GeoDataFrame:
    """The whole shapes of some EPCI (:class:`~cpts_geo.territory.EpciPart`), dissolved from their communes."""
    members = sorted({c for e in epci for c in bundle.epci_communes.get(e.code, ())} & set(bundle.iris_by_commune))
    if not members:
        return gpd.GeoDataFrame(geometry=[], crs=crs)
    return bundle.commune_geometry(members)[["epci", "geometry"]].dissolve(by="epci").to_crs(crs)


def _count(number: int, word: str) -> str:
    return f"{number} {word}{'s' if number > 1 else ''}"


def territory_map(bundle, territory: Territory, others: dict[str, frozenset[str]] | None = None,
                  orientation: str = "portrait", alerts: list[str] = ()):
    """The A4 map of a CPTS territory (matplotlib Figure); ``others``: neighbouring CPTS, name → IRIS codes;
    ``alerts``: checks the territory fails, printed in red under the subtitle.

    The territory filled, split communes at IRIS level (the part left out dotted), commune names,
    the neighbouring CPTS in view hatched and named, commune and département limits.
    """
    summary = summarize(bundle, territory)
    crs = metric_crs(summary)
    fig, ax = new_map_figure(orientation)
    communes = sorted(territory.communes(bundle))
    context = _context(bundle, set(communes), crs)
    split = [p.code_insee for p in summary.split_communes]
    selected = bundle.iris_geometry(sorted(territory.iris)).to_crs(crs)
    outline = gpd.GeoSeries([selected.geometry.union_all()], crs=crs)
    near = _near(outline, 0.08)

    context.plot(ax=ax, facecolor="#f2f2f2", edgecolor="#9a9a9a", linewidth=0.4, zorder=1)
    selected.plot(ax=ax, facecolor=TERRITORY_COLOUR, edgecolor="none", zorder=2)
    handles = [Patch(facecolor=TERRITORY_COLOUR, edgecolor="black", label="Territoire de la CPTS")]
    if split:
        iris_of_split = bundle.iris_geometry([i for c in split for i in bundle.iris_by_commune[c]]).to_crs(crs)
        left_out = iris_of_split.drop(index=sorted(territory.iris & set(iris_of_split.index)))
        left_out.plot(ax=ax, facecolor="white", edgecolor="#777777", hatch="....", linewidth=0.3, zorder=2)
        iris_of_split.boundary.plot(ax=ax, color="#555555", linewidth=0.35, linestyle=":", zorder=3)
        handles += [Patch(facecolor="white", edgecolor="#777777", hatch="....",
                          label="Commune découpée : IRIS hors territoire"),
                    Line2D([], [], color="#555555", linestyle=":", label="Limite d'IRIS")]
    context.loc[communes].boundary.plot(ax=ax, color="#4d4d4d", linewidth=0.6, zorder=3)
    neighbours = bundle.territory_shapes({n: c for n, c in (others or {}).items() if n != territory.name}).to_crs(crs)
    neighbours = neighbours[neighbours.intersects(near)]
    if not neighbours.empty:
        neighbours.plot(ax=ax, facecolor="none", edgecolor=NEIGHBOUR_COLOUR, hatch="///", linewidth=1.2,
                        linestyle="--", zorder=4)
        handles.append(Patch(facecolor="none", edgecolor=NEIGHBOUR_COLOUR, hatch="///", linestyle="--",
                             label="CPTS voisine"))
    epci = _epci_outlines(bundle, summary.epci, crs)
    if not epci.empty:
        epci.boundary.plot(ax=ax, color=EPCI_COLOUR, linewidth=1.3, linestyle=EPCI_LINE, zorder=4)
        handles.append(Line2D([], [], color=EPCI_COLOUR, linewidth=1.3, linestyle=EPCI_LINE,
                              label="Limite d'intercommunalité (EPCI) : " + ", ".join(e.nom for e in summary.epci)))
    departements = _departement_outlines(bundle, context)
    departements.plot(ax=ax, color="black", linewidth=1.0, linestyle="-.", zorder=4)
    outline.boundary.plot(ax=ax, color="black", linewidth=2.0, zorder=5)
    handles += [Line2D([], [], color="black", linewidth=2, label="Limite du territoire"),
                Line2D([], [], color="#4d4d4d", linewidth=0.6, label="Limite de commune")]
    if departements.intersects(near).any():
        handles.append(Line2D([], [], color="black", linewidth=1, linestyle="-.", label="Limite de département"))

    pop = summary.population
    split_text = f" (dont {len(split)} découpée{'s' if len(split) > 1 else ''} en IRIS)" if split else ""
    subtitle = (f"{_count(summary.commune_count, 'commune')}{split_text}, {summary.iris_count} IRIS — "
                f"{fr_int(pop.value)} habitants (population municipale {pop.millesime}) — "
                f"taille {summary.taille.number}")
    frame_map(fig, ax, title=territory.name or "Territoire de la CPTS", subtitle=subtitle, handles=handles,
              footer=source_lines(bundle, {p.departement for p in summary.communes}), extent=outline,
              alerts=alerts)
    labels = MapLabels(ax)
    inside = selected[["code_insee", "geometry"]].dissolve(by="code_insee")  # split communes: their part only
    labels.add(inside.geometry, bundle.communes.loc[inside.index, "nom"], 8, labels.view.area / 400)
    labels.add(neighbours.geometry, neighbours.index, 8, weight="bold", colour=NEIGHBOUR_COLOUR)
    around = context.drop(index=communes)
    labels.add(around.geometry, around["nom"], 6, labels.view.area / 150, optional=True, colour="#555555",
               boxed=False)
    return fig


def coverage_map(bundle, registry: dict[str, frozenset[str]], report, orientation: str = "landscape",
                 proposed: list[str] | None = None):
    """The A4 map of the coverage of an area by the CPTS of a registry (ARS view); with ``proposed`` (IRIS codes of
    the zones a plan moves), the map of the proposed coverage, those zones outlined."""
    area_codes = bundle.iris.index[report.area.mask]
    crs = local_crs(bundle.iris.loc[area_codes[0], "departement"])
    fig, ax = new_map_figure(orientation)
    iris = bundle.iris_geometry(area_codes).to_crs(crs)
    communes = iris[["code_insee", "geometry"]].dissolve(by="code_insee", method="coverage")
    communes.plot(ax=ax, facecolor="white", edgecolor="#b0b0b0", linewidth=0.25, zorder=1)
    names = report.cpts["name"].tolist()
    in_area = set(area_codes)
    shapes = bundle.territory_shapes({name: registry[name] & in_area for name in names}).to_crs(crs)
    shapes = shapes.reindex([name for name in names if name in shapes.index])
    for number, shape in enumerate(shapes.geometry):
        colour, hatch = CPTS_PALETTE[number % len(CPTS_PALETTE)], CPTS_HATCHES[number % len(CPTS_HATCHES)]
        gpd.GeoSeries([shape], crs=crs).plot(ax=ax, facecolor=colour, edgecolor="#333333", hatch=hatch,
                                             linewidth=0.8, alpha=0.9, zorder=2)
    handles = [Patch(facecolor=CPTS_PALETTE[0], edgecolor="#333333", label=f"CPTS ({len(names)})")]
    white = [c for codes in report.white_zones["iris"] for c in codes]
    shared = [c for codes in report.overlaps["iris"] for c in codes]
    isolated = [c for codes in report.isolated["iris"] for c in codes]
    layers = ((white, {"facecolor": "white", "edgecolor": "#d7191c", "hatch": "xxx", "linewidth": 0.4},
               "Zone blanche (aucune CPTS)"),
              (shared, {"facecolor": "#ff7f00", "edgecolor": "black", "hatch": "++", "linewidth": 0.6},
               "Chevauchement"),
              (isolated, {"facecolor": "none", "edgecolor": "black", "linewidth": 2.2, "linestyle": "--"},
               "Zone isolée"),
              (proposed or [], {"facecolor": "none", "edgecolor": "#2b5cd6", "linewidth": 1.8, "linestyle": ":"},
               "Zone déplacée par les propositions"))
    for codes, style, label in layers:
        if codes:
            iris.loc[sorted(set(codes) & in_area)].plot(ax=ax, zorder=3, **style)
            handles.append(Patch(label=label, **{k: v for k, v in style.items() if k != "linewidth"}))
    subtitle = (f"{len(names)} CPTS — population couverte {fr_int(report.population_covered)} sur "
                f"{fr_int(report.population_total)} ({fr_percent(report.covered_share)}) — population municipale "
                f"{report.millesime}")
    title = "Couverture proposée en CPTS" if proposed is not None else "Couverture en CPTS"
    frame_map(fig, ax, title=f"{title} — {report.area.label}", subtitle=subtitle, handles=handles,
              footer=source_lines(bundle, set(bundle.iris.loc[area_codes, "departement"])),
              extent=communes.geometry, margin=0.02)
    MapLabels(ax).add(shapes.geometry, shapes.index, 6.5)
    return fig


def save_figure(fig, fmt: str = "png", dpi: int = 300) -> bytes:
    """The figure as PNG (``dpi``) or vector PDF, page size unchanged (A4); the figure is closed."""
    if fmt not in ("png", "pdf"):
        raise ValueError("fmt must be 'png' or 'pdf'")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()
