"""Builders of the sandbox's generated artefacts; each writes into a cache folder (see sandbox.paths.cached)."""
