"""Helpers for PV tests: a synthetic weather file (no real data needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geocarbon.demo import make_demo_weather
from geocarbon.io.weather import write_epw


def weather_file(folder: Path) -> Path:
    """Write the demo's synthetic weather year as an EPW file and return its path."""
    path = folder / "weather.epw"
    write_epw(
        path,
        make_demo_weather(),
        latitude=44.6,
        longitude=1.45,
        altitude=200.0,
        tz_hours=1.0,
        name="test",
    )
    return path


def test_irradiance_closure_of_a_weather_year() -> None:
    """GHI = DNI·cos z + DHI by construction: closure 0; DNI 20 % too high: the closure is
    the beam's share of GHI × 20 %, every hour with beam is off when the beam dominates."""
    import pvlib

    from geocarbon.solar.yield_model import closure_notices, irradiance_closure
    from geocarbon.values import Weather

    lat, lon = 44.6, 1.45
    index = pd.date_range("2019-01-01", periods=8760, freq="h", tz="Etc/GMT-1")
    zenith = pvlib.solarposition.get_solarposition(
        index.shift(30, freq="min"), lat, lon
    )["zenith"].to_numpy()
    cos_z = np.clip(np.cos(np.radians(zenith)), 0, None)
    dni = np.where(zenith < 90, 600.0, 0.0)
    dhi = np.where(zenith < 90, 100.0, 0.0)
    ghi = dni * cos_z + dhi
    data = pd.DataFrame({"ghi": ghi, "dni": dni, "dhi": dhi}, index=index)
    consistent = Weather(data, lat, lon, 0.0, "made.epw")
    closure, off = irradiance_closure(consistent)
    assert abs(closure) < 1e-12 and off == 0
    assert closure_notices(consistent, closure, off) == []
    inflated = Weather(data.assign(dni=dni * 1.2), lat, lon, 0.0, "made.epw")
    closure, off = irradiance_closure(inflated)
    day = zenith < 85
    beam = (dni * cos_z)[day].sum() / ghi[day].sum()
    assert closure == pytest.approx(0.2 * beam, rel=1e-9)
    (notice,) = closure_notices(inflated, closure, off)
    assert notice.code == "weather_irradiance_closure"
    assert f"{closure:+.1%}" in notice.message and notice.facts["hours_off"] == off


def test_the_agen_2025_file_does_not_add_up() -> None:
    """The shared Agen 2025 EPW: its DNI and DHI exceed its GHI by about 6.6 % over the
    daytime hours (the yields computed from it would be inflated as much)."""
    from geocarbon.io.weather import read_weather
    from geocarbon.solar.yield_model import closure_notices, irradiance_closure
    from tests.conftest import SHARED

    path = SHARED / "lot" / "weather_agen_2025.epw.gz"
    if not path.is_file():
        pytest.skip(f"real public data not found at {SHARED}")
    weather = read_weather(path)
    closure, off = irradiance_closure(weather)
    assert 0.06 < closure < 0.07 and off > 500
    assert len(closure_notices(weather, closure, off)) == 1
