"""QGIS 4's own project trust, next to our safe recipe opening.

Two guards, each with its own promise (docs/recipe-format.md, "Project trust"):
- ours: a recipe's project is cleaned before QGIS reads it (no macros, expression functions, actions or form code
  survive, whatever the user's trust settings);
- QGIS 4's: embedded code runs only in projects and folders the user trusted (settings
  ``core/code-execution-trusted-projects-folders`` and friends, checked by ``QgsProjectUtils.checkUserTrust``).

Opening a recipe must never widen the second guard: we never add an unpacked recipe to the trusted folders, and where
QGIS offers the session-only deny list, the unpacked folder goes on it, so that QGIS 4 does not even ask the user to
trust code that came from another organisation. QGIS 3 has neither: nothing is done there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qgis.core import QgsProjectUtils

_TRUSTED = "settingsCodeExecutionTrustedProjectsFolders"
_TEMP_DENIED = "settingsCodeExecutionTemporarilyDeniedProjectsFolders"


@dataclass
class TrustState:
    available: bool  # this QGIS has project trust (QGIS 4)
    already_trusted: bool  # the folder or project was in the user's trusted list before we opened it
    denied_for_session: bool  # we put the folder on QGIS's session-only deny list


def project_trust_available() -> bool:
    return hasattr(QgsProjectUtils, "checkUserTrust")


def _entry(name: str):
    try:
        from qgis.core import QgsSettingsRegistryCore
    except ImportError:
        return None
    return getattr(QgsSettingsRegistryCore, name, None)


def _paths(project_file: Path) -> set[str]:
    project_file = project_file.resolve()
    return {str(project_file), str(project_file.parent)}


def keep_untrusted(project_file: Path) -> TrustState:
    """Before QGIS reads an unpacked recipe: never trusted by us, denied for this session where QGIS allows it."""
    if not project_trust_available():
        return TrustState(False, False, False)
    paths = _paths(project_file)
    trusted_entry = _entry(_TRUSTED)
    trusted = set(trusted_entry.value()) if trusted_entry is not None else set()
    denied_entry = _entry(_TEMP_DENIED)
    denied = False
    if denied_entry is not None:
        current = list(denied_entry.value())
        folder = str(project_file.resolve().parent)
        if folder not in current:
            denied_entry.setValue(current + [folder])
        denied = True
    return TrustState(True, bool(paths & trusted), denied)
