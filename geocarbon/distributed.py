"""Runs on a dask.distributed cluster (``processing.scheduler``).

The zonal cross-tab of the land cover is split into its blocks (the windows of
:func:`geocarbon.io.raster.block_windows`): each block is a task that reads its window on a
worker (the worker opens the rasters by path: no pixel travels from the machine starting the
run), burns the zones of its rows and returns its partial sums
(:class:`geocarbon.zonal.BlockPartial`). The communes go to each worker once. The partial
sums are added in block order, as the single-process run adds them, so the figures are the
same to the last bit.

``processing.scheduler`` is ``"local:N"`` (a cluster of N worker processes on this machine,
started and closed by the run) or the address of a running dask scheduler
(``"tcp://host:port"``, whose workers see the input files at the same paths and have the
same geocarbon installed).

The per-building work of the rooftop PV step (projection, commune of each building, roof
model) runs the same way over chunks of :data:`BUILDINGS_PER_TASK` buildings
(:func:`chunk_mapper`): each chunk is a task, the results are put back together in chunk
order, and every figure is the single-process one, bit for bit (the work is building by
building: no figure depends on the other buildings of its chunk).

The Monte-Carlo draws of ``carbon.uncertainty`` run as one task per chunk of
:data:`geocarbon.carbon.uncertainty.DRAWS_PER_TASK` draws (:func:`draw_runner`): each chunk
draws from its own ``SeedSequence`` child (by chunk index), the single-process run uses the
same chunks, and the chunks are put back together in chunk order: the same draws, bit for
bit, whatever the number of workers.

The ``distributed`` package is an optional dependency
(``pip install 'geocarbon[distributed]'``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geocarbon.config import SCHEDULER_LOCAL
from geocarbon.errors import InputError
from geocarbon.geo import PixelAreaModel
from geocarbon.io.raster import block_windows, read_block
from geocarbon.values import RasterInfo
from geocarbon.zonal import (
    BlockPartial,
    CrosstabLayers,
    ZonalResult,
    ZoneBlocks,
    block_engine,
    block_partial,
    reduce_partials,
)

#: Seconds allowed to reach a remote scheduler.
CONNECT_TIMEOUT_S = 30
#: Buildings per task of the rooftop PV step on a cluster (20 tasks per million buildings).
BUILDINGS_PER_TASK = 50_000

#: ``run(func, frame, *shared)``: ``func`` over the rows of ``frame``, one result per chunk
#: of rows in row order (see :func:`chunk_mapper`).
ChunkRunner = Callable[..., list[Any]]


@contextmanager
def cluster_client(scheduler: str) -> Iterator[Any]:
    """A dask client of ``scheduler`` (``processing.scheduler``, checked by the
    configuration); a local cluster is started here and closed on leaving.

    Raises
    ------
    InputError
        ``distributed`` is not installed, or the scheduler cannot be reached.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        msg = (
            f"processing.scheduler {scheduler!r} needs the dask.distributed package: "
            "pip install 'geocarbon[distributed]' (or remove processing.scheduler to compute "
            "in this process)"
        )
        raise InputError(msg) from None
    with _quiet_dask():
        yield from _client(scheduler, Client, LocalCluster)


#: dask's loggers, told to report warnings and errors only (not every worker started).
_DASK_LOGGERS = ("distributed", "dask")


@contextmanager
def _quiet_dask() -> Iterator[None]:
    """dask's loggers at WARNING while a cluster is used (their level restored after)."""
    loggers = [logging.getLogger(name) for name in _DASK_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _client(scheduler: str, client_class: Any, cluster_class: Any) -> Iterator[Any]:
    """Yield a client of ``scheduler`` (see :func:`cluster_client`)."""
    local = SCHEDULER_LOCAL.fullmatch(scheduler)
    if local:
        workers = int(local.group(1))
        with (
            cluster_class(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # any free port, on this machine only
                silence_logs=logging.WARNING,
            ) as cluster,
            client_class(cluster) as client,
        ):
            yield client
        return
    try:
        client = client_class(scheduler, timeout=CONNECT_TIMEOUT_S)
    except OSError as err:  # includes the timeouts
        msg = (
            f"processing.scheduler: cannot reach the dask scheduler at {scheduler} ({err}); "
            "start it (dask scheduler, then dask worker on each machine) or fix the address"
        )
        raise InputError(msg) from None
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            msg = (
                f"processing.scheduler: the dask scheduler at {scheduler} has no worker "
                f"(none joined within {CONNECT_TIMEOUT_S} s); start workers "
                f"(dask worker {scheduler}) on machines that see the input files"
            )
            raise InputError(msg) from None
        yield client


@dataclass
class _Zones:
    """What every worker receives once: the zones in the grid's CRS and the pixel areas.

    The polygons travel as WKB, converted in one call each way (pickling them one by one
    takes ~1 s per 3 million vertices); WKB keeps every coordinate to the bit.
    """

    geometries: np.ndarray
    pixel_areas: PixelAreaModel

    def __getstate__(self) -> dict[str, Any]:
        return {"wkb": shapely.to_wkb(self.geometries), "pixel_areas": self.pixel_areas}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.geometries = shapely.from_wkb(state["wkb"])
        self.pixel_areas = state["pixel_areas"]


#: On a worker: the zones of the passes it serves, by the identity of their :class:`_Zones`
#: (kept with them, so the identity is not reused), the latest last.
_WORKER_ZONES: list[tuple[_Zones, ZoneBlocks]] = []


def _zone_blocks(zones: _Zones) -> ZoneBlocks:
    """The worker's :class:`ZoneBlocks` of these zones (their polygons' bounds computed once
    per worker, nothing burnt kept between blocks)."""
    for known, blocks in _WORKER_ZONES:
        if known is zones:
            return blocks
    blocks = ZoneBlocks(zones.geometries, zones.pixel_areas.transform, cache=None)
    _WORKER_ZONES.append((zones, blocks))
    del _WORKER_ZONES[:-2]
    return blocks


def _block_task(
    zones: _Zones,
    reference: RasterInfo,
    aligned: Sequence[tuple[str, RasterInfo]],
    window: tuple[int, int, int, int],
    layers: CrosstabLayers,
    engine: str,
) -> BlockPartial:
    """On a worker: read one window of the rasters and return its partial sums."""
    block = read_block(reference, aligned, window, reference_name=layers.categorical[0])
    return block_partial(block, _zone_blocks(zones), zones.pixel_areas, layers, engine)


def _in_block_order(futures: list[Any]) -> Iterator[BlockPartial]:
    """The tasks' results in block order, each as soon as it and every earlier block are
    done (later blocks wait in memory); a task's error is raised here."""
    from distributed import as_completed

    index = {future.key: i for i, future in enumerate(futures)}
    ready: dict[int, BlockPartial] = {}
    following = 0
    for future in as_completed(futures):
        ready[index[future.key]] = future.result()
        futures[index[future.key]] = None  # the worker may forget it
        while following in ready:
            yield ready.pop(following)
            following += 1


def _windows(reference: RasterInfo, block_pixels: int) -> list[tuple[int, int, int, int]]:
    """(column offset, row offset, width, height) [pixels] of each block of the grid."""
    return [
        (int(w.col_off), int(w.row_off), int(w.width), int(w.height))
        for w in block_windows(reference.width, reference.height, block_pixels)
    ]


def cluster_crosstab(
    scheduler: str,
    zones: gpd.GeoDataFrame,
    reference: RasterInfo,
    aligned: Sequence[tuple[str, RasterInfo]],
    pixel_areas: PixelAreaModel,
    *,
    block_pixels: int,
    secondary: Sequence[str] = (),
    extra_nodata: Sequence[float] = (),
    progress: Callable[[int, int], None] | None = None,
    labels: Mapping[str, str] | None = None,
    engine: str | None = None,
) -> ZonalResult:
    """:func:`geocarbon.zonal.zonal_crosstab` of the blocks of ``reference`` (with the
    ``aligned`` rasters) computed on the workers of ``scheduler``: the same figures, bit for
    bit.

    Parameters
    ----------
    scheduler : str
        ``"local:N"`` or ``"tcp://host:port"`` (``processing.scheduler``).
    zones : GeoDataFrame
        Zone polygons, in the raster's CRS; zone ``i`` is row ``i``.
    reference, aligned : RasterInfo and sequence of (name, RasterInfo)
        The land cover (the main layer, named ``"landcover"``) and the categorical rasters
        read on its grid (:func:`geocarbon.io.raster.iter_blocks`).
    pixel_areas : PixelAreaModel
        True pixel areas [m²] of the grid.
    block_pixels : int
        Upper bound of pixels per block (one task per block).
    secondary, extra_nodata, progress, labels, engine
        As for :func:`geocarbon.zonal.zonal_crosstab`.

    Returns
    -------
    ZonalResult
        Areas [m²] per zone and per class combination.

    Raises
    ------
    InputError
        The scheduler cannot be reached, a worker cannot read a raster, or a float
        categorical layer holds non-integer values.
    """
    layers = CrosstabLayers(["landcover", *secondary], (), extra_nodata, labels or {})
    windows = _windows(reference, block_pixels)
    use = block_engine(engine, (windows[0][3], windows[0][2]), len(windows))
    shared = _Zones(np.asarray(zones.geometry.values, dtype=object), pixel_areas)
    with cluster_client(scheduler) as client:
        scattered = client.scatter(shared, broadcast=True, hash=False)
        futures = [
            client.submit(
                _block_task, scattered, reference, list(aligned), window, layers, use, pure=False
            )
            for window in windows
        ]
        partials = _in_block_order(futures)
        return reduce_partials(len(zones), layers, partials, len(windows), progress)


@dataclass
class _Shared:
    """The arguments every chunk's task receives, sent to each worker once (one object, so
    that dask does not scatter its items one by one)."""

    args: tuple[Any, ...]


def _chunk_task(func: Callable[..., Any], chunk: Any, shared: _Shared) -> Any:
    """On a worker: ``func`` over one chunk of rows."""
    return func(chunk, *shared.args)


@contextmanager
def chunk_mapper(scheduler: str | None, rows_per_task: int | None = None) -> Iterator[ChunkRunner]:
    """A runner of row-by-row work: ``run(func, frame, *shared)`` gives the results of
    ``func(rows, *shared)`` over consecutive chunks of ``rows_per_task`` rows of ``frame``,
    in row order.

    Without ``scheduler`` the work is done here over the whole frame (one result); with it
    (``processing.scheduler``) each chunk is a task on the cluster's workers, ``shared`` sent
    to each worker once, the cluster opened once for every call made in the block. ``func``
    must treat each row on its own (no figure of a row depending on the others), so that
    the chunks' results put back together (:func:`pandas.concat`) are the single-process
    ones, bit for bit; it must be importable on the workers (a module-level function).

    Parameters
    ----------
    scheduler : str or None
        ``"local:N"``, ``"tcp://host:port"`` or None (this process).
    rows_per_task : int, optional
        Rows per chunk [rows] on a cluster (default :data:`BUILDINGS_PER_TASK`).

    Raises
    ------
    InputError
        The scheduler cannot be reached (see :func:`cluster_client`).
    """
    if scheduler is None:
        yield lambda func, frame, *shared: [func(frame, *shared)]
        return
    size = rows_per_task or BUILDINGS_PER_TASK
    with cluster_client(scheduler) as client:

        def run(func: Callable[..., Any], frame: Any, *shared: Any) -> list[Any]:
            sent = client.scatter([_Shared(shared)], broadcast=True, hash=False)[0]
            # the chunks go straight to the workers (not through the scheduler's graph),
            # unhashed (hashing a frame of buildings costs more than sending it)
            chunks = [frame.iloc[i : i + size] for i in range(0, max(len(frame), 1), size)]
            futures = [
                client.submit(_chunk_task, func, chunk, sent, pure=False)
                for chunk in client.scatter(chunks, hash=False)
            ]
            return list(client.gather(futures))

        yield run


@contextmanager
def draw_runner(scheduler: str | None) -> Iterator[Callable[..., list[Any]]]:
    """A runner of the Monte-Carlo chunks: ``run(model, seed, sizes)`` gives
    :func:`geocarbon.carbon.uncertainty.draw_chunk` of each chunk (``sizes[i]`` draws of
    chunk ``i``), in chunk order; here without ``scheduler``, else one task per chunk on the
    cluster's workers (the model sent to each worker once): the same arrays, bit for bit.

    Raises
    ------
    InputError
        The scheduler cannot be reached (see :func:`cluster_client`).
    """
    from geocarbon.carbon.uncertainty import draw_chunk, draw_here

    if scheduler is None:
        yield draw_here
        return
    with cluster_client(scheduler) as client:

        def run(model: Any, seed: int, sizes: list[int]) -> list[Any]:
            sent = client.scatter(model, broadcast=True, hash=False)
            futures = [
                client.submit(draw_chunk, sent, seed, index, draws, pure=False)
                for index, draws in enumerate(sizes)
            ]
            return list(client.gather(futures))

        yield run
