"""cpts-geo, main page: draw the territory of a CPTS on a map and check it (``streamlit run app.py``).

Thin layer over the package: the map is built by :mod:`cpts_geo.web.webmap`, the drawing state
lives in :class:`cpts_geo.web.session.DrawingSession`, the figures come from
:mod:`cpts_geo.territory.model` and :mod:`cpts_geo.territory.checks`. Other pages go in ``pages/``.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cpts_geo.web import drawmap, webmap
from cpts_geo.web.app_cache import (load_area, load_draw_area, load_map_data, load_switchable_layer, open_page,
                                    shown_error)
from cpts_geo.territory.checks import run_checks
from cpts_geo.data.codes import MAX_UPLOAD_BYTES, split_codes
from cpts_geo.errors import CptsGeoError
from cpts_geo.formatting import fr_datetime, fr_int
from cpts_geo.territory.funding import TAILLE_BANDS, funding_text
from cpts_geo.territory.offer import offer_panel, territory_offer
from cpts_geo.exports.files import FORMATS, PERIMETER_SYSTEMS, TerritoryExport, file_stem
from cpts_geo.territory.letter import letter_table
from cpts_geo.region.perimeters import read_neighbours
from cpts_geo.region.registry import MAX_PERIMETER_BYTES
from cpts_geo.web.session import MAX_LINK_CODES, MODES, DrawingSession, iris_departements
from cpts_geo.data.sources.readers import listed
from cpts_geo.storage.store import AlreadySaved
from cpts_geo.territory.model import data_limits, summarize
from cpts_geo.user_text import markdown_text

LEVEL_BOXES = {"ok": st.success, "info": st.success, "warning": st.warning, "error": st.error}
LEVEL_ICONS = {"ok": ":material/check_circle:", "info": ":material/info:", "warning": ":material/warning:",
               "error": ":material/error:"}
MAX_ZOOM_BUTTONS = 8
#: The tabs of the panel beside the map (one runs at a time).
PANEL_TABS = ("Vérifications", "Taille et âges", "Offre de soins")
MAP_TOOLS = {"move": "déplace la carte", "paint": "peint les zones (pinceau)", "lasso": "entoure des zones (lasso)"}


def notify(level: str, text: str) -> None:
    """Keep a message to show at the top of the page on the next run (shown as plain text: it may hold names)."""
    st.session_state.setdefault("notices", []).append((level, text))


def act(action, *args, success: str | None = None) -> None:
    """Run a session action from a callback; a French error becomes a message, the selection stays."""
    try:
        action(*args)
    except CptsGeoError as err:
        notify("error", shown_error(err))
    else:
        if success:
            notify("success", success)


def bind(widget, label: str, attribute: str, convert=lambda v: v, **kwargs):
    """A widget that shows an attribute of the session and writes it back when changed."""
    key = f"session_{attribute}"
    value = getattr(session, attribute)
    st.session_state[key] = list(value) if isinstance(value, tuple) else value
    return widget(label, key=key, on_change=lambda: setattr(session, attribute, convert(st.session_state[key])),
                  **kwargs)


# --- data and session ---------------------------------------------------------------------
DATA_PATH, bundle, drafts = open_page("Tracer le territoire")
store, user = drafts.store, drafts.user
map_data = load_map_data(DATA_PATH)

if "session" not in st.session_state:
    st.session_state.session = DrawingSession(bundle)
    for warning in st.session_state.session.open_query(st.query_params.to_dict()):
        notify("warning", warning)
elif getattr(get_script_run_ctx(), "is_history_navigation", False):   # the browser's Back or Forward
    for warning in st.session_state.session.open_query(st.query_params.to_dict(), history=True):
        notify("warning", warning)
session: DrawingSession = st.session_state.session
departement_names = bundle.departements.set_index("code_departement")


def on_map_selection() -> None:
    """The user changed the selection on the map: the session takes it (unknown codes are left out)."""
    sent = drawmap.selection_of("map")
    if sent is not None:
        codes, st.session_state.map_seq = sent
        session.select(frozenset(code for code in codes if code in bundle.commune_of_iris))


def on_map_key() -> None:
    {"undo": session.undo, "redo": session.redo, None: lambda: None}[drawmap.key_of("map")]()


def on_code_file() -> None:
    uploaded = st.session_state.get("code_file")
    if uploaded is not None:
        act(session.import_file, uploaded.getvalue(), uploaded.name,
            success=f"Liste « {uploaded.name} » importée.")


def on_neighbour_file() -> None:
    uploaded = st.session_state.get("neighbour_file")
    st.session_state.neighbours_from_file = {}
    if uploaded is None:
        return
    try:
        report = read_neighbours(bundle, uploaded.getvalue(), uploaded.name)
    except CptsGeoError as err:
        notify("error", shown_error(err))
        return
    st.session_state.neighbours_from_file = report.cpts
    for line in report.message().splitlines()[1:]:
        notify("warning", line)
    notify("success", f"{len(report.cpts)} CPTS voisine(s) chargée(s) : {listed(report.cpts, width=200)}.")


def draft_label(key: tuple[str, str]) -> str:
    owner, name = key
    return name if owner == user.email else f"{name} — {owner or 'utilisateur local'}"


def open_draft() -> None:
    owner, name = st.session_state.draft_choice
    act(session.open_draft, drafts, name, owner, success=f"Brouillon « {name} » rouvert.")


def save_draft(replace: bool = False) -> None:
    """Save the draft; a draft of that name that is not the one being drawn is replaced only once confirmed."""
    st.session_state.pop("confirm_overwrite", None)
    try:
        saved = session.save_draft(drafts, replace=replace)
    except AlreadySaved:
        st.session_state.confirm_overwrite = session.name
    except CptsGeoError as err:
        notify("error", shown_error(err))
    else:
        notify("success" if saved else "info", f"Brouillon « {session.name} » enregistré." if saved else
               f"Brouillon « {session.name} » déjà enregistré : aucun changement depuis la dernière version.")
        st.session_state.draft_choice = session.draft   # « Versions précédentes » shows its history


def delete_draft() -> None:
    owner, name = st.session_state.pop("confirm_delete")
    act(drafts.delete, name, owner, success=f"Brouillon « {name} » supprimé (avec ses versions).")


def restore_version() -> None:
    owner, name = st.session_state.draft_choice
    number = st.session_state.version_choice
    act(session.restore_version, drafts, name, number, owner,
        success=f"Version {number} du brouillon « {name} » restaurée (la précédente reste dans l'historique).")


def share_draft(emails: str) -> None:
    _, name = st.session_state.draft_choice
    act(drafts.share, name, emails, success=f"Partage du brouillon « {name} » enregistré.")


def import_typed_codes() -> None:
    act(session.import_codes, split_codes(st.session_state.typed_codes), success="Codes importés.")


# --- sidebar: area, search, tools -----------------------------------------------------------
with st.sidebar:
    st.header("Zone de travail")
    regions = departement_names.drop_duplicates("code_region").set_index("code_region")["nom_region"].sort_values()
    st.session_state.setdefault("region", departement_names.at[session.area[0], "code_region"])
    region = st.selectbox("Région", regions.index, format_func=regions.get, key="region",
                          on_change=lambda: session.show_region(st.session_state.region),
                          help="La carte passe sur la région : ses départements où se trouve la sélection, sinon "
                               "le plus peuplé ; d'autres s'ajoutent ci-dessous.")
    in_region = departement_names.index[departement_names["code_region"] == region]
    bind(st.multiselect, "Départements affichés", "area", convert=lambda v: tuple(sorted(v)) or session.area,
         options=sorted(set(in_region) | set(session.area)),
         format_func=lambda d: f"{d} — {departement_names.at[d, 'nom_departement']}",
         help="Seuls ces départements sont envoyés à la carte, pour qu'elle reste rapide.",
         placeholder="Choisir des départements", select_all=False)

    query = st.text_input("Rechercher une commune", placeholder="nom, code INSEE ou code postal")
    found, more = webmap.search_communes(bundle, query, session.area) if query else ([], 0)
    if query and not found:
        st.caption("Aucune commune trouvée.")
    if more:
        st.caption(f"{fr_int(more)} autre(s) résultat(s) : précisez la recherche.")
    if found:
        labels = dict(found)
        picked = st.selectbox("Communes trouvées", labels, format_func=labels.get, key="search_pick")
        # « Ajouter » and « Retirer » side by side, the one that does nothing disabled: the second click of a double
        # click lands on the same button however fast the page answers the first (adds again or, disabled, nothing)
        inside = session.has_commune(picked)
        add_col, remove_col = st.columns(2)
        add_col.button("Ajouter", icon=":material/add_circle:", on_click=session.add_commune, args=(picked,),
                       disabled=inside, key="search_add", width="stretch",
                       help="Ajoute la commune entière à la sélection et la montre sur la carte")
        remove_col.button("Retirer", icon=":material/remove_circle:", on_click=session.remove_commune, args=(picked,),
                          disabled=not inside, key="search_remove", width="stretch",
                          help="Retire la commune entière de la sélection")
        st.button("Zoomer", icon=":material/zoom_in:", on_click=session.zoom_to, args=([picked],), width="stretch")

    st.header("Sélection")
    bind(st.radio, "Un clic sur la carte ajoute ou retire", "mode", options=list(MODES), format_func=MODES.get)
    st.radio("Glisser sur la carte", list(MAP_TOOLS), format_func=MAP_TOOLS.get, key="map_tool",
             help="En mode pinceau, maintenir le bouton et glisser ajoute (ou retire, si la première zone était "
                  "sélectionnée) toutes les zones survolées. En mode lasso, glisser trace une forme libre : les zones "
                  "dont le centre est dedans sont ajoutées (ou retirées si elles y étaient toutes).")
    epci_names = webmap.epci_choices(load_area(DATA_PATH, session.area))
    if epci_names:
        picked_epci = st.selectbox("Intercommunalité (EPCI)", epci_names, format_func=epci_names.get, key="epci_pick",
                                   index=None, placeholder="Choisir une EPCI de la zone")
        whole = picked_epci is not None and session.has_epci(picked_epci)
        # Both shown, each in its place, the one that would do nothing disabled: a double click never undoes itself.
        st.button("Ajouter toute l'EPCI", icon=":material/select_all:", on_click=session.add_epci,
                  args=(picked_epci,), disabled=picked_epci is None or whole, key="epci_add", width="stretch",
                  help="Ajoute toutes les communes de l'EPCI à la sélection.")
        st.button("Retirer toute l'EPCI", icon=":material/deselect:", on_click=session.remove_epci,
                  args=(picked_epci,), disabled=not whole, key="epci_remove", width="stretch",
                  help="Retire toutes les communes de l'EPCI de la sélection.")

    st.header("Brouillons")
    bind(st.text_input, "Nom de la CPTS", "name", placeholder="ex. CPTS Ruscino")
    st.button("Enregistrer le brouillon", icon=":material/save:", on_click=save_draft, width="stretch")
    if st.session_state.get("confirm_overwrite") == session.name:
        st.warning(markdown_text(f"Un brouillon « {session.name} » existe déjà. Le remplacer ? (sa version "
                                 "actuelle restera dans l'historique)"))
        st.button("Remplacer", icon=":material/save_as:", on_click=save_draft, args=(True,),
                  key="confirm_overwrite_yes", width="stretch")
        # not « Annuler », which undoes the last change of the selection (above the map)
        st.button("Ne pas remplacer", icon=":material/close:", on_click=st.session_state.pop,
                  args=("confirm_overwrite",), key="confirm_overwrite_no", width="stretch")
    visible = {(draft.owner, draft.name): draft for draft in drafts.visible()}
    if visible:
        st.selectbox("Brouillons enregistrés", list(visible), key="draft_choice", format_func=draft_label)
        chosen = visible.get(st.session_state.draft_choice)
        # one button a row: two side by side are cut (« Suppri… ») in the sidebar of a 1366 px screen
        st.button("Rouvrir", icon=":material/folder_open:", on_click=open_draft, width="stretch")
        st.button("Supprimer", icon=":material/delete:", disabled=chosen.owner != user.email,
                  on_click=st.session_state.__setitem__, args=("confirm_delete", st.session_state.draft_choice),
                  width="stretch", help="Seul l'auteur d'un brouillon peut le supprimer.")
        if st.session_state.get("confirm_delete") == st.session_state.draft_choice:
            st.warning(markdown_text(f"Supprimer définitivement le brouillon « {chosen.name} » et ses versions ?"))
            st.button("Supprimer", icon=":material/delete_forever:", on_click=delete_draft,
                      key="confirm_delete_yes", type="primary", width="stretch")
            st.button("Ne pas supprimer", icon=":material/close:", on_click=st.session_state.pop,
                      args=("confirm_delete",), key="confirm_delete_no", width="stretch")
        if drafts.can_change(chosen):
            with st.expander("Versions précédentes"):
                versions = {v.number: v for v in drafts.versions(chosen.name, chosen.owner)}
                st.selectbox("Version", list(versions), key="version_choice", format_func=lambda n: (
                    f"{n} — {fr_datetime(versions[n].updated)} — {len(versions[n].iris)} IRIS"
                    f"{' — ' + versions[n].author if versions[n].author else ''}"))
                st.button("Restaurer cette version", icon=":material/history:", on_click=restore_version,
                          disabled=len(versions) < 2, key="restore_version")
        if chosen.owner == user.email and user.email:
            with st.expander("Partager"):
                emails = st.text_input("Partager avec (e-mails, séparés par des virgules)",
                                       value=", ".join(chosen.shared_with))
                st.button("Partager", icon=":material/share:", on_click=share_draft, args=(emails,), key="share_draft")

    with st.expander("Importer une liste de codes"):
        st.file_uploader("Fichier CSV ou TXT (codes INSEE ou IRIS)", key="code_file", on_change=on_code_file,
                         help=f"{MAX_UPLOAD_BYTES // 1_000_000} Mo au plus : une colonne « code » (ou « code_insee », "
                              "« code_iris »), ou un code par ligne.")
        st.text_area("… ou collez les codes", key="typed_codes", placeholder="66028, 66186, 661360801")
        st.button("Importer les codes collés", on_click=import_typed_codes)

    with st.expander("CPTS voisines"):
        st.file_uploader("Fichier des CPTS voisines (CSV « cpts;code », GeoJSON ou GeoPackage)",
                         key="neighbour_file", on_change=on_neighbour_file,
                         help=f"CSV : {MAX_UPLOAD_BYTES // 1_000_000} Mo au plus ; GeoJSON, GeoPackage ou Shapefile "
                              f"zippé : {MAX_PERIMETER_BYTES // 1_000_000} Mo au plus.")
        draft_codes = drafts.load_all()
        st.multiselect("Brouillons à comparer", [d for d in draft_codes if d != session.name],
                       key="neighbour_drafts", placeholder="Choisir des brouillons", select_all=False)
        registry_names = [name for name, _ in store.names("registry") if name != session.name]
        if registry_names:
            bind(st.checkbox, f"Comparer aux CPTS du registre enregistré ({len(registry_names)})", "compare_registry",
                 help="Le registre de l'ARS (page « Vue ARS ») dans le même fichier de territoires.")

neighbours = {**({name: codes for name, codes in store.load_all("registry").items() if name in registry_names}
                 if session.compare_registry else {}),
              **st.session_state.get("neighbours_from_file", {}),
              **{name: codes for name, codes in draft_codes.items()
                 if name in st.session_state.get("neighbour_drafts", [])}}

# --- main page ------------------------------------------------------------------------------
st.title("Tracer le territoire de la CPTS")
st.caption("Cliquez sur les zones (IRIS) de la carte pour les ajouter ou les retirer ; **Alt + clic** : toute la "
           "commune de la zone ; **Maj + glisser** : toutes les zones d'un rectangle, **Ctrl + glisser** : celles d'une "
           "forme libre (lasso) — ajoutées, ou retirées si elles y étaient toutes. Le résumé et les vérifications se "
           "mettent à jour à chaque clic.")
for level, text in st.session_state.pop("notices", []):
    {"error": st.error, "success": st.success, "warning": st.warning, "info": st.info}[level](markdown_text(text))


def map_toolbar() -> None:
    """Undo, redo and clear, above the map (Ctrl+Z / Ctrl+Y on the page do the same)."""
    undo_col, redo_col, clear_col = st.columns(3)
    undo_col.button("Annuler", icon=":material/undo:", on_click=session.undo, disabled=not session.can_undo,
                    width="stretch", help="Annule le dernier changement de la sélection (Ctrl+Z)")
    redo_col.button("Rétablir", icon=":material/redo:", on_click=session.redo, disabled=not session.can_redo,
                    width="stretch", help="Rétablit le changement annulé (Ctrl+Y)")
    clear_col.button("Vider la sélection", icon=":material/delete_sweep:", on_click=session.clear,
                     disabled=not session.selection, width="stretch", help="Vide la sélection")


def show_map(territory, summary, checks) -> None:
    area = load_area(DATA_PATH, session.area)
    # a request names its session: a new session in the same browser window (the server restarted) is framed again
    view = ({"bounds": map_data.iris_bounds(session.view), "request": f"{id(session)}-{session.view_requests}"}
            if session.view else None)
    detached = next((check.details.get("detached", []) for check in checks if check.name == "contiguity"), [])
    overlays = webmap.territory_layers(area, territory.iris, detached) + webmap.overlay_layers(
        area, [c.code_insee for c in summary.split_communes] if summary else (), neighbours, session.focus)
    area_id = "-".join(area.departements)
    layers = {f"{kind}-{area_id}": partial(load_switchable_layer, DATA_PATH, area.departements, kind)
              for kind in webmap.OPTIONAL_LAYERS if st.session_state.get(f"layer_{kind}")}
    drawmap.draw_map(key="map", area_id=area_id,
                     area_payload=partial(load_draw_area, DATA_PATH, area.departements),
                     selection=territory.iris, seq=st.session_state.get("map_seq", 0), mode=session.mode,
                     tool=st.session_state.map_tool, overlays=overlays, view=view,
                     on_selection_change=on_map_selection, on_key=on_map_key, layers=layers)
    st.markdown("**Afficher :**")
    switches = st.columns(2)   # three a row were cut (« Densité de popula… ») under the map of a 1366 px screen
    for index, (kind, label) in enumerate(webmap.OPTIONAL_LAYERS.items()):
        switches[index % 2].checkbox(label, key=f"layer_{kind}")
    st.caption("Orange : sélection · trait noir : contour du territoire · rouge tireté : morceau détaché · "
               "violet pointillé : commune découpée · vert : CPTS voisine · brun tireté : limite d'EPCI · "
               "rose : zone signalée par une vérification.")


def show_figures(summary) -> None:
    pop, taille = summary.population, summary.taille
    # two figures a row: « 1 234 567 » habitants and the labels stay whole in the summary column of a 1366 px screen
    population_col, taille_col = st.columns([3, 2])
    population_col.metric(f"Population {pop.millesime or ''}".strip(), fr_int(pop.value))
    taille_col.metric("Taille", taille.number, help=taille.label)
    communes_col, iris_col = st.columns([3, 2])
    communes_col.metric("Communes", summary.commune_count,
                        help=f"dont {len(summary.split_communes)} découpée(s)" if summary.split_communes else None)
    if summary.communes_only:   # overseas: the zones of the map are the communes, there is no IRIS to count
        st.caption("Outre-mer : les zones de la carte sont des communes entières (pas de découpage en IRIS dans "
                   "les données).")
    else:
        iris_col.metric("IRIS", summary.iris_count)
    st.caption(f"{pop.source}. {pop.method}")
    if summary.epci:
        st.info(markdown_text("Intercommunalités (EPCI) : " + ", ".join(e.label for e in summary.epci) + "."),
                icon=":material/account_balance:")


def show_taille_and_ages(summary) -> None:
    taille = summary.taille
    st.markdown(f"**Taille {taille.number}** : {taille.label}.")
    st.table(pd.DataFrame(
        [(f"{'▶ ' if n == taille.number else ''}{n}", label) for n, label, _, _ in TAILLE_BANDS],
        columns=["Taille", "Population"]).set_index("Taille"))
    if taille.funding:
        st.markdown("**Financement ACI pour cette taille**")
        st.table(pd.DataFrame([(f["label"], funding_text(f)) for f in taille.funding],
                              columns=["Poste", "Montant"]).set_index("Poste"))
    if summary.age.rows:
        st.markdown("**Structure par âge** (comparée à chaque département et région du territoire)")
        st.table(summary.age.table(label="Indicateur").set_index("Indicateur"))
        st.caption(summary.age.note)


def show_offer(territory) -> None:
    """« Offre de soins »: professionals, APL, establishments by group, nurse zoning, sources and limits."""
    panel = offer_panel(territory_offer(bundle, territory.iris))
    if panel.professionals is not None:
        st.markdown("**Professionnels de santé libéraux**")
        st.table(panel.professionals.set_index("Professionnels"))
    st.caption(markdown_text(" ".join(panel.professionals_notes)))
    st.markdown("**Accessibilité aux médecins généralistes (APL)**")
    st.table(panel.apl.set_index("Indicateur"))
    st.markdown("**Établissements (FINESS) dans le territoire**")
    for title, rows in panel.establishment_groups:
        with st.expander(title):   # a table wraps long names (cells are Markdown: names escaped)
            st.table(rows.map(markdown_text), hide_index=True)
    if panel.establishments_note:
        st.caption(markdown_text(panel.establishments_note))
    st.markdown(markdown_text(panel.zoning))
    with st.expander(f"APL et zonage infirmier par commune ({len(panel.communes)})"):
        st.table(panel.communes.map(markdown_text), hide_index=True)
    st.caption("Sources et limites de l'offre de soins : " + markdown_text(" ".join(panel.limits)))


def show_checks(checks) -> None:
    for check in checks:
        LEVEL_BOXES[check.level](f"**{check.title}** — {markdown_text(check.message)}", icon=LEVEL_ICONS[check.level])
        communes = sorted(set(check.communes) | bundle.communes_of(check.iris))
        if check.level != "ok" and communes:
            cols = st.columns(min(len(communes), 2))   # four a row were cut to « B… » on a 1366 px screen
            for i, code in enumerate(communes[:MAX_ZOOM_BUTTONS]):
                name = markdown_text(bundle.communes.at[code, "nom"])
                cols[i % len(cols)].button(name, icon=":material/zoom_in:", key=f"zoom_{check.name}_{code}",
                                           on_click=session.zoom_to, args=([code], check.iris), width="stretch",
                                           help=f"Voir {name} sur la carte")


def show_checks_to_review(checks) -> None:
    """At the top of another tab than « Vérifications »: the checks that are not met, named."""
    if failed := [check.title for check in checks if check.level in ("warning", "error")]:
        st.warning(markdown_text("Vérifications à revoir (onglet « Vérifications ») : "
                                 + ", ".join(f"« {title} »" for title in failed) + "."), icon=":material/warning:")


def show_selection_outside_area() -> None:
    """A change of région keeps the selection: say so when some of it is outside the départements shown."""
    if outside := session.outside_area():
        st.warning(f"{fr_int(len(outside))} zone(s) de la sélection sont hors des départements affichés "
                   f"(département(s) {listed(sorted(iris_departements(bundle, outside)))}) : le résumé, les "
                   "vérifications et les exports les comptent, la carte ne les montre pas. Ajoutez leur département "
                   "aux départements affichés, ou videz la sélection.", icon=":material/warning:")
        st.button("Vider la sélection", icon=":material/delete_sweep:", on_click=session.clear, key="clear_outside")


@st.fragment
def drawing() -> None:
    """The map and all that follows the selection: a change on the map reruns only this part of the page."""
    if list(session.area) != st.session_state.get("session_area"):   # the map was moved to other départements
        st.rerun(scope="app")
    show_selection_outside_area()
    territory = session.territory
    summary = summarize(bundle, territory) if territory.iris else None
    checks = run_checks(bundle, territory, neighbours, session.code_report) if summary else []
    map_col, summary_col = st.columns([3, 2], gap="medium")
    with map_col:
        map_toolbar()
        show_map(territory, summary, checks)
    with summary_col:
        st.subheader(f"Résumé{' — ' + markdown_text(territory.name) if territory.name else ''}")
        if summary is None:
            st.info("Aucune zone sélectionnée : cliquez sur la carte, cherchez une commune, rouvrez un brouillon "
                    "ou importez une liste de codes.")
        else:
            show_figures(summary)
            # only the open tab runs and is sent to the browser: a click waits for the checks alone by default
            checks_tab, taille_tab, offer_tab = st.tabs(list(PANEL_TABS), key="panel_tab", on_change="rerun")
            if checks_tab.open:
                with checks_tab:
                    show_checks(checks)
            if taille_tab.open:
                with taille_tab:
                    show_checks_to_review(checks)
                    show_taille_and_ages(summary)
            if offer_tab.open:
                with offer_tab:
                    show_checks_to_review(checks)
                    show_offer(territory)
        st.caption("Limites des données : " + " ".join(data_limits(bundle, {p.departement for p in summary.communes}
                                                                    if summary else ())))
        if (codes := session.link_code_count()) > MAX_LINK_CODES:
            st.info(f"Sélection de {fr_int(codes)} codes de zones : trop grande pour l'adresse de la page (au plus "
                    f"{fr_int(MAX_LINK_CODES)}), qui ne la contient pas. Pour la retrouver ou la transmettre, "
                    "enregistrez-la comme brouillon ou exportez le tableau.", icon=":material/link_off:")
    if summary is not None:
        show_letter_and_exports(territory, summary)
    address = session.address()   # None: the user's link stays as he gave it until he changes the selection
    if address is not None and st.query_params.to_dict() != address:
        st.query_params.from_dict(address)


def show_letter_and_exports(territory, summary) -> None:
    """The letter table of the panel's summary; the files are made only when their button is clicked."""
    st.subheader("Tableau de la lettre d'intention")
    detailed = st.toggle("Une ligne par IRIS (sinon une ligne par commune entière)", value=False)
    st.dataframe(letter_table(bundle, summary, detailed), hide_index=True, width="stretch")
    st.subheader("Exporter")
    st.caption(f"Les fichiers sont produits au clic (la carte A4 prend quelques secondes). {PERIMETER_SYSTEMS}")

    def file_data(fmt: str) -> bytes:
        return TerritoryExport(bundle, territory, neighbours, detailed=detailed).export(fmt).data

    export_cols = st.columns(3)
    for index, (fmt, (suffix, mime, label)) in enumerate(FORMATS.items()):
        export_cols[index % 3].download_button(
            label, data=partial(file_data, fmt), file_name=file_stem(territory.name) + suffix,
            mime=mime, icon=":material/download:", key=f"export_{fmt}", on_click="ignore", width="stretch")


drawing()
