"""A territory run: read the inputs, run the steps whose inputs the pipeline declares
(carbon stocks and flows, rooftop PV), write every output atomically with its provenance
(``run.json``)."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geocarbon import __version__, capabilities
from geocarbon.communes import (
    fill_from_neighbours,
    has_boundaries,
    join_commune_table,
    normalise_codes,
    population_values,
    prepare_communes,
)
from geocarbon.config import PipelineConfig
from geocarbon.errors import InputError
from geocarbon.geo import area_ha
from geocarbon.io.background import Worker
from geocarbon.io.deferred import DeferredFiles, files_worker
from geocarbon.io.outdir import (
    OutputSlot,
    Protected,
    check_output_dir,
    default_protected,
    reserve_output_dir,
    result_marker,
)
from geocarbon.io.report_files import prepare_report, start_report, write_report
from geocarbon.io.tables import read_csv, sha256_file, shared_parses
from geocarbon.io.vectors import read_vector
from geocarbon.io.writers import write_gpkg_layers, write_json
from geocarbon.notices import Notice
from geocarbon.spec import TERRITORY_INPUTS, check_columns, find_input
from geocarbon.state import Inputs, Progress, Results, StepAnnouncer, Timer
from geocarbon.styles import layer_styles
from geocarbon.territory import epci_coverage, partial_epci_notice, select_communes

logger = logging.getLogger(__name__)


def read_inputs(cfg: PipelineConfig) -> Inputs:
    """Read and check the communes (picking the territory's), the land cover and the other
    inputs of the configured steps (a table that two inputs name parsed once)."""
    with shared_parses():
        return _read_inputs(cfg)


def _read_inputs(cfg: PipelineConfig) -> Inputs:
    files: dict[str, Path] = {}
    notices: list[Notice] = []
    sources = _read_commune_sources(cfg.communes, files)
    if cfg.territory is not None:
        notices += _select_territory(cfg.territory, cfg.communes, sources)
    communes, more = _assemble_communes(cfg.communes, sources)
    notices += more
    epci_names = _attach_epci_names(cfg.communes, communes, files)
    full_codes = set(sources.layer_codes.dropna().astype(str))
    epci_sizes, territory_note, more = _epci_coverage(cfg, communes, sources, full_codes)
    notices += more
    known_codes = sources.known_codes | set(communes["commune_code"])
    if cfg.output_crs and has_boundaries(communes):
        notices += output_crs_notices(cfg.output_crs, communes)
    inputs = Inputs(
        communes,
        files,
        known_commune_codes=known_codes,
        notices=notices,
        epci_sizes=epci_sizes,
        epci_names=epci_names,
        epci_members=sources.members if sources.table is not None else None,
        layer_codes=full_codes,
        territory_note=territory_note,
    )
    for capability in capabilities.enabled(cfg):
        capability.read(cfg, inputs)
    return inputs


@dataclass
class _CommuneSources:
    """The communes as read, before they are checked and joined.

    Attributes
    ----------
    raw
        The commune layer (boundaries), or None for a run from the commune table only.
    table
        The commune table, or None when the pipeline declares none.
    source
        The file (and layer) the communes come from, for messages.
    layer_codes
        The normalised commune code of every row of ``raw`` (of ``table`` without a layer).
    known_codes
        Every commune code the inputs name (layer and table).
    members
        The EPCI of each commune code (index), from the table or the layer, or None.
    members_source
        Where ``members`` comes from, for messages.
    """

    raw: gpd.GeoDataFrame | None
    table: pd.DataFrame | None
    source: str
    layer_codes: pd.Series
    known_codes: set[str]
    members: pd.Series | None = None
    members_source: str | None = None


def _read_commune_table(communes_cfg: Any, files: dict[str, Path]) -> pd.DataFrame | None:
    """Read the commune table (``communes.table``) and check its declared columns.

    Raises
    ------
    InputError
        A declared column (EPCI, population, name) is missing.
    """
    table_cfg = communes_cfg.table
    if table_cfg is None:
        return None
    table = read_csv(table_cfg.path, "commune table", dtype=object, sep=table_cfg.separator)
    spec = find_input(TERRITORY_INPUTS, "communes.table.path")
    check_columns(spec, table_cfg, table.columns, "commune table", str(table_cfg.path))
    files["commune_table"] = table_cfg.path
    return table


def _read_commune_sources(communes_cfg: Any, files: dict[str, Path]) -> _CommuneSources:
    """Read the commune layer and table, their codes and the EPCI each commune belongs to.

    Raises
    ------
    InputError
        The layer has no code field, or the table lacks a declared column.
    """
    table = _read_commune_table(communes_cfg, files)
    table_cfg = communes_cfg.table
    if communes_cfg.path is not None:
        files["communes"] = communes_cfg.path
        layer = f" (layer {communes_cfg.layer})" if communes_cfg.layer else ""
        source = f"{communes_cfg.path}" + layer
        raw = read_vector(communes_cfg.path, "communes", communes_cfg.layer)
        fields = [c for c in raw.columns if c != raw.geometry.name]
        spec = find_input(TERRITORY_INPUTS, "communes.path")
        check_columns(spec, communes_cfg, fields, "communes", source, word="field")
        layer_codes = normalise_codes(raw[communes_cfg.code_field])
        known_codes = set(layer_codes.dropna().astype(str))
    else:
        assert table is not None and table_cfg is not None
        source = str(table_cfg.path)
        raw = None
        layer_codes = normalise_codes(table[table_cfg.code_field])
        known_codes = set()
    sources = _CommuneSources(raw, table, source, layer_codes, known_codes)
    _find_epci_members(communes_cfg, sources)
    return sources


def _find_epci_members(communes_cfg: Any, sources: _CommuneSources) -> None:
    """Set the EPCI of each commune code from the commune table (or else the layer's EPCI
    field), and add the table's codes to the known codes."""
    table, raw, table_cfg = sources.table, sources.raw, communes_cfg.table
    if table is not None and table_cfg is not None:
        table_codes = normalise_codes(table[table_cfg.code_field])
        sources.known_codes |= set(table_codes.dropna())
        if table_cfg.epci_field:
            members = pd.Series(
                normalise_codes(table[table_cfg.epci_field]).to_numpy(),
                index=table_codes.to_numpy(),
            )
            sources.members = members[~members.index.duplicated()]
            sources.members_source = f"{table_cfg.path}, column {table_cfg.epci_field!r}"
    elif raw is not None and communes_cfg.epci_field and communes_cfg.epci_field in raw.columns:
        sources.members = pd.Series(
            normalise_codes(raw[communes_cfg.epci_field]).to_numpy(),
            index=sources.layer_codes.to_numpy(),
        )
        sources.members_source = f"{sources.source}, field {communes_cfg.epci_field!r}"


def _select_territory(territory: Any, communes_cfg: Any, sources: _CommuneSources) -> list[Notice]:
    """Keep the rows of the layer (or table) that the ``territory`` section picks.

    Returns the notices of the selection; ``sources.raw`` (or ``sources.table``) is cut down.
    """
    raw = sources.raw
    candidate_epci = pd.Series([None] * len(sources.layer_codes), dtype=object)
    if sources.members is not None:
        candidate_epci = pd.Series(
            sources.members.reindex(sources.layer_codes.to_numpy()).to_numpy(), dtype=object
        )
    if raw is not None and communes_cfg.epci_field and communes_cfg.epci_field in raw.columns:
        own = normalise_codes(raw[communes_cfg.epci_field]).reset_index(drop=True)
        candidate_epci = candidate_epci.where(candidate_epci.notna(), own)
    selection = select_communes(
        sources.layer_codes,
        candidate_epci,
        epci_codes=[str(c) for c in territory.epci],
        departements=[str(c) for c in territory.departements],
        commune_codes=[str(c) for c in territory.communes],
        source=sources.source,
        epci_source=sources.members_source,
    )
    if raw is not None:
        sources.raw = raw[selection.mask].reset_index(drop=True)
    else:
        assert sources.table is not None
        sources.table = sources.table[selection.mask].reset_index(drop=True)
    return list(selection.notices)


def _assemble_communes(
    communes_cfg: Any, sources: _CommuneSources
) -> tuple[gpd.GeoDataFrame, list[Notice]]:
    """The communes frame: the layer checked (or the table alone), joined to the commune
    table, EPCI gaps filled from neighbours; with the notices of each stage."""
    notices: list[Notice] = []
    raw, table, table_cfg = sources.raw, sources.table, communes_cfg.table
    if raw is not None:
        communes, more = prepare_communes(
            raw,
            source=sources.source,
            code_field=communes_cfg.code_field,
            name_field=communes_cfg.name_field,
            epci_field=communes_cfg.epci_field,
            population_field=communes_cfg.population_field,
            epci_name_field=communes_cfg.epci_name_field,
        )
        notices += more
    else:
        assert table is not None and table_cfg is not None
        communes = communes_from_table(table, table_cfg, sources.source)
    if table_cfg is not None and table is not None and raw is not None:
        communes, more = join_commune_table(
            communes,
            table,
            source=str(table_cfg.path),
            code_field=table_cfg.code_field,
            epci_field=table_cfg.epci_field,
            population_field=table_cfg.population_field,
        )
        notices += more
        if table_cfg.epci_field and communes["epci_code"].isna().any():
            epci = communes.set_index("commune_code")["epci_code"]
            filled, more = fill_from_neighbours(communes, epci.dropna(), "EPCI (commune table)")
            communes["epci_code"] = filled.to_numpy()
            notices += more
    return communes, notices


def _attach_epci_names(
    communes_cfg: Any, communes: gpd.GeoDataFrame, files: dict[str, Path]
) -> pd.Series | None:
    """Read the EPCI names table (``communes.epci_names``), set ``epci_name`` on the communes
    and return the name of each EPCI code, or None when the pipeline declares no such table.

    Raises
    ------
    InputError
        The table gives different names to one EPCI code.
    """
    names_cfg = communes_cfg.epci_names
    if names_cfg is None:
        return None
    names = read_csv(names_cfg.path, "EPCI names", dtype=object, sep=names_cfg.separator)
    spec = find_input(TERRITORY_INPUTS, "communes.epci_names.path")
    check_columns(spec, names_cfg, names.columns, "EPCI names", str(names_cfg.path))
    named = names.assign(_code=normalise_codes(names[names_cfg.code_field])).drop_duplicates(
        ["_code", names_cfg.name_field]
    )
    clash = named[named["_code"].duplicated(keep=False)]
    if len(clash):
        shown = "; ".join(
            f"{code}: {', '.join(map(repr, group[names_cfg.name_field]))}"
            for code, group in list(clash.groupby("_code"))[:5]
        )
        msg = f"EPCI names: {names_cfg.path} gives different names to one EPCI ({shown}); keep one name per code"
        raise InputError(msg)
    lookup = named.set_index("_code")[names_cfg.name_field]
    communes["epci_name"] = communes["epci_code"].map(lookup).fillna("").astype(object).to_numpy()
    files["epci_names"] = names_cfg.path
    return lookup.astype(str)


def _epci_coverage(
    cfg: PipelineConfig,
    communes: gpd.GeoDataFrame,
    sources: _CommuneSources,
    full_codes: set[str],
) -> tuple[pd.DataFrame | None, str, list[Notice]]:
    """How many communes of each EPCI the run holds: the EPCI sizes table (None when no
    commune has an EPCI), the note on requested EPCIs the run holds only in part, and the
    notice on partial EPCIs."""
    if not communes["epci_code"].notna().any():
        return None, "", []
    epci_sizes = epci_coverage(
        pd.Series(communes["epci_code"].to_numpy(), index=communes["commune_code"].to_numpy()),
        sources.members,
        sources.members_source,
        layer_codes=full_codes,
    )
    territory_note = ""
    if cfg.territory is not None and cfg.territory.epci:
        territory_note = _partial_territory_note(epci_sizes, [str(c) for c in cfg.territory.epci])
    names_of = (
        communes.drop_duplicates("epci_code").set_index("epci_code")["epci_name"]
        if "epci_name" in communes.columns
        else None
    )
    return epci_sizes, territory_note, partial_epci_notice(epci_sizes, names_of)


def _partial_territory_note(epci_sizes: pd.DataFrame, epci_codes: list[str]) -> str:
    """The requested EPCIs the run holds only in part, one clause each ('' when none)."""
    picked = epci_sizes.reindex(epci_codes)
    short = picked[~picked["epci_complete"].fillna(False).astype(bool)]
    return "; ".join(
        f"the run holds {int(row.communes_in_run)} communes of EPCI {code}"
        + (
            f", which has {int(row.communes_in_epci)}"
            if pd.notna(row.communes_in_epci)
            else " (its size is unknown: no commune table)"
        )
        for code, row in short.iterrows()
    )


def communes_from_table(table: pd.DataFrame, table_cfg: Any, source: str) -> gpd.GeoDataFrame:
    """The communes of a run without boundaries, from its commune table (no geometry).

    Raises
    ------
    InputError
        Communes without code, or listed twice with different values.
    """
    codes = normalise_codes(table[table_cfg.code_field])
    if codes.isna().any():
        lines = ", ".join(str(i + 2) for i in np.flatnonzero(codes.isna().to_numpy())[:10])
        msg = f"commune table {source}: rows without a commune code in column {table_cfg.code_field!r} (lines {lines})"
        raise InputError(msg)
    frame = pd.DataFrame(
        {
            "commune_code": codes.to_numpy(),
            "commune_name": (
                table[table_cfg.name_field].astype("string").fillna("").astype(object).to_numpy()
                if table_cfg.name_field
                else ""
            ),
            "epci_code": (
                normalise_codes(table[table_cfg.epci_field]).to_numpy()
                if table_cfg.epci_field
                else None
            ),
        }
    )
    if table_cfg.population_field:
        values, _ = population_values(
            table[table_cfg.population_field],
            codes,
            f"{source}, column {table_cfg.population_field!r}",
        )
        frame["population"] = values
    distinct = frame.drop_duplicates()
    twice = distinct["commune_code"][distinct["commune_code"].duplicated()]
    if len(twice):
        msg = (
            f"commune table {source}: communes listed twice with different values: "
            f"{', '.join(sorted(set(twice))[:10])}; keep one row per commune"
        )
        raise InputError(msg)
    frame = distinct.sort_values("commune_code", kind="stable").reset_index(drop=True)
    return gpd.GeoDataFrame(frame, geometry=[None] * len(frame), crs=None)


def output_crs_notices(output_crs: str, communes: Any) -> list[Notice]:
    """A notice when the territory lies outside the area of use of ``output_crs`` (the
    layers would be drawn distorted; figures are computed in equal-area projections and do
    not change)."""
    from pyproj import CRS

    area = CRS.from_user_input(output_crs).area_of_use
    if area is None or communes.crs is None or not len(communes):
        return []
    west, south, east, north = communes.to_crs("EPSG:4326").total_bounds
    inside = (
        west >= area.west - 1 and east <= area.east + 1 and south >= area.south - 1
        and north <= area.north + 1
    )  # fmt: skip
    if inside:
        return []
    return [
        Notice(
            "output_crs_area_of_use",
            f"output_crs {output_crs} is meant for {area.name} ({area.west:g}, {area.south:g}, "
            f"{area.east:g}, {area.north:g}), not for this territory ({west:.2f}, {south:.2f}, "
            f"{east:.2f}, {north:.2f}): its layers will be drawn distorted (figures are not "
            "affected); choose a CRS of the territory (e.g. EPSG:2154 in metropolitan France)",
            facts={
                "output_crs": str(output_crs),
                "area_name": area.name,
                "area_west": area.west,
                "area_south": area.south,
                "area_east": area.east,
                "area_north": area.north,
                "west": west,
                "south": south,
                "east": east,
                "north": north,
            },
        )
    ]


def compute(cfg: PipelineConfig, inputs: Inputs, progress: Progress | None = None) -> Results:
    """Run the computation steps whose inputs the pipeline declares (no file is written)."""
    timer = Timer(progress)
    notices = list(inputs.notices)
    out = inputs.communes.copy()
    out["area_ha"] = area_ha(out) if has_boundaries(out) else np.nan
    results = Results(out, notices, timer.timings, dict(inputs.files))
    for capability in capabilities.enabled(cfg):
        shared = results.communes
        results.communes = shared.copy()  # the capability works on its own copy
        capability.compute(cfg, inputs, results, timer, progress)
        results.communes = capabilities.with_added_columns(
            shared, results.communes, capability.name
        )
    return results


#: Official projections of French territories, tried in order when every commune code is
#: an INSEE code: Lambert-93 (metropolitan France), then the UTM projections of Guadeloupe
#: and Martinique, Guyane, La Réunion and Mayotte.
FRENCH_OUTPUT_CRS = ("EPSG:2154", "EPSG:5490", "EPSG:2972", "EPSG:2975", "EPSG:4471")
#: Named equal-area CRSs used when nothing else applies: Europe, then the whole world.
EQUAL_AREA_OUTPUT_CRS = ("EPSG:3035", "EPSG:6933")
_INSEE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")


def _output_crs(cfg: PipelineConfig, inputs: Inputs, results: Results) -> Any:
    """The CRS of output layers: ``output_crs`` when configured, else
    :func:`default_output_crs` of the territory and of the inputs (land cover, buildings,
    charging points, communes)."""
    if cfg.output_crs:
        return cfg.output_crs
    candidates = [
        crs
        for capability in capabilities.computed(results)
        for crs in capability.output_crs_candidates(inputs, results)
    ]
    candidates.append(inputs.communes.crs)
    return default_output_crs(inputs.communes, candidates)


def default_output_crs(communes: gpd.GeoDataFrame, input_crs: list[Any]) -> Any:
    """The output CRS rule: one named CRS with an EPSG code, never an unnamed one.

    1. French territories (every commune code an INSEE code, the territory inside the CRS's
       area of use): Lambert-93 (EPSG:2154) in metropolitan France, the official UTM
       projection overseas (:data:`FRENCH_OUTPUT_CRS`);
    2. otherwise the first projected input CRS that has an EPSG code;
    3. otherwise ETRS89-LAEA Europe (EPSG:3035) inside its area, else the global equal-area
       EPSG:6933.

    Figures do not depend on it: areas are computed in equal-area projections.
    """
    from pyproj import CRS

    shown = communes[~(communes.geometry.isna() | communes.geometry.is_empty)]
    west, south, east, north = shown.to_crs("EPSG:4326").total_bounds

    def holds(code: str) -> bool:
        area = CRS.from_user_input(code).area_of_use
        return area is not None and (
            west >= area.west - 0.01 and east <= area.east + 0.01
            and south >= area.south - 0.01 and north <= area.north + 0.01
        )  # fmt: skip

    codes = communes["commune_code"].astype(str) if "commune_code" in communes.columns else None
    if codes is not None and len(codes) and codes.str.match(_INSEE_CODE).all():
        for code in FRENCH_OUTPUT_CRS:
            if holds(code):
                return CRS.from_user_input(code)
    for crs in input_crs:
        if crs is None:
            continue
        crs = CRS.from_user_input(crs)
        epsg = crs.to_epsg() if crs.is_projected else None
        if epsg is not None:
            return CRS.from_epsg(epsg)
    return CRS.from_user_input(next((c for c in EQUAL_AREA_OUTPUT_CRS if holds(c)), "EPSG:6933"))


def write_outputs(
    cfg: PipelineConfig,
    inputs: Inputs,
    results: Results,
    slot: OutputSlot,
    progress: Progress | None = None,
    worker: Worker | None = None,
) -> Path:
    """Write every output of a run into its reserved output folder, atomically; each
    output is announced to ``progress`` (``progress("writing <what>", 0, 1)``, then 1/1).
    While this process writes the other outputs (the interactive maps among them), the
    report is drawn and the workbook made by ``worker``
    (:func:`geocarbon.io.deferred.files_worker`) when given; else the report is drawn in a
    process forked here and the workbook made here."""
    announce = StepAnnouncer(progress)
    boundaries = has_boundaries(results.communes)
    if boundaries:
        crs = _output_crs(cfg, inputs, results)
        communes: pd.DataFrame = results.communes.to_crs(crs)
    else:
        crs = None
        communes = pd.DataFrame(results.communes.drop(columns="geometry"))
    with slot.writing() as tmp:
        start = time.perf_counter()
        layers: dict[str, pd.DataFrame] = {"communes": communes}
        done = list(capabilities.computed(results))
        for capability in done:
            layers.update(capability.layers(results, communes, crs))
        # the report is drawn by the forked process meanwhile (its charts; its static maps
        # by a process it forks)
        report = start_report(cfg, results, worker=worker)
        with report.body:  # an error below ends that process
            # the workbook goes to the worker, after the report; the interactive maps are
            # made here, while the other processes draw (with two cores, this one would wait)
            later = DeferredFiles(tmp, maps=None, workbooks=worker)
            for capability in done:
                capability.write(cfg, inputs, results, communes, tmp, announce, later)
            with announce("writing geocarbon.gpkg"):
                _write_geopackage(cfg, done, layers, tmp, styled=boundaries)
            if later.waiting:
                with announce("writing the workbook"):
                    later.finish()
            maps = (
                sorted(f.name for f in (tmp / "maps").glob("*.html"))
                if (tmp / "maps").is_dir()
                else []
            )
            with announce("writing report.html" + (" and report.pdf" if cfg.report.pdf else "")):
                write_report(tmp, cfg, results, maps, report)
        results.timings_s["write"] = round(time.perf_counter() - start, 3)
        write_json(tmp / "run.json", result_marker(slot, tmp, provenance(cfg, results)))
    return slot.target


def _write_geopackage(
    cfg: PipelineConfig, done: list[Any], layers: dict[str, pd.DataFrame], folder: Path,
    *, styled: bool,
) -> None:  # fmt: skip
    """``geocarbon.gpkg`` in ``folder``: the ``layers``, with their QGIS styles when
    ``styled`` (layers with boundaries), from the options of the capabilities ``done``."""
    options: dict[str, Any] = {}
    for capability in done:
        options.update(capability.style_options(cfg))
    write_gpkg_layers(
        folder / "geocarbon.gpkg",
        layers,
        layer_styles(layers, language=cfg.report.language, **options) if styled else None,
    )


def provenance(cfg: PipelineConfig, results: Results) -> dict[str, Any]:
    """Content of ``run.json``: version, resolved config, input fingerprints, timings, notices."""
    inputs = {}
    for key, path in sorted(results.files.items()):
        p = Path(path)
        inputs[key] = {"path": str(p), "sha256": sha256_file(p) if p.is_file() else None}
    totals: dict[str, Any] = {"communes": len(results.communes)}
    totals.update(capabilities.column_totals(results.communes, ("area_ha",)))
    facts: dict[str, Any] = {}
    for capability in capabilities.computed(results):
        totals.update(capability.run_totals(results))
        facts.update(capability.run_facts(results))
    return {
        "geocarbon_version": __version__,
        "pipeline": cfg.name,
        "pipeline_file": str(cfg.source_file) if cfg.source_file else None,
        "config": cfg.model_dump(mode="json"),
        "inputs": inputs,
        **facts,
        "timings_s": results.timings_s,
        "notices": [n.as_dict() for n in results.notices],
        "totals": totals,
        "sign_convention": "stocks in tC (positive); flows: positive = sequestration",
    }


def config_input_paths(model: Any, prefix: str = "") -> list[tuple[str, Path]]:
    """Every input path of a configuration, with its key (``communes.path``...)."""
    from pydantic import BaseModel

    found: list[tuple[str, Path]] = []
    for name in type(model).model_fields:
        if name in ("output_dir", "source_file", "zone_cache"):
            continue
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, Path):
            found.append((key, value))
        elif isinstance(value, BaseModel):
            found += config_input_paths(value, f"{key}.")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    found += config_input_paths(item, f"{key}[{i}].")
    return found


def output_protection(cfg: PipelineConfig) -> list[Protected]:
    """What a run's output folder must neither be nor hold: ``/``, the home and current
    folders, the pipeline file, every input and the zone cache folder."""
    extra = [Protected(cfg.source_file, "the pipeline file")] if cfg.source_file else []
    extra += [Protected(p, f"the input {key}") for key, p in config_input_paths(cfg)]
    if cfg.processing.zone_cache is not None:
        extra.append(Protected(cfg.processing.zone_cache, "the zone cache processing.zone_cache"))
    return default_protected(extra)


def validate(cfg: PipelineConfig, *, overwrite: bool = True) -> tuple[Inputs, list[Notice]]:
    """Check configuration and inputs without computing: files, CRS, fields, overlap, classes,
    and whether the output folder may be written (nothing is created)."""
    check_output_dir(
        cfg.resolved_output_dir(), overwrite=overwrite, protected=output_protection(cfg)
    )
    inputs = read_inputs(cfg)
    notices: list[Notice] = []
    for capability in capabilities.enabled(cfg):
        notices += capability.validate(cfg, inputs)
    return inputs, inputs.notices + notices


def run(
    cfg: PipelineConfig,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    owner_pipeline: Path | None = None,
) -> tuple[Path, Results]:
    """Run a pipeline end to end and write its outputs.

    The output folder is checked and reserved (locked) first, so that a run that cannot write
    its results fails before computing, and two runs never write the same folder.

    Parameters
    ----------
    cfg : PipelineConfig
        The pipeline.
    overwrite : bool
        Replace an existing geocarbon result in the output folder.
    progress : callable, optional
        ``progress(step, done, total)``.
    owner_pipeline : Path, optional
        Replace an existing result only when this pipeline file wrote it (the demo).

    Returns
    -------
    out_dir : Path
        The output folder.
    results : Results
        What was computed.
    """
    out_dir = cfg.resolved_output_dir()
    with reserve_output_dir(
        out_dir,
        overwrite=overwrite,
        protected=output_protection(cfg),
        owner_pipeline=owner_pipeline,
    ) as slot, files_worker() as worker:
        # the forked process imports its libraries while the inputs are read
        start = time.perf_counter()
        with StepAnnouncer(progress)("reading inputs"):
            inputs = read_inputs(cfg)
        worker.follow_imports()  # the modules of the results: imported meanwhile
        prepare_report(worker, cfg, inputs.communes)
        read_s = time.perf_counter() - start
        results = compute(cfg, inputs, progress)
        results.timings_s = {"read_inputs": round(read_s, 3), **results.timings_s}
        for notice in results.notices:
            logger.warning("%s", notice)
        target = write_outputs(cfg, inputs, results, slot, progress, worker)
    return target, results
