"""cpts-geo: draw, check and export the territory of a CPTS from IRIS and communes.

Layers, lowest first; a module imports only from its layer or lower ones (``tests/test_architecture.py``):

* ``cpts_geo.errors``, ``config``, ``formatting``, ``user_text`` – small helpers shared by all;
* ``cpts_geo.data``      – read the open data, prepare and load the bundle, codes, adjacency graph;
* ``cpts_geo.territory`` – the territory model, its checks, funding, lettre d'intention, offer of care;
* ``cpts_geo.exports``, ``cpts_geo.storage`` – files of a territory; the store and its users;
* ``cpts_geo.region``    – the registry of a région's CPTS, its history, coverage and plan;
* ``cpts_geo.web``       – what the Streamlit pages (``app.py``, ``pages/``) show;
* ``cpts_geo.commands``  – ``python -m cpts_geo``.
"""

__version__ = "0.1.0"
