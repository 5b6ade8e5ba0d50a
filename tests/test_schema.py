"""The pipeline file described once: every key has a description, the JSON Schema
(``geocarbon schema``, ``pipelines/geocarbon.schema.json``) and the README's key table are
generated from the configuration model and cannot drift from it."""

from __future__ import annotations

import json
import re
import typing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field

from geocarbon.cli import main
from geocarbon.config import (
    KEYS_END,
    KEYS_START,
    SCHEMA_HEADER,
    PipelineConfig,
    _expand_tree,
    config_from_dict,
    config_keys,
    key_table,
    pipeline_json_schema,
    schema_text,
)
from geocarbon.errors import ConfigError
from geocarbon.io.tables import read_yaml
from tests.conftest import REPO

SCHEMA_FILE = REPO / "pipelines" / "geocarbon.schema.json"
PIPELINES = sorted((REPO / "pipelines").glob("*.yaml"))
#: A small valid pipeline (the loader does not open the files).
BASE: dict[str, Any] = {
    "name": "t",
    "communes": {"path": "communes.gpkg"},
    "landcover": {"path": "lc.tif"},
    "pv": {"buildings": {"path": "b.gpkg"}, "weather": {"path": "w.epw"}},
    "charging": {"points": {"path": "irve.csv"}},
}


# ------------------------------------------------------------------ descriptions


def _undescribed(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Keys without a description, walking nested models through unions, lists and
    mappings (independent of :func:`geocarbon.config.config_keys`)."""

    def models(annotation: Any) -> list[type[BaseModel]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [m for arg in typing.get_args(annotation) for m in models(arg)]

    missing = []
    for name, field in model.model_fields.items():
        if field.exclude:  # not a key of a pipeline file (source_file)
            continue
        if not (field.description or "").strip():
            missing.append(prefix + name)
        for sub in models(field.annotation):
            missing += _undescribed(sub, f"{prefix}{name}.")
    return missing


def test_every_configuration_key_has_a_description() -> None:
    assert _undescribed(PipelineConfig) == []


def test_the_description_walk_finds_keys_hidden_in_lists_unions_and_mappings() -> None:
    class Leaf(BaseModel):
        bare: int = 0
        told: int = Field(default=0, description="told")

    class Root(BaseModel):
        items: list[Leaf] = Field(default_factory=list, description="a list")
        maybe: Leaf | None = Field(default=None, description="a union")
        table: dict[str, Leaf] = Field(default_factory=dict, description="a mapping")
        plain: str = ""

    assert _undescribed(Root) == ["items.bare", "maybe.bare", "table.bare", "plain"]


def test_the_key_table_lists_every_key_once() -> None:
    keys = [key for key, _ in config_keys()]
    assert len(keys) == len(set(keys))
    assert len(keys) == len(key_table().splitlines()) - 2
    assert "pv.exclusions[].reason" in keys and "charging.targets[].indicator" in keys
    assert "source_file" not in keys
    described = {k.replace("[]", "") for k in keys}
    assert {"pv.parameters.usable_share", "communes.table.separator"} <= described


# ------------------------------------------------------------------ JSON Schema


def test_committed_schema_is_the_generated_one() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_text(), (
        "pipelines/geocarbon.schema.json is out of date; regenerate it with "
        "`geocarbon schema --output pipelines/geocarbon.schema.json`"
    )


def test_schema_command_prints_and_writes_the_same_bytes(tmp_path: Path) -> None:
    runner = CliRunner()
    printed = runner.invoke(main, ["schema"])
    assert printed.exit_code == 0, printed.output
    assert printed.stdout_bytes == schema_text().encode("utf-8")
    target = tmp_path / "s.json"
    target.write_text("old", encoding="utf-8")
    written = runner.invoke(main, ["schema", "--output", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_bytes() == printed.stdout_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]  # no temporary left
    assert schema_text() == schema_text()  # deterministic
    assert json.loads(schema_text()) == pipeline_json_schema()


def test_schema_command_refuses_a_folder_in_one_message(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema", "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert "is a folder; give a file name" in result.output
    assert "Traceback" not in result.output


def _objects(node: Any) -> list[dict[str, Any]]:
    """Every object-with-properties schema inside ``node``."""
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


def test_schema_header_and_unknown_keys_rejected_everywhere() -> None:
    schema = pipeline_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:geocarbon:pipeline-file"
    assert schema["title"] == "geocarbon pipeline file"
    jsonschema.Draft202012Validator.check_schema(schema)
    objects = _objects(schema)
    # the pipeline itself and its 28 kinds of section (every model forbids unknown keys)
    assert len(objects) == 1 + len(schema["$defs"]) == 37
    assert all(o.get("additionalProperties") is False for o in objects)
    assert schema["required"] == ["communes"]  # name: the loader takes the file's name
    assert "source_file" not in schema["properties"]


def test_schema_carries_ranges_choices_and_defaults() -> None:
    defs = pipeline_json_schema()["$defs"]
    share = defs["PvParameters"]["properties"]["usable_share"]["additionalProperties"]
    assert share == {"type": "number", "minimum": 0.0, "maximum": 1.0}
    distances = defs["ChargingConfig"]["properties"]["distances_m"]
    assert distances["items"] == {"type": "number", "exclusiveMinimum": 0.0, "maximum": 1e6}
    assert distances["default"] == [1000.0, 5000.0, 10000.0]
    assert distances["minItems"] == 1
    fast = defs["ChargingConfig"]["properties"]["fast_kw"]
    assert (fast["default"], fast["exclusiveMinimum"], fast["maximum"]) == (50.0, 0.0, 1000.0)
    codes = defs["ForestMapConfig"]["properties"]["codes"]["default"]
    assert codes == {"1": "broadleaf", "2": "conifer", "3": "mixed", "4": "poplar"}
    assert defs["ReportConfig"]["properties"]["language"]["enum"] == ["fr", "en"]
    azimuth = defs["PvParameters"]["properties"]["flat_azimuth_deg"]
    assert (azimuth["minimum"], azimuth["exclusiveMaximum"]) == (0.0, 360.0)


@pytest.mark.parametrize("path", PIPELINES, ids=lambda p: p.name)
def test_shipped_pipeline_names_the_schema_and_validates_against_it(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert path.read_text(encoding="utf-8").splitlines()[0] == SCHEMA_HEADER
    monkeypatch.delenv("GEOCARBON_DATA", raising=False)
    data = _expand_tree(read_yaml(path))  # ${VAR:-default} expanded, as the loader does
    errors = [
        e.message for e in jsonschema.Draft202012Validator(schema_from_file()).iter_errors(data)
    ]
    assert errors == []


def schema_from_file() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def _leaves(error: jsonschema.ValidationError) -> list[str]:
    """The innermost messages of an error with their key path (a section that may be null
    is an ``anyOf``: its own errors are in the error's context)."""
    if not error.context:
        where = ".".join(str(p) for p in error.absolute_path)
        return [f"{where}: {error.message}"]
    return [m for sub in error.context for m in _leaves(sub)]


def _schema_errors(data: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(pipeline_json_schema())
    return [m for e in validator.iter_errors(data) for m in _leaves(e)]


def test_a_misspelled_key_fails_schema_validation_naming_it() -> None:
    assert _schema_errors(BASE) == []
    bad = {**BASE, "landcovr": {"path": "lc.tif"}}
    bad["pv"] = {**BASE["pv"], "parameters": {"kwp_per_m3": 0.2}}
    errors = _schema_errors(bad)
    assert ": Additional properties are not allowed ('landcovr' was unexpected)" in errors
    unexpected = "Additional properties are not allowed ('kwp_per_m3' was unexpected)"
    assert f"pv.parameters: {unexpected}" in errors
    # the loader refuses the same key by name
    with pytest.raises(ConfigError, match=r"unknown key 'pv.parameters.kwp_per_m3'"):
        config_from_dict(bad, REPO)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("pv.parameters", "usable_share", {"flat": 1.5}),  # a share above 1
        ("pv.parameters", "flat_azimuth_deg", 360),  # 360 is 0
        ("pv.parameters", "kwp_per_m2", 0),  # greater than 0
        ("report", "language", "de"),  # fr or en
        ("maps", "simplify_m", True),  # true is not a number
        ("charging", "distances_m", [0]),  # greater than 0
        ("charging", "distances_m", []),  # at least one
        ("landcover", "year", 1899),  # 1900-2100
        ("pv.parameters", "usable_share", {"steep": 0.3}),  # roof forms: flat, pitched, unknown
    ],
)
def test_schema_and_loader_refuse_the_same_values(section: str, key: str, value: Any) -> None:
    data = json.loads(json.dumps(BASE))
    node = data
    for part in section.split("."):
        node = node.setdefault(part, {})
    node[key] = value
    assert _schema_errors(data), f"the schema accepts {section}.{key}: {value!r}"
    with pytest.raises(ConfigError):
        config_from_dict(data, REPO)


def test_schema_and_loader_accept_the_bounds() -> None:
    data = json.loads(json.dumps(BASE))
    data["pv"]["parameters"] = {"usable_share": {"flat": 1.0}, "kwp_per_m2": 0.5}
    data["charging"]["distances_m"] = [1_000_000]
    data["landcover"]["year"] = 2100
    data["forest_map"] = {"path": "f.tif", "codes": {7: "poplar"}}
    assert _schema_errors(data) == []
    config_from_dict(data, REPO)


# ------------------------------------------------------------------ README key table


def test_readme_key_table_is_the_generated_one() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert text.count(KEYS_START) == 1 and text.count(KEYS_END) == 1
    section = text.split(KEYS_START, 1)[1].split(KEYS_END, 1)[0]
    assert section == "\n" + key_table(), (
        "README.md's table of configuration keys is out of date; regenerate it with "
        "`geocarbon schema --readme README.md`"
    )


def test_key_table_rows_written_by_hand() -> None:
    rows = key_table().splitlines()
    assert rows[:2] == ["| key | type | default | description |", "|---|---|---|---|"]
    expected = [
        "| `name` | text | the file's name | Name of the run, usable as a folder name (letters, "
        "digits, '_', '-', '.'); default: the pipeline file's name without .yaml. |",
        "| `charging.fast_kw` | number (greater than 0 and at most 1000 kW) | `50.0` | "
        "A fast point has at least this power [kW]. |",
        "| `flows.start_year` | integer (between 1900 and 2100) | required | "
        "First year of the change period (e.g. 2012). |",
        '| `report.language` | `fr` \\| `en` | `"fr"` | Language of the report and of the '
        "spreadsheet headers ('fr': French PCAET vocabulary; 'en': English). |",
        "| `pv.exclusions` | list of section | `[]` | Polygons whose buildings get no PV "
        "(heritage sites...), each with its reason. |",
        "| `landcover.year` | integer (between 1900 and 2100) or null | `null` | Year the land "
        "cover describes (e.g. 2018), stated in the report and the spreadsheet (null: not stated). |",
        "| `pv.parameters.usable_share` | mapping `flat` \\| `pitched` \\| `unknown` → number "
        '(between 0 and 1) | `{"flat": 0.4, "pitched": 0.4, "unknown": 0.25}` | Usable share '
        "of the footprint by roof form (JRC scenarios: 25 % and 40 %); roof forms not given keep "
        "their default. |",
        "| `carbon` | section |  | Carbon-stock coefficients per land-cover category and pool "
        "[tC/ha]. |",
    ]
    for row in expected:
        assert row in rows
    assert all(len(re.split(r"(?<!\\)\|", row)) == 6 for row in rows)  # four cells each


def test_readme_option_rewrites_only_the_table(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{KEYS_START}\nold rows\n{KEYS_END}\nrest\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["schema", "--readme", str(readme)])
    assert result.exit_code == 0, result.output
    expected = f"intro\n{KEYS_START}\n{key_table()}{KEYS_END}\nrest\n"
    assert readme.read_text(encoding="utf-8") == expected
    markdown = CliRunner().invoke(main, ["schema", "--markdown"])
    assert markdown.stdout_bytes.decode("utf-8") == key_table()


def test_readme_option_without_markers_is_one_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{KEYS_END}\n{KEYS_START}\n", encoding="utf-8")  # out of order
    result = CliRunner().invoke(main, ["schema", "--readme", str(readme)])
    assert result.exit_code == 2
    assert (
        "expected one <!-- keys:start --> line followed by one <!-- keys:end -->" in result.output
    )
    assert readme.read_text(encoding="utf-8") == f"intro\n{KEYS_END}\n{KEYS_START}\n"
    missing = CliRunner().invoke(main, ["schema", "--readme", str(tmp_path / "none.md")])
    assert missing.exit_code == 2 and "cannot read" in missing.output
