"""The declared inputs of a run: every file a pipeline may name, with its kind, the fields it
must hold, its units and CRS rule.

Each capability declares its inputs (``Capability.inputs``); the commune inputs are
:data:`TERRITORY_INPUTS`. From these declarations come the files a run records
(:func:`declared_files`: ``run.json``, the report's inputs table) and the README's table of
inputs (:func:`inputs_table`); ``tests/test_spec.py`` checks that every path key of the
configuration is declared exactly once, so that the declarations cannot drift from the
configuration.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

InputKind = Literal["raster", "vector", "table", "grid", "weather", "folder", "mapping"]


@dataclass(frozen=True)
class InputSpec:
    """One input file a pipeline may name.

    Attributes
    ----------
    key : str
        Its path key in the pipeline file (``pv.buildings.path``; ``[]`` marks a list:
        ``pv.exclusions[].path``).
    role : str
        Its identifier in ``run.json`` and the report (``buildings``); a list's items get
        ``<role>_<n>`` (from 1).
    kind : {"raster", "vector", "table", "grid", "weather", "folder", "mapping"}
        What it is read as (``grid``: a raster, square polygons or a table of cell ids).
    fields : tuple of str
        The fields or columns it must hold: keys of the pipeline file naming one
        (``communes.code_field``; a key set to null asks for none), or fixed column names.
        Readers check them with :func:`check_columns`, so this list is the check.
    optional_fields : tuple of str
        Fields read when the file has them (same notation).
    layout_fields : tuple of (str, tuple of str)
        Fields required only when the input's ``layout`` key has the given value
        (``("long", ("areas.landuse_field", "areas.area_field"))``).
    units : str
        Units of its values.
    crs : str
        Its CRS rule.
    description : str
        What it is, in a sentence.
    """

    key: str
    role: str
    kind: InputKind
    description: str
    fields: tuple[str, ...] = ()
    units: str = ""
    crs: str = ""
    optional_fields: tuple[str, ...] = ()
    layout_fields: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def section(self) -> str:
        """The pipeline section holding this input's keys (``areas`` for ``areas.path``)."""
        return self.key.rsplit(".", 1)[0] if self.key.endswith(".path") else self.key


def required_columns(spec: InputSpec, section: Any) -> list[tuple[str, str]]:
    """The columns a file of ``spec`` must hold: (column, where it is asked for) pairs, the
    key of the pipeline file (or ``"fixed"``). ``section`` is the input's configuration
    section (:attr:`InputSpec.section`, e.g. the ``areas`` model), whose keys name the
    columns; a key set to null asks for none.

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> spec = InputSpec("areas.path", "areas", "table", "", fields=("areas.code_field",),
    ...                  layout_fields=(("long", ("areas.area_field",)),))
    >>> required_columns(spec, NS(code_field="insee", layout="wide", area_field="ha"))
    [('insee', 'areas.code_field')]
    >>> required_columns(spec, NS(code_field="insee", layout="long", area_field="ha"))
    [('insee', 'areas.code_field'), ('ha', 'areas.area_field')]
    """
    prefix = spec.section + "."
    layout = getattr(section, "layout", None)
    wanted = list(spec.fields)
    for value, fields in spec.layout_fields:
        if layout == value:
            wanted += fields
    out: list[tuple[str, str]] = []
    for field in wanted:
        if not field.startswith(prefix):
            out.append((field, "fixed"))
        elif (name := getattr(section, field.removeprefix(prefix))) is not None:
            out.append((str(name), field))
    return out


def find_input(specs: Iterable[InputSpec], key: str) -> InputSpec:
    """The input of ``specs`` whose path key is ``key``."""
    return next(s for s in specs if s.key == key)


def check_columns(
    spec: InputSpec,
    section: Any,
    columns: Iterable[str],
    what: str,
    source: str,
    word: str = "column",
) -> None:
    """Refuse a file of ``spec`` lacking one of its :func:`required_columns`.

    Raises
    ------
    InputError
        Naming the first missing column, the key that asks for it and the columns present.
    """
    from geocarbon.errors import InputError

    present = [str(c) for c in columns]
    for name, key in required_columns(spec, section):
        if name not in present:
            fix = (
                f"this {word} is required"
                if key == "fixed"
                else f"set {key} to the {word} that holds it"
            )
            asked = "" if key == "fixed" else f" ({key})"
            msg = (
                f"{what}: {source} has no {word} {name!r}{asked}; {word}s present: "
                f"{', '.join(present) or 'none'}; {fix}"
            )
            raise InputError(msg)


def declared_inputs(owner: str) -> tuple[InputSpec, ...]:
    """The inputs ``owner`` (``territory`` or a capability's name) declares in
    ``geocarbon/specs/inputs.csv``: one row per input (capability, key, role, kind,
    description, fields, optional_fields, layout_fields, units, crs); fields are separated by
    spaces, layouts written ``long: a b; wide: c``.

    Raises
    ------
    ValueError
        An unknown kind or a row without description (a packaging error).
    """
    from typing import get_args

    from geocarbon.io.text_tables import package_rows

    out = []
    for row in package_rows("specs", "inputs.csv"):
        if row["capability"] != owner:
            continue
        if row["kind"] not in get_args(InputKind) or not row["description"]:
            msg = f"geocarbon/specs/inputs.csv: {row['key']} has an unknown kind or no description"
            raise ValueError(msg)
        layouts = []
        for part in filter(None, (p.strip() for p in row["layout_fields"].split(";"))):
            value, fields = part.split(":", 1)
            layouts.append((value.strip(), tuple(fields.split())))
        out.append(
            InputSpec(
                row["key"],
                row["role"],
                row["kind"],  # type: ignore[arg-type]  # checked above
                row["description"],
                fields=tuple(row["fields"].split()),
                units=row["units"],
                crs=row["crs"],
                optional_fields=tuple(row["optional_fields"].split()),
                layout_fields=tuple(layouts),
            )
        )
    return tuple(out)


#: The communes: boundaries, commune table, EPCI names.
TERRITORY_INPUTS: tuple[InputSpec, ...] = declared_inputs("territory")


def _values(cfg: Any, key: str) -> list[Path]:
    """The paths ``key`` names in ``cfg`` (none when a section is absent; one per list item)."""
    found: list[Any] = [cfg]
    for part in key.split("."):
        name, many = part.removesuffix("[]"), part.endswith("[]")
        nxt: list[Any] = []
        for obj in found:
            value = getattr(obj, name, None)
            if value is None:
                continue
            nxt.extend(value if many else [value])
        found = nxt
    return [Path(v) for v in found if v is not None]


def declared_files(specs: Iterable[InputSpec], cfg: Any) -> dict[str, Path]:
    """The files of ``specs`` that ``cfg`` names, by role (``<role>_<n>`` for list items).

    Examples
    --------
    >>> from types import SimpleNamespace as NS
    >>> cfg = NS(pv=NS(buildings=NS(path="b.gpkg"), exclusions=[NS(path="z.gpkg")]))
    >>> specs = [InputSpec("pv.buildings.path", "buildings", "vector", ""),
    ...          InputSpec("pv.exclusions[].path", "pv_exclusion", "vector", "")]
    >>> declared_files(specs, cfg)
    {'buildings': PosixPath('b.gpkg'), 'pv_exclusion_1': PosixPath('z.gpkg')}
    """
    files: dict[str, Path] = {}
    for spec in specs:
        paths = _values(cfg, spec.key)
        if "[]" in spec.key:
            files.update({f"{spec.role}_{i + 1}": p for i, p in enumerate(paths)})
        elif paths:
            files[spec.role] = paths[0]
    return files


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def inputs_table(groups: Sequence[tuple[str, Sequence[InputSpec]]]) -> str:
    """The Markdown table of the declared inputs (README, "Inputs"): one row per input, by
    capability."""
    rows = [
        "| capability | key | kind | what | fields (keys naming them) | units | CRS |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, specs in groups:
        for s in specs:
            fields = ", ".join(f"`{f}`" for f in s.fields)
            for layout, more in s.layout_fields:
                fields += f"; layout {layout}: " + ", ".join(f"`{f}`" for f in more)
            if s.optional_fields:
                fields += "; when present: " + ", ".join(f"`{f}`" for f in s.optional_fields)
            rows.append(
                f"| {name} | `{s.key}` | {s.kind} | {_cell(s.description)} | {fields} | "
                f"{_cell(s.units)} | {_cell(s.crs)} |"
            )
    return "\n".join(rows)


def all_input_groups() -> list[tuple[str, Sequence[InputSpec]]]:
    """(capability, its inputs) for the territory and every registered capability."""
    from geocarbon import capabilities

    groups: list[tuple[str, Sequence[InputSpec]]] = [("territory", TERRITORY_INPUTS)]
    groups += [(c.name, c.inputs) for c in capabilities.all_capabilities()]
    return groups


#: Markers around the generated table of inputs in the README.
INPUTS_START = "<!-- inputs:start -->"
INPUTS_END = "<!-- inputs:end -->"


def between_markers(text: str, start: str, end: str, body: str, what: str, source: str) -> str:
    """``text`` with the part between the lines ``start`` and ``end`` replaced by ``body``
    (the generated tables of the README).

    Raises
    ------
    ConfigError
        When the markers are missing, repeated or out of order.
    """
    from geocarbon.errors import ConfigError

    first, last = text.find(start), text.find(end)
    if text.count(start) != 1 or text.count(end) != 1 or last < first:
        msg = (
            f"{source}: expected one {start} line followed by one {end} line around the table "
            f"of {what}; add them where the table goes"
        )
        raise ConfigError(msg)
    return f"{text[: first + len(start)]}\n{body}\n{text[last:]}"


def with_inputs_table(text: str, source: str = "README.md") -> str:
    """``text`` (a README) with the table of every declared input between its markers."""
    return between_markers(
        text, INPUTS_START, INPUTS_END, inputs_table(all_input_groups()), "input files", source
    )


# --- Outputs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputColumn:
    """A column of an output layer.

    Attributes
    ----------
    name : str
        Its name, or a regular expression for a family of columns (``ev_pop_share_within_<d>``).
    unit : str
        Its unit (``tC``, ``kWp``, ``0–1``, ``count``, ``text``...).
    description : str
        What it is.
    """

    name: str
    unit: str
    description: str

    def matches(self, column: str) -> bool:
        """Whether ``column`` is this column (or one of its family)."""
        import re

        return re.fullmatch(self.name, column) is not None


@dataclass(frozen=True)
class LayerSpec:
    """Columns one capability gives a GeoPackage layer (a layer may get columns from several:
    the ``communes`` layer)."""

    layer: str
    geometry: str
    columns: tuple[OutputColumn, ...]


def declared_outputs(owner: str) -> tuple[LayerSpec, ...]:
    """The output columns ``owner`` (``territory`` or a capability's name) declares in
    ``geocarbon/specs/outputs.csv`` (columns capability, layer, geometry, column, unit,
    description; one row per column, grouped by layer in file order).

    Raises
    ------
    ValueError
        A row without a unit or description, or a layer given two geometries (a packaging
        error).
    """
    from geocarbon.io.text_tables import package_rows

    layers: dict[str, tuple[str, list[OutputColumn]]] = {}
    for row in package_rows("specs", "outputs.csv"):
        if row["capability"] != owner:
            continue
        if not row["unit"] or not row["description"]:
            msg = f"geocarbon/specs/outputs.csv: {row['column']} has no unit or no description"
            raise ValueError(msg)
        geometry, columns = layers.setdefault(row["layer"], (row["geometry"], []))
        if geometry != row["geometry"]:
            msg = f"geocarbon/specs/outputs.csv: layer {row['layer']} has two geometries"
            raise ValueError(msg)
        columns.append(OutputColumn(row["column"], row["unit"], row["description"]))
    return tuple(LayerSpec(name, g, tuple(c)) for name, (g, c) in layers.items())


#: The communes layer's own columns.
TERRITORY_OUTPUTS: tuple[LayerSpec, ...] = declared_outputs("territory")


def output_layers() -> dict[str, tuple[str, list[tuple[str, OutputColumn]]]]:
    """Every declared output layer: name → (geometry, [(capability, column)...])."""
    from geocarbon import capabilities

    groups: list[tuple[str, Sequence[LayerSpec]]] = [("territory", TERRITORY_OUTPUTS)]
    groups += [(c.name, c.outputs) for c in capabilities.all_capabilities()]
    layers: dict[str, tuple[str, list[tuple[str, OutputColumn]]]] = {}
    for name, specs in groups:
        for spec in specs:
            _, columns = layers.setdefault(spec.layer, (spec.geometry, []))
            columns.extend((name, column) for column in spec.columns)
    return layers


def undeclared_columns(layer: str, columns: Iterable[str]) -> list[str]:
    """The ``columns`` of ``layer`` that no declaration matches (the layer itself unknown:
    all of them)."""
    declared = [c for _, c in output_layers().get(layer, ("", []))[1]]
    return [name for name in columns if not any(c.matches(name) for c in declared)]


def outputs_table() -> str:
    """The Markdown table of the declared output columns (README, "Every output column")."""
    rows = ["| layer | column | unit | from | what |", "|---|---|---|---|---|"]
    for layer, (geometry, columns) in output_layers().items():
        for owner, c in columns:
            name = c.name.replace("\\d+", "<n>").replace("(?:_fast)?", "[_fast]")
            rows.append(
                f"| `{layer}` ({geometry}) | `{_cell(name)}` | {_cell(c.unit)} | {owner} | "
                f"{_cell(c.description)} |"
            )
    return "\n".join(rows)


#: Markers around the generated table of output columns in the README.
OUTPUTS_START = "<!-- outputs:start -->"
OUTPUTS_END = "<!-- outputs:end -->"


def with_outputs_table(text: str, source: str = "README.md") -> str:
    """``text`` (a README) with the table of every declared output column between its
    markers."""
    return between_markers(
        text, OUTPUTS_START, OUTPUTS_END, outputs_table(), "output columns", source
    )
