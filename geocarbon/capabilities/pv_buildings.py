"""Field layouts of building files (IGN BD TOPO 3.0 and 3.5, OpenStreetMap exports) and the
attributes that say a building is no roof for panels (light structures, buildings not in
service).

:func:`resolve_fields` finds which field of the file holds each attribute: a field named in
the pipeline (``pv.buildings.<attribute>_field``) wins; otherwise the layout's
(``pv.buildings.layout``, recognised from the field names with ``auto``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geocarbon.errors import InputError
from geocarbon.notices import Notice

#: Attributes of a building read from the file (``pv.buildings.<role>_field``).
ROLES = ("id", "height", "roof_min", "roof_max", "usage", "light", "state")

#: Height of one storey [m], giving an OpenStreetMap building without ``height`` the height
#: ``building:levels`` × this (heights only flag implausible buildings).
OSM_STOREY_HEIGHT_M = 3.0

#: OpenStreetMap ``building`` values of light structures (glass roofs, tents, mobile homes):
#: no panels. ``roof`` (a roof without walls: carports, shelters) is a roof and is kept.
OSM_LIGHT = ("greenhouse", "tent", "static_caravan")
#: OpenStreetMap ``building`` values of buildings not in service (planned, being built,
#: ruined or gone).
OSM_NOT_IN_SERVICE = ("construction", "proposed", "ruins", "collapsed", "destroyed", "demolished")
#: OpenStreetMap ``building`` values flagged public with the ``osm`` layout (sports and
#: religious buildings, as BD TOPO's default ``Sportif`` and ``Religieux``, and the buildings
#: tagged public), unless the pipeline gives ``public_usages``.
OSM_PUBLIC_USAGES = (
    "sports_hall",
    "sports_centre",
    "stadium",
    "grandstand",
    "pavilion",
    "church",
    "chapel",
    "cathedral",
    "mosque",
    "synagogue",
    "temple",
    "shrine",
    "monastery",
    "religious",
    "public",
    "civic",
    "government",
    "townhall",
)
#: Values of a light-structure field meaning "yes" (compared in lower case).
YES = ("oui", "o", "yes", "y", "true", "t", "vrai", "1")
#: The one state of a building in service (BD TOPO ``etat_de_l_objet`` / ``ETAT``).
IN_SERVICE = "en service"

#: Field names of today's default layout (BD TOPO 3.0), used when ``auto`` recognises none.
DEFAULT_FIELDS: dict[str, str | None] = {
    "id": None,
    "height": "hauteur",
    "roof_min": "altitude_minimale_toit",
    "roof_max": "altitude_maximale_toit",
    "usage": "usage_1",
    "light": None,
    "state": None,
}


@dataclass(frozen=True)
class Layout:
    """One known field layout of building files."""

    name: str
    """``bdtopo`` or ``osm`` (the value of ``pv.buildings.layout``)."""
    label: str
    """What it is, for messages."""
    candidates: dict[str, tuple[str, ...]]
    """Field names of each role, in order of preference."""
    required: tuple[str, ...]
    """Roles whose field a file of this layout holds (missing: refused when the layout is
    named in the pipeline)."""
    signature: tuple[str, ...] = ()
    """Fields that must all be present for the layout to be recognised."""


LAYOUTS = (
    Layout(
        "bdtopo",
        "BD TOPO 3.0",
        {
            "id": ("cleabs", "id"),
            "height": ("hauteur",),
            "roof_min": ("altitude_minimale_toit",),
            "roof_max": ("altitude_maximale_toit",),
            "usage": ("usage_1",),
            "light": ("construction_legere", "leger"),
            "state": ("etat_de_l_objet", "etat"),
        },
        ("height", "roof_min", "roof_max", "usage", "light", "state"),
    ),
    Layout(
        "bdtopo",
        "BD TOPO 3.0 (Shapefile names cut to 10 characters)",
        {
            "id": ("cleabs", "id"),
            "height": ("hauteur",),
            # altitude_minimale_sol, _minimale_toit, _maximale_toit, _maximale_sol, in order
            "roof_min": ("altitude_1",),
            "roof_max": ("altitude_2",),
            "usage": ("usage_1",),
            "light": ("constructi",),
            "state": ("etat_de_l_",),
        },
        ("height", "roof_min", "roof_max", "usage", "light", "state"),
        signature=("altitude_m", "altitude_1", "altitude_2", "altitude_3"),
    ),
    Layout(
        "bdtopo",
        "BD TOPO 3.5",
        {
            "id": ("ID",),
            "height": ("HAUTEUR",),
            "roof_min": ("Z_MIN_TOIT",),
            "roof_max": ("Z_MAX_TOIT",),
            "usage": ("USAGE1",),
            "light": ("LEGER",),
            "state": ("ETAT",),
        },
        ("height", "roof_min", "roof_max", "usage", "light", "state"),
    ),
    Layout(
        "osm",
        "OpenStreetMap",
        {
            "id": ("osm_id", "@id", "id", "osm_way_id"),
            "height": ("height",),
            "usage": ("building",),
        },
        ("usage",),
        signature=("building",),
    ),
    Layout(
        "osm",
        "OpenStreetMap (Geofabrik shapefile)",
        {"id": ("osm_id",), "usage": ("type",)},
        ("usage",),
        signature=("osm_id", "fclass", "type"),
    ),
)

#: French names of the layouts (notices).
LABELS_FR = {
    "BD TOPO 3.0 (Shapefile names cut to 10 characters)": (
        "BD TOPO 3.0 (noms de champs Shapefile coupés à 10 caractères)"
    ),
    "OpenStreetMap (Geofabrik shapefile)": "OpenStreetMap (Shapefile Geofabrik)",
    "none recognised (BD TOPO 3.0 names where present)": (
        "aucune reconnue (noms de la BD TOPO 3.0 là où ils existent)"
    ),
}

#: Field of the number of storeys of OpenStreetMap exports (heights when ``height`` is empty).
OSM_LEVELS = ("building:levels", "building_levels")
#: Fields of the roof of OpenStreetMap exports: its height [m] (the roof altitude range) and
#: its shape (``flat``: a range of 0 when the height is not given).
OSM_ROOF_HEIGHT = ("roof:height", "roof_height")
OSM_ROOF_SHAPE = ("roof:shape", "roof_shape")


@dataclass(frozen=True)
class BuildingFields:
    """Which field of the file holds each attribute of the buildings."""

    layout: str
    """``bdtopo``, ``osm`` or ``none`` (no layout recognised: BD TOPO 3.0 names)."""
    label: str
    """The layout's name for messages (``BD TOPO 3.5``...)."""
    fields: dict[str, str | None] = field(default_factory=dict)
    """Field of each role (None: the file has none)."""
    levels: str | None = None
    """Field of the number of storeys (OpenStreetMap layout)."""
    roof_height: str | None = None
    """Field of the height of the roof [m] (OpenStreetMap layout)."""
    roof_shape: str | None = None
    """Field of the shape of the roof (OpenStreetMap layout)."""


def _present(layout: Layout, columns: set[str]) -> dict[str, str]:
    """The field of each role of ``layout`` present among ``columns``."""
    found = {}
    for role, names in layout.candidates.items():
        hit = [n for n in names if n in columns]
        if hit:
            found[role] = hit[0]
    return found


def _score(layout: Layout, columns: set[str]) -> int:
    """How many roles of ``layout`` the file holds (0 without its signature fields)."""
    if not all(f in columns for f in layout.signature):
        return 0
    return len(_present(layout, columns))


def recognise(columns: list[str], wanted: str) -> Layout | None:
    """The known layout the fields ``columns`` match best (``wanted``: ``auto``, ``bdtopo``
    or ``osm``); None when none matches (``auto``: fewer than two roles of any BD TOPO
    layout, no ``building`` field).

    Examples
    --------
    >>> recognise(["ID", "HAUTEUR", "Z_MIN_TOIT", "ETAT"], "auto").label
    'BD TOPO 3.5'
    >>> recognise(["osm_id", "building", "height"], "auto").label
    'OpenStreetMap'
    >>> recognise(["fid", "name"], "auto") is None
    True
    """
    have = set(columns)
    options = [lay for lay in LAYOUTS if wanted in ("auto", lay.name)]
    scored = [(_score(lay, have), i, lay) for i, lay in enumerate(options)]
    best = max(scored, key=lambda s: (s[0], -s[1]))
    enough = 1 if best[2].name == "osm" else 2
    if best[0] >= enough:
        return best[2]
    if wanted != "auto":
        # a named layout of which nothing is found: its first form, to list what is missing
        return options[0]
    return None


def resolve_fields(raw: pd.DataFrame, building_cfg: Any, source: str) -> BuildingFields:
    """Field of each building attribute: named in the pipeline, else the layout's.

    Raises
    ------
    InputError
        A layout named in the pipeline (``bdtopo``, ``osm``) whose fields are not all in
        the file (missing and present fields listed); fields the pipeline names are
        checked by the caller.
    """
    columns = [str(c) for c in raw.columns if c != raw.geometry.name]
    named = building_cfg.model_fields_set
    layout = recognise(columns, building_cfg.layout)
    if layout is None:
        fields = dict(DEFAULT_FIELDS)
        result_name, label = "none", "none recognised (BD TOPO 3.0 names where present)"
    else:
        found = _present(layout, set(columns))
        missing = [
            layout.candidates[r][0]
            for r in layout.required
            if r not in found and f"{r}_field" not in named
        ]
        if missing and building_cfg.layout != "auto":
            msg = (
                f"buildings: {source} is not in the {layout.label} layout (pv.buildings.layout: "
                f"{building_cfg.layout}): no field {', '.join(missing)}; fields: "
                f"{', '.join(columns) or 'none'}. Set layout: auto, or name the file's fields "
                "(height_field, roof_min_field...)"
            )
            raise InputError(msg)
        fields = {role: found.get(role) for role in ROLES}
        result_name, label = layout.name, layout.label
    for role in ROLES:
        if f"{role}_field" in named:
            fields[role] = getattr(building_cfg, f"{role}_field")
    if result_name != "osm":
        return BuildingFields(result_name, label, fields)
    levels, roof_height, roof_shape = (
        next((f for f in names if f in columns), None)
        for names in (OSM_LEVELS, OSM_ROOF_HEIGHT, OSM_ROOF_SHAPE)
    )
    return BuildingFields(result_name, label, fields, levels, roof_height, roof_shape)


def layout_notice(resolved: BuildingFields, source: str) -> Notice:
    """Which layout the buildings file was read with, and the field of each attribute."""
    used = {role: name for role, name in resolved.fields.items() if name}
    listed = [f"{role}: {name}" for role, name in used.items()]
    for role in ("levels", "roof_height", "roof_shape"):
        if getattr(resolved, role):
            listed.append(f"{role}: {getattr(resolved, role)}")
    return Notice(
        "buildings_layout",
        f"buildings {source}: layout {resolved.label}",
        listed,
        facts={
            "source": source,
            "layout": resolved.layout,
            "layout_label": resolved.label,
            "layout_label_fr": LABELS_FR.get(resolved.label, resolved.label),
        },
    )


def public_usages(resolved: BuildingFields, building_cfg: Any) -> list[str]:
    """Usage values flagged public: those of the pipeline, or with the OpenStreetMap layout
    and none given, :data:`OSM_PUBLIC_USAGES`."""
    if resolved.layout == "osm" and "public_usages" not in building_cfg.model_fields_set:
        return list(OSM_PUBLIC_USAGES)
    return list(building_cfg.public_usages)


def _text(raw: pd.DataFrame, name: str | None) -> pd.Series | None:
    """The field ``name`` as stripped text (None when absent; empty cells as "")."""
    if name is None or name not in raw.columns:
        return None
    return raw[name].astype("string").fillna("").str.strip()


def light_structures(raw: pd.DataFrame, resolved: BuildingFields) -> np.ndarray:
    """Whether each building is a light structure: its light field says yes (Oui, true,
    1...), or, with the OpenStreetMap layout, its ``building`` tag is one of
    :data:`OSM_LIGHT`."""
    out = np.zeros(len(raw), dtype=bool)
    name = resolved.fields.get("light")
    if name is not None and name in raw.columns:
        column = raw[name]
        if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            out |= (pd.to_numeric(column, errors="coerce") == 1).to_numpy()
        else:
            out |= column.astype("string").str.strip().str.lower().isin(YES).to_numpy()
    usage = _text(raw, resolved.fields.get("usage"))
    if resolved.layout == "osm" and usage is not None:
        out |= usage.str.lower().isin(OSM_LIGHT).to_numpy()
    return out


def not_in_service(raw: pd.DataFrame, resolved: BuildingFields) -> np.ndarray:
    """Whether each building is not in service: its state field holds a value other than
    'En service' (an empty one is kept), or, with the OpenStreetMap layout, its
    ``building`` tag is one of :data:`OSM_NOT_IN_SERVICE`."""
    out = np.zeros(len(raw), dtype=bool)
    state = _text(raw, resolved.fields.get("state"))
    if state is not None:
        out |= ((state != "") & (state.str.lower() != IN_SERVICE)).to_numpy()
    usage = _text(raw, resolved.fields.get("usage"))
    if resolved.layout == "osm" and usage is not None:
        out |= usage.str.lower().isin(OSM_NOT_IN_SERVICE).to_numpy()
    return out


def osm_metres(values: pd.Series) -> np.ndarray:
    """Lengths written as OpenStreetMap does (``12``, ``12.5``, ``12,5``, ``12 m``) [m];
    NaN for anything else (feet, ranges, text).

    Examples
    --------
    >>> osm_metres(pd.Series(["12", "7,5 m", "30'", None])).tolist()
    [12.0, 7.5, nan, nan]
    """
    text = values.astype("string").str.strip().str.replace(",", ".", regex=False)
    number = text.str.extract(r"^([0-9]+(?:\.[0-9]+)?)\s*(?:m|metres?|meters?)?$")[0]
    return pd.to_numeric(number, errors="coerce").to_numpy(dtype=float)


def osm_heights(raw: pd.DataFrame, resolved: BuildingFields) -> np.ndarray:
    """Height of each OpenStreetMap building [m]: ``height``, else ``building:levels`` ×
    :data:`OSM_STOREY_HEIGHT_M`; NaN when neither is known."""
    name = resolved.fields.get("height")
    height = (
        osm_metres(raw[name])
        if name is not None and name in raw.columns
        else np.full(len(raw), np.nan)
    )
    if resolved.levels is not None:
        levels = osm_metres(raw[resolved.levels])
        height = np.where(np.isnan(height), levels * OSM_STOREY_HEIGHT_M, height)
    return height


def osm_roof_ranges(raw: pd.DataFrame, resolved: BuildingFields) -> np.ndarray:
    """Roof altitude range of each OpenStreetMap building [m]: ``roof:height``, else 0 for
    ``roof:shape=flat``; NaN (roof form unknown) otherwise, pitched shapes included (their
    range, hence whether they are flat by the model's threshold, is not known)."""
    out = np.full(len(raw), np.nan)
    if resolved.roof_shape is not None:
        shape = raw[resolved.roof_shape].astype("string").str.strip().str.lower()
        out[(shape == "flat").fillna(False).to_numpy(dtype=bool)] = 0.0
    if resolved.roof_height is not None:
        height = osm_metres(raw[resolved.roof_height])
        out = np.where(np.isnan(height), out, height)
    return out
