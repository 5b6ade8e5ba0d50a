"""Carbon flows: ALDO's rules by hand, N2O, forest growth, wood products, and the
sequestration table's invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geocarbon.carbon.categories import CLC_CATEGORIES
from geocarbon.carbon.flows import (
    C_TO_CO2,
    ForestGrowthCoefficients,
    aldo_luc_coefficients,
    aldo_soil_terms,
    aldo_soil_years,
    categorise_changes,
    forest_growth_flows,
    landuse_change_flows,
    litter_unit,
    n2o_flows,
    wood_products_flows,
)


def test_soil_keys_and_exceptions() -> None:
    assert aldo_soil_terms("cropland", "artificial_sealed") == ["cult_art_imp"]
    assert aldo_soil_terms("grassland_wooded", "forest_mixed") == ["prai_for"]
    assert aldo_soil_terms("grassland_herbaceous", "artificial_wooded") == ["prai_for"]
    assert aldo_soil_terms("grassland_shrubby", "artificial_grassed") == []
    assert aldo_soil_terms("forest_conifer", "artificial_wooded") == []
    assert aldo_soil_terms("wetland", "artificial_sealed") == ["zh_cult", "cult_art_imp"]
    assert aldo_soil_terms("wetland", "vineyard") == ["zh_cult"]
    assert aldo_soil_terms("orchard", "artificial_grassed") == ["cult_art_enh"]
    assert aldo_soil_terms("vineyard", "wetland") == ["cult_zh"]
    assert aldo_soil_terms("cropland", "orchard") == []
    assert aldo_soil_terms("forest_broadleaf", "forest_mixed") == []
    # origins on artificial land behave as cropland / shrubby grassland / mixed forest
    assert aldo_soil_terms("artificial_sealed", "grassland_herbaceous") == ["cult_prai"]
    assert aldo_soil_terms("artificial_grassed", "cropland") == ["prai_cult"]
    assert aldo_soil_terms("artificial_wooded", "cropland") == ["for_cult"]


def test_year_multiplier_and_litter() -> None:
    assert aldo_soil_years("cropland", "forest_broadleaf") == 20
    assert aldo_soil_years("artificial_sealed", "cropland") == 20  # de-artificialisation
    assert aldo_soil_years("forest_mixed", "artificial_sealed") == 1
    assert aldo_soil_years("wetland", "cropland") == 1
    assert aldo_soil_years("cropland", "wetland") == 1
    assert litter_unit("forest_mixed", "artificial_sealed") == -9.0
    assert litter_unit("forest_mixed", "artificial_wooded") == 0.0
    assert litter_unit("cropland", "forest_mixed") == 9.0
    assert litter_unit("artificial_sealed", "forest_mixed") == 0.0
    assert litter_unit("forest_mixed", "forest_conifer") == 0.0


def _changes(rows: list[tuple[str, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["commune_code", "from_code", "to_code", "area_ha"])


def _as_dict(frame: pd.DataFrame) -> dict[tuple[str, str], float]:
    return {
        (r.from_category, r.to_category): round(r.area_ha_per_yr, 9) for r in frame.itertuples()
    }


def test_split_of_changes_to_artificial_land() -> None:
    # over 6 years, from cropland: A = 90 ha to 112, W = 10 ha to 141; T = 100, W < 0.2 T:
    # sealed 80, grassed 10, wooded 10 -> per year / 6
    rows = [("1", 211, 112, 90.0), ("1", 211, 141, 10.0)]
    got = _as_dict(categorise_changes(_changes(rows), CLC_CATEGORIES, 6))
    assert got == pytest.approx(
        {
            ("cropland", "artificial_sealed"): 80 / 6,
            ("cropland", "artificial_grassed"): 10 / 6,
            ("cropland", "artificial_wooded"): 10 / 6,
        }
    )
    # from forest, ALDO's published figures take grassed = 0.2 A = 18 (an over-count of W)
    rows = [("1", 311, 112, 90.0), ("1", 311, 141, 10.0)]
    pub = _as_dict(categorise_changes(_changes(rows), CLC_CATEGORIES, 6, aldo_published=True))
    assert pub[("forest_broadleaf", "artificial_grassed")] == pytest.approx(18 / 6)
    fix = _as_dict(categorise_changes(_changes(rows), CLC_CATEGORIES, 6))
    assert fix[("forest_broadleaf", "artificial_grassed")] == pytest.approx(10 / 6)
    # W is set to 0 for orchards before the split (ALDO): T = A = 45, sealed 36, grassed 9
    rows = [("1", 222, 112, 45.0), ("1", 222, 141, 5.0)]
    got = _as_dict(categorise_changes(_changes(rows), CLC_CATEGORIES, 5))
    assert ("orchard", "artificial_wooded") not in got
    assert got[("orchard", "artificial_sealed")] == pytest.approx(36 / 5)
    assert got[("orchard", "artificial_grassed")] == pytest.approx(9 / 5)


def test_changes_between_grassland_types_are_kept() -> None:
    # 323 (wooded grassland) -> 321 (herbaceous): the biomass differs, ALDO counts it
    rows = [("1", 323, 321, 12.0), ("1", 311, 313, 5.0), ("1", 211, 242, 3.0)]
    got = _as_dict(categorise_changes(_changes(rows), CLC_CATEGORIES, 6))
    # between forest types and within cropland: no flow
    assert got == pytest.approx({("grassland_wooded", "grassland_herbaceous"): 2.0})


def test_changes_from_artificial_land() -> None:
    rows = [("1", 133, 211, 12.0), ("1", 133, 112, 7.0)]  # construction site -> crops / urban
    fix = _as_dict(categorise_changes(_changes(rows), CLC_CATEGORIES, 6))
    # corrected: split 0.8 / 0.2; artificial -> artificial is no change
    assert fix == pytest.approx(
        {("artificial_grassed", "cropland"): 2.4 / 6, ("artificial_sealed", "cropland"): 9.6 / 6}
    )
    pub = _as_dict(categorise_changes(_changes(rows), CLC_CATEGORIES, 6, aldo_published=True))
    # ALDO's published figures count the full area twice
    assert pub == pytest.approx(
        {("artificial_grassed", "cropland"): 2.0, ("artificial_sealed", "cropland"): 2.0}
    )


def _aldo_like(published: bool = False) -> tuple:
    flux = pd.DataFrame(
        {
            "cult_art_imp": [-17.0],
            "cult_art_enh": [27.0],
            "prai_cult": [-1.0],
            "for_art_imp": [-38.0],
            "prai_zh": [51.0],
        },
        index=["1_1"],
    )
    biomass = pd.DataFrame(
        {
            "cultures": [np.nan],
            "prairies zones herbacées": [np.nan],
            "sols artificiels arbustifs": [7.0],
            "sols artificiels imperméabilisés": [np.nan],
            "prairies zones arborées": [44.0],
            "prairies zones arborées vers zones humides": [-57.0],
        },
        index=["SUD-EST"],
    )
    reference = pd.DataFrame(
        [("1", "forest_broadleaf", "live_biomass", 76.89), ("1", "forest_broadleaf", "dead_wood", 8.83),
         ("1", "artificial_sealed", "live_biomass", 0.0), ("1", "artificial_sealed", "dead_wood", 0.0)],
        columns=["commune_code", "category", "pool", "ref_stock_tc_per_ha"],
    )  # fmt: skip
    return aldo_luc_coefficients(
        flux,
        pd.Series({"1": "1_1"}),
        biomass,
        pd.Series({"1": "SUD-EST"}),
        reference,
        aldo_published=published,
    )


def test_landuse_change_flows_by_hand() -> None:
    areas = pd.DataFrame(
        [("1", "cropland", "artificial_sealed", 1.0), ("1", "cropland", "artificial_grassed", 0.5),
         ("1", "grassland_herbaceous", "cropland", 2.0), ("1", "forest_broadleaf", "artificial_sealed", 0.1),
         ("1", "grassland_wooded", "wetland", 1.0)],
        columns=["commune_code", "from_category", "to_category", "area_ha_per_yr"],
    )  # fmt: skip
    flows = landuse_change_flows(areas, _aldo_like())
    got = flows.set_index(["from_category", "to_category", "pool"])["flow_tco2e_per_yr"]
    k = C_TO_CO2
    # cropland -> sealed: 1 ha/yr x -17 tC/ha (x 1 year)
    assert got[("cropland", "artificial_sealed", "soil")] == pytest.approx(-17 * k)
    # cropland -> grassed: 0.5 x 27 (soil) and 0.5 x (7 - 0) biomass gained
    assert got[("cropland", "artificial_grassed", "soil")] == pytest.approx(0.5 * 27 * k)
    assert got[("cropland", "artificial_grassed", "biomass")] == pytest.approx(0.5 * 7 * k)
    # grassland ploughed: 2 ha/yr x -1 tC/ha/yr x 20 years
    assert got[("grassland_herbaceous", "cropland", "soil")] == pytest.approx(2 * -1 * 20 * k)
    # forest sealed: soil -38, litter -9, biomass 0 - (76.89 + 8.83), all at once
    assert got[("forest_broadleaf", "artificial_sealed", "soil")] == pytest.approx(0.1 * -38 * k)
    assert got[("forest_broadleaf", "artificial_sealed", "litter")] == pytest.approx(0.1 * -9 * k)
    assert got[("forest_broadleaf", "artificial_sealed", "forest_biomass")] == pytest.approx(
        0.1 * -85.72 * k
    )
    # wooded grassland -> wetland: stock difference 0 - 44 (corrected) ...
    assert got[("grassland_wooded", "wetland", "biomass")] == pytest.approx(-44 * k)
    # ... or ALDO's published column, -57 in every inter-region
    pub = landuse_change_flows(areas, _aldo_like(published=True)).set_index(
        ["from_category", "to_category", "pool"]
    )
    assert pub.loc[
        ("grassland_wooded", "wetland", "biomass"), "flow_tco2e_per_yr"
    ] == pytest.approx(-57 * k)
    assert set(flows["pcaet_category"]) == {"other_soils", "agricultural_soils"}


def test_n2o_from_soil_and_litter_losses() -> None:
    luc = pd.DataFrame(
        {
            "commune_code": ["1", "1", "1"],
            "flow_kind": "landuse_change",
            "pool": ["soil", "litter", "soil"],
            "from_category": ["forest_mixed", "forest_mixed", "cropland"],
            "to_category": ["artificial_sealed", "artificial_sealed", "grassland_herbaceous"],
            "area_ha_per_yr": [1.0, 1.0, 1.0],
            "unit_tc_per_ha": [-6.0, -9.0, 10.0],
            "flow_tco2e_per_yr": [-6.0 * C_TO_CO2, -9.0 * C_TO_CO2, 10.0 * C_TO_CO2],
            "pcaet_category": "other_soils",
        }
    )
    n2o = n2o_flows(luc, gwp=273.0)
    # loss of 15 tC/yr: 15 / 15 x (0.01 + 0.3 x 0.0075) x 44/28 t N2O x 273 (the gain makes none)
    assert len(n2o) == 1
    assert n2o["flow_tco2e_per_yr"].iloc[0] == pytest.approx(-(0.01 + 0.00225) * 44 / 28 * 273)
    published = n2o_flows(luc, gwp=273.0, aldo_published=True)
    assert published["flow_tco2e_per_yr"].iloc[0] == pytest.approx(
        -(0.01 * 44 / 25 + 0.00225 * 44 / 28) * 273
    )


def _growth() -> ForestGrowthCoefficients:
    return ForestGrowthCoefficients(
        pd.DataFrame(
            {
                "commune_code": ["1"],
                "category": ["forest_broadleaf"],
                "net_tc_per_ha_yr": [1.05],
                "harvest_tc_per_ha_yr": [1.08],
                "harvest_m3_per_ha_yr": [2.09],
            }
        )
    )


def test_forest_growth_and_harvest_scenario() -> None:
    areas = pd.DataFrame(
        {"commune_code": ["1"], "category": ["forest_broadleaf"], "area_ha": [10.0]}
    )
    base = forest_growth_flows(areas, _growth())
    assert base["flow_tco2e_per_yr"].iloc[0] == pytest.approx(10 * 1.05 * C_TO_CO2)
    more_harvest = forest_growth_flows(areas, _growth(), harvest_factor=1.2)
    # +20 % harvest: 1.05 - 0.2 x 1.08 = 0.834 tC/ha/yr
    assert more_harvest["flow_tco2e_per_yr"].iloc[0] == pytest.approx(10 * 0.834 * C_TO_CO2)


def test_wood_products_harvest_approach() -> None:
    areas = pd.DataFrame(
        {"commune_code": ["1"], "category": ["forest_broadleaf"], "area_ha": [100.0]}
    )
    shares = pd.DataFrame({"commune_code": ["1"], "bo_share": [0.4], "bi_share": [0.2]})
    got = wood_products_flows(areas, _growth(), shares)["flow_tco2e_per_yr"].iloc[0]
    # trunk 209 m3, total 209 x 1.44 = 300.96, harvested 0.9 x 209 + 0.5 x 91.96 = 234.08 m3
    wood = 0.9 * 209 + 0.5 * (300.96 - 209)
    expected = wood * 0.4 / 19_253_833.33 * 918_160.6252 + wood * 0.2 / 10_472_666.67 * 441_532.8296
    assert got == pytest.approx(expected)
    assert got == pytest.approx(6.4389, rel=1e-4)


def test_wood_products_consumption_is_population_share_of_the_national_sink() -> None:
    from geocarbon.carbon.flows import wood_products_consumption_flows
    from geocarbon.carbon.growth import consumption_population, zone_wood_shares
    from geocarbon.errors import CoefficientError

    shares = pd.DataFrame(
        {
            "commune_code": ["46001", "46002", "46003"],
            "bo_share": [0.4, 0.2, 0.3],
            "bi_share": [0.2, 0.2, 0.2],
            "population": [1000.0, 3000.0, np.nan],
        }
    )
    zone_of = pd.Series(["E1", "E1", "E2"], index=["46001", "46002", "46003"])
    zones = zone_wood_shares(shares, zone_of).set_index("commune_code")
    assert zones.loc["E1", "population"] == 4000.0  # summed, not averaged
    assert zones.loc["E1", "bo_share"] == pytest.approx(0.3)
    assert np.isnan(zones.loc["E2", "population"])
    with pytest.raises(CoefficientError, match=r"no population .* for 46003"):
        consumption_population(shares, "the commune table")
    flows = wood_products_consumption_flows(consumption_population(shares.iloc[:2], "t"))
    per = flows.groupby(["commune_code", "from_category"])["flow_tco2e_per_yr"].sum()
    # 1000 / 64,299,705 x 918,160.6252 = 14.2794 tCO2/yr of lumber
    assert per["46001", "lumber"] == pytest.approx(1000 / 64_299_705 * 918_160.6252)
    assert per["46002", "industry_wood"] == pytest.approx(3000 / 64_299_705 * 441_532.8296)
    assert set(flows["pcaet_category"]) == {"wood_products"}
