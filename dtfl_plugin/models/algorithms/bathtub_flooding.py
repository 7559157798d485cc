"""dtfl:bathtub_flooding — pluvial flooding screening: where does a cloudburst collect, whose facade gets wet.

The algorithm parses parameters, turns land cover and buildings into grids like the DEM (GDAL), and calls the
qgis-free core (models/local/bathtub_core.py), which the pygeoapi process runs as well.
"""

from __future__ import annotations

import os
from collections import defaultdict

from qgis.core import (
    QgsCoordinateTransform,
    QgsFeature,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsFields,
    QgsGeometry,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
)

from ...compat import NUMBER_DOUBLE, SOURCE_VECTOR_POLYGON
from ...deps import require
from ...i18n import tr
from ...processing.base import DtflAlgorithm
from ..local.events import CUSTOM_INDEX, EVENTS, rain_depth
from .bathtub_support import field as _field
from .bathtub_support import file_part as _file_part
from .bathtub_support import geometry_from_wkb as _geometry_from_wkb
from .bathtub_support import multipolygon_type as _multipolygon_type

# numpy, scipy and GDAL are imported on the first run, not when QGIS loads the provider: start-up stays light.
np = bathtub_core = landcover = raster_io = None


def _load_libraries() -> None:
    global np, bathtub_core, landcover, raster_io
    if np is None:
        require("numpy", "scipy.ndimage", "scipy.sparse.csgraph", "osgeo.gdal", feature=tr("The flooding screening"))
        import numpy

        from ..local import bathtub_core as core
        from ..local import landcover as cover
        from ..local import raster_io as rio

        np, bathtub_core, landcover, raster_io = numpy, core, cover, rio


NODATA = -9999.0


class BathtubFloodingAlgorithm(DtflAlgorithm):
    GROUP_ID = "models"
    DEM = "DEM"
    EVENT = "EVENT"
    RAIN_MM = "RAIN_MM"
    LOSS_MM = "LOSS_MM"
    LANDCOVER = "LANDCOVER"
    BUILDINGS = "BUILDINGS"
    MIN_DEPTH = "MIN_DEPTH"
    FILL_GAPS_M2 = "FILL_GAPS_M2"
    OUTPUT_DEPTH = "OUTPUT_DEPTH"
    OUTPUT_DEPRESSIONS = "OUTPUT_DEPRESSIONS"
    OUTPUT_BUILDINGS = "OUTPUT_BUILDINGS"

    def name(self) -> str:
        return "bathtub_flooding"

    def displayName(self) -> str:
        return tr("Pluvial flooding screening (bathtub)")

    def shortHelpString(self) -> str:
        return tr(
            "A screening, not a hydrodynamic simulation: it has no time, no sewer and no infiltration dynamics. "
            "The rain depth of the event minus the loss (sewer and infiltration capacity, mm) times a runoff "
            "coefficient runs off at once, flows down the terrain (D8) into the depression it drains to, fills it "
            "and spills the surplus on to the next depression, until the water is stored or leaves the area over "
            "its edge, into open water or nodata cells. Inside a depression, sub-depressions fill and spill into "
            "each other before they merge into one lake (fill-spill-merge). Events: the STOWA/RIONED stress-test cloudbursts (70 mm/1 h, 90 mm/1 h, 160 mm/2 h) "
            "or a custom depth. Land cover (optional, e.g. BGT layers): roofs and closed paving 1.0, open paving "
            "0.8, half-paved 0.5, unpaved and green 0.3, open water is an outlet, a field runoff_coeff wins; "
            "uncovered cells 1.0. Buildings (optional) are raised as walls, so water flows around them and off "
            "their roofs; without them, nodata under buildings in the DTM drains water away. Enclosed nodata gaps up "
            "to a given area (cars, trees in AHN) can be interpolated instead of draining. Outputs: water depth (cells under the minimum depth stay dry), depressions with "
            "capacity, stored volume and fill fraction, and buildings with the maximum water depth against the "
            "facade (the ring of cells around the footprint)."
        )

    def initAlgorithm(self, config=None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.DEM, tr("Terrain model (DEM, e.g. AHN DTM)")))
        labels = [
            tr("70 mm in 1 hour (T=100 years, stress test)"),
            tr("90 mm in 1 hour (T=250 years, stress test)"),
            tr("160 mm in 2 hours (T=1000 years, stress test)"),
            tr("Custom rain depth (RAIN_MM)"),
        ]
        assert len(labels) == len(EVENTS)
        self.addParameter(QgsProcessingParameterEnum(self.EVENT, tr("Rain event"), options=labels, defaultValue=0))
        double = NUMBER_DOUBLE
        self.addParameter(
            QgsProcessingParameterNumber(
                self.RAIN_MM, tr("Rain depth for a custom event (mm)"), double, 70.0, True, 0.0, 2000.0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.LOSS_MM, tr("Loss: sewer and infiltration capacity (mm)"), double, 0.0, False, 0.0, 2000.0
            )
        )
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                self.LANDCOVER,
                tr("Land cover polygons for runoff coefficients (e.g. BGT layers)"),
                SOURCE_VECTOR_POLYGON,
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterFeatureSource(
                self.BUILDINGS,
                tr("Buildings (e.g. BGT pand)"),
                [SOURCE_VECTOR_POLYGON],
                optional=True,
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.MIN_DEPTH, tr("Minimum water depth shown (m)"), double, 0.05, False, 0.0, 10.0
            )
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                self.FILL_GAPS_M2,
                tr("Interpolate enclosed nodata gaps up to this area (m², 0 = gaps drain away)"),
                double,
                0.0,
                False,
                0.0,
                1.0e6,
            )
        )
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT_DEPTH, tr("Water depth")))
        self.addParameter(
            QgsProcessingParameterFeatureSink(self.OUTPUT_DEPRESSIONS, tr("Depressions"), SOURCE_VECTOR_POLYGON)
        )
        self.addParameter(
            QgsProcessingParameterFeatureSink(
                self.OUTPUT_BUILDINGS,
                tr("Buildings with water against the facade"),
                SOURCE_VECTOR_POLYGON,
                optional=True,
            )
        )
        for name, label in (
            ("TOTAL_RUNOFF_M3", tr("Total runoff (m³)")),
            ("STORED_M3", tr("Stored in depressions (m³)")),
            ("SPILLED_OUT_M3", tr("Spilled out of the area (m³)")),
        ):
            self.addOutput(QgsProcessingOutputNumber(name, label))

    # -- the run ---------------------------------------------------------------------------------------------

    def process(self, parameters, context, feedback):
        _load_libraries()
        try:
            return self._run(parameters, context, feedback)
        except bathtub_core.CancelledError:
            raise self.cancelled() from None
        except (ValueError, RuntimeError, MemoryError) as err:
            raise self.fail(tr("The flooding screening failed: {error}").format(error=err)) from err

    def _run(self, parameters, context, feedback):
        dem_layer = self.parameterAsRasterLayer(parameters, self.DEM, context)
        if dem_layer is None or not dem_layer.isValid():
            raise QgsProcessingException(tr("The terrain model cannot be opened. Choose a valid raster layer."))
        dem_path = _file_part(dem_layer.source())
        # A file, or a raster GDAL reads itself over HTTP (a COG from the catalogue: /vsicurl/ range reads).
        dem_is_file = os.path.isfile(dem_path)
        if dem_layer.providerType() != "gdal" or not (dem_is_file or dem_path.startswith("/vsi")):
            raise QgsProcessingException(
                tr("The terrain model must be a raster file (e.g. GeoTIFF). Save the layer as a file and try again.")
            )
        crs = dem_layer.crs()
        if crs.isGeographic():
            raise QgsProcessingException(
                tr("The terrain model is in degrees ({crs}). Reproject it to metres, e.g. EPSG:28992.").format(
                    crs=crs.authid()
                )
            )
        grid = raster_io.read_grid(dem_path)
        if not grid.square:
            raise QgsProcessingException(tr("The terrain model needs square, north-up cells. Warp it first."))
        if dem_is_file:
            self._capture.add_file_input(self.DEM, dem_path)
        else:
            self._capture.add_service_input(self.DEM, dem_path.replace("/vsicurl/", ""))
        self._capture.set_area(grid.bbox, crs.authid())

        event = self.parameterAsEnum(parameters, self.EVENT, context)
        custom = self.parameterAsDouble(parameters, self.RAIN_MM, context) if event == CUSTOM_INDEX else None
        rain = rain_depth(event, custom)
        loss = self.parameterAsDouble(parameters, self.LOSS_MM, context)
        min_depth = self.parameterAsDouble(parameters, self.MIN_DEPTH, context)
        feedback.pushInfo(
            tr("Rain {rain} mm, loss {loss} mm, on {cols} x {rows} cells of {size} m.").format(
                rain=rain, loss=loss, cols=grid.array.shape[1], rows=grid.array.shape[0], size=grid.cell_size
            )
        )

        gap_m2 = self.parameterAsDouble(parameters, self.FILL_GAPS_M2, context)
        dem = grid.array
        if gap_m2 > 0:
            dem, filled = raster_io.fill_small_gaps(grid.array, grid.nodata, int(gap_m2 / grid.cell_size**2))
            feedback.pushInfo(tr("{n} cells of small nodata gaps interpolated.").format(n=filled))
        coeff, outlets = self._landcover(parameters, context, feedback, grid, crs)
        source, features, footprints = self._buildings(parameters, context, grid, crs)
        feedback.setProgress(5)
        result = bathtub_core.run_bathtub(
            dem,
            grid.cell_size,
            rain,
            loss,
            runoff_coeff=coeff,
            nodata=grid.nodata,
            min_depth=min_depth,
            outlets=outlets,
            walls=footprints > 0 if footprints is not None else None,
            progress=lambda p: feedback.setProgress(5 + 0.8 * p),
            is_cancelled=feedback.isCanceled,
        )
        feedback.pushInfo(
            tr("Runoff {total:.1f} m³: {stored:.1f} m³ stored in depressions, {out:.1f} m³ left the area.").format(
                total=result.total_runoff_m3, stored=result.stored_m3, out=result.spilled_out_m3
            )
        )

        depth_path = self.parameterAsOutputLayer(parameters, self.OUTPUT_DEPTH, context)
        depth = np.where(np.isnan(result.depth), np.float32(NODATA), result.depth).astype(np.float32)
        raster_io.write_geotiff(depth_path, depth, grid.geotransform, grid.wkt, NODATA)
        self._capture.add_output(self.OUTPUT_DEPTH, depth_path)
        if context.willLoadLayerOnCompletion(depth_path):
            from ..styles import WaterDepthStyler

            context.layerToLoadOnCompletionDetails(depth_path).setPostProcessor(WaterDepthStyler.create())
        feedback.setProgress(88)

        dep_dest = self._write_depressions(parameters, context, feedback, grid, crs, result)
        outputs = {
            self.OUTPUT_DEPTH: depth_path,
            self.OUTPUT_DEPRESSIONS: dep_dest,
            "TOTAL_RUNOFF_M3": result.total_runoff_m3,
            "STORED_M3": result.stored_m3,
            "SPILLED_OUT_M3": result.spilled_out_m3,
        }
        buildings = None
        if source is not None:
            buildings = self._write_buildings(parameters, context, feedback, crs, source, features, footprints, result)
        if buildings:
            outputs[self.OUTPUT_BUILDINGS] = buildings
        feedback.setProgress(100)
        return outputs

    # -- land cover -------------------------------------------------------------------------------------------

    def _landcover(self, parameters, context, feedback, grid, crs):
        layers = self.parameterAsLayerList(parameters, self.LANDCOVER, context)
        if not layers:
            return 1.0, None
        by_class: dict[str, list] = defaultdict(list)
        for layer in layers:
            self._record_layer(self.LANDCOVER, layer.source(), layer.providerType())
            transform = QgsCoordinateTransform(layer.crs(), crs, context.transformContext())
            names = layer.fields().names()
            label = f"{layer.name()} {layer.source()}"
            for feature in layer.getFeatures():
                if feedback.isCanceled():
                    raise bathtub_core.CancelledError()
                found = landcover.classify(dict(zip(names, feature.attributes())), label)
                geometry = feature.geometry()
                if found is None or geometry.isEmpty():
                    continue
                geometry.transform(transform)
                by_class[found[0]].append((bytes(geometry.asWkb()), found[1]))
        shapes = [s for cls in landcover.PRIORITY if cls != landcover.WATER for s in by_class.get(cls, [])]
        shape = grid.array.shape
        coeff = raster_io.rasterize(
            shapes, shape, grid.geotransform, grid.wkt, fill=landcover.DEFAULT_COEFFICIENT
        ).astype(np.float32)
        outlets = None
        if by_class.get(landcover.WATER):
            water = [(wkb, 1.0) for wkb, _ in by_class[landcover.WATER]]
            outlets = raster_io.rasterize(water, shape, grid.geotransform, grid.wkt, fill=0.0) > 0.5
        counts = ", ".join(f"{cls}: {len(v)}" for cls, v in sorted(by_class.items()))
        feedback.pushInfo(tr("Land cover polygons used per class: {counts}").format(counts=counts or "0"))
        return coeff, outlets

    def _record_layer(self, role: str, source: str, provider: str) -> None:
        path = _file_part(source)
        if provider in ("ogr", "gdal") and os.path.isfile(path):
            self._capture.add_file_input(role, path)
        else:
            self._capture.add_service_input(role, source)

    # -- outputs ----------------------------------------------------------------------------------------------

    def _write_depressions(self, parameters, context, feedback, grid, crs, result):
        fields = QgsFields()
        names = (
            ("id", "int"),
            ("capacity_m3", "double"),
            ("inflow_m3", "double"),
            ("stored_m3", "double"),
            ("fill_frac", "double"),
            ("spilled_m3", "double"),
            ("max_depth_m", "double"),
            ("water_depth_m", "double"),
            ("spill_level", "double"),
            ("water_level", "double"),
            ("area_m2", "double"),
        )
        for name, kind in names:
            fields.append(_field(name, kind))
        sink, dest = self.parameterAsSink(
            parameters, self.OUTPUT_DEPRESSIONS, context, fields, _multipolygon_type(), crs
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT_DEPRESSIONS))
        parts: dict[int, list] = defaultdict(list)
        for label, wkb in raster_io.polygonize(result.depressions, grid.geotransform, grid.wkt):
            parts[label].append(wkb)
        keys = ("id", "volume_capacity_m3", "inflow_m3", "stored_m3", "fill_fraction", "spilled_m3")
        keys += ("max_depth", "water_depth", "spill_level", "water_level", "area_m2")
        for row in result.table:
            if feedback.isCanceled():
                raise bathtub_core.CancelledError()
            geometries = [_geometry_from_wkb(w) for w in parts.get(row["id"], [])]
            if not geometries:
                continue
            feature = QgsFeature(fields)
            geometry = QgsGeometry.collectGeometry(geometries)
            geometry.convertToMultiType()
            feature.setGeometry(geometry)
            feature.setAttributes([row[k] for k in keys])
            sink.addFeature(feature, QgsFeatureSink.Flag.FastInsert)
        sink.flushBuffer()
        del sink
        self._capture.add_output(self.OUTPUT_DEPRESSIONS, _file_part(dest))
        return dest

    def _buildings(self, parameters, context, grid, crs):
        """Buildings in the DEM's CRS and their footprint grid (id = index + 1, cell centres inside; a building
        smaller than a cell takes the cells it touches)."""
        source = self.parameterAsSource(parameters, self.BUILDINGS, context)
        if source is None:
            return None, [], None
        layer = self.parameterAsVectorLayer(parameters, self.BUILDINGS, context)
        if layer is not None:
            self._record_layer(self.BUILDINGS, layer.source(), layer.providerType())
        else:
            self._capture.add_service_input(self.BUILDINGS, str(parameters.get(self.BUILDINGS)))
        request = QgsFeatureRequest().setDestinationCrs(crs, context.transformContext())
        features = list(source.getFeatures(request))
        shapes = [(bytes(f.geometry().asWkb()), i + 1) for i, f in enumerate(features) if f.hasGeometry()]
        args = (grid.array.shape, grid.geotransform, grid.wkt)
        footprints = raster_io.rasterize(shapes, *args, dtype=raster_io.gdal.GDT_Int32).astype(np.int32)
        present = np.zeros(len(features) + 1, dtype=bool)
        present[np.unique(footprints)] = True
        small = [(wkb, i) for wkb, i in shapes if not present[int(i)]]
        if small:
            touched = raster_io.rasterize(small, *args, dtype=raster_io.gdal.GDT_Int32, all_touched=True)
            footprints = np.where(footprints == 0, touched, footprints).astype(np.int32)
        return source, features, footprints

    def _write_buildings(self, parameters, context, feedback, crs, source, features, footprints, result):
        min_depth = self.parameterAsDouble(parameters, self.MIN_DEPTH, context)
        fields = QgsFields(source.fields())
        fields.append(_field("facade_depth_m", "double"))
        fields.append(_field("wet", "int"))
        sink, dest = self.parameterAsSink(parameters, self.OUTPUT_BUILDINGS, context, fields, _multipolygon_type(), crs)
        if sink is None:
            return None
        facade = bathtub_core.facade_max_depth(result.depth, footprints, len(features))
        for i, feature in enumerate(features, start=1):
            if feedback.isCanceled():
                raise bathtub_core.CancelledError()
            out = QgsFeature(fields)
            geometry = QgsGeometry(feature.geometry())
            geometry.convertToMultiType()
            out.setGeometry(geometry)
            depth = float(facade[i])
            out.setAttributes(list(feature.attributes()) + [depth, int(depth >= min_depth and depth > 0)])
            sink.addFeature(out, QgsFeatureSink.Flag.FastInsert)
        sink.flushBuffer()
        del sink
        self._capture.add_output(self.OUTPUT_BUILDINGS, _file_part(dest))
        wet = int(np.count_nonzero(facade[1:] >= max(min_depth, 1e-9)))
        feedback.pushInfo(tr("{wet} of {n} buildings have water against the facade.").format(wet=wet, n=len(features)))
        return dest
