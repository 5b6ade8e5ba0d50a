"""Burnt zones kept on disk between runs (``processing.zone_cache``).

Burning 66,667 communes into a grid of 10⁸ pixels costs about three times reading the grid
once; the burnt zones depend only on the communes' shapes, the grid's transform, the block
windows and the code that burns them. :class:`ZoneStore` keeps, in a folder the user names,
one file per (commune shapes, grid): every burnt block as runs along its rows
(:data:`geocarbon.kernels.BlockRuns`), so that a later run over the same communes and grid
(another year's land cover, another scenario, the same run again) reads them instead of
burning them.

A file is named ``geocarbon-zones-<key>.npz``; the key is a BLAKE2b checksum of

* the shapes (:func:`geocarbon.geo.geometry_digest`: every geometry's WKB, in order),
* the grid's transform (its six coefficients, exactly),
* the source of the modules that burn (:mod:`geocarbon.rasterize`, :mod:`geocarbon.kernels`)
  and the file format's version,

so that a change of any of them -- a commune redrawn, another grid, a fix in the burning
code -- finds no file and burns again. Each file holds a checksum of its arrays, checked when
read: a file that is damaged, truncated or not one of geocarbon's is ignored (with a warning)
and replaced by the next save. Files are written to a temporary file in the same folder and
renamed (two runs saving the same key write the same bytes; the last rename wins). Nothing
but ``geocarbon-zones-*.npz`` files (and their temporary files while written) is ever written
there, and nothing else is deleted than the temporary files a killed run left (older than
:data:`STALE_SECONDS`): remove the folder to reclaim its space.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import time
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np

logger = logging.getLogger(__name__)

#: Version of the file's layout (part of every key).
FORMAT_VERSION = 1
#: Name of a store file: this prefix, the key (hex), this suffix.
PREFIX, SUFFIX = "geocarbon-zones-", ".npz"
#: Age [s] from which a temporary file of a save is taken as left by a killed run.
STALE_SECONDS = 3600

Window = tuple[int, int, int, int]
"""A block's ``(row_off, col_off, rows, cols)``."""
Runs = tuple[np.ndarray, np.ndarray, np.ndarray]
"""A burnt block as runs (:data:`geocarbon.kernels.BlockRuns`)."""

_ARRAYS = ("windows", "row_offsets", "row_starts", "run_offsets", "run_col", "run_val")


def _code_digest() -> bytes:
    """Checksum of the source of the modules that burn zones (their bytes as installed)."""
    from geocarbon import kernels, rasterize

    digest = hashlib.blake2b(digest_size=16)
    for module in (rasterize, kernels):
        source = Path(module.__file__ or "")
        try:
            digest.update(source.read_bytes())
        except OSError:  # no source beside the package (e.g. zipped): the version then
            from geocarbon import __version__

            digest.update(f"{module.__name__} {__version__}".encode())
    return digest.digest()


class ZoneStore:
    """A folder of burnt zones, one file per (shapes, grid) (see the module's text).

    Parameters
    ----------
    folder : Path
        Where the files are kept (created when the first one is saved).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._code: bytes | None = None

    def key(self, shapes_digest: bytes, grid: tuple[float, ...]) -> str:
        """The key (hex) of these shapes on this grid, for this code and file format."""
        if self._code is None:
            self._code = _code_digest()
        digest = hashlib.blake2b(digest_size=20)
        digest.update(f"format {FORMAT_VERSION};".encode())
        digest.update(self._code)
        digest.update(shapes_digest)
        digest.update(np.asarray(grid, dtype="<f8").tobytes())
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        """The file of a key."""
        return self.folder / f"{PREFIX}{key}{SUFFIX}"

    def load(self, key: str, n_zones: int) -> dict[Window, Runs] | None:
        """The burnt blocks kept under ``key`` (None when there is no file, or when it cannot
        be used: a warning says why, and the zones are burnt again).

        Parameters
        ----------
        key : str
            From :meth:`key`.
        n_zones : int
            How many zones there are (every run's value is at most ``n_zones``).
        """
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: data[name] for name in (*_ARRAYS, "key", "checksum")}
            blocks = _blocks_from(arrays, key, n_zones)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
            logger.warning(
                "zone cache file %s cannot be used (%s): the zones are burnt again and the "
                "file replaced",
                path,
                err,
            )
            return None
        logger.info("burnt zones read from the zone cache %s (%d blocks)", path, len(blocks))
        return blocks

    def save(self, key: str, blocks: Mapping[Window, Runs]) -> None:
        """Keep ``blocks`` under ``key`` (every block of the entry, replacing its file).

        A failure (disk full, no permission) is reported as a warning: the run goes on, its
        zones are only not kept.
        """
        arrays = _arrays_of(blocks)
        arrays["key"] = np.frombuffer(key.encode("ascii"), dtype=np.uint8)
        arrays["checksum"] = _checksum(arrays)
        path = self.path(key)
        tmp: Path | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=self.folder)
            tmp = Path(name)
            with os.fdopen(fd, "wb") as out:
                np.savez(out, allow_pickle=False, **cast(dict[str, Any], arrays))
            tmp.replace(path)
            tmp = None
        except OSError as err:
            logger.warning(
                "the burnt zones could not be kept in the zone cache %s (%s); the run goes on",
                self.folder,
                err.strerror or err,
            )
            return
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    tmp.unlink()
        logger.info("burnt zones kept in the zone cache %s (%d blocks)", path, len(blocks))
        self._remove_stale_temporaries()

    def _remove_stale_temporaries(self) -> None:
        """Remove the temporary files of saves that a killed run left (named as :meth:`save`
        names them, older than :data:`STALE_SECONDS`: not one being written now)."""
        now = time.time()
        for entry in self.folder.glob(f".{PREFIX}*{SUFFIX}.tmp-*"):
            with contextlib.suppress(OSError):
                if entry.is_symlink() or not entry.is_file():
                    continue
                if now - entry.stat().st_mtime > STALE_SECONDS:
                    logger.info("removing %s, left by a run that did not finish", entry)
                    entry.unlink()


def _arrays_of(blocks: Mapping[Window, Runs]) -> dict[str, np.ndarray]:
    """The blocks as six flat arrays (windows in sorted order; offsets into the others)."""
    windows = sorted(blocks)
    runs = [blocks[w] for w in windows]
    row_sizes = [len(r[0]) for r in runs]
    run_sizes = [len(r[1]) for r in runs]

    def joined(index: int, dtype: str) -> np.ndarray:
        parts = [np.asarray(r[index], dtype=dtype) for r in runs]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    return {
        "windows": np.asarray(windows, dtype=np.int64).reshape(-1, 4),
        "row_offsets": np.concatenate([[0], np.cumsum(row_sizes, dtype=np.int64)]),
        "row_starts": joined(0, "int64"),
        "run_offsets": np.concatenate([[0], np.cumsum(run_sizes, dtype=np.int64)]),
        "run_col": joined(1, "int32"),
        "run_val": joined(2, "int32"),
    }


def _checksum(arrays: Mapping[str, np.ndarray]) -> np.ndarray:
    digest = hashlib.blake2b(digest_size=20)
    for name in (*_ARRAYS, "key"):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name} {array.dtype.str} {array.shape};".encode())
        digest.update(array.tobytes())
    return np.frombuffer(digest.digest(), dtype=np.uint8)


def _blocks_from(arrays: dict[str, np.ndarray], key: str, n_zones: int) -> dict[Window, Runs]:
    """The blocks of a file's arrays, after checking them (ValueError: why they cannot be
    used)."""
    if bytes(arrays["key"].astype(np.uint8)).decode("ascii", "replace") != key:
        msg = "it was saved under another key"
        raise ValueError(msg)
    if not np.array_equal(arrays["checksum"], _checksum(arrays)):
        msg = "its checksum does not match its contents: the file is damaged"
        raise ValueError(msg)
    windows, row_offsets, run_offsets = (
        arrays["windows"],
        arrays["row_offsets"],
        arrays["run_offsets"],
    )
    row_starts, run_col, run_val = arrays["row_starts"], arrays["run_col"], arrays["run_val"]
    if run_val.size and (run_val.min() < 0 or run_val.max() > n_zones):
        msg = f"its zones are not numbered 0..{n_zones}: it was made for other communes"
        raise ValueError(msg)
    blocks: dict[Window, Runs] = {}
    for i, (row_off, col_off, rows, cols) in enumerate(windows.tolist()):
        starts = row_starts[row_offsets[i] : row_offsets[i + 1]]
        lo, hi = run_offsets[i], run_offsets[i + 1]
        cols_i, vals_i = run_col[lo:hi], run_val[lo:hi]
        if len(starts) != rows + 1 or starts[0] != 0 or starts[-1] != hi - lo:
            msg = f"block {i} has {len(starts)} row offsets for {rows} rows"
            raise ValueError(msg)
        if cols_i.size and (cols_i.min() < 0 or cols_i.max() >= cols):
            msg = f"block {i} has runs outside its {cols} columns"
            raise ValueError(msg)
        blocks[(row_off, col_off, rows, cols)] = (starts, cols_i, vals_i)
    return blocks
