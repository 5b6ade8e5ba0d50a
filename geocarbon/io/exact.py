"""Exact coverage of zones over a raster grid, read with exactextract.

exactextract (https://github.com/isciences/exactextract) computes, for each polygon, the
fraction of every pixel it covers (0–1), and reads the pixels' values itself: this is why
the call lives with the readers. Its fastest set-up for many polygons is used: geometries
handed over as WKB (no GeoJSON text in between) and ``strategy="raster-sequential"``
(each raster chunk read once for every polygon it meets). The operations asked are
``cell_id``, ``coverage`` and ``values``, one row per (polygon, pixel); the arithmetic on
them (true pixel areas, the cross-tab) is :mod:`geocarbon.zonal_exact`'s.

Every pixel is handed over, nodata included (the caller decides what is no data, as the
cell-centre engine does), so that the layers' pixel lists stay aligned; the NaN of float
layers cross exactextract as :data:`NAN_STANDIN` and come back as NaN.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from exactextract import exact_extract
from exactextract.feature import Feature, FeatureSource
from exactextract.raster import RasterioRasterSource
from rasterio.errors import RasterioError
from rasterio.windows import Window

from geocarbon.io.raster import open_aligned, read_error
from geocarbon.values import ExactCells, RasterInfo

#: What the NaN of a float layer are while exactextract holds them (it drops NaN pixels,
#: which would misalign the layers): a whole number no class code reaches.
NAN_STANDIN = -(2.0**40)


class WkbFeature(Feature):
    """A feature whose geometry is WKB, carrying its zone index."""

    def __init__(self, wkb: bytes | None = None, zone: int | None = None) -> None:
        Feature.__init__(self)
        self.wkb = wkb
        self.props: dict[str, Any] = {} if zone is None else {"zone": zone}

    def geometry(self) -> bytes | None:
        return self.wkb

    def set_geometry(self, wkb: bytes | None) -> None:
        self.wkb = wkb

    def set_geometry_format(self) -> str:
        return "wkb"

    def get(self, name: str) -> Any:
        return self.props[name]

    def set(self, name: str, value: Any) -> None:
        self.props[name] = value

    def fields(self) -> list[str]:
        return list(self.props)


class WkbSource(FeatureSource):
    """Zones as WKB features (exactextract's fastest vector input)."""

    def __init__(self, geometries: np.ndarray, zones: np.ndarray, crs_wkt: str) -> None:
        super().__init__()
        self.wkb = shapely.to_wkb(geometries)
        self.zones = zones
        self.crs_wkt = crs_wkt

    def count(self) -> int:
        return len(self.wkb)

    def __iter__(self) -> Iterator[WkbFeature]:
        for wkb, zone in zip(self.wkb, self.zones, strict=True):
            yield WkbFeature(wkb, int(zone))

    def srs_wkt(self) -> str:
        return self.crs_wkt


class _EveryPixel(RasterioRasterSource):
    """A raster handed over with every pixel (no nodata, NaN as :data:`NAN_STANDIN`)."""

    def __init__(self, ds: Any, name: str, info: RasterInfo) -> None:
        super().__init__(ds, name=name)
        self.info = info

    def nodata_value(self) -> None:
        return None

    def read_window(self, x0: int, y0: int, nx: int, ny: int) -> np.ndarray:
        try:
            arr = np.asarray(self.ds.read(self.band_idx, window=Window(x0, y0, nx, ny)))
        except RasterioError as err:
            raise read_error(self.info.what, self.info.path, err) from None
        if np.issubdtype(arr.dtype, np.floating):
            arr = np.where(np.isnan(arr), NAN_STANDIN, arr)
        return arr


def exact_cells(
    zones: gpd.GeoDataFrame,
    reference: RasterInfo,
    aligned: Sequence[tuple[str, RasterInfo]] = (),
    *,
    reference_name: str = "landcover",
    batch_pixels: int = 4_000_000,
) -> Iterator[ExactCells]:
    """The pixels each zone covers, with their coverage fractions and values, by batches.

    Parameters
    ----------
    zones : GeoDataFrame
        Zone polygons in the reference raster's CRS; zone ``i`` is row ``i``.
    reference : RasterInfo
        The raster whose grid is used (read as it is).
    aligned : sequence of (name, RasterInfo)
        Other categorical rasters, read on the reference grid (warped with
        nearest-neighbour resampling when their grid differs, as
        :func:`geocarbon.io.raster.iter_blocks` does).
    batch_pixels : int
        Zones are handed over in batches whose bounding boxes hold about this many pixels
        (bounds the memory of exactextract's per-pixel output).

    Yields
    ------
    ExactCells
        One batch of zones' (zone, pixel) pairs.
    """
    with ExitStack() as stack:
        opened = open_aligned(stack, reference, aligned, reference_name)
        sources = [_EveryPixel(ds, name, info) for name, ds, _, info in opened]
        nodata = {name: fill for name, _, fill, _ in opened}
        crs_wkt = reference.crs.to_wkt()
        geometries = np.asarray(zones.geometry.values)
        for batch in _batches(geometries, reference, batch_pixels):
            table = exact_extract(
                sources,
                WkbSource(geometries[batch], batch, crs_wkt),
                ["cell_id", "coverage", "values"],
                include_cols=["zone"],
                output="pandas",
                strategy="raster-sequential",
            )
            yield _cells(table, [name for name, *_ in opened], nodata)


def _batches(geometries: np.ndarray, grid: RasterInfo, batch_pixels: int) -> list[np.ndarray]:
    """Zone indices in consecutive batches whose bounding boxes hold about ``batch_pixels``
    pixels of ``grid`` (a zone larger than that makes a batch of its own)."""
    bounds = shapely.bounds(geometries)
    pixel = abs(grid.transform.a * grid.transform.e)
    boxes = np.nan_to_num((bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1])) / pixel
    batches, start, held = [], 0, 0.0
    for i, size in enumerate(boxes):
        if i > start and held + size > batch_pixels:
            batches.append(np.arange(start, i))
            start, held = i, 0.0
        held += size
    if len(geometries):
        batches.append(np.arange(start, len(geometries)))
    return batches


def _cells(table: pd.DataFrame, names: list[str], nodata: dict[str, float | None]) -> ExactCells:
    """exactextract's per-polygon lists as flat per-(zone, pixel) arrays."""
    one = len(names) == 1
    col = (lambda name, op: op) if one else (lambda name, op: f"{name}_{op}")
    first = names[0]
    cell_lists = table[col(first, "cell_id")].to_list()
    lengths = np.array([len(c) for c in cell_lists], dtype=np.int64)
    cells = _flat(cell_lists, np.int64)
    values = {}
    for name in names:
        if not one and not np.array_equal(
            _flat(table[col(name, "cell_id")].to_list(), np.int64), cells
        ):
            msg = f"exactextract returned other pixels for {name} than for {first}"
            raise RuntimeError(msg)
        got = _flat(table[col(name, "values")].to_list(), None)
        if np.issubdtype(got.dtype, np.floating):
            got = np.where(got == NAN_STANDIN, np.nan, got)
        values[name] = got
    return ExactCells(
        zone=np.repeat(table["zone"].to_numpy(dtype=np.int64), lengths),
        cell=cells,
        coverage=_flat(table[col(first, "coverage")].to_list(), np.float64),
        values=values,
        nodata=nodata,
    )


def _flat(lists: list[np.ndarray], dtype: Any) -> np.ndarray:
    arrays = [np.asarray(a) for a in lists if len(a)]
    if not arrays:
        return np.array([], dtype=dtype or np.float64)
    flat = np.concatenate(arrays)
    return flat.astype(dtype, copy=False) if dtype is not None else flat
