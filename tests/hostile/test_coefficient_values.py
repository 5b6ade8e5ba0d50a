"""Hostile coefficient tables: text, negative, huge or infinite values in ALDO's tables, the
forest inventory and the generic tables; duplicated keys that disagree; overrides without a
ceiling; and tables that ``validate`` accepted while ``run`` refused them. Each case: one
clear refusal naming the file, the row, the column and the value (exit 2, nothing changed
outside the output folder), or a correct result with a notice.

The ALDO cases use a tiny hand-made ALDO folder (one pedoclimatic zone, one region) whose
rows follow the layout of ADEME's published files, so that the sandbox's two communes
(46001, 46002) run with ALDO's rules."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from geocarbon.carbon.coefficients import (
    aldo_reference_stocks,
    check_generic_table,
    unmatched_forest_locations,
)
from geocarbon.carbon.flows import aldo_flux_columns, check_aldo_flux
from geocarbon.carbon.growth import aldo_wood_shares, check_growth_table
from geocarbon.config import STOCK_MAX_TC_PER_HA
from geocarbon.errors import CoefficientError
from geocarbon.io.coefficients import (
    SOIL_FLUX_MAX_TC_PER_HA,
    checked_numbers,
    drop_identical_duplicates,
    read_aldo_tables,
    read_generic_growth_table,
    read_generic_table,
)
from tests.conftest import SHARED, realdata
from tests.hostile.conftest import Sandbox, assert_refused

# --- a tiny ALDO folder ---------------------------------------------------------------------

STOCKS_HEADER = (
    "zpc,cultures,prairies,forêts,zones humides,vergers,vignes,Sols artificialisés,"
    "sols artificiels imperméabilisés,sols artificiels enherbés,"
    "sols artificiels arborés et buissonants"
)
BIOMASS_HEADER = (
    "INTER_REG,prairies zones arborées,prairies zones arbustives,prairies zones herbacées,"
    "vergers,vignes,cultures,zones humides,sols artificiels arborés et buissonants,"
    "sols artificiels arbustifs,sols artificiels imperméabilisés,cultures vers vergers"
)
FOREST_HEADER = (
    "type_localisation,code_localisation,nom_localisation,composition,surface_ic,"
    "carbone_(tC∙ha-1),bois_mort_carbone_(tC∙ha-1),bilan_carbone_(tC∙ha-1∙an-1),"
    "prelevement_carbone_(tC∙ha-1∙an-1),prelevement_volume_(m3∙ha-1∙an-1)"
)
FLUX_COLUMNS = aldo_flux_columns()


def _flux_row(zone: str) -> str:
    # every transition column: 1.5 tC/ha (the values do not matter for these cases)
    return ",".join([zone, *["1.5"] * len(FLUX_COLUMNS)])


ALDO = {
    "stocks-zpc.csv": [STOCKS_HEADER, "4_1,48,84,83,125,46,39,42,30,84,83"],
    "zpc.csv": ["insee,zpc", "46001,4_1", "46002,4_1"],
    "communes_17122018.csv": [
        "nom,insee,population,departement,region,epci",
        "Ouest,46001,100,46,76,200000001",
        "Est,46002,200,46,76,200000001",
    ],
    "biomass-hors-forets.csv": [BIOMASS_HEADER, "SUD-OUEST,31,7,,16,5,,,31,7,,0.8"],
    "bilan-carbone-foret-par-localisation.csv": [
        FOREST_HEADER,
        "France,France,France,Feuillu,s,80.0,7.0,1.05,1.08,2.09",
        "France,France,France,Conifere,s,70.0,6.0,0.53,2.27,6.97",
        "France,France,France,Mixte,s,75.0,6.5,0.99,1.27,3.40",
        "France,France,France,Peupleraie,s,60.0,4.0,0.38,4.22,15.29",
        "rad13,OCC,Occitanie,Feuillu,s,90.0,8.0,1.2,1.0,2.0",
        "groupeser,F1,Causses,Feuillu,s,100.0,9.0,1.3,0.9,1.9",
        "rad13,OCC,Occitanie,Peupleraie,n.s,NA,NA,NA,NA,NA",
    ],
    "flux-zpc.csv": [",".join(["zpc", *FLUX_COLUMNS]), _flux_row("4_1")],
    "proportion-usage-bois-par-region.csv": ["code_localisation,% BO,% BI", "OCC,36.7,24.4"],
}
REGIONS = {"76": {"regionName": "Occitanie", "interRegion": "SUD-OUEST"}}


def make_aldo(folder: Path, **changes: tuple[str, str]) -> Path:
    """Write the tiny ALDO folder; ``changes`` maps a file (its name without extension, ``_``
    for ``-``: ``stocks_zpc`` for ``stocks-zpc.csv``; ``regions`` for the JSON, whose new text
    replaces it) to (old text, new text)."""
    folder.mkdir(parents=True, exist_ok=True)
    known = {n.split(".")[0].replace("-", "_") for n in ALDO} | {"regions"}
    assert set(changes) <= known, sorted(set(changes) - known)
    for name, lines in ALDO.items():
        text = "\n".join(lines) + "\n"
        key = name.split(".")[0].replace("-", "_")
        if key in changes:
            old, new = changes[key]
            assert old in text, (old, name)
            text = text.replace(old, new, 1)
        (folder / name).write_text(text, encoding="utf-8")
    regions = changes.get("regions")
    data = json.loads(regions[1]) if regions else REGIONS
    (folder / "region-to-inter-region.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def _outputs(sandbox: Sandbox) -> str:
    return str((sandbox.repo / "outputs").relative_to(sandbox.root))


def _aldo_pipeline(sandbox: Sandbox, aldo: Path, *, flows: bool = False, **carbon: Any) -> Path:
    updates: dict[str, Any] = {
        "carbon": {"coefficients": "aldo", "aldo_dir": str(aldo), **carbon},
    }
    if flows:
        updates["flows"] = {
            "start_year": 2012,
            "end_year": 2018,
            "landcover_before": "../data_raw/tiny/lc.tif",
        }
    return sandbox.write_pipeline(**updates)


def _validate_and_run_refuse(sandbox: Sandbox, pipeline: Path, *needles: str) -> None:
    """``validate`` and ``run`` both refuse, with the same needles, nothing written."""
    before = sandbox.digest()
    assert_refused(
        sandbox.run("validate", pipeline), *needles, before=before, after=sandbox.digest()
    )
    assert_refused(
        sandbox.run("run", pipeline),
        *needles,
        before=before,
        after=sandbox.digest(),
        allowed=[_outputs(sandbox)],
    )
    assert not (sandbox.repo / "outputs" / "tiny" / "run.json").exists()


def _run_json(sandbox: Sandbox) -> dict[str, Any]:
    return json.loads((sandbox.repo / "outputs" / "tiny" / "run.json").read_text())


# --- pure checkers --------------------------------------------------------------------------


def _cells(*values: object) -> pd.DataFrame:
    return pd.DataFrame({"zpc": [f"z{i}" for i in range(len(values))], "v": list(values)})


def _check(frame: pd.DataFrame, low: float = 0.0, high: float = 100.0) -> pd.DataFrame:
    return checked_numbers(
        frame,
        ["v"],
        source="ALDO tables: t.csv",
        labels="zpc " + frame["zpc"],
        low=low,
        high=high,
        unit="tC/ha",
        blank="no stock",
    )


@pytest.mark.parametrize("text", ["n/a", "abc", "5 7", "1,5", "null"])
def test_a1_a4_text_cell_refused_with_file_row_column_value(text: str) -> None:
    with pytest.raises(CoefficientError) as err:
        _check(_cells("47", text))
    message = str(err.value)
    for needle in ("t.csv", "zpc z1", "column 'v'", repr(text), "not a number"):
        assert needle in message


def test_a1_empty_cells_stay_empty_and_numbers_are_converted() -> None:
    out = _check(_cells("47", "", None, " 12.5 ", 3))
    assert out["v"].iloc[0] == 47.0 and out["v"].iloc[3] == 12.5 and out["v"].iloc[4] == 3.0
    assert out["v"].iloc[1:3].isna().all()


@pytest.mark.parametrize("value", [-470.0, -0.01, 100.01, 1e30, 1e300, math.inf, -math.inf])
def test_a2_g1_g2_out_of_range_or_infinite_refused(value: float) -> None:
    with pytest.raises(CoefficientError) as err:
        _check(_cells(10.0, value))
    message = str(err.value)
    assert "zpc z1" in message and "column 'v'" in message
    assert "0 to 100 tC/ha" in message
    assert f"{value:g}" in message


def test_a2_bounds_themselves_accepted() -> None:
    assert _check(_cells(0.0, 100.0))["v"].tolist() == [0.0, 100.0]
    assert _check(_cells(-5.0), low=-10.0)["v"].tolist() == [-5.0]


def test_a3_duplicates_disagreeing_refused_identical_dropped() -> None:
    frame = pd.DataFrame({"zpc": ["4_1", "4_1", "1_1"], "cultures": [48.0, 48.0, 47.0]})
    out = drop_identical_duplicates(frame, ["zpc"], source="ALDO tables: stocks-zpc.csv")
    assert out["zpc"].tolist() == ["4_1", "1_1"]
    frame.loc[1, "cultures"] = 99.0
    with pytest.raises(CoefficientError) as err:
        drop_identical_duplicates(frame, ["zpc"], source="ALDO tables: stocks-zpc.csv")
    message = str(err.value)
    for needle in ("stocks-zpc.csv", "zpc 4_1", "'cultures'", "48", "99", "listed twice"):
        assert needle in message


def test_a3_duplicates_compare_only_the_columns_used() -> None:
    # the same commune twice, same region, different names: one row kept, no refusal
    frame = pd.DataFrame({"insee": ["46001", "46001"], "region": ["76", "76"], "nom": ["A", "B"]})
    out = drop_identical_duplicates(frame, ["insee"], source="s", compare=["region"])
    assert len(out) == 1


def _tables(tmp_path: Path, flows: bool = True, **changes: tuple[str, str]) -> Any:
    return read_aldo_tables(make_aldo(tmp_path / "aldo", **changes), flows=flows)


def test_tiny_aldo_folder_is_read_and_gives_hand_computed_stocks(tmp_path: Path) -> None:
    tables = _tables(tmp_path)
    codes = pd.Index(["46001", "46002"])
    ref = aldo_reference_stocks(
        tables, pd.Series("4_1", index=codes), pd.Series("76", index=codes)
    ).set_index(["commune_code", "category", "pool"])["ref_stock_tc_per_ha"]
    assert ref[("46001", "cropland", "soil")] == 48.0
    assert ref[("46001", "orchard", "live_biomass")] == 16.0
    assert ref[("46001", "forest_broadleaf", "live_biomass")] == 90.0  # rad13 OCC
    assert ref[("46001", "forest_poplar", "live_biomass")] == 60.0  # OCC n.s (NA) -> France


def test_a1_empty_stock_cell_keeps_its_meaning(tmp_path: Path) -> None:
    """An empty soil cell is 'no stock in that pool' (0), as before; only text is refused."""
    tables = _tables(tmp_path, stocks_zpc=("4_1,48,", "4_1,,"))
    codes = pd.Index(["46001"])
    ref = aldo_reference_stocks(
        tables, pd.Series("4_1", index=codes), pd.Series("76", index=codes)
    ).set_index(["commune_code", "category", "pool"])
    row = ref.loc[("46001", "cropland", "soil")]
    assert row["ref_stock_tc_per_ha"] == 0.0
    assert row["coefficient_source"] == "ALDO: no stock in this pool"


@pytest.mark.parametrize(
    ("changes", "needles"),
    [
        # a1: soil stock text
        (
            {"stocks_zpc": ("4_1,48,", "4_1,n/a,")},
            ["stocks-zpc.csv", "zpc 4_1", "'cultures'", "'n/a'"],
        ),
        # a2: negative soil stock
        (
            {"stocks_zpc": ("4_1,48,", "4_1,-470,")},
            ["stocks-zpc.csv", "zpc 4_1", "'cultures'", "-470"],
        ),
        # a4: biomass text
        (
            {"biomass_hors_forets": ("SUD-OUEST,31,7,,16,", "SUD-OUEST,31,7,,abc,")},
            ["biomass-hors-forets.csv", "INTER_REG SUD-OUEST", "'vergers'", "'abc'"],
        ),
        (
            {"biomass_hors_forets": ("SUD-OUEST,31,", "SUD-OUEST,5 7,")},
            ["biomass-hors-forets.csv", "'prairies zones arborées'", "'5 7'"],
        ),
        # a6: forest inventory
        (
            {
                "bilan_carbone_foret_par_localisation": (
                    "OCC,Occitanie,Feuillu,s,90.0",
                    "OCC,Occitanie,Feuillu,s,-80",
                )
            },
            [
                "bilan-carbone-foret-par-localisation.csv",
                "code_localisation OCC",
                "carbone_(tC∙ha-1)",
                "-80",
            ],
        ),
        (
            {"bilan_carbone_foret_par_localisation": ("Feuillu,s,90.0,8.0", "Feuillu,s,90.0,1e30")},
            ["bois_mort_carbone_(tC∙ha-1)", "1e+30", "0 to 2000 tC/ha"],
        ),
        (
            {"bilan_carbone_foret_par_localisation": ("s,90.0,8.0,1.2", "s,90.0,8.0,inf")},
            ["bilan_carbone_(tC∙ha-1∙an-1)", "inf", "-60 to 60 tC/ha/yr"],
        ),
        (
            {"bilan_carbone_foret_par_localisation": ("1.2,1.0,2.0", "1.2,1.0,5000")},
            ["prelevement_volume_(m3∙ha-1∙an-1)", "5000"],
        ),
        # a10 / a10b: soil flux
        (
            {"flux_zpc": ("4_1,1.5,", "4_1,n/a,")},
            ["flux-zpc.csv", "zpc 4_1", f"'{FLUX_COLUMNS[0]}'", "'n/a'"],
        ),
        (
            {"flux_zpc": ("4_1,1.5,", "4_1,-1e300,")},
            ["flux-zpc.csv", f"'{FLUX_COLUMNS[0]}'", "-1e+300", f"{SOIL_FLUX_MAX_TC_PER_HA:g}"],
        ),
        # a11 / a11b: lumber and industry-wood shares
        (
            {"proportion_usage_bois_par_region": ("OCC,36.7,", "OCC,-500,")},
            [
                "proportion-usage-bois-par-region.csv",
                "code_localisation OCC",
                "'% BO'",
                "-500",
                "0 to 100 %",
            ],
        ),
        (
            {"proportion_usage_bois_par_region": ("OCC,36.7,24.4", "OCC,36.7,abc")},
            ["proportion-usage-bois-par-region.csv", "'% BI'", "'abc'"],
        ),
        (
            {"proportion_usage_bois_par_region": ("OCC,36.7,24.4", "OCC,90,20")},
            ["proportion-usage-bois-par-region.csv", "OCC", "110 %", "more than 100 %"],
        ),
        # a3 / a5 / a7: duplicates that disagree
        (
            {"stocks_zpc": ("4_1,48,84", "4_1,48,84,83,125,46,39,42,30,84,83\n4_1,99,84")},
            ["stocks-zpc.csv", "zpc 4_1", "listed twice", "'cultures'", "48", "99"],
        ),
        (
            {
                "biomass_hors_forets": (
                    "SUD-OUEST,31,",
                    "SUD-OUEST,31,7,,16,5,,,31,7,,0.8\nSUD-OUEST,40,",
                )
            },
            ["biomass-hors-forets.csv", "INTER_REG SUD-OUEST", "listed twice", "31", "40"],
        ),
        (
            {"zpc": ("46001,4_1", "46001,4_1\n46001,1_1")},
            ["zpc.csv", "insee 46001", "listed twice", "'zpc'", "'4_1'", "'1_1'"],
        ),
        # t3 (region side): the ALDO commune table gives one commune two regions
        (
            {
                "communes_17122018": (
                    "Ouest,46001,100,46,76",
                    "Ouest,46001,100,46,76,200000001\nOuest,46001,100,46,75",
                )
            },
            ["communes_17122018.csv", "insee 46001", "'region'", "'76'", "'75'"],
        ),
    ],
)
def test_aldo_table_values_refused(
    tmp_path: Path, changes: dict[str, tuple[str, str]], needles: list[str]
) -> None:
    with pytest.raises(CoefficientError) as err:
        _tables(tmp_path, **changes)
    message = " ".join(str(err.value).split())
    for needle in needles:
        assert needle in message, (needle, message)


def test_a3_a5_a7_identical_duplicates_dropped(tmp_path: Path) -> None:
    tables = _tables(
        tmp_path,
        stocks_zpc=(
            "4_1,48,84,83,125,46,39,42,30,84,83",
            "4_1,48,84,83,125,46,39,42,30,84,83\n4_1,48,84,83,125,46,39,42,30,84,83.0",
        ),
        zpc=("46001,4_1", "46001,4_1\n46001,4_1"),
    )
    assert tables.stocks["zpc"].tolist() == ["4_1"]
    assert tables.zpc["insee"].tolist() == ["46001", "46002"]


def test_a10_flux_cell_missing_for_a_zone_of_the_territory(tmp_path: Path) -> None:
    tables = _tables(tmp_path, flux_zpc=("4_1,1.5,", "4_1,,"))
    zpc = pd.Series(["4_1"], index=["46001"])
    with pytest.raises(CoefficientError) as err:
        check_aldo_flux(tables.flux.set_index("zpc"), zpc, "flux-zpc.csv")
    message = str(err.value)
    for needle in ("flux-zpc.csv", "zone 4_1", "46001", f"'{FLUX_COLUMNS[0]}'", "empty"):
        assert needle in message
    # a zone the territory does not use may lack values
    two = _tables(tmp_path, flux_zpc=("4_1,1.5,", f"{_flux_row('4_1')}\n1_1,,"))
    check_aldo_flux(two.flux.set_index("zpc"), zpc, "flux-zpc.csv")
    with pytest.raises(CoefficientError, match="no row for the pedoclimatic zones"):
        check_aldo_flux(tables.flux.set_index("zpc"), pd.Series(["9_9"], index=["46001"]), "f")


def test_a11_empty_wood_share_of_a_territory_region_refused(tmp_path: Path) -> None:
    tables = _tables(tmp_path, proportion_usage_bois_par_region=("OCC,36.7,", "OCC,,"))
    with pytest.raises(CoefficientError, match=r"code_localisation OCC.*empty"):
        aldo_wood_shares(tables, pd.Series(["76"], index=["46001"]))


def test_f1_forest_location_codes_without_inventory_row_noticed(tmp_path: Path) -> None:
    floc = tmp_path / "floc.csv"
    floc.write_text("insee,groupeser,greco\n46001,ZZ9,Q\n46002,F1,\n", encoding="utf-8")
    tables = read_aldo_tables(make_aldo(tmp_path / "aldo"), floc)
    notices = unmatched_forest_locations(tables, np.array(["46001", "46002", "46003"]))
    by_code = {n.code: n for n in notices}
    unmatched = by_code["forest_location_unmatched"]
    assert "groupeser 'ZZ9': 1 communes" in unmatched.items
    assert "greco 'Q': 1 communes" in unmatched.items
    assert "1 communes fall back to the regional level (rad13)" in unmatched.items
    assert by_code["forest_location_missing"].items == ["46003"]
    # every code matching: no notice
    floc.write_text("insee,groupeser\n46001,F1\n", encoding="utf-8")
    tables = read_aldo_tables(make_aldo(tmp_path / "aldo"), floc)
    assert unmatched_forest_locations(tables, np.array(["46001"])) == []


def test_f3_forest_locations_listed_twice_with_different_codes(tmp_path: Path) -> None:
    floc = tmp_path / "floc.csv"
    floc.write_text("insee,groupeser\n46001,F1\n46001,G1\n46002,F1\n46002,F1\n", encoding="utf-8")
    with pytest.raises(CoefficientError) as err:
        read_aldo_tables(make_aldo(tmp_path / "aldo"), floc)
    message = str(err.value)
    for needle in ("floc.csv", "insee 46001", "'groupeser'", "'F1'", "'G1'"):
        assert needle in message
    floc.write_text("insee,groupeser\n46001,F1\n46001,F1\n", encoding="utf-8")
    tables = read_aldo_tables(make_aldo(tmp_path / "aldo"), floc)
    assert tables.forest_locations is not None and len(tables.forest_locations) == 1


def _generic(**replace: str) -> pd.DataFrame:
    table, _ = read_generic_table()
    table = table.astype({"stock_tc_per_ha": object})
    for key, value in replace.items():
        category, pool = key.split("__")
        table.loc[(table["category"] == category) & (table["pool"] == pool), "stock_tc_per_ha"] = (
            value
        )
    return table


@pytest.mark.parametrize("value", ["inf", "1e300", "-1", "abc", "2000.5"])
def test_g1_g2_generic_stock_refused(value: str) -> None:
    table = _generic(cropland__soil=value)
    with pytest.raises(CoefficientError) as err:
        check_generic_table(table.astype({"stock_tc_per_ha": object}), "gen.csv")
    message = str(err.value)
    assert "gen.csv" in message and "category cropland, pool soil" in message
    assert "'stock_tc_per_ha'" in message


def test_g1_generic_ceiling_is_the_override_ceiling() -> None:
    table = _generic(cropland__soil=str(STOCK_MAX_TC_PER_HA))
    out = check_generic_table(table.astype({"stock_tc_per_ha": object}), "gen.csv")
    assert out["stock_tc_per_ha"].max() == STOCK_MAX_TC_PER_HA == 2000.0


def test_g3_g4_generic_unknown_category_or_pool() -> None:
    table, _ = read_generic_table()
    bad = table.copy()
    bad.loc[0, "category"] = "CROPLAND"
    with pytest.raises(
        CoefficientError, match=r"'category' holds unknown values 'CROPLAND'; use one of cropland"
    ):
        check_generic_table(bad, "gen.csv")
    bad = table.copy()
    bad.loc[0, "pool"] = "soil "
    with pytest.raises(CoefficientError, match=r"'pool' holds unknown values 'soil '"):
        check_generic_table(bad, "gen.csv")


def test_a3_generic_duplicates() -> None:
    table, _ = read_generic_table()
    same = pd.concat([table, table.iloc[[0]]], ignore_index=True)
    assert len(check_generic_table(same, "gen.csv")) == len(table)
    other = table.iloc[[0]].assign(stock_tc_per_ha=99.0)
    with pytest.raises(
        CoefficientError, match=r"category cropland, pool soil is listed twice.*44.16 and 99"
    ):
        check_generic_table(pd.concat([table, other], ignore_index=True), "gen.csv")


def test_generic_growth_table_values() -> None:
    table = read_generic_growth_table()
    assert len(check_growth_table(table)) == 4
    for column, value in (
        ("net_tc_per_ha_yr", "1e30"),
        ("harvest_tc_per_ha_yr", "-1"),
        ("harvest_m3_per_ha_yr", "inf"),
    ):
        bad = table.astype({column: object}).copy()
        bad.loc[0, column] = value
        with pytest.raises(
            CoefficientError, match=rf"category forest_broadleaf, column '{column}'"
        ):
            check_growth_table(bad)
    bad = table.astype({"net_tc_per_ha_yr": object}).copy()
    bad.loc[1, "net_tc_per_ha_yr"] = "n/a"
    with pytest.raises(CoefficientError, match="'n/a' is not a number"):
        check_growth_table(bad)


@realdata
def test_published_aldo_tables_pass_every_check() -> None:
    """No false refusal: ADEME's published tables (with flows) are within every bound."""
    tables = read_aldo_tables(SHARED / "aldo", flows=True)
    assert len(tables.stocks) == 14 and len(tables.biomass) == 5 and len(tables.wood_use) == 13
    assert tables.forest["carbone_(tC∙ha-1)"].notna().sum() == 221  # NA in n.s rows only
    zpc = tables.zpc.set_index("insee")["zpc"].dropna()
    check_aldo_flux(tables.flux.set_index("zpc"), zpc, "flux-zpc.csv")


# --- end to end: validate and run agree -------------------------------------------------------


def test_tiny_aldo_pipeline_runs(sandbox: Sandbox) -> None:
    """The control case: the tiny ALDO folder untouched, with flows, runs."""
    aldo = make_aldo(sandbox.inputs / "aldo")
    pipeline = _aldo_pipeline(sandbox, aldo, flows=True)
    assert sandbox.run("validate", pipeline).returncode == 0
    result = sandbox.run("run", pipeline)
    assert result.returncode == 0, result.stderr
    totals = _run_json(sandbox)["totals"]
    assert math.isfinite(totals["stock_tc"]) and totals["stock_tc"] > 0


def test_a1_e2e_soil_text(sandbox: Sandbox) -> None:
    aldo = make_aldo(sandbox.inputs / "aldo", stocks_zpc=("4_1,48,", "4_1,n/a,"))
    _validate_and_run_refuse(
        sandbox, _aldo_pipeline(sandbox, aldo), "stocks-zpc.csv", "zpc 4_1", "'cultures'", "'n/a'"
    )


def test_a8_e2e_commune_zone_absent_from_stocks(sandbox: Sandbox) -> None:
    aldo = make_aldo(sandbox.inputs / "aldo", zpc=("46002,4_1", "46002,9_9"))
    _validate_and_run_refuse(
        sandbox,
        _aldo_pipeline(sandbox, aldo),
        "zpc.csv",
        "46002",
        "9_9",
        "stocks-zpc.csv",
        "correct",
    )


def test_a9_e2e_region_missing_from_inter_regions(sandbox: Sandbox) -> None:
    other = json.dumps({"75": {"interRegion": "SUD-OUEST"}})
    aldo = make_aldo(sandbox.inputs / "aldo", regions=("", other))
    _validate_and_run_refuse(
        sandbox,
        _aldo_pipeline(sandbox, aldo),
        "regions ['76']",
        "region-to-inter-region.json",
        "interRegion",
    )


def test_a12_e2e_blank_region(sandbox: Sandbox) -> None:
    aldo = make_aldo(
        sandbox.inputs / "aldo",
        communes_17122018=(
            "46,76,200000001\nEst,46002,200,46,76,",
            "46,,200000001\nEst,46002,200,46,,",
        ),
    )
    _validate_and_run_refuse(
        sandbox, _aldo_pipeline(sandbox, aldo), "region", "communes_17122018.csv"
    )


def test_a10_e2e_flux_cell_empty(sandbox: Sandbox) -> None:
    aldo = make_aldo(sandbox.inputs / "aldo", flux_zpc=("4_1,1.5,", "4_1,,"))
    _validate_and_run_refuse(
        sandbox,
        _aldo_pipeline(sandbox, aldo, flows=True),
        "flux-zpc.csv",
        "zone 4_1",
        f"'{FLUX_COLUMNS[0]}'",
        "empty",
        "fill it",
    )


def test_a11_e2e_wood_share_text(sandbox: Sandbox) -> None:
    aldo = make_aldo(
        sandbox.inputs / "aldo", proportion_usage_bois_par_region=("OCC,36.7,24.4", "OCC,36.7,abc")
    )
    _validate_and_run_refuse(
        sandbox,
        _aldo_pipeline(sandbox, aldo, flows=True),
        "proportion-usage-bois-par-region.csv",
        "'% BI'",
        "'abc'",
    )


def test_f1_e2e_unmatched_forest_locations_noticed(sandbox: Sandbox) -> None:
    aldo = make_aldo(sandbox.inputs / "aldo")
    floc = sandbox.inputs / "floc.csv"
    floc.write_text("insee,groupeser,greco\n46001,ZZ9,Q\n46002,ZZ9,Q\n", encoding="utf-8")
    pipeline = _aldo_pipeline(sandbox, aldo, forest_locations=str(floc))
    result = sandbox.run("run", pipeline)
    assert result.returncode == 0, result.stderr
    notice = next(
        n for n in _run_json(sandbox)["notices"] if n["code"] == "forest_location_unmatched"
    )
    assert "groupeser 'ZZ9': 2 communes" in notice["items"]
    assert "2 communes fall back to the regional level (rad13)" in notice["items"]


def test_f3_e2e_forest_locations_conflict(sandbox: Sandbox) -> None:
    aldo = make_aldo(sandbox.inputs / "aldo")
    floc = sandbox.inputs / "floc.csv"
    floc.write_text("insee,groupeser\n46001,F1\n46001,G1\n", encoding="utf-8")
    _validate_and_run_refuse(
        sandbox,
        _aldo_pipeline(sandbox, aldo, forest_locations=str(floc)),
        "floc.csv",
        "insee 46001",
        "'F1'",
        "'G1'",
    )


def test_t3_e2e_commune_table_conflict(sandbox: Sandbox) -> None:
    table = sandbox.inputs / "communes_table.csv"
    table.write_text(
        "insee,epci,population\n46001,200000001,100\n46001,200099999,100\n46002,200000001,50\n",
        encoding="utf-8",
    )
    pipeline = sandbox.write_pipeline(
        communes={
            "table": {
                "path": str(table),
                "code_field": "insee",
                "epci_field": "epci",
                "population_field": "population",
            }
        }
    )
    _validate_and_run_refuse(
        sandbox, pipeline, "communes_table.csv", "46001", "'epci'", "200000001", "200099999"
    )
    # identical duplicates are fine
    table.write_text(
        "insee,epci,population\n46001,200000001,100\n46001,200000001,100\n", encoding="utf-8"
    )
    assert sandbox.run("validate", pipeline).returncode == 0


def _generic_copy(sandbox: Sandbox, old: str, new: str) -> Path:
    table, _ = read_generic_table()
    path = sandbox.inputs / "generic.csv"
    text = table.to_csv(index=False)
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "needles"),
    [
        (
            "cropland,soil,44.16",
            "cropland,soil,inf",
            ["category cropland, pool soil", "inf", "2000 tC/ha"],
        ),  # g1
        (
            "cropland,soil,44.16",
            "cropland,soil,1e300",
            ["category cropland, pool soil", "1e+300"],
        ),  # g2
        ("cropland,soil,44.16", "CROPLAND,soil,44.16", ["'CROPLAND'", "use one of cropland"]),  # g3
        ("cropland,soil,44.16", "cropland,soil ,44.16", ["'soil '", "use one of soil"]),  # g4
        (
            "cropland,litter,0",
            "cropland,soil,99",
            ["category cropland, pool soil", "listed twice", "44.16", "99"],
        ),
    ],
)
def test_g_e2e_generic_table(sandbox: Sandbox, old: str, new: str, needles: list[str]) -> None:
    path = _generic_copy(sandbox, old, new)
    pipeline = sandbox.write_pipeline(
        carbon={"coefficients": "generic", "generic_table": str(path)}
    )
    _validate_and_run_refuse(sandbox, pipeline, "generic.csv", *needles)


def test_o1_e2e_override_ceiling(sandbox: Sandbox) -> None:
    pipeline = sandbox.write_pipeline(carbon={"overrides": {"cropland": {"soil": 1e308}}})
    before = sandbox.digest()
    assert_refused(
        sandbox.run("validate", pipeline),
        "carbon.overrides.cropland.soil",
        "between 0 and 2000 tC/ha",
        "1e+308",
        before=before,
        after=sandbox.digest(),
    )
    ok = sandbox.write_pipeline(carbon={"overrides": {"cropland": {"soil": 2000}}})
    assert sandbox.run("validate", ok).returncode == 0


def test_w1_e2e_consumption_without_population(sandbox: Sandbox) -> None:
    aldo = make_aldo(
        sandbox.inputs / "aldo", communes_17122018=("Ouest,46001,100,", "Ouest,46001,,")
    )
    pipeline = sandbox.write_pipeline(
        carbon={"coefficients": "aldo", "aldo_dir": str(aldo)},
        flows={
            "start_year": 2012,
            "end_year": 2018,
            "landcover_before": "../data_raw/tiny/lc.tif",
            "wood_products": "consumption",
        },
    )
    _validate_and_run_refuse(
        sandbox, pipeline, "communes_17122018.csv", "no population", "46001", "'harvest'"
    )
