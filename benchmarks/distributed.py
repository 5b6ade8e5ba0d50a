"""Benchmark of the zonal cross-tab on dask.distributed workers (``processing.scheduler``), on
a France-size 10 m grid that takes no disk space.

The land cover is a GDAL VRT mosaic (``benchmarks/_work/``) that points many times at one
GeoTIFF tile (4,000 × 4,000 px at 10 m, uint16, tiled 512 × 512, DEFLATE, 13 CLC-like classes
in 1 km patches with 30 % of pixels changed): ``--cols`` × ``--rows`` pixels (default
100,000 × 55,000 = 5.5 × 10⁹ px, 1,000 km × 550 km: metropolitan France's 551,695 km² at
100 m² per pixel) for 124 kB of XML. The communes are ``--communes`` Voronoi cells over the
whole grid (default 35,000: France's average commune of ~16 km²), edges densified every
200 m.

A subset of the grid's rows (``--subset-rows``, full width: every task is a strip as wide as
France's, as in the full run) is cross-tabulated

* in this process (``zonal_crosstab``, what a run without ``processing.scheduler`` does);
* on a ``LocalCluster`` of 1 worker process, then of 2 (one thread each), started and warmed
  up (numba's compiled kernels loaded, first blocks read) before the timing;

and the three results are checked bit-identical. It prints the wall times, pixels per second
and per worker, the scaling efficiency from 1 to 2 workers, each task's cost (dask's task
stream: compute time per task), the data each task sends back, the time the client takes to
add the partial sums, the cost of decompressing data that is not repeated (the mosaic repeats
one tile: its blocks are found in GDAL's cache), and a projection for the full grid on N
workers. Usage::

    python benchmarks/distributed.py [--subset-rows 8000] [--communes 35000]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

# this file's folder is first on the path when it is run as a script: the name of this file
# would hide the dask.distributed package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
import shapely  # noqa: E402
from affine import Affine  # noqa: E402
from distributed import Client, LocalCluster, get_task_stream  # noqa: E402
from rasterio.crs import CRS  # noqa: E402

from geocarbon.distributed import _Zones, cluster_crosstab  # noqa: E402
from geocarbon.geo import PixelAreaModel  # noqa: E402
from geocarbon.io.raster import block_windows, iter_blocks, raster_info  # noqa: E402
from geocarbon.zonal import (  # noqa: E402
    CrosstabLayers,
    ZonalResult,
    ZoneBlocks,
    block_partial,
    reduce_partials,
    zonal_crosstab,
)

WORK = Path(__file__).resolve().parent / "_work"
CLASSES = np.array(
    [112, 211, 231, 242, 243, 311, 312, 313, 324, 512, 221, 141, 121], dtype=np.uint16
)
RES_M = 10.0
X0, Y0 = 3_200_000.0, 3_100_000.0  # EPSG:3035, top-left corner
TILE = 4000
BLOCK_PIXELS = 4_000_000


def make_tile(seed: int = 1) -> Path:
    """The one GeoTIFF tile the mosaic repeats (written once)."""
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"tile_{TILE}_10m.tif"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, len(CLASSES), size=(TILE // 100 + 1, TILE // 100 + 1))
    profile = {
        "driver": "GTiff", "width": TILE, "height": TILE, "count": 1, "dtype": "uint16",
        "crs": "EPSG:3035", "transform": Affine(RES_M, 0, X0, 0, -RES_M, Y0), "nodata": 0,
        "tiled": True, "blockxsize": 512, "blockysize": 512, "compress": "deflate",
    }  # fmt: skip
    tmp = path.with_suffix(".tmp.tif")
    with rasterio.open(tmp, "w", **profile) as dst:
        for r0 in range(0, TILE, 1000):
            idx = np.repeat(np.repeat(coarse[r0 // 100 : r0 // 100 + 11], 100, 0), 100, 1)
            block = CLASSES[idx[:1000, :TILE]]
            flip = rng.random(block.shape) < 0.3
            block[flip] = CLASSES[rng.integers(0, len(CLASSES), int(flip.sum()))]
            dst.write(block, 1, window=rasterio.windows.Window(0, r0, TILE, 1000))
    tmp.rename(path)
    return path


def make_mosaic(tile: Path, cols: int, rows: int) -> Path:
    """A VRT of ``cols`` × ``rows`` px repeating ``tile`` (the last tiles cut)."""
    path = WORK / f"mosaic_{cols}x{rows}.vrt"
    wkt = CRS.from_epsg(3035).to_wkt()
    sources = []
    for r0 in range(0, rows, TILE):
        for c0 in range(0, cols, TILE):
            w, h = min(TILE, cols - c0), min(TILE, rows - r0)
            sources.append(
                "    <SimpleSource>"
                f'<SourceFilename relativeToVRT="1">{tile.name}</SourceFilename>'
                "<SourceBand>1</SourceBand>"
                f'<SourceProperties RasterXSize="{TILE}" RasterYSize="{TILE}" '
                'DataType="UInt16" BlockXSize="512" BlockYSize="512"/>'
                f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
                f'<DstRect xOff="{c0}" yOff="{r0}" xSize="{w}" ySize="{h}"/>'
                "</SimpleSource>"
            )
    xml = (
        f'<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">\n'
        f"  <SRS>{wkt}</SRS>\n"
        f"  <GeoTransform>{X0}, {RES_M}, 0, {Y0}, 0, {-RES_M}</GeoTransform>\n"
        '  <VRTRasterBand dataType="UInt16" band="1">\n'
        "    <NoDataValue>0</NoDataValue>\n" + "\n".join(sources) + "\n"
        "  </VRTRasterBand>\n</VRTDataset>\n"
    )
    path.write_text(xml, encoding="utf-8")
    return path


def make_communes(cols: int, rows: int, n: int, seed: int = 2) -> gpd.GeoDataFrame:
    """Voronoi cells of ``n`` random points over the grid, densified every 200 m (cached)."""
    path = WORK / f"communes_{cols}x{rows}_{n}.gpkg"
    if path.exists():
        return gpd.read_file(path, engine="pyogrio")
    rng = np.random.default_rng(seed)
    w, h = cols * RES_M, rows * RES_M
    extent = shapely.box(X0, Y0 - h, X0 + w, Y0)
    pts = rng.uniform(0, 1, size=(n, 2)) * np.array([w, h]) + np.array([X0, Y0 - h])
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=extent))
    cells = shapely.segmentize(shapely.intersection(cells, extent), 200.0)
    frame = gpd.GeoDataFrame(geometry=cells, crs="EPSG:3035")
    frame.to_file(path, layer="communes", engine="pyogrio")
    return frame


def same_bits(a: ZonalResult, b: ZonalResult) -> bool:
    """Every figure of two results equal to the last bit."""
    arrays = ("zone_area_m2", "valid_area_m2", "pixel_count")
    if any(getattr(a, k).tobytes() != getattr(b, k).tobytes() for k in arrays):
        return False
    return a.crosstab.equals(b.crosstab) and all(
        a.crosstab[c].to_numpy().tobytes() == b.crosstab[c].to_numpy().tobytes()
        for c in a.crosstab.columns
    )


def in_process(zones: gpd.GeoDataFrame, vrt: Path) -> tuple[float, ZonalResult, dict]:
    """The cross-tab in this process; also each block's partial sums apart (their size,
    the time to add them in order) [s, bytes]."""
    ref = raster_info(vrt, "land cover")
    areas = PixelAreaModel.for_grid(ref.crs, ref.transform, ref.width, ref.height)
    n = len(block_windows(ref.width, ref.height, BLOCK_PIXELS))
    t0 = time.perf_counter()
    blocks = iter_blocks(ref, block_pixels=BLOCK_PIXELS)
    result = zonal_crosstab(zones, blocks, areas, n_blocks=n, engine="numba", cache=None)
    elapsed = time.perf_counter() - t0
    layers = CrosstabLayers(["landcover"], (), (), {})
    edges = ZoneBlocks(np.asarray(zones.geometry.values), ref.transform, None)
    partials = [
        block_partial(b, edges, areas, layers, "numba")
        for b in iter_blocks(ref, block_pixels=BLOCK_PIXELS)
    ]
    t0 = time.perf_counter()
    again = reduce_partials(len(zones), layers, partials, n)
    reduce_s = time.perf_counter() - t0
    assert same_bits(result, again)
    sizes = [len(pickle.dumps(p, protocol=5)) for p in partials]
    return elapsed, result, {"reduce_s": reduce_s, "partial_bytes": statistics.mean(sizes)}


def on_cluster(
    zones: gpd.GeoDataFrame, vrt: Path, warm: Path, workers: int
) -> tuple[float, ZonalResult, dict]:
    """The cross-tab on a warmed-up local cluster of ``workers`` processes [s]."""
    ref, small = raster_info(vrt, "land cover"), raster_info(warm, "land cover")
    areas = PixelAreaModel.for_grid(ref.crs, ref.transform, ref.width, ref.height)
    t0 = time.perf_counter()
    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster, Client(cluster) as client:  # fmt: skip
        start_s = time.perf_counter() - t0
        address = cluster.scheduler_address
        cluster_crosstab(address, zones, small, [], areas, block_pixels=BLOCK_PIXELS)  # warm-up
        shared = _Zones(np.asarray(zones.geometry.values, dtype=object), areas)
        t0 = time.perf_counter()
        client.scatter(shared, broadcast=True, hash=False)
        scatter_s = time.perf_counter() - t0
        with get_task_stream(client) as stream:
            t0 = time.perf_counter()
            result = cluster_crosstab(address, zones, ref, [], areas, block_pixels=BLOCK_PIXELS)
            elapsed = time.perf_counter() - t0
        computes = [
            s["stop"] - s["start"]
            for task in stream.data
            for s in task["startstops"]
            if s["action"] == "compute"
        ]
    facts = {
        "start_s": start_s,
        "scatter_s": scatter_s,
        "task_compute_mean_s": statistics.mean(computes),
        "task_compute_median_s": statistics.median(computes),
        "tasks": len(computes),
    }
    return elapsed, result, facts


def cold_read_px_per_s(tile: Path) -> float:
    """Pixels per second reading and decompressing the tile once, without GDAL's cache
    (what data that is not repeated costs to read)."""
    with rasterio.Env(GDAL_CACHEMAX=1), rasterio.open(tile) as src:
        t0 = time.perf_counter()
        for window in block_windows(src.width, src.height, BLOCK_PIXELS):
            src.read(1, window=window)
        return src.width * src.height / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cols", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=55_000)
    parser.add_argument("--subset-rows", type=int, default=8_000)
    parser.add_argument("--communes", type=int, default=35_000)
    args = parser.parse_args()
    tile = make_tile()
    full = make_mosaic(tile, args.cols, args.rows)
    subset = make_mosaic(tile, args.cols, args.subset_rows)
    warm = make_mosaic(tile, args.cols, 80)
    zones = make_communes(args.cols, args.rows, args.communes)
    vertices = int(shapely.get_num_coordinates(zones.geometry.values).sum())
    px = args.cols * args.subset_rows
    print(f"grid {args.cols:,} x {args.rows:,} px ({full.stat().st_size:,} bytes of VRT); "
          f"subset {px:,} px; {len(zones):,} communes, {vertices:,} vertices")  # fmt: skip
    t_local, ref, local = in_process(zones, subset)
    print(f"in process: {t_local:.2f} s, {px / t_local:,.0f} px/s; {local}")
    out: dict[str, Any] = {"in_process_s": t_local, **local}
    for workers in (1, 2):
        elapsed, result, facts = on_cluster(zones, subset, warm, workers)
        assert same_bits(ref, result), "the cluster's figures differ from the single process's"
        out[f"workers_{workers}"] = {"s": elapsed, **facts}
        print(f"{workers} worker(s): {elapsed:.2f} s, {px / elapsed:,.0f} px/s, "
              f"{px / elapsed / workers:,.0f} px/s per worker; {facts}")  # fmt: skip
    t1, t2 = out["workers_1"]["s"], out["workers_2"]["s"]
    out["efficiency_2"] = t1 / (2 * t2)
    out["cold_read_px_per_s"] = cold_read_px_per_s(tile)
    out["tile_bytes_per_px"] = tile.stat().st_size / TILE**2
    out["machine"] = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    out.update(subset_px=px, full_px=args.cols * args.rows, communes=len(zones), vertices=vertices)
    print(f"scaling efficiency 1 -> 2 workers: {out['efficiency_2']:.2f}")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
