"""The tables shipped with geocarbon as CSV files: the (French, English) texts
(``geocarbon/texts/*.csv``) and the declared output columns (``geocarbon/specs/outputs.csv``).

Each text table has the columns ``group`` (a section heading for translators, not used by
the code), ``id``, ``fr`` and ``en``; translators edit the CSV files, the code reads them here.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources


@cache
def package_rows(*parts: str) -> tuple[dict[str, str], ...]:
    """The rows of the CSV file ``geocarbon/<parts...>`` shipped with the package, as dicts
    (column → text), in file order."""
    raw = resources.files("geocarbon").joinpath(*parts).read_text("utf-8")
    return tuple(csv.DictReader(io.StringIO(raw)))


@cache
def text_table(name: str) -> dict[str, tuple[str, str]]:
    """The text table ``name``: id → (French, English).

    Raises
    ------
    ValueError
        When the table lists an id twice or a row lacks a text (a packaging error).
    """
    raw = resources.files("geocarbon").joinpath("texts", f"{name}.csv").read_text("utf-8")
    return parse_text_table(raw, name)


def parse_text_table(raw: str, name: str) -> dict[str, tuple[str, str]]:
    r"""Parse the CSV text ``raw`` of the text table ``name`` (see :func:`text_table`).

    Examples
    --------
    >>> parse_text_table('group,id,fr,en\nkeys,epci,EPCI,EPCI\n', "names")
    {'epci': ('EPCI', 'EPCI')}
    """
    table: dict[str, tuple[str, str]] = {}
    for n, row in enumerate(csv.DictReader(io.StringIO(raw)), start=2):
        key, fr, en = row["id"], row["fr"], row["en"]
        if key in table or not key or not fr or not en:
            msg = f"geocarbon/texts/{name}.csv line {n}: id {key!r} repeated or without a text"
            raise ValueError(msg)
        table[key] = (fr, en)
    return table
