"""Page of the ARS: coverage of a région or département by the CPTS of the registry.

Thin layer: the registry is read by :mod:`cpts_geo.region.registry`, the report computed by
:mod:`cpts_geo.region.coverage`, the map drawn by :mod:`cpts_geo.web.coverage_map`, the proposals of full coverage by
:mod:`cpts_geo.region.planning`; the registry's versions are kept by the store.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from cpts_geo.web import webmap
from cpts_geo.web.app_cache import load_coverage_view, load_plan, load_registry_upload, open_page, show_table, shown_error
from cpts_geo.data.codes import resolve_codes
from cpts_geo.region.coverage import area_of, coverage_files, fr_number, registry_elsewhere, report_tables
from cpts_geo.web.coverage_map import FOCUS_STYLE, commune_at, focus_view
from cpts_geo.errors import CptsGeoError
from cpts_geo.web.folium_view import focus_map, show_map
from cpts_geo.exports.maps import coverage_map as coverage_print_map
from cpts_geo.exports.maps import save_figure
from cpts_geo.exports.sheets import report_csv
from cpts_geo.formatting import fr_datetime, fr_int, fr_percent
from cpts_geo.territory.offer import APL_THRESHOLD, NOT_AVAILABLE
from cpts_geo.region.planning import KIND_LABELS, PlanSettings, before_after_lines, plan_files, plan_tables, with_proposals
from cpts_geo.region.registry import RegistryImport, registry_digest, registry_from_store, save_registry
from cpts_geo.region.history import registry_diff, restore_version
from cpts_geo.web.session import selection_query
from cpts_geo.user_text import markdown_text

#: Populations offered by « Réglages du plan ».
PLAN_POPULATIONS = [1_000, 2_000, 5_000, *range(10_000, 100_000, 5_000), *range(100_000, 300_001, 25_000)]
SOURCES = ("Registre enregistré", "Fichier (CSV, GeoJSON, GeoPackage, Shapefile zippé)", "Brouillons de l'application")
#: The tables of the report under the map, and what stands in place of one without a row.
EMPTY_TABLES = {"Zones blanches": "Aucune zone blanche : toute la population est dans une CPTS.",
                "Chevauchements": "Aucun chevauchement entre CPTS.", "Zones isolées": "Aucune zone isolée.",
                "CPTS enclavées": "Aucune CPTS n'est enclavée dans une autre.", "EPCI": "Aucune intercommunalité dans la zone."}


def localized_numbers(table: pd.DataFrame) -> dict:
    """Population and APL columns in the reader's number format (48 454 and 0,45 in a French browser: APL always
    with 2 decimals), shares as percents."""
    config = {column: st.column_config.NumberColumn(format="localized", step=0.01 if str(column).startswith("APL")
                                                    else None)
              for column in table.columns
              if str(column).startswith(("Population", "APL")) and pd.api.types.is_numeric_dtype(table[column])}
    if "Part couverte" in table:
        config["Part couverte"] = st.column_config.NumberColumn(format="percent")
    return config


def loaded_registry():
    """The registry version this user works on (None before any save): loaded once and kept until a save of
    theirs or « Recharger le registre », so that a version saved by someone else meanwhile is not overwritten."""
    if "ars_loaded" not in st.session_state:
        st.session_state.ars_loaded = store.latest_registry()
    return st.session_state.ars_loaded


#: Session keys of the plan's choices, numbered after the proposals of the registry version they were made on.
PLAN_CHOICES = ("ars_rejected", "ars_moves", "ars_move_codes", "ars_clicked_commune")


def saved(message: str) -> None:
    """After a save of this user: their new version becomes the one loaded and the page runs again on it (sidebar,
    figures, plan and history of the new version), saying so at the top; the plan's choices made on the previous
    version are dropped."""
    st.session_state.ars_loaded = store.latest_registry()
    st.session_state.ars_saved_message = f"{message} (version {st.session_state.ars_loaded.number})."
    for key in PLAN_CHOICES:
        st.session_state.pop(key, None)
    st.rerun()


def default_region(store) -> str:
    """The région holding most IRIS of the stored registry (the first région when there is none)."""
    loaded = loaded_registry()
    codes = [c for codes in (loaded.cpts if loaded else {}).values() for c in codes]
    regions = bundle.iris["region"].reindex(codes).dropna()
    return regions.mode().iat[0] if len(regions) else bundle.departements["code_region"].iat[0]


def open_linked_area(regions: pd.Series) -> None:
    """On the first run, the area of the link (``?dep=66`` or ``?region=76``), else the registry's région."""
    if "ars_region" in st.session_state:
        return
    region_of = bundle.departements.set_index("code_departement")["code_region"]
    linked_dep, linked_region = st.query_params.get("dep", ""), st.query_params.get("region", "")
    if linked_dep in region_of.index:
        st.session_state.ars_region, st.session_state.ars_departement = region_of[linked_dep], linked_dep
    else:
        st.session_state.ars_region = linked_region if linked_region in regions.index else default_region(store)


def show_import(imported: RegistryImport) -> None:
    """The validation report of a registry: what was ignored and why, notes, doubtful IRIS."""
    source = markdown_text(imported.source)   # holds the file name
    if imported.ok and not imported.notes:
        st.success(f"{source} : {fr_int(len(imported.cpts))} CPTS lues, aucune ligne ignorée.")
        return
    st.warning(f"{source} : {fr_int(len(imported.cpts))} CPTS lues, {fr_int(len(imported.ignored))} ligne(s) "
               "ignorée(s).")
    for note in imported.note_lines():
        st.info(markdown_text(note))
    if len(imported.ignored):
        st.dataframe(imported.ignored.rename(columns={"line": "Ligne", "cpts": "CPTS", "code": "Code",
                                                      "reason": "Raison"}), hide_index=True)
    if len(imported.doubtful):
        st.caption("IRIS couverts en partie par un périmètre (à vérifier) :")
        st.dataframe(imported.doubtful, hide_index=True)


@st.fragment
def cpts_list(report, registry: dict[str, frozenset[str]], shapes) -> None:
    """The CPTS list: a click reruns this part only; the CPTS picked is outlined and framed on the map in place
    (:func:`~cpts_geo.web.folium_view.focus_map`), the map itself is not sent again."""
    st.caption("Cliquez une CPTS pour la voir sur la carte.")
    # « Morceaux » next to the name: seen without scrolling the list sideways
    shown = report.cpts[["name", "pieces", "taille", "population", "population_in_area", "commune_count",
                         "gp_per_10000", "apl"]].rename(
        columns={"name": "CPTS", "pieces": "Morceaux", "taille": "Taille", "population": "Population",
                 "population_in_area": f"Population {report.area.inside}", "commune_count": "Communes",
                 "gp_per_10000": "MG / 10 000 hab.", "apl": "APL MG"})
    picked = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="single-row", key="ars_list",
                          column_config={**localized_numbers(shown),
                                         "CPTS": st.column_config.TextColumn(width="medium", pinned=True),
                                         "Morceaux": st.column_config.NumberColumn(
                                             width="small", help="Morceaux séparés de la CPTS (îles à part)")})
    st.caption(f"MG : médecins généralistes libéraux (BPE {report.offer['professionals_millesime'] or ''}), "
               f"estimés pour une commune partagée ; APL {report.offer['apl_millesime'] or ''} (DREES), "
               f"« sous-dense » sous {fr_number(APL_THRESHOLD, 2)}. Case vide : {NOT_AVAILABLE}.")
    rows = picked.selection.rows if picked else []
    focus = report.cpts["name"].iat[rows[0]] if rows else None
    outline, bounds = focus_view(shapes, focus) if focus in shapes.index else (None, None)
    focus_map(key="ars_focus", outline=outline, bounds=bounds, style=FOCUS_STYLE)
    if focus:
        st.link_button(f"Ouvrir « {markdown_text(focus)} » dans « Tracer le territoire »", icon=":material/draw:",
                       url="./?" + urlencode(selection_query(bundle, registry[focus], focus, compare_registry=True)))


def plan_settings() -> PlanSettings:
    """The officer's settings of the plan (« Réglages du plan »), the defaults until changed."""
    defaults = PlanSettings()
    with st.expander("Réglages du plan"):
        floor = st.select_slider("Plancher : population en dessous de laquelle une zone blanche va à une CPTS voisine",
                                 PLAN_POPULATIONS, value=defaults.floor, format_func=fr_int, key="ars_plan_floor")
        target = st.select_slider("Population visée d'une nouvelle CPTS (minimum, maximum)", PLAN_POPULATIONS,
                                  value=(defaults.target_min, defaults.target_max), format_func=fr_int,
                                  key="ars_plan_target")
        respect_epci = st.toggle("Respecter les EPCI (nouvelles CPTS faites d'intercommunalités entières quand "
                                 "c'est possible)", value=defaults.respect_epci, key="ars_plan_epci")
        st.caption("Défauts : plancher 10 000 habitants (les CPTS réelles en ont rarement moins) ; nouvelles CPTS "
                   "d'au moins 30 000 habitants (taille 1 à 2 à la campagne) ; une intercommunalité ou une commune "
                   "de plus de 100 000 habitants est découpée (taille 3 au plus en ville).")
    try:
        return PlanSettings(floor, *target, respect_epci)
    except CptsGeoError as err:
        st.error(markdown_text(shown_error(err) + " Réglages par défaut utilisés."))
        return defaults


def show_region(code: str) -> None:
    """Switch the page to the whole région ``code``."""
    st.session_state.ars_region, st.session_state.ars_departement = code, ""


def take_clicked_commune(point: dict | None, area, registry: dict[str, frozenset[str]]) -> None:
    """A new click on the map: the commune under it is named under the map and added to the codes moved by hand
    (« Plan de couverture complète »)."""
    if point and point != st.session_state.get("ars_clicked"):
        st.session_state.ars_clicked = point
        code = commune_at(area, point["lat"], point["lng"])
        st.session_state.ars_clicked_commune = code
        typed = [c.strip() for c in st.session_state.get("ars_move_codes", "").replace(";", ",").split(",")]
        if code and code not in typed:
            st.session_state.ars_move_codes = ", ".join([*filter(None, typed), code])
    code = st.session_state.get("ars_clicked_commune")
    if code:
        holders = [name for name, codes in registry.items() if codes & set(bundle.iris_by_commune[code])]
        st.caption(markdown_text(f"Commune cliquée : {area.communes.at[code, 'nom']} ({code}), dans "
                                 f"{', '.join(holders) or 'aucune CPTS'} ; ajoutée aux codes à déplacer à la main "
                                 "(« Plan de couverture complète »)."))


DATA_PATH, bundle, drafts = open_page("Vue ARS")
if not drafts.user.is_ars:   # before any upload or computation (single-user mode: the local user is the ARS)
    st.error(markdown_text(f"La « Vue ARS » est réservée à l'ARS : {drafts.user.label} n'est l'ARS d'aucune "
                           "région (les comptes de l'ARS sont déclarés par l'administrateur du serveur). Tracez "
                           "votre territoire dans « Tracer "
                           "le territoire »."))
    st.stop()
store = drafts.store

with st.sidebar:
    source = st.radio("Registre des CPTS", SOURCES, key="ars_source")
    uploaded = st.file_uploader("Fichier du registre", type=["csv", "txt", "geojson", "json", "gpkg", "zip"],
                                key="ars_file") if source == SOURCES[1] else None
    regions = bundle.departements.drop_duplicates("code_region").set_index("code_region")["nom_region"]
    open_linked_area(regions)
    region = st.selectbox("Région", regions.index, format_func=lambda c: f"{regions[c]} ({c})", key="ars_region")
    departements = bundle.departements[bundle.departements["code_region"] == region]
    departement = st.selectbox("Département (facultatif)", ["", *departements["code_departement"]],
                               format_func=lambda c: "Toute la région" if not c else
                               f"{c} — {departements.set_index('code_departement').at[c, 'nom_departement']}",
                               key="ars_departement")
    st.query_params.from_dict({"region": region, **({"dep": departement} if departement else {})})
    loaded = loaded_registry()
    loaded_version = loaded.number if loaded else 0
    if loaded:
        st.caption(markdown_text(f"Registre enregistré : version {loaded.number} du {fr_datetime(loaded.saved)}"
                                 f"{' par ' + loaded.author if loaded.author else ''}."))
    st.button("Recharger le registre", key="ars_reload", on_click=lambda: st.session_state.pop("ars_loaded", None),
              help="Relire le registre enregistré (les versions enregistrées depuis par d'autres).")
    st.page_link("pages/3_Aide.py", label="Aide : guide de l'ARS", icon=":material/help:", query_params={"guide": "ars"})

shown_area = area_of(bundle, region, departement or None)
st.title(markdown_text(f"Couverture en CPTS : {shown_area.name} ({shown_area.code})"))
if "ars_saved_message" in st.session_state:
    st.success(markdown_text(st.session_state.pop("ars_saved_message")))
try:
    if source == SOURCES[1]:
        if uploaded is None:
            st.info("Déposez le registre : CSV « cpts;code_insee » (ou code_iris, avec colonnes facultatives "
                    "arrondissement et quartier), ou les périmètres en GeoJSON, GeoPackage ou Shapefile zippé.")
            st.stop()
        imported = load_registry_upload(DATA_PATH, uploaded.getvalue(), uploaded.name)
        show_import(imported)
        if not drafts.user.is_ars_of([region]):
            st.caption(f"Seule l'ARS de la région enregistre le registre ({markdown_text(drafts.user.label)} n'en "
                       "fait pas partie : les comptes de l'ARS sont déclarés par l'administrateur du serveur).")
        else:
            accepted = imported.ok or st.checkbox(   # one box per uploaded file: a new file is never accepted unseen
                f"Enregistrer sans les {fr_int(len(imported.ignored))} ligne(s) ignorée(s) listée(s) ci-dessus "
                "(elles ne seront pas dans le registre)", key=f"ars_accept_ignored_{uploaded.file_id}")
            if st.button("Enregistrer comme registre (nouvelle version du registre enregistré)", key="ars_save",
                         disabled=not accepted, help=None if accepted else "Des lignes ont été ignorées : corrigez le "
                         "fichier, ou cochez la case pour enregistrer le registre sans elles."):
                save_registry(bundle, store, imported, author=drafts.user.email or drafts.user.label,
                              loaded_version=loaded_version, accept_ignored=accepted)
                saved("Registre de la région enregistré")
    elif source == SOURCES[2]:
        imported = registry_from_store(bundle, drafts, kind="draft")   # the drafts this user may see
    else:
        imported = RegistryImport("registre de la région", cpts=loaded.cpts if loaded else {})
    if not imported.cpts:
        st.info("Aucune CPTS dans ce registre : importez un fichier ou enregistrez des brouillons.")
        st.stop()
    elsewhere = registry_elsewhere(bundle, imported.cpts, shown_area)
    if elsewhere:   # not a silent 0 % and an empty list
        st.warning(markdown_text(elsewhere.message))
        st.button(markdown_text(f"Voir la région {regions[elsewhere.main_region]} ({elsewhere.main_region})"),
                  key="ars_show_region", on_click=show_region, args=(elsewhere.main_region,))
        st.stop()
    digest = registry_digest(imported.cpts)
    view = load_coverage_view(DATA_PATH, region, departement, digest, imported.cpts)
    report, area, shapes = view.report, view.area, view.shapes
except CptsGeoError as err:
    st.error(markdown_text(shown_error(err)))
    st.stop()

columns = [*st.columns(3), *st.columns(3)]   # two rows: whole labels on a 1366 px screen
neutral = {"delta_color": "off", "delta_arrow": "off"}   # the deltas are figures, not changes
columns[0].metric("Population couverte", fr_percent(report.covered_share),   # as the PDF map writes it
                  f"{fr_int(report.population_covered)} / {fr_int(report.population_total)} hab.", **neutral)
columns[1].metric("Communes en zone blanche", fr_int(len(report.white_zones)),
                  f"{fr_int(report.population_total - report.population_covered)} hab.", **neutral)
columns[2].metric("Chevauchements", fr_int(len(report.overlaps)), f"{fr_int(report.population_overlap)} hab.",
                  **neutral)
columns[3].metric("Zones isolées", fr_int(len(report.isolated)))
columns[4].metric("CPTS en morceaux", fr_int(len(report.several_pieces)),
                  help=markdown_text("CPTS en plusieurs morceaux séparés (une île ne compte pas) : "
                                     f"{', '.join(report.several_pieces) or 'aucune'} ; colonne « Morceaux » de la "
                                     "liste."))
columns[5].metric(f"APL zones blanches {report.offer['apl_millesime'] or ''}".strip(),
                  fr_number(report.offer["white_zones"]["apl"], 2) if len(report.white_zones) else "—",
                  help="Accessibilité potentielle localisée aux médecins généralistes (DREES), pondérée par la "
                       f"population standardisée ; « sous-dense » sous {fr_number(APL_THRESHOLD, 2)}.")

enclosed_line, *outside_lines = report.outline_lines()    # the checks of the CPTS outlines, named
(st.warning if len(report.enclosed) else st.success)(markdown_text(enclosed_line))
for line in outside_lines:
    st.info(markdown_text(line))

list_column, map_column = st.columns([2, 3])
with map_column:
    take_clicked_commune(show_map(view.rendered, key="ars_map", height=webmap.MAP_HEIGHT_PX), area, imported.cpts)
with list_column:
    cpts_list(report, imported.cpts, shapes)

tables = report_tables(report, bundle)
for title, empty in EMPTY_TABLES.items():
    with st.expander(f"{title} ({fr_int(len(tables[title]))})", expanded=title == "Zones blanches"):
        show_table(tables[title], empty, hide_index=True, column_config=localized_numbers(tables[title]))
st.download_button("Télécharger le rapport (XLSX)", lambda: coverage_files(report, bundle, "couverture")["couverture.xlsx"],
                   file_name=f"couverture_{report.area.stem}.xlsx", key="ars_xlsx", on_click="ignore")
st.download_button("Télécharger la carte imprimable (PDF A4)",
                   lambda: save_figure(coverage_print_map(bundle, imported.cpts, report), "pdf"),
                   file_name=f"couverture_{report.area.stem}_carte.pdf", mime="application/pdf", key="ars_map_pdf",
                   on_click="ignore")
st.download_button("Télécharger la liste des CPTS (CSV)", report_csv(tables["CPTS"]), file_name=f"cpts_{report.area.stem}.csv",
                   key="ars_csv")
st.subheader("Plan de couverture complète")
if st.toggle("Proposer qui prend chaque zone blanche et chaque chevauchement", key="ars_propose"):
    settings = plan_settings()
    plan = load_plan(DATA_PATH, digest, imported.cpts, region, departement, settings)
    proposals = plan_tables(plan, bundle)["Propositions"]
    show_table(proposals, "Aucune proposition : ni zone blanche ni chevauchement.", hide_index=True,
               column_config={**localized_numbers(proposals), "Score": st.column_config.NumberColumn(format="localized")})
    st.caption("Score entre 0 et 1 : 0,60 × part du contour de la zone partagée avec la CPTS + 0,25 × même "
               "intercommunalité (1 ou 0) + 0,15 × équilibre (1 − population de la CPTS / population de la plus "
               "grande CPTS : à frontière égale, la plus petite CPTS est préférée ; à égalité, la première par "
               "ordre alphabétique). Le plan est calculé sur toute la région : une zone reçoit la même proposition "
               "quelle que soit la partie affichée. Les nouvelles CPTS (« Nouvelle CPTS 1 — pôle ») comptent dans "
               "l'après et gardent ce nom si le plan est enregistré.")
    labels = {n: f"{n} — {KIND_LABELS[p.kind]} : {p.zone_label(bundle)} → {p.destination()}"
              for n, p in enumerate(plan.proposals, 1)}
    rejected = st.multiselect("Propositions refusées", list(labels), format_func=labels.get, key="ars_rejected",
                              placeholder="Aucune : toutes les propositions sont acceptées")
    with st.expander("Déplacer des communes ou des IRIS à la main"):
        codes = st.text_input("Codes INSEE de communes ou codes IRIS (séparés par des virgules), ou cliquez les "
                              "communes sur la carte", key="ars_move_codes")
        target = st.selectbox("Vers la CPTS", [*sorted(imported.cpts), *plan.new_cpts()], index=None, placeholder="Choisissez une CPTS",
                              key="ars_move_to")
        if st.button("Ajouter ce déplacement", key="ars_move_add"):
            resolved = resolve_codes(bundle, codes.replace(";", ",").split(","))
            if not resolved.ok or not resolved.iris or target is None:
                st.error(markdown_text(resolved.message() if not resolved.ok else
                                       "Donnez au moins un code et la CPTS qui le reçoit."))
            else:
                st.session_state.ars_moves = [*st.session_state.get("ars_moves", []), (sorted(resolved.iris), target)]
        if st.session_state.get("ars_moves") and st.button("Annuler les déplacements à la main", key="ars_move_clear"):
            st.session_state.ars_moves = []
    chosen = with_proposals(bundle, plan, [p for n, p in enumerate(plan.proposals, 1) if n not in rejected],
                            st.session_state.get("ars_moves", []))
    for move in chosen.proposals:
        if move.kind == "manual":
            st.caption(markdown_text(f"{KIND_LABELS[move.kind]} — {move.zone_label(bundle)} → {move.destination()}"
                                     + (f", retirée de {', '.join(move.released_by)}" if move.released_by else "")))
    by_hand = sum(p.kind == "manual" for p in chosen.proposals)
    st.markdown(f"**Avec {fr_int(len(chosen.proposals) - by_hand)} proposition(s) acceptée(s) et {fr_int(by_hand)} "
                "déplacement(s) "
                "à la main** :\n"
                + "\n".join(f"- {markdown_text(line)}" for line in before_after_lines(chosen)))
    per_cpts = plan_tables(chosen, bundle)["Avant-après par CPTS"]
    changed = per_cpts[per_cpts["Population avant"] != per_cpts["Population après"]]
    show_table(changed, "Aucune CPTS ne change de population.", hide_index=True, column_config={
        **localized_numbers(changed),
        **{c: st.column_config.NumberColumn(format="localized") for c in changed.columns if "€" in c}})
    st.download_button("Télécharger le plan (XLSX)", plan_files(chosen, bundle, "plan")["plan.xlsx"],
                       file_name=f"plan_couverture_{report.area.stem}.xlsx", key="ars_plan_xlsx")
    st.download_button("Télécharger la carte de la couverture proposée (PDF A4)",
                       lambda: save_figure(coverage_print_map(bundle, chosen.registry_after, chosen.after,
                                                              proposed=chosen.moved(), new_cpts=chosen.new_cpts()),
                                           "pdf"),
                       file_name=f"couverture_{report.area.stem}_proposee.pdf", mime="application/pdf", key="ars_plan_pdf",
                       on_click="ignore")
    if drafts.user.is_ars_of([region]):
        comment = st.text_input("Commentaire de la nouvelle version", key="ars_plan_comment")
        if st.button("Enregistrer comme nouvelle version du registre", key="ars_plan_save",
                     disabled=not chosen.proposals):
            try:
                save_registry(bundle, store, RegistryImport("propositions acceptées (Vue ARS)",
                                                            cpts=chosen.registry_after),
                              author=drafts.user.email or drafts.user.label, comment=comment,
                              loaded_version=loaded_version)
            except CptsGeoError as err:
                st.error(markdown_text(shown_error(err)))
            else:
                saved("Nouvelle version du registre de la région enregistrée (les précédentes restent dans l'historique)")
with st.expander("Historique du registre"):
    versions = store.registry_versions()
    st.dataframe(pd.DataFrame({"Version": [v.number for v in versions], "Date": [fr_datetime(v.saved) for v in versions],
                               "Auteur": [v.author for v in versions], "CPTS": [len(v.cpts) for v in versions],
                               "Source": [v.source for v in versions], "Commentaire": [v.comment for v in versions]}),
                 hide_index=True)
    if len(versions) > 1:
        numbers = [v.number for v in versions]
        left, right = st.columns(2)
        old = left.selectbox("Comparer la version", numbers, index=1, key="ars_diff_old")
        new = right.selectbox("à la version", numbers, index=0, key="ars_diff_new")
        diff = registry_diff(bundle, *(next(v for v in versions if v.number == n) for n in (old, new)))
        st.markdown("\n".join(f"- {markdown_text(line.strip())}" for line in diff.lines(bundle)[1:]))
        if drafts.user.is_ars_of([region]) and st.button(f"Restaurer la version {old} (enregistrée comme nouvelle "
                                                         "version)", key="ars_restore"):
            try:
                restore_version(bundle, store, old, author=drafts.user.email or drafts.user.label,
                                loaded_version=loaded_version)
            except CptsGeoError as err:
                st.error(markdown_text(shown_error(err)))
            else:
                saved(f"Version {old} restaurée comme nouvelle version")
    st.caption("En ligne de commande : « python -m cpts_geo registry history | diff V1 V2 | restore V ».")
with st.expander("Limites des données"):
    st.markdown("\n".join(f"- {limit}" for limit in pd.unique(pd.Series(report.limits))))
