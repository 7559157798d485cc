"""Source facts stored on every layer DTFL loads (custom properties, saved in the project).

The layers room writes them when it creates a layer; provenance and recipes read them.
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


def set_layer_source(layer, source: LayerSource) -> None:
    import json

    layer.setCustomProperty(KEY, json.dumps(asdict(source), ensure_ascii=False))


def get_layer_source(layer) -> LayerSource | None:
    import json

    raw = layer.customProperty(KEY, "")
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    known = set(LayerSource.__dataclass_fields__)
    return LayerSource(**{k: v for k, v in data.items() if k in known})
