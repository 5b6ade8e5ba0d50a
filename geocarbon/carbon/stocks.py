"""Carbon stocks per commune × category × pool: area [ha] × reference stock [tC/ha]."""

from __future__ import annotations

import pandas as pd

from geocarbon.errors import CoefficientError
from geocarbon.values import CARBON_POOLS

#: Pool of the hedges' biomass (:mod:`geocarbon.carbon.hedges`), beside the area pools.
HEDGE_POOL = "hedges"

STOCK_COLUMNS = ["commune_code", "category", "pool", "area_ha", "ref_stock_tc_per_ha", "stock_tc"]


def compute_stocks(category_areas: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """Stocks of every pool for every commune and category.

    Parameters
    ----------
    category_areas : DataFrame
        ``commune_code``, ``category`` (after the artificial split), ``area_ha``.
    reference : DataFrame
        ``commune_code``, ``category``, ``pool``, ``ref_stock_tc_per_ha`` (and
        ``coefficient_source``).

    Returns
    -------
    DataFrame
        :data:`STOCK_COLUMNS` (+ ``coefficient_source``): one row per commune, category
        and pool with ``stock_tc = area_ha × ref_stock_tc_per_ha``.
    """
    pools = pd.DataFrame({"pool": list(CARBON_POOLS)})
    frame = category_areas[["commune_code", "category", "area_ha"]].merge(pools, how="cross")
    out = frame.merge(reference, on=["commune_code", "category", "pool"], how="left")
    missing = out[out["ref_stock_tc_per_ha"].isna()]
    if len(missing):
        listed = (
            missing[["commune_code", "category", "pool"]]
            .drop_duplicates()
            .head(10)
            .to_string(index=False)
        )
        msg = f"no reference stock for these commune/category/pool combinations:\n{listed}"
        raise CoefficientError(msg)
    out["stock_tc"] = out["area_ha"] * out["ref_stock_tc_per_ha"]
    cols = [
        *STOCK_COLUMNS,
        *(["coefficient_source"] if "coefficient_source" in out.columns else []),
    ]
    return (
        out[cols]
        .sort_values(["commune_code", "category", "pool"], kind="stable")
        .reset_index(drop=True)
    )


def stocks_by_commune(stocks: pd.DataFrame) -> pd.DataFrame:
    """Total and per-pool stocks [tC] per commune (index = commune code).

    Columns: ``stock_tc``, ``stock_soil_tc``, ``stock_litter_tc``,
    ``stock_live_biomass_tc``, ``stock_dead_wood_tc``, and ``stock_hedges_tc`` when the
    stocks hold hedge rows (pool ``hedges``, see :mod:`geocarbon.carbon.hedges`).
    """
    wide = stocks.pivot_table(
        index="commune_code", columns="pool", values="stock_tc", aggfunc="sum", fill_value=0.0
    )
    pools = [*CARBON_POOLS, *([HEDGE_POOL] if HEDGE_POOL in wide.columns else [])]
    wide = wide.reindex(columns=pools, fill_value=0.0)
    out = pd.DataFrame(index=wide.index)
    out["stock_tc"] = wide.sum(axis=1)
    for pool in pools:
        out[f"stock_{pool}_tc"] = wide[pool]
    return out


def territory_summary(stocks: pd.DataFrame) -> pd.DataFrame:
    """Territory totals by category and pool: area [ha], stock [tC], mean tC/ha.

    The area of a category is counted once (not once per pool; hedge rows have a length,
    no area).
    """
    areas = (
        stocks[stocks["area_ha"].notna()]
        .drop_duplicates(["commune_code", "category"])
        .groupby("category")["area_ha"]
        .sum()
    )
    by = stocks.groupby(["category", "pool"], as_index=False)["stock_tc"].sum()
    by["area_ha"] = by["category"].map(areas)
    by["stock_tc_per_ha"] = by["stock_tc"] / by["area_ha"].where(by["area_ha"] > 0)
    totals = by.groupby("pool", as_index=False)["stock_tc"].sum()
    totals["category"] = "total"
    totals["area_ha"] = float(areas.sum())
    totals["stock_tc_per_ha"] = (
        totals["stock_tc"] / totals["area_ha"] if areas.sum() > 0 else float("nan")
    )
    out = pd.concat([by, totals], ignore_index=True)
    return out[["category", "pool", "area_ha", "stock_tc", "stock_tc_per_ha"]]
