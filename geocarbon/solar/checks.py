"""Checks of the rooftop PV step's auxiliary inputs (pure functions, no I/O): installed power
of existing installations and annual irradiation read from a raster."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import pandas as pd

from geocarbon.errors import InputError

#: Largest plausible installed power of ONE existing installation [kWp]: 100 MWp
#: (100,000 kWp), larger than any rooftop system (the largest rooftop arrays reach a few
#: tens of MWp). A larger value is a unit or typing error (W instead of kW, an exponent).
MAX_EXISTING_KWP = 100_000.0

#: Lowest annual global horizontal irradiation accepted from a raster [kWh/m²/yr]. Inhabited
#: land receives from about 700 (northern Europe) to about 2,600 (Atacama) kWh/m²/yr.
MIN_IRRADIATION_KWH_PER_M2_YR = 300.0
#: Highest annual global horizontal irradiation accepted from a raster [kWh/m²/yr].
MAX_IRRADIATION_KWH_PER_M2_YR = 3_000.0

#: Problems listed at most in one message (the count of all is given).
_SHOWN = 5


def show_value(value: float) -> str:
    """A number as read, never rounded into another value (3.8 stays "3.8", 1378000 is
    "1,378,000", 1e30 is "1e+30")."""
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1e9:
        return f"{value:.4g}"
    if abs(value) >= 1_000:
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"
    return f"{value:.6g}"


def _parse_kwp(value: Any) -> tuple[float, str]:
    """(power [kWp], problem): NaN and "" for an empty cell, NaN and the problem for a
    value that is not an installed power."""
    if value is None or value is pd.NA or value is pd.NaT:
        return math.nan, ""
    if isinstance(value, bool | np.bool_):
        return math.nan, "not a number"
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):  # an empty cell of a numeric column
            return math.nan, ""
    else:
        text = str(value).strip()
        if not text:
            return math.nan, ""
        if text.count(",") == 1 and "." not in text:
            text = text.replace(",", ".")  # decimal comma
        try:
            number = float(text)
        except ValueError:
            return math.nan, "text, not a number in kWp"
    if not math.isfinite(number):
        return math.nan, "not a finite number"
    if number < 0:
        return math.nan, "negative"
    if number > MAX_EXISTING_KWP:
        return math.nan, f"above {MAX_EXISTING_KWP:,.0f} kWp"
    return number, ""


def existing_kwp_values(values: pd.Series, source: str, field: str) -> tuple[np.ndarray, list[int]]:
    """Installed power of each existing installation, checked.

    Parameters
    ----------
    values : pandas.Series
        The ``kwp_field`` column of the existing installations, one row per feature.
    source : str
        The file (for messages).
    field : str
        The field's name (for messages).

    Returns
    -------
    power_kwp : ndarray of float
        Installed power of each installation [kWp]; NaN where the cell is empty (unknown).
    empty_features : list of int
        Numbers (1-based, in file order) of the features with an empty cell.

    Raises
    ------
    InputError
        A value is text, negative, not finite or above :data:`MAX_EXISTING_KWP`: the
        file, field, features and values are named.
    """
    power_kwp = np.full(len(values), np.nan)
    empty: list[int] = []
    bad: list[str] = []
    for i, value in enumerate(values.tolist()):
        number, problem = _parse_kwp(value)
        if problem:
            numeric = isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)
            shown = show_value(float(value)) if numeric else repr(value)
            bad.append(f"feature {i + 1}: {shown} ({problem})")
        elif math.isnan(number):
            empty.append(i + 1)
        else:
            power_kwp[i] = number
    if bad:
        more = f" (and {len(bad) - _SHOWN} more)" if len(bad) > _SHOWN else ""
        msg = (
            f"existing installations: {source}, field {field!r} (pv.existing.kwp_field): "
            f"{len(bad)} of {len(values)} features do not hold an installed power in kWp: "
            f"{'; '.join(bad[:_SHOWN])}{more}. Allowed: a number from 0 to "
            f"{MAX_EXISTING_KWP:,.0f} kWp per installation (MAX_EXISTING_KWP = 100 MWp, larger "
            "than any rooftop system), with a decimal point; leave the cell empty when the power "
            "is unknown. Fix these values (convert W or MW to kWp) and run again"
        )
        raise InputError(msg)
    return power_kwp, empty


def irradiation_problem(ghi_kwh_per_m2_yr: np.ndarray) -> str | None:
    """What is wrong with the annual irradiation read at the buildings, or None.

    Parameters
    ----------
    ghi_kwh_per_m2_yr : ndarray of float
        Values of the raster at the buildings (NaN off the raster or on nodata), expected
        in kWh/m²/yr.

    Returns
    -------
    str or None
        The values' range, the allowed range and how to fix them; None when every value
        lies within [:data:`MIN_IRRADIATION_KWH_PER_M2_YR`,
        :data:`MAX_IRRADIATION_KWH_PER_M2_YR`].
    """
    valid = ghi_kwh_per_m2_yr[~np.isnan(ghi_kwh_per_m2_yr)]
    if len(valid) == 0:
        return None
    lo_ok, hi_ok = MIN_IRRADIATION_KWH_PER_M2_YR, MAX_IRRADIATION_KWH_PER_M2_YR
    outside = (valid < lo_ok) | (valid > hi_ok) | ~np.isfinite(valid)
    if not outside.any():
        return None
    lo, hi = float(valid.min()), float(valid.max())
    if lo >= lo_ok * 1_000 and hi <= hi_ok * 1_000:
        hint = "the values look like Wh/m²/yr: divide them by 1000"
    elif lo >= lo_ok / 365 and hi <= hi_ok / 365:
        hint = "the values look like a daily mean in kWh/m²/day: multiply them by 365"
    elif lo < 0:
        hint = (
            "irradiation cannot be negative: if these cells mean 'no data', declare that value as "
            "the raster's nodata (e.g. gdal_edit.py -a_nodata VALUE FILE), otherwise fix the raster"
        )
    elif hi > hi_ok * 1_000:
        hint = (
            "the values are far too large for any unit: if they mean 'no data', declare that "
            "value as the raster's nodata (e.g. gdal_edit.py -a_nodata VALUE FILE)"
        )
    else:
        hint = "give the annual global horizontal irradiation in kWh/m²/yr"
    return (
        f"{int(outside.sum())} of {len(valid)} buildings lie on values outside the allowed range "
        f"(values at the buildings: {show_value(lo)} to {show_value(hi)}); allowed: "
        f"{lo_ok:,.0f} to {hi_ok:,.0f} kWh/m²/yr (MIN_IRRADIATION_KWH_PER_M2_YR to "
        f"MAX_IRRADIATION_KWH_PER_M2_YR, annual global horizontal irradiation); {hint}"
    )
