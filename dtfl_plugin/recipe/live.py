"""What only the open project holds: temporary (memory) layers, whose features QGIS does not save in
the project file. Before packaging they are written to GeoPackages in a staging folder, so the
recipe carries their content like any other local data.

Runs on the main thread (the algorithm's prepareAlgorithm, or the GUI): memory layers belong to
the project's thread.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import RecipeError
from ..i18n import tr

MEMORY = "memory"


def temporary_layers(project) -> list:
    """Vector layers of ``project`` whose features live only in memory."""
    from qgis.core import QgsVectorLayer

    return [
        layer
        for layer in project.mapLayers().values()
        if isinstance(layer, QgsVectorLayer) and layer.providerType() == MEMORY
    ]


def _write_gpkg(layer, path: Path, name: str) -> None:
    from qgis.core import QgsCoordinateTransformContext, QgsVectorFileWriter

    options = QgsVectorFileWriter.SaveVectorOptions()
    options.driverName = "GPKG"
    options.layerName = name
    options.fileEncoding = "UTF-8"
    writer = getattr(QgsVectorFileWriter, "writeAsVectorFormatV3", None) or QgsVectorFileWriter.writeAsVectorFormatV2
    result = writer(layer, str(path), QgsCoordinateTransformContext(), options)
    if result[0] != QgsVectorFileWriter.WriterError.NoError:
        raise RecipeError(
            tr("The temporary layer '{layer}' could not be saved for the recipe: {error}").format(
                layer=layer.name(), error=result[1]
            )
        )


def materialise(project, folder: str | Path) -> dict[str, str]:
    """Write every temporary layer of ``project`` to a GeoPackage in ``folder``.

    Returns ``{layer id: OGR data source}`` for PackOptions.live_sources."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sources = {}
    for index, layer in enumerate(temporary_layers(project), start=1):
        name = "".join(c if c.isalnum() else "_" for c in layer.name()).strip("_")[:60] or f"layer{index}"
        path = folder / f"{name}-{index:03d}.gpkg"  # the file name becomes the member name in the recipe
        _write_gpkg(layer, path, name)
        sources[layer.id()] = f"{path}|layername={name}"
    return sources
