"""Notices, exclusion reasons and QA flags in the report's language (French and English)."""

from __future__ import annotations

import ast
import html
import json
import re
import string
from pathlib import Path

import pytest

from geocarbon.labels import EXCLUSION_REASONS, QA_FLAGS, flags_label, reason_label
from geocarbon.notice_texts import FRENCH, french_message, french_number, notice_text
from geocarbon.notices import Notice
from tests.conftest import REPO

#: Facts a template uses that the catalogue derives from other facts of the notice.
DERIVED = {"lost": "lost_kwp", "limit": "ceiling_per_cell"}


def _notice_calls() -> list[tuple[str, int, str, ast.Call]]:
    """Every ``Notice(...)`` call of the package: (file, line, code, call)."""
    found = []
    for path in sorted((REPO / "geocarbon").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Notice"):
                continue
            code = node.args[0] if node.args else None
            for kw in node.keywords:
                if kw.arg == "code":
                    code = kw.value
            where = f"{path.relative_to(REPO)}:{node.lineno}"
            assert isinstance(code, ast.Constant) and isinstance(code.value, str), (
                f"{where}: a notice code must be a literal string (the catalogue is keyed by it)"
            )
            found.append((where, node.lineno, code.value, node))
    return found


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_source_scan_finds_the_notices() -> None:
    codes = {code for _, _, code, _ in _notice_calls()}
    # a few codes from different modules: the scan would pass vacuously if it found none
    assert {"buildings_excluded", "charging_qa", "territory_selection", "harvest_scenario"} <= codes
    assert len(codes) >= 50


def test_every_notice_code_has_a_french_text() -> None:
    missing = sorted({f"{w} {code}" for w, _, code, _ in _notice_calls() if code not in FRENCH})
    assert not missing, f"notice codes without French text in geocarbon/notice_texts.py: {missing}"
    unused = sorted(set(FRENCH) - {code for _, _, code, _ in _notice_calls()})
    assert not unused, f"French texts of codes no notice uses: {unused}"


def test_every_call_gives_the_facts_its_french_template_needs() -> None:
    problems = []
    for where, _, code, call in _notice_calls():
        needed = {DERIVED.get(f, f) for f in _fields(FRENCH[code])}
        facts = next((kw.value for kw in call.keywords if kw.arg == "facts"), None)
        given: set[str] = set()
        if isinstance(facts, ast.Dict):
            given = {k.value for k in facts.keys if isinstance(k, ast.Constant)}
        elif facts is not None:
            continue  # built elsewhere: checked by rendering
        if needed - given:
            problems.append(f"{where} {code}: lacks {sorted(needed - given)}")
    assert not problems, problems


@pytest.mark.parametrize("code", sorted(FRENCH))
def test_each_french_template_renders_from_its_facts(code: str) -> None:
    facts: dict[str, object] = {}
    for name in _fields(FRENCH[code]):
        facts[DERIVED.get(name, name)] = 1234.5 if name not in {"source", "what", "zones"} else "x"
    if code == "report_pdf_not_made":
        facts["why"] = "chromium wrote no PDF (crash)"
    text = french_message(Notice(code, "english message", [], facts))
    assert text is not None
    assert "{" not in text and "english message" not in text


def test_french_numbers_hand_computed() -> None:
    assert french_number(12345.678, ",.1f") == "12\u202f345,7"
    assert french_number(0.125, ".1%") == "12,5\u00a0%"
    assert french_number(3633, ",d") == "3\u202f633"


def test_notice_text_french_with_items_and_english_unchanged() -> None:
    n = Notice(
        "buildings_excluded",
        "3633 buildings carry no panels (see excluded_reason)",
        ["usable roof area below 10 m²: 3633", "Site classé: 2"],
        facts={"n_buildings": 3633},
    )
    assert notice_text(n, "fr") == (
        "3\u202f633 bâtiments ne reçoivent pas de panneaux (voir le motif d'exclusion, "
        "excluded_reason)\u00a0: surface de toit utilisable inférieure à 10 m²\u00a0: "
        "3\u202f633, Site classé\u00a0: 2"
    )
    assert notice_text(n, "en") == str(n)
    # more than ten items: the rest is counted
    many = Notice("population_missing", "m", [str(i) for i in range(12)], {"source": "t.csv"})
    assert notice_text(many, "fr").endswith("8, 9 (+2 autres)")
    assert notice_text(many, "en") == str(many)


def test_notice_without_its_facts_falls_back_to_english() -> None:
    n = Notice("roof_form_unknown", "12 buildings without roof altitudes", [])
    assert notice_text(n, "fr") == "12 buildings without roof altitudes"
    unknown = Notice("some_future_code", "something happened", ["a"])
    assert notice_text(unknown, "fr") == "something happened: a"


def test_facts_are_json_friendly_in_run_json_form() -> None:
    import numpy as np

    n = Notice("x", "m", [], {"n": np.int64(3), "share": np.float64(0.5), "path": Path("a.csv")})
    assert json.loads(json.dumps(n.as_dict()))["facts"] == {"n": 3, "share": 0.5, "path": "a.csv"}


def test_reason_and_flag_labels() -> None:
    assert reason_label("outside the communes") == "hors des communes"
    assert reason_label("outside the communes", "en") == "outside the communes"
    assert (
        reason_label("implausible height (over 300 m)") == "hauteur invraisemblable (plus de 300 m)"
    )
    assert reason_label("implausible footprint (over 5 ha)", "en") == (
        "implausible footprint (over 5 ha)"
    )
    # a reason the user wrote for an exclusion zone is shown as written
    assert reason_label("Zone <b>ABF</b>") == "Zone <b>ABF</b>"
    assert flags_label("power_in_watts;lat_lon_swapped") == (
        "puissance donnée en watts (convertie en kW); latitude et longitude inversées (corrigées)"
    )
    assert flags_label("") == ""
    for fr, en in (*EXCLUSION_REASONS.values(), *QA_FLAGS.values()):
        assert fr and en and fr != "" and "_" not in fr


def test_every_qa_flag_of_the_cleaning_has_a_display_name() -> None:
    source = (REPO / "geocarbon" / "charging" / "clean.py").read_text(encoding="utf-8")
    flags = set(re.findall(r'_flag\(flags, [^,]+, "(\w+)"\)', source))
    documented = source[source.index("semicolon-separated") : source.index("A flagged power")]
    flags |= set(re.findall(r"``(\w+)``", documented))
    assert {"lat_lon_swapped", "power_in_watts", "connector_rows_merged"} <= flags
    assert flags <= set(QA_FLAGS), sorted(flags - set(QA_FLAGS))


def test_demo_report_has_no_english_notice(demo_out: Path) -> None:
    out = demo_out
    notices = json.loads((out / "run.json").read_text(encoding="utf-8"))["notices"]
    codes = {n["code"] for n in notices}
    assert {"buildings_excluded", "charging_qa"} <= codes
    page = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    section = page[page.index("Avertissements") :]
    for n in notices:
        assert n["facts"] or not set(_fields(FRENCH[n["code"]])), n
        english = re.split(r"[:(;]", n["message"])[0].strip()
        assert english not in section, f"English notice in the French report: {english!r}"
    for words in ("bâtiments ne reçoivent pas de panneaux", "points lus", "contrôles qualité"):
        assert words in section
    # reasons and flags by their French names, never their ids or English text
    assert "surface de toit utilisable inférieure à 10 m²" in section
    assert "latitude et longitude inversées (corrigées)" in section
    for raw in ("lat_lon_swapped", "power_in_watts", "usable roof area"):
        assert raw not in section
    # the charging points' popups show the flags' display names; the GeoPackage keeps the ids
    charging_map = (out / "maps" / "charging.html").read_text(encoding="utf-8")
    assert "latitude et longitude invers\\u00e9es" in charging_map or (
        "latitude et longitude inversées" in charging_map
    )
    assert "lat_lon_swapped" not in charging_map
