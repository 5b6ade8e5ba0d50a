"""Land-cover areas from a table (per commune or per EPCI), instead of a raster.

ADEME publishes CLC 2018 areas per EPCI (``clc18_area_ha_by_epci.csv``: one row per EPCI,
one column per CLC code, hectares). This module turns such a table, or its long form (one
row per zone and code), into the long table the carbon steps use: ``commune_code`` (the
zone's code: an INSEE code, or an EPCI SIREN code for EPCI-level tables), ``landuse_code``,
``area_ha``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from geocarbon.communes import normalise_codes
from geocarbon.errors import InputError

AREA_COLUMNS = ["commune_code", "landuse_code", "area_ha"]


def _numbers(values: pd.Series, where: str, source: str, codes: pd.Series) -> np.ndarray:
    """Areas [ha] of a column: empty = 0 ha in a wide table; text, negatives, inf refused."""
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    numbers = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = (~empty.to_numpy() & np.isnan(numbers)) | np.isinf(numbers) | (numbers < 0)
    if bad.any():
        shown = ", ".join(
            f"{c}: {v!r}" for c, v in zip(codes[bad][:5], values.to_numpy()[bad][:5], strict=True)
        )
        msg = (
            f"area table {source}: {int(bad.sum())} values of {where} are not areas in hectares "
            f"({shown}); write non-negative numbers with a dot as decimal separator, or leave "
            "the cell empty (no area of that class)"
        )
        raise InputError(msg)
    return np.where(empty.to_numpy(), np.nan, numbers)


def area_table_long(
    raw: pd.DataFrame,
    *,
    source: str,
    code_field: str,
    layout: str,
    landuse_field: str = "code",
    area_field: str = "area",
) -> pd.DataFrame:
    """Check an area table and give it in long form.

    Parameters
    ----------
    raw : DataFrame
        The table as read (text).
    source : str
        File name, for messages.
    code_field : str
        Column of the zone code (INSEE commune code or EPCI SIREN code).
    layout : {"wide", "long"}
        ``wide``: one column per land-cover code (empty cell = no area of that class);
        ``long``: columns ``landuse_field`` and ``area_field``.
    landuse_field, area_field : str
        Columns of the long layout.

    Returns
    -------
    DataFrame
        :data:`AREA_COLUMNS`, summed per zone and code, rows of 0 ha dropped.

    Raises
    ------
    InputError
        Missing columns, columns that are not land-cover codes (wide), rows without code,
        a zone listed twice (wide), non-integer codes, areas that are not non-negative
        numbers.
    """
    frame = rows_with_code(raw, source, code_field)
    codes = normalise_codes(frame[code_field])
    if layout == "wide":
        long = wide_areas(frame, source, code_field, codes)
    else:
        long = long_areas(frame, source, codes, landuse_field, area_field)
    long = long[long["area_ha"].fillna(0.0) > 0]
    out = long.groupby(["commune_code", "landuse_code"], as_index=False, sort=True).agg(
        area_ha=("area_ha", "sum")
    )
    out["landuse_code"] = out["landuse_code"].astype(np.int64)
    return out[AREA_COLUMNS]


def rows_with_code(raw: pd.DataFrame, source: str, code_field: str) -> pd.DataFrame:
    """Rows of an area table, without the trailing blank lines of spreadsheets.

    Raises
    ------
    InputError
        No column ``code_field``, rows with areas but no code, no row at all.
    """
    if code_field not in raw.columns:
        msg = f"area table {source}: no column {code_field!r} (areas.code_field); columns: {', '.join(map(str, raw.columns[:20]))}"
        raise InputError(msg)
    frame = raw.copy()
    blank = frame[code_field].isna() | (frame[code_field].astype("string").str.strip() == "")
    values_present = frame.drop(columns=code_field).notna().any(axis=1)
    # trailing blank lines of spreadsheets: no code and no value
    frame = frame[~(blank & ~values_present)]
    blank = blank[frame.index]
    if blank.any():
        lines = ", ".join(str(int(i) + 2) for i in frame.index[blank.to_numpy()][:10])
        msg = f"area table {source}: rows with areas but no code in column {code_field!r} (lines {lines}); give each row its code"
        raise InputError(msg)
    if len(frame) == 0:
        msg = f"area table {source} holds no row"
        raise InputError(msg)
    return frame


def wide_areas(frame: pd.DataFrame, source: str, code_field: str, codes: pd.Series) -> pd.DataFrame:
    """Areas of a wide area table (one column per land-cover code) in long form.

    Parameters
    ----------
    frame : DataFrame
        The table's rows (text); empty cell = no area of that class.
    source : str
        File name, for messages.
    code_field : str
        Column of the zone code.
    codes : Series
        Normalised zone code of each row.

    Returns
    -------
    DataFrame
        :data:`AREA_COLUMNS` (``area_ha`` [ha], NaN where empty), one row per cell.

    Raises
    ------
    InputError
        Columns that are not land-cover codes, a zone listed twice, bad areas.
    """
    columns = [c for c in frame.columns if c != code_field]
    # unnamed columns of trailing separators, empty throughout, are not data
    columns = [c for c in columns if not (str(c).startswith("Unnamed:") and frame[c].isna().all())]
    wrong = [c for c in columns if not re.fullmatch(r"\s*\d+\s*", str(c))]
    if wrong:
        msg = (
            f"area table {source} (wide layout): columns {', '.join(map(repr, wrong[:8]))} are "
            f"not land-cover codes; a wide area table has the column {code_field!r} and one "
            "column per land-cover code (e.g. 112, 211, 311); use layout: long for one row per "
            "code"
        )
        raise InputError(msg)
    twice = sorted(set(codes[codes.duplicated()]))
    if twice:
        msg = f"area table {source}: zones listed twice: {', '.join(twice[:10])}; give one row per zone"
        raise InputError(msg)
    parts = []
    for column in columns:
        area = _numbers(frame[column], f"column {column!r}", source, codes)
        parts.append(
            pd.DataFrame(
                {
                    "commune_code": codes.to_numpy(),
                    "landuse_code": int(str(column)),
                    "area_ha": area,
                }
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=AREA_COLUMNS)


def long_areas(
    frame: pd.DataFrame, source: str, codes: pd.Series, landuse_field: str, area_field: str
) -> pd.DataFrame:
    """Areas of a long area table (one row per zone and land-cover code).

    Parameters
    ----------
    frame : DataFrame
        The table's rows (text).
    source : str
        File name, for messages.
    codes : Series
        Normalised zone code of each row.
    landuse_field, area_field : str
        Columns of the land-cover code and of the area [ha].

    Returns
    -------
    DataFrame
        :data:`AREA_COLUMNS` (``area_ha`` [ha], NaN where empty).

    Raises
    ------
    InputError
        Missing columns, non-integer codes, bad areas.
    """
    missing = [c for c in (landuse_field, area_field) if c not in frame.columns]
    if missing:
        msg = f"area table {source}: no column {', '.join(map(repr, missing))} (long layout); columns: {', '.join(map(str, frame.columns))}"
        raise InputError(msg)
    landuse = pd.to_numeric(frame[landuse_field], errors="coerce")
    wrong = frame.loc[landuse.isna() | (landuse != np.floor(landuse)), landuse_field]
    if len(wrong):
        msg = f"area table {source}: land-cover codes must be integers; column {landuse_field!r} holds {wrong.unique()[:5].tolist()}"
        raise InputError(msg)
    area = _numbers(frame[area_field], f"column {area_field!r}", source, codes)
    return pd.DataFrame(
        {
            "commune_code": codes.to_numpy(),
            "landuse_code": landuse.astype(np.int64).to_numpy(),
            "area_ha": area,
        }
    )


def zone_mean(frame: pd.DataFrame, zone_of: pd.Series, keys: list[str]) -> pd.DataFrame:
    """Coefficients of zones (EPCIs) as the mean over their communes (each counts once).

    Parameters
    ----------
    frame : DataFrame
        Coefficients per ``commune_code`` (and ``keys``); numeric columns are averaged,
        text columns take the first value.
    zone_of : Series
        Zone code per commune code.
    keys : list of str
        Other key columns (e.g. ``category``, ``pool``).

    Returns
    -------
    DataFrame
        Same columns, ``commune_code`` holding the zone code.
    """
    zoned = frame.assign(commune_code=frame["commune_code"].map(zone_of))
    zoned = zoned[zoned["commune_code"].notna()]
    group = ["commune_code", *keys]
    numeric = [
        c for c in zoned.columns if c not in group and pd.api.types.is_numeric_dtype(zoned[c])
    ]
    other = [c for c in zoned.columns if c not in group and c not in numeric]
    agg = {**dict.fromkeys(numeric, "mean"), **dict.fromkeys(other, "first")}
    out = zoned.groupby(group, as_index=False, sort=True).agg(agg)
    return out[list(frame.columns)]
