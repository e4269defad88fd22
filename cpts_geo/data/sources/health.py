"""Readers of the offer-of-care sources, normalised whatever their origin.

Every origin (the local mirror ``../shared/data/health`` or a folder of official files) yields a
:class:`HealthTables`:

``professionals``  one row per (commune, IRIS, kind): ``code_insee, code_iris, kind, count``;
    ``code_iris`` is empty when the source counts by commune only (the BPE mirror).
``establishments``  one row per FINESS establishment: ``finess, name, categetab, kind, category,
    code_insee, lon, lat`` (WGS84), only the categories of :data:`ESTABLISHMENT_KINDS`.
``apl``  one row per commune of the latest millésime: ``code_insee, apl, pop_std, pop_total``.
``nurse_zoning``  one row per commune: ``code_insee, zonage`` (a key of :data:`NURSE_ZONING`).
``meta``  per table (``professionals``, ``establishments``, ``apl``, ``nurse_zoning``): ``source``,
    ``millesime`` and, when the source covers part of France only, ``departements``; ``limits``.

Codes are those of the source (COG of its millésime); :mod:`cpts_geo.territory.offer` maps them to the bundle.

Official layouts, as far as they could be checked (public code seen, not the live files):

* BPE national file: ``;``, one row per equipment, ``TYPEQU``, ``DEPCOM`` and ``DCIRIS`` (IRIS code,
  or the commune code for communes not split into IRIS; read with or without an ``_``). The TYPEQU
  codes of the 2024 nomenclature in :data:`PROFESSIONS` were seen in public code, except the
  orthophonistes', which could not be confirmed: they are not counted from the official file.
* FINESS « extraction du fichier des établissements » (``etalab-cs1100507-stock-*.csv``): ``;``, no
  header, lines ``structureet;nofinesset;nofinessej;rs;rslongue;…;commune;departement;…;categetab;…``
  then ``geolocalisation;nofinesset;coordxet;coordyet;sourcecoordet;datemaj``, the CRS named at the
  end of ``sourcecoordet`` (``L93_METROPOLE``/``LAMBERT_93``, ``UTM_N20``…). The overseas
  département letters (``9A`` = 971…) are inferred, not confirmed.
* DREES APL workbook: one sheet ``APL <year>`` per millésime, header row starting with
  « Code commune INSEE », then a row of units, then one row per commune.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from cpts_geo.config import local_crs
from cpts_geo.errors import DataError

#: Professions counted: kind, French label, BPE 2024+ TYPEQU code (None: not confirmed), label in the BPE mirror.
PROFESSIONS = (
    ("medecin_generaliste", "Médecins généralistes", "D265", "médecin généraliste"),
    ("chirurgien_dentiste", "Chirurgiens-dentistes", "D277", "chirurgien dentiste"),
    ("sage_femme", "Sages-femmes", "D278", "sage-femme"),
    ("masseur_kinesitherapeute", "Masseurs-kinésithérapeutes", "D279", "masseur kinésithérapeute"),
    ("infirmier", "Infirmiers", "D281", "infirmier"),
    ("orthophoniste", "Orthophonistes", None, "orthophoniste"),
    ("pedicure_podologue", "Pédicures-podologues", "D280", "pédicure-podologue"),
    ("pharmacie", "Pharmacies", "D307", "pharmacie"),
    ("laboratoire", "Laboratoires d'analyses et de biologie médicale", "D302",
     "laboratoire d analyses et de biologie médicale"),
)
PROFESSION_LABELS = {kind: label for kind, label, _, _ in PROFESSIONS}

SOINS_DE_VILLE, SANITAIRE, MEDICO_SOCIAL = "soins de ville", "sanitaire", "médico-social"
#: FINESS categories kept (``categetab`` codes) → kind, French label, group.
ESTABLISHMENT_KINDS = {
    "maison_sante": ("Maison de santé", SOINS_DE_VILLE, ("603",)),
    "centre_sante": ("Centre de santé", SOINS_DE_VILLE, ("124", "228")),
    "pharmacie": ("Pharmacie", SOINS_DE_VILLE, ("620", "627", "628", "629", "641")),
    "laboratoire": ("Laboratoire de biologie médicale", SOINS_DE_VILLE, ("611", "612")),
    "maison_medicale_garde": ("Maison médicale de garde", SOINS_DE_VILLE, ("617",)),
    "cpts": ("CPTS", SOINS_DE_VILLE, ("604",)),
    "hopital": ("Hôpital", SANITAIRE, ("101", "106", "355", "292")),
    "clinique": ("Clinique, établissement de soins privé", SANITAIRE, ("109", "128", "129", "131", "362", "365")),
    "had": ("Hospitalisation à domicile", SANITAIRE, ("127",)),
    "dialyse": ("Dialyse", SANITAIRE, ("141", "146")),
    "cmp": ("Centre médico-psychologique, CATTP", SANITAIRE, ("156", "425")),
    "ehpad": ("EHPAD, résidence pour personnes âgées", MEDICO_SOCIAL, ("500", "501", "502", "202")),
    "ssiad": ("Soins infirmiers à domicile (SSIAD, SAAS)", MEDICO_SOCIAL, ("354", "209")),
    "handicap": ("Établissement ou service pour personnes handicapées", MEDICO_SOCIAL,
                 ("182", "183", "186", "188", "190", "192", "196", "255", "437", "448", "246")),
    "cmpp": ("Centre médico-psycho-pédagogique", MEDICO_SOCIAL, ("189",)),
    "addictologie": ("Addictologie (CSAPA, CAARUD)", MEDICO_SOCIAL, ("197", "178")),
}
CATEGETAB_KIND = {code: kind for kind, (_, _, codes) in ESTABLISHMENT_KINDS.items() for code in codes}

#: Nurse zoning classes (CartoSanté), in the order of the zoning.
NURSE_ZONING = {
    "1_Tres_sous_dotee": "très sous-dotée", "2_Sous_dotee": "sous-dotée", "3_intermediaire": "intermédiaire",
    "4_Tres_dotee": "très dotée", "5_Sur_dotee": "sur-dotée",
}

#: FINESS CRS names (end of ``sourcecoordet``) → EPSG.
FINESS_CRS = {"L93": "EPSG:2154", "LAMBERT_93": "EPSG:2154", "UTM_N20": "EPSG:5490", "UTM_N21": "EPSG:4467",
              "UTM_N22": "EPSG:2972", "UTM_S40": "EPSG:2975", "UTM_S38": "EPSG:4471"}
#: FINESS overseas département codes → INSEE département (inferred).
FINESS_OVERSEAS = {"9A": "971", "9B": "972", "9C": "973", "9D": "974", "9E": "975", "9F": "976"}
STRUCTURE_FIELDS = ("nofinesset", "nofinessej", "rs", "rslongue", "complrs", "compldistrib", "numvoie", "typvoie",
                    "voie", "compvoie", "lieuditbp", "commune", "departement", "libdepartement",
                    "ligneacheminement", "telephone", "telecopie", "categetab", "libcategetab")
GEO_FIELDS = ("nofinesset", "coordxet", "coordyet", "sourcecoordet")

MIRROR_DIR = "health"
MIRROR_FILES = {"bpe": "bpe2025_communes_66_11.csv", "finess": "finess_occitanie.csv",
                "apl": "apl_mg_communes_{year}.csv", "nurse": "zonage_infirmiers_communes.csv"}

PROFESSIONAL_COLUMNS = ["code_insee", "code_iris", "kind", "count"]
ESTABLISHMENT_COLUMNS = ["finess", "name", "categetab", "kind", "category", "code_insee", "lon", "lat"]
APL_COLUMNS = ["code_insee", "apl", "pop_std", "pop_total"]


@dataclass
class HealthTables:
    """The normalised offer-of-care sources (see the module docstring); empty tables when absent."""

    professionals: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROFESSIONAL_COLUMNS))
    establishments: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ESTABLISHMENT_COLUMNS))
    apl: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=APL_COLUMNS))
    nurse_zoning: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["code_insee", "zonage"]))
    meta: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- professionals (BPE)

def read_bpe_mirror(path: Path) -> pd.DataFrame:
    """The BPE counts by commune of the mirror (``code_insee;typequ_label;count``), professions only."""
    table = pd.read_csv(path, sep=";", dtype=str)
    kinds = {mirror_label: kind for kind, _, _, mirror_label in PROFESSIONS}
    missing = set(kinds) - set(table["typequ_label"])
    if missing:
        raise DataError(f"Types d'équipement absents du fichier BPE {Path(path).name} : {', '.join(sorted(missing))}.")
    table = table[table["typequ_label"].isin(kinds)]
    return pd.DataFrame({"code_insee": table["code_insee"].str.zfill(5), "code_iris": None,
                         "kind": table["typequ_label"].map(kinds),
                         "count": pd.to_numeric(table["count"])}).reset_index(drop=True)


def read_bpe_official(source: Path | str | bytes) -> tuple[pd.DataFrame, int | None]:
    """Professionals of the INSEE BPE national file (one row per equipment), counted by IRIS when
    ``DCIRIS`` gives a 9-character IRIS code, else by commune; and the millésime (column ``AN``)."""
    data = io.BytesIO(source) if isinstance(source, bytes) else source
    header = pd.read_csv(data, sep=";", nrows=0).columns
    if isinstance(data, io.BytesIO):
        data.seek(0)
    wanted = [c for c in ("TYPEQU", "DEPCOM", "DCIRIS", "AN") if c in header]
    if not {"TYPEQU", "DEPCOM"} <= set(wanted):
        raise DataError("Le fichier BPE n'a pas les colonnes TYPEQU et DEPCOM.")
    table = pd.read_csv(data, sep=";", dtype=str, usecols=wanted)
    codes = {code: kind for kind, _, code, _ in PROFESSIONS if code}
    table = table[table["TYPEQU"].isin(codes)]
    iris = table["DCIRIS"].str.replace("_", "", regex=False) if "DCIRIS" in table else pd.Series(None, table.index)
    counted = pd.DataFrame({"code_insee": table["DEPCOM"].str.zfill(5),
                            "code_iris": iris.where(iris.str.len() == 9), "kind": table["TYPEQU"].map(codes)})
    year = pd.to_numeric(table["AN"], errors="coerce").max() if "AN" in table else None
    return (counted.groupby(["code_insee", "code_iris", "kind"], dropna=False).size().rename("count")
            .reset_index()), (None if year is None or pd.isna(year) else int(year))


# --------------------------------------------------------------------------- establishments (FINESS)

def _establishments(finess, name, categetab, code_insee, lon, lat) -> pd.DataFrame:
    """Normalised establishments, kept categories only, one row per FINESS number."""
    table = pd.DataFrame({"finess": finess, "name": name, "categetab": categetab, "code_insee": code_insee,
                          "lon": lon, "lat": lat})
    table["kind"] = table["categetab"].map(CATEGETAB_KIND)
    table = table.dropna(subset=["kind", "lon", "lat"]).drop_duplicates("finess")
    table["category"] = table["kind"].map({k: group for k, (_, group, _) in ESTABLISHMENT_KINDS.items()})
    return table[ESTABLISHMENT_COLUMNS].reset_index(drop=True)


def read_finess_mirror(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The FINESS establishments of the mirror (WGS84 coordinates), and the départements it covers."""
    table = pd.read_csv(path, dtype=str)
    name = table["rslongue"].fillna(table["raison_sociale"]).fillna(table["categorie"])
    result = _establishments(table["numero finess etablissement"].str.zfill(9), name, table["categetab"],
                             table["code_insee"].str.zfill(5), pd.to_numeric(table["longitude"]),
                             pd.to_numeric(table["latitude"]))
    return result, sorted(table["departement"].dropna().str.zfill(2).unique())


def _finess_lines(text: str, kind: str, fields: tuple[str, ...]) -> pd.DataFrame:
    rows = [row[1:len(fields) + 1] for row in csv.reader(io.StringIO(text), delimiter=";")
            if row and row[0] == kind and len(row) > len(fields)]
    return pd.DataFrame(rows, columns=list(fields))


def read_finess_official(source: Path | str | bytes) -> pd.DataFrame:
    """Establishments of the national FINESS extraction (``structureet`` + ``geolocalisation`` lines),
    their coordinates projected from the CRS each line names to WGS84."""
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    structures = _finess_lines(text, "structureet", STRUCTURE_FIELDS)
    geo = _finess_lines(text, "geolocalisation", GEO_FIELDS)
    if structures.empty:
        raise DataError("Aucune ligne « structureet » dans le fichier FINESS.")
    table = structures.merge(geo, on="nofinesset", how="left")
    dep = table["departement"].str.strip().str.zfill(2)
    commune = table["commune"].str.strip().str.zfill(3)
    overseas = dep.isin(FINESS_OVERSEAS)
    code = (dep + commune).where(~overseas, "97" + commune)
    crs_name = table["sourcecoordet"].fillna("").str.rsplit(",", n=1).str[-1].str.strip()
    crs = crs_name.map(lambda name: next((epsg for key, epsg in FINESS_CRS.items() if name.startswith(key)), None))
    crs = crs.fillna(dep.where(~overseas, dep.map(FINESS_OVERSEAS)).map(local_crs))
    x, y = pd.to_numeric(table["coordxet"], errors="coerce"), pd.to_numeric(table["coordyet"], errors="coerce")
    lon, lat = pd.Series(np.nan, table.index), pd.Series(np.nan, table.index)
    for epsg, rows in table.groupby(crs).groups.items():
        points = gpd.GeoSeries.from_xy(x[rows], y[rows], crs=epsg).to_crs("EPSG:4326")
        lon[rows], lat[rows] = points.x.to_numpy(), points.y.to_numpy()
    name = table["rslongue"].where(table["rslongue"].str.strip() != "", table["rs"])
    return _establishments(table["nofinesset"].str.strip(), name, table["categetab"].str.strip(), code, lon, lat)


# --------------------------------------------------------------------------- APL (DREES) and nurse zoning

def _apl_table(code, apl, pop_std, pop_total) -> pd.DataFrame:
    table = pd.DataFrame({"code_insee": pd.Series(code, dtype=str).str.zfill(5),
                          "apl": pd.to_numeric(pd.Series(apl), errors="coerce"),
                          "pop_std": pd.to_numeric(pd.Series(pop_std), errors="coerce"),
                          "pop_total": pd.to_numeric(pd.Series(pop_total), errors="coerce")})
    return table.dropna(subset=["code_insee", "apl"]).reset_index(drop=True)


def read_apl_csv(path: Path) -> pd.DataFrame:
    """One sheet of the DREES workbook as CSV (``codgeo, libgeo, apl_mg, apl_mg_moins65, pop_std_*, pop_totale_*``)."""
    table = pd.read_csv(path, dtype=str)
    pop_std = next(c for c in table.columns if c.startswith("pop_std"))
    pop_total = next(c for c in table.columns if c.startswith("pop_totale"))
    return _apl_table(table["codgeo"], table["apl_mg"], table[pop_std], table[pop_total])


def read_apl_workbook(path: Path) -> dict[int, pd.DataFrame]:
    """Every ``APL <year>`` sheet of the DREES workbook: millésime → APL table."""
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    result = {}
    try:
        for sheet in workbook.worksheets:
            year = re.fullmatch(r"APL (\d{4})", sheet.title.strip())
            if not year:
                continue
            rows = sheet.iter_rows(values_only=True)
            for row in rows:
                if row and str(row[0]).strip().lower() == "code commune insee":
                    break
            else:
                raise DataError(f"En-tête « Code commune INSEE » introuvable dans la feuille {sheet.title}.")
            next(rows, None)  # units
            data = [r[:6] for r in rows if r and r[0]]
            code, _, apl, _, pop_std, pop_total = zip(*data) if data else ((),) * 6
            result[int(year[1])] = _apl_table(code, apl, pop_std, pop_total)
    finally:
        workbook.close()
    if not result:
        raise DataError(f"Aucune feuille « APL <année> » dans {Path(path).name}.")
    return result


def read_nurse_zoning(path: Path) -> pd.DataFrame:
    """CartoSanté nurse zoning by commune (2 title lines, then ``Code;Libellé;Zonage infirmiers``)."""
    table = pd.read_csv(path, sep=";", dtype=str, skiprows=2, encoding="utf-8-sig")
    table = table.rename(columns={table.columns[0]: "code_insee", table.columns[2]: "zonage"})
    table = table[table["zonage"].isin(NURSE_ZONING)]
    return table.assign(code_insee=table["code_insee"].str.strip().str.zfill(5))[["code_insee", "zonage"]] \
        .reset_index(drop=True)


# --------------------------------------------------------------------------- assembly

def read_health_mirror(folder: Path) -> HealthTables:
    """The health files of the mirror (``health/`` of ``../shared/data``); empty tables if absent."""
    health = Path(folder) / MIRROR_DIR
    if not health.is_dir():
        return HealthTables(meta={"limits": ["Aucune donnée d'offre de soins dans le miroir."]})
    apl_years = sorted(int(m[1]) for p in health.glob("apl_mg_communes_*.csv")
                       if (m := re.search(r"_(\d{4})\.csv$", p.name)))
    apl_year = apl_years[-1]
    establishments, finess_deps = read_finess_mirror(health / MIRROR_FILES["finess"])
    bpe = read_bpe_mirror(health / MIRROR_FILES["bpe"])
    meta = {
        "professionals": {"source": "INSEE, Base permanente des équipements 2025 (professionnels libéraux, "
                                    "dénombrés par commune ; copie publiée par un tiers)",
                          "millesime": 2025, "level": "commune",
                          "departements": sorted({c[:2] for c in bpe["code_insee"]})},
        "establishments": {"source": "FINESS, établissements géolocalisés de la région Occitanie "
                                     "(extraction 2025–2026, date exacte non indiquée)",
                           "millesime": None, "departements": finess_deps},
        "apl": {"source": f"DREES, accessibilité potentielle localisée (APL) aux médecins généralistes {apl_year}",
                "millesime": apl_year},
        "nurse_zoning": {"source": "CartoSanté, zonage des infirmiers par commune (vers 2024, non daté)",
                         "millesime": None},
        "limits": ["Professionnels de santé : BPE 2025 disponible pour les Pyrénées-Orientales (66) et l'Aude (11) "
                   "seulement, par commune ; pour une commune découpée, le nombre est estimé au prorata de la "
                   "population des IRIS retenus."],
    }
    return HealthTables(professionals=bpe, establishments=establishments,
                        apl=read_apl_csv(health / MIRROR_FILES["apl"].format(year=apl_year)),
                        nurse_zoning=read_nurse_zoning(health / MIRROR_FILES["nurse"]), meta=meta)


def find_health_files(folder: Path) -> dict[str, Path]:
    """The official health files of ``folder`` (searched recursively) recognised by their names."""
    patterns = {"bpe": r"(bpe\d*.*ensemble.*|bpe\d{2,4}(_xy)?)\.csv", "finess": r"etalab-cs1100507-stock.*\.csv",
                "apl": r".*apl.*\.xlsx", "nurse": r".*zonage.*infirm.*\.csv"}
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
    return {key: next(p for p in files if re.fullmatch(pattern, p.name, re.IGNORECASE))
            for key, pattern in patterns.items() if any(re.fullmatch(pattern, p.name, re.IGNORECASE) for p in files)}


def read_health_official(folder: Path) -> HealthTables:
    """The official health files found in ``folder``; a missing file leaves its table empty (and says so)."""
    found = find_health_files(folder)
    tables, meta, limits = HealthTables(), {}, []
    labels = {"bpe": "BPE (professionnels)", "finess": "FINESS (établissements)", "apl": "APL (DREES)",
              "nurse": "zonage infirmier"}
    limits += [f"Fichier officiel absent du dossier : {labels[key]} ; non disponible dans les données préparées."
               for key in labels if key not in found]
    if "bpe" in found:
        tables.professionals, year = read_bpe_official(found["bpe"])
        meta["professionals"] = {"source": f"INSEE, Base permanente des équipements {year or ''} "
                                           f"({found['bpe'].name})", "millesime": year, "level": "iris"}
        limits.append("Orthophonistes : code TYPEQU de la BPE non confirmé, non comptés.")
    if "finess" in found:
        tables.establishments = read_finess_official(found["finess"])
        meta["establishments"] = {"source": f"FINESS, extraction des établissements ({found['finess'].name})",
                                  "millesime": None}
    if "apl" in found:
        sheets = read_apl_workbook(found["apl"])
        tables.apl = sheets[max(sheets)]
        meta["apl"] = {"source": f"DREES, APL aux médecins généralistes {max(sheets)} ({found['apl'].name})",
                       "millesime": max(sheets)}
    if "nurse" in found:
        tables.nurse_zoning = read_nurse_zoning(found["nurse"])
        meta["nurse_zoning"] = {"source": f"CartoSanté, zonage des infirmiers ({found['nurse'].name})",
                                "millesime": None}
    tables.meta = {**meta, "limits": limits}
    return tables
