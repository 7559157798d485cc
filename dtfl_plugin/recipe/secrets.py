"""Secrets found by meaning, not by pattern.

- Connection strings are parsed by QGIS's own provider URI parsers (``QgsProviderRegistry.decodeUri``
  and ``QgsDataSourceUri`` in both its key='value' and its URL-query forms), so a password with
  spaces, quotes or ``&`` is found whole; the value found is then removed from every attribute and
  text of the document, in every form it can be written (quoted, escaped, percent- or JSON-encoded).
- Project and layer variables, and any ``name``/``key`` = ``value`` option, whose *name* says what
  it holds (api_key, token, password, secret...) lose their value.
- The sender's absolute folder paths become relative (to the project folder) or bare file names.
- A second, pattern-based net (``scrub_text``) catches secrets in free text: URL userinfo, query
  parameters, ``Authorization`` headers, JSON members. Its regular expressions are linear: every
  repetition is bounded or cannot overlap the next one, so one very long token cannot make them backtrack.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path, PureWindowsPath
from urllib.parse import parse_qsl, quote, quote_plus, urlsplit

from ..provenance.layer_props import split_source

REDACTED = "__REMOVED_BY_DTFL__"
SECRET_NAMES = (
    "password|passwd|pwd|pass|token|access_token|accesstoken|id_token|refresh_token|api_key|apikey|api-key"
    "|x-api-key|key|secret|client_secret|sig|signature|sessionid|session_id|jwt|auth_token|bearer"
)
# words that, in a variable or option name, say it holds a secret ("key" alone is too common there)
SECRET_WORDS = {
    "password", "passwd", "pwd", "pass", "passphrase", "token", "secret", "apikey", "credential",
    "credentials", "bearer", "jwt", "cookie", "sessionid", "authorization", "privatekey", "accesskey",
}  # fmt: skip
_WORD_PAIRS = {("api", "key"), ("access", "key"), ("private", "key"), ("secret", "key"), ("session", "id")}
_NAME_SET = set(SECRET_NAMES.split("|"))  # a regex alternation, not a layer source

_VALUE = r"(?P<q>'?)(?P<value>(?:(?!%26)[^&'\"\s])*)(?P=q)"
_KEY_VALUE = re.compile(
    r"(?P<pre>(?:^|[?&;\s'\"]|%26|%3F)(?:http-header:)?(?P<name>" + SECRET_NAMES + r"))(?P<eq>=|%3D)" + _VALUE,
    re.IGNORECASE,
)
# scheme of at most 32 characters: an unbounded [a-z0-9+.-]* before "://" backtracks quadratically on a long word
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.-]{0,31}://)(?P<user>[^/@:\s'\"]{0,256}):(?P<pw>[^/@\s'\"]+)@", re.I
)
_AUTH_HEADER = re.compile(r"(?P<pre>(?:http-header:)?authorization(?:=|%3D|:\s*))(?P<value>[^&'\"\n]+)", re.IGNORECASE)
_JSON_SECRET = re.compile(r'(?P<pre>"(?:' + SECRET_NAMES + r')"\s*:\s*")(?P<value>[^"]*)"', re.IGNORECASE)


def secret_name(name: str) -> bool:
    """Whether a variable/option name says it holds a secret (``api_key``, ``wfsToken``, ``db-password``)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name or "")
    words = [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]
    if not words:
        return False
    if any(w in SECRET_WORDS for w in words) or "".join(words) in SECRET_WORDS | {"apikey", "authtoken"}:
        return True
    return any(pair in _WORD_PAIRS for pair in zip(words, words[1:]))


def scrub_patterns(text: str) -> tuple[str, list[str]]:
    """The pattern net: userinfo, secret query parameters, Authorization headers, JSON members."""
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

    if "://" in text and "@" in text:
        text = _USERINFO.sub(_userinfo, text)
    if "uthorization" in text or "UTHORIZATION" in text:
        text = _AUTH_HEADER.sub(_header, text)
    if "=" in text or "%3D" in text or "%3d" in text:
        text = _KEY_VALUE.sub(_kv, text)
    if '"' in text:
        text = _JSON_SECRET.sub(_json, text)
    return text, found


def uri_secrets(provider: str, datasource: str) -> set[str]:
    """Secret values in a layer's data source, as QGIS's own parsers read them."""
    found: set[str] = set()
    if not datasource:
        return found
    params: dict[str, str] = {}
    try:
        from qgis.core import QgsDataSourceUri, QgsProviderRegistry
    except ImportError:  # pragma: no cover - core logic also runs without QGIS in tooling
        QgsDataSourceUri = QgsProviderRegistry = None  # noqa: N806
    if QgsProviderRegistry is not None:
        try:
            decoded = QgsProviderRegistry.instance().decodeUri(provider, datasource) or {}
        except Exception:  # noqa: BLE001 - a provider's parser on hostile text: any failure means "nothing found"
            decoded = {}
        params.update({str(k): str(v) for k, v in decoded.items() if isinstance(v, str)})
        for uri in (QgsDataSourceUri(datasource), _encoded(QgsDataSourceUri, datasource)):
            if uri.password():
                found.add(uri.password())
            # parameterKeys() is QGIS 3.26+: on older versions ask for the names that mean a secret
            keys = uri.parameterKeys() if hasattr(uri, "parameterKeys") else [*_NAME_SET, "url", "passphrase"]
            for key in keys:
                if uri.hasParam(key):
                    params.setdefault(key, uri.param(key))
    for key, value in params.items():
        if value and (key.lower() in _NAME_SET or secret_name(key)):
            found.add(value)
    url = params.get("url", "")
    for candidate in [url] + [u for u in re.findall(r"https?://[^\s'\"|]+", datasource[:100_000])]:
        try:
            parts = urlsplit(candidate)
        except ValueError:
            continue
        if parts.password:
            found.add(parts.password)
        for key, value in parse_qsl(parts.query, keep_blank_values=False):
            if value and (key.lower() in _NAME_SET or secret_name(key)):
                found.add(value)
    found.discard(REDACTED)
    return {s for s in found if s.strip()}


def _encoded(cls, datasource: str):
    uri = cls()
    if "=" in datasource and "&" in datasource:
        uri.setEncodedUri(datasource)
    return uri


def _forms(secret: str) -> list[str]:
    escaped = secret.replace("\\", "\\\\").replace("'", "\\'")
    forms = {secret, escaped, quote(secret, safe=""), quote_plus(secret, safe=""), json.dumps(secret)[1:-1]}
    forms |= {quote(f, safe="") for f in list(forms)}  # a password inside url=... is encoded twice
    return sorted(forms, key=len, reverse=True)


def remove_values(text: str, secrets: set[str]) -> tuple[str, bool]:
    """``text`` with every form of every secret replaced. Short secrets only where a value starts
    (after ``=``, a quote or ``:``), long ones anywhere."""
    changed = False
    for secret in sorted(secrets, key=len, reverse=True):
        for form in _forms(secret):
            if form not in text:
                continue
            if len(secret) >= 6:
                text, changed = text.replace(form, REDACTED), True
                continue
            for pre in ("='", "=", "%3D", ":", '"'):
                for post in ("'", "&", " ", "@", '"', "%26", ""):
                    needle = pre + form + post
                    if needle in text and (post or text.endswith(needle)):
                        text, changed = text.replace(needle, pre + REDACTED + post), True
    return text, changed


def document_secrets(root: ET.Element) -> set[str]:
    """Every secret value the provider parsers find in the layers of a project or style (every copy)."""
    found: set[str] = set()
    for layer in root.iter():
        provider = layer.find("provider")
        source = layer.find("datasource")
        if provider is not None and source is not None:
            found |= uri_secrets((provider.text or "").strip(), source.text or "")
        if layer.get("providerKey") and layer.get("source"):
            found |= uri_secrets(layer.get("providerKey", ""), layer.get("source", ""))
    return found


def named_secrets(root: ET.Element) -> list[tuple[ET.Element, str]]:
    """Values whose name says they are secret; each is replaced. Returns (element, name) per value removed.

    Covers project variables (``variableNames``/``variableValues`` lists), layer variables (the same in
    custom properties, old and 3.20+ layouts) and any ``<Option name=.. value=..>`` / ``<property key=..>``."""
    removed: list[tuple[ET.Element, str]] = []
    for node in root.iter():
        name = node.get("name") or node.get("key") or ""
        if name and secret_name(name):
            if node.get("value") not in (None, "", REDACTED):
                node.set("value", REDACTED)
                removed.append((node, name))
            elif (node.text or "").strip() and node.text != REDACTED and len(node) == 0:
                node.text = REDACTED
                removed.append((node, name))
        names = _list_under(node, "variableNames")
        values_node = _child_named(node, "variableValues")
        if names and values_node is not None:
            for index, item in enumerate(_items(values_node)):
                if index < len(names) and secret_name(names[index]):
                    if item.get("value") is not None:
                        item.set("value", REDACTED)
                    else:
                        item.text = REDACTED
                    removed.append((node, names[index]))
    return removed


def _child_named(node: ET.Element, name: str) -> ET.Element | None:
    for child in node:
        if child.tag == name or child.get("name") == name or child.get("key") == name:
            return child
    return None


def _items(node: ET.Element) -> list[ET.Element]:
    return [c for c in node if c.tag in ("value", "Option")]


def _list_under(node: ET.Element, name: str) -> list[str]:
    child = _child_named(node, name)
    if child is None:
        return []
    return [(c.get("value") if c.get("value") is not None else (c.text or "")) for c in _items(child)]


def relative_paths(data, base: Path):
    """``data`` (JSON-like) with every absolute local path made relative to ``base`` when under it, else
    reduced to its file name: the sender's folder layout (user name, drive, share) does not travel."""
    if isinstance(data, dict):
        return {k: relative_paths(v, base) for k, v in data.items()}
    if isinstance(data, list):
        return [relative_paths(v, base) for v in data]
    if isinstance(data, str) and _is_local_absolute(data):
        head, tail = split_source(data)
        try:
            rel = Path(head).resolve().relative_to(base.resolve()).as_posix()
        except (ValueError, OSError):
            rel = PureWindowsPath(head).name if "\\" in head else Path(head).name
        return rel + (f"|{tail}" if tail else "")
    return data


def _is_local_absolute(text: str) -> bool:
    if "://" in text or "\n" in text or len(text) > 4096:
        return False
    return text.startswith("/") or text.startswith("\\\\") or (len(text) > 2 and text[1] == ":" and text[2] in "\\/")


def personal_attributes(root: ET.Element) -> bool:
    """The sender's account name on the project root (QGIS writes saveUser / saveUserFull)."""
    changed = False
    for attr in ("saveUser", "saveUserFull"):
        if root.get(attr):
            root.set(attr, "")
            changed = True
    return changed


def relative_json(text: str, base: Path) -> str:
    """A JSON document (ro-crate-metadata.json) with the sender's absolute paths made relative (see relative_paths)."""
    return json.dumps(relative_paths(json.loads(text), base), ensure_ascii=False, indent=1)
