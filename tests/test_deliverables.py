"""The calculator deliverable beside sequestration.csv: sequestration.xlsx (or the French
CSV), checked on a hand-made table, on the demo and on the Lot, and opened in LibreOffice."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from geocarbon.cli import main
from geocarbon.config import config_from_dict
from geocarbon.deliverables import (
    SequestrationFigures,
    calculator_spreadsheet,
    round_half_away,
    translate_note,
)
from geocarbon.io.spreadsheets import write_spreadsheet, xlsx_bytes
from tests.conftest import SHARED

NAN = float("nan")
COLUMNS = [
    "level", "code", "name", "period", "forest", "agricultural_soils", "other_soils",
    "wood_products", "total", "landcover_covered_share", "communes_in_run", "communes_in_epci",
    "communes_with_data", "complete", "coverage_note",
]  # fmt: skip
ROWS = [
    ["commune", "46001", "Albas", "2012-2018", 10.5, -2.5, -0.4, 1.49, 9.09, 1.0, 1, NAN, 1,
     True, ""],
    ["commune", "46002", "Anglars", "2012-2018", NAN, NAN, NAN, NAN, NAN, 0.5, 1, NAN, 0, False,
     "land cover covers 50.0% of the commune: figures left empty (below 95%)"],
    ["epci", "200000001", "CC du Test", "2012-2018", 10.5, -2.5, -0.4, 1.49, 9.09, 0.75, 2, 3, 1,
     False, "partial: 2 of the 3 communes of the EPCI in the run; land cover for 1 of 2 communes"],
    ["territory", "territory", "petit", "2012-2018", 10.5, -2.5, -0.4, 1.49, 9.09, 0.999993, 2,
     NAN, 1, False, "partial: land cover for 1 of 2 communes"],
]  # fmt: skip
FR_FIGURES = [
    "Forêt (tCO2e/an)",
    "Sols agricoles (tCO2e/an)",
    "Autres sols (tCO2e/an)",
    "Produits bois (tCO2e/an)",
    "Total (tCO2e/an, positif = séquestration)",
]
EN_FIGURES = [
    "Forest (tCO2e/yr)",
    "Agricultural soils (tCO2e/yr)",
    "Other soils (tCO2e/yr)",
    "Wood products (tCO2e/yr)",
    "Total (tCO2e/yr, positive = sequestration)",
]
FR_SHARE = "Part couverte par l'occupation du sol (%)"
RUN_DATE = dt.date(2024, 5, 17)


def _small(tmp_path: Path, **report: str) -> tuple[object, SequestrationFigures]:
    cfg = config_from_dict(
        {
            "name": "petit",
            "communes": {"path": "communes.gpkg"},
            "landcover": {"path": "clc2018.tif"},
            "flows": {"start_year": 2012, "end_year": 2018, "landcover_before": "clc2012.tif"},
            "report": report,
        },
        tmp_path,
    )
    communes = pd.DataFrame(
        {
            "commune_code": ["46001", "46002"],
            "epci_code": ["200000001", "200000001"],
            "epci_name": ["CC du Test", "CC du Test"],
        }
    )
    figures = SequestrationFigures(
        pd.DataFrame(ROWS, columns=COLUMNS), communes, "geocarbon built-in generic_ipcc.csv"
    )
    return cfg, figures


def _rows(ws: openpyxl.worksheet.worksheet.Worksheet) -> list[tuple[object, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_rounding_is_half_away_from_zero_and_keeps_no_data_empty() -> None:
    assert [round_half_away(v) for v in (2.5, -2.5, 1.49, -0.4, 0.0)] == [3, -3, 1, 0, 0]
    assert str(round_half_away(-0.4)) == "0"  # never "-0"
    assert round_half_away(99.95, 1) == 100.0 and round_half_away(49.96, 1) == 50.0
    assert round_half_away(NAN) is None and round_half_away(None) is None


def test_french_workbook_of_a_hand_made_table(tmp_path: Path) -> None:
    cfg, results = _small(tmp_path)
    sheet = calculator_spreadsheet(cfg, results, RUN_DATE)  # type: ignore[arg-type]
    assert sheet is not None
    path = write_spreadsheet(tmp_path / "out", sheet)
    assert path == tmp_path / "out" / "sequestration.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Lisez-moi", "Communes", "EPCI", "Territoire"]
    readme = {r[0]: r[1] for r in _rows(wb["Lisez-moi"]) if r[0]}
    assert readme["Convention de signe"].startswith("positif = séquestration")
    assert readme["Période"].startswith("2012-2018 (6 ans")
    assert readme["Fichiers d'entrée modifiés au plus tard le"] == "2024-05-17"
    assert "generic_ipcc.csv" in readme["Jeu de coefficients"]
    assert "/" not in readme["Jeu de coefficients"]  # no local path
    assert "ALDO" in readme["Méthode"]

    communes = _rows(wb["Communes"])
    assert communes[0] == (
        "Code INSEE", "Nom", "SIREN de l'EPCI", "EPCI", "Période", *FR_FIGURES, FR_SHARE,
        "Complet", "Couverture",
    )  # fmt: skip
    # hand-rounded: 10.5 → 11, -2.5 → -3, -0.4 → 0, 1.49 → 1, 9.09 → 9; share 1 → 100 %
    assert communes[1] == (
        "46001", "Albas", "200000001", "CC du Test", "2012-2018", 11, -3, 0, 1, 9, 100, "Oui",
        None,
    )  # fmt: skip
    # no data stays empty, never 0; the note in French
    assert communes[2][5:10] == (None,) * 5
    assert communes[2][10:] == (
        50,
        "Non",
        "L'occupation du sol couvre 50,0 % de la commune : valeurs laissées vides (moins de 95 %)",
    )
    epci = _rows(wb["EPCI"])
    assert epci[0][:3] == ("SIREN de l'EPCI", "Nom", "Période")
    assert epci[0][-5:] == (
        "Communes calculées", "Communes de l'EPCI", "Communes avec données", "Complet",
        "Couverture",
    )  # fmt: skip
    assert epci[1][-5:] == (
        2,
        3,
        1,
        "Non",
        "Partiel : 2 des 3 communes de l'EPCI dans le calcul ; l'occupation du sol pour 1 des "
        "2 communes",
    )
    territory = _rows(wb["Territoire"])
    assert territory[0][0] == "Nom" and "Code INSEE" not in territory[0]
    assert territory[1][:2] == ("petit", "2012-2018")
    assert territory[1][territory[0].index(FR_SHARE)] == 100  # 99.9993 % to 0.1

    ws = wb["Communes"]
    assert ws.freeze_panes == "C2"  # header row, code and name frozen
    assert ws["F2"].number_format == "#,##0" and ws["K2"].number_format == "0.0"
    assert ws.column_dimensions["O"].width > ws.column_dimensions["F"].width


def test_english_headers_and_identical_bytes(tmp_path: Path) -> None:
    cfg, results = _small(tmp_path, language="en")
    sheet = calculator_spreadsheet(cfg, results, RUN_DATE)  # type: ignore[arg-type]
    assert sheet is not None
    data = xlsx_bytes(sheet)
    again = calculator_spreadsheet(cfg, results, RUN_DATE)  # type: ignore[arg-type]
    assert again is not None and xlsx_bytes(again) == data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["Read me", "Communes", "EPCI", "Territory"]
    header = _rows(wb["Communes"])[0]
    assert header[5:10] == tuple(EN_FIGURES)
    assert header[-2:] == ("Complete", "Coverage")
    assert _rows(wb["Communes"])[1][-2] == "Yes"
    # English notes are kept as computed
    assert _rows(wb["Communes"])[2][-1] == ROWS[1][-1]
    assert wb.properties.created == wb.properties.modified == dt.datetime(2000, 1, 1)


def test_french_semicolon_csv(tmp_path: Path) -> None:
    cfg, results = _small(tmp_path, spreadsheet="csv_semicolon")
    sheet = calculator_spreadsheet(cfg, results, RUN_DATE)  # type: ignore[arg-type]
    assert sheet is not None
    path = write_spreadsheet(tmp_path, sheet)
    assert path == tmp_path / "sequestration_fr.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Niveau", "Code", "Nom", "Période", *FR_FIGURES, FR_SHARE, "Communes calculées",
        "Communes de l'EPCI", "Communes avec données", "Complet", "Couverture",
    ]  # fmt: skip
    assert rows[1][:14] == [
        "Commune", "46001", "Albas", "2012-2018", "11", "-3", "0", "1", "9", "100,0", "1", "",
        "1", "Oui",
    ]  # fmt: skip
    assert rows[2][4:10] == ["", "", "", "", "", "50,0"]  # no data: empty fields
    assert rows[3][0] == "EPCI" and ";" in rows[3][-1]  # a note with ';' stays one field
    assert rows[4][:3] == ["Territoire", "", "petit"]
    assert not (tmp_path / "sequestration.xlsx").exists()


def test_none_writes_nothing(tmp_path: Path) -> None:
    cfg, results = _small(tmp_path, spreadsheet="none")
    assert calculator_spreadsheet(cfg, results, RUN_DATE) is None  # type: ignore[arg-type]
    assert write_spreadsheet(tmp_path / "out", None) is None
    assert not (tmp_path / "out").exists()


def test_notes_in_french() -> None:
    assert translate_note("") == ""
    assert translate_note("partial: land cover covers 97.5% of the commune: figures sum the part covered") == (
        "Partiel : l'occupation du sol couvre 97,5 % de la commune : les valeurs somment la "
        "partie couverte"
    )  # fmt: skip
    assert translate_note("no land cover for this commune") == (
        "Pas d'occupation du sol pour cette commune"
    )
    assert translate_note("partial: figures for 3 of the 5 EPCIs") == (
        "Partiel : valeurs pour 3 des 5 EPCI"
    )


# --- the demo and the Lot -------------------------------------------------------------------


def _check_against_csv(out: Path, level_sheets: dict[str, str]) -> None:
    """The workbook's rounded figures are those of sequestration.csv, row by row."""
    table = pd.read_csv(out / "sequestration.csv", dtype={"code": str})
    # the machine-readable table is unchanged (the Monte-Carlo ranges follow when asked for)
    ranges = [f"{f}_{p}" for f in ("forest", "agricultural_soils", "other_soils", "wood_products", "total") for p in ("p5", "p50", "p95")]  # fmt: skip
    assert list(table.columns) in (COLUMNS, COLUMNS + ranges)
    wb = openpyxl.load_workbook(out / "sequestration.xlsx")
    assert wb.sheetnames == ["Lisez-moi", *level_sheets.values()]
    for level, title in level_sheets.items():
        rows = _rows(wb[title])
        header = rows[0]
        assert header[header.index("Période") + 1 :][:5] == tuple(FR_FIGURES)
        expected = table[table["level"] == level].reset_index(drop=True)
        assert len(rows) - 1 == len(expected)
        for i, row in enumerate(rows[1:]):
            for key, head in zip(
                ["forest", "agricultural_soils", "other_soils", "wood_products", "total"],
                FR_FIGURES,
                strict=True,
            ):
                value = expected.loc[i, key]
                shown = row[header.index(head)]
                if math.isnan(value):
                    assert shown is None
                else:
                    assert shown == round_half_away(value)
                    assert abs(shown - value) <= 0.5
            assert row[header.index("Période")] == expected.loc[i, "period"]
            assert row[header.index("Complet")] == ("Oui" if expected.loc[i, "complete"] else "Non")
            assert row[header.index(FR_SHARE)] == round_half_away(
                expected.loc[i, "landcover_covered_share"] * 100, 1
            )


def test_demo_workbook_matches_sequestration_csv(demo_out: Path) -> None:
    _check_against_csv(demo_out, {"commune": "Communes", "epci": "EPCI", "territory": "Territoire"})
    wb = openpyxl.load_workbook(demo_out / "sequestration.xlsx")
    readme = {r[0]: r[1] for r in _rows(wb["Lisez-moi"]) if r[0]}
    assert readme["Séquestration nette de carbone"] == "demo"
    assert dt.date.fromisoformat(readme["Fichiers d'entrée modifiés au plus tard le"])
    # the data's own years, as the pipeline declares them
    assert readme["Millésime des données"] == "occupation du sol 2018 ; changements 2012–2018"
    # the EPCI sheet names each EPCI
    epci = _rows(wb["EPCI"])
    assert any("Communauté d'agglomération du Haut-Pays" in map(str, r) for r in epci)
    # wood products asked for (harvest approach) but not computed with the generic
    # coefficients: every place that states the method says so
    assert "sans les produits bois (non calculés" in readme["Méthode"]
    assert "approche récolte" not in readme["Méthode"]
    document = json.loads((demo_out / "sequestration.json").read_text(encoding="utf-8"))
    assert document["method"]["wood_products"].startswith("not computed (the coefficient set")
    page = (demo_out / "report.html").read_text(encoding="utf-8")
    assert "Produits bois : non calculés (le jeu de coefficients" in page
    assert "Produits bois : approche récolte" not in page


def test_demo_twice_gives_the_same_workbook(demo_out: Path, tmp_path: Path) -> None:
    pipeline = demo_out.parent.parent / "pipelines" / "demo.yaml"
    digests = []
    for name in ("a", "b"):
        result = CliRunner().invoke(
            main, ["-q", "run", str(pipeline), "--output-dir", str(tmp_path / name)]
        )
        assert result.exit_code == 0, result.output
        digests.append(hashlib.sha256((tmp_path / name / "sequestration.xlsx").read_bytes()))
    assert digests[0].hexdigest() == digests[1].hexdigest()
    wb = openpyxl.load_workbook(tmp_path / "a" / "sequestration.xlsx")
    # the date is the latest modification day of the inputs (same files, same workbook)
    inputs = json.loads((tmp_path / "a" / "run.json").read_text())["inputs"]
    days = [
        dt.datetime.fromtimestamp(Path(v["path"]).stat().st_mtime, tz=dt.UTC).date()
        for v in inputs.values()
        if Path(v["path"]).is_file()
    ]
    assert ("Fichiers d'entrée modifiés au plus tard le", max(days).isoformat()) in _rows(
        wb["Lisez-moi"]
    )


def test_lot_workbook_matches_sequestration_csv(lot_out: Path) -> None:
    out = lot_out
    _check_against_csv(out, {"commune": "Communes", "epci": "EPCI", "territory": "Territoire"})
    wb = openpyxl.load_workbook(out / "sequestration.xlsx")
    readme = {r[0]: r[1] for r in _rows(wb["Lisez-moi"]) if r[0]}
    assert readme["Jeu de coefficients"].startswith("Tables de l'outil ALDO de l'ADEME")
    # wood products computed from ALDO's regional shares: the method says which approach
    assert ", produits bois (approche récolte)" in readme["Méthode"]
    document = json.loads((out / "sequestration.json").read_text(encoding="utf-8"))
    assert document["method"]["wood_products"].startswith("harvest approach")
    assert "Produits bois : approche récolte" in (out / "report.html").read_text(encoding="utf-8")
    assert str(SHARED) not in readme["Jeu de coefficients"]
    epci = _rows(wb["EPCI"])
    figeac = next(r for r in epci if r[1] == "CC Grand-Figeac")
    # partial EPCI: flagged, and its note in French
    assert figeac[epci[0].index("Complet")] == "Non"
    assert figeac[-1].startswith("Partiel : 86 des 92 communes de l'EPCI dans le calcul")
    territory = _rows(wb["Territoire"])
    assert territory[1][territory[0].index("Total (tCO2e/an, positif = séquestration)")] == (979759)


# --- LibreOffice ----------------------------------------------------------------------------


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("LibreOffice (soffice) is required in CI: .ci/run installs it")
        pytest.skip(
            "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
        )
    return found


def _convert(source: Path, target: str, out: Path, *extra: str) -> None:
    profile = (out / "profile").as_uri()
    result = subprocess.run(
        [_soffice(), "--headless", "--norestore", f"-env:UserInstallation={profile}", *extra,
         "--convert-to", target, "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_libreoffice_opens_the_demo_workbook(demo_out: Path, tmp_path: Path) -> None:
    # every sheet to CSV (sheet -1), raw values, UTF-8
    _convert(
        demo_out / "sequestration.xlsx",
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
        tmp_path,
    )
    sheets = {p.stem.split("-", 1)[1]: p for p in tmp_path.glob("sequestration-*.csv")}
    assert set(sheets) == {"Lisez-moi", "Communes", "EPCI", "Territoire"}
    table = pd.read_csv(demo_out / "sequestration.csv", dtype={"code": str})
    communes = pd.read_csv(sheets["Communes"], dtype={"Code INSEE": str})
    assert list(communes.columns) == [
        "Code INSEE", "Nom", "SIREN de l'EPCI", "EPCI", "Période", *FR_FIGURES, FR_SHARE,
        "Complet", "Couverture",
    ]  # fmt: skip
    expected = table[table["level"] == "commune"].reset_index(drop=True)
    assert communes["Code INSEE"].tolist() == expected["code"].tolist()
    assert communes[FR_FIGURES[-1]].tolist() == [round_half_away(v) for v in expected["total"]]
    epci = pd.read_csv(sheets["EPCI"])
    assert list(epci.columns[:8]) == ["SIREN de l'EPCI", "Nom", "Période", *FR_FIGURES]
    territory = pd.read_csv(sheets["Territoire"])
    assert territory.loc[0, FR_FIGURES[-1]] == round_half_away(table["total"].iloc[-1])


def test_libreoffice_reads_the_french_csv_numbers(tmp_path: Path) -> None:
    cfg, results = _small(tmp_path, spreadsheet="csv_semicolon")
    path = write_spreadsheet(tmp_path, calculator_spreadsheet(cfg, results, RUN_DATE))  # type: ignore[arg-type]
    assert path is not None
    # opened as a French user does: ';' separator, UTF-8, French locale (decimal comma)
    _convert(path, "xlsx", tmp_path / "lo", "--infilter=CSV:59,34,76,1,,1036")
    wb = openpyxl.load_workbook(tmp_path / "lo" / "sequestration_fr.xlsx")
    rows = _rows(wb.active)
    assert rows[0][4:10] == (*FR_FIGURES, FR_SHARE)
    assert rows[1][4:10] == (11, -3, 0, 1, 9, 100)
    assert rows[2][9] == 50 and rows[2][4] is None
    assert rows[4][9] == pytest.approx(100.0) and isinstance(rows[1][9], int | float)
    assert np.isclose(rows[3][9], 75.0)


def test_wood_products_shown_from_the_sequestration_table() -> None:
    from geocarbon.carbon.flows import wood_products_shown

    empty = pd.DataFrame({"wood_products": [np.nan, np.nan]})
    some = pd.DataFrame({"wood_products": [np.nan, 0.0]})
    assert wood_products_shown("harvest", None) == "not_computed"
    assert wood_products_shown("harvest", pd.DataFrame({"forest": [1.0]})) == "not_computed"
    assert wood_products_shown("consumption", empty) == "not_computed"
    assert wood_products_shown("harvest", some) == "harvest"
    assert wood_products_shown("consumption", some) == "consumption"
    assert wood_products_shown("none", empty) == "none"
