"""IRVE files as users download them (issue 12): semicolon / cp1252 exports, station ids
per point, station files repeating their place's nbre_pdc, La Poste's postal-code table,
schema versions; each with counts computed by hand."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely.geometry import Point, box

from geocarbon.capabilities.charging_step import read_points
from geocarbon.charging.clean import clean_points, point_notices, points_from_irve
from geocarbon.charging.indicators import counts_by_commune
from geocarbon.charging.irve_schema import check_irve_version, irve_version
from geocarbon.charging.postal import postal_codes_by_commune
from geocarbon.cli import main
from geocarbon.config import ChargingConfig
from geocarbon.errors import InputError
from geocarbon.io.tables import read_csv
from tests.conftest import write_pipeline

# two communes side by side around Cahors (EPSG:4326)
COMMUNES = gpd.GeoDataFrame(
    {"commune_code": ["46042", "46043"], "commune_name": ["Cahors", "Cambes"]},
    geometry=[box(1.40, 44.40, 1.45, 44.50), box(1.45, 44.40, 1.50, 44.50)],
    crs="EPSG:4326",
)

# IRVE statique v2.3 as a French spreadsheet exports it: ';' separator, Windows-1252 text
# (é, ï, œ), decimal commas. Place P (Cahors): two points, each with a station id of its own,
# nbre_pdc 2 → one station. Place Q (Cahors): one station of two points, ids right. Place R
# (Cambes): three points with ids of their own, nbre_pdc 2; local ids A, A, B → the two A
# points are one station, the B point another. P1 declares 46000 (Cahors' postal code), R1
# 46090 (Cambes' postal code), R3 46999 (no commune's).
IRVE_CP1252 = (
    "nom_station;id_station_itinerance;id_station_local;id_pdc_itinerance;coordonneesXY;"
    "nbre_pdc;puissance_nominale;code_insee_commune;cable_t2_attache\n"
    'Mairie Éloïse;FRA01P001;;FRA01E001;"[1,41, 44,41]";2;22,0;46000;true\n'
    'Mairie Éloïse;FRA01P002;;FRA01E002;"[1,41, 44,41]";2;22,0;46042;true\n'
    'Gare Cœur;FRA02P001;;FRA02E001;"[1.42, 44.42]";2;22;46042;false\n'
    'Gare Cœur;FRA02P001;;FRA02E002;"[1.42, 44.42]";2;22;46042;false\n'
    'Place Loïc;FRA03P001;A;FRA03E001;"[1.46, 44.46]";2;22;46090;false\n'
    'Place Loïc;FRA03P002;A;FRA03E002;"[1.46, 44.46]";2;22;46043;false\n'
    'Place Loïc;FRA03P003;B;FRA03E003;"[1.46, 44.46]";2;22;46999;false\n'
)

# La Poste's "base officielle des codes postaux" in its ';' Latin-1 export
POSTAL_LATIN1 = (
    "#Code_commune_INSEE;Nom_de_la_commune;Code_postal;Libellé_d_acheminement;Ligne_5\n"
    "46042;CAHORS;46000;CAHORS;\n"
    "46043;CAMBES;46090;CAMBES;\n"
    "46102;FIGEAC;46100;FIGEAC;\n"
)

# the EV fleet saved by a French spreadsheet: ';' and cp1252
FLEET_CP1252 = "code_insee;nom;bev;phev\n46042;Cahors (Lot, Occitanie – é);10;5\n46043;Cambes;4;0\n"


def _write_inputs(folder: Path) -> None:
    COMMUNES.rename(columns={"commune_code": "code", "commune_name": "nom"}).to_file(
        folder / "communes.gpkg", layer="communes"
    )
    (folder / "irve.csv").write_bytes(IRVE_CP1252.encode("cp1252"))
    (folder / "postal.csv").write_bytes(POSTAL_LATIN1.encode("latin-1"))
    (folder / "fleet.csv").write_bytes(FLEET_CP1252.encode("cp1252"))


def test_semicolon_cp1252_irve_file_end_to_end(tmp_path: Path) -> None:
    _write_inputs(tmp_path)
    p = write_pipeline(
        tmp_path / "p.yaml",
        {
            "name": "irve",
            "output_dir": "out",
            "communes": {"path": "communes.gpkg", "code_field": "code", "name_field": "nom"},
            "charging": {
                "points": {"path": "irve.csv"},
                "postal_codes": {"path": "postal.csv"},
                "ev_fleet": {"path": "fleet.csv"},
            },
        },
    )
    result = CliRunner().invoke(main, ["-q", "run", str(p)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    communes = gpd.read_file(out / "geocarbon.gpkg", layer="communes").set_index("commune_code")
    # Cahors: 4 points (P: 2, Q: 2), 2 physical stations (P, Q; the ids said 3);
    # Cambes: 3 points, 2 stations (R with local id A, R with local id B; the ids said 3)
    assert communes["ev_points"].to_dict() == {"46042": 4, "46043": 3}
    assert communes["ev_stations"].to_dict() == {"46042": 2, "46043": 2}
    # decimal commas read; 22 kW each: 4 × 22 = 88, 3 × 22 = 66; per battery EV of the
    # cp1252 fleet: 88 / 10 = 8.8, 66 / 4 = 16.5
    assert communes["ev_kw"].to_dict() == {"46042": 88.0, "46043": 66.0}
    assert communes["ev_kw_per_bev"].to_dict() == {"46042": 8.8, "46043": 16.5}
    pts = gpd.read_file(out / "geocarbon.gpkg", layer="charging_points").set_index("point_id")
    flags = pts["qa_flags"].fillna("").str.split(";").apply(set)
    per_point = {"FRA01E001", "FRA01E002", "FRA03E001", "FRA03E002"}
    assert set(flags.index[flags.apply(lambda f: "station_id_per_point" in f)]) == per_point
    # P1's 46000 and R1's 46090 are the postal codes of the communes they lie in
    assert flags["FRA01E001"] == {"station_id_per_point", "declared_code_is_postal"}
    assert flags["FRA03E001"] == {"station_id_per_point", "declared_code_is_postal"}
    # R3's 46999 is no commune's postal code: it differs and is no known INSEE code
    assert flags["FRA03E003"] == {"declared_code_differs", "declared_code_unknown"}
    assert pts.loc["FRA01E001", "physical_station"] == pts.loc["FRA01E002", "physical_station"]
    assert pts["physical_station"].nunique() == 4
    # the layers are written in a named CRS (Lambert-93 for French communes), though every
    # input is in WGS84 degrees
    with sqlite3.connect(out / "geocarbon.gpkg") as db:
        srs = db.execute(
            "SELECT g.table_name, s.organization, s.organization_coordsys_id "
            "FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s USING (srs_id)"
        ).fetchall()
    assert {(t, o, c) for t, o, c in srs} == {
        ("communes", "EPSG", 2154),
        ("charging_points", "EPSG", 2154),
    }


def _station_gpkg(folder: Path) -> Path:
    """A station layout as the consolidated IRVE grouped by station (like the Lot's file):
    text Xlongitude / Ylatitude columns beside a point geometry."""
    rows = [
        # place A: three rows each repeating the place's 3 points → 3 points, not 9
        ("FRX01P1", "", "3", 1.41, 44.41),
        ("FRX01P2", "", "3", 1.41, 44.41),
        ("FRX01P3", "", "3", 1.41, 44.41),
        # place B: two rows each repeating the place's 4 → 4 points (2 + 2), not 8
        ("FRX02P1", "Non concerné", "4", 1.42, 44.42),
        ("FRX02P2", "", "4", 1.42, 44.42),
        # place C: two stations with their own local ids, 2 points each → 4 points
        ("FRX03P1", "L1", "2", 1.46, 44.46),
        ("FRX03P2", "L2", "2", 1.46, 44.46),
        # place D: three rows of 2: more rows than 2 points, not a repeat → 6 points
        ("FRX04P1", "", "2", 1.47, 44.47),
        ("FRX04P2", "", "2", 1.47, 44.47),
        ("FRX04P3", "", "2", 1.47, 44.47),
        # place E: one station of 2 points
        ("FRX05P1", "", "2", 1.48, 44.48),
    ]
    frame = gpd.GeoDataFrame(
        {
            "id_station_itinerance": [r[0] for r in rows],
            "id_station_local": [r[1] for r in rows],
            "nbre_pdc": [r[2] for r in rows],
            "Xlongitude": [str(r[3]) for r in rows],
            "Ylatitude": [str(r[4]) for r in rows],
            "code_insee_commune": ["46042"] * 5 + ["46043"] * 6,
        },
        geometry=[Point(r[3], r[4]) for r in rows],
        crs="EPSG:4326",
    )
    path = folder / "stations.gpkg"
    frame.to_file(path, layer="stations")
    return path


def test_station_file_repeating_nbre_pdc(tmp_path: Path) -> None:
    charging = ChargingConfig.model_validate({"points": {"path": _station_gpkg(tmp_path)}})
    raw, notices = read_points(charging)
    # declared: 3 × 3 + 2 × 4 + 2 × 2 + 3 × 2 + 2 = 29; kept: 3 + 4 + 4 + 6 + 2 = 19
    assert len(raw) == 19
    (notice,) = [n for n in notices if n.code == "charging_nbre_pdc_repeated"]
    assert notice.facts == {
        "source": str(tmp_path / "stations.gpkg"),
        "n_rows": 5,
        "n_places": 2,
        "points_declared": 17,  # A: 9, B: 8
        "points_kept": 7,  # A: 3, B: 4
        "points_removed": 10,
    }
    per_row = raw.groupby("station_id").size().to_dict()
    assert per_row == {
        "FRX01P1": 1, "FRX01P2": 1, "FRX01P3": 1, "FRX02P1": 2, "FRX02P2": 2,
        "FRX03P1": 2, "FRX03P2": 2, "FRX04P1": 2, "FRX04P2": 2, "FRX04P3": 2, "FRX05P1": 2,
    }  # fmt: skip
    points = clean_points(raw, COMMUNES)
    # the station layout has no power: every point power_unknown; the repeated rows
    # nbre_pdc_repeated (and not station_id_per_point: one defect, one flag)
    repeated = points["qa_flags"] == "nbre_pdc_repeated;power_unknown"
    assert set(points.loc[repeated, "station_id"]) == {
        "FRX01P1", "FRX01P2", "FRX01P3", "FRX02P1", "FRX02P2",
    }  # fmt: skip
    assert (points.loc[~repeated, "qa_flags"] == "power_unknown").all()
    counts = counts_by_commune(points)
    # Cahors: A (one station: the ids are per point) and B ("Non concerné" is no local id)
    # → 2 stations, 3 + 4 = 7 points; Cambes: C 2 (two local ids), D 3 (ids right),
    # E 1 → 6 stations, 4 + 6 + 2 = 12 points
    assert counts["ev_stations"].to_dict() == {"46042": 2, "46043": 6}
    assert counts["ev_points"].to_dict() == {"46042": 7, "46043": 12}


def test_station_ids_per_point_notice(tmp_path: Path) -> None:
    (tmp_path / "irve.csv").write_bytes(IRVE_CP1252.encode("cp1252"))
    charging = ChargingConfig.model_validate({"points": {"path": tmp_path / "irve.csv"}})
    raw, _ = read_points(charging)
    points = clean_points(raw, COMMUNES)
    (notice,) = [
        n for n in point_notices(points, "irve.csv") if n.code == "charging_station_id_per_point"
    ]
    # four points flagged (P: 2, R with local id A: 2): 4 station ids make 2 stations
    assert notice.facts == {
        "source": "irve.csv", "n_points": 4, "n_station_ids": 4, "n_stations": 2,
    }  # fmt: skip
    # without the postal table, P1's 46000 differs from Cahors and is no known code
    known = {"46042", "46043"}
    plain = clean_points(raw, COMMUNES, known).set_index("point_id")
    assert "declared_code_differs" in plain.loc["FRA01E001", "qa_flags"]
    assert "declared_code_unknown" in plain.loc["FRA01E001", "qa_flags"]


def test_consistent_station_ids_are_not_flagged() -> None:
    # per-point file whose ids are right: two stations of 2 points at the same place (two
    # operators in one car park) stay two stations
    table = pd.DataFrame(
        {
            "id_station_itinerance": ["S1", "S1", "S2", "S2"],
            "id_pdc_itinerance": ["E1", "E2", "E3", "E4"],
            "coordonneesXY": ["[1.41, 44.41]"] * 4,
            "puissance_nominale": ["22"] * 4,
            "nbre_pdc": ["2"] * 4,
        }
    )
    points = clean_points(points_from_irve(table, "x.csv"), COMMUNES)
    assert not points["qa_flags"].str.contains("station_id_per_point").any()
    assert counts_by_commune(points)["ev_stations"].to_dict() == {"46042": 2}


def test_postal_table_in_both_la_poste_layouts(tmp_path: Path) -> None:
    old = tmp_path / "old.csv"
    old.write_bytes(POSTAL_LATIN1.encode("latin-1"))
    new = tmp_path / "new.csv"
    new.write_text(
        "code_commune_insee,nom_de_la_commune,code_postal,libelle_d_acheminement,ligne_5\n"
        "01001,L ABERGEMENT CLEMENCIAT,01400,L ABERGEMENT CLEMENCIAT,\n"
        "46042,CAHORS,46000,CAHORS,\n"
        "46042,CAHORS,46090,CAHORS,LABERAUDIE\n",
        encoding="utf-8",
    )
    read_old = read_csv(old, "postal codes", dtype=object, sep="auto", encoding="auto")
    assert postal_codes_by_commune(read_old, "old.csv") == {
        "46042": {"46000"}, "46043": {"46090"}, "46102": {"46100"},
    }  # fmt: skip
    read_new = read_csv(new, "postal codes", dtype=object, sep="auto", encoding="auto")
    assert postal_codes_by_commune(read_new, "new.csv") == {
        "01001": {"01400"}, "46042": {"46000", "46090"},
    }  # fmt: skip
    with pytest.raises(
        InputError, match=r"x\.csv has no column 'code_postal' .*columns: #Code_commune_INSEE, b"
    ):
        postal_codes_by_commune(pd.DataFrame({"#Code_commune_INSEE": ["1"], "b": ["2"]}), "x.csv")


def test_csv_dialects_detected_and_wrong_explicit_ones_named(tmp_path: Path) -> None:
    path = tmp_path / "irve.csv"
    path.write_bytes(IRVE_CP1252.encode("cp1252"))
    table = read_csv(path, "charging points", dtype=object, sep="auto", encoding="auto")
    assert len(table) == 7 and table["nom_station"].iloc[0] == "Mairie Éloïse"
    assert table["nom_station"].iloc[2] == "Gare Cœur"  # œ: 0x9c in cp1252, not latin-1
    # explicit ones are used as given
    same = read_csv(path, "charging points", dtype=object, sep=";", encoding="cp1252")
    assert same.equals(table)
    with pytest.raises(InputError, match=r"irve\.csv is not utf-8 text.*encoding: auto"):
        read_csv(path, "charging points", dtype=object, sep=";", encoding="utf-8")
    with pytest.raises(InputError, match=r"irve\.csv has one column only.*separator: ';'"):
        read_csv(path, "charging points", dtype=object, sep=",", encoding="cp1252")
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(IRVE_CP1252, encoding="utf-8")
    with pytest.raises(InputError, match=r"utf8\.csv is UTF-8 text, not cp1252"):
        read_csv(utf8, "charging points", dtype=object, sep=";", encoding="cp1252")
    assert read_csv(utf8, "x", dtype=object, sep="auto", encoding="auto").equals(table)
    # byte 0x81 is undefined in cp1252: Latin-1 reads it
    odd = tmp_path / "odd.csv"
    odd.write_bytes(b"a|b\nx\x81|\xe9\n")
    odd_table = read_csv(odd, "x", dtype=object, sep="auto", encoding="auto")
    assert odd_table.columns.tolist() == ["a", "b"] and odd_table["b"].iloc[0] == "é"
    # other callers keep UTF-8 and ',' by default: a cp1252 file is refused as before
    with pytest.raises(InputError, match="is not UTF-8 text"):
        read_csv(path, "x", dtype=object)


def test_unknown_encoding_or_separator_refused_in_the_pipeline_file() -> None:
    with pytest.raises(ValueError, match="encoding 'klingon' is unknown"):
        ChargingConfig.model_validate({"points": {"path": "x.csv", "encoding": "klingon"}})
    with pytest.raises(ValueError, match="separator ';;': give one character"):
        ChargingConfig.model_validate({"points": {"path": "x.csv", "separator": ";;"}})


V2_COLUMNS = [
    "id_station_itinerance", "id_pdc_itinerance", "coordonneesXY", "nbre_pdc",
    "puissance_nominale", "code_insee_commune",
]  # fmt: skip


def test_irve_schema_versions() -> None:
    assert irve_version(V2_COLUMNS) == "2.0"
    assert irve_version([*V2_COLUMNS, "cable_t2_attache"]) == "2.1-2.3"
    assert irve_version(["id_station_itinerance", "nbre_pdc", "Xlongitude"]) == "stations"
    # v2.2 (ids FR…) and v2.3 (ids of any country prefix) have the same columns: both read
    rows = {
        "2.2": ("FRA01P001", "FRA01E001"),
        "2.3": ("DEA01P001", "DEA01E001"),
    }
    read = {}
    for version, (station, point) in rows.items():
        table = pd.DataFrame(
            [[station, point, "[1.41, 44.41]", "1", "22", "46042", "true"]],
            columns=[*V2_COLUMNS, "cable_t2_attache"],
        )
        assert check_irve_version(table.columns, "x.csv") == "2.1-2.3"
        cleaned = clean_points(points_from_irve(table, "x.csv"), COMMUNES)
        read[version] = (cleaned["commune_code"].tolist(), cleaned["power_kw"].tolist())
    assert read["2.2"] == read["2.3"] == (["46042"], [22.0])


@pytest.mark.parametrize(
    ("columns", "said"),
    [
        (
            ["id_station_itinerance", "id_pdc_itinerance", "latitude", "longitude", "nbre_pdc"],
            "IRVE schema v3 draft",
        ),
        (["id_station", "id_pdc", "Xlongitude", "Ylatitude", "puiss_max", "nbre_pdc"], "schema v1"),
        (["id_pdc_itinerance", "etat_pdc", "occupation_pdc", "horodatage"], "dynamic IRVE file"),
    ],
)
def test_unknown_irve_versions_refused_in_one_message(
    tmp_path: Path, columns: list[str], said: str
) -> None:
    path = tmp_path / "irve.csv"
    path.write_text(",".join(columns) + "\n" + ",".join("1" for _ in columns) + "\n")
    charging = ChargingConfig.model_validate({"points": {"path": path}})
    with pytest.raises(InputError, match=said) as err:
        read_points(charging)
    assert str(path) in str(err.value) and "v2.0 to v2.3" in str(err.value)
