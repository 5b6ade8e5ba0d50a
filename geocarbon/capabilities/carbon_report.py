"""The carbon sections of the territory report (built by :class:`geocarbon.report.ReportBuilder`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geocarbon import report_charts as charts
from geocarbon.capabilities.carbon_step import carbon_results
from geocarbon.carbon.flows import wood_products_shown
from geocarbon.carbon.hedges import DEFAULT_C_TOT_KM
from geocarbon.deliverables import coefficient_set
from geocarbon.io.text_tables import text_table
from geocarbon.labels import Language, label
from geocarbon.report import (
    FLOW_CHART_BARS,
    ReportBuilder,
    coverage_sentence,
    esc,
    figure,
    in_language,
    kpi,
    number,
    percent,
    phrase,
    table,
    with_names,
    without_paths,
)


def carbon_coverage(zones: pd.DataFrame, unit: str, lang: Language = "en") -> str:
    """What the carbon figures cover, in words (communes or EPCIs with data, area share)."""
    has = zones["carbon_complete"].astype(bool)
    text = (
        f"{phrase('cover', lang)} {number(int(has.sum()), lang)} {phrase('of_the', lang)} "
        f"{number(len(zones), lang)} {unit} {phrase('of_run', lang)}"
    )
    if "area_ha" in zones.columns and zones["area_ha"].notna().any():
        share = zones.loc[has, "area_ha"].sum() / zones["area_ha"].sum()
        text += f" ({percent(share, lang)} {phrase('of_area', lang)})"
    if has.all():
        return text + "."
    return text + "; " + phrase("cover_rest", lang)


def stocks_section(rep: ReportBuilder) -> None:
    r, lang = carbon_results(rep.r), rep.lang
    zones = r.zones if r.zones is not None else rep.r.communes
    unit = phrase("epcis", lang) if r.zones is not None else phrase("communes_word", lang)
    with_data = zones[zones["carbon_complete"].astype(bool)]
    stock = float(with_data["stock_tc"].sum()) if len(with_data) else float("nan")
    area = float(with_data["landcover_area_ha"].sum()) if len(with_data) else float("nan")
    coverage = carbon_coverage(zones, unit, lang)
    ranges = territory_ranges(rep, "stock_tc")
    rep.kpis.append(kpi(label("stock_tc", lang, unit=True), number(stock, lang), coverage))
    rep.section("stocks", phrase("stocks", lang))
    rep.parts += [
        "<div class='kpis'>",
        kpi(label("stock_tc", lang, unit=True), number(stock, lang), ranges),
        kpi(
            label("stock_tc_per_ha", lang, unit=True),
            number(stock / area, lang, 1) if area and area > 0 else phrase("no_data", lang),
        ),
        kpi(label("landcover_area_ha", lang, unit=True), number(area, lang)),
        "</div>",
        f"<p>{esc(coverage)}</p>",
        f"<p class='muted'>{esc(phrase('coefficients', lang))}{' :' if lang == 'fr' else ':'} "
        f"{esc(without_paths(coefficient_set(rep.cfg, r.coefficient_set, lang)))}</p>",
    ]
    summary = r.summary
    by_category = category_ranges(rep)
    rep.parts.append(
        figure(
            rep.chart(charts.stocks_by_category, summary, lang, by_category),
            with_error_bars(rep, phrase("stocks_chart", lang)),
        )
    )
    if r.level == "commune":
        rep.static_map("stock_tc_per_ha", phrase("stocks_map", lang))
    rows = summary[summary["category"] != "total"]
    by_cat = rows.pivot_table(index="category", columns="pool", values="stock_tc", aggfunc="sum")
    pools = [
        p for p in ("soil", "litter", "live_biomass", "dead_wood", "hedges") if p in by_cat.columns
    ]
    by_cat = by_cat[pools].fillna(0.0)
    area_by = rows.groupby("category")["area_ha"].first()
    out = pd.DataFrame({"category": [label(k, lang) for k in by_cat.index]})
    out["area_ha"] = area_by.reindex(by_cat.index).to_numpy()
    for p in pools:
        out[p] = by_cat[p].to_numpy()
    out["stock_tc"] = by_cat.sum(axis=1).to_numpy()
    out["stock_tc_per_ha"] = out["stock_tc"] / out["area_ha"].where(out["area_ha"] > 0)
    out = out.sort_values("stock_tc", ascending=False)
    area_total = float(out["area_ha"].sum())
    total: dict[str, Any] = {"category": label("total", lang), "area_ha": area_total}
    for p in [*pools, "stock_tc"]:
        total[p] = float(out[p].sum())
    total["stock_tc_per_ha"] = total["stock_tc"] / area_total if area_total > 0 else np.nan
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    out = out.rename(columns={p: f"stock_{p}_tc" for p in pools})
    rep.parts += [
        f"<h3>{esc(phrase('by_category', lang))}</h3>",
        table(out, lang, text_columns=("category",), total_row=len(out) - 1),
    ]


def hedges_section(rep: ReportBuilder) -> None:
    """Hedges: length and stock on the territory and per commune, the flow of the change."""
    r, lang = carbon_results(rep.r), rep.lang
    hedges = r.hedges
    assert hedges is not None
    communes = rep.r.communes
    rep.section("hedges", phrase("hedges_title", lang))
    columns = (
        "hedge_length_km",
        "hedge_length_agricultural_km",
        "hedge_length_other_km",
        "stock_hedges_tc",
    )
    rep.parts.append("<div class='kpis'>")
    for column in columns:
        rep.parts.append(
            kpi(label(column, lang, unit=True), number(communes[column].sum(min_count=1), lang))
        )
    rep.parts += ["</div>", f"<p>{esc(phrase('hedges_text', lang))}</p>"]
    if hedges.flows is not None and r.flows is not None:
        kept = r.flows[r.flows["flow_kind"] == "hedges"]
        period = str(r.sequestration["period"].iloc[0]) if r.sequestration is not None else ""
        text = phrase(
            "hedges_flow_text",
            lang,
            period=period,
            km=number(kept["length_km_per_yr"].sum(), lang, 2),
            flow=number(kept["flow_tco2e_per_yr"].sum(), lang),
        )
        rep.parts.append(f"<p>{esc(text)}</p>")
    if r.level == "commune":
        rep.static_map("stock_hedges_tc", phrase("hedges_title", lang))
    rows = communes[["commune_name", "commune_code", *columns]].rename(
        columns={"commune_name": "name", "commune_code": "code"}
    )
    rows = rows.sort_values("stock_hedges_tc", ascending=False, na_position="last")
    rep.parts += [
        f"<h3>{esc(phrase('hedges_per_commune', lang))}</h3>",
        table(rows, lang, text_columns=("name", "code")),
    ]


def practices_section(rep: ReportBuilder) -> None:
    """Agricultural practices: the potential of each practice declared (not a flow)."""
    r, lang = carbon_results(rep.r), rep.lang
    assert r.practices is not None
    names = text_table("practices")
    i = 0 if lang == "fr" else 1
    rows = r.practices.copy()
    rows["practice"] = [names[p][i] if p in names else p for p in rows["practice"]]
    rows["applies_to"] = [names[a][i] if a in names else a for a in rows["applies_to"]]
    rows["level"] = [label(v, lang) for v in rows["level"]]
    shown = rows[
        [
            "practice",
            "level",
            "code",
            "applies_to",
            "area_ha",
            "available_area_ha",
            "potential_tco2e_per_yr",
            "potential_tco2e_20yr",
        ]
    ]
    rep.section("practices", phrase("practices_title", lang))
    rep.parts += [
        "<div class='kpis'>",
        kpi(
            label("potential_tco2e_per_yr", lang, unit=True),
            number(rows["potential_tco2e_per_yr"].sum(), lang),
        ),
        "</div>",
        f"<p>{esc(phrase('practices_text', lang))}</p>",
        table(shown, lang, text_columns=("practice", "level", "code", "applies_to")),
    ]


def _flow_figures(rep: ReportBuilder, r: Any, seq: pd.DataFrame) -> None:
    """The flows' chart by zone, the land-use change matrix and the flows' static map."""
    lang = rep.lang
    caption = phrase("flows_chart", lang)
    level = "epci" if (seq["level"] == "epci").sum() >= 2 else "commune"
    n_zones = int(((seq["level"] == level) & seq["total"].notna()).sum())
    if n_zones > FLOW_CHART_BARS:
        caption += f" ({phrase('largest_flows', lang, n=FLOW_CHART_BARS)})"
    rep.parts.append(
        figure(
            rep.chart(charts.flows_by_epci, seq, lang, top_n=FLOW_CHART_BARS),
            with_error_bars(rep, caption),
        )
    )
    if r.flows is not None and (r.flows["flow_kind"] == "landuse_change").any():
        rep.parts.append(
            figure(
                rep.chart(charts.landuse_change_matrix, r.flows, lang), phrase("luc_chart", lang)
            )
        )
    if r.level == "commune":
        rep.static_map("flow_tco2e_per_yr", phrase("flows_map", lang), diverging=True)


def flows_section(rep: ReportBuilder) -> None:
    r, lang = carbon_results(rep.r), rep.lang
    seq = r.sequestration
    assert seq is not None
    terr = seq[seq["level"] == "territory"].iloc[0]
    period = str(terr["period"])
    coverage = coverage_sentence(terr, lang)
    rep.kpis.append(
        kpi(
            f"{label('flow_tco2e_per_yr', lang, unit=True)} {period}",
            number(terr["total"], lang),
            coverage,
        )
    )
    rep.section("flows", phrase("flows_title", lang, period=period))
    rep.parts.append(f"<p class='sign'>{esc(phrase('sign', lang))}</p>")
    rep.parts.append("<div class='kpis'>")
    for cat in ("total", "forest", "agricultural_soils", "other_soils", "wood_products"):
        rep.parts.append(
            kpi(label(cat, lang, unit=True), number(terr[cat], lang), range_note(terr, cat, lang))
        )
    rep.parts.append("</div>")
    text = coverage
    if not bool(terr["complete"]):
        text += "; " + phrase("partial_rows", lang)
    rep.parts.append(f"<p>{esc(text)}</p>")
    _flow_figures(rep, r, seq)
    rows = with_names(seq[seq["level"] != "commune"], lang)
    cols = [
        c
        for c in (
            "name",
            "code",
            "forest",
            "agricultural_soils",
            "other_soils",
            "wood_products",
            "total",
            "landcover_covered_share",
            "complete",
            "coverage_note",
        )
        if c in rows.columns
    ]
    rep.epci_table(rows[cols])


def _uncertainty(rep: ReportBuilder) -> Any:
    """The run's Monte-Carlo ranges (None without ``carbon.uncertainty``)."""
    from geocarbon.capabilities.carbon_uncertainty import uncertainty_results

    return uncertainty_results(rep.r)


def range_note(row: pd.Series, figure_id: str, lang: Language) -> str:
    """ "P5–P95: low – high" of ``figure_id`` in a sequestration row (empty without range)."""
    low, high = row.get(f"{figure_id}_p5"), row.get(f"{figure_id}_p95")
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return ""
    return phrase("range_note", lang, low=number(low, lang), high=number(high, lang))


def territory_ranges(rep: ReportBuilder, quantity: str) -> str:
    """The territory's P5–P95 of ``quantity`` in words (empty without ranges)."""
    computed = _uncertainty(rep)
    if computed is None:
        return ""
    found = computed.ranges("territory", quantity)
    if not len(found):
        return ""
    return range_note(found.iloc[0].add_prefix(f"{quantity}_"), quantity, rep.lang)


def category_ranges(rep: ReportBuilder) -> pd.DataFrame | None:
    """P5, P50, P95 [tC] of the territory's stock of each category (index: category), or
    None without ranges."""
    computed = _uncertainty(rep)
    if computed is None:
        return None
    rows = computed.table[
        (computed.table["level"] == "territory")
        & computed.table["quantity"].str.fullmatch(r"stock_.+_tc")
        & (computed.table["quantity"] != "stock_tc")
    ]
    index = rows["quantity"].str.removeprefix("stock_").str.removesuffix("_tc")
    return rows.set_index(index.to_numpy())[["p5", "p50", "p95"]]


def with_error_bars(rep: ReportBuilder, caption: str) -> str:
    """A chart's caption, saying what its error bars are when the run has ranges."""
    computed = _uncertainty(rep)
    if computed is None:
        return caption
    return f"{caption} ({phrase('error_bars', rep.lang, draws=number(computed.spreads.draws, rep.lang))})"


#: Figures of the territory ranges table, in order: quantity → label id.
RANGE_FIGURES = {
    "stock_tc": "stock_tc",
    "flow_tco2e_per_yr": "flow_tco2e_per_yr",
    "flow_forest_tco2e_per_yr": "forest",
    "flow_agricultural_soils_tco2e_per_yr": "agricultural_soils",
    "flow_other_soils_tco2e_per_yr": "other_soils",
    "flow_wood_products_tco2e_per_yr": "wood_products",
}


def uncertainty_section(rep: ReportBuilder) -> None:
    """The "how sure" section: what the ranges are, the territory's ranges, and each spread
    with its source."""
    computed = _uncertainty(rep)
    assert computed is not None
    lang, spreads = rep.lang, computed.spreads
    rep.section("uncertainty", phrase("uncertainty_title", lang))
    rep.parts.append(
        "<p>"
        + esc(
            phrase(
                "uncertainty_intro",
                lang,
                draws=number(spreads.draws, lang),
                seed=spreads.seed,
            )
        )
        + "</p>"
    )
    rep.parts += [
        f"<h3>{esc(phrase('uncertainty_ranges', lang))}</h3>",
        table(territory_range_rows(rep, computed), lang, text_columns=("figure",)),
        f"<h3>{esc(phrase('uncertainty_spreads', lang))}</h3>",
        table(spread_rows(spreads, lang), lang, text_columns=_SPREAD_COLUMNS),
        f"<p class='muted'>{esc(phrase('uncertainty_not_modelled', lang))}</p>",
    ]


def territory_range_rows(rep: ReportBuilder, computed: Any) -> pd.DataFrame:
    """One row per figure of the territory: its central value, P5, P50, P95."""
    zones = carbon_results(rep.r).zones
    frame = zones if zones is not None else rep.r.communes
    with_data = frame[frame["carbon_complete"].astype(bool)]
    rows = []
    for quantity, name in RANGE_FIGURES.items():
        found = computed.ranges("territory", quantity)
        if not len(found) or quantity not in with_data.columns:
            continue
        rows.append(
            {
                "figure": label(name, rep.lang, unit=True),
                "central": float(with_data[quantity].sum()),
                **found.iloc[0].to_dict(),
            }
        )
    return pd.DataFrame(rows, columns=["figure", "central", "p5", "p50", "p95"])


_SPREAD_COLUMNS = ("unc_coefficient", "unc_spread", "unc_source")


def spread_rows(spreads: Any, lang: Language) -> pd.DataFrame:
    """Each spread of ``carbon.uncertainty``: what it applies to, its value, its source."""
    from geocarbon.capabilities.carbon_uncertainty import SPREAD_KEYS

    rows = []
    for key in SPREAD_KEYS:
        value = getattr(spreads, key)
        if key == "transition_years":
            spread = phrase(
                "unc_years", lang, low=number(value[0], lang), high=number(value[1], lang)
            )
        else:
            spread = phrase("unc_cv", lang, value=number(value, lang, 2))
            overrides = spreads.landcover_area_cv_by_category if key == "landcover_area_cv" else {}
            spread += "".join(
                f"; {label(c, lang)} {number(v, lang, 2)}" for c, v in sorted(overrides.items())
            )
        rows.append(
            {
                "unc_coefficient": phrase(f"unc_{key}", lang),
                "unc_spread": spread,
                "unc_source": phrase(f"unc_{key}_source", lang),
            }
        )
    return pd.DataFrame(rows, columns=list(_SPREAD_COLUMNS))


#: How the stocks and the flows are computed (French, English).
STOCKS_METHOD = (
    "Stocks : surface de chaque occupation du sol par commune (pixels de la carte d'occupation "
    "du sol, ou table de surfaces) multipliée par les stocks de référence par hectare de chaque "
    "réservoir (sol 0–30 cm, litière, biomasse vivante, bois mort).",
    "Stocks: area of each land use per commune (land-cover pixels, or an area table) times the "
    "reference stock per hectare of each pool (soil 0–30 cm, litter, live biomass, dead wood).",
)
FLOWS_METHOD = (
    "Flux : changements d'occupation des sols entre les deux dates (différence de stocks "
    "répartie sur la période), croissance forestière nette des prélèvements, N2O des sols "
    "déstockés ; regroupés selon les catégories du PCAET (Forêt, Sols agricoles, Autres sols, "
    "Produits bois), en tCO2e par an, comme l'outil ALDO de l'ADEME.",
    "Flows: land-use changes between the two dates (stock difference spread over the period), "
    "forest growth net of harvest, N2O of soils losing carbon; grouped in the PCAET categories "
    "(forest, agricultural soils, other soils, wood products), in tCO2e per year, as ADEME's "
    "ALDO tool does.",
)
#: The wood-products approach (``flows.wood_products``), in the method section.
WOOD_PRODUCTS_METHOD = {
    "harvest": (
        "Produits bois : approche récolte (part du territoire dans la récolte française de "
        "bois d'œuvre et de bois d'industrie × puits national des produits bois).",
        "Wood products: harvest approach (the territory's share of the French lumber and "
        "industry-wood harvest × national wood-products sink).",
    ),
    "consumption": (
        "Produits bois : approche consommation (part du territoire dans la population "
        "française × puits national des produits bois).",
        "Wood products: consumption approach (the territory's share of France's population "
        "× national wood-products sink).",
    ),
    "none": (
        "Produits bois : non calculés (flows.wood_products : none), sans les produits bois.",
        "Wood products: not computed (flows.wood_products: none), without wood products.",
    ),
    # asked for, but the coefficient set has no regional shares of the harvest
    "not_computed": (
        "Produits bois : non calculés (le jeu de coefficients n'a pas les parts régionales de "
        "la récolte en bois d'œuvre et bois d'industrie) : le chiffre est vide et le flux net "
        "additionne les autres catégories.",
        "Wood products: not computed (the coefficient set has no regional shares of the lumber "
        "and industry-wood harvest): the figure is empty and the net flow sums the other "
        "categories.",
    ),
}
ZONAL_EXACT_METHOD = (
    "Surfaces exactes (zonal.method : exact) : chaque pixel compte dans chaque commune qu'il "
    "recouvre, pour la part de sa surface qui s'y trouve (fractions de recouvrement "
    "d'exactextract × surface vraie du pixel), et non plus entier dans la commune qui contient "
    "son centre ; l'écart entre les deux comptages, par commune, figure dans les avertissements.",
    "Exact areas (zonal.method: exact): each pixel counts in every commune it overlaps, for "
    "the share of its area inside it (exactextract's coverage fractions × the pixel's true "
    "area), instead of wholly in the commune holding its centre; the difference between the "
    "two counts, per commune, is in the notices.",
)
HEDGES_METHOD = (
    "Haies (méthode ALDO) : les lignes de haies sont reprojetées dans la projection de la carte "
    "d'occupation du sol, découpées aux limites communales (longueur exacte ; un tronçon longeant "
    "une limite compte une fois) puis en segments d'au plus {segment_m:g} m, chacun prenant "
    "l'occupation du sol à son milieu. Stock = km × carbone par km du département "
    "(carbone-haies.csv : aérien + racinaire ; {default:g} tC/km à défaut), sur les terres "
    "agricoles seulement (cultures, prairies, vergers, vignes) ; le linéaire sous forêt, sol "
    "artificiel ou zone humide est indiqué à part, sans stock. Flux : variation du linéaire "
    "agricole entre les deux dates / durée × carbone par km × 44/12 ; une perte compte tout de "
    "suite, un gain comme les autres gains de biomasse hors forêt d'ALDO (rythme annuel de "
    "1/20 du stock par km appliqué 20 ans à chaque km planté, soit le stock entier par km "
    "planté et par an de la période).",
    "Hedges (ALDO method): hedge lines are reprojected to the land cover's projection, split at "
    "commune borders (exact length; a stretch along a border counts once), then into segments "
    "of at most {segment_m:g} m, each taking the land use at its midpoint. Stock = km × carbon "
    "per km of the département (carbone-haies.csv: above + below ground; {default:g} tC/km "
    "otherwise), on agricultural land only (cropland, grassland, orchards, vineyards); the "
    "length under forest, artificial land or wetlands is reported apart, with no stock. Flow: "
    "change of the agricultural length between the two dates / years × carbon per km × 44/12; "
    "a loss counts at once, a gain as ALDO's other non-forest biomass gains (a yearly 1/20 of "
    "the stock per km for 20 years on each km planted, i.e. the whole stock per km planted "
    "per year of the period).",
)
PRACTICES_METHOD = (
    "Pratiques agricoles stockantes : surface déclarée × taux de stockage par hectare de l'outil "
    "ALDO (sol et biomasse, tC/ha/an, étude INRA 2013) × 44/12, pendant 20 ans ; un potentiel, "
    "hors des flux observés et du total de séquestration.",
    "Carbon-storing agricultural practices: area declared × ALDO's storage rates per hectare "
    "(soil and biomass, tC/ha/yr, INRA study 2013) × 44/12, for 20 years; a potential, apart "
    "from the observed flows and the sequestration total.",
)
#: Sources of the land cover and the coefficients (French, English).
CLC_SOURCE = (
    "Occupation du sol : Corine Land Cover, © Union européenne, programme Copernicus Land "
    "Monitoring Service, Agence européenne pour l'environnement (données libres, citation de la "
    "source requise).",
    "Land cover: Corine Land Cover, © European Union, Copernicus Land Monitoring Service, "
    "European Environment Agency (free data, source attribution required).",
)
OTHER_LANDCOVER_SOURCE = (
    "Occupation du sol : carte fournie au calcul (voir Données d'entrée).",
    "Land cover: the map given to the run (see Inputs).",
)
ALDO_SOURCE = (
    "Stocks et flux de référence : outil ALDO, ADEME (Licence Ouverte Etalab 2.0).",
    "Reference stocks and flows: ALDO tool, ADEME (Etalab Open Licence 2.0).",
)
GENERIC_SOURCE = (
    "Coefficients : {described} (valeurs par défaut du GIEC, lignes directrices 2006 et "
    "raffinement 2019).",
    "Coefficients: {described} (IPCC default values, 2006 guidelines and 2019 refinement).",
)


def carbon_method_lines(cfg: Any, results: Any, lang: Language) -> list[str]:
    """How the figures were computed (report's method section)."""
    out = [in_language(STOCKS_METHOD, lang)]
    zonal = getattr(cfg, "zonal", None)
    if getattr(cfg, "landcover", None) is not None and getattr(zonal, "method", "") == "exact":
        out.append(in_language(ZONAL_EXACT_METHOD, lang))
    computed = carbon_results(results)
    if computed.sequestration is not None:
        out.append(in_language(FLOWS_METHOD, lang))
        approach = getattr(getattr(cfg, "flows", None), "wood_products", None)
        if approach in WOOD_PRODUCTS_METHOD:
            shown = wood_products_shown(approach, computed.sequestration)
            out.append(in_language(WOOD_PRODUCTS_METHOD[shown], lang))
    hedges = getattr(getattr(cfg, "carbon", None), "hedges", None)
    if computed.hedges is not None and hedges is not None:
        text = in_language(HEDGES_METHOD, lang)
        out.append(text.format(segment_m=hedges.segment_m, default=DEFAULT_C_TOT_KM))
    if computed.practices is not None:
        out.append(in_language(PRACTICES_METHOD, lang))
    return out


def carbon_source_lines(
    cfg: Any, results: Any, keys: set[str], lang: Language
) -> list[tuple[str, str]]:
    """Sources and attribution of the inputs ``keys``: (input role, sentence) pairs."""
    out: list[tuple[str, str]] = []
    if "landcover" in keys:
        clc = getattr(getattr(cfg, "landcover", None), "nomenclature", None) == "clc"
        out.append(("landcover", in_language(CLC_SOURCE if clc else OTHER_LANDCOVER_SOURCE, lang)))
    if "carbon" not in results.parts:
        return out
    origin = carbon_results(results).coefficient_set
    coeffs = without_paths(origin)
    if (
        "aldo" in coeffs.lower()
        or getattr(getattr(cfg, "carbon", None), "coefficients", "") == "aldo"
    ):
        out.append(("coefficients", in_language(ALDO_SOURCE, lang)))
    else:
        described = (
            without_paths(coefficient_set(cfg, origin, lang)) if cfg is not None else coeffs
        )
        out.append(("coefficients", in_language(GENERIC_SOURCE, lang).format(described=described)))
    return out
