"""Data layer: reading the open data, preparing and loading the bundle, codes, adjacency graph."""
