"""Benchmark of the map page, server side: what the drawing map (cpts_geo/web/drawmap) receives and how long Python
takes from a click to an updated summary (the browser side: bench/bench_browser_clicks.py).

    python bench/bench_app.py [--data DIR] [--repeat 5]

For Pyrénées-Orientales (66) and for the département with the most IRIS in the bundle:
* layer: first simplification of the département (cold, then cached);
* area: the payload the browser receives once per area (``webmap.draw_area``: IRIS, commune borders and
  names, EPCI), its JSON size and build time;
* click: a click on the map → new selection → summary and checks recomputed → overlays rebuilt
  (target: under 200 ms), and the JSON size of what each run then sends (selection and overlays);
* app run: one full run of app.py through Streamlit's AppTest after a click;
* ARS map: the coverage map of the région Occitanie for the example registry (docs/registry_example),
  its HTML size and build + render time, at the région's simplification.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cpts_geo.web import webmap  # noqa: E402
from cpts_geo.data.bundle import Bundle  # noqa: E402
from cpts_geo.territory.checks import run_checks  # noqa: E402
from cpts_geo.web.session import DrawingSession  # noqa: E402
from cpts_geo.territory.model import summarize  # noqa: E402


def timed(function, repeat: int) -> tuple[float, object]:
    """Median duration (ms) of ``repeat`` calls, and the last result."""
    durations, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        durations.append((time.perf_counter() - start) * 1000)
    return statistics.median(durations), result


def bench_departement(bundle: Bundle, map_data: webmap.MapData, departement: str, repeat: int) -> dict:
    start = time.perf_counter()
    map_data.departement_iris(departement)
    cold_ms = (time.perf_counter() - start) * 1000
    area = map_data.area([departement])
    communes = list(area.communes.index)
    session = DrawingSession(bundle, area=(departement,))
    session.mode = "commune"
    for commune in communes[:: max(1, len(communes) // 20)][:20]:  # a selection of some twenty communes
        session.toggle(bundle.iris_by_commune[commune][0])

    def click() -> str:
        session.toggle(bundle.iris_by_commune[communes[len(communes) // 2]][0])
        summary = summarize(bundle, session.territory)
        run_checks(bundle, session.territory, {}, None)
        overlays = webmap.overlay_layers(area, [c.code_insee for c in summary.split_communes], {}, session.focus)
        return json.dumps({"selection": sorted(session.selection), "overlays": overlays})

    area_ms, payload = timed(lambda: json.dumps(webmap.draw_area(area, bundle)), repeat)
    click_ms, run_payload = timed(click, repeat * 4)
    return {
        "departement": departement,
        "iris": len(area.iris),
        "communes": len(communes),
        "selected_iris": len(session.selection),
        "layer_cold_ms": round(cold_ms),
        "area_payload_kb": round(len(payload) / 1000),
        "area_payload_ms": round(area_ms),
        "click_to_summary_ms": round(click_ms, 1),
        "run_payload_kb": round(len(run_payload) / 1000, 1),
    }


def bench_app_run(data: Path, repeat: int) -> float:
    """Median time (ms) of a full run of app.py after a click, through AppTest."""
    from streamlit.testing.v1 import AppTest

    os.environ["CPTS_GEO_DATA"] = str(data)
    os.environ.setdefault("CPTS_GEO_STORE", "/tmp/cpts-geo-bench-store.sqlite")
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    app.query_params["zones"] = "66028-66186-66189"
    app.run()
    codes = iter(["661360801", "661360901", "661361001", "661361101", "661361202", "661361203"] * repeat)

    def click_and_run():
        app.session_state["session"].toggle(next(codes))
        app.run()

    return timed(click_and_run, repeat)[0]


def bench_coverage_map(bundle: Bundle) -> dict:
    """The ARS page's map of a whole région (Occitanie, example registry: 2 of its 13 départements covered)."""
    from cpts_geo.region.coverage import area_of, coverage_report
    from cpts_geo.web.coverage_map import coverage_map, departements_of
    from cpts_geo.region.registry import read_registry

    registry = read_registry(bundle, ROOT / "docs" / "registry_example" / "registre_cpts_66_11.csv").cpts
    report = coverage_report(bundle, registry, area_of(bundle, region="76"))
    start = time.perf_counter()
    area = webmap.MapData(bundle, webmap.REGION_TOLERANCE_M).area(departements_of(report, bundle))
    layer_s = time.perf_counter() - start
    map_ms, html = timed(lambda: coverage_map(area, registry, report).get_root().render(), 1)
    return {"ars_region": "76", "white_communes": len(report.white_zones), "layer_cold_s": round(layer_s, 1),
            "map_html_kb": round(len(html) / 1000), "map_render_ms": round(map_ms)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=os.environ.get("CPTS_GEO_DATA", ROOT / "data"))
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    bundle = Bundle.load(args.data)
    map_data = webmap.MapData(bundle)
    largest = bundle.iris["departement"].value_counts().idxmax()
    rows = [bench_departement(bundle, map_data, d, args.repeat) for d in dict.fromkeys(["66", largest])]
    for row in rows:
        print(json.dumps(row))
    print(json.dumps({"app_run_after_click_ms": round(bench_app_run(args.data, args.repeat))}))
    print(json.dumps(bench_coverage_map(bundle)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
