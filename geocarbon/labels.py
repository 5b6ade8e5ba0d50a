"""Display names: one table of what every id means to a reader, in French and in English.

Reports, spreadsheets, map legends and QGIS styles take their labels from here, never from
raw ids (``forest_broadleaf``, ``ev_pop_share_within_5km``). French uses the vocabulary of
climate plans (PCAET) and of ADEME's ALDO tool.
"""

from __future__ import annotations

import re
from typing import Literal

Language = Literal["fr", "en"]

#: id → (French, English). Units go in :data:`UNITS`, not in the names.
NAMES: dict[str, tuple[str, str]] = {
    # levels and keys
    "commune": ("Commune", "Commune"),
    "epci": ("EPCI", "EPCI"),
    "territory": ("Territoire", "Territory"),
    "level": ("Niveau", "Level"),
    "code": ("Code", "Code"),
    "name": ("Nom", "Name"),
    "period": ("Période", "Period"),
    "commune_code": ("Code INSEE", "INSEE code"),
    "commune_name": ("Commune", "Commune"),
    "epci_code": ("SIREN de l'EPCI", "EPCI SIREN code"),
    "epci_name": ("EPCI", "EPCI"),
    "area_ha": ("Surface", "Area"),
    "population": ("Population", "Population"),
    # PCAET deposit categories (sequestration)
    "forest": ("Forêt", "Forest"),
    "agricultural_soils": ("Sols agricoles", "Agricultural soils"),
    "other_soils": ("Autres sols", "Other soils"),
    "wood_products": ("Produits bois", "Wood products"),
    "total": ("Total", "Total"),
    # coverage
    "landcover_covered_share": (
        "Part couverte par l'occupation du sol",
        "Share covered by land cover",
    ),
    "landcover_before_covered_share": (
        "Part couverte par l'occupation du sol initiale",
        "Share covered by the start-date land cover",
    ),
    "pv_covered_share": ("Part couverte par les bâtiments", "Share covered by building data"),
    "population_covered_share": (
        "Part couverte par la grille de population",
        "Share covered by the population grid",
    ),
    "communes_in_run": ("Communes calculées", "Communes in the run"),
    "communes_in_epci": ("Communes de l'EPCI", "Communes of the EPCI"),
    "communes_with_data": ("Communes avec données", "Communes with data"),
    "complete": ("Complet", "Complete"),
    "coverage_note": ("Couverture", "Coverage"),
    "carbon_complete": ("Carbone calculé", "Carbon computed"),
    # land-use categories (ALDO's names in French)
    "cropland": ("Cultures", "Cropland"),
    "grassland_herbaceous": ("Prairies zones herbacées", "Grassland, herbaceous"),
    "grassland_shrubby": ("Prairies zones arbustives", "Grassland, shrubby"),
    "grassland_wooded": ("Prairies zones arborées", "Grassland, wooded"),
    "wetland": ("Zones humides", "Wetlands"),
    "orchard": ("Vergers", "Orchards"),
    "vineyard": ("Vignes", "Vineyards"),
    "artificial": ("Sols artificiels", "Artificial land"),
    "artificial_sealed": ("Sols artificiels imperméabilisés", "Artificial land, sealed"),
    "artificial_grassed": ("Sols artificiels enherbés et arbustifs", "Artificial land, grassed"),
    "artificial_wooded": ("Sols artificiels arborés et buissonnants", "Artificial land, wooded"),
    "forest_broadleaf": ("Forêt de feuillus", "Broadleaf forest"),
    "forest_conifer": ("Forêt de conifères", "Conifer forest"),
    "forest_mixed": ("Forêt mixte", "Mixed forest"),
    "forest_poplar": ("Peupleraies", "Poplar stands"),
    "no_stock": ("Sans stock (roches, sols nus)", "No stock (rock, bare soil)"),
    # carbon pools
    "soil": ("Sol 0–30 cm", "Soil 0–30 cm"),
    "litter": ("Litière", "Litter"),
    "live_biomass": ("Biomasse vivante", "Live biomass"),
    "dead_wood": ("Bois mort", "Dead wood"),
    # stocks and flows
    "stock_tc": ("Stock de carbone", "Carbon stock"),
    "stock_tc_per_ha": ("Densité de carbone", "Carbon density"),
    "flow_tco2e_per_yr": ("Flux net", "Net flow"),
    "landuse_change": ("Changement d'occupation des sols", "Land-use change"),
    "forest_growth": ("Croissance forestière", "Forest growth"),
    "n2o": ("N2O des sols", "Soil N2O"),
    # rooftop PV
    "pv_buildings": ("Bâtiments", "Buildings"),
    "pv_kwp": ("Puissance potentielle", "Potential power"),
    "pv_mwp": ("Puissance potentielle", "Potential power"),
    "pv_mwh_per_yr": ("Production potentielle", "Potential production"),
    "flat": ("Toit plat", "Flat roof"),
    "pitched": ("Toit en pente", "Pitched roof"),
    "unknown": ("Forme inconnue", "Unknown form"),
    # charging
    "ev_stations": ("Stations de recharge", "Charging stations"),
    "ev_points": ("Points de recharge", "Charging points"),
    "ev_kw": ("Puissance installée", "Installed power"),
    "ev_points_per_100k_inhab": ("Points pour 100 000 habitants", "Points per 100,000 inhabitants"),
    # the territory report
    "category": ("Occupation du sol", "Land use"),
    "landcover_area_ha": ("Surface couverte par l'occupation du sol", "Area with land cover"),
    "stock_soil_tc": ("Sol 0–30 cm", "Soil 0–30 cm"),
    "stock_litter_tc": ("Litière", "Litter"),
    "stock_live_biomass_tc": ("Biomasse vivante", "Live biomass"),
    "stock_dead_wood_tc": ("Bois mort", "Dead wood"),
    "pv_group": ("Catégorie de bâtiments", "Building group"),
    "large_roofs": ("Grandes toitures (au-delà du seuil)", "Large roofs (above the threshold)"),
    "pv_buildings_with_potential": ("Bâtiments équipables", "Buildings with potential"),
    "pv_usable_m2": ("Surface de toit utilisable", "Usable roof area"),
    "pv_kwp_per_inhab": ("Puissance potentielle par habitant", "Potential power per inhabitant"),
    "pv_case": ("Cas", "Case"),
    "tilt_deg": ("Inclinaison", "Tilt"),
    "azimuth_deg_text": ("Orientation (degrés, 180 = sud)", "Azimuth (degrees, 180 = south)"),
    "kwh_per_kwp": ("Productible", "Yield"),
    "all": ("Tous les bâtiments", "All buildings"),
    "public_buildings": ("Bâtiments publics", "Public buildings"),
    "reference_south": ("Référence plein sud", "Reference, facing south"),
    "public_roofs_equipped_share": ("Part des toits publics équipés", "Share of public roofs equipped"),
    "ev_mean_distance_m": ("Distance moyenne au point le plus proche", "Mean distance to the nearest point"),
    "ev_kw_per_bev": ("Puissance par véhicule électrique", "Power per battery electric vehicle"),
    "communes_covered_share": ("Part des communes avec un point", "Share of communes with a point"),
    "points": ("Points de recharge", "Charging points"),
    "points_per_100k_inhab": ("Points pour 100 000 habitants", "Points per 100,000 inhabitants"),
    "kw_per_bev": ("Puissance par véhicule électrique", "Power per battery electric vehicle"),
    "pop_share_within_5km": ("Population à moins de 5 km d'un point", "Population within 5 km of a point"),
    # layers of the GeoPackage and rasters (QGIS styles)
    "kwh_per_yr": ("Production potentielle", "Potential production"),
    "power_kw": ("Puissance", "Power"),
    "distance_m": ("Distance au point de recharge", "Distance to a charging point"),
    "stock_change_tc_per_ha": ("Variation de la densité de carbone", "Change in carbon density"),
    # the calculator deliverable (sequestration.xlsx, sequestration_fr.csv)
    "sequestration_title": ("Séquestration nette de carbone", "Net carbon sequestration"),
    "readme": ("Lisez-moi", "Read me"),
    "communes": ("Communes", "Communes"),
    "yes": ("Oui", "Yes"),
    "no": ("Non", "No"),
    "sign_convention": ("Convention de signe", "Sign convention"),
    "sign_short": ("positif = séquestration", "positive = sequestration"),
    "unit": ("Unité", "Unit"),
    "coefficient_set": ("Jeu de coefficients", "Coefficient set"),
    "method": ("Méthode", "Method"),
    "coverage": ("Couverture des données", "Data coverage"),
    "rounding": ("Arrondis", "Rounding"),
    "run_date": ("Fichiers d'entrée modifiés au plus tard le", "Input files last modified on"),
    "data_vintage": ("Millésime des données", "Data vintage"),
    "sheets": ("Feuilles", "Sheets"),
    "machine_file": ("Fichier pour les logiciels", "Machine-readable file"),
    "produced_by": ("Produit par", "Produced by"),
    # the interactive maps (geocarbon.maps and the map of each step)
    "map_stocks_title": (
        "stocks de carbone (sol 0–30 cm, litière, biomasse, bois mort)",
        "carbon stocks (soil 0–30 cm, litter, biomass, dead wood)",
    ),
    "map_flows_title": ("flux de carbone", "carbon flows"),
    "sign_long": (
        "positif = séquestration, négatif = émission",
        "positive = sequestration, negative = emission",
    ),
    "map_pv_title": ("potentiel photovoltaïque en toiture", "rooftop photovoltaic potential"),
    "map_charging_title": ("points de recharge publics", "public charging points"),
    "map_background": (
        "Fond de carte (OpenStreetMap, nécessite le réseau)",
        "Background map (OpenStreetMap, needs network)",
    ),
    "map_offline_note": (
        "Fond de carte non chargé (pas de réseau) : les couches sont affichées sur un fond uni.",
        "Background map not loaded (no network): layers are shown on a plain background.",
    ),
    "no_data": ("pas de donnée", "no data"),
    "no_change_note": ("aucune variation (toutes les valeurs sont nulles)", "no change (every value is 0)"),
    "single_value_note": ("toutes les valeurs sont égales", "every value is equal"),
    "flow_harvest_scenario_effect_tco2e_per_yr": ("Effet de la récolte", "Effect of harvest"),
    "hotspots": (
        "Points chauds de changement d'usage des sols (tC/ha)",
        "Land-use change hot spots (stock change, tC/ha)",
    ),
    "change_class": ("Variation", "Change"),
    "hotspot_loss_high": ("perte de plus de 50 tC/ha", "loss over 50 tC/ha"),
    "hotspot_loss": ("perte de 10 à 50 tC/ha", "loss 10–50 tC/ha"),
    "hotspot_gain": ("gain de 10 à 50 tC/ha", "gain 10–50 tC/ha"),
    "hotspot_gain_high": ("gain de plus de 50 tC/ha", "gain over 50 tC/ha"),
    "pv_buildings_map": (
        "Bâtiments par production photovoltaïque",
        "Buildings by rooftop PV energy",
    ),
    "largest_producers": ("plus gros producteurs", "largest producers"),
    "pv_class_under_5": ("moins de 5 MWh/an", "under 5 MWh/yr"),
    "pv_class_5_20": ("5 à 20 MWh/an", "5–20 MWh/yr"),
    "pv_class_20_100": ("20 à 100 MWh/an", "20–100 MWh/yr"),
    "pv_class_over_100": ("plus de 100 MWh/an", "over 100 MWh/yr"),
    "no_potential": ("sans potentiel", "no potential"),
    "building_id": ("Bâtiment", "Building"),
    "usage": ("Usage", "Usage"),
    "roof_type": ("Toiture", "Roof"),
    "usable_m2": ("Surface utilisable", "Usable area"),
    "kwp": ("Puissance", "Power"),
    "mwh_per_yr": ("Production", "Production"),
    "excluded_reason": ("Exclusion", "Excluded"),
    "population_by_distance": (
        "Population selon la distance au point de recharge",
        "Population by distance to a charging point",
    ),
    "access_within_1km": ("à moins de 1 km", "within 1 km"),
    "access_1_5km": ("de 1 à 5 km", "1–5 km"),
    "access_5km_more": ("5 km et plus", "5 km and more"),
    "white_zone": ("zone blanche", "white zone"),
    "distance_km": ("Distance", "Distance"),
    "ev_kw_known_power": ("Puissance des points de puissance connue", "Power of the points of known power"),
    "ev_points_power_unknown": ("Points de puissance inconnue", "Points of unknown power"),
    "point_id": ("Point", "Point"),
    "station_id": ("Station", "Station"),
    "power": ("Puissance", "Power"),
    "qa_flags": ("Contrôles qualité", "QA flags"),
    "power_unknown": ("puissance inconnue", "power unknown"),
    "epci_siren": ("Code SIREN", "SIREN code"),
    "ev_points_per_commune": ("Points de recharge par commune", "Charging points per commune"),
}

#: id → unit, as written after a label ("Flux net (tCO2e/an)").
UNITS: dict[str, tuple[str, str]] = {
    "area_ha": ("ha", "ha"),
    "forest": ("tCO2e/an", "tCO2e/yr"),
    "agricultural_soils": ("tCO2e/an", "tCO2e/yr"),
    "other_soils": ("tCO2e/an", "tCO2e/yr"),
    "wood_products": ("tCO2e/an", "tCO2e/yr"),
    "total": ("tCO2e/an", "tCO2e/yr"),
    "stock_tc": ("tC", "tC"),
    "stock_tc_per_ha": ("tC/ha", "tC/ha"),
    "flow_tco2e_per_yr": ("tCO2e/an", "tCO2e/yr"),
    "pv_kwp": ("kWc", "kWp"),
    "pv_mwp": ("MWc", "MWp"),
    "pv_mwh_per_yr": ("MWh/an", "MWh/yr"),
    "ev_kw": ("kW", "kW"),
    "landcover_area_ha": ("ha", "ha"),
    "stock_soil_tc": ("tC", "tC"),
    "stock_litter_tc": ("tC", "tC"),
    "stock_live_biomass_tc": ("tC", "tC"),
    "stock_dead_wood_tc": ("tC", "tC"),
    "pv_usable_m2": ("m²", "m²"),
    "pv_kwp_per_inhab": ("kWc/hab.", "kWp/inhab."),
    "tilt_deg": ("°", "°"),
    "kwh_per_kwp": ("kWh/kWc/an", "kWh/kWp/yr"),
    "ev_mean_distance_m": ("m", "m"),
    "ev_kw_per_bev": ("kW/VE", "kW/BEV"),
    "kw_per_bev": ("kW/VE", "kW/BEV"),
    "kwh_per_yr": ("kWh/an", "kWh/yr"),
    "power_kw": ("kW", "kW"),
    "distance_m": ("m", "m"),
    "stock_change_tc_per_ha": ("tC/ha", "tC/ha"),
    "flow_harvest_scenario_effect_tco2e_per_yr": ("tCO2e/an", "tCO2e/yr"),
    "usable_m2": ("m²", "m²"),
    "kwp": ("kWc", "kWp"),
    "mwh_per_yr": ("MWh/an", "MWh/yr"),
    "distance_km": ("km", "km"),
    "ev_kw_known_power": ("kW", "kW"),
}

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
EXCLUSION_REASONS: dict[str, tuple[str, str]] = {
    "duplicate building id (corrupt record?)": (
        "identifiant de bâtiment en double (enregistrement corrompu ?)",
        "duplicate building id (corrupt record?)",
    ),
    "no geometry": ("pas de géométrie", "no geometry"),
    "not a polygon": ("pas un polygone", "not a polygon"),
    "invalid geometry that cannot be repaired": (
        "géométrie invalide impossible à réparer",
        "invalid geometry that cannot be repaired",
    ),
    "negative height": ("hauteur négative", "negative height"),
    "outside the communes": ("hors des communes", "outside the communes"),
    "existing installation": ("installation existante", "existing installation"),
    "outside the irradiation raster": (
        "hors du raster d'irradiation",
        "outside the irradiation raster",
    ),
}

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
QA_FLAGS: dict[str, tuple[str, str]] = {
    "coordinates_unparseable": ("coordonnées illisibles", "coordinates unreadable"),
    "coordinates_not_degrees": (
        "coordonnées qui ne sont pas des degrés",
        "coordinates not in degrees",
    ),
    "coordinates_columns_differ": (
        "colonnes de coordonnées différentes de la géométrie",
        "coordinate columns differ from the geometry",
    ),
    "lat_lon_swapped": ("latitude et longitude inversées (corrigées)", "latitude and longitude swapped (corrected)"),
    "connector_rows_merged": (
        "lignes de connecteurs fusionnées en un point",
        "connector rows merged into one point",
    ),
    "duplicate_point_id": ("identifiant de point en double", "duplicate point id"),
    "power_in_watts": ("puissance donnée en watts (convertie en kW)", "power given in watts (converted to kW)"),
    "power_unknown": ("puissance inconnue", "power unknown"),
    "power_implausible": ("puissance invraisemblable (ignorée)", "implausible power (ignored)"),
    "station_points_invalid": (
        "nombre de points de la station invalide (compté 1)",
        "invalid number of points of the station (counted as 1)",
    ),
    "station_points_implausible": (
        "nombre de points de la station invraisemblable (compté 1)",
        "implausible number of points of the station (counted as 1)",
    ),
    "outside_territory": ("hors du territoire", "outside the territory"),
    "declared_code_differs": (
        "code INSEE déclaré différent de la commune du point",
        "declared INSEE code differs from the point's commune",
    ),
    "declared_code_unknown": ("code INSEE déclaré inconnu", "declared INSEE code unknown"),
    "declared_code_is_postal": (
        "code postal de la commune déclaré comme code INSEE",
        "the commune's postal code declared as INSEE code",
    ),
    "station_id_per_point": (
        "identifiant de station propre à chaque point (stations comptées par lieu)",
        "station id per point (stations counted by place)",
    ),
    "nbre_pdc_repeated": (
        "nombre de points du lieu répété sur chaque ligne (comptés une fois)",
        "the place's nbre_pdc repeated on each row (points counted once)",
    ),
}


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
