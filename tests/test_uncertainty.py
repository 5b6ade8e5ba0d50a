"""Monte-Carlo ranges of the carbon figures (``carbon.uncertainty``): hand-computed cases,
reproducibility, EPCI ranges from summed draws, and the draws on a dask cluster."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import yaml
from pydantic import ValidationError

from geocarbon.capabilities.carbon_uncertainty import (
    Levels,
    UncertaintyResults,
    ranges_table,
    sequestration_ranges,
)
from geocarbon.carbon.uncertainty import (
    DRAWS_PER_TASK,
    build_model,
    chunk_sizes,
    draw_chunk,
    percentiles,
    run_draws,
)
from geocarbon.config import CarbonConfig, UncertaintyConfig
from tests.conftest import REPO, SHARED, run_shared_pipeline, write_pipeline

#: Every spread zero: every draw is the deterministic figure.
NO_SPREAD = {
    "soil_stock_cv": 0.0,
    "forest_biomass_cv": 0.0,
    "forest_growth_cv": 0.0,
    "nonforest_biomass_cv": 0.0,
    "landcover_area_cv": 0.0,
    "transition_years": (20.0, 20.0),
}


def spreads(**changes: object) -> UncertaintyConfig:
    return UncertaintyConfig.model_validate({**NO_SPREAD, **changes})


def stock_rows(rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    """(zone, category, pool, area [ha], stock [tC]) rows as the carbon step gives them."""
    return pd.DataFrame(rows, columns=["commune_code", "category", "pool", "area_ha", "stock_tc"])


def flow_rows(rows: list[tuple[str, str, str, str, str, float, str]]) -> pd.DataFrame:
    """(zone, kind, pool, from, to, flow [tCO2e/yr], PCAET category) rows."""
    frame = pd.DataFrame(
        rows,
        columns=[
            "zone_code",
            "flow_kind",
            "pool",
            "from_category",
            "to_category",
            "flow_tco2e_per_yr",
            "pcaet_category",
        ],
    )
    frame.insert(1, "commune_code", frame["zone_code"])
    return frame


#: Two communes (one EPCI) with cropland and broadleaf forest; areas and stocks in binary
#: fractions so that every sum is exact.
STOCKS = stock_rows(
    [
        ("001", "cropland", "soil", 10.0, 500.0),
        ("001", "forest_broadleaf", "soil", 30.0, 2400.0),
        ("001", "forest_broadleaf", "live_biomass", 30.0, 3000.0),
        ("002", "cropland", "soil", 4.0, 200.0),
        ("002", "forest_broadleaf", "live_biomass", 8.0, 800.0),
    ]
)
FLOWS = flow_rows(
    [
        ("001", "landuse_change", "soil", "cropland", "grassland_herbaceous", 100.0, "agricultural_soils"),
        ("001", "forest_growth", "forest_biomass", "forest_broadleaf", "forest_broadleaf", 64.0, "forest"),
        ("002", "n2o", "n2o", "grassland_herbaceous", "cropland", -2.5, "agricultural_soils"),
    ]
)  # fmt: skip


def test_zero_spreads_give_the_deterministic_figures_exactly() -> None:
    model = build_model(STOCKS, FLOWS, ["001", "002"], spreads())
    draws = run_draws(model, 250, seed=7)
    stock = percentiles(draws.stock_tc)
    flow = percentiles(draws.flow_tco2e_per_yr.sum(axis=1))
    # 500 + 2400 + 3000 and 200 + 800 tC; 100 + 64 and -2.5 tCO2e/yr
    assert (stock == np.array([5900.0, 1000.0])).all()
    assert (flow == np.array([164.0, -2.5])).all()
    forest = percentiles(draws.flow_tco2e_per_yr[:, 0, :])
    assert (forest == np.array([64.0, 0.0])).all()


def test_a_uniform_transition_period_gives_the_analytic_quantiles() -> None:
    """Only the 20-year soil flow is uncertain: flow = 100 × D / 20, D uniform on [15, 30],
    so the flow is uniform on [75, 150]: its p-quantile is 75 + 75 p. The tolerance is 4
    standard errors of an empirical quantile, √(p(1 − p)/n) / density, the density being
    1/75."""
    flows = flow_rows(
        [("001", "landuse_change", "soil", "cropland", "grassland_herbaceous", 100.0, "agricultural_soils")]
    )  # fmt: skip
    model = build_model(STOCKS.iloc[:1], flows, ["001"], spreads(transition_years=(15.0, 30.0)))
    n = 4000
    draws = run_draws(model, n, seed=20261202).flow_tco2e_per_yr.sum(axis=1)[:, 0]
    for p, got in zip((0.05, 0.5, 0.95), percentiles(draws), strict=True):
        expected = 75.0 + 75.0 * p
        density = 1.0 / 75.0
        tolerance = 4.0 * np.sqrt(p * (1.0 - p) / n) / density
        assert abs(got - expected) <= tolerance, (p, got, expected, tolerance)
    assert draws.min() >= 75.0 and draws.max() <= 150.0


def test_area_errors_keep_each_commune_total_area() -> None:
    """Two categories at the same stock per hectare: moving area between them leaves the
    commune's stock unchanged in every draw, while the cropland stock alone moves."""
    stocks = stock_rows(
        [("001", "cropland", "soil", 10.0, 500.0), ("001", "grassland_herbaceous", "soil", 30.0, 1500.0)]
    )  # fmt: skip
    model = build_model(stocks, None, ["001"], spreads(landcover_area_cv=0.3))
    draws = run_draws(model, 500, seed=1)
    np.testing.assert_allclose(draws.stock_tc[:, 0], 2000.0, rtol=1e-12)
    cropland = draws.category_stock_tc[:, model.categories.index("cropland")]
    assert cropland.std() > 10.0


def test_draws_are_reproducible_and_seeds_differ() -> None:
    model = build_model(STOCKS, FLOWS, ["001", "002"], UncertaintyConfig())
    first = run_draws(model, 250, seed=5)
    again = run_draws(model, 250, seed=5)
    other = run_draws(model, 250, seed=6)
    assert np.array_equal(first.stock_tc, again.stock_tc)
    assert np.array_equal(first.flow_tco2e_per_yr, again.flow_tco2e_per_yr)
    assert not np.array_equal(first.stock_tc, other.stock_tc)


def test_chunks_are_seeded_by_their_index() -> None:
    assert chunk_sizes(250) == [DRAWS_PER_TASK, DRAWS_PER_TASK, 50]
    model = build_model(STOCKS, FLOWS, ["001", "002"], UncertaintyConfig())
    whole = run_draws(model, 250, seed=5)
    third = draw_chunk(model, 5, 2, 50)
    assert np.array_equal(whole.stock_tc[200:], third.stock_tc)
    assert np.array_equal(whole.flow_tco2e_per_yr[200:], third.flow_tco2e_per_yr)


def _zones() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "stock_tc": [5900.0, 1000.0, np.nan],
            "flow_tco2e_per_yr": [164.0, -2.5, np.nan],
            "flow_forest_tco2e_per_yr": [64.0, 0.0, np.nan],
            "flow_agricultural_soils_tco2e_per_yr": [100.0, -2.5, np.nan],
            "carbon_complete": [True, True, False],
            "epci_code": ["200000001", "200000001", "200000001"],
        },
        index=pd.Index(["001", "002", "003"]),
    )


def test_epci_ranges_are_percentiles_of_the_summed_draws() -> None:
    zones = _zones()
    config = UncertaintyConfig(draws=500, seed=3)
    model = build_model(STOCKS, FLOWS, zones.index, config)
    draws = run_draws(model, config.draws, config.seed)
    table = ranges_table(zones, draws, config, "commune").set_index(["level", "code", "quantity"])
    summed = draws.stock_tc[:, 0] + draws.stock_tc[:, 1]
    epci = table.loc[("epci", "200000001", "stock_tc")]
    assert np.array_equal(epci[["p5", "p50", "p95"]].to_numpy(float), percentiles(summed))
    territory = table.loc[("territory", "territory", "stock_tc")]
    assert np.array_equal(territory[["p5", "p50", "p95"]].to_numpy(float), percentiles(summed))
    communes_p95 = (
        table.loc[("commune", "001", "stock_tc"), "p95"]
        + table.loc[("commune", "002", "stock_tc"), "p95"]
    )
    assert epci["p95"] < communes_p95  # not the sum of the communes' P95
    # a commune without data has no range (empty, not 0)
    assert np.isnan(table.loc[("commune", "003", "stock_tc"), "p5"])
    # wood products not computed: no range for them
    assert "flow_wood_products_tco2e_per_yr" not in set(table.index.get_level_values(2))


def test_each_epci_sums_its_communes_with_data_and_the_territory_all() -> None:
    zones = pd.DataFrame(
        {
            "carbon_complete": [True, True, False, True],
            "epci_code": ["200000002", "200000001", "200000002", None],
        },
        index=pd.Index(["A", "B", "C", "D"]),
    )
    values = np.random.default_rng(0).normal(100.0, 10.0, size=(300, 4))
    levels = Levels.of(zones, "commune")
    assert levels.epci_codes == ["200000001", "200000002"]
    ranges = levels.ranges(values)
    assert np.isnan(ranges[:, 2]).all()  # C: no data
    assert np.array_equal(ranges[:, 0], percentiles(values[:, 0]))
    assert np.array_equal(ranges[:, 4], percentiles(values[:, 1]))  # EPCI ...001: B
    assert np.array_equal(ranges[:, 5], percentiles(values[:, 0]))  # EPCI ...002: A, not C
    territory = percentiles(values[:, [0, 1, 3]].sum(axis=1))  # D has no EPCI
    assert np.array_equal(ranges[:, 6], territory)


def test_sequestration_rows_get_their_ranges() -> None:
    zones = _zones()
    config = UncertaintyConfig(draws=200)
    draws = run_draws(build_model(STOCKS, FLOWS, zones.index, config), 200, config.seed)
    computed = UncertaintyResults(config, ranges_table(zones, draws, config, "commune"), "commune")
    seq = pd.DataFrame(
        {
            "level": ["commune", "commune", "commune", "epci", "territory"],
            "code": ["001", "002", "003", "200000001", "territory"],
            "forest": [64.0, 0.0, np.nan, 64.0, 64.0],
            "agricultural_soils": [100.0, -2.5, np.nan, 97.5, 97.5],
            "other_soils": [0.0, 0.0, np.nan, 0.0, 0.0],
            "wood_products": [np.nan] * 5,
            "total": [164.0, -2.5, np.nan, 161.5, 161.5],
        }
    )
    out = sequestration_ranges(seq, computed)
    assert (out["total_p5"].iloc[[0, 1, 3]] <= out["total_p50"].iloc[[0, 1, 3]]).all()
    assert (out["total_p50"].iloc[[0, 1, 3]] <= out["total_p95"].iloc[[0, 1, 3]]).all()
    assert out.loc[2, ["total_p5", "total_p50", "total_p95"]].isna().all()
    assert out["wood_products_p95"].isna().all()
    assert out.loc[3, "total_p50"] == out.loc[4, "total_p50"]


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"draws": 0}, "draws"),
        ({"soil_stock_cv": -0.1}, "soil_stock_cv"),
        ({"transition_years": [30, 15]}, "[min, max]"),
        ({"landcover_area_cv_by_category": {"forests": 0.1}}, "unknown categories"),
        ({"spread": 0.1}, "spread"),
    ],
)
def test_bad_uncertainty_settings_are_refused(changes: dict[str, object], needle: str) -> None:
    with pytest.raises(ValidationError, match=needle.replace("[", r"\[")):
        CarbonConfig.model_validate({"uncertainty": changes})


def test_uncertainty_is_off_by_default() -> None:
    assert CarbonConfig().uncertainty is None


def test_draws_on_two_worker_processes_are_the_same_bits() -> None:
    distributed = pytest.importorskip("distributed")
    from geocarbon.distributed import draw_runner

    model = build_model(STOCKS, FLOWS, ["001", "002"], UncertaintyConfig())
    here = run_draws(model, 450, seed=11)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
        ) as cluster,
        draw_runner(cluster.scheduler_address) as runner,
    ):
        there = run_draws(model, 450, seed=11, runner=runner)
    assert here.stock_tc.tobytes() == there.stock_tc.tobytes()
    assert here.flow_tco2e_per_yr.tobytes() == there.flow_tco2e_per_yr.tobytes()
    assert here.category_stock_tc.tobytes() == there.category_stock_tc.tobytes()


# --- the demo and the Lot -------------------------------------------------------------------

FIGURES = ("forest", "agricultural_soils", "other_soils", "wood_products", "total")


def _check_ranges(out: Path, draws: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What every run with ranges writes: ranges around the central figures in
    ``sequestration.csv`` and the ``carbon_uncertainty`` table; both returned."""
    seq = pd.read_csv(out / "sequestration.csv", dtype={"code": str})
    for figure in FIGURES:
        known = seq[figure].notna()
        assert (seq.loc[~known, [f"{figure}_p5", f"{figure}_p95"]].isna()).all().all()
        low, mid, high = (seq.loc[known, f"{figure}_{p}"] for p in ("p5", "p50", "p95"))
        assert (low <= mid).all() and (mid <= high).all()
    table = pyogrio.read_dataframe(out / "geocarbon.gpkg", layer="carbon_uncertainty")
    assert (table["draws"] == draws).all()
    territory = table[(table["level"] == "territory")].set_index("quantity")
    total = seq[seq["level"] == "territory"].iloc[0]
    assert territory.loc["flow_tco2e_per_yr", "p95"] == total["total_p95"]
    assert territory.loc["stock_tc", "p5"] < territory.loc["stock_tc", "p95"]
    return seq, table


def test_the_demo_shows_its_ranges(demo_out: Path) -> None:
    seq, table = _check_ranges(demo_out, 1000)
    assert set(table["level"]) == {"commune", "epci", "territory"}
    territory = seq[seq["level"] == "territory"].iloc[0]
    assert territory["total_p5"] < territory["total"] < territory["total_p95"]
    # the central figure unchanged: 69,967 tCO2e/yr before the hedges, plus the hedge flow
    flows = pyogrio.read_dataframe(demo_out / "geocarbon.gpkg", layer="carbon_flows")
    hedge_flow = flows.loc[flows["flow_kind"] == "hedges", "flow_tco2e_per_yr"].sum()
    assert hedge_flow < 0
    assert territory["total"] - hedge_flow == pytest.approx(69_967, abs=0.5)
    communes = pyogrio.read_dataframe(demo_out / "geocarbon.gpkg", layer="communes")
    assert (communes["stock_tc_p5"] < communes["stock_tc"]).all()
    assert (communes["stock_tc"] < communes["stock_tc_p95"]).all()
    stock = table[(table["level"] == "territory") & (table["quantity"] == "stock_tc")].iloc[0]
    assert stock["p5"] < communes["stock_tc"].sum() < stock["p95"]
    page = (demo_out / "report.html").read_text(encoding="utf-8")
    assert "Fiabilité des chiffres" in page and "P5–P95" in page
    assert "de 15 à 30 ans" in page  # the spreads are listed with their source


@pytest.fixture(scope="module")
def lot_uncertainty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pipelines/lot_uncertainty.yaml`` (1,000 draws) on the shared data."""
    return run_shared_pipeline(
        REPO / "pipelines" / "lot_uncertainty.yaml",
        tmp_path_factory.mktemp("lot_uncertainty") / "out",
        SHARED / "lot" / "clc2018_100m.tif",
    )


@pytest.mark.slow
def test_the_lot_with_1000_draws(lot_uncertainty: Path) -> None:
    seq, table = _check_ranges(lot_uncertainty, 1000)
    assert set(table["level"]) == {"commune", "epci", "territory"}
    territory = seq[seq["level"] == "territory"].iloc[0]
    # the reference figures stay the central ones
    assert territory["total"] == pytest.approx(979_759.373, abs=1e-3)
    communes = pyogrio.read_dataframe(lot_uncertainty / "geocarbon.gpkg", layer="communes")
    assert communes["stock_tc"].sum() == pytest.approx(57_385_417, abs=0.5)
    assert territory["total_p5"] < territory["total"] < territory["total_p95"]
    # ALDO's groups: a soil factor per category and pedoclimatic zone, so the EPCI ranges
    # are narrower, relative to their figure, than those of their communes on average
    epci = seq[seq["level"] == "epci"].set_index("code")
    width = (epci["total_p95"] - epci["total_p5"]) / epci["total"].abs()
    commune_rows = seq[seq["level"] == "commune"]
    commune_width = (commune_rows["total_p95"] - commune_rows["total_p5"]) / commune_rows[
        "total"
    ].abs().where(commune_rows["total"].abs() > 100)
    assert width.median() < commune_width.median()
    assert len(table[table["level"] == "commune"]["code"].unique()) == 320


@pytest.mark.slow
def test_an_epci_level_run_gets_its_ranges(tmp_path: Path) -> None:
    """The Lot from ADEME's areas per EPCI: the ranges are per EPCI (the zones of the run),
    in the ``epci`` layer and the EPCI rows of ``sequestration.csv``."""
    data = yaml.safe_load((REPO / "pipelines" / "lot_uncertainty.yaml").read_text("utf-8"))
    del data["landcover"]
    data["areas"] = {
        "path": str(SHARED / "aldo" / "clc18_area_ha_by_epci.csv"),
        "level": "epci",
        "code_field": "siren",
    }
    data["carbon"]["uncertainty"]["draws"] = 200
    # the data paths are ${GEOCARBON_DATA}/...: the pipeline may sit anywhere
    pipeline = write_pipeline(tmp_path / "lot_epci.yaml", data)
    out = run_shared_pipeline(pipeline, tmp_path / "out", SHARED / "aldo" / "zpc.csv")
    _, table = _check_ranges(out, 200)
    assert set(table["level"]) == {"epci", "territory"}
    epci = pyogrio.read_dataframe(out / "geocarbon.gpkg", layer="epci", read_geometry=False)
    has = epci["carbon_complete"].astype(bool)
    assert (epci.loc[has, "stock_tc_p5"] < epci.loc[has, "stock_tc"]).all()
    assert (epci.loc[has, "stock_tc"] < epci.loc[has, "stock_tc_p95"]).all()
    assert epci.loc[~has, "stock_tc_p50"].isna().all()


def test_wood_products_by_consumption_keep_their_value_by_harvest_they_move() -> None:
    """Wood products by consumption (one row per product) follow the population and the
    national sink, whose spread is not modelled: every draw keeps their value; by harvest
    (one row per forest type) they move with the forest growth of that type."""
    flows = flow_rows(
        [("001", "wood_products", "wood_products", "lumber", "lumber", 40.0, "wood_products"),
         ("001", "wood_products", "wood_products", "industry_wood", "industry_wood", 24.0, "wood_products"),
         ("002", "wood_products", "wood_products", "forest_broadleaf", "forest_broadleaf", 16.0, "wood_products")]
    )  # fmt: skip
    model = build_model(STOCKS, flows, ["001", "002"], spreads(forest_growth_cv=0.3))
    draws = run_draws(model, 200, seed=7).flow_tco2e_per_yr.sum(axis=1)
    assert (draws[:, 0] == 64.0).all()
    assert draws[:, 1].std() > 0
