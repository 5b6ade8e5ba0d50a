"""Peak resident memory of a block of code, for the benchmarks (Linux: ``/proc/self/statm``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path


def rss_bytes() -> int:
    """Resident memory of this process [bytes]."""
    with Path("/proc/self/statm").open() as fh:
        return int(fh.read().split()[1]) * 4096


class PeakMemory:
    """Peak resident memory while the ``with`` block runs, sampled every 5 ms, and its level
    at entry."""

    def __enter__(self) -> PeakMemory:
        self.base = rss_bytes()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(0.005)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    @property
    def peak_mb(self) -> float:
        """Peak resident memory [MB]."""
        return self.peak / 1e6

    @property
    def above_mb(self) -> float:
        """Peak resident memory above the level at entry [MB]."""
        return (self.peak - self.base) / 1e6
