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
        The table as read; ``source``: its file name, for messages.
    from_field, to_field, commune_field, area_field : str
        Columns: codes at the start and end dates, commune code, changed area [ha].
    communes : Series
        Commune codes of the territory; ``mapping``: land-cover code → category.
    known, members, run_epcis, layer_codes : optional
        Every commune code the run knows exists (default: ``communes``, see
        :func:`check_territory_rows`); EPCIs of the commune table's communes and of the
        run, codes of the whole commune layer (see :func:`layer_gap_notice`).

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS`, summed per commune and code pair.
    notices : list of Notice
        Rows left aside (empty areas, outside the territory), arrondissements merged.

    Raises
    ------
    InputError
        Bad columns, areas or codes; communes or rows refused by :func:`check_territory_rows`.
    """
    fields = (from_field, to_field, commune_field, area_field)
    table, notices = read_change_rows(raw, fields, source)
    territory = set(communes)
    known_codes = set(known) if known is not None else territory
    table, more = merge_arrondissements(table, territory, known_codes, source)
    notices += more
    inside, same_dep, more = check_territory_rows(table, territory, known_codes, source)
    notices += more
    if members is not None and run_epcis:
        layer = layer_codes if layer_codes is not None else territory
        notices += layer_gap_notice(table[~inside & same_dep], layer, members, run_epcis)
    notices += outside_rows_notice(table[~inside], source)
    table = table[inside]
    check_codes_mapped(table, mapping, source)
    out = table.groupby(["commune_code", "from_code", "to_code"], as_index=False, sort=True).agg(
        area_ha=("area_ha", "sum")
    )
    return out[CHANGE_COLUMNS], notices


def read_change_rows(
    raw: pd.DataFrame, fields: tuple[str, str, str, str], source: str
) -> tuple[pd.DataFrame, list[Notice]]:
    """Rows of a change table with an area, as :data:`CHANGE_COLUMNS`.

    Parameters
    ----------
    raw : DataFrame
        The table as read.
    fields : tuple of str
        Columns of the start code, end code, commune code and changed area [ha].
    source : str
        File name, for messages.

    Returns
    -------
    DataFrame
        :data:`CHANGE_COLUMNS` (``area_ha`` [ha]), one row per row of ``raw`` with an area.
    list of Notice
        The rows left aside for an empty area.

    Raises
    ------
    InputError
        Missing columns, an empty table, no row with an area, bad areas or non-integer codes.
    """
    from_field, to_field, commune_field, area_field = fields
    missing = [c for c in fields if c not in raw.columns]
    if missing:
        msg = f"change table {source}: no column {', '.join(map(repr, missing))}; columns: {', '.join(raw.columns)}"
        raise InputError(msg)
    if len(raw) == 0:
        msg = f"change table {source} is empty"
        raise InputError(msg)
    area, notices = check_change_areas(raw, area_field, commune_field, source)
    raw = raw[area.notna()]
    area = area[area.notna()]
    if len(raw) == 0:
        msg = f"change table {source}: no row has an area in column {area_field!r}"
        raise InputError(msg)
    table = pd.DataFrame(
        {
            "commune_code": normalise_codes(raw[commune_field]).to_numpy(),
            "from_code": integer_codes(raw, from_field, source).to_numpy(),
            "to_code": integer_codes(raw, to_field, source).to_numpy(),
            "area_ha": area.to_numpy(dtype=float),
        }
    )
    return table, notices


def integer_codes(raw: pd.DataFrame, field: str, source: str) -> pd.Series:
    """Land-cover codes of one column of a change table, as integers.

    A column of text cells that are all plain decimal digits is converted in one pass
    (:func:`_digit_codes`); any other goes through :func:`_integer_codes_plain`.

    Raises
    ------
    InputError
        Codes that are not integers (file, column, first values).
    """
    codes = _digit_codes(raw[field])
    return codes if codes is not None else _integer_codes_plain(raw, field, source)


#: Most digits of a code converted by :func:`_digit_codes` (any such number fits in int64).
_MAX_CODE_DIGITS = 18


def _digit_codes(column: pd.Series) -> pd.Series | None:
    """The integers of a column of text cells made of ASCII digits only (1 to
    :data:`_MAX_CODE_DIGITS` of them), parsed together; None for any other column."""
    if column.dtype != object or len(column) == 0:
        return None
    values = column.tolist()
    try:
        digits = "".join(values)
    except TypeError:  # a cell that is not text
        return None
    lengths = list(map(len, values))
    if not (digits.isascii() and digits.isdigit()) or min(lengths) == 0:
        return None
    if max(lengths) > _MAX_CODE_DIGITS:
        return None
    numbers = np.fromstring("\n".join(values), dtype=np.int64, sep="\n")
    return pd.Series(numbers, index=column.index, name=column.name)


def _integer_codes_plain(raw: pd.DataFrame, field: str, source: str) -> pd.Series:
    """:func:`integer_codes` through ``pandas.to_numeric`` (any column)."""
    values = pd.to_numeric(raw[field], errors="coerce")
    wrong = raw.loc[values.isna() | (values != np.floor(values)), field]
    if len(wrong):
        msg = f"change table {source}: land-cover codes must be integers; column {field!r} holds {wrong.unique()[:5].tolist()}"
        raise InputError(msg)
    return values.astype(np.int64)


def merge_arrondissements(
    table: pd.DataFrame, territory: set[str], known_codes: set[str], source: str
) -> tuple[pd.DataFrame, list[Notice]]:
    """Count rows of arrondissements municipaux (Paris, Marseille, Lyon) in their commune.

    Parameters
    ----------
    table : DataFrame
        :data:`CHANGE_COLUMNS`.
    territory, known_codes : set of str
        Commune codes of the territory, and every commune code the run knows exists.
    source : str
        File name, for messages.

    Returns
    -------
    DataFrame
        ``table`` with arrondissement codes unknown to the run replaced by their commune's.
    list of Notice
        The merge, when it concerns a commune of the territory.
    """
    notices = []
    arrondissement = table["commune_code"].map(ARRONDISSEMENTS)
    listed = arrondissement.notna().to_numpy()
    merged = pd.Series(False, index=table.index)
    if listed.any():  # only the rows of arrondissements are looked up in the known codes
        codes, commune = table["commune_code"][listed], arrondissement[listed]
        merged[listed] = (~codes.isin(known_codes) & commune.isin(known_codes)).to_numpy()
    ours = merged.copy()  # merged into a commune of the territory
    if merged.any():
        ours[merged] = arrondissement[merged].isin(territory).to_numpy()
    if ours.any():
        notices.append(
            Notice(
                "change_arrondissements",
                f"{int(merged.sum())} rows of {source} give arrondissements municipaux; they are "
                "counted in their commune (Paris 75056, Marseille 13055, Lyon 69123)",
                sorted(set(table.loc[ours, "commune_code"])),
                facts={"n_rows": int(merged.sum()), "source": str(source)},
            )
        )
    if merged.any():
        table["commune_code"] = np.where(merged, arrondissement, table["commune_code"]).astype(
            object
        )
    return table, notices


def check_territory_rows(
    table: pd.DataFrame, territory: set[str], known_codes: set[str], source: str
) -> tuple[pd.Series, pd.Series, list[Notice]]:
    """Rows of the territory and of its départements; refuse communes unknown to the run.

    Codes of the territory's départements unknown to the run mean another vintage. The
    parameters are those of :func:`merge_arrondissements`.

    Returns
    -------
    inside, same_dep : Series of bool
        Rows of the territory's communes, and rows of its départements.
    list of Notice
        No change recorded for the territory (its land-use change is 0).

    Raises
    ------
    InputError
        Unknown communes in the territory's départements, or no row in them.
    """
    inside = table["commune_code"].isin(territory)
    deps = set(departement_of(pd.Series(sorted(territory))))
    same_dep = departement_of(table["commune_code"]).isin(deps)
    in_deps = table.loc[same_dep, "commune_code"]
    stray = sorted(set(in_deps[~in_deps.isin(known_codes)]))
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
    if inside.any():
        return inside, same_dep, []
    if not same_dep.any():
        msg = (
            f"change table {source}: no row concerns the territory's départements "
            f"({', '.join(sorted(deps))}; communes like {min(territory)}): is it the table of "
            "another territory, or is commune_field the wrong column?"
        )
        raise InputError(msg)
    notice = Notice(
        "no_change_recorded",
        f"{source} records no change for the territory's communes over the period: "
        "land-use change is 0 (a measured zero, as in ALDO)",
        facts={"source": str(source)},
    )
    return inside, same_dep, [notice]


def layer_gap_notice(
    rows: pd.DataFrame, layer_codes: set[str], members: pd.Series, run_epcis: set[str]
) -> list[Notice]:
    """Notice of changes in communes of the run's EPCIs that the commune layer lacks.

    Another commune vintage (merged communes) or a layer cut by hand: these changes are not
    counted and their EPCIs are flagged partial.

    Parameters
    ----------
    rows : DataFrame
        :data:`CHANGE_COLUMNS` (``area_ha`` [ha]) of communes of the territory's
        départements outside the territory.
    layer_codes : set of str
        Codes of the whole commune layer (before the territory was picked).
    members : Series
        EPCI of every commune of the commune table (index: commune code).
    run_epcis : set of str
        EPCIs of the run's communes.

    Returns
    -------
    list of Notice
        One notice, or none when no such row is in an EPCI of the run.
    """
    codes = rows["commune_code"]
    gone = rows[~codes.isin(layer_codes) & codes.map(members).isin(run_epcis)]
    if gone.empty:
        return []
    return [
        Notice(
            "changes_of_communes_missing_from_layer",
            f"{gone['area_ha'].sum():,.1f} ha of change in communes that the "
            "commune table puts in EPCIs of the run are not counted: the commune layer "
            "lacks these communes (a layer and a commune table of different vintages, "
            "e.g. merged communes, or a layer cut by hand); their EPCIs are flagged "
            "partial",
            sorted(set(gone["commune_code"])),
            facts={"area_ha": float(gone["area_ha"].sum())},
        )
    ]


def outside_rows_notice(outside: pd.DataFrame, source: str) -> list[Notice]:
    """Notice of the rows of communes outside the territory, left aside (none if none)."""
    if outside.empty:
        return []
    codes = outside["commune_code"]
    return [
        Notice(
            "change_rows_outside_territory",
            f"{len(outside)} rows of {source} ({codes.nunique()} communes) concern communes "
            "outside the territory and were left aside",
            [],
            facts={
                "n_rows": len(outside),
                "n_communes": int(codes.nunique()),
                "source": str(source),
            },
        )
    ]


def check_codes_mapped(table: pd.DataFrame, mapping: dict[int, str], source: str) -> None:
    """Refuse land-cover codes of a change table absent from the nomenclature ``mapping``."""
    unknown = sorted((set(table["from_code"]) | set(table["to_code"])) - set(mapping))
    if unknown:
        msg = (
            f"change table {source}: land-cover codes {unknown} are absent from the nomenclature; "
            "map them (landcover.category_overrides) or fix the table"
        )
        raise InputError(msg)


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
    refuse_bad_areas(raw, area, area_field, commune_field, source)
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


def refuse_bad_areas(
    raw: pd.DataFrame, area: pd.Series, area_field: str, commune_field: str, source: str
) -> None:
    """Refuse non-numeric, infinite or negative changed areas.

    Parameters
    ----------
    raw : DataFrame
        The table as read (strings).
    area : Series
        Area [ha] of each row, NaN where the text is not a number.
    area_field, commune_field : str
        Columns of the changed area [ha] and of the commune code.
    source : str
        File name, for messages.

    Raises
    ------
    InputError
        Naming the file, column, lines, communes and values.
    """
    text = raw[area_field]
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
