"""Rooftop photovoltaic potential as a capability of a run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from geocarbon.capabilities import Capability, column_totals
from geocarbon.spec import InputSpec, LayerSpec, declared_files, declared_inputs, declared_outputs

if TYPE_CHECKING:
    import pandas as pd

    from geocarbon.config import PipelineConfig
    from geocarbon.io.deferred import DeferredFiles
    from geocarbon.notices import Notice
    from geocarbon.state import Inputs, Progress, Results, Timer


class PvCapability(Capability):
    """Usable roof area, power and annual energy of every building (pvlib yields)."""

    name: ClassVar[str] = "pv"
    writing: ClassVar[str] = "writing rooftop PV tables and map"
    checked: ClassVar[str] = "rooftop PV inputs"
    #: How rooftop PV figures are computed (French, English).
    method_texts: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "Photovoltaïque : surface de toit utilisable de chaque bâtiment (selon la forme du toit et "
            "les exclusions) × puissance surfacique, × productible annuel calculé à partir du fichier "
            "météo pour l'inclinaison et l'orientation retenues.",
            "Photovoltaics: usable roof area of each building (by roof form and exclusions) × power per "
            "m², × annual yield computed from the weather file for the tilt and orientation used.",
        ),
    )
    #: Sources of the rooftop PV inputs: input role → (French, English).
    source_texts: ClassVar[dict[str, tuple[str, str]]] = {
        "buildings": (
            "Bâtiments : IGN BD TOPO® (Licence Ouverte Etalab 2.0) ou fichier équivalent fourni au "
            "calcul.",
            "Buildings: IGN BD TOPO® (Etalab Open Licence 2.0) or the equivalent file given to the "
            "run.",
        ),
        "weather": (
            "Météo : fichier d'année type (EPW) fourni au calcul ; citer son producteur (par exemple "
            "PVGIS, Commission européenne).",
            "Weather: typical-year file (EPW) given to the run; credit its producer (e.g. PVGIS, "
            "European Commission).",
        ),
    }
    #: Its GeoPackage columns (``geocarbon/specs/outputs.csv``).
    outputs: ClassVar[tuple[LayerSpec, ...]] = declared_outputs("pv")
    #: Its input files (``geocarbon/specs/inputs.csv``).
    inputs: ClassVar[tuple[InputSpec, ...]] = declared_inputs("pv")

    def enabled(self, cfg: PipelineConfig) -> bool:
        return cfg.pv is not None

    def read(self, cfg: PipelineConfig, inputs: Inputs) -> None:
        from geocarbon.capabilities.pv_step import read_pv_inputs

        inputs.files.update(declared_files(self.inputs, cfg))
        inputs.parts[self.name] = read_pv_inputs(cfg, inputs.communes)

    def validate(self, cfg: PipelineConfig, inputs: Inputs) -> list[Notice]:
        return list(inputs.parts[self.name].notices)

    def compute(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, timer: Timer,
        progress: Progress | None,
    ) -> None:  # fmt: skip
        from geocarbon.capabilities.pv_step import compute_pv

        with timer.step("rooftop_pv"):
            results.parts[self.name] = compute_pv(
                cfg, inputs, results.communes, results.notices, inputs.parts[self.name]
            )

    def computed(self, results: Results) -> bool:
        return self.name in results.parts

    def output_crs_candidates(self, inputs: Inputs, results: Results) -> list[Any]:
        return [results.parts[self.name].buildings.crs]

    def layers(self, results: Results, communes: pd.DataFrame, crs: Any) -> dict[str, pd.DataFrame]:
        return {"pv_buildings": results.parts[self.name].buildings.to_crs(crs)}

    def write_files(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, communes: pd.DataFrame,
        folder: Path, later: DeferredFiles,
    ) -> None:  # fmt: skip
        from geocarbon.capabilities.pv_step import write_pv_outputs

        write_pv_outputs(cfg, results.parts[self.name], communes, folder, later)

    def report_sections(self, report: Any) -> None:
        _report().pv_section(report)

    def targets(self, report: Any) -> list[str]:
        return _report().pv_target_rows(report)

    def commune_columns(self, results: Results) -> list[tuple[str, list[str]]]:
        return [("pv", ["pv_mwp", "pv_mwh_per_yr", "pv_kwp_per_inhab"])]

    def map_titles(self) -> dict[str, str]:
        return {"rooftop_pv": "pv"}

    def run_totals(self, results: Results) -> dict[str, Any]:
        return column_totals(results.communes, ("pv_kwp", "pv_mwh_per_yr"))

    def summary_line(self, results: Results) -> str:
        communes = results.communes
        if "pv_kwp" not in communes.columns:
            return ""
        return (
            f"rooftop PV {communes['pv_kwp'].sum() / 1e3:,.2f} MWp, "
            f"{communes['pv_mwh_per_yr'].sum():,.0f} MWh/yr"
        )


def _report() -> Any:
    """The report sections of this capability (imported when a report is written: the
    charts' libraries load only then)."""
    from geocarbon.capabilities import pv_report

    return pv_report
