"""The report's charts read in the report's language, show long names whole within the A4
column, and report.pdf is the same bytes each time the same report is printed.

Hand-made frames; the expected texts are written out by hand. The PDF printed by headless
Chromium is skipped only when Chromium is missing and the ``CI`` environment variable is
unset (``.ci/run`` installs Chromium; in CI a missing browser fails these tests).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from geocarbon import report_charts as rc
from geocarbon.io.pdf import normalise_pdf, pdf_engine, print_pdf

#: 60 characters: longer than any wrapped line, as long as real EPCI names get.
LONG_NAME = "Communauté d'agglomération du Grand Cahors et Causses du Lot"
assert len(LONG_NAME) == 60

#: The A4 column of the printed report: 210 mm less 2 × 12 mm of margins, in points.
A4_COLUMN_PT = (210 - 2 * 12) / 25.4 * 72


def _texts(svg: str) -> list[str]:
    """The text elements of an inline SVG (matplotlib writes one per line of text)."""
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def _width_pt(svg: str) -> float:
    match = re.match(r'<svg width="([0-9.]+)pt"', svg)
    assert match, svg[:80]
    return float(match.group(1))


def _roofs() -> pd.DataFrame:
    return pd.DataFrame({"group": ["roof flat", "roof pitched"], "mwp": [1200.0, 0.5]})


def _two_epcis(name: str = LONG_NAME) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "level": ["epci", "epci"],
            "code": ["200000001", "200000002"],
            "name": [name, "CC Deux"],
            "forest": [1200.0, -300.0],
            "agricultural_soils": [0.5, -0.5],
            "other_soils": [0.0, 0.0],
            "wood_products": [0.0, 0.0],
            "total": [1200.5, -300.5],
        }
    )


# ----------------------------------------------------------------------------------------
# numbers in the report's language


def test_french_bar_labels_and_ticks() -> None:
    """1,200 MWp and 0.5 MWp: "1 200" and "0,5" in French (narrow no-break space, decimal
    comma), never "1200" nor "0.5"; x ticks every 200 up to 1 200."""
    texts = _texts(rc.pv_by_roof_form(_roofs(), "fr"))
    assert "1\u202f200" in texts and "0,5" in texts
    assert {"0", "200", "1\u202f000"} <= set(texts)
    numbers = [t for t in texts if re.fullmatch(r"[−\d\s\u202f.,]+", t)]
    assert numbers
    for t in numbers:
        assert not re.search(r"\d{4}", t), t  # no thousands without their separator
        assert "." not in t, t


def test_english_bar_labels_and_ticks() -> None:
    texts = _texts(rc.pv_by_roof_form(_roofs(), "en"))
    assert "1,200" in texts and "0.5" in texts and "1,000" in texts
    assert "0,5" not in texts and "1\u202f200" not in texts


def test_french_diverging_axis_minus_and_thousands() -> None:
    """Flows from −300.5 to 1,200.5 tCO2e/yr: ticks −200 … 1 200 in French."""
    texts = _texts(rc.flows_by_epci(_two_epcis(), "fr"))
    assert {"−200", "0", "1\u202f000", "1\u202f200"} <= set(texts)
    assert "1200" not in texts and "1000" not in texts and "-200" not in texts


def test_french_matrix_cells_and_colour_bar() -> None:
    """Cells 1,200 and 0.5 ha/yr; the colour bar's ticks in French too."""
    flows = pd.DataFrame(
        {
            "flow_kind": "landuse_change",
            "zone_code": ["1", "1"],
            "from_category": ["cropland", "grassland_herbaceous"],
            "to_category": ["artificial_sealed", "cropland"],
            "area_ha_per_yr": [1200.0, 0.5],
        }
    )
    texts = _texts(rc.landuse_change_matrix(flows, "fr"))
    assert "1\u202f200" in texts and "0,5" in texts
    assert "1\u202f000" in texts  # a colour bar tick (0 to 1 200 ha/yr, every 200)
    assert not [t for t in texts if re.fullmatch(r"\d{4,}", t)]


def test_french_population_axis_and_distances() -> None:
    ind = pd.DataFrame(
        {
            "level": ["territory"],
            "code": ["territory"],
            "name": ["t"],
            "ev_pop_share_within_500m": [0.25],
            "ev_pop_share_within_1.5km": [0.5],
        }
    )
    texts = _texts(
        rc.population_by_distance(
            ind,
            [(500.0, "ev_pop_share_within_500m"), (1500.0, "ev_pop_share_within_1.5km")],
            "fr",
        )
    )
    assert "≤ 500 m" in texts and "≤ 1,5 km" in texts
    assert {"0", "20", "100"} <= set(texts)


# ----------------------------------------------------------------------------------------
# charts laid out within their image


def _luc_flows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "flow_kind": "landuse_change",
            "zone_code": ["1", "1", "1"],
            "from_category": ["cropland", "grassland_herbaceous", "forest_broadleaf"],
            "to_category": ["artificial_sealed", "cropland", "artificial_grassy"],
            "area_ha_per_yr": [1200.0, 0.5, 3.0],
        }
    )


def _ranged_epcis() -> pd.DataFrame:
    """Two EPCIs with P5-P95 ranges: six legend entries, the widest legend of a chart."""
    rows = _two_epcis()
    return rows.assign(total_p5=rows["total"] * 0.8, total_p50=rows["total"],
                       total_p95=rows["total"] * 1.2)  # fmt: skip


def _keep_figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the SVG charts drawn from now on are saved from (kept, in order)."""
    figures: list[Any] = []
    save = rc._svg

    def kept(fig: Any, **kwargs: Any) -> str:
        figures.append(fig)
        return save(fig, **kwargs)

    monkeypatch.setattr(rc, "_svg", kept)
    return figures


@pytest.mark.parametrize(
    "draw",
    [
        lambda: rc.flows_by_epci(_ranged_epcis(), "fr"),
        lambda: rc.flows_by_epci(_two_epcis(), "en"),
        lambda: rc.landuse_change_matrix(_luc_flows(), "fr"),
        lambda: rc.pv_by_roof_form(_roofs(), "fr"),
        lambda: rc.stocks_by_category(
            pd.DataFrame(
                {
                    "category": ["forest_broadleaf", "artificial_grassy", "cropland", "total"],
                    "pool": ["soil", "live_biomass", "soil", "soil"],
                    "stock_tc": [3.2e7, 1.5e5, 7e6, 4e7],
                }
            ),
            "fr",
            ranges=pd.DataFrame(
                {"p5": [2.5e7], "p50": [3.2e7], "p95": [3.9e7]}, index=["forest_broadleaf"]
            ),
        ),
    ],
)
def test_chart_drawn_within_its_image_legend_below_the_axes(
    draw: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Everything a chart draws (tick labels, axis labels, legend, colour bar) lies within
    its image, at least one pixel from its edges; the legend lies below the axes and their
    labels, not over them; the image is the figure's size (7 inches at most)."""
    figures = _keep_figures(monkeypatch)
    svg = draw()
    (fig,) = figures
    renderer = rc._svg_renderer(fig)
    drawn = fig.get_tightbbox(renderer)  # inches
    width_in, height_in = fig.get_size_inches()
    assert _width_pt(svg) == pytest.approx(width_in * 72) and width_in <= rc.MAX_WIDTH_IN
    assert drawn.x0 > 0 and drawn.y0 > 0, drawn
    assert drawn.x1 < width_in and drawn.y1 < height_in, drawn
    ax = fig.axes[0]
    labelled = rc._box(ax, renderer)
    for legend in fig.legends:
        box = legend.get_window_extent(renderer)
        assert box.y1 < labelled.y0 and box.x0 > 0 and box.x1 < fig.bbox.width
    for other in fig.axes[1:]:  # the colour bar right of the axes and their labels
        assert rc._box(other, renderer).x0 > labelled.x1


def test_scenario_panels_within_the_image_apart_legend_below(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Three zones in two columns: every panel with its title and tick labels inside the
    image, no two panels' boxes overlapping, the legend below them all, the figure's y label
    left of them."""
    rows = pd.DataFrame(
        [
            {"scenario": s, "scenario_label": label, "code": code, "name": name, "year": year,
             "flow_tco2e_per_yr": flow * k, "target_tco2e_per_yr": None}
            for code, name, k in [("1", LONG_NAME, 1.0), ("2", "CC Deux", -3.0), ("3", "CA Trois", 50.0)]
            for s, label, flow in [("baseline", "Tendance observée", 1200.0),
                                   ("zan", "ZAN + 50 ha/an de boisement", 1500.0)]
            for year in (2018, 2030, 2050)
        ]
    )  # fmt: skip
    figures = _keep_figures(monkeypatch)
    svg = rc.scenario_trajectories(rows, "fr", columns=2)
    (fig,) = figures
    renderer = rc._svg_renderer(fig)
    drawn = fig.get_tightbbox(renderer)  # inches
    width_in, height_in = fig.get_size_inches()
    assert _width_pt(svg) == pytest.approx(width_in * 72)
    assert drawn.x0 > 0 and drawn.y0 > 0 and drawn.x1 < width_in and drawn.y1 < height_in
    boxes = [rc._box(ax, renderer) for ax in fig.axes if ax.get_visible()]
    assert len(boxes) == 3
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    (legend,) = fig.legends
    assert legend.get_window_extent(renderer).y1 < min(b.y0 for b in boxes)
    assert fig.get_supylabel() and max(t.get_window_extent(renderer).x1 for t in fig.texts) < min(
        b.x0 for b in boxes
    )


# ----------------------------------------------------------------------------------------
# long names whole, within the A4 column


def _whole(name: str, texts: list[str]) -> bool:
    """``name`` written over consecutive text lines (wrapped, not cut)."""
    for i in range(len(texts)):
        for j in range(i + 1, len(texts) + 1):
            if " ".join(texts[i:j]) == name:
                return j - i > 1 and all(len(t) <= rc.WRAP_CHARS for t in texts[i:j])
    return False


def test_long_epci_name_wrapped_whole_in_flows_chart() -> None:
    svg = rc.flows_by_epci(_two_epcis(), "fr")
    assert _whole(LONG_NAME, _texts(svg))
    assert _width_pt(svg) <= A4_COLUMN_PT


def test_long_commune_name_wrapped_whole_in_pv_chart() -> None:
    levels = pd.DataFrame(
        {
            "level": ["commune", "commune"],
            "code": ["46042", "46102"],
            "name": [LONG_NAME, "Cahors"],
            "pv_mwp": [3.5, 12.0],
        }
    )
    svg = rc.pv_by_commune(levels, "fr")
    texts = _texts(svg)
    assert _whole(LONG_NAME, texts) and "Cahors" in texts
    assert _width_pt(svg) <= A4_COLUMN_PT


def test_same_names_are_two_bars() -> None:
    """Two communes of the same name are two bars, not one (names are labels, not keys)."""
    levels = pd.DataFrame(
        {
            "level": ["commune", "commune"],
            "code": ["17001", "46001"],
            "name": ["Saint-Martin", "Saint-Martin"],
            "pv_mwp": [1.0, 2.0],
        }
    )
    assert _texts(rc.pv_by_commune(levels, "fr")).count("Saint-Martin") == 2


def test_long_epci_name_whole_in_population_legend() -> None:
    ind = pd.DataFrame(
        {
            "level": ["territory", "epci", "epci"],
            "code": ["territory", "200000001", "200000002"],
            "name": ["t", LONG_NAME, "CC Deux"],
            "ev_pop_share_within_5km": [0.9, 0.8, 1.0],
        }
    )
    svg = rc.population_by_distance(ind, [(5000.0, "ev_pop_share_within_5km")], "fr")
    texts = _texts(svg)
    assert _whole(LONG_NAME, texts) and "CC Deux" in texts and "Territoire" in texts
    assert _width_pt(svg) <= A4_COLUMN_PT


# ----------------------------------------------------------------------------------------
# report.pdf: the same bytes each print


def _tiny_pdf(date: bytes, file_id: bytes = b"", uri: bytes = b"maps/a.html") -> bytes:
    """A one-page PDF with a link, an information dictionary and a valid cross-reference
    table."""
    objs = [
        b"<</Type /Catalog /Pages 2 0 R>>",
        b"<</Type /Pages /Kids [3 0 R] /Count 1>>",
        b"<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [5 0 R]>>",
        b"<</Producer (hand) /CreationDate (" + date + b") /ModDate (" + date + b")>>",
        b"<</Type /Annot /Subtype /Link /A <</S /URI /URI (" + uri + b")>>>>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for k, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % k + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 6\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size 6 /Root 1 0 R /Info 4 0 R" + file_id + b">>\n"
    return out + b"startxref\n%d\n%%%%EOF\n" % xref


def assert_pdf_structure(data: bytes) -> None:
    """``%PDF-`` header, ``%%EOF``, startxref at the table, each entry at its object."""
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    assert data[start : start + 4] == b"xref", data[start : start + 20]
    table = re.match(rb"xref\s+(\d+) (\d+)\s+", data[start:])
    assert table
    first, count = int(table.group(1)), int(table.group(2))
    entries = re.findall(rb"(\d{10}) (\d{5}) ([nf])", data[start + table.end() :])[:count]
    assert len(entries) == count
    for k, (offset, _gen, kind) in enumerate(entries, start=first):
        if kind == b"n":
            at = data[int(offset) :]
            assert at.startswith(b"%d 0 obj" % k), (k, at[:20])


def test_normalise_pdf_dates_and_id() -> None:
    day = dt.date(2024, 3, 5)
    one = _tiny_pdf(b"D:20261202055950+00'00'", b" /ID [<0A1B2C><0A1B2C>]")
    two = _tiny_pdf(b"D:20270101101010+00'00'", b" /ID [<FFFFFF><EEEEEE>]")
    assert_pdf_structure(one)
    a, b = normalise_pdf(one, day), normalise_pdf(two, day)
    assert a == b and len(a) == len(one)
    assert a.count(b"(D:20240305000000+00'00')") == 2
    assert b"0A1B2C" not in a and b"FFFFFF" not in a
    assert re.search(rb"/ID \[<([0-9A-F]{6})><\1>\]", a)
    assert_pdf_structure(a)
    # a shorter date: the full form, the objects after it moved and the table rewritten
    short = normalise_pdf(_tiny_pdf(b"D:20261202"), day)
    assert short.count(b"(D:20240305000000+00'00')") == 2
    assert len(short) == len(_tiny_pdf(b"D:20261202")) + 2 * 13
    assert_pdf_structure(short)
    # no date given: 1 January 1970, still the same bytes each time
    assert b"(D:19700101000000+00'00')" in normalise_pdf(one)


def test_normalise_pdf_links_relative_whatever_the_folder(tmp_path: Path) -> None:
    """Links to the maps printed from two folders of different lengths: the same bytes,
    relative links, no local path."""
    near_base = (tmp_path / "o" / ".demo.tmp-ab12").as_uri().encode() + b"/"
    far_base = (tmp_path / "srv" / "x" / "out" / "y" / ".t-1").as_uri().encode() + b"/"
    near = _tiny_pdf(b"D:20261202055950Z", uri=near_base + b"maps/a.html")
    far = _tiny_pdf(b"D:20261202055951Z", uri=far_base + b"maps/a.html")
    a = normalise_pdf(near, dt.date(2024, 3, 5), base=near_base.decode())
    b = normalise_pdf(far, dt.date(2024, 3, 5), base=far_base.decode())
    assert a == b
    assert b"/URI (maps/a.html)>>" in a and b"file:" not in a
    assert_pdf_structure(a)
    # a link outside the printed folder is left as it is
    other = normalise_pdf(far, None, base=(tmp_path / "o").as_uri() + "/")
    assert b"/URI (" + far_base + b"maps/a.html)" in other
    assert_pdf_structure(other)


def test_normalise_pdf_without_table_keeps_length(tmp_path: Path) -> None:
    """No classic cross-reference table where startxref points (an xref stream): every
    replacement fills the place of what it replaces."""
    base = (tmp_path / "o").as_uri().encode() + b"/"
    pdf = _tiny_pdf(b"D:20261202", uri=base + b"maps/a.html")
    pdf = re.sub(rb"startxref\n\d+", b"startxref\n9", pdf)
    out = normalise_pdf(pdf, dt.date(2024, 3, 5), base=base.decode())
    assert len(out) == len(pdf)
    assert b"/CreationDate (D:20240305) /ModDate" in out
    assert b"/URI (maps/a.html)" + b" " * len(base) + b">>" in out


CHROMIUM = pdf_engine()
if CHROMIUM is None and os.environ.get("CI"):
    msg = "headless Chromium is required in CI (.ci/run installs it: apt chromium)"
    raise RuntimeError(msg)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed")
def test_two_prints_are_the_same_bytes(tmp_path: Path) -> None:
    """The same page printed twice, from two folders (as two runs do: each prints in its
    own temporary folder): the same bytes, links to the maps relative."""
    assert CHROMIUM is not None
    svg = rc.pv_by_roof_form(_roofs(), "fr")
    html = (
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>Rapport</title>"
        "<style>@page{size:A4;margin:15mm 12mm}</style></head>"
        "<body><h1>Rapport</h1><p>1\u202f200 MWc, <a href='maps/carbon_stocks.html'>carte</a>"
        f"</p><figure>{svg}</figure></body></html>"
    )
    day = dt.date(2024, 3, 5)
    pdfs = []
    for folder in ("a", "a-longer-folder-name"):
        (tmp_path / folder).mkdir()
        page = tmp_path / folder / "report.html"
        page.write_text(html, encoding="utf-8")
        assert print_pdf(CHROMIUM, page, tmp_path / folder / "report.pdf", date=day) == ""
        pdfs.append((tmp_path / folder / "report.pdf").read_bytes())
    a, b = pdfs
    assert a == b
    assert_pdf_structure(a)
    assert b"/URI (maps/carbon_stocks.html)" in a
    assert b"file:" not in a and str(tmp_path).encode() not in a
    for key in (b"/CreationDate", b"/ModDate"):
        dates = re.findall(re.escape(key) + rb"\s*\(([^)]*)\)", a)
        assert dates == [b"D:20240305000000+00'00'"], dates


# ----------------------------------------------------------------------------------------
# static maps


def test_polygon_paths_are_each_polygon_with_its_holes() -> None:
    """One path per polygon (a multipolygon's parts apart), exterior then holes, each ring a
    sub-path: the path of each polygon drawn alone, ring by ring."""
    import numpy as np
    import shapely
    from matplotlib.path import Path as MplPath

    square = shapely.box(0, 0, 10, 10)
    holed = square.difference(shapely.box(2, 2, 4, 4)).difference(shapely.box(6, 6, 8, 8))
    parts = shapely.MultiPolygon([shapely.box(20, 0, 21, 1), shapely.box(30, 0, 31, 1)])
    geometry = np.array([holed, None, shapely.Polygon(), parts, square], dtype=object)
    plain = [
        MplPath.make_compound_path(
            MplPath(np.asarray(p.exterior.coords)),
            *[MplPath(np.asarray(r.coords)) for r in p.interiors],
        )
        for p in (holed, *parts.geoms, square)
    ]
    paths = rc._polygon_paths(geometry)
    assert len(paths) == len(plain) == 4
    for path, expected in zip(paths, plain, strict=True):
        np.testing.assert_array_equal(path.vertices, expected.vertices)
        np.testing.assert_array_equal(path.codes, expected.codes)
    assert rc._polygon_paths(np.array([None], dtype=object)) == []


def test_map_classes_drawn_one_collection_per_class() -> None:
    """Each class (and "no data") is one collection of its polygons, in its colour."""
    import numpy as np
    import shapely
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    geometry = np.array([shapely.box(i, 0, i + 1, 1) for i in range(5)], dtype=object)
    fig = Figure()
    ax = fig.subplots()
    rc._draw_classes(ax, geometry, np.array([0, 1, 0, -1, 2]), ["#111111", "#222222", "#333333"])
    drawn = [(to_hex(c.get_facecolor()[0]), len(c.get_paths())) for c in ax.collections]
    assert drawn == [("#111111", 2), ("#222222", 1), ("#333333", 1), (rc.NO_DATA_COLOR, 1)]


def test_report_charts_do_not_import_pyplot() -> None:
    """Charts and static maps are drawn on bare figures: pyplot (its import alone costs more
    than drawing a chart) is never imported."""
    import subprocess
    import sys

    code = (
        "import sys, geopandas as gpd, pandas as pd, shapely\n"
        "from geocarbon import report_charts as rc\n"
        "boxes = [shapely.box(i * 1000.0, 0, i * 1000.0 + 900, 900) for i in range(3)]\n"
        "geo = gpd.GeoDataFrame({'v': [1.0, 2.0, None], 'epci_code': ['1', '1', '2']},\n"
        "                       geometry=boxes, crs='EPSG:2154')\n"
        "assert rc.theme_map(geo, 'v', 'v', outline=geo.dissolve('epci_code')).startswith('data:')\n"
        "roofs = pd.DataFrame({'group': ['roof flat'], 'mwp': [1.0]})\n"
        "assert rc.pv_by_roof_form(roofs).startswith('<svg')\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("lo", "hi", "language"),
    [(-300.5, 1200.5, "fr"), (0.0, 1.6, "fr"), (-0.003, 0.004, "en"), (0.0, 2.5e6, "en")],
)
def test_tick_labels_of_an_axis_at_once_are_those_of_each_tick(
    lo: float, hi: float, language: str
) -> None:
    """The labels of all the ticks of an axis, their decimals found once, are each tick's
    label found alone."""
    from matplotlib.figure import Figure

    ax = Figure().subplots()
    ax.set_xlim(lo, hi)
    rc._number_axis(ax.xaxis, language)  # type: ignore[arg-type]
    formatter = ax.xaxis.get_major_formatter()
    ticks = ax.xaxis.get_majorticklocs()
    labels = formatter.format_ticks(ticks)
    assert labels == [formatter(t, k) for k, t in enumerate(ticks)]
    assert len(set(labels)) == len(labels)
