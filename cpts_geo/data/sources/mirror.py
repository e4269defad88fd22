"""Read the local mirror of the open data (layout of ``../shared/data``)."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

from cpts_geo.errors import DataError, InputError
from cpts_geo.data.sources import AGE_BANDS, SourceTables
from cpts_geo.data.sources.cog import COMMUNES_FILE as COG_COMMUNES_FILE
from cpts_geo.data.sources.cog import read_cog_json
from cpts_geo.data.sources.health import MIRROR_DIR as HEALTH_DIR
from cpts_geo.data.sources.health import read_health_mirror
from cpts_geo.data.sources.readers import IRIS_COLUMNS, listed, normalise_iris_fields, read_vector_file

IRIS_FILES = ("iris/contours_iris_2020_fxx.parquet", "iris/contours_iris_2020_fxx.gpkg")
COMMUNES_FILE = "population/communes_population.csv"
IRIS_POPULATION_FILE = "population/iris_population.csv"
POSTAL_FILE = "postal/codes_postaux.csv"
QPV_FILE = "reference/qpv.csv"
ACI_FILE = "reference/aci_cpts.csv"
COG_DIR = str(Path(COG_COMMUNES_FILE).parent)
#: Commune contours of the overseas départements (no IRIS there: a commune stands for its single IRIS).
OVERSEAS_PATTERN = "overseas/communes-97*.geojson"
OVERSEAS_SOURCE = "IGN Admin Express COG 2018 (communes d'outre-mer, simplifiées), via gregoiredavid/france-geojson"

#: Columns the communes file must have (its latest ``population_AAAA`` found by :func:`_latest_population_year`).
COMMUNE_COLUMNS = ("code_insee", "nom", "type", "commune_parent", "departement", "region", "epci", "population_2016")


def is_mirror(folder: Path) -> bool:
    """True when ``folder`` has the layout of ``../shared/data``."""
    folder = Path(folder)
    return (folder / COMMUNES_FILE).exists() and any((folder / f).exists() for f in IRIS_FILES)


@contextmanager
def _reading(path: Path):
    """Turn a damaged file of the mirror (unreadable, truncated, another format, fields missing) read within this
    block into a :class:`DataError` naming ``path`` (a file, or the folder of the files read)."""
    try:
        yield
    except (OSError, ValueError, KeyError, pd.errors.ParserError, InputError) as err:
        reason = f"{type(err).__name__} {err}" if isinstance(err, KeyError) else str(err)
        raise DataError(f"Fichier illisible dans le miroir de données : {path} ({reason[:200]}) ; remplacez-le par "
                        "une copie intacte.") from err


def _csv(folder: Path, name: str, required: tuple[str, ...] = ()) -> pd.DataFrame:
    """A CSV of the mirror as text columns; a missing, unreadable file or one without the ``required`` columns is
    a :class:`DataError` naming it."""
    path = folder / name
    if not path.exists():
        raise DataError(f"Fichier manquant dans le miroir de données : {path}")
    with _reading(path):
        table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise DataError(f"Colonnes absentes de {path} : {', '.join(missing)} (colonnes lues : "
                        f"{listed(table.columns)}).")
    return table


def _numbers(table: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """The numbers of a text column; a value that is not a number is a :class:`DataError` naming its line."""
    numbers = pd.to_numeric(table[column], errors="coerce")
    bad = numbers.isna() & table[column].notna()
    if bad.any():
        lines = [f"ligne {position + 2} : « {value} »" for position, value in
                 zip(bad.to_numpy().nonzero()[0], table.loc[bad, column])]
        raise DataError(f"Valeurs non numériques dans la colonne {column} de {path} ({listed(lines, limit=5)}).")
    return numbers


def _latest_population_year(columns) -> int:
    """The latest year of the ``population_AAAA`` columns (``population_2016`` is required)."""
    return max(int(c.rsplit("_", 1)[1]) for c in columns if re.fullmatch(r"population_\d{4}", c))


def _next_population_year(columns) -> int:
    """The first year of the ``population_AAAA`` columns after 2016 (the IRIS-population year), else 2016."""
    return min((y for c in columns if re.fullmatch(r"population_\d{4}", c) and (y := int(c.rsplit("_", 1)[1])) > 2016),
               default=2016)


def read_iris_file(path: Path) -> gpd.GeoDataFrame:
    """The IRIS contours of the mirror in the normalised schema; a damaged file is a :class:`DataError` naming it."""
    with _reading(path):
        return normalise_iris_fields(read_vector_file(path))


def read_mirror(folder: Path) -> SourceTables:
    """Read every file of the mirror into the normalised :class:`SourceTables`."""
    folder = Path(folder)
    if not is_mirror(folder):
        raise DataError(f"Le dossier {folder} n'a pas la forme attendue d'un miroir de données "
                        f"(il faut {COMMUNES_FILE} et {IRIS_FILES[0]}).")
    iris = read_iris_file(next(folder / f for f in IRIS_FILES if (folder / f).exists()))
    overseas = read_overseas_communes(folder)
    iris = pd.concat([iris, overseas], ignore_index=True) if len(overseas) else iris

    communes = _csv(folder, COMMUNES_FILE, COMMUNE_COLUMNS)
    year = _latest_population_year(communes.columns)
    next_year = _next_population_year(communes.columns)
    communes = communes.assign(
        population=_numbers(communes, f"population_{year}", folder / COMMUNES_FILE),
        population_ref=_numbers(communes, "population_2016", folder / COMMUNES_FILE),
        population_next=_numbers(communes, f"population_{next_year}", folder / COMMUNES_FILE),
    )[[*COMMUNE_COLUMNS[:-1], "population", "population_ref", "population_next"]]

    iris_pop = _csv(folder, IRIS_POPULATION_FILE, ("code_iris", "code_insee", "pop_total"))
    bands = [b for b in AGE_BANDS if b in iris_pop.columns]
    for col in ["pop_total", *bands]:
        iris_pop[col] = _numbers(iris_pop, col, folder / IRIS_POPULATION_FILE)
    iris_pop = iris_pop[["code_iris", "code_insee", "pop_total", *bands]]
    iris_pop = pd.concat([iris_pop[~iris_pop["code_insee"].isin(overseas["code_insee"])],
                          commune_level_population(iris_pop[iris_pop["code_insee"].isin(overseas["code_insee"])],
                                                   bands)], ignore_index=True)

    postal = _csv(folder, POSTAL_FILE, ("code_insee", "code_postal"))[["code_insee", "code_postal"]].drop_duplicates()
    qpv = _csv(folder, QPV_FILE, ("code_qp", "nom_qp", "code_insee", "pop_qpv"))
    qpv = qpv.assign(pop_qpv=_numbers(qpv, "pop_qpv", folder / QPV_FILE))[["code_qp", "nom_qp", "code_insee", "pop_qpv"]]
    aci = _csv(folder, ACI_FILE) if (folder / ACI_FILE).exists() else pd.DataFrame()

    with _reading(folder / COG_DIR):
        cog = read_cog_json(folder)
    with _reading(folder / HEALTH_DIR):
        health = read_health_mirror(folder)
    meta = {
        "origin": f"miroir local {folder}",
        "iris_edition": "2020",
        "iris_source": "IGN-INSEE CONTOURS-IRIS® 2020 (reconstruit depuis des tuiles vectorielles, précision ≈ 14 m)",
        "population_millesime": year,
        "population_source": f"INSEE, populations légales {year} (population municipale), géographie {year + 3}",
        "population_census_years": {"976": 2017},   # Mayotte: the 2017 census, repeated by every millésime
        "iris_population_year": 2016,
        "iris_population_source": "INSEE RP2016, base infracommunale « évolution et structure de la population »",
        "postal_source": "La Poste, base officielle des codes postaux (via @etalab/decoupage-administratif, COG 2026)",
        "qpv_source": "ANCT, quartiers prioritaires de la politique de la ville, génération 2015",
        "limits_iris": [   # of the IRIS contours: not said where the zones are whole communes (overseas)
            "Contours IRIS édition 2020, reconstruits à partir de tuiles vectorielles : précision d'environ 14 m "
            "(quelques dizaines de mètres au pire) ; ne pas utiliser à l'échelle de l'adresse."],
        "limits": [
            "Population par IRIS du recensement 2016 ; la tranche d'âge la plus élevée est 75 ans et plus "
            "(pas de 65+ ni de 80+ exacts). Les IRIS non mesurés (communes non découpées, IRIS d'activité) "
            "n'ont pas de structure par âge.",
            f"Population des communes : population municipale légale {year} ; pour une commune découpée, "
            "elle est répartie entre ses IRIS au prorata de leur population 2016.",
            "Liste des QPV de 2015 (décret 2014-1750), pas celle de 2024.",
        ],
    }
    if len(overseas):
        meta["overseas_source"] = OVERSEAS_SOURCE
        meta["limits_overseas"] = [
            "Outre-mer : pas de découpage en IRIS dans les données préparées (contours des communes "
            f"{OVERSEAS_SOURCE}) ; une commune s'y choisit entière, avec sa population légale {year}."
            " Mayotte : population du recensement 2017, reprise chaque année."]
    return SourceTables(iris=iris, communes=communes, iris_population=iris_pop, postal_codes=postal,
                        qpv=qpv, aci=aci, cog=cog, health=health, meta=meta)


def read_overseas_communes(folder: Path) -> gpd.GeoDataFrame:
    """Commune contours of the overseas départements, as single-IRIS communes (``XXXXX0000``)."""
    frames = []
    for path in sorted(Path(folder).glob(OVERSEAS_PATTERN)):
        with _reading(path):
            frames.append(read_vector_file(path)[["code", "nom", "geometry"]].to_crs("EPSG:4326"))
    if not frames:
        return gpd.GeoDataFrame(columns=[*IRIS_COLUMNS, "geometry"], geometry="geometry", crs="EPSG:4326")
    communes = pd.concat(frames, ignore_index=True)
    code = communes["code"].astype(str)
    return gpd.GeoDataFrame({"code_iris": code + "0000", "code_insee": code, "nom_commune": communes["nom"],
                             "nom_iris": communes["nom"], "typ_iris": "Z"}, geometry=communes.geometry.array,
                            crs="EPSG:4326")


def commune_level_population(iris_pop: pd.DataFrame, bands: list[str]) -> pd.DataFrame:
    """IRIS populations summed per commune, as the single IRIS ``XXXXX0000`` of the commune.

    An age band is kept only when every IRIS of the commune has it (else NA)."""
    grouped = iris_pop.groupby("code_insee")
    sums = grouped[["pop_total", *bands]].sum(min_count=1)
    complete = grouped[bands].count().eq(grouped.size(), axis=0)
    sums[bands] = sums[bands].where(complete)
    return sums.reset_index().assign(code_iris=lambda t: t["code_insee"] + "0000")
