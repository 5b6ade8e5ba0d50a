"""Benchmark of the nearest charging point: 2.5 million population cells, 100,000 points.

Cells on a 200 m grid over 316 km × 316 km (INSEE's 200 m grid over a large region), points
scattered at random; distance from every cell to the nearest point and to the nearest fast
point with geocarbon's k-d tree (scipy cKDTree), beside a brute-force check on a sample.
Prints wall times and peak resident memory. Single-threaded. Usage::

    python benchmarks/charging.py [--cells 2500000] [--points 100000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from geocarbon.charging.indicators import access_by_zone, nearest_distance_m


def _peak_mb() -> float:
    with Path("/proc/self/status").open() as fh:
        for line in fh:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) / 1e3
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2_500_000)
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    side = int(np.sqrt(args.cells))
    gx, gy = np.meshgrid(np.arange(side) * 200.0 + 100.0, np.arange(side) * 200.0 + 100.0)
    cells = np.column_stack([gx.ravel(), gy.ravel()])
    points = rng.uniform(0, side * 200.0, size=(args.points, 2))
    fast = rng.random(args.points) < 0.15
    population = rng.gamma(0.5, 20.0, len(cells))
    zones = (gx.ravel() // 10_000).astype(int) * 1000 + (gy.ravel() // 10_000).astype(int)
    print(f"case: {len(cells):,} cells (200 m), {len(points):,} points ({int(fast.sum()):,} fast)")
    t0 = time.perf_counter()
    dist = nearest_distance_m(cells, points)
    t1 = time.perf_counter()
    fast_dist = nearest_distance_m(cells, points[fast])
    t2 = time.perf_counter()
    table = access_by_zone(population, dist, fast_dist, zones, [1000.0, 5000.0, 10000.0], 10000.0)
    t3 = time.perf_counter()
    sample = rng.choice(len(cells), 200, replace=False)
    brute = np.sqrt(((cells[sample, None, :] - points[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    assert np.allclose(brute, dist[sample]), "k-d tree and brute force disagree"
    print(f"  nearest point, all cells      {t1 - t0:6.2f} s")
    print(f"  nearest fast point, all cells {t2 - t1:6.2f} s")
    print(f"  shares per zone ({len(table):,} zones) {t3 - t2:6.2f} s")
    print(f"  total                         {t3 - t0:6.2f} s")
    print(f"peak memory (process): {_peak_mb():,.0f} MB; brute-force check on 200 cells: identical")


if __name__ == "__main__":
    main()
