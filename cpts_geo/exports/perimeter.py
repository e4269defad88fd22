"""Perimeter files of a territory: GeoJSON (EPSG:4326), GeoPackage and zipped Shapefile (metric CRS).

Each file holds one feature per IRIS and one dissolved feature for the whole territory:

* GeoPackage: layers ``iris`` and ``territoire``;
* zipped Shapefile: ``<nom>_iris.shp`` and ``<nom>_territoire.shp``;
* GeoJSON (one layer only): every feature has ``niveau`` = ``iris`` or ``territoire``.

:func:`read_perimeter` reads any of them back into the same :class:`Territory`.
"""

from __future__ import annotations

import io
import json
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd

from cpts_geo.config import local_crs
from cpts_geo.errors import InputError
from cpts_geo.data.sources.readers import extracted_vectors, read_vector_file
from cpts_geo.territory.model import Summary, Territory

IRIS_LAYER = "iris"
TERRITORY_LAYER = "territoire"


def perimeter_layers(bundle, territory: Territory, summary: Summary) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The IRIS layer and the dissolved territory layer, in EPSG:4326, with their attributes."""
    iris = bundle.iris_geometry(sorted(territory.iris))
    whole = {p.code_insee: p.whole for p in summary.communes}
    iris_layer = gpd.GeoDataFrame({
        "code_iris": iris.index.to_numpy(),
        "nom_iris": iris["nom_iris"].to_numpy(),
        "code_insee": iris["code_insee"].to_numpy(),
        "commune": bundle.communes["nom"].reindex(iris["code_insee"]).to_numpy(),
        "commune_entiere": iris["code_insee"].map(whole).astype(bool).to_numpy(),
        "population": iris["population"].round().astype(int).to_numpy(),
        "cpts": summary.name,
    }, geometry=iris.geometry.to_numpy(), crs=iris.crs)
    dissolved = iris.geometry.union_all(method="coverage")
    territory_layer = gpd.GeoDataFrame({
        "cpts": [summary.name],
        "nb_communes": [summary.commune_count],
        "nb_iris": [summary.iris_count],
        "population": [int(round(summary.population.value))],
        "millesime": [summary.population.millesime],
        "taille": [summary.taille.number],
        "codes_insee": [",".join(p.code_insee for p in summary.communes)],
    }, geometry=[dissolved], crs=iris.crs)
    return iris_layer, territory_layer


def metric_crs(summary: Summary) -> str:
    """The metric CRS of the territory's main département (Lambert-93 in metropolitan France)."""
    return local_crs(summary.age.departement or summary.communes[0].departement)


def geojson_bytes(iris: gpd.GeoDataFrame, territory: gpd.GeoDataFrame) -> bytes:
    """One GeoJSON (EPSG:4326) with the territory feature first, then the IRIS, told apart by ``niveau``.

    Each layer is written on its own, so that its integers stay integers (``"taille": 2``, not ``2.0``).
    """
    features = [feature for frame, level in ((territory, TERRITORY_LAYER), (iris, IRIS_LAYER))
                for feature in json.loads(frame.assign(niveau=level).to_json(drop_id=True))["features"]]
    collection = {"type": "FeatureCollection", "features": features}
    return json.dumps(collection, ensure_ascii=False).encode("utf-8")


def geopackage_bytes(iris: gpd.GeoDataFrame, territory: gpd.GeoDataFrame, crs: str) -> bytes:
    """A GeoPackage with layers ``iris`` and ``territoire`` in ``crs``, both of type MultiPolygon."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "perimetre.gpkg"
        territory.to_crs(crs).to_file(path, layer=TERRITORY_LAYER, engine="pyogrio", promote_to_multi=True)
        iris.to_crs(crs).to_file(path, layer=IRIS_LAYER, engine="pyogrio", mode="a", promote_to_multi=True)
        return path.read_bytes()


#: the longest text a Shapefile (dBASE) field holds
DBF_TEXT_LIMIT = 254


def shapefile_zip_bytes(iris: gpd.GeoDataFrame, territory: gpd.GeoDataFrame, crs: str, stem: str) -> bytes:
    """A zip of two Shapefiles (``<stem>_iris``, ``<stem>_territoire``) in ``crs``, UTF-8 attributes, with the
    full list of communes in ``<stem>_communes.csv`` and a ``LISEZMOI.txt``.

    A dBASE text field holds 254 characters: a list of commune codes too long for ``codes_inse`` is replaced
    by a pointer to the CSV rather than cut.
    """
    short = {"commune_entiere": "entiere", "nb_communes": "nb_commun", "codes_insee": "codes_inse"}
    communes_csv = f"{stem}_communes.csv"
    codes = territory["codes_insee"].iat[0]
    if len(codes.encode("utf-8")) > DBF_TEXT_LIMIT:
        territory = territory.assign(codes_insee=f"voir {communes_csv}"[:DBF_TEXT_LIMIT])
    communes = (iris[["code_insee", "commune", "commune_entiere"]].drop_duplicates("code_insee")
                .sort_values("code_insee").assign(commune_entiere=lambda f: f["commune_entiere"].map(
                    {True: "oui", False: "non"})))
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for layer, frame in ((IRIS_LAYER, iris), (TERRITORY_LAYER, territory)):
            path = Path(folder) / f"{stem}_{layer}.shp"
            frame.rename(columns=short).to_crs(crs).to_file(path, engine="pyogrio", encoding="UTF-8")
            for part in sorted(Path(folder).glob(f"{stem}_{layer}.*")):
                archive.write(part, part.name)
        archive.writestr(communes_csv, communes.to_csv(sep=";", index=False).encode("utf-8-sig"))
        archive.writestr("LISEZMOI.txt", _shapefile_readme(stem, communes_csv, codes, crs).encode("utf-8"))
    return buffer.getvalue()


def _shapefile_readme(stem: str, communes_csv: str, codes: str, crs: str) -> str:
    """The French notice of the zipped Shapefile: layers, CRS, shortened field names, the communes' CSV."""
    cut = (f"La liste des codes ({len(codes)} caractères) dépasse les {DBF_TEXT_LIMIT} caractères d'un champ "
           f"Shapefile : le champ codes_inse de {stem}_{TERRITORY_LAYER} renvoie à {communes_csv}."
           if len(codes.encode("utf-8")) > DBF_TEXT_LIMIT else
           f"Le champ codes_inse de {stem}_{TERRITORY_LAYER} donne la liste complète des codes INSEE.")
    return "\n".join([
        "Périmètre exporté par cpts-geo (Shapefile zippé, attributs en UTF-8).",
        f"- {stem}_{IRIS_LAYER} : un polygone par IRIS ; {stem}_{TERRITORY_LAYER} : le territoire entier.",
        f"- Système de coordonnées : {crs}.",
        "- Noms de champs raccourcis à 10 caractères : entiere = commune_entiere, nb_commun = nb_communes, "
        "codes_inse = codes_insee.",
        f"- {communes_csv} : les communes du territoire (code INSEE, nom, commune entière ou en partie ; "
        "UTF-8, séparateur ;).",
        f"- {cut}", ""])


def read_perimeter(bundle, path: Path | str) -> Territory:
    """The territory of a perimeter file exported by cpts-geo (GeoJSON, GeoPackage or zipped Shapefile)."""
    path = Path(path)
    if path.suffix.lower() == ".gpkg":
        iris = read_vector_file(path, layer=IRIS_LAYER)
    elif path.suffix.lower() == ".zip":
        with extracted_vectors(path) as files:
            layer = next((f for f in files if f.stem.endswith(f"_{IRIS_LAYER}")), None)
            if layer is None:
                raise InputError(f"L'archive {path.name} ne contient pas de couche « …_{IRIS_LAYER}.shp ».")
            iris = read_vector_file(layer)
    else:
        features = read_vector_file(path)
        iris = features[features.get("niveau", IRIS_LAYER) == IRIS_LAYER] if "niveau" in features else features
    if "code_iris" not in iris.columns:
        raise InputError(f"Le fichier {path.name} n'a pas d'attribut « code_iris » : ce n'est pas un périmètre "
                         "exporté par cpts-geo.")
    codes = frozenset(iris["code_iris"].astype(str))
    unknown = sorted(codes - set(bundle.iris.index))
    if unknown:
        raise InputError(f"Le fichier {path.name} contient des IRIS absents des données : {', '.join(unknown[:10])}.")
    names = iris["cpts"].dropna().unique() if "cpts" in iris.columns else []
    return Territory(codes, str(names[0]) if len(names) else "")
