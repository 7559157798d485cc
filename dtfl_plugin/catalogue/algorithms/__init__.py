"""Processing algorithms of this room, one per file; the provider reads ALGORITHMS."""

ALGORITHMS: list = []
