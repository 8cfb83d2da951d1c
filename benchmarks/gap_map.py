"""Gap map figures (issue 7): build time, payload and draw time in headless Chromium.

    .venv/bin/python -m benchmarks.gap_map [--runs 3]

Scenario A: 20 districts + 300 municipalities + 10,000 synthetic initiatives (demo
indicator values; the initiatives are generated here, deterministically).
Targets: built in <= 1 s, payload <= 1.5 MB, drawn in <= 2 s.
Scenario B: 3,000 H3 cells. Targets: payload <= 1.5 MB, drawn in <= 2 s.

"Build" = gap scoring + feature building + folium + the serialisation streamlit-folium
runs on every rerun (``_get_map_string``). "Payload" = what st_folium sends to the
browser (script + header). "Draw" = wall-clock from navigation until the page has
loaded and two frames have painted, Leaflet served from static/ by a loopback server.
Medians of ``--runs``. Never part of the pass/fail test run.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import h3
from sqlmodel import Session
from streamlit_folium import _get_header, _get_map_string

from connectivity import maps
from connectivity.demo import load_demo_indicators
from connectivity.gaps import InitiativeReach, area_inputs, compute_gaps, readings_by_area
from geo.areas import area_hierarchy, areas_by_level, geometry_of, load_reference_areas
from hub.db import make_engine, migrate
from initiatives.queries import PublishedReach

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STATUSES = ["active", "active", "planned", "completed"]


def median_time(func: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def synthetic_initiatives(codes: list[str], n: int) -> list[InitiativeReach]:
    rng = random.Random(7)
    return [
        PublishedReach(
            initiative_id=i,
            title=f"Initiative {i}",
            organisation=f"Org {i % 40}",
            status=rng.choice(STATUSES),
            category=rng.choice(["data", "devices", "training", "access"]),
            channels=("online",),
            area_codes=tuple(rng.sample(codes, rng.randint(1, 3))),
            people_reached=rng.randint(50, 5000),
            people_targeted=None,
        )
        for i in range(n)
    ]


def payload(m: object) -> int:
    return len(_get_map_string(m).encode()) + len(_get_header(m).encode())  # type: ignore[arg-type]


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined,method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def draw_times(pages: dict[str, str], runs: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "app").mkdir()
        (folder / "app" / "static").symlink_to(ROOT / "static")
        for name, html in pages.items():
            (folder / f"{name}.html").write_text(html, encoding="utf-8")
        server, base = serve(folder)
        results = {}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            for name in pages:
                times = []
                for _ in range(runs):
                    page = browser.new_page(viewport={"width": 1280, "height": 900})
                    start = time.perf_counter()
                    page.goto(f"{base}/{name}.html", wait_until="load")
                    page.evaluate(
                        "() => new Promise(r => requestAnimationFrame("
                        "() => requestAnimationFrame(r)))"
                    )
                    times.append(time.perf_counter() - start)
                    page.close()
                results[name] = statistics.median(times)
            browser.close()
        server.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        with Session(engine) as session:
            load_reference_areas(session=session)
            load_demo_indicators(session=session)
            hierarchy = area_hierarchy(session=session)
            readings = readings_by_area(session=session)
            inputs = {
                level: area_inputs(session=session, level=level)
                for level in ("district", "municipality")
            }
            geometries = {
                a.code: geometry_of(a) for a in areas_by_level(session=session, level="district")
            }
        engine.dispose()

    codes = [a.code for a in inputs["municipality"]] + [a.code for a in inputs["district"]]
    initiatives = synthetic_initiatives(codes, 10_000)

    def build_a() -> object:
        districts = compute_gaps(
            inputs["district"], initiatives, hierarchy=hierarchy, ancestor_readings=readings
        )
        municipalities = compute_gaps(
            inputs["municipality"], initiatives, hierarchy=hierarchy, ancestor_readings=readings
        )
        positions = {g.code: (g.lat, g.lon) for g in districts + municipalities if g.lat}
        m = maps.build_gap_map(
            districts=maps.district_features(
                districts, geometries, top=[g.code for g in districts[:10]]
            ),
            municipalities=maps.municipality_features(municipalities),
            initiative_rows=maps.initiative_points(initiatives, positions),
        )
        _get_map_string(m)
        return m

    lisbon = h3.latlng_to_cell(39.5, -8.0, 7)
    cells = list(h3.grid_disk(lisbon, 32))[:3000]
    hex_points = [(*h3.cell_to_latlng(c), float(i % 97)) for i, c in enumerate(cells)]

    def build_b() -> object:
        m = maps.build_gap_map(hexes=maps.hex_features(hex_points, resolution=7))
        _get_map_string(m)
        return m

    time_a, map_a = median_time(build_a, args.runs)
    time_b, map_b = median_time(build_b, args.runs)
    payload_a, payload_b = payload(map_a), payload(map_b)
    html_a, html_b = maps.map_html(map_a), maps.map_html(map_b)  # type: ignore[arg-type]
    draw = draw_times({"scenario_a": html_a, "scenario_b": html_b}, args.runs)

    print(f"medians of {args.runs} runs")
    print("A: 20 districts + 300 municipalities + 10,000 initiatives")
    print(
        f"   build (score + features + folium + st_folium serialisation): {time_a:.3f} s  (<= 1 s)"
    )
    print(f"   payload sent by st_folium: {payload_a / 1e6:.3f} MB  (<= 1.5 MB)")
    print(f"   draw in headless Chromium: {draw['scenario_a']:.3f} s  (<= 2 s)")
    print("B: 3,000 H3 cells (resolution 7)")
    print(f"   build: {time_b:.3f} s")
    print(f"   payload sent by st_folium: {payload_b / 1e6:.3f} MB  (<= 1.5 MB)")
    print(f"   draw in headless Chromium: {draw['scenario_b']:.3f} s  (<= 2 s)")


if __name__ == "__main__":
    main()
