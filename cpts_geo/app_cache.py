"""What every page of the Streamlit app shares: the data, loaded once per server process, and the links between pages."""

from __future__ import annotations

import os

import streamlit as st

from cpts_geo import webmap
from cpts_geo.bundle import Bundle
from cpts_geo.errors import CptsGeoError
from cpts_geo.store import TerritoryStore, open_store


@st.cache_resource(show_spinner="Chargement des données…")
def load_bundle(path: str | None) -> Bundle:
    """The data bundle (one copy for all pages and sessions)."""
    return Bundle.load(path)


@st.cache_resource(show_spinner=False)
def load_map_data(path: str | None, tolerance_m: float = webmap.SIMPLIFY_TOLERANCE_M) -> webmap.MapData:
    """Map layers of the bundle simplified at ``tolerance_m``, kept across reruns."""
    return webmap.MapData(load_bundle(path), tolerance_m)


@st.cache_resource(show_spinner="Préparation de la carte…")
def load_area(path: str | None, departements: tuple[str, ...],
              tolerance_m: float = webmap.SIMPLIFY_TOLERANCE_M) -> webmap.AreaLayer:
    """The map layer of some départements, kept across reruns and pages."""
    return load_map_data(path, tolerance_m).area(tuple(sorted(departements)))


#: The pages of the app with their French names (Streamlit would name the main page after its file, « app »).
PAGES = (("app.py", "Tracer le territoire", ":material/draw:"),
         ("pages/2_Vue_ARS.py", "Vue ARS : couverture régionale", ":material/map:"))


def open_page(title: str) -> tuple[str | None, Bundle, TerritoryStore]:
    """Start a page: its title, the links to the pages, the data bundle and the store.

    Returns ``(data path, bundle, store)``; when the bundle or the store cannot be opened, the
    page shows the French error and stops. The data come from ``$CPTS_GEO_DATA`` (default bundle
    when unset), the store from ``$CPTS_GEO_STORE`` (see :mod:`cpts_geo.store`).
    """
    st.set_page_config(page_title=f"CPTS — {title}", page_icon="🗺️", layout="wide")
    with st.sidebar:   # the automatic navigation is off in .streamlit/config.toml
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
    data_path = os.environ.get("CPTS_GEO_DATA")
    try:
        return data_path, load_bundle(data_path), open_store(os.environ.get("CPTS_GEO_STORE"))
    except CptsGeoError as err:
        st.error(str(err))
        st.stop()
