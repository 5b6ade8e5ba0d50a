"""Which IRVE file a table is, from its columns, and the versions read.

Read: the static schema v2 (``etalab/schema-irve``, one row per charging point) in its
versions 2.0 to 2.3 — their columns are the same (2.1 added the optional
``cable_t2_attache``; 2.2 moved the schema into the ``statique/`` folder of a data package
with a dynamic schema beside it; 2.3 accepts identifiers of any country prefix, ``FR…`` only
before), with the consolidated file's extra ``consolidated_*`` columns — and station tables
(one row per station: ``id_station_itinerance``, ``nbre_pdc``, ``Xlongitude`` /
``Ylatitude`` or a point geometry).

Refused with one message: the schema v1 (2018–2020: ``id_pdc``, ``puiss_max``), the v3
draft (AFIR identifiers, ``latitude`` / ``longitude`` in two columns instead of
``coordonneesXY``) and dynamic files (status of points: ``etat_pdc``, ``occupation_pdc``).
"""

from __future__ import annotations

from collections.abc import Iterable

from geocarbon.errors import InputError

#: Versions of the static schema read as ``irve_v2``.
SUPPORTED = "IRVE statique v2.0 to v2.3 (one row per point: 'id_pdc_itinerance', 'coordonneesXY', 'puissance_nominale')"
_DYNAMIC = {"etat_pdc", "occupation_pdc", "horodatage", "etat_prise_type_2"}
_V1 = {"id_pdc", "puiss_max"}
_V3_IDS = {"id_pdc_itinerance", "id_station_itinerance", "id_pool", "id_evse", "evse_id"}


def irve_version(columns: Iterable[object]) -> str:
    """The IRVE file a table's columns make it.

    Returns
    -------
    str
        ``"2.1-2.3"`` (``coordonneesXY`` and ``cable_t2_attache``), ``"2.0"``
        (``coordonneesXY`` alone), ``"stations"`` (``id_station_itinerance`` and
        ``nbre_pdc`` without ``coordonneesXY``), ``"1"``, ``"3 (draft)"``, ``"dynamic"``, or
        ``"unknown"``.

    Examples
    --------
    >>> irve_version(["id_pdc_itinerance", "coordonneesXY", "puissance_nominale"])
    '2.0'
    >>> irve_version(["id_pdc_itinerance", "latitude", "longitude", "puissance_nominale"])
    '3 (draft)'
    """
    names = {str(c).strip() for c in columns}
    low = {n.lower() for n in names}
    if "coordonneesXY" in names:
        return "2.1-2.3" if "cable_t2_attache" in low else "2.0"
    if low & _DYNAMIC:
        return "dynamic"
    afir = any("afir" in n or "evse" in n for n in low)
    if afir or ({"latitude", "longitude"} <= low and low & _V3_IDS):
        return "3 (draft)"
    if low >= _V1:
        return "1"
    if {"id_station_itinerance", "nbre_pdc"} <= low:
        return "stations"
    return "unknown"


def check_irve_version(columns: Iterable[object], source: str) -> str:
    """The version of :func:`irve_version`, or one :class:`InputError` for a file that is
    not read (v1, v3 draft, dynamic) saying which was detected and what is read."""
    cols = [str(c) for c in columns]
    version = irve_version(cols)
    if version not in ("1", "3 (draft)", "dynamic"):
        return version
    what = {
        "1": "the IRVE schema v1 (2018-2020: 'id_pdc', 'puiss_max')",
        "3 (draft)": "the IRVE schema v3 draft (AFIR identifiers, 'latitude' / 'longitude' "
        "columns instead of 'coordonneesXY')",
        "dynamic": "a dynamic IRVE file (the status of points: 'etat_pdc', "
        "'occupation_pdc'), not the static one",
    }[version]
    msg = (
        f"charging points: {source} is {what}; columns: {', '.join(cols[:15])}. Read are "
        f"{SUPPORTED} and station tables ('id_station_itinerance', 'nbre_pdc', 'Xlongitude' / "
        "'Ylatitude' or a point geometry). Give the static file in schema v2 (the "
        "consolidated IRVE file of data.gouv.fr is one), or convert this one to it"
    )
    raise InputError(msg)
