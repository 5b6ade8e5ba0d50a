"""Public charging-point coverage as a capability of a run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from geocarbon.capabilities import Capability
from geocarbon.spec import InputSpec, LayerSpec, declared_files, declared_inputs, declared_outputs

if TYPE_CHECKING:
    import pandas as pd

    from geocarbon.config import PipelineConfig
    from geocarbon.io.deferred import DeferredFiles
    from geocarbon.notices import Notice
    from geocarbon.state import Inputs, Progress, Results, Timer


class ChargingCapability(Capability):
    """Charging points cleaned and counted per commune, population access by distance,
    power per electric vehicle (AFIR)."""

    name: ClassVar[str] = "charging"
    writing: ClassVar[str] = "writing charging tables and map"
    checked: ClassVar[str] = "charging inputs"
    #: How the charging figures are computed (French, English).
    method_texts: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "Recharge : points de recharge publics géolocalisés et contrôlés (puissances, coordonnées), "
            "rattachés à leur commune ; part de la population (grille) à moins de chaque distance du "
            "point le plus proche ; puissance par véhicule électrique (AFIR).",
            "Charging: public charging points located and checked (power, coordinates), joined to "
            "their commune; share of the (gridded) population within each distance of the nearest "
            "point; power per battery electric vehicle (AFIR).",
        ),
    )
    #: Sources of the charging inputs: input role → (French, English).
    source_texts: ClassVar[dict[str, tuple[str, str]]] = {
        "charging_points": (
            "Points de recharge : fichier consolidé des IRVE, data.gouv.fr (Licence Ouverte Etalab "
            "2.0).",
            "Charging points: consolidated IRVE file, data.gouv.fr (Etalab Open Licence 2.0).",
        ),
        "population_raster": (
            "Population carroyée : grille fournie au calcul (par exemple INSEE Filosofi, carreaux "
            "de 200 m).",
            "Gridded population: the grid given to the run (e.g. INSEE Filosofi, 200 m cells).",
        ),
        "population_grid": (
            "Population carroyée : grille fournie au calcul (par exemple INSEE Filosofi, carreaux "
            "de 200 m ou 1 km, en carreaux vectoriels ou en CSV d'identifiants de carreaux).",
            "Gridded population: the grid given to the run (e.g. INSEE Filosofi, 200 m or 1 km "
            "cells, as square polygons or a CSV of cell ids).",
        ),
        "ev_fleet": (
            "Parc de véhicules électriques : données fournies au calcul (par exemple SDES, parc au "
            "1er janvier).",
            "Electric-vehicle fleet: the data given to the run (e.g. SDES, fleet on 1 January).",
        ),
        "postal_codes": (
            "Codes postaux : base officielle des codes postaux de La Poste (data.gouv.fr).",
            "Postal codes: La Poste's official postal code base (data.gouv.fr).",
        ),
    }
    #: Its GeoPackage columns (``geocarbon/specs/outputs.csv``).
    outputs: ClassVar[tuple[LayerSpec, ...]] = declared_outputs("charging")
    #: Its input files (``geocarbon/specs/inputs.csv``).
    inputs: ClassVar[tuple[InputSpec, ...]] = declared_inputs("charging")

    def enabled(self, cfg: PipelineConfig) -> bool:
        return cfg.charging is not None

    def read(self, cfg: PipelineConfig, inputs: Inputs) -> None:
        from geocarbon.capabilities.charging_step import read_charging_inputs

        inputs.files.update(declared_files(self.inputs, cfg))
        inputs.parts[self.name] = read_charging_inputs(cfg, inputs.communes)

    def validate(self, cfg: PipelineConfig, inputs: Inputs) -> list[Notice]:
        from geocarbon.capabilities.charging_step import validate_charging

        return validate_charging(
            cfg, inputs.communes, inputs.known_commune_codes, inputs.parts[self.name]
        )

    def compute(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, timer: Timer,
        progress: Progress | None,
    ) -> None:  # fmt: skip
        from geocarbon.capabilities.charging_step import compute_charging

        with timer.step("charging"):
            results.parts[self.name] = compute_charging(
                cfg,
                results.communes,
                inputs.known_commune_codes,
                results.notices,
                inputs.parts[self.name],
                inputs.epci_sizes,
                inputs.territory_note,
            )

    def computed(self, results: Results) -> bool:
        return self.name in results.parts

    def output_crs_candidates(self, inputs: Inputs, results: Results) -> list[Any]:
        return [results.parts[self.name].points.crs]

    def layers(self, results: Results, communes: pd.DataFrame, crs: Any) -> dict[str, pd.DataFrame]:
        layers = {"charging_points": results.parts[self.name].points.to_crs(crs)}
        if results.parts[self.name].access is not None:
            layers["charging_access"] = results.parts[self.name].access.to_crs(crs)
        return layers

    def style_options(self, cfg: PipelineConfig) -> dict[str, Any]:
        assert cfg.charging is not None
        return {"white_zone_m": cfg.charging.white_zone_m}

    def write_files(
        self, cfg: PipelineConfig, inputs: Inputs, results: Results, communes: pd.DataFrame,
        folder: Path, later: DeferredFiles,
    ) -> None:  # fmt: skip
        from geocarbon.capabilities.charging_step import write_charging_outputs

        write_charging_outputs(cfg, results.parts[self.name], communes, folder, later)

    def report_sections(self, report: Any) -> None:
        _report().charging_section(report)

    def targets(self, report: Any) -> list[str]:
        return _report().charging_target_rows(report)

    def commune_columns(self, results: Results) -> list[tuple[str, list[str]]]:
        return [
            (
                "charging",
                [
                    "ev_points",
                    "ev_points_per_100k_inhab",
                    "ev_pop_share_within_5km",
                    "ev_mean_distance_m",
                ],
            )
        ]

    def map_titles(self) -> dict[str, str]:
        return {"charging": "charging"}

    def summary_line(self, results: Results) -> str:
        communes = results.communes
        if "ev_points" not in communes.columns:
            return ""
        return (
            f"charging {int(communes['ev_points'].sum())} points in "
            f"{int((communes['ev_points'] > 0).sum())} communes"
        )


def _report() -> Any:
    """The report sections of this capability (imported when a report is written: the
    charts' libraries load only then)."""
    from geocarbon.capabilities import charging_report

    return charging_report
