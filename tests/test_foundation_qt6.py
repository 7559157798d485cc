"""QGIS 4 (Qt 6) readiness: the package spells nothing that Qt 6 / PyQt6 or QGIS 4 removed.

The scan (tests/qt6_scan.py) follows QGIS's own Qt5 -> Qt6 migration rules; this file runs it over the plugin
package and the QGIS 4 check script, and proves it catches what it claims to (planted cases).
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from tests import qt6_scan

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["dtfl_plugin"]
EXTRA = ("scripts/qgis4_check.py",)


def test_package_has_no_qt5_or_qgis3_only_api(qgis_app):
    findings = qt6_scan.scan_tree(ROOT, SCANNED, EXTRA)
    assert not findings, "Qt 6 / QGIS 4 blockers:\n" + "\n".join(map(str, findings))


def test_metadata_declares_qt6():
    meta = configparser.ConfigParser()
    meta.read(ROOT / "metadata.txt", encoding="utf-8")
    assert meta["general"].get("supportsQt6", "").strip().lower() in ("true", "yes")
    assert meta["general"]["qgisMaximumVersion"] == "4.99"


def test_removed_names_list_is_from_a_real_qgis():
    names = qt6_scan.removed_qgis3_names()
    assert ("QgsWkbTypes", "PolygonGeometry") in names
    assert ("QgsProcessing", "TypeVectorAnyGeometry") in names
    assert len(names) > 1000


PLANTED = """
from qgis.PyQt.QtWidgets import QAction, QDialog
from qgis.PyQt.QtCore import Qt, QVariant, QDateTime, QDate
from qgis.PyQt.QtGui import QFontMetrics
from qgis.core import Qgis, QgsWkbTypes, QgsTask, QgsField

def run(dialog, layer, menu, font):
    dialog.exec_()
    if layer.geometryType() == QgsWkbTypes.PolygonGeometry:
        pass
    flags = QgsTask.CanCancel
    align = Qt.AlignLeft
    field = QgsField("x", QVariant.Double)
    empty = QVariant()
    when = QDateTime(2024, 1, 2, 3, 4, 5, 6, Qt.UTC)
    day = QDateTime(QDate(2024, 1, 2))
    metrics = QFontMetrics(font)
    wide = metrics.width()
    menu.addAction("icon", "text", dialog, "slot")
    button = Qt.MidButton
    level = Qgis.Info
"""

EXPECTED_RULES = {
    "exec_",
    "removed QGIS 3 spelling",
    "unscoped enum",
    "QVariant type",
    "QVariant()",
    "QDateTime constructor",
    "QFontMetrics.width",
    "addAction signature",
    "renamed Qt enum",
    "moved to QtGui",
}


def test_scan_fails_on_planted_uses(qgis_app, tmp_path):
    pkg = tmp_path / "dtfl_plugin"
    pkg.mkdir()
    (pkg / "planted.py").write_text(PLANTED, encoding="utf-8")
    findings = qt6_scan.scan_tree(tmp_path, ["dtfl_plugin"])
    rules = {f.rule for f in findings}
    assert EXPECTED_RULES <= rules, f"missed: {EXPECTED_RULES - rules}"
    by_line = {(f.line, f.rule) for f in findings}
    assert (8, "exec_") in by_line
    assert (9, "removed QGIS 3 spelling") in by_line  # QgsWkbTypes.PolygonGeometry
    assert (21, "unscoped enum") in by_line  # Qgis.Info


def test_scoped_spellings_pass(qgis_app, tmp_path):
    pkg = tmp_path / "dtfl_plugin"
    pkg.mkdir()
    (pkg / "clean.py").write_text(
        "from qgis.core import Qgis, QgsTask\nfrom qgis.PyQt.QtCore import Qt\n"
        "a = Qt.AlignmentFlag.AlignLeft\nb = QgsTask.Flag.CanCancel\nc = Qgis.MessageLevel.Info\n",
        encoding="utf-8",
    )
    assert qt6_scan.scan_tree(tmp_path, ["dtfl_plugin"]) == []


def test_ui_and_resource_files_are_scanned(tmp_path):
    pkg = tmp_path / "dtfl_plugin"
    pkg.mkdir()
    (pkg / "icons.qrc").write_text("<RCC/>", encoding="utf-8")
    (pkg / "form.ui").write_text(
        '<ui version="4.0"><widget class="QDialog" name="d"><property name="x"><enum>Qt::MidButton</enum></property>'
        '</widget><resources><include location="icons.qrc"/></resources></ui>',
        encoding="utf-8",
    )
    rules = {f.rule for f in qt6_scan.scan_tree(tmp_path, ["dtfl_plugin"])}
    assert {"compiled resources", "renamed Qt enum"} <= rules


@pytest.mark.parametrize(
    "text",
    [
        "QgsWkbTypes.PolygonGeometry.is_monkey_patched = True\n",
        "QgsWkbTypes.Type = Qgis.WkbType\n",
    ],
)
def test_monkey_patch_lines_are_read(text):
    assert qt6_scan.monkey_patched_in(text)
