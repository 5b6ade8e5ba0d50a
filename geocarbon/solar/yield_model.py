"""Specific yield of PV systems [kWh/kWp] from hourly weather, with pvlib.

Plane-of-array irradiance (Hay–Davies transposition, ground albedo 0.2) at the solar
position of the middle of each hour, physical incidence-angle losses on the beam, SAPM
cell temperature, PVWatts DC power with a temperature coefficient, then system losses
(14 % by default, as PVGIS). Computed once per (weather, tilt, azimuth), never per building.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from geocarbon.errors import InputError
from geocarbon.notices import Notice
from geocarbon.values import Weather

REQUIRED = ("ghi", "dni", "dhi", "temp_air", "wind_speed")


#: Physical bounds of the hourly weather values (column: (low, high, unit)). Irradiance
#: stays below ~1,361 W/m² (the solar constant) at the ground; EPW writes 9999 (irradiance),
#: 99.9 (temperature) and 999 (wind) for missing values, which these bounds catch.
PLAUSIBLE = {
    "ghi": (0.0, 1500.0, "W/m²"),
    "dni": (0.0, 1500.0, "W/m²"),
    "dhi": (0.0, 1500.0, "W/m²"),
    "temp_air": (-90.0, 65.0, "°C"),
    "wind_speed": (0.0, 110.0, "m/s"),
}


def check_weather(weather: Weather) -> None:
    """Refuse weather with missing columns, gaps, the wrong length (one hourly year), text
    or values outside physical bounds (:data:`PLAUSIBLE`, which catches EPW's missing codes).

    Raises
    ------
    InputError
        Naming the file, the column, the count and the first bad value with its time.
    """
    data = weather.data
    missing = [c for c in REQUIRED if c not in data.columns]
    if missing:
        msg = f"weather {weather.source}: no column {missing}; an hourly file with irradiance (GHI, DNI, DHI), temperature and wind is needed"
        raise InputError(msg)
    for col in REQUIRED:
        if not pd.api.types.is_numeric_dtype(data[col]):
            numbers = pd.to_numeric(data[col], errors="coerce")
            text = numbers.isna() & data[col].notna()
            if text.any():
                first = data.index[text.to_numpy()][0]
                msg = (
                    f"weather {weather.source}: column {col} holds {int(text.sum())} value(s) that "
                    f"are not numbers (e.g. {data[col][text].iloc[0]!r} at {first}); fix the file"
                )
                raise InputError(msg)
    if len(data) not in (8760, 8784):
        msg = f"weather {weather.source}: {len(data)} hourly rows; a full year has 8,760 (8,784 in a leap year)"
        raise InputError(msg)
    steps = pd.Series(data.index).diff().dropna()
    if not (steps == pd.Timedelta(hours=1)).all():
        bad = int((steps != pd.Timedelta(hours=1)).sum())
        msg = f"weather {weather.source}: {bad} time steps are not one hour apart (gaps or duplicates)"
        raise InputError(msg)
    gaps = data[list(REQUIRED)].isna().sum()
    if gaps.any():
        listed = ", ".join(f"{c}: {n}" for c, n in gaps.items() if n)
        msg = f"weather {weather.source}: missing values ({listed}); fill the gaps or use another file"
        raise InputError(msg)
    for col, (low, high, unit) in PLAUSIBLE.items():
        values = pd.to_numeric(data[col], errors="coerce")
        outside = (values < low) | (values > high)
        if outside.any():
            first = values[outside]
            msg = (
                f"weather {weather.source}: {int(outside.sum())} value(s) of {col} outside "
                f"{low:g}–{high:g} {unit} (e.g. {first.iloc[0]:g} at {first.index[0]}); "
                "9999, 99.9 or 999 are EPW's codes for a missing value: fill the gaps or use "
                "another file"
            )
            raise InputError(msg)


#: Distance [km] from the territory's centre beyond which a weather file is refused (it is
#: another climate), and beyond which it is reported with a notice.
WEATHER_REFUSED_KM = 1_000.0
WEATHER_NOTICE_KM = 200.0
#: Largest gap [h] between a weather file's time zone and its longitude's solar time (legal
#: time zones stay within about 3 h of it): beyond, the file's time zone is wrong.
WEATHER_TZ_GAP_H = 3.0


#: Closure of a weather file's irradiance above which a notice is given: (Σ DNI·cos z + DHI)
#: / Σ GHI − 1 over the daytime hours, as a share (a consistent file is within about 1 %).
CLOSURE_NOTICE_SHARE = 0.03
#: An hour is "off" when its DNI·cos z + DHI differs from its GHI by more than this share.
CLOSURE_HOUR_SHARE = 0.20


def irradiance_closure(weather: Weather) -> tuple[float, int]:
    """How far the weather year's beam and diffuse irradiance add up to its global
    irradiance (GHI ≈ DNI·cos(zenith) + DHI, sun above 5°).

    Parameters
    ----------
    weather : Weather
        Hour-beginning, time-zone-aware hourly year (``ghi``, ``dni``, ``dhi`` [W/m²]).

    Returns
    -------
    closure_share : float
        (Σ DNI·cos z + DHI) / Σ GHI − 1 over the daytime hours (0 for a consistent file;
        positive: the components exceed the global irradiance, which inflates yields).
    hours_off : int
        Daytime hours (GHI above 50 W/m²) whose sum differs from GHI by more than
        :data:`CLOSURE_HOUR_SHARE`.
    """
    import pvlib

    data = weather.data
    mid = pd.DatetimeIndex(data.index).shift(30, freq="min")
    zenith = pvlib.solarposition.get_solarposition(
        mid, weather.latitude, weather.longitude, altitude=weather.altitude
    )["zenith"].to_numpy()
    ghi = data["ghi"].to_numpy(dtype=float)
    parts = data["dni"].to_numpy(dtype=float) * np.cos(np.radians(zenith)) + data[
        "dhi"
    ].to_numpy(dtype=float)
    day = zenith < 85.0
    total = float(ghi[day].sum())
    closure = float(parts[day].sum()) / total - 1.0 if total > 0 else float("nan")
    lit = day & (ghi > 50.0)
    hours_off = int((np.abs(parts[lit] / ghi[lit] - 1.0) > CLOSURE_HOUR_SHARE).sum())
    return closure, hours_off


#: Zenith [deg] from which a rebuilt DNI is 0 (the sun at the horizon: (GHI − DHI) /
#: cos(zenith) divides by nearly 0), and from which it is capped at the clear-sky DNI
#: × :data:`REPAIR_CLEARSKY_TOLERANCE` (pvlib's defaults of ``pvlib.irradiance.dni``).
REPAIR_ZERO_ZENITH_DEG = 88.0
REPAIR_CAP_ZENITH_DEG = 80.0
REPAIR_CLEARSKY_TOLERANCE = 1.1


def dni_from_ghi(weather: Weather) -> Weather:
    """The weather year with its DNI rebuilt from its GHI and DHI: (GHI − DHI) / cos(zenith)
    (``pvlib.irradiance.dni``), at the solar position of the middle of each hour.

    Negative values (DHI above GHI) become 0; near the horizon the value is capped: 0 from
    :data:`REPAIR_ZERO_ZENITH_DEG`, at most the clear-sky DNI (simplified Solis model) ×
    :data:`REPAIR_CLEARSKY_TOLERANCE` from :data:`REPAIR_CAP_ZENITH_DEG`. GHI and DHI are
    kept: the closure (:func:`irradiance_closure`) of the result is 0 but for those hours.

    Parameters
    ----------
    weather : Weather
        Hour-beginning, time-zone-aware hourly year (``ghi``, ``dhi`` [W/m²]).

    Returns
    -------
    Weather
        A copy whose ``dni`` [W/m²] is rebuilt; its source says so.
    """
    import pvlib

    data = weather.data.copy()
    mid = pd.DatetimeIndex(data.index).shift(30, freq="min")
    zenith = pvlib.solarposition.get_solarposition(
        mid, weather.latitude, weather.longitude, altitude=weather.altitude
    )["zenith"]
    zenith.index = data.index
    clear = pvlib.location.Location(
        weather.latitude, weather.longitude, altitude=weather.altitude
    ).get_clearsky(mid, model="simplified_solis")["dni"]
    clear.index = data.index
    dni = pvlib.irradiance.dni(
        data["ghi"].astype(float),
        data["dhi"].astype(float),
        zenith,
        dni_clear=clear,
        clearsky_tolerance=REPAIR_CLEARSKY_TOLERANCE,
        zenith_threshold_for_zero_dni=REPAIR_ZERO_ZENITH_DEG,
        zenith_threshold_for_clearsky_limit=REPAIR_CAP_ZENITH_DEG,
    )
    # pvlib leaves negative and near-horizon values empty: no beam there
    data["dni"] = dni.fillna(0.0).clip(lower=0.0).to_numpy()
    source = f"{weather.source}, DNI rebuilt from GHI and DHI"
    return Weather(data, weather.latitude, weather.longitude, weather.altitude, source)


def repair_notice(
    weather: Weather, closure_share: float, hours_off: int, repaired_share: float
) -> Notice:
    """What :func:`dni_from_ghi` did to the weather file: its closure before and after."""
    return Notice(
        "weather_dni_repaired",
        f"weather {weather.source}: DNI rebuilt from GHI and DHI, (GHI − DHI) / cos(zenith) "
        f"(pv.weather.repair: dni_from_ghi); DNI·cos(zenith) + DHI off GHI by "
        f"{closure_share:+.1%} before, {repaired_share:+.1%} after, over the daytime hours "
        f"({hours_off} hours were off by more than {CLOSURE_HOUR_SHARE:.0%})",
        facts={
            "source": str(weather.source),
            "closure_pct": closure_share * 100.0,
            "repaired_closure_pct": repaired_share * 100.0,
            "hours_off": hours_off,
            "hour_pct": CLOSURE_HOUR_SHARE * 100.0,
        },
    )


def closure_notices(weather: Weather, closure_share: float, hours_off: int) -> list[Notice]:
    """A notice when the weather file's irradiance does not add up (see
    :func:`irradiance_closure`) by more than :data:`CLOSURE_NOTICE_SHARE`."""
    if not abs(closure_share) > CLOSURE_NOTICE_SHARE:
        return []
    return [
        Notice(
            "weather_irradiance_closure",
            f"weather {weather.source}: DNI·cos(zenith) + DHI is {closure_share:+.1%} off GHI over "
            f"the daytime hours ({hours_off} hours off by more than "
            f"{CLOSURE_HOUR_SHARE:.0%}): the yields follow the file's DNI and DHI and may be "
            "off by as much; check the file, use another (e.g. a PVGIS TMY) or rebuild the DNI "
            "from GHI and DHI (pv.weather.repair: dni_from_ghi)",
            facts={
                "source": str(weather.source),
                "closure_pct": closure_share * 100.0,
                "hours_off": hours_off,
                "hour_pct": CLOSURE_HOUR_SHARE * 100.0,
            },
        )
    ]


def check_weather_site(weather: Weather, lat: float, lon: float) -> list[Notice]:
    """Refuse a weather year recorded far from the territory or with a wrong time zone.

    Parameters
    ----------
    weather : Weather
        The weather year (its site and time-zone-aware index).
    lat, lon : float
        Centre of the territory [degrees].

    Returns
    -------
    list of Notice
        ``weather_site_far`` when the site is more than :data:`WEATHER_NOTICE_KM` away.

    Raises
    ------
    InputError
        Site more than :data:`WEATHER_REFUSED_KM` away, or time zone more than
        :data:`WEATHER_TZ_GAP_H` hours off the site's longitude.
    """
    from pyproj import Geod

    _, _, dist_m = Geod(ellps="WGS84").inv(lon, lat, weather.longitude, weather.latitude)
    km = dist_m / 1000.0
    site = f"{weather.latitude:.2f}, {weather.longitude:.2f}"
    if km > WEATHER_REFUSED_KM:
        msg = (
            f"weather {weather.source}: recorded at ({site}), {km:,.0f} km from the territory "
            f"({lat:.2f}, {lon:.2f}); use a weather year of the territory (a PVGIS TMY or a "
            "nearby station), or check the file's LOCATION line"
        )
        raise InputError(msg)
    first = weather.data.index[0] if len(weather.data) else None
    offset = first.utcoffset() if isinstance(first, pd.Timestamp) else None
    if offset is not None:
        tz_h = offset.total_seconds() / 3600.0
        if abs(tz_h - weather.longitude / 15.0) > WEATHER_TZ_GAP_H:
            msg = (
                f"weather {weather.source}: its time zone (UTC{tz_h:+g} h) is {abs(tz_h - weather.longitude / 15.0):.1f} h "
                f"off the solar time of its site (longitude {weather.longitude:.2f}); the sun would be "
                "placed at the wrong hours: fix the time zone in the file's LOCATION line"
            )
            raise InputError(msg)
    if km > WEATHER_NOTICE_KM:
        return [
            Notice(
                "weather_site_far",
                f"weather {weather.source} was recorded {km:,.0f} km from the territory's "
                "centre: yields follow that site's climate",
                facts={"source": str(weather.source), "distance_km": km},
            )
        ]
    return []


def hourly_ac_kw_per_kwp(
    weather: Weather,
    tilt_deg: float,
    azimuth_deg: float,
    *,
    losses_percent: float = 14.0,
    gamma_pdc_per_c: float = -0.004,
    temperature_model: str = "close_mount_glass_glass",
    albedo: float = 0.2,
) -> pd.Series:
    """AC power of 1 kWp for each hour [kW] (= energy in kWh for hourly steps).

    Parameters
    ----------
    tilt_deg, azimuth_deg : float
        Panel tilt from horizontal and azimuth clockwise from north (180 = south) [deg].
    losses_percent : float
        System losses (wiring, inverter, soiling, mismatch...) [%].
    gamma_pdc_per_c : float
        Temperature coefficient of power [1/°C].
    temperature_model : str
        pvlib SAPM parameter set for the cell temperature.
    """
    import pvlib

    data = weather.data
    mid = pd.DatetimeIndex(data.index).shift(30, freq="min")
    solpos = pvlib.solarposition.get_solarposition(
        mid,
        weather.latitude,
        weather.longitude,
        altitude=weather.altitude,
        temperature=data["temp_air"].to_numpy(),
    )
    solpos.index = data.index
    dni_extra = pvlib.irradiance.get_extra_radiation(mid)
    dni_extra.index = data.index
    poa = pvlib.irradiance.get_total_irradiance(
        tilt_deg,
        azimuth_deg,
        solpos["apparent_zenith"],
        solpos["azimuth"],
        data["dni"],
        data["ghi"],
        data["dhi"],
        dni_extra=dni_extra,
        model="haydavies",
        albedo=albedo,
    )
    aoi = pvlib.irradiance.aoi(tilt_deg, azimuth_deg, solpos["apparent_zenith"], solpos["azimuth"])
    iam = pvlib.iam.physical(aoi)
    effective = (poa["poa_direct"] * iam + poa["poa_diffuse"]).clip(lower=0).fillna(0.0)
    params = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"][temperature_model]
    cell = pvlib.temperature.sapm_cell(
        poa["poa_global"].fillna(0.0), data["temp_air"], data["wind_speed"], **params
    )
    dc = pvlib.pvsystem.pvwatts_dc(effective, cell, pdc0=1.0, gamma_pdc=gamma_pdc_per_c)
    return (dc * (1.0 - losses_percent / 100.0)).clip(lower=0.0)


def specific_yield(
    weather: Weather, tilt_deg: float, azimuth_deg: float, **kwargs: float | str
) -> float:
    """Annual energy of 1 kWp [kWh/kWp] for one orientation."""
    return float(hourly_ac_kw_per_kwp(weather, tilt_deg, azimuth_deg, **kwargs).sum())  # type: ignore[arg-type]


def mean_yield(
    weather: Weather, tilt_deg: float, azimuths_deg: Iterable[float], **kwargs: float | str
) -> float:
    """Mean annual yield [kWh/kWp] over several orientations (roofs of unknown orientation)."""
    values = [specific_yield(weather, tilt_deg, az, **kwargs) for az in azimuths_deg]
    return float(np.mean(values))
