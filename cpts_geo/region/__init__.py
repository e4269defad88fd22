"""Region layer: the registry of the CPTS of a région, its history, coverage and plan."""
