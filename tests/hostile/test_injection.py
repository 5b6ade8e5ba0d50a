"""Injection: text from input files (commune and EPCI names, building ids and usages, charging
point, station and operator ids and names) never runs as script in the maps or the report.

A small territory (four communes of the demo generator) whose every text field is a script
payload goes through a run (carbon stocks and flows, rooftop PV, charging); then every map and
the report are opened in headless Chromium with no network. A harness script, added to a copy
of each page, shows every layer, dispatches mouse events on every feature's element (hover for
tooltips, click for popups), records each tooltip's and popup's text and finally writes what it
saw into the page, which Chromium dumps. The test asserts that Leaflet ran (from the page
itself, offline), that one tooltip or popup opened per feature embedded in the page, that the
payloads are shown as text, and that no payload ran (no flag set, no alert, no element created).

A control page built with Folium's own tooltip (which sets ``innerHTML``) proves that the
harness sees a payload that runs. Skipped only when Chromium is not installed (``.ci/run``
installs it).
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pytest
import yaml
from shapely.geometry import Point

from geocarbon.demo import DEMO_CRS, make_demo_territory, make_demo_weather
from geocarbon.io.pdf import OFFLINE_FLAGS
from geocarbon.io.weather import write_epw
from geocarbon.io.writers import write_csv, write_geotiff, write_vector

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium not installed (.ci/run installs it: apt chromium)"
)


def chromium_required_in_ci() -> pytest.MarkDecorator:
    """The mark of a module of browser tests: skipped when Chromium is missing, except in CI
    (the ``CI`` environment variable set), where a missing browser is an error."""
    if CHROMIUM is None and os.environ.get("CI"):
        msg = "headless Chromium is required in CI (.ci/run installs it: apt chromium)"
        raise RuntimeError(msg)
    return needs_chromium

#: Each payload, if it ran, would set ``window.__pwned``, call ``alert`` or create an element.
PAYLOADS = [
    '"><img src=x onerror=alert(1)>',
    "</script><script>window.__pwned=2</script>",
    "<svg onload=window.__pwned=3>",
    "<img src=x onerror=window.__pwned=4>",
    "'-alert(5)-'\"-alert(6)-\"",
    "${window.__pwned=7}`+alert(8)+`",
    '<iframe srcdoc="<script>parent.__pwned=9</script>"></iframe>',
    "{{ 7*7 }}<b onmouseover=window.__pwned=10>bold</b>",
]

HARNESS = r"""<script>
(function () {
    "use strict";
    window.__alerts = [];
    window.alert = window.confirm = window.prompt = function (m) {
        window.__alerts.push(String(m));
    };
    var errors = [];
    window.addEventListener("error", function (e) { errors.push(String(e.message)); });

    function centre(el) {
        var r = el.getBoundingClientRect();
        return {clientX: r.left + r.width / 2, clientY: r.top + r.height / 2};
    }
    function fire(el, type) {
        var c = centre(el);
        el.dispatchEvent(new MouseEvent(type, {
            bubbles: true, cancelable: true, view: window, clientX: c.clientX, clientY: c.clientY
        }));
    }
    function describe(el) {
        return {
            text: el.textContent,
            elements: el.querySelectorAll("img, svg, iframe, script, b, [onerror], [onload]").length
        };
    }
    function run() {
        var out = {leaflet: typeof window.L !== "undefined" ? window.L.version : null,
                   maps: 0, features: 0, tooltips: [], popups: [], missing: [],
                   errors: errors};
        if (out.leaflet) {
            var maps = [], geojsons = [], clusters = [], groups = [];
            Object.keys(window).forEach(function (k) {
                var v;
                try { v = window[k]; } catch (e) { return; }
                if (!v || typeof v !== "object") { return; }
                if (v instanceof L.Map) { maps.push(v); }
                else if (L.MarkerClusterGroup && v instanceof L.MarkerClusterGroup) { clusters.push(v); }
                else if (v instanceof L.GeoJSON) { geojsons.push(v); }
                else if (v instanceof L.FeatureGroup) { groups.push(v); }
            });
            out.maps = maps.length;
            var map = maps[0];
            // closed tooltips and popups leave the DOM at once (not after a fade-out)
            map._fadeAnimated = false;
            // every layer shown (also those switched off at opening)
            groups.concat(geojsons).forEach(function (g) { if (!map.hasLayer(g)) { map.addLayer(g); } });
            geojsons.forEach(function (g) {
                g.eachLayer(function (layer) {
                    out.features += 1;
                    var el = layer.getElement && layer.getElement();
                    if (!el) { out.missing.push("no element"); return; }
                    fire(el, "mouseover");
                    var open = document.querySelectorAll(".leaflet-tooltip");
                    if (open.length !== 1) { out.missing.push("tooltips open: " + open.length); }
                    else { out.tooltips.push(describe(open[0])); }
                    fire(el, "mouseout");
                });
            });
            // markers out of their clusters, so that each has its own element
            clusters.forEach(function (cluster) {
                var markers = cluster.getLayers();
                map.removeLayer(cluster);
                markers.forEach(function (marker) {
                    out.features += 1;
                    marker.addTo(map);
                    var el = marker.getElement && marker.getElement();
                    if (!el) { out.missing.push("no marker element"); return; }
                    fire(el, "click");
                    var open = document.querySelectorAll(".leaflet-popup-content");
                    if (open.length !== 1) { out.missing.push("popups open: " + open.length); }
                    else { out.popups.push(describe(open[0])); }
                    map.closePopup();
                });
            });
        }
        // let late handlers (image errors, frames, timers) run before reading the flags
        setTimeout(function () {
            out.pwned = window.__pwned === undefined ? null : String(window.__pwned);
            out.alerts = window.__alerts;
            out.injected = document.querySelectorAll(
                "img[src='x'], iframe, svg[onload], [onerror], b[onmouseover]").length;
            out.body_text = document.body ? document.body.innerText : "";
            var div = document.createElement("div");
            div.id = "geocarbon-harness";
            div.setAttribute("data-result",
                btoa(unescape(encodeURIComponent(JSON.stringify(out)))));
            document.body.appendChild(div);
        }, 2000);
    }
    window.addEventListener("load", function () { setTimeout(run, 200); });
})();
</script>
"""


def open_in_chromium(
    page: Path, work: Path, harness: str = HARNESS, window: str = "1200,800"
) -> dict[str, Any]:
    """Open a copy of ``page`` (``harness`` added first in its head) in headless Chromium with
    no network, in a window of ``window`` CSS pixels ("width,height"); return what the harness
    recorded (a ``geocarbon-harness`` element)."""
    text = page.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", text, re.IGNORECASE)
    assert head is not None, f"{page.name}: no <head>"
    copy = work / f"harness_{page.name}"
    copy.write_text(text[: head.end()] + harness + text[head.end() :], encoding="utf-8")
    profile = work / f"profile_{page.stem}"
    assert CHROMIUM is not None
    cmd = [
        CHROMIUM,
        *OFFLINE_FLAGS,  # no network
        f"--user-data-dir={profile}",
        f"--window-size={window}",
        "--virtual-time-budget=60000",
        "--dump-dom",
        copy.resolve().as_uri(),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    found = re.search(r'id="geocarbon-harness" data-result="([^"]*)"', done.stdout)
    assert found, (
        f"{page.name}: the harness wrote no result (exit {done.returncode})\n{done.stderr[-2000:]}"
    )
    return json.loads(base64.b64decode(found.group(1)).decode("utf-8"))


def embedded_features(page: Path) -> int:
    """Features embedded in a map page as JSON (``"type": "Feature"`` once per feature; a
    payload's quotes are escaped, so it cannot add one). The communes are embedded once and
    shared by every choropleth layer."""
    return len(re.findall(r'"type":\s?"Feature"', page.read_text(encoding="utf-8")))


def assert_safe(result: dict[str, Any], name: str) -> None:
    assert result["pwned"] is None, f"{name}: a payload ran (window.__pwned={result['pwned']})"
    assert result["alerts"] == [], f"{name}: a payload called alert: {result['alerts']}"
    assert result["injected"] == 0, f"{name}: payload markup became elements"


# --------------------------------------------------------------------------------------------
# a hostile territory


def _label(k: int, what: str) -> str:
    return f"{PAYLOADS[k % len(PAYLOADS)]} {what}"


def write_hostile_territory(folder: Path) -> dict[str, Any]:
    """Four communes of the demo territory (three EPCIs) whose names, EPCI names, building ids
    and usages, charging point and station ids, station and operator names are payloads."""
    folder.mkdir(parents=True)
    t = make_demo_territory()
    picked = t.communes.sort_values("population", ascending=False, kind="stable").head(4)
    communes = picked.reset_index(drop=True).copy()
    communes["nom"] = [_label(k, f"commune {k}") for k in range(len(communes))]
    epcis = sorted(communes["epci"].unique())
    epci_names = {code: _label(k + 4, f"EPCI {k}") for k, code in enumerate(epcis)}
    communes["epci_nom"] = communes["epci"].map(epci_names)
    write_vector(folder / "communes.gpkg", communes, layer="communes")

    inside = gpd.sjoin(
        t.buildings, communes[["insee", "geometry"]], predicate="within", how="inner"
    )
    buildings = inside.groupby("insee", sort=True).head(3).drop(columns=["index_right", "insee"])
    buildings = buildings.reset_index(drop=True)
    buildings["id"] = [_label(k, f"building {k}") for k in range(len(buildings))]
    buildings["usage_1"] = [_label(k + 2, f"usage {k}") for k in range(len(buildings))]
    write_vector(folder / "buildings.gpkg", buildings, layer="batiment")

    points = t.charging[t.charging["code_insee_commune"].isin(communes["insee"])].copy()
    points = points.drop_duplicates("id_pdc_itinerance").reset_index(drop=True)
    stations = {
        s: _label(k + 1, f"station {k}")
        for k, s in enumerate(points["id_station_itinerance"].unique())
    }
    points["id_station_itinerance"] = points["id_station_itinerance"].map(stations)
    points["id_pdc_itinerance"] = [_label(k + 3, f"point {k}") for k in range(len(points))]
    points["nom_station"] = [_label(k + 5, f"station name {k}") for k in range(len(points))]
    points["nom_operateur"] = [_label(k + 6, f"operator {k}") for k in range(len(points))]
    write_csv(folder / "irve.csv", points)

    write_geotiff(
        folder / "population.tif",
        t.population,
        crs="EPSG:3035",
        transform=t.population_transform,
        nodata=float("nan"),
    )
    for name, array in (("lc2018.tif", t.landcover), ("lc2012.tif", t.landcover_before)):
        write_geotiff(folder / name, array, crs=DEMO_CRS, transform=t.landcover_transform, nodata=0)
    centre = communes.to_crs("EPSG:4326").union_all().centroid
    write_epw(
        folder / "weather.epw",
        make_demo_weather(centre.y, centre.x),
        latitude=centre.y,
        longitude=centre.x,
        altitude=150.0,
        tz_hours=1.0,
        name="hostile territory",
    )
    return {
        "communes": list(communes["nom"]),
        "epcis": list(epci_names.values()),
        "buildings": list(buildings["id"]),
        "usages": list(buildings["usage_1"]),
        "points": list(points["id_pdc_itinerance"]),
        "stations": list(stations.values()),
    }


def write_hostile_pipeline(folder: Path, data: Path) -> Path:
    spec = {
        "name": "hostile",
        "description": "every text field of the inputs is a script payload",
        "output_dir": str(folder / "out"),
        "communes": {
            "path": str(data / "communes.gpkg"),
            "code_field": "insee",
            "name_field": "nom",
            "epci_field": "epci",
            "epci_name_field": "epci_nom",
            "population_field": "population",
        },
        "landcover": {"path": str(data / "lc2018.tif"), "year": 2018, "nomenclature": "clc"},
        "carbon": {"coefficients": "generic"},
        "flows": {
            "start_year": 2012,
            "end_year": 2018,
            "landcover_before": str(data / "lc2012.tif"),
        },
        "pv": {
            "buildings": {"path": str(data / "buildings.gpkg"), "id_field": "id"},
            "weather": {"path": str(data / "weather.epw")},
        },
        "charging": {
            "points": {"path": str(data / "irve.csv")},
            "population_raster": str(data / "population.tif"),
        },
        "maps": {"simplify_m": 10},
    }
    path = folder / "hostile.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Path]:
    root = tmp_path_factory.mktemp("injection")
    texts = write_hostile_territory(root / "data")
    pipeline = write_hostile_pipeline(root, root / "data")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run(
        [sys.executable, "-m", "geocarbon.cli", "run", str(pipeline)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    work = root / "browser"
    work.mkdir()
    return root / "out", texts, work


#: Per map: which input texts its tooltips or popups must show, and how many choropleth
#: layers repeat the communes.
MAPS = {
    "carbon_stocks.html": (("communes", "epcis"), 2),
    "carbon_flows.html": (("communes", "epcis"), 5),
    "rooftop_pv.html": (("communes", "epcis", "buildings", "usages"), 1),
    "charging.html": (("communes", "epcis", "points", "stations"), 2),
}


@needs_chromium
@pytest.mark.parametrize("name", sorted(MAPS))
def test_map_shows_hostile_text_as_text(
    hostile_run: tuple[Path, dict[str, Any], Path], name: str
) -> None:
    out, texts, work = hostile_run
    page = out / "maps" / name
    html = page.read_text(encoding="utf-8")
    # offline: no script or style is fetched from the network
    assert not re.search(r"<script[^>]+src=|<link[^>]+stylesheet", html, re.IGNORECASE)
    result = open_in_chromium(page, work)

    assert result["leaflet"] == "1.9.4", f"{name}: Leaflet did not load offline: {result['errors']}"
    assert result["maps"] == 1
    assert result["missing"] == [], result["missing"][:5]
    assert_safe(result, name)
    # one tooltip (polygons) or popup (points) per feature drawn: every feature embedded in
    # the page, the communes once per choropleth layer (their geometry is shared)
    details = result["tooltips"] + result["popups"]
    fields, n_layers = MAPS[name]
    communes = texts["communes"]
    drawn = embedded_features(page) + len(communes) * (n_layers - 1)
    assert result["features"] == drawn == len(details) > 0
    assert all(d["elements"] == 0 for d in details), "markup in a tooltip or popup"
    commune_tips = [d for d in result["tooltips"] if any(c in d["text"] for c in communes)]
    assert len(commune_tips) == len(communes) * n_layers
    shown = "\n".join(d["text"] for d in details)
    for field in fields:
        for text in texts[field]:
            assert text in shown, f"{name}: {text!r} ({field}) not shown as text"
    if name == "charging.html":
        assert len(result["popups"]) == len(texts["points"])
        # the layer control names the layer (in the report's language, French by default)
        assert "Points de recharge" in result["body_text"]


@needs_chromium
def test_report_shows_hostile_text_as_text(
    hostile_run: tuple[Path, dict[str, Any], Path],
) -> None:
    out, texts, work = hostile_run
    result = open_in_chromium(out / "report.html", work)
    assert_safe(result, "report.html")
    for text in texts["epcis"]:
        assert text in result["body_text"], f"report: EPCI name {text!r} not shown as text"


@needs_chromium
def test_harness_sees_a_payload_that_runs(tmp_path: Path) -> None:
    """Control: Folium's own GeoJSON tooltip sets innerHTML, so the same payloads run there;
    the harness must report it (else the tests above could pass without proving anything)."""
    from geocarbon.maps import _offline_assets

    frame = gpd.GeoDataFrame(
        {"name": PAYLOADS[:4]},
        geometry=gpd.points_from_xy(np.arange(4) * 0.01, np.zeros(4)).buffer(0.004),
        crs="EPSG:4326",
    )
    fmap = folium.Map(tiles=None)
    fmap.fit_bounds([[-0.01, -0.01], [0.01, 0.04]])
    folium.GeoJson(frame.__geo_interface__, tooltip=folium.GeoJsonTooltip(fields=["name"])).add_to(
        fmap
    )
    _offline_assets(fmap)
    page = tmp_path / "unsafe.html"
    page.write_text(fmap.get_root().render(), encoding="utf-8")
    result = open_in_chromium(page, tmp_path)
    assert result["leaflet"] == "1.9.4"
    assert result["features"] == len(result["tooltips"]) == 4
    assert result["pwned"] is not None and result["alerts"]
    assert all(d["elements"] > 0 for d in result["tooltips"])  # markup became elements


@needs_chromium
def test_points_layer_popups_are_text(tmp_path: Path) -> None:
    """The points layer alone (a map with a payload as every popup value)."""
    from geocarbon.maps import ChoroplethLayer, PointsLayer, choropleth_map

    communes = gpd.GeoDataFrame(
        {"commune_name": [PAYLOADS[0]], "commune_code": ["46001"], "value": [1.0]},
        geometry=[Point(1.44, 44.45).buffer(0.02)],
        crs="EPSG:4326",
    )
    points = gpd.GeoDataFrame(
        {"label": PAYLOADS, "radius": np.full(len(PAYLOADS), 6.0)},
        geometry=gpd.points_from_xy(
            1.44 + np.arange(len(PAYLOADS)) * 1e-3, np.full(len(PAYLOADS), 44.45)
        ),
        crs="EPSG:4326",
    )
    page_text = choropleth_map(
        communes,
        [ChoroplethLayer("value", "Value")],
        title=PAYLOADS[1],
        tooltip_fields=[("commune_name", "Commune")],
        simplify_m=0,
        extra=PointsLayer(points, [("label", "Label")], name="Points", radius_column="radius"),
    )
    page = tmp_path / "points.html"
    page.write_text(page_text, encoding="utf-8")
    result = open_in_chromium(page, tmp_path)
    assert result["leaflet"] == "1.9.4"
    assert_safe(result, "points.html")
    assert len(result["popups"]) == len(PAYLOADS)
    assert sorted(d["text"] for d in result["popups"]) == sorted(f"Label{p}" for p in PAYLOADS)
    assert result["tooltips"][0]["text"] == f"Commune{PAYLOADS[0]}"
    assert PAYLOADS[1] in result["body_text"]  # the title, as text


def test_maps_inline_the_shipped_libraries_only() -> None:
    """Unit check of the page builder: Leaflet inlined, no CDN link, no jQuery/Bootstrap."""
    from geocarbon.maps import ChoroplethLayer, choropleth_map

    frame = gpd.GeoDataFrame(
        {"commune_name": ["a"], "commune_code": ["46001"], "value": [1.0]},
        geometry=[Point(1.44, 44.45).buffer(0.02)],
        crs="EPSG:4326",
    )
    page = choropleth_map(
        frame,
        [ChoroplethLayer("value", "Value")],
        title="t",
        tooltip_fields=[("commune_name", "Commune")],
        simplify_m=0,
    )
    assert "Leaflet 1.9.4" in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+stylesheet", page, re.IGNORECASE)
    for absent in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "markercluster"):
        assert absent not in page.lower(), absent
    assert page == choropleth_map(
        frame,
        [ChoroplethLayer("value", "Value")],
        title="t",
        tooltip_fields=[("commune_name", "Commune")],
        simplify_m=0,
    )


def test_input_text_is_not_a_template() -> None:
    """Branca renders each element's output again as a Jinja template: a commune name holding
    ``{{ ... }}`` or ``{% ... %}`` must stay text (else it is evaluated, and could run Python).
    A name of 32 hex digits (like Folium's random element ids, made sequential) is kept too."""
    from geocarbon.maps import ChoroplethLayer, choropleth_map

    names = [
        "{{ 7*7 }}",
        "{% for x in range(3) %}x{% endfor %}",
        "{# c #}{{ cycler.__init__ }}",
        "0123456789abcdef0123456789abcdef",
    ]
    frame = gpd.GeoDataFrame(
        {"commune_name": names, "commune_code": ["1", "2", "3", "4"], "value": [1.0, 2, 3, 4]},
        geometry=gpd.points_from_xy([0.0, 0.1, 0.2, 0.3], [0.0] * 4).buffer(0.01),
        crs="EPSG:4326",
    )
    page = choropleth_map(
        frame,
        [ChoroplethLayer("value", "Value")],
        title="{{ 6*7 }}",
        tooltip_fields=[("commune_name", "Commune")],
        simplify_m=0,
    )
    for name in names:
        assert json.dumps(name) in page
    assert "<b>{{ 6*7 }}</b>" in page
