"""Carbon stocks and flows (ADEME ALDO method) as a capability of a run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from geocarbon.capabilities import Capability, column_totals
from geocarbon.spec import InputSpec, LayerSpec, declared_inputs, declared_outputs

if TYPE_CHECKING:
    import pandas as pd

    from geocarbon.config import PipelineConfig
    from geocarbon.io.deferred import DeferredFiles
    from geocarbon.notices import Notice
    from geocarbon.state import Inputs, Progress, Results, Timer

class CarbonCapability(Capability):
    """Land use, carbon stocks per pool and flows per PCAET category, per commune or EPCI,
    from a land-cover raster or ADEME's area tables."""

    name: ClassVar[str] = "carbon"
    writing: ClassVar[str] = "writing carbon tables, rasters and maps"
    #: Its GeoPackage columns (``geocarbon/specs/outputs.csv``).
    outputs: ClassVar[tuple[LayerSpec, ...]] = declared_outputs("carbon")
    #: Its input files (``geocarbon/specs/inputs.csv``).
    inputs: ClassVar[tuple[InputSpec, ...]] = declared_inputs("carbon")

    def enabled(self, cfg: PipelineConfig) -> bool:
        return cfg.land_source is not None

    def read(self, cfg: PipelineConfig, inputs: Inputs) -> None:
        from geocarbon.capabilities.carbon_step import read_carbon_inputs

        inputs.parts[self.name] = read_carbon_inputs(cfg, inputs.files)

    def validate(self, cfg: PipelineConfig, inputs: Inputs) -> list[Notice]:
        from geocarbon.capabilities.carbon_step import validate_carbon

        return validate_carbon(cfg, inputs)

    def validated(self, inputs: Inputs) -> str:
        """What ``geocarbon validate`` says it checked."""
        lc = inputs.parts[self.name].landcover
        if lc is None:
            return ""
        return f"land cover {lc.width}x{lc.height} px in {lc.crs.to_string()}"

    def compute(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, timer: Timer,
        progress: Progress | None,
    ) -> None:  # fmt: skip
        from geocarbon.capabilities.carbon_step import compute_carbon

        results.parts[self.name] = compute_carbon(cfg, inputs, results, timer, progress)

    def computed(self, results: Results) -> bool:
        return self.name in results.parts

    def output_crs_candidates(self, inputs: Inputs, results: Results) -> list[Any]:
        landcover = inputs.parts[self.name].landcover
        return [landcover.crs if landcover is not None else None]

    def layers(self, results: Results, communes: pd.DataFrame, crs: Any) -> dict[str, pd.DataFrame]:
        from geocarbon.capabilities.carbon_step import carbon_results, epci_layer
        from geocarbon.carbon.categories import AGRICULTURAL_CATEGORIES

        carbon = carbon_results(results)
        layers: dict[str, pd.DataFrame] = {}
        if carbon.zones is not None:
            layers["epci"] = epci_layer(carbon.zones, communes)
        layers["landuse_areas"] = zone_columns(carbon.landuse_areas, carbon.level)
        layers["carbon_stocks"] = zone_columns(carbon.carbon_stocks, carbon.level)
        if carbon.hedges is not None:
            layers["hedge_lengths"] = carbon.hedges.lengths.assign(
                stock_counted=carbon.hedges.lengths["category"].isin(AGRICULTURAL_CATEGORIES)
            )
        if carbon.practices is not None:
            layers["carbon_practices"] = carbon.practices
        if carbon.flows is not None:
            layers["carbon_flows"] = (
                carbon.flows.rename(columns={"zone_code": "epci_code"})
                if carbon.level == "epci"
                else carbon.flows.drop(columns="zone_code")
            )
        return layers

    def write_files(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, communes: pd.DataFrame,
        folder: Path, later: DeferredFiles,
    ) -> None:  # fmt: skip
        from geocarbon.capabilities.carbon_step import write_carbon_outputs

        write_carbon_outputs(cfg, inputs, results, communes, folder, later)

    def report_sections(self, report: Any) -> None:
        _report().stocks_section(report)
        if report.r.parts[self.name].sequestration is not None:
            _report().flows_section(report)
        if report.r.parts[self.name].hedges is not None:
            _report().hedges_section(report)
        if report.r.parts[self.name].practices is not None:
            _report().practices_section(report)

    def method_lines(self, cfg: Any, results: Any, lang: Any) -> list[str]:
        return _report().carbon_method_lines(cfg, results, lang)

    def source_lines(
        self, cfg: Any, results: Any, keys: set[str], lang: Any
    ) -> list[tuple[str, str]]:
        return _report().carbon_source_lines(cfg, results, keys, lang)

    def commune_columns(self, results: Results) -> list[tuple[str, list[str]]]:
        if results.parts[self.name].level != "commune":
            return []
        return [
            (
                "carbon",
                [
                    "stock_tc",
                    "stock_tc_per_ha",
                    "flow_tco2e_per_yr",
                    "landcover_covered_share",
                ],
            )
        ]

    def map_titles(self) -> dict[str, str]:
        return {"carbon_stocks": "stocks", "carbon_flows": "flows"}

    def run_totals(self, results: Results) -> dict[str, Any]:
        figures = ("area_ha", "landcover_area_ha", "stock_tc", "flow_tco2e_per_yr")
        hedges = ("stock_hedges_tc", "hedge_length_km", "hedge_length_agricultural_km")
        totals = column_totals(results.communes, (*figures[1:], *hedges))
        practices = results.parts[self.name].practices
        if practices is not None:
            totals["practices_potential_tco2e_per_yr"] = round(
                float(practices["potential_tco2e_per_yr"].sum()), 3
            )
        epci = results.parts[self.name].zones
        if epci is not None:
            totals.update(column_totals(epci, figures))
            totals["epci"] = len(epci)
        return totals

    def run_facts(self, results: Results) -> dict[str, Any]:
        return {"coefficient_set": results.parts[self.name].coefficient_set}

    def epci_count(self, results: Results) -> int | None:
        epci = results.parts[self.name].zones
        return None if epci is None else len(epci)

    def summary_line(self, results: Results) -> str:
        epci = results.parts[self.name].zones
        zones = epci if epci is not None else results.communes
        unit = "EPCIs" if epci is not None else "communes"
        parts = []
        if "stock_tc" in zones.columns:
            # the figures of the zones with data only, never mixed with the land cover of others
            has = zones["carbon_complete"].astype(bool)
            total = zones.loc[has, "stock_tc"].sum()
            area = zones.loc[has, "landcover_area_ha"].sum()
            covers = (
                "" if has.all() else f" over the {int(has.sum())} of {len(zones)} {unit} with data"
            )
            parts.append(
                f"{area:,.0f} ha, {total / 1e6:,.3f} MtC ({total / area if area else 0:,.1f} tC/ha)"
                + covers
            )
        if "flow_tco2e_per_yr" in zones.columns:
            parts.append(f"net flow {zones['flow_tco2e_per_yr'].sum():,.0f} tCO2e/yr")
        return ", ".join(parts)


def zone_columns(frame: pd.DataFrame, level: str) -> pd.DataFrame:
    """A long carbon table as written: its zone column is ``epci_code`` in an EPCI-level run
    (``commune_code`` otherwise)."""
    return frame.rename(columns={"commune_code": "epci_code"}) if level == "epci" else frame


def _report() -> Any:
    """The report sections of this capability (imported when a report is written: the
    charts' libraries load only then)."""
    from geocarbon.capabilities import carbon_report

    return carbon_report
