"""dtfl:load_3dbag — 3DBAG buildings of an area: tile index -> CityJSON tiles (cached) -> one styled layer.

For the Graphical Modeler and batch runs; the same core (layers/bag3d.py) serves the desktop action.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterString,
    QgsProcessingUtils,
    QgsVectorLayer,
)

from ...compat import PARAMETER_ADVANCED
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from .. import bag3d

DEFAULT_INDEX = "https://data.3dbag.nl/cityjson/v21031_7425c21b/tile_index.geojson"


class Load3DBAGAlgorithm(DtflAlgorithm):
    GROUP_ID = "layers"
    EXTENT = "EXTENT"
    LOD = "LOD"
    INDEX = "INDEX"
    TILE_URL = "TILE_URL"
    OUTPUT = "OUTPUT"
    FEATURES = "FEATURES"
    TILES = "TILES"
    _output = ""  # the GeoPackage written, styled in postProcessAlgorithm (each run has an instance of its own)

    def displayName(self) -> str:
        return tr("Load 3DBAG buildings for an area")

    def shortHelpString(self) -> str:
        return tr(
            "Finds the 3DBAG CityJSON tiles that cover EXTENT in the 3DBAG tile index, downloads each tile once "
            "(kept in a cache for the next run), keeps the buildings inside the extent at the chosen level of detail "
            "(1.2, 1.3 or 2.2), merges the tiles (a building carried by two tiles is kept once) and writes one "
            "GeoPackage with roofs, walls and ground as separate features, styled in 3D. INDEX is the tile index "
            "(a GeoJSON file or web address with tile_id per tile); TILE_URL the tile address with {tile_id}."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, tr("Area")))
        self.addParameter(QgsProcessingParameterEnum(self.LOD, tr("Level of detail"), list(bag3d.LODS), False, 2))
        for name, label, default in (
            (self.INDEX, tr("3DBAG tile index (file or web address)"), DEFAULT_INDEX),
            (self.TILE_URL, tr("Tile address ({tile_id} is filled in)"), bag3d.DEFAULT_TILE_URL),
        ):
            parameter = QgsProcessingParameterString(name, label, default)
            parameter.setFlags(parameter.flags() | PARAMETER_ADVANCED)
            self.addParameter(parameter)
        self.addParameter(
            QgsProcessingParameterFileDestination(self.OUTPUT, tr("3DBAG buildings"), tr("GeoPackage (*.gpkg)"))
        )
        self.addOutput(QgsProcessingOutputNumber(self.FEATURES, tr("Features written")))
        self.addOutput(QgsProcessingOutputNumber(self.TILES, tr("Tiles used")))

    def process(self, parameters, context, feedback):
        extent = self.parameterAsExtent(parameters, self.EXTENT, context, QgsCoordinateReferenceSystem(bag3d.INDEX_CRS))
        box = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
        lod = bag3d.LODS[self.parameterAsEnum(parameters, self.LOD, context)]
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        self._capture.set_area(box, bag3d.INDEX_CRS)
        cache = Path(QgsProcessingUtils.tempFolder()).parent / "dtfl-3dbag-cache"
        index = self._index(self.parameterAsString(parameters, self.INDEX, context), cache, feedback)
        tiles = bag3d.tiles_for_extent(index, box)
        if not tiles:
            raise QgsProcessingException(tr("No 3DBAG tile covers this area: 3DBAG covers the Netherlands only."))
        feedback.pushInfo(tr("3DBAG tiles for this area: {tiles}").format(tiles=", ".join(tiles)))
        template = self.parameterAsString(parameters, self.TILE_URL, context)
        paths = bag3d.fetch_tiles(tiles, template, cache / "tiles", feedback)
        if feedback.isCanceled():
            raise self.cancelled()
        for tile_id in tiles:
            self._capture.add_service_input(self.TILE_URL, bag3d.tile_url(template, tile_id))
        written = bag3d.merge_tiles(paths, output, box, lod, feedback)
        if written == 0:
            feedback.pushWarning(tr("No 3DBAG buildings at LoD {lod} in this area.").format(lod=lod))
        self._capture.add_output(self.OUTPUT, output)
        self._output = output
        context.addLayerToLoadOnCompletion(
            f"{output}|layername=cityobjects",
            context.LayerDetails(tr("3DBAG LoD {lod}").format(lod=lod), context.project(), self.OUTPUT),
        )
        return {self.OUTPUT: output, self.FEATURES: written, self.TILES: len(tiles)}

    @staticmethod
    def _index(source: str, cache: Path, feedback) -> Path:
        if not source.lower().startswith(("http://", "https://")):
            if not Path(source).is_file():
                raise QgsProcessingException(tr("The 3DBAG tile index {path} does not exist.").format(path=source))
            return Path(source)
        from ... import net

        target = cache / f"index-{hashlib.sha256(source.encode()).hexdigest()[:16]}.geojson"
        if not target.is_file():
            net.download(source, target, feedback=feedback, max_bytes=64 << 20)
        return target

    def postProcessAlgorithm(self, context, feedback):
        super().postProcessAlgorithm(context, feedback)
        layer = QgsProcessingUtils.mapLayerFromString(f"{self._output}|layername=cityobjects", context)
        if isinstance(layer, QgsVectorLayer):
            from ..scene3d import style_cityjson_layer

            style_cityjson_layer(layer)
        return {}
