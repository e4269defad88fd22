"""Registry import: CSV of codes, perimeters, drafts; the validation report; all-or-nothing saving."""

import sqlite3
import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from cpts_geo.storage import store as store_module
from cpts_geo.errors import InputError
from cpts_geo.region.registry import (name_key, read_registry, read_registry_csv, registry_from_store,
                                      save_registry)
from cpts_geo.storage.store import open_store
from cpts_geo.territory.model import Territory

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"

BAD_REGISTRY = """cpts;code_insee;arrondissement;quartier
CPTS de la Salanque;66017;;
CPTS de la Salanque;66050;;
cpts de la  salanque;66180;;
CPTS DE LA SALANQUE;66212;;
CPTS de la Salanque;66050;;
CPTS de la Salanque;66999;;
CPTS de la Salanque;99001;;
;66176;;
CPTS Vide;;;
CPTS Ruscino;66136;;Champs de Mars
CPTS Ruscino;66136;;Atlantide
CPTS Paris Est;75056;12e;
CPTS Paris Est;75056;75120;
CPTS Paris Est;75056;21;
CPTS Ain;1001;;
"""


def test_example_registry_reads_clean(france, ruscino):
    imported = read_registry(france, EXAMPLE)
    assert imported.ok and not imported.notes, imported.message()
    assert len(imported.cpts) == 16
    assert imported.cpts["CPTS Ruscino"] == ruscino.iris
    perpignan = set(france.iris_by_commune["66136"])
    assert perpignan <= imported.cpts["CPTS Ruscino"] | imported.cpts["CPTS Perpignan"]


def test_registry_of_codes_written_by_the_tool_reads(france):
    """Codes as the tool's CSV write them (an invisible mark keeps them text in a spreadsheet), IRIS code else
    commune code as in the letter table."""
    data = "cpts;CODE INSEE;CODE IRIS\nCPTS A;\u206066186;\nCPTS A;\u206066136;\u2060661360801\n".encode("utf-8-sig")
    imported = read_registry_csv(france, data)
    assert imported.ok and imported.cpts == {"CPTS A": {*france.iris_by_commune["66186"], "661360801"}}


def test_bad_registry_lists_what_was_ignored_and_why(france):
    imported = read_registry_csv(france, BAD_REGISTRY.encode("cp1252"))
    reasons = {(row.line, row.code): row.reason for row in imported.ignored.itertuples()}
    assert reasons[(6, "66050")] == "ligne en double de la ligne 3"
    assert "commune inconnue" in reasons[(7, "66999")]
    assert "département 99 inexistant" in reasons[(8, "99001")]
    assert reasons[(9, "66176")] == "nom de CPTS manquant"
    assert reasons[(10, "")] == "code manquant"
    assert "Atlantide" in reasons[(12, "66136")]
    assert reasons[(15, "21")] == "arrondissement inconnu pour cette commune"
    assert len(reasons) == 7
    # One CPTS spelt three ways: merged under the most frequent spelling, and said so.
    assert set(imported.cpts) == {"CPTS de la Salanque", "CPTS Ruscino", "CPTS Paris Est", "CPTS Ain"}
    assert {i[:5] for i in imported.cpts["CPTS de la Salanque"]} == {"66017", "66050", "66180", "66212"}
    assert any("regroupée sous « CPTS de la Salanque »" in n and "« CPTS DE LA SALANQUE » (1 ligne(s))" in n
               for n in imported.notes)
    # Infra-communal parts: an IRIS of Perpignan by name, two Paris arrondissements (number or code).
    assert imported.cpts["CPTS Ruscino"] == {"661360801"}
    assert {i[:5] for i in imported.cpts["CPTS Paris Est"]} == {"75112", "75120"}
    # A code that lost its leading zero in a spreadsheet gets it back, with a note.
    assert imported.cpts["CPTS Ain"] == set(france.iris_by_commune["01001"])
    assert any("zéro initial" in n and "lignes 16" in n for n in imported.notes)
    assert "Ignoré (ligne 6, « CPTS de la Salanque », 66050) : ligne en double de la ligne 3" in imported.message()


def test_name_key_ignores_case_accents_and_spaces():
    import pandas as pd

    keys = name_key(pd.Series(["CPTS Haute-Vallée  de l'Aude", "cpts haute vallee de l aude", "CPTS Aude"]))
    assert keys[0] == keys[1] != keys[2]


def test_registry_without_columns_is_refused(france):
    with pytest.raises(InputError, match="colonne « cpts »"):
        read_registry_csv(france, b"nom;population\nA;12\n")


def _perimeters(france, ruscino) -> gpd.GeoDataFrame:
    """Ruscino dissolved, half of an IRIS of Saint-Estève, a bow-tie in Saleilles spelt « cpts ruscino »,
    an empty and a point geometry (Lambert-93)."""
    iris = france.iris_geometry().to_crs("EPSG:2154")
    ruscino_shape = shapely.union_all(iris.geometry.loc[sorted(ruscino.iris)].array)
    half = iris.geometry.loc["661720101"]
    xmin, ymin, xmax, ymax = half.bounds
    left_half = shapely.intersection(half, shapely.box(xmin, ymin, (xmin + xmax) / 2, ymax))
    x, y = shapely.get_coordinates(iris.geometry.loc["661890000"].point_on_surface())[0]
    bow_tie = shapely.Polygon([(x, y), (x + 50, y + 50), (x + 50, y), (x, y + 50)])
    return gpd.GeoDataFrame({"nom": ["CPTS Ruscino", "CPTS Saint-Estève", "cpts ruscino", "CPTS Vide",
                                     "CPTS Point"]},
                            geometry=[ruscino_shape, left_half, bow_tie, shapely.Polygon(), shapely.Point(x, y)],
                            crs="EPSG:2154")


def _write(perimeters: gpd.GeoDataFrame, folder: Path, filename: str) -> Path:
    """The perimeters in a file; a Shapefile (polygons only) is zipped with its side-cars."""
    if not filename.endswith(".zip"):
        perimeters.to_file(folder / filename)
        return folder / filename
    perimeters[perimeters.geom_type != "Point"].to_file(folder / "perimetres.shp")
    with zipfile.ZipFile(folder / filename, "w") as archive:
        for part in folder.glob("perimetres.*"):
            if part.suffix != ".zip":
                archive.write(part, part.name)
    return folder / filename


@pytest.mark.parametrize("filename", ["perimetres.geojson", "perimetres.gpkg", "perimetres_shp.zip"])
def test_perimeters_are_assigned_by_area(france, ruscino, tmp_path, filename):
    imported = read_registry(france, _write(_perimeters(france, ruscino), tmp_path, filename))
    assert imported.cpts["CPTS Ruscino"] == ruscino.iris
    assert any("reprojetés" in n and "2154" in n for n in imported.notes)
    assert any("invalide(s) réparée(s)" in n and "Self-intersection" in n for n in imported.notes)
    assert any("regroupée sous" in n for n in imported.notes)
    reasons = dict(zip(imported.ignored["cpts"], imported.ignored["reason"]))
    assert reasons["CPTS Vide"] == "géométrie vide"
    assert filename.endswith(".zip") or "sans surface" in reasons["CPTS Point"]
    doubtful = imported.doubtful.set_index(["cpts", "code_iris"])
    assert 0.2 <= doubtful.loc[("CPTS Saint-Estève", "661720101"), "share"] <= 0.8
    assert set(doubtful.index.get_level_values("cpts")) == {"CPTS Saint-Estève"}


def test_perimeters_without_crs_are_refused(france, tmp_path):
    path = tmp_path / "sans_crs.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    with pytest.raises(InputError):
        read_registry(france, path)


def test_registry_from_drafts(france, ruscino, tmp_path):
    store = open_store(tmp_path / "store.sqlite")
    store.save(ruscino, kind="draft")
    store.save(Territory(frozenset({"661720101", "999999999"}), "CPTS Brouillon"), kind="draft")
    imported = registry_from_store(france, store)
    assert imported.cpts == {"CPTS Ruscino": ruscino.iris, "CPTS Brouillon": frozenset({"661720101"})}
    assert imported.ignored["code"].tolist() == ["999999999"]


def test_saved_registry_keeps_each_perimeter(france, tmp_path):
    store = open_store(tmp_path / "store.sqlite")
    imported = read_registry(france, EXAMPLE)
    save_registry(france, store, imported)
    perimeters = store.load_perimeters("registry")
    assert set(perimeters) == set(imported.cpts) and len(perimeters) == 16
    ruscino = gpd.GeoSeries([perimeters["CPTS Ruscino"]], crs=4326).to_crs(2154).iloc[0]
    iris = france.iris_geometry(imported.cpts["CPTS Ruscino"]).to_crs(2154)
    assert ruscino.area == pytest.approx(iris.area.sum(), rel=1e-3)       # 50.8 km², its 16 IRIS dissolved
    assert ruscino.contains(iris.representative_point()).all()
    assert store.load_perimeters("draft") == {}


def test_store_of_an_earlier_version_gets_the_perimeter_column(tmp_path):
    path = tmp_path / "ancien.sqlite"
    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE territories (kind TEXT NOT NULL, name TEXT NOT NULL, iris TEXT NOT NULL, "
                    "attributes TEXT NOT NULL DEFAULT '{}', updated TEXT NOT NULL, PRIMARY KEY (kind, name))")
        old.execute("INSERT INTO territories VALUES ('draft', 'Ancien', '[\"660280101\"]', '{}', '2026-01-01')")
    old.close()
    store = open_store(path)
    assert store.load("Ancien") == Territory(frozenset({"660280101"}), "Ancien")
    store.save_many([Territory(frozenset({"66186"}), "B")], perimeters={"B": shapely.box(2.9, 42.6, 3.0, 42.7)})
    assert store.load_perimeters()["B"].equals(shapely.box(2.9, 42.6, 3.0, 42.7))


def test_saving_is_all_or_nothing(france, tmp_path, monkeypatch):
    store = open_store(tmp_path / "store.sqlite")
    first = read_registry(france, EXAMPLE)
    save_registry(france, store, first)
    assert store.load_all("registry") == first.cpts
    with pytest.raises(InputError, match="inchangé"):
        save_registry(france, store, read_registry_csv(france, b"cpts;code_insee\nA;99999\n"))
    monkeypatch.setattr(store_module, "UPSERT", "INSERT INTO nowhere VALUES (?, ?, ?, ?, ?)")
    with pytest.raises(Exception):
        save_registry(france, store, read_registry_csv(france, b"cpts;code_insee\nA;66136\n"))
    assert store.load_all("registry") == first.cpts


def test_registry_digest_is_its_content():
    """What the Vue ARS caches a coverage by: the same CPTS in any order give the same digest, one code moved
    another."""
    from cpts_geo.region.registry import registry_digest

    one = {"CPTS A": frozenset({"660280000", "661860000"}), "CPTS B": frozenset({"661890000"})}
    assert registry_digest(one) == registry_digest(dict(reversed(one.items())))
    moved = {"CPTS A": frozenset({"660280000"}), "CPTS B": frozenset({"661860000", "661890000"})}
    assert registry_digest(moved) != registry_digest(one)
    assert registry_digest({"CPTS A B": frozenset({"1"})}) != registry_digest({"CPTS A": frozenset({"B1"})})
