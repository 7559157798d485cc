"""Credentials in a project: removed by meaning and by pattern; ``authcfg`` ids become named placeholders
``${authcfg:<host>}`` the receiver maps to their own configurations, attached only at that host."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from ..i18n import tr
from . import secrets
from .findings import Finding, SanitizeReport, Walk, add_finding
from .references import urls_in

_AUTHCFG = re.compile(r"(?P<pre>authcfg(?:=|%3D|='))(?P<value>[A-Za-z0-9]{7})\b")
PLACEHOLDER = re.compile(r"\$\{authcfg:([A-Za-z0-9_.-]{1,253})\}")


def _host(text: str) -> str:
    for scheme, url in urls_in(text, 1001):
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
    walk = Walk(root, label)
    auth_names: dict[str, str] = {}
    findings: list[Finding] = []
    placeholders: dict[str, str] = {}
    by_meaning = secrets.document_secrets(root)
    for node, name in secrets.named_secrets(root):
        add_finding(findings, "credential", walk.where(node),
                 tr("'{where}': the value of '{name}' was removed (its name says it is a secret).").format(
                     where=walk.where(node), name=name))  # fmt: skip
    if secrets.personal_attributes(root):
        add_finding(
            findings, "credential", tr("project"), tr("The name of the person who saved the project was removed.")
        )
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
            add_finding(findings, "authcfg" if kind == "authcfg" else "credential", label,
                     message.format(layer=label, kind=kind))  # fmt: skip
        if "authcfg" in kinds:
            values = [node.text or ""] + list(node.attrib.values())
            for name in [n for v in values for n in PLACEHOLDER.findall(v)]:
                placeholders.setdefault(name, label)
    return SanitizeReport(findings, placeholders)


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
        hosts = {_url_host(url) for scheme, url in urls_in(text, 1001)}
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
