"""Commune × raster engine: area of each class (and class combination) per zone.

The engine is fed raster blocks (see :func:`geocarbon.io.raster.iter_blocks`) and zone
polygons already in the raster's CRS. For each block it burns the zones that intersect
the block into a zone-id array with the **cell-centre rule** (a pixel belongs to the zone
containing its centre; where zones overlap, the later one wins), so every pixel is
counted once and zone areas add up to the territory's. Class areas are accumulated
with ``numpy.bincount``; memory is bounded by the block size.

With the compiled kernels (:mod:`geocarbon.kernels`), blocks are read in a second thread one
block ahead of the counting (:func:`read_ahead`), and a single small-integer land-cover
layer on a grid of one pixel area is counted into one zone × class table for the whole pass
(:class:`CodeCounts`); the figures are the same as the NumPy path's, bit for bit.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine

from geocarbon import kernels
from geocarbon.errors import InputError
from geocarbon.geo import PixelAreaModel, geometry_digest
from geocarbon.notices import Notice
from geocarbon.rasterize import BandEdges, EdgeTable, burn_block, burn_zones
from geocarbon.values import RasterBlock

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_U = TypeVar("_U")

#: Code given to pixels where a secondary layer has no value.
NO_VALUE = -1

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each block."""

_DENSE_LIMIT = 20_000_000

#: Tolerance of pixel-centre counting: a commune may legitimately receive up to this share of
#: its true area, plus :data:`LANDCOVER_EXCESS_PIXELS` pixels, more land cover than its area
#: (pixels whose centre lies inside the commune stick out of its boundary). On the Lot
#: (Corine Land Cover 100 m, 1-ha pixels, 320 communes of 246 to 5,000 ha) the largest
#: excess is +13.6 ha (+1.4 %), 28 % of this tolerance.
LANDCOVER_EXCESS_SHARE = 0.05
#: Pixels added to the tolerance (a small commune may gain a pixel or so).
LANDCOVER_EXCESS_PIXELS = 1.0
#: Beyond this share of the area plus :data:`LANDCOVER_REFUSE_PIXELS` pixels, a commune's
#: land cover is not a counting artefact: the pixels are coarser than the commune and the
#: run is refused. Between the tolerance and this bound, a notice names the communes.
LANDCOVER_REFUSE_SHARE = 0.5
#: Pixels added to the refusal bound.
LANDCOVER_REFUSE_PIXELS = 2.0


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


#: Largest absolute class code of a categorical raster (codes fit in a signed 32-bit integer).
MAX_CLASS_CODE = 2**31 - 1


def check_integral(values: np.ndarray, layer: str) -> None:
    """Refuse non-integral, infinite or out-of-range values in a float categorical layer
    (NaN allowed: it is no data).

    Raises
    ------
    InputError
        Naming the layer and a sample of the values.
    """
    with np.errstate(invalid="ignore"):
        frac = (values != np.floor(values)) | (np.abs(values) > MAX_CLASS_CODE)
    frac &= ~np.isnan(values)
    if frac.any():
        sample = np.unique(values[frac])[:5]
        msg = (
            f"{layer}: the raster holds non-integer values (e.g. {', '.join(f'{v:g}' for v in sample)}); "
            "a categorical land-cover raster must hold class codes. Check the file, or declare "
            "such values as nodata (landcover.nodata_values)."
        )
        raise InputError(msg)


@dataclass
class _LayerIndex:
    """Dense indices of a categorical block: ``index = idx - offset``, ``code = codes[index]``.

    ``idx`` may be the raw block (integer rasters: no copy, ``offset`` = smallest code);
    ``nan_slot`` is the index of NaN pixels of float layers (``codes`` holds a placeholder).
    """

    idx: np.ndarray
    offset: int
    codes: np.ndarray
    nan_slot: int | None

    @property
    def span(self) -> int:
        return len(self.codes)


def _layer_index(values: np.ndarray) -> _LayerIndex:
    """Map a categorical block to dense indices 0..span-1 (a few passes, no sort).

    Float blocks hold whole codes and NaN only: :func:`zonal_crosstab` checks them with
    :func:`check_integral` (naming the input file) before indexing.
    """
    if np.issubdtype(values.dtype, np.floating):
        nan = np.isnan(values)
        if nan.all():
            return _LayerIndex(np.zeros(values.shape, dtype=np.int64), 0, np.array([0]), 0)
        lo, hi = int(np.nanmin(values)), int(np.nanmax(values))
        if hi - lo > SPARSE_SPAN:
            return _sparse_index(values, nan)
        idx = np.where(nan, hi - lo + 1, values - lo).astype(np.int64)
        codes = np.arange(lo, hi + 2, dtype=np.int64)
        return _compact(_LayerIndex(idx, 0, codes, hi - lo + 1))
    lo, hi = int(values.min()), int(values.max())
    if hi - lo > SPARSE_SPAN:
        return _sparse_index(values, None)
    return _compact(_LayerIndex(values, lo, np.arange(lo, hi + 1, dtype=np.int64), None))


#: Code ranges wider than this are indexed by sorting (``np.unique``) rather than by offset,
#: so that two distant codes (0 and an undeclared nodata of -2,147,483,648) never allocate a
#: table as wide as their range.
SPARSE_SPAN = 1 << 20


def _sparse_index(values: np.ndarray, nan: np.ndarray | None) -> _LayerIndex:
    """Dense indices of a block whose codes span a very wide range (NaN last, if any)."""
    if nan is None:
        codes, inverse = np.unique(values, return_inverse=True)
        return _LayerIndex(
            inverse.reshape(values.shape).astype(np.int64), 0, codes.astype(np.int64), None
        )
    codes, inverse = np.unique(np.where(nan, 0, values), return_inverse=True)
    idx = np.where(nan, len(codes), inverse.reshape(values.shape)).astype(np.int64)
    return _LayerIndex(idx, 0, np.append(codes.astype(np.int64), 0), len(codes))


def _compact(ix: _LayerIndex) -> _LayerIndex:
    """Renumber sparse codes (a wide range with few classes) to keep bincounts small."""
    if ix.span <= 4096:
        return ix
    dense = np.subtract(ix.idx, ix.offset, dtype=np.int64)
    present = np.bincount(dense.ravel(), minlength=ix.span) > 0
    lut = np.cumsum(present) - 1
    nan = ix.nan_slot
    new_nan = int(lut[nan]) if nan is not None and present[nan] else None
    return _LayerIndex(lut[dense], 0, ix.codes[present], new_nan)


@dataclass(eq=False)  # entries compare by identity (their arrays cannot be compared)
class _ZoneEntry:
    """One (zones, grid) of a :class:`ZoneCache`: the geometries (held, so that their
    identities stay theirs), their identities, the grid's transform, the burnt blocks, the
    checksum of the shapes once computed and how many blocks its store holds."""

    geometries: np.ndarray
    ids: np.ndarray
    grid: tuple[float, ...]
    blocks: dict
    digest: bytes | None = None
    stored: int = 0

    def shapes_digest(self) -> bytes:
        if self.digest is None:
            self.digest = geometry_digest(self.geometries)
        return self.digest


class ZoneStorage(Protocol):
    """Where a :class:`ZoneCache` keeps burnt blocks between processes
    (:class:`geocarbon.io.zone_store.ZoneStore`)."""

    def key(self, shapes_digest: bytes, grid: tuple[float, ...]) -> str: ...

    def load(self, key: str, n_zones: int) -> dict | None: ...

    def save(self, key: str, blocks: Mapping) -> None: ...


class ZoneCache:
    """Rasterised zones kept between calls (compiled engine): per (zones, grid), each block
    burnt once and kept as runs along its rows, so that later passes over the same grid
    (the pixel maps after the cross-tab, scenarios, Monte-Carlo draws) read the zones
    instead of burning them again. The runs follow the zone boundaries, not the pixels
    (~8 bytes per run; about one run per zone crossing each row).

    Zones are recognised by the identity of their geometry objects first (shapely
    geometries are immutable, and an entry holds them, so no identity is reused while it
    lives), else, where an entry on the same grid has as many zones, by a checksum of
    their shapes (:func:`geometry_digest`: the same commune layer read again, e.g. in a
    long-lived process, finds its burnt blocks); the grid by its transform and block
    windows. At most ``max_entries`` (zones, grid) are kept, the least recently used
    dropped first.

    With a ``store`` (``processing.zone_cache``), a new entry's blocks are first read from
    it, by the checksum of the shapes and the grid, and the blocks burnt by a pass are kept
    there when it ends (:meth:`keep`): a later run over the same communes and grid burns
    nothing.
    """

    def __init__(self, max_entries: int = 2, store: ZoneStorage | None = None) -> None:
        self.max_entries = max_entries
        self.store = store
        self._entries: list[_ZoneEntry] = []

    def blocks(self, geometries: np.ndarray, transform: Affine) -> dict:
        """The burnt blocks of these zones on this grid, by window ``(row_off, col_off,
        rows, cols)`` (the store's, or an empty mapping, kept, the first time)."""
        ids = np.fromiter((id(g) for g in geometries), dtype=np.int64, count=len(geometries))
        grid = tuple(transform)[:6]
        found = self._same_objects(ids, grid)
        digest = None
        if found is None:
            found, digest = self._same_shapes(geometries, ids, grid)
        if found is None:
            found = self._from_store(_ZoneEntry(geometries, ids, grid, {}, digest))
        else:
            self._entries.remove(found)
        self._entries.append(found)
        del self._entries[: -self.max_entries]
        return found.blocks

    def _from_store(self, entry: _ZoneEntry) -> _ZoneEntry:
        """A new entry, with the blocks its store holds."""
        if self.store is not None:
            key = self.store.key(entry.shapes_digest(), entry.grid)
            entry.blocks.update(self.store.load(key, len(entry.ids)) or {})
            entry.stored = len(entry.blocks)
        return entry

    def keep(self, blocks: dict) -> None:
        """Save to the store the entry whose blocks are ``blocks`` when a pass burnt blocks
        its store does not hold yet (nothing without a store)."""
        if self.store is None:
            return
        for entry in self._entries:
            if entry.blocks is blocks and len(blocks) > entry.stored:
                self.store.save(self.store.key(entry.shapes_digest(), entry.grid), blocks)
                entry.stored = len(blocks)

    def _same_objects(self, ids: np.ndarray, grid: tuple[float, ...]) -> _ZoneEntry | None:
        for entry in self._entries:
            if entry.grid == grid and np.array_equal(entry.ids, ids):
                return entry
        return None

    def _same_shapes(
        self, geometries: np.ndarray, ids: np.ndarray, grid: tuple[float, ...]
    ) -> tuple[_ZoneEntry | None, bytes | None]:
        """The entry of these shapes on this grid held as other objects, now keyed by these
        (None when there is none), and the shapes' checksum when it was computed."""
        digest = None
        for entry in self._entries:
            if entry.grid != grid or len(entry.ids) != len(ids):
                continue
            digest = digest or geometry_digest(geometries)
            if entry.shapes_digest() == digest:
                entry.geometries, entry.ids = geometries, ids
                return entry, digest
        return None, digest

    def clear(self) -> None:
        """Forget every entry (the store's files stay)."""
        self._entries.clear()


#: The cache :func:`zonal_crosstab` uses unless told otherwise.
ZONE_CACHE = ZoneCache()


class ZoneBlocks:
    """The zones of a pass over a grid, block by block: their edges band by band
    (:class:`geocarbon.rasterize.BandEdges`) and, with the compiled engine, the burnt
    blocks kept in a :class:`ZoneCache`.

    Parameters
    ----------
    geometries : ndarray of shapely geometries
        Zone polygons in the grid's CRS; polygon ``i`` is zone ``i``.
    transform : Affine
        The grid's transform.
    cache : ZoneCache or None
        Where burnt blocks are kept and found (None: nothing kept).
    """

    def __init__(self, geometries: np.ndarray, transform: Affine, cache: ZoneCache | None):
        self.edges = BandEdges(geometries, transform)
        self.cache = cache
        self._blocks: dict | None = None

    def burnt(self, block: RasterBlock, engine: str = "numba") -> np.ndarray:
        """Zone + 1 of each pixel of the block (int32, 0: no zone): burnt by ``engine``;
        with ``"numba"``, from the cache when it holds the block, and kept there."""
        rows, cols = block.shape
        if engine != "numba":
            table = self.edges.rows(block.row_off, rows)
            return burn_zones(table, block.row_off, block.col_off, rows, cols, engine=engine)
        return kernels.decode_runs(self.runs(block), rows, cols)

    def keep(self) -> None:
        """Keep the blocks burnt so far in the cache's store, if it has one
        (:meth:`ZoneCache.keep`); called when a pass has ended."""
        if self._blocks is not None and self.cache is not None:
            self.cache.keep(self._blocks)

    def cached(self, block: RasterBlock) -> kernels.BlockRuns | None:
        """The burnt block as runs along its rows when the cache holds it (else None)."""
        if self._blocks is None and self.cache is not None:
            self._blocks = self.cache.blocks(self.edges.geometries, self.edges.transform)
        if self._blocks is None:
            return None
        window = (block.row_off, block.col_off, *block.shape)
        found: kernels.BlockRuns | None = self._blocks.get(window)
        return found

    def runs(self, block: RasterBlock, edges: EdgeTable | None = None) -> kernels.BlockRuns:
        """The burnt block as runs along its rows (compiled kernels), from the cache when it
        holds the block, and kept there; ``edges``: the edges of the block's rows when they
        are built already (:meth:`geocarbon.rasterize.BandEdges.rows`)."""
        found = self.cached(block)
        if found is not None:
            return found
        rows, cols = block.shape
        table = self.edges.rows(block.row_off, rows) if edges is None else edges
        burnt = burn_zones(table, block.row_off, block.col_off, rows, cols, engine="numba")
        runs = kernels.encode_runs(burnt)
        if self._blocks is not None:
            self._blocks[(block.row_off, block.col_off, rows, cols)] = runs
        return runs


#: Largest table of :class:`CodeCounts` [slots of 8 bytes]; beyond it, the blocks are
#: counted one by one (a table per block).
CODE_TABLE_LIMIT = 16_000_000


def exact_multiples(unit_m2: float, pixels: int) -> bool:
    """Whether every sum of up to ``pixels`` pixels of ``unit_m2`` [m²] each is exact in
    float64, whatever the order of the additions: ``unit_m2 = m × 2**e`` with an odd integer
    ``m`` and ``m × pixels < 2**53`` (e.g. 10,000 m² = 625 × 2**4: up to 1.4 × 10**13
    pixels)."""
    if not math.isfinite(unit_m2) or unit_m2 <= 0:
        return False
    mantissa = int(math.frexp(unit_m2)[0] * 2**53)
    mantissa //= mantissa & -mantissa
    return mantissa * pixels < 2**53


class CodeCounts:
    """Pixel counts per (zone, class code) over a whole pass in one dense table (compiled
    kernels), made into the result's long table once, at the end.

    It takes the blocks of a cross-tab of one categorical layer of 8- or 16-bit integers (no
    secondary or continuous layer) on a grid of one pixel area whose sums are exact
    (:func:`exact_multiples`): every area the per-block path adds is then a whole number of
    pixels times the pixel area, exactly, so its sums do not depend on their order and the
    areas made from the total counts are the same, bit for bit. A block it cannot take
    (another grid, or too many codes for :data:`CODE_TABLE_LIMIT`) leaves it: the counts of
    the blocks before go to the per-block totals (:meth:`add_to`) and the rest is counted
    block by block.

    Columns are the class codes in the order they are met (a lookup table over the codes'
    whole range gives each code's column); rows are zone + 1 (row 0: outside every zone).
    """

    def __init__(self, n_zones: int, layer: str, extra_nodata: Sequence[float]) -> None:
        self.layer = layer
        self.extra_nodata = tuple(extra_nodata)
        self.table = np.zeros((n_zones + 1, 0), dtype=np.int64)
        self.slots = np.zeros(0, dtype=np.int64)
        """Code (viewed as unsigned) of each column."""
        self.lut = np.zeros(0, dtype=np.int64)
        """Column of each code viewed as unsigned (-1: none yet)."""
        self.grid: tuple[np.dtype, float | None, float] | None = None
        """The layer's dtype, its nodata and the pixel area [m²] of the blocks taken."""
        self.pixels = 0

    @classmethod
    def for_layers(cls, n_zones: int, layers: CrosstabLayers) -> CodeCounts | None:
        """Counts for a cross-tab of these layers, or None when they are not one categorical
        layer alone."""
        if len(layers.categorical) != 1 or layers.continuous:
            return None
        return cls(n_zones, layers.categorical[0], layers.extra_nodata)

    def add(
        self, block: RasterBlock, runs: kernels.BlockRuns, pixel_areas: PixelAreaModel
    ) -> bool:
        """Count a block whose zones are ``runs``; False (nothing counted) when it cannot."""
        values = block.arrays[self.layer]
        weights, unit_m2 = _pixel_weights(pixel_areas, block)
        grid = (values.dtype, block.nodata.get(self.layer), unit_m2)
        if self.grid is None and values.dtype.kind in "iu" and values.dtype.itemsize <= 2:
            self.grid = grid
            self.lut = np.full(1 << (8 * values.dtype.itemsize), -1, dtype=np.int64)
        if weights is not None or grid != self.grid:
            return False
        if not exact_multiples(unit_m2, self.pixels + values.size):
            return False
        codes = np.ascontiguousarray(values).reshape(-1).view(f"u{values.dtype.itemsize}")
        cols, start = block.shape[1], 0
        while (start := kernels.count_codes(runs, cols, codes, self.lut, self.table, start)) >= 0:
            if not self._add_columns(codes):
                # take back this block's pixels counted so far
                kernels.count_codes(runs, cols, codes, self.lut, self.table, 0, start, -1)
                return False
        self.pixels += values.size
        return True

    def _add_columns(self, codes: np.ndarray) -> bool:
        """A column for each code of the block that has none (False when the table would
        exceed :data:`CODE_TABLE_LIMIT`)."""
        present = kernels.present_values(codes, len(self.lut))
        new = present[self.lut[present] < 0]
        rows, n_cols = self.table.shape[0], self.table.shape[1] + len(new)
        if rows * n_cols > CODE_TABLE_LIMIT:
            return False
        self.lut[new] = np.arange(self.table.shape[1], n_cols)
        self.table = np.concatenate([self.table, np.zeros((rows, len(new)), np.int64)], axis=1)
        self.slots = np.append(self.slots, new)
        return True

    def add_to(self, totals: _ZoneTotals) -> None:
        """Add the counts of the blocks taken to ``totals`` (nothing when none was)."""
        if self.pixels:
            totals.add(self.partial())

    def partial(self) -> BlockPartial:
        """The counts as the partial sums of one block: each (zone, code) counted once, in
        increasing order, areas [m²] = pixels × the pixel area."""
        assert self.grid is not None
        dtype, nodata, unit_m2 = self.grid
        codes = self.slots.astype(f"u{dtype.itemsize}").view(dtype).astype(np.int64)
        order = np.argsort(codes, kind="stable")
        counts = self.table[:, order]
        gzone, col = np.nonzero(counts)
        pixel_count = counts[gzone, col]
        area_m2 = pixel_count.astype(np.float64) * unit_m2
        main_codes = codes[order][col]
        ok = np.ones(len(gzone), dtype=bool)
        for code in [*([] if nodata is None or np.isnan(nodata) else [nodata]), *self.extra_nodata]:
            ok &= main_codes != code
        columns = {"zone": gzone[ok] - 1, self.layer: main_codes[ok], "area_m2": area_m2[ok]}
        table = pd.DataFrame(columns)
        return BlockPartial("numba", gzone, area_m2, pixel_count, ok, table, grouped=True)


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
    labels: Mapping[str, str] | None = None,
    engine: str | None = None,
    cache: ZoneCache | None = ZONE_CACHE,
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
    main, extra_nodata : str and sequence of float
        Name of the main categorical layer, and codes of it treated as nodata (with its
        nodata, they define ``valid_area_m2``).
    secondary, continuous : sequence of str
        Other categorical layers cross-tabulated with ``main`` (``NO_VALUE`` where empty);
        layers whose valid values are summed per zone (each layer's own nodata decides).
    n_blocks, progress : int and callable, optional
        How many blocks (which also sizes the grid for ``engine``); ``progress(done,
        n_blocks)`` after each block.
    labels : mapping of str to str, optional
        What each layer is, for messages (e.g. ``{"landcover": "land cover lc.tif"}``).
    engine : {"auto", "numba", "numpy"}, optional
        Compiled or NumPy kernels, bit-identical (:func:`geocarbon.kernels.resolve_engine`).
    cache : ZoneCache or None
        Where the compiled engine keeps the burnt zones (None: burn them, keep nothing).

    Returns
    -------
    ZonalResult
        Areas [m²] per zone and per class combination.

    Raises
    ------
    InputError
        When a float categorical layer holds non-integer, infinite or out-of-range values.
    """
    layers = CrosstabLayers([main, *secondary], continuous, extra_nodata, labels or {})
    zone_blocks = ZoneBlocks(np.asarray(zones.geometry.values), pixel_areas.transform, cache)
    with closing(_prepared_blocks(blocks, zone_blocks, engine, n_blocks)) as prepared:
        totals = _count_blocks(prepared, zone_blocks, pixel_areas, layers, n_blocks, progress)
    zone_blocks.keep()
    return totals.result(layers.categorical)


def _count_blocks(
    prepared: Iterable[_Prepared],
    zone_blocks: ZoneBlocks,
    pixel_areas: PixelAreaModel,
    layers: CrosstabLayers,
    n_blocks: int | None,
    progress: ProgressCallback | None,
) -> _ZoneTotals:
    """The blocks' areas [m²] per zone and class combination, added in block order: into one
    dense table while :class:`CodeCounts` can take them, else block by block
    (:func:`block_partial`)."""
    n_zones = len(zone_blocks.edges)
    counts = CodeCounts.for_layers(n_zones, layers)
    totals = _ZoneTotals.zeros(n_zones, layers.continuous)
    for done, (block, use, runs, edges) in enumerate(prepared, start=1):
        if use == "numba" and runs is None:  # burnt here while the next block is read
            runs = zone_blocks.runs(block, edges)
        if counts is None or runs is None or not counts.add(block, runs, pixel_areas):
            if counts is not None:  # a block it cannot take: the blocks before it
                counts.add_to(totals)
                counts = None
            totals.add(block_partial(block, zone_blocks, pixel_areas, layers, use, runs))
        if progress:
            progress(done, n_blocks or done)
    if counts is not None:
        counts.add_to(totals)
    return totals


_Prepared = tuple[RasterBlock, str, "kernels.BlockRuns | None", EdgeTable | None]
"""A block, the kernels chosen for the grid and, with the compiled kernels, its zones as
runs when cached, else the edges of its rows."""


def _prepared_blocks(
    blocks: Iterable[RasterBlock], zone_blocks: ZoneBlocks, engine: str | None, n_blocks: int | None
) -> Generator[_Prepared, None, None]:
    """Each block with the kernels chosen on the first one and, with the compiled kernels,
    its zones as runs from the cache or else the edges of its rows, read (and the edges
    built) in a thread one block ahead of the caller, who burns and counts (:func:`read_ahead`:
    reading and the compiled kernels release the GIL)."""
    use = ""

    def prepare(block: RasterBlock) -> _Prepared:
        nonlocal use
        use = use or block_engine(engine, block.shape, n_blocks)
        if use != "numba":
            return block, use, None, None
        runs = zone_blocks.cached(block)
        if runs is not None:
            return block, use, runs, None
        return block, use, None, zone_blocks.edges.rows(block.row_off, block.shape[0])

    return read_ahead(blocks, prepare)


def read_ahead(items: Iterable[_T], prepare: Callable[[_T], _U]) -> Generator[_U, None, None]:
    """``prepare(item)`` of each item in order, computed in a thread one item ahead of the
    caller (at most two prepared items wait: memory stays bounded).

    The thread alone iterates over ``items`` and closes them (rasterio's datasets must be
    opened and closed in the same thread). An exception raised there is raised here, at the
    item it concerns; when the caller stops early (an exception, or closing this generator),
    the thread finishes the item it holds, closes ``items`` and stops.
    """
    ready: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                ready.put(entry, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        iterator = iter(items)
        try:
            try:
                for item in iterator:
                    if not put((True, prepare(item))):
                        return
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
            put((False, None))
        except BaseException as err:  # handed to the caller
            put((False, err))

    thread = threading.Thread(target=work, name="geocarbon-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            more, value = ready.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()
        thread.join()


def block_engine(engine: str | None, shape: tuple[int, int], n_blocks: int | None) -> str:
    """The kernels for a grid of ``n_blocks`` blocks of ``shape`` (rows, columns) like the
    first one (the grid's size unknown without ``n_blocks``): see
    :func:`geocarbon.kernels.resolve_engine`."""
    pixels = int(np.prod(shape)) * n_blocks if n_blocks else None
    return kernels.resolve_engine(engine, pixels)


def reduce_partials(
    n_zones: int,
    layers: CrosstabLayers,
    partials: Iterable[BlockPartial],
    n_blocks: int | None = None,
    progress: ProgressCallback | None = None,
) -> ZonalResult:
    """Add the blocks' partial sums in the order given (the blocks' order: floating-point
    sums depend on it) into the areas [m²] per zone.

    Parameters
    ----------
    n_zones : int
        Number of zones.
    layers : CrosstabLayers
        The layers the partial sums were computed for.
    partials : iterable of BlockPartial
        One per block, in block order (:func:`block_partial`).
    n_blocks, progress : int and callable, optional
        ``progress(done, n_blocks)`` after each block.

    Returns
    -------
    ZonalResult
        Areas [m²] per zone and per class combination.
    """
    totals = _ZoneTotals.zeros(n_zones, layers.continuous)
    for done, partial in enumerate(partials, start=1):
        totals.add(partial)
        if progress:
            progress(done, n_blocks or done)
    return totals.result(layers.categorical)


@dataclass
class _ZoneTotals:
    """What :func:`zonal_crosstab` accumulates over the blocks, per zone indexed by zone + 1
    (slot 0: pixels outside every zone)."""

    zone_area_m2: np.ndarray
    """Area [m²] of every pixel whose centre lies in the zone."""
    valid_area_m2: np.ndarray
    """Area [m²] of those pixels holding a valid value of the main layer."""
    pixel_count: np.ndarray
    """Number of pixel centres in each zone."""
    sums: dict[str, np.ndarray]
    """Per continuous layer: the sum of its valid values in each zone."""
    parts: list[pd.DataFrame] = field(default_factory=list)
    """One long table (``zone``, the layers' codes, ``area_m2``) per block."""
    grouped: bool = False
    """Whether the one table of ``parts`` is grouped already (:attr:`BlockPartial.grouped`)."""

    @classmethod
    def zeros(cls, n_zones: int, continuous: Sequence[str]) -> _ZoneTotals:
        """Empty accumulators for ``n_zones`` zones and the given continuous layers."""
        return cls(
            zone_area_m2=np.zeros(n_zones + 1),
            valid_area_m2=np.zeros(n_zones + 1),
            pixel_count=np.zeros(n_zones + 1, dtype=np.int64),
            sums={name: np.zeros(n_zones + 1) for name in continuous},
        )

    def add(self, partial: BlockPartial) -> None:
        """Add one block's partial sums (each accumulator adds its values one by one, in the
        order the block gives them)."""
        add_at = kernels.add_at if partial.engine == "numba" else np.add.at
        add_at(self.zone_area_m2, partial.gzone, partial.area_m2)
        add_at(self.pixel_count, partial.gzone, partial.pixel_count)
        add_at(self.valid_area_m2, partial.gzone[partial.valid], partial.area_m2[partial.valid])
        for name, (index, part) in partial.sums.items():
            if index is None:
                self.sums[name] += part
            else:
                np.add.at(self.sums[name], index, part)
        self.parts.append(partial.table)
        self.grouped = partial.grouped and len(self.parts) == 1

    def result(self, layer_names: list[str]) -> ZonalResult:
        """The accumulated areas as a :class:`ZonalResult` (the blocks' tables merged, the
        pixels outside every zone set apart)."""
        table: pd.DataFrame
        if self.grouped:
            table = self.parts[0]
        elif self.parts:
            table = pd.concat(self.parts, ignore_index=True)
            table = table.groupby(["zone", *layer_names], as_index=False, sort=True).agg(
                area_m2=("area_m2", "sum")
            )
        else:
            table = pd.DataFrame({"zone": [], **{k: [] for k in layer_names}, "area_m2": []})
        if self.grouped:  # sorted by zone: the pixels outside every zone (-1) come first
            first = int(np.searchsorted(table["zone"].to_numpy(), 0))
            outside, table = table.iloc[:first], table.iloc[first:].reset_index(drop=True)
        else:
            outside = table[table["zone"] < 0]
            table = table[table["zone"] >= 0].reset_index(drop=True)
        n = len(self.zone_area_m2) - 1
        sums_frame = pd.DataFrame(
            {name: s[1:] for name, s in self.sums.items()}, index=pd.RangeIndex(n, name="zone")
        )
        return ZonalResult(
            zone_area_m2=self.zone_area_m2[1:],
            valid_area_m2=self.valid_area_m2[1:],
            pixel_count=self.pixel_count[1:],
            crosstab=table,
            sums=sums_frame,
            outside_valid_area_m2=float(outside["area_m2"].sum()),
            layers=layer_names,
        )


def _check_categorical(
    block: RasterBlock, layer_names: list[str], labels: Mapping[str, str]
) -> None:
    """Refuse non-integral values in the block's float categorical layers (see
    :func:`check_integral`); ``labels`` names the layers for messages."""
    for name in layer_names:
        if np.issubdtype(block.arrays[name].dtype, np.floating):
            check_integral(block.arrays[name], labels.get(name, name))


class CrosstabLayers(NamedTuple):
    """The layers of a cross-tab."""

    categorical: list[str]
    """Categorical layers, the main one first."""
    continuous: Sequence[str]
    """Layers whose valid values are summed per zone."""
    extra_nodata: Sequence[float]
    """Codes of the main layer treated as nodata."""
    labels: Mapping[str, str]
    """What each layer is, for messages."""


@dataclass
class BlockPartial:
    """One block's partial sums, computed apart (in this process or on a cluster's worker)
    and added to the totals in block order by :func:`reduce_partials`.

    The arrays are per (zone, class combination) present in the block, zones counted + 1
    (0: outside every zone), in the order the totals add them.
    """

    engine: str
    """Kernels that computed it (``"numba"`` or ``"numpy"``): the totals add with its adder."""
    gzone: np.ndarray
    """Zone + 1 of each combination."""
    area_m2: np.ndarray
    """Area [m²] of each combination."""
    pixel_count: np.ndarray
    """Pixels of each combination."""
    valid: np.ndarray
    """Whether the combination's main-layer code is valid."""
    table: pd.DataFrame
    """The valid combinations: ``zone``, the layers' codes, ``area_m2``."""
    sums: dict[str, tuple[np.ndarray | None, np.ndarray]] = field(default_factory=dict)
    """Per continuous layer: (zone + 1 of each value, or None for every zone in order; sum
    of its valid values)."""
    grouped: bool = False
    """Whether ``table`` holds each (zone, codes) once, sorted (:meth:`CodeCounts.partial`):
    alone, it is the result's table as it is."""


def block_partial(
    block: RasterBlock,
    edges: ZoneBlocks,
    pixel_areas: PixelAreaModel,
    layers: CrosstabLayers,
    engine: str,
    runs: kernels.BlockRuns | None = None,
) -> BlockPartial:
    """One block's areas [m²] per (zone, class combination), after checking its float
    categorical layers.

    ``engine`` is ``"numba"`` or ``"numpy"`` (same results, bit for bit); ``edges`` gives
    the zones of the block (or ``runs``, already burnt, with the compiled kernels).

    Raises
    ------
    InputError
        When a float categorical layer holds non-integer, infinite or out-of-range values.
    """
    layer_names, continuous, extra_nodata, labels = layers
    _check_categorical(block, layer_names, labels)
    weights, unit_m2 = _pixel_weights(pixel_areas, block)
    indices = [_layer_index(block.arrays[name]) for name in layer_names]
    n_zones = len(edges.edges)
    if engine == "numba":
        gzone, decoded, values, counts_nz, sums = _block_compiled(
            block, runs or edges.runs(block), indices, continuous, weights, n_zones
        )
    else:
        table = edges.edges.rows(block.row_off, block.shape[0])
        gzone, decoded, values, counts_nz, sums = _block_numpy(
            block, table, indices, continuous, weights
        )
    values *= unit_m2
    main_ix = indices[0]
    main_codes = main_ix.codes[decoded[0]]
    ok = np.ones(len(gzone), dtype=bool)
    if main_ix.nan_slot is not None:
        ok &= decoded[0] != main_ix.nan_slot
    nodata = block.nodata.get(layer_names[0])
    for code in [*([] if nodata is None or np.isnan(nodata) else [nodata]), *extra_nodata]:
        ok &= main_codes != code
    columns: dict[str, np.ndarray] = {"zone": gzone[ok] - 1, layer_names[0]: main_codes[ok]}
    for name, ix, dec in zip(layer_names[1:], indices[1:], decoded[1:], strict=True):
        columns[name] = _secondary_codes(ix, dec, block.nodata.get(name))[ok]
    columns["area_m2"] = values[ok]
    return BlockPartial(engine, gzone, values, counts_nz, ok, pd.DataFrame(columns), sums)


_ContinuousSums = dict[str, tuple[np.ndarray | None, np.ndarray]]
_BlockSums = tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray, _ContinuousSums]
"""Zone + 1 of each (zone, class combination) present in a block, in increasing order; the
dense index of each categorical layer in it; its summed weights; its pixel count; the
continuous layers' sums (see :attr:`BlockPartial.sums`)."""


def _decode(combo: np.ndarray, indices: list[_LayerIndex]) -> tuple[list[np.ndarray], np.ndarray]:
    """Dense index of each layer in combined keys ``((k * span0 + index0) * span1 + ...)``,
    and what is left of the keys (``k``)."""
    decoded = []
    rem = combo
    for ix in reversed(indices):
        decoded.append(rem % ix.span)
        rem = rem // ix.span
    decoded.reverse()
    return decoded, rem


def _block_numpy(
    block: RasterBlock,
    edges: EdgeTable,
    indices: list[_LayerIndex],
    continuous: Sequence[str],
    weights: np.ndarray | None,
) -> _BlockSums:
    """One block with the plain-NumPy path (the reference of the compiled one): burn, sum
    the continuous layers per zone and the weights per (zone, combination)."""
    rows, cols = block.shape
    local, zone_of_local = burn_block(edges, block.row_off, block.col_off, rows, cols)
    # global zone index + 1 of each local id (local 0 = outside every zone -> 0)
    to_global = np.concatenate([[0], zone_of_local + 1]).astype(np.int64)
    m = len(zone_of_local) + 1
    flat_local = local.ravel()
    sums: _ContinuousSums = {}
    for name in continuous:
        cvals = block.arrays[name]
        cok = valid_mask(cvals, block.nodata.get(name)).ravel()
        part = np.bincount(flat_local[cok], weights=cvals.ravel()[cok].astype(float), minlength=m)
        sums[name] = (to_global, part)
    nz, values, counts_nz = _combination_areas(flat_local, m, indices, weights)
    decoded, rem = _decode(nz, indices)
    return to_global[rem], decoded, values, counts_nz, sums


def _block_compiled(
    block: RasterBlock,
    runs: kernels.BlockRuns,
    indices: list[_LayerIndex],
    continuous: Sequence[str],
    weights: np.ndarray | None,
    n_zones: int,
) -> _BlockSums:
    """One block with the compiled kernels (:mod:`geocarbon.kernels`), its zones given as
    runs along its rows: the same figures as :func:`_block_numpy`, bit for bit (every sum
    adds the pixels in the same order)."""
    rows, cols = block.shape
    zone_plus1 = kernels.decode_runs(runs, rows, cols).ravel() if continuous else runs[2]
    sums: _ContinuousSums = {}
    for name in continuous:
        cvals = block.arrays[name]
        cok = valid_mask(cvals, block.nodata.get(name)).ravel()
        sums[name] = (None, kernels.zone_sums(zone_plus1, cvals.ravel(), cok, n_zones))
    n_cls = int(np.prod([ix.span for ix in indices]))
    cls, offset = _class_keys(indices)
    found = kernels.combination_sums(runs, cols, n_zones, cls, offset, n_cls, weights, _DENSE_LIMIT)
    if found is None:
        # very many classes: sort-based grouping, as the NumPy path
        key = np.multiply(kernels.decode_runs(runs, rows, cols).ravel(), n_cls, dtype=np.int64)
        key += cls - offset
        nz, values, counts_nz = _sorted_sums(key, weights)
        slot, combo = np.divmod(nz, n_cls)
    else:
        slot, combo, values, counts_nz = found
    decoded, _ = _decode(combo, indices)
    return slot, decoded, values, counts_nz, sums


def _class_keys(indices: list[_LayerIndex]) -> tuple[np.ndarray, int]:
    """Combined class key of each pixel, flattened, and its offset: a single integer layer's
    codes as they are (no copy), else ``((index0 * span1) + index1) ...`` with offset 0."""
    first = indices[0]
    if len(indices) == 1 and first.idx.dtype.kind in "iu" and first.idx.dtype != np.uint64:
        return first.idx.ravel(), first.offset
    cls = np.subtract(first.idx.ravel(), first.offset, dtype=np.int64)
    for ix in indices[1:]:
        cls *= ix.span
        cls += ix.idx.ravel()
        if ix.offset:
            cls -= ix.offset
    return cls, 0


def _pixel_weights(
    pixel_areas: PixelAreaModel, block: RasterBlock
) -> tuple[np.ndarray | None, float]:
    """The block's pixel areas as bincount weights: per-pixel areas [m²] (flattened) and a
    unit of 1, or no weights and the one pixel area [m²] of a grid of equal pixels."""
    rows, cols = block.shape
    area = pixel_areas.block_m2(block.row_off, block.col_off, rows, cols)
    if isinstance(area, np.ndarray):
        return np.broadcast_to(area, (rows, cols)).ravel(), 1.0
    return None, float(area)


def _combination_areas(
    flat_local: np.ndarray, m: int, indices: list[_LayerIndex], weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels of each (local zone, class combination) present in the block.

    Parameters
    ----------
    flat_local : ndarray of int
        Local zone id of each pixel (0: outside every zone), flattened.
    m : int
        Number of local zone ids.
    indices : list of _LayerIndex
        The categorical layers' dense indices, main layer first.
    weights : ndarray or None
        Area [m²] of each pixel, flattened (None: count pixels).

    Returns
    -------
    keys : ndarray of int
        The combined key ``((local * span0 + index0) * span1 + index1) ...`` of each
        combination present.
    values : ndarray of float
        Its summed weights (pixel count when ``weights`` is None).
    counts : ndarray of int
        Its number of pixels.
    """
    spans = [ix.span for ix in indices]
    total = m * int(np.prod(spans))
    # key = ((local * span0 + index0) * span1 + index1) ..., computed in place
    key = np.multiply(flat_local, spans[0], dtype=np.int64)
    for i, ix in enumerate(indices):
        if i:
            key *= ix.span
        key += ix.idx.ravel()
        if ix.offset:
            key -= ix.offset
    if total <= _DENSE_LIMIT:
        agg = np.bincount(key, weights=weights, minlength=total)
        nz = np.flatnonzero(agg)
        values = agg[nz].astype(float)
        if weights is not None:
            return nz, values, np.bincount(key, minlength=total)[nz]
        return nz, values, values.astype(np.int64)
    # very many classes: sort-based grouping
    return _sorted_sums(key, weights)


def _sorted_sums(
    key: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keys present (sorted), their summed weights (pixel count when ``weights`` is None)
    and their pixel counts, grouping by sorting."""
    nz, inverse = np.unique(key, return_inverse=True)
    values = np.bincount(inverse.ravel(), weights=weights).astype(float)
    return nz, values, np.bincount(inverse.ravel())


def _secondary_codes(ix: _LayerIndex, dec: np.ndarray, nodata: float | None) -> np.ndarray:
    """Codes of a secondary layer from its dense indices, :data:`NO_VALUE` where it has no
    value (NaN or its nodata)."""
    codes = ix.codes[dec]
    empty = np.zeros(len(codes), dtype=bool)
    if ix.nan_slot is not None:
        empty |= dec == ix.nan_slot
    if nodata is not None and not np.isnan(nodata):
        empty |= codes == nodata
    return np.where(empty, NO_VALUE, codes)


def typical_pixel_ha(pixel_areas: PixelAreaModel, width: int, height: int) -> float:
    """True area [ha] of the grid's central pixel (pixel areas vary little over a territory)."""
    area = pixel_areas.block_m2(max(0, height // 2), max(0, width // 2), 1, 1)
    return float(np.mean(area)) / 10_000.0


def check_pixel_size(pixel_ha: float, area_ha: np.ndarray, source: str) -> None:
    """Refuse a land-cover grid whose pixels are larger than the median commune.

    Pixel-centre counting cannot measure communes smaller than a pixel: most of them would
    receive either no pixel or a whole pixel, far more than their area.

    Parameters
    ----------
    pixel_ha : float
        Area of one pixel [ha].
    area_ha : ndarray
        True area of each commune [ha].
    source : str
        The raster's file, for the message.

    Raises
    ------
    InputError
        The pixel area exceeds the median commune area.
    """
    areas = np.asarray(area_ha, dtype=float)
    areas = areas[np.isfinite(areas) & (areas > 0)]
    if len(areas) == 0:
        return
    median = float(np.median(areas))
    if pixel_ha > median:
        msg = (
            f"land cover {source}: its pixels ({pixel_ha:,.1f} ha each) are coarser than the "
            f"communes (median commune {median:,.1f} ha): counting pixel centres cannot measure "
            "them; use a finer raster (e.g. Corine Land Cover 100 m, 1 ha per pixel)"
        )
        raise InputError(msg)


def check_landcover_excess(
    commune_codes: Sequence[str] | np.ndarray,
    landcover_area_ha: np.ndarray,
    area_ha: np.ndarray,
    pixel_ha: float,
    source: str,
) -> list[Notice]:
    """Compare each commune's counted land cover with its true area.

    Pixel-centre counting gives a commune a few pixels more or less than its area; more
    than :data:`LANDCOVER_EXCESS_SHARE` of its area plus :data:`LANDCOVER_EXCESS_PIXELS`
    pixels is reported, more than :data:`LANDCOVER_REFUSE_SHARE` plus
    :data:`LANDCOVER_REFUSE_PIXELS` pixels is refused (the pixels are coarser than the
    commune: its stocks would be counted on land it does not have).

    Parameters
    ----------
    commune_codes : sequence of str
        Code of each commune.
    landcover_area_ha : ndarray
        Land cover counted in each commune [ha].
    area_ha : ndarray
        True area of each commune [ha].
    pixel_ha : float
        Area of one pixel [ha].
    source : str
        The raster's file, for messages.

    Returns
    -------
    list of Notice
        One notice listing the communes above the tolerance but below the refusal bound.

    Raises
    ------
    InputError
        A commune receives more than the refusal bound (the worst ones are named, with
        their figures and the pixel size).
    """
    codes = np.asarray(commune_codes, dtype=object)
    counted = np.asarray(landcover_area_ha, dtype=float)
    true = np.asarray(area_ha, dtype=float)
    excess = counted - true
    tolerance = LANDCOVER_EXCESS_SHARE * true + LANDCOVER_EXCESS_PIXELS * pixel_ha
    bound = LANDCOVER_REFUSE_SHARE * true + LANDCOVER_REFUSE_PIXELS * pixel_ha
    with np.errstate(invalid="ignore"):
        refused = excess > bound
        mild = (excess > tolerance) & ~refused
    if refused.any():
        items = _excess_figures(refused, codes, counted, true)
        shown = "; ".join(items[:10]) + (f"; and {len(items) - 10} more" if len(items) > 10 else "")
        msg = (
            f"land cover {source}: its pixels ({pixel_ha:,.1f} ha each) are coarser than the "
            f"communes: {len(items)} communes receive far more land cover than their area: {shown}. "
            "Use a finer raster"
        )
        raise InputError(msg)
    if not mild.any():
        return []
    return [_excess_notice(_excess_figures(mild, codes, counted, true), pixel_ha)]


def _excess_notice(items: list[str], pixel_ha: float) -> Notice:
    """The notice listing the communes whose counted land cover exceeds their area beyond
    the tolerance (``pixel_ha``: area of one pixel [ha])."""
    return Notice(
        "landcover_exceeds_area",
        f"communes whose counted land cover exceeds their area by more than "
        f"{LANDCOVER_EXCESS_SHARE:.0%} + {LANDCOVER_EXCESS_PIXELS:g} pixel "
        f"({pixel_ha:,.2f} ha per pixel; pixel-centre counting): their stocks are overestimated",
        items,
        facts={
            "excess_share": LANDCOVER_EXCESS_SHARE,
            "excess_pixels": LANDCOVER_EXCESS_PIXELS,
            "pixel_ha": pixel_ha,
        },
    )


def _excess_figures(
    selected: np.ndarray, codes: np.ndarray, counted_ha: np.ndarray, true_ha: np.ndarray
) -> list[str]:
    """The selected communes, largest excess first, each with its counted land cover and
    its true area [ha]."""
    excess_ha = counted_ha - true_ha
    order = np.flatnonzero(selected)[np.argsort(-excess_ha[selected], kind="stable")]
    return [
        f"{codes[i]} ({counted_ha[i]:,.1f} ha of land cover for {true_ha[i]:,.1f} ha)"
        for i in order
    ]
