"""Scenarios to a horizon year: yearly flows [tCO2e/yr] and stock changes [tC] per zone.

A trajectory starts from the observed flows of the change period (ALDO's method, see
:mod:`geocarbon.carbon.flows`) and keeps their kinetics with a cohort bookkeeping: every
transition made in year t contributes

* its *immediate* unit change (to artificial land, to or from wetlands, litter, biomass
  losses, deforestation) in year t;
* its *slow* unit change (soil transitions between cropland, grassland, forest, orchards,
  vineyards and from artificial land; non-forest biomass gains; hedges; practices) spread
  evenly over years t..t+19 (unit / 20 each year).

ALDO's annual flow (area per year × whole unit change) is the steady state of this
bookkeeping: the years before the base year are taken to have had the observed yearly areas,
so the baseline equals the observed flows in the base year. After the base year the
**baseline** keeps the observed yearly areas (land take, deforestation...), the forest area
follows the observed forest gains and losses, and a **scenario** changes:

* the land take (every change from non-artificial to artificial land scaled by one factor:
  same origins and communes as observed);
* afforestation (broadleaf forest on cropland and herbaceous grassland, spread over communes
  and origins as their areas; soil and litter gains as ALDO's units, biomass through the
  forest growth of the new forest area from the year of planting);
* deforestation (forest to herbaceous grassland, spread as forest areas per commune and
  type: live + dead biomass and litter lost at once, soil loss over 20 years);
* hedges planted (km/yr × tC/km, a biomass gain spread over 20 years);
* agricultural practices (area adopted by year × ALDO's rates for 20 years from adoption);
* the harvest factor on standing forest (forest growth and wood products).

Every computation is vectorised over rows (commune × transition × pool) and years.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geocarbon.carbon.categories import AGRICULTURAL_CATEGORIES, ARTIFICIAL, FOREST_CATEGORIES
from geocarbon.carbon.flows import C_TO_CO2, FLUX_ID, PCAET_CATEGORIES, aldo_soil_years
from geocarbon.carbon.hedges import DEFAULT_C_TOT_KM

#: Years over which slow changes are spread (ALDO: 20).
SLOW_YEARS = 20
#: Land a lever plants on: afforestation and hedges (cropland and herbaceous grassland).
OPEN_LAND = ("cropland", "grassland_herbaceous")
#: The forest type of new forests.
NEW_FOREST = "forest_broadleaf"
#: What cleared forest becomes.
CLEARED_TO = "grassland_herbaceous"
#: Quantity columns of a trajectory, in order.
QUANTITIES = [
    *(f"flow_{c}_tco2e_per_yr" for c in PCAET_CATEGORIES),
    "flow_tco2e_per_yr",
    "stock_change_tc",
    "land_take_ha_per_yr",
    "forest_area_ha",
]


def n2o_tco2e_per_tc(gwp: float, *, aldo_published: bool = False) -> float:
    """N2O [tCO2e] per tC of soil and litter carbon lost (as :func:`flows.n2o_flows`)."""
    direct = 44.0 / 25.0 if aldo_published else 44.0 / 28.0
    return (0.01 * direct + 0.3 * 0.0075 * 44.0 / 28.0) / 15.0 * gwp


@dataclass(frozen=True)
class LandTake:
    """Land take of a scenario: ``ha_per_yr`` over the territory (None: the observed rate),
    halved every ``halving_every_years`` (None: never), 0 from ``zero_from`` (None: never)."""

    ha_per_yr: float | None = None
    halving_every_years: int | None = None
    zero_from: int | None = None


@dataclass(frozen=True)
class Levers:
    """What a scenario changes after the base year (the defaults: the baseline).

    Attributes
    ----------
    name : str
        For messages.
    land_take : LandTake or None
        None: the observed land take goes on.
    afforestation_ha_per_yr, deforestation_ha_per_yr : float
        [ha/yr] on top of the observed changes.
    hedge_planting_km_per_yr : float
        [km/yr].
    practices : tuple of (str, dict)
        ALDO practice id and area under it by year [ha].
    harvest_factor : float or None
        None: the observed flows' factor.
    """

    name: str = "baseline"
    land_take: LandTake | None = None
    afforestation_ha_per_yr: float = 0.0
    deforestation_ha_per_yr: float = 0.0
    hedge_planting_km_per_yr: float = 0.0
    practices: tuple[tuple[str, dict[int, float]], ...] = ()
    harvest_factor: float | None = None


@dataclass(frozen=True)
class Target:
    """A sequestration target [tCO2e/yr] of ``level`` (``territory``, ``epci``) and
    ``code`` in ``year``."""

    level: str
    code: str
    year: int
    tco2e_per_yr: float


@dataclass(frozen=True)
class ScenarioBasis:
    """What trajectories start from, per zone (commune) code.

    Attributes
    ----------
    luc : DataFrame
        Observed land-use change: ``code``, ``from_category``, ``to_category``, ``pool``,
        ``area_ha_per_yr`` [ha/yr], ``unit_tc_per_ha`` [tC/ha], ``pcaet_category``.
    new_units : DataFrame
        Unit changes of the transitions levers make (afforestation, deforestation):
        ``code``, ``from_category``, ``to_category``, ``pool``, ``unit_tc_per_ha``,
        ``pcaet_category``.
    forest : DataFrame
        Per code and forest type: ``code``, ``category``, ``area_ha`` [ha] at the base year
        (0 where none), ``net_tc_per_ha_yr`` (growth at harvest factor 1),
        ``harvest_tc_per_ha_yr``, ``wood_tco2e_per_ha_yr`` (wood products per ha at factor 1).
    land_ha : DataFrame
        ``code``, ``category``, ``area_ha`` [ha]: where levers are spread.
    harvest_factor : float
        The harvest factor of the observed flows.
    n2o_tco2e_per_tc : float
        N2O per tC of soil and litter lost (:func:`n2o_tco2e_per_tc`).
    base_year, horizon : int
        Last observed year, last year of the trajectories.
    extended : DataFrame or None
        Other observed flows, kept at their yearly value every year: ``code``,
        ``pcaet_category``, ``flow_tco2e_per_yr`` (e.g. the flow of a hedge length change).
    hedge_tc_per_km : Series or None
        Carbon per km of hedge [tC/km] per code (None: ALDO's default, 101 tC/km).
    practice_rates : dict
        Practice id → (categories it applies to, soil + biomass rate [tC/ha/yr]).
    """

    luc: pd.DataFrame
    new_units: pd.DataFrame
    forest: pd.DataFrame
    land_ha: pd.DataFrame
    harvest_factor: float
    n2o_tco2e_per_tc: float
    base_year: int
    horizon: int
    extended: pd.DataFrame | None = None
    hedge_tc_per_km: pd.Series | None = None
    practice_rates: dict[str, tuple[tuple[str, ...], float]] = field(default_factory=dict)

    @property
    def years(self) -> np.ndarray:
        """Years of the bookkeeping: the 19 years before the base year, then to the horizon."""
        return np.arange(self.base_year - SLOW_YEARS + 1, self.horizon + 1)


def is_slow(
    pool: pd.Series, from_category: pd.Series, to_category: pd.Series, unit: pd.Series
) -> np.ndarray:
    """Whether each unit change is spread over :data:`SLOW_YEARS` years (module notes)."""
    known = from_category.isin(FLUX_ID) & to_category.isin(FLUX_ID)
    soil_slow = np.array(
        [
            bool(k) and aldo_soil_years(f, t) == SLOW_YEARS
            for k, f, t in zip(known, from_category, to_category, strict=True)
        ],
        dtype=bool,
    )
    return np.where(
        pool.eq("soil").to_numpy(),
        soil_slow,
        pool.isin(["hedge_biomass", "practice"]).to_numpy()
        | (pool.eq("biomass").to_numpy() & (unit.to_numpy() > 0)),
    )


def spread(areas: np.ndarray, slow: np.ndarray) -> np.ndarray:
    """Area [ha] whose unit change counts in each year: the year's area for immediate changes,
    the mean of the last :data:`SLOW_YEARS` years' areas (cohorts) for slow ones.

    Parameters
    ----------
    areas : ndarray
        Areas changed per year [ha/yr], rows × years (the years before the first one are 0).
    slow : ndarray of bool
        Per row.
    """
    total = np.cumsum(areas, axis=-1)
    before = np.zeros_like(total)
    before[..., SLOW_YEARS:] = total[..., :-SLOW_YEARS]
    return np.where(slow[:, None], (total - before) / SLOW_YEARS, areas)


def land_take_factor(
    years: np.ndarray, base_year: int, levers: Levers, observed_ha_per_yr: float
) -> np.ndarray:
    """Land take of each year over the observed one (1 up to the base year).

    ``ha_per_yr`` (or the observed rate), halved every ``halving_every_years``
    (rate × 0.5^ceil((t − base) / n)), 0 from ``zero_from``.

    Raises
    ------
    ValueError
        A rate given when the change period has no land take to take its origins from.
    """
    factor = np.ones(len(years))
    art = levers.land_take
    if art is None:
        return factor
    after = years > base_year
    if art.ha_per_yr is not None:
        if observed_ha_per_yr <= 0:
            msg = (
                f"scenario {levers.name!r}: artificialisation.ha_per_yr needs land take in the "
                "observed changes (their communes and origins); there is none: use from_observed"
            )
            raise ValueError(msg)
        factor[after] = art.ha_per_yr / observed_ha_per_yr
    if art.halving_every_years is not None:
        steps = np.ceil((years - base_year) / art.halving_every_years)
        factor[after] *= 0.5 ** steps[after]
    if art.zero_from is not None:
        factor[after & (years >= art.zero_from)] = 0.0
    return factor


def _shares(land_ha: pd.DataFrame, categories: tuple[str, ...]) -> pd.DataFrame:
    """``code``, ``category``, ``share`` of the territory's area of ``categories``."""
    rows = land_ha[land_ha["category"].isin(categories) & (land_ha["area_ha"] > 0)]
    total = rows["area_ha"].sum()
    share = rows["area_ha"] / total if total > 0 else rows["area_ha"] * 0.0
    return rows[["code", "category"]].assign(share=share.to_numpy()).reset_index(drop=True)


def _code_shares(land_ha: pd.DataFrame, categories: tuple[str, ...]) -> pd.DataFrame:
    """``code``, ``share`` of the territory's area of ``categories`` in each code."""
    return _shares(land_ha, categories).groupby("code", as_index=False).agg(share=("share", "sum"))


def _after(years: np.ndarray, base_year: int, value: float) -> np.ndarray:
    """``value`` every year after the base year, 0 before."""
    return np.where(years > base_year, value, 0.0)


def lever_transitions(basis: ScenarioBasis, levers: Levers) -> tuple[pd.DataFrame, np.ndarray]:
    """Transitions the scenario adds (afforestation, deforestation) and their yearly areas.

    Returns
    -------
    DataFrame
        ``code``, ``from_category``, ``to_category``.
    ndarray
        Areas [ha/yr], transitions × :attr:`ScenarioBasis.years`.
    """
    years = basis.years
    parts, areas = [], []
    for rate_ha_per_yr, land_ha, sources, to_category in (
        (levers.afforestation_ha_per_yr, basis.land_ha, OPEN_LAND, NEW_FOREST),
        (levers.deforestation_ha_per_yr, basis.forest, FOREST_CATEGORIES, CLEARED_TO),
    ):
        if rate_ha_per_yr <= 0:
            continue
        shares = _shares(land_ha, sources)
        parts.append(
            pd.DataFrame(
                {
                    "code": shares["code"],
                    "from_category": shares["category"],
                    "to_category": to_category,
                }
            )
        )
        areas.append(np.outer(shares["share"], _after(years, basis.base_year, rate_ha_per_yr)))
    if not parts:
        return pd.DataFrame(columns=["code", "from_category", "to_category"]), np.zeros(
            (0, len(years))
        )
    return pd.concat(parts, ignore_index=True), np.vstack(areas)


def observed_transitions(basis: ScenarioBasis, levers: Levers) -> tuple[pd.DataFrame, np.ndarray]:
    """The observed transitions and their yearly areas: observed up to the base year, then
    the land take scaled by :func:`land_take_factor`, the other changes as observed."""
    keys = ["code", "from_category", "to_category"]
    trans = basis.luc.groupby(keys, as_index=False, sort=True)["area_ha_per_yr"].max()
    take = (
        trans["to_category"].str.startswith(ARTIFICIAL)
        & ~trans["from_category"].str.startswith(ARTIFICIAL)
    ).to_numpy()
    factor = land_take_factor(
        basis.years, basis.base_year, levers, float(trans.loc[take, "area_ha_per_yr"].sum())
    )
    areas = np.outer(trans["area_ha_per_yr"].to_numpy(), np.ones(len(basis.years)))
    areas[take] *= factor
    return trans[keys].assign(land_take=take), areas


def transition_flows_tc(
    basis: ScenarioBasis, trans: pd.DataFrame, areas: np.ndarray
) -> tuple[pd.DataFrame, np.ndarray]:
    """Flows [tC/yr] per transition, pool and year, and the N2O [tCO2e/yr] of soil and litter
    losses per transition.

    Parameters
    ----------
    trans : DataFrame
        ``code``, ``from_category``, ``to_category`` (observed ones and levers').
    areas : ndarray
        Their yearly areas [ha/yr].

    Returns
    -------
    DataFrame
        One row per transition and pool (``pool``, ``pcaet_category``), N2O rows last
        (``pool`` = ``n2o``).
    ndarray
        Rows × years: carbon flows [tC/yr] of the pools, N2O [tCO2e/yr] of the ``n2o`` rows.
    """
    keys = ["code", "from_category", "to_category"]
    units = pd.concat(
        [basis.luc.drop(columns="area_ha_per_yr"), basis.new_units], ignore_index=True
    ).drop_duplicates([*keys, "pool"])
    index = trans.reset_index(drop=True).reset_index().rename(columns={"index": "row"})
    rows = units.merge(index[[*keys, "row"]], on=keys, how="inner").sort_values(
        ["row", "pool"], kind="stable"
    )
    slow = is_slow(rows["pool"], rows["from_category"], rows["to_category"], rows["unit_tc_per_ha"])
    flows = spread(areas[rows["row"].to_numpy()], slow) * rows["unit_tc_per_ha"].to_numpy()[:, None]
    soil = rows["pool"].isin(["soil", "litter"]).to_numpy()
    lost = pd.DataFrame(flows[soil]).groupby(rows.loc[soil, "row"].to_numpy()).sum()
    n2o = np.minimum(lost.to_numpy(), 0.0) * basis.n2o_tco2e_per_tc
    n2o_rows = index.set_index("row").loc[lost.index, keys].reset_index(drop=True)
    n2o_rows = n2o_rows.assign(
        pool="n2o",
        pcaet_category=rows.drop_duplicates("row")
        .set_index("row")
        .loc[lost.index, "pcaet_category"]
        .to_numpy(),
    )
    out = pd.concat([rows[[*keys, "pool", "pcaet_category"]], n2o_rows], ignore_index=True)
    return out, np.vstack([flows, n2o]) if len(n2o) else flows


def forest_trajectory(
    basis: ScenarioBasis, trans: pd.DataFrame, areas: np.ndarray, harvest_factor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forest area [ha], forest growth and wood products [tCO2e/yr] per forest row and year.

    The area of each forest type follows the transitions after the base year (gains to the
    type, losses from it); growth = area × (net − (factor − 1) × harvest) × 44/12 and wood
    products = area × wood per ha × factor, the factor being the observed one up to the
    base year and ``harvest_factor`` after.
    """
    forest = basis.forest.reset_index(drop=True)
    position = pd.Series(
        np.arange(len(forest)), index=pd.MultiIndex.from_frame(forest[["code", "category"]])
    )
    after = basis.years > basis.base_year
    delta = np.zeros((len(forest), len(basis.years)))
    from_forest = trans["from_category"].isin(FOREST_CATEGORIES).to_numpy()
    to_forest = trans["to_category"].isin(FOREST_CATEGORIES).to_numpy()
    for sign, mask, side in (
        (-1.0, from_forest & ~to_forest, "from_category"),
        (1.0, to_forest & ~from_forest, "to_category"),
    ):
        keys = pd.MultiIndex.from_arrays(
            [trans["code"].to_numpy()[mask], trans[side].to_numpy()[mask]]
        )
        rows = position.reindex(keys).to_numpy()
        known = ~np.isnan(rows)
        np.add.at(delta, rows[known].astype(int), sign * areas[mask][known] * after)
    area = forest["area_ha"].to_numpy()[:, None] + np.cumsum(delta, axis=1)
    factor = np.where(after, harvest_factor, basis.harvest_factor)
    unit = (
        forest["net_tc_per_ha_yr"].to_numpy()[:, None]
        - (factor - 1.0) * forest["harvest_tc_per_ha_yr"].to_numpy()[:, None]
    )
    growth = area * unit * C_TO_CO2
    wood = area * forest["wood_tco2e_per_ha_yr"].to_numpy()[:, None] * factor
    return area, growth, wood


def _adopted_ha(years: np.ndarray, base_year: int, ha_by_year: dict[int, float]) -> np.ndarray:
    """Area under a practice each year [ha]: 0 up to the base year, linear between the given
    years, constant after the last."""
    xp = np.array([base_year, *sorted(ha_by_year)], dtype=float)
    fp = np.array([0.0, *(ha_by_year[y] for y in sorted(ha_by_year))])
    return np.interp(years, xp, fp, left=0.0)


def lever_gains_tc(basis: ScenarioBasis, levers: Levers) -> tuple[pd.Series, np.ndarray]:
    """Hedges and practices: carbon gains [tC/yr] per code (rows) and year, each km planted
    or hectare adopted gaining its carbon over :data:`SLOW_YEARS` years.

    Returns
    -------
    Series
        Code of each row.
    ndarray
        Rows × years [tC/yr].
    """
    years = basis.years
    codes, gains = [], []
    if levers.hedge_planting_km_per_yr > 0:
        shares = _code_shares(basis.land_ha, AGRICULTURAL_CATEGORIES)
        km = np.outer(
            shares["share"], _after(years, basis.base_year, levers.hedge_planting_km_per_yr)
        )
        codes.append(shares["code"])
        per_km = (
            np.full(len(shares), DEFAULT_C_TOT_KM)
            if basis.hedge_tc_per_km is None
            else basis.hedge_tc_per_km.reindex(shares["code"]).fillna(DEFAULT_C_TOT_KM).to_numpy()
        )
        gains.append(spread(km, np.ones(len(km), dtype=bool)) * per_km[:, None])
    for practice, ha_by_year in levers.practices:
        if practice not in basis.practice_rates:
            msg = f"scenario {levers.name!r}: no rate for the practice {practice!r}"
            raise ValueError(msg)
        applies_to, rate = basis.practice_rates[practice]
        shares = _code_shares(basis.land_ha, applies_to)
        adopted = _adopted_ha(years, basis.base_year, ha_by_year)
        new_ha = np.diff(adopted, prepend=0.0)
        ha = np.outer(shares["share"], new_ha)
        codes.append(shares["code"])
        gains.append(spread(ha, np.ones(len(ha), dtype=bool)) * rate * SLOW_YEARS)
    if not codes:
        return pd.Series([], dtype=object), np.zeros((0, len(years)))
    return pd.concat(codes, ignore_index=True), np.vstack(gains)


def _by_code(keys: pd.DataFrame, values: np.ndarray, years: np.ndarray) -> pd.DataFrame:
    """Sum of ``values`` (rows × years) per ``code`` and ``quantity`` of ``keys``, long:
    ``code``, ``quantity``, ``year``, ``value``."""
    frame = pd.DataFrame(values, columns=years)
    frame["code"] = keys["code"].to_numpy()
    frame["quantity"] = keys["quantity"].to_numpy()
    wide = frame.groupby(["code", "quantity"], sort=True).sum()
    return wide.reset_index().melt(
        id_vars=["code", "quantity"], var_name="year", value_name="value"
    )


def trajectory_rows(basis: ScenarioBasis, levers: Levers) -> tuple[pd.DataFrame, np.ndarray]:
    """Every contribution to the trajectories, per row and year (default ``levers``: the
    baseline).

    Returns
    -------
    DataFrame
        ``code``, ``quantity`` (a :data:`QUANTITIES` column it adds to, or
        ``n2o_tco2e_per_yr``), ``family`` (coefficient family of its uncertainty:
        ``soil``, ``forest_biomass``, ``forest_growth``, ``nonforest_biomass`` or
        ``fixed``) and ``category`` (the category whose coefficient it rests on).
    ndarray
        Rows × :attr:`ScenarioBasis.years`.
    """
    years = basis.years
    observed, observed_ha = observed_transitions(basis, levers)
    added, added_ha = lever_transitions(basis, levers)
    trans = pd.concat([observed.drop(columns="land_take"), added], ignore_index=True)
    areas = np.vstack([observed_ha, added_ha])
    rows, luc = transition_flows_tc(basis, trans, areas)
    n2o = rows["pool"].eq("n2o").to_numpy()
    luc_co2 = np.where(n2o[:, None], luc, luc * C_TO_CO2)
    factor = levers.harvest_factor if levers.harvest_factor is not None else basis.harvest_factor
    forest_ha, growth, wood = forest_trajectory(basis, trans, areas, factor)
    gain_codes, gains = lever_gains_tc(basis, levers)
    forest = basis.forest.reset_index(drop=True)
    take = observed["land_take"].to_numpy()
    family, category = _luc_families(rows)
    parts: list[tuple[Any, Any, np.ndarray, Any, Any]] = [
        (
            rows["code"],
            "flow_" + rows["pcaet_category"] + "_tco2e_per_yr",
            luc_co2,
            family,
            category,
        ),
        (rows.loc[n2o, "code"], "n2o_tco2e_per_yr", luc_co2[n2o], "fixed", ""),
        (forest["code"], "flow_forest_tco2e_per_yr", growth, "forest_growth", forest["category"]),
        (
            forest["code"],
            "flow_wood_products_tco2e_per_yr",
            wood,
            "forest_growth",
            forest["category"],
        ),
        (forest["code"], "forest_area_ha", forest_ha, "fixed", ""),
        (gain_codes, "flow_agricultural_soils_tco2e_per_yr", gains * C_TO_CO2, "fixed", ""),
        (observed.loc[take, "code"], "land_take_ha_per_yr", observed_ha[take], "fixed", ""),
    ]
    if basis.extended is not None and len(basis.extended):
        other = basis.extended
        flat = np.outer(other["flow_tco2e_per_yr"].to_numpy(), np.ones(len(years)))
        parts.append(
            (other["code"], "flow_" + other["pcaet_category"] + "_tco2e_per_yr", flat, "fixed", "")
        )
    return _stacked(parts)


def _stacked(parts: list[tuple[Any, Any, np.ndarray, Any, Any]]) -> tuple[pd.DataFrame, np.ndarray]:
    """The parts (codes, quantity, values, family, category) as one key table and one array."""
    keys = pd.concat(
        [
            pd.DataFrame(
                {
                    "code": np.asarray(c, dtype=object),
                    "quantity": q if isinstance(q, str) else np.asarray(q, dtype=object),
                    "family": f,
                    "category": k,
                }
            )
            for c, q, _, f, k in parts
        ],
        ignore_index=True,
    )
    return keys, np.vstack([v for _, _, v, _, _ in parts])


def _luc_families(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient family and category of land-use-change rows: soil, litter and N2O take
    the final category's soil group, deforestation the forest cleared, other biomass the
    final category's."""
    pool = rows["pool"].to_numpy()
    family = np.select(
        [np.isin(pool, ["soil", "litter", "n2o"]), pool == "forest_biomass", pool == "biomass"],
        ["soil", "forest_biomass", "nonforest_biomass"],
        "fixed",
    )
    category = np.where(family == "forest_biomass", rows["from_category"], rows["to_category"])
    return family, category


def zone_trajectories(basis: ScenarioBasis, levers: Levers) -> pd.DataFrame:
    """Yearly figures per code, from the base year to the horizon (default ``levers``: the
    baseline).

    Returns
    -------
    DataFrame
        ``code``, ``year`` and :data:`QUANTITIES`: flows per PCAET category and total
        [tCO2e/yr] (positive = sequestration), the stock change since the base year [tC]
        (carbon flows, N2O excluded), the land take [ha/yr] and the forest area [ha].
    """
    keys, values = trajectory_rows(basis, levers)
    return per_code(keys, values, basis.years, basis.base_year)


def per_code(
    keys: pd.DataFrame, values: np.ndarray, years: np.ndarray, base_year: int
) -> pd.DataFrame:
    """The rows of :func:`trajectory_rows` summed per code and year, with totals."""
    long = _by_code(keys, values, years)
    wide = long.pivot_table(
        index=["code", "year"], columns="quantity", values="value", aggfunc="sum", fill_value=0.0
    )
    return with_totals(wide.reset_index(), base_year)


def with_totals(frame: pd.DataFrame, base_year: int) -> pd.DataFrame:
    """Add the total flow [tCO2e/yr] and the stock change since ``base_year`` [tC] to figures
    per ``code`` and ``year``; keep the years from ``base_year`` on."""
    frame.columns.name = None
    for column in [*QUANTITIES, "n2o_tco2e_per_yr"]:
        if column not in frame.columns:
            frame[column] = 0.0
    categories = [f"flow_{c}_tco2e_per_yr" for c in PCAET_CATEGORIES]
    frame["flow_tco2e_per_yr"] = frame[categories].sum(axis=1)
    frame = frame[frame["year"] >= base_year].sort_values(["code", "year"]).reset_index(drop=True)
    carbon_tc = (frame["flow_tco2e_per_yr"] - frame["n2o_tco2e_per_yr"]) / C_TO_CO2
    carbon_tc = carbon_tc.where(frame["year"] > base_year, 0.0)
    frame["stock_change_tc"] = carbon_tc.groupby(frame["code"]).cumsum()
    return frame[["code", "year", *QUANTITIES]]


def group_trajectories(
    per_code: pd.DataFrame, epci_of: pd.Series, territory_code: str
) -> pd.DataFrame:
    """Sum per-code trajectories per EPCI and over the territory.

    Parameters
    ----------
    per_code : DataFrame
        Output of :func:`zone_trajectories`.
    epci_of : Series
        EPCI code per code (empty: the code is not in an EPCI).
    territory_code : str
        Code of the territory rows.

    Returns
    -------
    DataFrame
        ``level`` (``territory``, ``epci``), ``code``, ``year``, :data:`QUANTITIES`.
    """
    epci = per_code.assign(code=per_code["code"].map(epci_of).fillna("").astype(str))
    epci = epci[epci["code"] != ""]
    parts = [
        per_code.drop(columns="code")
        .groupby("year", as_index=False)
        .sum()
        .assign(level="territory", code=territory_code),
        epci.groupby(["code", "year"], as_index=False).sum().assign(level="epci"),
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[["level", "code", "year", *QUANTITIES]]


def target_gaps(
    trajectories: pd.DataFrame, targets: list[Target], territory_code: str
) -> pd.DataFrame:
    """``trajectories`` with ``target_tco2e_per_yr`` and ``gap_tco2e_per_yr`` (flow − target:
    negative = short of the target) on the rows of each target's level, code and year,
    empty elsewhere.

    Raises
    ------
    ValueError
        A target for an EPCI the trajectories do not hold.
    """
    out = trajectories.assign(target_tco2e_per_yr=np.nan)
    for target in targets:
        code = territory_code if target.level == "territory" else target.code
        rows = (out["level"] == target.level) & (out["code"] == code) & (out["year"] == target.year)
        if not rows.any():
            known = sorted(set(out.loc[out["level"] == "epci", "code"]))[:10]
            msg = f"scenarios.targets: no EPCI {code!r} in the run (EPCIs: {known})"
            raise ValueError(msg)
        out.loc[rows, "target_tco2e_per_yr"] = target.tco2e_per_yr
    out["gap_tco2e_per_yr"] = out["flow_tco2e_per_yr"] - out["target_tco2e_per_yr"]
    return out


#: Percentiles of the ranges [%] and the suffixes of their columns.
RANGE_PERCENTILES = (5.0, 50.0, 95.0)
RANGE_SUFFIXES = ("p5", "p50", "p95")


def group_factors(keys: np.ndarray, cv: np.ndarray, draws: int, seed: int) -> np.ndarray:
    """Random factor of each coefficient group per draw, (draws, groups): 1 + cv × N(0, 1),
    cut at 0. Each group draws from its own stream, seeded by ``seed`` and the group's key,
    so a group has the same factors in every scenario (the scenarios differ by their levers,
    not by their luck)."""
    out = np.ones((draws, len(keys)))
    for k, (key, spread) in enumerate(zip(keys, cv, strict=True)):
        if spread > 0:
            rng = np.random.default_rng([seed, zlib.crc32(str(key).encode("utf-8"))])
            out[:, k] = np.maximum(1.0 + spread * rng.standard_normal(draws), 0.0)
    return out


def flow_ranges(
    keys: pd.DataFrame,
    values: np.ndarray,
    years: np.ndarray,
    members: dict[tuple[str, str], np.ndarray],
    spreads: dict[str, float],
    locations: dict[str, pd.Series],
    draws: int,
    seed: int,
) -> pd.DataFrame:
    """P5, P50, P95 of the net flow [tCO2e/yr] per group of codes and year, over Monte-Carlo
    draws of the coefficient groups.

    Parameters
    ----------
    keys, values : DataFrame, ndarray
        Output of :func:`trajectory_rows` (the years of ``years``).
    members : dict
        (level, code) of each output group → boolean mask of the codes it sums
        (over ``keys["code"]`` rows).
    spreads : dict
        Family → coefficient of variation (families absent: no spread).
    locations : dict
        Family → location (pedoclimatic zone, region) per code: a group is
        family × category × location.
    draws, seed : int
        Number of draws, seed.

    Returns
    -------
    DataFrame
        ``level``, ``code``, ``year``, ``flow_tco2e_per_yr_p5`` / ``_p50`` / ``_p95``.
    """
    flows = keys["quantity"].astype(str).str.startswith("flow_").to_numpy()
    rows, data = keys[flows].reset_index(drop=True), values[flows]
    where = pd.Series("", index=rows.index, dtype=object)
    for family, location in locations.items():
        mine = rows["family"] == family
        where[mine] = rows.loc[mine, "code"].map(location.astype(str)).fillna("")
    group = (rows["family"] + "|" + rows["category"].astype(str) + "|" + where).to_numpy()
    unique, index = np.unique(group, return_inverse=True)
    cv = np.array([spreads.get(str(g).split("|", 1)[0], 0.0) for g in unique])
    factors = group_factors(unique, cv, draws, seed)
    parts = []
    for (level, code), mask in members.items():
        kept = mask[flows]
        # the rows of one coefficient group share their factor: sum them first
        per_group = np.zeros((len(unique), data.shape[1]))
        np.add.at(per_group, index[kept], data[kept])
        sums = factors @ per_group
        p = np.percentile(sums, RANGE_PERCENTILES, axis=0)
        frame = pd.DataFrame({"level": level, "code": code, "year": years})
        for suffix, values_p in zip(RANGE_SUFFIXES, p, strict=True):
            frame[f"flow_tco2e_per_yr_{suffix}"] = values_p
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)
