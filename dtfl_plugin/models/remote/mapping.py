"""Process description <-> Processing parameters, and Processing values -> execute inputs.

Inputs: numbers (schema minimum/maximum), enums, booleans, strings, bbox -> extent,
GeoJSON/features -> vector source, GeoTIFF -> raster layer, anything else -> a JSON string.
Outputs: GeoJSON -> vector file, GeoTIFF -> raster file, anything else -> a file (see outputs.py).

Classification reads JSON Schema (OGC API - Processes 1.0) and tolerates the shapes servers
really publish: oneOf/anyOf/allOf wrappers, ``contentMediaType``, ``format``, ``$ref`` to the
OGC schemas, and the draft ``formats`` lists.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsJsonExporter,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
)

from ...compat import NUMBER_DOUBLE, NUMBER_INTEGER, SOURCE_VECTOR_ANY
from ...i18n import tr
from ...provenance.layer_props import source_file
from .client import RemoteModelError

GEOTIFF = "image/tiff; application=geotiff"
GEOJSON = "application/geo+json"
_NAME_RE = re.compile(r"[^A-Za-z0-9_]+")
_EXT = {
    "application/json": "json",
    "text/csv": "csv",
    "text/plain": "txt",
    "application/zip": "zip",
    "image/png": "png",
}


@dataclass
class Spec:
    """One process input or output, classified."""

    id: str  # the id on the server
    name: str  # Processing parameter name ([A-Za-z0-9_])
    kind: str  # number integer enum boolean string bbox vector raster json file
    title: str = ""
    description: str = ""
    optional: bool = False
    default: object = None
    minimum: float | None = None
    maximum: float | None = None
    options: list = field(default_factory=list)
    media_type: str = ""


def param_name(identifier: str) -> str:
    return _NAME_RE.sub("_", identifier).strip("_") or "input"


def _walk(schema, found: dict) -> None:
    """Collect types, formats, media types, refs and enums from a (nested) JSON schema."""
    if isinstance(schema, list):
        for item in schema:
            _walk(item, found)
        return
    if not isinstance(schema, dict):
        return
    for key in ("type", "format", "contentMediaType", "$ref", "contentEncoding"):
        value = schema.get(key)
        if isinstance(value, str):
            found.setdefault(key, []).append(value.lower())
        elif isinstance(value, list):
            found.setdefault(key, []).extend(str(v).lower() for v in value)
    if "enum" in schema and "enum" not in found:
        found["enum"] = list(schema["enum"])
    for key in ("minimum", "maximum", "default"):
        if key in schema and key not in found:
            found[key] = schema[key]
    if isinstance(schema.get("properties"), dict):
        found.setdefault("properties", []).extend(schema["properties"].keys())
    for key in ("oneOf", "anyOf", "allOf", "items"):
        if key in schema:
            _walk(schema[key], found)


def _media(found: dict, definition: dict) -> list[str]:
    media = list(found.get("contentmediatype", found.get("contentMediaType", [])))
    for fmt in definition.get("formats", []) or []:  # 1.0 drafts
        if isinstance(fmt, dict) and fmt.get("mediaType"):
            media.append(str(fmt["mediaType"]).lower())
    return media


def classify(identifier: str, definition: dict, *, output: bool = False) -> Spec:
    schema = definition.get("schema", {}) if isinstance(definition, dict) else {}
    found: dict = {}
    _walk(schema, found)
    media = _media(found, definition)
    formats = found.get("format", [])
    refs = " ".join(found.get("$ref", []))
    types = found.get("type", [])
    spec = Spec(
        id=identifier,
        name=param_name(identifier),
        kind="json",
        title=str(definition.get("title") or identifier),
        description=str(definition.get("description") or ""),
        optional=int(definition.get("minOccurs", 1) or 0) == 0,
        default=found.get("default"),
    )
    if any("tiff" in m for m in media) or "geotiff" in formats:
        spec.kind, spec.media_type = "raster", next((m for m in media if "tiff" in m), GEOTIFF)
    elif (
        any("geo+json" in m or "geojson" in m for m in media)
        or any("geojson" in f for f in formats)
        or "geojson" in refs
    ):
        spec.kind, spec.media_type = "vector", GEOJSON
    elif output:
        spec.kind = "json" if not media or any("json" in m for m in media) else "file"
        spec.media_type = media[0] if media else "application/json"
    elif "ogc-bbox" in formats or "bbox.yaml" in refs or "bbox" in found.get("properties", []):
        spec.kind = "bbox"
    elif found.get("enum"):
        spec.kind, spec.options = "enum", list(found["enum"])
    elif "boolean" in types and len(set(types)) == 1:
        spec.kind = "boolean"
    elif types and set(types) <= {"number", "integer"}:
        spec.kind = "integer" if set(types) == {"integer"} else "number"
        spec.minimum, spec.maximum = found.get("minimum"), found.get("maximum")
    elif types and set(types) == {"string"} and not media and not int(definition.get("maxOccurs", 1) or 1) > 1:
        spec.kind = "string"
    return spec


def input_specs(description: dict) -> list[Spec]:
    return [classify(i, d if isinstance(d, dict) else {}) for i, d in _items(description.get("inputs"))]


def output_specs(description: dict) -> list[Spec]:
    return [classify(i, d if isinstance(d, dict) else {}, output=True) for i, d in _items(description.get("outputs"))]


JOB_URL = "JOB_URL"  # the output every remote algorithm adds: the job's URL on the server


def process_specs(description: dict) -> tuple[list[Spec], list[Spec]]:
    """A process's inputs and outputs as parameters; an output sharing its name with an input (or JOB_URL)
    becomes OUT_<name>, so one algorithm never has two parameters of one name."""
    inputs, outputs = input_specs(description), output_specs(description)
    taken = {s.name for s in inputs} | {JOB_URL}
    for spec in outputs:
        if spec.name in taken:
            spec.name = f"OUT_{spec.name}"
        taken.add(spec.name)
    return inputs, outputs


def _items(block) -> list[tuple[str, dict]]:
    """Inputs/outputs as (id, definition): 1.0 uses an object, drafts used a list with "id"."""
    if isinstance(block, dict):
        return list(block.items())
    if isinstance(block, list):
        return [(str(d["id"]), d) for d in block if isinstance(d, dict) and d.get("id")]
    return []


# --- Processing parameters -------------------------------------------------------------
def input_parameter(spec: Spec):
    opt = spec.optional
    if spec.kind in ("number", "integer"):
        ptype = NUMBER_INTEGER if spec.kind == "integer" else NUMBER_DOUBLE
        default = (
            spec.default if isinstance(spec.default, (int, float)) and not isinstance(spec.default, bool) else None
        )
        param = QgsProcessingParameterNumber(spec.name, spec.title, ptype, default, opt)
        if isinstance(spec.minimum, (int, float)):
            param.setMinimum(spec.minimum)
        if isinstance(spec.maximum, (int, float)):
            param.setMaximum(spec.maximum)
        return param
    if spec.kind == "enum":
        labels = [str(o) for o in spec.options]
        known = spec.default is not None and str(spec.default) in labels
        param = QgsProcessingParameterEnum(spec.name, spec.title, labels, False, None, opt)
        if hasattr(param, "setUsesStaticStrings"):  # 3.18+: values are the server's own words, stable in scripts
            param.setUsesStaticStrings(True)
            param.setDefaultValue(str(spec.default) if known else None)
        else:
            param.setDefaultValue(labels.index(str(spec.default)) if known else None)
        return param
    if spec.kind == "boolean":
        return QgsProcessingParameterBoolean(spec.name, spec.title, bool(spec.default), opt)
    if spec.kind == "string":
        default = spec.default if isinstance(spec.default, str) else None
        return QgsProcessingParameterString(spec.name, spec.title, default, False, opt)
    if spec.kind == "bbox":
        return QgsProcessingParameterExtent(spec.name, spec.title, None, opt)
    if spec.kind == "vector":
        return QgsProcessingParameterFeatureSource(spec.name, spec.title, [SOURCE_VECTOR_ANY], None, opt)
    if spec.kind == "raster":
        return QgsProcessingParameterRasterLayer(spec.name, spec.title, None, opt)
    default = json.dumps(spec.default) if spec.default is not None else None
    return QgsProcessingParameterString(spec.name, tr("{title} (JSON)").format(title=spec.title), default, True, opt)


def output_parameter(spec: Spec):
    if spec.kind == "vector":
        return QgsProcessingParameterVectorDestination(spec.name, spec.title, SOURCE_VECTOR_ANY)
    if spec.kind == "raster":
        return QgsProcessingParameterRasterDestination(spec.name, spec.title)
    ext = _EXT.get(spec.media_type.split(";")[0].strip(), "json" if spec.kind == "json" else "dat")
    return QgsProcessingParameterFileDestination(spec.name, spec.title, f"{ext.upper()} (*.{ext})")


# --- values -> execute request -----------------------------------------------------------
def _is_url(value) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def crs_uri(crs: QgsCoordinateReferenceSystem) -> str:
    auth, _, code = crs.authid().partition(":")
    return f"http://www.opengis.net/def/crs/{auth}/0/{code}" if auth and code else crs.toWkt()


def encode_input(spec: Spec, alg, parameters: dict, context, feedback, capture=None):
    """The execute-request value of one input, or None when an optional input is unset.

    Rasters and vectors whose source is an http(s) URL go by reference (the server fetches
    them); local data goes inline (GeoTIFF as base64, features as GeoJSON in EPSG:4326).
    """
    raw = parameters.get(spec.name)
    if raw is None or raw == "":
        if spec.optional:
            return None
    if spec.kind in ("number", "integer"):
        value = alg.parameterAsDouble(parameters, spec.name, context)
        return int(value) if spec.kind == "integer" else value
    if spec.kind == "enum":
        param = alg.parameterDefinition(spec.name)
        if hasattr(param, "usesStaticStrings") and param.usesStaticStrings():
            word = alg.parameterAsEnumString(parameters, spec.name, context)
            return next((o for o in spec.options if str(o) == word), word)
        return spec.options[alg.parameterAsEnum(parameters, spec.name, context)]
    if spec.kind == "boolean":
        return alg.parameterAsBoolean(parameters, spec.name, context)
    if spec.kind == "string":
        return alg.parameterAsString(parameters, spec.name, context)
    if spec.kind == "bbox":
        rect = alg.parameterAsExtent(parameters, spec.name, context)
        crs = alg.parameterAsExtentCrs(parameters, spec.name, context)
        return {"bbox": [rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()], "crs": crs_uri(crs)}
    if spec.kind in ("raster", "vector") and _is_url(raw):
        if capture is not None:
            capture.add_service_input(spec.id, raw.strip())
        return {"href": raw.strip(), "type": spec.media_type}
    if spec.kind == "raster":
        return _raster_inline(spec, alg, parameters, context, capture)
    if spec.kind == "vector":
        return _vector_inline(spec, alg, parameters, context, feedback, capture)
    text = alg.parameterAsString(parameters, spec.name, context)
    try:
        return json.loads(text)
    except ValueError as err:
        raise RemoteModelError(
            tr("The value of {title} is not valid JSON: {error}").format(title=spec.title, error=err)
        ) from err


def _raster_inline(spec: Spec, alg, parameters, context, capture):
    layer = alg.parameterAsRasterLayer(parameters, spec.name, context)
    if layer is None:
        raise RemoteModelError(tr("The raster for {title} could not be opened.").format(title=spec.title))
    from osgeo import gdal

    source = layer.source()
    try:
        ds = gdal.Open(source)
    except RuntimeError:  # gdal.UseExceptions() may be on in this process
        ds = None
    if ds is None:
        raise RemoteModelError(tr("GDAL cannot read the raster {source}.").format(source=source))
    is_tiff_file = ds.GetDriver().ShortName == "GTiff" and Path(source).is_file()
    if is_tiff_file:
        data = Path(source).read_bytes()
        if capture is not None:
            capture.add_file_input(spec.id, source)
    else:
        # Not a GeoTIFF on disk (e.g. a WCS or another format): convert, then send the copy.
        with tempfile.TemporaryDirectory(prefix="dtfl-remote-") as tmp:
            target = str(Path(tmp) / "input.tif")
            try:
                converted = gdal.Translate(target, ds, format="GTiff", creationOptions=["COMPRESS=DEFLATE"])
            except RuntimeError:
                converted = None
            if converted is None:
                raise RemoteModelError(tr("Converting {source} to GeoTIFF failed.").format(source=source))
            converted = None
            data = Path(target).read_bytes()
        if capture is not None and Path(source).is_file():
            capture.add_file_input(spec.id, source)
        elif capture is not None:
            capture.add_service_input(spec.id, source)
    ds = None
    return {"value": base64.b64encode(data).decode("ascii"), "encoding": "base64", "mediaType": spec.media_type}


def _vector_inline(spec: Spec, alg, parameters, context, feedback, capture):
    source = alg.parameterAsSource(parameters, spec.name, context)
    if source is None:
        raise RemoteModelError(tr("The features for {title} could not be read.").format(title=spec.title))
    exporter = QgsJsonExporter()
    exporter.setSourceCrs(source.sourceCrs())  # exported in EPSG:4326 as RFC 7946 asks
    exporter.setTransformGeometries(True)
    features = []
    for feature in source.getFeatures():
        if feedback is not None and feedback.isCanceled():
            raise RemoteModelError(tr("Cancelled."))
        features.append(feature)
    doc = json.loads(exporter.exportFeatures(features))
    if capture is not None:
        layer = alg.parameterAsVectorLayer(parameters, spec.name, context)
        location = source_file(layer.source()) if layer is not None else str(parameters.get(spec.name))
        if Path(location).is_file():
            capture.add_file_input(spec.id, location)
        else:
            capture.add_service_input(spec.id, location)
    return doc
