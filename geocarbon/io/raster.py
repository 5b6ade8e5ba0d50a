"""Raster readers: metadata checks and block-wise reading on one reference grid.

Only this module opens rasters. Reading is done in blocks (strips of rows, split in
columns for very wide rasters), so memory stays bounded whatever the raster's size.
Rasters on another grid are aligned to the reference grid through a GDAL warped VRT
with **nearest-neighbour** resampling only: categorical values are never interpolated.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.errors import RasterioError
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from geocarbon.errors import InputError
from geocarbon.io.tables import require_file
from geocarbon.values import RasterBlock as RasterBlock
from geocarbon.values import RasterInfo as RasterInfo

logger = logging.getLogger(__name__)


def read_error(what: str, path: Path | str, err: Exception) -> InputError:
    """The error to raise when GDAL fails while reading a raster's pixels.

    A file whose header is valid but whose data is cut (an interrupted download or copy)
    opens fine and fails only when a block is read: the message says so.
    """
    cause = err.__cause__ or err.__context__
    detail = " ".join(str(cause or err).split()).rstrip(".")
    msg = (
        f"{what}: cannot read {path} (file truncated or corrupt?): {detail}. "
        "Download or copy the file again, or check it with gdalinfo -checksum"
    )
    return InputError(msg)


def _probe_last_block(src: Any, info: RasterInfo) -> None:
    """Read the raster's last block (band 1), which is usually the last data written:
    a file cut short fails here cheaply, at open time, in ``run`` and in ``validate``."""
    _, cols = src.block_shapes[0]
    last_col = ((info.width - 1) // cols) * cols
    # the last row of the last block: GDAL decodes the whole block, we keep one row
    window = Window(last_col, info.height - 1, info.width - last_col, 1)
    try:
        src.read(1, window=window)
    except RasterioError as err:
        raise read_error(info.what, info.path, err) from None


def raster_info(path: Path, what: str) -> RasterInfo:
    """Open a raster's header and check it can be used.

    The last block of band 1 is read too, so that a truncated file is refused here
    (blocks read later are checked as well, see :func:`read_error`).

    Raises
    ------
    InputError
        Missing, unreadable or truncated file, no CRS, rotated grid.
    """
    require_file(path, what)
    try:
        with rasterio.open(path) as src:
            info = RasterInfo(
                path=Path(path),
                crs=src.crs,
                transform=src.transform,
                width=src.width,
                height=src.height,
                dtype=src.dtypes[0],
                nodata=src.nodata,
                what=what,
            )
            count = src.count
            _probe_last_block(src, info)
    except RasterioError as err:
        msg = f"{what}: cannot open {path} as a raster: {' '.join(str(err).split())}"
        raise InputError(msg) from None
    if info.crs is None:
        msg = (
            f"{what}: {path} has no coordinate reference system; assign one "
            "(e.g. gdal_edit.py -a_srs EPSG:2154 FILE) and run again"
        )
        raise InputError(msg)
    if info.transform.b != 0 or info.transform.d != 0:
        msg = f"{what}: {path} has a rotated grid, which geocarbon does not support; warp it to a north-up grid first (gdalwarp)"
        raise InputError(msg)
    if info.transform.a == 0 or info.transform.e == 0 or info.width == 0 or info.height == 0:
        msg = (
            f"{what}: {path} has no usable grid (pixel size {abs(info.transform.a):g} x "
            f"{abs(info.transform.e):g}, {info.width} x {info.height} pixels); its georeferencing is "
            "missing or broken: check it with gdalinfo"
        )
        raise InputError(msg)
    if info.crs.is_geographic:
        left, bottom, right, top = info.bounds
        if left < -180.5 or right > 360.5 or bottom < -90.5 or top > 90.5:
            msg = (
                f"{what}: {path} declares geographic coordinates ({info.crs.to_string()}) but its "
                f"extent ({left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f}) is not in degrees; the "
                "file's CRS is wrong: declare the right one (gdal_edit.py -a_srs EPSG:2154)"
            )
            raise InputError(msg)
    if count > 1:
        logger.warning("%s: %s has %d bands; band 1 is used", what, path, count)
    return info


def block_windows(width: int, height: int, block_pixels: int) -> list[Window]:
    """Split a grid into row strips (and column chunks when one row is too wide).

    Every pixel belongs to exactly one window.
    """
    cols = min(width, max(1, block_pixels))
    rows = max(1, block_pixels // cols)
    windows = []
    for row in range(0, height, rows):
        for col in range(0, width, cols):
            windows.append(Window(col, row, min(cols, width - col), min(rows, height - row)))
    return windows


def _fill_value(dtype: str, nodata: float | None) -> float:
    if nodata is not None:
        return nodata
    np_dtype = np.dtype(dtype)
    if np.issubdtype(np_dtype, np.floating):
        return float("nan")
    return float(np.iinfo(np_dtype).max)


def _same_grid(a: RasterInfo, b: RasterInfo) -> bool:
    return (
        a.crs == b.crs
        and a.width == b.width
        and a.height == b.height
        and all(abs(x - y) < 1e-9 for x, y in zip(a.transform, b.transform, strict=True))
    )


def iter_blocks(
    reference: RasterInfo,
    aligned: Sequence[tuple[str, RasterInfo]] = (),
    *,
    reference_name: str = "landcover",
    block_pixels: int = 4_000_000,
) -> Iterator[RasterBlock]:
    """Read the reference raster block by block, with other rasters aligned to its grid.

    Parameters
    ----------
    reference : RasterInfo
        The raster whose grid is used; read as it is, never resampled.
    aligned : sequence of (name, RasterInfo)
        Categorical rasters read on the reference grid; warped with nearest-neighbour
        resampling when their grid differs. Pixels they do not cover get their nodata.
    block_pixels : int
        Upper bound of pixels per block and per layer.
    """
    with ExitStack() as stack:
        sources = open_aligned(stack, reference, aligned, reference_name)
        for window in block_windows(reference.width, reference.height, block_pixels):
            yield _read_block(sources, window, reference)


_Source = tuple[str, Any, float | None, RasterInfo]
"""A layer's name, its open dataset (or warped VRT), its nodata and the raster."""


def open_aligned(
    stack: ExitStack,
    reference: RasterInfo,
    aligned: Sequence[tuple[str, RasterInfo]],
    reference_name: str,
) -> list[_Source]:
    """Open the reference raster and the others on its grid (see :func:`iter_blocks`): each
    layer's name, dataset (a nearest-neighbour warped VRT when its grid differs), nodata (the
    fill value of a warped layer) and raster; the datasets are closed with ``stack``."""
    sources: list[_Source] = []
    for name, info in [(reference_name, reference), *aligned]:
        try:
            src = stack.enter_context(rasterio.open(info.path))
            if name == reference_name or _same_grid(reference, info):
                sources.append((name, src, info.nodata, info))
                continue
            fill = _fill_value(info.dtype, info.nodata)
            vrt = stack.enter_context(
                WarpedVRT(
                    src,
                    crs=reference.crs,
                    transform=reference.transform,
                    width=reference.width,
                    height=reference.height,
                    resampling=Resampling.nearest,
                    nodata=fill,
                )
            )
        except RasterioError as err:
            raise read_error(info.what, info.path, err) from None
        sources.append((name, vrt, fill, info))
    return sources


def _read_block(sources: list[_Source], window: Window, reference: RasterInfo) -> RasterBlock:
    """Every layer over one window of the reference grid."""
    block = RasterBlock(
        row_off=int(window.row_off),
        col_off=int(window.col_off),
        transform=rasterio.windows.transform(window, reference.transform),
    )
    for name, src, nodata, info in sources:
        block.arrays[name] = _read_window(src, window, info)
        block.nodata[name] = nodata
    return block


def read_block(
    reference: RasterInfo,
    aligned: Sequence[tuple[str, RasterInfo]],
    window: tuple[int, int, int, int],
    *,
    reference_name: str = "landcover",
) -> RasterBlock:
    """One block of :func:`iter_blocks`, read on its own (on a cluster's worker, which opens
    the rasters by path).

    Parameters
    ----------
    reference, aligned, reference_name
        As for :func:`iter_blocks`.
    window : tuple of int
        (column offset, row offset, width, height) of the block [pixels], one of
        :func:`block_windows`.

    Raises
    ------
    InputError
        A raster is not at its path on this machine, or cannot be read.
    """
    stamps = []
    for info in [reference, *(raster for _, raster in aligned)]:
        try:
            stat = Path(info.path).stat()
        except OSError:
            msg = (
                f"{info.what}: {info.path} is not found on the machine reading it "
                f"({socket.gethostname()}): the workers of a dask scheduler must see the "
                "input files at the same paths as the machine starting the run (a shared "
                "folder), or use a local scheduler (processing.scheduler: 'local:N')"
            )
            raise InputError(msg) from None
        stamps.append((str(info.path), stat.st_mtime_ns, stat.st_size))
    key = (reference_name, tuple(n for n, _ in aligned), tuple(stamps))
    return _read_block(
        _kept_sources(key, reference, aligned, reference_name), Window(*window), reference
    )


#: Rasters kept open by :func:`read_block` between blocks (a worker reads many blocks of
#: the same files: opening a mosaic's VRT and losing GDAL's cache of its decoded blocks at
#: each block would cost more than the reading): per thread (a dataset is read by one thread
#: at a time; each thread keeps its own) and per version of the files (their modification
#: time and size), the latest used last; at most :data:`KEPT_OPEN` sets per thread.
_KEPT = threading.local()
KEPT_OPEN = 2


def _kept_sources(
    key: tuple[Any, ...],
    reference: RasterInfo,
    aligned: Sequence[tuple[str, RasterInfo]],
    reference_name: str,
) -> list[_Source]:
    """The open rasters of ``key`` in this thread (see :data:`_KEPT`), opened the first
    time."""
    kept: list[tuple[tuple[Any, ...], ExitStack, list[_Source]]] = _KEPT.__dict__.setdefault(
        "sets", []
    )
    for i, entry in enumerate(kept):
        if entry[0] == key:
            kept.append(kept.pop(i))
            return entry[2]
    stack = ExitStack()
    try:
        sources = open_aligned(stack, reference, aligned, reference_name)
    except BaseException:
        stack.close()
        raise
    kept.append((key, stack, sources))
    while len(kept) > KEPT_OPEN:
        kept.pop(0)[1].close()
    return sources


def _read_window(src: Any, window: Window, info: RasterInfo) -> np.ndarray:
    """Band 1 over a window; a GDAL read failure becomes one :class:`InputError`."""
    try:
        return np.asarray(src.read(1, window=window))
    except RasterioError as err:
        raise read_error(info.what, info.path, err) from None


def count_blocks(reference: RasterInfo, block_pixels: int) -> int:
    """How many blocks :func:`iter_blocks` yields (for progress reporting)."""
    return len(block_windows(reference.width, reference.height, block_pixels))


def sample_points(
    info: RasterInfo, xs: np.ndarray, ys: np.ndarray, *, block_pixels: int = 4_000_000
) -> np.ndarray:
    """Band-1 values at points given in the raster's CRS (NaN outside or on nodata).

    The window over the points is read block by block (at most ``block_pixels`` pixels
    at once), and only the blocks holding a point.
    """
    out = np.full(len(xs), np.nan)
    if len(xs) == 0:
        return out
    inv = ~info.transform
    cols = np.floor(inv.a * xs + inv.b * ys + inv.c).astype(np.int64)
    rows = np.floor(inv.d * xs + inv.e * ys + inv.f).astype(np.int64)
    inside = np.flatnonzero((cols >= 0) & (cols < info.width) & (rows >= 0) & (rows < info.height))
    if len(inside) == 0:
        return out
    r0, r1 = int(rows[inside].min()), int(rows[inside].max()) + 1
    c0, c1 = int(cols[inside].min()), int(cols[inside].max()) + 1
    try:
        with rasterio.open(info.path) as src:
            for sub in block_windows(c1 - c0, r1 - r0, block_pixels):
                wc, wr = c0 + int(sub.col_off), r0 + int(sub.row_off)
                w, h = int(sub.width), int(sub.height)
                pr, pc = rows[inside], cols[inside]
                here = inside[(pr >= wr) & (pr < wr + h) & (pc >= wc) & (pc < wc + w)]
                if len(here) == 0:
                    continue
                values = _read_window(src, Window(wc, wr, w, h), info).astype(float)
                out[here] = values[rows[here] - wr, cols[here] - wc]
    except RasterioError as err:
        raise read_error(info.what, info.path, err) from None
    if info.nodata is not None and not np.isnan(info.nodata):
        out[out == info.nodata] = np.nan
    return out


def read_cells(
    info: RasterInfo,
    bounds: tuple[float, float, float, float],
    *,
    block_pixels: int = 4_000_000,
    stop_at_first: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres and values of the valid cells of band 1 within bounds (raster CRS).

    Only the window over ``bounds`` is read, block by block (at most ``block_pixels``
    pixels at once), so memory depends on the number of valid cells, never on the
    raster's size.

    Parameters
    ----------
    info : RasterInfo
        The raster.
    bounds : tuple of float
        (left, bottom, right, top) in the raster's CRS.
    block_pixels : int
        Upper bound of pixels read at once.
    stop_at_first : bool
        Stop after the first block holding a valid cell (to test the overlap cheaply).

    Returns
    -------
    xs, ys, values : ndarray
        Cells holding a value (not nodata, not NaN), values as float.

    Raises
    ------
    InputError
        The file cannot be read (truncated or corrupt).
    """
    empty = (np.zeros(0), np.zeros(0), np.zeros(0))
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    try:
        with rasterio.open(info.path) as src:
            window = _window_over(src, bounds)
            if window is None:
                return empty
            col0, row0 = int(window.col_off), int(window.row_off)
            for sub in block_windows(int(window.width), int(window.height), block_pixels):
                sub = Window(sub.col_off + col0, sub.row_off + row0, sub.width, sub.height)
                cells = _valid_cells(src, sub, info)
                if cells is None:
                    continue
                parts.append(cells)
                if stop_at_first:
                    break
    except RasterioError as err:
        raise read_error(info.what, info.path, err) from None
    if not parts:
        return empty
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


def _window_over(
    src: rasterio.io.DatasetReader, bounds: tuple[float, float, float, float]
) -> Window | None:
    """The whole-pixel window of ``src`` covering ``bounds`` (raster CRS): every pixel the
    bounds touch (so every pixel whose centre is inside them), or None when they miss it.

    The window's first pixel is the floor of its offset and its last the ceiling of its far
    edge: rounding the offset and the length separately would lose the last row or column of
    pixels whose centre is inside the bounds."""
    import math

    window = rasterio.windows.from_bounds(*bounds, transform=src.transform)
    col0, row0 = math.floor(window.col_off), math.floor(window.row_off)
    col1 = math.ceil(window.col_off + window.width)
    row1 = math.ceil(window.row_off + window.height)
    outer = Window(col0, row0, col1 - col0, row1 - row0)
    try:
        return outer.intersection(Window(0, 0, src.width, src.height))
    except rasterio.errors.WindowError:  # the bounds miss the raster
        return None


def _valid_cells(
    src: rasterio.io.DatasetReader, window: Window, info: RasterInfo
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Centres (raster CRS units) and values of the window's cells holding a value.

    Returns
    -------
    xs, ys, values : ndarray, or None
        None when no cell of the window holds a value (all nodata or NaN).
    """
    values = _read_window(src, window, info).astype(float)
    if info.nodata is not None and not np.isnan(info.nodata):
        values[values == info.nodata] = np.nan
    rows, cols = np.nonzero(~np.isnan(values))
    if len(rows) == 0:
        return None
    transform = src.window_transform(window)
    xs = transform.c + (cols + 0.5) * transform.a
    ys = transform.f + (rows + 0.5) * transform.e
    return xs, ys, values[rows, cols]
