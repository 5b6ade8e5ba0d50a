"""The text of each notice in the report's language.

A :class:`~geocarbon.notices.Notice` carries its English message (kept as it is in
``run.json`` and the log) and the ``facts`` that message states. This catalogue gives each
notice code a French template filled from those facts (``"{n_buildings:,} bâtiments …"``;
numbers are written the French way: ``1 361``, ``12,5 %``), and a French form of its items
where they hold words. :func:`notice_text` renders a notice in French or English.

A code missing here, or a template asking a fact its notice does not carry, falls back to
the English message (a test checks that every code of the package has its French text).
"""

from __future__ import annotations

import numbers
import re
import string
from collections.abc import Callable
from typing import Any

from geocarbon.labels import Language, label, reason_label
from geocarbon.notices import Notice

#: Items shown after a notice's text (the rest is counted).
ITEMS_SHOWN = 10

#: code → French template, filled from the notice's facts.
FRENCH: dict[str, str] = {
    # land cover and zones (zonal statistics, carbon)
    "landcover_exceeds_area": (
        "communes dont l'occupation du sol comptée dépasse la surface de plus de "
        "{excess_share:.0%} + {excess_pixels:g} pixel ({pixel_ha:,.2f} ha par pixel ; "
        "comptage au centre des pixels) : leurs stocks sont surestimés"
    ),
    "zonal_exact_difference": (
        "surfaces d'occupation du sol exactes (zonal.method : exact) différentes du comptage "
        "au centre des pixels dans {n_communes:,} communes : jusqu'à {max_abs_diff_ha:,.2f} ha "
        "({max_abs_commune}) et {max_rel_diff_share:.1%} ({max_rel_commune}) ; territoire "
        "{exact_total_ha:,.1f} ha exacts, {centre_total_ha:,.1f} ha au centre des pixels ; "
        "les surfaces exactes sont retenues"
    ),
    "commune_outside_raster": (
        "communes en partie ou entièrement hors du raster d'occupation du sol"
    ),
    "reference_missing": (
        "communes absentes de la table de référence pour {what} (pas de limites "
        "communales pour prendre la valeur des voisines) : sans coefficients, leurs "
        "résultats sont laissés vides"
    ),
    "start_date_nodata": (
        "{area_ha:,.1f} ha ont une occupation du sol à la date de fin mais aucune à la date "
        "de début : aucun changement n'y est compté"
    ),
    "changes_without_landcover": (
        "{area_ha:,.1f} ha de changement dans des communes dont l'occupation du sol n'est "
        "pas connue (ou pas assez) : aucun flux n'y est calculé, résultats laissés vides"
    ),
    "change_without_category": (
        "{area_ha:,.1f} ha de changement depuis ou vers des classes sans stock (roches, "
        "sable, zones incendiées, glaciers) ne portent aucun flux, comme dans ALDO"
    ),
    "wood_products_not_computed": (
        "les produits bois demandent les parts régionales bois d'œuvre / bois d'industrie "
        "des tables ALDO ; non calculés avec le jeu de coefficients générique : les "
        "résultats des produits bois sont vides et le flux net somme les autres catégories"
    ),
    "harvest_scenario": (
        "récolte × {harvest_factor:g} : la croissance forestière et les produits bois "
        "varient de {effect_tco2e_per_yr:,.0f} tCO2e/an sur le territoire (colonne "
        "flow_harvest_scenario_effect_tco2e_per_yr)"
    ),
    "commune_without_pixel": (
        "communes ne contenant aucun centre de pixel du raster d'occupation du sol (plus "
        "petites qu'un pixel ou hors du raster) : ni occupation du sol, ni stock"
    ),
    "area_rows_summed": (
        "{n_rows:,} lignes de {source} répètent une zone et un code déjà donnés : leurs "
        "surfaces sont additionnées"
    ),
    "epci_areas_partial": (
        "les surfaces sont données par EPCI, et le calcul ne contient qu'une partie de ces "
        "EPCI (le territoire les coupe, ou la couche des communes n'a pas toutes leurs "
        "communes) : leurs résultats sont laissés vides, jamais mêlés à la partie calculée"
    ),
    "area_rows_outside_territory": (
        "{n_zones:,} {zones} de {source} sont hors du territoire et ont été écartées"
    ),
    "zone_without_areas": (
        "{zones} du calcul absentes de {source} : sans occupation du sol, résultats laissés vides"
    ),
    "start_date_low_coverage": (
        "communes couvertes à moins de {coverage_min:.0%} par l'occupation du sol à la "
        "date de début : aucun changement n'y est mesurable, leurs stocks et flux sont "
        "laissés vides (landcover_before_covered_share)"
    ),
    "commune_low_coverage": (
        "{zones} couvertes à moins de {coverage_min:.0%} par une occupation du sol "
        "valide : leurs stocks et flux sont laissés vides (landcover_covered_share donne "
        "la part couverte)"
    ),
    "zone_without_coefficients": (
        "zones sans stocks de référence (un EPCI auquel aucune commune de la table des "
        "communes n'appartient, ou des communes absentes des tables de coefficients) : "
        "résultats laissés vides"
    ),
    "forest_location_unmatched": (
        "localisation des forêts {where} : des codes ne correspondent à aucune ligne de "
        "l'inventaire forestier ({forest_table}) ; vérifiez les codes (p. ex. groupeser "
        "'A1', greco 'A')"
    ),
    "forest_location_missing": (
        "localisation des forêts {where} : {n_communes:,} communes du territoire n'y "
        "figurent pas (elles prennent le niveau régional, rad13)"
    ),
    "coefficient_override": "stocks de référence remplacés par le fichier de pipeline",
    "change_arrondissements": (
        "{n_rows:,} lignes de {source} donnent des arrondissements municipaux ; ils sont "
        "comptés dans leur commune (Paris 75056, Marseille 13055, Lyon 69123)"
    ),
    "no_change_recorded": (
        "{source} n'enregistre aucun changement pour les communes du territoire sur la "
        "période : le changement d'occupation des sols vaut 0 (un zéro mesuré, comme dans "
        "ALDO)"
    ),
    "changes_of_communes_missing_from_layer": (
        "{area_ha:,.1f} ha de changement dans des communes que la table des communes place "
        "dans des EPCI du calcul ne sont pas comptés : la couche des communes n'a pas ces "
        "communes (couche et table de millésimes différents, p. ex. communes fusionnées, "
        "ou couche découpée à la main) ; leurs EPCI sont signalés incomplets"
    ),
    "change_rows_outside_territory": (
        "{n_rows:,} lignes de {source} ({n_communes:,} communes) concernent des communes "
        "hors du territoire et ont été écartées"
    ),
    "change_area_missing": (
        "{n_rows:,} lignes de {source} n'ont pas de surface dans la colonne '{area_field}' "
        "(aucun changement enregistré) : écartées"
    ),
    # communes and territory
    "territory_selection": (
        "territoire : {n_selected:,} des {n_communes:,} communes de {source} retenues"
    ),
    "epci_partial": (
        "EPCI en partie seulement dans le calcul : leurs lignes somment les seules "
        "communes calculées et sont marquées complete = false (ce n'est pas le résultat de "
        "l'EPCI)"
    ),
    "commune_geometry_repaired": (
        "{n_communes:,} géométries de communes invalides ont été réparées (shapely make_valid)"
    ),
    "communes_overlap": (
        "des communes de {source} se chevauchent ; le sol de chaque chevauchement n'est "
        "compté que pour l'une des deux communes (corrigez les limites pour le partager)"
    ),
    "population_missing": (
        "communes sans population dans {source} (résultats par habitant laissés vides)"
    ),
    "commune_missing_from_table": (
        "communes absentes de {source} (ni EPCI ni population tirés de cette table ; codes "
        "d'un autre millésime ?)"
    ),
    "reference_fallback": (
        "communes absentes de la table de référence pour {what} : la valeur de leurs "
        "voisines est utilisée"
    ),
    "output_crs_area_of_use": (
        "output_crs {output_crs} est prévu pour {area_name} ({area_west:g}, "
        "{area_south:g}, {area_east:g}, {area_north:g}), pas pour ce territoire ({west:.2f}, "
        "{south:.2f}, {east:.2f}, {north:.2f}) : ses couches seront dessinées déformées "
        "(les résultats n'en sont pas affectés) ; choisissez un SCR du territoire (p. ex. "
        "EPSG:2154 en France métropolitaine)"
    ),
    # rooftop PV
    "building_duplicate_ids": (
        "{n_buildings:,} bâtiments partagent un identifiant dans '{id_field}' ; numérotés "
        "#1, #2… et sans panneaux"
    ),
    "building_geometry_repaired": (
        "{n_buildings:,} géométries de bâtiments invalides ont été réparées"
    ),
    "buildings_without_height": (
        "les bâtiments n'ont pas de champ de hauteur : hauteurs inconnues (elles ne servent "
        "qu'à écarter les bâtiments invraisemblables ; la forme des toits vient des altitudes "
        "de toit, pas des hauteurs)"
    ),
    "roof_form_unknown": (
        "{n_buildings:,} bâtiments sans altitudes de toit : forme de toit « inconnue » "
        "(part utilisable {usable_share:.0%}, productible des toits en pente d'orientation "
        "inconnue)"
    ),
    "existing_installations_off_buildings": (
        "{n_installations:,} installations existantes ne touchent aucun bâtiment{lost}"
    ),
    "buildings_layout": "bâtiments {source} : structure des champs {layout_label_fr}",
    "buildings_excluded": (
        "{n_buildings:,} bâtiments ne reçoivent pas de panneaux (voir le motif d'exclusion, "
        "excluded_reason)"
    ),
    "pv_no_building_data": (
        "les bâtiments {source} n'atteignent pas {n_communes:,} des {n_total:,} communes "
        "(aucun bâtiment, et moins de {coverage_min:.0%} de leur surface dans l'enveloppe "
        "convexe des bâtiments) : leurs résultats photovoltaïques sont vides (pas de "
        "donnée, pas 0)"
    ),
    "pv_partial_building_data": (
        "les bâtiments {source} ne couvrent qu'une partie de {n_communes:,} communes : leurs "
        "résultats somment les bâtiments présents et sont marqués pv_complete = false "
        "(pv_covered_share : part de la commune dans l'enveloppe convexe des bâtiments)"
    ),
    "buildings_off_irradiation_raster": (
        "{n_buildings:,} bâtiments sont hors du raster d'irradiation (ou sur une valeur "
        "absente) : pas de panneaux"
    ),
    "existing_kwp_unknown": (
        "{n_installations:,} installations existantes n'ont pas de valeur dans "
        "'{field}' : leur puissance est inconnue, comme la puissance existante de leurs "
        "communes (laissée vide)"
    ),
    "weather_irradiance_closure": (
        "météo {source} : DNI·cos(zénith) + DHI s'écarte de {closure_pct:+.1f} % du GHI sur les "
        "heures de jour ({hours_off:,} heures à plus de {hour_pct:.0f} %) : les productibles "
        "suivent le DNI et le DHI du fichier et peuvent s'écarter d'autant ; vérifier le fichier, "
        "en prendre un autre (par exemple un TMY de PVGIS) ou reconstruire le DNI à partir du GHI "
        "et du DHI (pv.weather.repair: dni_from_ghi)"
    ),
    "weather_dni_repaired": (
        "météo {source} : DNI reconstruit à partir du GHI et du DHI, (GHI − DHI) / cos(zénith) "
        "(pv.weather.repair: dni_from_ghi) ; l'écart DNI·cos(zénith) + DHI au GHI passe de "
        "{closure_pct:+.1f} % à {repaired_closure_pct:+.1f} % sur les heures de jour "
        "({hours_off:,} heures étaient à plus de {hour_pct:.0f} %)"
    ),
    "weather_site_far": (
        "la météo {source} a été relevée à {distance_km:,.0f} km du centre du territoire : "
        "les productibles suivent le climat de ce site"
    ),
    # charging points
    "charging_no_population_grid": (
        "pas de grille de population (charging.population) : distances et parts de "
        "population ne sont pas calculées ; les indicateurs par habitant utilisent la "
        "population des communes"
    ),
    "charging_unreachable_by_road": (
        "réseau routier {source} : {n_cells:,} carreaux peuplés ({population:,.0f} "
        "habitants) ne sont reliés à aucun point de recharge par ses routes (dans l'emprise "
        "du territoire élargie de {margin_km:g} km) : sans distance, ils comptent au-delà "
        "de toute distance et en zone blanche, et sont exclus de la distance moyenne"
    ),
    "charging_population_partial": (
        "le raster de population {source} couvre moins de {coverage_min:.0%} de "
        "{n_communes:,} des {n_total:,} communes : leurs indicateurs de population "
        "(ev_population_grid, ev_pop_share_*, ev_mean_distance_m, zones blanches) sont "
        "laissés vides, et les parts des EPCI et du territoire somment les seules communes "
        "couvertes (voir population_covered_share et coverage_note)"
    ),
    "charging_power_unknown": (
        "{n_unknown:,} des {n_points:,} points n'ont pas de puissance : ils peuvent être "
        "rapides ou non (rapide : ≥ {fast_kw:g} kW). fast_distance_m ne compte que les "
        "points de puissance connue ; une part de population à une distance d'un point "
        "rapide (ev_pop_share_within_<d>_fast) est laissée vide pour une commune, un EPCI "
        "ou le territoire où un carreau peuplé a un point de puissance inconnue à cette "
        "distance et aucun point rapide connu (voir unknown_power_distance_m)"
    ),
    "ev_fleet_duplicate": (
        "parc de véhicules électriques {source} : communes listées plusieurs fois ; leur "
        "première ligne est utilisée"
    ),
    "ev_fleet_unknown": (
        "parc de véhicules électriques {source} : {n_unknown:,} des {n_communes:,} communes "
        "absentes de la table ou de nombre vide : leur parc est inconnu ; elles sont exclues "
        "des sommes de véhicules et des kW par véhicule électrique (leurs kW aussi : les kW "
        "par véhicule des EPCI et du territoire n'utilisent que les communes de parc connu, "
        "voir ev_fleet_communes), et un objectif de kW par véhicule est marqué incomplet"
    ),
    "station_points_invalid": (
        "points de recharge : {source} : {n_stations:,} stations ont un 'nbre_pdc' qui n'est "
        "pas un nombre entier de points de 1 à {max_points:,} (vide, texte, 0, négatif, "
        "fractionnaire ou invraisemblable) : chacune compte pour un point, signalée "
        "station_points_invalid (ou station_points_implausible au-delà du plafond) ; "
        "écrivez le nombre de points de recharge de la station dans 'nbre_pdc'"
    ),
    "charging_nbre_pdc_repeated": (
        "points de recharge : {source} : {n_rows:,} lignes de stations en {n_places:,} lieux "
        "répètent le 'nbre_pdc' de leur lieu (lignes au même lieu et de même "
        "id_station_local, chacune déclarant les mêmes n points, pas plus de lignes que n) : "
        "chaque lieu compte n points, non lignes × n : {points_removed:,} points retirés "
        "({points_declared:,} déclarés, {points_kept:,} gardés), lignes signalées "
        "nbre_pdc_repeated ; donnez dans 'nbre_pdc' le nombre de points de chaque station"
    ),
    "charging_station_id_per_point": (
        "points de recharge : {source} : {n_points:,} points portent un id_station_itinerance "
        "propre, en un lieu partagé avec d'autres points dans ce cas, alors que 'nbre_pdc' "
        "donne plus d'un point à leur station : les identifiants de station sont par point. "
        "Les stations sont comptées par lieu et id_station_local : {n_station_ids:,} "
        "identifiants font {n_stations:,} stations (signalement station_id_per_point)"
    ),
    "postal_codes_missing_communes": (
        "codes postaux : {source} : {n_absent:,} des {n_communes:,} communes du calcul "
        "manquent dans la table : un code postal déclaré pour un point de ces communes est "
        "signalé declared_code_differs ou declared_code_unknown, non declared_code_is_postal"
    ),
    "charging_qa": (
        "points de recharge : {source} : {n_points:,} points lus, {n_inside:,} dans le "
        "territoire ; contrôles qualité (voir qa_flags des points de recharge)"
    ),
    "charging_coordinates_not_degrees": (
        "points de recharge : {source} : {n_points:,} points ont des coordonnées qui ne "
        "peuvent pas être des degrés de longitude / latitude (des mètres projetés ?) : ils "
        "ne sont situés dans aucune commune et comptés nulle part ; écrivez-les en degrés "
        "WGS84"
    ),
    "charging_coordinates_columns_differ": (
        "points de recharge : {source} : les colonnes 'Xlongitude' / 'Ylatitude' de "
        "{n_stations:,} stations diffèrent de leur géométrie (de plus de {tolerance_deg:g}°) "
        ": la géométrie, dans le SCR de la couche, est utilisée ; corrigez ou supprimez "
        "ces colonnes"
    ),
    "charging_no_point_in_territory": (
        "points de recharge : {source} : aucun des {n_points:,} points lus n'est dans le "
        "territoire (les {n_located:,} points situés vont des longitudes {min_lon:g} à "
        "{max_lon:g}, latitudes {min_lat:g} à {max_lat:g}) : chaque commune compte 0 point "
        "et chaque carreau peuplé est en zone blanche. Vérifiez que le fichier couvre le "
        "territoire"
    ),
    "population_cells_invalid": (
        "raster de population {source} : {n_cells:,} carreaux ont des valeurs négatives, "
        "infinies{limit} (pas une population ; un code de valeur absente non déclaré ?) : "
        "traitées comme sans donnée. Déclarez la valeur absente du raster (gdal_edit.py "
        "-a_nodata) pour ne plus voir cet avertissement"
    ),
    "population_cells_outside": (
        "{what} {source} : {n_cells:,} carreaux peuplés ({population:,.1f} habitants) "
        "chevauchent les communes sans que leur centre soit dans l'une d'elles : chaque "
        "carreau compte en entier dans la commune qui contient son centre, ceux-ci ne sont "
        "donc pas comptés ; à l'inverse, {n_cells_reaching_out:,} carreaux "
        "({population_reaching_out:,.1f} habitants) ont leur centre dans une commune, "
        "débordent des communes et comptent en entier"
    ),
    "road_network_not_lines": (
        "réseau routier {source} : {n_features:,} objets qui ne sont pas des lignes sont ignorés"
    ),
    "road_network_zero_length": (
        "réseau routier {source} : {n_lines:,} lignes de longueur nulle sont ignorées"
    ),
    # hedges and agricultural practices (carbon)
    "hedges_without_geometry": (
        "{n_features:,} objets de la couche de haies n'ont pas de géométrie : ils sont ignorés"
    ),
    "hedges_off_agricultural_land": (
        "{length_km:,.1f} km de haies sont sur des terres non agricoles ({by_category}) : "
        "longueur indiquée (hedge_length_other_km), aucun stock de haies compté (les arbres "
        "sous forêt ou terrain boisé sont dans la biomasse de cette occupation)"
    ),
    "hedges_outside_communes": (
        "{length_km:,.1f} km de haies sont hors des communes du territoire : non comptés"
    ),
    "hedges_default_carbon_per_km": (
        "{n_communes:,} communes prennent la valeur par défaut de {c_tot_tc_per_km:g} tC/km de "
        "haie (pas de valeur pour leur département, ou coefficients génériques) ; stock aérien "
        "laissé vide"
    ),
    "practice_area_over_land": (
        "pratique {practice} ({level} {code}) : {area_ha:,.1f} ha déclarés pour "
        "{available_ha:,.1f} ha de {applies_to} : potentiel calculé sur la surface déclarée, "
        "à vérifier"
    ),
    # the report
    "report_pdf_not_made": "report.pdf n'a pas été écrit : {why}",
}

#: French forms of the words the facts ``zones`` and ``what`` hold.
_WORDS_FR: dict[str, str] = {
    "communes": "communes",
    "EPCIs": "EPCI",
    "pedoclimatic zone": "la zone pédoclimatique",
    "region": "la région",
    "EPCI (commune table)": "l'EPCI (table des communes)",
    "EPCI": "l'EPCI",
    "population raster": "raster de population",
    "population grid": "grille de population",
}

#: Reasons a PDF is not written, in French (the report_pdf_not_made notice).
_PDF_WHY_FR: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"^no PDF engine.*$"),
        "aucun moteur PDF (Chromium sans interface) n'est installé ; installez le paquet "
        "« chromium », ou imprimez report.html depuis un navigateur (A4), ou écrivez "
        "report.pdf: false dans le pipeline pour ne plus voir cet avertissement",
    ),
    (
        re.compile(r"^(.*) did not print the report within (\S+) s$"),
        r"\1 n'a pas imprimé le rapport en \2 s ; imprimez report.html depuis un "
        "navigateur (A4)",
    ),
    (
        re.compile(r"^(.*) could not be started: (.*)$"),
        r"\1 n'a pas pu être lancé (\2) ; imprimez report.html depuis un navigateur (A4)",
    ),
    (
        re.compile(r"^(.*) wrote no PDF \((.*)\)$"),
        r"\1 n'a écrit aucun PDF (\2) ; imprimez report.html depuis un navigateur (A4)",
    ),
)


def french_number(value: Any, spec: str) -> str:
    """``value`` formatted with ``spec``, written the French way.

    Thousands are separated by a narrow no-break space, decimals by a comma, and a percent
    sign follows a no-break space.

    Examples
    --------
    >>> french_number(12345.678, ",.1f")
    '12\u202f345,7'
    >>> french_number(0.125, ".1%")
    '12,5\u00a0%'
    """
    text = format(value, spec)
    return (
        text.replace(",", "\x00")
        .replace(".", ",")
        .replace("\x00", "\u202f")
        .replace("%", "\u00a0%")
    )


class _FrenchFormatter(string.Formatter):
    """``str.format`` writing numbers the French way and words of :data:`_WORDS_FR`."""

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return str(format(value, format_spec))
        return french_number(value, format_spec)


def _french_words(text: str) -> str:
    """``"pedoclimatic zone (file)"`` → ``"zone pédoclimatique (file)"``."""
    for english, french in _WORDS_FR.items():
        if text == english or text.startswith(english + " ("):
            return french + text[len(english) :]
    return text


_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")


def _fr_numbers(text: str) -> str:
    """English numbers of an item ("1,234.5 ha", "12.5%") written the French way."""
    text = _THOUSANDS.sub("\u202f", text)
    text = re.sub(r"(?<=\d)\.(?=\d)", ",", text)
    return _PERCENT.sub(lambda m: m.group(1) + "\u00a0%", text)


def _covered(item: str) -> str:
    """``"46042 (52.3% covered)"`` → ``"46042 (couverte à 52,3 %)"``."""
    item = re.sub(r" \((\S+)% covered\)$", r" (couverte à \1%)", item)
    item = re.sub(r" \((\S+)% inside\)$", r" (\1% à l'intérieur)", item)
    return _fr_numbers(item)


def _counted(item: str, lang: Language) -> str:
    """``"reason or flag: count"`` with the reason or flag's display name."""
    what, sep, count = item.rpartition(": ")
    if not sep:
        return reason_label(item, lang)
    if lang == "en":
        return f"{reason_label(what, lang)}: {count}"
    shown = french_number(int(count), ",d") if count.isdigit() else count
    return f"{reason_label(what, lang)}\u00a0: {shown}"


#: Attributes of the buildings (items of the ``buildings_layout`` notice) in French.
_BUILDING_ROLES_FR = {
    "id": "identifiant",
    "height": "hauteur",
    "roof_min": "altitude minimale du toit",
    "roof_max": "altitude maximale du toit",
    "usage": "usage",
    "light": "construction légère",
    "state": "état",
    "levels": "nombre d'étages",
    "roof_height": "hauteur du toit",
    "roof_shape": "forme du toit",
}


def _building_role(item: str) -> str:
    role, _, name = item.partition(": ")
    return f"{_BUILDING_ROLES_FR.get(role, role)}\u00a0: {name}" if name else item


def _feature(item: str) -> str:
    return re.sub(r"^feature (\d+)$", r"objet \1", item)


def _line(item: str) -> str:
    return re.sub(r"^line (\d+) \(commune (.*)\)$", r"ligne \1 (commune \2)", item)


def _landcover_excess(item: str) -> str:
    item = re.sub(
        r"^(\S+) \((.*) ha of land cover for (.*) ha\)$",
        r"\1 (\2 ha d'occupation du sol pour \3 ha)",
        item,
    )
    return _fr_numbers(item)


def _exact_difference(item: str) -> str:
    item = re.sub(
        r"^(\S+) \((.*) ha exact; (.*) ha by cell centres: (.*)\)$",
        r"\1 (\2 ha exacts ; \3 ha au centre des pixels : \4)",
        item,
    )
    return _fr_numbers(item.replace("no exact area", "pas de surface exacte"))


def _epci_share(item: str) -> str:
    item = re.sub(r": (\d+) of (\d+) communes$", r" : \1 communes sur \2", item)
    return re.sub(
        r": (\d+) of an unknown number of \(no commune table\) communes$",
        r" : \1 communes sur un nombre inconnu (pas de table des communes)",
        item,
    )


def _fast_share(item: str) -> str:
    match = re.match(r"^(\S+): empty for (\d+) of (\d+) communes$", item)
    if not match:
        return item
    column, n, total = match.groups()
    return f"{label(column, 'fr')} : vide pour {n} des {total} communes"


def _fallback_regional(item: str) -> str:
    return re.sub(
        r"^(\d+) communes fall back to the regional level \(rad13\)$",
        r"\1 communes prennent le niveau régional (rad13)",
        item,
    )


#: code → French form of one item, where items hold words or English numbers.
FRENCH_ITEMS: dict[str, Callable[[str], str]] = {
    "landcover_exceeds_area": _landcover_excess,
    "zonal_exact_difference": _exact_difference,
    "commune_outside_raster": _covered,
    "charging_population_partial": _covered,
    "pv_partial_building_data": _covered,
    "start_date_low_coverage": _fr_numbers,
    "commune_low_coverage": _fr_numbers,
    "communes_overlap": _fr_numbers,
    "charging_power_unknown": _fast_share,
    "charging_qa": lambda item: _counted(item, "fr"),
    "charging_no_point_in_territory": lambda item: _counted(item, "fr"),
    "buildings_excluded": lambda item: _counted(item, "fr"),
    "buildings_layout": _building_role,
    "existing_installations_off_buildings": _feature,
    "existing_kwp_unknown": _feature,
    "change_area_missing": _line,
    "epci_partial": _epci_share,
    "forest_location_unmatched": _fallback_regional,
    "reference_fallback": lambda item: item.replace(" (neighbours)", " (voisines)"),
}

#: code → English form of one item, where items hold ids a reader should not see.
ENGLISH_ITEMS: dict[str, Callable[[str], str]] = {
    "charging_qa": lambda item: _counted(item, "en"),
    "charging_no_point_in_territory": lambda item: _counted(item, "en"),
}


def french_message(notice: Notice) -> str | None:
    """The French text of ``notice`` (without its items), or None when none can be made.

    None when the code has no template or the notice lacks a fact its template asks for
    (the English message is then shown).
    """
    template = FRENCH.get(notice.code)
    if template is None:
        return None
    facts = dict(notice.facts)
    for key in ("zones", "what"):
        if isinstance(facts.get(key), str):
            facts[key] = _french_words(facts[key])
    if notice.code == "report_pdf_not_made" and "why" in facts:
        why = str(facts["why"])
        for pattern, french in _PDF_WHY_FR:
            if pattern.match(why):
                facts["why"] = pattern.sub(french, why)
                break
    if notice.code == "existing_installations_off_buildings":
        lost = facts.get("lost_kwp")
        facts["lost"] = (
            ""
            if lost is None
            else f" (leurs {french_number(float(lost), ',.1f')} kWc ne sont pas comptés)"
        )
    if notice.code == "population_cells_invalid":
        ceiling = facts.get("ceiling_per_cell")
        density = facts.get("max_density_per_km2")
        facts["limit"] = (
            ""
            if ceiling is None or density is None
            else f", ou au-delà de {french_number(float(ceiling), ',.0f')} par carreau "
            f"({french_number(float(density), ',.0f')}/km²)"
        )
    try:
        return _FrenchFormatter().format(template, **facts)
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def notice_text(notice: Notice, lang: Language = "en") -> str:
    """What ``notice`` says to a reader in ``lang``, with its items (the first ten).

    English is the notice's own message; French is its template of :data:`FRENCH`
    filled from its facts, the English message when the notice has none.

    Parameters
    ----------
    notice : Notice
        The notice.
    lang : {"fr", "en"}
        Language of the text.

    Returns
    -------
    str
        ``"message: item, item (+N more)"``.
    """
    message = french_message(notice) if lang == "fr" else None
    french = message is not None
    if message is None:
        message = notice.message
    items = [str(i) for i in notice.items]
    shape = (FRENCH_ITEMS if french else ENGLISH_ITEMS).get(notice.code)
    shown = [shape(i) if shape else i for i in items[:ITEMS_SHOWN]]
    extra = len(items) - ITEMS_SHOWN
    if not shown:
        return message
    if french:
        more = f" (+{extra} autres)" if extra > 0 else ""
        return f"{message}\u00a0: {', '.join(shown)}{more}"
    more = f" (+{extra} more)" if extra > 0 else ""
    return f"{message}: {', '.join(shown)}{more}"
