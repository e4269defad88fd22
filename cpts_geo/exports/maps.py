"""Printable A4 maps (PNG 300 dpi, vector PDF): a CPTS territory, or the coverage of an area by CPTS.

Drawn with matplotlib/geopandas in the metric CRS of the area, no network. Both maps share one
frame: title and subtitle, legend, scale bar, north arrow and a footer with sources and millésimes.
Fills use hatching and line styles as well as colour, so a black-and-white print stays readable.
"""

from __future__ import annotations

import io
from datetime import date

import geopandas as gpd
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from cpts_geo.config import local_crs  # noqa: E402
from cpts_geo.formatting import fr_int  # noqa: E402
from cpts_geo.territory import Territory, summarize  # noqa: E402

plt.rcParams["pdf.fonttype"] = 42  # keep text as text in the PDF
plt.rcParams["font.family"] = "DejaVu Sans"

A4_INCHES = {"portrait": (8.27, 11.69), "landscape": (11.69, 8.27)}
MAP_BOX = [0.04, 0.1, 0.92, 0.78]    # axes of the map in figure fractions
TERRITORY_COLOUR = "#f4a259"
NEIGHBOUR_COLOUR = "#2a7f62"
CPTS_PALETTE = ("#8dd3c7", "#bebada", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#bc80bd", "#ccebc5",
                "#a6cee3", "#b2df8a", "#fb9a99", "#cab2d6", "#ffed6f", "#d9d9d9")
CPTS_HATCHES = ("", "//", "\\\\", "..", "xx", "--", "||", "oo")


def _new_figure(orientation: str):
    if orientation not in A4_INCHES:
        raise ValueError(f"orientation must be one of {list(A4_INCHES)}")
    fig = plt.figure(figsize=A4_INCHES[orientation])
    ax = fig.add_axes(MAP_BOX)
    ax.set_axis_off()
    return fig, ax


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
        ax.text(x0 + position, y0 + height * 1.8, text, ha="center", va="bottom", fontsize=8, zorder=10)


def _distance(metres: float) -> str:
    return f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"


def _north_arrow(ax) -> None:
    ax.annotate("N", xy=(0.95, 0.97), xytext=(0.95, 0.89), xycoords="axes fraction", ha="center", va="center",
                fontsize=12, weight="bold", arrowprops={"facecolor": "black", "width": 4, "headwidth": 11},
                zorder=10)


def _frame(fig, ax, title: str, subtitle: str, sources: list[str], handles) -> None:
    """Title, subtitle, legend, scale bar, north arrow and the sources footer."""
    fig.text(0.04, 0.965, title, fontsize=17, weight="bold", va="top")
    fig.text(0.04, 0.925, subtitle, fontsize=10, va="top")
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.92, edgecolor="#555555")
    _scale_bar(ax)
    _north_arrow(ax)
    footer = "\n".join([*sources, f"Carte produite avec cpts-geo le {date.today():%d/%m/%Y}."])
    fig.text(0.04, 0.02, footer, fontsize=6.5, va="bottom", color="#333333")


def _sources(bundle) -> list[str]:
    meta = bundle.meta
    return [f"Contours : {meta.get('iris_source', 'IGN – INSEE, CONTOURS-IRIS')}. "
            "Licence Ouverte Etalab 2.0.",
            f"Population : {meta.get('population_source', 'INSEE')}."]


def _fit(ax, geometry: gpd.GeoSeries, margin: float = 0.08) -> None:
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


def _context(bundle, communes: set[str], crs: str, rings: int = 2) -> gpd.GeoDataFrame:
    """Communes around ``communes`` (``rings`` of neighbours), dissolved from IRIS, in ``crs``."""
    around = set(communes)
    for _ in range(rings):
        around |= {n for c in around for n in bundle.commune_graph.neighbours(c)}
    return bundle.commune_geometry(sorted(around)).to_crs(crs)


def _departement_outlines(bundle, context: gpd.GeoDataFrame):
    deps = bundle.communes.loc[context.index, "departement"].unique()
    codes = bundle.communes.index[bundle.communes["departement"].isin(deps)]
    return bundle.commune_geometry(codes).to_crs(context.crs).dissolve(by="departement").boundary


def _label(ax, geometry: gpd.GeoSeries, names, fontsize: float, min_area: float, weight: str = "normal",
           colour: str = "black", boxed: bool = True) -> None:
    """Names at representative points of shapes large enough for them and inside the view."""
    (xmin, xmax), (ymin, ymax) = ax.get_xlim(), ax.get_ylim()
    points = geometry.representative_point()
    for point, area, name in zip(points, geometry.area, names):
        if area >= min_area and xmin < point.x < xmax and ymin < point.y < ymax:
            box = {"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.7, "linewidth": 0}
            ax.text(point.x, point.y, name, ha="center", va="center", fontsize=fontsize, weight=weight,
                    color=colour, zorder=6, bbox=box if boxed else None, clip_on=True)


def territory_map(bundle, territory: Territory, others: dict[str, frozenset[str]] | None = None,
                  orientation: str = "portrait"):
    """The A4 map of a CPTS territory (matplotlib Figure); see the module docstring."""
    summary = summarize(bundle, territory)
    crs = local_crs(summary.age.departement or summary.communes[0].departement)
    fig, ax = _new_figure(orientation)
    communes = {p.code_insee for p in summary.communes}
    context = _context(bundle, communes, crs)
    split = [p.code_insee for p in summary.split_communes]
    selected = bundle.iris_geometry(sorted(territory.iris)).to_crs(crs)
    outline = gpd.GeoSeries([selected.geometry.union_all(method="coverage")], crs=crs)

    context.plot(ax=ax, facecolor="#f2f2f2", edgecolor="#9a9a9a", linewidth=0.4, zorder=1)
    selected.plot(ax=ax, facecolor=TERRITORY_COLOUR, edgecolor="none", zorder=2)
    handles = [Patch(facecolor=TERRITORY_COLOUR, edgecolor="black", label="Territoire de la CPTS")]
    if split:
        rest = [i for c in split for i in bundle.iris_by_commune[c] if i not in territory.iris]
        bundle.iris_geometry(rest).to_crs(crs).plot(ax=ax, facecolor="white", edgecolor="#777777", hatch="....",
                                                     linewidth=0.3, zorder=2)
        iris_of_split = bundle.iris_geometry([i for c in split for i in bundle.iris_by_commune[c]]).to_crs(crs)
        iris_of_split.boundary.plot(ax=ax, color="#555555", linewidth=0.35, linestyle=":", zorder=3)
        handles += [Patch(facecolor="white", edgecolor="#777777", hatch="....",
                          label="Commune découpée : IRIS hors territoire"),
                    Line2D([], [], color="#555555", linestyle=":", label="Limite d'IRIS")]
    context.loc[sorted(communes)].boundary.plot(ax=ax, color="#4d4d4d", linewidth=0.6, zorder=3)
    for number, (name, codes) in enumerate(sorted((others or {}).items())):
        if name == territory.name or not codes:
            continue
        shape = bundle.iris_geometry(sorted(codes & set(bundle.iris.index))).to_crs(crs).dissolve()
        shape.plot(ax=ax, facecolor="none", edgecolor=NEIGHBOUR_COLOUR, hatch="///", linewidth=1.2,
                   linestyle="--", zorder=4)
        _label(ax, shape.geometry, [name], 8, 0, weight="bold")
        if number == 0:
            handles.append(Patch(facecolor="none", edgecolor=NEIGHBOUR_COLOUR, hatch="///", linestyle="--",
                                 label="CPTS voisine"))
    _departement_outlines(bundle, context).plot(ax=ax, color="black", linewidth=1.0, linestyle="-.", zorder=4)
    outline.boundary.plot(ax=ax, color="black", linewidth=2.0, zorder=5)
    handles += [Line2D([], [], color="black", linewidth=2, label="Limite du territoire"),
                Line2D([], [], color="#4d4d4d", linewidth=0.6, label="Limite de commune"),
                Line2D([], [], color="black", linewidth=1, linestyle="-.", label="Limite de département")]
    _fit(ax, outline)
    view_area = np.diff(ax.get_xlim())[0] * np.diff(ax.get_ylim())[0]
    inside = context.loc[sorted(communes)]
    _label(ax, inside.geometry, inside["nom"], 8, view_area / 400)
    around = context.drop(index=sorted(communes))
    _label(ax, around.geometry, around["nom"], 6, view_area / 150, colour="#666666", boxed=False)
    pop = summary.population
    subtitle = (f"{summary.commune_count} communes ({len(split)} découpée(s) en IRIS), {summary.iris_count} IRIS — "
                f"{fr_int(pop.value)} habitants (population municipale {pop.millesime}) — taille {summary.taille.number}")
    _frame(fig, ax, territory.name or "Territoire de la CPTS", subtitle,
           [*_sources(bundle), "Précision des contours IRIS 2020 ≈ 14 m ; population des IRIS : recensement 2016."],
           handles)
    return fig


def coverage_map(bundle, registry: dict[str, frozenset[str]], report, orientation: str = "landscape"):
    """The A4 map of the coverage of an area by the CPTS of a registry (ARS view)."""
    area_codes = bundle.iris.index[report.area.mask]
    departement = bundle.iris.loc[area_codes[0], "departement"]
    crs = local_crs(departement)
    fig, ax = _new_figure(orientation)
    iris = bundle.iris_geometry(area_codes).to_crs(crs)
    communes = iris[["code_insee", "geometry"]].dissolve(by="code_insee", method="coverage")
    communes.plot(ax=ax, facecolor="white", edgecolor="#b0b0b0", linewidth=0.25, zorder=1)
    handles = []
    names = report.cpts["name"].tolist()
    for number, name in enumerate(names):
        codes = sorted(registry[name] & set(area_codes))
        if not codes:
            continue
        shape = iris.loc[codes, ["geometry"]].dissolve()
        colour, hatch = CPTS_PALETTE[number % len(CPTS_PALETTE)], CPTS_HATCHES[number % len(CPTS_HATCHES)]
        shape.plot(ax=ax, facecolor=colour, edgecolor="#333333", hatch=hatch, linewidth=0.8, alpha=0.9, zorder=2)
        _label(ax, shape.geometry, [name], 6.5, 0)
    white = [c for codes in report.white_zones["iris"] for c in codes]
    shared = [c for codes in report.overlaps["iris"] for c in codes]
    isolated = [c for codes in report.isolated["iris"] for c in codes]
    layers = ((white, {"facecolor": "white", "edgecolor": "#d7191c", "hatch": "xxx", "linewidth": 0.4},
               "Zone blanche (aucune CPTS)"),
              (shared, {"facecolor": "#ff7f00", "edgecolor": "black", "hatch": "++", "linewidth": 0.6},
               "Chevauchement"),
              (isolated, {"facecolor": "none", "edgecolor": "black", "linewidth": 2.2, "linestyle": "--"},
               "Zone isolée"))
    for codes, style, label in layers:
        if codes:
            iris.loc[sorted(set(codes) & set(iris.index))].plot(ax=ax, zorder=3, **style)
            handles.append(Patch(label=label, **{k: v for k, v in style.items() if k != "linewidth"}))
    handles.insert(0, Patch(facecolor=CPTS_PALETTE[0], edgecolor="#333333", label=f"CPTS ({len(names)})"))
    _fit(ax, communes.geometry, margin=0.02)
    subtitle = (f"{len(names)} CPTS — population couverte {fr_int(report.population_covered)} sur "
                f"{fr_int(report.population_total)} ({report.covered_share:.1%}".replace(".", ",")
                + f") — population municipale {report.millesime}")
    _frame(fig, ax, f"Couverture en CPTS — {report.area.label}", subtitle, _sources(bundle), handles)
    return fig


def save_figure(fig, fmt: str = "png", dpi: int = 300) -> bytes:
    """The figure as PNG (``dpi``) or vector PDF, page size unchanged (A4); the figure is closed."""
    if fmt not in ("png", "pdf"):
        raise ValueError("fmt must be 'png' or 'pdf'")
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=dpi)
    plt.close(fig)
    return buffer.getvalue()
