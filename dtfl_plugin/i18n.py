"""Translation: one context for the whole plugin, extracted by scripts/i18n.py.

Every user-visible string is written as ``tr("English text")`` with a literal argument,
so the extractor (an AST scan, not pylupdate) finds it. Placeholders use ``str.format``
names: ``tr("Loaded {n} layers").format(n=3)``.
"""

from __future__ import annotations

from qgis.core import QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QLocale, QTranslator

CONTEXT = "DTFL"
_translator: QTranslator | None = None


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def user_language() -> str:
    """Two-letter language QGIS runs in (the override in settings wins, as in QGIS itself)."""
    settings = QgsSettings()
    override = settings.value("locale/overrideFlag", False, type=bool)
    locale = settings.value("locale/userLocale", "", type=str) if override else ""
    if not locale:
        locale = settings.value("locale/globalLocale", "", type=str) or QLocale().name()
    return (locale or "en")[:2].lower()


def install_translator(language: str | None = None) -> str | None:
    """Load i18n/dtfl_<lang>.qm if it exists; returns the language loaded, or None."""
    global _translator
    from .__about__ import i18n_path

    lang = language or user_language()
    remove_translator()
    qm = i18n_path(f"dtfl_{lang}.qm")
    if lang == "en" or not qm.is_file():
        return None
    translator = QTranslator()
    if not translator.load(str(qm)):
        return None
    QCoreApplication.installTranslator(translator)
    _translator = translator
    return lang


def remove_translator() -> None:
    global _translator
    if _translator is not None:
        QCoreApplication.removeTranslator(_translator)
        _translator = None
