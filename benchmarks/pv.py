"""Benchmark of the rooftop PV step: 1,000,000 synthetic footprints to per-commune totals.

Builds in memory 1,000,000 rectangular footprints (4–40 m sides, random orientation, BD
TOPO-like heights and roof altitudes, 10 % without roof altitudes) over a 100 km × 100 km
territory of 700 communes (Voronoi cells) in Lambert-93, then times, in this one process:

* building preparation (ids, heights, roof ranges, geometry checks);
* the commune of each building (representative point in polygon, STRtree);
* the roof model (form, usable area, kWp, energy) and per-commune totals;
* the yield model (pvlib) for the 11 orientations the roof forms need, on a synthetic year.

Prints wall times and peak resident memory (sampled). Single-threaded. With ``--scheduler``
(``local:N`` or ``tcp://host:port``), then times the per-building work the PV step sends to
the cluster (projection, commune of each building, roof model: ``chunk_mapper``, chunks of
``BUILDINGS_PER_TASK``) in this process and on the cluster, side by side, the cluster's time
with and without its start, and checks that both give the same bytes. Usage::

    python benchmarks/pv.py [--buildings 1000000] [--communes 700] [--scheduler local:2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

# this file's folder is first on the path when it is run as a script: its distributed.py would
# hide the dask.distributed package (--scheduler); the folder goes last (the worker processes
# inherit the path and still find memory.py when they import this script)
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from memory import PeakMemory  # noqa: E402

from geocarbon.capabilities.pv_step import (  # noqa: E402
    _joined,
    _project_and_locate,
    prepare_buildings,
    roof_yields,
)
from geocarbon.config import PvConfig  # noqa: E402
from geocarbon.demo import make_demo_weather  # noqa: E402
from geocarbon.distributed import BUILDINGS_PER_TASK, chunk_mapper  # noqa: E402
from geocarbon.geo import local_equal_area_crs  # noqa: E402
from geocarbon.io.weather import Weather  # noqa: E402
from geocarbon.solar.roofs import roof_potential, within  # noqa: E402


def make_buildings(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, size = 400_000.0, 6_400_000.0, 100_000.0
    cx, cy = x0 + rng.random(n) * size, y0 + rng.random(n) * size
    w, d = rng.uniform(4, 40, n), rng.uniform(4, 25, n)
    a = rng.uniform(0, np.pi, n)
    corners = np.array([[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5]])
    dx = corners[None, :, 0] * w[:, None]
    dy = corners[None, :, 1] * d[:, None]
    xs = cx[:, None] + dx * np.cos(a)[:, None] - dy * np.sin(a)[:, None]
    ys = cy[:, None] + dx * np.sin(a)[:, None] + dy * np.cos(a)[:, None]
    rings = shapely.linearrings(np.stack([xs, ys], axis=-1))
    geoms = shapely.polygons(rings)
    height = rng.uniform(2.5, 15, n)
    roof_range = np.where(rng.random(n) < 0.3, rng.uniform(0, 0.8, n), rng.uniform(1.5, 5, n))
    known = rng.random(n) > 0.1
    base = 20 + height
    return gpd.GeoDataFrame(
        {
            "id": np.char.add("B", np.arange(n).astype(str)),
            "hauteur": height,
            "altitude_minimale_toit": np.where(known, base, np.nan),
            "altitude_maximale_toit": np.where(known, base + roof_range, np.nan),
            "usage_1": np.where(rng.random(n) < 0.01, "Sportif", "Résidentiel"),
        },
        geometry=geoms,
        crs="EPSG:2154",
    )


def make_communes(n: int, seed: int = 8) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    x0, y0, size = 400_000.0, 6_400_000.0, 100_000.0
    pts = shapely.multipoints(
        np.column_stack([x0 + rng.random(n) * size, y0 + rng.random(n) * size])
    )
    extent = shapely.box(x0, y0, x0 + size, y0 + size)
    cells = shapely.intersection(
        shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=extent)), extent
    )
    return gpd.GeoDataFrame(
        {"commune_code": [f"{i:05d}" for i in range(len(cells))]}, geometry=cells, crs="EPSG:2154"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=1_000_000)
    parser.add_argument("--communes", type=int, default=700)
    parser.add_argument("--scheduler", default=None, help="local:N or tcp://host:port")
    args = parser.parse_args()
    t = time.perf_counter()
    raw = make_buildings(args.buildings)
    communes = make_communes(args.communes)
    cfg = PvConfig.model_validate(
        {"buildings": {"path": "x.gpkg", "id_field": "id"}, "weather": {"path": "x.epw"}}
    )
    data = make_demo_weather(46.0, 0.5)
    weather = Weather(data, 46.0, 0.5, 100.0, "synthetic")
    print(
        f"case: {len(raw):,} footprints, {len(communes)} communes (built in {time.perf_counter() - t:.1f} s)"
    )
    timings = {}
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        buildings, _ = prepare_buildings(raw, cfg, "synthetic")
        timings["prepare buildings"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        yields = roof_yields(weather, cfg)
        timings["yield model (11 orientations, pvlib)"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        eq = local_equal_area_crs(communes)
        work = buildings.to_crs(eq)
        zones = communes.to_crs(eq)
        where = within(work.geometry.representative_point(), zones)
        work["commune_code"] = np.where(
            where >= 0, communes["commune_code"].to_numpy()[np.clip(where, 0, None)], ""
        )
        timings["commune of each building"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        table = {str(k): float(v) for k, v in yields.set_index("case")["kwh_per_kwp"].items()}
        result = roof_potential(work, table, cfg.parameters)
        kept = result[result["excluded_reason"] == ""]
        totals = kept.groupby("commune_code").agg(kwp=("kwp", "sum"), kwh=("kwh_per_yr", "sum"))
        timings["roof model + per-commune totals"] = time.perf_counter() - t0
    total = sum(timings.values())
    for label, seconds in timings.items():
        print(f"  {label:<40} {seconds:7.2f} s")
    print(f"  {'total':<40} {total:7.2f} s")
    print(f"peak memory: {mem.peak_mb:,.0f} MB (+{mem.above_mb:,.0f} MB above the inputs)")
    print(
        f"result: {len(kept):,} buildings with potential, {totals['kwp'].sum() / 1e3:,.0f} MWp, {totals['kwh'].sum() / 1e6:,.0f} GWh/yr in {len(totals)} communes"
    )
    if args.scheduler:
        side_by_side(args.scheduler, buildings, communes, table, cfg)


def per_building(run, buildings, eq, zones, table, cfg):
    """The per-building work of the PV step as ``compute_pv`` sends it to ``run``."""
    work, _points, where = _joined(run(_project_and_locate, buildings, eq, zones))
    roofs = _joined(run(roof_potential, work, table, cfg.parameters))
    return where, roofs


def side_by_side(scheduler, buildings, communes, table, cfg) -> None:
    eq = local_equal_area_crs(communes)
    zones = communes.to_crs(eq)
    t0 = time.perf_counter()
    with chunk_mapper(None) as run:
        where_here, here = per_building(run, buildings, eq, zones, table, cfg)
    in_process = time.perf_counter() - t0
    t0 = time.perf_counter()
    with chunk_mapper(scheduler) as run:
        started = time.perf_counter() - t0
        t1 = time.perf_counter()
        where_there, there = per_building(run, buildings, eq, zones, table, cfg)
        first = time.perf_counter() - t1  # the workers import geocarbon's PV step
        t1 = time.perf_counter()
        where_there, there = per_building(run, buildings, eq, zones, table, cfg)
        warm = time.perf_counter() - t1
    with_start = time.perf_counter() - t0
    same = where_here.tobytes() == where_there.tobytes() and all(
        here[c].to_numpy().tobytes() == there[c].to_numpy().tobytes()
        for c in ("footprint_m2", "usable_m2", "kwp", "kwh_per_yr", "large_roof")
    )
    same = same and here["excluded_reason"].tolist() == there["excluded_reason"].tolist()
    same = same and here["roof_type"].tolist() == there["roof_type"].tolist()
    same = same and here.geometry.to_wkb().tolist() == there.geometry.to_wkb().tolist()
    tasks = -(-len(buildings) // BUILDINGS_PER_TASK)
    print(
        f"per-building work (projection, commune, roof model), {tasks} tasks of "
        f"{BUILDINGS_PER_TASK:,} buildings per pass, 2 passes:"
    )
    print(f"  {'in this process':<44} {in_process:7.2f} s")
    print(f"  {scheduler + ', first run (workers import)':<44} {first:7.2f} s")
    print(f"  {scheduler + ', second run':<44} {warm:7.2f} s")
    print(
        f"  {scheduler + ' start, 2 runs, close':<44} {with_start:7.2f} s (start {started:.2f} s)"
    )
    print(f"  same bytes: {same}")


if __name__ == "__main__":
    main()
