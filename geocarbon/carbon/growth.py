"""Forest growth and harvest coefficients per commune and forest type, and the regional
lumber / industry-wood shares of harvest (for wood products)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geocarbon.carbon.categories import FOREST_CATEGORIES
from geocarbon.carbon.coefficients import (
    REGION_TO_RAD13,
    LocationValues,
    forest_inventory_row,
    weighted_by_location,
)
from geocarbon.carbon.flows import ForestGrowthCoefficients
from geocarbon.errors import CoefficientError
from geocarbon.table_checks import checked_numbers, drop_identical_duplicates
from geocarbon.values import (
    FOREST_FLOW_MAX_TC_PER_HA_YR,
    FOREST_HARVEST_MAX_M3_PER_HA_YR,
    AldoTables,
)

BALANCE = "bilan_carbone_(tC∙ha-1∙an-1)"
HARVEST_C = "prelevement_carbone_(tC∙ha-1∙an-1)"
HARVEST_M3 = "prelevement_volume_(m3∙ha-1∙an-1)"


def _growth_values(forest: pd.DataFrame) -> LocationValues:
    """Net balance, harvest [tC/ha/yr] and harvest volume [m3/ha/yr] of a location."""

    def values_of(composition: str, where: dict[str, str | None]) -> tuple[dict[str, float], str]:
        row, source = forest_inventory_row(forest, composition, where, BALANCE)
        values = pd.to_numeric(row[[BALANCE, HARVEST_C, HARVEST_M3]], errors="coerce").fillna(0.0)
        return (
            {
                "net_tc_per_ha_yr": float(values[BALANCE]),
                "harvest_tc_per_ha_yr": float(values[HARVEST_C]),
                "harvest_m3_per_ha_yr": float(values[HARVEST_M3]),
            },
            f"IGN inventory {composition} {source}",
        )

    return values_of


def aldo_forest_growth(tables: AldoTables, region: pd.Series) -> ForestGrowthCoefficients:
    """Net balance, harvest [tC/ha/yr] and harvest volume [m3/ha/yr] from the IGN inventory,
    by the forest location cascade (statistically significant rows with a balance only),
    area-weighted over each commune's locations (:func:`weighted_by_location`): the same as
    ALDO's sum over a commune's location rows of area × that location's coefficients."""
    columns = ["net_tc_per_ha_yr", "harvest_tc_per_ha_yr", "harvest_m3_per_ha_yr"]
    weighted = weighted_by_location(tables, region, _growth_values(tables.forest), columns)
    return ForestGrowthCoefficients(weighted[["commune_code", "category", *columns, "source"]])


def check_growth_table(table: pd.DataFrame, source: str = "forest growth table") -> pd.DataFrame:
    """A forest growth table checked: a row for every forest type, the net balance within
    ± :data:`~geocarbon.values.FOREST_FLOW_MAX_TC_PER_HA_YR` tC/ha/yr, the harvest
    between 0 and that bound (and 0 to
    :data:`~geocarbon.values.FOREST_HARVEST_MAX_M3_PER_HA_YR` m3/ha/yr), one row per
    forest type (identical duplicates dropped).

    Raises
    ------
    CoefficientError
        Naming the row, the column and the value.
    """
    missing = sorted(set(FOREST_CATEGORIES) - set(table["category"]))
    if missing:
        msg = f"{source}: no row for {missing}; give one row per forest type"
        raise CoefficientError(msg)
    labels = "category " + table["category"].astype(str)
    bounds = {
        "net_tc_per_ha_yr": (
            -FOREST_FLOW_MAX_TC_PER_HA_YR,
            FOREST_FLOW_MAX_TC_PER_HA_YR,
            "tC/ha/yr",
        ),
        "harvest_tc_per_ha_yr": (0.0, FOREST_FLOW_MAX_TC_PER_HA_YR, "tC/ha/yr"),
        "harvest_m3_per_ha_yr": (0.0, FOREST_HARVEST_MAX_M3_PER_HA_YR, "m3/ha/yr"),
    }
    for column, (low, high, unit) in bounds.items():
        table = checked_numbers(
            table, [column], source=source, labels=labels, low=low, high=high, unit=unit
        )
        empty = table[column].isna().to_numpy()
        if empty.any():
            msg = f"{source}: {labels.iloc[empty.nonzero()[0][0]]}, column {column!r} is empty; give a number [{unit}]"
            raise CoefficientError(msg)
    return drop_identical_duplicates(table, ["category"], source=source, compare=list(bounds))


def generic_forest_growth(table: pd.DataFrame, communes: np.ndarray) -> ForestGrowthCoefficients:
    """The same coefficients for every commune, from a table per forest type."""
    table = check_growth_table(table)
    per = pd.DataFrame({"commune_code": communes}).merge(table, how="cross")
    return ForestGrowthCoefficients(per)


def aldo_wood_shares(tables: AldoTables, region: pd.Series) -> pd.DataFrame:
    """Lumber (BO) and industry-wood (BI) shares of harvest per commune, by region (0–1)."""
    assert tables.wood_use is not None
    use = tables.wood_use.set_index("code_localisation")
    rad13 = region.map(REGION_TO_RAD13)
    unknown = sorted(set(rad13.dropna()) - set(use.index))
    if unknown or rad13.isna().any():
        msg = f"ALDO tables: no lumber/industry shares for regions {unknown or sorted(set(region[rad13.isna()]))}"
        raise CoefficientError(msg)
    shares = use[["% BO", "% BI"]].apply(pd.to_numeric, errors="coerce").reindex(rad13.to_numpy())
    empty = shares.isna().any(axis=1).to_numpy()
    if empty.any():
        code = rad13.to_numpy()[empty][0]
        msg = (
            f"ALDO tables: proportion-usage-bois-par-region.csv, code_localisation {code}: "
            "'% BO' or '% BI' is empty; give both shares of the harvest [%] for the "
            "territory's regions, or restore the published file"
        )
        raise CoefficientError(msg)
    return pd.DataFrame(
        {
            "commune_code": region.index,
            "bo_share": shares["% BO"].to_numpy() / 100.0,
            "bi_share": shares["% BI"].to_numpy() / 100.0,
            "population": _population(tables, region.index),
        }
    )


def _population(tables: AldoTables, communes: pd.Index) -> np.ndarray:
    """Population [inhabitants] of each commune in the ALDO commune table (NaN if none): the
    first row of each code, its cell read as a number (only the cells of ``communes``)."""
    table = tables.communes
    if "population" not in table.columns:
        return np.full(len(communes), np.nan)
    cells = pd.Series(table["population"].to_numpy(dtype=object), index=table["insee"].astype(str))
    cells = cells[~cells.index.duplicated()]
    wanted = cells.reindex(communes.astype(str))
    return pd.to_numeric(wanted, errors="coerce").to_numpy(dtype=float)


def zone_wood_shares(shares: pd.DataFrame, zone_of: pd.Series) -> pd.DataFrame:
    """Wood-use shares of zones (EPCIs): the mean of their communes' shares, the sum of their
    populations [inhabitants] (empty when a commune's is)."""
    zoned = shares.assign(commune_code=shares["commune_code"].map(zone_of))
    zoned = zoned[zoned["commune_code"].notna()]
    group = zoned.groupby("commune_code", sort=True)
    out = group[["bo_share", "bi_share"]].mean()
    out["population"] = (
        group["population"]
        .sum(min_count=1)
        .where(~group["population"].apply(lambda p: p.isna().any()))
    )
    return out.reset_index()


def consumption_population(shares: pd.DataFrame, source: str) -> pd.DataFrame:
    """Population per zone for the consumption approach of wood products.

    Raises
    ------
    CoefficientError
        Naming the zones without a population and the commune table.
    """
    missing = shares.loc[shares["population"].isna(), "commune_code"].astype(str).tolist()
    if missing:
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        msg = (
            f"flows.wood_products is 'consumption' but {source} gives no population (column "
            f"'population') for {shown}; add the populations, or choose 'harvest' or 'none'"
        )
        raise CoefficientError(msg)
    return shares[["commune_code", "population"]]
