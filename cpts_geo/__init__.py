"""cpts-geo: draw, check and export the territory of a CPTS from IRIS and communes.

Layers, each usable alone:

* ``cpts_geo.data.sources``  – read the open data (local mirror or official downloads);
* ``cpts_geo.data.prepare``  – build the compact data bundle (GeoParquet + adjacency graph);
* ``cpts_geo.data.graph``    – adjacency graph at IRIS and commune level;
* ``cpts_geo.data.bundle``   – load a prepared bundle;
* ``cpts_geo.territory.model`` / ``cpts_geo.territory.checks`` – territory model, summary and checks;
* ``cpts_geo.territory.letter``   – the table of the lettre d'intention;
* ``cpts_geo.commands.main``      – ``python -m cpts_geo``; ``app.py`` – the Streamlit page.
"""

__version__ = "0.1.0"
