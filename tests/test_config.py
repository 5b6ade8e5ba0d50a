"""Pipeline configuration: validation, unknown keys, relative paths, environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from geocarbon.config import expand_env, load_config
from geocarbon.errors import ConfigError
from tests.conftest import REPO, write_pipeline

BASE = {
    "name": "t",
    "communes": {"path": "data/communes.gpkg"},
    "landcover": {"path": "data/lc.tif"},
}


def test_paths_are_relative_to_the_pipeline_file(tmp_path: Path) -> None:
    sub = tmp_path / "pipelines"
    sub.mkdir()
    cfg = load_config(write_pipeline(sub / "t.yaml", {**BASE, "output_dir": "../out"}))
    assert cfg.communes.path == (sub / "data" / "communes.gpkg").resolve()
    assert cfg.resolved_output_dir() == (tmp_path / "out").resolve()
    assert cfg.carbon.coefficients == "generic"


def test_unknown_keys_are_rejected_by_name(tmp_path: Path) -> None:
    bad = {**BASE, "landcover": {"path": "lc.tif", "nodata_value": 0}}
    with pytest.raises(ConfigError, match=r"unknown key 'landcover.nodata_value'"):
        load_config(write_pipeline(tmp_path / "t.yaml", bad))
    with pytest.raises(ConfigError, match=r"unknown key 'outputs'"):
        load_config(write_pipeline(tmp_path / "t.yaml", {**BASE, "outputs": {}}))


def test_missing_and_invalid_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"declares no step"):
        load_config(write_pipeline(tmp_path / "t.yaml", {"name": "t", "communes": {"path": "c"}}))
    with pytest.raises(ConfigError, match="aldo_dir is not set"):
        load_config(
            write_pipeline(tmp_path / "t.yaml", {**BASE, "carbon": {"coefficients": "aldo"}})
        )
    with pytest.raises(ConfigError, match="unknown pool 'roots'"):
        load_config(
            write_pipeline(
                tmp_path / "t.yaml", {**BASE, "carbon": {"overrides": {"cropland": {"roots": 1}}}}
            )
        )
    (tmp_path / "broken.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "broken.yaml")


def test_environment_variables() -> None:
    assert expand_env("${X:-a}/b", {}) == "a/b"
    assert expand_env("${X:-a}/b", {"X": "/data"}) == "/data/b"
    with pytest.raises(ConfigError, match="Y is used in the pipeline file but is not set"):
        expand_env("${Y}/b", {})


@pytest.mark.parametrize("name", ["demo", "lot"])
def test_shipped_pipelines_are_valid(name: str) -> None:
    cfg = load_config(REPO / "pipelines" / f"{name}.yaml")
    assert cfg.name == name
    assert cfg.resolved_output_dir() == (REPO / "outputs" / name).resolve()


def test_the_readme_key_reference_is_a_valid_pipeline() -> None:
    """Every documented default and example value lies within the ranges checked at load."""
    import yaml

    from geocarbon.config import PvParameters, config_from_dict

    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = text.split("## Pipeline file", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    cfg = config_from_dict(yaml.safe_load(block), REPO)
    assert cfg.pv is not None and cfg.charging is not None and cfg.flows is not None
    assert cfg.pv.parameters == PvParameters()  # the README lists the defaults
    assert cfg.processing.block_pixels == 4_000_000
