"""Checks of the numbers of a reference table (coefficient tables): every cell a finite
number within its plausible range, duplicated keys identical. Pure functions on DataFrames,
shared by the readers and the models."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from geocarbon.errors import CoefficientError

_TEXT_FIX = (
    "correct the cell (a number with a dot as decimal mark; an empty cell where the "
    "published table has none) or restore the published file"
)


def _shown(value: object) -> str:
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return repr(value)


def checked_numbers(
    frame: pd.DataFrame,
    columns: Iterable[str],
    *,
    source: str,
    labels: pd.Series,
    low: float,
    high: float,
    unit: str,
    blank: str = "",
) -> pd.DataFrame:
    """A copy of ``frame`` whose ``columns`` are floats, every value checked.

    Empty cells become NaN (what they mean is the caller's business); a cell holding text
    that is not a number, an infinite value or a value outside ``[low, high]`` is refused.

    Parameters
    ----------
    frame : DataFrame
        The table as read (cells may be text).
    columns : iterable of str
        Columns to convert; those absent from ``frame`` are skipped.
    source : str
        What and which file, for messages (e.g. ``"ALDO tables: /x/stocks-zpc.csv"``).
    labels : Series
        A label per row naming it (e.g. ``"zpc 4_1"``), aligned on ``frame``'s index.
    low, high : float
        Allowed range, in ``unit``.
    unit : str
        Unit of the values (e.g. ``"tC/ha"``).
    blank : str
        What an empty cell means, for the message of a refused cell.

    Raises
    ------
    CoefficientError
        Naming the file, the row, the column and the value, the allowed range and the fix.
    """
    columns = list(columns)
    out = frame.copy()
    in_range = _numbers_in_range(frame, columns, low=low, high=high)
    for column in columns:
        if column not in frame.columns:
            continue
        if column in in_range:  # already numbers, all within range: converted only
            if frame[column].dtype != np.float64:
                out[column] = frame[column].astype(float)
            continue
        numbers, text, empty = _parsed_cells(frame[column])
        where = f"{source}: {{label}}, column {column!r}"
        _check_parsed(numbers, text, empty, where=where, labels=labels, blank=blank)
        _check_range(numbers, where=where, labels=labels, low=low, high=high, unit=unit)
        out[column] = numbers
    return out


def _numbers_in_range(
    frame: pd.DataFrame, columns: list[str], *, low: float, high: float
) -> set[str]:
    """The ``columns`` of ``frame`` that NumPy holds as numbers (integers or floats) and whose
    values all lie in ``[low, high]`` (NaN allowed), checked together as one array; the
    checks of :func:`checked_numbers` cannot refuse them."""
    if not frame.columns.is_unique:
        return set()
    numeric = [
        c
        for c in dict.fromkeys(columns)
        if c in frame.columns
        and isinstance(frame[c].dtype, np.dtype)
        and frame[c].dtype.kind in "iuf"
    ]
    if not numeric:
        return set()
    values = frame[numeric].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~(np.isfinite(values) & (values >= low) & (values <= high))
    return {c for c, refused in zip(numeric, bad.any(axis=0), strict=True) if not refused}


def _parsed_cells(raw: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The cells of a column as floats (NaN where empty or not a number), as shown in
    messages, and whether each is empty (a boolean column is all text, nothing empty)."""
    if pd.api.types.is_bool_dtype(raw):
        text = raw.astype(object).astype(str)
        numbers = pd.Series(np.nan, index=raw.index)
        empty = pd.Series(False, index=raw.index)
    elif pd.api.types.is_numeric_dtype(raw):
        numbers = raw.astype(float)
        text = raw
        empty = numbers.isna()
    else:
        text = raw.astype(object).where(raw.notna(), None)
        stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
        empty = stripped.isna() | stripped.eq("")
        numbers = pd.to_numeric(stripped.where(~empty), errors="coerce").astype(float)
    return numbers, text, empty


def _check_parsed(
    numbers: pd.Series,
    text: pd.Series,
    empty: pd.Series,
    *,
    where: str,
    labels: pd.Series,
    blank: str,
) -> None:
    """Refuse a column holding a cell that is neither empty nor a number; ``where`` names
    the file and column, with ``{label}`` for the row.

    Raises
    ------
    CoefficientError
        Naming the first such cell and how many others there are.
    """
    not_number = numbers.isna() & ~empty
    if not_number.any():
        first = not_number.to_numpy().nonzero()[0][0]
        more = int(not_number.sum()) - 1
        msg = (
            f"{where.format(label=labels.iloc[first])}: {_shown(text.iloc[first])} is not a "
            f"number{f' (and {more} other cells of this column)' if more else ''}; "
            f"{_TEXT_FIX}{f'; an empty cell means {blank}' if blank else ''}"
        )
        raise CoefficientError(msg)


def _check_range(
    numbers: pd.Series,
    *,
    where: str,
    labels: pd.Series,
    low: float,
    high: float,
    unit: str,
) -> None:
    """Refuse a column holding an infinite value or a value outside ``[low, high]`` (in
    ``unit``); NaN (empty) is allowed.

    Raises
    ------
    CoefficientError
        Naming the first such cell, the range and how many other cells are outside it.
    """
    values = numbers.to_numpy()
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~(np.isfinite(values) & (values >= low) & (values <= high))
    if bad.any():
        first = bad.nonzero()[0][0]
        more = int(bad.sum()) - 1
        msg = (
            f"{where.format(label=labels.iloc[first])}: {_shown(values[first])} is outside "
            f"the plausible range {_shown(low)} to {_shown(high)} {unit}"
            f"{f' (and {more} other cells of this column)' if more else ''}; correct the "
            "value or restore the published file"
        )
        raise CoefficientError(msg)


def drop_identical_duplicates(
    frame: pd.DataFrame,
    key: list[str],
    *,
    source: str,
    compare: list[str] | None = None,
) -> pd.DataFrame:
    """``frame`` with one row per ``key``: identical duplicates are dropped, rows that share
    a key but disagree are refused.

    Parameters
    ----------
    frame : DataFrame
        The table (values already converted, so that ``47`` and ``47.0`` agree).
    key : list of str
        Columns identifying a row.
    source : str
        What and which file, for messages.
    compare : list of str, optional
        Columns that must agree between duplicates (default: every column).

    Raises
    ------
    CoefficientError
        Naming the key, the column and both values.
    """
    columns = list(dict.fromkeys([*key, *(compare if compare is not None else frame.columns)]))
    repeated = frame.duplicated(key, keep=False).to_numpy()
    if repeated.any():  # rows that disagree share a key: only those rows are compared
        _refuse_disagreeing(frame.loc[repeated, columns], key, source=source)
    keep = ~frame.duplicated(key)
    return frame[keep].reset_index(drop=True)


def _refuse_disagreeing(candidates: pd.DataFrame, key: list[str], *, source: str) -> None:
    """Refuse rows of ``candidates`` that share a key but differ in another column.

    Raises
    ------
    CoefficientError
        Naming the key, the column and both values (see :func:`drop_identical_duplicates`).
    """
    columns = list(candidates.columns)
    distinct = candidates.drop_duplicates()
    clash = distinct[distinct.duplicated(key, keep=False)]
    if len(clash):
        first = clash.iloc[0]
        same = (clash[key] == first[key]).all(axis=1)
        rows = clash[same]
        differ = next(
            c
            for c in columns
            if c not in key
            and rows[c].astype(object).where(rows[c].notna(), None).nunique(dropna=False) > 1
        )
        values = " and ".join(_shown(v) for v in rows[differ].head(2))
        name = ", ".join(f"{k} {first[k]!s}" for k in key)
        n_keys = len(clash.drop_duplicates(key))
        msg = (
            f"{source}: {name} is listed twice with different values of {differ!r}: {values}"
            f"{f' ({n_keys - 1} other keys too)' if n_keys > 1 else ''}; keep one row per "
            f"{', '.join(key)} (identical duplicates are allowed)"
        )
        raise CoefficientError(msg)
