"""Territory layer: the territory model, its checks, funding, lettre d'intention and offer of care."""
