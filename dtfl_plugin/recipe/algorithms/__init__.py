"""Processing algorithms of this room, one per file; the provider reads ALGORITHMS.

Imported lazily by the provider only: this package itself must stay importable without QGIS.
"""


def _algorithms() -> list:
    from .recipe_cook import RecipeCookAlgorithm
    from .recipe_keygen import RecipeKeygenAlgorithm
    from .recipe_package import RecipePackageAlgorithm
    from .recipe_unpack import RecipeUnpackAlgorithm
    from .recipe_verify import RecipeVerifyAlgorithm

    return [
        RecipePackageAlgorithm,
        RecipeKeygenAlgorithm,
        RecipeVerifyAlgorithm,
        RecipeUnpackAlgorithm,
        RecipeCookAlgorithm,
    ]


def __getattr__(name: str):
    if name == "ALGORITHMS":
        return _algorithms()
    raise AttributeError(name)
