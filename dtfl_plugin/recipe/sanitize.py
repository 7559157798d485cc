"""Make a project's XML safe to share and to open: no code, no credentials.

Runs on the XML before QGIS ever reads it (QgsProject.read() would already hold the code, and
QGIS 3.22–3.40 guard project code only by the user's ``qgis/enableMacros`` setting, which we
never change). Four kinds of project code are neutralised: macros, Python expression functions
(stored in projects since QGIS 3.40), layer actions (shell, Python, open-URL), attribute-form
init code (inline, from a file or from a URL). Credentials are removed from every text and
attribute of the document: passwords, tokens and API keys (also URL-encoded inside ``url=``),
user:password in URLs, ``Authorization`` headers; ``authcfg`` ids become named placeholders
``${authcfg:<host>}`` (named after the service's host) that the receiver maps to one of their own authentication configurations.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..i18n import tr

REDACTED = "__REMOVED_BY_DTFL__"
SECRET_NAMES = (
    "password|passwd|pwd|pass|token|access_token|accesstoken|id_token|refresh_token|api_key|apikey|api-key"
    "|x-api-key|key|secret|client_secret|sig|signature|sessionid|session_id|jwt|auth_token|bearer"
)
# name=value in URIs and query strings; '=' and '&' may be percent-encoded inside a url= parameter
_KEY_VALUE = re.compile(
    r"(?P<pre>(?:^|[?&;\s'\"]|%26|%3F)(?:http-header:)?(?P<name>" + SECRET_NAMES + r"))"
    r"(?P<eq>=|%3D)(?P<q>'?)(?P<value>(?:(?!%26)[^&'\"\s])*)(?P=q)",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^/@:\s'\"]*):(?P<pw>[^/@\s'\"]+)@", re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(?P<pre>(?:http-header:)?authorization(?:=|%3D|:\s*))(?P<value>[^&'\"\n]+)", re.IGNORECASE)
_JSON_SECRET = re.compile(r'(?P<pre>"(?:' + SECRET_NAMES + r')"\s*:\s*")(?P<value>[^"]*)"', re.IGNORECASE)
_AUTHCFG = re.compile(r"(?P<pre>authcfg(?:=|%3D|='))(?P<value>[A-Za-z0-9]{7})\b")
_HOST = re.compile(r"[a-z][a-z0-9+.-]*://(?:[^/@\s'\"]*@)?([A-Za-z0-9.-]+)", re.IGNORECASE)
PLACEHOLDER = re.compile(r"\$\{authcfg:([A-Za-z0-9_.-]+)\}")


@dataclass
class Finding:
    kind: str  # macro | expression-function | action | form-init | credential | authcfg
    where: str  # layer name or project element
    message: str  # translated, names the problem; never contains the secret


@dataclass
class SanitizeReport:
    findings: list[Finding]
    placeholders: dict[str, str]  # placeholder name -> where it is needed

    @property
    def code_found(self) -> bool:
        return any(f.kind in ("macro", "expression-function", "action", "form-init") for f in self.findings)


def scrub_text(text: str, auth_names: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Remove credentials from one string; returns (clean text, kinds found)."""
    if not text:
        return text, []
    found: list[str] = []

    def _kv(match: re.Match) -> str:
        if not match.group("value") or match.group("value") == REDACTED:
            return match.group(0)
        found.append(match.group("name").lower())
        q = match.group("q")
        return f"{match.group('pre')}{match.group('eq')}{q}{REDACTED}{q}"

    def _userinfo(match: re.Match) -> str:
        if match.group("pw") == REDACTED:
            return match.group(0)
        found.append("url-password")
        return f"{match.group('scheme')}{match.group('user')}:{REDACTED}@"

    def _header(match: re.Match) -> str:
        if match.group("value").strip() == REDACTED:
            return match.group(0)
        found.append("authorization")
        return f"{match.group('pre')}{REDACTED}"

    def _json(match: re.Match) -> str:
        if not match.group("value") or match.group("value") == REDACTED:
            return match.group(0)
        found.append("json-secret")
        return f'{match.group("pre")}{REDACTED}"'

    host_match = _HOST.search(text)
    host = host_match.group(1).lower() if host_match else ""

    def _authcfg(match: re.Match) -> str:
        # named after the service's host, so the receiver's mapping (remembered in settings) means the
        # same server in every recipe; an id without a URL beside it keeps a numbered name
        found.append("authcfg")
        if auth_names is None:
            return f"{match.group('pre')}${{authcfg:{host or 'auth'}}}"
        if match.group("value") not in auth_names:
            base = host or "auth"
            taken = set(auth_names.values())
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}-{n}"
            auth_names[match.group("value")] = name
        return f"{match.group('pre')}${{authcfg:{auth_names[match.group('value')]}}}"

    text = _USERINFO.sub(_userinfo, text)
    text = _AUTH_HEADER.sub(_header, text)
    text = _KEY_VALUE.sub(_kv, text)
    text = _JSON_SECRET.sub(_json, text)
    text = _AUTHCFG.sub(_authcfg, text)
    return text, found


def _layer_names(root: ET.Element) -> dict[int, str]:
    names = {}
    for layer in root.iter("maplayer"):
        name = layer.findtext("layername", "") or layer.findtext("id", "")
        for node in layer.iter():
            names[id(node)] = name
    return names


def scrub_credentials(tree: ET.ElementTree) -> SanitizeReport:
    root = tree.getroot()
    where = _layer_names(root)
    auth_names: dict[str, str] = {}
    findings: list[Finding] = []
    placeholders: dict[str, str] = {}
    for node in root.iter():
        label = where.get(id(node), tr("project"))
        kinds: list[str] = []
        if node.text:
            node.text, found = scrub_text(node.text, auth_names)
            kinds += found
        for attr, value in list(node.attrib.items()):
            clean, found = scrub_text(value, auth_names)
            if found:
                node.set(attr, clean)
                kinds += found
        for kind in dict.fromkeys(kinds):
            if kind == "authcfg":
                findings.append(
                    Finding(
                        "authcfg",
                        label,
                        tr(
                            "Layer '{layer}': its authentication configuration was replaced by a named placeholder."
                        ).format(layer=label),
                    )
                )
            else:
                findings.append(
                    Finding(
                        "credential",
                        label,
                        tr("Layer '{layer}': a credential ({kind}) was removed.").format(layer=label, kind=kind),
                    )
                )
        if "authcfg" in kinds:
            for name in PLACEHOLDER.findall(node.text or "") + [
                n for v in node.attrib.values() for n in PLACEHOLDER.findall(v)
            ]:
                placeholders.setdefault(name, label)
    return SanitizeReport(findings, placeholders)


def neutralise_code(tree: ET.ElementTree) -> list[Finding]:
    """Strip the four kinds of project code. Returns what was found (nothing is ever run)."""
    root = tree.getroot()
    findings: list[Finding] = []
    props = root.find("properties")
    if props is not None:
        macros = props.find("Macros")
        if macros is not None and any((n.text or "").strip() for n in macros.iter()):
            findings.append(
                Finding("macro", tr("project"), tr("The project contains Python macros; they were removed."))
            )
        if macros is not None:
            props.remove(macros)
        functions = props.find("ExpressionFunctions")
        if functions is not None and any((n.text or "").strip() for n in functions.iter()):
            findings.append(
                Finding(
                    "expression-function",
                    tr("project"),
                    tr("The project contains Python expression functions; they were removed."),
                )
            )
        if functions is not None:
            props.remove(functions)
    # a QML style file is a single layer whose root is <qgis>: it carries actions and form code too
    targets = list(root.iter("maplayer")) + ([root] if root.find("projectlayers") is None else [])
    for layer in targets:
        name = layer.findtext("layername", "") or layer.findtext("id", "") or tr("style")
        actions = layer.find("attributeactions")
        if actions is not None:
            settings = actions.findall("actionsetting")
            if settings:
                kinds = sorted({s.get("type", "?") for s in settings})
                findings.append(
                    Finding(
                        "action",
                        name,
                        tr("Layer '{layer}' has {n} layer action(s) (types {types}); they were removed.").format(
                            layer=name, n=len(settings), types=", ".join(kinds)
                        ),
                    )
                )
            for child in list(actions):
                actions.remove(child)
        findings += _neutralise_form_init(layer, name)
    return findings


def _neutralise_form_init(layer: ET.Element, name: str) -> list[Finding]:
    code = (layer.findtext("editforminitcode") or "").strip()
    function = (layer.findtext("editforminit") or "").strip()
    path = (layer.findtext("editforminitfilepath") or "").strip()
    source = (layer.findtext("editforminitcodesource") or "0").strip()
    use = (layer.findtext("editforminituse") or "0").strip()
    found = bool(code or function or path) or source not in ("", "0") or use not in ("", "0")
    for tag, value in (
        ("editforminitcode", ""),
        ("editforminit", ""),
        ("editforminitfilepath", ""),
        ("editforminitcodesource", "0"),
        ("editforminituse", "0"),
    ):
        node = layer.find(tag)
        if node is not None:
            node.text = value
    if not found:
        return []
    origin = tr("from a URL") if "://" in path else (tr("from a file") if path else tr("inline"))
    return [
        Finding(
            "form-init",
            name,
            tr("Layer '{layer}' has attribute-form init code ({origin}); it was removed.").format(
                layer=name, origin=origin
            ),
        )
    ]


def sanitize(tree: ET.ElementTree) -> SanitizeReport:
    """Both steps, in place: code first, then credentials."""
    code = neutralise_code(tree)
    creds = scrub_credentials(tree)
    return SanitizeReport(code + creds.findings, creds.placeholders)


def apply_auth_map(tree: ET.ElementTree, mapping: dict[str, str]) -> list[str]:
    """Replace ``${authcfg:name}`` placeholders with the receiver's authcfg ids; returns unmapped names."""
    missing: list[str] = []

    def _sub(text: str) -> str:
        def repl(match: re.Match) -> str:
            target = mapping.get(match.group(1), "")
            if not target:
                missing.append(match.group(1))
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
