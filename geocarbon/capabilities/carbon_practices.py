"""The agricultural practices of the carbon step (``carbon.practices``): the storage potential
of each practice on the area the pipeline gives, per commune, EPCI or territory (model:
:mod:`geocarbon.carbon.practices`). A potential, never added to the observed flows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from geocarbon.carbon.practices import category_area_for, check_rates, practice_potential
from geocarbon.errors import ConfigError
from geocarbon.notices import Notice

if TYPE_CHECKING:
    from geocarbon.config import PipelineConfig

#: Columns of the ``carbon_practices`` table and of ``practices.csv``.
PRACTICE_COLUMNS = [
    "level",
    "code",
    "practice",
    "applies_to",
    "area_ha",
    "available_area_ha",
    "soil_tc_per_ha_yr",
    "biomass_tc_per_ha_yr",
    "potential_soil_tco2e_per_yr",
    "potential_biomass_tco2e_per_yr",
    "potential_tco2e_per_yr",
    "potential_tco2e_20yr",
]
#: The model's column → the name written (a potential, not a flow of the territory).
_WRITTEN = {
    "soil_tco2e_per_yr": "potential_soil_tco2e_per_yr",
    "biomass_tco2e_per_yr": "potential_biomass_tco2e_per_yr",
    "flow_tco2e_per_yr": "potential_tco2e_per_yr",
    "total_tco2e_20yr": "potential_tco2e_20yr",
}


def unit_communes(communes: pd.DataFrame, level: str, code: str | None) -> pd.Index:
    """The commune codes of a commune, an EPCI or the territory.

    Raises
    ------
    ConfigError
        A code that is not a commune (EPCI) of the run.
    """
    codes = communes["commune_code"].astype(str)
    if level == "territory":
        return pd.Index(codes)
    column = "commune_code" if level == "commune" else "epci_code"
    if column not in communes.columns:
        msg = f"carbon.practices: level {level} needs the communes' EPCI (communes.epci_field)"
        raise ConfigError(msg)
    picked = codes[communes[column].astype(str).to_numpy() == str(code)]
    if not len(picked):
        msg = (
            f"carbon.practices: {level} {code} is not in the run's territory; give the INSEE "
            "code of one of its communes or the SIREN code of one of its EPCIs"
        )
        raise ConfigError(msg)
    return pd.Index(picked)


def compute_practices(
    cfg: PipelineConfig, rates: pd.DataFrame, communes: pd.DataFrame, stocks: pd.DataFrame
) -> tuple[pd.DataFrame, list[Notice]]:
    """The potential of each practice of ``carbon.practices`` [tCO2e/yr, tCO2e over 20 yr].

    The area given is compared to the area of the categories the practice applies to in
    its commune, EPCI or territory (``available_area_ha``, from the stock table); an area
    over it gives a notice (the potential is computed on the area given).
    """
    table = check_rates(rates, "built-in practice rates")
    areas = stocks[stocks["area_ha"].notna()].drop_duplicates(["commune_code", "category"])
    rows, notices = [], []
    for item in cfg.carbon.practices:
        members = unit_communes(communes, item.level, item.code)
        applies_to = str(table.loc[item.practice, "applies_to"])
        available = float(category_area_for(areas, applies_to).reindex(members).sum())
        code = item.code or cfg.name
        rows.append(
            {
                "level": item.level,
                "code": code,
                "practice": item.practice,
                "area_ha": item.area_ha,
                "available_area_ha": available,
            }
        )
        if item.area_ha > available * (1 + 1e-9):
            facts = {
                "practice": item.practice,
                "level": item.level,
                "code": code,
                "area_ha": item.area_ha,
                "available_ha": available,
                "applies_to": applies_to,
            }
            notices.append(
                Notice(
                    "practice_area_over_land",
                    f"practice {item.practice} ({item.level} {code}): {item.area_ha:,.1f} ha given "
                    f"for {available:,.1f} ha of {applies_to}: potential computed on the area "
                    "given, check it",
                    [code],
                    facts=facts,
                )
            )
    out = practice_potential(pd.DataFrame(rows), table).rename(columns=_WRITTEN)
    return out[PRACTICE_COLUMNS], notices
