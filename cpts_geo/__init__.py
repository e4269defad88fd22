"""cpts-geo: draw, check and export the territory of a CPTS from IRIS and communes.

Layers, each usable alone:

* ``cpts_geo.sources``  – read the open data (local mirror or official downloads);
* ``cpts_geo.prepare``  – build the compact data bundle (GeoParquet + adjacency graph);
* ``cpts_geo.graph``    – adjacency graph at IRIS and commune level;
* ``cpts_geo.bundle``   – load a prepared bundle;
* ``cpts_geo.territory`` / ``cpts_geo.checks`` – territory model, summary and checks;
* ``cpts_geo.letter``   – the table of the lettre d'intention;
* ``cpts_geo.cli``      – ``python -m cpts_geo``; ``app.py`` – the Streamlit page.
"""

__version__ = "0.1.0"
