"""Monte-Carlo ranges of the carbon stocks [tC] and flows [tCO2e/yr].

Each uncertain coefficient is a random factor, drawn per draw and per coefficient group,
that multiplies the deterministic figures it enters:

* **soil (and litter) reference stocks**, one factor per (category, pedoclimatic zone), a
  normal factor ``1 + soil_stock_cv × N(0, 1)`` (cut at 0); the soil and litter unit
  changes of land-use change and their N2O take the factor of the final category's group;
* **forest live biomass and dead wood**, one factor per (forest type, region), the biomass
  lost by deforestation taking the factor of the forest cleared;
* **forest net growth** per (forest type, region), also scaling the wood-products sink
  (whose harvest figures come from the same inventory table);
* **biomass outside forests** per (category, region);
* **land-cover areas**, one factor per category, after which the areas of each zone are
  rescaled to the zone's total (an error of the map moves area between categories, it does
  not create any): area'(z, c) = area(z, c) × a(c) × Σ area(z, ·) / Σ area(z, ·) × a(·);
  they enter the stocks and the forest flows (areas at the end date), not the changed areas;
* **kinetics**: the soil transition period D is uniform on ``transition_years`` per draw;
  ALDO's slow transitions apply a measured yearly rate (``flux-zpc.csv``, tC/ha/yr) for
  20 years, and a yearly flow counts the rate × 20 per hectare changed; with the rate kept
  and the period D uncertain, the soil and litter flows (and their N2O) of those 20-year
  transitions scale by D / 20.

A figure whose coefficient has no modelled spread keeps its deterministic value in every
draw. The draws are computed in chunks of :data:`DRAWS_PER_TASK`, chunk ``i`` drawing from
``SeedSequence(seed, spawn_key=(i,))`` (the ``i``-th child ``SeedSequence(seed).spawn``
gives), so the draws are the same whether the chunks run here or as tasks on a cluster,
in any order: every array of a chunk is a product and a sum over rows in a fixed order,
never over draws of other chunks. Everything is vectorised over draws and rows; no loop
over zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from geocarbon.carbon.categories import FOREST_CATEGORIES
from geocarbon.carbon.flows import FLUX_ID, PCAET_CATEGORIES, aldo_soil_years

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

#: Draws per chunk (per task on a cluster).
DRAWS_PER_TASK = 100
#: Percentiles given for every figure [%].
PERCENTILES = (5.0, 50.0, 95.0)
#: Suffixes of the percentile columns, in the order of :data:`PERCENTILES`.
SUFFIXES = ("p5", "p50", "p95")
#: ALDO's soil transition period [years].
ALDO_TRANSITION_YEARS = 20.0
#: Coefficient families: pipeline key of their coefficient of variation.
FAMILIES = {
    "soil": "soil_stock_cv",
    "forest_biomass": "forest_biomass_cv",
    "forest_growth": "forest_growth_cv",
    "nonforest_biomass": "nonforest_biomass_cv",
}
#: The group of figures without spread (factor 1 in every draw).
FIXED = "fixed"


class Spreads(Protocol):
    """The spreads of the draws (``carbon.uncertainty`` of a pipeline): coefficients of
    variation of each family (:data:`FAMILIES`) and of the areas, transition period
    [years]."""

    @property
    def soil_stock_cv(self) -> float: ...
    @property
    def forest_biomass_cv(self) -> float: ...
    @property
    def forest_growth_cv(self) -> float: ...
    @property
    def nonforest_biomass_cv(self) -> float: ...
    @property
    def landcover_area_cv(self) -> float: ...
    @property
    def landcover_area_cv_by_category(self) -> Mapping[str, float]: ...
    @property
    def transition_years(self) -> tuple[float, float]: ...


@dataclass(frozen=True)
class DrawModel:
    """The deterministic contributions of a run and the groups of their factors, as arrays
    (what every chunk of draws needs; sent once to each worker on a cluster).

    Rows of each kind are sorted by zone (``*_zone`` ascending).
    """

    zones: int
    """Number of zones [zones]."""
    group_cv: np.ndarray
    """Coefficient of variation of each coefficient group (0 for :data:`FIXED`)."""
    categories: tuple[str, ...]
    """The categories of the area rows."""
    area_cv: np.ndarray
    """Coefficient of variation of each category's area."""
    area_zone: np.ndarray
    """Zone of each (zone, category) area row."""
    area_category: np.ndarray
    """Category (index into :attr:`area_cv`) of each area row."""
    area_ha: np.ndarray
    """Area [ha] of each area row."""
    stock_tc: np.ndarray
    """Deterministic stock [tC] of each (zone, category, pool) row."""
    stock_group: np.ndarray
    """Coefficient group of each stock row."""
    stock_area: np.ndarray
    """Area row of each stock row."""
    stock_zone: np.ndarray
    """Zone of each stock row."""
    flow_tco2e_per_yr: np.ndarray
    """Deterministic flow [tCO2e/yr] of each flow row (NaN read as 0)."""
    flow_group: np.ndarray
    """Coefficient group of each flow row."""
    flow_area: np.ndarray
    """Area row of each flow row (-1: the flow does not scale with an area at the end date)."""
    flow_kinetic: np.ndarray
    """Whether the flow row scales by D / 20 (soil and litter of 20-year transitions)."""
    flow_zone: np.ndarray
    """Zone of each flow row."""
    flow_category: np.ndarray
    """PCAET category (index into :data:`PCAET_CATEGORIES`) of each flow row."""
    transition_years: tuple[float, float]
    """[min, max] of the soil transition period [years]."""


@dataclass(frozen=True)
class DrawChunk:
    """The figures of one chunk of draws."""

    stock_tc: np.ndarray
    """Stock [tC] per draw and zone, shape (draws, zones)."""
    flow_tco2e_per_yr: np.ndarray
    """Flow [tCO2e/yr] per draw, PCAET category and zone, shape (draws, 4, zones)."""
    category_stock_tc: np.ndarray
    """Stock [tC] per draw and category over every zone, shape (draws, categories)."""


def _location(zones: np.ndarray, where: pd.Series | None) -> np.ndarray:
    """The location (pedoclimatic zone, region) of each zone code, ``""`` where unknown."""
    if where is None:
        return np.full(len(zones), "", dtype=object)
    return pd.Series(zones).map(where.astype(str)).fillna("").to_numpy(dtype=object)


def _stock_family(category: pd.Series, pool: pd.Series) -> np.ndarray:
    """Coefficient family of each stock row."""
    forest = category.isin(FOREST_CATEGORIES).to_numpy()
    soil = pool.isin(["soil", "litter"]).to_numpy()
    return np.where(soil, "soil", np.where(forest, "forest_biomass", "nonforest_biomass"))


def _flow_family(flows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Coefficient family and the category whose group applies, for each flow row."""
    kind, pool = flows["flow_kind"].to_numpy(), flows["pool"].to_numpy()
    to_cat = flows["to_category"].astype(str).to_numpy()
    from_cat = flows["from_category"].astype(str).to_numpy()
    soil = (kind == "landuse_change") & np.isin(pool, ["soil", "litter"]) | (kind == "n2o")
    family = np.full(len(flows), FIXED, dtype=object)
    family[soil] = "soil"
    family[(kind == "landuse_change") & (pool == "forest_biomass")] = "forest_biomass"
    family[(kind == "landuse_change") & (pool == "biomass")] = "nonforest_biomass"
    family[np.isin(kind, ["forest_growth", "wood_products"])] = "forest_growth"
    # wood products by consumption (rows per product, not per forest type) follow the
    # population and the national sink, whose spread is not modelled: kept at their value
    by_consumption = (kind == "wood_products") & ~np.isin(to_cat, list(FOREST_CATEGORIES))
    family[by_consumption] = FIXED
    category = np.where(family == "forest_biomass", from_cat, to_cat)
    return family, category


def _kinetic(flows: pd.DataFrame, family: np.ndarray) -> np.ndarray:
    """Whether each flow row is a soil/litter flow (or its N2O) of a 20-year transition."""
    pairs = flows[["from_category", "to_category"]].astype(str).drop_duplicates()
    twenty = {
        (f, t)
        for f, t in pairs.itertuples(index=False)
        if f in FLUX_ID and t in FLUX_ID and aldo_soil_years(f, t) == ALDO_TRANSITION_YEARS
    }
    keys = pd.MultiIndex.from_frame(flows[["from_category", "to_category"]].astype(str))
    return (family == "soil") & keys.isin(list(twenty))


def build_model(
    stocks: pd.DataFrame,
    flows: pd.DataFrame | None,
    zone_codes: Sequence[str] | pd.Index,
    spreads: Spreads,
    zpc: pd.Series | None = None,
    region: pd.Series | None = None,
) -> DrawModel:
    """The :class:`DrawModel` of a run's stocks and flows.

    Parameters
    ----------
    stocks : DataFrame
        ``commune_code`` (the zone's code), ``category``, ``pool``, ``area_ha`` [ha],
        ``stock_tc`` [tC] (:func:`geocarbon.carbon.stocks.compute_stocks`).
    flows : DataFrame or None
        ``zone_code``, ``flow_kind``, ``pool``, ``from_category``, ``to_category``,
        ``flow_tco2e_per_yr`` [tCO2e/yr], ``pcaet_category`` (None: no flows).
    zone_codes : sequence of str
        The zones, in the order of the results' axes.
    spreads : Spreads
        The coefficients of variation and the transition period (``carbon.uncertainty``).
    zpc, region : Series, optional
        Pedoclimatic zone and region per zone code (ALDO's set); without them a group is
        a category over the whole territory.
    """
    zone_index = pd.Index([str(z) for z in zone_codes])
    area_keys, categories, area_cv = _area_rows(stocks, spreads)
    stock = _stock_rows(stocks, zone_index, area_keys, zpc, region)
    flow = _flow_rows(flows, zone_index, area_keys, zpc, region)
    groups, codes = np.unique(np.concatenate([stock["keys"], flow["keys"]]), return_inverse=True)
    n_stock = len(stock["keys"])
    area_zone = zone_index.get_indexer(area_keys.get_level_values(0))
    stock_order, area_order, flow_order = (
        _zone_order(z) for z in (stock["zone"], area_zone, flow["zone"])
    )
    # area rows renumbered in their sorted order
    renumber = np.empty(len(area_order), dtype=np.int64)
    renumber[area_order] = np.arange(len(area_order))
    flow_area = np.where(flow["area"] >= 0, renumber[np.maximum(flow["area"], 0)], -1)
    return DrawModel(
        zones=len(zone_index),
        group_cv=np.array([_group_cv(g, spreads) for g in groups], dtype=float),
        categories=tuple(categories),
        area_cv=area_cv,
        area_zone=area_zone[area_order],
        area_category=categories.get_indexer(area_keys.get_level_values(1))[area_order],
        area_ha=stock["area_ha"][area_order],
        stock_tc=stock["value"][stock_order],
        stock_group=codes[:n_stock][stock_order],
        stock_area=renumber[stock["area"][stock_order]],
        stock_zone=stock["zone"][stock_order],
        flow_tco2e_per_yr=flow["value"][flow_order],
        flow_group=codes[n_stock:][flow_order],
        flow_area=flow_area[flow_order],
        flow_kinetic=flow["kinetic"][flow_order],
        flow_zone=flow["zone"][flow_order],
        flow_category=flow["category"][flow_order],
        transition_years=(float(spreads.transition_years[0]), float(spreads.transition_years[1])),
    )


def _stock_rows(
    stocks: pd.DataFrame,
    zone_index: pd.Index,
    area_keys: pd.MultiIndex,
    zpc: pd.Series | None,
    region: pd.Series | None,
) -> dict[str, np.ndarray]:
    """The arrays of the stock rows (unsorted): keys, zone, area row, value [tC], and the
    area [ha] of each area row."""
    codes = stocks["commune_code"].astype(str).to_numpy()
    category = stocks["category"].astype(str).to_numpy()
    family = _stock_family(stocks["category"], stocks["pool"])
    location = np.where(family == "soil", _location(codes, zpc), _location(codes, region))
    return {
        "keys": _keys(family, category, location),
        "zone": zone_index.get_indexer(pd.Index(codes)),
        "area": area_keys.get_indexer(pd.MultiIndex.from_arrays([codes, category])),
        "value": stocks["stock_tc"].to_numpy(dtype=float),
        "area_ha": stocks.drop_duplicates(["commune_code", "category"])["area_ha"].to_numpy(
            dtype=float
        ),
    }


def _area_rows(
    stocks: pd.DataFrame, spreads: Spreads
) -> tuple[pd.MultiIndex, pd.Index, np.ndarray]:
    """The (zone, category) area rows of the stocks (in their first-seen order), the
    categories (sorted), and the coefficient of variation of each category's area."""
    areas = stocks.drop_duplicates(["commune_code", "category"])
    keys = pd.MultiIndex.from_arrays(
        [areas["commune_code"].astype(str), areas["category"].astype(str)]
    )
    categories = pd.Index(sorted(set(keys.get_level_values(1))))
    by_category = spreads.landcover_area_cv_by_category
    cv = np.array([by_category.get(c, spreads.landcover_area_cv) for c in categories], dtype=float)
    return keys, categories, cv


def _keys(family: np.ndarray, category: np.ndarray, location: np.ndarray) -> np.ndarray:
    """Group key of each row: ``family|category|location`` (``fixed`` without spread)."""
    keys = pd.Series(family, dtype=object) + "|" + category + "|" + location
    return np.where(family == FIXED, FIXED, keys.to_numpy(dtype=object)).astype(str)


def _group_cv(key: str, spreads: Spreads) -> float:
    """Coefficient of variation of a group, from its family."""
    family = key.split("|", 1)[0]
    return 0.0 if family == FIXED else float(getattr(spreads, FAMILIES[family]))


def _zone_order(zone: np.ndarray) -> np.ndarray:
    """Stable order of rows by zone."""
    return np.argsort(zone, kind="stable")


def _flow_rows(
    flows: pd.DataFrame | None,
    zone_index: pd.Index,
    area_keys: pd.MultiIndex,
    zpc: pd.Series | None,
    region: pd.Series | None,
) -> dict[str, np.ndarray]:
    """The arrays of the flow rows (unsorted): keys, zone, area row, kinetic, category, value."""
    if flows is None or not len(flows):
        empty = np.array([], dtype=np.int64)
        return {
            "keys": np.array([], dtype=str),
            "zone": empty,
            "area": empty,
            "kinetic": np.array([], dtype=bool),
            "category": empty,
            "value": np.array([], dtype=float),
        }
    # land-use change and N2O are per commune: their locations are the commune's
    place = (
        flows["commune_code"]
        .astype(str)
        .where(flows["commune_code"].astype(str) != "", flows["zone_code"].astype(str))
    )
    family, category = _flow_family(flows)
    location = np.where(
        family == "soil",
        _location(place.to_numpy(), zpc),
        _location(place.to_numpy(), region),
    )
    zone_codes = flows["zone_code"].astype(str).to_numpy()
    scales_with_area = np.isin(flows["flow_kind"].to_numpy(), ["forest_growth", "wood_products"])
    area = area_keys.get_indexer(pd.MultiIndex.from_arrays([zone_codes, category]))
    return {
        "keys": _keys(family, category, location),
        "zone": zone_index.get_indexer(pd.Index(zone_codes)),
        "area": np.where(scales_with_area, area, -1),
        "kinetic": _kinetic(flows, family),
        "category": pd.Index(PCAET_CATEGORIES).get_indexer(pd.Index(flows["pcaet_category"])),
        "value": np.nan_to_num(flows["flow_tco2e_per_yr"].to_numpy(dtype=float), nan=0.0),
    }


def chunk_sizes(draws: int) -> list[int]:
    """Draws of each chunk [draws]: :data:`DRAWS_PER_TASK` each, the rest in the last."""
    full, rest = divmod(draws, DRAWS_PER_TASK)
    return [DRAWS_PER_TASK] * full + ([rest] if rest else [])


def chunk_generator(seed: int, index: int) -> np.random.Generator:
    """The random generator of chunk ``index``: the ``index``-th child of
    ``SeedSequence(seed)``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))


def _zone_sums(values: np.ndarray, zone: np.ndarray, zones: int) -> np.ndarray:
    """Sum of the columns of ``values`` (draws, rows) per zone (rows sorted by zone), shape
    (draws, zones); 0 for a zone without rows."""
    out = np.zeros((values.shape[0], zones))
    if not values.shape[1]:
        return out
    present, starts = np.unique(zone, return_index=True)
    out[:, present] = np.add.reduceat(values, starts, axis=1)
    return out


def _area_factors(model: DrawModel, factor: np.ndarray) -> np.ndarray:
    """Factor of each area row per draw, (draws, area rows): the category's factor, the
    zone's total area kept."""
    per_row = factor[:, model.area_category]
    total = _zone_sums(model.area_ha[None, :], model.area_zone, model.zones)
    drawn = _zone_sums(model.area_ha[None, :] * per_row, model.area_zone, model.zones)
    ratio = np.divide(total, drawn, out=np.ones_like(drawn), where=drawn > 0)
    return per_row * ratio[:, model.area_zone]


def draw_chunk(model: DrawModel, seed: int, index: int, draws: int) -> DrawChunk:
    """Stocks and flows of the draws of chunk ``index`` (``draws`` of them).

    Parameters
    ----------
    model : DrawModel
        The run's contributions and groups.
    seed : int
        The seed of the run's draws.
    index : int
        The chunk's index (its random generator: :func:`chunk_generator`).
    draws : int
        Draws in the chunk.
    """
    rng = chunk_generator(seed, index)
    group = np.maximum(1.0 + model.group_cv * rng.standard_normal((draws, len(model.group_cv))), 0)
    area = np.maximum(1.0 + model.area_cv * rng.standard_normal((draws, len(model.area_cv))), 0)
    low, high = model.transition_years
    kinetic = rng.uniform(low, high, size=draws) / ALDO_TRANSITION_YEARS
    area_factor = _area_factors(model, area)
    stock = model.stock_tc * group[:, model.stock_group] * area_factor[:, model.stock_area]
    flow_factor = group[:, model.flow_group]
    with_area = model.flow_area >= 0
    flow_factor[:, with_area] *= area_factor[:, model.flow_area[with_area]]
    flow_factor[:, model.flow_kinetic] *= kinetic[:, None]
    flow = model.flow_tco2e_per_yr * flow_factor
    per_category = []
    for k in range(len(PCAET_CATEGORIES)):
        rows = model.flow_category == k
        per_category.append(_zone_sums(flow[:, rows], model.flow_zone[rows], model.zones))
    stock_category = model.area_category[model.stock_area]
    by_category = [stock[:, stock_category == k].sum(axis=1) for k in range(len(model.categories))]
    return DrawChunk(
        _zone_sums(stock, model.stock_zone, model.zones),
        np.stack(per_category, axis=1),
        np.stack(by_category, axis=1) if by_category else np.zeros((draws, 0)),
    )


def draw_here(model: DrawModel, seed: int, sizes: list[int]) -> list[DrawChunk]:
    """The chunks of draws computed in this process, in chunk order."""
    return [draw_chunk(model, seed, i, n) for i, n in enumerate(sizes)]


def run_draws(
    model: DrawModel,
    draws: int,
    seed: int,
    runner: Callable[[DrawModel, int, list[int]], list[DrawChunk]] = draw_here,
) -> DrawChunk:
    """Every draw of the run: the chunks (:func:`chunk_sizes`) put together in chunk order.

    Parameters
    ----------
    runner : callable
        Computes the chunks (:func:`draw_here`, or on a cluster
        :func:`geocarbon.distributed.cluster_draws`).
    """
    chunks = runner(model, seed, chunk_sizes(draws))
    return DrawChunk(
        np.concatenate([c.stock_tc for c in chunks], axis=0),
        np.concatenate([c.flow_tco2e_per_yr for c in chunks], axis=0),
        np.concatenate([c.category_stock_tc for c in chunks], axis=0),
    )


def percentiles(values: np.ndarray) -> np.ndarray:
    """P5, P50, P95 over the draws (axis 0) of ``values``, shape (3, ...)."""
    return np.percentile(values, PERCENTILES, axis=0)


def summed_draws(values: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Draws of groups of zones (EPCIs, the territory): the sum of their zones' draws,
    draw by draw, shape (draws, groups). Percentiles of a group are taken on these sums,
    never by summing the zones' percentiles.

    Parameters
    ----------
    values : ndarray
        Draws per zone, shape (draws, zones).
    group : ndarray
        Group of each zone (-1: in none), shape (zones,).
    groups : int
        Number of groups (a group without zones sums to 0).
    """
    member = np.flatnonzero(group >= 0)
    order = member[np.argsort(group[member], kind="stable")]
    return _zone_sums(values[:, order], group[order], groups)
