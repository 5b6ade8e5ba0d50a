"""Wrong territories and area tables: one clear message, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.conftest import Sandbox, assert_refused, outputs_rel, run_json


def _refused(
    sandbox: Sandbox, *needles: str, commands: tuple[str, ...] = ("run",), **updates: object
) -> None:
    """``commands`` refuse the pipeline with ``needles``; nothing is written."""
    pipeline = sandbox.write_pipeline(**updates)
    before = sandbox.digest()
    for command in commands:
        result = sandbox.run(command, pipeline)
        assert_refused(result, *needles, before=before, after=sandbox.digest())
    assert not (sandbox.repo / "outputs" / "tiny").exists()


@pytest.mark.parametrize(
    ("territory", "needles"),
    [
        ({"epci": [200000009]}, ("territory.epci: 200000009 matches no commune",)),
        ({"departements": ["12"]}, ("territory.departements: 12 matches no commune",)),
        ({"communes": ["46003"]}, ("territory.communes: 46003 matches no commune",)),
        ({"epci": ["2000"]}, ("territory.epci", "9-digit SIREN")),
        ({"departements": ["4"]}, ("territory.departements", "like 46, 2A or 971")),
        ({"communes": [46001, 46001]}, ("46001 listed more than once",)),
        ({}, ("list at least one code",)),
        ({"epcis": [200000001]}, ("unknown key 'territory.epcis'",)),
    ],
)
def test_territory_codes_that_match_nothing_are_named(
    sandbox: Sandbox, territory: dict, needles: tuple[str, ...]
) -> None:
    # validate reads the inputs as run does: both refuse (checked once, on a code)
    both = ("validate", "run") if territory.get("epci") == [200000009] else ("run",)
    _refused(sandbox, *needles, commands=both, territory=territory)


def test_territory_by_epci_without_membership(sandbox: Sandbox) -> None:
    communes = {"epci_field": None}
    _refused(
        sandbox,
        "territory.epci: EPCI membership is unknown",
        "communes.epci_field",
        territory={"epci": [200000001]},
        communes=communes,
    )


def test_territory_picks_one_commune(sandbox: Sandbox) -> None:
    pipeline = sandbox.write_pipeline(territory={"communes": ["46002"]})
    result = sandbox.run("-q", "run", pipeline)
    assert result.returncode == 0, result.stderr
    run = run_json(sandbox)
    assert run["totals"]["communes"] == 1
    # the EPCI has two communes in the layer: its row is partial
    import pandas as pd

    out = sandbox.repo / "outputs" / "tiny"
    assert (out / "geocarbon.gpkg").is_file()
    seq_free = pd.read_csv(out / "carbon_stocks_summary.csv")
    assert (seq_free["zones_in_run"] == 1).all()


@pytest.mark.parametrize(
    ("updates", "needles"),
    [
        (
            {"communes": {"path": None}},
            ("give the commune boundaries (communes.path) and/or a commune table",),
        ),
        (
            {"areas": {"path": "a.csv", "level": "epci", "code_field": "siren"}},
            ("give either landcover (a raster) or areas (an area table), not both",),
        ),
        (
            {
                "areas": {"path": "a.csv", "level": "region", "code_field": "siren"},
                "landcover": None,
            },
            ("areas.level",),
        ),
        (
            {"areas": {"path": "a.csv", "level": "epci"}, "landcover": None},
            ("missing key 'areas.code_field'",),
        ),
    ],
)
def test_area_configuration_errors(
    sandbox: Sandbox, updates: dict, needles: tuple[str, ...]
) -> None:
    if updates.get("communes") == {"path": None}:
        data = sandbox.write_pipeline()
        text = data.read_text().replace("  path: ../data_raw/tiny/communes.gpkg\n", "")
        data.write_text(text)
        before = sandbox.digest()
        result = sandbox.run("validate", data)
        assert_refused(result, *needles, before=before, after=sandbox.digest())
        return
    _refused(sandbox, *needles, **updates)


def _area_table(sandbox: Sandbox, text: str) -> Path:
    path = sandbox.repo / "data_raw" / "tiny" / "areas.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("siren,211,311\n200000001,abc,2\n", ("not areas in hectares", "'abc'")),
        ("siren,211,311\n200000001,-4,2\n", ("not areas in hectares", "'-4'")),
        ("siren,211,Déboisement\n200000001,4,2\n", ("'Déboisement' are not land-cover codes",)),
        ("siren,211\n200000001,4\n200000001,5\n", ("zones listed twice: 200000001",)),
        ("code,211\n200000001,4\n", ("no column 'siren'",)),
        ("siren,211,999\n200000001,4,2\n", ("999",)),
        ("siren,211\n200000009,4\n", ("no row concerns the territory's EPCIs", "areas.level")),
        ("siren,211\n200000001,1e15\n", ("larger than 10,000,000 ha",)),
        ("siren,211\n200000001,nan\n", ("not areas in hectares", "'nan'")),
    ],
)
def test_bad_area_tables(sandbox: Sandbox, text: str, needles: tuple[str, ...]) -> None:
    _area_table(sandbox, text)
    _refused(
        sandbox,
        *needles,
        commands=("validate", "run"),
        landcover=None,
        areas={"path": "../data_raw/tiny/areas.csv", "level": "epci", "code_field": "siren"},
    )


def test_area_table_run_with_boundaries_maps_the_epci(sandbox: Sandbox) -> None:
    # 200000001 holds both communes: cropland 4 ha, broadleaf forest 4 ha (generic set)
    _area_table(sandbox, "siren,211,311\n200000001,4,4\n200000002,1,1\n")
    pipeline = sandbox.write_pipeline(
        landcover=None,
        areas={"path": "../data_raw/tiny/areas.csv", "level": "epci", "code_field": "siren"},
    )
    before = sandbox.digest()
    result = sandbox.run("-q", "run", pipeline)
    assert result.returncode == 0, result.stderr
    import geopandas as gpd
    import pandas as pd

    out = sandbox.repo / "outputs" / "tiny"
    epci = gpd.read_file(out / "geocarbon.gpkg", layer="epci")
    assert list(epci["epci_code"]) == ["200000001"]  # the other EPCI is outside the territory
    assert epci.geometry.notna().all() and epci.crs is not None
    assert epci.loc[0, "area_ha"] == pytest.approx(16.0, rel=1e-6)  # the two communes
    summary = pd.read_csv(out / "carbon_stocks_summary.csv")
    total = summary[summary["category"] == "total"]
    assert total["area_ha"].iloc[0] == pytest.approx(8.0)
    assert (out / "maps" / "carbon_stocks.html").is_file()
    run = run_json(sandbox)
    assert any(n["code"] == "area_rows_outside_territory" for n in run["notices"])
    assert str(outputs_rel(sandbox))  # the output folder is the only change
    changed = {k for k in sandbox.digest() if k not in before}
    assert all(k.startswith(outputs_rel(sandbox)) for k in changed)


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        (
            "insee,code,area\n46001,211,4\n46009,211,2\n",
            ("46009", "neither in the commune boundaries"),
        ),
        ("insee,code,area\n46001,211,40\n", ("more land cover than their area", "46001")),
    ],
)
def test_bad_commune_area_tables(sandbox: Sandbox, text: str, needles: tuple[str, ...]) -> None:
    _area_table(sandbox, text)
    _refused(
        sandbox,
        *needles,
        landcover=None,
        areas={
            "path": "../data_raw/tiny/areas.csv",
            "level": "commune",
            "code_field": "insee",
            "layout": "long",
        },
    )
