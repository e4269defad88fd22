"""What every page of the Streamlit app shares: the data, loaded once per server process, and the links between pages."""

from __future__ import annotations

import streamlit as st

from cpts_geo import webmap
from cpts_geo.bundle import Bundle


@st.cache_resource(show_spinner="Chargement des données…")
def load_bundle(path: str | None) -> Bundle:
    """The data bundle (one copy for all pages and sessions)."""
    return Bundle.load(path)


@st.cache_resource(show_spinner=False)
def load_map_data(path: str | None) -> webmap.MapData:
    """Simplified map layers of the bundle, kept across reruns."""
    return webmap.MapData(load_bundle(path))


@st.cache_resource(show_spinner="Préparation de la carte…")
def load_area(path: str | None, departements: tuple[str, ...]) -> webmap.AreaLayer:
    """The map layer of some départements, kept across reruns and pages."""
    return load_map_data(path).area(tuple(sorted(departements)))


#: The pages of the app with their French names (Streamlit would name the main page after its file, « app »).
PAGES = (("app.py", "Tracer le territoire", ":material/draw:"),
         ("pages/2_Vue_ARS.py", "Vue ARS : couverture régionale", ":material/map:"))


def page_links() -> None:
    """Links to the pages at the top of the sidebar (the automatic navigation is off in .streamlit/config.toml)."""
    with st.sidebar:
        for path, label, icon in PAGES:
            st.page_link(path, label=label, icon=icon)
        st.divider()
