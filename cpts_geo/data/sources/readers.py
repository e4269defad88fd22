"""Generic readers: vector layers (plain, zipped or 7-zipped) and delimited text tables."""

from __future__ import annotations

import csv
import glob
import io
import json
import re
import shutil
import stat
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import geopandas as gpd
import numpy as np
import pandas as pd
import py7zr
import pyogrio
import shapely

from cpts_geo.config import STORAGE_CRS
from cpts_geo.errors import DataError, InputError
from cpts_geo.formatting import fr_int
from cpts_geo.user_text import display_text


@dataclass(frozen=True)
class VectorFormat:
    """A vector format read from files: its name in messages, the only GDAL driver that reads it (None: GeoParquet,
    read by pyarrow), how its first bytes look, and the prefix that makes GDAL use that driver alone (``GeoJSON:``,
    ``GPKG:``; none for the binary formats, whose signature no other driver takes); ``quoted``: the path follows the
    prefix in double quotes (``GPKG:"a:b.gpkg"``, where a colon would end the name)."""

    name: str
    driver: str | None
    signature: re.Pattern[bytes]
    prefix: str = ""
    quoted: bool = False

    def source(self, path: Path) -> str:
        """The name GDAL opens ``path`` by with this driver alone (absolute: a relative ``PG:x.shp`` is no
        connection)."""
        name = str(Path(path).absolute())
        if self.quoted:
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return self.prefix + name


GEOJSON = VectorFormat("GeoJSON", "GeoJSON", re.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{"), "GeoJSON:")
#: Vector formats read, decided by the file's extension (``.parquet`` through geopandas, the others through pyogrio).
VECTOR_FORMATS = {
    ".gpkg": VectorFormat("GeoPackage", "GPKG", re.compile(rb"SQLite format 3\x00"), "GPKG:", quoted=True),
    ".shp": VectorFormat("Shapefile", "ESRI Shapefile", re.compile(rb"\x00\x00\x27\x0a")),   # file code 9994
    ".geojson": GEOJSON,
    ".json": GEOJSON,
    ".fgb": VectorFormat("FlatGeobuf", "FlatGeobuf", re.compile(rb"fgb\x03")),
    ".parquet": VectorFormat("GeoParquet", None, re.compile(rb"PAR1")),
}
VECTOR_SUFFIXES = tuple(VECTOR_FORMATS)
#: Bytes read to recognise a format (its signature, after a BOM and blanks for GeoJSON).
SIGNATURE_BYTES = 4096
#: A ``crs`` member of a GeoJSON as GDAL finds it: any case, its letters possibly written as ``\\u`` escapes.
CRS_MEMBER = re.compile(rb'(?i)"(?:c|\\u00[46]3)(?:r|\\u00[57]2)(?:s|\\u00[57]3)"\s*:\s*')
#: Longest ``crs`` value read (a name is some 50 bytes; longer is refused).
CRS_MAX_BYTES = 4096
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
#: Fields a data row may have beyond its header when they are empty (trailing separators of spreadsheets).
EXTRA_FIELDS = 8

#: What an archive may unpack (zip bombs): members, total bytes, and compression ratio of a member over 1 MB.
MAX_ARCHIVE_MEMBERS = 10_000
MAX_EXTRACTED_BYTES = 1_000_000_000
#: The official IGN archives of all France are larger (read by :mod:`cpts_geo.data.sources.official`).
OFFICIAL_EXTRACTED_BYTES = 20_000_000_000
MAX_COMPRESSION_RATIO = 200
#: Zip compression methods read by :mod:`zipfile`; others (Deflate64, PPMd, Zstandard…) are named in the error.
ZIP_METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
ZIP_METHOD_NAMES = {9: "Deflate64", 10: "PKWARE Implode", 93: "Zstandard", 95: "XZ", 98: "PPMd", 99: "AES"}
#: Longest list of names (members, layers, columns) put in a message.
LISTED_NAMES = 10


# --------------------------------------------------------------------------- files given by users

def listed(names, limit: int = LISTED_NAMES, width: int = 40, separator: str = ", ") -> str:
    """Names (or other items) for a message: at most ``limit``, then how many in all, each cut at ``width``
    characters (never a whole file's content) and shown safe (:func:`~cpts_geo.user_text.display_text`: a
    terminal escape in a layer name is shown as ``␛``). A message never grows with the file it names."""
    names = list(names)
    shown = separator.join(display_text(name, width) for name in names[:limit])
    return shown + (f"… ({fr_int(len(names))} en tout)" if len(names) > limit else "")


def check_size(label: str, size: int, limit: int | None, what: str = "") -> None:
    """Raise :class:`InputError` when ``size`` bytes exceed ``limit`` (``what``: « pour une liste de codes »…)."""
    if limit is not None and size > limit:
        raise InputError(f"{_capitalised(label)} est trop volumineux ({size / 1e6:.1f} Mo ; "
                         f"maximum {limit / 1e6:.0f} Mo{what}).")


def input_file(path: Path | str, label: str | None = None, max_bytes: int | None = None) -> Path:
    """``path`` checked as an existing regular file of at most ``max_bytes``; else an :class:`InputError` naming it.

    A folder, a pipe or a device is refused before anything is read from it, a GDAL virtual path (``/vsicurl/…``)
    before anything is looked up.
    """
    if str(path).startswith("/vsi"):
        raise InputError(f"Chemin refusé : {listed([path], width=80)} est un chemin virtuel de GDAL (réseau, "
                         "archive…) ; donnez le chemin d'un fichier.")
    path = Path(path)
    label = label or f"le fichier {path.name}"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(f"Fichier introuvable : {path}") from None
    except OSError as err:
        raise InputError(f"{_capitalised(label)} est inaccessible ({err.strerror or err}).") from err
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path} est un dossier : donnez le chemin d'un fichier.")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{_capitalised(label)} n'est pas un fichier ordinaire (tube, périphérique ou socket).")
    check_size(label, info.st_size, max_bytes)
    return path


def read_input_bytes(path: Path | str, label: str | None = None, max_bytes: int | None = None) -> bytes:
    """The bytes of a file checked by :func:`input_file`; a read error (permissions…) is an :class:`InputError`."""
    path = input_file(path, label, max_bytes)
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"{_capitalised(label or f'le fichier {path.name}')} n'a pas pu être lu "
                         f"({err.strerror or err}).") from err


def upload_name(filename: str) -> str:
    """The name of an uploaded file as messages show it: the last part of the client's name, cut at 80 characters."""
    return listed([PurePosixPath(filename.replace("\\", "/")).name or "sans nom"], width=80)


@contextmanager
def uploaded_file(data: bytes, filename: str, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """The bytes of an upload in a temporary file whose name is ours (``upload<ext>``): the client's ``filename``
    gives only the extension (one of ``suffixes``) and the name shown in messages, never a path.

    An :class:`InputError` of a reader inside the block names the client's file instead of ours.
    """
    shown = upload_name(filename)
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in suffixes:
        raise InputError(f"Le fichier « {shown} » n'est pas d'un format accepté ({', '.join(suffixes)}).")
    with tempfile.TemporaryDirectory(prefix="cpts_geo_upload_") as folder:
        path = Path(folder, f"upload{suffix}")
        path.write_bytes(data)
        try:
            yield path
        except InputError as err:
            raise InputError(str(err).replace(path.name, f"« {shown} »")) from err


# --------------------------------------------------------------------------- vectors

def _content_kind(start: bytes) -> str:
    """What the first bytes of a file look like, for a message (« du XML (fichier virtuel GDAL…) », …)."""
    text = start.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "du XML (par exemple un fichier virtuel GDAL « VRT », qui peut désigner d'autres fichiers)"
    if text.startswith(b"PK"):
        return "une archive zip"
    if not text:
        return "vide"
    found = next((f.name for f in VECTOR_FORMATS.values() if f.signature.match(start)), None)
    return f"celui d'un fichier {found}" if found else "d'un autre format"


def _linked_crs(data: bytes) -> bool:
    """True when a ``crs`` member of a GeoJSON (of the collection, a feature or a geometry) is a link (``"type":
    "link"`` or ``"url"``, any case), which GDAL would download; a ``crs`` member that is not readable JSON counts as
    one. Only the value of each ``crs`` member is parsed, not the whole file."""
    for member in CRS_MEMBER.finditer(data):
        window = data[member.end():member.end() + CRS_MAX_BYTES].decode("utf-8", "replace")
        try:
            value, _ = json.JSONDecoder(object_pairs_hook=list).raw_decode(window)
        except ValueError:
            return True
        if isinstance(value, list) and any(isinstance(pair, tuple) and str(pair[0]).lower() == "type"
                                           and str(pair[1]).lower().startswith(("link", "url")) for pair in value):
            return True
    return False


def format_of(path: Path) -> VectorFormat:
    """The vector format of ``path``, by its extension alone; an :class:`InputError` lists the accepted ones."""
    vector_format = VECTOR_FORMATS.get(Path(path).suffix.lower())
    if vector_format is None:
        raise InputError(f"Format de couche non pris en charge : {Path(path).name} "
                         f"(formats acceptés : {', '.join(VECTOR_SUFFIXES + ARCHIVE_SUFFIXES)}).")
    return vector_format


def vector_source(path: Path | str) -> str:
    """What GDAL opens for the vector file ``path``: the file checked by :func:`input_file`, its format decided by its
    extension alone (:data:`VECTOR_FORMATS`), its first bytes checked against that format, and that format's driver
    forced where GDAL allows it (``GeoJSON:<path>``, ``GPKG:<path>``).

    Every vector file goes through here, given by a user or downloaded: an OGR VRT (XML that points GDAL at any
    file or URL) named ``.geojson``, a GDAL virtual path (``/vsicurl/…``) or a GeoJSON whose ``crs`` is a link
    to download raises :class:`InputError` naming the problem; nothing beyond the file itself is ever read.
    """
    path = input_file(path)
    vector_format = format_of(path)
    with path.open("rb") as file:
        start = file.read(SIGNATURE_BYTES)
    if not vector_format.signature.match(start):
        raise InputError(f"Le fichier {path.name} est refusé : son extension annonce un fichier {vector_format.name}, "
                         f"mais son contenu est {_content_kind(start)}. Seul un vrai fichier {vector_format.name} "
                         "est lu.")
    if vector_format is GEOJSON and _linked_crs(path.read_bytes()):
        raise InputError(f"Le fichier {path.name} est refusé : son système de coordonnées (« crs ») est un lien "
                         "à télécharger (ou illisible) ; donnez le système par son nom (EPSG) ou enregistrez la "
                         "couche en GeoJSON standard (WGS 84).")
    return vector_format.source(path)


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
    """Vector files among archive members (macOS resource forks ``__MACOSX/``, ``._x.shp`` left out)."""
    return sorted(n for n in names if PurePosixPath(n).suffix.lower() in VECTOR_SUFFIXES
                  and "__MACOSX" not in PurePosixPath(n).parts and not PurePosixPath(n).name.startswith("._"))


def _needed_members(names: list[str], vectors: list[str]) -> list[str]:
    stems = {str(PurePosixPath(v).with_suffix("")).lower() for v in vectors}
    return [n for n in names if str(PurePosixPath(n).with_suffix("")).lower() in stems
            and PurePosixPath(n).suffix.lower() in (*VECTOR_SUFFIXES, *SIDECAR_SUFFIXES)]


def _check_member_names(archive_name: str, names: list[str]) -> None:
    """Refuse an archive with too many members or a member outside its folder (absolute path, ``..``)."""
    if len(names) > MAX_ARCHIVE_MEMBERS:
        raise InputError(f"L'archive {archive_name} contient trop de fichiers ({len(names)} ; maximum "
                         f"{MAX_ARCHIVE_MEMBERS}).")
    for name in names:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts or "\0" in name:
            raise InputError(f"L'archive {archive_name} est refusée : le fichier « {listed([name])} » qu'elle "
                             "contient désigne un emplacement hors de l'archive (chemin absolu ou « .. »).")


def _check_total(archive_name: str, total: int, max_bytes: int) -> None:
    if total > max_bytes:
        raise InputError(f"L'archive {archive_name} se décompresse en {total / 1e6:.0f} Mo, plus que les "
                         f"{max_bytes / 1e6:.0f} Mo acceptés : archive piégée (bombe de décompression) ou trop grande.")


def _zip_targets(path: Path, archive: zipfile.ZipFile, max_bytes: int) -> tuple[list[str], list[zipfile.ZipInfo]]:
    """The vector members of a zip and every member to extract, each checked (encryption, method, type, size)."""
    infos = [i for i in archive.infolist() if not i.is_dir()]
    names = [i.filename for i in infos]
    _check_member_names(path.name, names)
    vectors = _vector_members(names)
    needed = set(_needed_members(names, vectors))
    targets = [i for i in infos if i.filename in needed]
    for info in targets:
        check_zip_member(path.name, info)
    _check_total(path.name, sum(i.file_size for i in targets), max_bytes)
    return vectors, targets


def check_zip_member(archive_name: str, info: zipfile.ZipInfo) -> None:
    """Refuse a zip member that is encrypted, compressed by a method :mod:`zipfile` cannot read, a link or a bomb."""
    member = f"« {listed([info.filename])} »"
    if info.flag_bits & 0x1:
        raise InputError(f"L'archive {archive_name} est protégée par un mot de passe ({member}) : "
                         "enregistrez-la de nouveau sans mot de passe.")
    if info.compress_type not in ZIP_METHODS:
        method = ZIP_METHOD_NAMES.get(info.compress_type, f"méthode n° {info.compress_type}")
        raise InputError(f"L'archive {archive_name} utilise une compression non prise en charge ({method}, "
                         f"pour {member}) : recompressez-la en zip standard (Deflate).")
    if stat.S_IFMT(info.external_attr >> 16) not in (0, stat.S_IFREG):  # Unix file type: a link, a device…
        raise InputError(f"L'archive {archive_name} est refusée : {member} est un lien symbolique ou un "
                         "fichier spécial, pas un fichier ordinaire.")
    if info.file_size > 1_000_000 and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise InputError(f"L'archive {archive_name} est refusée : {member} se décompresse plus de "
                         f"{MAX_COMPRESSION_RATIO} fois (bombe de décompression).")


def _extract_zip(path: Path, archive: zipfile.ZipFile, folder: Path, max_bytes: int) -> list[Path]:
    """Copy the checked members of a zip to names chosen here: ``<folder>/<n>/<base name>``, one ``n`` per folder."""
    vectors, targets = _zip_targets(path, archive, max_bytes)
    subfolders: dict[str, int] = {}
    written, total = {}, 0
    for info in targets:
        member = PurePosixPath(info.filename.replace("\\", "/"))
        target = folder / str(subfolders.setdefault(str(member.parent), len(subfolders))) / member.name
        target.parent.mkdir(exist_ok=True)
        if target in written.values():
            raise InputError(f"L'archive {path.name} contient deux fois le fichier « {listed([info.filename])} ».")
        with archive.open(info) as source, target.open("wb") as out:
            while chunk := source.read(1 << 20):
                total += len(chunk)
                _check_total(path.name, total, max_bytes)
                out.write(chunk)
        written[info.filename] = target
    return [written[v] for v in vectors]


def _extract_7z(path: Path, archive: py7zr.SevenZipFile, folder: Path, max_bytes: int) -> list[Path]:
    """Extract the checked vector members of a 7z archive (no link, no name outside ``folder``)."""
    if archive.needs_password():
        raise InputError(f"L'archive {path.name} est protégée par un mot de passe : "
                         "enregistrez-la de nouveau sans mot de passe.")
    files = [f for f in archive.files if not f.is_directory]
    names = [f.filename for f in files]
    _check_member_names(path.name, names)
    vectors = _vector_members(names)
    targets = _needed_members(names, vectors)
    special = [f.filename for f in files if f.filename in targets and (f.is_symlink or f.is_junction or f.is_socket)]
    if special:
        raise InputError(f"L'archive {path.name} est refusée : « {listed(special)} » est un lien symbolique ou un "
                         "fichier spécial, pas un fichier ordinaire.")
    _check_total(path.name, sum(f.uncompressed or 0 for f in files if f.filename in targets), max_bytes)
    archive.extract(path=folder, targets=targets)
    extracted = [folder / v for v in vectors]
    outside = [p.name for p in extracted if p.is_symlink() or not p.resolve().is_relative_to(folder.resolve())]
    if outside:
        raise InputError(f"L'archive {path.name} est refusée : « {listed(outside)} » sort du dossier d'extraction.")
    return extracted


@contextmanager
def extracted_vectors(path: Path, max_bytes: int | None = None) -> Iterator[list[Path]]:
    """Yield the vector files of ``path``: itself, or those of an archive extracted to a temporary folder.

    Only the vector files and their side-cars are extracted, each checked first: no member
    outside the folder (absolute name, ``..``, link), no encryption or unsupported compression,
    at most ``max_bytes`` unpacked (default :data:`MAX_EXTRACTED_BYTES`; :class:`InputError` naming
    the problem otherwise). The folder is removed on exit.
    """
    path = input_file(path)
    max_bytes = max_bytes or MAX_EXTRACTED_BYTES
    kind = archive_kind(path)
    if kind is None:
        format_of(path)
        yield [path]
        return
    with tempfile.TemporaryDirectory(prefix="cpts_geo_") as tmp:
        yield _extract_vectors(path, kind, Path(tmp), max_bytes)


def _extract_vectors(path: Path, kind: str, folder: Path, max_bytes: int) -> list[Path]:
    """Extract the vector files of an archive (opened once) with their side-cars; returns their paths."""
    try:
        if kind == ".7z":
            with _seven_zip(path) as archive:
                vectors = _extract_7z(path, archive, folder, max_bytes)
        else:
            with zipfile.ZipFile(path) as archive:
                vectors = _extract_zip(path, archive, folder, max_bytes)
    except py7zr.exceptions.PasswordRequired as err:
        raise InputError(f"L'archive {path.name} est protégée par un mot de passe : "
                         "enregistrez-la de nouveau sans mot de passe.") from err
    except py7zr.exceptions.UnsupportedCompressionMethodError as err:
        raise InputError(f"L'archive {path.name} utilise une compression non prise en charge ({err}) : "
                         "recompressez-la en 7z standard (LZMA2) ou en zip.") from err
    except (zipfile.BadZipFile, py7zr.Bad7zFile, py7zr.exceptions.ArchiveError, EOFError, OSError) as err:
        # Python's message (« File is not a zip file ») is English: the French one says it all
        raise InputError(f"L'archive {path.name} est illisible ou incomplète ; "
                         "supprimez-la et téléchargez-la de nouveau.") from err
    if not vectors:
        raise DataError(f"L'archive {path.name} ne contient aucune couche géographique "
                         f"({', '.join(VECTOR_SUFFIXES)}).")
    return vectors


def vector_layers(path: Path) -> list[tuple[str, str | None]]:
    """``(name, geometry type or None)`` of each layer of the vector file ``path`` (checked by
    :func:`vector_source`)."""
    source, vector_format = vector_source(path), format_of(path)
    if vector_format.driver is None:
        return [(Path(path).stem, "Unknown")]   # GeoParquet: one table
    try:
        return [(str(name), geometry_type) for name, geometry_type in pyogrio.list_layers(source)]
    except (pyogrio.errors.DataSourceError, OSError) as err:
        raise InputError(f"Le fichier {Path(path).name} n'a pas pu être lu comme {vector_format.name} : fichier "
                         "abîmé ou d'un autre format.") from err


def vector_layer(path: Path, layer: str | None = None) -> str | None:
    """The layer to read in ``path``: ``layer``, else its only layer with geometry.

    A file of several layers (a GeoPackage) is refused with the list of its layers rather than
    read from its first one; a file with tables but no geometry, or without the ``layer`` asked, is refused too.
    """
    if path.suffix.lower() != ".gpkg":
        return layer
    layers = vector_layers(path)
    if layer is not None:
        if layer not in [name for name, _ in layers]:
            raise InputError(f"Le fichier {path.name} n'a pas de couche « {layer} » (couches présentes : "
                             f"{listed(n for n, _ in layers) or 'aucune'}).")
        return layer
    spatial = [name for name, geometry_type in layers if geometry_type]
    if not spatial:
        raise InputError(f"Le fichier {path.name} ne contient aucune couche géographique"
                         + (f" (seulement des tables sans géométrie : {listed(n for n, _ in layers)})." if layers
                            else "."))
    if len(spatial) > 1:
        raise InputError(f"Le fichier {path.name} contient {len(spatial)} couches ({listed(spatial)}) ; une seule "
                         "est attendue : enregistrez la couche voulue dans un fichier à part.")
    return spatial[0]


def read_vector_file(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one plain vector file, opened as :func:`vector_source` says (GeoParquet through geopandas, the other
    formats through pyogrio with their own driver only).

    Unclosed rings are closed; a damaged file, one of another format, of several layers (see
    :func:`vector_layer`), without geometry or with non-numeric coordinates (NaN) raises :class:`InputError`
    naming it.
    """
    path = Path(path)
    source = vector_source(path)
    try:
        if format_of(path).driver is None:
            table = gpd.read_parquet(path)
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's note on an unclosed ring it accepts
                table = gpd.read_file(source, layer=vector_layer(path, layer), engine="pyogrio", on_invalid="fix")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, shapely.errors.GEOSException,
            OSError, ValueError) as err:
        raise InputError(f"Le fichier {path.name} n'a pas pu être lu comme couche géographique "
                         f"({path.suffix or 'sans extension'}) : fichier abîmé ou d'un autre format.") from err
    if not isinstance(table, gpd.GeoDataFrame):
        raise InputError(f"Le fichier {path.name} ne contient aucune géométrie (table attributaire seulement).")
    coordinates, index = shapely.get_coordinates(table.geometry.array, return_index=True)
    bad = np.unique(index[~np.isfinite(coordinates).all(axis=1)])
    if len(bad):
        raise InputError(f"Le fichier {path.name} a des coordonnées non numériques (NaN ou infinies) : entité(s) "
                         f"{listed(bad + 1)}.")
    return table


def read_vector(path: Path, layer: str | None = None, max_bytes: int | None = None,
                suffix: str | None = None) -> gpd.GeoDataFrame:
    """Read a vector layer (.shp/.gpkg/.geojson/.fgb/.parquet), possibly inside a .zip or .7z (split or not).

    An archive must hold exactly one vector file, or exactly one whose name ends with ``suffix``
    (``_territoire``: the zipped Shapefile of a perimeter exported by cpts-geo), a file one layer
    unless ``layer`` is given; otherwise :class:`InputError` lists them (use :func:`extracted_vectors`
    to read them all).
    """
    with extracted_vectors(path, max_bytes) as files:
        chosen = [f for f in files if suffix and f.stem.endswith(suffix)]
        if len(files) > 1 and len(chosen) == 1:
            files = chosen
        if len(files) > 1:
            raise InputError(f"L'archive {Path(path).name} contient plusieurs couches "
                             f"({listed(f.name for f in files)}) ; une seule est attendue.")
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


def _header_names(header: str, sep: str) -> list[str]:
    """Column names of a header line, without its trailing empty fields; empty or repeated names made unique."""
    fields = next(csv.reader([header], delimiter=sep), [])
    while fields and not fields[-1].strip():
        fields.pop()
    names: dict[str, None] = {}
    for position, field in enumerate(fields):
        base = name = field if field.strip() else f"Unnamed: {position}"
        copy = 0
        while name in names:
            copy += 1
            name = f"{base}.{copy}"
        names[name] = None
    return list(names) or ["Unnamed: 0"]


def _bad_width(label: str, line: int, saw: int, width: int, sep: str) -> InputError:
    return InputError(f"{_capitalised(label)} n'a pas le même nombre de colonnes sur toutes ses lignes "
                      f"(ligne {line} : {saw} champs au lieu de {width} ; séparateur détecté : "
                      f"{SEPARATOR_NAMES.get(sep, '« ; »')}).")


def _records(text: str, sep: str) -> list[tuple[int, int]]:
    """The line (from 1) where each record of ``text`` starts and its number of fields, blank lines skipped as
    :func:`pandas.read_csv` does (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    records, start = [], 1
    try:
        for record in reader:
            if record and (len(record) > 1 or record[0].strip()):
                records.append((start, len(record)))
            start = reader.line_num + 1
    except csv.Error:   # a NUL character: pandas names the problem
        pass
    return records


def read_text_table(source: Path | str | bytes, *, label: str | None = None,
                    required: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a delimited text file (path or bytes) with every column as a string.

    The encoding (UTF-8, else Windows-1252) and the separator (``;``, ``,`` or tab, judged on the
    header line) are detected; a leading ``#`` and spaces are stripped from the column names.
    Empty fields after the last column (rows ending with a separator, as spreadsheets export
    them) are dropped, never taken for an index. ``required`` columns are matched whatever their
    case and renamed to the given spelling. Raises :class:`InputError` with a French message
    naming the problem (encoding, separator, number of fields and its line, unclosed quote, missing column).
    ``table.attrs["lines"]`` gives the line of the file where each row starts (blank lines skipped).
    """
    if isinstance(source, bytes):
        data, label = source, label or "le fichier fourni"
    else:
        label = label or f"le fichier {Path(source).name}"
        data = read_input_bytes(source, label)
    text = _decode(data, label)
    header = next((line for line in text.splitlines() if line.strip()), None)
    if header is None:
        raise InputError(f"{_capitalised(label)} est vide.")
    sep = _separator(header) or ";"
    names = _header_names(header, sep)
    extras = [f"\0extra{i}" for i in range(EXTRA_FIELDS)]
    records = _records(text, sep)
    try:
        table = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=[*names, *extras], index_col=False,
                            dtype=str, keep_default_na=False, na_values=[""]).iloc[1:].reset_index(drop=True)
    except pd.errors.ParserError as err:
        too_wide = [(line, width) for line, width in records if width > len(names) + len(extras)]
        if "EOF inside string" in str(err) and records:
            raise InputError(f"{_capitalised(label)} a un guillemet (\") ouvert ligne {records[-1][0]} et jamais "
                             "fermé : fermez-le, ou retirez-le du texte.") from err
        if not too_wide:
            raise InputError(f"{_capitalised(label)} n'a pas pu être lu comme tableau ({str(err)[:200]}).") from err
        raise _bad_width(label, *too_wide[0], len(names), sep) from err
    beyond = table[extras].notna()
    if beyond.any(axis=None):
        row = int(np.argmax(beyond.any(axis=1).to_numpy()))
        line = records[row + 1][0] if len(records) == len(table) + 1 else row + 2
        raise _bad_width(label, line, len(names) + int(beyond.iloc[row].to_numpy().nonzero()[0].max()) + 1,
                         len(names), sep)
    table = table.drop(columns=extras)
    table.columns = table.columns.str.strip().str.lstrip("#").str.strip()
    by_lower = {c.lower(): c for c in table.columns}
    table = table.rename(columns={by_lower[r.lower()]: r for r in required if r.lower() in by_lower})
    missing = [c for c in required if c not in table.columns]
    if missing:
        hint = ("aucun séparateur reconnu sur la ligne d'en-tête (attendu : « ; », « , » ou tabulation)"
                if _separator(header) is None else f"séparateur détecté : {SEPARATOR_NAMES[sep]}")
        raise InputError(f"Colonnes absentes dans {label} : {', '.join(missing)} ; colonnes lues : "
                         f"{listed(table.columns)} ({hint}).")
    if len(records) == len(table) + 1:
        table.attrs["lines"] = [line for line, _ in records[1:]]
    return table
