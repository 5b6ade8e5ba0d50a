"""Benchmark of a run from ADEME's tables alone: every EPCI of France (``pipelines/france_epci.yaml``).

Times the read phase and the computation of stocks and flows (CLC 2018 areas of ~1,250 EPCIs,
36,000 change rows of ~12,000 communes, ALDO coefficients of 35,000 communes), beside the floor
of reading the same tables with pandas, in the same process. Needs the shared data
(``GEOCARBON_DATA`` or ``../shared/data``). Usage::

    python benchmarks/france_epci.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pandas as pd

from geocarbon.config import load_config
from geocarbon.pipeline import compute, read_inputs

REPO = Path(__file__).resolve().parents[1]


def _tables_once(aldo: Path) -> None:
    """The floor: read every table the run reads, once, with pandas."""
    for name in (
        "communes_17122018.csv",
        "epci.csv",
        "clc18_area_ha_by_epci.csv",
        "zpc.csv",
        "stocks-zpc.csv",
        "flux-zpc.csv",
        "biomass-hors-forets.csv",
        "bilan-carbone-foret-par-localisation.csv",
        "proportion-usage-bois-par-region.csv",
    ):
        pd.read_csv(aldo / name, dtype=object, encoding="utf-8-sig", low_memory=False)
    pd.read_csv(aldo / "clc12_to_clc18_change_ha_by_commune.csv.gz", dtype=object)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = Path(os.environ.get("GEOCARBON_DATA", REPO.parent / "shared" / "data"))
    os.environ.setdefault("GEOCARBON_DATA", str(data))
    cfg = load_config(REPO / "pipelines" / "france_epci.yaml")
    floor, read, comp = [], [], []
    for _ in range(args.rounds):
        start = time.perf_counter()
        _tables_once(data / "aldo")
        floor.append(time.perf_counter() - start)
        start = time.perf_counter()
        inputs = read_inputs(cfg)
        read.append(time.perf_counter() - start)
        start = time.perf_counter()
        results = compute(cfg, inputs)
        comp.append(time.perf_counter() - start)
    epci = results.parts["carbon"].zones
    assert epci is not None
    print(f"EPCIs: {len(epci)}, with data: {int(epci['carbon_complete'].sum())}")
    best = min(floor)
    for label, times in (("read the tables once (pandas)", floor), ("read_inputs", read),
                         ("compute (stocks + flows)", comp)):  # fmt: skip
        print(f"{label:32s} best {min(times):6.2f} s  ({min(times) / best:5.1f} x the floor)")
    total = min(read) + min(comp)
    print(f"{'run without writing':32s} best {total:6.2f} s  ({total / best:5.1f} x the floor)")


if __name__ == "__main__":
    main()
