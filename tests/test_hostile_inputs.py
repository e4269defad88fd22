"""Malformed and hostile inputs on the command line: a French message, exit code 2, no traceback, store unchanged.

Every case of :data:`CASES` builds its files in a temporary folder and runs ``cpts_geo.commands.main.main``
in-process with a seeded store (``CPTS_GEO_STORE`` and, for ``coverage``, ``--save --db``), then
checks the message, the exit code, the absence of a traceback and the store file's bytes.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
import warnings
import zipfile
from contextlib import closing
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import py7zr
import pytest
from docx import Document
from shapely.geometry import Point, box

from cpts_geo.storage import store as store_module
from cpts_geo.commands.main import main
from cpts_geo.config import DEFAULT_MIRROR
from cpts_geo.errors import CptsGeoError, InputError
from cpts_geo.data.sources import readers
from tests.conftest import RUSCINO_CODES

#: A perimeter around Perpignan (EPSG:4326) that covers IRIS of the Pyrénées-Orientales.
PERPIGNAN = box(2.85, 42.66, 2.95, 42.74)
SAVED = "cpts;code_insee\nCPTS Enregistrée;66136\n"
#: A long message is a sign that a file's content was echoed.
MAX_MESSAGE = 1500



# --------------------------------------------------------------------------- file builders

def perimeter_json(names=("CPTS Test",), geometry=PERPIGNAN) -> str:
    return gpd.GeoDataFrame({"cpts": list(names)}, geometry=[geometry] * len(names), crs="EPSG:4326").to_json()


def write(path: Path, data: str | bytes) -> Path:
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def write_zip(path: Path, members: dict[str, bytes | str], method=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def patched_zip(path: Path, flag_bits: int = 0, method: int | None = None, members: dict | None = None) -> Path:
    """A zip (default: one GeoJSON) whose headers claim encryption (``flag_bits``) or another compression ``method``."""
    data = bytearray(write_zip(path, members or {"perimetre.geojson": perimeter_json()}).read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + flags_at
        data[at] |= flag_bits
        if method is not None:
            data[at + 2:at + 4] = method.to_bytes(2, "little")
    return write(path, bytes(data))


def symlink_zip(path: Path) -> Path:
    info = zipfile.ZipInfo("perimetre.geojson")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, "/etc/passwd")
    return path


def shapefile_zip(path: Path, layers: dict[str, gpd.GeoDataFrame], drop=()) -> Path:
    folder = path.parent / f"{path.stem}_shp"
    folder.mkdir()
    for name, frame in layers.items():
        frame.to_file(folder / f"{name}.shp", engine="pyogrio")
    with zipfile.ZipFile(path, "w") as archive:
        for part in sorted(folder.iterdir()):
            if part.suffix not in drop:
                archive.write(part, part.name)
    return path


def perimeters(names=("CPTS Test",)) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"cpts": list(names)}, geometry=[PERPIGNAN] * len(names), crs="EPSG:4326")


def two_layer_gpkg(path: Path) -> Path:
    perimeters(["CPTS A"]).to_file(path, layer="nord", engine="pyogrio")
    perimeters(["CPTS B"]).to_file(path, layer="sud", engine="pyogrio", append=True)
    return path


def seven_zip(path: Path, members: dict[str, str], **options) -> Path:
    with py7zr.SevenZipFile(path, "w", **options) as archive:
        for name, data in members.items():
            archive.writestr(data.encode(), name)
    return path


def seven_zip_link(path: Path) -> Path:
    folder = path.parent / "lien"
    folder.mkdir()
    (folder / "perimetre.geojson").symlink_to("/etc/passwd")
    with py7zr.SevenZipFile(path, "w") as archive:
        archive.writeall(folder, "lien")
    return path


def duplicate_member_zip(path: Path) -> Path:
    """A zip holding the same member name twice (:mod:`zipfile` warns but writes it)."""
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as archive:
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(2):
            archive.writestr("p.geojson", perimeter_json())
    return path


def bad_mirror(folder: Path) -> Path:
    """The official files of a mirror by their names, their contents broken (an interrupted download)."""
    for name, data in (("CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01.7z", b"7z\xbc\xaf"),
                       ("base-ic-evol-struct-pop-2022_csv.zip", b"PK"), ("ensemble.zip", b"PK"),
                       ("019HexaSmal.csv", b"x;y\n")):
        write(folder / name, data)
    return folder


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def sparse(path: Path, size: int) -> Path:
    with path.open("wb") as out:
        out.truncate(size)
    return path


def incomplete_bundle(tmp: Path, bundle: Path) -> Path:
    copy = Path(shutil.copytree(bundle, tmp / "bundle"))
    (copy / "population" / "communes.parquet").unlink()
    return copy


# --------------------------------------------------------------------------- the corpus

def registry(path):
    """``coverage`` of a registry file, saved over the seeded store (which must stay unchanged)."""
    return ["coverage", "--registry", str(path), "--departement", "66", "--save"]


def neighbours(path):
    return ["summary", "--codes", "66028", "--other-cpts", str(path)]


#: name → (builder(tmp, bundle) → argv, key phrase of the French message)
CASES = {
    # archives
    "zip_slip": (lambda t, b: registry(write_zip(t / "r.zip", {"../x.geojson": perimeter_json()})),
                 "hors de l'archive"),
    "zip_slip_deep": (lambda t, b: neighbours(write_zip(t / "r.zip", {"a/../../x.geojson": perimeter_json()})),
                      "hors de l'archive"),
    "zip_absolute_member": (lambda t, b: registry(write_zip(t / "r.zip", {"/tmp/x.geojson": perimeter_json()})),
                            "hors de l'archive"),
    "zip_backslash_member": (lambda t, b: registry(write_zip(t / "r.zip", {"..\\x.geojson": perimeter_json()})),
                             "hors de l'archive"),
    "zip_drive_member": (lambda t, b: registry(write_zip(t / "r.zip", {"C:/x.geojson": perimeter_json()})),
                         "hors de l'archive"),
    "zip_symlink_member": (lambda t, b: registry(symlink_zip(t / "r.zip")), "lien symbolique"),
    "zip_bomb_ratio": (lambda t, b: registry(write_zip(t / "r.zip", {"p.geojson": b" " * 30_000_000})),
                       "bombe de décompression"),
    "zip_encrypted": (lambda t, b: registry(patched_zip(t / "r.zip", flag_bits=0x1)), "mot de passe"),
    "zip_deflate64": (lambda t, b: registry(patched_zip(t / "r.zip", method=9)), "Deflate64"),
    "zip_zstandard": (lambda t, b: neighbours(patched_zip(t / "r.zip", method=93)), "Zstandard"),
    "zip_unknown_method": (lambda t, b: registry(patched_zip(t / "r.zip", method=77)), "méthode n° 77"),
    "zip_corrupt": (lambda t, b: registry(write(t / "r.zip", b"PK\x03\x04" + b"\x13" * 500)),
                    "L'archive r.zip est illisible ou incomplète ; supprimez-la"),   # no « File is not a zip file »
    "zip_truncated": (lambda t, b: registry(write(t / "r.zip", write_zip(
        t / "full.zip", {"p.geojson": perimeter_json()}).read_bytes()[:200])), "L'archive r.zip est illisible ou incomplète ; "),
    "zip_empty": (lambda t, b: registry(write_zip(t / "r.zip", {})), "aucune couche"),
    "zip_without_layer": (lambda t, b: neighbours(write_zip(t / "r.zip", {"lisez-moi.txt": "rien"})), "aucune couche"),
    "zip_two_shapefiles": (lambda t, b: registry(shapefile_zip(t / "r.zip", {"nord": perimeters(["A"]),
                                                                             "sud": perimeters(["B"])})),
                           "plusieurs couches (nord.shp, sud.shp)"),
    "zip_two_geojson": (lambda t, b: registry(write_zip(t / "r.zip", {"p.geojson": perimeter_json(),
                                                                      "q.GEOJSON": perimeter_json()})),
                        "plusieurs couches (p.geojson, q.GEOJSON)"),
    "zip_same_member_twice": (lambda t, b: registry(duplicate_member_zip(t / "r.zip")), "deux fois"),
    "zip_shapefile_without_prj": (lambda t, b: registry(shapefile_zip(t / "r.zip", {"p": perimeters()},
                                                                      drop=(".prj",))),
                                  "système de coordonnées"),
    "7z_encrypted": (lambda t, b: registry(seven_zip(t / "r.7z", {"p.geojson": perimeter_json()}, password="x")),
                     "mot de passe"),
    "7z_encrypted_header": (lambda t, b: registry(seven_zip(t / "r.7z", {"p.geojson": perimeter_json()},
                                                            password="x", header_encryption=True)), "mot de passe"),
    "7z_symlink_member": (lambda t, b: registry(seven_zip_link(t / "r.7z")), "lien symbolique"),
    "7z_corrupt": (lambda t, b: registry(write(t / "r.7z", b"7z\xbc\xaf\x27\x1c" + b"\x00" * 200)),
                   "L'archive r.7z est illisible ou incomplète ; "),
    # geometry files
    "gpkg_two_layers": (lambda t, b: registry(two_layer_gpkg(t / "r.gpkg")), "2 couches (nord, sud)"),
    "geojson_nan": (lambda t, b: registry(write(t / "r.geojson", perimeter_json().replace("2.85, 42.66", "NaN, 42.66", 1))),
                    "non numériques"),
    "geojson_not_json": (lambda t, b: registry(write(t / "r.geojson", "{ceci n'est pas du JSON")),
                         "n'a pas pu être lu comme couche géographique"),
    "geojson_empty": (lambda t, b: registry(write(t / "r.geojson", '{"type": "FeatureCollection", "features": []}')),
                      "ne contient aucun périmètre"),
    "geojson_without_name": (lambda t, b: registry(write(t / "r.geojson", perimeter_json().replace('"cpts"', '"x"'))),
                             "attribut « cpts »"),
    "geojson_wrong_crs": (lambda t, b: neighbours(write(t / "r.geojson", gpd.GeoDataFrame(
        {"cpts": ["CPTS Lambert"]}, geometry=[box(690_000, 6_170_000, 700_000, 6_180_000)]).to_json())),
                          "Aucune CPTS voisine utilisable"),
    "geojson_points": (lambda t, b: neighbours(write(t / "r.geojson", gpd.GeoDataFrame(
        {"cpts": ["CPTS Point"]}, geometry=[Point(2.9, 42.7)], crs="EPSG:4326").to_json())), "sans surface"),
    "unknown_suffix": (lambda t, b: registry(write(t / "r.kml", "<kml/>")), "Format de registre non reconnu"),
    # text files
    "csv_extra_field": (lambda t, b: registry(write(t / "r.csv", "cpts;code_insee\nA;66028;X\nB;66136\n")),
                        "ligne 2 : 3 champs au lieu de 2"),
    "csv_utf16": (lambda t, b: registry(write(t / "r.csv", "cpts;code_insee\nA;66028\n".encode("utf-16"))), "UTF-16"),
    "csv_is_xlsx": (lambda t, b: registry(write(t / "r.csv", b"PK\x03\x04 classeur")), "classeur Excel"),
    "csv_bad_encoding": (lambda t, b: registry(write(t / "r.csv", b"cpts;code_insee\n\x81\x8d;66028\n")),
                         "Encodage non reconnu"),
    "csv_pipe_separator": (lambda t, b: registry(write(t / "r.csv", "cpts|code_insee\nA|66028\n")),
                           "colonne « cpts »"),
    "csv_no_name_column": (lambda t, b: registry(write(t / "r.csv", "nom_commune;code_insee\nA;66028\n")),
                           "colonne « cpts »"),
    "csv_only_control_names": (lambda t, b: registry(write(t / "r.csv", "cpts;code_insee\n\x01\x02;66028\n")),
                               "Aucune CPTS utilisable"),
    "csv_empty": (lambda t, b: registry(write(t / "r.csv", "\n\n")), "vide"),
    "codes_file_too_big": (lambda t, b: ["summary", "--codes", str(write(t / "c.csv", "code\n" + "66028\n" * 900_000))],
                           "trop volumineux"),
    "registry_csv_too_big": (lambda t, b: registry(sparse(t / "r.csv", 6_000_000)), "trop volumineux"),
    "perimeters_too_big": (lambda t, b: registry(sparse(t / "r.geojson", 60_000_000)), "trop volumineux"),
    "codes_file_geojson_line": (lambda t, b: ["summary", "--codes", str(write(t / "c.txt", perimeter_json() * 50))],
                                "pas de colonne de codes"),
    # paths
    "codes_folder": (lambda t, b: ["summary", "--codes", str(t)], "est un dossier"),
    "registry_folder": (lambda t, b: registry(t), "est un dossier"),
    "neighbours_folder_with_suffix": (lambda t, b: neighbours(Path(shutil.copytree(t, t.parent / f"{t.name}.zip"))),
                                      "est un dossier"),
    "codes_fifo": (lambda t, b: ["summary", "--codes", str(fifo(t / "c.csv"))], "pas un fichier ordinaire"),
    "registry_fifo": (lambda t, b: registry(fifo(t / "r.geojson")), "pas un fichier ordinaire"),
    "codes_missing_file": (lambda t, b: ["summary", "--codes", str(t / "absent.csv")], "introuvable"),
    "neighbours_missing_file": (lambda t, b: neighbours(t / "absent.geojson"), "introuvable"),
    "codes_perimeter_file": (lambda t, b: ["summary", "--codes", str(write(t / "p.geojson", perimeter_json()))],
                             "couche géographique"),
    "codes_empty": (lambda t, b: ["summary", "--codes", ""], "--codes est vide"),
    "codes_blank": (lambda t, b: ["export", "--codes", "  ", "--out", str(t)], "--codes est vide"),
    "codes_long_with_unknown": (lambda t, b: ["summary", "--codes", ",".join(RUSCINO_CODES * 2 + ["66999"])],
                                "66999"),
    "codes_nul_character": (lambda t, b: ["summary", "--codes", "66028\x0066136"], "format invalide"),
    "export_out_is_file": (lambda t, b: ["export", "--codes", "66028", "--format", "csv", "--out",
                                         str(write(t / "f.txt", "x"))], "pas un dossier"),
    "export_out_unwritable": (lambda t, b: ["export", "--codes", "66028", "--format", "csv", "--out",
                                            "/proc/cpts_geo_test"], "Impossible d'écrire"),
    "export_unknown_format": (lambda t, b: ["export", "--codes", "66028", "--format", "csv,odt"], "odt"),
    "coverage_out_is_file": (lambda t, b: [*registry(write(t / "r.csv", SAVED.replace("Enregistrée", "Nouvelle"))),
                                           "--out", str(write(t / "f.txt", "x"))], "pas un dossier"),
    "coverage_out_under_dev_null": (lambda t, b: [*registry(write(t / "r.csv", "cpts;code_insee\nNouvelle;66028\n")),
                                                  "--out", "/dev/null/rapport"], "Impossible d'écrire"),
    "coverage_save_without_registry": (lambda t, b: ["coverage", "--drafts", "--save"], "--save"),
    "postal_malformed": (lambda t, b: ["summary", "--codes", "66028", "--postal", "66028"], "--postal invalide"),
    "prepare_empty_mirror": (lambda t, b: ["prepare", "--mirror", str(t), "--out", str(t / "out")],
                             "Fichiers officiels absents"),
    "prepare_missing_mirror": (lambda t, b: ["prepare", "--mirror", str(t / "absent"), "--out", str(t / "out")],
                               "introuvable"),
    "prepare_corrupt_official_files": (lambda t, b: ["prepare", "--mirror", str(bad_mirror(t)), "--out", str(t / "out")],
                                       "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01.7z est illisible"),
    "bundle_incomplete": (lambda t, b: ["summary", "--codes", "66028", "--data", str(incomplete_bundle(t, b))],
                          "communes.parquet"),
    "bundle_missing": (lambda t, b: ["summary", "--codes", "66028", "--data", str(t)], "Aucune donnée préparée"),
    # stores (messages written by the store's owner: the location is named)
    "store_corrupt": (lambda t, b: ["coverage", "--departement", "66", "--db",
                                    str(write(t / "s.sqlite", b"pas une base" * 100))], "s.sqlite"),
    "store_foreign_table": (lambda t, b: ["coverage", "--departement", "66", "--db", str(foreign_store(t))],
                            "s.sqlite"),
    "store_bad_postgres_url": (lambda t, b: ["coverage", "--departement", "66", "--db", "postgresql://[::1"],
                               "PostgreSQL"),
    "store_mysql_url": (lambda t, b: ["coverage", "--departement", "66", "--db", "mysql://u@h/base"],
                        "« mysql://… »"),
    "store_sqlite_url": (lambda t, b: ["registry", "history", "--db", f"sqlite:///{t}/s.sqlite"], "« sqlite://… »"),
    "store_http_url": (lambda t, b: ["registry", "history", "--db", "http://serveur/base"], "« http://… »"),
}


def foreign_store(tmp: Path) -> Path:
    import sqlite3

    path = tmp / "s.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE territories (id INTEGER PRIMARY KEY, label TEXT)")
    return path


# --------------------------------------------------------------------------- running the corpus

@pytest.fixture(scope="module")
def seeded_store(dep66_dir, tmp_path_factory) -> Path:
    """A store holding a saved registry, as an ARS has it before trying a bad file."""
    folder = tmp_path_factory.mktemp("seeded")
    path = folder / "territoires.sqlite"
    code = main(["coverage", "--registry", str(write(folder / "r.csv", SAVED)), "--departement", "66", "--save",
                 "--db", str(path), "--out", str(folder / "out"), "--data", str(dep66_dir)])
    assert code == 0 and path.stat().st_size > 0
    return path


def run(argv, dep66_dir, store: Path, capsys) -> tuple[int, str, str]:
    """``main(argv)`` with the store and the bundle given where the command takes them."""
    argv = list(argv)
    if argv[0] == "coverage" and "--db" not in argv:
        argv += ["--db", str(store)]
    if argv[:2] != ["registry", "history"] and argv[0] != "prepare" and "--data" not in argv:
        argv += ["--data", str(dep66_dir)]
    if argv[0] in ("coverage", "export") and "--out" not in argv:
        argv += ["--out", str(store.parent / "rapport")]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def store(seeded_store, tmp_path, monkeypatch) -> Path:
    """A copy of the seeded store, also the default store of the commands."""
    path = Path(shutil.copy(seeded_store, tmp_path / "store.sqlite"))
    monkeypatch.setattr(store_module, "DEFAULT_STORE", path)
    return path


def test_corpus_is_large_enough():
    assert len(CASES) >= 60


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_input_is_a_french_message(name, dep66_dir, store, tmp_path, capsys):
    assert_refused(*CASES[name], dep66_dir, store, tmp_path, capsys)


def test_long_codes_typed_on_the_command_line(dep66_dir, store, capsys):
    """26 IRIS and more typed by hand (longer than a file name may be) are read as codes."""
    codes = ",".join(RUSCINO_CODES * 2)
    assert len(codes) > 255
    code, out, err = run(["summary", "--codes", codes, "--json"], dep66_dir, store, capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["iris_count"] == 16 and payload["population"]["value"] == 48_454


def test_zip_member_never_read_outside_the_folder(dep66_dir, store, tmp_path, capsys):
    """The file a ``../`` member would point at exists and is a valid registry: it is still not read."""
    (tmp_path / "x.geojson").write_text(perimeter_json(["CPTS Dehors"]))
    inner = tmp_path / "dossier"
    inner.mkdir()
    archive = write_zip(inner / "r.zip", {"../x.geojson": perimeter_json(["CPTS Dedans"])})
    code, out, err = run(registry(archive), dep66_dir, store, capsys)
    assert code == 2 and "CPTS Dehors" not in out + err and "hors de l'archive" in err


def test_zip_bomb_by_total_size(dep66_dir, store, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(readers, "MAX_EXTRACTED_BYTES", 100_000)
    archive = write_zip(tmp_path / "r.zip", {"p.geojson": perimeter_json(["CPTS " + "x" * 200_000])})
    code, _, err = run(registry(archive), dep66_dir, store, capsys)
    assert code == 2 and "bombe de décompression" in err and "100 Mo" not in err


def test_zip_of_too_many_members(dep66_dir, store, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(readers, "MAX_ARCHIVE_MEMBERS", 5)
    archive = write_zip(tmp_path / "r.zip", {f"f{i}.txt": "x" for i in range(6)} | {"p.geojson": perimeter_json()})
    code, _, err = run(registry(archive), dep66_dir, store, capsys)
    assert code == 2 and "trop de fichiers (7 ; maximum 5)" in err


def test_really_encrypted_zip(dep66_dir, store, tmp_path, capsys):
    if not shutil.which("zip"):
        pytest.skip("no zip command to build a password-protected archive")
    (tmp_path / "p.geojson").write_text(perimeter_json())
    subprocess.run(["zip", "-q", "-P", "secret", "r.zip", "p.geojson"], cwd=tmp_path, check=True)
    code, _, err = run(registry(tmp_path / "r.zip"), dep66_dir, store, capsys)
    assert code == 2 and "mot de passe" in err


def test_official_population_zip_in_deflate64(tmp_path):
    from cpts_geo.data.sources.official import read_iris_population

    archive = patched_zip(tmp_path / "base-ic-evol-struct-pop-2022_csv.zip", method=9,
                          members={"base-ic-evol-struct-pop-2022.CSV": "IRIS;COM\n"})
    with pytest.raises(InputError, match="Deflate64"):
        read_iris_population(archive)


def test_unreadable_file(dep66_dir, store, tmp_path, capsys, monkeypatch):
    """Tests run as root, who reads everything: the permission error is simulated."""
    path = write(tmp_path / "c.csv", "code\n66028\n")

    def refused(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refused)
    code, _, err = run(["summary", "--codes", str(path)], dep66_dir, store, capsys)
    assert code == 2 and "n'a pas pu être lu (Permission denied)" in err


def test_zipped_shapefile_from_a_mac_is_one_layer(dep66, tmp_path):
    """The ``__MACOSX/._x.shp`` resource forks of a zip made on a Mac are not layers."""
    archive = shapefile_zip(tmp_path / "r.zip", {"p": perimeters()})
    with zipfile.ZipFile(archive, "a") as out:
        out.writestr("__MACOSX/._p.shp", b"\x00\x05\x16\x07")
    table = readers.read_vector(archive)
    assert table["cpts"].tolist() == ["CPTS Test"]


def test_zip_members_of_the_same_name_in_two_folders(tmp_path):
    """Each folder of an archive is extracted to its own folder: two shapefiles of one name do not mix."""
    archive = shapefile_zip(tmp_path / "a.zip", {"p": perimeters(["Nord"])})
    other = shapefile_zip(tmp_path / "b.zip", {"p": perimeters(["Sud"])})
    both = tmp_path / "both.zip"
    with zipfile.ZipFile(both, "w") as out:
        for folder, source in (("nord", archive), ("sud", other)):
            with zipfile.ZipFile(source) as inner:
                for name in inner.namelist():
                    out.writestr(f"{folder}/{name}", inner.read(name))
    with readers.extracted_vectors(both) as files:
        names = [readers.read_vector_file(f)["cpts"].iat[0] for f in files]
        assert all(f.resolve().is_relative_to(files[0].parents[1].resolve()) for f in files)
    assert names == ["Nord", "Sud"]


def test_unclosed_ring_is_closed(dep66_dir, store, tmp_path, capsys):
    ring = perimeter_json(["CPTS Ouverte"])
    data = json.loads(ring)
    data["features"][0]["geometry"]["coordinates"][0].pop()  # the ring no longer ends where it starts
    code, out, err = run(["coverage", "--registry", str(write(tmp_path / "r.geojson", json.dumps(data))),
                          "--departement", "66", "--json"], dep66_dir, store, capsys)
    assert code == 0, err
    assert [c["name"] for c in json.loads(out)["cpts"]] == ["CPTS Ouverte"]


@pytest.mark.parametrize("rows", ["A;66028;\nB;66136;\n", "A;66028\nB;66136;\n", "A;66028;;\nB;66136;\n"])
def test_trailing_separator_as_excel_writes_it(dep66, rows, tmp_path):
    """Rows ending with ``;`` (one field more than the header) keep every column in its place."""
    from cpts_geo.region.registry import read_registry

    imported = read_registry(dep66, write(tmp_path / "r.csv", ("cpts;code_insee\n" + rows).encode("cp1252")))
    assert sorted(imported.cpts) == ["A", "B"] and imported.ok
    assert imported.cpts["A"] == frozenset(dep66.iris_by_commune["66028"])


def test_header_with_trailing_separator_and_excel_export(tmp_path):
    """An Excel « CSV (séparateur : point-virgule) » with an empty last column, in Windows-1252."""
    table = readers.read_text_table(write(tmp_path / "r.csv", "CPTS;Code INSEE;\r\nSalanque;66037;\r\n"
                                          "Pays Catalan;66136;\r\n".encode("cp1252")))
    assert table.to_dict("records") == [{"CPTS": "Salanque", "Code INSEE": "66037"},
                                        {"CPTS": "Pays Catalan", "Code INSEE": "66136"}]


FORMULAS = ["=HYPERLINK(\"http://example.org\",\"clic\")", "+33 1 23", "-2+3", "@SUM(A1)", "CPTS\x01Cloche"]


def test_formula_names_stay_text_in_the_coverage_report(dep66_dir, store, tmp_path, capsys):
    path = tmp_path / "r.csv"
    pd.DataFrame({"cpts": FORMULAS, "code_insee": ["66028", "66136", "66037", "66186", "66189"]}).to_csv(
        path, sep=";", index=False)
    out_dir = tmp_path / "rapport"
    code, _, err = run(["coverage", "--registry", str(path), "--departement", "66", "--save", "--out", str(out_dir)],
                       dep66_dir, store, capsys)
    assert code == 0, err
    sheet = openpyxl.load_workbook(out_dir / "couverture_departement_66.xlsx")["CPTS"]
    names = [cell for cell in sheet["A"][2:]]                     # under the title and the header
    assert len(names) == 5 and all(cell.data_type == "s" for cell in names)
    values = {cell.value for cell in names}
    assert "'=HYPERLINK(\"http://example.org\",\"clic\")" in values and "'@SUM(A1)" in values
    assert "'+33 1 23" in values and "'-2+3" in values and "CPTS Cloche" in values
    csv = (out_dir / "couverture_departement_66_cpts.csv").read_text(encoding="utf-8-sig")
    assert not any(line.startswith(("=", "+", "-", "@", '"=', '"+', '"-', '"@')) for line in csv.splitlines())
    assert "CPTS\x01" not in csv
    from cpts_geo.storage.store import open_store

    assert "CPTS Cloche" in open_store(store).load_all("registry")


def test_failed_report_leaves_no_truncated_file(dep66_dir, store, tmp_path, capsys, monkeypatch):
    """A failure while writing the files leaves neither a partial workbook nor a changed registry."""
    from cpts_geo.commands import output

    out_dir = tmp_path / "rapport"
    out_dir.mkdir()
    calls = []

    def fail_on_second(self, data):
        calls.append(self.name)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(self))
        return original(self, data)

    original = Path.write_bytes
    monkeypatch.setattr(output.Path, "write_bytes", fail_on_second)
    before = store.read_bytes()
    code, _, err = run([*registry(write(tmp_path / "r.csv", "cpts;code_insee\nNouvelle;66028\n")),
                        "--out", str(out_dir)], dep66_dir, store, capsys)
    assert code == 2 and "No space left on device" in err
    assert list(out_dir.iterdir()) == [] and store.read_bytes() == before


def test_letter_table_cells_are_never_formulas(dep66, tmp_path):
    from cpts_geo.exports.tables import letter_csv, letter_xlsx
    from cpts_geo.territory.letter import COLUMNS
    from cpts_geo.territory.model import Territory, summarize

    summary = summarize(dep66, Territory(frozenset(dep66.iris_by_commune["66028"]), "=1+1"))
    table = pd.DataFrame([("=cmd|'/C calc'!A0", "66330", "66028", ""), ("-1+2", "66330", "@66028", "")],
                         columns=COLUMNS)
    csv = letter_csv(table, summary).decode("utf-8-sig").replace("\u2060", "")
    assert "'=cmd|'/C calc'!A0;66330;66028;" in csv and "'-1+2;66330;'@66028;" in csv
    sheet = openpyxl.load_workbook(io.BytesIO(letter_xlsx(dep66, summary, table)))["Délimitation"]
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert all(cell.data_type != "f" for cell in cells)
    assert sheet["A4"].value == "'=cmd|'/C calc'!A0" and sheet["C5"].value == "'@66028"


def test_export_with_hostile_name(dep66_dir, store, tmp_path, capsys):
    """A name with control characters and a formula: every file is written and opens."""
    out_dir = tmp_path / "exports"
    code, out, err = run(["export", "--codes", "66028", "--name", "=CPTS\x07\x0bTest", "--format", "csv,xlsx,docx",
                          "--out", str(out_dir)], dep66_dir, store, capsys)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["cpts_test_lettre.docx", "cpts_test_tableau.csv",
                                                        "cpts_test_tableau.xlsx"]
    title = openpyxl.load_workbook(out_dir / "cpts_test_tableau.xlsx")["Délimitation"]["A1"].value
    assert title == "Délimitation géographique — =CPTS Test"
    assert "Territoire de la =CPTS Test" in "\n".join(p.text for p in Document(out_dir / "cpts_test_lettre.docx")
                                                         .paragraphs)


def run_cli(*args, data):
    env = {**os.environ, "CPTS_GEO_DATA": str(data)}
    return subprocess.run([sys.executable, "-m", "cpts_geo", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_subprocess_long_codes_and_zip_slip(dep66_dir, tmp_path):
    """As a user runs them: a territory typed in full, then a hostile archive (exit 2, no traceback)."""
    typed = run_cli("summary", "--codes", ",".join(RUSCINO_CODES * 2), data=dep66_dir)
    assert typed.returncode == 0 and "16 IRIS" in typed.stdout, typed.stderr
    archive = write_zip(tmp_path / "r.zip", {"../../bundle.geojson": perimeter_json()})
    hostile = run_cli("summary", "--codes", "66028", "--other-cpts", archive, data=dep66_dir)
    assert hostile.returncode == 2 and "hors de l'archive" in hostile.stderr
    assert "Traceback" not in hostile.stderr


# ---- issue 24: text

MATH_NAME = r"CPTS $\foo{$"


def drawn_texts(fig) -> list:
    from matplotlib.text import Text

    return [artist for artist in fig.findobj(Text) if artist.get_text()]


def test_names_with_dollars_are_drawn_as_written(dep66, tmp_path):
    """A territory named ``CPTS $\\foo{$`` beside a CPTS named ``$x^2$``: every document is written, and the map
    holds both names as text (never typeset as mathematics, which failed on the first and drew « x² »)."""
    from cpts_geo.exports.files import TerritoryExport
    from cpts_geo.territory.model import Territory

    territory = Territory(frozenset(dep66.iris_by_commune["66136"]), MATH_NAME)
    export = TerritoryExport(dep66, territory, {"$x^2$": frozenset(dep66.iris_by_commune["66028"])})
    for fmt in ("png", "pdf", "docx", "prediag"):
        assert len(export.export(fmt).data) > 10_000, fmt
    texts = drawn_texts(export.map_figure())
    assert not any(text.get_parse_math() for text in texts)
    shown = {text.get_text() for text in texts}
    assert MATH_NAME in shown and "$x^2$" in shown


def test_registry_name_with_dollars_on_the_coverage_map(dep66):
    from cpts_geo.region.coverage import area_of, coverage_report
    from cpts_geo.exports.maps import coverage_map, save_figure

    registry = {MATH_NAME: frozenset(dep66.iris_by_commune["66136"]), "$x^2$": frozenset(dep66.iris_by_commune["66028"])}
    fig = coverage_map(dep66, registry, coverage_report(dep66, registry, area_of(dep66, None, "66")))
    assert save_figure(fig, "pdf").startswith(b"%PDF")
    shown = " ".join(text.get_text() for text in drawn_texts(fig))
    assert MATH_NAME in shown and "$x^2$" in shown


ESCAPE = "\x1b[2J\x07\x9b31m"   # clears the screen, rings, then writes in red (C1 « CSI »)


def escaped_layers_gpkg(path: Path) -> Path:
    for name in ("nord" + ESCAPE, "sud"):
        perimeters(["CPTS A"]).to_file(path, layer=name, engine="pyogrio", append=path.exists())
    return path


#: name → (builder(tmp) → argv, key phrase): a terminal escape in a name the message or the output shows
ESCAPE_CASES = {
    "gpkg_layer_name": (lambda t: registry(escaped_layers_gpkg(t / "r.gpkg")), "2 couches (nord␛[2J␇�31m, sud)"),
    "zip_member_names": (lambda t: registry(write_zip(t / "r.zip", {f"p{ESCAPE}.geojson": perimeter_json(),
                                                                    "q.geojson": perimeter_json()})),
                         "plusieurs couches"),
    "codes_column_names": (lambda t: ["summary", "--codes", str(write(t / "c.csv", f"nom{ESCAPE};x\nA;B\n"))],
                           "nom␛[2J"),
    "codes_file_name": (lambda t: ["summary", "--codes", str(write(t / f"c{ESCAPE}.csv", "code\n66999\n"))],
                        "66999"),
    "codes_typed": (lambda t: ["summary", "--codes", f"66028,66{ESCAPE}"], "␛"),
    "codes_in_a_file": (lambda t: ["summary", "--codes", str(write(t / "c.csv", f"code\n66{ESCAPE}\n"))], "66␛2J␇"),
}


@pytest.mark.parametrize("name", list(ESCAPE_CASES))
def test_terminal_escapes_never_reach_the_terminal(name, dep66_dir, store, tmp_path, capsys):
    """Names, file names and codes holding escape sequences are printed with visible placeholders (« ␛ »)."""
    build, phrase = ESCAPE_CASES[name]
    code, out, err = run(build(tmp_path), dep66_dir, store, capsys)
    assert code == 2 and phrase in err, err
    assert not set("\x1b\x07\x9b") & set(out + err)


def test_a_system_error_names_its_file_safely(dep66_dir, store, tmp_path, capsys):
    """An output folder under a file whose name holds escapes: the system's error names it with placeholders."""
    blocker = write(tmp_path / f"fichier{ESCAPE}", "pas un dossier")
    code, out, err = run(["export", "--codes", "66028", "--format", "csv", "--out", str(blocker / "sortie")],
                         dep66_dir, store, capsys)
    assert code == 2 and err.startswith("Erreur : ") and "fichier␛[2J␇" in err, err
    assert not set("\x1b\x07\x9b") & set(out + err) and "Traceback" not in err


def test_registry_source_is_stored_clean_and_printed_safe(dep66_dir, store, tmp_path, capsys):
    """The file name stored with a registry version, printed later by ``registry history``."""
    path = write(tmp_path / f"registre{ESCAPE}\u202egnp.csv", "cpts;code_insee\nCPTS Nouvelle;66028\n")
    code, _, err = run(registry(path), dep66_dir, store, capsys)
    assert code == 0, err
    assert not set("\x1b\x07\u202e") & set(err)
    from cpts_geo.storage.store import open_store

    assert max(open_store(store).registry_versions(), key=lambda v: v.number).source == "registre [2J 31m gnp.csv"
    code, out, err = run(["registry", "history", "--db", str(store)], dep66_dir, store, capsys)
    assert code == 0 and "registre [2J 31m gnp.csv" in out


@pytest.fixture
def bob(tmp_path):
    """Bob's drafts, one saved, in a store of their own."""
    from cpts_geo.storage.store import open_store
    from cpts_geo.territory.model import Territory
    from cpts_geo.storage.users import Drafts, User

    drafts = Drafts(open_store(tmp_path / "drafts.sqlite"), User("bob@ex.fr"), lambda codes: set())
    drafts.save(Territory(frozenset({"661890000"}), "Projet"))
    drafts.share("Projet", "alice@ex.fr")
    return drafts


@pytest.mark.parametrize("typed, named", [("bob@", "bob@"), ("alice@ex.fr, @", "@"), ("a@b@c.fr", "a@b@c.fr"),
                                          ("carole@ex", "carole@ex"), ("david@ex.fr; ève@ex.fr", "ève@ex.fr"),
                                          ("x@ex.fr\x1b[2J", "[2j")])
def test_sharing_refuses_each_bad_address(bob, typed, named):
    with pytest.raises(InputError, match="non valable") as refused:
        bob.share("Projet", typed)
    assert named in str(refused.value) and "Le partage est inchangé" in str(refused.value)
    assert bob.get("Projet").shared_with == ("alice@ex.fr",)


def test_sharing_refuses_a_list_too_long_instead_of_cutting_it(bob):
    """260 addresses (10 400 characters) were cut to 213, one in its middle, and « enregistré » shown."""
    addresses = [f"professionnel.sante{n:03d}@exemple-cpts.fr" for n in range(260)]
    with pytest.raises(InputError, match="trop longue \\(10\u202f398 caractères ; maximum 10\u202f000\\)"):
        bob.share("Projet", ", ".join(addresses))
    assert bob.get("Projet").shared_with == ("alice@ex.fr",)
    assert bob.share("Projet", ", ".join(addresses[:230])) == addresses[:230]     # 9 198 characters: all kept


def test_fifty_thousand_unknown_codes_make_a_short_message(dep66_dir, store, tmp_path, capsys):
    """A message of 4.7 million characters before: now the first ten codes, and how many in all."""
    codes = [f"{n:09d}" for n in range(100_000_000, 100_050_000)]   # département 10: not in the bundle
    path = write(tmp_path / "c.csv", "code\n" + "\n".join(codes) + "\n")
    code, _, err = run(["summary", "--codes", str(path)], dep66_dir, store, capsys)
    assert code == 2 and len(err) < MAX_MESSAGE, len(err)
    assert err.startswith("Erreur : 50\u202f000 code(s) non reconnu(s) — 100000000 : ")
    assert "100000009 : " in err and "100000010" not in err and "(50\u202f000 en tout)" in err


def test_registry_of_600_000_duplicate_rows_makes_a_short_message(dep66, tmp_path):
    from cpts_geo.region.registry import read_registry

    path = write(tmp_path / "r.csv", "cpts;code_insee\n" + "A;66028\n" * 600_000 + "a;66136\n")   # 4.8 Mo
    imported = read_registry(dep66, path)
    assert len(imported.ignored) == 599_999 and set(imported.cpts) == {"A"}
    message = imported.message()
    assert len(message) < MAX_MESSAGE, len(message)
    assert "Ignoré (ligne 3, « A », 66028) : ligne en double de la ligne 2" in message
    assert "… et 599\u202f989 autre(s) ligne(s) ignorée(s) (599\u202f999 en tout)." in message
    assert "regroupée sous « A » : « A » (600000 ligne(s)), « a » (1 ligne(s))" in message


def test_a_whole_cell_read_as_a_code_is_cut_in_the_message(dep66_dir, store, tmp_path, capsys):
    code, _, err = run(["summary", "--codes", str(write(tmp_path / "c.csv", "code\n" + "6" * 100_000 + "\n"))],
                       dep66_dir, store, capsys)
    assert code == 2 and "6" * 19 + "…" in err and len(err) < MAX_MESSAGE


def test_codes_imported_in_the_app_make_a_short_message(dep66):
    from cpts_geo.web.session import DrawingSession

    session = DrawingSession(dep66)
    with pytest.raises(InputError) as refused:
        session.import_codes([f"{n:09d}" for n in range(100_000_000, 100_002_000)], "Le fichier c.csv")
    assert len(str(refused.value)) < MAX_MESSAGE and "(2\u202f000 en tout)" in str(refused.value)
    assert str(refused.value).endswith("La sélection en cours est conservée.")


def test_a_name_of_200_characters_is_exported_under_a_short_file_name(dep66_dir, store, tmp_path, capsys):
    """« œ » is written « oe », « ß » « ss »: the 200 characters made a file name of 400, refused by the system."""
    name = "CPTS " + "Œœæß" * 48 + "Cœu"
    assert len(name) == 200
    out_dir = tmp_path / "exports"
    code, out, err = run(["export", "--codes", "66028", "--name", name, "--format", "csv,docx,shp,gpkg",
                          "--out", str(out_dir)], dep66_dir, store, capsys)
    assert code == 0, err
    from cpts_geo.exports.files import file_stem

    stem = file_stem(name)
    assert re.fullmatch(r"cpts_(oeoeaess)+[a-z]*_[0-9a-f]{8}", stem) and len(stem) <= 80
    assert sorted(p.name for p in out_dir.iterdir()) == [stem + suffix for suffix in (
        "_lettre.docx", "_perimetre.gpkg", "_perimetre_shp.zip", "_tableau.csv")]
    docx = next(out_dir.glob("*.docx"))
    assert f"Territoire de la {name.strip()}" in "\n".join(p.text for p in Document(docx).paragraphs)
    other = run(["export", "--codes", "66028", "--name", name[:-1] + "X", "--format", "csv", "--out", str(out_dir)],
                dep66_dir, store, capsys)
    assert other[0] == 0 and len(list(out_dir.iterdir())) == 5     # another long name: another file


# ---- issue 24: arguments and stores

#: A number of 5 000 digits (beyond Python's int() limit for text of 4 300 digits).
LONG_NUMBER = "1" * 5000
#: Words of argparse's English messages and help, never shown.
ENGLISH = ("usage:", "error:", "invalid choice", "choose from", "options:", "show this help", "arguments are required",
           "unrecognized arguments", "positional arguments")


def other_program_database(tmp: Path) -> Path:
    """The SQLite database of another program (no table of ours)."""
    import sqlite3

    path = tmp / "autre.sqlite"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, texte TEXT)")
        db.execute("INSERT INTO notes (texte) VALUES ('à garder')")
    return path


def earlier_store(tmp: Path) -> Path:
    """A store of cpts-geo from before owners and the registry history (opened to write, it is migrated)."""
    import sqlite3

    path = tmp / "ancien.sqlite"
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("CREATE TABLE territories (kind TEXT NOT NULL, name TEXT NOT NULL, iris TEXT NOT NULL, "
                   "attributes TEXT NOT NULL DEFAULT '{}', updated TEXT NOT NULL, PRIMARY KEY (kind, name))")
        db.execute("""INSERT INTO territories VALUES ('registry', 'CPTS R', '["661860000"]', '{}', '2025-01-01')""")
    return path


def tampered(store: Path, sql: str) -> None:
    """A row of ``store`` changed by hand (another program, a mistaken UPDATE)."""
    import sqlite3

    with closing(sqlite3.connect(store)) as db, db:
        db.execute(sql)


def files_under(folder: Path) -> dict[Path, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``."""
    return {path: path.read_bytes() if path.is_file() else None for path in sorted(folder.rglob("*"))}


#: name → (builder(tmp, store) → argv, key phrase of the French message)
ARGUMENT_CASES = {
    "version_superscript_digit": (lambda t, s: ["registry", "restore", "²"],
                                  "argument VERSION : « ² » n'est pas un numéro de version valide"),
    "diff_superscript_digit": (lambda t, s: ["registry", "diff", "²", "1"],
                               "« ² » n'est pas un numéro de version"),
    "version_beyond_sqlite_integers": (lambda t, s: ["registry", "restore", "99999999999999999999"],
                                       "nombre entier de 1 à 1\u202f000\u202f000\u202f000"),
    "version_of_5000_digits": (lambda t, s: ["registry", "diff", LONG_NUMBER, "1"], "(5\u202f000 caractères)"),
    "threshold_of_5000_digits": (lambda t, s: ["coverage", "--departement", "66", "--propose",
                                               "--min-population", LONG_NUMBER],
                                 "argument --min-population : « 1111"),
    "threshold_superscript_digit": (lambda t, s: ["coverage", "--departement", "66", "--propose",
                                                  "--target-min", "²"],
                                    "« ² » n'est pas un nombre d'habitants valide"),
    "threshold_arabic_indic_digits": (lambda t, s: ["coverage", "--propose", "--target-max", "٤٠٠٠٠"],
                                      "en chiffres 0 à 9"),
    "orientation_unknown": (lambda t, s: ["export", "--codes", "66028", "--orientation", "paysage"],
                            "argument --orientation : choix invalide : 'paysage' (choix possibles : 'portrait', "
                            "'landscape')"),
    "command_unknown": (lambda t, s: ["dessiner"], "argument COMMANDE : choix invalide : 'dessiner'"),
    "option_unknown": (lambda t, s: ["summary", "--codes", "66028", "--bavard"],
                       "argument(s) non reconnu(s) : --bavard"),
    "option_without_value": (lambda t, s: ["summary", "--codes"], "argument --codes : une valeur est attendue"),
    "territory_missing": (lambda t, s: ["export", "--format", "csv"],
                          "l'un des arguments --codes --perimeter est obligatoire"),
    "history_of_a_missing_store": (lambda t, s: ["registry", "history", "--db", str(t / "neuf.sqlite")],
                                   "neuf.sqlite (rien n'y a encore été enregistré ?)"),
    "restore_in_a_missing_store": (lambda t, s: ["registry", "restore", "1", "--db", str(t / "neuf.sqlite")],
                                   "introuvable"),
    "coverage_of_a_missing_store": (lambda t, s: ["coverage", "--departement", "66", "--db", str(t / "neuf.sqlite")],
                                    "introuvable"),
    "history_of_another_program_database": (
        lambda t, s: ["registry", "history", "--db", str(other_program_database(t))], "n'est pas un magasin cpts-geo"),
    "diff_in_another_program_database": (
        lambda t, s: ["registry", "diff", "1", "2", "--db", str(other_program_database(t))],
        "n'est pas un magasin cpts-geo"),
    "coverage_of_another_program_database": (
        lambda t, s: ["coverage", "--departement", "66", "--db", str(other_program_database(t))],
        "autre.sqlite n'est pas un magasin cpts-geo"),
    "history_of_an_earlier_store": (lambda t, s: ["registry", "history", "--db", str(earlier_store(t))],
                                    "créé par une version précédente de cpts-geo"),
    "save_registry_of_points": (lambda t, s: registry(write(t / "r.geojson",
                                                            perimeter_json(geometry=Point(2.9, 42.7)))),
                                "géométrie sans surface"),
    "save_registry_in_lambert_93_without_crs": (lambda t, s: registry(write(t / "r.geojson", gpd.GeoDataFrame(
        {"cpts": ["CPTS Lambert"]}, geometry=[box(690_000, 6_170_000, 700_000, 6_180_000)]).to_json())),
                                                "aucun fichier n'a été écrit"),
    "save_registry_of_unknown_codes": (lambda t, s: registry(write(t / "r.csv", "cpts;code_insee\nX;66999\nY;75999\n")),
                                       "Ignoré (ligne 3, « Y », 75999) : département 75 absent"),
    "papeete": (lambda t, s: ["summary", "--codes", "98714"],
                "98714 : collectivité d'outre-mer (Polynésie française), hors du champ des CPTS"),
    "saint_martin_and_noumea_iris": (lambda t, s: ["export", "--codes", "97801,988180101", "--format", "csv"],
                                     "97801 : collectivité d'outre-mer (Saint-Martin), hors du champ des CPTS ; "
                                     "988180101 : collectivité d'outre-mer (Nouvelle-Calédonie)"),
    "coverage_of_wallis_and_futuna": (lambda t, s: ["coverage", "--departement", "986"],
                                      "Département 986 inexistant : collectivité d'outre-mer (Wallis-et-Futuna)"),
    "prepare_saint_pierre_and_miquelon": (lambda t, s: ["prepare", "--departement", "975", "--out", str(t / "b")],
                                          "975 : collectivité d'outre-mer (Saint-Pierre-et-Miquelon)"),
    "registry_version_as_a_list": (
        lambda t, s: tampered(s, "UPDATE registry_versions SET cpts = '[]'") or ["registry", "history"],
        "La version 1 du registre de"),
    "registry_version_codes_as_numbers": (
        lambda t, s: tampered(s, """UPDATE registry_versions SET cpts = '{"A": [66028]}'""") or ["registry", "diff",
                                                                                               "1", "1"],
        "La version 1 du registre"),
    "registry_version_cut_json": (
        lambda t, s: tampered(s, """UPDATE registry_versions SET cpts = '{"A": ["66'""") or ["registry", "restore",
                                                                                             "1"],
        "JSON illisible"),
    "territory_codes_null": (
        lambda t, s: tampered(s, "UPDATE territories SET iris = 'null'") or ["coverage", "--departement", "66"],
        "Le territoire « CPTS Enregistrée » de"),
    "territory_codes_a_number": (
        lambda t, s: tampered(s, "UPDATE territories SET iris = 66136") or ["coverage", "--departement", "66"],
        "illisible"),
}


@pytest.mark.parametrize("name", list(ARGUMENT_CASES))
def test_argument_or_store_refused_in_french(name, dep66_dir, store, tmp_path, capsys):
    """Exit 2, a French message without argparse's English, and nothing created or changed: the store, the
    database of another program, no new store, no report folder."""
    build, phrase = ARGUMENT_CASES[name]
    argv = build(tmp_path, store)
    before = files_under(tmp_path)
    code, out, err = run(argv, dep66_dir, store, capsys)
    assert code == 2, (out, err)
    assert err.startswith("Erreur : ") and phrase in err, err
    assert "Traceback" not in err + out and len(err) < MAX_MESSAGE, err
    assert not [word for word in ENGLISH if word in err.lower()], err
    assert files_under(tmp_path) == before


def test_read_only_commands_change_nothing(dep66_dir, store, tmp_path, capsys):
    """registry history and diff, coverage of the stored registry: they work, and the folder is as it was."""
    before = files_under(tmp_path)
    for argv, expected in ((["registry", "history"], "Version 1 — "),
                           (["registry", "diff", "1", "1"], "Aucune différence"),
                           (["coverage", "--departement", "66", "--out", "/dev/null/none"], "")):
        code, out, err = run(argv, dep66_dir, store, capsys)
        assert code == (2 if argv[0] == "coverage" else 0) and expected in out, err
    assert "Impossible d'écrire dans le dossier /dev/null/none" in err   # the report, not the store, cannot be written
    assert files_under(tmp_path) == before


def test_history_of_hand_changed_texts(dep66_dir, store, capsys):
    """A date, author and comment changed by hand into numbers are shown as they are."""
    tampered(store, "UPDATE registry_versions SET saved = 20260101, author = 42, comment = 7")
    code, out, err = run(["registry", "history"], dep66_dir, store, capsys)
    assert code == 0 and "Version 1 — 1er janvier 2026, 01:00 — 42 — 1 CPTS — source : r.csv — « 7 »" in out, err


def test_help_and_usage_are_french(capsys):
    with pytest.raises(SystemExit) as done:
        main(["export", "--help"])
    assert done.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith("utilisation : python -m cpts_geo export [-h]")
    assert "\noptions :\n  -h, --help            afficher cette aide et quitter\n" in help_text
    assert not [word for word in ENGLISH if word in help_text.lower()]
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Erreur : argument(s) obligatoire(s) manquant(s) : COMMANDE\nutilisation : python -m "
                          "cpts_geo [-h] COMMANDE ...\n(aide : python -m cpts_geo --help)")


def test_texts_no_document_can_hold(dep66_dir, tmp_path):
    """--name and --postal with bytes that are not UTF-8, --auteur with U+FFFE, as a shell passes them: the documents
    are written without those characters (python-docx and openpyxl refuse them), the summary is printed."""
    env = {**os.environ, "CPTS_GEO_DATA": str(dep66_dir)}
    out_dir = tmp_path / "exports"
    exported = subprocess.run([sys.executable, "-m", "cpts_geo", "export", "--codes", "66028", "--format", "docx,xlsx",
                               "--out", str(out_dir), "--name", b"CPTS \xff\xfeTest", "--auteur",
                               "Maison\ufffe de sant\u00e9\U0010ffff", "--postal", b"66028=66\xff390\xef\xbf\xbe"],
                              capture_output=True, env=env, timeout=300)
    assert exported.returncode == 0, exported.stderr.decode()
    assert sorted(p.name for p in out_dir.iterdir()) == ["cpts_test_lettre.docx", "cpts_test_tableau.xlsx"]
    assert Document(out_dir / "cpts_test_lettre.docx").core_properties.author == "Maison de santé (cpts-geo)"
    workbook = openpyxl.load_workbook(out_dir / "cpts_test_tableau.xlsx")
    assert workbook.properties.creator == "Maison de santé (cpts-geo)"
    letter = Document(out_dir / "cpts_test_lettre.docx")
    assert "66390" in [cell.text for table in letter.tables for row in table.rows for cell in row.cells]  # not 66330
    summary = subprocess.run([sys.executable, "-m", "cpts_geo", "summary", "--codes", "66028", "--name",
                              b"CPTS \xc3Test"], capture_output=True, env=env, timeout=300)
    assert summary.returncode == 0 and summary.stdout.decode().startswith("Territoire CPTS Test : 1 communes"), \
        summary.stderr.decode()


def test_export_removes_what_a_killed_export_left(dep66_dir, store, tmp_path, capsys):
    """A staging folder with finished files left by an export killed (SIGKILL) more than an hour ago is removed by
    the next export; the one of an export running now, and a link of that name, are left alone."""
    out_dir = tmp_path / "exports"
    killed, running = out_dir / ".cpts_geo_tue", out_dir / ".cpts_geo_en_cours"
    for staging in (killed, running):
        staging.mkdir(parents=True)
        write(staging / "cpts_carte.pdf", b"%PDF-1.4 fini")
    two_hours_ago = time.time() - 7200
    os.utime(killed, (two_hours_ago, two_hours_ago))
    elsewhere = tmp_path / "ailleurs"
    elsewhere.mkdir()
    os.utime(write(elsewhere / "garder.txt", "à garder"), (two_hours_ago, two_hours_ago))
    os.utime(elsewhere, (two_hours_ago, two_hours_ago))
    (out_dir / ".cpts_geo_lien").symlink_to(elsewhere)
    code, _, err = run(["export", "--codes", "66028", "--format", "csv", "--out", str(out_dir)], dep66_dir, store,
                       capsys)
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == [".cpts_geo_en_cours", ".cpts_geo_lien", "cpts_tableau.csv"]
    assert (running / "cpts_carte.pdf").exists() and (elsewhere / "garder.txt").exists()


def test_registry_file_name_not_utf8_saved(dep66_dir, store, tmp_path):
    """A registry file whose name has bytes that are not UTF-8 is saved; the history names it with « � »."""
    path = write(Path(os.fsdecode(bytes(tmp_path / "registre") + b"\xff.csv")), SAVED.replace("Enregistrée", "Neuve"))
    env = {**os.environ, "CPTS_GEO_DATA": str(dep66_dir), "CPTS_GEO_STORE": str(store)}
    saved = subprocess.run([sys.executable, "-m", "cpts_geo", "coverage", "--registry", path, "--departement", "66",
                            "--save", "--out", tmp_path / "rapport"], capture_output=True, env=env, timeout=300)
    assert saved.returncode == 0, saved.stderr.decode()
    history = subprocess.run([sys.executable, "-m", "cpts_geo", "registry", "history"], capture_output=True, env=env,
                             text=True, timeout=300)
    assert history.returncode == 0 and "Version 2 — " in history.stdout, history.stderr
    assert "source : registre\ufffd.csv" in history.stdout


# ---- issue 21: bad inputs

def assert_refused(build, phrase: str, dep66_dir, store: Path, tmp_path: Path, capsys) -> None:
    """Run the case ``build(folder, bundle) → argv``: exit 2, a French message holding ``phrase`` (``{}``: the
    mirror built in the folder), no traceback, the store unchanged and no ``out`` folder written."""
    folder = tmp_path / "entree"
    folder.mkdir()
    argv = build(folder, dep66_dir)
    before = store.read_bytes()
    code, out, err = run(argv, dep66_dir, store, capsys)
    assert code == 2, (out, err)
    assert err.startswith("Erreur : ") and phrase.replace("{}", str(folder / "miroir")) in err, err
    assert "Traceback" not in err + out and len(err) < MAX_MESSAGE, err
    assert store.read_bytes() == before and not (folder / "out").exists()


def damaged_bundle(tmp: Path, bundle: Path, name: str, damage) -> Path:
    """A copy of ``bundle`` whose file ``name`` is replaced by ``damage(its bytes)``."""
    copy = Path(shutil.copytree(bundle, tmp / "bundle"))
    write(copy / name, damage((copy / name).read_bytes()))
    return copy


def zeroed_middle(data: bytes) -> bytes:
    """The data pages overwritten, the Parquet footer (schema) kept: the file opens, its columns do not."""
    return data[:100] + bytes(len(data) - 100 - 4000) + data[-4000:]


def mirror_copy(tmp: Path, changed: dict[str, object]) -> Path:
    """A mirror of ``../shared/data`` in ``tmp``: each file a link to the real one, except those of ``changed``
    (path → new bytes or text, a function of the real bytes, or None for absent)."""
    folder = tmp / "miroir"
    for source in DEFAULT_MIRROR.rglob("*"):
        name = source.relative_to(DEFAULT_MIRROR).as_posix()
        target = folder / name
        if source.is_dir() or (name in changed and changed[name] is None):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        if name not in changed:
            target.symlink_to(source)
        else:
            change = changed[name]
            write(target, change(source.read_bytes()) if callable(change) else change)
    return folder


def prepare_mirror(tmp: Path, changed: dict[str, object]) -> list[str]:
    return ["prepare", "--mirror", str(mirror_copy(tmp, changed)), "--departement", "66", "--out", str(tmp / "out")]


def mirror_with_iris(tmp: Path, make) -> list[str]:
    """``prepare`` on a mirror whose IRIS file is what ``make(its path)`` puts there."""
    argv = prepare_mirror(tmp, {IRIS_PARQUET: None, IRIS_GPKG: None})
    make(tmp / "miroir" / IRIS_PARQUET)
    return argv


def replaced_line(start: bytes, new: bytes):
    """Change the line of a CSV starting with ``start`` into ``new``."""
    return lambda data: b"\n".join(new if line.startswith(start) else line for line in data.split(b"\n"))


def renamed_header(old: bytes, new: bytes):
    return lambda data: data.replace(old, new, 1)


IRIS_PARQUET = "iris/contours_iris_2020_fxx.parquet"
IRIS_GPKG = "iris/contours_iris_2020_fxx.gpkg"
COMMUNES_CSV = "population/communes_population.csv"
PERPIGNAN_2023 = (b"66136,Perpignan,commune,,66,76,metro,200027183,CU Perpignan M\xc3\xa9diterran\xc3\xa9e "
                  b"M\xc3\xa9tropole,121875,119344,118032,119656,120996,")

#: name → (builder(tmp, bundle) → argv, key phrase of the French message), run as :data:`CASES`.
ISSUE_21_CASES = {
    # mirror of prepare
    "mirror_iris_truncated": (lambda t, b: prepare_mirror(t, {IRIS_PARQUET: lambda d: d[:100_000]}),
                              f"Fichier illisible dans le miroir de données : {{}}/{IRIS_PARQUET} ("),
    "mirror_iris_is_a_folder": (lambda t, b: mirror_with_iris(t, lambda path: path.mkdir()),
                                f"Fichier illisible dans le miroir de données : {{}}/{IRIS_PARQUET} ("),
    "mirror_iris_gpkg_garbage": (lambda t, b: prepare_mirror(t, {IRIS_PARQUET: None, IRIS_GPKG: b"SQLite? non" * 99}),
                                 f"/{IRIS_GPKG} (Le fichier contours_iris_2020_fxx.gpkg est refusé : son extension annonce un fichier GeoPackage, mais son contenu est d'un autre format"),
    "mirror_iris_without_field": (lambda t, b: mirror_with_iris(t, lambda path: gpd.read_file(
        DEFAULT_MIRROR / "iris/contours_iris_2020_dep66.geojson").drop(columns="NOM_IRIS").to_parquet(path)),
                                  "Champs absents de la couche IRIS : nom_iris"),
    "mirror_cog_truncated": (lambda t, b: prepare_mirror(t, {"reference/cog2026/communes.json": lambda d: d[:700]}),
                             "Fichier illisible dans le miroir de données : {}/reference/cog2026 ("),
    "mirror_overseas_not_geojson": (lambda t, b: prepare_mirror(t, {"overseas/communes-972-martinique.geojson":
                                                                    "<html>erreur 404</html>"}),
                                    "{}/overseas/communes-972-martinique.geojson (Le fichier"),
    "mirror_communes_without_columns": (lambda t, b: prepare_mirror(t, {COMMUNES_CSV: renamed_header(
        b",nom,type,", b",libelle,categorie,")}), f"Colonnes absentes de {{}}/{COMMUNES_CSV} : nom, type (colonnes lues"),
    "mirror_population_abc": (lambda t, b: prepare_mirror(t, {COMMUNES_CSV: replaced_line(
        b"66136,", PERPIGNAN_2023 + b"abc")}), "Valeurs non numériques dans la colonne population_2023 de "),
    "mirror_iris_population_abc": (lambda t, b: prepare_mirror(t, {"population/iris_population.csv": replaced_line(
        b"661360801,", b"661360801,66136,H,2020,2016,abc,520.04,430.83,457.67,430.1,321.37,232.11,False,x")}),
                                   "iris_population.csv (ligne 33234 : « abc »)"),
    "mirror_communes_binary": (lambda t, b: prepare_mirror(t, {COMMUNES_CSV: bytes(range(256)) * 4}),
                               "Fichier illisible dans le miroir de données"),
    "mirror_commune_twice": (lambda t, b: prepare_mirror(t, {COMMUNES_CSV: lambda d: d + PERPIGNAN_2023 + b"121000\n"}),
                             "Codes en double dans le fichier des communes (miroir local {}) : 66136 ;"),
    "bundle_iris_truncated": (lambda t, b: ["summary", "--codes", "66028", "--data", str(damaged_bundle(
        t, b, "iris_shapes/iris.parquet", lambda d: d[:len(d) // 2]))],
                              "Données préparées illisibles : relancez `python -m cpts_geo prepare` ("),
    "bundle_iris_garbage": (lambda t, b: ["summary", "--codes", "66028", "--data", str(damaged_bundle(
        t, b, "iris_shapes/iris.parquet", lambda d: b"\x13\x37" * 5000))], "iris.parquet manquant ou abîmé"),
    "bundle_iris_pages_zeroed": (lambda t, b: ["export", "--codes", "66028", "--format", "geojson", "--data",
                                               str(damaged_bundle(t, b, "iris_shapes/iris.parquet", zeroed_middle))],
                                 "Données préparées illisibles"),
    "bundle_communes_garbage": (lambda t, b: ["summary", "--codes", "66028", "--data", str(damaged_bundle(
        t, b, "population/communes.parquet", lambda d: b"PAR1 pas un parquet PAR1"))],
                                "communes.parquet manquant ou abîmé"),
    "registry_name_with_unquoted_separator": (lambda t, b: registry(semicolon_registry(t / "r.csv", [
        f"66{n:03d}" for n in range(1, 17)])), "Le fichier r.csv a des colonnes décalées : un nom de CPTS contient "
        "sans doute le séparateur sans guillemets (ligne 3 : « CPTS 02 » puis « Sud », ligne 4 : « CPTS 03 » puis "
        "« Sud »"),
    "postal_letters": (lambda t, b: ["summary", "--codes", "66136", "--postal", "66136=ABCDE"],
                       "Code postal refusé — 66136=ABCDE : le code postal doit avoir cinq chiffres."),
    "postal_commune_outside": (lambda t, b: ["export", "--codes", "66136", "--format", "csv", "--postal",
                                             "66028=66330"],
                               "66028=66330 : la commune 66028 n'est pas dans le territoire (communes : 66136)"),
    "postal_twice": (lambda t, b: ["summary", "--codes", "66136", "--postal", "66136=66000", "--postal", "66136=66100"],
                     "deux codes postaux pour la commune 66136 (66000 et 66100)"),
}


@pytest.mark.parametrize("name", list(ISSUE_21_CASES))
def test_issue_21_bad_input_is_a_french_message(name, dep66_dir, store, tmp_path, capsys):
    assert_refused(*ISSUE_21_CASES[name], dep66_dir, store, tmp_path, capsys)


def test_names_in_other_scripts_stay_apart(dep66_dir, store, tmp_path, capsys):
    """Three CPTS named in Greek and Chinese stay three CPTS (their letters are not dropped by the name key);
    an accent or the case of a Greek name still folds."""
    rows = "cpts;code_insee\nΚΠΤΣ Αθήνα;66028\nΚΠΤΣ ΑΘΗΝΑ;66186\nΚΠΤΣ Θεσσαλονίκη;66136\n社区卫生 佩皮尼昂;66189\n"
    code, out, err = run(["coverage", "--registry", str(write(tmp_path / "r.csv", rows)), "--departement", "66",
                          "--json"], dep66_dir, store, capsys)
    assert code == 0, err
    payload = json.loads(out)
    assert sorted((c["name"], c["pieces"]) for c in payload["cpts"]) == [
        ("ΚΠΤΣ Αθήνα", 1), ("ΚΠΤΣ Θεσσαλονίκη", 1), ("社区卫生 佩皮尼昂", 1)]
    assert payload["registry"]["notes"] == [
        "CPTS écrite de plusieurs façons, regroupée sous « ΚΠΤΣ Αθήνα » : « ΚΠΤΣ Αθήνα » (1 ligne(s)), "
        "« ΚΠΤΣ ΑΘΗΝΑ » (1 ligne(s))"]


def test_registry_of_an_empty_store_is_an_error(dep66_dir, store, capsys):
    """``coverage --drafts`` on a store without drafts (it holds only the saved registry) is not an empty coverage."""
    before = store.read_bytes()
    code, out, err = run(["coverage", "--drafts", "--departement", "66"], dep66_dir, store, capsys)
    assert code == 2 and not out, out
    assert err.startswith("Erreur : Aucune CPTS dans les brouillons enregistrés (0 territoire(s))"), err
    assert "Traceback" not in err and store.read_bytes() == before


def semicolon_registry(path: Path, codes: list[str]) -> Path:
    """16 CPTS, all but the first named with an unquoted ``;`` (« CPTS 02; Sud ») that shifts their code into the
    column « arrondissement », the row keeping its number of fields (its last ones empty)."""
    rows = [f"CPTS {n:02d};{code};;" if n == 1 else f"CPTS {n:02d}; Sud;{code};;" for n, code in enumerate(codes, 1)]
    return write(path, "cpts;code_insee;arrondissement;quartier\n" + "\n".join(rows) + "\n")


def half_outside_registry(path: Path, dep66) -> Path:
    """16 CPTS, 15 of them in the Aude, outside the bundle of the Pyrénées-Orientales: their rows are ignored."""
    codes = [sorted(dep66.iris_by_commune)[0], *(f"11{n:03d}" for n in range(1, 16))]
    return write(path, "cpts;code_insee\n" + "".join(f"CPTS {n:02d};{code}\n" for n, code in enumerate(codes, 1)))


def test_registry_with_ignored_rows_is_not_saved_unless_accepted(dep66, dep66_dir, store, tmp_path, capsys):
    path = half_outside_registry(tmp_path / "r.csv", dep66)
    before = store.read_bytes()
    code, out, err = run(registry(path), dep66_dir, store, capsys)
    assert code == 2 and "Traceback" not in err + out, err
    assert err.startswith("Erreur : r.csv : 15 ligne(s) ignorée(s) à la lecture (ligne 3, « CPTS 02 », 11001 : "
                          "département 11 absent des données préparées (préparées : 66), ligne 4, « CPTS 03 », "), err
    assert "… (15 en tout)). Le registre enregistré est inchangé : corrigez le fichier, ou relancez avec " \
           "--accepter-lignes-ignorees pour l'enregistrer sans elles." in err
    assert store.read_bytes() == before and not (store.parent / "rapport").exists()
    code, out, err = run([*registry(path), "--accepter-lignes-ignorees", "--json"], dep66_dir, store, capsys)
    assert code == 0, err
    assert store_module.open_store(store).load_all("registry") == {"CPTS 01": frozenset(dep66.iris_by_commune["66001"])}


def test_vue_ars_saves_ignored_rows_only_when_confirmed(dep66, dep66_dir, tmp_path, monkeypatch):
    """The page's save button stays disabled until the box accepting the ignored rows is ticked; drafts that do not
    exist are an error, not an empty map."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CPTS_GEO_DATA", str(dep66_dir))
    monkeypatch.setenv("CPTS_GEO_STORE", str(tmp_path / "drafts.sqlite"))
    page = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    page.switch_page("pages/2_Vue_ARS.py")
    page.query_params["dep"] = "66"
    page.run()
    page.radio(key="ars_source").set_value("Brouillons de l'application").run()   # none saved
    assert not page.exception and "Aucune CPTS dans les brouillons enregistrés" in page.error[0].value
    page.radio(key="ars_source").set_value("Fichier (CSV, GeoJSON, GeoPackage, Shapefile zippé)").run()
    data = half_outside_registry(tmp_path / "r.csv", dep66).read_bytes()
    page.get("file_uploader")[0].upload("r.csv", data, "text/csv").run()
    assert not page.exception and "15 ligne(s) ignorée(s)" in page.warning[0].value
    save = next(b for b in page.button if b.key == "ars_save")
    assert save.disabled
    stored = store_module.open_store(tmp_path / "drafts.sqlite")
    assert stored.load_all("registry") == {}
    next(c for c in page.checkbox if c.key.startswith("ars_accept_ignored_")).check().run()
    next(b for b in page.button if b.key == "ars_save").click().run()
    assert not page.exception and not page.error
    assert stored.load_all("registry") == {"CPTS 01": frozenset(dep66.iris_by_commune["66001"])}


def test_postal_code_unknown_for_its_commune_is_kept_with_a_warning(dep66_dir, store, capsys):
    code, out, err = run(["summary", "--codes", "66136,66186", "--postal", "66186=66000", "--postal", " 66136 = 66100",
                          "--json"], dep66_dir, store, capsys)
    assert code == 0, err
    assert err == ("Attention — 66000 n'est pas un code postal de Saint-Nazaire (66186) selon La Poste (codes connus : "
                   "66570) : vérifiez-le, il est repris tel quel.\n")
    payload = json.loads(out)
    assert payload["postal_codes"] == ["66000", "66100"] and payload["postal_codes_to_confirm"] == []


@pytest.mark.parametrize("text, line", [
    ("\n\ncpts;code_insee\n\nA;66028\n\nB;x;66136\n", "ligne 7 : 3 champs au lieu de 2"),
    ("cpts;code_insee\n\"A\nZ\";66028\n   \nB;x;66136;;;;;;;;;;\n", "ligne 5 : 13 champs au lieu de 2"),
    ("cpts;code_insee\nA;66028\n\n\"B;66136\nC;66186\n", "a un guillemet (\") ouvert ligne 4 et jamais fermé"),
])
def test_text_table_errors_name_the_line_of_the_file(text, line):
    """Blank lines and a quoted field over two lines do not shift the line named in the message."""
    with pytest.raises(InputError) as error:
        readers.read_text_table(text.encode(), label="le registre")
    assert line in str(error.value)


def test_ignored_rows_are_named_by_their_line_in_the_file(dep66):
    from cpts_geo.region.registry import read_registry_csv

    imported = read_registry_csv(dep66, b"cpts;code_insee\n\nA;66028\n\n\nB;99999\n\"C\nD\";66\n")
    assert imported.ignored[["line", "code"]].values.tolist() == [[6, "99999"], [7, "66"]]


# ---- issue 24: files

#: What a file of the server holds (as /etc/passwd, the store or the secrets would): never in any output.
SECRET = "SECRET-DU-SERVEUR"


def disguised_vrt(path: Path) -> Path:
    """An OGR VRT (XML) under the name ``path``, pointing at a file of the server beside it: GDAL opens a file by its
    content, so without the gate it read that file as perimeters named by its secret lines."""
    source = write(path.parent / "secret.csv", f'cpts,WKT\n{SECRET},"{PERPIGNAN.wkt}"\n')
    return write(path, f'<OGRVRTDataSource><OGRVRTLayer name="p"><SrcDataSource>{source}</SrcDataSource>'
                       '<SrcLayer>secret</SrcLayer><GeometryField encoding="WKT" field="WKT"/></OGRVRTLayer>'
                       '</OGRVRTDataSource>')


def linked_crs_json() -> str:
    """A GeoJSON whose crs is a link: GDAL downloads it (a request to any address the server reaches)."""
    collection = json.loads(perimeter_json())
    collection["crs"] = {"type": "link", "properties": {"href": "http://127.0.0.1:9/crs", "type": "proj4"}}
    return json.dumps(collection)


def attribute_table_gpkg(path: Path) -> Path:
    import pyogrio

    pyogrio.write_dataframe(pd.DataFrame({"cpts": ["CPTS Test"]}), path, driver="GPKG")
    return path


def coverage_json(path):
    return ["coverage", "--registry", str(path), "--departement", "66", "--json"]


def perimeter(path):
    return ["summary", "--perimeter", str(path)]


#: name → (builder(tmp, bundle) → argv, key phrase of the French message): files that reach beyond themselves
FILE_CASES = {
    "vrt_as_geojson_neighbours": (lambda t, b: neighbours(disguised_vrt(t / "v.geojson")),
                                  "extension annonce un fichier GeoJSON, mais son contenu est du XML"),
    "vrt_as_gpkg_registry": (lambda t, b: registry(disguised_vrt(t / "r.gpkg")),
                             "extension annonce un fichier GeoPackage, mais son contenu est du XML"),
    "vrt_as_shp_in_zip_neighbours": (lambda t, b: neighbours(write_zip(t / "v.zip", {"v.shp": disguised_vrt(
        t / "v.shp").read_text()})), "v.shp est refusé : son extension annonce un fichier Shapefile"),
    "vrt_as_json_coverage_json": (lambda t, b: coverage_json(disguised_vrt(t / "r.json")),
                                  "extension annonce un fichier GeoJSON, mais son contenu est du XML"),
    "vrt_as_fgb_registry": (lambda t, b: registry(disguised_vrt(t / "r.fgb")), "annonce un fichier FlatGeobuf"),
    "vrt_as_geojson_perimeter": (lambda t, b: perimeter(disguised_vrt(t / "p.geojson")),
                                 "extension annonce un fichier GeoJSON, mais son contenu est du XML"),
    "vrt_as_gpkg_perimeter": (lambda t, b: perimeter(disguised_vrt(t / "p.gpkg")), "annonce un fichier GeoPackage"),
    "gpkg_as_geojson": (lambda t, b: neighbours(write(t / "v.geojson", two_layer_gpkg(t / "x.gpkg").read_bytes())),
                        "son contenu est celui d'un fichier GeoPackage"),
    "geojson_linked_crs": (lambda t, b: registry(write(t / "r.geojson", linked_crs_json())),
                           "système de coordonnées (« crs ») est un lien"),
    "vsi_path_neighbours": (lambda t, b: neighbours("/vsicurl/http://127.0.0.1:9/v.geojson"), "chemin virtuel de GDAL"),
    "vsi_path_perimeter": (lambda t, b: perimeter("/vsizip//tmp/p.zip/p.geojson"), "chemin virtuel de GDAL"),
    "perimeter_missing_file": (lambda t, b: perimeter(t / "absent.geojson"), "Fichier introuvable"),
    "perimeter_fifo": (lambda t, b: perimeter(fifo(t / "p.geojson")), "pas un fichier ordinaire"),
    "gpkg_attribute_table_registry": (lambda t, b: registry(attribute_table_gpkg(t / "r.gpkg")),
                                      "aucune couche géographique (seulement des tables sans géométrie"),
    "gpkg_attribute_table_perimeter": (lambda t, b: perimeter(attribute_table_gpkg(t / "p.gpkg")),
                                       "n'a pas de couche « iris »"),
}


def test_the_disguised_vrt_reads_a_file_of_the_server_without_the_gate(tmp_path):
    """What the gate stops: GDAL alone opens the VRT by its content and reads the file it points at."""
    import pyogrio

    for name in ("v.geojson", "v.gpkg"):
        assert pyogrio.read_dataframe(disguised_vrt(tmp_path / name))["cpts"].tolist() == [SECRET]


@pytest.mark.parametrize("name", list(FILE_CASES))
def test_file_reaching_beyond_itself_is_refused(name, dep66_dir, store, tmp_path, capsys):
    build, phrase = FILE_CASES[name]
    folder = tmp_path / "entree"
    folder.mkdir()
    before = store.read_bytes()
    code, out, err = run(build(folder, dep66_dir), dep66_dir, store, capsys)
    assert code == 2, (out, err)
    assert err.startswith("Erreur : ") and phrase in err, err
    assert "Traceback" not in err + out and SECRET not in err + out
    assert store.read_bytes() == before


def test_uploads_never_use_the_client_name_as_a_path(dep66, tmp_path):
    """The bytes of an upload are read from a file named by us: a client's name with « .. » or an absolute path
    writes nothing there, and only names the file in messages."""
    from cpts_geo.region.perimeters import read_neighbours

    outside = tmp_path / "ailleurs" / "voisines.csv"
    outside.parent.mkdir()
    for filename in (str(outside), "../../../../" + str(outside), "..\\..\\voisines.csv"):
        report = read_neighbours(dep66, b"cpts;code\nCPTS Sud;66028\n", filename)
        assert report.cpts["CPTS Sud"] == frozenset(dep66.iris_by_commune["66028"])
        assert report.source == "voisines.csv"
    assert not outside.exists() and list(outside.parent.iterdir()) == []


@pytest.mark.parametrize("filename", ["voisines.geojson", "voisines.json", "../../voisines.gpkg"])
def test_vrt_uploaded_as_neighbours_or_registry_is_refused(dep66, tmp_path, filename):
    """``read_neighbours`` (drawing page) and ``read_registry_upload`` (« Vue ARS ») take the bytes of a disguised
    VRT: a French refusal naming the client's file and the mismatch, nothing of the file it points at."""
    from cpts_geo.region.perimeters import read_neighbours
    from cpts_geo.region.registry import read_registry_upload

    data = disguised_vrt(tmp_path / "v.xml").read_bytes()
    for reader in (read_neighbours, read_registry_upload):
        with pytest.raises(InputError) as refused:
            reader(dep66, data, filename)
        message = str(refused.value)
        assert "« voisines." in message and "son contenu est du XML" in message and "upload" not in message
        assert SECRET not in message


def test_perimeter_covering_the_whole_world_covers_every_iris(dep66, tmp_path):
    """A box of -180..180, -90..90 (EPSG:4326) cannot be projected to Lambert-93 whole: it covered no IRIS."""
    from cpts_geo.region.registry import read_registry

    world = write(tmp_path / "monde.geojson", perimeter_json(["Monde"], box(-180, -90, 180, 90)))
    imported = read_registry(dep66, world)
    assert imported.cpts == {"Monde": frozenset(dep66.iris.index)} and imported.ok
    assert len(imported.cpts["Monde"]) == len(dep66.iris) > 300


def test_link_of_too_many_codes_is_not_opened(dep66):
    from cpts_geo.web.session import MAX_LINK_CODES, DrawingSession

    session = DrawingSession(dep66)
    warnings = session.open_query({"zones": ",".join(["66028"] * 20_000), "nom": "Trop"})
    assert warnings == ["Lien trop long : 20\u202f000 codes de zones (au plus 2\u202f000) ; sa sélection n'est pas "
                        "ouverte. Pour un grand territoire, importez la liste des codes (fichier CSV ou TXT)."]
    assert session.selection == frozenset() and MAX_LINK_CODES == 2_000
    assert DrawingSession(dep66).open_query({"zones": ",".join(["66028"] * MAX_LINK_CODES)}) == []


@pytest.mark.parametrize("name", ['CPTS: Sud "2025".gpkg', "CPTS: Sud.geojson", "CPTS: Sud.fgb", "CPTS Sud.parquet"])
def test_true_files_pass_the_gate_whatever_their_name(dep66_dir, store, tmp_path, capsys, name):
    """Every format read is still read, forced to its own driver, even named with a colon (which ends a name after
    ``GPKG:``) or quotes: the neighbouring CPTS covers Perpignan."""
    path = tmp_path / name
    if path.suffix == ".parquet":
        perimeters().to_parquet(path)
    else:
        perimeters().to_file(path, engine="pyogrio")
    code, out, err = run(["summary", "--codes", "66136", "--other-cpts", str(path), "--json"], dep66_dir, store, capsys)
    assert code == 0, err
    assert "CPTS Test" in out and "chevauch" in out.lower()


LINK = '{"type": "link", "properties": {"href": "http://127.0.0.1:9/crs"}}'
FEATURE = ('{"type": "Feature", "properties": {"cpts": "A"}, '
           '"geometry": {"type": "Point", "coordinates": [2.9, 42.7]%s}}')


@pytest.mark.parametrize("text", [
    '{"type": "FeatureCollection", "crs": %s, "features": [%s]}' % (LINK, FEATURE % ""),
    '{"type": "FeatureCollection", "features": [%s], "CRS" : %s}' % (FEATURE % "", LINK),
    '{"type": "FeatureCollection", "features": [%s]}' % (FEATURE % f', "crs": {LINK}'),
    '{"type": "FeatureCollection", "\\u0063R\\u0053": {"TYPE": "URL", "properties": {"url": "http://x/"}}, '
    '"features": [%s]}' % (FEATURE % ""),
], ids=["collection", "last", "geometry", "escaped"])
def test_geojson_crs_link_is_refused_wherever_it_is(tmp_path, text):
    """GDAL downloads a ``crs`` of type link or url, of the collection or of a geometry, its name in any case or
    escaped: refused before GDAL opens the file."""
    with pytest.raises(InputError, match="est un lien"):
        readers.read_vector_file(write(tmp_path / "p.geojson", text))


def test_geojson_crs_by_name_is_read(dep66, tmp_path):
    """A GeoJSON in Lambert-93 named by its crs (as QGIS writes it) is still read in its system."""
    from cpts_geo.region.registry import read_registry

    lambert = json.loads(gpd.GeoDataFrame({"cpts": ["CPTS Lambert"]}, geometry=[PERPIGNAN], crs="EPSG:4326")
                         .to_crs(2154).to_json())
    lambert["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::2154"}}
    imported = read_registry(dep66, write(tmp_path / "p.geojson", json.dumps(lambert)))
    assert len(imported.cpts["CPTS Lambert"]) > 10


def test_trusted_sources_go_through_the_same_gate(tmp_path):
    """The mirror's overseas communes and the official IGN archives are read by the same gate: a VRT among them is
    refused, not followed."""
    from cpts_geo.data.sources.mirror import read_overseas_communes
    from cpts_geo.data.sources.official import read_iris_layers

    (tmp_path / "overseas").mkdir()
    disguised_vrt(tmp_path / "overseas" / "communes-971.geojson")
    with pytest.raises(CptsGeoError, match="communes-971.geojson est refusé.*contenu est du XML"):
        read_overseas_communes(tmp_path)
    archive = seven_zip(tmp_path / "CONTOURS-IRIS_3-0__GPKG_LAMB93_FXX_2024-01-01.7z",
                        {"CONTOURS-IRIS/iris.gpkg": disguised_vrt(tmp_path / "iris.xml").read_text()})
    with pytest.raises(InputError, match="iris.gpkg est refusé : son extension annonce un fichier GeoPackage"):
        read_iris_layers([archive])
