"""Scan Python and .ui sources for what QGIS 4 (Qt 6, PyQt6) no longer has.

The rules follow QGIS's own Qt5 -> Qt6 migration script (scripts/pyqt5_to_pyqt6 in QGIS's repository): exec_(),
PyQt5 imports, QRegExp and other removed classes, qApp, qgis.PyQt.Qt, compiled resources, QVariant type constants
and empty QVariant(), the QDateTime constructors Qt 6 dropped, QFontMetrics.width, fragile addAction signatures,
activated[str], deprecated renamed Qt enums, unscoped enum values; plus the QGIS 3 spellings QGIS 4 removed (the
aliases QGIS 3.x monkey-patches onto its classes, listed from a real QGIS 3.44 in qgis4_removed_names.txt).

Unscoped enum values are found by introspection: `Owner.Name` where Owner is a Qt or QGIS class and Name is an
enum *member* (not an enum type) is unscoped; PyQt6 only has `Owner.Enum.Name`.
"""

from __future__ import annotations

import ast
import enum
import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

REMOVED_NAMES_FILE = Path(__file__).with_name("qgis4_removed_names.txt")
# Only this module may spell QGIS 3 forms: it resolves them by feature detection.
COMPAT_MODULE = "dtfl_plugin/compat.py"

REMOVED_CLASSES = {
    "QRegExp": "removed in Qt 6: use QRegularExpression",
    "QRegExpValidator": "removed in Qt 6: use QRegularExpressionValidator",
    "QDesktopWidget": "removed in Qt 6: use QScreen (QGuiApplication.primaryScreen())",
    "qApp": "removed in PyQt6: use QApplication.instance()",
    "QTextCodec": "moved to Qt5Compat in Qt 6",
    "QGLWidget": "removed in Qt 6: use QOpenGLWidget",
    "QSound": "removed in Qt 6",
    "QMatrix": "removed in Qt 6: use QTransform",
}
MOVED_TO_QTGUI = {"QAction", "QActionGroup", "QShortcut", "QUndoCommand", "QUndoStack", "QFileSystemModel"}
RENAMED_QT_ENUMS = {
    ("Qt", "MidButton"): "Qt.MouseButton.MiddleButton",
    ("Qt", "TextColorRole"): "Qt.ItemDataRole.ForegroundRole",
    ("Qt", "BackgroundColorRole"): "Qt.ItemDataRole.BackgroundRole",
    ("QPainter", "HighQualityAntialiasing"): "QPainter.RenderHint.Antialiasing",
}
ENUM_OWNER_MODULES = (
    "qgis.PyQt.QtCore",
    "qgis.PyQt.QtGui",
    "qgis.PyQt.QtWidgets",
    "qgis.PyQt.QtNetwork",
    "qgis.PyQt.QtXml",
    "qgis.PyQt.QtSvg",
    "qgis.core",
    "qgis.gui",
    "qgis.analysis",
    "qgis._3d",
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.detail}"


def removed_qgis3_names() -> set[tuple[str, str]]:
    """(class, attribute) pairs QGIS 4 removed, from the list made on QGIS 3.44 plus the running QGIS's own."""
    names: set[tuple[str, str]] = set()
    for line in REMOVED_NAMES_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            owner, _, attr = line.partition(".")
            names.add((owner, attr))
    return names | running_qgis_monkey_patched()


_PATCH_LINE = re.compile(r"^(Qgs\w*|Qgis)\.(\w+)\.is_monkey_patched = True$|^(Qgs\w*)\.(\w+) = _?Qgis\.\w+$", re.M)


def monkey_patched_in(text: str) -> set[tuple[str, str]]:
    """QGIS 3.x compat aliases named in one of QGIS's generated qgis/<module>/__init__.py files."""
    out = set()
    for m in _PATCH_LINE.finditer(text):
        owner, attr = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        out.add((owner, attr))
    return out


def running_qgis_monkey_patched() -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    try:
        import qgis
    except ImportError:
        return out
    base = Path(qgis.__file__).parent
    for sub in ("core", "gui", "analysis", "_3d"):
        init = base / sub / "__init__.py"
        if init.is_file():
            out |= monkey_patched_in(init.read_text(encoding="utf-8", errors="replace"))
    return out


_OWNERS: dict[str, type] | None = None


def enum_owners() -> dict[str, type]:
    """Class name -> class for every Qt/QGIS class the scan can introspect here."""
    global _OWNERS
    if _OWNERS is None:
        _OWNERS = {}
        for module_name in ENUM_OWNER_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            for name in dir(module):
                if name.startswith("Q"):
                    value = getattr(module, name, None)
                    if isinstance(value, type):
                        _OWNERS.setdefault(name, value)
    return _OWNERS


def is_enum_member(value: object) -> bool:
    if isinstance(value, type):
        return False
    if isinstance(value, enum.Enum):
        return True
    return type(type(value)).__name__ == "enumtype"  # sip's traditional (unscoped) enums


def _const_args(call: ast.Call) -> int:
    return len(call.args)


class _Visitor(ast.NodeVisitor):
    def __init__(self, path: str, removed: set[tuple[str, str]], owners: dict[str, type]):
        self.path = path
        self.removed = removed
        self.owners = owners
        self.findings: list[Finding] = []
        self.font_metrics_vars: set[str] = set()
        self.is_compat = path == COMPAT_MODULE

    def add(self, node: ast.AST, rule: str, detail: str) -> None:
        self.findings.append(Finding(self.path, getattr(node, "lineno", 0), rule, detail))

    # imports ------------------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] in ("PyQt5", "PyQt6", "PySide2", "PySide6"):
                self.add(node, "direct Qt binding import", f"import {alias.name}: use qgis.PyQt")
            if alias.name.endswith("resources_rc") or alias.name == "resources":
                self.add(node, "compiled resources", "Qt 6 has no compiled resources: load files by path")
        self.generic_visit(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module.split(".")[0] in ("PyQt5", "PyQt6", "PySide2", "PySide6"):
            self.add(node, "direct Qt binding import", f"from {module}: use qgis.PyQt")
        if module == "qgis.PyQt.Qt":
            self.add(node, "qgis.PyQt.Qt", "this module is gone in QGIS 4: import from qgis.PyQt.QtCore")
        for alias in node.names:
            if alias.name in REMOVED_CLASSES:
                self.add(node, "removed Qt class", f"{alias.name}: {REMOVED_CLASSES[alias.name]}")
            if alias.name in ("resources_rc", "resources"):
                self.add(node, "compiled resources", "Qt 6 has no compiled resources: load files by path")
            if module.endswith("QtWidgets") and alias.name in MOVED_TO_QTGUI and not self.is_compat:
                self.add(
                    node, "moved to QtGui", f"{alias.name} lives in QtGui under Qt 6: import it from dtfl_plugin.compat"
                )
        self.generic_visit(node)

    # names, attributes, calls -------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in ("qApp", "QRegExp", "QDesktopWidget") and isinstance(node.ctx, ast.Load):
            self.add(node, "removed Qt class", f"{node.id}: {REMOVED_CLASSES[node.id]}")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name == "exec_":
            self.add(node, "exec_", "def exec_: Qt 6 has only exec()")
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        if isinstance(value, ast.Call) and _call_name(value) in ("QFontMetrics", "QFontMetricsF", "fontMetrics"):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.font_metrics_vars.add(target.id)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.value, ast.Attribute) and node.value.attr == "activated":
            if isinstance(node.slice, ast.Name) and node.slice.id == "str":
                self.add(node, "activated[str]", "removed in Qt 6: use textActivated")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = _call_name(node)
        if isinstance(func, ast.Attribute):
            if func.attr == "exec_":
                self.add(node, "exec_", "exec_() is gone in Qt 6: call exec()")
            if func.attr == "addAction" and _const_args(node) >= 4:
                self.add(
                    node,
                    "addAction signature",
                    "4-argument addAction is fragile in Qt 6: create the QAction, then add it",
                )
            if func.attr == "desktop" and not node.args:
                self.add(node, "QDesktopWidget", "QApplication.desktop() is removed in Qt 6: use QScreen")
            if func.attr == "width" and not node.args and _is_font_metrics(func.value, self.font_metrics_vars):
                self.add(node, "QFontMetrics.width", "removed in Qt 6: use horizontalAdvance()")
        if name == "QVariant" and not self.is_compat:
            if not node.args:
                self.add(node, "QVariant()", "an empty QVariant is NULL in QGIS 4: use qgis.core.NULL")
        if name == "QDateTime":
            if len(node.args) == 8 or len(node.args) == 7:
                self.add(
                    node,
                    "QDateTime constructor",
                    "Qt 6 dropped QDateTime(y, m, d, h, min, s, ms): use QDateTime(QDate, QTime)",
                )
            elif len(node.args) == 1 and isinstance(node.args[0], ast.Call) and _call_name(node.args[0]) == "QDate":
                self.add(node, "QDateTime constructor", "QDateTime(QDate) is gone in Qt 6: add a QTime(0, 0, 0)")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            owner, attr = node.value.id, node.attr
            if owner == "QVariant" and not self.is_compat and attr[:1].isupper():
                self.add(
                    node,
                    "QVariant type",
                    f"QVariant.{attr}: field types differ in QGIS 4: use dtfl_plugin.compat.field()",
                )
            elif (owner, attr) in RENAMED_QT_ENUMS:
                self.add(node, "renamed Qt enum", f"{owner}.{attr}: use {RENAMED_QT_ENUMS[(owner, attr)]}")
            elif (owner, attr) in self.removed and not self.is_compat:
                self.add(node, "removed QGIS 3 spelling", f"{owner}.{attr} is gone in QGIS 4: use dtfl_plugin.compat")
            elif owner in self.owners and attr[:1].isupper() and not self.is_compat:
                value = getattr(self.owners[owner], attr, None)
                if value is not None and is_enum_member(value):
                    scoped = type(value).__name__
                    self.add(node, "unscoped enum", f"{owner}.{attr}: PyQt6 needs {owner}.{scoped}.{attr}")
        self.generic_visit(node)


def _call_name(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return ""


def _is_font_metrics(node: ast.AST, variables: set[str]) -> bool:
    if isinstance(node, ast.Name):
        return node.id in variables
    return isinstance(node, ast.Call) and _call_name(node) in ("QFontMetrics", "QFontMetricsF", "fontMetrics")


def scan_python(path: Path, rel: str) -> list[Finding]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    visitor = _Visitor(rel, removed_qgis3_names(), enum_owners())
    visitor.visit(tree)
    return visitor.findings


def scan_ui(path: Path, rel: str) -> list[Finding]:
    """A .ui file: no compiled resources, no Qt 5-only widgets, no unscoped removed enums."""
    findings = []
    root = ElementTree.parse(path).getroot()  # our own files, not untrusted input
    for element in root.iter():
        if element.tag == "include" and (element.get("location") or "").endswith(".qrc"):
            findings.append(Finding(rel, 0, "compiled resources", f"{element.get('location')}: load files by path"))
        if element.tag == "widget" and element.get("class") in ("QWebView", "QGLWidget", "QDesktopWidget"):
            findings.append(Finding(rel, 0, "removed Qt class", f"widget {element.get('class')}"))
        if element.tag in ("enum", "set") and element.text:
            for part in element.text.split("|"):
                owner, _, attr = part.strip().partition("::")
                if (owner, attr) in RENAMED_QT_ENUMS:
                    findings.append(Finding(rel, 0, "renamed Qt enum", part.strip()))
    return findings


def scan_tree(root: Path, folders: list[str], extra_files: tuple[str, ...] = ()) -> list[Finding]:
    """Every .py, .ui and .qrc file under the given folders of the project (plus extra files)."""
    findings: list[Finding] = []
    paths: list[Path] = []
    for folder in folders:
        paths += sorted((root / folder).rglob("*"))
    paths += [root / f for f in extra_files if (root / f).exists()]
    for path in paths:
        if "__pycache__" in path.parts or not path.is_file():
            continue
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".py":
            findings += scan_python(path, rel)
        elif path.suffix == ".ui":
            findings += scan_ui(path, rel)
        elif path.suffix == ".qrc":
            findings.append(Finding(rel, 0, "compiled resources", "Qt 6 has no compiled resources: ship files"))
    return findings
