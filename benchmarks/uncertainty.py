"""Benchmark of the Monte-Carlo ranges (``carbon.uncertainty``) on the Lot (46).

Reads ``pipelines/lot_uncertainty.yaml`` (the shared data: ``$GEOCARBON_DATA``), then times,
in this one process, side by side: the deterministic carbon computation (the pipeline without
``carbon.uncertainty``), the draws alone (model of the run's stocks and flows + every draw,
:func:`geocarbon.carbon.uncertainty.build_model` and ``run_draws``), and the whole computation
with the ranges (draws, percentiles per commune, EPCI and territory). Best and median of
``--rounds`` rounds, after one untimed warm-up run. With ``--scheduler`` (``local:N`` or ``tcp://host:port``) the draws are
also timed on the cluster (start excluded) and checked to be the same bytes. Usage::

    GEOCARBON_DATA=../shared/data python benchmarks/uncertainty.py [--draws 1000] [--rounds 3] [--scheduler local:2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

# this file's folder is first on the path when it is run as a script: its distributed.py would
# hide the dask.distributed package (--scheduler); the folder goes last
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

from geocarbon.capabilities.carbon_step import carbon_results  # noqa: E402
from geocarbon.capabilities.carbon_uncertainty import zone_frame  # noqa: E402
from geocarbon.carbon.uncertainty import build_model, run_draws  # noqa: E402
from geocarbon.config import PipelineConfig, load_config  # noqa: E402
from geocarbon.distributed import draw_runner  # noqa: E402
from geocarbon.pipeline import compute, read_inputs  # noqa: E402

PIPELINE = _HERE.parent / "pipelines" / "lot_uncertainty.yaml"


def with_draws(cfg: PipelineConfig, draws: int | None) -> PipelineConfig:
    """``cfg`` with ``draws`` draws (None: without ``carbon.uncertainty``)."""
    assert cfg.carbon.uncertainty is not None
    spreads = None if draws is None else cfg.carbon.uncertainty.model_copy(update={"draws": draws})
    return cfg.model_copy(update={"carbon": cfg.carbon.model_copy(update={"uncertainty": spreads})})


def timed(func: object, rounds: int) -> tuple[list[float], object]:
    """Wall times [s] of ``rounds`` calls of ``func`` and its last result."""
    times, out = [], None
    for _ in range(rounds):
        t = time.perf_counter()
        out = func()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return times, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scheduler", default=None, help="local:N or tcp://host:port")
    args = parser.parse_args()
    cfg = load_config(PIPELINE)
    plain, ranged = with_draws(cfg, None), with_draws(cfg, args.draws)
    inputs = read_inputs(ranged)
    compute(plain, inputs)  # warm-up: first touches of memory, imports, caches
    times: dict[str, list[float]] = {}
    times["deterministic carbon computation (no ranges)"], _ = timed(
        lambda: compute(plain, inputs), args.rounds
    )
    times[f"carbon computation with {args.draws:,} draws and their ranges"], results = timed(
        lambda: compute(ranged, inputs), args.rounds
    )
    carbon = carbon_results(results)  # type: ignore[arg-type]
    zones = zone_frame(carbon, results.communes)  # type: ignore[attr-defined]
    spreads = ranged.carbon.uncertainty
    assert spreads is not None

    def draws_here() -> object:
        model = build_model(
            carbon.carbon_stocks, carbon.flows, zones.index, spreads, carbon.zpc, carbon.region
        )
        return run_draws(model, spreads.draws, spreads.seed)

    times[f"the {args.draws:,} draws alone (model + draws), this process"], here = timed(
        draws_here, args.rounds
    )
    if args.scheduler:
        model = build_model(
            carbon.carbon_stocks, carbon.flows, zones.index, spreads, carbon.zpc, carbon.region
        )
        with draw_runner(args.scheduler) as runner:
            run_draws(model, spreads.draws, spreads.seed, runner)  # warm the workers
            times[f"the {args.draws:,} draws on {args.scheduler} (start excluded)"], there = timed(
                lambda: run_draws(model, spreads.draws, spreads.seed, runner), args.rounds
            )
        same = here.stock_tc.tobytes() == there.stock_tc.tobytes()  # type: ignore[attr-defined]
        same &= here.flow_tco2e_per_yr.tobytes() == there.flow_tco2e_per_yr.tobytes()  # type: ignore[attr-defined]
        print(f"cluster draws bit-identical to this process: {same}")
    print(
        f"\ncase: {PIPELINE.name}, {len(zones)} communes, {len(carbon.carbon_stocks):,} stock rows, "
        f"{0 if carbon.flows is None else len(carbon.flows):,} flow rows, {args.draws:,} draws"
    )
    print("\n| step | best time | median |")
    print("|---|---:|---:|")
    for label, ts in times.items():
        print(f"| {label} | {min(ts):.2f} s | {statistics.median(ts):.2f} s |")


if __name__ == "__main__":
    main()
