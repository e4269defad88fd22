"""Malformed and hostile inputs on the command line: a French message, exit code 2, no traceback, store unchanged.

Every case of :data:`CASES` builds its files in a temporary folder and runs ``cpts_geo.cli.main``
in-process with a seeded store (``CPTS_GEO_STORE`` and, for ``coverage``, ``--save --db``), then
checks the message, the exit code, the absence of a traceback and the store file's bytes.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import py7zr
import pytest
from docx import Document
from shapely.geometry import Point, box

from cpts_geo import store as store_module
from cpts_geo.cli import main
from cpts_geo.errors import InputError
from cpts_geo.sources import readers
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
    "zip_corrupt": (lambda t, b: registry(write(t / "r.zip", b"PK\x03\x04" + b"\x13" * 500)), "illisible"),
    "zip_truncated": (lambda t, b: registry(write(t / "r.zip", write_zip(
        t / "full.zip", {"p.geojson": perimeter_json()}).read_bytes()[:200])), "illisible"),
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
    "7z_corrupt": (lambda t, b: registry(write(t / "r.7z", b"7z\xbc\xaf\x27\x1c" + b"\x00" * 200)), "illisible"),
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
    if argv[0] != "prepare" and "--data" not in argv:
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
    build, phrase = CASES[name]
    folder = tmp_path / "entree"
    folder.mkdir()
    argv = build(folder, dep66_dir)
    before = store.read_bytes()
    code, out, err = run(argv, dep66_dir, store, capsys)
    assert code == 2, (out, err)
    assert err.startswith("Erreur : ") and phrase in err, err
    assert "Traceback" not in err + out and len(err) < MAX_MESSAGE, err
    assert store.read_bytes() == before


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
    from cpts_geo.sources.official import read_iris_population

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
    from cpts_geo.registry import read_registry

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
    from cpts_geo.store import open_store

    assert "CPTS Cloche" in open_store(store).load_all("registry")


def test_failed_report_leaves_no_truncated_file(dep66_dir, store, tmp_path, capsys, monkeypatch):
    """A failure while writing the files leaves neither a partial workbook nor a changed registry."""
    from cpts_geo import output

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
    from cpts_geo.letter import COLUMNS
    from cpts_geo.territory import Territory, summarize

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
