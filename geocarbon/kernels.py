"""Compiled kernels of the zonal engine (numba), beside the plain-NumPy path they reproduce.

Two kernels do the per-pixel work of :func:`geocarbon.zonal.zonal_crosstab`:

* :func:`burn_edges` burns the zones of a block from its polygon edges (cell-centre rule,
  the highest zone wins where zones overlap), as :func:`geocarbon.rasterize.burn_block`;
* :func:`combination_sums` counts the pixels and sums the pixel areas of each (zone, class
  combination) of a block, and :func:`zone_sums` sums a continuous layer per zone;
* :func:`count_codes` counts the pixels of a block per (zone, class code) into a table kept
  over the whole grid (:class:`geocarbon.zonal.CodeCounts`).

Kernels release the GIL (``nogil``): a block is counted while the next one is read.

Their results are **bit-identical** to the NumPy path's: crossings are computed with the
same floating-point operations in the same order, and every sum adds the pixels in the
order of the flattened block, as ``numpy.bincount`` does. ``tests/test_kernels.py`` compares
both paths on hand-made and random cases.

The engine is chosen by :func:`resolve_engine`: ``"numba"`` when numba is installed and
the grid is large enough to repay loading it (:data:`NUMBA_MIN_PIXELS`), ``"numpy"``
otherwise, when the environment variable :data:`ENGINE_ENV` is ``numpy``, or when a caller
asks for it. numba is imported only when a compiled kernel is first used; compiled
functions are cached on disk by numba (``cache=True``): the first run of a new
installation compiles them (a few seconds).
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np

#: Environment variable choosing the engine: ``numpy`` forces the plain-NumPy path,
#: ``numba`` the compiled kernels (when numba is installed) whatever the grid's size.
ENGINE_ENV = "GEOCARBON_ENGINE"

ENGINES = ("auto", "numba", "numpy")

#: Below this many pixels, ``"auto"`` keeps the NumPy path: importing numba and loading the
#: compiled kernels costs ~0.8 s per process on the project's 2-core machine, which the
#: kernels win back (~15 ns per pixel on the 2e7-pixel benchmark) from about 5e7 pixels on.
NUMBA_MIN_PIXELS = 50_000_000

#: The compiled functions, in the order they are compiled (callees first).
_KERNELS = (
    "_row_crossings",
    "_sort_by_zone_then_x",
    "_fill_row",
    "_burn_rows",
    "_present_ids",
    "_run_sums",
    "_zone_sums",
    "_add_at",
    "_encode_runs",
    "_decode_runs",
    "_count_codes",
)
_compiled = False

BlockRuns = tuple[np.ndarray, np.ndarray, np.ndarray]
"""A burnt block as runs along its rows: first run of each row (rows + 1 offsets), first
column and value of each run (:func:`encode_runs`)."""


def _njit(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a kernel; :func:`_compile` replaces it by ``numba.njit(cache=True, nogil=True)(fn)``
    the first time a compiled kernel is used (numba is imported only then). Kernels release
    the GIL: a block is counted while the next one is read in another thread."""
    return fn


def _compile() -> None:
    """Import numba and compile the kernels (loaded from numba's on-disk cache after the
    first run); module globals are replaced so that kernels calling kernels see the
    compiled ones."""
    global _compiled
    if _compiled:
        return
    import numba

    names = globals()
    for name in _KERNELS:
        names[name] = numba.njit(cache=True, nogil=True)(names[name])
    _compiled = True


def numba_available() -> bool:
    """Whether numba is installed (without importing it)."""
    return importlib.util.find_spec("numba") is not None


def resolve_engine(engine: str | None = None, pixels: int | None = None) -> str:
    """The engine to use: ``"numba"`` or ``"numpy"``.

    Parameters
    ----------
    engine : {"auto", "numba", "numpy"} or None
        What the caller asks for; ``None`` or ``"auto"`` follows :data:`ENGINE_ENV`, then
        takes numba when it is installed and the grid has at least :data:`NUMBA_MIN_PIXELS`
        pixels.
    pixels : int, optional
        Pixels of the grid (unknown: numba when installed).

    Raises
    ------
    ValueError
        An unknown engine, or ``"numba"`` asked for while numba is not installed.
    """
    wanted = engine or "auto"
    if wanted == "auto":
        wanted = os.environ.get(ENGINE_ENV, "").strip().lower() or "auto"
        if wanted not in ENGINES:
            msg = f"{ENGINE_ENV}={wanted!r}: expected one of numba, numpy"
            raise ValueError(msg)
    if wanted not in ENGINES:
        msg = f"unknown zonal engine {wanted!r}: expected one of {', '.join(ENGINES)}"
        raise ValueError(msg)
    if wanted == "numpy":
        return "numpy"
    if not numba_available():
        if wanted == "numba":
            msg = "the numba engine was asked for but numba is not installed (pip install numba)"
            raise ValueError(msg)
        return "numpy"
    if wanted == "auto" and pixels is not None and pixels < NUMBA_MIN_PIXELS:
        return "numpy"
    return "numba"


@_njit
def _row_crossings(
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    zone: np.ndarray,
    row_start: np.ndarray,
    row_end: np.ndarray,
    row_off: int,
    rows: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crossings of the block's pixel-centre lines with the edges, bucketed by row:
    ``starts`` (rows + 1 offsets), abscissae [pixels], zones."""
    counts = np.zeros(rows + 1, dtype=np.int64)
    for i in range(len(x0)):
        lo = max(row_start[i], row_off)
        hi = min(row_end[i], row_off + rows)
        for r in range(lo, hi):
            counts[r - row_off + 1] += 1
    starts = np.cumsum(counts)
    fill = starts[:-1].copy()
    xs = np.empty(starts[-1], dtype=np.float64)
    zs = np.empty(starts[-1], dtype=np.int64)
    for i in range(len(x0)):
        lo = max(row_start[i], row_off)
        hi = min(row_end[i], row_off + rows)
        for r in range(lo, hi):
            yc = np.float64(r) + 0.5
            k = fill[r - row_off]
            # the very operations of rasterize.block_runs, in the same order
            xs[k] = x0[i] + (yc - y0[i]) * (x1[i] - x0[i]) / (y1[i] - y0[i])
            zs[k] = zone[i]
            fill[r - row_off] = k + 1
    return starts, xs, zs


@_njit
def _burn_rows(
    starts: np.ndarray, xs: np.ndarray, zs: np.ndarray, col_off: int, out: np.ndarray
) -> None:
    """Fill each row of ``out`` with zone + 1 between paired crossings, zones in increasing
    order so that the highest zone wins where zones overlap."""
    for r in range(out.shape[0]):
        a, b = starts[r], starts[r + 1]
        if b - a < 2:
            continue
        seg_x = xs[a:b].copy()
        seg_z = zs[a:b].copy()
        if not _sort_by_zone_then_x(seg_x, seg_z):
            by_x = np.argsort(seg_x, kind="mergesort")
            order = by_x[np.argsort(seg_z[by_x], kind="mergesort")]
            seg_x = seg_x[order]
            seg_z = seg_z[order]
        _fill_row(seg_x, seg_z, col_off, out[r])


@_njit
def _sort_by_zone_then_x(seg_x: np.ndarray, seg_z: np.ndarray) -> bool:
    """Sort crossings listed in increasing zone order (edges come zone by zone) by abscissa
    within each zone, in place (insertion sort: a zone crosses a row a few times); False,
    leaving them as they are, when the zones are not in increasing order."""
    n = len(seg_z)
    for k in range(1, n):
        if seg_z[k] < seg_z[k - 1]:
            return False
    for k in range(1, n):
        x, z = seg_x[k], seg_z[k]
        j = k - 1
        while j >= 0 and seg_z[j] == z and seg_x[j] > x:
            seg_x[j + 1] = seg_x[j]
            j -= 1
        seg_x[j + 1] = x
    return True


@_njit
def _fill_row(seg_x: np.ndarray, seg_z: np.ndarray, col_off: int, row: np.ndarray) -> None:
    """Write zone + 1 between crossings paired in order (entering, leaving)."""
    cols = len(row)
    for p in range(0, len(seg_x) - 1, 2):
        cs = int(np.ceil(seg_x[p] - 0.5)) - col_off
        ce = int(np.ceil(seg_x[p + 1] - 0.5)) - col_off
        cs = 0 if cs < 0 else min(cs, cols)
        ce = 0 if ce < 0 else min(ce, cols)
        if ce > cs:
            row[cs:ce] = np.int32(seg_z[p] + 1)


def burn_edges(edges: Any, row_off: int, col_off: int, rows: int, cols: int) -> np.ndarray:
    """Zone + 1 of each pixel of a block (0: no zone), compiled.

    Parameters
    ----------
    edges : EdgeTable
        Polygon edges in pixel coordinates (:func:`geocarbon.rasterize.edge_table`).
    row_off, col_off : int
        Position of the block in the grid [pixels].
    rows, cols : int
        Size of the block [pixels].

    Returns
    -------
    ndarray of int32, shape (rows, cols)
        The same pixels as :func:`geocarbon.rasterize.burn_block` (global zone index + 1).
    """
    _compile()
    sel = np.flatnonzero((edges.row_start < row_off + rows) & (edges.row_end > row_off))
    starts, xs, zs = _row_crossings(
        edges.x0[sel],
        edges.y0[sel],
        edges.x1[sel],
        edges.y1[sel],
        edges.zone[sel].astype(np.int64),
        edges.row_start[sel].astype(np.int64),
        edges.row_end[sel].astype(np.int64),
        int(row_off),
        int(rows),
    )
    out = np.zeros((rows, cols), dtype=np.int32)
    _burn_rows(starts, xs, zs, int(col_off), out)
    return out


@_njit
def _present_ids(ids: np.ndarray, offset: int, n_slots: int) -> tuple[np.ndarray, np.ndarray]:
    """Dense local ids of the values ``ids - offset`` present (0 .. n_slots - 1), in
    increasing order: ``lut[value]`` and the values present."""
    present = np.zeros(n_slots, dtype=np.bool_)
    for p in range(ids.size):
        present[ids[p] - offset] = True
    lut = np.full(n_slots, -1, dtype=np.int64)
    found = np.empty(n_slots, dtype=np.int64)
    m = 0
    for v in range(n_slots):
        if present[v]:
            lut[v] = m
            found[m] = v
            m += 1
    return lut, found[:m]


def present_values(values: np.ndarray, n_slots: int) -> np.ndarray:
    """The values present in an array of integers 0 .. ``n_slots - 1``, in increasing order,
    compiled."""
    _compile()
    found: np.ndarray = _present_ids(values, 0, int(n_slots))[1]
    return found


@_njit
def _run_sums(
    row_starts: np.ndarray,
    run_col: np.ndarray,
    run_val: np.ndarray,
    cols: int,
    zlut: np.ndarray,
    cls: np.ndarray,
    offset: int,
    cls_lut: np.ndarray,
    k: int,
    m: int,
    weights: np.ndarray,
    weighted: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Summed weights (pixel count when not ``weighted``) and pixel counts per
    ``local zone * k + local class``, pixels added in flattened (row-major) order."""
    agg = np.zeros(m * k, dtype=np.float64)
    cnt = np.zeros(m * k, dtype=np.int64)
    for r in range(len(row_starts) - 1):
        end = row_starts[r + 1]
        for j in range(row_starts[r], end):
            stop = run_col[j + 1] if j + 1 < end else cols
            base = zlut[run_val[j]] * k
            for p in range(r * cols + run_col[j], r * cols + stop):
                slot = base + cls_lut[cls[p] - offset]
                cnt[slot] += 1
                if weighted:
                    agg[slot] += weights[p]
    if not weighted:
        for i in range(m * k):
            agg[i] = np.float64(cnt[i])
    return agg, cnt


def combination_sums(
    runs: BlockRuns,
    cols: int,
    n_zones: int,
    cls: np.ndarray,
    offset: int,
    n_cls: int,
    weights: np.ndarray | None,
    dense_limit: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Pixels of each (zone, class combination) present in a block, compiled.

    Parameters
    ----------
    runs : BlockRuns
        The burnt block (zone + 1 of each pixel, 0: outside every zone) as runs along its
        rows (:func:`encode_runs`).
    cols : int
        Width of the block [pixels].
    n_zones : int
        Number of zones.
    cls, offset : ndarray of int, int
        Combined class index + ``offset`` of each pixel, flattened (the raw codes of a
        single integer layer, or indices with an offset of 0).
    n_cls : int
        Number of class combinations (``cls - offset`` is in 0 .. n_cls - 1).
    weights : ndarray or None
        Area [m²] of each pixel, flattened (None: count pixels).
    dense_limit : int
        Largest dense table; above it None is returned (the caller groups by sorting).

    Returns
    -------
    slot, combo, values, counts : ndarray
        Zone + 1 and combination of each pair present, in increasing (zone, combination)
        order; summed weights [m²] (pixel count when ``weights`` is None, as float);
        pixel counts. None when the table would exceed ``dense_limit``.
    """
    if n_cls > dense_limit:
        return None
    _compile()
    row_starts, run_col, run_val = runs
    zlut, slots = _present_ids(run_val, 0, n_zones + 1)
    # the combinations present, renumbered in increasing order (a table of the classes
    # present, not of the whole code range)
    cls_lut, combos = _present_ids(cls, int(offset), int(n_cls))
    m, k = len(slots), len(combos)
    if m * k > dense_limit:
        return None
    weighted = weights is not None
    w = np.ascontiguousarray(weights, dtype=np.float64) if weighted else np.zeros(1)
    agg, cnt = _run_sums(
        row_starts, run_col, run_val, int(cols), zlut, cls, int(offset), cls_lut, k, m, w, weighted
    )
    nz = np.flatnonzero(agg)
    local, combo = np.divmod(nz, k)
    return slots[local], combos[combo], agg[nz], cnt[nz]


@_njit
def _add_at(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    for i in range(index.size):
        target[index[i]] += values[i]


def add_at(target: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """``numpy.add.at(target, index, values)``, compiled: values added one by one in their
    order (the same float results)."""
    _compile()
    _add_at(target, np.ascontiguousarray(index), np.ascontiguousarray(values))


@_njit
def _zone_sums(
    zone_plus1: np.ndarray, values: np.ndarray, ok: np.ndarray, n_slots: int
) -> np.ndarray:
    """Sum of the ``ok`` values per zone + 1, in flattened order."""
    out = np.zeros(n_slots, dtype=np.float64)
    for p in range(zone_plus1.size):
        if ok[p]:
            out[zone_plus1[p]] += np.float64(values[p])
    return out


def zone_sums(
    zone_plus1: np.ndarray, values: np.ndarray, ok: np.ndarray, n_zones: int
) -> np.ndarray:
    """Sum of the valid values of a continuous layer per zone + 1 (slot 0: outside every
    zone), compiled; pixels are added in flattened order, as ``numpy.bincount`` does.

    Parameters
    ----------
    zone_plus1 : ndarray of int32
        Zone + 1 of each pixel, flattened.
    values : ndarray
        The layer's values, flattened.
    ok : ndarray of bool
        Where the layer holds a valid value, flattened.
    n_zones : int
        Number of zones.
    """
    _compile()
    sums: np.ndarray = _zone_sums(zone_plus1, values, ok, n_zones + 1)
    return sums


@_njit
def _encode_runs(zone_plus1: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal values along each row: first run of each row (rows + 1 offsets), first
    column and value of each run."""
    rows, cols = zone_plus1.shape
    n = 0
    for r in range(rows):
        for c in range(cols):
            if c == 0 or zone_plus1[r, c] != zone_plus1[r, c - 1]:
                n += 1
    row_starts = np.empty(rows + 1, dtype=np.int64)
    run_col = np.empty(n, dtype=np.int32)
    run_val = np.empty(n, dtype=np.int32)
    k = 0
    for r in range(rows):
        row_starts[r] = k
        for c in range(cols):
            if c == 0 or zone_plus1[r, c] != zone_plus1[r, c - 1]:
                run_col[k] = c
                run_val[k] = zone_plus1[r, c]
                k += 1
    row_starts[rows] = k
    return row_starts, run_col, run_val


@_njit
def _decode_runs(
    row_starts: np.ndarray, run_col: np.ndarray, run_val: np.ndarray, out: np.ndarray
) -> None:
    cols = out.shape[1]
    for r in range(out.shape[0]):
        end = row_starts[r + 1]
        for k in range(row_starts[r], end):
            stop = run_col[k + 1] if k + 1 < end else cols
            out[r, run_col[k] : stop] = run_val[k]


def encode_runs(zone_plus1: np.ndarray) -> BlockRuns:
    """A burnt block (zone + 1 per pixel, 2-D int32) as runs of equal values along its rows,
    compiled: its memory follows the zone boundaries, not the pixels."""
    _compile()
    runs: BlockRuns = _encode_runs(np.ascontiguousarray(zone_plus1, dtype=np.int32))
    return runs


def decode_runs(runs: BlockRuns, rows: int, cols: int) -> np.ndarray:
    """The burnt block (int32, shape (rows, cols)) back from :func:`encode_runs`, exactly."""
    _compile()
    out = np.empty((rows, cols), dtype=np.int32)
    _decode_runs(runs[0], runs[1], runs[2], out)
    return out


@_njit
def _count_codes(
    row_starts: np.ndarray,
    run_col: np.ndarray,
    run_val: np.ndarray,
    cols: int,
    codes: np.ndarray,
    lut: np.ndarray,
    table: np.ndarray,
    start: int,
    stop: int,
    step: int,
) -> int:
    """Add ``step`` to ``table[zone + 1, lut[code]]`` for the pixels of flat index ``start``
    to ``stop - 1``; the index of the first pixel whose code has no column (``lut`` < 0),
    or -1 when every pixel was counted."""
    rows = len(row_starts) - 1
    for r in range(start // cols, min(rows, (stop + cols - 1) // cols)):
        base = r * cols
        end = row_starts[r + 1]
        for j in range(row_starts[r], end):
            p = max(base + run_col[j], start)
            last = min(base + (run_col[j + 1] if j + 1 < end else cols), stop)
            counts = table[run_val[j]]
            while p < last:
                col = lut[codes[p]]
                if col < 0:
                    return p
                counts[col] += step
                p += 1
    return -1


def count_codes(
    runs: BlockRuns,
    cols: int,
    codes: np.ndarray,
    lut: np.ndarray,
    table: np.ndarray,
    start: int = 0,
    stop: int | None = None,
    step: int = 1,
) -> int:
    """Count the pixels of a block per (zone, class code) into a table kept over the whole
    grid, compiled (integer counts: exact whatever the order).

    Parameters
    ----------
    runs : BlockRuns
        The burnt block (zone + 1 of each pixel, 0: outside every zone) as runs along its
        rows (:func:`encode_runs`).
    cols : int
        Width of the block [pixels].
    codes : ndarray of uint8 or uint16
        Class code of each pixel, flattened (signed codes viewed as unsigned).
    lut : ndarray of int
        Column of ``table`` of each code (-1: no column yet), as long as the codes' range.
    table : ndarray of int64, shape (zones + 1, columns)
        Pixel counts, updated in place.
    start, stop, step : int
        Pixels counted (flat indices ``start`` to ``stop - 1``; default: to the end) and
        what each adds (-1 takes back what an earlier call counted).

    Returns
    -------
    int
        -1 when every pixel was counted, else the flat index of the first pixel whose code
        has no column (the pixels before it are counted, none after it).
    """
    _compile()
    end = codes.size if stop is None else stop
    row_starts, run_col, run_val = runs
    found: int = _count_codes(
        row_starts, run_col, run_val, int(cols), codes, lut, table, int(start), int(end), int(step)
    )
    return found
