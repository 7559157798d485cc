"""dtfl:cityjson_import — CityJSON 1.x/2.0 or CityJSONSeq to MultiPolygonZ features (e.g. a GeoPackage).

One feature per city object and semantic surface type (roof, wall, ground ...), so one layer with one
rule-based 3D renderer shows the semantics; see layers/cityjson.py for the reasoning. Streams the file:
a large tile does not have to fit in memory, and objects outside EXTENT are dropped unread.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterCrs,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFile,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from ...compat import SOURCE_VECTOR_POLYGON, WKB_MULTIPOLYGONZ
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ...provenance.layer_props import source_file
from ..cityjson_layer import DEFAULT_CRS, open_reader, record_fields, write_records


class CityJSONImportAlgorithm(DtflAlgorithm):
    GROUP_ID = "layers"
    INPUT = "INPUT"
    EXTENT = "EXTENT"
    LOD = "LOD"
    CRS = "CRS"
    OUTPUT = "OUTPUT"
    FEATURES = "FEATURES"
    OBJECTS = "OBJECTS"
    _dest_id = ""  # the output layer, styled in postProcessAlgorithm (each run has an instance of its own)

    def displayName(self) -> str:
        return tr("Import CityJSON (3D city model)")

    def shortHelpString(self) -> str:
        return tr(
            "Reads a CityJSON file (versions 1.0, 1.1, 2.0) or a CityJSONSeq file (.jsonl, e.g. from 3DBAG) and writes "
            "MultiPolygonZ features: one per city object and semantic surface type (RoofSurface, WallSurface, "
            "GroundSurface ...), with the fields id, type, lod, surface, surface_source, parent, z_min, z_max and the "
            "object's attributes as JSON. Solids, composite and multi solids and multi surfaces are read; LoD1 solids "
            "without semantics get roof/wall/ground from the face orientation (surface_source = derived). "
            "LOD picks a level of detail (e.g. 1.2, 2.2; '2' takes any 2.x); empty takes the highest each object has. "
            "EXTENT keeps only objects whose bounding box overlaps it. The file is streamed, so large tiles do not "
            "need to fit in memory. The coordinate reference system comes from the file's metadata; CRS is used when "
            "the file has none (default EPSG:7415, RD New + NAP). The result gets a 3D style with roofs, walls and "
            "ground in different colours."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(
            QgsProcessingParameterFile(
                self.INPUT, tr("CityJSON or CityJSONSeq file"), fileFilter=tr("CityJSON (*.json *.city.json *.jsonl)")
            )
        )
        self.addParameter(QgsProcessingParameterExtent(self.EXTENT, tr("Only objects in this extent"), optional=True))
        self.addParameter(
            QgsProcessingParameterString(self.LOD, tr("Level of detail (empty: highest available)"), "", optional=True)
        )
        self.addParameter(
            QgsProcessingParameterCrs(self.CRS, tr("CRS when the file does not name one"), DEFAULT_CRS, optional=True)
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT, tr("City objects"), SOURCE_VECTOR_POLYGON, optional=False)
        )
        self.addOutput(QgsProcessingOutputNumber(self.FEATURES, tr("Features written")))
        self.addOutput(QgsProcessingOutputNumber(self.OBJECTS, tr("City objects read")))

    def process(self, parameters, context, feedback):
        path = self.parameterAsFile(parameters, self.INPUT, context)
        if not path or not Path(path).is_file():
            raise QgsProcessingException(tr("The CityJSON file {path} does not exist.").format(path=path))
        self._capture.add_file_input(self.INPUT, path)
        reader = open_reader(path, lod=self.parameterAsString(parameters, self.LOD, context), feedback=feedback)
        fallback = self.parameterAsCrs(parameters, self.CRS, context)
        crs = QgsCoordinateReferenceSystem(reader.header.crs) if reader.header.crs else fallback
        if not crs.isValid():
            crs = QgsCoordinateReferenceSystem(DEFAULT_CRS)
        feedback.pushInfo(
            tr("CityJSON {version}{seq}, CRS {crs}.").format(
                version=reader.header.version or "?",
                seq=" (CityJSONSeq)" if reader.sequence else "",
                crs=crs.authid(),
            )
        )
        if parameters.get(self.EXTENT) not in (None, ""):
            extent = self.parameterAsExtent(parameters, self.EXTENT, context, crs)
            reader.extent = (extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum())
            self._capture.set_area(reader.extent, crs.authid())
        fields = record_fields()
        sink, self._dest_id = self.parameterAsSink(parameters, self.OUTPUT, context, fields, WKB_MULTIPOLYGONZ, crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT))
        written = write_records(reader, sink, fields, feedback.isCanceled)
        sink.flushBuffer()
        del sink
        if feedback.isCanceled():
            self.cancelled()
            return {}
        stats = reader.stats
        feedback.pushInfo(
            tr(
                "{kept} of {objects} city objects imported as {written} features; {outside} outside the extent, {empty} without usable geometry."
            ).format(
                kept=stats.kept, objects=stats.objects, written=written, outside=stats.outside, empty=stats.no_geometry
            )
        )
        if stats.skipped_geometry_types:
            feedback.pushWarning(
                tr("Skipped geometry types: {types}").format(
                    types=", ".join(f"{k} ({v})" for k, v in stats.skipped_geometry_types.items())
                )
            )
        if written == 0:
            feedback.pushWarning(tr("No features were written: check the extent and the level of detail."))
        self._capture.add_output(self.OUTPUT, source_file(self._dest_id))
        return {self.OUTPUT: self._dest_id, self.FEATURES: written, self.OBJECTS: stats.objects}

    def postProcessAlgorithm(self, context, feedback):
        super().postProcessAlgorithm(context, feedback)
        layer = QgsProcessingUtils.mapLayerFromString(self._dest_id, context) if self._dest_id else None
        if layer is not None:
            from ..scene3d import style_cityjson_layer

            style_cityjson_layer(layer)
        return {}  # a non-empty map here would replace processAlgorithm's results
