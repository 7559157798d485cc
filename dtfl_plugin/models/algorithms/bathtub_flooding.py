"""dtfl:bathtub_flooding — pluvial flooding screening: where does a cloudburst collect, whose facade gets wet.

The algorithm parses parameters, turns land cover and buildings into grids like the DEM (GDAL), and calls the
qgis-free core (models/local/bathtub_core.py), which the pygeoapi process runs as well.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import replace

from qgis.core import (
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
from ...settings import data_dir, get_str
from ..local.events import CUSTOM_INDEX, EVENTS, rain_depth
from .bathtub_support import file_part as _file_part
from .bathtub_support import multipolygon_type as _multipolygon_type

TILE_KEY = "models/tile_cells"

# numpy, scipy and GDAL are imported on the first run, not when QGIS loads the provider: start-up stays light.
gdal = bathtub_io = tiled_engine = tiled_inputs = depressions = None


def _load_libraries() -> None:
    global gdal, bathtub_io, tiled_engine, tiled_inputs, depressions
    if gdal is None:
        require("numpy", "scipy.ndimage", "scipy.sparse.csgraph", "osgeo.gdal", feature=tr("The flooding screening"))
        from osgeo import gdal as _gdal

        from ..local import depressions as _depressions
        from ..tiled import engine, inputs
        from . import bathtub_io as _io

        gdal, bathtub_io, tiled_engine, tiled_inputs, depressions = _gdal, _io, engine, inputs, _depressions


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
        except depressions.CancelledError:
            raise self.cancelled(
                tr("Cancelled. Run it again with the same inputs to resume from the finished tiles.")
            ) from None
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
        if dem_is_file:
            self._capture.add_file_input(self.DEM, dem_path)
        else:
            self._capture.add_service_input(self.DEM, dem_path.replace("/vsicurl/", ""))
        event = self.parameterAsEnum(parameters, self.EVENT, context)
        custom = self.parameterAsDouble(parameters, self.RAIN_MM, context) if event == CUSTOM_INDEX else None
        rain = rain_depth(event, custom)
        loss = self.parameterAsDouble(parameters, self.LOSS_MM, context)
        min_depth = self.parameterAsDouble(parameters, self.MIN_DEPTH, context)
        spec, source, n_buildings = self._spec(parameters, context, feedback, dem_path, crs, rain, loss, min_depth)
        self._capture.set_area(_bbox(spec), crs.authid())
        rows, cols = spec.layout.rows, spec.layout.cols
        feedback.pushInfo(
            tr("Rain {rain} mm, loss {loss} mm, on {cols} x {rows} cells of {size} m.").format(
                rain=rain, loss=loss, cols=cols, rows=rows, size=spec.cell_size
            )
        )
        feedback.pushInfo(tr("{n} tiles of {size} x {size} cells.").format(n=spec.layout.count, size=spec.layout.tile))
        depth_path = self.parameterAsOutputLayer(parameters, self.OUTPUT_DEPTH, context)
        dep_raster = spec.layout.path("depressions", None, "tif")
        result = tiled_engine.run_tiled(
            spec,
            depth_path,
            dep_raster,
            progress=lambda p: feedback.setProgress(5 + 0.85 * p),
            is_cancelled=feedback.isCanceled,
            log=feedback.pushInfo,
        )
        self._capture.add_output(self.OUTPUT_DEPTH, depth_path)
        _style_on_load(context, depth_path, "style_water_depth")
        outputs = self._write_outputs(parameters, context, feedback, crs, spec, result, source, n_buildings)
        self._capture.finish()
        shutil.rmtree(spec.layout.folder, ignore_errors=True)  # kept only when a run stops: it resumes from there
        feedback.setProgress(100)
        return outputs

    def _spec(self, parameters, context, feedback, dem_path, crs, rain, loss, min_depth):
        """The tiled run: inputs GeoPackage (land cover, water, buildings) and a work folder that a stopped run
        with the same inputs finds again."""
        root = str(data_dir() / "bathtub-runs")
        os.makedirs(root, exist_ok=True)
        staging = os.path.join(root, f"inputs-{uuid.uuid4().hex}.gpkg")
        ds = gdal.Open(dem_path)
        wkt = ds.GetProjection()
        ds = None
        collector = bathtub_io.Collector(tiled_inputs.VectorWriter(staging, wkt), feedback)
        layers = self.parameterAsLayerList(parameters, self.LANDCOVER, context)
        for layer in layers:
            self._record_layer(self.LANDCOVER, layer.source(), layer.providerType())
        collector.landcover(layers, crs, context)
        if layers:
            feedback.pushInfo(tr("Land cover polygons used per class: {counts}").format(counts=collector.summary()))
        source = self.parameterAsSource(parameters, self.BUILDINGS, context)
        n_buildings = 0
        if source is not None:
            layer = self.parameterAsVectorLayer(parameters, self.BUILDINGS, context)
            if layer is not None:
                self._record_layer(self.BUILDINGS, layer.source(), layer.providerType())
            else:
                self._capture.add_service_input(self.BUILDINGS, str(parameters.get(self.BUILDINGS)))
            n_buildings = collector.buildings(source, crs, context)
        counts = collector.writer.close()
        gap_m2 = self.parameterAsDouble(parameters, self.FILL_GAPS_M2, context)
        ds = gdal.Open(dem_path)
        cell = abs(ds.GetGeoTransform()[1])
        ds = None
        options = dict(
            min_depth=min_depth,
            gap_cells=int(gap_m2 / cell**2) if gap_m2 > 0 else 0,
            landcover=counts["landcover"] > 0,
            water=counts["water"] > 0,
            buildings=n_buildings > 0,
            n_buildings=n_buildings,
        )
        identity = collector.digest.hexdigest()
        spec = tiled_engine.make_spec(dem_path, root, rain, loss, tile=_tile_size(), identity=identity, **options)
        if not spec.layout.done("vectors", None, "gpkg"):
            os.replace(staging, spec.layout.path("vectors", None, "gpkg"))
        else:
            os.remove(staging)
        spec = replace(spec, vectors=spec.layout.path("vectors", None, "gpkg"))
        feedback.setProgress(5)
        return spec, source, n_buildings

    def _write_outputs(self, parameters, context, feedback, crs, spec, result, source, n_buildings):
        outputs = {
            self.OUTPUT_DEPTH: result.depth_path,
            "TOTAL_RUNOFF_M3": result.total_runoff_m3,
            "STORED_M3": result.stored_m3,
            "SPILLED_OUT_M3": result.spilled_out_m3,
        }
        fields = bathtub_io.depression_fields()
        sink, dest = self.parameterAsSink(
            parameters, self.OUTPUT_DEPRESSIONS, context, fields, _multipolygon_type(), crs
        )
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, self.OUTPUT_DEPRESSIONS))
        polygons = tiled_inputs.polygonize(result.depressions_path)
        bathtub_io.write_depressions(sink, fields, polygons, result.table, feedback)
        sink.flushBuffer()
        del sink
        self._capture.add_output(self.OUTPUT_DEPRESSIONS, _file_part(dest))
        _style_on_load(context, dest, "style_depressions")
        outputs[self.OUTPUT_DEPRESSIONS] = dest
        feedback.setProgress(95)
        wet = None
        if source is not None:
            fields = bathtub_io.building_fields(source)
            sink, dest = self.parameterAsSink(
                parameters, self.OUTPUT_BUILDINGS, context, fields, _multipolygon_type(), crs
            )
            if sink is not None:
                min_depth = spec.min_depth
                wet = bathtub_io.write_buildings(sink, fields, source, crs, context, result.facade, min_depth, feedback)
                sink.flushBuffer()
                del sink
                self._capture.add_output(self.OUTPUT_BUILDINGS, _file_part(dest))
                _style_on_load(context, dest, "style_buildings")
                outputs[self.OUTPUT_BUILDINGS] = dest
        self._summary = bathtub_io.summary_text(
            result.total_runoff_m3, result.stored_m3, result.spilled_out_m3, wet, n_buildings
        )
        feedback.pushInfo(self._summary)
        return outputs

    def postProcessAlgorithm(self, context, feedback):  # noqa: N802 - QGIS API
        """The run's summary in QGIS's message bar (main thread), not only in the log tab."""
        result = super().postProcessAlgorithm(context, feedback)
        summary = getattr(self, "_summary", None)
        if summary:
            from qgis import utils

            bar = utils.iface.messageBar() if getattr(utils, "iface", None) is not None else None
            if bar is not None:  # the desktop; qgis_process and scripts have the log only
                bar.pushSuccess(tr("Flooding screening"), summary)
        return result

    def _record_layer(self, role: str, source: str, provider: str) -> None:
        path = _file_part(source)
        if provider in ("ogr", "gdal") and os.path.isfile(path):
            self._capture.add_file_input(role, path)
        else:
            self._capture.add_service_input(role, source)


def _style_on_load(context, destination: str, style: str) -> None:
    """Style the output when Processing adds it to the map (the post-processor runs on the main thread)."""
    if context.willLoadLayerOnCompletion(destination):
        from .. import styles

        details = context.layerToLoadOnCompletionDetails(destination)
        details.setPostProcessor(styles.OutputStyler.create(getattr(styles, style)))


def _tile_size() -> int:
    """Tile edge in cells (setting dtfl/models/tile_cells): about 0.15 GB of working memory at 1024."""
    try:
        return max(64, int(get_str(TILE_KEY, "1024") or 1024))
    except ValueError:
        return 1024


def _bbox(spec) -> tuple[float, float, float, float]:
    gt, rows, cols = spec.geotransform, spec.layout.rows, spec.layout.cols
    xs, ys = (gt[0], gt[0] + cols * gt[1]), (gt[3], gt[3] + rows * gt[5])
    return (min(xs), min(ys), max(xs), max(ys))
