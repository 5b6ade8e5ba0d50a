"""Preparation of commune boundaries: codes, names, EPCI, geometry checks and repairs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geocarbon.errors import InputError
from geocarbon.geo import area_ha
from geocarbon.notices import Notice


def has_boundaries(communes: pd.DataFrame) -> bool:
    """Whether the communes of a run have boundaries (a run from area tables may not)."""
    return bool(
        isinstance(communes, gpd.GeoDataFrame)
        and communes.crs is not None
        and communes.geometry.notna().any()
    )


def normalise_codes(values: pd.Series) -> pd.Series:
    """INSEE-like codes as strings; integer codes are zero-padded to 5 characters.

    Examples
    --------
    >>> normalise_codes(pd.Series([1001, 46042])).tolist()
    ['01001', '46042']
    """
    if pd.api.types.is_float_dtype(values) and values.dropna().apply(float.is_integer).all():
        values = values.astype("Int64")
    if pd.api.types.is_integer_dtype(values):
        return values.astype("string").str.zfill(5).astype(object).where(values.notna(), None)
    present = values.notna().to_numpy()
    texts = values.to_numpy(dtype=object)[present]
    if pd.api.types.infer_dtype(texts, skipna=False) in ("string", "empty"):
        out = np.full(len(values), None, dtype=object)  # text codes: stripped in one pass
        out[present] = list(map(str.strip, texts))
        return pd.Series(out, index=values.index, name=values.name, dtype=object)
    return _normalised_codes_plain(values)


def _normalised_codes_plain(values: pd.Series) -> pd.Series:
    """The codes of :func:`normalise_codes` that are not integers, through pandas' string
    methods (any cell type)."""
    return values.astype("string").str.strip().astype(object).where(values.notna(), None)


def polygonal_part(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep the polygonal part of a repaired geometry (``make_valid`` may add lines or points)."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    if not parts:
        return shapely.Polygon()
    return shapely.union_all(parts)


def prepare_communes(
    raw: gpd.GeoDataFrame,
    *,
    source: str,
    code_field: str,
    name_field: str,
    epci_field: str | None = None,
    population_field: str | None = None,
    epci_name_field: str | None = None,
) -> tuple[gpd.GeoDataFrame, list[Notice]]:
    """Check and normalise a commune layer.

    Parameters
    ----------
    raw : GeoDataFrame
        The layer as read.
    source : str
        File (and layer) name, for messages.
    code_field, name_field, epci_field : str
        Field names of the INSEE code, the name and (optionally) the EPCI code.

    Returns
    -------
    communes : GeoDataFrame
        Columns ``commune_code``, ``commune_name``, ``epci_code``, geometry (source CRS),
        sorted by code.
    notices : list of Notice
        Repairs made (invalid geometries made valid).

    Raises
    ------
    InputError
        Missing fields, empty layer, missing or duplicate codes, empty or non-polygon
        geometries, geometries that cannot be repaired.
    """
    _check_fields(
        raw, source, code_field, name_field, epci_field, population_field, epci_name_field
    )
    codes = _checked_codes(raw[code_field], source, code_field)
    _check_polygons(raw.geometry, codes, source)
    geoms, notices = _repaired_geometries(raw.geometry, codes, source)
    out, more = _commune_frame(
        raw, codes, geoms, source, name_field, epci_field, population_field, epci_name_field
    )
    notices += more
    out = out.sort_values("commune_code", kind="stable").reset_index(drop=True)
    notices += check_overlaps(out, source)
    return out, notices


def _commune_frame(
    raw: gpd.GeoDataFrame,
    codes: pd.Series,
    geoms: gpd.GeoSeries,
    source: str,
    name_field: str,
    epci_field: str | None,
    population_field: str | None,
    epci_name_field: str | None,
) -> tuple[gpd.GeoDataFrame, list[Notice]]:
    """The communes with their normalised columns (code, name, EPCI, population and EPCI
    name when declared) and checked geometries, in the layer's order and CRS; with the
    notices on the population values."""
    notices: list[Notice] = []
    names = raw[name_field].astype("string").fillna("").astype(object)
    epci = (
        normalise_codes(raw[epci_field])
        if epci_field
        else pd.Series([None] * len(raw), index=raw.index)
    )
    out = gpd.GeoDataFrame(
        {
            "commune_code": codes.to_numpy(),
            "commune_name": names.to_numpy(),
            "epci_code": epci.to_numpy(),
        },
        geometry=geoms.to_numpy(),
        crs=raw.crs,
    )
    if population_field:
        values, more = population_values(
            raw[population_field], out["commune_code"], f"{source}, field {population_field!r}"
        )
        out["population"] = values
        notices += more
    if epci_name_field:
        out["epci_name"] = (
            raw[epci_name_field].astype("string").fillna("").astype(object).to_numpy()
        )
    return out, notices


def _check_fields(
    raw: gpd.GeoDataFrame,
    source: str,
    code_field: str,
    name_field: str,
    epci_field: str | None,
    population_field: str | None,
    epci_name_field: str | None,
) -> None:
    """Check that the layer holds features and every declared field (None: not declared).

    Raises
    ------
    InputError
        An empty layer, or a declared field missing (naming the fields present).
    """
    if len(raw) == 0:
        msg = f"communes: {source} holds no feature"
        raise InputError(msg)
    present = [c for c in raw.columns if c != raw.geometry.name]
    fields = {
        "code_field": code_field,
        "name_field": name_field,
        "epci_field": epci_field,
        "population_field": population_field,
        "epci_name_field": epci_name_field,
    }
    for key, name in fields.items():
        if name is not None and name not in raw.columns:
            msg = (
                f"communes: {source} has no field {name!r} (communes.{key}); "
                f"fields present: {', '.join(present)}"
            )
            raise InputError(msg)


def _checked_codes(values: pd.Series, source: str, code_field: str) -> pd.Series:
    """The normalised commune codes of the layer, each present and unique.

    Raises
    ------
    InputError
        Features without code, or codes listed twice.
    """
    codes = normalise_codes(values)
    missing = np.flatnonzero(
        codes.isna().to_numpy() | (codes.astype(str).str.len() == 0).to_numpy()
    )
    if len(missing):
        msg = f"communes: {source}: {len(missing)} feature(s) have no code in field {code_field!r} (feature numbers {', '.join(map(str, missing[:10]))})"
        raise InputError(msg)
    dup = codes[codes.duplicated(keep=False)]
    if len(dup):
        listed = ", ".join(sorted(set(dup.astype(str)))[:10])
        msg = (
            f"communes: {source}: duplicate commune codes in field {code_field!r}: {listed}. "
            "Each commune must appear once: dissolve multi-part communes (e.g. ogr2ogr -dialect sqlite "
            "-sql 'SELECT code, ST_Union(geometry) ... GROUP BY code') or fix the codes."
        )
        raise InputError(msg)
    return codes


def _check_polygons(geoms: gpd.GeoSeries, codes: pd.Series, source: str) -> None:
    """Check that every commune has a non-empty polygon geometry.

    Raises
    ------
    InputError
        Empty geometries, or geometries other than (multi)polygons (naming the communes).
    """
    empty = geoms.isna() | geoms.is_empty
    if empty.any():
        listed = ", ".join(codes[empty.to_numpy()].astype(str).tolist()[:10])
        msg = f"communes: {source}: {int(empty.sum())} commune(s) have an empty geometry: {listed}; fix or remove them in the source"
        raise InputError(msg)
    kinds = set(geoms.geom_type)
    bad_kinds = kinds - {"Polygon", "MultiPolygon"}
    if bad_kinds:
        wrong = ~geoms.geom_type.isin(["Polygon", "MultiPolygon"])
        listed = ", ".join(codes[wrong.to_numpy()].astype(str).tolist()[:10])
        msg = f"communes: {source}: geometries must be polygons; found {', '.join(sorted(bad_kinds))} for {listed}"
        raise InputError(msg)


def _repaired_geometries(
    geoms: gpd.GeoSeries, codes: pd.Series, source: str
) -> tuple[gpd.GeoSeries, list[Notice]]:
    """The commune geometries with the invalid ones made valid (their polygonal part), and
    a notice listing each repair with shapely's reason.

    Raises
    ------
    InputError
        An invalid geometry whose repair leaves nothing polygonal.
    """
    invalid = ~geoms.is_valid
    out_geoms = geoms.copy()
    if not invalid.any():
        return out_geoms, []
    reasons = shapely.is_valid_reason(geoms[invalid].to_numpy())
    repaired = [polygonal_part(g) for g in shapely.make_valid(geoms[invalid].to_numpy())]
    out_geoms[invalid] = repaired
    broken = [
        c
        for c, g in zip(codes[invalid.to_numpy()], repaired, strict=True)
        if g is None or g.is_empty
    ]
    if broken:
        msg = f"communes: {source}: invalid geometries that cannot be repaired: {', '.join(broken)}"
        raise InputError(msg)
    notice = Notice(
        "commune_geometry_repaired",
        f"{int(invalid.sum())} invalid commune geometries were repaired (shapely make_valid)",
        [f"{c}: {r}" for c, r in zip(codes[invalid.to_numpy()], reasons, strict=True)],
        facts={"n_communes": int(invalid.sum())},
    )
    return out_geoms, [notice]


#: Overlap between two communes [ha] above which it is reported: the pixels in it are
#: counted for one of the two communes only.
OVERLAP_NOTICE_HA = 1.0
#: Share of the smaller of two communes above which their overlap is refused: the same commune
#: twice, or communes déléguées mixed with their commune nouvelle (areas counted twice).
OVERLAP_REFUSE_SHARE = 0.5


#: Why a commune layer whose communes cover one another is refused.
_COVERING_COMMUNES = (
    "communes: {source} holds communes that cover one another ({shown}); a commune "
    "layer must not hold the same commune twice, nor communes déléguées beside their "
    "commune nouvelle: keep one level (e.g. Admin Express COMMUNE, not "
    "COMMUNE_ASSOCIEE_OU_DELEGUEE)"
)


def check_overlaps(communes: gpd.GeoDataFrame, source: str) -> list[Notice]:
    """Find communes whose surfaces overlap (a commune layer is a partition).

    Parameters
    ----------
    communes : GeoDataFrame
        Prepared communes (``commune_code``, valid polygons, a CRS).
    source : str
        The file, for messages.

    Returns
    -------
    list of Notice
        ``communes_overlap`` listing the pairs overlapping by more than
        :data:`OVERLAP_NOTICE_HA` hectares, with the overlap [ha].

    Raises
    ------
    InputError
        When two communes overlap over more than :data:`OVERLAP_REFUSE_SHARE` of the smaller
        one.
    """
    geoms = np.asarray(communes.geometry.values)
    if len(geoms) < 2:
        return []
    a, b = _overlapping_pairs(geoms)
    if len(a) == 0:
        return []
    overlap_ha = area_ha(
        gpd.GeoDataFrame(geometry=shapely.intersection(geoms[a], geoms[b]), crs=communes.crs)
    )
    own_ha = area_ha(communes)
    share = overlap_ha / np.maximum(np.minimum(own_ha[a], own_ha[b]), 1e-12)
    codes = communes["commune_code"].to_numpy()
    refused = share > OVERLAP_REFUSE_SHARE
    if refused.any():
        shown = "; ".join(
            f"{codes[i]} and {codes[j]} share {ha:,.1f} ha ({sh:.0%} of the smaller)"
            for i, j, ha, sh in zip(
                a[refused][:5], b[refused][:5], overlap_ha[refused][:5], share[refused][:5],
                strict=True,
            )
        )  # fmt: skip
        raise InputError(_COVERING_COMMUNES.format(source=source, shown=shown))
    listed = overlap_ha > OVERLAP_NOTICE_HA
    if not listed.any():
        return []
    return [
        Notice(
            "communes_overlap",
            f"communes of {source} overlap; the land in each overlap is counted for one of the "
            "two communes only (fix the boundaries to share it)",
            [
                f"{codes[i]}/{codes[j]}: {ha:,.1f} ha"
                for i, j, ha in zip(a[listed], b[listed], overlap_ha[listed], strict=True)
            ],
            facts={"source": str(source)},
        )
    ]


def _overlapping_pairs(geoms: np.ndarray) -> np.ndarray:
    """Index pairs (2 × n, first < second) of geometries that overlap or contain one another.

    One bounding-box query gives the candidate pairs; both predicates are then evaluated on
    the candidates only, each geometry prepared once (the prepared predicates that
    :meth:`shapely.STRtree.query` evaluates with ``predicate=``, see
    :func:`_overlapping_pairs_plain`). Geometries that were not prepared before are left
    unprepared.
    """
    tree = shapely.STRtree(geoms)
    first, second = tree.query(geoms)
    distinct = first != second
    first, second = first[distinct], second[distinct]
    unprepared = geoms[~shapely.is_prepared(geoms)]
    shapely.prepare(unprepared)
    try:
        found = shapely.overlaps(geoms[first], geoms[second])
        found |= shapely.contains(geoms[first], geoms[second])
    finally:
        shapely.destroy_prepared(unprepared)
    pairs = np.stack([first[found], second[found]])
    return np.unique(np.sort(pairs, axis=0), axis=1)


def _overlapping_pairs_plain(geoms: np.ndarray) -> np.ndarray:
    """:func:`_overlapping_pairs` through one tree query per predicate."""
    tree = shapely.STRtree(geoms)
    found = [np.stack(tree.query(geoms, predicate=p)) for p in ("overlaps", "contains")]
    pairs = np.concatenate(found, axis=1)
    pairs = np.unique(np.sort(pairs, axis=0), axis=1)
    return pairs[:, pairs[0] != pairs[1]]


#: Most inhabitants of one commune (Paris, the largest French commune: 2.1 million).
MAX_COMMUNE_POPULATION = 3_000_000


def population_values(
    raw: pd.Series, codes: pd.Series, source: str
) -> tuple[np.ndarray, list[Notice]]:
    """Inhabitants per commune from a field or column, checked.

    Parameters
    ----------
    raw : Series
        The values as read (numbers or text), in the order of ``codes``.
    codes : Series
        INSEE codes of the communes (for messages).
    source : str
        File and field, for messages.

    Returns
    -------
    population : ndarray of float
        Inhabitants; NaN where the value is empty (no data, listed in a notice).
    notices : list of Notice

    Raises
    ------
    InputError
        When a value is text that is not a number, negative, infinite or above
        :data:`MAX_COMMUNE_POPULATION` (the communes and values are named).
    """
    text = raw.astype("string").str.strip()
    empty = raw.isna().to_numpy() | (text.fillna("") == "").to_numpy()
    numbers = pd.to_numeric(text.where(~empty), errors="coerce").to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        bad = (
            (~empty & np.isnan(numbers))
            | np.isinf(numbers)
            | (numbers < 0)
            | (numbers > MAX_COMMUNE_POPULATION)
        )
    if bad.any():
        shown = ", ".join(
            f"{c}: {v!r}"
            for c, v in zip(
                np.asarray(codes)[bad][:8], np.asarray(raw, dtype=object)[bad][:8], strict=True
            )
        )
        msg = (
            f"population in {source}: {int(bad.sum())} value(s) are not a number of inhabitants "
            f"from 0 to {MAX_COMMUNE_POPULATION:,} ({shown}); write whole numbers without spaces "
            "or units, or leave the cell empty (no data)"
        )
        raise InputError(msg)
    notices = []
    if empty.any():
        notices.append(
            Notice(
                "population_missing",
                f"communes without population in {source} (per-inhabitant figures left empty)",
                np.asarray(codes)[empty].tolist(),
                facts={"source": str(source)},
            )
        )
    return numbers, notices


def join_commune_table(
    communes: gpd.GeoDataFrame,
    table: pd.DataFrame,
    *,
    source: str,
    code_field: str,
    epci_field: str | None,
    population_field: str | None,
) -> tuple[gpd.GeoDataFrame, list[Notice]]:
    """Add EPCI codes (and population) from a table keyed by commune code.

    Communes absent from the table keep the EPCI code of the layer (if any) and are listed.
    """
    notices: list[Notice] = []
    tab = table.copy()
    tab["_code"] = normalise_codes(tab[code_field])
    fields = [f for f in (epci_field, population_field) if f]
    distinct = tab[["_code", *fields]].drop_duplicates()
    clash = distinct[distinct["_code"].duplicated(keep=False)]
    if len(clash):
        code = clash["_code"].iloc[0]
        rows = clash[clash["_code"] == code]
        field = next(f for f in fields if rows[f].nunique(dropna=False) > 1)
        both = " and ".join(repr(v) for v in rows[field].head(2))
        msg = (
            f"commune table {source}: commune {code} is listed twice with different values of "
            f"{field!r}: {both}; keep one row per commune (identical duplicates are allowed)"
        )
        raise InputError(msg)
    tab = tab.drop_duplicates("_code").set_index("_code")
    out = communes.copy()
    present = out["commune_code"].isin(tab.index)
    if epci_field:
        joined = normalise_codes(tab[epci_field]).reindex(out["commune_code"]).to_numpy()
        out["epci_code"] = np.where(present, joined, out["epci_code"])
    if population_field:
        in_table = out["commune_code"][present]
        values, more = population_values(
            tab[population_field].reindex(in_table),
            in_table,
            f"{source}, column {population_field!r}",
        )
        out["population"] = pd.Series(values, index=in_table.index).reindex(out.index).to_numpy()
        notices += more
    absent = out.loc[~present, "commune_code"].tolist()
    if absent:
        notices.append(
            Notice(
                "commune_missing_from_table",
                f"communes absent from {source} (no EPCI/population from it; codes of another vintage?)",
                absent,
                facts={"source": str(source)},
            )
        )
    return out, notices


def fill_from_neighbours(
    communes: gpd.GeoDataFrame, values: pd.Series, what: str
) -> tuple[pd.Series, list[Notice]]:
    """Give communes without a value the value of their neighbours.

    The value shared over the longest common boundary among touching communes that
    have one is used; a commune with no such neighbour takes the value of the nearest
    commune that has one.

    Parameters
    ----------
    communes : GeoDataFrame
        ``commune_code`` and polygons (any CRS; distances are taken in a local
        equal-area projection).
    values : Series
        Value per commune code (missing codes or NaN = no value).
    what : str
        Name of the value, for the notice (e.g. ``"pedoclimatic zone (zpc)"``).

    Returns
    -------
    Series
        Value per commune code for every commune of ``communes``.
    notices : list of Notice
        Which communes got a fallback value, and which one.
    """
    from geocarbon.geo import local_equal_area_crs

    out = values.reindex(communes["commune_code"]).copy()
    missing = out[out.isna()].index.tolist()
    if not missing:
        return out, []
    frame = communes.to_crs(local_equal_area_crs(communes)).set_index("commune_code")
    have = frame.loc[out.notna().to_numpy()]
    if len(have) == 0:
        msg = f"no commune of the territory has a {what}; check the reference table"
        raise InputError(msg)
    filled: list[str] = []
    for code in missing:
        geom = frame.geometry[code]
        grown = geom.buffer(1.0)
        touching = have[have.geometry.intersects(grown)]
        if len(touching):
            shared = touching.geometry.intersection(grown.boundary.buffer(2.0)).length
            by_value = shared.groupby(out.reindex(touching.index).to_numpy()).sum()
            chosen = by_value.sort_values(ascending=False, kind="stable").index[0]
            how = "neighbours"
        else:
            nearest = have.geometry.distance(geom).sort_values(kind="stable").index[0]
            chosen = out[nearest]
            how = f"nearest commune {nearest}"
        out[code] = chosen
        filled.append(f"{code} -> {chosen} ({how})")
    notice = Notice(
        "reference_fallback",
        f"communes absent from the reference table for the {what}; the value of their neighbours is used",
        filled,
        facts={"what": what},
    )
    return out, [notice]
