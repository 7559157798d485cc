"""Graphical Modeler files (.model3) used by recorded runs: where the file is and its formal parameters.

Named after the file format, not "models": the models/ room is DTFL's own numeric and remote models.
"""

from __future__ import annotations

from pathlib import Path


def model_file(algorithm_id: str) -> Path | None:
    """The .model3 file behind a model algorithm id (``model:...``), or None for other algorithms."""
    if not algorithm_id.startswith(("model:", "project:")):
        return None
    from qgis.core import QgsApplication

    alg = QgsApplication.processingRegistry().algorithmById(algorithm_id)
    path = getattr(alg, "sourceFilePath", lambda: "")() if alg is not None else ""
    return Path(path) if path and Path(path).is_file() else None


def model_parameters(path: Path) -> tuple[list[dict], list[dict]]:
    """Inputs and outputs of a model as FormalParameter descriptions (name, additionalType)."""
    from qgis.core import QgsProcessingModelAlgorithm

    model = QgsProcessingModelAlgorithm()
    if not model.fromFile(str(path)):
        return [], []
    inputs = [
        {"name": p.name(), "additionalType": _kind(p.type())}
        for p in model.parameterDefinitions()
        if not p.isDestination()
    ]
    outputs = [{"name": o.name(), "additionalType": _kind(o.type())} for o in model.outputDefinitions()]
    return inputs, outputs


def _kind(processing_type: str) -> str:
    """A schema.org / EDAM-ish type for a Processing parameter type."""
    kinds = {
        "raster": "File",
        "vector": "File",
        "source": "File",
        "sink": "File",
        "rasterDestination": "File",
        "vectorDestination": "File",
        "outputRaster": "File",
        "outputVector": "File",
        "outputLayer": "File",
        "file": "File",
        "number": "Float",
        "distance": "Float",
        "extent": "Text",
        "string": "Text",
        "boolean": "Boolean",
        "enum": "Text",
    }
    return kinds.get(processing_type, "Text")
