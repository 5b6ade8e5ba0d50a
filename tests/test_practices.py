"""Agricultural practices (ALDO "pratiques stockantes"): the rates table and the potential,
with hand-computed expectations."""

from __future__ import annotations

from typing import get_args

import pandas as pd
import pytest

from geocarbon.carbon.practices import (
    APPLIES_TO,
    category_area_for,
    check_rates,
    practice_potential,
)
from geocarbon.config import PracticeId
from geocarbon.errors import CoefficientError
from geocarbon.io.coefficients import read_practice_rates
from geocarbon.io.text_tables import text_table


def test_the_built_in_table_holds_aldo_s_twelve_practices() -> None:
    rates = check_rates(read_practice_rates())
    assert len(rates) == 12
    # values of the method note (ALDO's code)
    assert rates.loc["catchCrops", "soil_tc_per_ha_yr"] == 0.24
    assert rates.loc["cropsAgroforestry", "biomass_tc_per_ha_yr"] == 0.70
    assert rates.loc["prairiesHedges", "applies_to"] == "grassland"
    assert rates.loc["orchardsInterCoverCropping", "applies_to"] == "orchard"
    # every practice and category has a French and an English label
    labels = text_table("practices")
    assert set(rates.index) | set(APPLIES_TO) <= set(labels)
    # the pipeline file accepts exactly these ids
    assert set(get_args(PracticeId)) == set(rates.index)


def test_one_practice_on_one_commune_by_hand() -> None:
    # 1,200 ha of agroforestry on crops: soil 0.30 and biomass 0.70 tC/ha/yr
    # soil 0.30 x 1200 x 44/12 = 1320 tCO2e/yr, biomass 0.70 x 1200 x 44/12 = 3080
    areas = pd.DataFrame(
        {"commune_code": ["46042"], "practice": ["cropsAgroforestry"], "area_ha": [1200.0]}
    )
    out = practice_potential(areas, read_practice_rates())
    row = out.iloc[0]
    assert row["commune_code"] == "46042"
    assert row["soil_tco2e_per_yr"] == pytest.approx(1320.0)
    assert row["biomass_tco2e_per_yr"] == pytest.approx(3080.0)
    assert row["flow_tco2e_per_yr"] == pytest.approx(4400.0)
    assert row["total_tco2e_20yr"] == pytest.approx(88_000.0)


def test_adoption_by_year_keeps_the_caller_s_columns() -> None:
    areas = pd.DataFrame(
        {"year": [2025, 2026], "practice": ["catchCrops", "catchCrops"], "area_ha": [10.0, 30.0]}
    )
    out = practice_potential(areas, read_practice_rates())
    assert out["year"].tolist() == [2025, 2026]
    # 0.24 x 10 x 44/12 = 8.8 ; x 3 = 26.4
    assert out["flow_tco2e_per_yr"].tolist() == pytest.approx([8.8, 26.4])


def test_unknown_practice_and_bad_rates_are_refused() -> None:
    with pytest.raises(CoefficientError, match=r"unknown practice.*catchcrops"):
        practice_potential(
            pd.DataFrame({"practice": ["catchcrops"], "area_ha": [1.0]}), read_practice_rates()
        )
    bad = read_practice_rates()
    bad.loc[0, "soil_tc_per_ha_yr"] = -1
    with pytest.raises(CoefficientError, match="prairieExtension, soil_tc_per_ha_yr"):
        check_rates(bad)
    with pytest.raises(CoefficientError, match="area_ha"):
        practice_potential(
            pd.DataFrame({"practice": ["catchCrops"], "area_ha": [-1.0]}), read_practice_rates()
        )


def test_area_a_practice_applies_to() -> None:
    areas = pd.DataFrame(
        {
            "commune_code": ["a", "a", "a", "b"],
            "category": ["grassland_herbaceous", "grassland_wooded", "cropland", "cropland"],
            "area_ha": [10.0, 5.0, 7.0, 3.0],
        }
    )
    assert category_area_for(areas, "grassland").to_dict() == {"a": 15.0}
    assert category_area_for(areas, "cropland").to_dict() == {"a": 7.0, "b": 3.0}
