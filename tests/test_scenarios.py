"""Scenarios to the horizon: the cohort engine by hand, ZAN arithmetic, targets, config."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from geocarbon.carbon.hedges import DEFAULT_C_TOT_KM
from geocarbon.carbon.scenarios import (
    LandTake,
    Levers,
    ScenarioBasis,
    Target,
    flow_ranges,
    group_factors,
    group_trajectories,
    land_take_factor,
    spread,
    target_gaps,
    trajectory_rows,
    zone_trajectories,
)
from geocarbon.config import load_config
from geocarbon.errors import ConfigError
from tests.conftest import REPO, write_pipeline

CO2 = 44.0 / 12.0


def one_commune(base_year: int = 2020, horizon: int = 2023) -> ScenarioBasis:
    """Commune c1: 2 ha/yr of cropland sealed (soil −10 tC/ha at once), 1 ha/yr of cropland
    to grassland (soil +10 tC/ha over 20 years), 100 ha of broadleaf forest (net growth
    2 tC/ha/yr at harvest factor 1, harvest 1 tC/ha/yr, wood products 0.5 tCO2e/ha/yr),
    1000 ha of cropland; afforestation of cropland gains 20 tC/ha of soil over 20 years and
    9 tC/ha of litter at once; N2O 0.1 tCO2e per tC of soil and litter lost."""
    luc = pd.DataFrame(
        {
            "code": ["c1", "c1"],
            "from_category": ["cropland", "cropland"],
            "to_category": ["artificial_sealed", "grassland_herbaceous"],
            "pool": ["soil", "soil"],
            "area_ha_per_yr": [2.0, 1.0],
            "unit_tc_per_ha": [-10.0, 10.0],
            "pcaet_category": ["other_soils", "agricultural_soils"],
        }
    )
    new_units = pd.DataFrame(
        {
            "code": ["c1", "c1"],
            "from_category": ["cropland", "cropland"],
            "to_category": ["forest_broadleaf", "forest_broadleaf"],
            "pool": ["soil", "litter"],
            "unit_tc_per_ha": [20.0, 9.0],
            "pcaet_category": ["forest", "forest"],
        }
    )
    forest = pd.DataFrame(
        {
            "code": ["c1"],
            "category": ["forest_broadleaf"],
            "area_ha": [100.0],
            "net_tc_per_ha_yr": [2.0],
            "harvest_tc_per_ha_yr": [1.0],
            "wood_tco2e_per_ha_yr": [0.5],
        }
    )
    land = pd.DataFrame(
        {
            "code": ["c1", "c1"],
            "category": ["cropland", "forest_broadleaf"],
            "area_ha": [1000.0, 100.0],
        }
    )
    return ScenarioBasis(luc, new_units, forest, land, 1.0, 0.1, base_year, horizon)


LEVERS = Levers(
    name="test",
    land_take=LandTake(ha_per_yr=1.0, halving_every_years=2),
    afforestation_ha_per_yr=4.0,
    hedge_planting_km_per_yr=2.0,
    harvest_factor=1.5,
)


def test_one_commune_year_by_year_by_hand() -> None:
    out = zone_trajectories(one_commune(), LEVERS).set_index("year")
    assert list(out.index) == [2020, 2021, 2022, 2023]
    # land take [ha]: 2 observed; 1 ha/yr halved every 2 years from 2020:
    # 2021: 1 × 0.5^ceil(1/2) = 0.5; 2022: 1 × 0.5^1 = 0.5; 2023: 1 × 0.5^ceil(3/2) = 0.25
    take = [2.0, 0.5, 0.5, 0.25]
    np.testing.assert_allclose(out["land_take_ha_per_yr"], take)
    # other soils: area × −10 tC/ha × 44/12, plus N2O 0.1 tCO2e per tC lost
    other = [a * -10 * CO2 - a * 10 * 0.1 for a in take]
    np.testing.assert_allclose(out["flow_other_soils_tco2e_per_yr"], other)
    # agricultural soils: cropland → grassland, 20 cohorts of 1 ha × 10 tC/ha / 20 = 10 tC/yr
    # every year; hedges: each year's 2 km gain 101 tC/km over 20 years (2 × 101 / 20 = 10.1
    # tC/yr per cohort): 0, 1, 2, 3 cohorts
    agri = [(10 + n * 2 * DEFAULT_C_TOT_KM / 20) * CO2 for n in range(4)]
    np.testing.assert_allclose(out["flow_agricultural_soils_tco2e_per_yr"], agri)
    # forest: 2020: 100 ha × 2 tC/ha/yr; then the area grows by 4 ha/yr (104, 108, 112 ha)
    # at 2 − (1.5 − 1) × 1 = 1.5 tC/ha/yr, plus afforestation: litter 4 ha × 9 tC/ha at
    # once, soil n cohorts × 4 ha × 20 tC/ha / 20
    forest_tc = [200.0, 104 * 1.5 + 36 + 4, 108 * 1.5 + 36 + 8, 112 * 1.5 + 36 + 12]
    np.testing.assert_allclose(out["flow_forest_tco2e_per_yr"], np.array(forest_tc) * CO2)
    np.testing.assert_allclose(out["forest_area_ha"], [100, 104, 108, 112])
    # wood products: area × 0.5 tCO2e/ha/yr × harvest factor (1 observed, then 1.5)
    wood = [100 * 0.5, 104 * 0.75, 108 * 0.75, 112 * 0.75]
    np.testing.assert_allclose(out["flow_wood_products_tco2e_per_yr"], wood)
    total = np.array(other) + np.array(agri) + np.array(forest_tc) * CO2 + np.array(wood)
    np.testing.assert_allclose(out["flow_tco2e_per_yr"], total)
    # 2021 by hand: −5 (land take) + 10 + 10.1 (soils, hedges) + 156 + 40 (forest) tC,
    # + 78 tCO2e of wood products = 211.1 + 21.2727 = 232.3727 tC; N2O is not carbon
    assert out.loc[2021, "stock_change_tc"] == pytest.approx(211.1 + 78 / CO2)
    carbon_tc = (total - np.array([-2.0, -0.5, -0.5, -0.25])) / CO2
    np.testing.assert_allclose(out["stock_change_tc"], np.r_[0, np.cumsum(carbon_tc[1:])])


def test_the_baseline_equals_the_observed_flows_in_the_base_year_and_extends_them() -> None:
    basis = one_commune()
    out = zone_trajectories(basis, Levers()).set_index("year")
    observed = (2 * -10 + 1 * 10) * CO2 - 2 * 10 * 0.1 + 200 * CO2 + 50
    np.testing.assert_allclose(out["flow_tco2e_per_yr"], [observed] * 4)
    np.testing.assert_allclose(out["forest_area_ha"], 100.0)


def test_slow_changes_are_spread_over_20_years_immediate_ones_counted_at_once() -> None:
    areas = np.zeros((2, 30))
    areas[:, 5] = 20.0  # 20 ha changed in year 5
    spread_ha = spread(areas, np.array([True, False]))
    np.testing.assert_allclose(
        spread_ha[0], np.where((np.arange(30) >= 5) & (np.arange(30) < 25), 1.0, 0.0)
    )
    np.testing.assert_allclose(spread_ha[1], areas[1])


def test_zan_halving_arithmetic() -> None:
    years = np.arange(2021, 2052)
    zan = LandTake(halving_every_years=10, zero_from=2050)
    factor = land_take_factor(years, 2021, Levers(land_take=zan), 40.0)
    # 2022-2031: half the observed 40 ha/yr (20), 2032-2041: a quarter (10), 2042-2049: 5,
    # 2050 on: none
    rates = dict(zip(years, 40 * factor, strict=True))
    assert rates[2021] == 40
    assert rates[2022] == rates[2031] == 20
    assert rates[2032] == rates[2041] == 10
    assert rates[2042] == rates[2049] == 5
    assert rates[2050] == rates[2051] == 0
    rate = land_take_factor(years, 2021, Levers(land_take=LandTake(ha_per_yr=30.0)), 40.0)
    assert (rate[1:] == 0.75).all() and rate[0] == 1.0
    with pytest.raises(ValueError, match="needs land take in the observed changes"):
        land_take_factor(years, 2021, Levers(land_take=LandTake(ha_per_yr=30.0)), 0.0)


def test_target_gap_per_level() -> None:
    per_code = zone_trajectories(one_commune(), Levers())
    grouped = group_trajectories(per_code, pd.Series({"c1": "e1"}), "terr")
    assert set(grouped["level"]) == {"territory", "epci"}
    targets = [Target("territory", "terr", 2022, 1000.0), Target("epci", "e1", 2023, 500.0)]
    out = target_gaps(grouped, targets, "terr").set_index(["level", "code", "year"])
    flow = out.loc[("territory", "terr", 2022), "flow_tco2e_per_yr"]
    assert out.loc[("territory", "terr", 2022), "gap_tco2e_per_yr"] == pytest.approx(flow - 1000)
    assert out.loc[("epci", "e1", 2023), "target_tco2e_per_yr"] == 500
    assert out["target_tco2e_per_yr"].notna().sum() == 2  # empty elsewhere, never 0
    with pytest.raises(ValueError, match="no EPCI 'e9'"):
        target_gaps(grouped, [Target("epci", "e9", 2022, 1.0)], "terr")


BASE = {
    "name": "t",
    "communes": {"path": "data/communes.gpkg"},
    "landcover": {"path": "data/lc.tif"},
    "flows": {"start_year": 2012, "end_year": 2018, "landcover_before": "data/lc12.tif"},
}


@pytest.mark.parametrize(
    ("scenarios", "message"),
    [
        (
            {"list": [{"name": "a", "afforestation": 3}]},
            r"unknown key 'scenarios.list\[0\].afforestation'",
        ),
        ({"list": [{"name": "a", "artificialisation": {}}]}, "give either ha_per_yr"),
        ({"list": [{"name": "a"}, {"name": "a"}]}, r"names \['a'\] are used more than once"),
        ({"list": [{"name": "baseline"}]}, "not 'baseline'"),
        ({"list": []}, "scenarios.list"),
        ({"horizon": 2015, "list": [{"name": "a"}]}, "base_year 2018 must be at or after"),
        (
            {"targets": [{"year": 2060, "sequestration_tco2e_per_yr": 1}], "list": [{"name": "a"}]},
            r"years \[2060\] are outside 2019-2050",
        ),
        (
            {
                "targets": [{"year": 2030, "sequestration_tco2e_per_yr": 1, "level": "epci"}],
                "list": [{"name": "a"}],
            },
            "give code",
        ),
        (
            {"list": [{"name": "a", "practices": [{"practice": "moreTrees", "ha": {2030: 1}}]}]},
            "practice",
        ),
        (
            {"list": [{"name": "a", "practices": [{"practice": "catchCrops", "ha": {2015: 1}}]}]},
            r"years \[2015\] are not after base_year 2018",
        ),
        ({"list": [{"name": "a", "afforestation_ha_per_yr": -1}]}, "afforestation_ha_per_yr"),
    ],
)
def test_config_errors_are_named(tmp_path: Path, scenarios: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_pipeline(tmp_path / "t.yaml", {**BASE, "scenarios": scenarios}))


def test_scenarios_need_figures_per_commune(tmp_path: Path) -> None:
    data = {k: v for k, v in BASE.items() if k != "landcover"}
    data["areas"] = {"path": "a.csv", "level": "epci", "code_field": "siren", "year": 2018}
    data["flows"] = {"start_year": 2012, "end_year": 2018, "change_table": {"path": "c.csv"}}
    with pytest.raises(ConfigError, match="scenarios need figures per commune"):
        load_config(
            write_pipeline(tmp_path / "t.yaml", {**data, "scenarios": {"list": [{"name": "a"}]}})
        )


def test_scenarios_need_flows(tmp_path: Path) -> None:
    data = {k: v for k, v in BASE.items() if k != "flows"}
    with pytest.raises(ConfigError, match="scenarios need flows"):
        load_config(
            write_pipeline(tmp_path / "t.yaml", {**data, "scenarios": {"list": [{"name": "a"}]}})
        )


def test_lot_scenarios_pipeline_shares_the_lot_inputs() -> None:
    lot = yaml.safe_load((REPO / "pipelines" / "lot.yaml").read_text())
    scen = yaml.safe_load((REPO / "pipelines" / "lot_scenarios.yaml").read_text())
    own = {"name", "description", "output_dir", "scenarios"}
    assert scen["carbon"].pop("uncertainty") == {"draws": 1000, "seed": 20261202}
    assert {k: v for k, v in scen.items() if k not in own} == {
        k: v for k, v in lot.items() if k not in own
    }
    assert "scenarios" in scen and load_config(REPO / "pipelines" / "lot_scenarios.yaml").scenarios


@pytest.fixture(scope="module")
def lot_scenarios_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped ``pipelines/lot_scenarios.yaml`` on the shared data: the output folder."""
    from tests.conftest import SHARED, run_shared_pipeline

    return run_shared_pipeline(
        REPO / "pipelines" / "lot_scenarios.yaml",
        tmp_path_factory.mktemp("lot_scenarios") / "out",
        SHARED / "lot" / "clc2018_100m.tif",
    )


@pytest.mark.slow
def test_lot_with_scenarios_end_to_end(lot_scenarios_out: Path) -> None:
    import pyogrio

    table = pd.read_csv(lot_scenarios_out / "scenarios.csv", dtype={"code": str})
    assert set(table["scenario"]) == {"baseline", "zan", "zan_boisement_haies", "recolte_plus_20"}
    territory = table[table["level"] == "territory"].set_index(["scenario", "year"])
    # every trajectory starts from the observed flows (the Lot's reference figure)
    for scenario in set(table["scenario"]):
        assert territory.loc[(scenario, 2018), "flow_tco2e_per_yr"] == pytest.approx(
            979_759.373, abs=1e-3
        )
        assert territory.loc[(scenario, 2018), "stock_change_tc"] == 0
    assert territory.loc[("zan", 2050), "land_take_ha_per_yr"] == 0
    assert (
        territory.loc[("zan", 2030), "flow_tco2e_per_yr"]
        > territory.loc[("baseline", 2030), "flow_tco2e_per_yr"]
    )
    assert (
        territory.loc[("recolte_plus_20", 2030), "flow_tco2e_per_yr"]
        < territory.loc[("baseline", 2030), "flow_tco2e_per_yr"]
    )
    # the EPCIs sum to the territory every year
    epci = table[table["level"] == "epci"].groupby(["scenario", "year"])["flow_tco2e_per_yr"].sum()
    np.testing.assert_allclose(epci.sort_index(), territory["flow_tco2e_per_yr"].sort_index())
    gaps = table.dropna(subset=["target_tco2e_per_yr"])
    assert len(gaps) == 2 * 4 and set(gaps["year"]) == {2030, 2050}
    np.testing.assert_allclose(
        gaps["gap_tco2e_per_yr"], gaps["flow_tco2e_per_yr"] - gaps["target_tco2e_per_yr"]
    )
    assert "scenarios" in pyogrio.list_layers(lot_scenarios_out / "geocarbon.gpkg")[:, 0]
    report = (lot_scenarios_out / "report.html").read_text(encoding="utf-8")
    assert "id='scenarios'" in report and "ZAN : artificialisation" in report


def test_demo_gains_a_scenario_with_targets(demo_out: Path) -> None:
    table = pd.read_csv(demo_out / "scenarios.csv", dtype={"code": str})
    assert set(table["scenario"]) == {"baseline", "zan_boisement_haies"}
    territory = table[table["level"] == "territory"].set_index(["scenario", "year"])
    # the demo's net flow (sequestration.csv, hedge flow included) in the base year; wood
    # products not computed (generic set)
    seq = pd.read_csv(demo_out / "sequestration.csv")
    observed = float(seq.loc[seq["level"] == "territory", "total"].iloc[0])
    assert territory.loc[("baseline", 2018), "flow_tco2e_per_yr"] == pytest.approx(
        observed, abs=1e-6
    )
    assert territory["flow_wood_products_tco2e_per_yr"].isna().all()
    assert (
        territory.loc[("zan_boisement_haies", 2050), "flow_tco2e_per_yr"]
        > territory.loc[("baseline", 2050), "flow_tco2e_per_yr"]
    )
    # ranges with the demo's carbon.uncertainty, around the central trajectory
    assert (territory["flow_tco2e_per_yr_p5"] < territory["flow_tco2e_per_yr"]).all()
    assert (territory["flow_tco2e_per_yr_p95"] > territory["flow_tco2e_per_yr"]).all()
    report = (demo_out / "report.html").read_text(encoding="utf-8")
    assert "id='scenarios'" in report and "Écart aux objectifs" in report
    assert "P5-P95" in report


def test_other_observed_flows_are_extended_at_their_value() -> None:
    other = pd.DataFrame(
        {"code": ["c1"], "pcaet_category": ["agricultural_soils"], "flow_tco2e_per_yr": [-7.0]}
    )
    basis = dataclasses.replace(one_commune(), extended=other)
    out = zone_trajectories(basis, Levers()).set_index("year")
    plain = zone_trajectories(one_commune(), Levers()).set_index("year")
    np.testing.assert_allclose(
        out["flow_agricultural_soils_tco2e_per_yr"],
        plain["flow_agricultural_soils_tco2e_per_yr"] - 7,
    )
    np.testing.assert_allclose(out["flow_tco2e_per_yr"], plain["flow_tco2e_per_yr"] - 7)


def test_practices_and_hedges_by_hand() -> None:
    # catch crops (0.24 tC/ha/yr for 20 years) on 200 ha by 2022, linear from 0 in 2020:
    # 100 ha adopted in 2021 and 100 in 2022; hedges at 50 tC/km in c1, 3 km/yr
    basis = dataclasses.replace(
        one_commune(),
        practice_rates={"catchCrops": (("cropland",), 0.24)},
        hedge_tc_per_km=pd.Series({"c1": 50.0}),
    )
    levers = Levers(practices=(("catchCrops", {2022: 200.0}),), hedge_planting_km_per_yr=3.0)
    out = zone_trajectories(basis, levers).set_index("year")
    plain = zone_trajectories(one_commune(), Levers()).set_index("year")
    gained = (
        out["flow_agricultural_soils_tco2e_per_yr"] - plain["flow_agricultural_soils_tco2e_per_yr"]
    )
    # practices: 2021: 100 ha x 0.24 = 24 tC; 2022 and 2023: 200 ha x 0.24 = 48 tC
    # hedges: n cohorts x 3 km x 50 tC/km / 20 = 7.5 n tC
    np.testing.assert_allclose(gained, np.array([0, 24 + 7.5, 48 + 15, 48 + 22.5]) * CO2)
    with pytest.raises(ValueError, match="no rate for the practice 'grassyStrips'"):
        zone_trajectories(basis, Levers(practices=(("grassyStrips", {2022: 1.0}),)))


def test_ranges_bracket_the_central_trajectory_and_are_shared_by_scenarios() -> None:
    basis = one_commune()
    keys, values = trajectory_rows(basis, LEVERS)
    members = {("territory", "terr"): np.ones(len(keys), dtype=bool)}
    after = basis.years >= basis.base_year
    args = (keys, values[:, after], basis.years[after], members)
    central = zone_trajectories(basis, LEVERS)["flow_tco2e_per_yr"].to_numpy()
    # no spread: every percentile is the central figure
    flat = flow_ranges(*args, {}, {}, 200, 7)
    for suffix in ("p5", "p50", "p95"):
        np.testing.assert_allclose(flat[f"flow_tco2e_per_yr_{suffix}"], central)
    spread = flow_ranges(*args, {"soil": 0.2, "forest_growth": 0.15}, {}, 500, 7)
    assert (spread["flow_tco2e_per_yr_p5"] < central).all()
    assert (spread["flow_tco2e_per_yr_p95"] > central).all()
    # the same seed gives the same ranges; a group draws the same factors whatever the others
    again = flow_ranges(*args, {"soil": 0.2, "forest_growth": 0.15}, {}, 500, 7)
    pd.testing.assert_frame_equal(spread, again)
    one = group_factors(np.array(["soil|cropland|"]), np.array([0.2]), 50, 7)
    two = group_factors(
        np.array(["forest_growth|x|", "soil|cropland|"]), np.array([0.1, 0.2]), 50, 7
    )
    np.testing.assert_array_equal(one[:, 0], two[:, 1])


def test_deforestation_by_hand() -> None:
    # 2 ha/yr of broadleaf forest cleared to grassland from 2021: soil −15 tC/ha over 20
    # years, litter −9 tC/ha and live + dead biomass −100 tC/ha at once
    cleared = pd.DataFrame(
        {
            "code": ["c1"] * 3,
            "from_category": ["forest_broadleaf"] * 3,
            "to_category": ["grassland_herbaceous"] * 3,
            "pool": ["soil", "litter", "forest_biomass"],
            "unit_tc_per_ha": [-15.0, -9.0, -100.0],
            "pcaet_category": ["agricultural_soils"] * 3,
        }
    )
    basis = dataclasses.replace(one_commune(), new_units=cleared)
    out = zone_trajectories(basis, Levers(deforestation_ha_per_yr=2.0)).set_index("year")
    plain = zone_trajectories(one_commune(), Levers()).set_index("year")
    agri = (
        out["flow_agricultural_soils_tco2e_per_yr"] - plain["flow_agricultural_soils_tco2e_per_yr"]
    )
    # year with n cohorts: soil n × 2 × −15 / 20, litter 2 × −9, biomass 2 × −100 [tC];
    # N2O 0.1 tCO2e per tC of soil and litter lost
    expected = [0.0] + [
        (n * 2 * -15 / 20 + 2 * -9 + 2 * -100) * CO2 + 0.1 * (n * 2 * -15 / 20 + 2 * -9)
        for n in (1, 2, 3)
    ]
    np.testing.assert_allclose(agri, expected)
    # the cleared area leaves the growing forest: 98, 96, 94 ha at 2 tC/ha/yr
    np.testing.assert_allclose(out["forest_area_ha"], [100, 98, 96, 94])
    np.testing.assert_allclose(
        out["flow_forest_tco2e_per_yr"], np.array([100, 98, 96, 94]) * 2 * CO2
    )


def test_wood_products_by_consumption_are_extended_as_observed() -> None:
    """By harvest the engine models wood products from each year's harvest; by consumption
    they follow the population, so the observed flow is kept (extended), never re-modelled."""
    from geocarbon.capabilities.carbon_scenarios import extended_flows

    flows = pd.DataFrame(
        {
            "commune_code": ["c1", "c1", "c1"],
            "flow_kind": ["wood_products", "forest_growth", "hedges"],
            "pcaet_category": ["wood_products", "forest", "agricultural_soils"],
            "flow_tco2e_per_yr": [12.5, 100.0, -3.0],
        }
    )
    by_harvest = extended_flows(flows, "harvest").set_index("pcaet_category")
    assert list(by_harvest.index) == ["agricultural_soils"]
    by_consumption = extended_flows(flows, "consumption").set_index("pcaet_category")
    assert by_consumption["flow_tco2e_per_yr"].to_dict() == {
        "agricultural_soils": -3.0,
        "wood_products": 12.5,
    }
