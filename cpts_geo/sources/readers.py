"""Generic readers: vector layers (plain, zipped or 7-zipped) and delimited text tables."""

from __future__ import annotations

import glob
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import geopandas as gpd
import pandas as pd
import py7zr
import pyogrio

from cpts_geo.config import STORAGE_CRS
from cpts_geo.errors import DataError, InputError

#: Vector formats read directly (``.parquet`` through geopandas, the others through pyogrio).
VECTOR_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".parquet")
#: Files a vector file needs beside it (shapefile side-cars).
SIDECAR_SUFFIXES = (".shx", ".dbf", ".prj", ".cpg")
ARCHIVE_SUFFIXES = (".zip", ".7z")
#: A volume of a 7z archive split by 7-Zip (``….7z.001``, ``….7z.002``…; IGN splits archives above 4 GB).
VOLUME = re.compile(r"\.7z\.(\d{3,})$", re.IGNORECASE)

#: Field names of the IRIS layers across IGN editions (compared in lower case).
IRIS_FIELD_ALIASES = {
    "code_iris": "code_iris", "dcomiris": "code_iris",
    "insee_com": "code_insee", "code_insee": "code_insee", "depcom": "code_insee",
    "nom_com": "nom_commune", "nom_commune": "nom_commune",
    "nom_iris": "nom_iris",
    "typ_iris": "typ_iris", "type_iris": "typ_iris",
}
IRIS_COLUMNS = ("code_iris", "code_insee", "nom_commune", "nom_iris", "typ_iris")

SEPARATORS = (";", ",", "\t")
ENCODINGS = ("utf-8-sig", "cp1252")
SEPARATOR_NAMES = {";": "« ; »", ",": "« , »", "\t": "tabulation"}


# --------------------------------------------------------------------------- vectors

def archive_kind(path: Path) -> str | None:
    """``.7z`` or ``.zip`` for an archive (a split 7z by its first volume ``….7z.001``), else None."""
    path = Path(path)
    volume = VOLUME.search(path.name)
    if volume:
        return ".7z" if int(volume[1]) == 1 else None
    return path.suffix.lower() if path.suffix.lower() in ARCHIVE_SUFFIXES else None


@contextmanager
def _seven_zip(path: Path) -> Iterator[py7zr.SevenZipFile]:
    """The 7z archive ``path``; a split one (first volume given) is joined in a temporary file first."""
    if not VOLUME.search(path.name):
        with py7zr.SevenZipFile(path) as archive:
            yield archive
        return
    stem = path.name[:VOLUME.search(path.name).start() + 3]
    volumes = sorted((int(m[1]), p) for p in path.parent.glob(f"{glob.escape(stem)}.*")
                     if (m := VOLUME.search(p.name)))
    numbers = [number for number, _ in volumes]
    if numbers != list(range(1, len(numbers) + 1)):
        raise DataError(f"L'archive {stem} est découpée en volumes et il en manque : présents "
                        f"{', '.join(f'{n:03d}' for n in numbers)} ; téléchargez-les tous dans le même dossier.")
    with tempfile.TemporaryDirectory(prefix="cpts_geo_") as tmp:
        joined = Path(tmp, stem)
        with joined.open("wb") as out:
            for _, volume in volumes:
                with volume.open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        with py7zr.SevenZipFile(joined) as archive:
            yield archive


def _vector_members(names: list[str]) -> list[str]:
    return sorted(n for n in names if PurePosixPath(n).suffix.lower() in VECTOR_SUFFIXES)


def _needed_members(names: list[str], vectors: list[str]) -> list[str]:
    stems = {str(PurePosixPath(v).with_suffix("")).lower() for v in vectors}
    return [n for n in names if str(PurePosixPath(n).with_suffix("")).lower() in stems
            and PurePosixPath(n).suffix.lower() in (*VECTOR_SUFFIXES, *SIDECAR_SUFFIXES)]


@contextmanager
def extracted_vectors(path: Path) -> Iterator[list[Path]]:
    """Yield the vector files of ``path``: itself, or those of an archive extracted to a temporary folder.

    Only the vector files and their side-cars are extracted; the folder is removed on exit.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"Fichier introuvable : {path}")
    kind = archive_kind(path)
    if kind is None:
        if path.suffix.lower() not in VECTOR_SUFFIXES:
            raise InputError(f"Format de couche non pris en charge : {path.name} "
                             f"(formats acceptés : {', '.join(VECTOR_SUFFIXES + ARCHIVE_SUFFIXES)}).")
        yield [path]
        return
    with tempfile.TemporaryDirectory(prefix="cpts_geo_") as tmp:
        yield [Path(tmp, v) for v in _extract_vectors(path, kind, tmp)]


def _extract_vectors(path: Path, kind: str, folder: str) -> list[str]:
    """Extract the vector files of an archive (opened once) with their side-cars; returns their names."""
    try:
        with _seven_zip(path) if kind == ".7z" else zipfile.ZipFile(path) as archive:
            names = archive.getnames() if kind == ".7z" else archive.namelist()
            vectors = _vector_members(names)
            if not vectors:
                raise DataError(f"L'archive {path.name} ne contient aucune couche géographique "
                                f"({', '.join(VECTOR_SUFFIXES)}).")
            targets = _needed_members(names, vectors)
            if kind == ".7z":
                archive.extract(path=folder, targets=targets)
            else:
                archive.extractall(folder, members=targets)
    except (zipfile.BadZipFile, py7zr.Bad7zFile, OSError) as err:
        raise DataError(f"L'archive {path.name} est illisible ou incomplète ({err}) ; "
                        "supprimez-la et téléchargez-la de nouveau.") from err
    return vectors


def read_vector_file(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one plain vector file (GeoParquet through geopandas, the other formats through pyogrio).

    A damaged file or one of another format raises :class:`InputError` naming it.
    """
    try:
        if path.suffix.lower() == ".parquet":
            return gpd.read_parquet(path)
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as err:
        raise InputError(f"Le fichier {path.name} n'a pas pu être lu comme couche géographique "
                         f"({path.suffix or 'sans extension'}) : fichier abîmé ou d'un autre format.") from err


def read_vector(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector layer (.shp/.gpkg/.geojson/.fgb/.parquet), possibly inside a .zip or .7z (split or not).

    An archive must hold exactly one vector file; use :func:`extracted_vectors` otherwise.
    """
    with extracted_vectors(path) as files:
        if len(files) > 1:
            raise InputError(f"L'archive {Path(path).name} contient plusieurs couches "
                             f"({', '.join(f.name for f in files)}) ; une seule est attendue.")
        return read_vector_file(files[0], layer)


def normalise_iris_fields(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rename the IRIS fields of any IGN edition to the normalised schema, in EPSG:4326."""
    if gdf.crs is None:
        raise DataError("La couche IRIS n'indique pas son système de coordonnées (fichier .prj absent "
                        "ou métadonnées vides) : impossible de la placer sur la carte.")
    if gdf.geometry.name != "geometry":
        gdf = gdf.rename_geometry("geometry")
    renames = {c: IRIS_FIELD_ALIASES[c.lower()] for c in gdf.columns if c.lower() in IRIS_FIELD_ALIASES}
    gdf = gdf.rename(columns=renames)
    missing = [c for c in IRIS_COLUMNS if c not in gdf.columns]
    if missing:
        raise DataError(f"Champs absents de la couche IRIS : {', '.join(missing)} "
                        f"(champs présents : {', '.join(map(str, gdf.columns))}).")
    gdf = gdf[[*IRIS_COLUMNS, "geometry"]].to_crs(STORAGE_CRS)
    return gdf.astype({"code_iris": str, "code_insee": str})


# --------------------------------------------------------------------------- text tables

def _decode(data: bytes, label: str) -> str:
    if data[:2] == b"PK":
        raise InputError(f"{_capitalised(label)} est un classeur Excel ou une archive zip, pas un fichier texte : "
                         "enregistrez-le au format CSV.")
    if b"\x00" in data[:4096]:
        raise InputError(f"Encodage non pris en charge pour {label} (UTF-16 ou fichier binaire) : "
                         "enregistrez-le en CSV UTF-8 ou Windows-1252.")
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"Encodage non reconnu pour {label} (ni UTF-8 ni Windows-1252) : "
                     "enregistrez-le en CSV UTF-8.")


def _capitalised(label: str) -> str:
    return label[:1].upper() + label[1:]


def _separator(header: str) -> str | None:
    counts = {sep: header.count(sep) for sep in SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def read_text_table(source: Path | str | bytes, *, label: str | None = None,
                    required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a delimited text file (path or bytes) with every column as a string.

    The encoding (UTF-8, else Windows-1252) and the separator (``;``, ``,`` or tab, judged on the
    header line) are detected; a leading ``#`` and spaces are stripped from the column names.
    ``required`` columns are matched whatever their case and renamed to the given spelling.
    Raises :class:`InputError` with a French message naming the problem (encoding, separator,
    missing column).
    """
    if isinstance(source, bytes):
        data, label = source, label or "le fichier fourni"
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"Fichier introuvable : {path}")
        data, label = path.read_bytes(), label or f"le fichier {path.name}"
    text = _decode(data, label)
    header = next((line for line in text.splitlines() if line.strip()), None)
    if header is None:
        raise InputError(f"{_capitalised(label)} est vide.")
    sep = _separator(header)
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep or ";", dtype=str, keep_default_na=False,
                            na_values=[""])
    except pd.errors.ParserError as err:
        where = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
        detail = (f"ligne {where[2]} : {where[3]} champs au lieu de {where[1]}" if where else str(err))
        raise InputError(f"{_capitalised(label)} n'a pas le même nombre de colonnes sur toutes ses lignes "
                         f"({detail} ; séparateur détecté : {SEPARATOR_NAMES.get(sep, '« ; »')}).") from err
    table.columns = table.columns.str.strip().str.lstrip("#").str.strip()
    by_lower = {c.lower(): c for c in table.columns}
    table = table.rename(columns={by_lower[r.lower()]: r for r in required if r.lower() in by_lower})
    missing = [c for c in required if c not in table.columns]
    if missing:
        hint = ("aucun séparateur reconnu sur la ligne d'en-tête (attendu : « ; », « , » ou tabulation)"
                if sep is None else f"séparateur détecté : {SEPARATOR_NAMES[sep]}")
        raise InputError(f"Colonnes absentes dans {label} : {', '.join(missing)} ; colonnes lues : "
                         f"{', '.join(table.columns)} ({hint}).")
    return table
