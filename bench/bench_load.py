"""Load benchmark: many users at once on one app server, in headless Chromium (run by hand, not a test).

    python bench/bench_load.py [--sessions 1 5 10 20] [--clicks 10] [--think 2 5] [--port 8661] [--data DIR]

For each number N of ``--sessions``, starts one ``streamlit run app.py`` (headless, on ``--port``) and one headless
Chromium holding N tabs (scripts/headless.py; no request leaves the machine: the map's tiles fail as on a closed
network). Every tab opens the Ruscino link (``?zones=…``), the first alone (the server loads its data), the N - 1
others at once; then each clicks ``--clicks`` IRIS of the map in view, in its own random order, waiting
``--think`` seconds (uniform) between clicks, as users do. Each click is watched in its page
(bench/bench_browser_clicks.py: colour of the zone, whole panel re-run). Prints one JSON line per N:

* ``panel_median_ms``, ``panel_p95_ms``, ``panel_worst_ms``: from the mouse press to the panel updated;
* ``lost_clicks``: clicks whose IRIS count did not change by one within 30 s; ``page_errors``: tracebacks shown
  in a page; ``failed_sessions``: tabs that did not open or broke off;
* ``open_s``: time for the N - 1 sessions after the first to show their map and figures;
* ``rss_mb_*``: the server's resident memory (MB) with no session, with one, with N, after the clicks and
  ``--after-close`` seconds after the tabs were closed; ``rss_mb_per_extra_session``;
* ``cpu_ms_per_click``: the server's CPU time (user + system, /proc of its pid) during the clicks, divided by the
  clicks; ``browser_cpu_ms_per_click``: the same for all the processes of Chromium (on the same cores);
* ``idle_cpu_ms_per_s_*``: the server's CPU per second when idle (no session; then with the N sessions open and
  not clicking), over 10 s (resolution 1 ms/s).

Bounded: at most ``--max-seconds`` per N, 30 s per click; localhost only. The machine's load average is printed
with the figures (browser and server share the same cores).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "bench")]

from bench_browser_clicks import MAP_JS, POINTS_JS, WATCH_JS, candidate_points, map_page  # noqa: E402
from headless import LOCALHOST_ONLY, app_server, chromium, close_page, evaluate, new_page, page_targets  # noqa: E402
from screenshot import RUSCINO  # noqa: E402

from cpts_geo.data.bundle import Bundle  # noqa: E402

#: Tabs in the background keep their timers and rendering at full speed (all are "users" at once).
NO_THROTTLING = ["--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                 "--disable-backgrounding-occluded-windows"]
#: IRIS to click among those in view: the largest (a click far from their borders).
CLICKABLE_IRIS = 12
FIGURES_JS = "window.__cptsMetrics()"
ERRORS_JS = "document.querySelectorAll('[data-testid=\"stException\"]').length"
#: How often a page looks at its map and panel after a click (ms). bench_browser_clicks.py's 5 ms cost the browser
#: about 50 ms of CPU a click (``elementFromPoint``), taken from the server and the other tabs.
WATCH_INTERVAL_MS = 25
#: Seconds over which the CPU of an idle server is measured.
IDLE_SECONDS = 10


def iris_count(figures: str) -> int | None:
    """The IRIS figure of the summary (the last of ``window.__cptsMetrics()``)."""
    digits = "".join(ch for ch in figures.split("|")[-1] if ch.isdigit())
    return int(digits) if digits else None


def cpu_seconds(server: psutil.Process) -> float:
    times = server.cpu_times()
    return times.user + times.system


def browser_cpu_seconds(debug_port: int) -> dict[int, float]:
    """CPU time (user + system) of each process of the Chromium listening on ``debug_port`` (tabs, GPU, network…)."""
    flag = f"--remote-debugging-port={debug_port}"
    main = next(p for p in psutil.process_iter(["cmdline"]) if flag in (p.info["cmdline"] or []))
    times = {}
    for process in [main, *main.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times[process.pid] = cpu_seconds(process)
    return times


def rss_mb(server: psutil.Process) -> float:
    return round(server.memory_info().rss / 1e6, 1)


async def idle_cpu_ms_per_s(server: psutil.Process) -> float:
    start = cpu_seconds(server)
    await asyncio.sleep(IDLE_SECONDS)
    return round((cpu_seconds(server) - start) * 1000 / IDLE_SECONDS, 1)


class User:
    """One tab of the browser: opens the link, then clicks the map with think time between clicks."""

    def __init__(self, debug_port: int, page: str, url: str, seed: int):
        self.debug_port, self.page, self.url = debug_port, page, url
        self.random = random.Random(seed)
        self.clicks: list[dict] = []
        self.errors = 0
        self.failure: str | None = None
        self.opened = asyncio.Event()
        self.go = asyncio.Event()

    async def run(self, candidates, clicks: int, think: tuple[float, float], timeout: float) -> None:
        try:
            async with map_page(self.debug_port, self.url, timeout, page=self.page, settle=0) as devtools:
                self.opened.set()
                await self.go.wait()
                await self.click_map(devtools, candidates, clicks, think)
                self.errors = await evaluate(devtools, ERRORS_JS)
        except Exception as err:   # a tab that breaks off is counted, the others go on
            self.failure = f"{type(err).__name__}: {err}"
        finally:
            self.opened.set()

    async def click_map(self, devtools, candidates, clicks: int, think: tuple[float, float]) -> None:
        await asyncio.sleep(self.random.uniform(*think))   # the users do not all start at the same instant
        points = await evaluate(devtools, MAP_JS + POINTS_JS % json.dumps([[lat, lng] for _, lat, lng in candidates]))
        in_view = [(code, x, y) for (code, _, _), (x, y, inside) in zip(candidates, points) if inside]
        for code, x, y in self.random.choices(in_view[:CLICKABLE_IRIS], k=clicks):
            before = await evaluate(devtools, FIGURES_JS)
            await evaluate(devtools, WATCH_JS % (x, y, WATCH_INTERVAL_MS))
            for kind in ("mousePressed", "mouseReleased"):
                await devtools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
            times = (await devtools.call("Runtime.evaluate", expression="window.__cptsWatch", awaitPromise=True,
                                         returnByValue=True))["result"]["value"]
            after = await evaluate(devtools, FIGURES_JS)
            counts = iris_count(before), iris_count(after)
            taken = times["panel"] is not None and None not in counts and abs(counts[1] - counts[0]) == 1
            self.clicks.append({"code": code, "panel": times["panel"], "colour": times["colour"], "taken": taken})
            await devtools.call("Input.dispatchMouseEvent", type="mouseMoved", x=5, y=5)
            await asyncio.sleep(self.random.uniform(*think))


def percentile(values: list[float], share: float) -> float | None:
    """The value below which ``share`` of the values lie (nearest rank)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


async def load(sessions: int, debug_port: int, url: str, server: psutil.Process, candidates, args) -> dict:
    figures = {"sessions": sessions, "idle_cpu_ms_per_s_no_session": await idle_cpu_ms_per_s(server),
               "rss_mb_no_session": rss_mb(server)}
    pages = page_targets(debug_port)[:1] + [new_page(debug_port) for _ in range(sessions - 1)]
    users = [User(debug_port, page, url, seed) for seed, page in enumerate(pages)]
    tasks = [asyncio.create_task(users[0].run(candidates, args.clicks, args.think, args.timeout))]
    await users[0].opened.wait()
    await asyncio.sleep(5)   # the end of the first run (data loaded) settles
    figures["rss_mb_one_session"] = rss_mb(server)
    start = time.monotonic()
    tasks += [asyncio.create_task(user.run(candidates, args.clicks, args.think, args.timeout)) for user in users[1:]]
    await asyncio.gather(*(user.opened.wait() for user in users))
    figures["open_s"] = round(time.monotonic() - start, 1)
    await asyncio.sleep(5)   # the last runs of the opening end
    figures["rss_mb_sessions_open"] = rss_mb(server)
    if sessions > 1:
        figures["rss_mb_per_extra_session"] = round(
            (figures["rss_mb_sessions_open"] - figures["rss_mb_one_session"]) / (sessions - 1), 1)
    cpu_start, browser_start, start = cpu_seconds(server), browser_cpu_seconds(debug_port), time.monotonic()
    for user in users:
        user.go.set()
    await asyncio.wait(tasks, timeout=args.max_seconds)
    clicks = [click for user in users for click in user.clicks]
    cpu = cpu_seconds(server) - cpu_start
    browser = sum(end - browser_start.get(pid, 0) for pid, end in browser_cpu_seconds(debug_port).items())
    figures |= {"clicks": len(clicks), "click_phase_s": round(time.monotonic() - start, 1),
                "cpu_ms_per_click": round(cpu * 1000 / max(1, len(clicks)), 1),
                "browser_cpu_ms_per_click": round(browser * 1000 / max(1, len(clicks)), 1),
                "rss_mb_after_clicks": rss_mb(server),
                "idle_cpu_ms_per_s_sessions_open": await idle_cpu_ms_per_s(server)}
    panel = [click["panel"] for click in clicks if click["panel"] is not None]
    colour = [click["colour"] for click in clicks if click["colour"] is not None]
    figures |= {"panel_median_ms": round(statistics.median(panel)) if panel else None,
                "panel_p95_ms": round(percentile(panel, 0.95)) if panel else None,
                "panel_worst_ms": round(max(panel)) if panel else None,
                "colour_median_ms": round(statistics.median(colour)) if colour else None,
                "lost_clicks": sum(not click["taken"] for click in clicks),
                "page_errors": sum(user.errors for user in users),
                "failed_sessions": [user.failure for user in users if user.failure]}
    for task in tasks:
        task.cancel()
    for page in pages:   # the tabs leave the app: their websockets close
        close_page(debug_port, page)
    await asyncio.sleep(args.after_close)
    return figures | {"rss_mb_after_close": rss_mb(server)}


def bench(sessions: int, args, candidates) -> dict:
    env = {"CPTS_GEO_DATA": str(args.data),
           "CPTS_GEO_STORE": os.environ.get("CPTS_GEO_STORE", "/tmp/cpts-geo-bench-load.sqlite")}
    query = urlencode({"zones": RUSCINO, "nom": "CPTS Ruscino", "dep": "66"})
    with app_server(env, port=args.port, timeout=args.timeout) as (port, app), \
            chromium(flags=[LOCALHOST_ONLY, *NO_THROTTLING]) as debug_port:
        figures = asyncio.run(load(sessions, debug_port, f"http://127.0.0.1:{port}/?{query}",
                                   psutil.Process(app.pid), candidates, args))
    return figures | {"load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 5, 10, 20])
    parser.add_argument("--clicks", type=int, default=10, help="clicks of each session")
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 5.0), help="seconds between clicks (min max)")
    parser.add_argument("--port", type=int, default=8661)
    parser.add_argument("--data", type=Path, default=os.environ.get("CPTS_GEO_DATA", ROOT / "data"))
    parser.add_argument("--timeout", type=float, default=180, help="seconds for the server and each tab to open")
    parser.add_argument("--max-seconds", type=float, default=600, help="bound on the clicks of one N")
    parser.add_argument("--after-close", type=float, default=30, help="seconds to wait after the tabs are closed")
    args = parser.parse_args()
    candidates = candidate_points(Bundle.load(args.data), "66", 400)
    for sessions in args.sessions:
        print(json.dumps(bench(sessions, args, candidates)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
