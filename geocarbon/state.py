"""What a run carries between its steps: inputs read, results computed, timings."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from geocarbon.notices import Notice

logger = logging.getLogger(__name__)


Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: called as long steps advance."""


@dataclass
class Inputs:
    """Inputs of a run, read and checked."""

    communes: gpd.GeoDataFrame
    files: dict[str, Path]
    known_commune_codes: set[str] = field(default_factory=set)
    """Commune codes known to exist: the territory's and those of the commune table."""
    notices: list[Notice] = field(default_factory=list)
    epci_members: pd.Series | None = None
    """EPCI of every commune of the commune table (index: commune code), when given."""
    layer_codes: set[str] = field(default_factory=set)
    """Codes of the whole commune layer (or table) before the territory was picked."""
    territory_note: str = ""
    """Why the territory is not whole (an EPCI it was picked by lacks communes), or ''."""
    parts: dict[str, Any] = field(default_factory=dict)
    """What each capability's ``read`` read, by capability name."""
    epci_names: pd.Series | None = None
    """EPCI name per SIREN code (``communes.epci_names``), when given."""
    epci_sizes: pd.DataFrame | None = None
    """Per EPCI of the run: ``communes_in_run``, ``communes_in_epci``, ``epci_complete``
    (see :func:`geocarbon.territory.epci_coverage`)."""


@dataclass
class Results:
    """What a run computed."""

    communes: gpd.GeoDataFrame
    notices: list[Notice]
    timings_s: dict[str, float]
    files: dict[str, Path]
    parts: dict[str, Any] = field(default_factory=dict)
    """What each capability computed (its own typed result), by capability name."""


class StepAnnouncer:
    """Announces steps to a progress callback: ``progress(name, 0, 1)`` when a step starts,
    ``progress(name, 1, 1)`` when it ends (nothing without a callback)."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        logger.debug("%s ...", name)
        if self.progress is not None:
            self.progress(name, 0, 1)
        start = time.perf_counter()
        yield
        if name.startswith(("writing", "reading")):  # computing steps log their own timing
            logger.info("%s done in %.2f s", name, time.perf_counter() - start)
        if self.progress is not None:
            self.progress(name, 1, 1)


class Timer:
    """Times the steps of a run (``timings`` [s]) and announces them to ``progress``."""

    def __init__(self, progress: Progress | None = None) -> None:
        self.timings: dict[str, float] = {}
        self.announce = StepAnnouncer(progress)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        logger.info("step %s ...", name)
        with self.announce(name.replace("_", " ")):
            yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        logger.info("step %s done in %.2f s", name, self.timings[name])
