"""The injection harness (``tests/hostile/test_injection.py``) on the demo's maps: every drawn
feature hovered (or its marker clicked), one tooltip or popup each, no script run from data.

A file of its own: hovering thousands of features takes most of a minute, and the test runner
(``--dist loadfile``) gives each file one worker, so this runs beside the other map tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.test_injection import (
    assert_safe,
    chromium_required_in_ci,
    embedded_features,
    open_in_chromium,
)
from tests.test_maps_browser import MAP_NAMES

pytestmark = chromium_required_in_ci()


@pytest.mark.slow
@pytest.mark.parametrize("name", MAP_NAMES)
def test_hovering_every_feature_runs_no_script(demo_out: Path, tmp_path: Path, name: str) -> None:
    """The injection harness on the demo's maps: one tooltip or popup per drawn feature, no
    payload flag, no error."""
    page = demo_out / "maps" / name
    result = open_in_chromium(page, tmp_path)
    assert result["errors"] == [] and result["missing"] == []
    assert_safe(result, name)
    details = result["tooltips"] + result["popups"]
    assert result["features"] == len(details) >= embedded_features(page) > 0
    assert all(d["elements"] == 0 for d in details)
