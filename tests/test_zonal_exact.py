"""Exact-coverage zonal cross-tab (``zonal.method: exact``): hand-computed areas from pixel
coverage fractions, totals equal to the polygons' areas, secondary layers, the notice."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from click.testing import CliRunner
from pydantic import ValidationError
from pyproj import Geod
from shapely.geometry import box

from geocarbon.cli import main
from geocarbon.config import ZonalConfig
from geocarbon.errors import InputError
from geocarbon.geo import PixelAreaModel
from geocarbon.io.exact import exact_cells
from geocarbon.io.raster import iter_blocks, raster_info
from geocarbon.notice_texts import notice_text
from geocarbon.values import RasterInfo
from geocarbon.zonal import NO_VALUE, ZonalResult, zonal_crosstab
from geocarbon.zonal_exact import difference_notice, exact_crosstab
from tests.conftest import REPO, SHARED, realdata, run_shared_pipeline, write_pipeline
from tests.hostile.conftest import make_tiny_inputs

#: 4 x 4 grid of 100 m pixels in an equal-area CRS, (0, 0)-(400, 400): 10,000 m² each.
T100 = Affine(100, 0, 0, 0, -100, 400)
CRS = "EPSG:3035"


def _tif(
    path: Path, arr: np.ndarray, transform: Affine, nodata: float | None, crs: str = CRS
) -> Path:
    with rasterio.open(
        path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
        dtype=arr.dtype, crs=crs, transform=transform, nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(arr, 1)
    return path


def _exact(
    zones: list[shapely.Geometry],
    main: RasterInfo,
    aligned: list[tuple[str, RasterInfo]] | None = None,
    extra_nodata: tuple[float, ...] = (),
    crs: str = CRS,
) -> ZonalResult:
    frame = gpd.GeoDataFrame(geometry=zones, crs=crs)
    pam = PixelAreaModel.for_grid(main.crs, main.transform, main.width, main.height)
    return exact_crosstab(
        exact_cells(frame, main, aligned or []),
        len(frame),
        pam,
        main.width,
        secondary=[name for name, _ in aligned or []],
        extra_nodata=extra_nodata,
    )


def _table(res: ZonalResult) -> dict[tuple[int, ...], float]:
    """The cross-tab as {(zone, codes...): area [m²]}, to the centimetre: exactextract keeps
    coverage fractions in single precision (0.4 is 0.40000001)."""
    keys = ["zone", *res.layers]
    return {
        tuple(int(v) for v in row[:-1]): round(float(row[-1]), 2)
        for row in res.crosstab[[*keys, "area_m2"]].itertuples(index=False, name=None)
    }


@pytest.fixture
def grids(tmp_path: Path) -> dict[str, RasterInfo]:
    # land cover (0 = nodata)   forest map (255 = nodata)   start date (float, NaN)
    # 1 1 2 2                   1 2 . .                     5 5 5 5
    # 1 1 2 2                   1 1 . .                     5 . 5 5
    # 3 3 0 4                   . . . .                     5 5 5 5
    # 3 3 4 4                   . . . .                     5 5 5 5
    lc = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 0, 4], [3, 3, 4, 4]], dtype=np.uint16)
    forest = np.full((4, 4), 255, dtype=np.uint8)
    forest[:2, :2] = [[1, 2], [1, 1]]
    before = np.full((4, 4), 5.0, dtype=np.float32)
    before[1, 1] = np.nan
    return {
        "landcover": raster_info(_tif(tmp_path / "lc.tif", lc, T100, 0), "land cover"),
        "forest": raster_info(_tif(tmp_path / "f.tif", forest, T100, 255), "forest map"),
        "before": raster_info(_tif(tmp_path / "b.tif", before, T100, None), "start date"),
    }


def test_part_of_one_pixel(grids: dict[str, RasterInfo]) -> None:
    # 40 % of the top-left pixel (x 0-40, y 300-400): 0.4 x 10,000 = 4,000 m² of class 1;
    # its centre (50, 350) is outside, so cell-centre counting gives the zone nothing
    res = _exact([box(0, 300, 40, 400)], grids["landcover"])
    assert _table(res) == {(0, 1): 4000.0}
    assert res.zone_area_m2.tolist() == pytest.approx([4000.0], rel=1e-7)
    assert res.pixel_count.tolist() == [1]
    frame = gpd.GeoDataFrame(geometry=[box(0, 300, 40, 400)], crs=CRS)
    centre = zonal_crosstab(
        frame,
        iter_blocks(grids["landcover"]),
        PixelAreaModel.for_grid(CRS, T100, 4, 4),
    )
    assert centre.pixel_count.tolist() == [0]


def test_zone_over_nine_pixels_with_nodata(grids: dict[str, RasterInfo]) -> None:
    # x 50-250 covers 50 / 100 / 50 m of columns 0 / 1 / 2; y 150-350 covers 50 / 100 / 50 m
    # of rows 0 / 1 / 2: areas (m²)  2,500  5,000  2,500
    #                                5,000 10,000  5,000
    #                                2,500  5,000  2,500 (row 2, column 2: nodata)
    res = _exact([box(50, 150, 250, 350)], grids["landcover"])
    assert _table(res) == {
        (0, 1): 22500.0,  # 2,500 + 5,000 + 5,000 + 10,000
        (0, 2): 7500.0,  # 2,500 + 5,000
        (0, 3): 7500.0,  # 2,500 + 5,000
    }
    assert res.zone_area_m2.tolist() == pytest.approx([40000.0])  # 200 m x 200 m
    assert res.valid_area_m2.tolist() == pytest.approx([37500.0])  # minus 2,500 of nodata
    assert res.pixel_count.tolist() == [9]


def test_extra_nodata_codes(grids: dict[str, RasterInfo]) -> None:
    # class 3 declared no data: the zone of the previous test keeps 22,500 + 7,500 m²
    res = _exact([box(50, 150, 250, 350)], grids["landcover"], extra_nodata=(3.0,))
    assert _table(res) == {(0, 1): 22500.0, (0, 2): 7500.0}
    assert res.valid_area_m2.tolist() == pytest.approx([30000.0])


def test_secondary_layers_weighted_by_coverage(grids: dict[str, RasterInfo]) -> None:
    aligned = [("forest", grids["forest"]), ("before", grids["before"])]
    res = _exact([box(50, 150, 250, 350), box(0, 300, 40, 400)], grids["landcover"], aligned)
    assert res.layers == ["landcover", "forest", "before"]
    assert _table(res) == {
        # zone 0, (land cover, forest, start date): pixel areas as in the test above
        (0, 1, 1, 5): 7500.0,  # row 0 col 0 (2,500) + row 1 col 0 (5,000)
        (0, 1, 1, NO_VALUE): 10000.0,  # row 1 col 1: start date NaN
        (0, 1, 2, 5): 5000.0,  # row 0 col 1
        (0, 2, NO_VALUE, 5): 7500.0,  # forest nodata (255)
        (0, 3, NO_VALUE, 5): 7500.0,
        # zone 1: 40 % of the top-left pixel
        (1, 1, 1, 5): 4000.0,
    }


def test_secondary_layer_on_another_grid(tmp_path: Path, grids: dict[str, RasterInfo]) -> None:
    # a forest map of the same pixels shifted one column east (x 100-500): column 0 of the
    # land cover has no forest value (NO_VALUE), columns 1-3 read its columns 0-2
    forest = np.array([[7, 8, 9, 9]] * 4, dtype=np.uint8)
    shifted = raster_info(
        _tif(tmp_path / "f2.tif", forest, Affine(100, 0, 100, 0, -100, 400), 0), "forest map"
    )
    res = _exact([box(0, 300, 200, 400)], grids["landcover"], [("forest", shifted)])
    # top row, columns 0 and 1 (class 1): 10,000 m² each
    assert _table(res) == {(0, 1, NO_VALUE): 10000.0, (0, 1, 7): 10000.0}


def test_totals_equal_the_polygons_areas(tmp_path: Path) -> None:
    # 30 x 30 pixels of 10 m off the metre grid; a disc, a rotated square and a polygon
    # sticking out of the raster (only its part over the raster counts); to single precision,
    # as exactextract keeps coverage fractions
    transform = Affine(10, 0, 1003.7, 0, -10, 2301.3)
    lc = np.arange(900, dtype=np.uint16).reshape(30, 30) % 7 + 1
    info = raster_info(_tif(tmp_path / "lc.tif", lc, transform, 0), "land cover")
    extent = box(1003.7, 2001.3, 1303.7, 2301.3)
    disc = shapely.Point(1150, 2150).buffer(83.3, 64)
    square = shapely.affinity.rotate(box(1020, 2020, 1100, 2100), 17)
    outside = box(1250, 2250, 1400, 2400)
    res = _exact([disc, square, outside], info)
    expected = [disc.area, square.area, outside.intersection(extent).area]
    assert res.zone_area_m2 == pytest.approx(expected, rel=1e-7)
    assert res.valid_area_m2 == pytest.approx(expected, rel=1e-7)
    per_zone = res.crosstab.groupby("zone")["area_m2"].sum().to_numpy()
    assert per_zone == pytest.approx(expected, rel=1e-7)


def test_two_zones_sharing_pixels_add_up_to_the_grid(tmp_path: Path) -> None:
    # the 4 x 4 grid cut by a zigzag line: each cut pixel is shared, the total is the grid's
    # (to single precision)
    lc = np.ones((4, 4), dtype=np.uint8)
    info = raster_info(_tif(tmp_path / "lc.tif", lc, T100, 0), "land cover")
    line = [(0, 0), (130, 170), (90, 260), (310, 400)]
    left = shapely.Polygon([*line, (0, 400)])
    right = shapely.Polygon([*line, (400, 400), (400, 0)])
    res = _exact([left, right], info)
    assert res.zone_area_m2 == pytest.approx([left.area, right.area], rel=1e-7)
    assert res.zone_area_m2.sum() == pytest.approx(160000.0, rel=1e-7)  # 16 x 10,000 m²


def test_geographic_grid_uses_true_pixel_areas(tmp_path: Path) -> None:
    # 0.01° pixels at 45° N: a zone over the west half of pixel (row 0, col 0) gets half of
    # its ellipsoidal area (pyproj's Geod, not square degrees)
    transform = Affine(0.01, 0, 2.0, 0, -0.01, 45.0)
    lc = np.full((2, 2), 3, dtype=np.uint8)
    info = raster_info(_tif(tmp_path / "lc.tif", lc, transform, 0, "EPSG:4326"), "land cover")
    half = box(2.0, 44.99, 2.005, 45.0)
    res = _exact([half], info, crs="EPSG:4326")
    geod = Geod(ellps="WGS84")
    pixel_m2 = abs(geod.geometry_area_perimeter(box(2.0, 44.99, 2.01, 45.0))[0])
    assert res.valid_area_m2[0] == pytest.approx(pixel_m2 / 2, rel=1e-6)
    # about 787 m x 1,112 m: tens of hectares, never 1e-4 "square degrees"
    assert 850_000 < pixel_m2 < 900_000


def test_non_integer_float_values_are_refused(tmp_path: Path) -> None:
    lc = np.full((4, 4), 211.5, dtype=np.float32)
    info = raster_info(_tif(tmp_path / "lc.tif", lc, T100, None), "land cover")
    with pytest.raises(InputError, match="non-integer values"):
        _exact([box(0, 0, 400, 400)], info)


def test_difference_notice_per_commune() -> None:
    codes = np.array(["46001", "46002", "46003"])
    exact = np.array([25_000.0, 1_000_000.0, 0.0])  # 2.5 ha, 100 ha, none
    centre = np.array([30_000.0, 990_000.0, 0.0])  # 3 ha, 99 ha, none
    notice = difference_notice(codes, exact, centre)
    assert notice is not None and notice.code == "zonal_exact_difference"
    # relative differences: +0.5 / 2.5 = +20 % (46001), -1 / 100 = -1 % (46002); 46003 equal
    assert notice.items == [
        "46001 (2.50 ha exact; 3.00 ha by cell centres: +20.0%)",
        "46002 (100.00 ha exact; 99.00 ha by cell centres: -1.0%)",
    ]
    facts = notice.facts
    assert facts["n_communes"] == 2
    assert (facts["max_abs_commune"], facts["max_abs_diff_ha"]) == ("46002", pytest.approx(1.0))
    assert (facts["max_rel_commune"], facts["max_rel_diff_share"]) == ("46001", pytest.approx(0.2))
    assert (facts["exact_total_ha"], facts["centre_total_ha"]) == (102.5, 102.0)
    french = notice_text(notice, "fr")
    assert "dans 2 communes : jusqu'à 1,00 ha (46002) et 20,0\u00a0% (46001)" in french
    assert "46001 (2,50 ha exacts ; 3,00 ha au centre des pixels : +20,0\u00a0%)" in french
    assert difference_notice(codes, np.zeros(3), centre) is None  # no exact area at all


def test_config_key() -> None:
    assert ZonalConfig().method == "cell_centre"
    assert ZonalConfig(method="exact").method == "exact"
    with pytest.raises(ValidationError):
        ZonalConfig(method="centroid")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        ZonalConfig(methods="exact")  # type: ignore[call-arg]


@realdata
def test_lot_exact_areas_match_the_communes(tmp_path: Path) -> None:
    # pipelines/lot.yaml with zonal.method: exact (CLC 2018 at 100 m, 1-ha pixels, 320
    # communes): each commune's land cover is its area to 0.05 % (its polygon's area is
    # computed in another equal-area CRS, and a few pixels are no data), where cell-centre
    # counting errs by up to 1.4 % (13.6 ha)
    pipeline = tmp_path / "lot_exact.yaml"
    text = (REPO / "pipelines" / "lot.yaml").read_text(encoding="utf-8")
    pipeline.write_text(text + "zonal:\n  method: exact\n", encoding="utf-8")
    out = run_shared_pipeline(pipeline, tmp_path / "out", SHARED / "lot" / "clc2018_100m.tif")
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes")
    assert len(communes) == 320
    gap = (communes["landcover_area_ha"] - communes["area_ha"]).abs() / communes["area_ha"]
    assert gap.max() < 5e-4
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    (notice,) = [n for n in run["notices"] if n["code"] == "zonal_exact_difference"]
    facts = notice["facts"]
    assert facts["exact_total_ha"] == pytest.approx(communes["landcover_area_ha"].sum())
    assert facts["max_rel_diff_share"] > 0.01  # cell centres: over 1 % in some commune
    assert len(notice["items"]) == facts["n_communes"] > 0
    # the report's method section says how the areas were counted
    assert "Surfaces exactes (zonal.method : exact)" in (out / "report.html").read_text("utf-8")


def test_batches_give_the_same_figures(grids: dict[str, RasterInfo]) -> None:
    # one zone per batch (a batch of at most 1 pixel) or all zones at once: same cross-tab
    zones = [box(50, 150, 250, 350), box(0, 300, 40, 400), box(120, 20, 380, 90)]
    frame = gpd.GeoDataFrame(geometry=zones, crs=CRS)
    info = grids["landcover"]
    pam = PixelAreaModel.for_grid(info.crs, info.transform, info.width, info.height)
    one = exact_crosstab(exact_cells(frame, info, batch_pixels=1), 3, pam, info.width)
    together = _exact(zones, info)
    assert one.crosstab.equals(together.crosstab)
    assert one.zone_area_m2.tolist() == together.zone_area_m2.tolist()


def test_scattered_pixel_areas_match_the_blocks() -> None:
    # Lambert-93 (not equal-area) and lon/lat grids: the area of each listed pixel is the
    # one the block reader's model gives it (tiles of 16 x 16 pixels from the grid's origin)
    for crs, transform in (
        ("EPSG:2154", Affine(100, 0, 500_000, 0, -100, 6_500_000)),
        ("EPSG:4326", Affine(0.01, 0, 2.0, 0, -0.01, 45.0)),
    ):
        pam = PixelAreaModel.for_grid(crs, transform, 64, 48)
        assert pam.kind in {"grid", "rows"}
        rows = np.array([0, 5, 17, 47, 47])
        cols = np.array([0, 63, 16, 31, 32])
        block = np.broadcast_to(pam.block_m2(0, 0, 48, 64), (48, 64))
        assert pam.cells_m2(rows, cols) == pytest.approx(block[rows, cols], rel=1e-12)


def test_tiny_territory_run_exact(tmp_path: Path) -> None:
    # the tiny territory of tests/test_pipeline.py (4 x 4 pixels of 1 ha, CLC codes):
    #   211 211 | 311 311
    #   211 211 | 311 311
    #   112 141 | 312 312
    #   112 112 | 231 231
    # with the boundary moved from x = 200 to x = 140 m: 46001 holds column 0 and 40 % of
    # column 1, whose centres (x = 150) lie in 46002
    communes, _ = make_tiny_inputs(tmp_path)
    x0, y1 = communes.total_bounds[0], communes.total_bounds[3]
    communes.geometry = [
        box(x0, y1 - 400, x0 + 140, y1),
        box(x0 + 140, y1 - 400, x0 + 400, y1),
    ]
    communes.to_file(tmp_path / "communes.gpkg", layer="communes")
    pipeline = write_pipeline(
        tmp_path / "pipeline.yaml",
        {
            "name": "tiny",
            "output_dir": "out",
            "communes": {"path": "communes.gpkg", "code_field": "code", "name_field": "nom"},
            "landcover": {"path": "lc.tif"},
            "carbon": {"coefficients": "generic"},
            "zonal": {"method": "exact"},
        },
    )
    result = CliRunner().invoke(main, ["-q", "run", str(pipeline)])
    assert result.exit_code == 0, result.output
    landuse = gpd.read_file(tmp_path / "out" / "geocarbon.gpkg", layer="landuse_areas")
    areas = {(r.commune_code, r.landuse_code): round(r.area_ha, 6) for r in landuse.itertuples()}
    assert areas == {
        # 46001: column 0 (211 211 112 112) whole + 0.4 ha of each pixel of column 1
        ("46001", 211): 2.8,  # 2 + 0.4 + 0.4
        ("46001", 112): 2.4,  # 2 + 0.4
        ("46001", 141): 0.4,
        # 46002: 0.6 ha of each pixel of column 1, columns 2-3 whole
        ("46002", 211): 1.2,
        ("46002", 141): 0.6,
        ("46002", 112): 0.6,
        ("46002", 311): 4.0,
        ("46002", 312): 2.0,
        ("46002", 231): 2.0,
    }
    run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    (notice,) = [n for n in run["notices"] if n["code"] == "zonal_exact_difference"]
    # cell centres: 46001 gets column 0 only (4 ha: -1.6 / 5.6 = -28.6 %), 46002 the rest
    # (12 ha: +1.6 / 10.4 = +15.4 %)
    assert notice["items"] == [
        "46001 (5.60 ha exact; 4.00 ha by cell centres: -28.6%)",
        "46002 (10.40 ha exact; 12.00 ha by cell centres: +15.4%)",
    ]
    assert run["totals"]["landcover_area_ha"] == pytest.approx(16.0)
