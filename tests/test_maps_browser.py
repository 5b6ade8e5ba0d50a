"""Acceptance: the demo's maps and report open in headless Chromium with no network.

The demo runs once (module fixture). Each map is opened (``--dump-dom``, networking disabled:
every host name fails to resolve, every proxied request goes nowhere) with a harness script
added first in its head. The harness records console errors, uncaught errors and failed loads,
then acts as a reader: it chooses each choropleth with its radio button in the layer control
and checks that only that choropleth is on the map, that it draws every feature of the shared
commune data, and that the legend shown is that layer's; it checks each overlay (drawn
features, legend) and the charging points. Expected counts come from the run's own outputs
(GeoPackage layers), not from the page. A map fails on any console error, on fewer drawn
features than the layer has, on a missing legend or a legend of one class.

Hovering every feature for script run from data is the injection harness's job
(``tests/hostile/test_injection.py``); ``tests/test_maps_hover.py`` runs it on the demo's maps
(a file of its own, so that the test runner gives it a worker of its own). Screenshots of
every page (offline) are saved under the test's temporary folder (``screenshots/``).

Skipped only when Chromium is missing and the ``CI`` environment variable is unset: ``.ci/run``
installs Chromium, and in CI a missing browser fails the tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from click.testing import CliRunner

from geocarbon.capabilities.pv_step import MAP_MAX_BUILDINGS
from geocarbon.cli import main
from geocarbon.io.pdf import OFFLINE_FLAGS
from geocarbon.labels import label
from tests.conftest import REPO
from tests.hostile.test_injection import (
    CHROMIUM,
    chromium_required_in_ci,
    open_in_chromium,
)

pytestmark = chromium_required_in_ci()

#: Background tiles are optional: their failed loads (no network) are expected, nothing else.
TILE_HOST = "tile.openstreetmap.org"

CHECKS = r"""<script>
(function () {
    "use strict";
    var problems = [];
    var console_errors = [];
    var failed_loads = [];
    var origError = console.error;
    console.error = function () {
        console_errors.push(Array.prototype.map.call(arguments, String).join(" "));
        return origError.apply(console, arguments);
    };
    window.addEventListener("error", function (e) {
        var t = e.target;
        if (t && t !== window && (t.src || t.href)) { failed_loads.push(String(t.src || t.href)); }
        else { console_errors.push("uncaught: " + String(e.message)); }
    }, true);
    window.addEventListener("unhandledrejection", function (e) {
        console_errors.push("unhandled rejection: " + String(e.reason));
    });
    function visibleLegends() {
        return Array.prototype.filter.call(
            document.querySelectorAll(".geocarbon-legend"),
            function (el) { return el.offsetParent !== null; }
        ).map(function (el) {
            return {title: el.querySelector("b").textContent,
                    note: el.getAttribute("data-note"),
                    classes: el.querySelectorAll("span").length,
                    text: el.textContent};
        });
    }
    function drawn(layer) {
        var n = 0;
        layer.eachLayer(function (item) {
            var el = item.getElement && item.getElement();
            if (el && el.isConnected && el.getAttribute("d") && el.getAttribute("d") !== "M0 0") { n += 1; }
        });
        return n;
    }
    function run() {
        var out = {leaflet: window.L ? L.version : null, choropleths: [], overlays: [],
                   points: null, offline_note: null};
        var maps = [];
        Object.keys(window).forEach(function (k) {
            var v;
            try { v = window[k]; } catch (e) { return; }
            if (window.L && v instanceof L.Map) { maps.push(v); }
        });
        out.maps = maps.length;
        if (maps.length !== 1) { finish(out); return; }
        var map = maps[0];
        out.zones = window.geocarbon_zones ? window.geocarbon_zones.features.length : null;
        // the choropleths, chosen as a reader does: a radio button of the layer control
        var radios = document.querySelectorAll(".leaflet-control-layers-base input[type=radio]");
        out.radios = radios.length;
        var bases = [];
        for (var i = 0; window["geocarbon_choropleth_" + i]; i++) { bases.push(window["geocarbon_choropleth_" + i]); }
        out.initial_on_map = bases.map(function (b) { return map.hasLayer(b); });
        out.initial_legends = visibleLegends();
        Array.prototype.forEach.call(radios, function (radio, r) {
            radio.click();
            var label = radio.parentNode.textContent.trim();
            out.choropleths.push({
                label: label,
                on_map: bases.map(function (b) { return map.hasLayer(b); }),
                features: bases[r] ? bases[r].getLayers().length : -1,
                drawn: bases[r] ? drawn(bases[r]) : -1,
                legends: visibleLegends()
            });
        });
        if (radios.length) { radios[0].click(); }
        for (var j = 0; window["geocarbon_overlay_" + j]; j++) {
            var ov = window["geocarbon_overlay_" + j];
            var initially = map.hasLayer(ov);
            if (!initially) {
                // an overlay off at opening is ticked as a reader does: its layer-control box
                var id = L.Util.stamp(ov);
                Array.prototype.forEach.call(
                    document.querySelectorAll(".leaflet-control-layers-overlays input"),
                    function (box) { if (box.layerId === id && !box.checked) { box.click(); } }
                );
            }
            out.overlays.push({initially_on_map: initially, on_map: map.hasLayer(ov),
                               features: ov.getLayers().length, drawn: drawn(ov),
                               legends: visibleLegends()});
        }
        Object.keys(window).forEach(function (k) {
            var v = window[k];
            if (L.MarkerClusterGroup && v instanceof L.MarkerClusterGroup) {
                out.points = {on_map: map.hasLayer(v), markers: v.getLayers().length};
            }
        });
        var note = document.getElementById("geocarbon-offline-note");
        out.offline_note = note && note.offsetParent !== null ? note.textContent : null;
        out.control_text = document.querySelector(".leaflet-control-layers")
            ? document.querySelector(".leaflet-control-layers").textContent : null;
        finish(out);
    }
    function finish(out) {
        setTimeout(function () {
            out.console_errors = console_errors;
            out.failed_loads = failed_loads;
            var div = document.createElement("div");
            div.id = "geocarbon-harness";
            div.setAttribute("data-result", btoa(unescape(encodeURIComponent(JSON.stringify(out)))));
            document.body.appendChild(div);
        }, 1000);
    }
    window.addEventListener("load", function () { setTimeout(run, 1500); });
})();
</script>
"""

MAP_NAMES = ("carbon_stocks.html", "carbon_flows.html", "rooftop_pv.html", "charging.html")


def screenshot(page: Path, folder: Path) -> Path:
    """A PNG of ``page`` as opened offline (no harness)."""
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"{page.stem}.png"
    assert CHROMIUM is not None
    subprocess.run(
        [
            CHROMIUM,
            *OFFLINE_FLAGS,
            f"--user-data-dir={folder / ('profile_' + page.stem)}",
            "--window-size=1200,900",
            "--virtual-time-budget=20000",
            f"--screenshot={png}",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        timeout=300,
        check=False,
    )
    return png


def assert_no_errors(result: dict[str, Any], name: str) -> None:
    assert result["console_errors"] == [], f"{name}: console errors {result['console_errors']}"
    other = [u for u in result["failed_loads"] if TILE_HOST not in u]
    assert other == [], f"{name}: failed loads other than background tiles: {other}"


def expected_counts(out: Path) -> dict[str, int]:
    gpkg = out / "geocarbon.gpkg"
    communes = gpd.read_file(gpkg, layer="communes")
    buildings = gpd.read_file(gpkg, layer="pv_buildings")
    points = gpd.read_file(gpkg, layer="charging_points")
    return {
        "communes": len(communes),
        "buildings": min(len(buildings), MAP_MAX_BUILDINGS),
        "points": int((points.geometry.notna() & ~points.geometry.is_empty).sum()),
    }


#: Choropleth titles per map (radio buttons, in order) and how many overlays it has: the
#: demo's maps are in French (``report.language: fr``), with the PCAET vocabulary.
EXPECTED = {
    "carbon_stocks.html": (["Densité de carbone (tC/ha)", "Stock de carbone (tC)"], 0),
    "carbon_flows.html": (
        [
            "Flux net (tCO2e/an)",
            "Forêt (tCO2e/an)",
            "Sols agricoles (tCO2e/an)",
            "Autres sols (tCO2e/an)",
            "Produits bois (tCO2e/an)",
        ],
        1,
    ),
    "rooftop_pv.html": (["Production potentielle (MWh/an)"], 1),
    "charging.html": (["Points pour 100 000 habitants", "Points de recharge par commune"], 1),
}
#: Overlays shown at opening, per map (the others are listed in the layer control, off): the
#: charging map's population cells would hide its commune choropleth, so they start off.
SHOWN_AT_OPENING = {
    "carbon_stocks.html": [],
    "carbon_flows.html": [True],
    "rooftop_pv.html": [True],
    "charging.html": [False],
}


@pytest.mark.parametrize("name", MAP_NAMES)
def test_map_works_offline_with_exclusive_layers_and_legends(
    demo_out: Path, tmp_path: Path, name: str
) -> None:
    page = demo_out / "maps" / name
    counts = expected_counts(demo_out)
    result = open_in_chromium(page, tmp_path, harness=CHECKS)
    assert result["leaflet"] == "1.9.4" and result["maps"] == 1
    assert_no_errors(result, name)
    titles, n_overlays = EXPECTED[name]
    # the communes are written once and shared by every choropleth
    assert result["zones"] == counts["communes"]
    assert result["radios"] == len(titles)
    # at opening: the first choropleth only, and its legend (with those of the overlays shown)
    assert result["initial_on_map"] == [k == 0 for k in range(len(titles))]
    assert titles[0] in [leg["title"] for leg in result["initial_legends"]]
    shown_at_opening = SHOWN_AT_OPENING[name]
    assert [o["initially_on_map"] for o in result["overlays"]] == shown_at_opening
    assert len(result["initial_legends"]) == 1 + sum(shown_at_opening)
    for k, shown in enumerate(result["choropleths"]):
        assert shown["label"] == titles[k]
        assert shown["on_map"] == [i == k for i in range(len(titles))], "choropleths not exclusive"
        assert shown["features"] == shown["drawn"] == counts["communes"], shown["label"]
        legends = {leg["title"]: leg for leg in shown["legends"]}
        assert titles[k] in legends, f"{name}: no legend for {titles[k]}"
        assert not set(titles) - {titles[k]} & set(legends), "legend of a hidden choropleth"
        legend = legends[titles[k]]
        # one class only when the values say so: all zero, all equal, or none
        assert legend["classes"] >= 2 or legend["note"] in (
            "no change",
            "single value",
            "no data",
        ), legend
    assert len(result["overlays"]) == n_overlays
    for overlay in result["overlays"]:
        # shown at opening or ticked in the layer control: every feature drawn, its legend
        assert overlay["on_map"] and overlay["features"] == overlay["drawn"] > 0
        assert len(overlay["legends"]) == 2  # the choropleth's and the overlay's
    if name == "rooftop_pv.html":
        assert result["overlays"][0]["features"] == counts["buildings"]
    if name == "charging.html":
        assert result["points"] == {"on_map": True, "markers": counts["points"]}
    # no network: the background is missing and the map says why
    assert result["offline_note"] == label("map_offline_note", "fr")
    png = screenshot(page, tmp_path / "screenshots")
    assert png.is_file() and png.stat().st_size > 10_000


def test_report_opens_offline_without_errors(demo_out: Path, tmp_path: Path) -> None:
    page = demo_out / "report.html"
    result = open_in_chromium(page, tmp_path, harness=CHECKS)
    assert_no_errors(result, "report.html")
    assert result["failed_loads"] == []  # the report needs nothing from the network
    png = screenshot(page, tmp_path / "screenshots")
    assert png.is_file() and png.stat().st_size > 10_000


#: The report as printed on A4: the print rules of its style applied on screen, in a window
#: as wide as the page's printable width (210 mm − 2 × 12 mm margins = 186 mm ≈ 703 CSS px),
#: every commune table open. Records the elements reaching past the page's right edge.
PRINT_WIDTH = r"""<script>
window.addEventListener("load", function () {
    for (const sheet of document.styleSheets) {
        Array.from(sheet.cssRules).forEach(function (rule) {
            if (rule.media && rule.media.mediaText === "print") {
                Array.from(rule.cssRules).forEach(function (inner) {
                    sheet.insertRule(inner.cssText, sheet.cssRules.length);
                });
            }
        });
    }
    document.querySelectorAll("details").forEach(function (d) { d.open = true; });
    var width = document.documentElement.clientWidth;
    var wide = [];
    document.querySelectorAll("table, figure, svg, img, p, ul, h1, h2, h3, div").forEach(
        function (e) {
            var box = e.getBoundingClientRect();
            if (box.right > width + 1) {
                wide.push(e.tagName + " " + Math.round(box.right) + " " +
                          (e.textContent || "").slice(0, 60));
            }
        });
    var out = document.createElement("div");
    out.id = "geocarbon-harness";
    out.setAttribute("data-result", btoa(unescape(encodeURIComponent(JSON.stringify(
        {width: width, scroll: document.documentElement.scrollWidth, wide: wide,
         tables: document.querySelectorAll("table").length})))));
    document.body.appendChild(out);
});
</script>"""


def test_report_fits_the_a4_page_when_printed(demo_out: Path, tmp_path: Path) -> None:
    """Printed, nothing is wider than the page (a wider table makes Chromium shrink every
    page of the PDF, charts and text included)."""
    result = open_in_chromium(
        demo_out / "report.html", tmp_path, harness=PRINT_WIDTH, window="703,1000"
    )
    assert result["tables"] >= 8
    assert 650 < result["width"] <= 703
    assert result["wide"] == [], result["wide"]
    assert result["scroll"] <= result["width"]


def test_maps_are_small_and_round_values(demo_out: Path) -> None:
    """Geometry written once: the flows map (five choropleths) is not five times the stocks
    map (two); tooltip values are rounded for reading (no 17-digit floats in the data)."""
    flows = (demo_out / "maps" / "carbon_flows.html").read_text(encoding="utf-8")
    stocks = (demo_out / "maps" / "carbon_stocks.html").read_text(encoding="utf-8")
    assert len(flows) < 2 * len(stocks)
    import re

    data = flows[flows.index("var geocarbon_zones") :]
    assert not re.search(r"\d\.\d{6,}", data[:200_000]), "unrounded values or coordinates"


# --------------------------------------------------------------------------------------------
# the maps speak the report's language (report.language): French for the demo, English on demand

#: What each map of the demo shows in English: choropleth names, in order, then overlay names.
EXPECTED_EN = {
    "carbon_stocks.html": ["Carbon density (tC/ha)", "Carbon stock (tC)"],
    "carbon_flows.html": [
        "Net flow (tCO2e/yr)",
        "Forest (tCO2e/yr)",
        "Agricultural soils (tCO2e/yr)",
        "Other soils (tCO2e/yr)",
        "Wood products (tCO2e/yr)",
        "Land-use change hot spots (stock change, tC/ha)",
    ],
    "rooftop_pv.html": [
        "Potential production (MWh/yr)",
        f"Buildings by rooftop PV energy ({MAP_MAX_BUILDINGS:,} largest producers)",
    ],
    "charging.html": [
        "Points per 100,000 inhabitants",
        "Charging points per commune",
        "Population by distance to a charging point",
    ],
}
#: The same in French (PCAET vocabulary).
EXPECTED_FR = {
    "carbon_stocks.html": EXPECTED["carbon_stocks.html"][0],
    "carbon_flows.html": [
        *EXPECTED["carbon_flows.html"][0],
        "Points chauds de changement d'usage des sols (tC/ha)",
    ],
    "rooftop_pv.html": [
        *EXPECTED["rooftop_pv.html"][0],
        "Bâtiments par production photovoltaïque"
        f" ({MAP_MAX_BUILDINGS:,} plus gros producteurs)".replace(",", "\u202f"),
    ],
    "charging.html": [
        *EXPECTED["charging.html"][0],
        "Population selon la distance au point de recharge",
    ],
}
#: Texts of one language that must not appear in a map of the other (page's own texts,
#: tooltip field names, overlay classes).
ONLY_EN = (
    "Background map",
    "no data</div>",
    "Net flow",
    "INSEE code",
    "Share covered",
    "within 1 km",
    "white zone",
    "loss over 50",
    "no potential",
    "Usable area",
)
ONLY_FR = (
    "Fond de carte",
    "pas de donnée",
    "Flux net",
    "Code INSEE",
    "Part couverte",
    "à moins de 1 km",
    "zone blanche",
    "perte de plus de 50",
    "sans potentiel",
    "Surface utilisable",
)


@pytest.fixture(scope="module")
def demo_out_en(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo with ``report.language: en`` (no PDF: only the maps are checked here)."""
    import yaml

    root = tmp_path_factory.mktemp("maps_browser_en")
    (root / "pipelines").mkdir()
    spec = yaml.safe_load((REPO / "pipelines" / "demo.yaml").read_text(encoding="utf-8"))
    spec["report"] = {**spec.get("report", {}), "language": "en", "pdf": False}
    (root / "pipelines" / "demo.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = CliRunner().invoke(
        main, ["-q", "demo", "--pipeline", str(root / "pipelines" / "demo.yaml")]
    )
    assert result.exit_code == 0, result.output
    return root / "outputs" / "demo"


def _shown_names(page: str) -> list[str]:
    """Legend titles of a page (choropleths then overlays), as a reader sees them."""
    import html
    import re

    return [
        html.unescape(t) for t in re.findall(r'class="geocarbon-legend"[^>]*><b>(.*?)</b>', page)
    ]


@pytest.mark.parametrize("name", MAP_NAMES)
def test_maps_speak_the_report_language(demo_out: Path, demo_out_en: Path, name: str) -> None:
    """Page source: legend titles, layer names, tooltip field names, overlay classes and the
    page's own notes are French in the French demo and English in the English one."""
    import re

    fr = (demo_out / "maps" / name).read_text(encoding="utf-8")
    en = (demo_out_en / "maps" / name).read_text(encoding="utf-8")
    assert '<html lang="fr">' in fr and '<html lang="en">' in en
    assert _shown_names(fr) == EXPECTED_FR[name]
    assert _shown_names(en) == EXPECTED_EN[name]
    assert 'geocarbonLocale = "fr-FR"' in fr and 'geocarbonLocale = "en-GB"' in en
    assert label("map_offline_note", "fr") in fr.replace("&#x27;", "'")
    assert label("map_offline_note", "en") in en
    # tooltip field names and notes: none of the other language (each map holds some of them)
    assert any(text in fr for text in ONLY_FR) and any(text in en for text in ONLY_EN)
    for text in ONLY_EN:
        assert text not in fr, f"{name} (fr): {text!r}"
    for text in ONLY_FR:
        assert text not in en, f"{name} (en): {text!r}"
    if name == "rooftop_pv.html":
        # roof forms are shown by their names, never their ids
        assert re.search(r'"roof_type":"Toit (plat|en pente)"', fr)
        assert re.search(r'"roof_type":"(Flat|Pitched) roof"', en)
        assert not re.search(r'"roof_type":"(flat|pitched|unknown)"', fr + en)


def test_tooltip_numbers_follow_the_language(
    demo_out: Path, demo_out_en: Path, tmp_path: Path
) -> None:
    """Hovering the stocks map's communes: French tooltips group thousands with a (narrow)
    space and use a decimal comma; English ones a comma and a decimal point."""
    import re

    texts = {}
    for lang, out in (("fr", demo_out), ("en", demo_out_en)):
        (tmp_path / lang).mkdir()
        result = open_in_chromium(out / "maps" / "carbon_stocks.html", tmp_path / lang)
        assert result["errors"] == [] and result["tooltips"], lang
        texts[lang] = "\n".join(d["text"] for d in result["tooltips"])
    assert "Densité de carbone (tC/ha)" in texts["fr"]
    assert "Carbon density (tC/ha)" in texts["en"]
    assert re.search(r"\d[\u202f\u00a0]\d{3}", texts["fr"]), "no French thousands separator"
    assert re.search(r"\)\d+,\d", texts["fr"]), "no French decimal comma"
    assert not re.search(r"\d\.\d", texts["fr"])
    assert re.search(r"\)\d{1,3},\d{3}", texts["en"]) and re.search(r"\d\.\d", texts["en"])
    assert not re.search(r"\d[\u202f\u00a0]\d", texts["en"])


# --------------------------------------------------------------------------------------------
# fixed classes: the buildings and population cells of the maps are drawn in QGIS alike


def _classed_overlay(page: str, column: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Features (properties) and class colours of the map's overlay classed by ``column``."""
    import json
    import re

    found = re.search(
        r'geocarbonClassed\((\{"type":"FeatureCollection".*?\}), '
        + re.escape(json.dumps(column))
        + r", (\{[^{}]*\}), ",
        page,
        re.DOTALL,
    )
    assert found is not None, f"no overlay classed by {column}"
    data = json.loads(found.group(1))
    return [f["properties"] for f in data["features"]], json.loads(found.group(2))


@pytest.mark.parametrize(
    ("map_name", "table", "column"),
    [
        ("rooftop_pv.html", "pv_buildings", "energy_class"),
        ("charging.html", "charging_access", "access"),
    ],
)
def test_fixed_classes_of_the_maps_are_the_geopackage_styles(
    demo_out: Path, map_name: str, table: str, column: str
) -> None:
    """The demo's GeoPackage style of the buildings (population cells) lists the classes and
    colours of the PV (charging) map's legend, in order, and gives each feature of the map
    the class the map draws it in."""
    import sqlite3
    import xml.etree.ElementTree as ET

    import pandas as pd

    from tests.test_qgis_outputs import _qgis_range, _qgis_value

    features, colours = _classed_overlay(
        (demo_out / "maps" / map_name).read_text(encoding="utf-8"), column
    )
    gpkg = demo_out / "geocarbon.gpkg"
    with sqlite3.connect(gpkg) as con:
        qml, name = con.execute(
            "SELECT styleQML, styleName FROM layer_styles WHERE f_table_name = ? AND useAsDefault",
            (table,),
        ).fetchone()
    renderer = ET.fromstring(qml.split("\n", 1)[1]).find("renderer-v2")
    assert renderer is not None and renderer.get("type") == "graduatedSymbol"
    ranges = renderer.findall("ranges/range")
    symbols = {s.get("name"): s for s in renderer.findall("symbols/symbol")}
    qgis = [
        (
            r.get("label"),
            "#{:02x}{:02x}{:02x}".format(
                *map(
                    int,
                    symbols[r.get("symbol")].find("layer/prop[@k='color']").get("v").split(",")[:3],
                )  # type: ignore[union-attr]
            ),
        )
        for r in ranges
    ]
    assert qgis == list(colours.items())
    assert name in (demo_out / "maps" / map_name).read_text(encoding="utf-8")
    layer = gpd.read_file(gpkg, layer=table)
    if table == "pv_buildings":
        # the map shows the largest producers: matched to the layer by building id
        rows = layer.set_index("building_id").loc[[f["building_id"] for f in features]]
    else:
        assert len(features) == len(layer)  # every cell, in the layer's order
        rows = layer
    got = [
        ranges[_qgis_range(_qgis_value(renderer.get("attr", ""), row), ranges)].get("label")
        for _, row in pd.DataFrame(rows).iterrows()
    ]
    assert got == [f[column] for f in features]
    assert len(set(got)) >= 2  # the demo exercises more than one class
