"""scripts/serve.sh, the start of a shared server: several app processes on one PostgreSQL store, their nginx
configuration, and the French refusals of a start that cannot work. Needs PostgreSQL as tests/test_store_postgres.py
(required in CI); ports 8621-8624."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_store_postgres import pg_url, server  # noqa: F401  (fixtures)

SERVE = Path(__file__).resolve().parent.parent / "scripts" / "serve.sh"
FIRST_PORT = 8621


def serve(args, env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([str(SERVE), *args], env={**os.environ, "CPTS_GEO_PYTHON": sys.executable, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            **kwargs)


def health(port: int) -> str | None:
    """What Streamlit's health endpoint of a process answers, or None when nothing listens."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
            return response.read().decode()
    except OSError:
        return None


def test_two_processes_on_one_postgresql_store(pg_url, dep66_dir, tmp_path):  # noqa: F811
    nginx = tmp_path / "cpts-geo.conf"
    process = serve(["--processes", "2", "--port", str(FIRST_PORT), "--nginx", str(nginx),
                     "--server-name", "cpts.example.fr"], {"CPTS_GEO_STORE": pg_url, "CPTS_GEO_DATA": str(dep66_dir)})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None and not all(
                health(port) == "ok" for port in (FIRST_PORT, FIRST_PORT + 1)):
            time.sleep(0.5)
        assert process.poll() is None, process.communicate()
        assert [health(port) for port in (FIRST_PORT, FIRST_PORT + 1)] == ["ok", "ok"]
        streamlit = subprocess.run(["pgrep", "-s", str(process.pid), "-f", "streamlit run app.py"],
                                   capture_output=True, text=True).stdout.split()
        assert len(streamlit) == 2
        flags = Path(f"/proc/{streamlit[0]}/cmdline").read_text().split("\0")
        for flag, value in (("--server.headless", "true"), ("--server.fileWatcherType", "none"),
                            ("--server.runOnSave", "false"), ("--server.enableXsrfProtection", "true")):
            assert flags[flags.index(flag) + 1] == value
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert health(FIRST_PORT) is None and health(FIRST_PORT + 1) is None      # both stopped with the script
    assert "processus 2/2" in err
    config = nginx.read_text()
    assert f"server 127.0.0.1:{FIRST_PORT};\n    server 127.0.0.1:{FIRST_PORT + 1};" in config
    assert "hash $cpts_geo_route consistent;" in config and "proxy_set_header Upgrade $http_upgrade;" in config
    assert "server_name cpts.example.fr;" in config


def test_one_process_stopping_stops_the_others(pg_url, dep66_dir):  # noqa: F811
    process = serve(["--processes", "2", "--port", str(FIRST_PORT + 2)],
                    {"CPTS_GEO_STORE": pg_url, "CPTS_GEO_DATA": str(dep66_dir)})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and health(FIRST_PORT + 3) != "ok":
            time.sleep(0.5)
        first = subprocess.run(["pgrep", "-s", str(process.pid), "-f", f"server.port {FIRST_PORT + 2} "],
                               capture_output=True, text=True).stdout.split()
        assert len(first) == 1
        os.kill(int(first[0]), signal.SIGKILL)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
    assert process.returncode != 0 and "un processus s'est arrêté" in err
    assert health(FIRST_PORT + 3) is None


@pytest.mark.parametrize("args, store, message", [
    (["--processes", "2"], "/var/lib/cpts/territoires.sqlite", "2 processus doivent partager une base PostgreSQL"),
    (["--processes", "2"], None, "CPTS_GEO_STORE n'est pas défini"),
    (["--processes", "deux"], "postgresql://h/b", "--processes attend un nombre de processus de 1 à 99"),
    (["--port", "80"], "postgresql://h/b", "--port attend le premier port"),
    (["--workers", "2"], "postgresql://h/b", "option inconnue « --workers »"),
    ([], "mysql://u@h/base", "Base des territoires non reconnue : adresse « mysql://… »"),
])
def test_start_that_cannot_work_is_refused_in_french(args, store, message, dep66_dir):
    env = {"CPTS_GEO_DATA": str(dep66_dir), "CPTS_GEO_STORE": store or ""}
    process = serve([*args, "--port", str(FIRST_PORT)] if "--port" not in args else args, env)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 2 and message in err and "Traceback" not in err, err
    assert health(FIRST_PORT) is None
