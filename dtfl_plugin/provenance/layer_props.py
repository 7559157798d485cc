"""Layer sources: the facts stored on every layer DTFL loads, and QGIS's own parse of a source string.

The layers room writes the facts (a custom property, saved in the project) when it creates a layer;
provenance and recipes read them, from a live layer or from project XML (``LayerSource.from_json``).
A source string such as ``/x.gpkg|layername=y`` is taken apart by ``QgsProviderRegistry.decodeUri()``,
never by hand: QGIS knows its options (layername, layerid, subset, option:...) and ``/vsizip/`` paths.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

KEY = "dtfl/source"


@dataclass
class LayerSource:
    record_id: str = ""  # catalogue entry id
    dataset_id: str = ""
    title: str = ""
    service_type: str = ""
    service_url: str = ""
    name: str = ""  # layer/collection name at the service
    licence: str = ""
    organisation: str = ""
    metadata_url: str = ""
    loaded_at: str = ""  # ISO time the service was read
    service_version: str = ""  # e.g. capabilities updateSequence or ETag, when the service gives one

    @classmethod
    def from_json(cls, raw: str) -> LayerSource | None:
        """The facts from their stored JSON text; None when there are none or they are unreadable."""
        import json

        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def set_layer_source(layer, source: LayerSource) -> None:
    import json

    layer.setCustomProperty(KEY, json.dumps(asdict(source), ensure_ascii=False))


def get_layer_source(layer) -> LayerSource | None:
    return LayerSource.from_json(layer.customProperty(KEY, ""))


def decode_source(source: str) -> dict:
    """QGIS's parse of a file-based layer source: path, layerName, layerId, subset, vsiPrefix ... ."""
    from qgis.core import QgsProviderRegistry

    return dict(QgsProviderRegistry.instance().decodeUri("ogr", source))


def split_source(source: str) -> tuple[str, str]:
    """(data file, layer options) of a source: ``'/x.gpkg|layername=y'`` -> ``('/x.gpkg', 'layername=y')``.

    The file keeps a ``/vsizip/`` or ``/vsicurl/`` prefix, as GDAL reads it; the options are the source's own
    text (re-encoded by QGIS only when QGIS normalised the path)."""
    from qgis.core import QgsProviderRegistry

    parts = decode_source(source)
    file = "".join(str(parts.get(key) or "") for key in ("vsiPrefix", "path", "vsiSuffix"))
    if source.startswith(file):
        options = source[len(file) :]
    else:
        rest = {k: v for k, v in parts.items() if k not in ("vsiPrefix", "path", "vsiSuffix")}
        options = QgsProviderRegistry.instance().encodeUri("ogr", {"path": "", **rest})
    return file, options[1:] if options.startswith("|") else options


def source_file(source: str) -> str:
    """The data file behind a source (``'/x.gpkg|layername=y'`` -> ``'/x.gpkg'``)."""
    return split_source(source)[0]


def source_layer_name(source: str) -> str:
    """The layer inside a multi-layer file (``layername=``), or ""."""
    return str(decode_source(source).get("layerName") or "")
