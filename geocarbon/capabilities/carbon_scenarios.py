"""Scenarios to the horizon as a capability of a run: yearly flows and stock changes per EPCI
and territory, for the observed trend (baseline) and each scenario of ``scenarios``, from
the carbon step's flows and unit changes (:mod:`geocarbon.carbon.scenarios`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from geocarbon.capabilities import Capability
from geocarbon.spec import LayerSpec, declared_outputs

if TYPE_CHECKING:
    from geocarbon.capabilities.carbon_step import CarbonResults
    from geocarbon.carbon.flows import FlowUnits
    from geocarbon.carbon.scenarios import Levers, ScenarioBasis
    from geocarbon.config import PipelineConfig, ScenarioConfig
    from geocarbon.io.deferred import DeferredFiles
    from geocarbon.state import Inputs, Progress, Results, Timer

#: Columns of ``scenarios.csv`` before the quantities.
KEY_COLUMNS = ["scenario", "scenario_label", "level", "code", "name", "year"]
BASELINE = "baseline"


@dataclass
class ScenarioResults:
    """Trajectories of every scenario (``baseline`` first), one row per scenario, level,
    code and year (:data:`KEY_COLUMNS`, quantities, target and gap)."""

    table: pd.DataFrame
    base_year: int


def scenario_results(results: Results) -> ScenarioResults:
    """What the scenarios capability computed."""
    computed = results.parts["scenarios"]
    assert isinstance(computed, ScenarioResults)
    return computed


def _forest_rows(cfg: PipelineConfig, units: FlowUnits, land_ha: pd.DataFrame) -> pd.DataFrame:
    """Forest types per code with their base-year area [ha], growth, harvest [tC/ha/yr] and
    wood products per ha at harvest factor 1 [tCO2e/ha/yr]."""
    from geocarbon.carbon.flows import wood_products_flows

    assert cfg.flows is not None
    table = units.growth.table
    codes = set(land_ha["code"])
    table = table[table["commune_code"].isin(codes)].drop_duplicates(["commune_code", "category"])
    forest = table.rename(columns={"commune_code": "code"}).merge(
        land_ha, on=["code", "category"], how="left"
    )
    forest["area_ha"] = forest["area_ha"].fillna(0.0)
    if not cfg.flows.forest_growth:
        forest["net_tc_per_ha_yr"] = 0.0
        forest["harvest_tc_per_ha_yr"] = 0.0
    wood = np.zeros(len(forest))
    if cfg.flows.wood_products == "harvest" and units.shares is not None:
        one_ha = table[["commune_code", "category"]].assign(area_ha=1.0)
        wood = wood_products_flows(one_ha, units.growth, units.shares, 1.0)[
            "flow_tco2e_per_yr"
        ].to_numpy()
    forest["wood_tco2e_per_ha_yr"] = np.nan_to_num(wood)
    columns = [
        "code",
        "category",
        "area_ha",
        "net_tc_per_ha_yr",
        "harvest_tc_per_ha_yr",
        "wood_tco2e_per_ha_yr",
    ]
    return forest[columns].reset_index(drop=True)


def _new_units(units: FlowUnits, codes: np.ndarray) -> pd.DataFrame:
    """Unit changes [tC/ha] per code and pool of the transitions the levers make."""
    from geocarbon.carbon.categories import FOREST_CATEGORIES
    from geocarbon.carbon.flows import pcaet_category, transition_units
    from geocarbon.carbon.scenarios import CLEARED_TO, NEW_FOREST, OPEN_LAND

    luc = units.luc
    forest = luc.forest_biomass.set_index(["commune_code", "category"])["live_dead_tc_per_ha"]
    other = luc.nonforest_biomass.set_index(["commune_code", "category"])["stock_tc_per_ha"]
    pairs = [(o, NEW_FOREST) for o in OPEN_LAND] + [(f, CLEARED_TO) for f in FOREST_CATEGORIES]
    parts = []
    for origin, final in pairs:
        for pool, unit in transition_units(luc, codes, origin, final, forest, other).items():
            parts.append(
                pd.DataFrame(
                    {
                        "code": codes,
                        "from_category": origin,
                        "to_category": final,
                        "pool": pool,
                        "unit_tc_per_ha": unit,
                        "pcaet_category": pcaet_category(final),
                    }
                )
            )
    out = pd.concat(parts, ignore_index=True)
    return out[out["unit_tc_per_ha"].notna() & (out["unit_tc_per_ha"] != 0)].reset_index(drop=True)


def scenario_basis(cfg: PipelineConfig, carbon: CarbonResults, units: FlowUnits) -> ScenarioBasis:
    """What the trajectories start from, from the carbon step's results.

    Raises
    ------
    InputError
        Figures per EPCI (an EPCI-level area table): scenarios need them per commune.
    """
    from geocarbon.carbon.scenarios import ScenarioBasis, n2o_tco2e_per_tc
    from geocarbon.errors import InputError

    assert cfg.flows is not None and cfg.scenarios is not None and carbon.flows is not None
    if carbon.level != "commune":
        msg = (
            "scenarios need figures per commune (a land-cover raster or an area table per "
            "commune); this run computes them per EPCI: remove the scenarios section"
        )
        raise InputError(msg)
    stocks = carbon.carbon_stocks.drop_duplicates(["commune_code", "category"])
    land_ha = stocks.rename(columns={"commune_code": "code"})[["code", "category", "area_ha"]]
    luc = carbon.flows[carbon.flows["flow_kind"] == "landuse_change"].rename(
        columns={"commune_code": "code"}
    )
    columns = [
        "code",
        "from_category",
        "to_category",
        "pool",
        "area_ha_per_yr",
        "unit_tc_per_ha",
        "pcaet_category",
    ]
    return ScenarioBasis(
        luc=luc[columns].reset_index(drop=True),
        new_units=_new_units(units, np.array(sorted(set(land_ha["code"])), dtype=object)),
        forest=_forest_rows(cfg, units, land_ha),
        land_ha=land_ha.reset_index(drop=True),
        harvest_factor=cfg.flows.harvest_factor,
        n2o_tco2e_per_tc=n2o_tco2e_per_tc(
            cfg.flows.n2o_gwp, aldo_published=cfg.flows.aldo_published
        ),
        base_year=cfg.scenarios.base_year or cfg.flows.end_year,
        horizon=cfg.scenarios.horizon,
        extended=extended_flows(carbon.flows, cfg.flows.wood_products),
        hedge_tc_per_km=hedge_carbon(carbon, land_ha["code"]),
        practice_rates=practice_rates(),
    )


def hedge_carbon(carbon: CarbonResults, codes: pd.Series) -> pd.Series:
    """Carbon per km of hedge [tC/km] per commune: the département's value of the run's hedges
    (``carbon.hedges``), else ALDO's default (:func:`geocarbon.carbon.hedges.carbon_per_km`)."""
    from geocarbon.carbon.hedges import carbon_per_km
    from geocarbon.territory import departement_of

    if carbon.hedges is not None:
        per_km = carbon.hedges.per_km
    else:
        unique = pd.Series(sorted(set(codes.astype(str))))
        per_km = carbon_per_km(unique, departement_of(unique), None)
    return per_km.set_index("commune_code")["c_tot_tc_per_km"]


def practice_rates() -> dict[str, tuple[tuple[str, ...], float]]:
    """ALDO's practices: the categories each applies to and its soil + biomass rate
    [tC/ha/yr] (:func:`geocarbon.carbon.practices.practice_potential` on one hectare)."""
    from geocarbon.carbon.practices import APPLIES_TO, CO2_PER_C, practice_potential
    from geocarbon.io.coefficients import read_practice_rates

    rates = read_practice_rates()
    one_ha = pd.DataFrame({"practice": rates["id"], "area_ha": 1.0})
    per_ha = practice_potential(one_ha, rates)
    return {
        str(p): (APPLIES_TO[str(a)], float(f) / CO2_PER_C)
        for p, a, f in zip(
            per_ha["practice"], per_ha["applies_to"], per_ha["flow_tco2e_per_yr"], strict=True
        )
    }


#: Flow kinds the scenario engine computes itself; the others are extended as observed.
#: Wood products are modelled with the harvest approach only: by consumption they follow the
#: population, not the forest, and are extended as observed.
MODELLED_KINDS = ("landuse_change", "n2o", "forest_growth", "wood_products")


def extended_flows(flows: pd.DataFrame, wood_products: str = "harvest") -> pd.DataFrame:
    """Observed flows of other kinds than :data:`MODELLED_KINDS` [tCO2e/yr] per commune and
    PCAET category, which trajectories keep at their observed value (wood products too
    unless ``wood_products`` is ``'harvest'``)."""
    modelled = [k for k in MODELLED_KINDS if k != "wood_products" or wood_products == "harvest"]
    other = flows[~flows["flow_kind"].isin(modelled)]
    summed = other.groupby(["commune_code", "pcaet_category"])["flow_tco2e_per_yr"].sum()
    return summed.reset_index().rename(columns={"commune_code": "code"})


def wood_products_computed(cfg: PipelineConfig, units: FlowUnits | None) -> bool:
    """Whether the run computes the wood-products flow: by consumption, or by harvest with
    the regional lumber and industry-wood shares (ALDO's tables)."""
    if cfg.flows is None:
        return False
    approach = cfg.flows.wood_products
    return approach == "consumption" or (
        approach == "harvest" and units is not None and units.shares is not None
    )


def compute_scenarios(cfg: PipelineConfig, inputs: Inputs, results: Results) -> ScenarioResults:
    """Trajectories of the baseline and of each scenario per EPCI and territory, with the
    gaps to the targets."""
    from geocarbon.capabilities.carbon_step import carbon_inputs, carbon_results
    from geocarbon.carbon.scenarios import (
        Levers,
        Target,
        group_trajectories,
        per_code,
        target_gaps,
        trajectory_rows,
    )
    from geocarbon.errors import InputError
    from geocarbon.io.text_tables import text_table

    assert cfg.scenarios is not None
    units = carbon_inputs(inputs).flow_units
    assert units is not None
    basis = scenario_basis(cfg, carbon_results(results), units)
    communes = results.communes
    epci_of = (
        communes.set_index("commune_code")["epci_code"]
        if "epci_code" in communes
        else pd.Series(dtype=object)
    )
    names = _names(cfg, communes)
    baseline = text_table("report")["scenario_baseline"][0 if cfg.report.language == "fr" else 1]
    runs = [(BASELINE, baseline, Levers())]
    runs += [(s.name, s.label or s.name, levers_of(s)) for s in cfg.scenarios.list]
    targets = [
        Target(t.level, t.code or cfg.name, t.year, t.sequestration_tco2e_per_yr)
        for t in cfg.scenarios.targets
    ]
    parts = []
    try:
        for name, label, levers in runs:
            keys, values = trajectory_rows(basis, levers)
            per = per_code(keys, values, basis.years, basis.base_year)
            grouped = group_trajectories(per, epci_of, cfg.name)
            grouped = target_gaps(grouped, targets, cfg.name)
            if cfg.carbon.uncertainty is not None:
                grouped = with_ranges(
                    cfg, carbon_results(results), basis, keys, values, grouped, epci_of
                )
            grouped.insert(0, "scenario_label", label)
            grouped.insert(0, "scenario", name)
            parts.append(grouped)
    except ValueError as err:
        raise InputError(str(err)) from err
    table = pd.concat(parts, ignore_index=True)
    if not wood_products_computed(cfg, units):
        # not computed (as in the flows): empty, not 0; the net flow sums the other categories
        table["flow_wood_products_tco2e_per_yr"] = np.nan
    table.insert(4, "name", table["code"].map(names).fillna(""))
    return ScenarioResults(table=table, base_year=basis.base_year)


def with_ranges(
    cfg: PipelineConfig,
    carbon: CarbonResults,
    basis: ScenarioBasis,
    keys: pd.DataFrame,
    values: np.ndarray,
    grouped: pd.DataFrame,
    epci_of: pd.Series,
) -> pd.DataFrame:
    """``grouped`` with P5/P50/P95 of the net flow (``carbon.uncertainty``: its draws, seed
    and coefficient spreads; land-cover areas and the transition period keep their central
    values)."""
    from geocarbon.carbon.scenarios import flow_ranges

    unc = cfg.carbon.uncertainty
    assert unc is not None
    codes = keys["code"].astype(str)
    members = {("territory", cfg.name): np.ones(len(keys), dtype=bool)}
    epci = codes.map(epci_of.astype(str)).fillna("").to_numpy()
    members.update({("epci", e): epci == e for e in sorted(set(epci) - {""})})
    spreads = {
        "soil": unc.soil_stock_cv,
        "forest_biomass": unc.forest_biomass_cv,
        "forest_growth": unc.forest_growth_cv,
        "nonforest_biomass": unc.nonforest_biomass_cv,
    }
    where = {
        "soil": carbon.zpc,
        "forest_biomass": carbon.region,
        "forest_growth": carbon.region,
        "nonforest_biomass": carbon.region,
    }
    locations = {k: v for k, v in where.items() if v is not None}
    after = basis.years >= basis.base_year
    ranges = flow_ranges(
        keys, values[:, after], basis.years[after], members, spreads, locations, unc.draws, unc.seed
    )
    return grouped.merge(ranges, on=["level", "code", "year"], how="left")


def levers_of(scenario: ScenarioConfig) -> Levers:
    """The engine's levers of a scenario of the pipeline."""
    from geocarbon.carbon.scenarios import LandTake, Levers

    art = scenario.artificialisation
    land_take = (
        None if art is None else LandTake(art.ha_per_yr, art.halving_every_years, art.zero_from)
    )
    return Levers(
        name=scenario.name,
        land_take=land_take,
        afforestation_ha_per_yr=scenario.afforestation_ha_per_yr,
        deforestation_ha_per_yr=scenario.deforestation_ha_per_yr,
        hedge_planting_km_per_yr=scenario.hedge_planting_km_per_yr,
        practices=tuple((p.practice, dict(p.ha)) for p in scenario.practices),
        harvest_factor=scenario.harvest_factor,
    )


def _names(cfg: PipelineConfig, communes: pd.DataFrame) -> dict[str, str]:
    """Name of the territory (its code is the run's name) and of each EPCI."""
    from geocarbon.labels import label

    names = {cfg.name: label("territory", cfg.report.language)}
    if "epci_name" in communes and "epci_code" in communes:
        pairs = communes[["epci_code", "epci_name"]].dropna().drop_duplicates("epci_code")
        names.update({str(c): str(n) for c, n in pairs.itertuples(index=False)})
    return names


class ScenariosCapability(Capability):
    """Yearly trajectories of carbon flows and stocks to a horizon, per EPCI and territory:
    the observed trend and the pipeline's scenarios, against the plan's targets."""

    name: ClassVar[str] = "scenarios"
    writing: ClassVar[str] = "writing scenario trajectories"
    outputs: ClassVar[tuple[LayerSpec, ...]] = declared_outputs("scenarios")

    def enabled(self, cfg: PipelineConfig) -> bool:
        return cfg.scenarios is not None and cfg.flows is not None and cfg.land_source is not None

    def compute(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, timer: Timer,
        progress: Progress | None,
    ) -> None:  # fmt: skip
        with timer.step("scenarios"):
            results.parts[self.name] = compute_scenarios(cfg, inputs, results)

    def computed(self, results: Results) -> bool:
        return self.name in results.parts

    def layers(self, results: Results, communes: pd.DataFrame, crs: Any) -> dict[str, pd.DataFrame]:
        return {"scenarios": scenario_results(results).table}

    def write_files(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, communes: pd.DataFrame,
        folder: Path, later: DeferredFiles,
    ) -> None:  # fmt: skip
        from geocarbon.io.writers import write_csv

        write_csv(folder / "scenarios.csv", scenario_results(results).table)

    def report_sections(self, report: Any) -> None:
        import importlib

        # imported when a report is written: the charts' libraries load only then
        importlib.import_module("geocarbon.capabilities.scenarios_report").scenarios_section(report)

    def run_totals(self, results: Results) -> dict[str, Any]:
        table = scenario_results(results).table
        last = table[(table["level"] == "territory") & (table["year"] == table["year"].max())]
        return {
            f"scenario_{s}_flow_tco2e_per_yr": round(float(v), 3)
            for s, v in zip(last["scenario"], last["flow_tco2e_per_yr"], strict=True)
        }
