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
from geocarbon.territory import ARRONDISSEMENTS, departement_of

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
    known: set[str] | None = None,
    members: pd.Series | None = None,
    run_epcis: set[str] | None = None,
    layer_codes: set[str] | None = None,
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
    known : set of str, optional
        Every commune code the run knows exists (the whole commune layer before the
        territory was picked, and the commune table); default: ``communes``. Rows of known
        communes outside the territory are left aside; codes of the territory's
        départements unknown to both are refused (another vintage).
    members : Series, optional
        EPCI of every commune of the commune table (index: commune code).
    run_epcis : set of str, optional
        EPCIs of the run's communes.
    layer_codes : set of str, optional
        Codes of the whole commune layer (before the territory was picked). With
        ``members`` and ``run_epcis``, rows of communes the table puts in an EPCI of the run
        but the layer lacks are listed in a notice (another vintage, or a layer cut by hand).

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, summed per commune and code pair.
    notices : list of Notice
        Rows of communes outside the territory left aside; arrondissements municipaux
        (Paris, Marseille, Lyon) counted in their commune.

    Raises
    ------
    InputError
        Missing columns, non-numeric, infinite or negative areas (rows with an empty area
        are left aside with a notice, see :func:`check_change_areas`), non-integer or
        unknown codes, communes of the territory's départements unknown to the boundaries
        and the commune table, no row in the territory's départements (a territory without
        change recorded gets a notice: its land-use change is 0).
    """
    notices: list[Notice] = []
    missing = [c for c in (from_field, to_field, commune_field, area_field) if c not in raw.columns]
    if missing:
        msg = f"change table {source}: no column {', '.join(map(repr, missing))}; columns: {', '.join(raw.columns)}"
        raise InputError(msg)
    if len(raw) == 0:
        msg = f"change table {source} is empty"
        raise InputError(msg)
    area, more = check_change_areas(raw, area_field, commune_field, source)
    notices += more
    raw = raw[area.notna()]
    area = area[area.notna()]
    if len(raw) == 0:
        msg = f"change table {source}: no row has an area in column {area_field!r}"
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
    territory = set(communes)
    known_codes = set(known) if known is not None else territory
    arrondissement = table["commune_code"].map(ARRONDISSEMENTS)
    merged = (
        arrondissement.notna()
        & ~table["commune_code"].isin(known_codes)
        & arrondissement.isin(known_codes)
    )
    if (merged & arrondissement.isin(communes)).any():
        notices.append(
            Notice(
                "change_arrondissements",
                f"{int(merged.sum())} rows of {source} give arrondissements municipaux; they are "
                "counted in their commune (Paris 75056, Marseille 13055, Lyon 69123)",
                sorted(set(table.loc[merged & arrondissement.isin(communes), "commune_code"])),
                facts={"n_rows": int(merged.sum()), "source": str(source)},
            )
        )
    if merged.any():
        table["commune_code"] = np.where(merged, arrondissement, table["commune_code"]).astype(
            object
        )
    inside = table["commune_code"].isin(territory)
    deps = set(departement_of(pd.Series(sorted(territory))))
    same_dep = departement_of(table["commune_code"]).isin(deps)
    stray = sorted(
        set(table.loc[same_dep & ~table["commune_code"].isin(known_codes), "commune_code"])
    )
    if stray:
        msg = (
            f"change table {source}: communes {', '.join(stray[:10])}{' ...' if len(stray) > 10 else ''} "
            "of the territory's départements are neither in the commune boundaries nor in the "
            "commune table: the change table and the boundaries are of different commune "
            "vintages (use both of the same year), or the boundaries hold part of the "
            "département only (then give communes.table, a commune table of the same vintage, "
            "or pick the territory with territory: from the whole département's layer)"
        )
        raise InputError(msg)
    if not inside.any():
        if not same_dep.any():
            msg = (
                f"change table {source}: no row concerns the territory's départements "
                f"({', '.join(sorted(deps))}; communes like {min(territory)}): is it the table of "
                "another territory, or is commune_field the wrong column?"
            )
            raise InputError(msg)
        notices.append(
            Notice(
                "no_change_recorded",
                f"{source} records no change for the territory's communes over the period: "
                "land-use change is 0 (a measured zero, as in ALDO)",
                facts={"source": str(source)},
            )
        )
    if members is not None and run_epcis:
        # communes the commune table puts in an EPCI of the run, absent from the commune layer:
        # another commune vintage (merged communes) or a layer cut by hand
        gone = (
            ~inside
            & same_dep
            & ~table["commune_code"].isin(layer_codes if layer_codes is not None else territory)
            & table["commune_code"].map(members).isin(run_epcis)
        )
        if gone.any():
            notices.append(
                Notice(
                    "changes_of_communes_missing_from_layer",
                    f"{table.loc[gone, 'area_ha'].sum():,.1f} ha of change in communes that the "
                    "commune table puts in EPCIs of the run are not counted: the commune layer "
                    "lacks these communes (a layer and a commune table of different vintages, "
                    "e.g. merged communes, or a layer cut by hand); their EPCIs are flagged "
                    "partial",
                    sorted(set(table.loc[gone, "commune_code"])),
                    facts={"area_ha": float(table.loc[gone, "area_ha"].sum())},
                )
            )
    left_aside = int((~inside).sum())
    if left_aside:
        outside = table.loc[~inside, "commune_code"]
        notices.append(
            Notice(
                "change_rows_outside_territory",
                f"{left_aside} rows of {source} ({outside.nunique()} communes) concern communes "
                "outside the territory and were left aside",
                [],
                facts={
                    "n_rows": left_aside,
                    "n_communes": int(outside.nunique()),
                    "source": str(source),
                },
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


#: Tolerance of :func:`check_changed_area_fits`: a commune may have changed over at most its
#: area times (1 + this share), plus :data:`CHANGE_AREA_SLACK_HA` (boundary vintages differ).
CHANGE_AREA_TOLERANCE = 0.05
CHANGE_AREA_SLACK_HA = 1.0


def check_changed_area_fits(changes: pd.DataFrame, commune_area_ha: pd.Series, source: str) -> None:
    """Refuse a change table giving a commune more changed land than the commune has.

    Each hectare changes at most once over a period: the changed areas of a commune
    cannot add up to more than its area (beyond :data:`CHANGE_AREA_TOLERANCE` and
    :data:`CHANGE_AREA_SLACK_HA`).

    Parameters
    ----------
    changes : DataFrame
        :data:`CHANGE_COLUMNS` (``area_ha`` [ha]).
    commune_area_ha : Series
        True area [ha] of each commune, indexed by commune code.
    source : str
        The table's file, for messages.

    Raises
    ------
    InputError
        Naming the communes, their changed area and their area.
    """
    changed = changes.groupby("commune_code")["area_ha"].sum()
    area = commune_area_ha.reindex(changed.index)
    over = changed > area * (1 + CHANGE_AREA_TOLERANCE) + CHANGE_AREA_SLACK_HA
    if over.any():
        shown = ", ".join(
            f"{code}: {changed[code]:,.1f} ha changed, area {area[code]:,.1f} ha"
            for code in changed.index[over.to_numpy()][:5]
        )
        msg = (
            f"change table {source}: communes with more changed land than their area ({shown}); "
            "areas must be hectares changed over the period: check the column and its unit"
        )
        raise InputError(msg)


def check_change_areas(
    raw: pd.DataFrame, area_field: str, commune_field: str, source: str
) -> tuple[pd.Series, list[Notice]]:
    """Changed areas [ha] of a change table, checked.

    An empty area (also ``nan``, ``NA``) means no change recorded: the row is left aside
    with a notice. Text that is not a number, infinite or negative areas mean a corrupt
    table: refused.

    Parameters
    ----------
    raw : DataFrame
        The table as read (strings).
    area_field, commune_field : str
        Columns of the changed area [ha] and of the commune code.
    source : str
        File name, for messages.

    Returns
    -------
    Series
        Area [ha] of each row (NaN where empty), index of ``raw``.
    list of Notice
        The rows left aside for an empty area.

    Raises
    ------
    InputError
        Non-numeric, infinite or negative areas (file, column, line, commune and value).
    """
    text = raw[area_field]
    area = pd.to_numeric(text, errors="coerce").astype(float)
    empty = text.isna()
    checks = (
        (
            area.isna() & ~empty,
            "non-numeric areas",
            "write areas in hectares with a dot as decimal separator",
        ),
        (np.isinf(area), "infinite areas", "areas are hectares changed over the period"),
        (area < 0, "negative areas", "areas are hectares changed over the period"),
    )
    for bad, what, fix in checks:
        if bad.any():
            rows = raw.index[np.asarray(bad, dtype=bool)]
            values = ", ".join(
                f"line {int(str(i)) + 2} (commune {raw.at[i, commune_field]!s}): {text.loc[i]!r}"
                for i in rows[:5]
            )
            more = f" and {len(rows) - 5} more rows" if len(rows) > 5 else ""
            msg = f"change table {source}: {what} in column {area_field!r} ({values}{more}); {fix}"
            raise InputError(msg)
    notices = []
    if empty.any():
        rows = raw.index[empty.to_numpy()]
        notices.append(
            Notice(
                "change_area_missing",
                f"{len(rows)} rows of {source} have no area in column {area_field!r} (no change "
                "recorded): left aside",
                [f"line {int(str(i)) + 2} (commune {raw.at[i, commune_field]!s})" for i in rows],
                facts={"n_rows": len(rows), "source": str(source), "area_field": str(area_field)},
            )
        )
    return area, notices


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
