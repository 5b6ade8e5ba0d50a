"""The (French, English) text tables shipped in geocarbon/texts/ load whole and refuse a
repeated id or a missing text."""

from __future__ import annotations

from pathlib import Path

import pytest

from geocarbon import labels, report
from geocarbon.io.text_tables import parse_text_table, text_table

TEXTS = Path(__file__).resolve().parents[1] / "geocarbon" / "texts"


@pytest.mark.parametrize("path", sorted(TEXTS.glob("*.csv")), ids=lambda p: p.stem)
def test_every_table_loads_every_row(path: Path) -> None:
    rows = path.read_text("utf-8").splitlines()
    assert rows[0] == "group,id,fr,en"
    table = text_table(path.stem)
    # a row per id: quoted commas and quotes inside the texts do not split a row
    assert len(table) == sum(1 for _ in __import__("csv").reader(rows)) - 1
    assert all(fr.strip() and en.strip() for fr, en in table.values())


def test_tables_are_the_modules_tables() -> None:
    assert labels.NAMES["epci_code"] == ("SIREN de l'EPCI", "EPCI SIREN code")
    assert report.TEXT["title"] == ("Rapport territorial", "Territory report")
    assert labels.QA_FLAGS is text_table("qa_flags")


@pytest.mark.parametrize(
    "raw",
    [
        "group,id,fr,en\nk,a,A,A\nk,a,B,B\n",  # id repeated
        "group,id,fr,en\nk,a,,A\n",  # French missing
        "group,id,fr,en\nk,,A,A\n",  # id missing
    ],
)
def test_bad_table_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="line"):
        parse_text_table(raw, "names")


def test_quoted_text_keeps_commas() -> None:
    raw = 'group,id,fr,en\nk,x,"un, deux","one, ""two"""\n'
    assert parse_text_table(raw, "names") == {"x": ("un, deux", 'one, "two"')}
