"""The declared inputs (geocarbon/spec.py) cover the configuration exactly and give the README's
table of inputs and the files a run records."""

from __future__ import annotations

import types
import typing
from pathlib import Path

from pydantic import BaseModel

from geocarbon.config import PipelineConfig, load_config
from geocarbon.spec import (
    InputSpec,
    all_input_groups,
    declared_files,
    inputs_table,
    with_inputs_table,
)
from tests.conftest import REPO

#: Path keys of the configuration that are not inputs.
NOT_INPUTS = {"output_dir", "source_file", "processing.zone_cache"}  # written by runs


def _models(annotation: object) -> list[tuple[bool, object]]:
    """(inside a list, type) of every type an annotation allows."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return [m for a in typing.get_args(annotation) for m in _models(a)]
    if origin is typing.Annotated:
        return _models(typing.get_args(annotation)[0])
    if origin in (list, tuple):
        return [(True, t) for a in typing.get_args(annotation) for _, t in _models(a)]
    return [(False, annotation)]


def config_keys(model: type[BaseModel], prefix: str = "") -> tuple[set[str], set[str]]:
    """(path keys, all keys) of a configuration model, lists marked ``[]``."""
    paths: set[str] = set()
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        for many, kind in _models(field.annotation):
            key = f"{prefix}{name}{'[]' if many else ''}"
            keys.add(key)
            if kind is Path:
                paths.add(key)
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                more_paths, more_keys = config_keys(kind, key + ".")
                paths |= more_paths
                keys |= more_keys
    return paths, keys


def _specs() -> list[InputSpec]:
    return [s for _, specs in all_input_groups() for s in specs]


def test_every_path_key_of_the_configuration_is_declared_once() -> None:
    paths, _ = config_keys(PipelineConfig)
    declared = [s.key for s in _specs()]
    assert len(declared) == len(set(declared)), "a path key declared twice"
    assert set(declared) == paths - NOT_INPUTS
    assert len(declared) >= 21


def _all_fields(spec: InputSpec) -> list[str]:
    return [
        *spec.fields,
        *spec.optional_fields,
        *(f for _, fields in spec.layout_fields for f in fields),
    ]


def test_declared_fields_are_keys_of_the_configuration() -> None:
    _, keys = config_keys(PipelineConfig)
    for spec in _specs():
        for name in _all_fields(spec):
            if "." in name:  # a key naming the field (a bare name is a fixed column)
                assert name in keys, f"{spec.key}: {name} is no configuration key"
        assert spec.description.endswith(".") and spec.role


def test_every_key_naming_a_field_is_declared() -> None:
    """Each ``*_field`` key of an input's section is in its declaration: the declaration
    is what the readers check (geocarbon.spec.check_columns), so a key left out would be a
    column nobody checks."""
    _, keys = config_keys(PipelineConfig)
    for spec in _specs():
        if spec.kind not in ("table", "vector") or not spec.key.endswith(".path") or "[]" in spec.key:
            continue
        section = spec.section + "."
        named = {
            k for k in keys if k.startswith(section) and k.endswith("_field") and
            "." not in k.removeprefix(section)
        }  # fmt: skip
        assert named <= set(_all_fields(spec)), f"{spec.key}: {named - set(_all_fields(spec))}"


def test_roles_are_unique() -> None:
    roles = [s.role for s in _specs()]
    assert len(roles) == len(set(roles))


def test_a_list_gives_one_file_per_item() -> None:
    cfg = types.SimpleNamespace(
        pv=types.SimpleNamespace(
            buildings=types.SimpleNamespace(path="b.gpkg"),
            exclusions=[types.SimpleNamespace(path="a.gpkg"), types.SimpleNamespace(path="c.gpkg")],
            existing=None,
        )
    )
    specs = [
        InputSpec("pv.buildings.path", "buildings", "vector", "."),
        InputSpec("pv.exclusions[].path", "pv_exclusion", "vector", "."),
        InputSpec("pv.existing.path", "pv_existing", "vector", "."),
    ]
    assert declared_files(specs, cfg) == {
        "buildings": Path("b.gpkg"),
        "pv_exclusion_1": Path("a.gpkg"),
        "pv_exclusion_2": Path("c.gpkg"),
    }


def test_the_demo_records_every_declared_file_it_names(tmp_path: Path) -> None:
    cfg = load_config(REPO / "pipelines" / "demo.yaml")
    files = declared_files(_specs(), cfg)
    assert set(files) == {
        "communes", "landcover", "forest_map", "landcover_before", "buildings", "weather",
        "charging_points", "population_raster", "ev_fleet", "hedges", "hedges_before",
    }  # fmt: skip
    assert files["buildings"] == cfg.pv.buildings.path  # type: ignore[union-attr]


def test_readme_table_of_inputs_is_generated() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert with_inputs_table(text) == text, (
        "README.md's table of inputs is not the declared one: run "
        "'geocarbon schema --readme README.md' and commit README.md"
    )
    table = inputs_table(all_input_groups())
    assert "| pv | `pv.buildings.path` | vector |" in table
    assert table.count("\n") + 1 == 2 + len(_specs())


# --- outputs --------------------------------------------------------------------------------


def _written_columns(out: Path) -> dict[str, list[str]]:
    import pyogrio

    gpkg = out / "geocarbon.gpkg"
    return {
        layer: list(pyogrio.read_info(gpkg, layer=layer)["fields"])
        for layer, _ in pyogrio.list_layers(gpkg)
        if layer != "layer_styles"
    }


def _check_declared(out: Path) -> None:
    from geocarbon.spec import output_layers, undeclared_columns

    written = _written_columns(out)
    assert set(written) <= set(output_layers()), "a layer no capability declares"
    for layer, columns in written.items():
        assert undeclared_columns(layer, columns) == [], layer


def test_the_demo_writes_only_declared_columns(demo_out: Path) -> None:
    _check_declared(demo_out)


def test_the_lot_runs_write_only_declared_columns(lot_out: Path, lot_charging_out: Path) -> None:
    _check_declared(lot_out)
    _check_declared(lot_charging_out)


def test_an_undeclared_column_is_found() -> None:
    from geocarbon.spec import undeclared_columns

    assert undeclared_columns("communes", ["commune_code", "ev_pop_share_within_2.5km_fast"]) == []
    assert undeclared_columns("communes", ["stock_tc", "stock_roots_tc", "pv_kwh"]) == [
        "stock_roots_tc",
        "pv_kwh",
    ]
    assert undeclared_columns("no_such_layer", ["a"]) == ["a"]


def test_every_declared_column_has_a_unit_and_a_description() -> None:
    from geocarbon.spec import output_layers

    for layer, (_, columns) in output_layers().items():
        for owner, column in columns:
            assert column.unit and column.description.endswith("."), (layer, owner, column)


def test_readme_table_of_outputs_is_generated() -> None:
    from geocarbon.spec import with_outputs_table

    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert with_outputs_table(text) == text, (
        "README.md's table of output columns is not the declared one: run "
        "'geocarbon schema --readme README.md' and commit README.md"
    )


def test_a_declared_column_missing_is_refused_with_its_key() -> None:
    """The checks the readers make are the declarations: a commune layer lacking the field
    communes.epci_name_field names (a key once missing from the declaration) is refused."""
    import pytest

    from geocarbon.errors import InputError
    from geocarbon.spec import TERRITORY_INPUTS, check_columns, find_input, required_columns

    spec = find_input(TERRITORY_INPUTS, "communes.path")
    section = types.SimpleNamespace(
        code_field="insee", name_field="nom", epci_field="epci", population_field=None,
        epci_name_field="epci_nom",
    )  # fmt: skip
    assert required_columns(spec, section) == [
        ("insee", "communes.code_field"),
        ("nom", "communes.name_field"),
        ("epci", "communes.epci_field"),
        ("epci_nom", "communes.epci_name_field"),
    ]  # population_field null: not asked for
    check_columns(spec, section, ["insee", "nom", "epci", "epci_nom"], "communes", "c.gpkg")
    with pytest.raises(InputError) as err:
        check_columns(spec, section, ["insee", "nom", "epci"], "communes", "c.gpkg", "field")
    assert str(err.value) == (
        "communes: c.gpkg has no field 'epci_nom' (communes.epci_name_field); fields present: "
        "insee, nom, epci; set communes.epci_name_field to the field that holds it"
    )


def test_a_fixed_column_and_a_layout_column() -> None:
    import pytest

    from geocarbon.capabilities.carbon import CarbonCapability
    from geocarbon.errors import InputError
    from geocarbon.spec import check_columns, find_input

    mapping = find_input(CarbonCapability.inputs, "landcover.mapping")
    with pytest.raises(InputError, match="no column 'category'; columns present: code, cat; "
                       "this column is required"):  # fmt: skip
        check_columns(mapping, None, ["code", "cat"], "land-cover mapping", "m.csv")
    areas = find_input(CarbonCapability.inputs, "areas.path")
    wide = types.SimpleNamespace(code_field="siren", layout="wide", landuse_field="code",
                                 area_field="area")  # fmt: skip
    check_columns(areas, wide, ["siren", "111", "112"], "area table", "a.csv")
    long = types.SimpleNamespace(**{**vars(wide), "layout": "long"})
    with pytest.raises(InputError, match=r"no column 'code' \(areas.landuse_field\)"):
        check_columns(areas, long, ["siren", "111", "112"], "area table", "a.csv")
