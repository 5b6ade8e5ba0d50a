"""A territory run: read the inputs, run the steps whose inputs the pipeline declares
(carbon stocks and flows, rooftop PV), write every output atomically with its provenance
(``run.json``)."""

from __future__ import annotations

import logging
import re
import time
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
from geocarbon.io.outdir import (
    OutputSlot,
    Protected,
    check_output_dir,
    default_protected,
    reserve_output_dir,
    result_marker,
)
from geocarbon.io.report_files import write_report
from geocarbon.io.tables import read_csv, sha256_file
from geocarbon.io.vectors import read_vector
from geocarbon.io.writers import write_gpkg_layers, write_json
from geocarbon.notices import Notice
from geocarbon.state import Inputs, Progress, Results, StepAnnouncer, Timer
from geocarbon.styles import layer_styles
from geocarbon.territory import epci_coverage, partial_epci_notice, select_communes

logger = logging.getLogger(__name__)


def read_inputs(cfg: PipelineConfig) -> Inputs:
    """Read and check the communes (picking the territory's), the land cover and the other
    inputs of the configured steps."""
    files: dict[str, Path] = {}
    notices: list[Notice] = []
    ccfg = cfg.communes
    table = None
    tcfg = ccfg.table
    if tcfg is not None:
        table = read_csv(
            tcfg.path, "commune table", required=[tcfg.code_field], dtype=object, sep=tcfg.separator
        )
        for fld in (tcfg.epci_field, tcfg.population_field, tcfg.name_field):
            if fld and fld not in table.columns:
                msg = f"commune table: {tcfg.path} has no column {fld!r}; columns: {', '.join(table.columns)}"
                raise InputError(msg)
        files["commune_table"] = tcfg.path
    if ccfg.path is not None:
        files["communes"] = ccfg.path
        source = f"{ccfg.path}" + (f" (layer {ccfg.layer})" if ccfg.layer else "")
        raw = read_vector(ccfg.path, "communes", ccfg.layer)
        if ccfg.code_field not in raw.columns:
            fields = [c for c in raw.columns if c != raw.geometry.name]
            msg = f"communes: {source} has no field {ccfg.code_field!r} (communes.code_field); fields present: {', '.join(fields)}"
            raise InputError(msg)
        layer_codes = normalise_codes(raw[ccfg.code_field])
        known_codes = set(layer_codes.dropna().astype(str))
    else:
        assert table is not None and tcfg is not None
        source = str(tcfg.path)
        raw = None
        layer_codes = normalise_codes(table[tcfg.code_field])
        known_codes = set()
    members = members_source = None
    if table is not None and tcfg is not None:
        known_codes |= set(normalise_codes(table[tcfg.code_field]).dropna())
        if tcfg.epci_field:
            members = pd.Series(
                normalise_codes(table[tcfg.epci_field]).to_numpy(),
                index=normalise_codes(table[tcfg.code_field]).to_numpy(),
            )
            members = members[~members.index.duplicated()]
            members_source = f"{tcfg.path}, column {tcfg.epci_field!r}"
    elif raw is not None and ccfg.epci_field and ccfg.epci_field in raw.columns:
        members = pd.Series(
            normalise_codes(raw[ccfg.epci_field]).to_numpy(), index=layer_codes.to_numpy()
        )
        members_source = f"{source}, field {ccfg.epci_field!r}"
    if cfg.territory is not None:
        terr = cfg.territory
        candidate_epci = pd.Series([None] * len(layer_codes), dtype=object)
        if members is not None:
            candidate_epci = pd.Series(
                members.reindex(layer_codes.to_numpy()).to_numpy(), dtype=object
            )
        if raw is not None and ccfg.epci_field and ccfg.epci_field in raw.columns:
            own = normalise_codes(raw[ccfg.epci_field]).reset_index(drop=True)
            candidate_epci = candidate_epci.where(candidate_epci.notna(), own)
        selection = select_communes(
            layer_codes,
            candidate_epci,
            epci_codes=[str(c) for c in terr.epci],
            departements=[str(c) for c in terr.departements],
            commune_codes=[str(c) for c in terr.communes],
            source=source,
            epci_source=members_source,
        )
        notices += selection.notices
        if raw is not None:
            raw = raw[selection.mask].reset_index(drop=True)
        else:
            assert table is not None
            table = table[selection.mask].reset_index(drop=True)
    if raw is not None:
        communes, more = prepare_communes(
            raw,
            source=source,
            code_field=ccfg.code_field,
            name_field=ccfg.name_field,
            epci_field=ccfg.epci_field,
            population_field=ccfg.population_field,
            epci_name_field=ccfg.epci_name_field,
        )
        notices += more
    else:
        assert table is not None and tcfg is not None
        communes = communes_from_table(table, tcfg, source)
    if tcfg is not None and table is not None and raw is not None:
        communes, more = join_commune_table(
            communes,
            table,
            source=str(tcfg.path),
            code_field=tcfg.code_field,
            epci_field=tcfg.epci_field,
            population_field=tcfg.population_field,
        )
        notices += more
        if tcfg.epci_field and communes["epci_code"].isna().any():
            epci = communes.set_index("commune_code")["epci_code"]
            filled, more = fill_from_neighbours(communes, epci.dropna(), "EPCI (commune table)")
            communes["epci_code"] = filled.to_numpy()
            notices += more
    if ccfg.epci_names is not None:
        ncfg = ccfg.epci_names
        names = read_csv(
            ncfg.path,
            "EPCI names",
            required=[ncfg.code_field, ncfg.name_field],
            dtype=object,
            sep=ncfg.separator,
        )
        named = names.assign(_code=normalise_codes(names[ncfg.code_field])).drop_duplicates(
            ["_code", ncfg.name_field]
        )
        clash = named[named["_code"].duplicated(keep=False)]
        if len(clash):
            shown = "; ".join(
                f"{code}: {', '.join(map(repr, group[ncfg.name_field]))}"
                for code, group in list(clash.groupby("_code"))[:5]
            )
            msg = f"EPCI names: {ncfg.path} gives different names to one EPCI ({shown}); keep one name per code"
            raise InputError(msg)
        lookup = named.set_index("_code")[ncfg.name_field]
        communes["epci_name"] = (
            communes["epci_code"].map(lookup).fillna("").astype(object).to_numpy()
        )
        files["epci_names"] = ncfg.path
        epci_names = lookup.astype(str)
    else:
        epci_names = None
    epci_sizes = None
    full_codes = set(layer_codes.dropna().astype(str))
    territory_note = ""
    if communes["epci_code"].notna().any():
        epci_sizes = epci_coverage(
            pd.Series(communes["epci_code"].to_numpy(), index=communes["commune_code"].to_numpy()),
            members,
            members_source,
            layer_codes=full_codes,
        )
        if cfg.territory is not None and cfg.territory.epci:
            picked = epci_sizes.reindex([str(c) for c in cfg.territory.epci])
            short = picked[~picked["epci_complete"].fillna(False).astype(bool)]
            territory_note = "; ".join(
                f"the run holds {int(row.communes_in_run)} communes of EPCI {code}"
                + (
                    f", which has {int(row.communes_in_epci)}"
                    if pd.notna(row.communes_in_epci)
                    else " (its size is unknown: no commune table)"
                )
                for code, row in short.iterrows()
            )
        names_of = (
            communes.drop_duplicates("epci_code").set_index("epci_code")["epci_name"]
            if "epci_name" in communes.columns
            else None
        )
        notices += partial_epci_notice(epci_sizes, names_of)
    known_codes |= set(communes["commune_code"])
    if cfg.output_crs and has_boundaries(communes):
        notices += output_crs_notices(cfg.output_crs, communes)
    inputs = Inputs(
        communes,
        None,
        None,
        files,
        known_commune_codes=known_codes,
        notices=notices,
        epci_sizes=epci_sizes,
        epci_names=epci_names,
        epci_members=members if table is not None else None,
        layer_codes=full_codes,
        territory_note=territory_note,
    )
    for capability in capabilities.enabled(cfg):
        capability.read(cfg, inputs)
    return inputs


def communes_from_table(table: pd.DataFrame, tcfg: Any, source: str) -> gpd.GeoDataFrame:
    """The communes of a run without boundaries, from its commune table (no geometry).

    Raises
    ------
    InputError
        Communes without code, or listed twice with different values.
    """
    codes = normalise_codes(table[tcfg.code_field])
    if codes.isna().any():
        lines = ", ".join(str(i + 2) for i in np.flatnonzero(codes.isna().to_numpy())[:10])
        msg = f"commune table {source}: rows without a commune code in column {tcfg.code_field!r} (lines {lines})"
        raise InputError(msg)
    frame = pd.DataFrame(
        {
            "commune_code": codes.to_numpy(),
            "commune_name": (
                table[tcfg.name_field].astype("string").fillna("").astype(object).to_numpy()
                if tcfg.name_field
                else ""
            ),
            "epci_code": (
                normalise_codes(table[tcfg.epci_field]).to_numpy() if tcfg.epci_field else None
            ),
        }
    )
    if tcfg.population_field:
        values, _ = population_values(
            table[tcfg.population_field], codes, f"{source}, column {tcfg.population_field!r}"
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
        capability.compute(cfg, inputs, results, timer, progress)
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
) -> Path:
    """Write every output of a run into its reserved output folder, atomically; each
    output is announced to ``progress`` (``progress("writing <what>", 0, 1)``, then 1/1)."""
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
        with announce("writing geocarbon.gpkg"):
            options: dict[str, Any] = {}
            for capability in done:
                options.update(capability.style_options(cfg))
            write_gpkg_layers(
                tmp / "geocarbon.gpkg",
                layers,
                layer_styles(layers, language=cfg.report.language, **options)
                if boundaries
                else None,
            )
        for capability in done:
            capability.write(cfg, inputs, results, communes, tmp, announce)
        maps = (
            sorted(f.name for f in (tmp / "maps").glob("*.html")) if (tmp / "maps").is_dir() else []
        )
        with announce("writing report.html" + (" and report.pdf" if cfg.report.pdf else "")):
            write_report(tmp, cfg, results, maps)
        results.timings_s["write"] = round(time.perf_counter() - start, 3)
        write_json(tmp / "run.json", result_marker(slot, tmp, provenance(cfg, results)))
    return slot.target


def provenance(cfg: PipelineConfig, results: Results) -> dict[str, Any]:
    """Content of ``run.json``: version, resolved config, input fingerprints, timings, notices."""
    inputs = {}
    for key, path in sorted(results.files.items()):
        p = Path(path)
        inputs[key] = {"path": str(p), "sha256": sha256_file(p) if p.is_file() else None}
    totals: dict[str, Any] = {"communes": len(results.communes)}
    totals.update(capabilities.column_totals(results.communes, ("area_ha",)))
    for capability in capabilities.computed(results):
        totals.update(capability.run_totals(results))
    return {
        "geocarbon_version": __version__,
        "pipeline": cfg.name,
        "pipeline_file": str(cfg.source_file) if cfg.source_file else None,
        "config": cfg.model_dump(mode="json"),
        "inputs": inputs,
        "coefficient_set": results.coefficient_set,
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
        if name in ("output_dir", "source_file"):
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
    folders, the pipeline file and every input."""
    extra = [Protected(cfg.source_file, "the pipeline file")] if cfg.source_file else []
    extra += [Protected(p, f"the input {key}") for key, p in config_input_paths(cfg)]
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
    ) as slot:
        start = time.perf_counter()
        with StepAnnouncer(progress)("reading inputs"):
            inputs = read_inputs(cfg)
        read_s = time.perf_counter() - start
        results = compute(cfg, inputs, progress)
        results.timings_s = {"read_inputs": round(read_s, 3), **results.timings_s}
        for notice in results.notices:
            logger.warning("%s", notice)
        target = write_outputs(cfg, inputs, results, slot, progress)
    return target, results
