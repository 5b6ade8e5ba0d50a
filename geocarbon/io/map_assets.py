"""Scripts and styles of the interactive maps, shipped in ``geocarbon/maps_lib`` (package data).

The maps inline them, so that a map opens without network (see ``geocarbon/maps_lib/README.md``
for their versions and licences).
"""

from __future__ import annotations

import functools
import re
from importlib import resources

#: Files of ``geocarbon/maps_lib`` that maps may inline.
MAP_ASSETS = (
    "leaflet.js",
    "leaflet.css",
    "leaflet.markercluster.js",
    "MarkerCluster.css",
    "MarkerCluster.Default.css",
)

_SOURCE_MAP = re.compile(r"^\s*/[/*][#@] sourceMappingURL=.*$", re.MULTILINE)
_CLOSING_TAG = re.compile(r"</(script|style)", re.IGNORECASE)


@functools.cache
def read_map_asset(name: str) -> str:
    """Text of one shipped map library file, ready to be inlined in a ``<script>``/``<style>``.

    Parameters
    ----------
    name : str
        One of :data:`MAP_ASSETS`.

    Returns
    -------
    str
        The file's text without its source-map comment (the map file is not shipped).

    Raises
    ------
    ValueError
        Unknown name, or a file that would end its ``<script>``/``<style>`` element early
        (a damaged installation or a bad library update).
    """
    if name not in MAP_ASSETS:
        msg = f"unknown map asset {name!r}; known: {', '.join(MAP_ASSETS)}"
        raise ValueError(msg)
    text = resources.files("geocarbon").joinpath("maps_lib", name).read_text(encoding="utf-8")
    text = _SOURCE_MAP.sub("", text).rstrip() + "\n"
    if _CLOSING_TAG.search(text) or "<!--" in text:
        msg = f"map asset {name} holds '</script', '</style' or '<!--' and cannot be inlined"
        raise ValueError(msg)
    return text
