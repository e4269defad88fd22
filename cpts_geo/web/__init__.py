"""Web layer: what the Streamlit pages show (drawing session, maps, caching)."""
