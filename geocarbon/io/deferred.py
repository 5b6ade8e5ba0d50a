"""Output files that take long to make (the interactive maps, the calculator workbook),
handed over as functions that return their contents, made by a process forked at the start of
a run while this one writes the other outputs, or here.

The run's forked process (:func:`files_worker`) imports openpyxl and matplotlib (for the
report it also draws: :func:`geocarbon.io.report_files.start_report`) while the run reads and
computes. Each capability hands :class:`DeferredFiles` its map pages
(:meth:`DeferredFiles.add_map`) and workbooks (:meth:`DeferredFiles.add_workbook`); this
process writes what comes back into the run's temporary output folder
(:meth:`DeferredFiles.finish`), so that every file is written by the process that owns the
folder and a run that fails leaves nothing. A kind without a process (no ``fork``,
``GEOCARBON_FORK=0``, or the run's choice) is made here when added: the same files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from geocarbon.io.background import Worker

logger = logging.getLogger(__name__)

#: What a file-making function returns: path relative to the output folder → content
#: (text is written as UTF-8).
FileContents = Mapping[str, str | bytes]


def _prepare_files() -> None:
    """Import what making the workbook needs (openpyxl), and drawing the report
    (matplotlib: :func:`geocarbon.io.report_files.start_report`)."""
    import openpyxl.writer.excel  # noqa: F401

    import geocarbon.report
    import geocarbon.report_charts  # noqa: F401


def files_worker() -> Worker:
    """A process forked at the start of a run that imports the workbook's and the report's
    libraries while the inputs are read and computed (one process imports them once, beside
    the process reading the inputs), then draws the report and makes the files given to it
    by :class:`DeferredFiles`."""
    return Worker(_prepare_files)


class DeferredFiles:
    """Files of a run's output ``folder`` made, in the order added, by the process given
    for their kind while this process goes on, or here at once without one.

    Parameters
    ----------
    folder : Path
        The run's temporary output folder.
    maps : Worker, optional
        The process making the map pages (:meth:`add_map`); None: here.
    workbooks : Worker, optional
        The process making the workbooks (:meth:`add_workbook`: :func:`files_worker`, which
        imports openpyxl); None: here.
    """

    def __init__(
        self, folder: Path, maps: Worker | None = None, workbooks: Worker | None = None
    ) -> None:
        self.folder = folder
        self._maps = maps
        self._workbooks = workbooks
        self._tickets: list[tuple[Worker, int]] = []  # the workers' jobs, in order

    def add_map(self, function: Callable[..., FileContents], *args: Any, **kwargs: Any) -> None:
        """Make the map pages ``function(*args, **kwargs)`` returns (``function`` defined at
        module level, its arguments picklable: they are sent to the ``maps`` process);
        written by :meth:`finish`, or here at once without that process."""
        self._give(self._maps, function, *args, **kwargs)

    def add_workbook(
        self, function: Callable[..., FileContents], *args: Any, **kwargs: Any
    ) -> None:
        """:meth:`add_map` for a workbook (openpyxl): made by the ``workbooks`` process."""
        self._give(self._workbooks, function, *args, **kwargs)

    def _give(
        self, worker: Worker | None, function: Callable[..., FileContents], *args: Any,
        **kwargs: Any,
    ) -> None:  # fmt: skip
        ticket = None if worker is None else worker.send(function, *args, **kwargs)
        if worker is not None and ticket is not None:
            self._tickets.append((worker, ticket))
            return
        self._write(function(*args, **kwargs))

    @property
    def waiting(self) -> bool:
        """Whether files are being made by a worker (written by :meth:`finish`)."""
        return bool(self._tickets)

    def finish(self) -> list[Path]:
        """Wait for the worker's files and write them; the files written. An error raised
        while making a file is raised here."""
        written = []
        while self._tickets:
            worker, ticket = self._tickets.pop(0)
            written += self._write(worker.result(ticket))
        return written

    def _write(self, files: FileContents) -> list[Path]:
        paths = []
        for name, content in files.items():
            path = self.folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, str):
                path.write_text(content, encoding="utf-8")
            else:
                path.write_bytes(content)
            logger.debug("written: %s", name)
            paths.append(path)
        return paths
