"""Make a project's XML safe to share and to open: no code, no credentials, no reach outside.

Runs on the XML before QGIS ever reads it (QgsProject.read() would already hold the code, and
QGIS 3.22–3.40 guard project code only by the user's ``qgis/enableMacros`` setting, which we
never change). The *whole* document is walked, every element wherever it sits, so a second copy
of a section, the alternative styles kept in a layer's style manager or a style inside a custom
property get the same treatment as the first copy:

- code: macros, Python expression functions, layer actions (shell, Python, open-URL), attribute-form
  init code (inline, file or URL), HTML and QML widgets in attribute forms; scripts in any HTML
  (map tips, layout HTML frames);
- references (with a ``Scope``, when opening): every attribute and text may point only inside the
  recipe folder or at the recipe's declared services (see references.py); layer sources follow an
  allow-list of providers; path-like data-defined properties (SVG, images, pictures, HTML URLs)
  may only be fixed values; anything else is neutralised and listed;
- credentials: found by meaning (see secrets.py), then removed from every text and attribute;
  ``authcfg`` ids become named placeholders ``${authcfg:<host>}`` that the receiver maps to one of
  their own authentication configurations, and that attach only to layers at that host.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET

from .. import safexml
from ..i18n import tr
from . import secrets
from .credentials import PLACEHOLDER, apply_auth_map, placeholder_host, scrub_credentials, scrub_text
from .findings import CODE_KINDS, Finding, SanitizeReport, Walk
from .findings import add_finding as _finding
from .htmlcheck import escape_substitutions, unsafe_html
from .references import Scope, file_source_problem, problem, urls_in
from .sources import virtual_sources

# the sanitiser's public names, also those that live in credentials.py / findings.py
__all__ = ["CODE_KINDS", "PLACEHOLDER", "Finding", "SanitizeReport", "apply_auth_map", "confine", "neutralise_code",
           "placeholder_host", "sanitize", "scrub_credentials", "scrub_text"]  # fmt: skip
REDACTED = secrets.REDACTED
SECRET_NAMES = secrets.SECRET_NAMES
FILE_PROVIDERS = {"ogr", "gdal", "mdal", "ept", "pdal", "copc"}
SERVICE_PROVIDERS = {"wms", "WFS", "wfs", "oapif", "OAPIF", "wcs", "arcgisfeatureserver", "arcgismapserver",
                     "vectortile", "xyzvectortiles", "cesiumtiles", "tiledscene", "quantizedmesh", "sensorthings"}  # fmt: skip
_HTML_TAGS = {"mapTip", "attributeEditorHtmlElement", "attributeEditorTextElement", "htmlTemplate"}
# form widgets that open what a field names (a file anywhere on disk, a web page)
_VIEWER_WIDGETS = {"WebView", "ExternalResource"}
_PATH_WORDS = ("file", "name", "path", "url", "source", "svg", "image", "picture", "html", "uri")


# --- code ---------------------------------------------------------------------------------------------


def neutralise_code(tree: ET.ElementTree, label: str = "") -> list[Finding]:
    """Strip every kind of project code wherever it sits. Returns what was found (nothing is ever run)."""
    root = tree.getroot()
    walk = Walk(root, label)
    findings: list[Finding] = []
    for node in list(root.iter()):
        where = walk.where(node)
        tag = node.tag
        has_text = any((n.text or "").strip() for n in node.iter())
        if tag in ("Macros", "ExpressionFunctions"):
            kind = "macro" if tag == "Macros" else "expression-function"
            if has_text:
                message = (
                    tr("The project contains Python macros; they were removed.")
                    if kind == "macro"
                    else tr("The project contains Python expression functions; they were removed.")
                )
                _finding(findings, kind, where, message)
            parent = walk.parent.get(id(node))
            if parent is not None:
                parent.remove(node)
        elif tag == "attributeactions" or (
            tag == "actionsetting"
            and getattr(walk.parent.get(id(node)), "tag", "attributeactions") != "attributeactions"
        ):
            actions = node.findall("actionsetting") if tag == "attributeactions" else [node]
            if actions:
                types = ", ".join(sorted({a.get("type", "?") for a in actions}))
                _finding(findings, "action", where,
                         tr("Layer '{layer}' has layer actions (types {types}); they were removed.").format(
                             layer=where, types=types))  # fmt: skip
            if tag == "attributeactions":
                for child in list(node):
                    node.remove(child)
            else:
                walk.parent[id(node)].remove(node)
        elif tag in ("attributeEditorHtmlElement", "attributeEditorQmlElement"):
            if has_text:
                _finding(findings, "form-html", where,
                         tr("Layer '{layer}' has an HTML or QML widget in its attribute form; its code was removed.").format(
                             layer=where))  # fmt: skip
            node.text = ""
            for child in list(node):
                node.remove(child)
        elif tag.startswith("editforminit"):
            findings += _neutralise_form_init(node, where)
    return _merge_form_init(findings)


def _neutralise_form_init(node: ET.Element, where: str) -> list[Finding]:
    value = (node.text or "").strip()
    neutral = "0" if node.tag in ("editforminitcodesource", "editforminituse") else ""
    node.text = neutral
    if value in ("", "0"):
        return []
    origin = tr("inline")
    if node.tag == "editforminitfilepath":
        origin = tr("from a URL") if "://" in value else tr("from a file")
    return [Finding("form-init", where, origin)]


def _merge_form_init(findings: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    origins: dict[str, list[str]] = {}
    for f in findings:
        if f.kind == "form-init":
            if f.where not in origins:
                origins[f.where] = []
                out.append(f)
            if f.message not in origins[f.where]:
                origins[f.where].append(f.message)
        else:
            out.append(f)
    for f in out:
        if f.kind == "form-init":
            origin = next((o for o in origins[f.where] if o != tr("inline")), tr("inline"))
            f.message = tr("Layer '{layer}' has attribute-form init code ({origin}); it was removed.").format(
                layer=f.where, origin=origin
            )
    return out


# --- references -----------------------------------------------------------------------------------------


def confine(tree: ET.ElementTree, scope: Scope, label: str = "") -> list[Finding]:
    """Neutralise every reference outside ``scope`` (recipe folder + declared services), wherever it is."""
    root = tree.getroot()
    walk = Walk(root, label)
    findings: list[Finding] = []
    for node in list(root.iter()):
        provider, source = node.find("provider"), node.find("datasource")
        if provider is not None and source is not None:
            _layer_source(node, (provider.text or "").strip(), source, scope, walk, findings)
    for node in root.iter():
        if walk.inert(node):
            continue
        where = walk.where(node)
        if node.tag == "Option" and node.get("type") == "Map" and node.get("name") == "properties":
            _dynamic_paths(node, where, findings)
        if node.tag == "editWidget" and node.get("type") in _VIEWER_WIDGETS:
            node.set("type", "TextEdit")  # shows the value; never opens what it names
            for child in list(node):
                node.remove(child)
            _finding(findings, "reference", where,
                     tr("Layer '{layer}': a form widget that opens the files or web pages named in the data now shows the text.").format(
                         layer=where))  # fmt: skip
        if node.tag == "generator" and node.get("type") == "online":  # QGIS's built-in terrain tiles from the web
            node.set("type", "flat")
            _finding(findings, "reference", where,
                     tr("A 3D view read its terrain from a web service that is not one of the recipe's; it is flat now.")
                     )  # fmt: skip
        if node.get("allowHtml") == "1":
            node.set("allowHtml", "0")
            _finding(findings, "reference", where,
                     tr("Layer '{layer}': HTML in labels was turned off (it can load images from anywhere).").format(
                         layer=where))  # fmt: skip
        for attr, value in list(node.attrib.items()):
            if attr.startswith("xmlns"):
                continue
            reason = problem(value, scope) or _html_problem(node, attr, value) or _embedded_problem(value, scope)
            if reason:
                node.set(attr, "")
                _reference_finding(findings, where, reason)
            elif attr == "html" and "[%" in value:
                node.set(attr, escape_substitutions(value))
        if node.text and node.text.strip():
            reason = problem(node.text, scope) or _html_problem(node, "", node.text)
            if reason:
                node.text = ""
                _reference_finding(findings, where, reason)
            elif node.tag in _HTML_TAGS and "[%" in node.text:
                node.text = escape_substitutions(node.text)
    return findings


def _reference_finding(findings: list[Finding], where: str, reason: str) -> None:
    _finding(findings, "reference", where,
             tr("'{where}': a value pointing outside the recipe ({reason}) was removed.").format(where=where, reason=reason))  # fmt: skip


def _embedded_problem(value: str, scope: Scope) -> str:
    """A picture embedded in a style (``base64:``): an SVG in it is untrusted XML like any other, and may not
    load anything from outside either."""
    if not value.startswith("base64:") or len(value) > 8 * 1024**2:
        return ""
    try:
        data = base64.b64decode(value[7:], validate=False)
    except (ValueError, binascii.Error):
        return tr("an embedded picture that cannot be decoded")
    if not data.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \t\r\n").startswith(b"<"):
        return ""  # PNG, JPEG...: pixels only
    try:
        svg = safexml.parse(data, tr("embedded picture"))
    except safexml.XmlError as err:
        return err.message
    for node in svg.iter():  # what an SVG renderer loads: href/src and url(...) in styles, not metadata
        for attr, text in node.attrib.items():
            local = attr.rsplit(":", 1)[-1]
            if local in ("href", "src") or (local == "style" and "url(" in text) or node.tag.endswith("style"):
                reason = problem(text, scope)
                if reason:
                    return tr("an embedded picture that loads {reason}").format(reason=reason)
        if node.tag.rsplit(":", 1)[-1] == "style" and problem(node.text or "", scope):
            return tr("an embedded picture that loads {reason}").format(reason=problem(node.text or "", scope))
    return ""


def _html_problem(node: ET.Element, attr: str, value: str) -> str:
    if "<" not in value:
        return ""
    if (attr == "html" or node.tag in _HTML_TAGS) or "script" in value.lower() or "javascript:" in value.lower():
        return unsafe_html(value)
    return ""


def _layer_source(node, provider: str, source: ET.Element, scope: Scope, walk: Walk, findings) -> None:
    value = source.text or ""
    if not value.strip():
        return
    if provider in FILE_PROVIDERS:
        reason = file_source_problem(value, scope)
    elif provider in SERVICE_PROVIDERS or provider == "memory":
        reason = problem(value, scope)
        if not reason and provider != "memory" and not urls_in(value, 1):
            reason = tr("a {provider} source without a service address").format(provider=provider)
    elif provider == "virtual":
        reason = _virtual_problem(value, scope)
    else:
        reason = tr("a {provider} connection, which is neither a file of the recipe nor one of its services").format(
            provider=provider or "?"
        )
    if reason:
        source.text = ""
        where = walk.where(node)
        _finding(findings, "reference", where,
                 tr("Layer '{layer}' read {reason}; its source was removed.").format(layer=where, reason=reason))  # fmt: skip


def _virtual_problem(value: str, scope: Scope) -> str:
    """A virtual layer: every source it reads itself must pass like a layer of that provider would;
    its query may not call functions that read outside (checked on the whole value)."""
    reason = problem(value, scope)
    for provider, source, _name, _encoding in virtual_sources(value)[1]:
        if reason:
            break
        if provider in FILE_PROVIDERS:
            reason = file_source_problem(source, scope)
        elif provider in SERVICE_PROVIDERS:
            reason = problem(source, scope) or (
                "" if urls_in(source, 1) else tr("a virtual layer that reads its own sources")
            )
        else:
            reason = tr("a virtual layer that reads its own sources")
    return reason


def _dynamic_paths(properties: ET.Element, where: str, findings: list[Finding]) -> None:
    """Data-defined overrides of paths and URLs come from fields or expressions (the recipe's data):
    only fixed values (checked like any other) may stay."""
    for prop in properties.findall("Option"):
        key = (prop.get("name") or "").lower()
        if not any(word in key for word in _PATH_WORDS):
            continue
        values = {o.get("name"): o for o in prop.findall("Option")}
        active, kind = values.get("active"), values.get("type")
        if active is None or active.get("value") != "true" or kind is None or kind.get("value") not in ("2", "3"):
            continue
        active.set("value", "false")
        _finding(findings, "reference", where,
                 tr("Layer '{layer}': the {property} was computed from data or an expression; that override was turned off.").format(
                     layer=where, property=prop.get("name")))  # fmt: skip


def sanitize(tree: ET.ElementTree, scope: Scope | None = None, label: str = "") -> SanitizeReport:
    """In place: code first, then (with a scope) references, then credentials. ``label`` names the document."""
    code = neutralise_code(tree, label)
    outside = confine(tree, scope, label) if scope is not None else []
    creds = scrub_credentials(tree, label)
    return SanitizeReport(code + outside + creds.findings, creds.placeholders)
