"""Run settings and data sources as a person reads them: the parameter's own label, a choice by its label
("70 mm in 1 hour", not "EVENT: 0"), a layer by its name (not its id), a service connection string as the
service and layer it names (no credentials, no provider syntax), a file by its name.

qgis.core only (the Processing registry and the project), so it works headless and in the panel alike.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..i18n import tr
from .layer_props import source_file, source_layer_name

_URL = re.compile(r"(?:^|[&\s])url=(?P<q>'?)(?P<url>[^'&\s]+)(?P=q)")
_NAMED = re.compile(
    r"(?:^|[&\s?])(?:layers|typename|layer|coverage|identifier|collection)=(?P<q>'?)(?P<v>[^'&\s]+)(?P=q)"
)
TEMPORARY = ("TEMPORARY_OUTPUT", "memory:")


def service_text(value: str) -> str:
    """'bgt_pand at service.pdok.nl/…' for a QGIS service URI or URL ("" when it is neither)."""
    match = _URL.search(value)
    url = unquote(match.group("url")) if match else source_file(value)
    url = url.removeprefix("/vsicurl/")
    if not url.lower().startswith(("http://", "https://")):
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    named = _NAMED.search(value) or _NAMED.search(parts.query or "")
    place = host + (parts.path if parts.path not in ("", "/") else "")
    if named:
        return tr("“{layer}” from the service at {place}").format(layer=unquote(named.group("v")), place=place)
    return tr("the service at {place}").format(place=place)


def source_text(value: str, project=None) -> str:
    """A layer id, path, URI or URL as words."""
    if not isinstance(value, str) or not value:
        return str(value)
    if project is not None:
        layer = project.mapLayer(value)
        if layer is not None:
            return tr("layer “{name}”").format(name=layer.name())
    if value.startswith(TEMPORARY):
        return tr("a temporary layer")
    service = service_text(value)
    if service:
        return service
    if value.startswith("memory") or value.startswith("?"):
        return tr("a temporary layer") if value.startswith("memory") else tr("a virtual layer")
    raw = source_file(value)
    if "/" in raw or "\\" in raw:
        layer_name = source_layer_name(value)
        return f"{Path(raw).name} ({layer_name})" if layer_name else Path(raw).name
    return value


def _definition(algorithm_id: str):
    try:
        from qgis.core import QgsApplication

        alg = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    except (ImportError, RuntimeError):
        return None
    return alg


def _value_text(definition, value, project) -> str:
    kind = definition.type() if definition is not None else ""
    if kind == "enum" and value not in (None, ""):
        options = definition.options()
        picked = value if isinstance(value, list) else str(value).split(",")
        labels = []
        for item in picked:
            try:
                labels.append(options[int(item)])
            except (ValueError, IndexError, TypeError):
                labels.append(str(item))
        return ", ".join(labels)
    if kind == "boolean" or isinstance(value, bool):
        return tr("yes") if value in (True, "true", "True", 1, "1") else tr("no")
    if isinstance(value, list):
        return ", ".join(source_text(str(v), project) for v in value)
    if isinstance(value, dict):  # e.g. {"source": ..., "selected_only": ...}
        return source_text(str(value.get("source") or value.get("sink") or value), project)
    return source_text(str(value), project) if isinstance(value, str) else str(value)


def readable_parameters(algorithm_id: str, parameters: dict, project=None) -> list[tuple[str, str]]:
    """(label, value) per set parameter, in the algorithm's own order where it is known."""
    alg = _definition(algorithm_id)
    order = [d.name() for d in alg.parameterDefinitions()] if alg is not None else []
    names = [n for n in order if n in parameters] + [n for n in parameters if n not in order]
    rows = []
    for name in names:
        value = parameters[name]
        if value in (None, ""):
            continue
        definition = alg.parameterDefinition(name) if alg is not None else None
        label = definition.description() if definition is not None else name
        rows.append((label, _value_text(definition, value, project)))
    return rows


def parameter_label(algorithm_id: str, name: str) -> str:
    """The parameter's label as the algorithm's dialog shows it (its name when the algorithm is unknown)."""
    alg = _definition(algorithm_id)
    definition = alg.parameterDefinition(name) if alg is not None and name else None
    return definition.description() if definition is not None else name


def algorithm_name(algorithm_id: str) -> str:
    """The algorithm's name as the toolbox shows it (its id when it is not installed here)."""
    alg = _definition(algorithm_id)
    return alg.displayName() if alg is not None else algorithm_id
