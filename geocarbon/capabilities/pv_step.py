"""Rooftop PV step of a territory run: buildings → roofs → yields → per-commune totals,
targets, outputs."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocarbon.capabilities.pv_buildings import (
    ROLES,
    BuildingFields,
    layout_notice,
    light_structures,
    not_in_service,
    osm_heights,
    osm_roof_ranges,
    public_usages,
    resolve_fields,
)
from geocarbon.charging.indicators import area_share_inside
from geocarbon.classes import PV_BUILDING_CLASSES, format_value
from geocarbon.communes import polygonal_part
from geocarbon.config import PipelineConfig, PvConfig
from geocarbon.distributed import chunk_mapper
from geocarbon.errors import InputError
from geocarbon.geo import local_equal_area_crs
from geocarbon.io.deferred import DeferredFiles
from geocarbon.io.vectors import read_vector
from geocarbon.io.weather import read_weather
from geocarbon.io.writers import write_csv
from geocarbon.labels import Language, label, reason_label
from geocarbon.maps import (
    ChoroplethLayer,
    Overlay,
    choropleth_map,
    commune_tooltip,
    labelled,
    map_title,
)
from geocarbon.notices import Notice
from geocarbon.solar.checks import existing_kwp_values, irradiation_problem
from geocarbon.solar.roofs import buildings_cover, installation_buildings, roof_potential, within
from geocarbon.solar.yield_model import (
    check_weather,
    check_weather_site,
    closure_notices,
    dni_from_ghi,
    irradiance_closure,
    mean_yield,
    repair_notice,
    specific_yield,
)
from geocarbon.spec import check_columns, find_input
from geocarbon.territory import COVERAGE_MIN, level_rows
from geocarbon.values import Weather

logger = logging.getLogger(__name__)

#: Largest plausible building footprint [m²] (the largest buildings on Earth cover about
#: 50 ha): above it a footprint is a data error (a territory or parcel polygon) and gets no
#: panels, with its reason.
MAX_FOOTPRINT_M2 = 1_000_000.0
#: Highest plausible building height or roof altitude range [m] (the tallest tower: 828 m).
MAX_HEIGHT_M = 1_000.0

BUILDING_COLUMNS = [
    "building_id",
    "commune_code",
    "footprint_m2",
    "roof_type",
    "usable_m2",
    "kwp",
    "kwh_per_yr",
    "kwh_per_kwp",
    "excluded_reason",
    "height_m",
    "roof_range_m",
    "usage",
    "public",
    "large_roof",
]


@dataclass
class PvResults:
    """What the rooftop PV step computed."""

    buildings: gpd.GeoDataFrame
    yields: pd.DataFrame
    summary: pd.DataFrame
    targets: pd.DataFrame
    levels: pd.DataFrame | None = None
    """Figures per commune, EPCI and territory, each saying what it covers
    (``pv_indicators.csv``, see :func:`pv_level_rows`)."""


@dataclass
class PvInputs:
    """The rooftop PV inputs, read and checked: ``run`` and ``validate`` read them here, and
    the computation reads nothing more (:func:`compute_pv`)."""

    buildings: gpd.GeoDataFrame
    """Buildings as checked by :func:`prepare_buildings` (in the file's CRS)."""
    weather: Weather | None
    """The weather file's year, checked; None without ``pv.weather``."""
    ghi_kwh_per_m2_yr: np.ndarray | None
    """Annual irradiation at each building [kWh/m²/yr] from ``pv.irradiation_raster``."""
    exclusions: list[tuple[str, gpd.GeoDataFrame]]
    """(reason, zones) of each ``pv.exclusions`` entry."""
    existing: gpd.GeoDataFrame | None
    """Existing installations (``pv.existing``)."""
    existing_power_kwp: np.ndarray | None
    """Power of each existing installation [kWp] (None without ``pv.existing.kwp_field``)."""
    notices: list[Notice]
    """What reading and checking found (added to the run's notices when it computes)."""
    closure: dict[str, Any] | None = None
    """Closure of the weather file's irradiance (:func:`weather_closure`); None without
    ``pv.weather``."""


def read_pv_inputs(cfg: PipelineConfig, communes: gpd.GeoDataFrame) -> PvInputs:
    """Read and check every rooftop PV input the pipeline names (buildings, weather,
    irradiation at the buildings, exclusion zones, existing installations)."""
    pv = cfg.pv
    assert pv is not None
    raw = read_vector(pv.buildings.path, "buildings", pv.buildings.layer)
    buildings, notices = prepare_buildings(raw, pv, str(pv.buildings.path))
    weather = closure = None
    if pv.weather is not None:
        weather = read_weather(pv.weather.path, pv.weather.format)
        check_weather(weather)
        notices += check_weather_site(weather, *_centre_lat_lon(communes))
        weather, closure, more = weather_closure(weather, pv.weather.repair)
        notices += more
    ghi = None
    if pv.irradiation_raster is not None:
        ghi = irradiation_at(building_points(buildings, communes), pv.irradiation_raster)
    exclusions = [
        (zone.reason, read_vector(zone.path, "exclusion zones", zone.layer, allow_empty=True))
        for zone in pv.exclusions
    ]
    existing = power = None
    if pv.existing is not None:
        existing = read_vector(
            pv.existing.path, "existing installations", pv.existing.layer, allow_empty=True
        )
        power, more = existing_power(existing, pv)
        notices += more
    return PvInputs(buildings, weather, ghi, exclusions, existing, power, notices, closure)


def weather_closure(weather: Weather, repair: str) -> tuple[Weather, dict[str, Any], list[Notice]]:
    """The weather year the yields use (its DNI rebuilt from GHI and DHI with ``repair``
    ``dni_from_ghi``), the closure of its irradiance and the notices saying it.

    Returns
    -------
    weather : Weather
        As read, or repaired.
    closure : dict
        The ``pv_yields.csv`` columns: ``weather_closure_pct`` [%] (the file's
        (Σ DNI·cos z + DHI) / Σ GHI − 1 over the daytime hours), ``weather_hours_off_h``
        [h] (daytime hours off by more than 20 %), ``weather_repair`` and
        ``weather_closure_used_pct`` [%] (that of the irradiance the yields use).
    notices : list of Notice
        ``weather_irradiance_closure`` (closure above 3 %, without repair) or
        ``weather_dni_repaired``.
    """
    share, hours_off = irradiance_closure(weather)
    used_share = share
    if repair == "dni_from_ghi":
        weather_used = dni_from_ghi(weather)
        used_share = irradiance_closure(weather_used)[0]
        notices = [repair_notice(weather, share, hours_off, used_share)]
    else:
        weather_used = weather
        notices = closure_notices(weather, share, hours_off)
    closure = {
        "weather_closure_pct": share * 100.0,
        "weather_hours_off_h": hours_off,
        "weather_repair": repair,
        "weather_closure_used_pct": used_share * 100.0,
    }
    return weather_used, closure, notices


def _number(frame: pd.DataFrame, field: str | None) -> np.ndarray:
    if field is None or field not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[field], errors="coerce").to_numpy(dtype=float)


def prepare_buildings(
    raw: gpd.GeoDataFrame, pv: PvConfig, source: str
) -> tuple[gpd.GeoDataFrame, list[Notice]]:
    """Ids, heights, roof ranges, usage; geometry checks and non-roofs (light structures,
    buildings not in service, as ``pv.buildings.exclude`` says) with an ``excluded_reason``.

    The fields come from the file's layout (:func:`~geocarbon.capabilities.pv_buildings.resolve_fields`),
    said in a ``buildings_layout`` notice. Buildings are never dropped: those that cannot
    carry panels keep a reason.
    """
    building_cfg = pv.buildings
    _check_buildings_file(raw, building_cfg, source)
    resolved = resolve_fields(raw, building_cfg, source)
    fields = resolved.fields
    notices = [layout_notice(resolved, source)]
    reason = np.full(len(raw), "", dtype=object)
    ids, more = _building_ids(raw, fields["id"], reason)
    notices += more
    geoms, more = _building_geometries(raw, ids, reason)
    notices += more
    height, more = _building_heights(raw, resolved, reason)
    notices += more
    _non_roofs(raw, resolved, building_cfg.exclude, reason)
    roof_range, more = _roof_ranges(raw, resolved, pv)
    notices += more
    usage_field = fields["usage"]
    usage = (
        raw[usage_field].astype("string").fillna("").astype(object).to_numpy()
        if usage_field and usage_field in raw.columns
        else np.full(len(raw), "", dtype=object)
    )
    out = gpd.GeoDataFrame(
        {
            "building_id": ids,
            "height_m": height,
            "roof_range_m": roof_range,
            "usage": usage,
            "public": np.isin(usage, public_usages(resolved, building_cfg)),
            "excluded_reason": reason,
        },
        geometry=np.where(shapely.is_missing(geoms), shapely.Polygon(), geoms),
        crs=raw.crs,
    )
    return out, notices


#: ``excluded_reason`` of each kind of non-roof of ``pv.buildings.exclude``.
NON_ROOF_REASONS = {"light_structure": "light structure", "not_in_service": "not in service"}


def _non_roofs(
    raw: gpd.GeoDataFrame, resolved: BuildingFields, exclude: Sequence[str], reason: np.ndarray
) -> None:
    """Give the light structures and the buildings not in service their reason (set in
    ``reason`` where none is yet), for the kinds ``exclude`` lists."""
    found = {
        "light_structure": light_structures(raw, resolved),
        "not_in_service": not_in_service(raw, resolved),
    }
    for kind in exclude:
        reason[(reason == "") & found[kind]] = NON_ROOF_REASONS[kind]


#: Keys of ``pv.buildings`` naming a field of the buildings file.
BUILDING_FIELD_KEYS = tuple(f"{role}_field" for role in ROLES)


def _check_buildings_file(raw: gpd.GeoDataFrame, building_cfg: Any, source: str) -> None:
    """Refuse a buildings file without a field the pipeline names, or without any feature.

    A field the pipeline names (``pv.buildings.id_field``, ``height_field``,
    ``roof_min_field``, ``roof_max_field``, ``usage_field``, ``light_field``, ``state_field``
    written in the pipeline file) must exist: a misspelled roof-altitude field would silently
    make every roof 'unknown' (a third less power), a misspelled usage field no building
    public. The fields of the layout are checked by
    :func:`~geocarbon.capabilities.pv_buildings.resolve_fields`.

    Raises
    ------
    InputError
        A named field is not in the file (the fields present are listed, and a field of the
        same name in another case is suggested), or the file holds no feature.
    """
    fields = [str(c) for c in raw.columns if c != raw.geometry.name]
    for key in BUILDING_FIELD_KEYS:
        name = getattr(building_cfg, key)
        named = key in building_cfg.model_fields_set
        if name is None or not named or name in raw.columns:
            continue
        alike = [f for f in fields if f.lower() == str(name).lower()]
        hint = f" (did you mean {alike[0]!r}? field names are case-sensitive)" if alike else ""
        msg = (
            f"buildings: {source} has no field {name!r} (pv.buildings.{key}){hint}; fields: "
            f"{', '.join(fields)}; give the file's field name, or null for none"
        )
        raise InputError(msg)
    if len(raw) == 0:
        msg = f"buildings: {source} holds no feature"
        raise InputError(msg)


def _building_ids(
    raw: gpd.GeoDataFrame, id_field: str | None, reason: np.ndarray
) -> tuple[np.ndarray, list[Notice]]:
    """Id of each building (``B1``, ``B2``... without ``id_field``), unique.

    Records sharing an id are all kept, numbered ``#1``, ``#2``..., and get a reason (set in
    ``reason``, one string per building) and a notice.
    """
    ids = (
        raw[id_field].astype(str).to_numpy()
        if id_field
        else np.array([f"B{i + 1}" for i in range(len(raw))])
    )
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if not dup.any():
        return ids, []
    # keep every record, with a unique id, and say why it carries no panels
    rank = pd.Series(ids).groupby(ids).cumcount().to_numpy() + 1
    listed = sorted(set(ids[dup]))
    ids = np.where(dup, [f"{i}#{r}" for i, r in zip(ids, rank, strict=True)], ids)
    reason[dup] = "duplicate building id (corrupt record?)"
    notice = Notice(
        "building_duplicate_ids",
        f"{int(dup.sum())} buildings share an id in {id_field!r}; numbered #1, #2... and given no panels",
        listed,
        facts={"n_buildings": int(dup.sum()), "id_field": str(id_field)},
    )
    return ids, [notice]


def _building_geometries(
    raw: gpd.GeoDataFrame, ids: np.ndarray, reason: np.ndarray
) -> tuple[np.ndarray, list[Notice]]:
    """2D footprints, invalid ones repaired (with a notice); a building without a polygon,
    or whose polygon cannot be repaired, gets a reason (set in ``reason``)."""
    geoms = shapely.force_2d(np.asarray(raw.geometry.values, dtype=object))
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    reason[empty] = "no geometry"
    kinds = shapely.get_type_id(geoms)
    polygonal = np.isin(kinds, [3, 6])  # Polygon, MultiPolygon
    reason[~empty & ~polygonal] = "not a polygon"
    invalid = ~empty & polygonal & ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms, []
    geoms[invalid] = [polygonal_part(g) for g in shapely.make_valid(geoms[invalid])]
    broken = invalid & (shapely.is_missing(geoms) | shapely.is_empty(geoms))
    reason[broken] = "invalid geometry that cannot be repaired"
    notice = Notice(
        "building_geometry_repaired",
        f"{int(invalid.sum())} invalid building geometries were repaired",
        ids[invalid].tolist(),
        facts={"n_buildings": int(invalid.sum())},
    )
    return geoms, [notice]


def _building_heights(
    raw: gpd.GeoDataFrame, resolved: BuildingFields, reason: np.ndarray
) -> tuple[np.ndarray, list[Notice]]:
    """Height of each building [m] (NaN when unknown; OpenStreetMap: ``height``, else
    storeys × :data:`~geocarbon.capabilities.pv_buildings.OSM_STOREY_HEIGHT_M`); a negative or
    implausible height (over :data:`MAX_HEIGHT_M`) is a reason (set in ``reason`` where none
    is yet)."""
    height_field = resolved.fields["height"]
    osm = resolved.layout == "osm"
    height = osm_heights(raw, resolved) if osm else _number(raw, height_field)
    negative = ~np.isnan(height) & (height < 0)
    reason[(reason == "") & negative] = "negative height"
    reason[(reason == "") & (height > MAX_HEIGHT_M)] = (
        f"implausible height (over {MAX_HEIGHT_M:,.0f} m)"
    )
    if (height_field is not None and height_field in raw.columns) or resolved.levels:
        return height, []
    notice = Notice(
        "buildings_without_height",
        "buildings have no height field: heights are unknown (they only flag implausible "
        "buildings; roof forms come from the roof altitudes, not from heights)",
    )
    return height, [notice]


def _roof_ranges(
    raw: gpd.GeoDataFrame, resolved: BuildingFields, pv: PvConfig
) -> tuple[np.ndarray, list[Notice]]:
    """Range of roof altitudes of each building [m] (NaN when unknown, negative or
    implausible; OpenStreetMap: ``roof:height``, or 0 for ``roof:shape=flat``), with a notice
    for the buildings whose roof form is then unknown."""
    fields = resolved.fields
    roof_range = _number(raw, fields["roof_max"]) - _number(raw, fields["roof_min"])
    if resolved.layout == "osm":
        roof_range = np.where(np.isnan(roof_range), osm_roof_ranges(raw, resolved), roof_range)
    roof_range[(roof_range < 0) | (roof_range > MAX_HEIGHT_M)] = np.nan
    unknown = np.isnan(roof_range)
    if not unknown.any():
        return roof_range, []
    usable_share = pv.parameters.usable_share["unknown"]
    notice = Notice(
        "roof_form_unknown",
        f"{int(unknown.sum())} buildings without roof altitudes: roof form 'unknown' (usable share {usable_share:.0%}, yield of pitched roofs of unknown orientation)",
        facts={"n_buildings": int(unknown.sum()), "usable_share": usable_share},
    )
    return roof_range, [notice]


def roof_yields(weather: Any, pv: PvConfig) -> pd.DataFrame:
    """Specific yield per roof form [kWh/kWp]: flat roofs carry south-facing tilted rows on
    racks (open-rack temperature); pitched roofs of unknown orientation average the
    orientations from east to west (close-mount temperature); unknown roofs take the
    pitched value."""
    p = pv.parameters
    common: dict[str, Any] = {
        "losses_percent": p.losses_percent,
        "gamma_pdc_per_c": p.gamma_pdc_per_c,
    }
    flat = specific_yield(
        weather,
        p.flat_tilt_deg,
        p.flat_azimuth_deg,
        temperature_model="open_rack_glass_glass",
        **common,
    )
    pitched = mean_yield(
        weather,
        p.pitched_tilt_deg,
        p.pitched_azimuths_deg,
        temperature_model=p.temperature_model,
        **common,
    )
    south = specific_yield(
        weather, p.pitched_tilt_deg, 180.0, temperature_model=p.temperature_model, **common
    )
    return pd.DataFrame(
        {
            "case": ["flat", "pitched", "unknown", "reference_south"],
            "tilt_deg": [
                p.flat_tilt_deg,
                p.pitched_tilt_deg,
                p.pitched_tilt_deg,
                p.pitched_tilt_deg,
            ],
            "azimuth_deg": [
                str(p.flat_azimuth_deg),
                "mean " + "/".join(f"{a:g}" for a in p.pitched_azimuths_deg),
                "as pitched",
                "180",
            ],
            "kwh_per_kwp": [flat, pitched, pitched, south],
        }
    )


def compute_pv(
    cfg: PipelineConfig,
    inputs: Any,
    communes: gpd.GeoDataFrame,
    notices: list[Notice],
    read: PvInputs,
) -> PvResults:
    """Rooftop PV potential per building and per commune (adds ``pv_*`` columns to
    ``communes``), from the inputs :func:`read_pv_inputs` read."""
    pv = cfg.pv
    assert pv is not None
    buildings = read.buildings
    notices += read.notices
    weather = read.weather if read.weather is not None else _synthetic_weather(communes)
    closure = read.closure if read.closure is not None else weather_closure(weather, "none")[1]
    yields = roof_yields(weather, pv).assign(**closure)
    # true areas and point-in-polygon tests in a local equal-area projection
    eq = local_equal_area_crs(communes)
    zones = communes.to_crs(eq)
    table = {str(k): float(v) for k, v in yields.set_index("case")["kwh_per_kwp"].items()}
    with chunk_mapper(cfg.processing.scheduler) as run:  # on dask workers when set
        work, points, where = _joined(run(_project_and_locate, buildings, eq, zones))
        _locate_buildings(work, points, where, zones, read.exclusions)
        existing_kwp = pd.Series(dtype=float)
        if read.existing is not None:
            existing_kwp = _mark_existing(
                work, points, read.existing, read.existing_power_kwp, notices
            )
        result = _joined(run(roof_potential, work, table, pv.parameters))
    if read.ghi_kwh_per_m2_yr is not None:
        reference_ghi = float(weather.data["ghi"].sum()) / 1e3
        result = _scale_by_raster(result, read.ghi_kwh_per_m2_yr, reference_ghi, notices)
    result = result.to_crs(buildings.crs)
    notices += _excluded_notices(result)
    share = _building_data_share(zones, work, pv)
    has_data = _pv_commune_figures(communes, result, share, existing_kwp)
    notices += pv_coverage_notices(communes, has_data, str(pv.buildings.path))
    in_territory = result[result["commune_code"] != ""]
    levels = pv_level_rows(
        communes,
        has_data,
        inputs.epci_sizes if inputs is not None else None,
        cfg.name,
        inputs.territory_note if inputs is not None else "",
    )
    coverage = levels[levels["level"] == "territory"].iloc[0]
    summary = pv_summary(in_territory, coverage)
    targets = pv_targets(pv, in_territory, communes, coverage)
    kept = result[result["excluded_reason"] == ""]
    logger.info(
        "rooftop PV: %d buildings, %.2f MWp, %.0f MWh/yr",
        len(kept),
        kept["kwp"].sum() / 1e3,
        kept["kwh_per_yr"].sum() / 1e3,
    )
    return PvResults(_buildings_layer(result), yields, summary, targets, levels)


def _project_and_locate(
    buildings: gpd.GeoDataFrame, eq: Any, zones: gpd.GeoDataFrame
) -> tuple[gpd.GeoDataFrame, gpd.GeoSeries, np.ndarray]:
    """The buildings in the equal-area CRS ``eq``, their representative points and the
    position of the commune (in ``zones``, in ``eq``) holding each point (-1: none).

    Building by building (a task per chunk of buildings on a cluster, see
    :func:`geocarbon.distributed.chunk_mapper`).
    """
    work = buildings.to_crs(eq)
    points = work.geometry.representative_point()
    return work, points, within(points, zones)


def _joined(parts: list[Any]) -> Any:
    """The results of the chunks of buildings put back together in chunk order: frames
    and series concatenated, arrays too, tuples item by item (one chunk: as it is)."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if isinstance(first, tuple):
        return tuple(_joined(list(items)) for items in zip(*parts, strict=True))
    if isinstance(first, np.ndarray):
        return np.concatenate(parts)
    return pd.concat(parts)


def _locate_buildings(
    work: gpd.GeoDataFrame,
    points: gpd.GeoSeries,
    where: np.ndarray,
    zones: gpd.GeoDataFrame,
    exclusions: list[tuple[str, gpd.GeoDataFrame]],
) -> None:
    """Set each building's ``commune_code`` (empty outside the communes) and the reasons
    that keep it from panels: outside the communes, an implausible footprint (over
    :data:`MAX_FOOTPRINT_M2`), inside an exclusion zone (the zone's reason).

    ``work``, ``points`` and ``zones`` (the communes) are in the same equal-area CRS;
    ``where``: the position in ``zones`` of each building's commune (-1: none). ``work``
    is changed in place.
    """
    no_commune = (where < 0) & (work["excluded_reason"] == "")
    work.loc[no_commune, "excluded_reason"] = "outside the communes"
    huge = (work.geometry.area > MAX_FOOTPRINT_M2).to_numpy() & (work["excluded_reason"] == "")
    work.loc[huge, "excluded_reason"] = (
        f"implausible footprint (over {MAX_FOOTPRINT_M2 / 1e4:,.0f} ha)"
    )
    work["commune_code"] = np.where(
        where >= 0, zones["commune_code"].to_numpy()[np.clip(where, 0, None)], ""
    )
    for reason, zone in exclusions:
        hit = (within(points, zone.to_crs(work.crs)) >= 0) & (work["excluded_reason"] == "")
        work.loc[hit, "excluded_reason"] = reason


def _mark_existing(
    work: gpd.GeoDataFrame,
    points: gpd.GeoSeries,
    installations: gpd.GeoDataFrame,
    power_kwp: np.ndarray | None,
    notices: list[Notice],
) -> pd.Series:
    """Mark the buildings the existing installations (of power ``power_kwp`` [kWp], None
    when unknown) equip.

    Each installation belongs to one building (its power is counted once); buildings whose
    representative point lies in an installation are equipped too. Sets
    ``existing_installation`` (and ``existing_kwp`` [kWp] with ``kwp_field``) on ``work``
    (changed in place, in the equal-area CRS of ``points``) and the reason of the equipped
    buildings.

    Returns
    -------
    Series
        Existing power per commune code [kWp] (NaN where one installation's power is
        unknown); empty without ``kwp_field``.
    """
    installations = installations.to_crs(work.crs)
    owner = installation_buildings(work.geometry.to_numpy(), installations.geometry.to_numpy())
    equipped = within(points, installations) >= 0
    equipped[owner[owner >= 0]] = True
    work["existing_installation"] = equipped
    work.loc[equipped & (work["excluded_reason"] == ""), "excluded_reason"] = (
        "existing installation"
    )
    orphans = np.flatnonzero(owner < 0)
    if len(orphans):
        notices.append(_orphan_installations_notice(orphans, power_kwp))
    if power_kwp is None:
        return pd.Series(dtype=float)
    per_building = np.zeros(len(work))
    held = owner >= 0
    np.add.at(per_building, owner[held], power_kwp[held])  # NaN (unknown) propagates
    work["existing_kwp"] = per_building
    by_commune = work.groupby("commune_code")["existing_kwp"]
    existing_kwp = by_commune.sum()
    existing_kwp[by_commune.apply(lambda s: bool(s.isna().any()))] = np.nan
    return existing_kwp


def _orphan_installations_notice(orphans: np.ndarray, power_kwp: np.ndarray | None) -> Notice:
    """Notice of the existing installations (positions ``orphans``) that touch no building,
    with the power they hold [kWp] when known."""
    lost = float(np.nansum(power_kwp[orphans])) if power_kwp is not None else 0.0
    power = f" (their {lost:,.1f} kWp are not counted)" if power_kwp is not None else ""
    return Notice(
        "existing_installations_off_buildings",
        f"{len(orphans)} existing installations touch no building{power}",
        [f"feature {i + 1}" for i in orphans[:50]],
        facts={
            "n_installations": len(orphans),
            "lost_kwp": lost if power_kwp is not None else None,
        },
    )


def _excluded_notices(result: pd.DataFrame) -> list[Notice]:
    """Notice of the buildings that carry no panels, counted by reason."""
    excluded = result[result["excluded_reason"] != ""]
    if not len(excluded):
        return []
    counts = excluded["excluded_reason"].value_counts()
    notice = Notice(
        "buildings_excluded",
        f"{len(excluded)} buildings carry no panels (see excluded_reason)",
        [f"{r}: {n}" for r, n in counts.items()],
        facts={"n_buildings": len(excluded)},
    )
    return [notice]


def _building_data_share(
    zones: gpd.GeoDataFrame, work: gpd.GeoDataFrame, pv: PvConfig
) -> np.ndarray:
    """Share of each commune's area [0–1] inside what the building data cover (their convex
    hull), or 1 everywhere when the user says the file holds every building
    (``coverage: territory``). ``zones`` and ``work`` are in the same equal-area CRS."""
    if pv.buildings.coverage == "territory":
        return np.ones(len(zones))
    return area_share_inside(
        zones.geometry, buildings_cover(work.geometry.to_numpy(), MAX_FOOTPRINT_M2)
    )


def _pv_commune_figures(
    communes: gpd.GeoDataFrame, result: pd.DataFrame, share: np.ndarray, existing_kwp: pd.Series
) -> np.ndarray:
    """Add the ``pv_*`` columns to ``communes`` (changed in place) and return which communes
    have data.

    A commune the building data do not reach (no building located in it and under
    :data:`~geocarbon.territory.COVERAGE_MIN` of its area covered, ``share``) has no figures
    (empty, not 0); one partly covered keeps the sum over its buildings, flagged
    ``pv_complete = false``. Columns: ``pv_covered_share``, ``pv_complete``,
    ``pv_buildings``, ``pv_usable_m2`` [m²], ``pv_kwp`` [kWp], ``pv_mwp`` [MWp],
    ``pv_mwh_per_yr`` [MWh/yr], ``pv_kwp_per_inhab`` [kWp/inhabitant] (with a population)
    and ``pv_existing_kwp`` [kWp] (with ``existing_kwp``).
    """
    kept = result[result["excluded_reason"] == ""]
    per = kept.groupby("commune_code").agg(
        pv_buildings=("building_id", "size"),
        pv_usable_m2=("usable_m2", "sum"),
        pv_kwp=("kwp", "sum"),
        pv_kwh=("kwh_per_yr", "sum"),
    )
    located = result[result["commune_code"] != ""].groupby("commune_code").size()
    n_located = located.reindex(communes["commune_code"], fill_value=0).to_numpy()
    has_data = (n_located > 0) | (share >= COVERAGE_MIN)
    communes["pv_covered_share"] = share
    communes["pv_complete"] = share >= COVERAGE_MIN
    per = per.reindex(communes["commune_code"]).fillna(0.0).astype(float)
    per.loc[~has_data] = np.nan
    communes["pv_buildings"] = per["pv_buildings"].to_numpy()
    communes["pv_usable_m2"] = per["pv_usable_m2"].to_numpy()
    communes["pv_kwp"] = per["pv_kwp"].to_numpy()
    communes["pv_mwp"] = communes["pv_kwp"] / 1e3
    communes["pv_mwh_per_yr"] = per["pv_kwh"].to_numpy() / 1e3
    if "population" in communes.columns:
        pop = pd.to_numeric(communes["population"], errors="coerce").to_numpy(dtype=float)
        communes["pv_kwp_per_inhab"] = np.divide(
            communes["pv_kwp"].to_numpy(), pop, out=np.full(len(pop), np.nan), where=pop > 0
        )
    if len(existing_kwp):
        # a commune without installation has none (0); one with an unknown power is unknown
        communes["pv_existing_kwp"] = np.where(
            has_data,
            existing_kwp.reindex(communes["commune_code"], fill_value=0.0).to_numpy(),
            np.nan,
        )
    return has_data


def _buildings_layer(result: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The ``pv_buildings`` layer: :data:`BUILDING_COLUMNS` and, with existing
    installations, ``existing_installation`` and ``existing_kwp`` [kWp]."""
    columns = [
        c
        for c in [*BUILDING_COLUMNS, "existing_installation", "existing_kwp"]
        if c in result.columns
    ]
    return gpd.GeoDataFrame(result[columns], geometry=result.geometry, crs=result.crs)


#: Figures of :func:`pv_level_rows`, summed over EPCIs and the territory.
PV_FIGURES = ["pv_buildings", "pv_usable_m2", "pv_kwp", "pv_mwp", "pv_mwh_per_yr"]


def pv_coverage_notices(communes: pd.DataFrame, has_data: np.ndarray, source: str) -> list[Notice]:
    """Notices of the communes the building data do not reach, or reach in part."""
    share = communes["pv_covered_share"].to_numpy(dtype=float)
    codes = communes["commune_code"].astype(str).to_numpy()
    notices = []
    none = ~has_data
    if none.any():
        notices.append(
            Notice(
                "pv_no_building_data",
                f"buildings {source} do not reach {int(none.sum())} of the {len(codes)} "
                "communes (no building in them, and under "
                f"{COVERAGE_MIN:.0%} of their area inside the buildings' convex hull): their "
                "rooftop PV figures are empty (no data, not 0)",
                codes[none].tolist()[:50],
                facts={
                    "source": str(source),
                    "n_communes": int(none.sum()),
                    "n_total": len(codes),
                    "coverage_min": COVERAGE_MIN,
                },
            )
        )
    part = has_data & ~(share >= COVERAGE_MIN)
    if part.any():
        notices.append(
            Notice(
                "pv_partial_building_data",
                f"buildings {source} cover only part of {int(part.sum())} communes: their "
                "figures sum the buildings in the data and are flagged pv_complete = false "
                "(pv_covered_share: share of the commune inside the buildings' convex hull)",
                [f"{c} ({v:.1%} covered)" for c, v in zip(codes[part], share[part], strict=True)][
                    :50
                ],
                facts={"source": str(source), "n_communes": int(part.sum())},
            )
        )
    return notices


def pv_level_rows(
    communes: pd.DataFrame,
    has_data: np.ndarray,
    epci_sizes: pd.DataFrame | None,
    territory_name: str,
    territory_note: str = "",
) -> pd.DataFrame:
    """Rooftop PV per commune, EPCI and territory, each row saying what it covers.

    Parameters
    ----------
    communes : DataFrame
        The communes with their ``pv_*`` figures, ``pv_covered_share``, ``pv_complete``,
        ``area_ha`` and ``population`` (if known).
    has_data : ndarray of bool
        Communes the building data reach (their figures are computed).
    epci_sizes : DataFrame or None
        See :func:`geocarbon.territory.epci_coverage`.
    territory_name : str
        Name of the territory row.
    territory_note : str, optional
        Why the territory itself is not whole (see :func:`geocarbon.territory.level_rows`).

    Returns
    -------
    DataFrame
        ``level``, ``code``, ``name``, :data:`PV_FIGURES` (sums over the communes with
        data), ``pv_existing_kwp`` (if known: empty when one commune's is unknown),
        ``population`` [inhabitants] of the communes with data, ``pv_kwp_per_inhab``
        [kWp/inhabitant] over them, ``pv_covered_share`` (area-weighted) and
        :data:`~geocarbon.territory.COVERAGE_COLUMNS`.
    """
    codes = communes["commune_code"].astype(str).to_numpy()
    figures = [*PV_FIGURES, *(["pv_existing_kwp"] if "pv_existing_kwp" in communes else [])]
    values = pd.DataFrame({c: communes[c].to_numpy(dtype=float) for c in figures}, index=codes)
    values["population"] = np.where(has_data, _population(communes), np.nan)
    frame = _commune_names(communes, codes)
    rows = level_rows(
        values,
        frame,
        territory_name=territory_name,
        has_data=pd.Series(has_data, index=codes),
        epci_sizes=epci_sizes,
        share=pd.Series(communes["pv_covered_share"].to_numpy(dtype=float), index=codes),
        weights=pd.Series(communes["area_ha"].to_numpy(dtype=float), index=codes),
        what="building data",
        share_column="pv_covered_share",
        complete=pd.Series(communes["pv_complete"].to_numpy(dtype=bool), index=codes),
        territory_note=territory_note,
    )
    if "pv_existing_kwp" in figures:
        _blank_unknown_existing(rows, values["pv_existing_kwp"], has_data, frame)
    pop = rows["population"]
    rows["pv_kwp_per_inhab"] = rows["pv_kwp"] / pop.where(pop > 0)
    first = ["level", "code", "name", *figures, "population", "pv_kwp_per_inhab"]
    return rows[first + [c for c in rows.columns if c not in first]]


def _population(communes: pd.DataFrame) -> np.ndarray:
    """Population of each commune [inhabitants] (NaN when unknown or without the column)."""
    if "population" not in communes.columns:
        return np.full(len(communes), np.nan)
    return pd.to_numeric(communes["population"], errors="coerce").to_numpy(dtype=float)


def _commune_names(communes: pd.DataFrame, codes: np.ndarray) -> pd.DataFrame:
    """Code, name, EPCI code (None when unknown) and EPCI name of each commune, for
    :func:`geocarbon.territory.level_rows`."""
    names = [
        c
        for c in ("commune_code", "commune_name", "epci_code", "epci_name")
        if c in communes.columns
    ]
    frame = pd.DataFrame(communes[names]).assign(commune_code=codes)
    if "epci_code" not in frame.columns:
        frame["epci_code"] = None
    return frame


def _blank_unknown_existing(
    rows: pd.DataFrame, existing_kwp: pd.Series, has_data: np.ndarray, frame: pd.DataFrame
) -> None:
    """Empty the existing power [kWp] of the EPCI and territory ``rows`` (changed in place)
    holding a commune with data whose existing power is unknown (NaN in ``existing_kwp``,
    indexed by commune code); ``frame``: the communes' ``commune_code`` and ``epci_code``."""
    codes = existing_kwp.index
    unknown = pd.Series(has_data & np.isnan(existing_kwp.to_numpy()), index=codes)
    epci = frame.set_index("commune_code")["epci_code"].reindex(codes)
    by_epci = unknown.groupby(epci.to_numpy()).any()
    epci_blank = (rows["level"] == "epci") & rows["code"].isin(by_epci.index[by_epci.to_numpy()])
    territory_blank = (rows["level"] == "territory") & bool(unknown.any())
    rows.loc[epci_blank | territory_blank, "pv_existing_kwp"] = np.nan


def _centre_lat_lon(communes: gpd.GeoDataFrame) -> tuple[float, float]:
    """Latitude and longitude [degrees] of the centre of the communes' extent."""
    west, south, east, north = communes.to_crs("EPSG:4326").total_bounds
    return float((south + north) / 2), float((west + east) / 2)


def _synthetic_weather(communes: gpd.GeoDataFrame) -> Weather:
    """Without a weather file (an irradiation raster only): a synthetic year at the
    territory's centre that gives the shape of the year; the raster then sets each
    building's level."""
    from geocarbon.solar.synthetic import synthetic_weather_year

    centre = communes.to_crs("EPSG:4326").union_all().centroid
    return Weather(
        synthetic_weather_year(centre.y, centre.x),
        centre.y,
        centre.x,
        0.0,
        "synthetic year (shape only)",
    )


def _scale_by_raster(
    result: gpd.GeoDataFrame,
    ghi: np.ndarray,
    reference_ghi: float,
    notices: list[Notice],
) -> gpd.GeoDataFrame:
    """Yield of each building × the raster's annual irradiation at the building ``ghi`` /
    the reference year's [kWh/m²/yr]; buildings off the raster or on nodata get a reason."""
    out = result.copy()
    off = np.isnan(ghi) & (out["excluded_reason"] == "").to_numpy()
    out.loc[off, "excluded_reason"] = "outside the irradiation raster"
    out["ghi_kwh_per_m2_yr"] = ghi
    factor = np.where(np.isnan(ghi), 0.0, ghi / reference_ghi)
    out["kwh_per_kwp"] = out["kwh_per_kwp"] * factor
    out.loc[off, "kwp"] = 0.0
    out["kwh_per_yr"] = out["kwp"] * out["kwh_per_kwp"]
    if off.any():
        notices.append(
            Notice(
                "buildings_off_irradiation_raster",
                f"{int(off.sum())} buildings lie off the irradiation raster (or on nodata): no panels",
                facts={"n_buildings": int(off.sum())},
            )
        )
    return out


def irradiation_at(points: gpd.GeoSeries, path: Path) -> np.ndarray:
    """Annual irradiation at each building's point [kWh/m²/yr] (NaN off the raster or on
    nodata), read block by block and checked; ``run`` and ``validate`` both read it here.

    Raises
    ------
    InputError
        The raster covers no building, or its values are not annual irradiation in
        kWh/m²/yr (the message gives the allowed range and how to fix the values).
    """
    from geocarbon.io.raster import raster_info, sample_points

    info = raster_info(path, "irradiation raster")
    pts = points.to_crs(info.crs)
    xs, ys = pts.x.to_numpy(), pts.y.to_numpy()
    located = np.isfinite(xs) & np.isfinite(ys)  # buildings without geometry have no point
    ghi = np.full(len(pts), np.nan)
    ghi[located] = sample_points(info, xs[located], ys[located])
    if np.isnan(ghi).all():
        msg = (
            f"irradiation raster {path} does not cover the buildings (no value at any building); "
            "check its extent and CRS"
        )
        raise InputError(msg)
    problem = irradiation_problem(ghi)
    if problem is not None:
        msg = f"irradiation raster {path} (pv.irradiation_raster): {problem}"
        raise InputError(msg)
    return ghi


def existing_power(ex: gpd.GeoDataFrame, pv: PvConfig) -> tuple[np.ndarray | None, list[Notice]]:
    """Installed power of each existing installation [kWp] (None without ``kwp_field``),
    checked, and a notice for the installations whose power is unknown (empty cells).

    Raises
    ------
    InputError
        ``kwp_field`` is not a field of the file (the fields present are listed), or a
        value is text, negative, not finite or implausible.
    """
    assert pv.existing is not None
    field = pv.existing.kwp_field
    if field is None:
        return None, []
    source = str(pv.existing.path)
    fields = [str(c) for c in ex.columns if c != ex.geometry.name]
    from geocarbon.capabilities.pv import PvCapability

    spec = find_input(PvCapability.inputs, "pv.existing.path")
    check_columns(spec, pv.existing, fields, "existing installations", source, word="field")
    power_kwp, empty = existing_kwp_values(ex[field], source, field)
    notices = []
    if empty:
        notices.append(
            Notice(
                "existing_kwp_unknown",
                f"{len(empty)} existing installations have no value in {field!r}: their power is "
                "unknown, and so is the existing power of their communes (left empty)",
                [f"feature {i}" for i in empty[:50]],
                facts={"n_installations": len(empty), "field": str(field)},
            )
        )
    return power_kwp, notices


def building_points(buildings: gpd.GeoDataFrame, communes: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """Representative point of each building, in the territory's local equal-area CRS."""
    eq = local_equal_area_crs(communes)
    return buildings.to_crs(eq).geometry.representative_point()


def pv_summary(buildings: pd.DataFrame, coverage: pd.Series | None = None) -> pd.DataFrame:
    """Territory totals by roof form, for public buildings and large roofs.

    ``coverage``: the territory row of :func:`pv_level_rows`; each summary row then says
    what it covers: ``communes`` (of the run), ``communes_with_data`` (reached by the
    building data), ``pv_covered_share`` (share of the territory's area inside the
    buildings' convex hull), ``complete`` and ``coverage_note``.
    """
    kept = buildings[buildings["excluded_reason"] == ""]

    def row(label: str, part: pd.DataFrame, total: pd.DataFrame) -> dict[str, Any]:
        return {
            "group": label,
            "buildings": len(total),
            "buildings_with_potential": len(part),
            "footprint_m2": float(total["footprint_m2"].sum()),
            "usable_m2": float(part["usable_m2"].sum()),
            "mwp": float(part["kwp"].sum()) / 1e3,
            "mwh_per_yr": float(part["kwh_per_yr"].sum()) / 1e3,
        }

    rows = [row("all", kept, buildings)]
    for form in ("flat", "pitched", "unknown"):
        rows.append(
            row(
                f"roof {form}", kept[kept.roof_type == form], buildings[buildings.roof_type == form]
            )
        )
    rows.append(row("public buildings", kept[kept.public], buildings[buildings.public]))
    rows.append(
        row("large roofs (> threshold)", kept[kept.large_roof], buildings[buildings.large_roof])
    )
    out = pd.DataFrame(rows)
    if coverage is not None:
        out["communes"] = int(coverage["communes_in_run"])
        out["communes_with_data"] = int(coverage["communes_with_data"])
        out["pv_covered_share"] = coverage["pv_covered_share"]
        out["complete"] = bool(coverage["complete"])
        out["coverage_note"] = coverage["coverage_note"]
    return out


#: PV target indicators that are totals over the communes (a partial one is a lower bound).
PV_TOTALS = ("pv_mwp", "pv_mwh_per_yr")


def covers_target(value: float, target: float, *, partial: bool, total: bool) -> bool | None:
    """Whether ``value`` reaches ``target``, or None when the value does not decide it.

    Parameters
    ----------
    value, target : float
        The territory's value and its target, in the target's unit (NaN: no value).
    partial : bool
        The value covers only part of the territory.
    total : bool
        The value is a sum over the communes (a lower bound when partial); otherwise a share
        or a ratio (undecided when partial).

    Examples
    --------
    >>> covers_target(6.0, 5.0, partial=True, total=True)
    True
    >>> covers_target(0.9, 0.5, partial=True, total=False) is None
    True
    """
    if np.isnan(value):
        return None
    if partial:
        return True if total and value >= target else None
    return bool(value >= target)


#: Columns of :func:`pv_targets` (``pv_targets.csv``).
PV_TARGET_COLUMNS = [
    "indicator",
    "label",
    "year",
    "target",
    "potential",
    "existing",
    "gap_to_target",
    "potential_covers_target",
    "note",
]


def pv_targets(
    pv: PvConfig,
    buildings: pd.DataFrame,
    communes: pd.DataFrame,
    coverage: pd.Series | None = None,
) -> pd.DataFrame:
    """Each target with the potential, the existing value when known, and the gap.

    Existing power and population are those of the communes with building data (``pv_kwp``
    not empty). When the building data do not cover the whole territory (``coverage``: the
    territory row of :func:`pv_level_rows`, not complete), ``note`` says so, and one rule
    decides whether ``potential_covers_target`` is checked (True/False) or left empty:

    - a total (``pv_mwp``, ``pv_mwh_per_yr``) over the part covered is a lower bound (the
      communes not covered can only add to it): checked as True when it already reaches
      the target, left empty otherwise;
    - a share or a ratio (``public_roofs_equipped_share``, ``pv_kwp_per_inhab``) over the
      part covered says nothing of the rest (the communes not covered may move it either
      way): left empty;
    - a value that cannot be computed (no public building, no population) is left empty,
      never False.

    The same rule as the charging targets (:func:`geocarbon.capabilities.charging_step.charging_targets`).
    """
    existing_kwp, population = _existing_and_population(communes)
    partial = coverage is not None and not bool(coverage["complete"])
    rows = []
    for t in pv.targets:
        potential, existing = _pv_target_values(
            t.indicator, buildings, existing_kwp, population, has_existing=pv.existing is not None
        )
        rows.append(
            {
                "indicator": t.indicator,
                "label": t.label,
                "year": t.year,
                "target": t.value,
                "potential": potential,
                "existing": existing,
                "gap_to_target": t.value - existing if not np.isnan(existing) else np.nan,
                "potential_covers_target": covers_target(
                    potential, t.value, partial=partial, total=t.indicator in PV_TOTALS
                ),
                "note": _pv_target_note(coverage, t.indicator)
                if partial and coverage is not None
                else "",
            }
        )
    return pd.DataFrame(rows, columns=PV_TARGET_COLUMNS)


def _existing_and_population(communes: pd.DataFrame) -> tuple[float, float]:
    """Existing power [kWp] (NaN when unknown or not given) and population [inhabitants] of
    the communes with building data (``pv_kwp`` not empty; all without the column)."""
    with_data = (
        communes["pv_kwp"].notna().to_numpy()
        if "pv_kwp" in communes.columns
        else np.ones(len(communes), dtype=bool)
    )
    existing_kwp = (
        float(communes.loc[with_data, "pv_existing_kwp"].sum(skipna=False))
        if "pv_existing_kwp" in communes.columns
        else np.nan
    )
    population = float(
        pd.to_numeric(
            communes.get("population", pd.Series(np.nan, index=communes.index)), errors="coerce"
        )[with_data].sum()
    )
    return existing_kwp, population


def _pv_target_values(
    indicator: str,
    buildings: pd.DataFrame,
    existing_kwp: float,
    population: float,
    *,
    has_existing: bool,
) -> tuple[float, float]:
    """Potential and existing value of a PV target's indicator, in its unit (NaN: no value).

    Parameters
    ----------
    indicator : str
        ``pv_mwp`` [MWp], ``pv_mwh_per_yr`` [MWh/yr] (no existing value),
        ``pv_kwp_per_inhab`` [kWp/inhabitant] or ``public_roofs_equipped_share`` [0–1].
    buildings : DataFrame
        The buildings in the territory (``excluded_reason``, ``kwp``, ``kwh_per_yr``,
        ``public``, ``existing_installation`` when known).
    existing_kwp, population : float
        Existing power [kWp] and population [inhabitants] of the communes with data.
    has_existing : bool
        The pipeline gives the existing installations.
    """
    kept = buildings[buildings["excluded_reason"] == ""]
    potential_kwp = float(kept["kwp"].sum())
    if indicator == "pv_mwp":
        return potential_kwp / 1e3, existing_kwp / 1e3
    if indicator == "pv_mwh_per_yr":
        return float(kept["kwh_per_yr"].sum()) / 1e3, np.nan
    if indicator == "pv_kwp_per_inhab":
        potential = potential_kwp / population if population > 0 else np.nan
        return potential, existing_kwp / population if population > 0 else np.nan
    # share of public roofs equipped
    public = buildings[buildings["public"]]
    n_public = len(public)
    equipped = float(
        public.get("existing_installation", pd.Series(False, index=public.index)).sum()
    )
    potential = (
        float((public["excluded_reason"].isin(["", "existing installation"])).mean())
        if n_public
        else np.nan
    )
    return potential, equipped / n_public if n_public and has_existing else np.nan


def _pv_target_note(coverage: pd.Series, indicator: str) -> str:
    """Why a target over partial building data is checked only in part (``coverage``: the
    territory row of :func:`pv_level_rows`)."""
    note = (
        f"{coverage['coverage_note']} ({100 * float(coverage['pv_covered_share']):.2g} % of "
        "the territory's area inside the buildings' convex hull): potential and existing power "
        "over the communes with building data only"
    )
    if indicator in PV_TOTALS:
        return (
            note + "; a total over the part covered is a lower bound: checked only once it "
            "reaches the target"
        )
    return note + "; a share or ratio over the part covered: not checked"


#: Buildings drawn on the map at most (the GeoPackage layer holds them all).
MAP_MAX_BUILDINGS = 5_000


def write_pv_outputs(
    cfg: PipelineConfig,
    result: PvResults,
    communes: gpd.GeoDataFrame,
    tmp: Path,
    later: DeferredFiles | None = None,
) -> None:
    """Summary and targets CSVs, yield table; the rooftop PV map made by ``later``."""
    write_csv(tmp / "pv_summary.csv", result.summary)
    write_csv(tmp / "pv_yields.csv", result.yields)
    if result.levels is not None:
        write_csv(tmp / "pv_indicators.csv", result.levels)
    if len(result.targets):
        write_csv(tmp / "pv_targets.csv", result.targets)
    if not cfg.maps.enabled:
        return
    buildings = result.buildings
    truncated = len(buildings) > MAP_MAX_BUILDINGS
    if truncated:  # only the buildings drawn go to the process making the map
        buildings = buildings.sort_values("kwh_per_yr", ascending=False, kind="stable").head(
            MAP_MAX_BUILDINGS
        )
    (later or DeferredFiles(tmp)).add_map(pv_map_page, cfg, communes, buildings, truncated=truncated)


def pv_map_page(
    cfg: PipelineConfig,
    communes: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    truncated: bool = False,
) -> dict[str, str]:
    """The rooftop PV map (HTML page, by path in the output folder): communes by annual
    energy, and ``buildings`` (the :data:`MAP_MAX_BUILDINGS` largest producers when
    ``truncated``)."""
    lang = cfg.report.language
    page = choropleth_map(
        communes,
        [ChoroplethLayer("pv_mwh_per_yr", label("pv_mwh_per_yr", lang, unit=True))],
        title=map_title(cfg.name, label("map_pv_title", lang), lang),
        tooltip_fields=commune_tooltip(
            communes,
            [
                ("pv_buildings", label("pv_buildings_with_potential", lang)),
                *labelled(("pv_usable_m2", "pv_mwp", "pv_mwh_per_yr", "pv_covered_share"), lang),
            ],
            lang,
        ),
        simplify_m=cfg.maps.simplify_m,
        overlays=[_buildings_overlay(buildings, lang, truncated=truncated)],
        lang=lang,
    )
    return {"maps/rooftop_pv.html": page}


def _buildings_overlay(
    buildings: gpd.GeoDataFrame, lang: Language, *, truncated: bool = False
) -> Overlay:
    """The buildings drawn over the PV map, by annual energy class (the
    :data:`MAP_MAX_BUILDINGS` largest producers at most), values in the map's language;
    ``truncated``: ``buildings`` are the largest producers of more."""
    b = buildings.copy()
    shown_label = label(PV_BUILDING_CLASSES.title_id, lang)
    if truncated or len(b) > MAP_MAX_BUILDINGS:
        b = b.sort_values("kwh_per_yr", ascending=False, kind="stable").head(MAP_MAX_BUILDINGS)
        count = format_value(MAP_MAX_BUILDINGS, lang, len(str(MAP_MAX_BUILDINGS)))
        shown_label += f" ({count} {label('largest_producers', lang)})"
    # fixed classes, the same as the QGIS style of the GeoPackage's pv_buildings layer
    b["energy_class"] = PV_BUILDING_CLASSES.names(b, lang)
    b["mwh_per_yr"] = (b["kwh_per_yr"] / 1e3).round(2)
    # exclusion reasons are shown in the map's language (a zone's reason as the user wrote it)
    b["excluded_reason"] = [
        reason_label(v, lang) if isinstance(v, str) else v for v in b["excluded_reason"]
    ]
    # roof forms are ids (flat, pitched, unknown): shown by their display names
    b["roof_type"] = [label(v, lang) if isinstance(v, str) and v else v for v in b["roof_type"]]
    shown = (
        "building_id",
        "usage",
        "roof_type",
        "usable_m2",
        "kwp",
        "mwh_per_yr",
        "excluded_reason",
    )
    return Overlay(
        shown_label,
        b[[*shown, "energy_class", "geometry"]].round(2),
        "energy_class",
        PV_BUILDING_CLASSES.legend(lang),
        tuple(labelled(shown, lang)),
        focus=True,
    )
