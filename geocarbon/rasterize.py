"""Vectorised polygon rasterisation with the cell-centre rule, block by block.

A pixel belongs to a polygon when its centre lies inside it (even–odd rule over all
rings, so holes and multi-polygons work). A pixel centre lying exactly on an edge shared
by two polygons goes to the one on its right (x) or below it (y): when polygons tile a
territory, every pixel centre inside it belongs to exactly one polygon. Where polygons
overlap, the one with the highest index wins.

The algorithm is a scanline fill done with NumPy over all edges at once: for each pixel
row, the crossings of its centre line with polygon edges are computed, sorted, paired
into runs of pixels, and the runs are written into the block. Polygon edges are
converted to pixel coordinates once (:class:`EdgeTable`); each block only takes the
edges that span its rows, so memory is bounded by the block size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import shapely
from affine import Affine

from geocarbon import kernels


@dataclass(frozen=True)
class EdgeTable:
    """Polygon edges in pixel coordinates (column, row as floats).

    Attributes
    ----------
    x0, y0, x1, y1 : ndarray
        Edge end points [pixels].
    zone : ndarray
        Index of the polygon each edge belongs to.
    row_start, row_end : ndarray
        Pixel rows whose centre line the edge crosses: ``row_start <= r < row_end``.
        Edges point downwards (``y0 <= y1``).
    """

    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    zone: np.ndarray
    row_start: np.ndarray
    row_end: np.ndarray


def edge_table(geometries: np.ndarray, transform: Affine) -> EdgeTable:
    """Edges of polygons (Polygon / MultiPolygon) mapped to a grid's pixel coordinates.

    Parameters
    ----------
    geometries : ndarray of shapely geometries
        Polygons in the grid's CRS; polygon ``i`` is zone ``i``.
    transform : Affine
        North-up grid transform.
    """
    if len(geometries) == 0:
        none = np.zeros(0)
        nothing = np.zeros(0, dtype=np.int32)
        return EdgeTable(none, none, none, none, nothing, nothing, nothing)
    gtype, coords, offsets = shapely.to_ragged_array(geometries)
    if gtype == shapely.GeometryType.POLYGON:
        ring_offsets, poly_offsets = offsets
        ring_zone = np.repeat(
            np.arange(len(poly_offsets) - 1, dtype=np.int32), np.diff(poly_offsets)
        )
    elif gtype == shapely.GeometryType.MULTIPOLYGON:
        ring_offsets, part_offsets, geom_offsets = offsets
        part_zone = np.repeat(
            np.arange(len(geom_offsets) - 1, dtype=np.int32), np.diff(geom_offsets)
        )
        ring_zone = np.repeat(part_zone, np.diff(part_offsets))
    else:
        msg = f"edge_table needs polygons, got geometry type {gtype!r}"
        raise ValueError(msg)
    cols = (coords[:, 0] - transform.c) / transform.a
    rows = (coords[:, 1] - transform.f) / transform.e
    del coords
    # an edge joins each vertex to the next one (views, no copy); the pairs that straddle
    # two rings (a ring's last vertex and the next ring's first) are dropped below
    edges_per_ring = np.diff(ring_offsets) - 1
    same_ring = np.ones(len(cols) - 1, dtype=bool)
    same_ring[ring_offsets[1:-1] - 1] = False
    x0, y0, x1, y1 = cols[:-1], rows[:-1], cols[1:], rows[1:]
    # every edge points downwards (y0 <= y1), so the edge shared by two neighbours gives both
    # the very same crossing abscissae, bit for bit
    flip = y0 > y1
    x0, x1 = np.where(flip, x1, x0), np.where(flip, x0, x1)
    y0, y1 = np.where(flip, y1, y0), np.where(flip, y0, y1)
    del cols, rows
    row_start = np.ceil(y0 - 0.5).astype(np.int32)
    row_end = np.ceil(y1 - 0.5).astype(np.int32)
    # keep the edges of a ring that cross at least one pixel-centre line
    keep_mask = same_ring & (row_end > row_start)
    edge_zone = np.repeat(ring_zone, edges_per_ring)[keep_mask[same_ring]]
    keep = np.flatnonzero(keep_mask)
    return EdgeTable(
        x0=x0[keep],
        y0=y0[keep],
        x1=x1[keep],
        y1=y1[keep],
        zone=edge_zone,
        row_start=row_start[keep],
        row_end=row_end[keep],
    )


class BandEdges:
    """Edge tables of zones built band of rows by band, so that memory follows the band,
    not the number of polygons or vertices.

    For the rows of a block, :meth:`rows` builds the edges of the polygons whose bounds reach
    those rows only (the polygons' bounds are computed once, when first needed), keeps the
    edges crossing their pixel-centre lines, and keeps that table while the next block asks for the same rows
    (blocks split in columns). Edges are computed exactly as :func:`edge_table` computes them
    (same operations, zones in increasing order), so a block burns to the very same pixels.

    Parameters
    ----------
    geometries : ndarray of shapely geometries
        Polygons in the grid's CRS; polygon ``i`` is zone ``i``.
    transform : Affine
        North-up grid transform.
    """

    def __init__(self, geometries: np.ndarray, transform: Affine) -> None:
        self.geometries = np.asarray(geometries, dtype=object)
        self.transform = transform
        self._reach: tuple[np.ndarray, np.ndarray] | None = None
        self._band: tuple[int, int, EdgeTable] | None = None

    def __len__(self) -> int:
        return len(self.geometries)

    def reach(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose centre line each polygon may cross, widened by one row each side
        (``row_lo``, ``row_hi``), from the polygons' bounds (computed the first time only:
        a pass whose blocks are all in a zone cache never needs them)."""
        if self._reach is None:
            bounds = shapely.bounds(self.geometries)
            top = (bounds[:, 3] - self.transform.f) / self.transform.e
            bottom = (bounds[:, 1] - self.transform.f) / self.transform.e
            with np.errstate(invalid="ignore"):
                self._reach = (
                    np.floor(np.fmin(top, bottom)) - 1.0,
                    np.ceil(np.fmax(top, bottom)) + 1.0,
                )
        return self._reach

    def rows(self, row_off: int, rows: int) -> EdgeTable:
        """Edges crossing the centre lines of rows ``row_off`` to ``row_off + rows - 1``."""
        if self._band is not None and self._band[0] == row_off and self._band[1] == rows:
            return self._band[2]
        self._band = None  # the previous band is freed before the next one is built
        row_lo, row_hi = self.reach()
        with np.errstate(invalid="ignore"):
            sel = np.flatnonzero((row_lo <= row_off + rows) & (row_hi >= row_off))
        table = _select(edge_table(self.geometries[sel], self.transform), row_off, rows)
        table = replace(table, zone=sel[table.zone].astype(np.int32))
        self._band = (row_off, rows, table)
        return table


def _select(edges: EdgeTable, row_off: int, rows: int) -> EdgeTable:
    """The edges crossing the centre lines of rows ``row_off`` .. ``row_off + rows - 1``."""
    keep = np.flatnonzero((edges.row_start < row_off + rows) & (edges.row_end > row_off))
    return EdgeTable(*(getattr(edges, k)[keep] for k in EdgeTable.__dataclass_fields__))


def _ragged_arange(counts: np.ndarray) -> np.ndarray:
    """``concatenate([arange(c) for c in counts])`` without a Python loop."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offsets = np.repeat(ends - counts, counts)
    return np.arange(total, dtype=np.int64) - offsets


def block_runs(
    edges: EdgeTable, row_off: int, col_off: int, rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of pixels inside each polygon, for one block.

    Returns
    -------
    zone, row, col_start, col_end : ndarray
        One entry per run; ``row`` and columns are relative to the block, ``col_end``
        exclusive; empty runs removed.
    """
    sel = np.flatnonzero((edges.row_start < row_off + rows) & (edges.row_end > row_off))
    r_lo = np.maximum(edges.row_start[sel], row_off).astype(np.int64)
    r_hi = np.minimum(edges.row_end[sel], row_off + rows).astype(np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if len(sel) == 0:
        return empty, empty, empty, empty
    counts = r_hi - r_lo
    idx = np.repeat(sel, counts)
    row = np.repeat(r_lo, counts) + _ragged_arange(counts)
    yc = row + 0.5
    x0, y0 = edges.x0[idx], edges.y0[idx]
    x = x0 + (yc - y0) * (edges.x1[idx] - x0) / (edges.y1[idx] - y0)
    zone = edges.zone[idx]
    # sort the crossings by (zone, row, x); one integer key for (zone, row) makes it a
    # two-key sort
    group = zone.astype(np.int64) * (rows + 1) + (row - row_off)
    order = np.lexsort((x, group))
    zone, row, x = zone[order], row[order], x[order]
    # crossings pair up within each (zone, row): entering at even positions, leaving at odd
    z_in, r_in = zone[0::2], row[0::2]
    cs = np.ceil(x[0::2] - 0.5).astype(np.int64) - col_off
    ce = np.ceil(x[1::2] - 0.5).astype(np.int64) - col_off
    cs = np.clip(cs, 0, cols)
    ce = np.clip(ce, 0, cols)
    ok = ce > cs
    return z_in[ok].astype(np.int64), r_in[ok] - row_off, cs[ok], ce[ok]


def _overlapping(row: np.ndarray, cs: np.ndarray, ce: np.ndarray, cols: int) -> np.ndarray:
    """Mask of runs that overlap another run of the same row."""
    n = len(row)
    if n < 2:
        return np.zeros(n, dtype=bool)
    order = np.lexsort((cs, row))
    big = np.int64(cols + 1)
    kcs = row[order] * big + cs[order]
    kce = row[order] * big + ce[order]
    prev_max = np.maximum.accumulate(kce)
    later = np.zeros(n, dtype=bool)
    later[1:] = kcs[1:] < prev_max[:-1]
    next_min = np.minimum.accumulate(kcs[::-1])[::-1]
    earlier = np.zeros(n, dtype=bool)
    earlier[:-1] = kce[:-1] > next_min[1:]
    out = np.zeros(n, dtype=bool)
    out[order] = later | earlier
    return out


def burn_runs(
    zone_local: np.ndarray, row: np.ndarray, cs: np.ndarray, ce: np.ndarray, rows: int, cols: int
) -> np.ndarray:
    """Write runs into an int32 block (0 = no zone); higher ids win where runs overlap.

    Parameters
    ----------
    zone_local : ndarray
        Id (>= 1) written for each run.
    """
    out = np.zeros((rows, cols), dtype=np.int32)
    if len(row) == 0:
        return out
    overlap = _overlapping(row, cs, ce, cols)
    clean = ~overlap
    # non-overlapping runs: +id at their first pixel, -id after their last one, then a
    # cumulative sum along each row (start positions are distinct, and so are end positions)
    flat = out.reshape(-1)
    ids = zone_local[clean].astype(np.int32)
    r, s_, e_ = row[clean], cs[clean], ce[clean]
    flat[r * cols + s_] += ids
    inside = e_ < cols
    flat[r[inside] * cols + e_[inside]] -= ids[inside]
    np.cumsum(out, axis=1, out=out)
    if overlap.any():
        # overlapping runs, in increasing id order: the highest id is written last
        idx = np.flatnonzero(overlap)
        for i in idx[np.argsort(zone_local[idx], kind="stable")]:
            out[row[i], cs[i] : ce[i]] = zone_local[i]
    return out


def burn_block(
    edges: EdgeTable, row_off: int, col_off: int, rows: int, cols: int
) -> tuple[np.ndarray, np.ndarray]:
    """Zone of each pixel of a block, as local ids.

    Returns
    -------
    local : ndarray of int32, shape (rows, cols)
        0 where no zone, else position + 1 in ``zones``.
    zones : ndarray
        Global zone index of each local id (sorted).
    """
    zone, row, cs, ce = block_runs(edges, row_off, col_off, rows, cols)
    zones, local = np.unique(zone, return_inverse=True)
    return burn_runs(local + 1, row, cs, ce, rows, cols), zones


def burn_zones(
    edges: EdgeTable, row_off: int, col_off: int, rows: int, cols: int, engine: str = "numpy"
) -> np.ndarray:
    """Zone + 1 of each pixel of a block (0: no zone), with the chosen engine.

    Parameters
    ----------
    edges : EdgeTable
        Polygon edges in pixel coordinates.
    row_off, col_off : int
        Position of the block in the grid [pixels].
    rows, cols : int
        Size of the block [pixels].
    engine : {"numpy", "numba"}
        ``"numba"``: the compiled kernel (:func:`geocarbon.kernels.burn_edges`), which gives
        the very pixels of the NumPy path (:func:`burn_block`).

    Returns
    -------
    ndarray of int32, shape (rows, cols)
        Global zone index + 1 of each pixel.
    """
    if engine == "numba":
        return kernels.burn_edges(edges, row_off, col_off, rows, cols)
    local, zones = burn_block(edges, row_off, col_off, rows, cols)
    to_global = np.concatenate([[0], zones + 1]).astype(np.int32)
    return to_global[local]
