"""Helpers for PV tests: a synthetic weather file (no real data needed)."""

from __future__ import annotations

from pathlib import Path

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
