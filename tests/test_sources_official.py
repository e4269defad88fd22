"""Offline tests of the readers of the official files (synthetic fixtures, no network)."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import py7zr
import pytest

from cpts_geo.errors import DataError, InputError
from cpts_geo.data.sources import AGE_BANDS, SourceTables, official
from cpts_geo.data.sources.official import (edition_files, discover_iris_editions, find_official_files,
                                            read_iris_population, read_legal_population, read_official,
                                            read_postal_codes, select_iris_editions)
from cpts_geo.data.sources.readers import normalise_iris_fields, read_text_table, read_vector

# (code_iris, code_insee, nom_commune, nom_iris, typ_iris, lon, lat)
FXX = [
    ("751010101", "75101", "Paris 1er Arrondissement", "Saint-Germain-l'Auxerrois 1", "H", 2.340, 48.860),
    ("751010102", "75101", "Paris 1er Arrondissement", "Halles 2", "H", 2.346, 48.862),
    ("010010000", "01001", "L'Abergement-Clémenciat", "L'Abergement-Clémenciat", "Z", 4.920, 46.150),
    ("2A0040101", "2A004", "Ajaccio", "Vieille Ville", "H", 8.738, 41.919),
]
GLP = [("971010101", "97101", "Les Abymes", "Centre", "H", -61.500, 16.270)]
REU = [("974110101", "97411", "Saint-Denis", "Barachois", "H", 55.450, -20.880)]
LOWER = {"code_iris": 0, "code_insee": 1, "nom_commune": 2, "nom_iris": 3, "type_iris": 4}
UPPER = {"CODE_IRIS": 0, "INSEE_COM": 1, "NOM_COM": 2, "NOM_IRIS": 3, "TYP_IRIS": 4}


def iris_layer(rows, crs: str, fields: dict) -> gpd.GeoDataFrame:
    """Squares of 400 m around each (lon, lat), built in ``crs``."""
    points = gpd.GeoSeries(gpd.points_from_xy([r[5] for r in rows], [r[6] for r in rows]), crs="EPSG:4326")
    data = {name: [r[i] for r in rows] for name, i in fields.items()}
    data["IRIS" if "CODE_IRIS" in fields else "iris"] = [r[0][-4:] for r in rows]
    return gpd.GeoDataFrame(data, geometry=points.to_crs(crs).buffer(200, cap_style="square"), crs=crs)


def centre(geometry: gpd.GeoSeries) -> pd.DataFrame:
    """Centre of each bounding box (x, y), without the geographic-CRS centroid warning."""
    b = geometry.bounds
    return pd.DataFrame({"x": (b.minx + b.maxx) / 2, "y": (b.miny + b.maxy) / 2})


def write_7z_gpkg(folder: Path, rows, crs: str, crs_token: str, zone: str) -> Path:
    """A 2024-style per-territory archive: GPKG, lower-case fields, geometry column ``geometrie``."""
    edition = f"CONTOURS-IRIS_3-0__GPKG_{crs_token}_{zone}_2024-01-01"
    inner = (f"{edition}/CONTOURS-IRIS/1_DONNEES_LIVRAISON_2024-12-00163/"
             f"CONTOURS-IRIS_3-0_GPKG_{crs_token}_{zone}-ED2024-01-01")
    work = folder / "build" / zone
    (work / inner).mkdir(parents=True)
    iris_layer(rows, crs, LOWER).to_file(work / inner / "contours-iris.gpkg", layer="contours_iris",
                                         engine="pyogrio", layer_options={"GEOMETRY_NAME": "geometrie"})
    (work / edition / "LISEZ-MOI.txt").write_text("documentation", encoding="utf-8")
    archive = folder / f"{edition}.7z"
    with py7zr.SevenZipFile(archive, "w") as out:
        out.writeall(work / edition, edition)
    return archive


def write_zip_shp(folder: Path, rows) -> Path:
    """A 2021-style archive: shapefile with upper-case fields in Lambert-93."""
    inner = folder / "build" / "shp"
    inner.mkdir(parents=True)
    iris_layer(rows, "EPSG:2154", UPPER).to_file(inner / "CONTOURS-IRIS.shp", engine="pyogrio")
    archive = folder / "CONTOURS-IRIS_2-1__SHP__FRA_2021-01-01.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for file in inner.iterdir():
            out.write(file, f"CONTOURS-IRIS_2-1_SHP_LAMB93_FXX-2021/{file.name}")
    return archive


IRIS_POP_CSV = (
    "IRIS;COM;TYP_IRIS;LAB_IRIS;LIBCOM;P22_POP;P22_POP0002;P22_POP0014;P22_POP1529;P22_POP3044;"
    "P22_POP4559;P22_POP6074;P22_POP75P;P22_POP65P;P22_POP80P\n"
    "751010101;75101;H;1;Paris 1er;1200.5;10;100.25;300;300;250;150;100.25;180;40\n"
    "751010102;75101;H;1;Paris 1er;800;5;50;200;200;150;120;80;130;30\n"
    "010010000;01001;Z;5;L'Abergement-Clémenciat;859;;;;;;;;;\n"
    "2A0040101;2A004;H;1;Ajaccio;2500;20;400;500;500;500;400;200;450;90\n"
    "971010101;97101;H;1;Les Abymes;3000;40;700;600;500;500;450;250;500;100\n"
)
LEGAL_NEW = (
    "REG;Région;DEP;CODARR;CODCAN;CODCOM;COM;Commune;PMUN;PCAP;PTOT\n"
    "84;Auvergne-Rhône-Alpes;01;2;08;001;01001;L'Abergement-Clémenciat;860;16;876\n"
    "11;Île-de-France;75;1;99;101;75101;Paris 1er Arrondissement;15114;200;15314\n"
    "11;Île-de-France;75;1;99;102;75102;Paris 2e Arrondissement;20000;300;20300\n"
    "94;Corse;2A;1;01;004;2A004;Ajaccio;76320;1000;77320\n"
    "01;Guadeloupe;971;1;01;101;97101;Les Abymes;51055;500;51555\n"
    "04;La Réunion;974;1;01;411;97411;Saint-Denis;153000;2000;155000\n"
)
LEGAL_OLD = (
    "CODREG;REG;CODDEP;CODARR;CODCAN;CODCOM;COM;PMUN;PCAP;PTOT\n"
    "84;Auvergne-Rhône-Alpes;01;2;08;1;L'Abergement-Clémenciat;859;16;875\n"
    "11;Île-de-France;75;1;99;101;Paris 1er Arrondissement;15475;200;15675\n"
    "11;Île-de-France;75;1;99;102;Paris 2e Arrondissement;21000;300;21300\n"
    "94;Corse;2A;1;01;004;Ajaccio;75343;1000;76343\n"
    "01;Guadeloupe;971;1;01;101;Les Abymes;51760;500;52260\n"
)
HEXASMAL = (
    "#Code_commune_INSEE;Nom_de_la_commune;Code_postal;Libellé_d_acheminement;Ligne_5\n"
    "01001;L ABERGEMENT CLEMENCIAT;01400;L ABERGEMENT CLEMENCIAT;\n"
    "75101;PARIS 01;75001;PARIS;\n"
    "75102;PARIS 02;75002;PARIS;\n"
    "2A004;AJACCIO;20000;AJACCIO;\n"
    "2A004;AJACCIO;20090;AJACCIO;\n"
    "97411;ST DENIS;97400;ST DENIS;\n"
    "97411;ST DENIS;97490;ST DENIS;STE CLOTILDE\n"
)


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as out:
        for name, data in members.items():
            out.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def official_folder(tmp_path_factory) -> Path:
    """A folder laid out like a user's downloads of every official file."""
    folder = tmp_path_factory.mktemp("official")
    archives = folder / "archives"
    archives.mkdir()
    write_7z_gpkg(archives, FXX, "EPSG:2154", "LAMB93", "FXX")
    write_7z_gpkg(archives, GLP, "EPSG:5490", "RGAF09UTM20", "GLP")
    write_7z_gpkg(archives, REU, "EPSG:2975", "RGR92UTM40S", "REU")
    write_zip_shp(archives, FXX[:1])
    shutil.rmtree(archives / "build")
    write_zip(folder / "base-ic-evol-struct-pop-2022_csv.zip", {
        "base-ic-evol-struct-pop-2022.CSV": IRIS_POP_CSV.encode("cp1252"),
        "meta_base-ic-evol-struct-pop-2022.CSV": "COD_VAR;LIB_VAR\nP22_POP;Population\n".encode("cp1252"),
    })
    write_zip(folder / "ensemble_2023.zip", {"donnees_communes.csv": LEGAL_NEW.encode("utf-8")})
    write_zip(folder / "populations-legales-2022" / "ensemble.zip",
              {"donnees_communes.csv": LEGAL_OLD.encode("utf-8")})
    (folder / "019HexaSmal.csv").write_bytes(HEXASMAL.encode("cp1252"))
    return folder


# --------------------------------------------------------------------------- vectors

def test_7z_gpkg_lowercase_fields_and_geometrie_column(official_folder):
    archive = official_folder / "archives" / "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01.7z"
    raw = read_vector(archive, layer="contours_iris")
    assert raw.crs.to_epsg() == 2154
    assert {"code_iris", "code_insee", "nom_commune", "nom_iris", "type_iris"} <= set(raw.columns)
    iris = normalise_iris_fields(raw)
    assert list(iris.columns) == ["code_iris", "code_insee", "nom_commune", "nom_iris", "typ_iris", "geometry"]
    assert iris.crs.to_epsg() == 4326
    paris = iris.set_index("code_iris").loc["751010101"]
    assert paris["code_insee"] == "75101" and paris["typ_iris"] == "H"
    assert centre(iris.geometry)["x"][0] == pytest.approx(2.340, abs=1e-3)
    assert centre(iris.geometry)["y"][0] == pytest.approx(48.860, abs=1e-3)
    assert iris.set_index("code_iris").loc["2A0040101", "nom_commune"] == "Ajaccio"


def test_7z_split_in_volumes(official_folder, tmp_path):
    """An archive split by 7-Zip (….7z.001, .002…) is read from its first volume, wherever it is found."""
    whole = official_folder / "archives" / "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01.7z"
    data = whole.read_bytes()
    folder = tmp_path / "mirror"
    folder.mkdir()
    size = len(data) // 3 + 1
    for number, start in enumerate(range(0, len(data), size), start=1):
        (folder / f"{whole.name}.{number:03d}").write_bytes(data[start:start + size])
    (folder / f"{whole.name}.md5").write_text("not a volume")
    found = find_official_files(folder)
    assert [p.name for p in found["iris"]] == [f"{whole.name}.001"]
    split = read_vector(found["iris"][0], layer="contours_iris")
    assert split.equals(read_vector(whole, layer="contours_iris")) and len(split) == len(FXX)
    (folder / f"{whole.name}.002").unlink()
    with pytest.raises(DataError, match="il en manque : présents 001, 003"):
        read_vector(found["iris"][0], layer="contours_iris")


def test_zip_shapefile_uppercase_fields(official_folder):
    raw = read_vector(official_folder / "archives" / "CONTOURS-IRIS_2-1__SHP__FRA_2021-01-01.zip")
    assert {"INSEE_COM", "NOM_COM", "IRIS", "CODE_IRIS", "NOM_IRIS", "TYP_IRIS"} <= set(raw.columns)
    iris = normalise_iris_fields(raw)
    assert iris.loc[0, "code_iris"] == "751010101"
    assert iris.loc[0, "nom_commune"] == "Paris 1er Arrondissement"
    assert iris.crs.to_epsg() == 4326
    assert centre(iris.geometry)["x"][0] == pytest.approx(2.340, abs=1e-3)


@pytest.mark.parametrize("zone, token, epsg, lon, lat", [
    ("GLP", "RGAF09UTM20", 5490, -61.500, 16.270),
    ("REU", "RGR92UTM40S", 2975, 55.450, -20.880),
])
def test_overseas_layers_are_reprojected_from_their_own_crs(official_folder, zone, token, epsg, lon, lat):
    archive = official_folder / "archives" / f"CONTOURS-IRIS_3-0__GPKG_{token}_{zone}_2024-01-01.7z"
    raw = read_vector(archive)
    assert raw.crs.to_epsg() == epsg
    assert centre(raw.geometry)["x"][0] > 1000  # metres, not degrees
    iris = normalise_iris_fields(raw)
    assert iris.crs.to_epsg() == 4326
    assert centre(iris.geometry)["x"][0] == pytest.approx(lon, abs=1e-3)
    assert centre(iris.geometry)["y"][0] == pytest.approx(lat, abs=1e-3)


def test_layer_without_crs_is_refused():
    layer = iris_layer(FXX[:1], "EPSG:2154", UPPER).set_crs(None, allow_override=True)
    with pytest.raises(DataError, match="système de coordonnées"):
        normalise_iris_fields(layer)


def test_layer_with_unknown_fields_names_them():
    layer = iris_layer(FXX[:1], "EPSG:2154", {"CODE": 0, "INSEE_COM": 1, "NOM_COM": 2, "NOM_IRIS": 3,
                                              "TYP_IRIS": 4})
    with pytest.raises(DataError, match="code_iris"):
        normalise_iris_fields(layer)


def test_archive_without_layer_is_refused(tmp_path):
    archive = write_zip(tmp_path / "vide.zip", {"lisez-moi.txt": b"rien"})
    with pytest.raises(DataError, match="aucune couche"):
        read_vector(archive)


# --------------------------------------------------------------------------- text tables

def test_text_table_cp1252_semicolon_with_hash_header():
    table = read_text_table(HEXASMAL.encode("cp1252"))
    assert list(table.columns) == ["Code_commune_INSEE", "Nom_de_la_commune", "Code_postal",
                                   "Libellé_d_acheminement", "Ligne_5"]
    assert table.loc[0, "Code_postal"] == "01400"  # leading zero kept
    assert table.loc[6, "Ligne_5"] == "STE CLOTILDE" and pd.isna(table.loc[0, "Ligne_5"])


def test_text_table_utf8_bom_comma_and_tab(tmp_path):
    path = tmp_path / "codes.csv"
    path.write_bytes('\ufeffcode_insee,nom\n"01001","L\'Abergement-Clémenciat"\n'.encode("utf-8"))
    table = read_text_table(path, required=("CODE_INSEE",))
    assert table.to_dict("records") == [{"CODE_INSEE": "01001", "nom": "L'Abergement-Clémenciat"}]
    tab = read_text_table("code\tpopulation\n2A004\t76320\n".encode())
    assert tab.loc[0, "code"] == "2A004" and tab.loc[0, "population"] == "76320"


def test_text_table_wrong_separator_names_the_problem():
    data = "Code_commune_INSEE|Code_postal\n01001|01400\n".encode("cp1252")
    with pytest.raises(InputError) as err:
        read_text_table(data, label="le fichier codes.csv", required=("Code_commune_INSEE", "Code_postal"))
    message = str(err.value)
    assert "Colonnes absentes dans le fichier codes.csv : Code_commune_INSEE, Code_postal" in message
    assert "séparateur" in message and "Code_commune_INSEE|Code_postal" in message


def test_text_table_wrong_encoding_names_the_problem():
    with pytest.raises(InputError, match="Encodage non pris en charge.*UTF-16"):
        read_text_table("code;nom\n01001;Ain\n".encode("utf-16"))
    with pytest.raises(InputError, match="Excel"):
        read_text_table(b"PK\x03\x04 classeur")
    with pytest.raises(InputError, match="vide"):
        read_text_table(b"\n\n")


def test_text_table_ragged_rows_name_the_line():
    with pytest.raises(InputError, match=r"ligne 3 : 3 champs au lieu de 2 ; séparateur détecté : « ; »"):
        read_text_table("code;nom\n01001;Ain\n01002;Saint;Jean\n".encode(), label="le fichier perimetre.csv")


# --------------------------------------------------------------------------- official tables

def test_iris_population_columns_and_year(official_folder):
    pop, year = read_iris_population(official_folder / "base-ic-evol-struct-pop-2022_csv.zip")
    assert year == 2022
    assert list(pop.columns) == ["code_iris", "code_insee", "pop_total", *AGE_BANDS]
    row = pop.set_index("code_iris").loc["751010101"]
    assert row["pop_total"] == 1200.5 and row["pop_0014"] == 100.25 and row["pop_80p"] == 40
    assert row["code_insee"] == "75101"
    z = pop.set_index("code_iris").loc["010010000"]
    assert z["pop_total"] == 859 and pd.isna(z["pop_0014"])  # secret statistique -> NA, not 0
    assert pop["pop_total"].sum() == pytest.approx(1200.5 + 800 + 859 + 2500 + 3000)


def test_iris_population_plain_csv_lowercase_headers(tmp_path):
    path = tmp_path / "base-ic-evol-struct-pop-2021.CSV"
    path.write_text("iris;com;p21_pop;p21_pop0014\n971010101;97101;3000;700\n", encoding="utf-8")
    pop, year = read_iris_population(path)
    assert year == 2021
    assert pop.to_dict("records") == [{"code_iris": "971010101", "code_insee": "97101",
                                       "pop_total": 3000.0, "pop_0014": 700.0}]


def test_legal_population_new_and_old_layouts(official_folder):
    new, new_year = read_legal_population(official_folder / "ensemble_2023.zip")
    old, old_year = read_legal_population(official_folder / "populations-legales-2022" / "ensemble.zip")
    assert new_year is None and old_year is None  # plain PMUN header: millésime comes from the file name
    new, old = new.set_index("code_insee"), old.set_index("code_insee")
    assert new.loc["2A004", "population"] == 76320 and new.loc["2A004", "nom"] == "Ajaccio"
    assert new.loc["97101", "population"] == 51055
    assert sorted(old.index) == ["01001", "2A004", "75101", "75102", "97101"]  # CODDEP + CODCOM
    assert old.loc["01001", "nom"] == "L'Abergement-Clémenciat" and old.loc["01001", "population"] == 859
    assert old.loc["97101", "population"] == 51760


def test_legal_population_year_in_header(tmp_path):
    path = tmp_path / "donnees_communes.csv"
    path.write_text("COM;PMUN2021\n01001;832\n", encoding="utf-8")
    table, year = read_legal_population(path)
    assert year == 2021 and table.loc[0, "population"] == 832 and pd.isna(table.loc[0, "nom"])


def test_postal_codes_of_plm_arrondissements_and_commune(official_folder):
    postal = read_postal_codes(official_folder / "019HexaSmal.csv")
    assert list(postal.columns) == ["code_insee", "code_postal"]
    pairs = set(postal.itertuples(index=False, name=None))
    assert {("75056", "75001"), ("75056", "75002"), ("2A004", "20090"), ("97411", "97490")} <= pairs
    assert {("75101", "75001"), ("75102", "75002")} <= pairs      # arrondissements keep theirs
    assert len(postal) == 9


def test_postal_codes_base_officielle_layout(tmp_path):
    path = tmp_path / "base-officielle-codes-postaux.csv"
    path.write_text("code_commune_insee,nom_de_la_commune,code_postal,libelle_d_acheminement,ligne_5,"
                    "latitude,longitude\n\"13201\",\"MARSEILLE 01\",\"13001\",\"MARSEILLE\",,43.3,5.4\n",
                    encoding="utf-8")
    assert read_postal_codes(path).values.tolist() == [["13055", "13001"], ["13201", "13001"]]


# --------------------------------------------------------------------------- folder and assembly

def test_find_official_files(official_folder):
    found = find_official_files(official_folder)
    assert found["iris_edition"] == 2024
    assert sorted(p.name for p in found["iris"]) == [
        "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01.7z",
        "CONTOURS-IRIS_3-0__GPKG_RGAF09UTM20_GLP_2024-01-01.7z",
        "CONTOURS-IRIS_3-0__GPKG_RGR92UTM40S_REU_2024-01-01.7z",
    ]
    assert found["iris_population"].name == "base-ic-evol-struct-pop-2022_csv.zip"
    assert {y: p.name for y, p in found["legal_population"].items()} == {2022: "ensemble.zip",
                                                                        2023: "ensemble_2023.zip"}
    assert found["postal"].name == "019HexaSmal.csv"
    older = find_official_files(official_folder, iris_year=2021)
    assert [p.name for p in older["iris"]] == ["CONTOURS-IRIS_2-1__SHP__FRA_2021-01-01.zip"]


def test_read_official_assembles_all_territories(official_folder):
    tables = read_official(official_folder)
    assert isinstance(tables, SourceTables)
    iris = tables.iris
    assert iris.crs.to_epsg() == 4326
    assert list(iris["code_iris"]) == ["010010000", "2A0040101", "751010101", "751010102",
                                       "971010101", "974110101"]
    centres = centre(iris.geometry).set_index(iris["code_iris"])
    assert centres.loc["971010101", "x"] == pytest.approx(-61.5, abs=1e-3)
    assert centres.loc["974110101", "y"] == pytest.approx(-20.88, abs=1e-3)
    assert centres.loc["2A0040101", "x"] == pytest.approx(8.738, abs=1e-3)

    communes = tables.communes.set_index("code_insee")
    assert list(tables.communes.columns) == ["code_insee", "nom", "type", "commune_parent", "departement",
                                             "region", "population", "population_ref"]
    assert communes.loc["75101", "type"] == "arrondissement_municipal"
    assert communes.loc["75101", "commune_parent"] == "75056"
    paris = communes.loc["75056"]
    assert (paris["nom"], paris["type"], paris["population"]) == ("Paris", "commune", 15114 + 20000)
    assert paris["population_ref"] == 15475 + 21000
    assert (communes.loc["2A004", "departement"], communes.loc["2A004", "region"]) == ("2A", "94")
    assert (communes.loc["97101", "departement"], communes.loc["97101", "region"]) == ("971", "01")
    assert (communes.loc["97411", "departement"], communes.loc["97411", "region"]) == ("974", "04")
    assert communes.loc["01001", "population"] == 860 and communes.loc["01001", "population_ref"] == 859
    assert pd.isna(communes.loc["97411", "population_ref"])  # absent from the 2022 file

    assert tables.iris_population["code_iris"].tolist()[0] == "751010101"
    assert ("75056", "75001") in set(tables.postal_codes.itertuples(index=False, name=None))
    assert tables.qpv.empty and list(tables.qpv.columns) == ["code_qp", "nom_qp", "code_insee", "pop_qpv"]
    assert tables.aci.empty

    meta = tables.meta
    assert {"iris_edition", "iris_source", "population_millesime", "population_source",
            "iris_population_year", "iris_population_source", "postal_source", "qpv_source",
            "limits"} <= meta.keys()
    assert (meta["iris_edition"], meta["population_millesime"], meta["iris_population_year"]) == ("2024", 2023, 2022)
    assert "ensemble_2023.zip" in meta["population_source"]
    assert any("Contours IRIS officiels" in s and "2024" in s for s in meta["limits"])
    assert "Contours IRIS absents du dossier pour : Martinique, Guyane, Mayotte, Saint-Pierre-et-Miquelon, " \
        "Saint-Barthélemy, Saint-Martin." in meta["limits"]
    restricted = tables.restrict({"971"})
    assert restricted.iris["code_iris"].tolist() == ["971010101"]


def test_read_official_without_reference_year_and_with_missing_population(tmp_path, official_folder):
    folder = tmp_path / "dossier"
    shutil.copytree(official_folder, folder)
    shutil.rmtree(folder / "populations-legales-2022")
    (folder / "ensemble_2023.zip").unlink()
    write_zip(folder / "ensemble_2023.zip", {"donnees_communes.csv": LEGAL_NEW.rsplit("04;", 1)[0].encode()})
    write_zip(folder / "ensemble_2022.zip", {"ensemble.xlsx": b"PK"})  # unreadable: skipped, said in limits
    tables = read_official(folder)
    assert tables.communes["population_ref"].isna().all()
    assert tables.communes.set_index("code_insee").loc["97411", "nom"] == "Saint-Denis"  # from the IRIS layer
    assert any("1 communes des contours IRIS n'ont pas de population légale" in s and "97411" in s
               for s in tables.meta["limits"])
    assert any("Sans population légale 2022" in s for s in tables.meta["limits"])
    assert any("ignoré" in s and "ensemble_2022.zip" in s for s in tables.meta["limits"])


def test_read_official_names_missing_files(tmp_path):
    (tmp_path / "019HexaSmal.csv").write_bytes(HEXASMAL.encode("cp1252"))
    with pytest.raises(DataError) as err:
        read_official(tmp_path)
    message = str(err.value)
    assert "contours IRIS" in message and "population par IRIS" in message and "ensemble.zip" in message
    assert "codes postaux" not in message


# --------------------------------------------------------------------------- network layer, offline

FEED = """<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:gpf_dl="https://data.geopf.fr/annexes/ressources/xsd/gpf_dl.xsd"
      gpf_dl:page="{page}" gpf_dl:pagecount="2">{entries}</feed>"""
EDITIONS = [
    "CONTOURS-IRIS_2-1__SHP__FRA_2021-01-01", "CONTOURS-IRIS_3-0__SHP__FRA_2023-01-01",
    "CONTOURS-IRIS_3-0__SHP__FRA_2024-01-01",
    *(f"CONTOURS-IRIS_3-0__{fmt}_{crs}_{zone}_2024-01-01" for fmt in ("GPKG", "SHP")
      for crs, zone in [("LAMB93", "FXX"), ("RGAF09UTM20", "GLP"), ("RGR92UTM40S", "REU")]),
    "CONTOURS-IRIS_3-0__GEOPARQUET_WGS84G_FRA_2025-01-01", "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2025-01-01",
    "CONTOURS-IRIS_3-0__GPKG_WGS84G_FRA_2026-01-01", "CONTOURS-IRIS_3-0__FLATGEOBUF_WGS84G_FRA_2026-01-01",
]


def fake_feed(url: str) -> bytes:
    base, page = url.split("?page=")
    if base == official.IGN_FEED:
        half = EDITIONS[:6] if page == "1" else EDITIONS[6:]
        entries = "".join(f"<entry><title>{e}</title><link href='{base}/{e}'/></entry>" for e in half)
        return FEED.format(page=page, entries=entries).encode()
    edition = base.rsplit("/", 1)[1]
    url = f"https://data.geopf.fr/telechargement/download/CONTOURS-IRIS/{edition}/{edition}"
    entries = "" if page == "2" else (f"<entry><title>{edition}</title><link href='{url}.7z'/></entry>"
                                      f"<entry><title>md5</title><link href='{url}.md5'/></entry>")
    return FEED.format(page=page, entries=entries).encode()


def test_discover_and_select_editions(monkeypatch):
    monkeypatch.setattr(official, "_fetch", fake_feed)
    editions = discover_iris_editions()
    assert editions == sorted(EDITIONS)  # both pages read
    assert select_iris_editions(editions, 2024) == [
        "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01", "CONTOURS-IRIS_3-0__GPKG_RGAF09UTM20_GLP_2024-01-01",
        "CONTOURS-IRIS_3-0__GPKG_RGR92UTM40S_REU_2024-01-01"]
    assert select_iris_editions(editions, 2023) == ["CONTOURS-IRIS_3-0__SHP__FRA_2023-01-01"]
    assert select_iris_editions(editions) == ["CONTOURS-IRIS_3-0__GPKG_WGS84G_FRA_2026-01-01"]
    assert select_iris_editions(editions, 2025) == ["CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2025-01-01"]
    with pytest.raises(DataError, match="2019"):
        select_iris_editions(editions, 2019)
    edition = "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01"
    url = f"https://data.geopf.fr/telechargement/download/CONTOURS-IRIS/{edition}/{edition}"
    assert edition_files(edition) == [(f"{url}.7z", f"{url}.md5")]


def test_download_checks_md5(tmp_path, capsys):
    source = tmp_path / "source.7z"
    source.write_bytes(b"x" * 3_000_000)
    good = tmp_path / "good.md5"
    good.write_text(f"{hashlib.md5(source.read_bytes()).hexdigest()}  source.7z\n")
    dest = official.download(source.as_uri(), tmp_path / "out" / "a.7z", md5_url=good.as_uri())
    assert dest.read_bytes() == source.read_bytes()
    assert "a.7z : 3.0 Mo (100 %)" in capsys.readouterr().err
    bad = tmp_path / "bad.md5"
    bad.write_text("0" * 32)
    with pytest.raises(DataError, match="corrompu"):
        official.download(source.as_uri(), tmp_path / "out" / "b.7z", progress=False, md5_url=bad.as_uri())
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.7z"]
    with pytest.raises(DataError, match="Téléchargement impossible"):
        official.download((tmp_path / "absent.7z").as_uri(), tmp_path / "out" / "c.7z", progress=False)


def test_download_official_fetches_what_is_missing(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(official, "_fetch", fake_feed)
    calls, failing = [], set()

    def fake_download(url, dest, progress=True, md5_url=None):
        if "data.laposte.fr" in url or url in failing:
            raise DataError(f"Téléchargement impossible de {url}.")
        calls.append((url, Path(dest).relative_to(tmp_path / "absent").as_posix(), md5_url))
        Path(dest).parent.mkdir(parents=True, exist_ok=True)
        Path(dest).write_bytes(b"")

    monkeypatch.setattr(official, "download", fake_download)
    official.download_official(tmp_path / "absent", progress=False)
    tmp_path = tmp_path / "absent"
    fxx = "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01"
    dests = [dest for _, dest, _ in calls]
    assert dests[0] == f"{fxx}/{fxx}.7z" and calls[0][2].endswith(f"{fxx}.md5")
    assert dests[3:] == ["base-ic-evol-struct-pop-2022_csv.zip", "ensemble_2023.zip", "ensemble_2022.zip",
                         "v_commune_2026.csv", "v_mvt_commune_2026.csv", "019HexaSmal.csv"]
    assert calls[3][0] == "https://www.insee.fr/fr/statistiques/fichier/8647014/base-ic-evol-struct-pop-2022_csv.zip"
    assert calls[-1][0].startswith("https://datanova.laposte.fr/")  # fallback host
    assert len(calls) == 9
    calls.clear()
    official.download_official(tmp_path, progress=False)  # everything present: nothing fetched
    assert calls == []
    (tmp_path / "ensemble_2022.zip").unlink()
    failing.add(official.OFFICIAL_SOURCES["legal_population"][2022])
    official.download_official(tmp_path, progress=False)  # the reference year is optional
    assert "Populations légales 2022 non téléchargées" in capsys.readouterr().err


def test_prepare_from_official_files_builds_a_bundle(official_folder, tmp_path):
    """End to end: official files (metropolitan and overseas archives) → bundle → summary."""
    from cpts_geo.data.bundle import Bundle
    from cpts_geo.commands.prepare import read_sources
    from cpts_geo.data.prepare import prepare_bundle
    from cpts_geo.territory.model import Territory, summarize

    meta = prepare_bundle(read_sources(official_folder, download=False), tmp_path, progress=False)
    assert meta["counts"]["iris"] == 6 and meta["departements"] == ["01", "2A", "75", "971", "974"]
    bundle = Bundle.load(tmp_path)
    guadeloupe = bundle.iris.loc["971010101"]
    assert guadeloupe["crs"] == "EPSG:5490" and guadeloupe["area_km2"] == pytest.approx(0.16, rel=0.01)
    assert bundle.iris.loc["974110101", "crs"] == "EPSG:2975"
    legal = summarize(bundle, Territory(frozenset(bundle.iris_by_commune["01001"]), "CPTS de la Dombes"))
    assert legal.population.value == 860 and legal.population.millesime == 2023
    assert bundle.communes.at["01001", "population_method"] == "legal"
    # Les Abymes: its IRIS (3,000 in RP 2022) do not add up to its 2022 legal population (51,760),
    # so its geography differs from the contours: IRIS population × growth 2022 → 2023.
    assert bundle.communes.at["97101", "population_method"] == "estimated_changed"
    assert bundle.communes.at["97101", "population"] == pytest.approx(3000 * 51_055 / 51_760)
    assert bundle.communes.at["75101", "postal_codes"] == "75001"
