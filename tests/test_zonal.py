"""Zonal engine: hand-computed class areas, cell-centre rule, blocks, nodata, alignment."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import Transformer
from shapely.geometry import box

from geocarbon.errors import InputError
from geocarbon.geo import PixelAreaModel, area_ha, pixel_to_xy
from geocarbon.io.raster import RasterBlock, block_windows, iter_blocks, raster_info
from geocarbon.zonal import NO_VALUE, zonal_crosstab

T10 = Affine(10, 0, 0, 0, -10, 40)  # 4 x 4 grid of 10 m pixels, (0, 0)-(40, 40)
CONST = PixelAreaModel("EPSG:3035", T10, "constant", 100.0)


def _zones(*geoms: shapely.Geometry) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=list(geoms), crs="EPSG:3035")


def _block(arr: np.ndarray, nodata: float | None = None, **others: np.ndarray) -> RasterBlock:
    b = RasterBlock(0, 0, T10, {"landcover": arr, **others}, {"landcover": nodata})
    for k in others:
        b.nodata[k] = None
    return b


def test_hand_computed_class_areas() -> None:
    # classes          zone 0 = left half (x < 20), zone 1 = right half
    # 1 1 | 2 2
    # 1 1 | 2 2
    # 3 3 | . 4        ('.' = NaN, nodata)
    # 3 3 | 4 4
    arr = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, np.nan, 4], [3, 3, 4, 4]], dtype="float32")
    res = zonal_crosstab(_zones(box(0, 0, 20, 40), box(20, 0, 40, 40)), [_block(arr)], CONST)
    got = {(int(r.zone), int(r.landcover)): r.area_m2 for r in res.crosstab.itertuples()}
    # zone 0: 4 px of class 1, 4 px of class 3 -> 400 m² each; zone 1: 4 px of 2, 3 px of 4
    assert got == {(0, 1): 400.0, (0, 3): 400.0, (1, 2): 400.0, (1, 4): 300.0}
    assert res.zone_area_m2.tolist() == [800.0, 800.0]  # nodata pixel still in the zone
    assert res.valid_area_m2.tolist() == [800.0, 700.0]
    assert res.pixel_count.tolist() == [8, 8]


def test_cell_centre_rule_and_each_pixel_once() -> None:
    arr = np.ones((4, 4), dtype=np.uint8)
    # boundary at x = 14: column 0 (centre x = 5) is inside A, column 1 (centre 15) is not
    res = zonal_crosstab(_zones(box(0, 0, 14, 40), box(14, 0, 40, 40)), [_block(arr)], CONST)
    assert res.pixel_count.tolist() == [4, 12]
    # overlapping zones: each pixel is counted once (the later zone wins on the overlap)
    res = zonal_crosstab(_zones(box(0, 0, 30, 40), box(10, 0, 40, 40)), [_block(arr)], CONST)
    assert res.pixel_count.tolist() == [4, 12]
    assert res.zone_area_m2.sum() == 1600.0


def test_zone_outside_pixels_and_outside_area() -> None:
    arr = np.full((4, 4), 7, dtype=np.int16)
    # zone covering the top-left pixel only; a second zone between pixel centres gets none
    res = zonal_crosstab(_zones(box(0, 30, 10, 40), box(21, 21, 24, 24)), [_block(arr)], CONST)
    assert res.pixel_count.tolist() == [1, 0]
    assert res.outside_valid_area_m2 == 1500.0  # 15 pixels in no zone


def test_non_integer_float_values_are_refused() -> None:
    arr = np.full((4, 4), 211.5, dtype="float32")
    with pytest.raises(InputError, match="non-integer values"):
        zonal_crosstab(_zones(box(0, 0, 40, 40)), [_block(arr)], CONST)


def test_extra_nodata_codes_and_integer_nodata() -> None:
    arr = np.array([[999, 211, 211, 0]] * 4, dtype=np.uint16)
    res = zonal_crosstab(
        _zones(box(0, 0, 40, 40)), [_block(arr, nodata=0)], CONST, extra_nodata=[999]
    )
    assert res.crosstab["landcover"].tolist() == [211]
    assert res.valid_area_m2.tolist() == [800.0]


def test_matches_brute_force_point_in_polygon(tmp_path, raster_factory) -> None:
    rng = np.random.default_rng(3)
    rows, cols = 37, 53
    arr = rng.integers(1, 6, size=(rows, cols)).astype(np.uint8)
    t = Affine(30, 0, 1000, 0, -30, 5000)
    path = raster_factory("r.tif", arr, transform=t, crs="EPSG:3035", nodata=None)
    polys = [
        shapely.Polygon([(1010, 4990), (1800, 4700), (1500, 4000), (1100, 4100)]),
        box(1400, 3950, 2600, 4600),
        shapely.Point(2200, 4800).buffer(250),
        box(900, 3800, 1300, 4050),  # partly outside the raster
    ]
    zones = _zones(*polys)
    info = raster_info(path, "test")
    pam = PixelAreaModel.for_grid(info.crs, info.transform, cols, rows)
    one = zonal_crosstab(zones, iter_blocks(info, block_pixels=10**6), pam)
    many = zonal_crosstab(zones, iter_blocks(info, block_pixels=100), pam)  # 100-pixel blocks
    pd.testing.assert_frame_equal(one.crosstab, many.crosstab)
    # brute force: every pixel centre, last containing polygon wins
    yy, xx = np.mgrid[0:rows, 0:cols]
    cx, cy = pixel_to_xy(t, xx + 0.5, yy + 0.5)
    owner = np.full((rows, cols), -1)
    for i, p in enumerate(polys):
        owner[shapely.contains_xy(p, cx, cy)] = i
    expected = (
        pd.DataFrame({"zone": owner.ravel(), "landcover": arr.ravel()})
        .query("zone >= 0")
        .value_counts()
        .sort_index()
        * 900.0
    )
    got = one.crosstab.set_index(["zone", "landcover"])["area_m2"].sort_index()
    assert got.to_dict() == expected.to_dict()


def test_block_windows_cover_every_pixel_once() -> None:
    cover = np.zeros((23, 17), dtype=int)
    for w in block_windows(17, 23, 40):
        cover[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] += 1
    assert (cover == 1).all()
    assert len(block_windows(10_000, 10, 4_000)) == 30  # one row split into 3 column chunks


def test_secondary_layer_aligned_with_nearest(raster_factory) -> None:
    main = np.full((4, 4), 311, dtype=np.uint16)
    lc = raster_factory(
        "lc.tif", main, transform=Affine(100, 0, 0, 0, -100, 400), crs="EPSG:3035", nodata=0
    )
    # forest map on a 200 m grid: each main pixel takes the coarse pixel containing its centre
    forest = np.array([[1, 2], [4, 0]], dtype=np.uint8)
    fm = raster_factory(
        "f.tif", forest, transform=Affine(200, 0, 0, 0, -200, 400), crs="EPSG:3035", nodata=0
    )
    info = raster_info(lc, "lc")
    blocks = list(iter_blocks(info, [("forest", raster_info(fm, "f"))]))
    np.testing.assert_array_equal(
        blocks[0].arrays["forest"], [[1, 1, 2, 2], [1, 1, 2, 2], [4, 4, 0, 0], [4, 4, 0, 0]]
    )
    pam = PixelAreaModel.for_grid(info.crs, info.transform, 4, 4)
    res = zonal_crosstab(_zones(box(0, 0, 400, 400)), blocks, pam, secondary=["forest"])
    got = {int(r.forest): r.area_m2 for r in res.crosstab.itertuples()}
    assert got == {NO_VALUE: 40_000.0, 1: 40_000.0, 2: 40_000.0, 4: 40_000.0}


def test_categorical_alignment_never_interpolates(raster_factory) -> None:
    # main grid: 10 x 10 pixels of 30 m in LAEA Europe, just south-east of the projection's
    # centre (x 4,321,000 m, y 3,210,000 m = 10° E, 52° N)
    x0, y0 = 4_321_030.0, 3_209_970.0
    main = np.full((10, 10), 1, dtype=np.uint8)
    lc = raster_factory("lc.tif", main, transform=Affine(30, 0, x0, 0, -30, y0), crs="EPSG:3035")
    # forest map in degrees over the same ground: a 16 x 16 checker of 0.001° cells from
    # (10° E, 52° N), i.e. about 69 m x 111 m, larger than the main pixels
    step = 0.001
    checker = np.where((np.add.outer(np.arange(16), np.arange(16)) % 2) == 0, 1, 4).astype(np.uint8)
    fm = raster_factory(
        "f.tif", checker, transform=Affine(step, 0, 10.0, 0, -step, 52.0), crs="EPSG:4326"
    )
    info = raster_info(lc, "lc")
    blocks = list(iter_blocks(info, [("forest", raster_info(fm, "f"))]))
    got = blocks[0].arrays["forest"]
    # expected: the checker cell holding each main pixel's centre, projected independently
    to_degrees = Transformer.from_crs("EPSG:3035", "EPSG:4326", always_xy=True)
    cols, rows = np.meshgrid(np.arange(10) + 0.5, np.arange(10) + 0.5)
    lon, lat = to_degrees.transform(x0 + 30 * cols, y0 - 30 * rows)
    lon_i = np.floor((lon - 10.0) / step).astype(int)
    lat_i = np.floor((52.0 - lat) / step).astype(int)
    assert lon_i.min() >= 0 and lat_i.min() >= 0 and max(lon_i.max(), lat_i.max()) < 16
    np.testing.assert_array_equal(got, checker[lat_i, lon_i])
    # never a value between 1 and 4, never off the map: 50 pixels of each, 45,000 m² each
    assert dict(zip(*np.unique(got, return_counts=True), strict=True)) == {1: 50, 4: 50}
    pam = PixelAreaModel.for_grid(info.crs, info.transform, 10, 10)
    res = zonal_crosstab(_zones(box(x0, y0 - 300, x0 + 300, y0)), blocks, pam, secondary=["forest"])
    areas = {int(r.forest): r.area_m2 for r in res.crosstab.itertuples()}
    assert areas == {1: 45_000.0, 4: 45_000.0}


def _true_area_m2(poly: shapely.Polygon, crs: str) -> float:
    s = gpd.GeoSeries([poly.segmentize(1.0 if crs != "EPSG:4326" else 0.01)], crs=crs)
    return float(s.to_crs("EPSG:6933").area.iloc[0])  # world cylindrical equal-area


def test_pixel_area_models() -> None:
    laea = PixelAreaModel.for_grid("EPSG:3035", Affine(100, 0, 3.6e6, 0, -100, 2.4e6), 100, 100)
    assert laea.kind == "constant"
    assert laea.block_m2(0, 0, 2, 2) == 10_000.0
    # Lambert-93 is conformal: a 100 m pixel near (600 km, 6400 km) is not 10,000 m²
    t93 = Affine(100, 0, 600_000, 0, -100, 6_400_000)
    l93 = PixelAreaModel.for_grid("EPSG:2154", t93, 100, 100)
    assert l93.kind == "grid"
    pix = box(600_000 + 800, 6_400_000 - 900, 600_000 + 900, 6_400_000 - 800)  # row 8, col 8
    got = np.asarray(l93.block_m2(0, 0, 16, 16))[8, 8]
    assert got == pytest.approx(_true_area_m2(pix, "EPSG:2154"), rel=2e-5)
    # geographic grid: exact cell area on the ellipsoid, varying with latitude
    geo = PixelAreaModel.for_grid("EPSG:4326", Affine(0.01, 0, 1.0, 0, -0.01, 45.0), 10, 10)
    rows = np.asarray(geo.block_m2(0, 0, 3, 3))[:, 0]
    cell = box(1.0, 44.99, 1.01, 45.0)
    assert rows[0] == pytest.approx(_true_area_m2(cell, "EPSG:4326"), rel=1e-5)
    assert rows[0] < rows[1] < rows[2]  # cells grow towards the equator


def test_area_ha_is_true_area_whatever_the_crs() -> None:
    sq = gpd.GeoSeries([box(600_000, 6_400_000, 601_000, 6_401_000)], crs="EPSG:2154")
    in_degrees = gpd.GeoDataFrame(geometry=sq.to_crs("EPSG:4326"))
    expected = _true_area_m2(sq.iloc[0], "EPSG:2154") / 1e4
    assert area_ha(in_degrees)[0] == pytest.approx(expected, rel=1e-5)
    assert area_ha(gpd.GeoDataFrame(geometry=sq))[0] == pytest.approx(expected, rel=1e-5)


def test_continuous_layer_sums() -> None:
    # population per pixel; NaN = no data; zone 0 = left half, zone 1 = right half
    arr = np.full((4, 4), 211, dtype=np.uint16)
    pop = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [np.nan, 1, 1, 1], [0, 0, 0, 10]], dtype="float32")
    block = _block(arr, pop=pop)
    res = zonal_crosstab(
        _zones(box(0, 0, 20, 40), box(20, 0, 40, 40)), [block], CONST, continuous=["pop"]
    )
    # left: 1 + 2 + 5 + 6 + 1 + 0 + 0 = 15; right: 3 + 4 + 7 + 8 + 1 + 1 + 0 + 10 = 34
    assert res.sums["pop"].tolist() == [15.0, 34.0]


def test_sparse_wide_code_range_and_secondary_nodata() -> None:
    # codes 1 and 60000 with nodata 65535 (a range of 65,535 codes holding 3 values)
    arr = np.array([[1, 1, 60000, 65535]] * 4, dtype=np.uint16)
    sec = np.array([[5, 0, 5, 5]] * 4, dtype=np.uint8)  # 0 = no value in the secondary layer
    block = RasterBlock(
        0, 0, T10, {"landcover": arr, "forest": sec}, {"landcover": 65535, "forest": 0}
    )
    res = zonal_crosstab(_zones(box(0, 0, 40, 40)), [block], CONST, secondary=["forest"])
    got = {(int(r.landcover), int(r.forest)): r.area_m2 for r in res.crosstab.itertuples()}
    assert got == {(1, 5): 400.0, (1, NO_VALUE): 400.0, (60000, 5): 400.0}
    assert res.valid_area_m2.tolist() == [1200.0] and res.zone_area_m2.tolist() == [1600.0]


def test_cells_whose_centre_is_inside_the_bounds_are_all_read(tmp_path: Path) -> None:
    """Bounds ending inside a cell: the window is widened to whole cells (rounding the offset
    and the length separately lost the last row and column, whose centres are inside)."""
    from geocarbon.io.raster import raster_info, read_cells
    from tests.conftest import write_raster

    values = np.arange(1, 26, dtype="float32").reshape(5, 5)  # 200 m cells from (0, 1000)
    path = write_raster(tmp_path / "pop.tif", values, transform=Affine(200, 0, 0, 0, -200, 1000))
    # x and y from 280 to 920 (window offset 1.4, length 3.2 cells): centres 300 (column 1)
    # to 900 (column 4) are inside; rounding offset and length apart read columns 1-3 only
    xs, ys, pop = read_cells(raster_info(path, "population raster"), (280, 280, 920, 920))
    inside = (xs > 280) & (xs < 920) & (ys > 280) & (ys < 920)
    got = sorted(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    centres = (300.0, 500.0, 700.0, 900.0)
    assert got == [(x, y) for x in centres for y in centres]
    # rows 0-3 (y 900 to 300), columns 1-4 of the array
    assert float(pop[inside].sum()) == float(values[0:4, 1:5].sum())


def test_equivalent_crs_moves_no_coordinate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A raster CRS equal to the communes' but not exactly the same (a GeoTIFF's WKT without
    the EPSG identifier) is not reprojected: no vertex moves; another CRS is reprojected."""
    from pyproj import CRS

    from geocarbon.geo import in_crs

    # a Lambert-93 triangle with coordinates that a projection round trip could alter
    triangle = shapely.Polygon(
        [
            (652_469.123456789, 6_862_035.987654321),
            (652_569.1, 6_862_035.9),
            (652_569.1, 6_862_135.3),
        ]
    )
    communes = gpd.GeoDataFrame({"code": ["46042"]}, geometry=[triangle], crs="EPSG:2154")
    as_in_tiff = CRS.from_wkt(CRS("EPSG:2154").to_wkt("WKT1_GDAL"))
    assert as_in_tiff.equals(communes.crs) and not as_in_tiff.is_exact_same(communes.crs)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("to_crs called for an equivalent CRS")

    with monkeypatch.context() as m:
        m.setattr(gpd.GeoDataFrame, "to_crs", refused)
        same = in_crs(communes, as_in_tiff)
    assert same.crs.is_exact_same(as_in_tiff)  # labelled with the raster's CRS
    assert (
        shapely.get_coordinates(same.geometry.values).tobytes()
        == shapely.get_coordinates(communes.geometry.values).tobytes()
    )
    assert same["code"].tolist() == ["46042"] and communes.crs.to_epsg() == 2154  # input kept
    # a different CRS is reprojected, as to_crs does
    moved = in_crs(communes, "EPSG:3035")
    expected = communes.to_crs("EPSG:3035")
    assert (
        shapely.get_coordinates(moved.geometry.values).tolist()
        == shapely.get_coordinates(expected.geometry.values).tolist()
    )
    assert abs(moved.geometry.iloc[0].area - expected.geometry.iloc[0].area) == 0.0


def test_communes_put_on_the_grid_once_per_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cross-tab and the pixel maps get the very same reprojected geometries (one
    reprojection per run; the zone cache recognises them); new communes are reprojected."""
    from pyproj import CRS

    from geocarbon.capabilities import carbon_step
    from geocarbon.state import Inputs
    from geocarbon.values import RasterInfo

    communes = gpd.GeoDataFrame(
        {"commune_code": ["46042"]}, geometry=[box(1.40, 44.40, 1.50, 44.50)], crs="EPSG:4326"
    )
    inputs = Inputs(communes=communes, files={})
    inputs.parts["carbon"] = carbon_step.CarbonInputs()
    grid = RasterInfo(
        Path("lc.tif"), CRS("EPSG:3035"), Affine(100, 0, 0, 0, -100, 0), 1, 1, "u2", 0
    )
    calls = []
    real = carbon_step.in_crs
    monkeypatch.setattr(carbon_step, "in_crs", lambda f, c: calls.append(1) or real(f, c))
    first = carbon_step.communes_on_grid(inputs, grid)
    second = carbon_step.communes_on_grid(inputs, grid)
    assert second is first and len(calls) == 1 and first.crs.to_epsg() == 3035
    inputs.communes = communes.copy()  # another frame: reprojected again
    assert carbon_step.communes_on_grid(inputs, grid) is not first and len(calls) == 2
