"""Monte-Carlo ranges of the carbon figures (``carbon.uncertainty``) as a capability of a run.

It runs after the carbon capability, on its figures: P5, P50 and P95 of every stock and
flow per zone (commune, or EPCI in an EPCI-level run), EPCI and territory, from the draws
of :mod:`geocarbon.carbon.uncertainty` (on ``processing.scheduler`` when set). The EPCI and
territory ranges are percentiles of the summed draws (a sum of P95s would be wider than the
P95 of the sum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from geocarbon.capabilities import Capability
from geocarbon.carbon.flows import PCAET_CATEGORIES
from geocarbon.carbon.uncertainty import (
    FAMILIES,
    SUFFIXES,
    DrawChunk,
    build_model,
    percentiles,
    run_draws,
    summed_draws,
)
from geocarbon.spec import LayerSpec, declared_outputs

if TYPE_CHECKING:
    from geocarbon.capabilities.carbon_step import CarbonResults
    from geocarbon.config import PipelineConfig, UncertaintyConfig
    from geocarbon.state import Inputs, Progress, Results, Timer

#: Figures given with a range: quantity → column of the deterministic figure per zone.
QUANTITIES = {
    "stock_tc": "stock_tc",
    "flow_tco2e_per_yr": "flow_tco2e_per_yr",
    **{f"flow_{c}_tco2e_per_yr": f"flow_{c}_tco2e_per_yr" for c in PCAET_CATEGORIES},
}
#: Zone columns given with their range (``<column>_p5``, ``_p50``, ``_p95``).
ZONE_RANGES = ("stock_tc", "flow_tco2e_per_yr")
#: Columns of the ``carbon_uncertainty`` table.
TABLE_COLUMNS = ["level", "code", "quantity", "p5", "p50", "p95", "draws", "seed"]
#: The sequestration table's figures: quantity of each.
SEQUESTRATION_QUANTITIES = {
    **{c: f"flow_{c}_tco2e_per_yr" for c in PCAET_CATEGORIES},
    "total": "flow_tco2e_per_yr",
}


@dataclass
class UncertaintyResults:
    """What the uncertainty capability computed."""

    spreads: UncertaintyConfig
    """The draws, seed and spreads used."""
    table: pd.DataFrame
    """:data:`TABLE_COLUMNS`: P5, P50, P95 per level, code and quantity (tC or tCO2e/yr)."""
    level: str
    """``commune`` or ``epci`` (the zones of the run)."""

    def ranges(self, level: str, quantity: str) -> pd.DataFrame:
        """P5, P50, P95 of ``quantity`` at ``level`` (index: code)."""
        rows = self.table[(self.table["level"] == level) & (self.table["quantity"] == quantity)]
        return rows.set_index("code")[["p5", "p50", "p95"]]


def uncertainty_results(results: Results) -> UncertaintyResults | None:
    """The ranges of a run (None: ``carbon.uncertainty`` not set)."""
    computed = results.parts.get(CarbonUncertaintyCapability.name)
    assert computed is None or isinstance(computed, UncertaintyResults)
    return computed


def spreads_document(spreads: UncertaintyConfig) -> dict[str, Any]:
    """The draws, seed and spreads, as stated in ``sequestration.json`` and ``run.json``."""
    return {
        "method": "Monte-Carlo over the coefficients: a normal factor 1 + cv x N(0, 1) (cut at "
        "0) per coefficient group and draw, area factors rescaled to each zone's total area, "
        "soil transition period uniform on transition_years (20-year flows x 20 / period); "
        "EPCI and territory percentiles of the summed draws",
        "percentiles": list(SUFFIXES),
        "sequestration_columns": "<figure>_p5, <figure>_p50, <figure>_p95 beside each figure "
        "(forest ... total): 5th, 50th and 95th percentiles of the draws [tCO2e/yr], empty "
        "where the figure is",
        **spreads.model_dump(mode="json"),
    }


class CarbonUncertaintyCapability(Capability):
    """P5, P50 and P95 of the carbon stocks and flows by Monte-Carlo (``carbon.uncertainty``)."""

    name: ClassVar[str] = "carbon_uncertainty"
    method_texts: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "Fourchettes (P5–P95) : tirages de Monte-Carlo des coefficients (stocks de référence, "
            "biomasse et croissance des forêts, surfaces, durée de transition des sols), "
            "reproductibles par leur graine ; écarts et sources dans « Fiabilité des chiffres ».",
            "Ranges (P5–P95): Monte-Carlo draws of the coefficients (reference stocks, forest "
            "biomass and growth, areas, soil transition period), reproducible by their seed; "
            "spreads and sources in \"How sure are the figures\".",
        ),
    )
    outputs: ClassVar[tuple[LayerSpec, ...]] = declared_outputs("carbon_uncertainty")

    def enabled(self, cfg: PipelineConfig) -> bool:
        return cfg.land_source is not None and cfg.carbon.uncertainty is not None

    def compute(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, timer: Timer,
        progress: Progress | None,
    ) -> None:  # fmt: skip
        from geocarbon.capabilities.carbon_step import carbon_results

        spreads = cfg.carbon.uncertainty
        assert spreads is not None
        carbon = carbon_results(results)
        with timer.step("uncertainty"):
            zones = zone_frame(carbon, results.communes)
            categories, draws = carbon_draws(carbon, zones, spreads, cfg.processing.scheduler)
            table = pd.concat(
                [
                    ranges_table(zones, draws, spreads, carbon.level),
                    category_ranges(categories, draws, spreads),
                ],
                ignore_index=True,
            )
            computed = UncertaintyResults(spreads, table, carbon.level)
            add_zone_ranges(zones, computed)
            if carbon.level == "commune":
                for column in zones.columns.difference(results.communes.columns):
                    results.communes[column] = zones[column].to_numpy()
            else:
                carbon.zones = zones.reset_index()
            if carbon.sequestration is not None:
                carbon.sequestration = sequestration_ranges(carbon.sequestration, computed)
                carbon.uncertainty = spreads_document(spreads)
        results.parts[self.name] = computed

    def computed(self, results: Results) -> bool:
        return self.name in results.parts

    def layers(self, results: Results, communes: pd.DataFrame, crs: Any) -> dict[str, pd.DataFrame]:
        computed = uncertainty_results(results)
        assert computed is not None
        return {"carbon_uncertainty": computed.table}

    def report_sections(self, report: Any) -> None:
        from geocarbon.capabilities.carbon_report import uncertainty_section

        uncertainty_section(report)

    def run_facts(self, results: Results) -> dict[str, Any]:
        computed = uncertainty_results(results)
        assert computed is not None
        return {"uncertainty": spreads_document(computed.spreads)}


def zone_frame(carbon: CarbonResults, communes: pd.DataFrame) -> pd.DataFrame:
    """The zones of the run (index: code) with their figures, ``carbon_complete`` and (in a
    commune-level run) ``epci_code``."""
    if carbon.level == "commune":
        codes = communes["commune_code"].astype(str)
        return pd.DataFrame(communes.set_index(codes).drop(columns="geometry", errors="ignore"))
    assert carbon.zones is not None
    zones = carbon.zones
    return zones.set_index(zones["epci_code"].astype(str)).drop(columns="epci_code")


def carbon_draws(
    carbon: CarbonResults, zones: pd.DataFrame, spreads: UncertaintyConfig, scheduler: str | None
) -> tuple[tuple[str, ...], DrawChunk]:
    """Every draw of the stocks [tC] and flows [tCO2e/yr] of the zones (in ``zones``' order),
    computed here or on ``scheduler``, with the categories of the per-category stocks."""
    from geocarbon.distributed import draw_runner

    model = build_model(
        carbon.carbon_stocks, carbon.flows, zones.index, spreads, carbon.zpc, carbon.region
    )
    with draw_runner(scheduler) as runner:
        return model.categories, run_draws(model, spreads.draws, spreads.seed, runner)


def category_ranges(
    categories: tuple[str, ...], draws: DrawChunk, spreads: UncertaintyConfig
) -> pd.DataFrame:
    """Territory rows of the ``carbon_uncertainty`` table for the stock of each category
    (quantity ``stock_<category>_tc`` [tC], over the zones with data)."""
    ranges = percentiles(draws.category_stock_tc)
    return pd.DataFrame(
        {
            "level": "territory",
            "code": "territory",
            "quantity": [f"stock_{c}_tc" for c in categories],
            "p5": ranges[0],
            "p50": ranges[1],
            "p95": ranges[2],
            "draws": spreads.draws,
            "seed": spreads.seed,
        },
        columns=TABLE_COLUMNS,
    )


def quantity_draws(draws: DrawChunk) -> dict[str, np.ndarray]:
    """The draws (draws, zones) of each of :data:`QUANTITIES`."""
    flows = draws.flow_tco2e_per_yr
    out = {"stock_tc": draws.stock_tc, "flow_tco2e_per_yr": flows.sum(axis=1)}
    for k, category in enumerate(PCAET_CATEGORIES):
        out[f"flow_{category}_tco2e_per_yr"] = flows[:, k, :]
    return out


@dataclass(frozen=True)
class Levels:
    """The rows of the ranges beyond the zones: each zone's EPCI (commune-level runs) and
    the territory, over the zones with data."""

    data: np.ndarray
    """Whether each zone has figures."""
    epci_codes: list[str]
    """The EPCIs, sorted."""
    epci_of: np.ndarray
    """Index of each zone's EPCI in :attr:`epci_codes` (-1: none, or no data)."""

    @classmethod
    def of(cls, zones: pd.DataFrame, level: str) -> Levels:
        """The levels of ``zones`` (``carbon_complete``; ``epci_code`` when per commune)."""
        data = zones["carbon_complete"].fillna(False).to_numpy(dtype=bool)
        if level != "commune" or "epci_code" not in zones.columns:
            return cls(data, [], np.full(len(zones), -1))
        epci = zones["epci_code"].astype("string")
        codes = sorted(set(epci.dropna()))
        index = pd.Index(codes).get_indexer(pd.Index(epci.fillna("").to_numpy(dtype=object)))
        return cls(data, codes, np.where(data, index, -1))

    def ranges(self, values: np.ndarray) -> np.ndarray:
        """P5, P50, P95 of the zones, the EPCIs and the territory (in that order), shape
        (3, zones + EPCIs + 1): NaN for a zone without data or an EPCI none of whose
        zones has data."""
        zones = percentiles(values)
        zones[:, ~self.data] = np.nan
        epci = percentiles(summed_draws(values, self.epci_of, len(self.epci_codes)))
        epci[
            :, np.bincount(self.epci_of[self.epci_of >= 0], minlength=len(self.epci_codes)) == 0
        ] = np.nan
        territory = percentiles(values[:, self.data].sum(axis=1, keepdims=True))
        if not self.data.any():
            territory[:] = np.nan
        return np.concatenate([zones, epci, territory], axis=1)


def ranges_table(
    zones: pd.DataFrame, draws: DrawChunk, spreads: UncertaintyConfig, level: str
) -> pd.DataFrame:
    """The ``carbon_uncertainty`` table: P5, P50, P95 per level, code and quantity.

    A quantity not computed (its zone column absent or empty) is left out; a row none of
    whose zones has data is empty (NaN), never 0.
    """
    levels = Levels.of(zones, level)
    rows = pd.DataFrame(
        {
            "level": [level] * len(zones) + ["epci"] * len(levels.epci_codes) + ["territory"],
            "code": [*zones.index.astype(str), *levels.epci_codes, "territory"],
        }
    )
    frames = []
    for quantity, values in quantity_draws(draws).items():
        column = QUANTITIES[quantity]
        if column not in zones.columns or zones[column].isna().all():
            continue
        ranges = levels.ranges(values)
        frames.append(
            rows.assign(
                quantity=quantity,
                p5=ranges[0],
                p50=ranges[1],
                p95=ranges[2],
                draws=spreads.draws,
                seed=spreads.seed,
            )
        )
    if not frames:
        return pd.DataFrame(columns=TABLE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[TABLE_COLUMNS]


def add_zone_ranges(zones: pd.DataFrame, computed: UncertaintyResults) -> None:
    """Add ``<figure>_p5``, ``_p50``, ``_p95`` of :data:`ZONE_RANGES` to ``zones`` (NaN where
    the zone has no data)."""
    for quantity in ZONE_RANGES:
        ranges = computed.ranges(computed.level, quantity).reindex(zones.index)
        for suffix, column in zip(SUFFIXES, ("p5", "p50", "p95"), strict=True):
            zones[f"{quantity}_{suffix}"] = ranges[column].to_numpy()


def sequestration_ranges(table: pd.DataFrame, computed: UncertaintyResults) -> pd.DataFrame:
    """The sequestration table with ``<figure>_p5``, ``_p50``, ``_p95`` of each of its
    figures (forest ... total), looked up by level and code (NaN where the figure is
    empty)."""
    out = table.copy()
    keys = pd.MultiIndex.from_arrays([out["level"], out["code"].astype(str)])
    for figure, quantity in SEQUESTRATION_QUANTITIES.items():
        rows = computed.table[computed.table["quantity"] == quantity]
        found = rows.set_index(["level", "code"]).reindex(keys)
        for suffix in SUFFIXES:
            values = found[suffix].to_numpy(dtype=float)
            out[f"{figure}_{suffix}"] = np.where(out[figure].isna(), np.nan, values)
    return out


#: Coefficient families and their config keys, in the order the report lists them.
SPREAD_KEYS = (
    *FAMILIES.values(),
    "landcover_area_cv",
    "transition_years",
)
