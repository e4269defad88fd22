"""Page « Aide »: the user guides with their pictures (``?guide=ars`` opens the ARS guide); read from ``docs/`` by
:mod:`cpts_geo.web.guides`, readable without logging in."""

from __future__ import annotations

import streamlit as st

from cpts_geo.web.app_cache import page_header
from cpts_geo.web.guides import GUIDES, guide_blocks

page_header("Aide")
if "guide" not in st.session_state:
    linked = st.query_params.get("guide", "porteur")
    st.session_state.guide = linked if linked in GUIDES else "porteur"
guide = st.radio("Guide", list(GUIDES), format_func=lambda key: GUIDES[key][0], key="guide", horizontal=True)
st.query_params["guide"] = guide
for block in guide_blocks(guide):
    if block.picture:
        st.image(str(block.picture), caption=block.text, width=block.width)
    else:
        st.markdown(block.text)
