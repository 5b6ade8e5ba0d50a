"""Benchmark of the scenarios step on the Lot: ``pipelines/lot.yaml`` and
``pipelines/lot_scenarios.yaml`` (the same inputs plus a baseline and three scenarios,
2018-2050, 320 communes, 9 EPCIs) computed in the same process, best of ``--repeat`` runs.
Prints the steps' wall times and the scenarios step's share. Needs the shared data
(GEOCARBON_DATA). Usage::

    python benchmarks/scenarios.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from geocarbon.config import load_config
from geocarbon.pipeline import compute, read_inputs

REPO = Path(__file__).resolve().parents[1]


def best_run(pipeline: Path, repeat: int) -> tuple[float, dict[str, float]]:
    """Best wall time [s] of read + compute over ``repeat`` runs, and that run's step times."""
    best: tuple[float, dict[str, float]] = (float("inf"), {})
    for _ in range(repeat):
        start = time.perf_counter()
        cfg = load_config(pipeline)
        results = compute(cfg, read_inputs(cfg))
        wall = time.perf_counter() - start
        if wall < best[0]:
            best = (wall, dict(results.timings_s))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| pipeline | read + compute (best) | scenarios step | steps |")
    print("|---|---:|---:|---|")
    for name in ("lot", "lot_scenarios"):
        wall, steps = best_run(REPO / "pipelines" / f"{name}.yaml", args.repeat)
        shown = ", ".join(f"{k} {v:.2f} s" for k, v in steps.items())
        scen = steps.get("scenarios")
        print(
            f"| {name}.yaml | {wall:.2f} s | {'' if scen is None else f'{scen:.2f} s'} | {shown} |"
        )


if __name__ == "__main__":
    main()
