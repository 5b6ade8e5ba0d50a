"""The capability seam: a capability added in one module and registered here (in the test
only) is read, validated, computed, written, reported and summarised by the pipeline, the CLI
and the report, none of which names it. CONTRIBUTING.md walks through the same example."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict, Field
from shapely.geometry import box

from geocarbon import capabilities
from geocarbon.capabilities import Capability
from geocarbon.cli import main
from tests.conftest import write_pipeline

# --- the capability: a pure model and its adapter --------------------------------------


def density_inhab_per_km2(population: pd.Series, area_ha: pd.Series) -> pd.Series:
    """Population density [inhabitants/km²] from population and area [ha]; empty where the
    area is unknown or zero."""
    km2 = area_ha / 100.0
    return population / km2.where(km2 > 0)


class DensityConfig(BaseModel):
    """Settings of the density capability."""

    model_config = ConfigDict(extra="forbid")
    dense_from_inhab_per_km2: float = Field(default=100.0, gt=0, description="Dense above this.")


class DensityCapability(Capability):
    """Population density per commune (a toy capability)."""

    name: ClassVar[str] = "density"
    checked: ClassVar[str] = "density settings"
    config_key: ClassVar[str | None] = "density"
    config_model: ClassVar[type[BaseModel] | None] = DensityConfig
    config_description: ClassVar[str] = "Population density per commune."

    def enabled(self, cfg: Any) -> bool:
        return getattr(cfg, "density", None) is not None

    def compute(self, cfg: Any, inputs: Any, results: Any, timer: Any, progress: Any) -> None:
        with timer.step("density"):
            c = results.communes
            density = density_inhab_per_km2(c["population"], c["area_ha"])
            results.parts[self.name] = pd.DataFrame(
                {
                    "commune_code": c["commune_code"].to_numpy(),
                    "density_inhab_per_km2": density.to_numpy(),
                    "dense": (density > cfg.density.dense_from_inhab_per_km2).to_numpy(),
                }
            )

    def computed(self, results: Any) -> bool:
        return self.name in results.parts

    def write(
        self, cfg: Any, inputs: Any, results: Any, communes: Any, folder: Path, announce: Any,
        later: Any,
    ) -> None:  # fmt: skip
        from geocarbon.io.writers import write_csv

        with announce("writing density.csv"):
            write_csv(folder / "density.csv", results.parts[self.name])

    def report_sections(self, report: Any) -> None:
        from geocarbon.report import esc, table

        report.section("density", "Densité de population")
        frame = results_frame = report.r.parts[self.name]
        report.parts.append(f"<p>{esc(len(results_frame))} communes</p>")
        report.parts.append(table(frame, report.lang, text_columns=("commune_code",)))

    def method_lines(self, cfg: Any, results: Any, lang: Any) -> list[str]:
        return ["Densité : population / surface de la commune."]

    def summary_line(self, results: Any) -> str:
        dense = int(results.parts[self.name]["dense"].sum())
        return f"{dense} dense communes"


# --- the test ---------------------------------------------------------------------------


@pytest.fixture
def density() -> Iterator[None]:
    capabilities.register(DensityCapability())
    yield
    capabilities.unregister("density")


def _territory(tmp_path: Path, **extra: Any) -> Path:
    # two communes of 1 km² and 2 km² (Lambert-93), 100 and 350 inhabitants
    communes = gpd.GeoDataFrame(
        {"insee": ["99001", "99002"], "nom": ["Alpha", "Beta"], "pop": [100, 350]},
        geometry=[
            box(600_000, 6_400_000, 601_000, 6_401_000),
            box(601_000, 6_400_000, 603_000, 6_401_000),
        ],
        crs="EPSG:2154",
    )
    communes.to_file(tmp_path / "communes.gpkg")
    data: dict[str, Any] = {
        "name": "toy",
        "communes": {
            "path": "communes.gpkg",
            "code_field": "insee",
            "name_field": "nom",
            "population_field": "pop",
        },
        "output_dir": "out",
        **extra,
    }
    return write_pipeline(tmp_path / "toy.yaml", data)


def test_a_registered_capability_runs_end_to_end(density: None, tmp_path: Path) -> None:
    pipeline = _territory(tmp_path, density={"dense_from_inhab_per_km2": 150})
    checked = CliRunner().invoke(main, ["validate", str(pipeline)])
    assert checked.exit_code == 0, checked.output
    assert "valid: 2 communes, density settings" in checked.output
    done = CliRunner().invoke(main, ["run", str(pipeline)])
    assert done.exit_code == 0, done.output
    assert "1 dense communes" in done.output  # its summary line
    out = tmp_path / "out"
    table = pd.read_csv(out / "density.csv", dtype={"commune_code": str})
    # hand-computed: 100 / 1 km², 350 / 2 km² of the Lambert-93 plane; the run measures true
    # areas (equal-area), which Lambert-93's scale factor here makes 0.09 % larger
    assert table["density_inhab_per_km2"].tolist() == pytest.approx([100.0, 175.0], rel=2e-3)
    layer = gpd.read_file(out / "geocarbon.gpkg", layer="communes")
    assert table["density_inhab_per_km2"].tolist() == pytest.approx(
        (layer["population"] / (layer["area_ha"] / 100)).tolist(), rel=1e-12
    )
    assert table["dense"].tolist() == [False, True]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert ">Densité de population</h2>" in page and "Densité : population / surface" in page
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["density"] == {"dense_from_inhab_per_km2": 150.0}
    assert "density" in run["timings_s"]


def test_its_section_is_checked_like_any_other(density: None, tmp_path: Path) -> None:
    pipeline = _territory(tmp_path, density={"dense_above": 150})
    result = CliRunner().invoke(main, ["validate", str(pipeline)])
    assert result.exit_code == 2 and "density.dense_above" in result.output
    # without its section (nor any other step), the run has nothing to do: said, with its key
    empty = _territory(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(empty)])
    assert result.exit_code == 2 and "density (density)" in result.output


def test_unregistered_it_is_an_unknown_key(tmp_path: Path) -> None:
    pipeline = _territory(tmp_path, density={})
    result = CliRunner().invoke(main, ["validate", str(pipeline)])
    assert result.exit_code == 2 and "density" in result.output


def test_registry_order_and_names() -> None:
    names = [c.name for c in capabilities.all_capabilities()]
    assert names == ["carbon", "carbon_uncertainty", "scenarios", "pv", "charging"]
    with pytest.raises(ValueError, match="already registered"):
        capabilities.register(capabilities.registered()[0])


class MeddlingCapability(DensityCapability):
    """Changes a column it does not own (the communes' population)."""

    name: ClassVar[str] = "meddler"
    config_key: ClassVar[str | None] = "meddler"

    def enabled(self, cfg: Any) -> bool:
        return getattr(cfg, "meddler", None) is not None

    def compute(self, cfg: Any, inputs: Any, results: Any, timer: Any, progress: Any) -> None:
        results.communes["population"] = 0
        results.communes["meddler_flag"] = True


def test_a_capability_only_adds_its_own_columns(tmp_path: Path) -> None:
    from geocarbon import pipeline
    from geocarbon.config import load_config

    capabilities.register(MeddlingCapability())
    try:
        cfg = load_config(_territory(tmp_path, meddler={}))
        inputs = pipeline.read_inputs(cfg)
        with pytest.raises(RuntimeError, match="'meddler' changed the columns population"):
            pipeline.compute(cfg, inputs)
    finally:
        capabilities.unregister("meddler")
    # the copy it worked on is its own: the run's communes are as read
    assert inputs.communes["population"].tolist() == [100, 350]
