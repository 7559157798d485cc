"""Processing algorithms of this room, one per file; the provider reads ALGORITHMS."""

from .catalogue_import import CatalogueImportAlgorithm
from .catalogue_search import CatalogueSearchAlgorithm

ALGORITHMS: list = [CatalogueImportAlgorithm, CatalogueSearchAlgorithm]
