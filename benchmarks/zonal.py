"""Benchmark of the commune × land-cover cross-tabulation on a synthetic France-sized case.

Builds (once, cached in ``benchmarks/_work/``) a 10,000 × 10,000 px raster at 100 m in
EPSG:3035 with CLC-like class patches (uint16, tiled, DEFLATE) and ~66,000 commune-like
polygons (Voronoi cells of random points, edges densified every 200 m), then runs side by
side in this one process:

* reading the raster once, block by block (the floor any method pays);
* geocarbon's ``zonal_crosstab`` (cell-centre rule, one pass);
* exactextract (``unique`` + ``frac`` per polygon: exact coverage fractions);
* rasterstats (``categorical=True``) on a subset of polygons, extrapolated.

It prints wall times, ratios to reading once, peak resident memory above the baseline
(sampled), and the cross-check of total areas. Usage::

    python benchmarks/zonal.py [--size 10000] [--communes 66000] [--rasterstats-subset 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from memory import PeakMemory

from geocarbon.geo import PixelAreaModel
from geocarbon.io.raster import iter_blocks, raster_info
from geocarbon.zonal import zonal_crosstab

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


def timed(label: str, fn: Callable[[], Any], results: dict[str, dict[str, float]]) -> Any:
    with PeakMemory() as mem:
        start = time.perf_counter()
        out = fn()
        elapsed = time.perf_counter() - start
    results[label] = {
        "seconds": round(elapsed, 2),
        "peak_mb_above_baseline": round(mem.above_mb, 1),
    }
    print(f"  {label:<36} {elapsed:8.2f} s   peak +{mem.above_mb:8.1f} MB", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--communes", type=int, default=66_000)
    parser.add_argument("--rasterstats-subset", type=int, default=300)
    parser.add_argument("--block-pixels", type=int, default=4_000_000)
    parser.add_argument("--skip-exactextract", action="store_true")
    args = parser.parse_args()

    t0 = time.perf_counter()
    raster, polys = make_case(args.size, args.communes)
    print(
        f"case: {args.size} x {args.size} px, {args.communes} polygons (prepared in {time.perf_counter() - t0:.1f} s)"
    )
    zones = gpd.read_file(polys, engine="pyogrio")
    info = raster_info(raster, "benchmark raster")
    pam = PixelAreaModel.for_grid(info.crs, info.transform, info.width, info.height)
    results: dict[str, dict[str, float]] = {}

    def read_once() -> int:
        total = 0
        for block in iter_blocks(info, block_pixels=args.block_pixels):
            total += int(block.arrays["landcover"].size)
        return total

    def ours() -> Any:
        return zonal_crosstab(zones, iter_blocks(info, block_pixels=args.block_pixels), pam)

    print("timings:")
    timed("read raster once (blocks)", read_once, results)
    res = timed("geocarbon zonal_crosstab", ours, results)
    ours_total_ha = float(res.crosstab["area_m2"].sum()) / 1e4

    ee_total_ha = None
    if not args.skip_exactextract:
        from exactextract import exact_extract

        def exact() -> Any:
            return exact_extract(str(raster), zones, ["unique", "frac"], output="pandas")

        ee = timed("exactextract unique+frac", exact, results)
        ee_total_ha = float(sum(len(u) for u in ee["unique"]))  # classes found, a sanity count

    from rasterstats import zonal_stats

    subset = zones.iloc[: args.rasterstats_subset]

    def rs() -> Any:
        return zonal_stats(subset, str(raster), categorical=True, all_touched=False)

    timed(f"rasterstats categorical ({len(subset)} polys)", rs, results)
    per_poly = results[f"rasterstats categorical ({len(subset)} polys)"]["seconds"] / len(subset)
    results["rasterstats extrapolated to all polygons"] = {
        "seconds": round(per_poly * len(zones), 1)
    }

    base = results["read raster once (blocks)"]["seconds"]
    ours_s = results["geocarbon zonal_crosstab"]["seconds"]
    print("ratios (time / reading the raster once):")
    for label, r in results.items():
        print(f"  {label:<40} {r['seconds'] / base:8.2f} x")
    if "exactextract unique+frac" in results:
        print(
            f"geocarbon is {results['exactextract unique+frac']['seconds'] / ours_s:.1f} x faster than exactextract"
        )
    print(
        f"geocarbon is {results['rasterstats extrapolated to all polygons']['seconds'] / ours_s:.1f} x faster than rasterstats (extrapolated)"
    )
    print(f"area counted: {ours_total_ha:,.0f} ha of {args.size * args.size:,} ha of raster")
    record = {
        "case": {"size_px": args.size, "communes": len(zones), "block_pixels": args.block_pixels},
        "machine": {
            "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
        },
        "results": results,
        "exactextract_unique_classes_found": ee_total_ha,
    }
    (WORK / "zonal_last.json").write_text(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
