"""Display names: one table of what every id means to a reader, in French and in English.

Reports, spreadsheets, map legends and QGIS styles take their labels from here, never from
raw ids (``forest_broadleaf``, ``ev_pop_share_within_5km``). French uses the vocabulary of
climate plans (PCAET) and of ADEME's ALDO tool.
"""

from __future__ import annotations

import re
from typing import Literal

from geocarbon.io.text_tables import text_table

Language = Literal["fr", "en"]

#: id → (French, English). Units go in :data:`UNITS`, not in the names.
#: (``geocarbon/texts/names.csv``, which translators edit)
NAMES: dict[str, tuple[str, str]] = text_table("names")

#: id → unit, as written after a label ("Flux net (tCO2e/an)").
#: (``geocarbon/texts/units.csv``, which translators edit)
UNITS: dict[str, tuple[str, str]] = text_table("units")

#: Population share columns (``ev_pop_share_within_500m``, ``..._1.5km_fast``): distance,
#: unit (metres below 1 km, kilometres from 1 km), fast.
_SHARE_WITHIN = re.compile(r"ev_pop_share_within_(\d+(?:\.\d+)?)(m|km)(_fast)?$")


def label(key: str, language: Language = "fr", *, unit: bool = False) -> str:
    """What ``key`` means to a reader, in ``language`` (with its unit when ``unit``).

    Unknown ids are returned readable ("some_id" → "Some id"), never raw.

    Examples
    --------
    >>> label("other_soils")
    'Autres sols'
    >>> label("total", "en", unit=True)
    'Total (tCO2e/yr)'
    >>> label("ev_pop_share_within_5km", "en")
    'Population within 5 km of a point'
    >>> label("ev_pop_share_within_500m_fast")
    "Population à moins de 500 m d'un point rapide"
    """
    i = 0 if language == "fr" else 1
    match = _SHARE_WITHIN.match(key)
    if key in NAMES:
        text = NAMES[key][i]
    elif match:
        value, unit_name, fast = match.group(1), match.group(2), match.group(3)
        text = (
            f"Population à moins de {value.replace('.', ',')} {unit_name} d'un point"
            + (" rapide" if fast else "")
            if language == "fr"
            else f"Population within {value} {unit_name} of a"
            + (" fast" if fast else "")
            + " point"
        )
    else:
        text = key.replace("_", " ").strip().capitalize()
    if unit and key in UNITS:
        text += f" ({UNITS[key][i]})"
    return text

#: Fixed reasons why a building carries no panels (``excluded_reason`` of the PV buildings;
#: the GeoPackage keeps these English values) → (French, English) display names.
#: (``geocarbon/texts/exclusion_reasons.csv``, which translators edit)
EXCLUSION_REASONS: dict[str, tuple[str, str]] = text_table("exclusion_reasons")

#: Reasons with a number (``"usable roof area below 10 m²"``) → (French, English) template.
_EXCLUSION_PATTERNS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (
        re.compile(r"^usable roof area below (\S+) m²$"),
        "surface de toit utilisable inférieure à {} m²",
        "usable roof area below {} m²",
    ),
    (
        re.compile(r"^implausible height \(over (\S+) m\)$"),
        "hauteur invraisemblable (plus de {} m)",
        "implausible height (over {} m)",
    ),
    (
        re.compile(r"^implausible footprint \(over (\S+) ha\)$"),
        "emprise invraisemblable (plus de {} ha)",
        "implausible footprint (over {} ha)",
    ),
)

#: QA flags of the charging points (``qa_flags``, semicolon-separated ids) → (French, English).
#: (``geocarbon/texts/qa_flags.csv``, which translators edit)
QA_FLAGS: dict[str, tuple[str, str]] = text_table("qa_flags")


def reason_label(value: str, language: Language = "fr") -> str:
    """What an ``excluded_reason`` value or a QA flag id says to a reader, in ``language``.

    Fixed reasons and flags are translated; any other value (a reason the user wrote in
    the pipeline for an exclusion zone) is returned as written.

    Examples
    --------
    >>> reason_label("usable roof area below 10 m²")
    'surface de toit utilisable inférieure à 10 m²'
    >>> reason_label("lat_lon_swapped", "en")
    'latitude and longitude swapped (corrected)'
    >>> reason_label("Site classé")
    'Site classé'
    """
    i = 0 if language == "fr" else 1
    if value in EXCLUSION_REASONS:
        return EXCLUSION_REASONS[value][i]
    if value in QA_FLAGS:
        return QA_FLAGS[value][i]
    for pattern, french, english in _EXCLUSION_PATTERNS:
        match = pattern.match(value)
        if match:
            return (french if i == 0 else english).format(match.group(1))
    return value


def flags_label(flags: str, language: Language = "fr") -> str:
    """A ``qa_flags`` value (ids separated by ``;``) as display names separated by ``; ``.

    Examples
    --------
    >>> flags_label("power_in_watts;lat_lon_swapped", "en")
    'power given in watts (converted to kW); latitude and longitude swapped (corrected)'
    """
    return "; ".join(reason_label(f, language) for f in str(flags).split(";") if f)
