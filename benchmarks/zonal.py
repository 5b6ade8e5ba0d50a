"""Benchmark of the commune × land-cover cross-tabulation on a synthetic France-like case.

Builds (once, cached in ``benchmarks/_work/``) a square raster at 100 m in EPSG:3035 with
CLC-like class patches (uint16, tiled, DEFLATE) and commune-like polygons (Voronoi cells of
random points, edges densified every 200 m), then runs side by side in this one process, in
rotated order over several rounds (best and median time of each):

* reading the raster once, block by block (the floor any method pays);
* geocarbon's ``zonal_crosstab`` as the pipeline calls it (communes put in the raster's CRS
  with ``geo.in_crs``, compiled kernels), and with the plain-NumPy kernels;
* geocarbon's first pass over the grid (zones burnt) and a later pass (zones from the zone
  cache), each also without the read-ahead thread, the later pass also without the dense
  zone × code table (what each device brings); and a pass as a new process makes it with
  ``processing.zone_cache`` (the shapes' checksum, the zones read from the file kept by an
  earlier, untimed pass);
* rasterize + bincount: the zones burnt into one whole-grid array by GDAL
  (``rasterio.features.rasterize``), then the raster read and counted per (zone, class);
* exactextract's best set-up: geometries handed over as WKB (a feature source of our own;
  the GeoDataFrame input goes through GeoJSON text) and ``strategy="raster-sequential"``,
  operations ``unique`` + ``frac`` (exact coverage fractions).

It prints wall times, ratios to reading once, peak resident memory above the level before
each method (sampled every 5 ms), the cross-checks (both geocarbon engines bit-identical;
pixel counts against GDAL's; areas against exactextract's), and a Markdown table for
``benchmarks/RESULTS.md``. Usage::

    python benchmarks/zonal.py [--size 4500] [--communes 13500] [--rounds 3] [--skip-peers]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from exactextract import exact_extract
from memory import PeakMemory
from rasterio.features import rasterize

import geocarbon.zonal as zonal_module
from geocarbon.geo import PixelAreaModel, in_crs
from geocarbon.io.exact import WkbSource
from geocarbon.io.raster import RasterBlock, count_blocks, iter_blocks, raster_info
from geocarbon.io.zone_store import ZoneStore
from geocarbon.zonal import ZONE_CACHE, ZonalResult, ZoneCache, zonal_crosstab

WORK = Path(__file__).resolve().parent / "_work"
CLASSES = np.array(
    [112, 211, 231, 242, 243, 311, 312, 313, 324, 512, 221, 141, 121], dtype=np.uint16
)


def make_case(size: int, n_communes: int, seed: int = 1) -> tuple[Path, Path]:
    """Write the synthetic raster and polygons (cached by size and count)."""
    WORK.mkdir(parents=True, exist_ok=True)
    raster = WORK / f"landcover_{size}.tif"
    polys = WORK / f"communes_{size}_{n_communes}.gpkg"
    res = 100.0
    x0, y0 = 3_200_000.0, 3_100_000.0
    transform = Affine(res, 0, x0, 0, -res, y0)
    rng = np.random.default_rng(seed)
    if not raster.exists():
        # 1 km patches of classes, with 30 % of 100 m pixels changed (hedges, roads, clearings)
        coarse = rng.integers(0, len(CLASSES), size=(size // 10 + 1, size // 10 + 1))
        profile = {
            "driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint16",
            "crs": "EPSG:3035", "transform": transform, "nodata": 0, "tiled": True,
            "blockxsize": 512, "blockysize": 512, "compress": "deflate",
        }  # fmt: skip
        tmp = raster.with_suffix(".tmp.tif")
        with rasterio.open(tmp, "w", **profile) as dst:
            step = 1000
            for r0 in range(0, size, step):
                rows = min(step, size - r0)
                idx = np.repeat(
                    np.repeat(coarse[r0 // 10 : (r0 + rows) // 10 + 1], 10, axis=0), 10, axis=1
                )
                block = CLASSES[idx[:rows, :size]]
                flip = rng.random(block.shape) < 0.3
                block[flip] = CLASSES[rng.integers(0, len(CLASSES), int(flip.sum()))]
                dst.write(block, 1, window=rasterio.windows.Window(0, r0, size, rows))
        tmp.rename(raster)
    if not polys.exists():
        extent = shapely.box(x0, y0 - size * res, x0 + size * res, y0)
        pts = rng.uniform(0, size * res, size=(n_communes, 2)) + np.array([x0, y0 - size * res])
        cells = shapely.get_parts(
            shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=extent)
        )
        cells = shapely.intersection(cells, extent)
        cells = shapely.segmentize(cells, 200.0)
        frame = gpd.GeoDataFrame(
            {"code": [f"{i:06d}" for i in range(len(cells))]}, geometry=cells, crs="EPSG:3035"
        )
        frame.to_file(polys, layer="communes", engine="pyogrio")
    return raster, polys


def methods(
    raster: Path,
    zones: gpd.GeoDataFrame,
    block_pixels: int,
    skip_exactextract: bool,
    skip_peers: bool = False,
) -> dict[str, Callable[[], Any]]:
    """The methods compared, by label (``skip_peers``: geocarbon's alone)."""
    info = raster_info(raster, "benchmark raster")
    pam = PixelAreaModel.for_grid(info.crs, info.transform, info.width, info.height)

    def read_once() -> int:
        total = 0
        for block in iter_blocks(info, block_pixels=block_pixels):
            total += int(block.arrays["landcover"].size)
        return total

    def ours(engine: str, cached: bool = False, without: str = "") -> Callable[[], ZonalResult]:
        """A first pass over the grid (the zone cache emptied first), or a later pass
        (the zones burnt by an earlier, untimed pass read from the cache); ``without`` one
        of the engine's devices (:data:`WITHOUT`), to measure what it brings."""

        def run() -> ZonalResult:
            in_grid = in_crs(zones, info.crs)  # as the pipeline does
            blocks = iter_blocks(info, block_pixels=block_pixels)
            n = count_blocks(info, block_pixels)
            with WITHOUT[without]():
                return zonal_crosstab(in_grid, blocks, pam, n_blocks=n, engine=engine)

        def first() -> ZonalResult:
            ZONE_CACHE.clear()
            return run()

        if cached:
            if not held:  # one untimed pass fills the cache for every later-pass method
                ZONE_CACHE.clear()
                run()
                held.append(ZONE_CACHE._entries[-1])  # kept for the timed later passes
            return lambda: _later(run)
        return first

    held: list[Any] = []

    def _later(run: Callable[[], ZonalResult]) -> ZonalResult:
        ZONE_CACHE._entries[:] = held[-1:]
        return run()

    def stored() -> Callable[[], ZonalResult]:
        """A pass in a new process with ``processing.zone_cache``: an empty cache in memory,
        the zones read from the file an untimed pass saved (the checksum of the shapes,
        reading the file and the pass timed)."""
        store = ZoneStore(WORK / "zone_cache")

        def run() -> ZonalResult:
            in_grid = in_crs(zones, info.crs)
            blocks = iter_blocks(info, block_pixels=block_pixels)
            n = count_blocks(info, block_pixels)
            cache = ZoneCache(store=store)
            return zonal_crosstab(in_grid, blocks, pam, n_blocks=n, engine="numba", cache=cache)

        run()
        return run

    def rasterize_bincount() -> np.ndarray:
        burnt = rasterize(
            ((g, i + 1) for i, g in enumerate(zones.geometry.values)),
            out_shape=(info.height, info.width),
            transform=info.transform,
            fill=0,
            dtype="int32",
        )
        lut = np.zeros(65536, dtype=np.int64)  # class code -> 1 .. 13 (0: another code)
        lut[CLASSES] = np.arange(1, len(CLASSES) + 1)
        width = len(CLASSES) + 1
        counts = np.zeros((len(zones) + 1) * width, dtype=np.int64)
        for block in iter_blocks(info, block_pixels=block_pixels):
            rows, cols = block.shape
            z = burnt[block.row_off : block.row_off + rows, block.col_off : block.col_off + cols]
            key = z.astype(np.int64) * width + lut[block.arrays["landcover"]]
            counts += np.bincount(key.ravel(), minlength=len(counts))
        return counts.reshape(len(zones) + 1, width)

    features = WkbSource(zones.geometry.values, np.arange(len(zones)), zones.crs.to_wkt())

    def exact() -> Any:
        return exact_extract(
            str(raster), features, ["unique", "frac"], output="pandas",
            strategy="raster-sequential",
        )  # fmt: skip

    out: dict[str, Callable[[], Any]] = {
        FLOOR: read_once,
        OURS: ours("auto"),
        FIRST: ours("numba"),
        FIRST_SERIAL: ours("numba", without="read_ahead"),
        CACHED: ours("numba", cached=True),
        CACHED_SERIAL: ours("numba", cached=True, without="read_ahead"),
        CACHED_BLOCKWISE: ours("numba", cached=True, without="dense_table"),
        STORED: stored(),
        NUMPY: ours("numpy"),
    }
    if not skip_peers:
        out["rasterize + bincount"] = rasterize_bincount
    if not (skip_exactextract or skip_peers):
        out[EXACT] = exact
    return out


def _serial(items: Any, prepare: Callable[[Any], Any]) -> Any:
    """``zonal.read_ahead`` without its thread: each block read, then counted, in turn."""
    return (prepare(item) for item in items)


WITHOUT: dict[str, Callable[[], Any]] = {
    "": contextlib.nullcontext,
    "read_ahead": lambda: mock.patch.object(zonal_module, "read_ahead", _serial),
    "dense_table": lambda: mock.patch.object(
        zonal_module.CodeCounts, "for_layers", staticmethod(lambda *args: None)
    ),
}
"""Devices of the engine that a measurement can do without."""


FLOOR = "read the raster once, block by block"
OURS = "geocarbon zonal_crosstab (as the pipeline calls it)"
EXACT = "exactextract, best set-up (WKB, raster-sequential)"
FIRST = "geocarbon zonal_crosstab, compiled kernels forced"
FIRST_SERIAL = "geocarbon, compiled, first pass, no read-ahead thread"
CACHED = "geocarbon zonal_crosstab, a later pass (zones from the cache)"
CACHED_SERIAL = "geocarbon, a later pass, no read-ahead thread"
CACHED_BLOCKWISE = "geocarbon, a later pass, per-block tables (no dense table)"
STORED = "geocarbon, a new process, zones from processing.zone_cache"
NUMPY = "geocarbon zonal_crosstab, NumPy kernels"


CPU_SECONDS: dict[str, list[float]] = {}
"""CPU time of this process (every thread, the memory sampler's included) while each
method ran [s], per round: what a method costs whatever the machine's load."""


def measure(
    fns: dict[str, Callable[[], Any]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, float], dict[str, Any]]:
    """Each method once per round, the order rotated each round: times [s], peak memory
    above the level before the method [MB], last result."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    peaks: dict[str, float] = dict.fromkeys(fns, 0.0)
    last: dict[str, Any] = {}
    labels = list(fns)
    for r in range(rounds):
        for label in labels[r % len(labels) :] + labels[: r % len(labels)]:
            gc.collect()
            with PeakMemory() as mem:
                start, cpu = time.perf_counter(), time.process_time()
                last[label] = fns[label]()
                elapsed = time.perf_counter() - start
                CPU_SECONDS.setdefault(label, []).append(time.process_time() - cpu)
            last[label] = last[label] if label != FLOOR else None
            times[label].append(elapsed)
            peaks[label] = max(peaks[label], mem.above_mb)
            print(
                f"  round {r + 1} {label:<55} {elapsed:8.2f} s  +{mem.above_mb:7.0f} MB", flush=True
            )
    return times, peaks, last


def _identical(a: ZonalResult, b: ZonalResult) -> bool:
    """Whether two results are the same, floats bit for bit."""
    return (
        all(
            getattr(a, k).tobytes() == getattr(b, k).tobytes()
            for k in ("zone_area_m2", "valid_area_m2", "pixel_count")
        )
        and a.crosstab.equals(b.crosstab)
        and a.outside_valid_area_m2 == b.outside_valid_area_m2
    )


def cross_checks(last: dict[str, Any], n_zones: int) -> list[str]:
    """Agreement of the methods (geocarbon's engines and passes bit for bit)."""
    ours = last[FIRST]
    numpy_path = last[NUMPY]
    lines = [
        f"{label} and NumPy kernels bit-identical: {_identical(last[label], numpy_path)}"
        for label in (OURS, FIRST, FIRST_SERIAL, CACHED, CACHED_SERIAL, CACHED_BLOCKWISE, STORED)
    ]
    if "rasterize + bincount" in last:
        gdal = last["rasterize + bincount"].sum(axis=1)[1:]
        total = max(1, int(ours.pixel_count.sum()))
        agree = float(np.minimum(gdal, ours.pixel_count).sum()) / total
        lines.append(f"pixels per zone, geocarbon vs GDAL's rasterisation: {agree:.4%} in common")
    if EXACT in last:
        ee = last[EXACT]
        covered = sum(float(np.sum(f)) for f in ee["frac"])  # ~1 per polygon
        lines.append(
            f"exactextract: {len(ee)} polygons, sum of class fractions {covered:,.1f} (of {n_zones})"
        )
    return lines


def print_table(times: dict[str, list[float]], peaks: dict[str, float]) -> None:
    """The Markdown table of the timings: best and median time, ratio to the floor, CPU time
    (best) and its ratio to the floor's, memory."""
    floor = min(times[FLOOR])
    floor_cpu = min(CPU_SECONDS.get(FLOOR, [float("nan")]))
    print(
        "\n| method | best time | median | × reading once (best) | CPU time (best) "
        "| CPU × reading once | peak memory above baseline |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, ts in times.items():
        cpu = min(CPU_SECONDS.get(label, [float("nan")]))
        print(
            f"| {label} | {min(ts):.2f} s | {statistics.median(ts):.2f} s | "
            f"{min(ts) / floor:.2f} × | {cpu:.2f} s | {cpu / floor_cpu:.2f} × "
            f"| {peaks[label]:,.0f} MB |"
        )


def warm_up(zones: gpd.GeoDataFrame) -> None:
    """Load (or compile) the compiled kernels before timing: a tiny cross-tab of every path."""
    pam = PixelAreaModel.for_grid("EPSG:3035", Affine(100, 0, 0, 0, -100, 800), 8, 8)
    block = RasterBlock(0, 0, pam.transform, {"landcover": np.ones((8, 8), np.uint16)}, {})
    tiny = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 500, 500)], crs="EPSG:3035")
    for without in ("", "dense_table"):
        with WITHOUT[without]():
            zonal_crosstab(tiny, [block], pam, engine="numba", cache=None)
    del zones


def fresh_call(raster: Path, zones: gpd.GeoDataFrame, block_pixels: int) -> None:
    """Time and memory of one call as the pipeline makes it, the first in this process."""
    info = raster_info(raster, "benchmark raster")
    pam = PixelAreaModel.for_grid(info.crs, info.transform, info.width, info.height)
    gc.collect()
    with PeakMemory() as mem:
        start, cpu = time.perf_counter(), time.process_time()
        in_grid = in_crs(zones, info.crs)
        blocks = iter_blocks(info, block_pixels=block_pixels)
        result = zonal_crosstab(in_grid, blocks, pam, n_blocks=count_blocks(info, block_pixels))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    print(
        f"first call in this process: {elapsed:.2f} s (CPU {cpu:.2f} s), {len(result.crosstab):,} "
        f"rows; resident before {mem.base / 1e6:,.0f} MB (communes loaded), peak "
        f"+{mem.above_mb:,.0f} MB above it; process peak {peak_mb:,.0f} MB; load average "
        f"{os.getloadavg()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4500)
    parser.add_argument("--communes", type=int, default=13_500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block-pixels", type=int, default=4_000_000)
    parser.add_argument("--skip-exactextract", action="store_true")
    parser.add_argument(
        "--skip-peers", action="store_true", help="geocarbon alone (no GDAL rasterize, no exactextract)"
    )
    parser.add_argument(
        "--fresh-call",
        action="store_true",
        help="only one call as the pipeline makes it, the first in this process (numba loaded "
        "by it): time, memory above the loaded communes, process peak",
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    raster, polys = make_case(args.size, args.communes)
    zones = gpd.read_file(polys, engine="pyogrio")
    vertices = int(shapely.get_num_coordinates(zones.geometry.values).sum())
    case = f"{args.size:,} × {args.size:,} px, {len(zones):,} polygons, {vertices:,} vertices"
    print(f"case: {case} (ready in {time.perf_counter() - t0:.1f} s)")
    if args.fresh_call:
        fresh_call(raster, zones, args.block_pixels)
        return
    warm_up(zones)
    fns = methods(raster, zones, args.block_pixels, args.skip_exactextract, args.skip_peers)
    print(f"timings ({args.rounds} rounds, order rotated):")
    times, peaks, last = measure(fns, args.rounds)
    print_table(times, peaks)
    for line in cross_checks(last, len(zones)):
        print(line)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    print(f"peak resident memory of this process (all methods): {peak_mb:,.0f} MB")
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")
    record = {
        "case": {"size_px": args.size, "communes": len(zones), "vertices": vertices,
                 "block_pixels": args.block_pixels},
        "machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                    "processor": platform.processor() or platform.machine()},
        "seconds": times,
        "cpu_seconds": CPU_SECONDS,
        "peak_mb_above_baseline": peaks,
    }  # fmt: skip
    (WORK / "zonal_last.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
