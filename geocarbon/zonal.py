"""Commune × raster engine: area of each class (and class combination) per zone.

The engine is fed raster blocks (see :func:`geocarbon.io.raster.iter_blocks`) and zone
polygons already in the raster's CRS. For each block it burns the zones that intersect
the block into a zone-id array with the **cell-centre rule** (a pixel belongs to the zone
containing its centre; where zones overlap, the later one wins), so every pixel is
counted once and zone areas add up to the territory's. Class areas are accumulated
with ``numpy.bincount``; memory is bounded by the block size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from rasterio.features import rasterize

from geocarbon.errors import InputError
from geocarbon.geo import PixelAreaModel, pixel_to_xy
from geocarbon.io.raster import RasterBlock

logger = logging.getLogger(__name__)

#: Code given to pixels where a secondary layer has no value.
NO_VALUE = -1

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each block."""

_DENSE_LIMIT = 20_000_000


@dataclass
class ZonalResult:
    """Areas per zone, in square metres.

    Attributes
    ----------
    zone_area_m2 : ndarray
        Area of all pixels whose centre lies in the zone, nodata included.
    valid_area_m2 : ndarray
        Area of those pixels that hold a valid value of the main layer.
    pixel_count : ndarray
        Number of pixel centres in each zone.
    crosstab : DataFrame
        Long table ``zone`` (0-based zone index), one column per categorical layer
        (``NO_VALUE`` where a secondary layer has no value), ``area_m2``.
    sums : DataFrame
        ``zone`` and, per continuous layer, the sum of its valid values (index = zone).
    outside_valid_area_m2 : float
        Valid pixels whose centre lies in no zone.
    """

    zone_area_m2: np.ndarray
    valid_area_m2: np.ndarray
    pixel_count: np.ndarray
    crosstab: pd.DataFrame
    sums: pd.DataFrame
    outside_valid_area_m2: float
    layers: list[str] = field(default_factory=list)


def valid_mask(
    values: np.ndarray, nodata: float | None, extra_nodata: Sequence[float] = ()
) -> np.ndarray:
    """True where a pixel holds data: not NaN, not the nodata value, not an extra nodata code."""
    if np.issubdtype(values.dtype, np.floating):
        mask = ~np.isnan(values)
    else:
        mask = np.ones(values.shape, dtype=bool)
    if nodata is not None and not np.isnan(nodata):
        mask &= values != nodata
    for code in extra_nodata:
        mask &= values != code
    return mask


def _as_codes(values: np.ndarray, layer: str) -> np.ndarray:
    """Integer codes of a categorical layer's valid values; refuse non-integral floats."""
    if np.issubdtype(values.dtype, np.floating):
        frac = values != np.floor(values)
        if frac.any():
            sample = np.unique(values[frac])[:5]
            msg = (
                f"{layer}: the raster holds non-integer values (e.g. {', '.join(f'{v:g}' for v in sample)}); "
                "a categorical land-cover raster must hold class codes. Check the file, or declare "
                "such values as nodata (landcover.nodata_values)."
            )
            raise InputError(msg)
    return values.astype(np.int64, copy=False)


def burn_zones(geometries: np.ndarray, block: RasterBlock, candidates: np.ndarray) -> np.ndarray:
    """Position in ``candidates`` + 1 of the zone of each pixel (0 = no zone), cell-centre rule."""
    rows, cols = block.shape
    if len(candidates) == 0:
        return np.zeros((rows, cols), dtype=np.int32)
    shapes = ((geometries[g], pos + 1) for pos, g in enumerate(candidates))
    return rasterize(
        shapes,
        out_shape=(rows, cols),
        transform=block.transform,
        fill=0,
        all_touched=False,
        dtype="int32",
    )


def _group_sum(
    keys: list[np.ndarray], weights: np.ndarray | None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Sum weights (or count) per unique combination of integer keys."""
    mins = [int(k.min()) for k in keys]
    spans = [int(k.max()) - m + 1 for k, m in zip(keys, mins, strict=True)]
    size = int(np.prod(spans, dtype=np.float64))
    if size <= _DENSE_LIMIT:
        flat = np.zeros(keys[0].shape, dtype=np.int64)
        for k, m, s in zip(keys, mins, spans, strict=True):
            flat = flat * s + (k - m)
        sums = np.bincount(flat, weights=weights, minlength=size)
        nz = np.flatnonzero(sums)
        out = []
        rem = nz.copy()
        for m, s in zip(reversed(mins), reversed(spans), strict=True):
            out.append(rem % s + m)
            rem //= s
        return list(reversed(out)), sums[nz].astype(float)
    stacked = np.stack(keys, axis=1)
    uniq, inverse = np.unique(stacked, axis=0, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weights, minlength=len(uniq))
    return [uniq[:, i] for i in range(uniq.shape[1])], sums.astype(float)


def zonal_crosstab(
    zones: gpd.GeoDataFrame,
    blocks: Iterable[RasterBlock],
    pixel_areas: PixelAreaModel,
    *,
    main: str = "landcover",
    secondary: Sequence[str] = (),
    continuous: Sequence[str] = (),
    extra_nodata: Sequence[float] = (),
    n_blocks: int | None = None,
    progress: ProgressCallback | None = None,
) -> ZonalResult:
    """Cross-tabulate zones with categorical raster layers, in one pass over blocks.

    Parameters
    ----------
    zones : GeoDataFrame
        Zone polygons, in the raster's CRS; zone ``i`` is row ``i``.
    blocks : iterable of RasterBlock
        Blocks of the reference grid, holding ``main`` and the other layers.
    pixel_areas : PixelAreaModel
        True pixel areas [m²] of the grid.
    main : str
        Name of the main categorical layer; its nodata defines ``valid_area_m2``.
    secondary : sequence of str
        Other categorical layers cross-tabulated with ``main`` (``NO_VALUE`` where empty).
    continuous : sequence of str
        Layers whose valid values are summed per zone (over valid ``main`` pixels or not:
        each layer's own nodata decides).
    extra_nodata : sequence of float
        Codes of ``main`` treated as nodata.
    progress : callable, optional
        ``progress(done, total)`` after each block.

    Returns
    -------
    ZonalResult
        Areas [m²] per zone and per class combination.
    """
    n = len(zones)
    geoms = np.asarray(zones.geometry.values)
    tree = shapely.STRtree(geoms)
    zone_area = np.zeros(n + 1)
    valid_area = np.zeros(n + 1)
    pixel_count = np.zeros(n + 1, dtype=np.int64)
    sums = {name: np.zeros(n + 1) for name in continuous}
    parts: list[pd.DataFrame] = []
    layer_names = [main, *secondary]
    done = 0
    for block in blocks:
        rows, cols = block.shape
        (x0, x1), (y0, y1) = pixel_to_xy(block.transform, np.array([0, cols]), np.array([0, rows]))
        candidates = np.sort(
            tree.query(shapely.box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
        )
        local = burn_zones(geoms, block, candidates)
        lookup = np.concatenate([[0], candidates + 1]).astype(np.int64)
        zone_ids = lookup[local]  # global zone index + 1, 0 = outside every zone
        area = pixel_areas.block_m2(block.row_off, block.col_off, rows, cols)
        area_full = np.broadcast_to(area, (rows, cols)) if not np.isscalar(area) else None
        flat_zone = zone_ids.ravel()
        counts = np.bincount(flat_zone, minlength=n + 1)
        pixel_count += counts
        if area_full is None:
            zone_area += counts * float(area)
        else:
            zone_area += np.bincount(flat_zone, weights=area_full.ravel(), minlength=n + 1)
        values = block.arrays[main]
        ok = valid_mask(values, block.nodata.get(main), extra_nodata)
        for name in continuous:
            cvals = block.arrays[name]
            cok = valid_mask(cvals, block.nodata.get(name))
            sums[name] += np.bincount(
                flat_zone[cok.ravel()], weights=cvals[cok].astype(float), minlength=n + 1
            )
        if not ok.any():
            done += 1
            if progress:
                progress(done, n_blocks or done)
            continue
        keys = [zone_ids[ok].astype(np.int64), _as_codes(values[ok], main)]
        for name in secondary:
            svals = block.arrays[name]
            sok = valid_mask(svals, block.nodata.get(name))
            codes = np.full(svals.shape, NO_VALUE, dtype=np.int64)
            codes[sok] = _as_codes(svals[sok], name)
            keys.append(codes[ok])
        weights = None if area_full is None else area_full[ok].astype(float)
        uniq, agg = _group_sum(keys, weights)
        if area_full is None:
            agg = agg * float(area)
        valid_area += np.bincount(uniq[0], weights=agg, minlength=n + 1)
        parts.append(
            pd.DataFrame(
                {
                    "zone": uniq[0] - 1,
                    **dict(zip(layer_names, uniq[1:], strict=True)),
                    "area_m2": agg,
                }
            )
        )
        done += 1
        if progress:
            progress(done, n_blocks or done)
    table: pd.DataFrame
    if parts:
        table = pd.concat(parts, ignore_index=True)
        table = table.groupby(["zone", *layer_names], as_index=False, sort=True).agg(
            area_m2=("area_m2", "sum")
        )
    else:
        table = pd.DataFrame({"zone": [], **{k: [] for k in layer_names}, "area_m2": []})
    outside = table[table["zone"] < 0]
    table = table[table["zone"] >= 0].reset_index(drop=True)
    sums_frame = pd.DataFrame(
        {name: s[1:] for name, s in sums.items()}, index=pd.RangeIndex(n, name="zone")
    )
    return ZonalResult(
        zone_area_m2=zone_area[1:],
        valid_area_m2=valid_area[1:],
        pixel_count=pixel_count[1:],
        crosstab=table,
        sums=sums_frame,
        outside_valid_area_m2=float(outside["area_m2"].sum()),
        layers=layer_names,
    )
