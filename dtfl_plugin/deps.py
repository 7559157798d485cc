"""Optional Python libraries: checked before use, and a missing one named with the fix for this platform.

What each QGIS installer ships differs (docs/platforms.md): OSGeo4W's ``qgis`` has numpy, GDAL, lxml and
OWSLib but not scipy; ``qgis-full-free`` adds scipy; no installer ships ``cryptography``. A feature that
needs a library calls ``require(...)`` first, so a missing one ends the run with a translated message
(and, in an algorithm, a failed run in the history) instead of a ModuleNotFoundError traceback.
"""

from __future__ import annotations

import importlib
import sys

from .errors import DtflError
from .i18n import tr

# import name -> (pip name, OSGeo4W package, Debian package)
PACKAGES: dict[str, tuple[str, str, str]] = {
    "numpy": ("numpy", "python3-numpy", "python3-numpy"),
    "scipy": ("scipy", "python3-scipy", "python3-scipy"),
    "cryptography": ("cryptography", "", "python3-cryptography"),
    "lxml": ("lxml", "python3-lxml", "python3-lxml"),
    "osgeo": ("GDAL", "python3-gdal", "python3-gdal"),
}


class MissingDependencyError(DtflError):
    """A library a feature needs is not installed. ``str()`` says which and how to install it here."""

    def __init__(self, message: str, *, module: str) -> None:
        super().__init__(message, detail=f"import {module} failed")
        self.module = module


def platform_key(platform: str | None = None) -> str:
    """ "windows", "macos" or "linux" (Debian and derivatives)."""
    platform = platform or sys.platform
    if platform.startswith("win"):
        return "windows"
    if platform == "darwin":
        return "macos"
    return "linux"


def how_to_install(module: str, platform: str | None = None) -> str:
    """The translated instruction that installs ``module`` into QGIS's Python on this platform."""
    top = module.split(".")[0]
    pip_name, osgeo4w, debian = PACKAGES.get(top, (top, "", f"python3-{top}"))
    where = platform_key(platform)
    if where == "windows":
        if osgeo4w:
            return tr(
                "Windows: run the OSGeo4W installer (Advanced install), select the package {package} and "
                "finish; or, in the OSGeo4W Shell, run: python -m pip install {pip}."
            ).format(package=osgeo4w, pip=pip_name)
        return tr("Windows: in the OSGeo4W Shell (Start menu, QGIS folder), run: python -m pip install {pip}.").format(
            pip=pip_name
        )
    if where == "macos":
        return tr(
            "macOS: in a terminal, run: /Applications/QGIS.app/Contents/MacOS/bin/python3 -m pip install --user {pip}."
        ).format(pip=pip_name)
    return tr("Debian/Ubuntu: run: sudo apt install {package}.").format(package=debian)


def missing_message(module: str, feature: str, platform: str | None = None) -> str:
    top = module.split(".")[0]
    pip_name = PACKAGES.get(top, (top,))[0]
    return tr(
        "{feature} needs the Python package '{package}', which this QGIS does not include. {fix} Then restart QGIS."
    ).format(feature=feature, package=pip_name, fix=how_to_install(module, platform))


def available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def require(*modules: str, feature: str) -> None:
    """Import each of ``modules``; raise MissingDependencyError naming the first missing one and its fix."""
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise MissingDependencyError(missing_message(module, feature), module=module) from err
