"""The territory of a run: which communes it holds, and what each figure covers.

* :func:`select_communes` picks the communes of the run from a larger layer or table by
  EPCI, département or commune codes (``territory:`` in the pipeline).
* :func:`epci_coverage` tells, for each EPCI of the run, how many of its communes are in
  the run and how many it has (from the commune table), so that a figure summed over part
  of an EPCI is never published as the EPCI's.
* :func:`level_rows` builds the commune / EPCI / territory rows of a table of figures,
  with what each row covers (``communes_in_run``, ``communes_in_epci``,
  ``communes_with_data``, ``complete`` and a ``coverage_note`` in words). Sums skip the
  communes without data (empty, never 0); a row none of whose communes has data is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from geocarbon.errors import InputError
from geocarbon.notices import Notice

#: Share of a commune that must be covered by data (valid land-cover pixels) for its
#: figures to be computed: below it, the commune's figures are left empty (see README,
#: "What each figure covers").
COVERAGE_MIN = 0.95

#: INSEE codes of the arrondissements municipaux → their commune (Paris, Marseille, Lyon):
#: ADEME's change tables list the arrondissements, commune layers and tables the commune.
ARRONDISSEMENTS: dict[str, str] = {
    **{f"751{i:02d}": "75056" for i in range(1, 21)},
    **{f"132{i:02d}": "13055" for i in range(1, 17)},
    **{f"6938{i}": "69123" for i in range(1, 10)},
}


def departement_of(codes: pd.Series) -> pd.Series:
    """Département of INSEE commune codes: the first 2 characters (3 for 97x overseas).

    Examples
    --------
    >>> departement_of(pd.Series(["46042", "2A004", "97105"])).tolist()
    ['46', '2A', '971']
    """
    values = codes.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        return _departement_of_plain(codes)
    upper = [code.upper() for code in values]  # text codes: one pass over a list
    deps = [code[:3] if code.startswith("97") else code[:2] for code in upper]
    return pd.Series(deps, index=codes.index, name=codes.name).astype(str)


def _departement_of_plain(codes: pd.Series) -> pd.Series:
    """:func:`departement_of` through pandas' string methods (any cell type)."""
    text = codes.astype(str).str.upper()
    return text.str[:2].where(~text.str.startswith("97"), text.str[:3])


@dataclass
class Selection:
    """The communes picked for the run and how they were picked."""

    mask: np.ndarray
    """Which rows of the candidate communes are in the territory."""
    notices: list[Notice] = field(default_factory=list)


#: Why ``territory.epci`` cannot be used when no input gives the EPCI of the communes.
_UNKNOWN_MEMBERSHIP = (
    "territory.epci: EPCI membership is unknown ({source} has no EPCI): set "
    "communes.epci_field to the layer's EPCI field, or give communes.table (a commune "
    "table with an EPCI column, e.g. ADEME's communes_17122018.csv)"
)


def select_communes(
    codes: pd.Series,
    epci: pd.Series,
    *,
    epci_codes: Sequence[str],
    departements: Sequence[str],
    commune_codes: Sequence[str],
    source: str,
    epci_source: str | None,
) -> Selection:
    """Pick the communes whose code, EPCI or département is listed (the union).

    Parameters
    ----------
    codes : Series
        INSEE codes of the candidate communes (the whole layer or table).
    epci : Series
        EPCI SIREN code of each candidate (None where unknown).
    epci_codes, departements, commune_codes : sequence of str
        What the pipeline's ``territory`` lists.
    source : str
        Where the candidates come from, for messages.
    epci_source : str or None
        Where EPCI membership comes from (None: nowhere, then ``epci_codes`` is refused).

    Returns
    -------
    Selection

    Raises
    ------
    InputError
        A listed code that matches no candidate (naming it), EPCI codes without EPCI
        membership, or an empty selection.
    """
    codes = codes.astype(str).reset_index(drop=True)
    epci = epci.reset_index(drop=True)
    mask = np.zeros(len(codes), dtype=bool)
    if epci_codes and epci_source is None:
        raise InputError(_UNKNOWN_MEMBERSHIP.format(source=source))
    deps = departement_of(codes)
    checks = (
        ("epci", epci_codes, epci.astype(object).where(epci.notna(), "").astype(str), epci_source),
        ("departements", departements, deps, source),
        ("communes", commune_codes, codes.str.upper(), source),
    )
    for key, wanted, values, where in checks:
        if wanted:
            mask |= _listed_matches(key, wanted, values, where)
    notices = [
        Notice(
            "territory_selection",
            f"territory: {int(mask.sum())} of the {len(codes)} communes of {source} selected",
            facts={"n_selected": int(mask.sum()), "n_communes": len(codes), "source": str(source)},
        )
    ]
    return Selection(mask, notices)


def _listed_matches(
    key: str, wanted: Sequence[str], values: pd.Series, where: str | None
) -> np.ndarray:
    """Which candidates carry one of the codes listed under ``territory.<key>``.

    Parameters
    ----------
    key : str
        The ``territory`` key (``epci``, ``departements`` or ``communes``), for messages.
    wanted : sequence of str
        The codes listed under that key.
    values : Series
        The candidates' code of that kind (EPCI, département or commune).
    where : str or None
        Where those codes come from, for messages.

    Returns
    -------
    ndarray of bool
        True for the candidates whose code is listed.

    Raises
    ------
    InputError
        A listed code matches no candidate.
    """
    hit = values.isin(list(wanted)).to_numpy()
    found = set(values[hit])
    absent = [c for c in wanted if c not in found]
    if absent:
        msg = (
            f"territory.{key}: {', '.join(absent[:10])}{' ...' if len(absent) > 10 else ''} "
            f"match{'es' if len(absent) == 1 else ''} no commune of {where}; check the code"
            + (" (EPCI SIREN codes have 9 digits)" if key == "epci" else "")
            + " or give a commune layer or table that holds it"
        )
        raise InputError(msg)
    return hit


def epci_coverage(
    run_epci: pd.Series,
    members: pd.Series | None,
    members_source: str | None,
    layer_codes: set[str] | None = None,
) -> pd.DataFrame:
    """Communes of each EPCI of the run: in the run, and in the EPCI.

    Parameters
    ----------
    run_epci : Series
        EPCI code of each commune of the run, indexed by commune code (None where unknown).
    members : Series or None
        EPCI code of every commune known, indexed by commune code (the commune table,
        before any selection); None when no such table is given (the EPCI's size is then
        unknown).
    members_source : str or None
        Where ``members`` come from, for notes.
    layer_codes : set of str, optional
        Codes of the whole commune layer before the territory was picked: the missing
        communes absent from it are counted apart (``communes_missing_from_layer``: outside
        the layer, or another commune vintage).

    Returns
    -------
    DataFrame
        Indexed by EPCI code: ``communes_in_run``, ``communes_in_epci`` (NaN when unknown),
        ``communes_missing`` (communes of the EPCI, per ``members``, absent from the run),
        ``communes_missing_from_layer`` and ``epci_complete`` (none missing; False when
        unknown).
    """
    run = run_epci.dropna().astype(str)
    in_run = run.value_counts()
    out = pd.DataFrame({"communes_in_run": in_run.astype(float)})
    if members is not None:
        known = members.dropna().astype(str)
        known = known[known.isin(out.index)]
        sizes = known.value_counts()
        absent = known[~known.index.isin(run.index)]
        missing = absent.value_counts()
        off_layer = (
            absent[~absent.index.isin(list(layer_codes))].value_counts()
            if layer_codes is not None
            else pd.Series(dtype=float)
        )
        out["communes_in_epci"] = sizes.reindex(out.index).astype(float)
        out["communes_missing"] = missing.reindex(out.index).fillna(0).astype(float)
        out["communes_missing_from_layer"] = off_layer.reindex(out.index).fillna(0).astype(float)
        unknown = out["communes_in_epci"].isna()
        out.loc[unknown, ["communes_missing", "communes_missing_from_layer"]] = np.nan
    else:
        out["communes_in_epci"] = np.nan
        out["communes_missing"] = np.nan
        out["communes_missing_from_layer"] = np.nan
    out["epci_complete"] = (out["communes_missing"] == 0).to_numpy()
    out.index.name = "epci_code"
    return out


def partial_epci_notice(coverage: pd.DataFrame, names: pd.Series | None) -> list[Notice]:
    """A notice listing the EPCIs only partly in the run (their figures are partial)."""
    partial = coverage[~coverage["epci_complete"]]
    if not len(partial):
        return []
    items = []
    for code, row in partial.iterrows():
        name = names.get(code, "") if names is not None else ""
        size = (
            f"{int(row['communes_in_epci'])}"
            if pd.notna(row["communes_in_epci"])
            else "an unknown number of (no commune table)"
        )
        items.append(
            f"{code}{f' {name}' if name else ''}: {int(row['communes_in_run'])} of {size} communes"
        )
    return [
        Notice(
            "epci_partial",
            "EPCIs only partly in the run: their rows sum the communes in the run only and are "
            "flagged complete = false (not the EPCI's figure)",
            items,
        )
    ]


#: Columns :func:`level_rows` adds to say what each row covers.
COVERAGE_COLUMNS = [
    "communes_in_run",
    "communes_in_epci",
    "communes_with_data",
    "complete",
    "coverage_note",
]


def level_rows(
    values: pd.DataFrame,
    communes: pd.DataFrame,
    *,
    territory_name: str,
    has_data: pd.Series,
    epci_sizes: pd.DataFrame | None,
    share: pd.Series | None = None,
    weights: pd.Series | None = None,
    what: str = "data",
    share_column: str = "landcover_covered_share",
    complete: pd.Series | None = None,
    territory_note: str = "",
) -> pd.DataFrame:
    """Commune, EPCI and territory rows of figures, each saying what it covers.

    Parameters
    ----------
    values : DataFrame
        Figures per commune (index = commune code; NaN: no data), summed per EPCI and territory.
    communes : DataFrame
        ``commune_code``, ``commune_name``, ``epci_code`` and optionally ``epci_name``
        of every commune of the run (one without EPCI counts in the territory row only).
    territory_name : str
        Name of the territory row.
    has_data : Series
        Per commune code: whether the commune's figures are computed.
    epci_sizes : DataFrame or None
        :func:`epci_coverage` of the run (None without EPCIs).
    share : Series, optional
        Per commune code: covered share (0–1); EPCI and territory shares weighted by ``weights``.
    weights : Series, optional
        Per commune code: area [ha] used to weight ``share``.
    what : str
        What the data are, for the coverage note ("land cover", "building data"...).
    share_column : str
        Column holding ``share`` (e.g. ``pv_covered_share``, ``population_covered_share``).
    complete : Series, optional
        Per commune code: whether its figures cover the whole commune (default ``has_data``).
        A commune with data but not complete (figures summed over the part covered) is
        flagged ``complete`` false with a note, and so are its EPCI and the territory.
    territory_note : str, optional
        Why the territory is not whole (e.g. picked by an EPCI held in part): notes its row.

    Returns
    -------
    DataFrame
        ``level``, ``code``, ``name``, the figures, ``share_column`` (if ``share``) and
        :data:`COVERAGE_COLUMNS`; EPCI rows are ordered by code.
    """
    base = communes.set_index("commune_code")
    per_commune = _PerCommune.aligned(
        base.index, values, has_data, complete, share, weights, share_column, what
    )
    frames = [_commune_level(base, per_commune)]
    if "epci_code" in base.columns and base["epci_code"].notna().any():
        frames.append(_epci_level(base, per_commune, epci_sizes))
    frames.append(_territory_level(per_commune, territory_name, territory_note))
    out = pd.concat(frames, ignore_index=True).drop(columns="_partly")
    return tidy_coverage(out, share_column)


@dataclass
class _PerCommune:
    """What :func:`level_rows` sums and counts, aligned on the run's commune codes."""

    codes: pd.Index
    """Commune codes of the run, in the communes' order."""
    values: pd.DataFrame
    """Figures per commune (NaN where no data)."""
    has_data: pd.Series
    """Whether the commune's figures are computed."""
    whole: pd.Series
    """Whether the commune's figures cover the whole commune (and are computed)."""
    share: pd.Series | None
    """Share (0–1) of each commune covered by the data, or None."""
    weights: pd.Series | None
    """Area [ha] of each commune used to weight ``share`` (None: equal weights)."""
    share_column: str
    """Name of the column holding ``share``."""
    what: str
    """What the data are, for the coverage notes."""

    @classmethod
    def aligned(
        cls,
        codes: pd.Index,
        values: pd.DataFrame,
        has_data: pd.Series,
        complete: pd.Series | None,
        share: pd.Series | None,
        weights: pd.Series | None,
        share_column: str,
        what: str,
    ) -> _PerCommune:
        """The arguments of :func:`level_rows` aligned on ``codes`` (a commune is whole when
        it has data and, if ``complete`` is given, is complete)."""
        data = has_data.reindex(codes).fillna(False).astype(bool)
        whole = (
            data if complete is None else complete.reindex(codes).fillna(False).astype(bool) & data
        )
        return cls(codes, values.reindex(codes), data, whole, share, weights, share_column, what)


def _commune_level(base: pd.DataFrame, per_commune: _PerCommune) -> pd.DataFrame:
    """The commune rows of :func:`level_rows`: figures, coverage counts and note."""
    codes, data, whole_commune = per_commune.codes, per_commune.has_data, per_commune.whole
    share, what = per_commune.share, per_commune.what
    commune_rows = per_commune.values.copy()
    commune_rows.insert(0, "name", base["commune_name"].to_numpy())
    commune_rows.insert(0, "code", codes.to_numpy())
    commune_rows.insert(0, "level", "commune")
    commune_rows["communes_in_run"] = 1.0
    commune_rows["communes_in_epci"] = np.nan
    commune_rows["communes_with_data"] = data.astype(float).to_numpy()
    commune_rows["complete"] = whole_commune.to_numpy()
    if share is not None:
        commune_rows[per_commune.share_column] = share.reindex(codes).to_numpy()
    commune_rows["coverage_note"] = [
        "" if ok and whole else
        f"partial: {what} covers {s:.1%} of the commune: figures sum the part covered"
        if ok else f"no {what} for this commune" if share is None or not (s > 0) else
        f"{what} covers {s:.1%} of the commune: figures left empty (below {COVERAGE_MIN:.0%})"
        for ok, whole, s in zip(
            data, whole_commune,
            (share.reindex(codes) if share is not None else pd.Series(np.nan, index=codes)),
            strict=True,
        )
    ]  # fmt: skip
    return commune_rows.reset_index(drop=True)


def _group_level(per_commune: _PerCommune, keys: pd.Series, level: str) -> pd.DataFrame:
    """Figures summed over the communes sharing a key (an EPCI, the territory), with the
    number of communes in the run, with data and only partly covered (``_partly``), and
    the area-weighted covered share."""
    data, codes, share = per_commune.has_data, per_commune.codes, per_commune.share
    sums = per_commune.values.groupby(keys.to_numpy()).sum(min_count=1)
    n_run = keys.groupby(keys.to_numpy()).size().astype(float)
    n_data = data.groupby(keys.to_numpy()).sum().astype(float)
    n_part = (data & ~per_commune.whole).groupby(keys.to_numpy()).sum()
    out = sums.copy()
    out.insert(0, "code", sums.index.astype(str))
    out.insert(0, "level", level)
    out["communes_in_run"] = n_run.reindex(sums.index).to_numpy()
    out["communes_with_data"] = n_data.reindex(sums.index).to_numpy()
    out["_partly"] = n_part.reindex(sums.index).to_numpy()
    if share is not None:
        weights = per_commune.weights
        w = (weights if weights is not None else pd.Series(1.0, index=codes)).reindex(codes)
        s = share.reindex(codes).fillna(0.0)
        num = (s * w).groupby(keys.to_numpy()).sum()
        den = w.groupby(keys.to_numpy()).sum()
        out[per_commune.share_column] = (num / den.where(den > 0)).reindex(sums.index).to_numpy()
    return out


def _epci_level(
    base: pd.DataFrame, per_commune: _PerCommune, epci_sizes: pd.DataFrame | None
) -> pd.DataFrame:
    """The EPCI rows of :func:`level_rows` (ordered by code): figures, coverage counts,
    ``complete`` (the whole EPCI in the run, every commune with whole data) and note."""
    keys = base["epci_code"]
    known = keys.notna()
    epci = _group_level(per_commune, keys[known].astype(str), "epci")
    names = (
        base.loc[known, "epci_name"].groupby(keys[known].astype(str).to_numpy()).first()
        if "epci_name" in base.columns
        else pd.Series("", index=epci.index)
    )
    epci.insert(2, "name", names.reindex(epci.index).fillna("").to_numpy())
    sizes = (
        epci_sizes.reindex(epci.index)
        if epci_sizes is not None
        else pd.DataFrame(
            {
                "communes_in_epci": np.nan,
                "communes_missing": np.nan,
                "communes_missing_from_layer": np.nan,
                "epci_complete": False,
            },
            index=epci.index,
        )
    )
    epci["communes_in_epci"] = sizes["communes_in_epci"].to_numpy()
    whole = sizes["epci_complete"].fillna(False).astype(bool).to_numpy()
    all_data = (epci["communes_with_data"] == epci["communes_in_run"]).to_numpy()
    partly = epci["_partly"].to_numpy(dtype=float)
    epci["complete"] = whole & all_data & (partly == 0)
    epci["coverage_note"] = [
        _epci_note(counts, whole=whole[i], all_data=all_data[i], what=per_commune.what)
        for i, counts in enumerate(
            zip(
                epci["communes_in_epci"].to_numpy(dtype=float),
                epci["communes_in_run"].to_numpy(dtype=float),
                epci["communes_with_data"].to_numpy(dtype=float),
                partly,
                sizes["communes_missing"].to_numpy(dtype=float),
                sizes["communes_missing_from_layer"].to_numpy(dtype=float),
                strict=True,
            )
        )
    ]
    return epci.sort_values("code", kind="stable").reset_index(drop=True)


def _epci_note(
    counts: tuple[float, float, float, float, float, float],
    *,
    whole: bool,
    all_data: bool,
    what: str,
) -> str:
    """The coverage note of one EPCI row ('' when the row is the whole EPCI's figure).

    Parameters
    ----------
    counts : tuple of float
        Numbers of communes: in the EPCI (NaN when unknown), in the run, with data, only
        partly covered, of the EPCI missing from the run, and of those absent from the
        commune layer (NaN when unknown).
    whole : bool
        Whether every commune of the EPCI is in the run.
    all_data : bool
        Whether every commune of the EPCI in the run has data.
    what : str
        What the data are.
    """
    n_epci, n_run, n_data, partly, gone, off_layer = counts
    parts = []
    if not whole:
        size = (
            f"{int(n_epci)}" if np.isfinite(n_epci) else "? (EPCI size unknown: no commune table)"
        )
        parts.append(
            f"{int(n_epci - gone)} of the {size} communes of the EPCI in the run"
            if np.isfinite(gone)
            else f"{int(n_run)} communes in the run, of {size} in the EPCI"
        )
        if np.isfinite(off_layer) and off_layer > 0:
            parts[-1] += (
                f" ({int(off_layer)} absent from the commune layer: outside it, "
                "or another commune vintage)"
            )
    if not all_data:
        parts.append(f"{what} for {int(n_data)} of {int(n_run)} communes")
    if partly:
        parts.append(f"{int(partly)} of them only partly covered")
    note = "partial: " + "; ".join(parts) if parts else ""
    if np.isfinite(n_epci) and n_run > n_epci:
        extra = (
            f"{int(n_run - n_epci)} commune(s) of the run absent from the commune "
            "table are counted in it (the EPCI of their neighbours)"
        )
        note = f"{note}; {extra}" if note else extra
    return note


def _territory_level(
    per_commune: _PerCommune, territory_name: str, territory_note: str
) -> pd.DataFrame:
    """The territory row of :func:`level_rows`, complete only when every commune has whole
    data and the territory itself is whole (no ``territory_note``)."""
    codes, data = per_commune.codes, per_commune.has_data
    terr = _group_level(per_commune, pd.Series("territory", index=codes), "territory")
    terr.insert(2, "name", territory_name)
    terr["communes_in_epci"] = np.nan
    with_data = int(data.sum())
    n_partly = int((data & ~per_commune.whole).sum())
    full = with_data == len(codes) and not n_partly
    parts = []
    if territory_note:
        parts.append(territory_note)
    if not full:
        parts.append(
            f"{per_commune.what} for {with_data} of {len(codes)} communes"
            + (f"; {n_partly} of them only partly covered" if n_partly else "")
        )
    terr["complete"] = [not parts]
    terr["coverage_note"] = "partial: " + "; ".join(parts) if parts else ""
    return terr.reset_index(drop=True)


def tidy_coverage(
    rows: pd.DataFrame, share_column: str = "landcover_covered_share"
) -> pd.DataFrame:
    """Coverage columns as people read them: counts as whole numbers (empty when unknown),
    shares rounded to 6 decimals (0.9999999999999999 is 1), ``complete`` as a boolean."""
    out = rows.copy()
    for col in ("communes_in_run", "communes_in_epci", "communes_with_data"):
        if col in out.columns:
            out[col] = out[col].round().astype("Int64")
    if share_column in out.columns:
        out[share_column] = out[share_column].astype(float).round(6)
    out["complete"] = out["complete"].astype(bool)
    return out
