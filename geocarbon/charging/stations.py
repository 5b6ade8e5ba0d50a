"""Physical charging stations, when the identifiers of an IRVE file do not tell them.

Two defects of published files are found and flagged (``qa_flags`` of the points):

``station_id_per_point``
    A per-point file (IRVE statique v2) where points at the same place each carry an
    ``id_station_itinerance`` of their own (no other point has it) while their ``nbre_pdc``
    says the station has more than one point: the station ids are per point.
``nbre_pdc_repeated``
    A station file (one row per station) where several rows at the same place, with the
    same ``id_station_local``, each repeat the place's ``nbre_pdc`` (every row says n, and
    there are at most n rows): the place has n points, not rows × n. They are shared out
    among its rows (each keeps at least one point; the first rows one more when n is not a
    multiple of the rows).

A physical station is the points at one place (coordinates rounded to
:data:`PLACE_DECIMALS` decimals of a degree, about 0.1 m) with the same ``id_station_local``
(empty and placeholders such as "Non concerné" count as none) and the same
``id_station_itinerance`` — except for the points flagged with one of the two defects above,
whose station id is not a station's: they are grouped by place and ``id_station_local``
only. ``ev_stations`` counts these physical stations.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from geocarbon.notices import Notice

#: Decimals of a degree to which two points are at the same place (1e-6° ≈ 0.1 m).
PLACE_DECIMALS = 6

#: ``id_station_local`` values that name no station (compared without case or accents).
LOCAL_ID_PLACEHOLDERS = frozenset(
    {"", "non concerne", "nc", "n/a", "na", "none", "null", "nan", "-", "0", "inconnu"}
)


def local_ids(values: pd.Series | None, n: int) -> np.ndarray:
    """``id_station_local`` cells as text, placeholders (:data:`LOCAL_ID_PLACEHOLDERS`) and
    empty cells as ``""``; all ``""`` without the column (``values`` None, ``n`` rows)."""
    if values is None:
        return np.full(n, "", dtype=object)
    text = values.astype("string").fillna("").str.strip().to_numpy(dtype=object)
    plain = [
        unicodedata.normalize("NFKD", str(v)).encode("ascii", "ignore").decode().lower()
        for v in text
    ]
    return np.array(
        ["" if p in LOCAL_ID_PLACEHOLDERS else v for v, p in zip(text, plain, strict=True)],
        dtype=object,
    )


def place_keys(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """A text key of each point's place (longitude and latitude [degrees] rounded to
    :data:`PLACE_DECIMALS` decimals); ``""`` without coordinates."""
    x = np.round(np.asarray(lon, dtype=float), PLACE_DECIMALS)
    y = np.round(np.asarray(lat, dtype=float), PLACE_DECIMALS)
    return np.array(
        [
            "" if np.isnan(a) or np.isnan(b) else f"{a:.6f} {b:.6f}"
            for a, b in zip(x, y, strict=True)
        ],
        dtype=object,
    )


def repeated_station_points(
    points: np.ndarray, usable: np.ndarray, place: np.ndarray, local: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Points of each station row once the rows repeating their place's ``nbre_pdc`` are
    counted once (see the module's ``nbre_pdc_repeated``).

    Parameters
    ----------
    points : ndarray of int
        Points each row declares (its usable ``nbre_pdc``).
    usable : ndarray of bool
        Rows whose ``nbre_pdc`` is a usable count (the others count one point, apart).
    place, local : ndarray of str
        Place key (:func:`place_keys`, ``""``: none) and local id (:func:`local_ids`).

    Returns
    -------
    points : ndarray of int
        Points of each row [points]: a group of k rows each declaring n (2 ≤ k ≤ n) holds n
        points, n // k per row and one more for its first n % k rows.
    repeated : ndarray of bool
        Rows of such groups.

    Examples
    --------
    >>> pts, rep = repeated_station_points(
    ...     np.array([3, 3, 3, 2]), np.ones(4, bool), np.array(["a", "a", "a", "b"]),
    ...     np.array(["", "", "", ""]))
    >>> pts.tolist(), rep.tolist()
    ([1, 1, 1, 2], [True, True, True, False])
    """
    out = np.asarray(points, dtype=np.int64).copy()
    frame = pd.DataFrame({"n": out, "place": place, "local": local})
    frame = frame[np.asarray(usable, dtype=bool) & (frame["place"] != "").to_numpy()]
    groups = frame.groupby(["place", "local"], sort=False)["n"]
    k = groups.transform("size")
    low, high = groups.transform("min"), groups.transform("max")
    hit = (k >= 2) & (low == high) & (low >= 2) & (k <= low)
    rank = frame.groupby(["place", "local"], sort=False).cumcount()
    share = frame["n"] // k + (rank < frame["n"] % k).astype(np.int64)
    rows = frame.index[hit].to_numpy()
    out[rows] = share[hit].to_numpy(dtype=np.int64)
    repeated = np.zeros(len(out), dtype=bool)
    repeated[rows] = True
    return out, repeated


def repeated_notice(
    declared: np.ndarray, kept: np.ndarray, repeated: np.ndarray, place: np.ndarray, ids: np.ndarray,
    source: str,
) -> list[Notice]:  # fmt: skip
    """The notice of the station rows flagged ``nbre_pdc_repeated`` (``declared`` and
    ``kept``: points of each row before and after; ``place``: place keys; ``ids``: station
    ids), with the points removed; none when no row is."""
    if not repeated.any():
        return []
    places = pd.unique(place[repeated])
    items = [
        f"{', '.join(map(str, ids[repeated & (place == p)]))}: "
        f"{int(declared[repeated & (place == p)].sum())} → {int(kept[repeated & (place == p)].sum())}"
        for p in places
    ]
    before, after = int(declared[repeated].sum()), int(kept[repeated].sum())
    return [
        Notice(
            "charging_nbre_pdc_repeated",
            f"charging points: {source}: {int(repeated.sum())} station rows at {len(places)} "
            "places repeat their place's 'nbre_pdc' (rows at the same place and with the same "
            "id_station_local, each declaring the same n points, no more rows than n): each "
            f"place counts n points, not rows × n: {before - after} points removed ({before} "
            f"declared, {after} kept), rows flagged nbre_pdc_repeated; give each station's own "
            "number of points in 'nbre_pdc'",
            items,
            facts={
                "source": str(source),
                "n_rows": int(repeated.sum()),
                "n_places": len(places),
                "points_declared": before,
                "points_kept": after,
                "points_removed": before - after,
            },
        )
    ]


def station_id_per_point(
    point_id: np.ndarray, station_id: np.ndarray, declared: np.ndarray, place: np.ndarray,
    local: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Which points carry a station id of their own at a place shared with other such
    points, while their ``nbre_pdc`` (``declared``; NaN: not given) says their station has
    more than one point (see the module's ``station_id_per_point``).

    Returns
    -------
    ndarray of bool
    """
    frame = pd.DataFrame(
        {"pid": point_id, "sid": station_id, "n": declared, "place": place, "local": local}
    )
    points_of_id = frame.groupby("sid")["pid"].transform("nunique")
    own = (points_of_id == 1) & (frame["sid"] != "") & (frame["place"] != "") & (frame["n"] > 1)
    mask = np.zeros(len(frame), dtype=bool)
    if own.any():
        ids_here = frame[own].groupby(["place", "local"])["sid"].transform("nunique")
        mask[np.flatnonzero(own.to_numpy())] = (ids_here >= 2).to_numpy()
    return mask


def physical_stations(
    station_id: np.ndarray, place: np.ndarray, local: np.ndarray, by_place: np.ndarray
) -> np.ndarray:
    """Number (1, 2, …, in the order of the file) of each point's physical station: same
    place, same local id and same station id; for the points ``by_place`` (flagged
    ``station_id_per_point`` or ``nbre_pdc_repeated``) same place and local id only.
    Points without a place are grouped by station id alone."""
    sid = np.where(np.asarray(by_place, dtype=bool), "", np.asarray(station_id, dtype=object))
    keys = [f"{p}\x1f{lo}\x1f{s}" for p, lo, s in zip(place, local, sid, strict=True)]
    codes, _ = pd.factorize(pd.Series(keys, dtype=object), sort=False)
    return codes.astype(np.int64) + 1


def station_id_notice(points: pd.DataFrame, source: str) -> list[Notice]:
    """The notice of the points flagged ``station_id_per_point`` (``points``: the cleaned
    points with ``station_id``, ``physical_station`` and ``qa_flags``); none when no point
    is."""
    flagged = points["qa_flags"].astype(str).str.contains("station_id_per_point").to_numpy()
    if not flagged.any():
        return []
    ids = int(points.loc[flagged, "station_id"].nunique())
    stations = int(points.loc[flagged, "physical_station"].nunique())
    return [
        Notice(
            "charging_station_id_per_point",
            f"charging points: {source}: {int(flagged.sum())} points carry an "
            "id_station_itinerance of their own at a place shared with other such points, "
            "while 'nbre_pdc' says their station has more than one point: the station ids "
            f"are per point. They are counted as stations by place and id_station_local: "
            f"{ids} station ids make {stations} stations (flag station_id_per_point)",
            sorted(map(str, points.loc[flagged, "station_id"].unique()))[:50],
            facts={
                "source": str(source),
                "n_points": int(flagged.sum()),
                "n_station_ids": ids,
                "n_stations": stations,
            },
        )
    ]
