"""A synthetic weather year: the shape of a year's irradiance where no weather file is given
(the rooftop PV yields then take their level from an irradiation raster), and the demo
territory's weather file."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Seed of the synthetic year (the demo territory's seed).
SYNTHETIC_SEED = 20181217


def synthetic_weather_year(
    latitude: float, longitude: float, seed: int = SYNTHETIC_SEED
) -> pd.DataFrame:
    """A synthetic hourly year at ``latitude``, ``longitude`` [degrees] (deterministic for a
    ``seed``): clear-sky irradiance (Haurwitz) dimmed by a random daily clearness, split into
    beam and diffuse with Erbs' model; seasonal and daily temperature cycles; moderate wind.

    Returns
    -------
    DataFrame
        Hour-beginning index (UTC+1, 8,760 hours); ``ghi``, ``dni``, ``dhi`` [W/m²],
        ``temp_air`` [°C], ``wind_speed`` [m/s], ``relative_humidity`` [%], ``pressure`` [Pa].
    """
    import pvlib

    rng = np.random.default_rng(seed)
    index = pd.date_range("2019-01-01 00:00", periods=8760, freq="h", tz="Etc/GMT-1")
    mid = index.shift(30, freq="min")
    solpos = pvlib.solarposition.get_solarposition(mid, latitude, longitude)
    clear = pvlib.clearsky.haurwitz(solpos["apparent_zenith"])["ghi"].to_numpy()
    doy = index.day_of_year.to_numpy()
    daily = rng.beta(4.0, 2.0, 366)  # clearness of each day (mean ~0.67)
    ghi = clear * daily[doy - 1]
    parts = pvlib.irradiance.erbs(ghi, solpos["zenith"].to_numpy(), mid)
    season = np.sin(2 * np.pi * (doy - 110) / 365)
    hour = index.hour.to_numpy()
    temp = (
        12.5
        + 8.5 * season
        + 4.5 * np.sin(2 * np.pi * (hour - 9) / 24)
        + rng.normal(0, 1.0, len(index))
    )
    return pd.DataFrame(
        {
            "ghi": ghi,
            "dni": np.nan_to_num(np.asarray(parts["dni"], dtype=float)),
            "dhi": np.nan_to_num(np.asarray(parts["dhi"], dtype=float)),
            "temp_air": temp,
            "wind_speed": np.round(1.5 + 2.5 * rng.random(len(index)), 1),
            "relative_humidity": np.clip(75 - 15 * season + rng.normal(0, 5, len(index)), 20, 100),
            "pressure": np.full(len(index), 98_500.0),
        },
        index=index,
    )
