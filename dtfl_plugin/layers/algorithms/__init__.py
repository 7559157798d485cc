"""Processing algorithms of this room, one per file; the provider reads ALGORITHMS."""

from .cityjson_import import CityJSONImportAlgorithm
from .load_3dbag import Load3DBAGAlgorithm
from .raster_from_service import RasterFromServiceAlgorithm
from .render_3d_view import Render3DViewAlgorithm

ALGORITHMS: list = [CityJSONImportAlgorithm, Load3DBAGAlgorithm, RasterFromServiceAlgorithm, Render3DViewAlgorithm]
