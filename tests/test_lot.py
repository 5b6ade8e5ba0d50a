"""End to end on the real Lot data: CLC areas against ADEME's overlay, ALDO stocks
recomputed by hand from the tables, commune-vintage fallbacks."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from tests.conftest import SHARED, realdata

pytestmark = realdata


@pytest.fixture(scope="module")
def lot_run(lot_out: Path) -> Path:
    return lot_out  # pipelines/lot.yaml, run once per test process (tests/conftest.py)


@pytest.fixture(scope="module")
def layers(lot_run: Path) -> dict[str, pd.DataFrame]:
    gpkg = lot_run / "geocarbon.gpkg"
    return {
        name: gpd.read_file(gpkg, layer=name)
        for name in ("communes", "landuse_areas", "carbon_stocks")
    }


def _epcis_wholly_in_lot() -> list[str]:
    table = pd.read_csv(SHARED / "aldo" / "communes_17122018.csv", dtype=str)
    deps = table.groupby("epci")["departement"].agg(set)
    return sorted(e for e, d in deps.items() if d == {"46"})


def test_clc_areas_match_ademe_overlay_per_epci(layers) -> None:
    ref = pd.read_csv(
        SHARED / "aldo" / "clc18_area_ha_by_epci.csv", dtype={"siren": str}, encoding="utf-8-sig"
    )
    ref = ref.set_index("siren")
    ref = ref[[c for c in ref.columns if c.strip().isdigit()]]
    ref.columns = ref.columns.astype(int)
    ours = layers["landuse_areas"].merge(
        layers["communes"][["commune_code", "epci_code"]], on="commune_code"
    )
    ours = ours.groupby(["epci_code", "landuse_code"])["area_ha"].sum().unstack(fill_value=0.0)
    epcis = _epcis_wholly_in_lot()
    assert len(epcis) == 8
    diffs = []
    for epci in epcis:
        r = ref.loc[epci].dropna()
        r = r[r > 0]
        o = ours.loc[epci].reindex(r.index, fill_value=0.0)
        assert abs(ours.loc[epci].sum() - r.sum()) / r.sum() < 0.015, epci
        big = r[r >= 1000].index
        rel = ((o - r) / r).abs()
        assert rel[big].max() < 0.03, (epci, rel[big].idxmax(), rel[big].max())
        diffs.extend(rel.tolist())
    assert np.median(diffs) < 0.006


def test_grand_cahors_total_area(layers) -> None:
    communes = layers["communes"]
    area = layers["landuse_areas"].merge(communes[["commune_code", "epci_code"]])
    cahors = area.loc[area.epci_code == "200023737", "area_ha"].sum()
    assert cahors == pytest.approx(59_434, rel=0.004)  # ADEME's overlay: 59,434 ha


def test_commune_missing_from_reference_tables_gets_neighbour_values(lot_run, layers) -> None:
    run = json.loads((lot_run / "run.json").read_text())
    fallbacks = {
        n["message"]: n["items"] for n in run["notices"] if n["code"] == "reference_fallback"
    }
    texts = " ".join(f"{m} {i}" for m, i in fallbacks.items())
    assert "pedoclimatic zone" in texts and "region" in texts and "EPCI" in texts
    assert all(any(item.startswith("46298 ->") for item in items) for items in fallbacks.values())
    sarrazac = layers["communes"].set_index("commune_code").loc["46298"]
    assert sarrazac["stock_tc"] > 0  # never a silent zero
    assert sarrazac["epci_code"] == "200066371"  # merged into Cressensac-Sarrazac's EPCI


def test_stocks_recomputed_by_hand_from_aldo_tables(layers) -> None:
    """Stocks of three communes = area x ALDO reference values of their zone / region."""
    aldo = SHARED / "aldo"
    zpc = pd.read_csv(aldo / "zpc.csv", dtype=str).set_index("insee")["zpc"]
    soil = pd.read_csv(aldo / "stocks-zpc.csv", dtype={"zpc": str}).set_index("zpc")
    biomass = (
        pd.read_csv(aldo / "biomass-hors-forets.csv")
        .set_index("INTER_REG")
        .loc["SUD-EST"]
        .fillna(0)
    )  # Occitanie
    forest = pd.read_csv(aldo / "bilan-carbone-foret-par-localisation.csv", dtype=str)
    occ = forest[
        (forest.type_localisation == "rad13") & (forest.code_localisation == "OCC")
    ].set_index("composition")
    live = {k: float(occ.loc[k, "carbone_(tC∙ha-1)"]) for k in ("Feuillu", "Conifere", "Mixte")}
    dead = {
        k: float(occ.loc[k, "bois_mort_carbone_(tC∙ha-1)"])
        for k in ("Feuillu", "Conifere", "Mixte")
    }
    landuse = layers["landuse_areas"]
    communes = layers["communes"].set_index("commune_code")
    for code in ("46042", "46102", "46001"):
        z = zpc[code]
        a = landuse[landuse.commune_code == code].groupby("landuse_code")["area_ha"].sum()

        def area(*codes: int, a: pd.Series = a) -> float:
            return float(a.reindex(list(codes), fill_value=0.0).sum())

        crop = area(211, 212, 213, 241, 242, 243, 244)
        herb, shrub, wooded = area(231, 321), area(322), area(323)
        wet, orch, vine = (
            area(411, 412, 421, 422, 423, 511, 512, 521, 522, 523),
            area(222, 223),
            area(221),
        )
        broad, conif, mixed = area(311), area(312), area(313, 324)
        art_a, art_w = area(111, 112, 121, 122, 123, 124, 131, 132, 133, 142), area(141)
        t = art_a + art_w
        sealed, grassed = (0.8 * t, 0.2 * t - art_w) if art_w < 0.2 * t else (art_a, 0.0)
        s = soil.loc[z]
        expected_soil = (
            crop * s["cultures"] + (herb + shrub + wooded) * s["prairies"] + wet * s["zones humides"]
            + orch * s["vergers"] + vine * s["vignes"] + (broad + conif + mixed) * s["forêts"]
            + sealed * 30 + grassed * s["sols artificiels enherbés"] + art_w * s["sols artificiels arborés et buissonants"]
        )  # fmt: skip
        expected_bio = (
            wooded * biomass["prairies zones arborées"] + shrub * biomass["prairies zones arbustives"]
            + orch * biomass["vergers"] + vine * biomass["vignes"]
            + grassed * biomass["sols artificiels arbustifs"] + art_w * biomass["sols artificiels arborés et buissonants"]
            + broad * live["Feuillu"] + conif * live["Conifere"] + mixed * live["Mixte"]
        )  # fmt: skip
        expected_litter = 9.0 * (broad + conif + mixed)
        expected_dead = broad * dead["Feuillu"] + conif * dead["Conifere"] + mixed * dead["Mixte"]
        row = communes.loc[code]
        assert row["stock_soil_tc"] == pytest.approx(expected_soil, rel=1e-9), code
        assert row["stock_live_biomass_tc"] == pytest.approx(expected_bio, rel=1e-9), code
        assert row["stock_litter_tc"] == pytest.approx(expected_litter, rel=1e-9), code
        assert row["stock_dead_wood_tc"] == pytest.approx(expected_dead, rel=1e-9), code


def test_territory_totals_are_consistent(lot_run, layers) -> None:
    communes, stocks = layers["communes"], layers["carbon_stocks"]
    assert len(communes) == 320
    assert communes["stock_tc"].sum() == pytest.approx(stocks["stock_tc"].sum(), rel=1e-9)
    summary = pd.read_csv(lot_run / "carbon_stocks_summary.csv")
    assert summary.loc[summary.category == "total", "stock_tc"].sum() == pytest.approx(
        stocks["stock_tc"].sum(), rel=1e-9
    )
    # the land cover covers the whole département: commune land-cover areas add up to its area
    assert communes["landcover_area_ha"].sum() == pytest.approx(
        communes["area_ha"].sum(), rel=0.003
    )
    mean = communes["stock_tc"].sum() / communes["landcover_area_ha"].sum()
    assert (
        90 < mean < 130
    )  # forest-rich département: between cropland (~50) and forest (~170) tC/ha
