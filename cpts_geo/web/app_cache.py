"""What every page of the Streamlit app shares: the data, loaded once per server process, the links between
pages, and who is using the app (single user, or the logged-in user of a shared server: see :mod:`cpts_geo.storage.users`)."""

from __future__ import annotations

import gc
import json
import logging
import os
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import geopandas as gpd
import streamlit as st

from cpts_geo.web import webmap
from cpts_geo.data.bundle import Bundle
from cpts_geo.region.coverage import CoverageReport, area_of, coverage_report
from cpts_geo.web.coverage_map import coverage_map, cpts_shapes, departements_of, map_departements
from cpts_geo.errors import CptsGeoError
from cpts_geo.web.folium_view import RenderedMap, render_map
from cpts_geo.region.registry import RegistryImport, read_registry_upload
from cpts_geo.region.planning import Plan, PlanSettings, propose
from cpts_geo.web.session import iris_regions
from cpts_geo.storage.store import StoreUnavailable, open_store
from cpts_geo.user_text import markdown_text
from cpts_geo.storage.users import SINGLE_USER, Drafts, User, user_from_login

LOG = logging.getLogger(__name__)
#: What users read when the store cannot be used: the store named by what it holds, never by its path or address.
STORE_UNAVAILABLE = ("Vos brouillons et le registre de la région ne peuvent pas être lus ou enregistrés pour le "
                     "moment ; rien n'a été modifié. Réessayez dans un instant ; si cela dure, prévenez "
                     "l'administrateur du serveur (le détail est dans son journal).")


#: Bound on the map layers kept by the server per area (one or several départements: about 10 MB for one, 260 MB
#: for all Occitanie) and per optional layer: beyond it the least recently used go, and each goes after an hour
#: (built again in 0.2–1 s when asked), so that the memory of a server stays bounded whatever areas its users look at.
AREA_CACHE = {"max_entries": 12, "ttl": 3600}


def long_lived(data):
    """``data``, loaded once per server, kept out of the garbage collector's scans (with all that exists now:
    modules, the bundle…): Streamlit collects after every run (``runner.postScriptGC``), which walked the whole
    bundle again at each click (60–80 ms of CPU) though none of it is ever garbage. These data hold no reference
    cycle: an entry dropped from a bounded cache is still freed."""
    gc.freeze()
    return data


@st.cache_resource(show_spinner="Chargement des données…")
def load_bundle(path: str | None) -> Bundle:
    """The data bundle (one copy for all pages and sessions), ready for the first click."""
    return long_lived(Bundle.load(path).warm_up())


@st.cache_resource(show_spinner=False)
def load_map_data(path: str | None, tolerance_m: float = webmap.SIMPLIFY_TOLERANCE_M) -> webmap.MapData:
    """Map layers of the bundle simplified at ``tolerance_m``, kept across reruns."""
    return webmap.MapData(load_bundle(path), tolerance_m)


@st.cache_resource(show_spinner="Préparation de la carte…", **AREA_CACHE)
def load_area(path: str | None, departements: tuple[str, ...],
              tolerance_m: float = webmap.SIMPLIFY_TOLERANCE_M) -> webmap.AreaLayer:
    """The map layer of some départements, kept across reruns and pages."""
    return long_lived(load_map_data(path, tolerance_m).area(tuple(sorted(departements))))


@st.cache_resource(show_spinner="Calcul du plan de couverture sur la région (une fois par registre et réglages)…",
                   **AREA_CACHE)
def load_plan(path: str | None, digest: str, _registry: dict[str, frozenset[str]], region: str,
              departement: str, settings: PlanSettings) -> Plan:
    """The plan of full coverage of an area (:func:`cpts_geo.region.planning.propose`, computed on its région), kept
    across reruns and users per registry (``digest``: :func:`cpts_geo.region.registry.registry_digest` of
    ``_registry``), area and settings."""
    bundle = load_bundle(path)
    return propose(bundle, _registry, area_of(bundle, region, departement or None), settings)


@st.cache_resource(show_spinner=False, **AREA_CACHE)
def load_draw_area(path: str | None, departements: tuple[str, ...]) -> str:
    """What the drawing map receives once per area (:func:`cpts_geo.web.webmap.draw_area`) as compact JSON text, built
    and serialized once per server: as a dict, Streamlit would serialize it twice for each visitor (its data and
    its identity), 0.1–0.3 s for a département."""
    return json.dumps(webmap.draw_area(load_area(path, departements), load_bundle(path)), separators=(",", ":"))


@st.cache_resource(show_spinner="Préparation de la couche…", **AREA_CACHE)
def load_switchable_layer(path: str | None, departements: tuple[str, ...], kind: str) -> dict:
    """An optional layer of the drawing map (:func:`cpts_geo.web.webmap.switchable_layer`: APL, FINESS, density) of some
    départements, built once per server."""
    return long_lived(webmap.switchable_layer(load_area(path, departements), load_bundle(path), kind))


@dataclass(frozen=True)
class CoverageView:
    """What the « Vue ARS » shows of an area and a registry: the report, the map's layer (départements of the area
    and those its CPTS reach), the outline of each CPTS and the map rendered once."""

    report: CoverageReport
    area: webmap.AreaLayer
    shapes: gpd.GeoDataFrame
    rendered: RenderedMap


@st.cache_resource(show_spinner="Calcul de la couverture et de sa carte…", **AREA_CACHE)
def load_coverage_view(path: str | None, region: str, departement: str, digest: str,
                       _registry: dict[str, frozenset[str]]) -> CoverageView:
    """The coverage of the région or département by the registry of content ``digest``
    (:func:`cpts_geo.region.registry.registry_digest`) and its map, built once per server: going back to an area or a
    registry seen before (by anyone) takes no computation, and sends the very same map."""
    bundle = load_bundle(path)
    report = coverage_report(bundle, _registry, area_of(bundle, region, departement or None))
    area = load_area(path, map_departements(report, bundle, _registry),
                     webmap.SIMPLIFY_TOLERANCE_M if departement else webmap.REGION_TOLERANCE_M)
    shapes = cpts_shapes(area, _registry, report)
    return CoverageView(report, area, shapes, render_map(coverage_map(area, _registry, report, shapes,
                                                                      departements_of(report, bundle))))


@st.cache_resource(show_spinner="Lecture du registre…", max_entries=4, ttl=AREA_CACHE["ttl"])
def load_registry_upload(path: str | None, data: bytes, filename: str) -> RegistryImport:
    """A registry file uploaded, read and checked once (not again at every run of the page while it stays)."""
    return read_registry_upload(load_bundle(path), data, filename)


#: French texts in place of the English ones Streamlit gives some widgets (file uploaders), read once.
FRENCH_STYLE = f"<style>{Path(__file__).with_name('french.css').read_text(encoding='utf-8')}</style>"
#: The pages of the app with their French names (Streamlit would name the main page after its file, « app ») and
#: whether only the ARS may open them (their link is shown to the ARS only).
PAGES = (("app.py", "Tracer le territoire", ":material/draw:", False),
         ("pages/2_Vue_ARS.py", "Vue ARS : couverture régionale", ":material/map:", True),
         ("pages/3_Aide.py", "Aide", ":material/help:", False))


def show_table(table, empty: str, **options) -> None:
    """A table, or ``empty`` (a French sentence) in its place when it has no row: Streamlit would show « empty »."""
    if table.empty:
        st.caption(empty)
    else:
        st.dataframe(table, **options)


def shown_error(err: CptsGeoError) -> str:
    """The French message the app shows for an error: a store that cannot be used (its message names a server path or
    address) is written to the server's log and shown as :data:`STORE_UNAVAILABLE`."""
    if isinstance(err, StoreUnavailable):
        LOG.error("%s", err)
        return STORE_UNAVAILABLE
    return str(err)


def current_user() -> User:
    """Who uses the app: the single user when no login is configured (no ``[auth]`` in the secrets), else the
    logged-in user with his roles (section ``[cpts_geo]`` of the secrets); a visitor not logged in gets the
    login button, a login the app cannot trust (no e-mail, unverified e-mail) a French message and the logout
    button, and the page stops."""
    info = st.user.to_dict()
    if "is_logged_in" not in info:   # Streamlit sets it only when ``[auth]`` is configured: a laptop
        return SINGLE_USER
    if not info["is_logged_in"]:
        st.info("Connectez-vous pour retrouver vos brouillons.")
        st.button("Se connecter", icon=":material/login:", on_click=st.login)
        st.stop()
    try:
        roles = st.secrets.get("cpts_geo", {})
    except FileNotFoundError:   # logged in without a secrets file: only in tests
        roles = {}
    try:
        return user_from_login(info, roles)
    except CptsGeoError as err:   # a login the app cannot trust: say why, and let him log in with another account
        st.error(markdown_text(err))
        st.button("Se déconnecter", icon=":material/logout:", on_click=st.logout)
        st.stop()


def page_header(title: str, links: bool = True) -> None:
    """Start a page: its title in the browser, the French style and, with ``links``, the links to the pages in the
    sidebar (all of them: a page that knows its user draws them with :func:`page_links`)."""
    st.set_page_config(page_title=f"CPTS — {title}", page_icon="🗺️", layout="wide")
    st.html(FRENCH_STYLE)
    if links:
        page_links()


def page_links(ars: bool = True) -> None:
    """The links to the pages in the sidebar; those only the ARS may open (the « Vue ARS ») left out when ``ars`` is
    false (a porteur would be refused the page)."""
    with st.sidebar:   # the automatic navigation is off in .streamlit/config.toml
        for path, label, icon, ars_only in PAGES:
            if ars or not ars_only:
                st.page_link(path, label=label, icon=icon)
        st.divider()


def open_page(title: str) -> tuple[str | None, Bundle, Drafts]:
    """Start a page: its title, the links to the pages, the user, the data bundle and the store.

    Returns ``(data path, bundle, drafts)``: the drafts of the store as the current user may see them
    (``drafts.store`` is the whole store, ``drafts.user`` the user); when the bundle or the store cannot be
    opened, the page shows the French error and stops. The data come from ``$CPTS_GEO_DATA`` (default bundle
    when unset), the store from ``$CPTS_GEO_STORE`` (see :mod:`cpts_geo.storage.store`).
    """
    page_header(title, links=False)
    data_path = os.environ.get("CPTS_GEO_DATA")
    try:
        user = current_user()
        page_links(ars=user.is_ars)
        bundle = load_bundle(data_path)
        drafts = Drafts(open_store(os.environ.get("CPTS_GEO_STORE")), user, partial(iris_regions, bundle))
    except CptsGeoError as err:
        st.error(markdown_text(shown_error(err)))
        st.stop()
    if user is not SINGLE_USER:
        with st.sidebar:
            st.caption(markdown_text(f"Connecté : {user.label}" + (" (ARS)" if user.is_ars else "")))
            st.button("Se déconnecter", icon=":material/logout:", on_click=st.logout, key="logout")
    return data_path, bundle, drafts
