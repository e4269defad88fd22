"""scripts/serve.sh, the start of a shared server: several app processes on one PostgreSQL store, their nginx
configuration, and the French refusals of a start that cannot work. Needs PostgreSQL (the ``pg_url`` fixture of
tests/conftest.py, required in CI) and, for the proxy, nginx; ports 8621-8625."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from websockets.sync.client import connect

SERVE = Path(__file__).resolve().parent.parent / "scripts" / "serve.sh"
FIRST_PORT = 8621
PROXY_PORT = 8625


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


@contextmanager
def two_processes(store: str, data: Path, *args):
    """``serve.sh --processes 2`` running until both processes answer; stopped (TERM) at the end. Yields the script's
    process; its ``stderr_text`` is set when it has stopped."""
    process = serve(["--processes", "2", "--port", str(FIRST_PORT), *args],
                    {"CPTS_GEO_STORE": store, "CPTS_GEO_DATA": str(data)})
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None and not all(
                health(port) == "ok" for port in (FIRST_PORT, FIRST_PORT + 1)):
            time.sleep(0.5)
        assert process.poll() is None, process.communicate()
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.stderr_text = process.communicate(timeout=60)[1]
    assert process.returncode == 0, process.stderr_text
    assert health(FIRST_PORT) is None and health(FIRST_PORT + 1) is None      # both stopped with the script


def test_two_processes_on_one_postgresql_store(pg_url, dep66_dir, tmp_path):
    nginx = tmp_path / "cpts-geo.conf"
    with two_processes(pg_url, dep66_dir, "--nginx", str(nginx), "--server-name", "cpts.example.fr") as process:
        assert [health(port) for port in (FIRST_PORT, FIRST_PORT + 1)] == ["ok", "ok"]
        streamlit = subprocess.run(["pgrep", "-s", str(process.pid), "-f", "cpts_geo.web.server --server"],
                                   capture_output=True, text=True).stdout.split()
        assert len(streamlit) == 2
        flags = Path(f"/proc/{streamlit[0]}/cmdline").read_text().split("\0")
        for flag, value in (("--server.headless", "true"), ("--server.fileWatcherType", "none"),
                            ("--server.runOnSave", "false"), ("--server.enableXsrfProtection", "true"),
                            ("--client.showErrorDetails", "none")):
            assert flags[flags.index(flag) + 1] == value
    assert "processus 2/2" in process.stderr_text
    config = nginx.read_text()
    assert f"server 127.0.0.1:{FIRST_PORT};\n    server 127.0.0.1:{FIRST_PORT + 1};" in config
    assert "hash $cpts_geo_route consistent;" in config and "proxy_set_header Upgrade $http_upgrade;" in config
    assert "server_name cpts.example.fr;" in config and "listen 443 ssl;" in config
    assert "ssl_certificate /etc/ssl/certs/cpts-geo.pem;" in config and "Secure; HttpOnly" in config


def request(path: str, cookie: str | None = None) -> tuple[str, str]:
    """The body of a request through the proxy and the route cookie it sets."""
    headers = {"Cookie": f"cpts_geo_route={cookie}"} if cookie else {}
    with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{PROXY_PORT}{path}", headers=headers),
                                timeout=5) as response:
        (route,) = [found[1] for cookie in response.headers.get_all("Set-Cookie")
                    if (found := re.match(r"cpts_geo_route=([^;]+);", cookie))]
        return response.read().decode(), route


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (.ci/run installs nginx-light)")
def test_nginx_keeps_a_visitor_on_one_process(pg_url, dep66_dir, tmp_path):
    """The generated configuration in a real nginx: health through the proxy; a visitor's requests all go to the
    process of his cookie, visitors are spread over both processes (read in nginx's log of upstreams)."""
    site = tmp_path / "site.conf"
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ log_format upstream '$cookie_cpts_geo_route $upstream_addr';"
        f" access_log {tmp_path}/access.log upstream; client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};"
        f" include {site}; }}\n")
    with two_processes(pg_url, dep66_dir, "--nginx", str(site), "--listen", str(PROXY_PORT)):
        proxy = subprocess.Popen(["nginx", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                                 stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and proxy.poll() is None:
                try:
                    page, first_route = request("/")
                    break
                except OSError:
                    time.sleep(0.2)
            assert proxy.poll() is None, proxy.communicate()
            assert "<title>Streamlit</title>" in page or "<!doctype html>" in page.lower()
            visitors = [request("/", route)[1] for route in [first_route, *[f"visiteur{n}" for n in range(12)]]]
            assert visitors[0] == first_route and visitors[1:] == [f"visiteur{n}" for n in range(12)]
            for route in visitors:
                assert request("/_stcore/health", route) == ("ok", route)
                assert request("/_stcore/health", route) == ("ok", route)
            with connect(f"ws://127.0.0.1:{PROXY_PORT}/_stcore/stream", subprotocols=["streamlit"], open_timeout=10,
                         additional_headers={"Cookie": f"cpts_geo_route={first_route}"}) as websocket:
                assert websocket.subprotocol == "streamlit"          # Streamlit's websocket through the proxy
        finally:
            proxy.terminate()
            proxy.communicate(timeout=30)
    by_visitor: dict[str, set[str]] = {}
    for line in (tmp_path / "access.log").read_text().splitlines():
        cookie, upstream = line.split(" ", 1)
        if cookie != "-":
            by_visitor.setdefault(cookie, set()).add(upstream)
    assert set(by_visitor) == set(visitors) and len(by_visitor[first_route]) == 1     # the websocket too
    assert all(len(upstreams) == 1 for upstreams in by_visitor.values()), by_visitor          # sticky
    assert set().union(*by_visitor.values()) == {f"127.0.0.1:{FIRST_PORT}", f"127.0.0.1:{FIRST_PORT + 1}"}


def test_one_process_stopping_stops_the_others(pg_url, dep66_dir):
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
