"""Land-use change between two dates: a checked table of changed areas per commune.

Two sources give the same table (``commune_code``, ``from_code``, ``to_code``,
``area_ha`` over the period):

* a change table per commune (ADEME publishes CLC 2012 → 2018 changes in this form);
* two land-cover rasters, cross-tabulated per commune by the zonal engine (the earlier
  raster aligned on the later one's grid with nearest-neighbour resampling).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geocarbon.communes import normalise_codes
from geocarbon.errors import InputError
from geocarbon.notices import Notice

CHANGE_COLUMNS = ["commune_code", "from_code", "to_code", "area_ha"]


def prepare_change_table(
    raw: pd.DataFrame,
    *,
    source: str,
    from_field: str,
    to_field: str,
    commune_field: str,
    area_field: str,
    communes: pd.Series,
    mapping: dict[int, str],
) -> tuple[pd.DataFrame, list[Notice]]:
    """Check a change table and keep the territory's rows.

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    source : str
        File name, for messages.
    from_field, to_field, commune_field, area_field : str
        Column names (codes at the start and end dates, commune code, changed area [ha]
        over the period).
    communes : Series
        Commune codes of the territory.
    mapping : dict
        Land-cover code → category.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, summed per commune and code pair.
    notices : list of Notice
        Rows of communes of other départements left aside.

    Raises
    ------
    InputError
        Missing columns, non-numeric or negative areas, non-integer or unknown codes,
        communes of the territory's départements absent from the boundaries, no row for
        the territory.
    """
    notices: list[Notice] = []
    missing = [c for c in (from_field, to_field, commune_field, area_field) if c not in raw.columns]
    if missing:
        msg = f"change table {source}: no column {', '.join(map(repr, missing))}; columns: {', '.join(raw.columns)}"
        raise InputError(msg)
    if len(raw) == 0:
        msg = f"change table {source} is empty"
        raise InputError(msg)
    area = pd.to_numeric(raw[area_field], errors="coerce")
    bad = raw.loc[area.isna(), area_field]
    if len(bad):
        rows = ", ".join(f"line {int(str(i)) + 2}: {v!r}" for i, v in bad.head(5).items())
        msg = f"change table {source}: non-numeric areas in column {area_field!r} ({rows})"
        raise InputError(msg)
    negative = raw.loc[area < 0, area_field]
    if len(negative):
        rows = ", ".join(f"line {int(str(i)) + 2}: {v}" for i, v in negative.head(5).items())
        msg = f"change table {source}: negative areas in column {area_field!r} ({rows}); areas are hectares changed over the period"
        raise InputError(msg)
    codes = {}
    for field in (from_field, to_field):
        values = pd.to_numeric(raw[field], errors="coerce")
        wrong = raw.loc[values.isna() | (values != np.floor(values)), field]
        if len(wrong):
            msg = f"change table {source}: land-cover codes must be integers; column {field!r} holds {wrong.unique()[:5].tolist()}"
            raise InputError(msg)
        codes[field] = values.astype(np.int64)
    table = pd.DataFrame(
        {
            "commune_code": normalise_codes(raw[commune_field]).to_numpy(),
            "from_code": codes[from_field].to_numpy(),
            "to_code": codes[to_field].to_numpy(),
            "area_ha": area.to_numpy(dtype=float),
        }
    )
    known = set(communes)
    inside = table["commune_code"].isin(known)
    prefixes = {str(c)[:2] for c in known}
    same_dep = table["commune_code"].astype(str).str[:2].isin(prefixes)
    stray = sorted(set(table.loc[same_dep & ~inside, "commune_code"]))
    if stray:
        msg = (
            f"change table {source}: communes {', '.join(stray[:10])}{' ...' if len(stray) > 10 else ''} "
            "are not in the commune boundaries although they belong to the territory's départements "
            "(another commune vintage?). Use boundaries and a change table of the same vintage."
        )
        raise InputError(msg)
    if not inside.any():
        msg = f"change table {source}: no row concerns the territory's communes (codes like {next(iter(known))})"
        raise InputError(msg)
    left_aside = int((~inside).sum())
    if left_aside:
        notices.append(
            Notice(
                "change_rows_outside_territory",
                f"{left_aside} rows of {source} concern communes outside the territory and were left aside",
                [],
            )
        )
    table = table[inside]
    unknown = sorted((set(table["from_code"]) | set(table["to_code"])) - set(mapping))
    if unknown:
        msg = (
            f"change table {source}: land-cover codes {unknown} are absent from the nomenclature; "
            "map them (landcover.category_overrides) or fix the table"
        )
        raise InputError(msg)
    out = table.groupby(["commune_code", "from_code", "to_code"], as_index=False, sort=True).agg(
        area_ha=("area_ha", "sum")
    )
    return out[CHANGE_COLUMNS], notices


def changes_from_crosstab(
    crosstab: pd.DataFrame, commune_codes: np.ndarray, before: str, after: str, no_value: int
) -> tuple[pd.DataFrame, float]:
    """Change table from a zonal cross-tab of the land cover at two dates.

    Parameters
    ----------
    crosstab : DataFrame
        ``zone``, ``<after>``, ``<before>``, ``area_m2`` (the after layer is the main one).
    commune_codes : ndarray
        Commune code of each zone index.
    no_value : int
        Code of pixels where the earlier raster has no data.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS` for pixels whose code differs between the dates.
    float
        Area [ha] where the earlier raster has no data (not counted as change).
    """
    has_before = crosstab[before] != no_value
    missing_ha = float(crosstab.loc[~has_before, "area_m2"].sum()) / 1e4
    changed = crosstab[has_before & (crosstab[before] != crosstab[after])]
    out = pd.DataFrame(
        {
            "commune_code": commune_codes[changed["zone"].to_numpy()],
            "from_code": changed[before].astype(np.int64).to_numpy(),
            "to_code": changed[after].astype(np.int64).to_numpy(),
            "area_ha": changed["area_m2"].to_numpy() / 1e4,
        }
    )
    out = out.groupby(["commune_code", "from_code", "to_code"], as_index=False, sort=True).agg(
        area_ha=("area_ha", "sum")
    )
    return out[CHANGE_COLUMNS], missing_ha
