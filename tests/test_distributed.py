"""The zonal cross-tab on a dask.distributed cluster (``processing.scheduler``): a
``LocalCluster`` of 2 worker processes on localhost gives the single-process figures, bit for
bit, on hand-made rasters and on the demo pipeline."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner
from geopandas.testing import assert_geodataframe_equal
from pydantic import ValidationError
from shapely.geometry import Polygon, box

from geocarbon.cli import main
from geocarbon.config import ProcessingConfig, load_config
from geocarbon.errors import ConfigError, InputError
from geocarbon.geo import PixelAreaModel
from geocarbon.io.raster import iter_blocks, raster_info, read_block
from geocarbon.zonal import ZonalResult, zonal_crosstab
from tests.conftest import REPO, write_pipeline

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """The address of a cluster of 2 worker processes (one thread each) on localhost."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
    ) as cluster:
        yield cluster.scheduler_address


def _write(path: Path, arr: np.ndarray, transform: Affine, crs: str, nodata: float | None) -> Path:
    profile = {
        "driver": "GTiff",
        "height": arr.shape[0],
        "width": arr.shape[1],
        "count": 1,
        "dtype": arr.dtype.name,
        "crs": crs,
        "transform": transform,
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(arr, 1)
    return path


def _both(
    scheduler: str,
    zones: gpd.GeoDataFrame,
    landcover: Path,
    aligned: list[tuple[str, Path]],
    block_pixels: int,
    extra_nodata: tuple[float, ...] = (),
) -> tuple[ZonalResult, ZonalResult]:
    """The cross-tab in this process and on the cluster."""
    from geocarbon.distributed import cluster_crosstab

    ref = raster_info(landcover, "land cover")
    others = [(name, raster_info(path, name)) for name, path in aligned]
    areas = PixelAreaModel.for_grid(ref.crs, ref.transform, ref.width, ref.height)
    secondary = [name for name, _ in others]
    blocks = iter_blocks(ref, others, block_pixels=block_pixels)
    here = zonal_crosstab(
        zones, blocks, areas, secondary=secondary, extra_nodata=extra_nodata, cache=None
    )
    there = cluster_crosstab(
        scheduler,
        zones,
        ref,
        others,
        areas,
        block_pixels=block_pixels,
        secondary=secondary,
        extra_nodata=extra_nodata,
    )
    return here, there


def _assert_identical(a: ZonalResult, b: ZonalResult) -> None:
    """Every figure equal to the last bit (arrays compared as bytes)."""
    for name in ("zone_area_m2", "valid_area_m2", "pixel_count"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.tobytes() == y.tobytes(), name
    pd.testing.assert_frame_equal(a.crosstab, b.crosstab, check_exact=True)
    for column in a.crosstab.columns:
        assert a.crosstab[column].to_numpy().tobytes() == b.crosstab[column].to_numpy().tobytes()
    pd.testing.assert_frame_equal(a.sums, b.sums, check_exact=True)
    assert a.outside_valid_area_m2 == b.outside_valid_area_m2


@pytest.mark.slow
def test_hand_made_raster_on_two_workers(scheduler: str, tmp_path: Path) -> None:
    # 6 columns x 4 rows of 10 m pixels (EPSG:3035, equal-area: 100 m² each), nodata 0:
    #   1 1 1 | 2 2 2        zone 0 = x < 30 (left half), zone 1 = x > 30 (right half)
    #   1 1 0 | 2 2 2        block_pixels 6: one task per row (4 blocks)
    #   3 3 3 | 2 2 5        code 5 declared as nodata too (extra_nodata)
    #   3 3 3 | 3 3 3
    arr = np.array(
        [[1, 1, 1, 2, 2, 2], [1, 1, 0, 2, 2, 2], [3, 3, 3, 2, 2, 5], [3, 3, 3, 3, 3, 3]],
        dtype="uint8",
    )
    t = Affine(10, 0, 3_700_000, 0, -10, 2_800_040)
    lc = _write(tmp_path / "lc.tif", arr, t, "EPSG:3035", 0)
    zones = gpd.GeoDataFrame(
        geometry=[
            box(3_700_000, 2_800_000, 3_700_030, 2_800_040),
            box(3_700_030, 2_800_000, 3_700_060, 2_800_040),
        ],
        crs="EPSG:3035",
    )
    here, there = _both(scheduler, zones, lc, [], block_pixels=6, extra_nodata=(5,))
    got = {(int(r.zone), int(r.landcover)): r.area_m2 for r in there.crosstab.itertuples()}
    # zone 0: 3 + 2 = 5 px of 1, 3 + 3 = 6 px of 3 (1 nodata px);
    # zone 1: 3 + 3 + 2 = 8 px of 2, 3 px of 3 (1 px of code 5, declared nodata)
    assert got == {(0, 1): 500.0, (0, 3): 600.0, (1, 2): 800.0, (1, 3): 300.0}
    assert there.zone_area_m2.tolist() == [1200.0, 1200.0]  # 12 px x 100 m², nodata included
    assert there.valid_area_m2.tolist() == [1100.0, 1100.0]  # 11 valid px each
    assert there.pixel_count.tolist() == [12, 12]
    _assert_identical(here, there)


@pytest.mark.slow
def test_unequal_pixel_areas_and_a_warped_layer(scheduler: str, tmp_path: Path) -> None:
    # Web Mercator pixels: each one's true area differs (areal scale sampled per pixel),
    # so every float sum depends on the order of its terms: the cluster adds the blocks'
    # partial sums in block order, as this process does, and must give the same bits.
    rng = np.random.default_rng(13)
    lc_arr = rng.integers(1, 9, size=(120, 90)).astype("uint16")
    lc_arr[rng.random(lc_arr.shape) < 0.05] = 0
    t = Affine(25, 0, 150_000, 0, -25, 5_600_000)
    lc = _write(tmp_path / "lc.tif", lc_arr, t, "EPSG:3857", 0)
    # a second categorical layer on another grid (30 m, offset): warped to the land cover's
    forest_arr = rng.integers(1, 4, size=(95, 70)).astype("uint8")
    ft = Affine(30, 0, 150_010, 0, -30, 5_599_990)
    forest = _write(tmp_path / "forest.tif", forest_arr, ft, "EPSG:3857", 255)
    # irregular communes, overlapping and leaving some pixels outside every zone
    x0, y0 = 150_000, 5_597_000
    zones = gpd.GeoDataFrame(
        geometry=[
            Polygon([(x0 + 100, y0 + 50), (x0 + 1200, y0 + 300), (x0 + 900, y0 + 2900)]),
            Polygon([(x0 + 800, y0 + 100), (x0 + 2200, y0 + 80), (x0 + 2240, y0 + 1700)]),
            box(x0 + 1000, y0 + 1500, x0 + 2250, y0 + 2990),
            Polygon([(x0 + 10, y0 + 1500), (x0 + 600, y0 + 2990), (x0 + 5, y0 + 2990)]),
        ],
        crs="EPSG:3857",
    )
    here, there = _both(scheduler, zones, lc, [("forest", forest)], block_pixels=1000)
    assert len(there.crosstab) > 50 and there.outside_valid_area_m2 > 0
    _assert_identical(here, there)


@pytest.mark.slow
def test_bad_values_read_on_a_worker_are_refused(scheduler: str, tmp_path: Path) -> None:
    arr = np.array([[1.0, 2.0], [2.5, 1.0]], dtype="float32")
    lc = _write(tmp_path / "lc.tif", arr, Affine(10, 0, 0, 0, -10, 20), "EPSG:2154", None)
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 20)], crs="EPSG:2154")
    with pytest.raises(InputError, match=r"non-integer values \(e\.g\. 2\.5\)"):
        _both(scheduler, zones, lc, [], block_pixels=2)


def test_a_worker_reads_the_file_at_its_path_or_says_it_is_missing(tmp_path: Path) -> None:
    arr = np.ones((2, 2), dtype="uint8")
    lc = _write(tmp_path / "lc.tif", arr, Affine(10, 0, 0, 0, -10, 20), "EPSG:2154", 0)
    info = raster_info(lc, "land cover")
    assert read_block(info, [], (0, 1, 2, 1)).arrays["landcover"].tolist() == [[1, 1]]
    # the file kept open is not read once replaced (another run on the same worker)
    lc.unlink()
    _write(lc, arr * 7, Affine(10, 0, 0, 0, -10, 20), "EPSG:2154", 0)
    assert read_block(info, [], (0, 1, 2, 1)).arrays["landcover"].tolist() == [[7, 7]]
    lc.unlink()
    with pytest.raises(InputError, match="not found on the machine reading it"):
        read_block(info, [], (0, 0, 2, 1))


@pytest.mark.slow
def test_a_scheduler_unreachable_or_without_workers_is_one_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import geocarbon.distributed as gd

    monkeypatch.setattr(gd, "CONNECT_TIMEOUT_S", 2)
    unreachable = r"cannot reach the dask scheduler at tcp://127\.0\.0\.1:1 "
    with pytest.raises(InputError, match=unreachable), gd.cluster_client("tcp://127.0.0.1:1"):
        pass
    with (
        distributed.LocalCluster(n_workers=0, dashboard_address="127.0.0.1:0") as empty,
        pytest.raises(InputError, match="has no worker"),
        gd.cluster_client(empty.scheduler_address),
    ):
        pass


@pytest.mark.parametrize(
    "value", ["local:2", "local:16", "tcp://10.0.0.5:8786", "tcp://hpc-1:8786"]
)
def test_scheduler_values_accepted(value: str) -> None:
    assert ProcessingConfig(scheduler=value).scheduler == value


@pytest.mark.parametrize(
    "value", ["local:0", "local", "local:two", "tcp://10.0.0.5", "http://h:8786", "tcp://h:70000"]
)
def test_scheduler_values_refused(value: str) -> None:
    with pytest.raises(ValidationError, match="is not a scheduler: give 'local:N'"):
        ProcessingConfig(scheduler=value)


def test_a_pipeline_with_a_wrong_scheduler_is_refused_by_name(tmp_path: Path) -> None:
    pipeline = {
        "name": "t",
        "communes": {"path": "communes.gpkg"},
        "landcover": {"path": "lc.tif"},
        "carbon": {"coefficients": "generic"},
        "processing": {"scheduler": "local:two"},
    }
    with pytest.raises(ConfigError, match=r"processing\.scheduler.*'local:two' is not a scheduler"):
        load_config(write_pipeline(tmp_path / "t.yaml", pipeline))
    pipeline["processing"] = {"scheduler": "local:2"}
    assert (
        load_config(write_pipeline(tmp_path / "t.yaml", pipeline)).processing.scheduler == "local:2"
    )


@pytest.mark.slow
def test_demo_on_two_workers_writes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the demo pipeline in this process, then with processing.scheduler "local:2" (a cluster
    # of 2 worker processes started and closed by the run): every output file is the same,
    # byte for byte, but run.json (times, the configuration). The zonal cross-tab runs by
    # blocks on the workers, the rooftop PV step by chunks of 5,000 buildings (the demo's
    # 13,403 buildings: 3 tasks per pass)
    import geocarbon.distributed as gd

    monkeypatch.setattr(gd, "BUILDINGS_PER_TASK", 5_000)
    (tmp_path / "pipelines").mkdir()
    pipeline = tmp_path / "pipelines" / "demo.yaml"
    shutil.copy(REPO / "pipelines" / "demo.yaml", pipeline)
    result = CliRunner().invoke(main, ["-q", "demo", "--pipeline", str(pipeline)])
    assert result.exit_code == 0, result.output
    on_cluster = tmp_path / "pipelines" / "demo_cluster.yaml"
    on_cluster.write_text(
        pipeline.read_text(encoding="utf-8") + '\nprocessing: {scheduler: "local:2"}\n',
        encoding="utf-8",
    )
    out = tmp_path / "cluster"
    result = CliRunner().invoke(main, ["-q", "run", str(on_cluster), "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    single = tmp_path / "outputs" / "demo"
    files = sorted(p.relative_to(single) for p in single.rglob("*") if p.is_file())
    assert sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file()) == files
    assert len(files) > 10
    different = [
        str(f)
        for f in files
        if f.name != "run.json" and (single / f).read_bytes() != (out / f).read_bytes()
    ]
    assert different == []


def _pv_buildings() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Five hand-made buildings (Lambert-93) and two communes side by side."""
    x0, y0 = 380_000.0, 6_570_000.0
    communes = gpd.GeoDataFrame(
        {"commune_code": ["17001", "17002"]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 2000, y0 + 1000)],
        crs="EPSG:2154",
    )
    buildings = gpd.GeoDataFrame(
        {
            # flat (range 0.5 m <= 1 m), pitched, unknown (no range), small pitched, outside
            "roof_range_m": [0.5, 3.0, np.nan, 2.0, 0.2],
            "height_m": [6.0, 9.0, np.nan, 3.0, 4.0],
            "excluded_reason": ["", "", "", "", ""],
            "building_id": ["a", "b", "c", "d", "e"],
        },
        geometry=[
            box(x0 + 100, y0 + 100, x0 + 120, y0 + 110),  # 200 m², commune 17001
            box(x0 + 1100, y0 + 100, x0 + 1120, y0 + 120),  # 400 m², commune 17002
            box(x0 + 500, y0 + 500, x0 + 530, y0 + 510),  # 300 m², commune 17001
            box(x0 + 1500, y0 + 500, x0 + 1504, y0 + 505),  # 20 m², commune 17002
            box(x0 + 2500, y0 + 500, x0 + 2510, y0 + 510),  # 100 m², outside
        ],
        crs="EPSG:2154",
    )
    return buildings, communes


@pytest.mark.slow
def test_pv_buildings_on_two_workers_are_the_same_bits(scheduler: str) -> None:
    # the per-building work of the rooftop PV step (projection to the equal-area CRS,
    # commune of each building, roof model) over chunks of 2 buildings (3 tasks) on the
    # cluster, put back together in chunk order: the same bits as in this process
    from geocarbon.capabilities.pv_step import _joined, _project_and_locate
    from geocarbon.config import PvConfig
    from geocarbon.distributed import chunk_mapper
    from geocarbon.geo import local_equal_area_crs
    from geocarbon.solar.roofs import roof_potential

    buildings, communes = _pv_buildings()
    params = PvConfig.model_validate(
        {"buildings": {"path": "b"}, "weather": {"path": "w.epw"}}
    ).parameters
    yields = {"flat": 1000.0, "pitched": 900.0, "unknown": 900.0}
    eq = local_equal_area_crs(communes)
    zones = communes.to_crs(eq)
    results = []
    for where_run in (None, scheduler):
        with chunk_mapper(where_run, rows_per_task=2) as run:
            parts = run(_project_and_locate, buildings, eq, zones)
            assert len(parts) == (1 if where_run is None else 3)  # 5 buildings, 2 per task
            work, points, where = _joined(parts)
            results.append(
                (work, points, where, _joined(run(roof_potential, work, yields, params)))
            )
    (work_a, points_a, where_a, roofs_a), (work_b, points_b, where_b, roofs_b) = results
    assert where_b.tolist() == [0, 1, 0, 1, -1]  # building e lies east of both communes
    assert where_a.tobytes() == where_b.tobytes()
    assert points_a.to_wkb().tolist() == points_b.to_wkb().tolist()
    assert work_a.index.equals(work_b.index) and work_b.crs == work_a.crs
    assert_geodataframe_equal(roofs_a, roofs_b, check_less_precise=False)
    for column in ("footprint_m2", "usable_m2", "kwp", "kwh_per_yr"):
        assert roofs_a[column].to_numpy().tobytes() == roofs_b[column].to_numpy().tobytes()
    assert roofs_a.geometry.to_wkb().tolist() == roofs_b.geometry.to_wkb().tolist()
    assert roofs_b["roof_type"].tolist() == ["flat", "pitched", "unknown", "pitched", "flat"]
    # kWp = footprint x usable share x 0.2 kWp/m² (the parameters' defaults: share 0.4 flat
    # and pitched, 0.25 unknown; footprints under 50 m² keep 0.75; under 10 m² usable: none):
    # a 200 x 0.4 x 0.2 = 16, b 400 x 0.4 x 0.2 = 32, c 300 x 0.25 x 0.2 = 15,
    # d 20 x 0.4 x 0.75 = 6 m² usable -> 0, e 100 x 0.4 x 0.2 = 8 (not located here);
    # the areas are taken in the equal-area CRS, within 1 % of the Lambert-93 ones
    assert roofs_b["kwp"].tolist() == pytest.approx([16.0, 32.0, 15.0, 0.0, 8.0], rel=1e-2)
    assert roofs_b["excluded_reason"].tolist() == ["", "", "", "usable roof area below 10 m²", ""]
