"""The drawing map of the app: a small Streamlit component (components v2) on the Leaflet of ``static/``.

The browser keeps the selection, so that a click colours its zone at once, and sends the whole
selection back (``{"codes": [...], "seq": n}``); :class:`cpts_geo.web.session.DrawingSession` stays the
reference: the page applies it, and the map shows what Python sends back unless the user has
clicked again since (``seq``). The IRIS and the fixed layers of an area (:func:`cpts_geo.web.webmap.draw_area`)
are sent once per area and session, an optional layer (:func:`cpts_geo.web.webmap.optional_layer`) once per
area and session when first switched on; later runs send only the selection, the overlays, the view and
which optional layers are shown.
No npm build: ``drawmap.js`` and ``drawmap.css`` are plain files of this package.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from cpts_geo.web import webmap

HERE = Path(__file__).parent
#: Which area's layers the browser has, per session (the key of the map's widget in ``st.session_state``).
SENT_KEY = "drawmap_sent_area"
#: Which optional layers the browser has, per session.
SENT_LAYERS_KEY = "drawmap_sent_layers"
#: The map's hover fields: (property of an IRIS, French label).
TOOLTIP_FIELDS = list(zip(webmap.FEATURE_FIELDS, webmap.TOOLTIP_ALIASES))

_component = st.components.v2.component(
    "cpts_geo.web.drawmap", js=(HERE / "drawmap.js").read_text(encoding="utf-8"),
    css=(HERE / "drawmap.css").read_text(encoding="utf-8"), isolate_styles=False)


def forget_sent_area() -> None:
    """The browser lost the area's layers (a new map in the page): send them, and the optional layers, again."""
    st.session_state.pop(SENT_KEY, None)
    st.session_state.pop(SENT_LAYERS_KEY, None)


def draw_map(*, key: str, area_id: str, area_payload, selection: frozenset[str], seq: int, mode: str, tool: str,
             overlays: list[dict], view: dict | None, on_selection_change, on_key, layers=None) -> None:
    """Mount the map. ``area_payload`` (the area's layers as JSON text) is called only when the browser does not have
    the area yet, and each of ``layers`` (the optional layers shown: id → function giving the layer) when it does
    not have that id;
    ``on_selection_change`` runs when the user changes the selection on the map (read it with
    :func:`selection_of`), ``on_key`` when he types Ctrl+Z or Ctrl+Y on the page (:func:`key_of`)."""
    data = {"area_id": area_id, "selection": sorted(selection), "seq": seq, "mode": mode, "tool": tool,
            "overlays": overlays, "view": view, "height": webmap.MAP_HEIGHT_PX, "tiles": webmap.TILES,
            "attribution": webmap.ATTRIBUTION, "tile_error": webmap.TILE_ERROR_NOTICE,
            "tooltip_fields": TOOLTIP_FIELDS}
    if st.session_state.get(SENT_KEY) != area_id:
        data["area"] = area_payload()
        st.session_state[SENT_KEY] = area_id
    layers = layers or {}
    sent = st.session_state.setdefault(SENT_LAYERS_KEY, set())
    data["layers_shown"] = list(layers)
    data["layer_payloads"] = {name: make() for name, make in layers.items() if name not in sent}
    sent.update(layers)
    _component(key=key, data=data, default={"selection": None}, height=webmap.MAP_HEIGHT_PX,
               on_selection_change=on_selection_change, on_missing_area_change=forget_sent_area,
               on_key_change=on_key)


def selection_of(key: str) -> tuple[list[str], int] | None:
    """The selection the map sent (codes, sequence number), if any."""
    value = (st.session_state.get(key) or {}).get("selection")
    if not isinstance(value, dict) or not isinstance(value.get("codes"), list):
        return None
    return [str(code) for code in value["codes"]], int(value.get("seq", 0))


def key_of(key: str) -> str | None:
    """``"undo"`` or ``"redo"`` when the user has just typed Ctrl+Z or Ctrl+Y (Ctrl+Shift+Z)."""
    value = (st.session_state.get(key) or {}).get("key")
    return value if value in ("undo", "redo") else None
