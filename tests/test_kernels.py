"""Compiled kernels (numba) against the plain-NumPy path: the very same pixels and the very
same figures, bit for bit, on hand-made and random cases; the choice of engine."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import shapely.affinity
from affine import Affine
from shapely.geometry import MultiPolygon, Polygon, box

from geocarbon import kernels
from geocarbon.geo import PixelAreaModel
from geocarbon.io.raster import RasterBlock, block_windows
from geocarbon.rasterize import burn_zones, edge_table
from geocarbon.zonal import ZonalResult, zonal_crosstab

pytestmark = pytest.mark.skipif(not kernels.numba_available(), reason="numba not installed")

T = Affine(10, 0, 0, 0, -10, 100)  # 10 x 10 grid of 10 m pixels over (0, 0)-(100, 100)


def _both(geoms: list, transform: Affine, shape: tuple[int, int], offset=(0, 0)) -> np.ndarray:
    """The zone + 1 of each pixel from both engines, checked equal."""
    edges = edge_table(np.asarray(geoms, dtype=object), transform)
    ref = burn_zones(edges, offset[0], offset[1], *shape, engine="numpy")
    fast = burn_zones(edges, offset[0], offset[1], *shape, engine="numba")
    assert fast.dtype == ref.dtype == np.int32
    np.testing.assert_array_equal(fast, ref)
    return fast


def test_burn_hand_made_overlap_hole_multipolygon() -> None:
    # zone 0: donut (0..100 with a 40 m hole 30..70); zone 1: a 20 m square 0..20 x 80..100
    # lying on the donut (zone 1 wins there); zone 2: two 10 m squares (multi-polygon)
    donut = box(0, 0, 100, 100).difference(box(30, 30, 70, 70))
    geoms = [donut, box(0, 80, 20, 100), MultiPolygon([box(40, 40, 50, 50), box(90, 0, 100, 10)])]
    out = _both(geoms, T, (10, 10))
    # zone 1 (value 2): the top-left 2 x 2 pixels
    assert (out == 2).sum() == 4 and (out[:2, :2] == 2).all()
    # zone 2 (value 3): one pixel in the hole (row 5, col 4) and the bottom-right corner,
    # which lies on the donut too (zone 2 > zone 0 wins)
    assert (out == 3).sum() == 2 and out[5, 4] == 3 and out[9, 9] == 3
    # hole: 4 x 4 = 16 pixels, one of which is zone 2's -> 15 pixels of no zone
    assert (out == 0).sum() == 15
    # donut: 100 - 16 (hole) - 4 (zone 1) - 1 (zone 2's corner) = 79
    assert (out == 1).sum() == 79


def test_burn_blocks_and_random_polygons() -> None:
    rng = np.random.default_rng(3)
    t = Affine(7.3, 0, 13.1, 0, -7.3, 977.7)
    geoms = []
    for _ in range(60):  # random star-shaped polygons, overlapping, some self-touching
        c = rng.uniform(0, 900, 2) + np.array([13.1, 77.7])
        angles = np.sort(rng.uniform(0, 2 * np.pi, 11))
        radii = rng.uniform(5, 120, 11)
        ring = np.column_stack([c[0] + radii * np.cos(angles), c[1] + radii * np.sin(angles)])
        geoms.append(Polygon(ring))
    whole = _both(geoms, t, (130, 125))
    assert len(np.unique(whole)) > 40  # the case is not empty
    for window in block_windows(125, 130, 37 * 29):  # odd blocks: strips of 8 rows
        r0, c0 = int(window.row_off), int(window.col_off)
        part = _both(geoms, t, (int(window.height), int(window.width)), (r0, c0))
        np.testing.assert_array_equal(part, whole[r0 : r0 + part.shape[0], c0 : c0 + part.shape[1]])


def test_burn_zones_not_in_increasing_order() -> None:
    # edges of a reordered table (zones decreasing): the kernel sorts them and still agrees
    edges = edge_table(np.asarray([box(0, 0, 60, 60), box(40, 40, 100, 100)]), T)
    order = np.argsort(-edges.zone, kind="stable")
    shuffled = type(edges)(**{k: getattr(edges, k)[order] for k in edges.__dataclass_fields__})
    ref = burn_zones(edges, 0, 0, 10, 10, engine="numpy")
    np.testing.assert_array_equal(burn_zones(shuffled, 0, 0, 10, 10, engine="numba"), ref)
    # zone 1: cols 4-9 x rows 0-5 = 36 px, the 2 x 2 overlap included (the higher zone wins);
    # zone 0: cols 0-5 x rows 4-9 = 36 px less that overlap
    assert (ref == 2).sum() == 36 and (ref == 1).sum() == 36 - 4


def _assert_identical(a: ZonalResult, b: ZonalResult) -> None:
    """Every array and table equal, floats bit for bit."""
    for name in ("zone_area_m2", "valid_area_m2", "pixel_count"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype
        assert x.tobytes() == y.tobytes(), name
    pd.testing.assert_frame_equal(a.crosstab, b.crosstab, check_exact=True)
    pd.testing.assert_frame_equal(a.sums, b.sums, check_exact=True)
    assert a.outside_valid_area_m2 == b.outside_valid_area_m2


def test_hand_made_crosstab_same_figures() -> None:
    t10 = Affine(10, 0, 0, 0, -10, 40)
    pam = PixelAreaModel("EPSG:3035", t10, "constant", 100.0)
    arr = np.array([[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, np.nan, 4], [3, 3, 4, 4]], dtype="f4")
    pop = np.array([[0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4], [np.nan, 5, 6, 7], [8, 9, 9, 9]], "f4")
    block = RasterBlock(0, 0, t10, {"landcover": arr, "pop": pop}, {"landcover": None, "pop": None})
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 40), box(20, 0, 40, 40)], crs="EPSG:3035")
    res = {
        e: zonal_crosstab(zones, [block], pam, continuous=["pop"], engine=e)
        for e in ("numpy", "numba")
    }
    _assert_identical(res["numba"], res["numpy"])
    # zone 0: classes 1 and 3, 4 px each = 400 m²; zone 1: 4 px of 2, 3 px of 4, 1 nodata
    assert res["numba"].valid_area_m2.tolist() == [800.0, 700.0]
    # float32 values summed as float64 in pixel order: zone 0 = 0.1 + 0.2 + 1 + 2 + 5 + 8 + 9
    left = float(np.float32(0.1)) + float(np.float32(0.2)) + 1 + 2 + 5 + 8 + 9
    assert res["numba"].sums["pop"].tolist()[0] == left


def _random_case(seed: int, crs: str, transform: Affine, shape: tuple[int, int]):
    rng = np.random.default_rng(seed)
    rows, cols = shape
    x0, y0 = transform.c, transform.f
    w, h = cols * transform.a, rows * -transform.e
    pts = rng.uniform(0, 1, size=(40, 2)) * [w, h] + [x0, y0 - h]
    extent = box(x0, y0 - h, x0 + w, y0)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=extent))
    cells = list(shapely.intersection(cells, extent))
    cells.append(shapely.buffer(shapely.Point(x0 + w / 2, y0 - h / 2), w / 5))  # overlaps
    zones = gpd.GeoDataFrame(geometry=cells, crs=crs)
    main = rng.choice(np.array([11, 12, 21, 31, 255], dtype=np.uint8), size=shape)
    before = rng.choice(np.array([11, 12, 21, 31, np.nan], dtype="f4"), size=shape)
    forest = rng.choice(np.array([0, 1, 2, 3], dtype=np.int16), size=shape)
    pop = rng.gamma(2.0, 3.7, size=shape).astype("f4")
    pop[rng.random(shape) < 0.1] = np.nan
    layers = {"landcover": main, "before": before, "forest": forest, "pop": pop}
    nodata = {"landcover": 255, "before": None, "forest": 0, "pop": None}
    return zones, layers, nodata


def _blocks(layers, nodata, transform, shape, block_pixels):
    out = []
    for wdw in block_windows(shape[1], shape[0], block_pixels):
        r0, c0, h, w = int(wdw.row_off), int(wdw.col_off), int(wdw.height), int(wdw.width)
        arrays = {k: v[r0 : r0 + h, c0 : c0 + w] for k, v in layers.items()}
        out.append(
            RasterBlock(r0, c0, transform * Affine.translation(c0, r0), arrays, dict(nodata))
        )
    return out


@pytest.mark.parametrize(
    ("crs", "transform"),
    [
        # equal-area grid: one pixel area, no weights
        ("EPSG:3035", Affine(25, 0, 3_500_000, 0, -25, 2_500_000)),
        # geographic grid: pixel areas vary by row (weighted sums, float order matters)
        ("EPSG:4326", Affine(0.0013, 0, 1.2, 0, -0.0011, 45.3)),
    ],
)
@pytest.mark.parametrize("block_pixels", [10_000, 1_111, 97])
def test_random_crosstab_bit_identical(crs: str, transform: Affine, block_pixels: int) -> None:
    shape = (90, 110)
    zones, layers, nodata = _random_case(5, crs, transform, shape)
    pam = PixelAreaModel.for_grid(crs, transform, shape[1], shape[0])
    res = {
        e: zonal_crosstab(
            zones,
            _blocks(layers, nodata, transform, shape, block_pixels),
            pam,
            secondary=["before", "forest"],
            continuous=["pop"],
            extra_nodata=[31],
            engine=e,
        )
        for e in ("numpy", "numba")
    }
    _assert_identical(res["numba"], res["numpy"])
    assert len(res["numba"].crosstab) > 500  # many combinations were compared


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kernels.ENGINE_ENV, raising=False)
    assert kernels.resolve_engine() == "numba"
    assert kernels.resolve_engine("numpy") == "numpy"
    monkeypatch.setenv(kernels.ENGINE_ENV, "numpy")
    assert kernels.resolve_engine() == "numpy"
    assert kernels.resolve_engine("numba") == "numba"  # an explicit argument wins
    monkeypatch.setenv(kernels.ENGINE_ENV, "fortran")
    with pytest.raises(ValueError, match="GEOCARBON_ENGINE"):
        kernels.resolve_engine()
    monkeypatch.delenv(kernels.ENGINE_ENV)
    # a small grid: loading numba would cost more than it saves
    assert kernels.resolve_engine(pixels=kernels.NUMBA_MIN_PIXELS - 1) == "numpy"
    assert kernels.resolve_engine(pixels=kernels.NUMBA_MIN_PIXELS) == "numba"
    assert kernels.resolve_engine("numba", pixels=100) == "numba"
    monkeypatch.setattr(kernels, "numba_available", lambda: False)  # numba not installed
    assert kernels.resolve_engine() == "numpy"
    with pytest.raises(ValueError, match="not installed"):
        kernels.resolve_engine("numba")


def test_runs_encode_and_decode_exactly() -> None:
    rng = np.random.default_rng(2)
    burnt = np.repeat(rng.integers(0, 5, size=(7, 30)), 3, axis=1).astype(np.int32)
    runs = kernels.encode_runs(burnt)
    np.testing.assert_array_equal(kernels.decode_runs(runs, 7, 90), burnt)
    # hand-made: one row 0 0 3 3 3 0 -> runs starting at columns 0, 2, 5
    starts, cols, values = kernels.encode_runs(np.array([[0, 0, 3, 3, 3, 0]], dtype=np.int32))
    assert starts.tolist() == [0, 3] and cols.tolist() == [0, 2, 5]
    assert values.tolist() == [0, 3, 0]


def test_zone_cache_reuses_burnt_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    import geocarbon.zonal as zonal

    transform = Affine(25, 0, 3_500_000, 0, -25, 2_500_000)
    shape = (90, 110)
    zones, layers, nodata = _random_case(9, "EPSG:3035", transform, shape)
    pam = PixelAreaModel.for_grid("EPSG:3035", transform, shape[1], shape[0])
    cache = zonal.ZoneCache(max_entries=1)

    def run(frame: gpd.GeoDataFrame, engine: str = "numba") -> ZonalResult:
        blocks = _blocks(layers, nodata, transform, shape, 1_111)
        return zonal_crosstab(frame, blocks, pam, secondary=["forest"], engine=engine, cache=cache)

    reference = run(zones, "numpy")
    first = run(zones)  # burns the zones and keeps them
    _assert_identical(first, reference)

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("zones burnt again")

    with monkeypatch.context() as m:
        m.setattr(zonal, "burn_zones", refused)
        # the same geometry objects (a copy of the frame holds them): read from the cache
        _assert_identical(run(zones.copy()), reference)
        # the same shapes as new objects (the layer read again): found by their checksum
        again = zones.set_geometry(shapely.from_wkb(shapely.to_wkb(zones.geometry.values)))
        _assert_identical(run(again), reference)
        assert cache._entries[0].geometries[0] is again.geometry.iloc[0]  # keyed by these now
        # one vertex moved: other shapes, burnt again
        moved = again.copy()
        moved.loc[moved.index[0], "geometry"] = shapely.affinity.translate(
            moved.geometry.iloc[0], xoff=1.0
        )
        with pytest.raises(AssertionError, match="burnt again"):
            run(moved)
    # one entry kept: the new zones pushed the old ones out
    assert len(cache._entries) == 1 and cache._entries[0].geometries[0] is moved.geometry.iloc[0]
    cache.clear()
    assert cache._entries == []


def test_geometry_digest_tells_shapes_apart() -> None:
    from shapely.geometry import Point

    from geocarbon.geo import geometry_digest

    squares = np.array([box(0, 0, 1, 1), box(1, 0, 2, 1), None], dtype=object)
    copies = shapely.from_wkb(shapely.to_wkb(squares))
    assert geometry_digest(squares) == geometry_digest(copies)
    assert geometry_digest(squares, chunk=1) == geometry_digest(squares)
    assert geometry_digest(squares) != geometry_digest(squares[[1, 0, 2]])  # order counts
    assert geometry_digest(squares) != geometry_digest(squares[:2])
    moved = squares.copy()
    moved[1] = box(1, 0, 2, 1.000001)
    assert geometry_digest(squares) != geometry_digest(moved)
    assert geometry_digest(np.array([Point(0, 0)])) != geometry_digest(np.array([None]))


@pytest.mark.parametrize("limit", [200, 3])
def test_sort_based_grouping_bit_identical(monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """Tables too large for dense counting (here a tiny limit: 200 slots exceeds the
    zones x classes present of some blocks, 3 exceeds every class range) are grouped by
    sorting, with the same figures in both engines."""
    import geocarbon.zonal as zonal

    monkeypatch.setattr(zonal, "_DENSE_LIMIT", limit)
    transform = Affine(0.0013, 0, 1.2, 0, -0.0011, 45.3)
    shape = (60, 70)
    zones, layers, nodata = _random_case(4, "EPSG:4326", transform, shape)
    pam = PixelAreaModel.for_grid("EPSG:4326", transform, shape[1], shape[0])
    res = {
        e: zonal_crosstab(
            zones,
            _blocks(layers, nodata, transform, shape, 900),
            pam,
            secondary=["before"],
            engine=e,
            cache=None,
        )
        for e in ("numpy", "numba")
    }
    _assert_identical(res["numba"], res["numpy"])
    monkeypatch.setattr(zonal, "_DENSE_LIMIT", 20_000_000)
    dense = zonal_crosstab(
        zones, _blocks(layers, nodata, transform, shape, 900), pam, secondary=["before"]
    )
    pd.testing.assert_frame_equal(dense.crosstab, res["numpy"].crosstab, check_exact=True)


# --- one land-cover layer counted into one dense table over the whole pass (CodeCounts) ---


def _single_layer_case(seed: int, dtype: str, shape: tuple[int, int]):
    """Zones covering part of the grid only (pixels outside every zone), one overlapping
    the others, and a land-cover layer with nodata and codes met in some blocks only."""
    transform = Affine(25, 0, 3_500_000, 0, -25, 2_500_000)
    zones, _, _ = _random_case(seed, "EPSG:3035", transform, shape)
    rows, cols = shape
    # drop the cells over the grid's right third: no zone there
    right = 3_500_000 + 25 * cols * 2 / 3
    zones = zones[zones.geometry.bounds["minx"] < right].reset_index(drop=True)
    rng = np.random.default_rng(seed)
    codes = np.array([-7, 11, 12, 21, 31, 255] if dtype.startswith("i") else [11, 12, 21, 31, 255])
    main = rng.choice(codes, size=shape).astype(dtype)
    main[: rows // 3] = np.where(main[: rows // 3] == 21, 12, main[: rows // 3])  # 21 later only
    main[rows // 3, :10] = 11  # the first block meeting 21 meets it after some known codes
    main[-3:, -5:] = 4000 if dtype.endswith("16") else 200  # a code of the last blocks only
    return zones, transform, {"landcover": main}, {"landcover": 255}


def _counted_densely(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What CodeCounts.add answered for each block it was offered."""
    import geocarbon.zonal as zonal

    taken: list[bool] = []
    add = zonal.CodeCounts.add

    def spy(self, *args):  # type: ignore[no-untyped-def]
        taken.append(add(self, *args))
        return taken[-1]

    monkeypatch.setattr(zonal.CodeCounts, "add", spy)
    return taken


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16"])
@pytest.mark.parametrize("block_pixels", [10_000, 1_111, 97])
def test_dense_code_table_bit_identical(
    monkeypatch: pytest.MonkeyPatch, dtype: str, block_pixels: int
) -> None:
    shape = (90, 110)
    zones, transform, layers, nodata = _single_layer_case(6, dtype, shape)
    pam = PixelAreaModel.for_grid("EPSG:3035", transform, shape[1], shape[0])
    taken = _counted_densely(monkeypatch)
    res = {
        e: zonal_crosstab(
            zones,
            _blocks(layers, nodata, transform, shape, block_pixels),
            pam,
            extra_nodata=[31],
            engine=e,
            cache=None,
        )
        for e in ("numpy", "numba")
    }
    _assert_identical(res["numba"], res["numpy"])
    assert taken and all(taken)  # every block went into the dense table
    table = res["numba"].crosstab
    assert res["numba"].outside_valid_area_m2 > 0  # pixels outside every zone
    assert not table["landcover"].isin([31, 255]).any()  # nodata and extra nodata left out
    assert {-7 if dtype == "int16" else 11, 21}.issubset(set(table["landcover"]))
    assert list(table.columns) == ["zone", "landcover", "area_m2"]


def test_dense_code_table_hand_computed() -> None:
    # 2 x 4 pixels of 10 m (100 m² each); zone 0 = left half, zone 1 = right half
    t10 = Affine(10, 0, 0, 0, -10, 20)
    pam = PixelAreaModel("EPSG:3035", t10, "constant", 100.0)
    arr = np.array([[5, 5, 9, 0], [7, 5, 9, 9]], dtype=np.uint8)
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 20), box(20, 0, 40, 20)], crs="EPSG:3035")
    # two blocks: the top row, then the bottom one
    blocks = [
        RasterBlock(
            r, 0, t10 * Affine.translation(0, r), {"landcover": arr[r : r + 1]}, {"landcover": 0}
        )
        for r in (0, 1)
    ]
    res = zonal_crosstab(zones, blocks, pam, engine="numba", cache=None)
    rows = res.crosstab.to_records(index=False).tolist()
    # zone 0: code 5 three times, code 7 once; zone 1: code 9 three times, one nodata pixel
    assert rows == [(0, 5, 300.0), (0, 7, 100.0), (1, 9, 300.0)]
    assert res.pixel_count.tolist() == [4, 4]
    assert res.zone_area_m2.tolist() == [400.0, 400.0]
    assert res.valid_area_m2.tolist() == [400.0, 300.0]
    assert res.outside_valid_area_m2 == 0.0


def test_dense_code_table_full_falls_back_block_by_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block whose new codes would make the table too large leaves the dense table: the
    blocks before it are handed over, its own pixels counted so far are taken back, and the
    rest is counted block by block, with the same figures."""
    import geocarbon.zonal as zonal

    shape = (90, 110)
    zones, transform, layers, nodata = _single_layer_case(8, "uint16", shape)
    pam = PixelAreaModel.for_grid("EPSG:3035", transform, shape[1], shape[0])
    # room for the codes of the first blocks only (the last ones bring 21 and 4000)
    monkeypatch.setattr(zonal, "CODE_TABLE_LIMIT", (len(zones) + 1) * 4)
    taken = _counted_densely(monkeypatch)
    blocks = _blocks(layers, nodata, transform, shape, 1_111)
    dense = zonal_crosstab(zones, blocks, pam, engine="numba", cache=None)
    assert taken[0] and not taken[-1]  # some blocks taken, then it gave up
    reference = zonal_crosstab(zones, blocks, pam, engine="numpy")
    _assert_identical(dense, reference)


def test_dense_code_table_not_for_weighted_or_inexact_areas(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pixel areas varying over the grid, or a pixel area whose multiples are not exact in
    float64: the blocks are counted one by one (sums in the per-block order)."""
    shape = (60, 70)
    taken = _counted_densely(monkeypatch)
    for crs, transform in [
        ("EPSG:4326", Affine(0.0013, 0, 1.2, 0, -0.0011, 45.3)),  # areas vary by row
        ("EPSG:3035", Affine(0.1, 0, 3_500_000, 0, -0.1, 2_500_000)),  # 0.01 m² per pixel
    ]:
        zones, layers, nodata = _random_case(4, crs, transform, shape)
        pam = PixelAreaModel.for_grid(crs, transform, shape[1], shape[0])
        res = {
            e: zonal_crosstab(
                zones,
                _blocks({"landcover": layers["landcover"]}, nodata, transform, shape, 900),
                pam,
                engine=e,
            )
            for e in ("numpy", "numba")
        }
        _assert_identical(res["numba"], res["numpy"])
    assert taken and not any(taken)


def test_exact_multiples_of_the_pixel_area() -> None:
    from geocarbon.zonal import exact_multiples

    assert exact_multiples(10_000.0, 10**13)  # 625 x 2**4: 625 x 10**13 < 2**53
    assert not exact_multiples(10_000.0, 2**53 // 625 + 1)
    assert exact_multiples(625.0, 10**12) and exact_multiples(0.25, 2**52)
    assert not exact_multiples(0.01, 2)  # 0.01 is not a binary fraction
    assert not exact_multiples(float("nan"), 1) and not exact_multiples(0.0, 1)


def test_count_codes_stops_at_a_code_without_column() -> None:
    # one row of 6 pixels: zones (+1) 0 0 2 2 2 1, codes 3 3 4 9 4 3
    runs = kernels.encode_runs(np.array([[0, 0, 2, 2, 2, 1]], dtype=np.int32))
    codes = np.array([3, 3, 4, 9, 4, 3], dtype=np.uint8)
    lut = np.full(256, -1, dtype=np.int64)
    lut[3], lut[4] = 0, 1
    table = np.zeros((3, 2), dtype=np.int64)
    # code 9 (pixel 3) has no column: the pixels before it are counted, none after it
    assert kernels.count_codes(runs, 6, codes, lut, table) == 3
    assert table.tolist() == [[2, 0], [0, 0], [0, 1]]
    lut[9] = 2
    table = np.concatenate([table, np.zeros((3, 1), np.int64)], axis=1)
    assert kernels.count_codes(runs, 6, codes, lut, table, start=3) == -1
    assert table.tolist() == [[2, 0, 0], [1, 0, 0], [0, 2, 1]]
    # taking back pixels 0 .. 3 leaves the last three
    assert kernels.count_codes(runs, 6, codes, lut, table, 0, 4, -1) == -1
    assert table.tolist() == [[0, 0, 0], [1, 0, 0], [0, 1, 0]]
    assert kernels.present_values(codes, 256).tolist() == [3, 4, 9]


def test_zone_cache_with_the_dense_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import geocarbon.zonal as zonal

    shape = (90, 110)
    zones, transform, layers, nodata = _single_layer_case(3, "uint8", shape)
    pam = PixelAreaModel.for_grid("EPSG:3035", transform, shape[1], shape[0])
    cache = zonal.ZoneCache()

    def run(engine: str) -> ZonalResult:
        blocks = _blocks(layers, nodata, transform, shape, 2_000)
        return zonal_crosstab(zones, blocks, pam, engine=engine, cache=cache)

    reference, first = run("numpy"), run("numba")
    monkeypatch.setattr(zonal, "burn_zones", lambda *a, **k: pytest.fail("zones burnt again"))
    _assert_identical(first, reference)
    _assert_identical(run("numba"), reference)


# --- blocks read in a thread, one ahead of the counting ---


def test_read_ahead_keeps_order_and_thread() -> None:
    import threading

    from geocarbon.zonal import read_ahead

    threads: set[int] = set()
    closed: list[int] = []

    def items():  # type: ignore[no-untyped-def]
        try:
            for i in range(50):
                threads.add(threading.get_ident())
                yield i
        finally:
            closed.append(threading.get_ident())

    assert list(read_ahead(items(), lambda i: i * i)) == [i * i for i in range(50)]
    # iterated and closed in one thread, not the caller's (rasterio's datasets need it)
    assert len(threads) == 1 and closed == list(threads)
    assert threading.get_ident() not in threads


def test_read_ahead_raises_at_the_failing_item_and_stops_early() -> None:
    from geocarbon.errors import InputError
    from geocarbon.zonal import read_ahead

    def prepare(i: int) -> int:
        if i == 3:
            raise InputError("block 3 unreadable")
        return i

    got = []
    with pytest.raises(InputError, match="block 3 unreadable"):
        for value in read_ahead(iter(range(10)), prepare):
            got.append(value)
    assert got == [0, 1, 2]
    # the caller stops early: the thread stops and the items are closed
    state = {"closed": False, "made": 0}

    def endless():  # type: ignore[no-untyped-def]
        try:
            while True:
                state["made"] += 1
                yield state["made"]
        finally:
            state["closed"] = True

    stream = read_ahead(endless(), lambda i: i)
    assert next(stream) == 1 and next(stream) == 2
    stream.close()
    assert state["closed"] and state["made"] <= 5


def test_error_in_a_block_stops_the_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block refused while the next ones are read ahead: one message, the reading stopped."""
    t10 = Affine(10, 0, 0, 0, -10, 20)
    pam = PixelAreaModel("EPSG:3035", t10, "constant", 100.0)
    zones = gpd.GeoDataFrame(geometry=[box(0, 0, 40, 20)], crs="EPSG:3035")
    read: list[int] = []

    def blocks():  # type: ignore[no-untyped-def]
        for r in range(20):
            read.append(r)
            values = np.full((1, 4), 1.5 if r == 1 else 2.0, dtype="f4")  # 1.5: not a code
            yield RasterBlock(r % 2, 0, t10, {"landcover": values}, {"landcover": None})

    from geocarbon.errors import InputError

    with pytest.raises(InputError, match="non-integer"):
        zonal_crosstab(zones, blocks(), pam, engine="numba", cache=None)
    assert len(read) < 20
