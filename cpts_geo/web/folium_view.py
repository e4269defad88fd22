"""A folium map sent to the browser once, and a CPTS outlined and framed on it without sending the map again
(the « Vue ARS » map).

``st_folium`` renders the whole map to HTML and JavaScript at every run (seconds for a région of 70 CPTS) and
sends it again (4 MB for the Occitanie). Here the map is rendered once (:func:`render_map`, kept with the
page's data) and every run gives streamlit-folium's component the very same arguments, which Streamlit does
not send again (the browser has them); the CPTS picked in the list goes to the map through a small component
of its own (:func:`focus_map`, a few kB): its outline is added to the Leaflet map of the iframe and the map
framed on it, in place.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import folium
import folium.elements
import streamlit as st
import streamlit_folium as sf
from streamlit import runtime

#: Outline of the CPTS picked and framing, applied to the Leaflet map of the folium iframe of the page (same
#: origin); applied again if that map is drawn anew (another area), taken off when no CPTS is picked.
FOCUS_JS = """
export default function ({data}) {
  const token = window.__cptsFocusLatest = {};   // the intervals of earlier data stop
  const apply = () => {
    if (window.__cptsFocusLatest !== token) return clearInterval(timer);
    const frame = [...document.querySelectorAll("iframe")].find(f => (f.title || "").includes("folium"));
    const win = frame && frame.contentWindow;
    if (!win || !win.map || !win.L || win.__cptsFocusToken === token) return;
    if (win.__cptsFocus) win.map.removeLayer(win.__cptsFocus);
    win.__cptsFocus = null;
    win.__cptsFocusToken = token;
    if (data && data.outline) {
      win.__cptsFocus = win.L.geoJSON(data.outline, {style: data.style, interactive: false}).addTo(win.map);
      win.map.fitBounds(data.bounds, {padding: [20, 20], maxZoom: 14, animate: false});
    }
  };
  const timer = setInterval(apply, 100);
  apply();
  return () => clearInterval(timer);
}
"""
_focus_component = st.components.v2.component("cpts_geo.map_focus", js=FOCUS_JS)


@dataclass
class RenderedMap:
    """A folium map rendered once: the component's arguments that do not change from run to run."""

    args: dict
    digest: str    # of the script: the component's identity


def _elements(element):
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _elements(child)


def render_map(folium_map: folium.Map) -> RenderedMap:
    """Render ``folium_map`` once, as ``st_folium`` does (its HTML, header, script, scripts and styles to load); the
    figure rendered once, and the digest a plain hash of the script (streamlit-folium's rewrites 4 MB with a regular
    expression for the Occitanie)."""
    folium_map.get_root().render()
    html, header = sf._get_html(folium_map), sf._get_header(folium_map)
    script = sf._get_map_string(folium_map)
    mixins = [e for e in _elements(folium_map) if isinstance(e, folium.elements.JSCSSMixin)]
    return RenderedMap({
        "script": script, "header": header, "html": html, "id": sf.get_full_id(folium_map),
        "css_links": list(dict.fromkeys(href for e in mixins for _, href in getattr(e, "default_css", []))),
        "js_links": list(dict.fromkeys(src for e in mixins for _, src in getattr(e, "default_js", [])))},
        hashlib.sha256(script.encode()).hexdigest())


def _folium_component():
    """streamlit-folium's component, registered in this server's runtime: it registers itself only when its module is
    first imported during a page run, and :mod:`cpts_geo.web.server` imports it before the server starts (preload)."""
    registry = runtime.get_instance().component_registry
    if registry.get_component(sf._component_func.name) is None:
        registry.register_component(sf._component_func)
    return sf._component_func


def show_map(rendered: RenderedMap, *, key: str, height: int) -> dict | None:
    """Show the map full width, the same arguments at every run; returns the last point clicked
    (``{"lat": …, "lng": …}``, the page runs again on a click), or None."""
    value = _folium_component()(**rendered.args, key=f"{key}_{rendered.digest}", height=height, width=None,
                                returned_objects=["last_clicked"], default={"last_clicked": None}, zoom=None,
                                center=None, feature_group=None, return_on_hover=False, layer_control=None,
                                pixelated=False, on_change=None, wrap_longitude=False)
    return (value or {}).get("last_clicked")


def focus_map(*, key: str, outline: dict | None, bounds: list[list[float]] | None, style: dict) -> None:
    """Outline ``outline`` (GeoJSON, drawn with the Leaflet ``style``) on the map of the page and frame
    ``bounds`` (``[[south, west], [north, east]]``); ``None``: no outline."""
    _focus_component(key=key, data={"outline": outline, "bounds": bounds, "style": style})
