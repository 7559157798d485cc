"""Findings of the sanitiser and the one walk over a document they are made in (parents, layer names)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..i18n import tr

CODE_KINDS = ("macro", "expression-function", "action", "form-init", "form-html")
_INERT_TAGS = {"projectMetadata", "resourceMetadata", "DTFL"}
_INERT_NAMES = {"dtfl/source"}


@dataclass
class Finding:
    kind: str  # macro | expression-function | action | form-init | form-html | reference | credential | authcfg ...
    where: str  # layer name or project element
    message: str  # translated, names the problem; never contains the secret


@dataclass
class SanitizeReport:
    findings: list[Finding]
    placeholders: dict[str, str] = field(default_factory=dict)  # placeholder name -> where it is needed

    @property
    def code_found(self) -> bool:
        return any(f.kind in CODE_KINDS for f in self.findings)


class Walk:
    """Parents and layer names of every element, computed once."""

    def __init__(self, root: ET.Element, label: str = "") -> None:
        self.root = root
        self.default = label or tr("project")
        self.parent: dict[int, ET.Element] = {}
        self.label: dict[int, str] = {}
        self._visit(root, self.default, False)

    def _visit(self, node: ET.Element, label: str, inert: bool) -> None:
        stack = [(node, label)]
        while stack:  # iterative: a hostile document may nest deeper than Python's recursion limit
            current, name = stack.pop()
            if current.tag in ("maplayer", "qgis") and (current.findtext("layername") or current.findtext("id")):
                name = current.findtext("layername") or current.findtext("id") or name
            self.label[id(current)] = name
            for child in current:
                self.parent[id(child)] = current
                stack.append((child, name))

    def where(self, node: ET.Element) -> str:
        return self.label.get(id(node), self.default)

    def inert(self, node: ET.Element) -> bool:
        current = node
        while current is not None:
            if current.tag in _INERT_TAGS or current.get("name") in _INERT_NAMES:
                return True
            current = self.parent.get(id(current))
        return False


def add_finding(findings: list[Finding], kind: str, where: str, message: str) -> None:
    if not any(f.kind == kind and f.where == where and f.message == message for f in findings):
        findings.append(Finding(kind, where, message))
