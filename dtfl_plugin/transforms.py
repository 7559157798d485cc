"""Coordinate transforms that really transform.

QGIS keeps a process-wide cache of coordinate transforms. A transform that once failed to initialise
(invalid: PROJ found no operation at that moment) is handed out again from that cache for the same pair of
CRSs, and an invalid transform is short-circuited: it returns its input unchanged, without an error. A
recipe area in RD New then "transformed" to CRS84 stays in metres, and the OGC API Features snapshot
clipped to it comes back empty (seen on QGIS 3.40 after other work in the same session). Every transform
DTFL builds for areas goes through ``checked``: an invalid one is rebuilt once with the cache cleared, and
if it is still invalid the caller gets an error instead of coordinates in the wrong CRS.
"""

from __future__ import annotations

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsCoordinateTransformContext

from .errors import DtflError
from .i18n import tr


def checked(
    source: QgsCoordinateReferenceSystem | str,
    destination: QgsCoordinateReferenceSystem | str,
    context: QgsCoordinateTransformContext | None = None,
) -> QgsCoordinateTransform:
    """A valid transform from ``source`` to ``destination``, or DtflError saying which pair failed."""
    src = source if isinstance(source, QgsCoordinateReferenceSystem) else QgsCoordinateReferenceSystem(source)
    dst = (
        destination
        if isinstance(destination, QgsCoordinateReferenceSystem)
        else QgsCoordinateReferenceSystem(destination)
    )
    if not src.isValid() or not dst.isValid():
        raise DtflError(
            tr("Unknown coordinate reference system: {crs}.").format(
                crs=str(source if not src.isValid() else destination)
            )
        )
    context = context if context is not None else QgsCoordinateTransformContext()
    transform = QgsCoordinateTransform(src, dst, context)
    if src != dst and (not transform.isValid() or transform.isShortCircuited()):
        # A failed transform cached earlier in this session: build this one afresh.
        QgsCoordinateTransform.invalidateCache()
        transform = QgsCoordinateTransform(src, dst, context)
    if src != dst and (not transform.isValid() or transform.isShortCircuited()):
        raise DtflError(
            tr("QGIS cannot transform coordinates from {src} to {dst} (PROJ found no operation).").format(
                src=src.authid() or src.description(), dst=dst.authid() or dst.description()
            )
        )
    return transform
