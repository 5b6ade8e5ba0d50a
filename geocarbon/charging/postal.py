"""Postal codes of each commune, from La Poste's "base officielle des codes postaux".

Its exports name the columns ``#Code_commune_INSEE;Nom_de_la_commune;Code_postal;
Libellé_d_acheminement;Ligne_5`` (``;``, Latin-1) or ``code_commune_insee,nom_de_la_commune,
code_postal,...`` (``,``, UTF-8): both are read (names compared without ``#``, case or
surrounding spaces). One row per commune and postal code (and delivery line).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geocarbon.communes import normalise_codes
from geocarbon.errors import InputError
from geocarbon.notices import Notice

#: Column of the INSEE commune code and of the postal code (names compared in lower case,
#: without a leading ``#``).
INSEE_COLUMN, POSTAL_COLUMN = "code_commune_insee", "code_postal"


def _plain(name: object) -> str:
    return str(name).strip().lstrip("#").strip().lower()


def postal_codes_by_commune(table: pd.DataFrame, source: str) -> dict[str, set[str]]:
    """The postal codes of each commune (INSEE code → postal codes, 5 characters).

    Raises
    ------
    InputError
        The table lacks the INSEE code or postal code column (the message lists its
        columns), or holds no row with both codes.
    """
    by_name = {_plain(c): c for c in table.columns}
    missing = [c for c in (INSEE_COLUMN, POSTAL_COLUMN) if c not in by_name]
    if missing:
        msg = (
            f"postal codes: {source} has no column {' or '.join(repr(m) for m in missing)} (La "
            "Poste's 'base officielle des codes postaux' expected: '#Code_commune_INSEE', "
            f"'Code_postal'); columns: {', '.join(map(str, table.columns[:15]))}"
        )
        raise InputError(msg)
    insee = normalise_codes(table[by_name[INSEE_COLUMN]].astype("string").str.strip())
    postal = table[by_name[POSTAL_COLUMN]].astype("string").str.strip().str.zfill(5)
    pairs = pd.DataFrame({"insee": insee, "postal": postal}).dropna()
    pairs = pairs[(pairs["insee"] != "") & postal.reindex(pairs.index).str.fullmatch(r"\d{5}")]
    if pairs.empty:
        msg = (
            f"postal codes: {source} holds no row with both an INSEE code and a 5-digit postal code"
        )
        raise InputError(msg)
    return {str(k): set(map(str, g)) for k, g in pairs.groupby("insee")["postal"]}


def postal_coverage_notice(
    postal: dict[str, set[str]], codes: pd.Series, source: str
) -> list[Notice]:
    """A notice listing the communes of the run (``codes``) absent from the postal-code
    table: a postal code declared for them cannot be recognised."""
    absent = np.array([str(c) not in postal for c in codes], dtype=bool)
    if not absent.any():
        return []
    return [
        Notice(
            "postal_codes_missing_communes",
            f"postal codes: {source}: {int(absent.sum())} of the {len(codes)} communes of the "
            "run are not in the table: a postal code declared for a point in them is flagged "
            "declared_code_differs or declared_code_unknown, not declared_code_is_postal",
            sorted(map(str, codes[absent]))[:50],
            facts={"source": str(source), "n_absent": int(absent.sum()), "n_communes": len(codes)},
        )
    ]
