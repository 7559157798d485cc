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

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..i18n import tr
from . import secrets
from .htmlcheck import unsafe_html
from .references import Scope, file_source_problem, problem, urls_in
from .sources import virtual_sources

REDACTED = secrets.REDACTED
SECRET_NAMES = secrets.SECRET_NAMES
_AUTHCFG = re.compile(r"(?P<pre>authcfg(?:=|%3D|='))(?P<value>[A-Za-z0-9]{7})\b")
PLACEHOLDER = re.compile(r"\$\{authcfg:([A-Za-z0-9_.-]{1,253})\}")
CODE_KINDS = ("macro", "expression-function", "action", "form-init", "form-html")
FILE_PROVIDERS = {"ogr", "gdal", "mdal", "ept", "pdal", "copc"}
SERVICE_PROVIDERS = {"wms", "WFS", "wfs", "oapif", "OAPIF", "wcs", "arcgisfeatureserver", "arcgismapserver",
                     "vectortile", "xyzvectortiles", "cesiumtiles", "tiledscene", "quantizedmesh", "sensorthings"}  # fmt: skip
# inert: shown to the user, never loaded (metadata links) or DTFL's own provenance text
_INERT_TAGS = {"projectMetadata", "resourceMetadata", "DTFL"}
_INERT_NAMES = {"dtfl/source"}
_HTML_TAGS = {"mapTip", "attributeEditorHtmlElement", "attributeEditorTextElement", "htmlTemplate"}
_PATH_WORDS = ("file", "name", "path", "url", "source", "svg", "image", "picture", "html", "uri")


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


class _Walk:
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


def _finding(findings: list[Finding], kind: str, where: str, message: str) -> None:
    if not any(f.kind == kind and f.where == where and f.message == message for f in findings):
        findings.append(Finding(kind, where, message))


# --- code ---------------------------------------------------------------------------------------------


def neutralise_code(tree: ET.ElementTree, label: str = "") -> list[Finding]:
    """Strip every kind of project code wherever it sits. Returns what was found (nothing is ever run)."""
    root = tree.getroot()
    walk = _Walk(root, label)
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
    walk = _Walk(root, label)
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
        if node.get("allowHtml") == "1":
            node.set("allowHtml", "0")
            _finding(findings, "reference", where,
                     tr("Layer '{layer}': HTML in labels was turned off (it can load images from anywhere).").format(
                         layer=where))  # fmt: skip
        for attr, value in list(node.attrib.items()):
            if attr.startswith("xmlns"):
                continue
            reason = problem(value, scope) or _html_problem(node, attr, value)
            if reason:
                node.set(attr, "")
                _reference_finding(findings, where, reason)
        if node.text and node.text.strip():
            reason = problem(node.text, scope) or _html_problem(node, "", node.text)
            if reason:
                node.text = ""
                _reference_finding(findings, where, reason)
    return findings


def _reference_finding(findings: list[Finding], where: str, reason: str) -> None:
    _finding(findings, "reference", where,
             tr("'{where}': a value pointing outside the recipe ({reason}) was removed.").format(where=where, reason=reason))  # fmt: skip


def _html_problem(node: ET.Element, attr: str, value: str) -> str:
    if "<" not in value:
        return ""
    if (attr == "html" or node.tag in _HTML_TAGS) or "script" in value.lower() or "javascript:" in value.lower():
        return unsafe_html(value)
    return ""


def _layer_source(node, provider: str, source: ET.Element, scope: Scope, walk: _Walk, findings) -> None:
    value = source.text or ""
    if not value.strip():
        return
    if provider in FILE_PROVIDERS:
        reason = file_source_problem(value, scope)
    elif provider in SERVICE_PROVIDERS or provider == "memory":
        reason = problem(value, scope)
        if not reason and provider != "memory" and not urls_in(value):
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
                "" if urls_in(source) else tr("a virtual layer that reads its own sources")
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


# --- credentials ----------------------------------------------------------------------------------------


def _host(text: str) -> str:
    for scheme, url in urls_in(text):
        if scheme in ("http", "https"):
            try:
                return (urlsplit(url).hostname or "").lower()
            except ValueError:
                return ""
    return ""


def _url_host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def scrub_text(text: str, auth_names: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Remove credentials from one string by pattern (see secrets.py); returns (clean text, kinds found)."""
    if not text:
        return text, []
    text, found = secrets.scrub_patterns(text)
    if "authcfg" not in text:
        return text, found
    host = _host(text)

    def _authcfg(match: re.Match) -> str:
        # named after the service's host, so the receiver's mapping (remembered in settings) means the
        # same server in every recipe, and attaches only to layers at that host (apply_auth_map)
        found.append("authcfg")
        base = host or "auth"
        if auth_names is None:
            return f"{match.group('pre')}${{authcfg:{base}}}"
        if match.group("value") not in auth_names:
            taken = set(auth_names.values())
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            auth_names[match.group("value")] = name
        return f"{match.group('pre')}${{authcfg:{auth_names[match.group('value')]}}}"

    return _AUTHCFG.sub(_authcfg, text), found


def scrub_credentials(tree: ET.ElementTree, label: str = "") -> SanitizeReport:
    root = tree.getroot()
    walk = _Walk(root, label)
    auth_names: dict[str, str] = {}
    findings: list[Finding] = []
    placeholders: dict[str, str] = {}
    by_meaning = secrets.document_secrets(root)
    for node, name in secrets.named_secrets(root):
        _finding(findings, "credential", walk.where(node),
                 tr("'{where}': the value of '{name}' was removed (its name says it is a secret).").format(
                     where=walk.where(node), name=name))  # fmt: skip
    if secrets.personal_attributes(root):
        _finding(findings, "credential", tr("project"), tr("The name of the person who saved the project was removed."))
    for node in root.iter():
        label = walk.where(node)
        kinds: list[str] = []
        if node.text:
            node.text, changed = secrets.remove_values(node.text, by_meaning)
            node.text, found = scrub_text(node.text, auth_names)
            kinds += found + (["password"] if changed else [])
        for attr, value in list(node.attrib.items()):
            clean, changed = secrets.remove_values(value, by_meaning)
            clean, found = scrub_text(clean, auth_names)
            if found or changed:
                node.set(attr, clean)
                kinds += found + (["password"] if changed else [])
        for kind in dict.fromkeys(kinds):
            if kind == "authcfg":
                message = tr("Layer '{layer}': its authentication configuration was replaced by a named placeholder.")
            else:
                message = tr("Layer '{layer}': a credential ({kind}) was removed.")
            _finding(findings, "authcfg" if kind == "authcfg" else "credential", label,
                     message.format(layer=label, kind=kind))  # fmt: skip
        if "authcfg" in kinds:
            values = [node.text or ""] + list(node.attrib.values())
            for name in [n for v in values for n in PLACEHOLDER.findall(v)]:
                placeholders.setdefault(name, label)
    return SanitizeReport(findings, placeholders)


def sanitize(tree: ET.ElementTree, scope: Scope | None = None, label: str = "") -> SanitizeReport:
    """In place: code first, then (with a scope) references, then credentials. ``label`` names the document."""
    code = neutralise_code(tree, label)
    outside = confine(tree, scope, label) if scope is not None else []
    creds = scrub_credentials(tree, label)
    return SanitizeReport(code + outside + creds.findings, creds.placeholders)


def placeholder_host(name: str) -> str:
    """The host a placeholder was made for (``pdok.nl-2`` -> ``pdok.nl``)."""
    base, _, number = name.rpartition("-")
    return base if base and number.isdigit() else name


def apply_auth_map(tree: ET.ElementTree, mapping: dict[str, str]) -> list[str]:
    """Replace ``${authcfg:name}`` placeholders with the receiver's authcfg ids; returns unmapped names.

    A credential is bound to the host it was mapped for: a placeholder attaches only where the same
    value names a URL at that host. Elsewhere it is removed (the layer then asks for nothing)."""
    missing: list[str] = []

    def _sub(text: str) -> str:
        hosts = {_url_host(url) for scheme, url in urls_in(text)}
        host = hosts.pop() if len(hosts) == 1 else ""  # every URL of the value at one host, or none bound

        def repl(match: re.Match) -> str:
            name = match.group(1)
            if host != placeholder_host(name).lower():
                return ""  # bound to another host (or to none): never attach the receiver's credentials here
            target = mapping.get(name, "")
            if not target:
                missing.append(name)
                return match.group(0)
            return target

        return PLACEHOLDER.sub(repl, text)

    for node in tree.getroot().iter():
        if node.text and "${authcfg:" in node.text:
            node.text = _sub(node.text)
        for attr, value in list(node.attrib.items()):
            if "${authcfg:" in value:
                node.set(attr, _sub(value))
    return sorted(set(missing))
