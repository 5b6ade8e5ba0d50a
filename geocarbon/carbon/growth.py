"""Forest growth and harvest coefficients per commune and forest type, and the regional
lumber / industry-wood shares of harvest (for wood products)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geocarbon.carbon.categories import FOREST_CATEGORIES
from geocarbon.carbon.coefficients import (
    ALDO_COMPOSITION,
    REGION_TO_RAD13,
    forest_inventory_row,
    location_groups,
)
from geocarbon.carbon.flows import ForestGrowthCoefficients
from geocarbon.errors import CoefficientError
from geocarbon.io.coefficients import AldoTables

BALANCE = "bilan_carbone_(tC∙ha-1∙an-1)"
HARVEST_C = "prelevement_carbone_(tC∙ha-1∙an-1)"
HARVEST_M3 = "prelevement_volume_(m3∙ha-1∙an-1)"


def aldo_forest_growth(tables: AldoTables, region: pd.Series) -> ForestGrowthCoefficients:
    """Net balance, harvest [tC/ha/yr] and harvest volume [m3/ha/yr] from the IGN inventory,
    by the forest location cascade (statistically significant rows with a balance only)."""
    rows = []
    for where, communes in location_groups(tables, region):
        for category, composition in ALDO_COMPOSITION.items():
            row, source = forest_inventory_row(tables.forest, composition, where, BALANCE)
            values = pd.to_numeric(row[[BALANCE, HARVEST_C, HARVEST_M3]], errors="coerce").fillna(
                0.0
            )
            rows.append(
                pd.DataFrame(
                    {
                        "commune_code": communes,
                        "category": category,
                        "net_tc_per_ha_yr": float(values[BALANCE]),
                        "harvest_tc_per_ha_yr": float(values[HARVEST_C]),
                        "harvest_m3_per_ha_yr": float(values[HARVEST_M3]),
                        "source": f"IGN inventory {composition} {source}",
                    }
                )
            )
    return ForestGrowthCoefficients(pd.concat(rows, ignore_index=True))


def generic_forest_growth(table: pd.DataFrame, communes: np.ndarray) -> ForestGrowthCoefficients:
    """The same coefficients for every commune, from a table per forest type."""
    missing = sorted(set(FOREST_CATEGORIES) - set(table["category"]))
    if missing:
        msg = f"forest growth table: no row for {missing}"
        raise CoefficientError(msg)
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
    return pd.DataFrame(
        {
            "commune_code": region.index,
            "bo_share": pd.to_numeric(use["% BO"]).reindex(rad13.to_numpy()).to_numpy() / 100.0,
            "bi_share": pd.to_numeric(use["% BI"]).reindex(rad13.to_numpy()).to_numpy() / 100.0,
        }
    )
