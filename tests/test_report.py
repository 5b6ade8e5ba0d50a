"""The territory report (report.html, report.pdf): self-contained, in French or English with
display names (never raw ids), figures as hand-computed, the same bytes for the same inputs."""

from __future__ import annotations

import dataclasses
import html
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geocarbon import pipeline
from geocarbon.capabilities.carbon_step import CarbonResults
from geocarbon.config import load_config
from geocarbon.demo import write_demo_territory
from geocarbon.io import report_files
from geocarbon.io.pdf import pdf_engine
from geocarbon.report import number, percent, territory_report, without_paths
from geocarbon.report_charts import landuse_change_matrix
from geocarbon.state import Results
from tests.conftest import REPO, SHARED

#: Ids that must never be shown as headers (they have display names).
RAW_IDS = (
    "forest_broadleaf",
    "agricultural_soils",
    "other_soils",
    "wood_products",
    "stock_tc",
    "stock_tc_per_ha",
    "flow_tco2e_per_yr",
    "landcover_covered_share",
    "coverage_note",
    "ev_pop_share_within_5km",
    "ev_points_per_100k_inhab",
    "pv_mwp",
    "commune_code",
)


def _cfg(language: str = "fr", pdf: bool = False) -> Any:
    return SimpleNamespace(
        name="tiny",
        description="Two hand-made communes",
        report=SimpleNamespace(language=language, pdf=pdf),
    )


def _tiny_results() -> Results:
    """Two 1 km² communes of one EPCI, with stocks and flows computed by hand."""
    communes = gpd.GeoDataFrame(
        {
            "commune_code": ["99001", "99002"],
            "commune_name": ["Alpha", "Béta <b>x</b>"],
            "epci_code": ["200000001", "200000001"],
            "population": [100.0, 300.0],
            "area_ha": [100.0, 100.0],
            "landcover_covered_share": [1.0, 1.0],
            "landcover_area_ha": [100.0, 100.0],
            "stock_tc": [5000.0, 7000.0],
            "stock_tc_per_ha": [50.0, 70.0],
            "flow_tco2e_per_yr": [10.0, -30.0],
            "carbon_complete": [1, 1],
        },
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs="EPSG:2154",
    )
    rows = []
    for cat, pool, area, stock in (
        ("forest_broadleaf", "soil", 80.0, 4000.0),
        ("forest_broadleaf", "live_biomass", 80.0, 6000.0),
        ("cropland", "soil", 120.0, 2000.0),
        ("cropland", "live_biomass", 120.0, 0.0),
    ):
        rows.append({"category": cat, "pool": pool, "area_ha": area, "stock_tc": stock})
    summary = pd.DataFrame(rows)
    summary["stock_tc_per_ha"] = summary["stock_tc"] / summary["area_ha"]
    total = summary.groupby("pool", as_index=False)["stock_tc"].sum()
    total["category"], total["area_ha"] = "total", 200.0
    summary = pd.concat([summary, total], ignore_index=True)

    def seq_row(level: str, code: str, name: str, f: float, a: float, o: float) -> dict[str, Any]:
        return {
            "level": level,
            "code": code,
            "name": name,
            "period": "2012-2018",
            "forest": f,
            "agricultural_soils": a,
            "other_soils": o,
            "wood_products": 0.0,
            "total": f + a + o,
            "landcover_covered_share": 1.0,
            "complete": True,
            "coverage_note": "",
        }

    sequestration = pd.DataFrame(
        [
            seq_row("commune", "99001", "Alpha", 25.0, -5.0, -10.0),
            seq_row("commune", "99002", "Béta <b>x</b>", 0.0, -20.0, -10.0),
            seq_row("epci", "200000001", "CC des Deux", 25.0, -25.0, -20.0),
            seq_row("territory", "territory", "tiny", 25.0, -25.0, -20.0),
        ]
    )
    # one row per pool and category pair: the area of a pair is counted once
    flows = pd.DataFrame(
        [
            ("99001", "biomass", "cropland", "artificial_sealed", 0.5),
            ("99001", "soil", "cropland", "artificial_sealed", 0.5),
            ("99002", "biomass", "grassland_herbaceous", "cropland", 1.5),
            ("99002", "soil", "grassland_herbaceous", "cropland", 1.5),
        ],
        columns=["zone_code", "pool", "from_category", "to_category", "area_ha_per_yr"],
    )
    flows["flow_kind"] = "landuse_change"
    flows["commune_code"] = flows["zone_code"]
    flows["flow_tco2e_per_yr"] = -1.0
    flows["pcaet_category"] = "other_soils"
    carbon = CarbonResults(
        landuse_areas=pd.DataFrame(),
        carbon_stocks=pd.DataFrame(),
        summary=summary,
        coefficient_set="hand-made",
        reference=pd.DataFrame(),
        mapping={},
        flows=flows,
        sequestration=sequestration,
    )
    return Results(communes=communes, notices=[], timings_s={}, files={}, parts={"carbon": carbon})


def _headers(page: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", h)).strip()
        for h in re.findall(r"<th[^>]*>(.*?)</th>", page, re.DOTALL)
    ]


def assert_self_contained(page: str) -> None:
    """Nothing fetched: no http(s), every src a data URI, links only to anchors or the maps."""
    assert "http://" not in page and "https://" not in page
    assert "<link" not in page and "@import" not in page and "<script" not in page
    for src in re.findall(r"\bsrc=['\"]([^'\"]*)", page):
        assert src.startswith("data:"), src[:80]
    for href in re.findall(r"\bhref=['\"]([^'\"]*)", page):
        assert href.startswith(("#", "maps/", "data:")), href[:80]
    for url in re.findall(r"url\(([^)]*)\)", page):
        assert url.strip("'\"").startswith(("data:", "#")), url


def assert_display_names(page: str) -> None:
    headers = _headers(page)
    assert headers
    for h in headers:
        assert "_" not in h, f"raw id among the headers: {h!r}"
        assert h not in RAW_IDS


# ----------------------------------------------------------------------------------------
# hand-made results


def test_numbers_read_in_each_language() -> None:
    assert number(1234567.891, "fr") == "1\u202f234\u202f568"
    assert number(1234.5, "en", 1) == "1,234.5"
    assert number(-12.345, "fr", 1) == "−12,3"
    assert number(float("nan"), "fr") == "sans donnée"  # no data is never 0
    assert number(float("nan"), "en") == "no data"
    assert percent(0.995, "fr") == "99,5\u202f%"
    assert percent(0.0066, "en") == "0.7 %"


def test_local_paths_shortened_to_names(tmp_path: Path) -> None:
    # absolute paths of this machine, whatever it is
    assert without_paths(f"ALDO tables in {tmp_path / 'data' / 'aldo'}") == "ALDO tables in aldo"
    assert without_paths(f"points: {tmp_path / 'irve.csv'}: 126 read") == (
        "points: irve.csv: 126 read"
    )
    assert without_paths("C:\\data\\irve.csv: read") == "irve.csv: read"
    assert without_paths("tCO2e/an, kWh/kWc/an") == "tCO2e/an, kWh/kWc/an"  # units kept


def test_tiny_report_in_french() -> None:
    page = territory_report(_cfg("fr"), _tiny_results(), ["carbon_stocks.html"])
    assert_self_contained(page)
    assert_display_names(page)
    assert "<html lang='fr'>" in page
    for heading in ("Chiffres clés", "Stocks de carbone", "Flux de carbone 2012-2018"):
        assert f">{heading}</h2>" in page
    headers = _headers(page)
    for header in (
        "Forêt (tCO2e/an)",
        "Sols agricoles (tCO2e/an)",
        "Autres sols (tCO2e/an)",
        "Produits bois (tCO2e/an)",
        "Stock de carbone (tC)",
    ):
        assert header in headers
    # hand-computed: 12 000 tC over 200 ha (60 tC/ha); net flow 25 − 25 − 20 = −20 tCO2e/yr
    assert "<b>12\u202f000</b><span>Stock de carbone (tC)</span>" in page
    assert "<b>60,0</b><span>Densité de carbone (tC/ha)</span>" in page
    assert "<b>−20</b><span>Total (tCO2e/an)</span>" in page
    # the land-use table: forest 4 000 + 6 000 = 10 000 tC on 80 ha = 125 tC/ha
    assert re.search(r"Forêt de feuillus</td><td>80</td><td>4\u202f000</td>.*?<td>125</td>", page)
    assert "Convention de signe : un flux positif est une séquestration" in page
    assert (
        "Les stocks et flux couvrent 2 sur les 2 communes du calcul (100,0\u202f% de sa surface)."
        in page
    )
    # text from the inputs is shown as text
    assert "Béta &lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    # charts and static maps are inline
    assert page.count("<svg") >= 3 and page.count("data:image/png;base64,") >= 2
    # the same results give the same page
    assert page == territory_report(_cfg("fr"), _tiny_results(), ["carbon_stocks.html"])


def test_tiny_report_in_english() -> None:
    page = territory_report(_cfg("en"), _tiny_results(), [])
    assert_self_contained(page)
    assert_display_names(page)
    assert "<html lang='en'>" in page
    assert ">Carbon stocks</h2>" in page and "Forest (tCO2e/yr)" in _headers(page)
    assert "<b>12,000</b><span>Carbon stock (tC)</span>" in page
    assert "Sign convention: a positive flow is sequestration" in page
    assert "Stocks and flows cover 2 of the 2 communes of the run" in page
    assert "These figures cover the whole territory." in page
    assert "Stocks de carbone" not in page


def test_sign_convention_only_with_flows() -> None:
    results = _tiny_results()
    results.parts["carbon"] = dataclasses.replace(
        results.parts["carbon"], sequestration=None, flows=None
    )
    page = territory_report(_cfg("fr"), results, [])
    assert "Convention de signe" not in page and "Flux de carbone" not in page
    assert ">Stocks de carbone</h2>" in page


def test_partial_flows_say_so() -> None:
    results = _tiny_results()
    seq = results.parts["carbon"].sequestration
    assert seq is not None
    seq.loc[seq["level"] == "territory", ["complete", "coverage_note"]] = [
        False,
        "partial: 1 of the 2 communes have data",
    ]
    page = territory_report(_cfg("fr"), results, [])
    assert "Ces chiffres sont partiels : 1 of the 2 communes have data" in page
    assert "« Complet = Non »" in page
    page = territory_report(_cfg("en"), results, [])
    assert "These figures are partial: 1 of the 2 communes have data" in page


def test_landuse_change_matrix_counts_each_pair_once() -> None:
    """Each category pair has a row per pool: its area (ha/yr) is counted once."""
    svg = landuse_change_matrix(_tiny_results().parts["carbon"].flows, "fr")
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert "0,5" in texts and "1,5" in texts
    assert "1" not in texts and "3" not in texts  # 0.5 and 1.5 counted twice
    # names longer than 28 characters are wrapped over two lines (report_charts.WRAP_CHARS)
    assert "Sols artificiels" in texts and "imperméabilisés" in texts
    assert "Prairies zones herbacées" in texts


def test_inputs_listed_by_name_date_and_checksum(tmp_path: Path) -> None:
    data = tmp_path / "deep" / "folder"
    data.mkdir(parents=True)
    (data / "communes.gpkg").write_bytes(b"abc")
    results = _tiny_results()
    results.files = {"communes": data / "communes.gpkg", "missing": data / "gone.csv"}
    facts = report_files.input_facts(results.files)
    # SHA-256 of b"abc"
    sha = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert [(f.key, f.name, f.sha256) for f in facts] == [("communes", "communes.gpkg", sha)]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", facts[0].modified)
    page = territory_report(_cfg("fr"), results, [], facts)
    assert "communes.gpkg" in page and sha in page
    assert str(data) not in page and str(tmp_path) not in page  # no local path
    # the file's modification day in the inputs table, labelled as such (not a data date)
    assert f"<td class='t'>{facts[0].modified}</td>" in page and "Fichier modifié le" in page
    assert "Communes (contours)" in page
    # sources only of the inputs the run used: no charging points nor buildings here
    assert "IGN Admin Express" in page
    assert "IRVE" not in page and "BD TOPO" not in page


def test_no_pdf_engine_is_a_notice_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_files, "pdf_engine", lambda: None)
    results = _tiny_results()
    report_files.write_report(tmp_path, _cfg("fr", pdf=True), results, [])
    assert (tmp_path / "report.html").is_file() and not (tmp_path / "report.pdf").exists()
    assert [n.code for n in results.notices] == ["report_pdf_not_made"]
    assert "report_pdf_not_made" not in (tmp_path / "report.html").read_text(encoding="utf-8")
    # in the report's language (French here), with what to do
    assert "aucun moteur PDF" in (tmp_path / "report.html").read_text(encoding="utf-8")
    # not asked: no notice, no PDF
    results = _tiny_results()
    report_files.write_report(tmp_path / "b", _cfg("fr", pdf=False), results, [])
    assert results.notices == [] and not (tmp_path / "b" / "report.pdf").exists()


@pytest.mark.skipif(pdf_engine() is None, reason="headless Chromium not installed")
def test_pdf_printed_by_chromium(tmp_path: Path) -> None:
    results = _tiny_results()
    report_files.write_report(tmp_path, _cfg("fr", pdf=True), results, [])
    pdf = (tmp_path / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and results.notices == []
    # A4 pages: 595 × 842 points
    assert re.search(
        rb"/MediaBox\s*\[\s*0 0 595(\.\d+)? 841(\.\d+)?|/MediaBox\s*\[\s*0 0 594\.9", pdf
    )


# ----------------------------------------------------------------------------------------
# the demo and the Lot


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Results, Path]:
    tmp = tmp_path_factory.mktemp("report_demo")
    write_demo_territory(tmp / "data_raw" / "demo")
    (tmp / "pipelines").mkdir()
    shutil.copy(REPO / "pipelines" / "demo.yaml", tmp / "pipelines" / "demo.yaml")
    cfg = load_config(tmp / "pipelines" / "demo.yaml")
    # the PDF too (off in the shipped demo: printing costs seconds per run)
    cfg = cfg.model_copy(update={"report": cfg.report.model_copy(update={"pdf": True})})
    out, results = pipeline.run(cfg)
    return cfg, results, out


def test_demo_report(demo_run: tuple[Any, Results, Path]) -> None:
    cfg, results, out = demo_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert_display_names(page)
    for heading in (
        "Chiffres clés",
        "Stocks de carbone",
        "Flux de carbone 2012-2018",
        "Photovoltaïque en toiture",
        "Recharge publique",
        "Objectifs",
        "Tableaux par commune",
        "Méthode, sources et licences",
        "Données d'entrée",
        "Avertissements",
    ):
        assert f">{html.escape(heading)}</h2>" in page, heading
    # the header gives the data's own years, not a file's copy date
    assert "Millésime des données : occupation du sol 2018 ; changements 2012–2018" in page
    assert "Données au" not in page
    # EPCIs by name; coefficients described in French
    assert "Communauté d&#x27;agglomération du Haut-Pays" in page
    assert "Coefficients génériques GIEC intégrés à geocarbon (generic_ipcc.csv)" in page
    assert "built-in" not in page
    # charts: stocks, flows, land-use change, PV by roof form and commune, charging
    assert page.count("<svg") >= 6
    # static maps: stocks, flows, PV, charging
    assert page.count("<img alt=") >= 4
    # targets in the PCAET form
    for header in ("Valeur", "Objectif", "Année", "Écart"):
        assert f">{header}</th>" in page
    assert "AFIR : 1,3 kW par véhicule électrique à batterie" in page
    # every commune in the appendix
    assert page.count("<td class='t'>990") >= 36
    # inputs by name, with checksums, never by local path
    assert "landcover_clc2018_25m.tif" in page and str(out.parent.parent) not in page
    # the same results and inputs give the same page
    facts = report_files.input_facts(results.files)
    maps = sorted(p.name for p in (out / "maps").glob("*.html"))
    assert territory_report(cfg, results, maps, facts) == page
    # in English from the same results
    english = territory_report(
        cfg.model_copy(update={"report": cfg.report.model_copy(update={"language": "en"})}),
        results,
        maps,
        facts,
    )
    assert_self_contained(english)
    assert_display_names(english)
    assert (
        ">Rooftop photovoltaics</h2>" in english and "Population within 5 km of a point" in english
    )
    if pdf_engine() is not None:
        assert (out / "report.pdf").read_bytes().startswith(b"%PDF")


def test_lot_report(lot_out: Path) -> None:
    out = lot_out
    page = (out / "report.html").read_text(encoding="utf-8")
    assert_self_contained(page)
    assert_display_names(page)
    assert ">Flux de carbone 2012-2018</h2>" in page
    assert "CA du Grand Cahors" in page  # EPCIs by name
    assert "Outil ALDO, ADEME" in page or "outil ALDO, ADEME" in page
    assert "Corine Land Cover" in page
    assert str(SHARED) not in page and "clc2018_100m.tif" in page
    assert "Photovoltaïque en toiture" not in page  # no PV step in this run
    assert page.count("<svg") >= 3


def test_static_maps_show_the_geometry_of_the_interactive_maps() -> None:
    """The report's static maps draw the communes simplified as the interactive maps are,
    and the EPCIs' outline dissolved from the full-detail communes, then simplified."""
    from shapely.geometry import Polygon

    from geocarbon.maps import simplified_geometry
    from geocarbon.report import _simplified_map_frames

    # a wavy shared edge (steps of 5 m): gone at 20 m, kept at 0 m
    wave = [(1000.0, y) for y in range(0, 1001, 50)]
    wave = [(x + (5.0 if i % 2 else 0.0), y) for i, (x, y) in enumerate(wave)]
    west = Polygon([(0.0, 0.0), *wave, (0.0, 1000.0)])
    east = Polygon([(2000.0, 0.0), *wave, (2000.0, 1000.0)])
    far = box(3000.0, 0.0, 4000.0, 1000.0)
    geo = gpd.GeoDataFrame(
        {"epci_code": ["1", "1", "2"]}, geometry=[west, east, far], crs="EPSG:2154"
    )
    shown, outline = _simplified_map_frames(geo, 20.0)
    assert shown.geometry.geom_equals(simplified_geometry(geo.geometry, 20.0)).all()
    assert shown.geometry.iloc[0].length < west.length  # the wave simplified
    dissolved = geo.dissolve("epci_code").geometry
    assert outline.geometry.geom_equals(simplified_geometry(dissolved, 20.0)).all()
    shown, outline = _simplified_map_frames(geo, 0.0)
    assert shown.geometry.geom_equals(geo.geometry).all()
    assert _simplified_map_frames(geo[geo["epci_code"] == "1"], 20.0)[1] is None


def test_map_geometry_prepared_beforehand_equals_the_geometry_computed_when_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The static maps' geometry computed beforehand from the communes as read
    (:func:`geocarbon.report.prepare_map_geometry`) is the one computed when drawing; other
    communes, or another tolerance, do not take it."""
    import geocarbon.report as report

    monkeypatch.setattr(report, "_MAP_GEOMETRY", {})
    geo = gpd.GeoDataFrame(
        {"epci_code": ["1", "1", "2"], "stock_tc": [1.0, 2.0, 3.0]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), box(3000, 0, 4000, 1000)],
        crs="EPSG:2154",
    )
    plain_shown, plain_outline = report._simplified_map_frames(geo, 20.0)
    report.prepare_map_geometry(
        SimpleNamespace(maps=SimpleNamespace(simplify_m=20.0)), geo[["epci_code", "geometry"]]
    )
    computed = []
    compute = report._map_geometry
    monkeypatch.setattr(
        report, "_map_geometry", lambda *args: computed.append(args) or compute(*args)
    )
    shown, outline = report._simplified_map_frames(geo, 20.0)
    assert not computed  # taken as prepared
    assert shown.equals(plain_shown) and outline.equals(plain_outline)
    # other communes, another tolerance: computed
    other = geo.assign(geometry=geo.geometry.translate(5.0))
    report._simplified_map_frames(other, 20.0)
    assert report._simplified_map_frames(geo, 0.0)[1] is not None
    assert report._simplified_map_frames(geo.assign(epci_code="1"), 20.0)[1] is None
    assert len(computed) == 3


def test_static_maps_put_in_the_places_kept_by_the_charts_body() -> None:
    from geocarbon.report import ReportBody, static_map_slot, with_static_maps

    body = ReportBody(
        (("a", "A"),),
        ("<div>k</div>",),
        ("<h2>s</h2>", static_map_slot(0), "<p>x</p>", static_map_slot(1)),
    )
    whole = with_static_maps(body, ["<figure>m0</figure>", "<figure>m1</figure>"])
    assert whole is not None
    assert whole.parts == ("<h2>s</h2>", "<figure>m0</figure>", "<p>x</p>", "<figure>m1</figure>")
    assert whole.toc == body.toc and whole.kpis == body.kpis
    # the two processes disagree (a map more, or fewer): None, the report is drawn again
    assert with_static_maps(body, ["<figure>m0</figure>"]) is None
    assert with_static_maps(body, ["a", "b", "c"]) is None
    # escaped input text cannot pose as a place
    assert "<!--" not in __import__("geocarbon.report", fromlist=["esc"]).esc(
        "<!--geocarbon static map 0-->"
    )


def test_report_drawn_in_two_parts_is_the_report_drawn_whole(
    demo_run: tuple[Any, Results, Path],
) -> None:
    """The charts' body with the static maps drawn apart (two processes in a run) is the
    body drawn in one go, byte for byte."""
    from geocarbon.report import report_body, static_maps, with_static_maps

    cfg, results, _ = demo_run
    maps = static_maps(cfg, results)
    assert len(maps) >= 2 and all(m.startswith("<figure") for m in maps)
    whole = with_static_maps(report_body(cfg, results, figures="charts"), maps)
    assert whole == report_body(cfg, results)
