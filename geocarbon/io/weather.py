"""Reader of hourly weather files with irradiance, through pvlib's readers."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geocarbon.errors import InputError
from geocarbon.io.tables import require_file

#: Year given to typical-year files (months of different years; a non-leap year).
TYPICAL_YEAR = 2019


@dataclass(frozen=True)
class Weather:
    """Hourly weather of a site.

    Attributes
    ----------
    data : DataFrame
        Hour-beginning, time-zone-aware index; columns ``ghi``, ``dni``, ``dhi`` [W/m²],
        ``temp_air`` [°C], ``wind_speed`` [m/s].
    latitude, longitude : float
        Site [degrees].
    altitude : float
        Site altitude [m].
    source : str
        File and format.
    """

    data: pd.DataFrame
    latitude: float
    longitude: float
    altitude: float
    source: str


def _open_text(path: Path) -> Any:
    return (
        gzip.open(path, "rt", encoding="utf-8", errors="replace")
        if path.suffix == ".gz"
        else path.open(encoding="utf-8", errors="replace")
    )


def read_weather(path: Path, fmt: str = "auto") -> Weather:
    """Read an EPW, TMY3 or PVGIS TMY file (gzip allowed) with pvlib.

    Raises
    ------
    InputError
        Missing file, unknown format, unreadable content.
    """
    import pvlib

    path = Path(path)
    require_file(path, "weather")
    name = path.name.lower().removesuffix(".gz")
    if fmt == "auto":
        fmt = (
            "epw"
            if name.endswith(".epw")
            else "pvgis"
            if name.endswith(".json")
            else "tmy3"
            if name.endswith(".csv")
            else ""
        )
        if not fmt:
            msg = f"weather: cannot tell the format of {path}; set pv.weather.format (epw, tmy3 or pvgis)"
            raise InputError(msg)
    try:
        with _open_text(path) as fh:
            if fmt == "epw":
                data, meta = pvlib.iotools.read_epw(fh, coerce_year=TYPICAL_YEAR)
                lat, lon, alt = meta["latitude"], meta["longitude"], meta["altitude"]
            elif fmt == "tmy3":
                data, meta = pvlib.iotools.read_tmy3(
                    fh, coerce_year=TYPICAL_YEAR, map_variables=True
                )
                lat, lon, alt = meta["latitude"], meta["longitude"], meta["altitude"]
            else:
                result = pvlib.iotools.read_pvgis_tmy(fh, pvgis_format="json", map_variables=True)
                data, meta = result[0], result[-1]
                loc = meta.get("location", meta.get("inputs", {}).get("location", {}))
                lat, lon, alt = loc["latitude"], loc["longitude"], loc.get("elevation", 0.0)
                data.index = data.index.map(lambda t: t.replace(year=TYPICAL_YEAR))
    except (ValueError, KeyError, IndexError, TypeError, UnicodeDecodeError) as err:
        msg = f"weather: cannot read {path} as {fmt.upper()}: {err}"
        raise InputError(msg) from None
    return Weather(data.sort_index(), float(lat), float(lon), float(alt), f"{path} ({fmt})")
