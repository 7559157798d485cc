"""CityJSON records -> QGIS features, GeoPackage files and styled layers."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsFeature,
    QgsFeatureSink,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsVectorFileWriter,
    QgsVectorLayer,
)

from ..compat import WKB_MULTIPOLYGONZ, field
from ..errors import LayerError
from ..i18n import tr
from .cityjson import CityJSONError, CityJSONReader, CityRecord

DEFAULT_CRS = "EPSG:7415"  # RD New + NAP height: what Dutch CityJSON (3DBAG, 3dfier) uses


def _field(name: str, kind: str) -> QgsField:
    return field(name, {"string": "String", "double": "Double"}[kind])


def record_fields() -> QgsFields:
    fields = QgsFields()
    for name, kind in (
        ("id", "string"),
        ("type", "string"),
        ("lod", "string"),
        ("surface", "string"),
        ("surface_source", "string"),
        ("parent", "string"),
        ("z_min", "double"),
        ("z_max", "double"),
        ("attributes", "string"),
    ):
        fields.append(_field(name, kind))
    return fields


def record_feature(record: CityRecord, fields: QgsFields) -> QgsFeature:
    feature = QgsFeature(fields)
    geometry = QgsGeometry()
    geometry.fromWkb(record.wkb)
    feature.setGeometry(geometry)
    feature.setAttributes(
        [
            record.id,
            record.type,
            record.lod,
            record.surface,
            record.surface_source,
            record.parent,
            record.bbox[2],
            record.bbox[5],
            json.dumps(record.attributes, ensure_ascii=False) if record.attributes else None,
        ]
    )
    return feature


def open_reader(path: str | Path, *, extent=None, lod: str = "", feedback=None) -> CityJSONReader:
    """A reader wired to a QgsFeedback (cancel + progress); CityJSON errors become LayerError."""
    cancelled = feedback.isCanceled if feedback is not None else None
    progress = (lambda f: feedback.setProgress(100.0 * f)) if feedback is not None else None
    try:
        return CityJSONReader(path, extent=extent, lod=lod, cancelled=cancelled, progress=progress)
    except (CityJSONError, OSError, UnicodeDecodeError) as err:
        raise LayerError(
            tr("Cannot read {path} as CityJSON: {reason}").format(path=Path(path).name, reason=err), detail=str(path)
        ) from err


def file_crs(reader: CityJSONReader, fallback: str = DEFAULT_CRS) -> QgsCoordinateReferenceSystem:
    crs = QgsCoordinateReferenceSystem(reader.header.crs or fallback)
    if not crs.isValid():
        raise LayerError(tr("Unknown coordinate reference system {crs}.").format(crs=reader.header.crs or fallback))
    return crs


def write_records(
    records: Iterable[CityRecord], sink: QgsFeatureSink, fields: QgsFields, is_cancelled: Callable[[], bool]
) -> int:
    """Stream records into a sink in batches; returns the number of features written."""
    batch: list[QgsFeature] = []
    written = 0
    try:
        for record in records:
            batch.append(record_feature(record, fields))
            if len(batch) >= 500:
                if not sink.addFeatures(batch, QgsFeatureSink.Flag.FastInsert):
                    raise LayerError(tr("Writing features failed."))
                written += len(batch)
                batch = []
                if is_cancelled():
                    break
    except CityJSONError as err:
        raise LayerError(tr("The CityJSON file is damaged: {reason}").format(reason=err)) from err
    if batch:
        if not sink.addFeatures(batch, QgsFeatureSink.Flag.FastInsert):
            raise LayerError(tr("Writing features failed."))
        written += len(batch)
    return written


def gpkg_target(destination: str | Path) -> tuple[Path, str, QgsVectorFileWriter.SaveVectorOptions]:
    """Where a city-object GeoPackage goes: the target, a free name beside it to write first (moved into place
    with os.replace when complete), and the writer options (layer ``cityobjects``)."""
    target = Path(destination)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".gpkg", dir=target.parent)
    os.close(fd)
    os.unlink(tmp)
    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = "cityobjects"
    return target, tmp, options


def cityjson_to_gpkg(
    path: str | Path, destination: str | Path, *, extent=None, lod: str = "", crs: str = "", feedback=None
) -> tuple[Path, int, CityJSONReader]:
    """Convert a CityJSON(Seq) file into a GeoPackage layer, atomically (temp file + os.replace)."""
    reader = open_reader(path, extent=extent, lod=lod, feedback=feedback)
    target, tmp, options = gpkg_target(destination)
    fields = record_fields()
    # The file's own CRS wins over the default; an explicit ``crs`` (the user's answer) wins over both.
    target_crs = QgsCoordinateReferenceSystem(crs) if crs else file_crs(reader)
    try:
        count = _write_gpkg(tmp, reader, fields, target_crs, options, feedback)
        if feedback is not None and feedback.isCanceled():
            raise LayerError(tr("Cancelled."))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, count, reader


def _write_gpkg(tmp: str, reader, fields, crs, options, feedback) -> int:
    """Write all records; the writer is closed (flushed) when this returns, before the file is moved."""
    writer = QgsVectorFileWriter.create(tmp, fields, WKB_MULTIPOLYGONZ, crs, QgsCoordinateTransformContext(), options)
    if writer.hasError() != QgsVectorFileWriter.WriterError.NoError:
        raise LayerError(tr("Cannot create {path}: {reason}").format(path=tmp, reason=writer.errorMessage()))
    try:
        return write_records(reader, writer, fields, feedback.isCanceled if feedback else (lambda: False))
    finally:
        del writer


def cityjson_layer(gpkg: str | Path, name: str) -> QgsVectorLayer:
    """Open a converted GeoPackage as a layer with the semantic 3D style."""
    from .scene3d import style_cityjson_layer

    layer = QgsVectorLayer(f"{gpkg}|layername=cityobjects", name, "ogr")
    if not layer.isValid():
        raise LayerError(tr("The converted CityJSON layer {path} could not be opened.").format(path=gpkg))
    style_cityjson_layer(layer)
    return layer
