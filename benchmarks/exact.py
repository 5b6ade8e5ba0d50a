"""Benchmark of ``zonal.method: exact`` beside cell-centre counting and exactextract alone.

On the synthetic case of ``benchmarks/zonal.py`` (a raster at 100 m in EPSG:3035 with
CLC-like classes, Voronoi communes; cached in ``benchmarks/_work/``), in this one process,
in rotated order over several rounds (best and median time of each):

* reading the raster once, block by block (the floor);
* geocarbon's cell-centre cross-tab as the pipeline calls it (``zonal.method: cell_centre``);
* exactextract's best set-up alone (WKB geometries, ``strategy="raster-sequential"``,
  operations ``unique`` + ``frac``: class fractions per polygon, no areas, no secondary
  layer);
* geocarbon's exact cross-tab as the pipeline calls it (``zonal.method: exact``): the cells
  each commune covers with their coverage fractions and values (exactextract, WKB,
  raster-sequential, ``cell_id`` + ``coverage`` + ``values``), times true pixel areas,
  summed per (commune, class) — the pipeline also runs the cell-centre cross-tab for the
  difference notice, so its zonal step costs the sum of both lines.

It prints wall times, ratios to reading once, peak resident memory above the level before
each method, and the exact areas' total against the polygons' area. Usage::

    python benchmarks/exact.py [--size 2000] [--communes 2700] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from zonal import EXACT, FLOOR, OURS, make_case, measure, methods, print_table

from geocarbon.geo import PixelAreaModel, in_crs
from geocarbon.io.exact import exact_cells
from geocarbon.io.raster import raster_info
from geocarbon.zonal import ZonalResult
from geocarbon.zonal_exact import exact_crosstab

PIPELINE_EXACT = "geocarbon zonal.method exact (exactextract cells × true areas)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--communes", type=int, default=2700)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--block-pixels", type=int, default=4_000_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    raster, polys = make_case(args.size, args.communes)
    zones = gpd.read_file(polys, engine="pyogrio")
    vertices = int(shapely.get_num_coordinates(zones.geometry.values).sum())
    print(
        f"case: {args.size:,} × {args.size:,} px, {len(zones):,} polygons, {vertices:,} "
        f"vertices (ready in {time.perf_counter() - t0:.1f} s)"
    )
    info = raster_info(raster, "benchmark raster")
    pam = PixelAreaModel.for_grid(info.crs, info.transform, info.width, info.height)
    peers = methods(raster, zones, args.block_pixels, skip_exactextract=False)

    def exact() -> ZonalResult:
        in_grid = in_crs(zones, info.crs)  # as the pipeline does
        cells = exact_cells(in_grid, info, batch_pixels=args.block_pixels // 4)  # as the pipeline
        return exact_crosstab(cells, len(in_grid), pam, info.width)

    fns: dict[str, Any] = {
        FLOOR: peers[FLOOR],
        OURS: peers[OURS],
        EXACT: peers[EXACT],
        PIPELINE_EXACT: exact,
    }
    peers[OURS]()  # compile (or load) the kernels before timing
    print(f"timings ({args.rounds} rounds, order rotated):")
    times, peaks, last = measure(fns, args.rounds)
    print_table(times, peaks)
    result = last[PIPELINE_EXACT]
    extent = shapely.box(*info.bounds)
    polygons_m2 = float(np.sum(shapely.area(shapely.intersection(zones.geometry.values, extent))))
    centre = last[OURS]
    print(
        f"exact areas {result.zone_area_m2.sum() / 1e4:,.3f} ha, polygons over the raster "
        f"{polygons_m2 / 1e4:,.3f} ha, cell centres {centre.zone_area_m2.sum() / 1e4:,.3f} ha; "
        f"largest per-zone difference cell centres − exact "
        f"{np.max(np.abs(centre.valid_area_m2 - result.valid_area_m2)) / 1e4:,.2f} ha"
    )
    print(
        f"machine: Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{platform.processor() or platform.machine()}"
    )


if __name__ == "__main__":
    main()
