"""Shared fixtures: bundles prepared once per test session from the real data in ../shared/data; a PostgreSQL/PostGIS
database (DSN in ``$CPTS_GEO_TEST_PG``, e.g. from scripts/ci_postgres.sh): tests using it are skipped without a
reachable server, unless ``$CPTS_GEO_REQUIRE_PG=1`` (CI), where they fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import openpyxl
import psycopg
import pytest

from cpts_geo.data.bundle import Bundle
from cpts_geo.data.codes import resolve_codes
from cpts_geo.config import DEFAULT_MIRROR
from cpts_geo.region.coverage import CoverageReport, area_of, coverage_report
from cpts_geo.data.prepare import prepare_bundle
from cpts_geo.region.registry import read_registry
from cpts_geo.data.sources.mirror import read_mirror
from cpts_geo.territory.model import Territory

#: The perimeter of the foundation issue (a real lettre d'intention around Perpignan).
RUSCINO_CODES = ["660280101", "660280102", "660280103", "660280104",
                 "661360801", "661360901", "661360902", "661361001", "661361101",
                 "661361202", "661361203", "661361901", "661361902", "661361903",
                 "66186", "66189"]
#: The example registry of the Pyrénées-Orientales and the Aude (docs/registry_example).
EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "registry_example" / "registre_cpts_66_11.csv"


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's Chromium for the browser tests: skipped without it, unless ``$CPTS_GEO_REQUIRE_BROWSER=1``
    (CI, which installs it), where they fail."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CPTS_GEO_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium required (CPTS_GEO_REQUIRE_BROWSER=1) but not found: apt-get install chromium")
        pytest.skip("needs Chromium (apt-get install chromium)")
    return path


@pytest.fixture(scope="session")
def mirror_tables():
    if not DEFAULT_MIRROR.exists():
        pytest.fail(f"Real data not found at {DEFAULT_MIRROR} (../shared/data beside the project)")
    return read_mirror(DEFAULT_MIRROR)


@pytest.fixture(scope="session")
def france_dir(mirror_tables, tmp_path_factory) -> Path:
    """Bundle of all metropolitan France (about 25 s to build)."""
    out = tmp_path_factory.mktemp("bundle_fr")
    prepare_bundle(mirror_tables, out, progress=False)
    return out


@pytest.fixture(scope="session")
def france(france_dir) -> Bundle:
    return Bundle.load(france_dir)


@pytest.fixture(scope="session")
def dep66_dir(mirror_tables, tmp_path_factory) -> Path:
    """Bundle of Pyrénées-Orientales only (the app's default area)."""
    out = tmp_path_factory.mktemp("bundle_66")
    prepare_bundle(mirror_tables, out, departement="66", progress=False)
    return out


@pytest.fixture(scope="session")
def dep66(dep66_dir) -> Bundle:
    return Bundle.load(dep66_dir)


@pytest.fixture(scope="session")
def ruscino(france) -> Territory:
    return Territory(resolve_codes(france, RUSCINO_CODES).iris, "CPTS Ruscino")


@pytest.fixture(scope="session")
def example(france) -> dict[str, frozenset[str]]:
    """The CPTS of the example registry (name → IRIS codes)."""
    return read_registry(france, EXAMPLE).cpts


@pytest.fixture(scope="session")
def report_66(france, example) -> CoverageReport:
    """The coverage of the Pyrénées-Orientales by the example registry."""
    return coverage_report(france, example, area_of(france, "76", "66"))


def _unavailable(reason: str):
    if os.environ.get("CPTS_GEO_REQUIRE_PG") == "1":
        pytest.fail(f"PostgreSQL required (CPTS_GEO_REQUIRE_PG=1) but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server() -> str:
    """The DSN of the test database (see the module docstring)."""
    dsn = os.environ.get("CPTS_GEO_TEST_PG")
    if not dsn:
        _unavailable("CPTS_GEO_TEST_PG is not set (run scripts/ci_postgres.sh)")
    try:
        with psycopg.connect(dsn, connect_timeout=5):
            pass
    except psycopg.OperationalError as err:
        _unavailable(f"{dsn} is unreachable: {err}")
    return dsn


@pytest.fixture
def pg_url(server) -> str:
    """A URL whose tables live in a schema of their own, dropped after the test."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server else "?"
    yield f"{server}{separator}options=-csearch_path%3D{schema},public"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="session")
def libreoffice(tmp_path_factory):
    """``convert(path, fmt, infilter=None)``: the file converted by LibreOffice (headless, its own profile), as a
    reader's office suite opens it (``pdftotext`` reads the PDFs). Skipped without them, unless ``$CPTS_GEO_REQUIRE_LIBREOFFICE=1`` (CI),
    where it fails."""
    binary = shutil.which("libreoffice") or shutil.which("soffice")
    if binary is None or shutil.which("pdftotext") is None:
        reason = ("LibreOffice or pdftotext absent (apt-get install -y libreoffice-calc-nogui "
                  "libreoffice-writer-nogui poppler-utils)")
        if os.environ.get("CPTS_GEO_REQUIRE_LIBREOFFICE") == "1":
            pytest.fail(f"LibreOffice required (CPTS_GEO_REQUIRE_LIBREOFFICE=1) but {reason}")
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("libreoffice_profile")

    def convert(source: Path, fmt: str, infilter: str | None = None) -> Path:
        subprocess.run([binary, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", fmt,
                        *([f"--infilter={infilter}"] if infilter else []), "--outdir", str(source.parent),
                        str(source)], check=True, capture_output=True, timeout=300)
        return source.with_suffix("." + fmt.split(":")[0])

    return convert


#: how LibreOffice Calc opens a CSV of the tool in French: « ; », « " », UTF-8, from line 1, language French
FRENCH_CSV = "CSV:59,34,76,1,,1036"


def calc_rows(libreoffice, path: Path) -> list[tuple]:
    """The cells of a CSV as LibreOffice Calc reads it in French (numbers as numbers, texts as texts)."""
    return list(openpyxl.load_workbook(libreoffice(path, "xlsx", FRENCH_CSV)).active.iter_rows(values_only=True))


def pdf_layout_text(path: Path) -> str:
    """The text of a PDF laid out as on its pages (``pdftotext -layout``): a word cut over two lines shows cut."""
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
