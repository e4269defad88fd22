"""The app's Streamlit server and headless Chromium, driven through the DevTools protocol: what the scripts and
benchmarks run by hand share (``scripts/screenshot.py``, ``bench/bench_browser_clicks.py``, ``bench/bench_load.py``).
Chromium is Debian's ``chromium``; everything stays on this machine but the map's background tiles (see
:data:`LOCALHOST_ONLY` to block them too)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]
#: Chromium resolves no host name but localhost: no request leaves the machine (the tiles fail, as on a closed
#: network), without pausing every request through DevTools as ``Fetch`` does.
LOCALHOST_ONLY = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"
WINDOW = (1600, 1150)
#: Hosts a closed network reaches (``--offline``): the app only.
LOCAL_HOSTS = ("127.0.0.1", "localhost")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


@contextlib.contextmanager
def app_server(env: dict | None = None, port: int | None = None, timeout: float = 120, args=()):
    """``streamlit run app.py`` through :mod:`cpts_geo.web.server` (data loaded first; headless, with the environment
    ``env`` added and Streamlit's options ``args``) until it answers; yields ``(port, process)`` and stops it after."""
    port = port or free_port()
    app = subprocess.Popen([sys.executable, "-m", "cpts_geo.web.server", "--server.headless",
                            "true", "--server.port", str(port), "--browser.gatherUsageStats", "false", *args],
                           cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/_stcore/health", timeout)
        yield port, app
    finally:
        app.terminate()
        app.wait(10)


@contextlib.contextmanager
def chromium(window: tuple[int, int] = WINDOW, flags=(), debug_port: int | None = None):
    """Headless Chromium on a blank page, with a fresh profile; yields its DevTools port (``debug_port``, else a free
    one) and stops it after."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        sys.exit("Chromium not found: apt-get install -y chromium")
    debug_port, profile = debug_port or free_port(), tempfile.mkdtemp(prefix="cpts-geo-chromium-")
    browser = subprocess.Popen([executable, *CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}",
                                f"--remote-debugging-port={debug_port}", f"--window-size={window[0]},{window[1]}",
                                "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{debug_port}/json/version", 30)
        yield debug_port
    finally:
        browser.terminate()
        browser.wait(10)
        shutil.rmtree(profile, ignore_errors=True)


def page_targets(debug_port: int) -> list[str]:
    """The DevTools websocket addresses of the browser's pages."""
    targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json").read())
    return [target["webSocketDebuggerUrl"] for target in targets if target["type"] == "page"]


def new_page(debug_port: int) -> str:
    """Open a blank page (tab) in the browser; returns its DevTools websocket address."""
    request = urllib.request.Request(f"http://127.0.0.1:{debug_port}/json/new?about:blank", method="PUT")
    return json.loads(urllib.request.urlopen(request).read())["webSocketDebuggerUrl"]


def close_page(debug_port: int, page: str) -> None:
    """Close the page (tab) of DevTools websocket address ``page``: it leaves the site it showed."""
    urllib.request.urlopen(f"http://127.0.0.1:{debug_port}/json/close/{page.rsplit('/', 1)[-1]}").read()


class DevTools:
    """Minimal Chrome DevTools Protocol client over one page's websocket.

    Responses resolve the pending calls; ``Fetch.requestPaused`` events go to :meth:`serve_offline`.
    """

    def __init__(self, connection):
        self.connection = connection
        self.next_id = 0
        self.pending: dict[int, asyncio.Future] = {}
        self.reader = asyncio.create_task(self._read())
        self.blocked: set[str] = set()

    async def _read(self) -> None:
        async for raw in self.connection:
            message = json.loads(raw)
            if "id" in message and message["id"] in self.pending:
                self.pending.pop(message["id"]).set_result(message)
            elif message.get("method") == "Fetch.requestPaused":
                asyncio.create_task(self.serve_offline(message["params"]))

    async def call(self, method: str, **params) -> dict:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.connection.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        message = await future
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message["result"]

    async def serve_offline(self, request: dict) -> None:
        """A closed network: requests to the app go through, any other fails (its host is kept in ``blocked``)."""
        host = urlsplit(request["request"]["url"]).hostname or ""
        if host in LOCAL_HOSTS or request["request"]["url"].startswith(("data:", "blob:")):
            await self.call("Fetch.continueRequest", requestId=request["requestId"])
            return
        self.blocked.add(host)
        await self.call("Fetch.failRequest", requestId=request["requestId"], errorReason="InternetDisconnected")


async def evaluate(devtools: DevTools, expression: str):
    return (await devtools.call("Runtime.evaluate", expression=expression, returnByValue=True))["result"].get("value")
