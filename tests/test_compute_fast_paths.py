"""The fast paths of computing the carbon figures give what their plain paths give."""

from __future__ import annotations

import re
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from affine import Affine
from pyproj import CRS

from geocarbon.capabilities.carbon_step import _padded, check_overlap
from geocarbon.carbon.growth import _population
from geocarbon.carbon.landuse_change import _integer_codes_plain, integer_codes
from geocarbon.errors import InputError
from geocarbon.geo import PixelAreaModel, share_inside_box
from geocarbon.io.raster import raster_info
from geocarbon.values import RasterInfo
from tests.conftest import SHARED

#: A 100 m grid of ETRS89-LAEA (equal-area) over 10 × 8 km.
LAEA_RASTER = RasterInfo(
    path=SHARED / "none.tif",
    crs=CRS.from_epsg(3035),
    transform=Affine(100.0, 0.0, 3_600_000.0, 0.0, -100.0, 2_400_000.0),
    width=100,
    height=80,
    dtype="uint16",
    nodata=None,
)


#: The pixel areas of :data:`LAEA_RASTER`'s grid (an equal-area projection).
EQUAL_AREA = PixelAreaModel.for_grid(
    LAEA_RASTER.crs, LAEA_RASTER.transform, LAEA_RASTER.width, LAEA_RASTER.height
)


def _polygons_about_the_extent() -> gpd.GeoDataFrame:
    """Polygons inside, across and outside the extent of :data:`LAEA_RASTER`, an empty one,
    a missing one, one of no area and one touching the extent's edge from inside."""
    x0, y0 = 3_600_000.0, 2_392_000.0
    geoms = [
        shapely.box(x0 + 1_000, y0 + 1_000, x0 + 3_000, y0 + 2_500),  # inside
        shapely.box(x0 - 500, y0 + 100, x0 + 700, y0 + 900),  # across the west edge
        shapely.Polygon(
            [(x0 + 9_000, y0 + 7_000), (x0 + 11_000, y0 + 7_500), (x0 + 9_500, y0 + 9_000)]
        ),  # across the north-east corner
        shapely.box(x0 - 5_000, y0 - 5_000, x0 - 4_000, y0 - 4_000),  # outside
        shapely.Polygon(),
        None,
        shapely.Polygon([(x0 + 10, y0 + 10), (x0 + 20, y0 + 20), (x0 + 30, y0 + 30)]),
        shapely.box(x0, y0, x0 + 10_000, y0 + 8_000),  # the extent itself
        shapely.MultiPolygon(
            [
                shapely.box(x0 + 100, y0 + 100, x0 + 200, y0 + 200),
                shapely.box(x0 - 200, y0, x0, y0 + 100),
            ]
        ),  # one part inside, one outside touching the edge
    ]
    codes = [f"c{i}" for i in range(len(geoms))]
    return gpd.GeoDataFrame({"commune_code": codes}, geometry=geoms, crs="EPSG:3035")


def test_equal_area_grids() -> None:
    assert EQUAL_AREA.kind == "constant"
    raster = raster_info(SHARED / "lot" / "clc2018_100m.tif", "land cover")
    model = PixelAreaModel.for_grid(raster.crs, raster.transform, raster.width, raster.height)
    assert model.kind == "constant"


def test_share_inside_box_hand_made() -> None:
    frame = _polygons_about_the_extent()
    share = share_inside_box(np.asarray(frame.geometry.values), LAEA_RASTER.bounds)
    np.testing.assert_allclose(
        share, [1.0, 700 / 1200, 0.4, 0.0, 0.0, 0.0, 0.0, 1.0, 1 / 3], rtol=1e-12
    )
    assert share[0] == 1.0 and share[7] == 1.0


def _assert_as_plain(fast: np.ndarray, plain: np.ndarray) -> None:
    """Shares of the equal-area path against the plain path's: the same for the polygons
    wholly inside or outside the extent (1 and 0 exactly; the plain path's two projections,
    centred on different extents, give them to 1e-8); to 1e-4 of the share for those the
    extent cuts, whose cut edge is straight in the raster's CRS and bent in a local
    projection."""
    whole = (fast == 0.0) | (fast == 1.0)
    np.testing.assert_allclose(fast[whole], plain[whole], rtol=0, atol=1e-7)
    np.testing.assert_allclose(fast[~whole], plain[~whole], rtol=1e-4, atol=0)


def test_check_overlap_equal_area_as_plain_hand_made() -> None:
    frame = _polygons_about_the_extent()
    plain, plain_notices = check_overlap(frame, LAEA_RASTER)
    fast, fast_notices = check_overlap(frame, LAEA_RASTER, EQUAL_AREA)
    _assert_as_plain(fast, plain)
    assert fast_notices == plain_notices


def test_check_overlap_equal_area_as_plain_real_communes() -> None:
    """The Lot's communes on its land-cover grid (the same shares to 1e-8: rounded to 6
    decimals as the outputs give them, the same), and the same communes moved so that many
    cross the grid's edges; the same notices."""
    raster = raster_info(SHARED / "lot" / "clc2018_100m.tif", "land cover")
    model = PixelAreaModel.for_grid(raster.crs, raster.transform, raster.width, raster.height)
    communes = gpd.read_file(SHARED / "lot" / "communes_2018.geojson").rename(
        columns={"code": "commune_code"}
    )
    on_grid = communes.to_crs(raster.crs)
    moved = on_grid.copy()
    moved["geometry"] = on_grid.geometry.translate(xoff=25_000.0, yoff=-20_000.0)
    plain, plain_notices = check_overlap(communes, raster)
    fast, fast_notices = check_overlap(communes, raster, model)
    np.testing.assert_allclose(fast, plain, rtol=0, atol=1e-8)
    np.testing.assert_array_equal(np.round(fast, 6), np.round(plain, 6))
    assert fast_notices == plain_notices
    plain, plain_notices = check_overlap(moved, raster)
    fast, fast_notices = check_overlap(moved, raster, model)
    _assert_as_plain(fast, plain)
    assert [n.code for n in fast_notices] == [n.code for n in plain_notices]
    assert ((plain > 0) & (plain < 0.999)).sum() > 20  # the moved communes cross the edges


#: Code columns of change tables as read: digits (leading zeros, one cell, 18 and 19
#: digits), and cells the one-pass conversion leaves to the plain path (decimals, spaces,
#: signs, empty, missing, other digits, numbers, pandas' string types, no cell).
CODE_COLUMNS = [
    pd.Series(["211", "0312", "5", "999999999999999999"], dtype=object, index=[3, 1, 2, 0]),
    pd.Series(["7"], dtype=object, name="code12"),
    pd.Series(["1234567890123456789"], dtype=object),
    pd.Series(["211", "312.0"], dtype=object),
    pd.Series(["211", "31.5"], dtype=object),
    pd.Series([" 211", "312 "], dtype=object),
    pd.Series(["-5", "+7"], dtype=object),
    pd.Series(["211", ""], dtype=object),
    pd.Series(["211", None], dtype=object),
    pd.Series(["211", np.nan], dtype=object),
    pd.Series(["211", "\u0663", "\u00b2"], dtype=object),
    pd.Series(["211", 312], dtype=object),
    pd.Series(["211", "abc"], dtype=object),
    pd.Series([211, 312]),
    pd.Series([211.0, 312.0]),
    pd.Series(["211", "312"], dtype="str"),
    pd.Series([], dtype=object),
]


@pytest.mark.parametrize("column", CODE_COLUMNS)
def test_integer_codes_as_plain(column: pd.Series) -> None:
    raw = pd.DataFrame({"code": column})
    try:
        want = _integer_codes_plain(raw, "code", "s")
    except (InputError, ValueError, OverflowError) as err:
        with pytest.raises(type(err), match=re.escape(str(err))):
            integer_codes(raw, "code", "s")
        return
    pd.testing.assert_series_equal(integer_codes(raw, "code", "s"), want)


def test_integer_codes_real_change_table_as_plain() -> None:
    raw = pd.read_csv(SHARED / "aldo" / "clc12_to_clc18_change_ha_by_commune.csv.gz", dtype=object)
    for field in ("code12", "code18"):
        pd.testing.assert_series_equal(
            integer_codes(raw, field, "s"), _integer_codes_plain(raw, field, "s")
        )


def _population_every_row(table: pd.DataFrame, communes: pd.Index) -> np.ndarray:
    """Populations as :func:`_population` gives them, every row of the table converted."""
    numbers = pd.to_numeric(table["population"], errors="coerce")
    per = pd.Series(numbers.to_numpy(), index=table["insee"].astype(str))
    per = per[~per.index.duplicated()]
    return per.reindex(communes.astype(str)).to_numpy(dtype=float)


#: Commune tables: text cells (numbers, decimals, words, empty, missing; a code twice with
#: two populations), numbers, pandas' string type.
POPULATION_TABLES = [
    pd.DataFrame(
        {
            "insee": ["46042", "46043", "46044", "46045", "46046", "46042", "46047"],
            "population": ["120", "1.5", "n/a", "", None, "999", "3000000"],
        },
        dtype=object,
    ),
    pd.DataFrame({"insee": ["46042", "46043"], "population": [120, 7]}),
    pd.DataFrame({"insee": ["46042", "46043"], "population": [120.0, np.nan]}),
    pd.DataFrame({"insee": ["46042", "46043"], "population": ["12", None]}, dtype="str"),
    pd.DataFrame({"insee": [46042, 46043], "population": ["12", "13"]}),
]


@pytest.mark.parametrize("table", POPULATION_TABLES)
def test_population_as_every_row(table: pd.DataFrame) -> None:
    communes = pd.Index(["46042", "46043", "46044", "46045", "46046", "46047", "99999"])
    got = _population(SimpleNamespace(communes=table), communes)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got, _population_every_row(table, communes))


def test_population_real_table_as_every_row() -> None:
    table = pd.read_csv(SHARED / "aldo" / "communes_17122018.csv", dtype=object)
    lot = pd.Index([*sorted(c for c in table["insee"] if c.startswith("46")), "00000"])
    for communes in (lot, pd.Index(table["insee"])):
        got = _population(SimpleNamespace(communes=table), communes)  # type: ignore[arg-type]
        np.testing.assert_array_equal(got, _population_every_row(table, communes))


#: Code columns, and whether they are padded: zero-padded codes (text, pandas' string type),
#: shorter ones, missing cells, numbers, bytes, no cell.
INSEE_COLUMNS = [
    (pd.Series(["46042", "2A004", "123456"], dtype=object), True),
    (pd.Series(["46042", "2B033"], dtype="str"), True),
    (pd.Series(["46042", "1001"], dtype=object), False),
    (pd.Series(["46042", "1001"], dtype="str"), False),
    (pd.Series(["46042", None], dtype=object), False),
    (pd.Series(["46042", np.nan], dtype="str"), False),
    (pd.Series([46042, 1001]), False),
    (pd.Series([b"46042"], dtype=object), False),
    (pd.Series([], dtype=object), True),
    (pd.Series([], dtype="str"), True),
]


@pytest.mark.parametrize(("column", "padded"), INSEE_COLUMNS)
def test_padded_codes_are_as_zero_filled(column: pd.Series, padded: bool) -> None:
    """A table whose codes :func:`_padded` accepts is the table with its codes zero-filled
    (which ``_per_commune`` then skips)."""
    table = pd.DataFrame({"insee": column, "zpc": "4_1"})
    assert _padded(table["insee"], 5) is padded
    if padded:
        pd.testing.assert_frame_equal(table, table.assign(insee=table["insee"].str.zfill(5)))
