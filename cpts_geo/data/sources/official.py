"""Read the official downloads (IGN, INSEE, La Poste), or a local folder holding them.

See ``docs/official-sources.md`` of the shared notes for the facts behind the names and URLs.
"""

from __future__ import annotations

import hashlib
import re
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from cpts_geo.config import PROJECT_ROOT, departement_of
from cpts_geo.errors import DataError, InputError
from cpts_geo.data.sources import AGE_BANDS, SourceTables
from cpts_geo.data.sources.cog import Cog, empty_cog, read_cog_insee
from cpts_geo.data.sources.health import read_health_official
from cpts_geo.data.sources.readers import (ARCHIVE_SUFFIXES, OFFICIAL_EXTRACTED_BYTES, VECTOR_SUFFIXES, VOLUME, archive_kind,
                                           check_zip_member, extracted_vectors, normalise_iris_fields, read_text_table,
                                           read_vector_file)

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 cpts-geo"
IGN_FEED = "https://data.geopf.fr/telechargement/resource/CONTOURS-IRIS"
INSEE_FILE = "https://www.insee.fr/fr/statistiques/fichier/{page}/{file}"
ATOM = "{http://www.w3.org/2005/Atom}"

#: Where each official file comes from, per millésime (INSEE page ids are arbitrary: keep a table).
OFFICIAL_SOURCES = {
    "iris": {
        "feed": IGN_FEED,
        "zones": {"FXX": "France métropolitaine", "GLP": "Guadeloupe", "MTQ": "Martinique",
                  "GUF": "Guyane", "REU": "La Réunion", "MYT": "Mayotte",
                  "SPM": "Saint-Pierre-et-Miquelon", "BLM": "Saint-Barthélemy", "MAF": "Saint-Martin"},
        "formats": ("GPKG", "FLATGEOBUF", "GEOPARQUET", "SHP"),  # order of preference
    },
    "iris_population": {  # RP millésime -> base-ic-evol-struct-pop (geography of 1 Jan N+2)
        year: INSEE_FILE.format(page=page, file=f"base-ic-evol-struct-pop-{year}_csv.zip")
        for year, page in {2018: "5650720", 2019: "6543200", 2020: "7704076",
                           2021: "8268806", 2022: "8647014"}.items()
    },
    "legal_population": {  # millésime -> populations légales, ensemble.zip
        year: INSEE_FILE.format(page=page, file="ensemble.zip")
        for year, page in {2018: "6011070", 2020: "6683035", 2021: "7739582",
                           2022: "8290591", 2023: "8680726"}.items()
    },
    "cog": {  # millésime -> (communes, movements) of the Code officiel géographique
        year: (INSEE_FILE.format(page=page, file=f"v_commune_{year}.csv"),
               INSEE_FILE.format(page=page, file=f"v_mvt_commune_{year}.csv"))
        for year, page in {2025: "8377162", 2026: "8740222"}.items()
    },
    "postal": ("https://data.laposte.fr/data-fair/api/v1/datasets/laposte-hexasmal/raw",
               "https://datanova.laposte.fr/data-fair/api/v1/datasets/laposte-hexasmal/raw"),
}

#: Paris, Lyon, Marseille: arrondissement code ranges and parent commune.
PLM = {"75056": ("Paris", range(75101, 75121)), "69123": ("Lyon", range(69381, 69390)),
       "13055": ("Marseille", range(13201, 13217))}
PARENT_OF = {str(code): parent for parent, (_, codes) in PLM.items() for code in codes}

EDITION_RE = re.compile(r"CONTOURS-IRIS_(?P<version>\d-\d)__?(?P<format>[A-Z]+)_(?P<crs>[A-Z0-9]*)_?"
                        r"(?P<zone>[A-Z]{3})_(?P<date>(?P<year>\d{4})-\d{2}-\d{2})")
YEAR_IN_PATH = (re.compile(r"ED(20\d\d)"), re.compile(r"(20\d\d)-01-01"), re.compile(r"-(20\d\d)\b"),
                re.compile(r"(20\d\d)"))
IRIS_POP_RE = re.compile(r"base-ic-evol-struct-pop-(\d{4})", re.IGNORECASE)
COG_RE = {"cog_communes": re.compile(r"v_commune_(\d{4})\.csv", re.IGNORECASE),
          "cog_movements": re.compile(r"v_mvt_commune_(\d{4})\.csv", re.IGNORECASE)}
COMMUNE_CODE_RE = r"^(\d{5}|2[AB]\d{3})$"


# --------------------------------------------------------------------------- network

def _fetch(url: str, timeout: float = 60) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, TimeoutError) as err:
        raise DataError(f"Accès impossible à {url} ({err}). Vérifiez la connexion à Internet, ou "
                        "téléchargez les fichiers à la main et utilisez « prepare --mirror DOSSIER ».") from err


def _atom_entries(url: str) -> list[ET.Element]:
    """Every ``<entry>`` of a paginated Géoplateforme Atom feed."""
    entries, page, pagecount = [], 1, 1
    while page <= pagecount:
        root = ET.fromstring(_fetch(f"{url}?page={page}"))
        pagecount = next((int(v) for k, v in root.attrib.items() if k.endswith("pagecount")), 1)
        entries += root.findall(f"{ATOM}entry")
        page += 1
    return entries


def discover_iris_editions() -> list[str]:
    """Names of the CONTOURS-IRIS editions listed by the IGN Atom feed (all pages)."""
    titles = (e.findtext(f"{ATOM}title", "").strip() for e in _atom_entries(IGN_FEED))
    return sorted(t for t in titles if EDITION_RE.fullmatch(t))


def select_iris_editions(editions: list[str], year: int | None = None) -> list[str]:
    """Editions covering all of France for ``year`` (default: the latest), in the preferred format.

    Within a format, a France-entière (FRA) edition is preferred to the per-territory ones.
    """
    parsed = [m for m in map(EDITION_RE.fullmatch, editions) if m]
    years = sorted({int(m["year"]) for m in parsed})
    if not years or (year is not None and year not in years):
        raise DataError(f"Aucune édition des contours IRIS pour {year or 'aucune année'} dans le flux IGN "
                        f"(années disponibles : {', '.join(map(str, years)) or 'aucune'}).")
    year = year or years[-1]
    for fmt in OFFICIAL_SOURCES["iris"]["formats"]:
        chosen = [m for m in parsed if int(m["year"]) == year and m["format"] == fmt]
        france = [m for m in chosen if m["zone"] == "FRA"]
        if chosen:
            return sorted(m[0] for m in (france[:1] or chosen))
    raise DataError(f"Les éditions IRIS {year} n'existent dans aucun format lisible.")


def edition_files(edition: str) -> list[tuple[str, str | None]]:
    """(data URL, md5 URL or None) of the files of one CONTOURS-IRIS edition."""
    hrefs = [link.get("href", "") for entry in _atom_entries(f"{IGN_FEED}/{edition}")
             for link in entry.findall(f"{ATOM}link")]
    hrefs = [h for h in hrefs if "/download/" in h]
    md5 = {h.rsplit(".", 1)[0]: h for h in hrefs if h.lower().endswith(".md5")}
    data = [h for h in hrefs  # every volume of a split archive is downloaded
            if Path(h).suffix.lower() in (*ARCHIVE_SUFFIXES, *VECTOR_SUFFIXES) or VOLUME.search(h)]
    return [(h, md5.get(h.rsplit(".", 1)[0])) for h in data]


def download(url: str, dest: Path, progress: bool = True, md5_url: str | None = None) -> Path:
    """Download ``url`` to ``dest`` with a progress line on stderr; check the md5 when one is given."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(request, timeout=60) as response, part.open("wb") as out:
            total, done = int(response.headers.get("Content-Length") or 0), 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    share = f" ({100 * done / total:.0f} %)" if total else ""
                    print(f"\r{dest.name} : {done / 1e6:.1f} Mo{share}", end="", file=sys.stderr, flush=True)
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        part.unlink(missing_ok=True)
        raise DataError(f"Téléchargement impossible de {url} ({err}). Vérifiez la connexion, ou "
                        "téléchargez le fichier à la main et utilisez « prepare --mirror DOSSIER ».") from err
    if progress:
        print(file=sys.stderr)
    if md5_url:
        expected = re.search(r"[0-9a-fA-F]{32}", _fetch(md5_url).decode("ascii", "replace"))
        if expected and expected[0].lower() != digest.hexdigest():
            part.unlink()
            raise DataError(f"Le fichier téléchargé {dest.name} est corrompu (somme md5 différente de "
                            f"celle publiée) : relancez le téléchargement.")
    part.replace(dest)
    return dest


def download_official(folder: Path, iris_year: int | None = None, progress: bool = True) -> None:
    """Download into ``folder`` the official files it does not hold yet.

    By default the IRIS contours are those of the geography of the latest IRIS population
    (RP N ↔ contours N+2) when the IGN still lists them, else the latest edition.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rp_year = max(OFFICIAL_SOURCES["iris_population"])
    found = find_official_files(folder, iris_year)
    if not found["iris"]:
        editions = discover_iris_editions()
        listed = {int(EDITION_RE.fullmatch(e)["year"]) for e in editions}
        wanted = iris_year or (rp_year + 2 if rp_year + 2 in listed else None)
        for edition in select_iris_editions(editions, wanted):
            for url, md5_url in edition_files(edition):
                _download_missing(url, folder / edition / Path(url).name, progress, md5_url)
    _download_missing(OFFICIAL_SOURCES["iris_population"][rp_year],
                      folder / f"base-ic-evol-struct-pop-{rp_year}_csv.zip", progress)
    legal = OFFICIAL_SOURCES["legal_population"]
    _download_missing(legal[max(legal)], folder / f"ensemble_{max(legal)}.zip", progress)
    if rp_year in legal:  # optional: only gives the population of reference of the communes
        try:
            _download_missing(legal[rp_year], folder / f"ensemble_{rp_year}.zip", progress)
        except DataError as err:
            print(f"Populations légales {rp_year} non téléchargées, la population de référence des communes "
                  f"restera vide : {err}", file=sys.stderr)
    cog = OFFICIAL_SOURCES["cog"]
    for url in cog[max(cog)]:   # optional: without it, codes are taken as the contours give them
        try:
            _download_missing(url, folder / Path(url).name, progress)
        except DataError as err:
            print(f"Code officiel géographique non téléchargé : {err}", file=sys.stderr)
    if "postal" not in found:
        errors = []
        for url in OFFICIAL_SOURCES["postal"]:  # new La Poste host first, then the former one
            try:
                download(url, folder / "019HexaSmal.csv", progress)
                break
            except DataError as err:
                errors.append(str(err))
        else:
            raise DataError(" ".join(errors))


def _download_missing(url: str, dest: Path, progress: bool, md5_url: str | None = None) -> None:
    if not dest.exists():
        download(url, dest, progress, md5_url)


# --------------------------------------------------------------------------- local folder

def _year_in_path(path: Path) -> int | None:
    text = path.as_posix()
    return next((int(m[1]) for pattern in YEAR_IN_PATH if (m := pattern.search(text))), None)


def _is_iris_file(relative: Path) -> bool:
    text = relative.as_posix().lower()
    return (("contours-iris" in text or "contours_iris" in text)
            and (archive_kind(relative) is not None or relative.suffix.lower() in VECTOR_SUFFIXES))


def find_official_files(folder: Path, iris_year: int | None = None) -> dict:
    """Recognise the official files of ``folder`` (searched recursively) by their names.

    Returns ``iris`` (list of archives or layers of one edition: ``iris_year`` or the latest),
    ``iris_edition``, ``iris_population`` (latest), ``legal_population`` ({millésime or None: path}),
    ``postal`` and ``cog_communes``/``cog_movements`` ((millésime, path), latest); a key is absent (or ``iris`` empty) when no such file was found.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"Le dossier {folder} n'existe pas.")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".part"))
    found: dict = {"iris": [], "legal_population": {}}

    iris = [(p, _year_in_path(p.relative_to(folder))) for p in files if _is_iris_file(p.relative_to(folder))]
    years = sorted({y for _, y in iris if y is not None})
    edition = iris_year if iris_year is not None else (years[-1] if years else None)
    found["iris"] = [p for p, y in iris if y == edition]
    found["iris_edition"] = edition

    iris_pop = [(int(m[1]), p) for p in files if (m := IRIS_POP_RE.match(p.name))
                and (p.suffix.lower() == ".csv" or p.name.lower().endswith("_csv.zip"))]
    if iris_pop:
        found["iris_population"] = max(iris_pop)[1]

    for p in files:
        name = p.name.lower()
        if (name.startswith("ensemble") and name.endswith(".zip")) or name.startswith("donnees_communes"):
            year = re.search(r"(20\d\d)", p.relative_to(folder).as_posix())
            found["legal_population"].setdefault(int(year[1]) if year else None, p)

    postal = [p for p in files if p.name.lower() in ("019hexasmal.csv", "base-officielle-codes-postaux.csv")]
    if postal:
        found["postal"] = postal[0]
    for key, pattern in COG_RE.items():
        cog = [(int(m[1]), p) for p in files if (m := pattern.fullmatch(p.name))]
        if cog:
            found[key] = max(cog)
    return found


# --------------------------------------------------------------------------- readers of each file

def _table(source, label: str, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """:func:`read_text_table` whose errors become :class:`DataError` (official files)."""
    try:
        return read_text_table(source, label=label, required=required)
    except InputError as err:
        raise DataError(str(err)) from err


def _zip_tables(path: Path, pattern: str, required: tuple[str, ...] = ()) -> list[pd.DataFrame]:
    """Tables of the members of a zip whose base name matches ``pattern`` (or of the file itself)."""
    if path.suffix.lower() != ".zip":
        return [_table(path, f"le fichier {path.name}", required)]
    try:
        with zipfile.ZipFile(path) as archive:
            members = [i for i in archive.infolist() if re.fullmatch(pattern, Path(i.filename).name, re.IGNORECASE)]
            if not members:
                raise DataError(f"L'archive {path.name} ne contient pas le fichier attendu ({pattern}).")
            for info in members:
                check_zip_member(path.name, info)
            return [_table(archive.read(i), f"le fichier {Path(i.filename).name} de {path.name}", required)
                    for i in members]
    except (zipfile.BadZipFile, EOFError, OSError) as err:
        raise DataError(f"L'archive {path.name} est illisible ou incomplète : téléchargez-la de nouveau.") from err


def _numbers(values: pd.Series) -> pd.Series:
    cleaned = values.str.replace(r"\s", "", regex=True).str.replace(",", ".", regex=False)
    return pd.to_numeric(cleaned, errors="coerce")


def read_iris_layers(paths: list[Path]) -> gpd.GeoDataFrame:
    """Read and normalise every IRIS layer of ``paths`` (each in its own CRS) into one EPSG:4326 layer."""
    layers = []
    for path in paths:
        with extracted_vectors(path, OFFICIAL_EXTRACTED_BYTES) as files:
            for file in files:
                layers.append(normalise_iris_fields(read_vector_file(file)))
    if not layers:
        raise DataError("Aucune couche IRIS lue.")
    iris = pd.concat(layers, ignore_index=True).drop_duplicates("code_iris")
    return gpd.GeoDataFrame(iris, geometry="geometry", crs=layers[0].crs) \
        .sort_values("code_iris").reset_index(drop=True)


def read_iris_population(path: Path) -> tuple[pd.DataFrame, int]:
    """Read an INSEE ``base-ic-evol-struct-pop`` file (zip or CSV): per-IRIS population and age bands."""
    tables = _zip_tables(path, r"base-ic-evol-struct-pop-\d{4}\.csv", required=("IRIS", "COM"))
    table = pd.concat(tables, ignore_index=True)
    table.columns = table.columns.str.upper()
    totals = [c for c in table.columns if re.fullmatch(r"P\d\d_POP", c)]
    if not totals:
        raise DataError(f"Colonne de population (P{{AA}}_POP) absente de {path.name}.")
    prefix = totals[0][:4]
    year = 2000 + int(prefix[1:3])
    bands = {f"{prefix}POP{b[4:].upper()}": b for b in AGE_BANDS if f"{prefix}POP{b[4:].upper()}" in table.columns}
    columns = {"IRIS": "code_iris", "COM": "code_insee", f"{prefix}POP": "pop_total", **bands}
    result = table[list(columns)].rename(columns=columns)
    result["code_iris"], result["code_insee"] = result["code_iris"].str.zfill(9), result["code_insee"].str.zfill(5)
    for col in ["pop_total", *bands.values()]:
        result[col] = _numbers(result[col])
    return result, year


def read_legal_population(path: Path) -> tuple[pd.DataFrame, int | None]:
    """Read an INSEE legal-population file (``ensemble.zip`` or ``donnees_communes.csv``).

    Returns (``code_insee, nom, population``, millésime if a ``PMUN{AAAA}`` header gives it).
    Both layouts are read by header: ``COM`` = code (2023+) or ``CODDEP``/``DEP`` + ``CODCOM``.
    """
    table = _zip_tables(path, r"donnees_communes.*\.csv")[0]
    upper = {c.upper(): c for c in table.columns}
    pmun = next((c for key, c in upper.items() if re.fullmatch(r"PMUN(\d{4})?", key)), None)
    if pmun is None:
        raise DataError(f"Colonne PMUN (population municipale) absente de {path.name}.")
    com = table[upper["COM"]] if "COM" in upper else None
    com_is_code = com is not None and com.dropna().str.match(COMMUNE_CODE_RE).all()
    if com_is_code:
        code = com
    else:
        dep_col = upper.get("CODDEP") or upper.get("DEP")
        if dep_col is None or "CODCOM" not in upper:
            raise DataError(f"Impossible de trouver le code commune dans {path.name} "
                            f"(ni COM ni CODDEP + CODCOM ; colonnes : {', '.join(table.columns)}).")
        dep, codcom = table[dep_col].str.strip(), table[upper["CODCOM"]].str.strip().str.zfill(3)
        code = dep + codcom.str[-3:].where(dep.str.len() == 2, codcom.str[-2:])
    name_col = next((upper[c] for c in ("COMMUNE", "LIBCOM", "NCCENR", "LIBELLE") if c in upper), None)
    if name_col is not None:
        name = table[name_col]
    else:
        name = com if com is not None and not com_is_code else pd.Series(pd.NA, index=table.index)
    year = re.fullmatch(r"PMUN(\d{4})?", pmun.upper())[1]
    result = pd.DataFrame({"code_insee": code.str.strip(), "nom": name, "population": _numbers(table[pmun])})
    return result.dropna(subset=["code_insee"]).drop_duplicates("code_insee"), int(year) if year else None


def read_postal_codes(path: Path) -> pd.DataFrame:
    """Read La Poste's 019HexaSmal.csv or base-officielle-codes-postaux.csv into (code_insee, code_postal).

    Paris, Lyon and Marseille keep their arrondissement rows (the IRIS are coded by
    arrondissement) and their codes are also rolled up to the commune.
    """
    table = _table(path, f"le fichier {path.name}", required=("code_commune_insee", "code_postal"))
    code = table["code_commune_insee"].str.strip().str.zfill(5)
    postal_code = table["code_postal"].str.strip().str.zfill(5)
    postal = pd.concat([pd.DataFrame({"code_insee": code, "code_postal": postal_code}),
                        pd.DataFrame({"code_insee": code.replace(PARENT_OF), "code_postal": postal_code})])
    return postal.dropna().drop_duplicates().sort_values(["code_insee", "code_postal"]).reset_index(drop=True)


# --------------------------------------------------------------------------- assembly

def _regions() -> dict[str, str]:
    table = pd.read_csv(PROJECT_ROOT / "cpts_geo" / "data" / "reference" / "departements.csv", sep=";", dtype=str)
    return dict(zip(table["code_departement"], table["code_region"]))


def build_communes(legal: pd.DataFrame, iris: gpd.GeoDataFrame, reference: pd.DataFrame | None) -> pd.DataFrame:
    """Communes table: legal population, communes only known by the IRIS layer, PLM parents, codes."""
    from_iris = iris.drop_duplicates("code_insee")[["code_insee", "nom_commune"]]
    communes = legal.merge(from_iris, on="code_insee", how="outer")
    communes["nom"] = communes["nom"].fillna(communes["nom_commune"])
    communes = communes.drop(columns="nom_commune")
    communes["commune_parent"] = communes["code_insee"].map(PARENT_OF)
    arrondissements = communes.dropna(subset=["commune_parent"])
    parents = (arrondissements.groupby("commune_parent")["population"].sum(min_count=1)
               .rename_axis("code_insee").reset_index())
    parents = parents[~parents["code_insee"].isin(communes["code_insee"])]
    parents["nom"] = parents["code_insee"].map({code: name for code, (name, _) in PLM.items()})
    communes = pd.concat([communes, parents], ignore_index=True)
    communes["type"] = communes["commune_parent"].notna().map({True: "arrondissement_municipal",
                                                               False: "commune"})
    communes["departement"] = communes["code_insee"].map(departement_of)
    communes["region"] = communes["departement"].map(_regions())
    if reference is None:
        communes["population_ref"] = float("nan")
    else:
        ref = reference.set_index("code_insee")["population"]
        ref_parents = ref.groupby(ref.index.map(PARENT_OF)).sum(min_count=1)
        communes["population_ref"] = communes["code_insee"].map(ref.combine_first(ref_parents))
    columns = ["code_insee", "nom", "type", "commune_parent", "departement", "region", "population", "population_ref"]
    return communes[columns].sort_values("code_insee").reset_index(drop=True)


def _territories(paths: list[Path]) -> set[str]:
    """Zone codes (FXX, GLP… or FRA) named by the IRIS file paths."""
    zones = "|".join([*OFFICIAL_SOURCES["iris"]["zones"], "FRA"])
    return {m[1] for p in paths for m in re.finditer(rf"[_-]({zones})[_-]", p.as_posix())}


def _missing_message(folder: Path, missing: list[str]) -> str:
    return (f"Fichiers officiels absents du dossier {folder} : {', '.join(missing)}. Téléchargez-les "
            "(« prepare --download ») ou placez-les dans ce dossier sous leur nom d'origine.")


def read_official(folder: Path, download: bool = False, *, iris_year: int | None = None) -> SourceTables:
    """Read the official files of ``folder`` (downloading the missing ones first if ``download``).

    ``iris_year`` picks the edition of the IRIS contours (default: with ``download``, the one
    matching the latest IRIS population; otherwise the latest edition present in the folder).
    """
    folder = Path(folder)
    if download:
        download_official(folder, iris_year)
    found = find_official_files(folder, iris_year)
    missing = [label for key, label in (("iris", "contours IRIS (CONTOURS-IRIS*.7z)"),
                                        ("iris_population", "population par IRIS (base-ic-evol-struct-pop-*.zip)"),
                                        ("legal_population", "populations légales (ensemble.zip)"),
                                        ("postal", "codes postaux (019HexaSmal.csv)"))
               if not found.get(key)]
    if missing:
        raise DataError(_missing_message(folder, missing))

    iris = read_iris_layers(found["iris"])
    iris_pop, rp_year = read_iris_population(found["iris_population"])
    legal, unreadable = {}, []
    for year_from_name, path in found["legal_population"].items():
        try:
            table, year_from_header = read_legal_population(path)
        except DataError as err:
            unreadable.append(str(err))
            continue
        legal[year_from_header or year_from_name] = (table, path)
    if not legal:
        raise DataError(" ".join(unreadable))
    millesime = max((y for y in legal if y is not None), default=None)
    population, population_path = legal[millesime]
    reference = legal[rp_year][0] if rp_year in legal else None
    communes = build_communes(population, iris, reference)
    postal = read_postal_codes(found["postal"])

    edition = found["iris_edition"]
    no_population = communes.loc[communes["population"].isna() & communes["code_insee"].isin(iris["code_insee"])]
    limits = [
        f"Contours IRIS officiels IGN-INSEE, édition {edition or 'non datée'}, généralisés pour un usage "
        "entre le 1:25 000 et le 1:100 000 : ne pas les utiliser à l'échelle de l'adresse.",
        f"Population par IRIS du recensement {rp_year} (géographie du 1er janvier {rp_year + 2}), en "
        "estimations pondérées non entières ; les valeurs couvertes par le secret statistique sont absentes."
        + ("" if edition == rp_year + 2 else
           f" Elle ne correspond pas exactement à l'édition {edition} des contours : les IRIS créés ou "
           "redécoupés depuis n'ont pas de population."),
        f"Population des communes : population municipale légale {millesime or '(millésime inconnu)'}."
        + ("" if reference is not None else
           f" Sans population légale {rp_year} (année de la population par IRIS), la population de "
           "référence des communes n'est pas renseignée."),
        "Aucune liste officielle des quartiers prioritaires (QPV) n'est lue : les indicateurs QPV sont absents.",
        "Les montants de l'ACI ne font pas partie des téléchargements officiels : la table ACI est vide.",
    ]
    zones = _territories([p.relative_to(folder) for p in found["iris"]])
    absent = [label for zone, label in OFFICIAL_SOURCES["iris"]["zones"].items() if zone not in zones]
    if zones and "FRA" not in zones and absent:
        limits.append(f"Contours IRIS absents du dossier pour : {', '.join(absent)}.")
    limits += [f"Fichier de populations légales ignoré : {problem}" for problem in unreadable]
    if len(no_population):
        limits.append(f"{len(no_population)} communes des contours IRIS n'ont pas de population légale "
                      f"(Mayotte et collectivités d'outre-mer, communes créées ou fusionnées depuis) : "
                      f"{', '.join(no_population['code_insee'].head(10))}"
                      + (" …" if len(no_population) > 10 else "") + ".")
    meta = {
        "origin": f"fichiers officiels {folder}",
        "iris_edition": str(edition) if edition else "inconnue",
        "iris_source": f"IGN-INSEE CONTOURS-IRIS® {edition or ''} ({', '.join(p.name for p in found['iris'])})",
        "population_millesime": millesime,
        "population_source": f"INSEE, populations légales {millesime or ''} (population municipale, "
                             f"fichier {population_path.name})",
        "iris_population_year": rp_year,
        "iris_population_source": f"INSEE RP{rp_year}, base infracommunale « évolution et structure de la "
                                  f"population » ({found['iris_population'].name})",
        "postal_source": f"La Poste, base officielle des codes postaux ({found['postal'].name})",
        "qpv_source": "non fournie (aucun fichier QPV officiel lu)",
        "limits": limits,
    }
    qpv = pd.DataFrame(columns=["code_qp", "nom_qp", "code_insee", "pop_qpv"])
    cog = read_official_cog(found)
    if cog.millesime is None:
        limits.append("Code officiel géographique absent (v_commune_AAAA.csv) : les codes de communes sont ceux "
                      "des contours IRIS, sans lecture des anciens codes.")
    limits.append("Intercommunalités (EPCI) non lues depuis les fichiers officiels.")
    return SourceTables(iris=iris, communes=communes, iris_population=iris_pop, postal_codes=postal,
                        qpv=qpv, aci=pd.DataFrame(), cog=cog, health=read_health_official(folder),
                        meta=meta)


def read_official_cog(found: dict) -> Cog:
    """The COG of INSEE's ``v_commune_YYYY.csv`` and ``v_mvt_commune_YYYY.csv`` when present, else an empty one."""
    if "cog_communes" not in found:
        return empty_cog()
    year, path = found["cog_communes"]
    movements = _table(found["cog_movements"][1], "mouvements des communes",
                       ("MOD", "TYPECOM_AV", "COM_AV", "TYPECOM_AP", "COM_AP")) if "cog_movements" in found else None
    return read_cog_insee(_table(path, "code officiel géographique", ("TYPECOM", "COM", "COMPARENT")), movements, year)
