"""Start the app's Streamlit server with its data ready: ``python -m cpts_geo.web.server [options of streamlit run]``.

``streamlit run app.py`` imports the page's modules and loads the data bundle only when the first visitor opens the
page, who then waits for them (8–10 s on a loaded machine). This entry point does it first, in the server's process
(the caches of :mod:`cpts_geo.web.app_cache` are the process's), then runs ``streamlit run app.py`` with the given
options: the server answers once it is ready, and its first visitor is served as fast as the next ones.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys

from streamlit.web import cli

from cpts_geo.config import PROJECT_ROOT
from cpts_geo.errors import CptsGeoError

LOG = logging.getLogger(__name__)
APP = PROJECT_ROOT / "app.py"
#: What the pages import that takes long the first time: the exports (matplotlib), the map (folium) and Streamlit's
#: emoji table (read for the page's icon).
HEAVY_MODULES = ("cpts_geo.exports.files", "cpts_geo.territory.offer", "cpts_geo.web.webmap", "streamlit.emojis")


def preload() -> None:
    """Import the pages' heavy modules, load the bundle and the drawing map of the default département."""
    from cpts_geo.web import app_cache
    from cpts_geo.web.session import DEFAULT_DEPARTEMENT

    for module in HEAVY_MODULES:
        importlib.import_module(module)
    data_path = os.environ.get("CPTS_GEO_DATA")
    try:
        app_cache.load_bundle(data_path)
    except CptsGeoError as err:   # a missing or outdated bundle: the page says so, in French, to every visitor
        LOG.warning("Données non préchargées : %s", err)
        return
    if DEFAULT_DEPARTEMENT in app_cache.load_bundle(data_path).departements["code_departement"].to_numpy():
        app_cache.load_draw_area(data_path, (DEFAULT_DEPARTEMENT,))


def main(argv: list[str]) -> None:
    preload()
    sys.argv = ["streamlit", "run", str(APP), *argv]
    sys.exit(cli.main())


if __name__ == "__main__":
    main(sys.argv[1:])
