"""Wrong Monte-Carlo settings (``carbon.uncertainty``): one clear message, exit 2, nothing
written; a run with ranges on the tiny territory writes them."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.hostile.conftest import Sandbox, assert_refused, run_json


@pytest.mark.parametrize(
    ("uncertainty", "needles"),
    [
        ({"draws": 0}, ("carbon.uncertainty.draws", "between 1 and 100_000")),
        ({"soil_stock_cv": -0.2}, ("carbon.uncertainty.soil_stock_cv", "between 0 and 2")),
        ({"transition_years": [30, 15]}, ("transition_years", "[min, max]")),
        ({"landcover_area_cv_by_category": {"forest": 0.1}}, ("unknown categories", "forest")),
        ({"draw": 10}, ("unknown key 'carbon.uncertainty.draw'",)),
    ],
)
def test_bad_uncertainty_settings(
    sandbox: Sandbox, uncertainty: dict, needles: tuple[str, ...]
) -> None:
    pipeline = sandbox.write_pipeline(carbon={"uncertainty": uncertainty})
    before = sandbox.digest()
    for command in ("validate", "run"):
        result = sandbox.run(command, pipeline)
        assert_refused(result, *needles, before=before, after=sandbox.digest())
    assert not (sandbox.repo / "outputs" / "tiny").exists()


def test_the_tiny_run_with_ranges(sandbox: Sandbox) -> None:
    pipeline = sandbox.write_pipeline(carbon={"uncertainty": {"draws": 50, "seed": 1}})
    result = sandbox.run("-q", "run", pipeline)
    assert result.returncode == 0, result.stderr
    assert run_json(sandbox)["uncertainty"]["draws"] == 50
    import geopandas as gpd

    out = sandbox.repo / "outputs" / "tiny"
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes")
    known = communes["stock_tc"].notna()
    assert (communes.loc[known, "stock_tc_p5"] <= communes.loc[known, "stock_tc_p95"]).all()
    assert communes.loc[~known, "stock_tc_p50"].isna().all()
    table = gpd.read_file(out / "geocarbon.gpkg", layer="carbon_uncertainty")
    assert isinstance(table, pd.DataFrame) and (table["seed"] == 1).all()
