"""dtfl_plugin/transforms.py: a transform QGIS hands out invalid (from its process-wide cache) is rebuilt, and
one that cannot be built is an error, never a silent "transform" that returns its input (issue 13, item 8:
the recipe's OGC API Features snapshot came back empty on QGIS 3.40 because the RD area was used as CRS84)."""

from __future__ import annotations

import pytest


class _FirstInvalid:
    """Wraps QgsCoordinateTransform: the first transform built is invalid, as a poisoned cache entry is."""

    made = 0
    cleared = 0

    def __init__(self, real):
        self.real = real

    def __call__(self, *args):
        _FirstInvalid.made += 1
        if _FirstInvalid.made == 1:
            return self.real()  # a default transform: invalid, short-circuited (returns its input)
        return self.real(*args)

    def invalidateCache(self):  # noqa: N802 - QGIS API
        _FirstInvalid.cleared += 1
        self.real.invalidateCache()


def test_an_invalid_cached_transform_is_rebuilt(qgis_app, monkeypatch):
    from qgis.core import QgsCoordinateTransform, QgsPointXY

    from dtfl_plugin import transforms

    monkeypatch.setattr(transforms, "QgsCoordinateTransform", _FirstInvalid(QgsCoordinateTransform))
    transform = transforms.checked("EPSG:28992", "OGC:CRS84")
    assert _FirstInvalid.cleared == 1 and transform.isValid() and not transform.isShortCircuited()
    point = transform.transform(QgsPointXY(84875.0, 447527.0))
    assert point.x() == pytest.approx(4.3657, abs=1e-3) and point.y() == pytest.approx(52.0117, abs=1e-3)


def test_a_transform_that_cannot_be_built_is_an_error(qgis_app, monkeypatch):
    from qgis.core import QgsCoordinateTransform

    from dtfl_plugin import transforms
    from dtfl_plugin.errors import DtflError, RecipeError
    from dtfl_plugin.recipe.embed import area_in_crs

    class _Never(_FirstInvalid):
        def __call__(self, *args):
            return self.real()

    monkeypatch.setattr(transforms, "QgsCoordinateTransform", _Never(QgsCoordinateTransform))
    with pytest.raises(DtflError, match="cannot transform"):
        transforms.checked("EPSG:28992", "OGC:CRS84")
    with pytest.raises(RecipeError):
        area_in_crs(((84812.0, 447416.0, 84938.0, 447638.0), "EPSG:28992"), "OGC:CRS84")
    with pytest.raises(DtflError, match="Unknown coordinate reference system"):
        transforms.checked("EPSG:999999", "EPSG:28992")


def test_the_area_reaches_crs84(qgis_app):
    from dtfl_plugin.recipe.embed import area_in_crs

    xmin, ymin, xmax, ymax = area_in_crs(((84812.0, 447416.0, 84938.0, 447638.0), "EPSG:28992"), "OGC:CRS84")
    assert 4.36 < xmin < xmax < 4.37 and 52.01 < ymin < ymax < 52.02
