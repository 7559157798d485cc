"""DTFL QGIS plugin: entry point only."""


def classFactory(iface):  # noqa: N802 - QGIS's name
    from .plugin import DtflPlugin

    return DtflPlugin(iface)
