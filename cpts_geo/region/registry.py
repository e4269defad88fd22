"""Registry of the CPTS perimeters of a region, as an ARS keeps it.

A registry is read from a CSV of ``cpts;code`` rows (INSEE commune or IRIS codes, with
optional ``arrondissement`` and ``quartier`` columns for an infra-communal part), from a
geometry file of perimeters (GeoJSON, GeoPackage, Shapefile, possibly zipped), or from the
drafts saved in the app. Every reader gives a :class:`RegistryImport`: the CPTS (name →
IRIS codes) and the validation report — rows ignored with their reason, names spelt
several ways, geometries repaired or reprojected, IRIS assigned with a doubtful share of
area. Nothing is stored until :func:`save_registry`, which replaces the stored registry in
one transaction.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from cpts_geo.data.codes import (CODE_COLUMNS, CODE_PATTERN, CODE_SHOWN, MAX_UPLOAD_BYTES, NAME_COLUMNS, PLM_PARENTS,
                                 normalise_code, pick_column,
                                 resolve_codes, translate_communes)
from cpts_geo.config import STORAGE_CRS
from cpts_geo.errors import InputError
from cpts_geo.exports.perimeter import IRIS_LAYER, TERRITORY_LAYER
from cpts_geo.formatting import fr_int, fr_percent
from cpts_geo.data.sources.readers import (ARCHIVE_SUFFIXES, VECTOR_SUFFIXES, input_file, listed,
                                           read_text_table, read_vector, upload_name, uploaded_file,
                                           vector_layers)
from cpts_geo.territory.model import Territory
from cpts_geo.user_text import clean_text, display_text

#: An IRIS belongs to a perimeter when more than this share of its area lies inside it.
MIN_OVERLAP_SHARE = 0.5
#: How far (degrees) beyond the IRIS a perimeter is measured: farther, it is cut off before being projected.
REACH_DEG = 1.0
#: Shares of area between these bounds are reported as doubtful (assigned or not).
DOUBTFUL_SHARE = (0.2, 0.8)
#: Optional columns of a CSV registry naming an infra-communal part (compared without case,
#: spaces or underscores).
ARRONDISSEMENT_COLUMNS = ("arrondissement", "arrondissementmunicipal", "arrdt")
QUARTER_COLUMNS = ("quartier", "nomiris", "partie")
TEXT_SUFFIXES = (".csv", ".txt", ".tsv")
#: Extensions of a registry file (CSV of codes, perimeters, archive of perimeters).
REGISTRY_SUFFIXES = TEXT_SUFFIXES + VECTOR_SUFFIXES + ARCHIVE_SUFFIXES
#: Perimeter files are bigger than code lists (a CSV registry has the limit of a list of codes).
MAX_PERIMETER_BYTES = 10 * MAX_UPLOAD_BYTES
IGNORED_COLUMNS = ["line", "cpts", "code", "reason"]
#: Reasons (lines of the validation report) given when a registry to save has no usable CPTS.
SHOWN_REASONS = 5
DOUBTFUL_COLUMNS = ["cpts", "code_iris", "commune", "share", "assigned"]
#: Most lines ignored, and most notes, written out in a message (the others are counted; all are in the report).
MESSAGE_LINES = 10


@dataclass
class RegistryImport:
    """CPTS read from a source (name → IRIS codes) and the validation report of the reading."""

    source: str
    cpts: dict[str, frozenset[str]] = field(default_factory=dict)
    ignored: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=IGNORED_COLUMNS))
    notes: list[str] = field(default_factory=list)
    doubtful: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DOUBTFUL_COLUMNS))

    @property
    def ok(self) -> bool:
        """True when nothing was ignored."""
        return self.ignored.empty

    def as_dict(self) -> dict:
        return {"source": self.source, "cpts_count": len(self.cpts),
                "ignored": self.ignored.to_dict(orient="records"), "notes": list(self.notes),
                "doubtful": self.doubtful.to_dict(orient="records")}

    def note_lines(self) -> list[str]:
        """The notes, the first :data:`MESSAGE_LINES` of them, then how many more."""
        more = len(self.notes) - MESSAGE_LINES
        return self.notes[:MESSAGE_LINES] + ([f"… et {fr_int(more)} autre(s) remarque(s)."] if more > 0 else [])

    def message(self) -> str:
        """The validation report in French, one line per point: the first :data:`MESSAGE_LINES` lines ignored and
        notes, then how many more (a registry of 600 000 duplicate rows is a message of a few lines)."""
        lines = [f"{display_text(self.source)} : {fr_int(len(self.cpts))} CPTS lue(s)."]
        lines += [f"Ignoré ({_where(row)}) : {row.reason}" for row in self.ignored.head(MESSAGE_LINES).itertuples()]
        if len(self.ignored) > MESSAGE_LINES:
            lines.append(f"… et {fr_int(len(self.ignored) - MESSAGE_LINES)} autre(s) ligne(s) ignorée(s) "
                         f"({fr_int(len(self.ignored))} en tout).")
        lines += self.note_lines()
        if len(self.doubtful):
            lines.append(f"{len(self.doubtful)} IRIS à vérifier (couverts entre {fr_percent(DOUBTFUL_SHARE[0], 0)} et "
                         f"{fr_percent(DOUBTFUL_SHARE[1], 0)} de leur surface par un périmètre).")
        return "\n".join(lines)


def _where(row) -> str:
    place = f"ligne {row.line}" if pd.notna(row.line) else "entité"
    return ", ".join(filter(None, [place, row.cpts and f"« {display_text(row.cpts)} »",
                                   row.code and display_text(row.code, CODE_SHOWN)]))


# --------------------------------------------------------------------------- names

def _folded(name: str) -> str:
    """``name`` without its accents (combining marks of any script) and case; its letters all kept."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


def name_key(names: pd.Series) -> pd.Series:
    """Names compared without case, accents, punctuation or repeated spaces; letters of every script (Greek,
    Chinese…) kept, so that names in other scripts never merge."""
    return names.map(_folded).str.replace(r"[\W_]+", " ", regex=True).str.strip()


def unify_names(names: pd.Series) -> tuple[pd.Series, list[str]]:
    """One spelling per CPTS (the most frequent, then the first) and French notes on the variants merged."""
    spelling = names.str.strip().str.replace(r"\s+", " ", regex=True)
    table = pd.DataFrame({"key": name_key(spelling), "spelling": spelling, "order": np.arange(len(names))})
    counts = (table.groupby(["key", "spelling"], sort=False)
              .agg(rows=("order", "size"), first=("order", "min")).reset_index()
              .sort_values(["key", "rows", "first"], ascending=[True, False, True]))
    chosen = counts.drop_duplicates("key").set_index("key")["spelling"]
    notes = [f"CPTS écrite de plusieurs façons, regroupée sous « {chosen[key]} » : "
             + listed((f"« {s} » ({n} ligne(s))" for s, n in zip(group["spelling"], group["rows"])), width=220)
             for key, group in counts.groupby("key", sort=True) if len(group) > 1]
    return table["key"].map(chosen).set_axis(names.index), notes


# --------------------------------------------------------------------------- CSV of codes

def _canonical(codes: pd.Series) -> pd.Series:
    """Codes in canonical form (:func:`cpts_geo.data.codes.normalise_code`: ``2a`` → ``2A``)."""
    return codes.fillna("").map(normalise_code)


def _clean_codes(codes: pd.Series) -> pd.Series:
    """Codes in canonical form; a commune or IRIS code that lost its leading zero (Excel) gets it back."""
    codes = _canonical(codes)
    lost_zero = codes.str.fullmatch(r"\d{4}|\d{8}")
    return codes.where(~lost_zero, "0" + codes)


def _is_code(values: pd.Series) -> pd.Series:
    """True where a value reads as a commune or IRIS code."""
    return _clean_codes(values).str.match(CODE_PATTERN)


def _check_not_shifted(table: pd.DataFrame, lines: np.ndarray, name: str, code_columns: list[str], label: str) -> None:
    """Refuse rows whose CPTS name holds an unquoted separator (« CPTS Têt; Sud »): its second part took the code's
    column and the code the next one (its trailing fields being empty, the row has no field too many)."""
    columns = list(table.columns)
    code_column = min(code_columns, key=columns.index)
    at = columns.index(code_column)
    if columns.index(name) > at or at + 1 == len(columns):
        return
    shifted = table[code_column].notna() & ~_is_code(table[code_column]) & _is_code(table[columns[at + 1]])
    if shifted.any():
        parts = table[[name, code_column]].fillna("")
        where = [f"ligne {lines[position]} : « {clean_text(parts[name].iat[position])} » puis "
                 f"« {clean_text(parts[code_column].iat[position])} »" for position in shifted.to_numpy().nonzero()[0]]
        raise InputError(f"{label} a des colonnes décalées : un nom de CPTS contient sans doute le séparateur sans "
                         f"guillemets ({listed(where, limit=5, width=90)}). Mettez ces noms entre guillemets "
                         "(\"CPTS Têt; Sud\") ou retirez-en le séparateur : rien n'est importé.")


def _registry_rows(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """The columns of a CSV registry as ``line, cpts, code, arrondissement, quartier``."""
    # the file's line of each row, taken out of the table's attrs: pandas deep-copies them at every operation
    lines = np.asarray(table.attrs.pop("lines", np.arange(len(table)) + 2))
    name = pick_column(table, NAME_COLUMNS)
    iris_column = pick_column(table, ("codeiris", "iris"))
    other_column = pick_column(table.drop(columns=[iris_column] if iris_column else []), CODE_COLUMNS)
    code_columns = [c for c in (iris_column, other_column) if c]
    if name is None or not code_columns:
        raise InputError(f"{label} doit avoir une colonne « cpts » et une colonne « code_insee » ou « code_iris » "
                         f"(colonnes lues : {listed(table.columns)}).")
    _check_not_shifted(table, lines, name, code_columns, label)
    code = table[code_columns[0]]
    for other in code_columns[1:]:
        code = code.fillna(table[other])
    optional = {"arrondissement": pick_column(table, ARRONDISSEMENT_COLUMNS),
                "quartier": pick_column(table, QUARTER_COLUMNS)}
    rows = pd.DataFrame({"line": lines, "cpts": table[name].fillna("").map(clean_text),
                         "given": _canonical(code), "code": _clean_codes(code)}, index=table.index)
    for column, source in optional.items():
        rows[column] = table[source].fillna("").str.strip() if source else ""
    return rows[(rows[["cpts", "code"]] != "").any(axis=1)]


def _arrondissements(bundle) -> pd.DataFrame:
    """``parent, number, code_insee`` of the arrondissements of Paris, Lyon and Marseille."""
    communes = bundle.communes.reset_index(drop=True)
    arrondissements = communes.loc[communes["commune_parent"].isin(PLM_PARENTS.keys()),
                                   ["commune_parent", "code_insee"]].sort_values("code_insee")
    arrondissements["number"] = arrondissements.groupby("commune_parent").cumcount() + 1
    return arrondissements.rename(columns={"commune_parent": "parent"}).reset_index(drop=True)


def _apply_arrondissement(bundle, rows: pd.DataFrame) -> pd.Series:
    """Code of the arrondissement named in the row (number or code), or ``None`` when it does not exist."""
    wanted = rows["arrondissement"] != ""
    code = rows["code"].copy()
    if not wanted.any():
        return code
    table = _arrondissements(bundle)
    number = pd.to_numeric(rows.loc[wanted, "arrondissement"].str.extract(r"^(\d{1,2})\s*(?:e|er|ème)?$",
                                                                          expand=False), errors="coerce")
    by_number = table.set_index(["parent", "number"])["code_insee"]
    from_number = pd.Series(list(zip(rows.loc[wanted, "code"], number)), index=number.index).map(by_number)
    given = _clean_codes(rows.loc[wanted, "arrondissement"])
    parent_of_given = given.map(table.set_index("code_insee")["parent"])
    from_code = given.where(parent_of_given == rows.loc[wanted, "code"])
    code[wanted] = from_number.astype(object).fillna(from_code)
    return code


def _expand_to_iris(bundle, rows: pd.DataFrame) -> pd.DataFrame:
    """One row per IRIS of each registry row (``row`` is the row's index), quarters applied."""
    iris = bundle.iris[["code_iris", "code_insee", "nom_iris"]].reset_index(drop=True)
    communes = pd.concat([pd.DataFrame([(code, code_iris) for code, codes in bundle.iris_by_commune.items()
                                        for code_iris in codes], columns=["code", "code_iris"]),
                          _arrondissements(bundle).rename(columns={"parent": "code"})
                          .merge(iris, on="code_insee")[["code", "code_iris"]]])
    given = rows.reset_index(names="row")[["row", "code", "quartier"]]
    by_commune = given.merge(communes, on="code").merge(iris, on="code_iris")
    by_iris = given.merge(iris, left_on="code", right_on="code_iris")
    expanded = pd.concat([by_commune, by_iris], ignore_index=True)
    quarter = expanded["quartier"] != ""
    quarter_code = _canonical(expanded["quartier"])
    matches = ((name_key(expanded["nom_iris"].fillna("")) == name_key(expanded["quartier"]))
               | (expanded["code_iris"] == quarter_code) | (expanded["code_iris"].str[5:] == quarter_code))
    return expanded.loc[~quarter | matches, ["row", "code_iris"]]


def _reasons_for_unknown(bundle, rows: pd.DataFrame) -> pd.Series:
    """French reason for each row whose code (or infra-communal part) matched no IRIS."""
    reasons = dict(resolve_codes(bundle, rows["code"].unique()).problems)
    reason = rows["code"].map(reasons).astype(object)
    quarter = rows["quartier"] != ""
    reason = reason.where(reason.notna() | ~quarter,
                          "quartier « " + rows["quartier"] + " » inconnu dans la commune (ni nom ni code d'IRIS)")
    return reason.fillna("code sans IRIS correspondant dans les données préparées")


def read_registry_csv(bundle, source: Path | str | bytes, label: str | None = None) -> RegistryImport:
    """Registry from a CSV of ``cpts;code_insee`` or ``cpts;code_iris`` rows (optional arrondissement, quartier)."""
    label = label or (f"Le fichier {Path(source).name}" if not isinstance(source, bytes) else "Le registre")
    rows = _registry_rows(read_text_table(source, label=label.lower()), label)
    imported = RegistryImport(label.removeprefix("Le fichier ").removeprefix("Le "))
    padded = rows.loc[rows["given"] != rows["code"], "line"]
    if len(padded):
        imported.notes.append(f"{len(padded)} code(s) sans leur zéro initial (perdu à l'ouverture dans un tableur), "
                              f"complété(s) : lignes {', '.join(map(str, padded[:10]))}{'…' if len(padded) > 10 else ''}.")
    ignored = [rows.loc[rows["cpts"] == "", ["line", "cpts", "code"]].assign(reason="nom de CPTS manquant"),
               rows.loc[(rows["cpts"] != "") & (rows["code"] == ""), ["line", "cpts", "code"]]
               .assign(reason="code manquant")]
    rows = rows[(rows["cpts"] != "") & (rows["code"] != "")].copy()
    rows["cpts"], variants = unify_names(rows["cpts"])
    imported.notes += variants
    keys = ["cpts", "code", "arrondissement", "quartier"]
    first_line = rows.groupby(keys, sort=False)["line"].transform("first")
    repeated = rows.duplicated(keys)
    ignored.append(rows.loc[repeated, ["line", "cpts", "code"]]
                   .assign(reason="ligne en double de la ligne " + first_line[repeated].astype(str)))
    rows = rows[~repeated]
    rows["code"], translated = translate_communes(bundle, rows["code"])
    imported.notes += translated
    rows["code"] = _apply_arrondissement(bundle, rows)
    bad_arrondissement = rows["code"].isna()
    ignored.append(rows.loc[bad_arrondissement, ["line", "cpts", "arrondissement"]].rename(
        columns={"arrondissement": "code"}).assign(reason="arrondissement inconnu pour cette commune"))
    rows = rows[~bad_arrondissement]
    members = _expand_to_iris(bundle, rows)
    unknown = rows[~rows.index.isin(members["row"])]
    ignored.append(unknown[["line", "cpts", "code"]].assign(reason=_reasons_for_unknown(bundle, unknown)))
    members["cpts"] = rows.loc[members["row"], "cpts"].to_numpy()
    imported.cpts = _territories(members)
    imported.ignored = pd.concat(ignored, ignore_index=True).sort_values("line", ignore_index=True)
    lost = sorted(set(rows["cpts"]) - set(imported.cpts))
    if lost:
        imported.notes.append(f"CPTS sans aucune ligne utilisable, non importée(s) : {listed(lost, width=200)}.")
    return imported


def _territories(members: pd.DataFrame) -> dict[str, frozenset[str]]:
    """``cpts, code_iris`` rows as name → IRIS codes."""
    return {name: frozenset(codes) for name, codes in members.groupby("cpts", sort=True)["code_iris"]}


# --------------------------------------------------------------------------- geometry files

def _polygonal(geometries: np.ndarray) -> np.ndarray:
    """The polygonal part of each geometry (what ``make_valid`` may have mixed with lines or points)."""
    parts, index = shapely.get_parts(geometries, return_index=True)
    keep = np.isin(shapely.get_type_id(parts), [3, 6])
    polygons = np.full(len(geometries), None, dtype=object)
    if keep.any():
        grouped = pd.Series(parts[keep]).groupby(index[keep]).agg(lambda g: shapely.union_all(g.to_numpy()))
        polygons[grouped.index.to_numpy()] = grouped.to_numpy()
    return polygons


def _exported_layer(path: Path) -> str | None:
    """``territoire`` for a GeoPackage exported by cpts-geo (layers ``iris`` and ``territoire``), else None."""
    if Path(path).suffix.lower() != ".gpkg":
        return None
    layers = {name for name, _ in vector_layers(path)}
    return TERRITORY_LAYER if layers == {IRIS_LAYER, TERRITORY_LAYER} else None


def read_perimeter_layer(path: Path, imported: RegistryImport) -> gpd.GeoDataFrame:
    """Perimeters of a geometry file, one per CPTS (EPSG:4326); what was repaired or ignored goes to ``imported``.

    A perimeter exported by cpts-geo (GeoPackage, zipped Shapefile or GeoJSON) gives its territory layer.
    """
    table = read_vector(path, layer=_exported_layer(path), suffix=f"_{TERRITORY_LAYER}")
    if "niveau" in table.columns and (table["niveau"] == TERRITORY_LAYER).any():
        table = table[table["niveau"] == TERRITORY_LAYER]
    label = f"Le fichier {Path(path).name}"
    if table.empty:
        raise InputError(f"{label} ne contient aucun périmètre.")
    if table.crs is None:
        raise InputError(f"{label} n'indique pas son système de coordonnées (fichier .prj absent ?) : "
                         "impossible de placer les périmètres.")
    name = pick_column(table, NAME_COLUMNS)
    if name is None:
        raise InputError(f"{label} doit avoir un attribut « cpts » ou « nom » donnant le nom de chaque CPTS "
                         f"(attributs lus : {listed(c for c in table.columns if c != table.geometry.name)}).")
    if not table.crs.equals(STORAGE_CRS):
        imported.notes.append(f"Périmètres en {table.crs.name} ({table.crs.to_string()}) : reprojetés en WGS 84.")
    table = gpd.GeoDataFrame({"line": np.arange(len(table)) + 1,
                              "cpts": table[name].astype("string").fillna("").map(clean_text), "code": ""},
                             geometry=table.geometry.array, crs=table.crs)
    geometry = table.geometry.array
    empty = shapely.is_missing(geometry) | shapely.is_empty(geometry)
    invalid = ~empty & ~shapely.is_valid(geometry)
    repaired = np.asarray(geometry, dtype=object).copy()
    repaired[invalid] = shapely.make_valid(repaired[invalid])
    mixed = ~empty & ~np.isin(shapely.get_type_id(repaired), [3, 6])
    repaired[mixed] = _polygonal(repaired[mixed])
    unusable = ~empty & pd.isna(repaired)
    reasons = pd.Series(None, index=table.index, dtype=object)
    reasons[empty] = "géométrie vide"
    reasons[unusable] = "géométrie sans surface (point ou ligne), ou invalide et irréparable"
    reasons[table["cpts"] == ""] = "nom de CPTS manquant"
    fixed = invalid & ~unusable & (table["cpts"] != "").to_numpy()
    if fixed.any():
        why = [shapely.is_valid_reason(g) for g in np.asarray(geometry, dtype=object)[fixed]]
        imported.notes.append(f"{int(fixed.sum())} géométrie(s) invalide(s) réparée(s) : "
                              + "; ".join(f"« {n} » ({w})" for n, w in zip(table.loc[fixed, "cpts"], why)) + ".")
    imported.ignored = table.loc[reasons.notna(), ["line", "cpts", "code"]].assign(reason=reasons.dropna())
    table = table.set_geometry(gpd.GeoSeries(repaired, index=table.index, crs=table.crs))[reasons.isna()]
    table["cpts"], variants = unify_names(table["cpts"])
    imported.notes += variants
    return table.to_crs(STORAGE_CRS).dissolve(by="cpts")[["geometry"]]


def _within_reach(shapes, bounds) -> np.ndarray:
    """Perimeters (EPSG:4326) cut to the box ``bounds`` widened by :data:`REACH_DEG`, those inside left as they are:
    a perimeter as large as the world cannot be projected to a metric CRS whole (it then covered no IRIS)."""
    west, south, east, north = bounds
    reach = shapely.box(west - REACH_DEG, south - REACH_DEG, east + REACH_DEG, north + REACH_DEG)
    shapes = np.asarray(shapes, dtype=object)
    return np.where(shapely.within(shapes, reach), shapes, shapely.intersection(shapes, reach))


def overlap_shares(bundle, perimeters: gpd.GeoDataFrame) -> pd.DataFrame:
    """``cpts, code_iris, share``: share of each IRIS's area inside each perimeter it meets (metric CRS)."""
    iris = bundle.iris_geometry()
    perimeter_pos, iris_pos = iris.sindex.query(perimeters.geometry.array, predicate="intersects")
    pairs = pd.DataFrame({"cpts": perimeters.index.to_numpy()[perimeter_pos],
                          "code_iris": iris.index.to_numpy()[iris_pos],
                          "crs": iris["crs"].to_numpy()[iris_pos], "perimeter": perimeter_pos, "iris": iris_pos})
    shares = []
    for crs, group in pairs.groupby("crs"):
        zones = iris.geometry.iloc[group["iris"]]
        used = np.unique(group["perimeter"])
        shapes = _within_reach(perimeters.geometry.array[used], zones.total_bounds)
        projected = gpd.GeoSeries(shapes, crs=perimeters.crs).to_crs(crs).array
        zones = zones.to_crs(crs).array
        share = shapely.area(shapely.intersection(zones, projected[np.searchsorted(used, group["perimeter"])]))
        shares.append(group[["cpts", "code_iris"]].assign(share=share / shapely.area(zones)))
    return pd.concat(shares, ignore_index=True) if shares else pd.DataFrame(columns=["cpts", "code_iris", "share"])


def read_registry_geometries(bundle, path: Path | str, name: str | None = None) -> RegistryImport:
    """Registry from perimeters: an IRIS belongs to a CPTS when more than half of its area is inside (``name``: the
    file's name shown, by default its own)."""
    path = Path(path)
    imported = RegistryImport(name or path.name)
    perimeters = read_perimeter_layer(path, imported)
    shares = overlap_shares(bundle, perimeters)
    low, high = DOUBTFUL_SHARE
    doubtful = shares[(shares["share"] >= low) & (shares["share"] <= high)]
    imported.doubtful = doubtful.assign(commune=doubtful["code_iris"].map(bundle.commune_of_iris).map(bundle.communes["nom"]),
                                        share=doubtful["share"].round(3),
                                        assigned=doubtful["share"] > MIN_OVERLAP_SHARE)[DOUBTFUL_COLUMNS]
    imported.cpts = _territories(shares[shares["share"] > MIN_OVERLAP_SHARE])
    outside = sorted(set(perimeters.index) - set(imported.cpts))
    if outside:
        imported.ignored = pd.concat([imported.ignored, pd.DataFrame(
            {"line": None, "cpts": outside, "code": "",
             "reason": f"aucun IRIS couvert à plus de {fr_percent(MIN_OVERLAP_SHARE, 0)} (périmètre hors des données ?)"})],
            ignore_index=True)
    return imported


# --------------------------------------------------------------------------- drafts and dispatch

def registry_digest(cpts: dict[str, frozenset[str]]) -> str:
    """A digest of a registry's content (names and IRIS codes), the same for the same CPTS whatever their order or
    source: what a cache of its coverage is keyed by."""
    digest = hashlib.blake2b(digest_size=16)
    for name in sorted(cpts):
        digest.update(("\x1e" + name + "\x1f" + "\x1f".join(sorted(cpts[name]))).encode())
    return digest.hexdigest()


def registry_from_store(bundle, store, kind: str = "draft") -> RegistryImport:
    """Registry from the territories saved in a store (by default the drafts of the app); a store holding no
    usable territory is an :class:`InputError`, not an empty registry."""
    saved = store.load_all(kind)
    imported = RegistryImport("brouillons enregistrés" if kind == "draft" else "registre de la région")
    members = pd.DataFrame([(name, code) for name, codes in saved.items() for code in codes],
                           columns=["cpts", "code_iris"])
    known = members["code_iris"].isin(bundle.iris.index)
    imported.ignored = members.loc[~known].rename(columns={"code_iris": "code"}).assign(
        line=None, reason="IRIS absent des données préparées")[IGNORED_COLUMNS]
    imported.cpts = _territories(members[known])
    if not imported.cpts:
        unknown = f", {len(imported.ignored)} IRIS absent(s) des données préparées" if len(imported.ignored) else ""
        raise InputError(f"Aucune CPTS dans les {imported.source} ({len(saved)} territoire(s){unknown}) : "
                         "enregistrez d'abord des territoires dans l'application, ou lisez le registre d'un fichier.")
    return imported


def max_registry_bytes(filename: str) -> int:
    """Largest registry file read, by its extension: a CSV as a list of codes, perimeters 10 times more."""
    return MAX_UPLOAD_BYTES if Path(filename).suffix.lower() in TEXT_SUFFIXES else MAX_PERIMETER_BYTES


def read_registry(bundle, path: Path | str, name: str | None = None) -> RegistryImport:
    """Registry from a file, read by its extension (CSV of codes, or perimeters) and checked first (size, type);
    ``name``: the file's name shown in the report, by default its own."""
    path = input_file(path, max_bytes=max_registry_bytes(Path(path).name))
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return read_registry_csv(bundle, path, label=f"Le fichier {name}" if name else None)
    if suffix in VECTOR_SUFFIXES + ARCHIVE_SUFFIXES:
        return read_registry_geometries(bundle, path, name)
    raise InputError(f"Format de registre non reconnu : {path.name} (attendu : CSV « cpts;code_insee », GeoJSON, "
                     "GeoPackage ou Shapefile).")


def storable(name: str) -> str:
    """A file name as text a database can hold: bytes of the name that are not UTF-8 become « � »."""
    return os.fsencode(name).decode("utf-8", "replace")


def check_savable(imported: RegistryImport, accept_ignored: bool = False,
                  how: str = "acceptez explicitement de l'enregistrer sans elles") -> None:
    """Refuse to save a registry without any CPTS (its first reasons named), or read with ignored rows unless the user
    accepted them knowingly (``accept_ignored``): an :class:`InputError` naming the rows and ``how`` to accept them
    (the command line's option, the page's box). Checked before anything is written."""
    if not imported.cpts:
        lines = imported.message().splitlines()
        shown = "\n".join(lines[1:SHOWN_REASONS + 1]) + ("\n…" if len(lines) > SHOWN_REASONS + 1 else "")
        raise InputError(f"Aucune CPTS utilisable dans {imported.source} : le registre enregistré est inchangé "
                         f"et aucun fichier n'a été écrit.\n{shown}".rstrip())
    if imported.ok or accept_ignored:
        return
    rows = listed([f"{_where(row)} : {row.reason}" for row in imported.ignored.itertuples()], width=90)
    raise InputError(f"{imported.source} : {len(imported.ignored)} ligne(s) ignorée(s) à la lecture ({rows}). "
                     f"Le registre enregistré est inchangé : corrigez le fichier, ou {how}.")


def read_registry_upload(bundle, data: bytes, filename: str) -> RegistryImport:
    """Registry of an uploaded file (the app's « Vue ARS », neighbouring CPTS): its bytes are read from a file named
    by us, the client's ``filename`` giving only the extension and the name shown (see
    :func:`~cpts_geo.data.sources.readers.uploaded_file`)."""
    with uploaded_file(data, filename, REGISTRY_SUFFIXES) as path:
        return read_registry(bundle, path, name=upload_name(filename))


def save_registry(bundle, store, imported: RegistryImport, author: str = "", comment: str = "",
                  loaded_version: int | None = None, accept_ignored: bool = False) -> None:
    """Replace the registry of ``store`` by ``imported`` with each CPTS's perimeter, in one transaction (all-or-nothing);
    the store keeps it as a new version (``author``, ``comment``, source file), the previous ones untouched.
    ``loaded_version``: the version the user started from; a version saved by someone else since is a French
    error (:class:`~cpts_geo.storage.store.RegistryChanged`), nothing saved. A registry read with ignored rows is saved
    only when ``accept_ignored`` (:func:`check_savable`)."""
    check_savable(imported, accept_ignored)
    perimeters = bundle.territory_shapes(imported.cpts).geometry
    store.save_many([Territory(codes, name) for name, codes in imported.cpts.items()], kind="registry",
                    attributes={"source": storable(imported.source)}, replace_kind=True,
                    perimeters=perimeters.to_dict(), author=author, comment=comment, loaded_version=loaded_version)
