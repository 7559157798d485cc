"""What a value in a recipe may point at: its own folder and the services it declares, nothing else.

An allow-list over references, applied to every attribute and text of a document (see
sanitize.py): a value is refused when it holds

- a URL (any scheme) that is not ``http(s)`` at the origin of one of the recipe's declared services;
- a GDAL virtual file system path (``/vsicurl/``, ``/vsis3/``, ``/vsizip/``...) or a GDAL/OGR
  connection prefix (``PG:``, ``WMS:``...) where a file is expected;
- an absolute path, a UNC path (``\\\\server\\share``, which on Windows sends the user's hash) or a
  ``..`` path that leaves the recipe folder;
- a call to an expression or SQL function that reads files, the environment or other data sources
  (``load_layer``, ``env``, ``BlobFromFile``, ``load_extension``...).

The value is also checked URL-decoded, since providers decode it (virtual layers, ``url=``).
Everything here is linear in the length of the value: no regular expression that can backtrack.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from ..i18n import tr
from ..provenance.layer_props import source_file

_SCHEME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-")
_HOST_END = set("/?#'\"&|\\ \t\r\n<>)(,;`")
_BEFORE_PATH = set(" \t\r\n'\"(,;=|:[{>`")  # an absolute path starts a token after one of these
_PATH_START = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.~$")
_TOKEN_END = set(" \t\r\n'\"|,;)(<>`")
# functions of QGIS expressions and of SQLite/SpatiaLite SQL (virtual layers, GDAL's SQLite dialect)
# that reach outside the recipe: files, environment, other data sources, extensions.
OUTSIDE_FUNCTIONS = (
    "load_layer",
    "env",
    "eval",
    "eval_template",
    "file_exists",
    "exif",
    "exif_geotag",
    "sqlite_fetch_and_increment",
    "blobfromfile",
    "blobtofile",
    "xb_loadxml",
    "xb_storexml",
    "importshp",
    "exportshp",
    "importdbf",
    "exportdbf",
    "importxls",
    "importwfs",
    "importdxf",
    "importdxffromdir",
    "importgeojson",
    "exportgeojson",
    "exportgeojson2",
    "exportkml",
    "importzipshp",
    "importzipdbf",
    "load_extension",
    "readfile",
    "writefile",
    "fts3_tokenizer",
)
_FUNCTION_SET = set(OUTSIDE_FUNCTIONS)
MAX_PATHS = 1000  # no value QGIS writes names that many files


@dataclass
class Scope:
    """Where references may point: inside ``folder`` (paths resolve from ``base``) and the declared services."""

    folder: Path
    base: Path
    services: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder).resolve()
        self.base = Path(self.base).resolve()
        self.origins = {_origin(url) for url in self.services if _origin(url)}

    def inside(self, path: str, base: Path | None = None) -> bool:
        if len(path) > 4096:  # longer than any path an OS opens (PATH_MAX); resolving it would take long
            return False
        if len(path) > 2 and path[1] == ":" and path[2] in "\\/" and os.name != "nt":
            return False  # a Windows drive path cannot be inside a folder on this machine
        candidate = Path(path.replace("\\", "/"))
        if not candidate.is_absolute():
            candidate = (base or self.base) / candidate
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError):
            return False
        return resolved == self.folder or self.folder in resolved.parents

    def with_base(self, base: Path) -> Scope:
        return Scope(self.folder, base, list(self.services))


def _origin(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    return f"{parts.scheme.lower()}://{parts.hostname.lower()}:{port}"


def urls_in(value: str, limit: int = 0) -> list[tuple[str, str]]:
    """(scheme, url) for every ``scheme://`` in ``value``, the URL cut 256 characters after its host (what is
    checked is the origin), at most ``limit`` of them (0: all). Linear in the length of ``value``."""
    out = []
    pos = value.find("://")
    while pos != -1 and (not limit or len(out) < limit):
        start = pos
        while start > 0 and pos - start < 32 and value[start - 1] in _SCHEME_CHARS:
            start -= 1
        end = pos + 3
        while end < len(value) and end - pos < 512 and value[end] not in _HOST_END:
            end += 1
        tail = end
        while tail < len(value) and tail - end < 256 and value[tail] not in " \t\r\n'\"|<>`":
            tail += 1
        out.append((value[start:pos].lower(), value[start:tail]))
        pos = value.find("://", pos + 3)
    return out


def _tokens(value: str, extra: str = "") -> list[str]:
    """``value`` split at token ends (and ``extra``), in one pass."""
    ends = _TOKEN_END | set(extra)
    out, start = [], 0
    for i, ch in enumerate(value):
        if ch in ends:
            if i > start:
                out.append(value[start:i])
            start = i + 1
    if len(value) > start:
        out.append(value[start:])
    return out


def _absolute_paths(value: str, limit: int) -> list[str]:
    """Absolute, drive and UNC paths in ``value`` (each cut at PATH_MAX), at most ``limit``."""
    found: list[str] = []
    n = len(value)
    token_end = -1
    for i, ch in enumerate(value):
        absolute = (
            (ch == "/" and i + 1 < n and value[i + 1] in _PATH_START and (i == 0 or value[i - 1] in _BEFORE_PATH)
             and value[max(0, i - 2) : i] != ":/")  # the second slash of scheme:// is a URL, handled there
            or (ch.isalpha() and i + 2 < n and value[i + 1] == ":" and value[i + 2] in "\\/"
                and (i == 0 or value[i - 1] in _BEFORE_PATH) and value[i + 2 : i + 4] != "//")
            or (ch == "\\" and value[i : i + 2] == "\\\\" and (i == 0 or value[i - 1] in _BEFORE_PATH))
        )  # fmt: skip
        if absolute:
            if token_end < i:  # starts inside one token share its end: never scan the same characters twice
                token_end = i
                while token_end < n and value[token_end] not in _TOKEN_END:
                    token_end += 1
            found.append(value[i : min(token_end, i + 4097)])
            if len(found) >= limit:
                break
    return found


def _token(value: str, start: int) -> str:
    end = start
    while end < len(value) and value[end] not in _TOKEN_END:
        end += 1
    return value[start:end]


def _relative_escapes(value: str) -> list[str]:
    if ".." not in value:
        return []
    return [t for t in _tokens(value, "=:&?") if "../" in t or "..\\" in t]


def _without_vsi(value: str) -> str:
    """``value`` without its (already allowed) GDAL virtual paths, so their inner parts are not checked twice."""
    out, pos, lowered = [], 0, value.lower()
    start = lowered.find("/vsi")
    while start != -1:
        out.append(value[pos:start])
        pos = start + len(_token(value, start)) or start + 4
        start = lowered.find("/vsi", pos)
    out.append(value[pos:])
    return "".join(out)


def functions_called(value: str) -> list[str]:
    """Names from OUTSIDE_FUNCTIONS called in ``value`` (``name(``, any case, spaces allowed)."""
    lowered = value.lower()
    out = []
    pos = lowered.find("(")
    while pos != -1:
        end = pos
        while end > 0 and lowered[end - 1] in " \t\r\n":
            end -= 1
        start = end
        while start > 0 and (lowered[start - 1].isalnum() or lowered[start - 1] == "_"):
            start -= 1
        name = lowered[start:end]
        if name in _FUNCTION_SET:
            out.append(name)
        pos = lowered.find("(", pos + 1)
    return out


def problem(value: str, scope: Scope, base: Path | None = None) -> str:
    """A translated reason why ``value`` reaches outside the recipe, or ''."""
    if not value or value.startswith("base64:"):
        return ""
    decoded = unquote(unquote(value)) if "%" in value else value
    for text in (value, decoded) if decoded != value else (value,):
        reason = _problem_in(text, scope, base)
        if reason:
            return reason
    return ""


_ARCHIVES = ("/vsizip/", "/vsigzip/", "/vsitar/", "/vsi7z/", "/vsirar/")


def _vsi_problem(value: str, scope: Scope, base: Path | None) -> str:
    """GDAL virtual paths: archives around a path inside the recipe, or ``/vsicurl/`` to a declared service;
    every other one (/vsis3/, /vsimem/, /vsistdin/, /vsicurl/ to file: or an undeclared host...) is refused."""
    lowered = value.lower()
    pos = lowered.find("/vsi")
    while pos != -1:
        path = _token(value, pos)
        inner = path
        while inner.lower().startswith(_ARCHIVES):  # /vsizip/rel/a.zip, /vsizip//abs/a.zip, /vsizip//vsicurl/...
            inner = inner.split("/", 2)[2]
        low = inner.lower()
        if low.startswith("/vsicurl/") and low[9:].startswith(("http://", "https://")):
            if _origin(inner[9:]) not in scope.origins:
                return tr("a request to {host}, which is not one of the recipe's services").format(
                    host=urlsplit(inner[9:]).hostname or inner[9:89]
                )
        elif low.startswith("/vsi") or not scope.inside(source_file(inner), base):
            return tr("a GDAL virtual file path ({path})").format(path=path[:80])
        pos = lowered.find("/vsi", pos + len(path) if path else pos + 4)
    return ""


def _problem_in(value: str, scope: Scope, base: Path | None) -> str:
    lowered = value.lower()
    if "/vsi" in lowered:
        reason = _vsi_problem(value, scope, base)
        if reason:
            return reason
        value = _without_vsi(value)
        lowered = value.lower()
    urls = urls_in(value, MAX_PATHS + 1)
    if len(urls) > MAX_PATHS:
        return tr("more than {n} addresses in one value").format(n=MAX_PATHS)
    for scheme, url in urls:
        if scheme == "attachment" and ".." not in url and "\\" not in url:
            continue  # a file attached to the project itself (QGIS 3.26+ style database, .qgz members)
        if scheme not in ("http", "https"):
            return tr("a {scheme}: address ({url})").format(scheme=scheme or "?", url=url[:80])
        if _origin(url) not in scope.origins:
            host = urlsplit(url).hostname or url[:80]
            return tr("a request to {host}, which is not one of the recipe's services").format(host=host)
    if "file:" in lowered:
        return tr("a file: address")
    paths = set(_absolute_paths(value, MAX_PATHS + 1))
    escapes = set(_relative_escapes(value))
    if len(paths) + len(escapes) > MAX_PATHS:
        return tr("more than {n} file paths in one value").format(n=MAX_PATHS)
    for path in paths:
        if not scope.inside(path, base):
            return tr("the file {path} outside the recipe").format(path=path[:120])
    for path in escapes:
        if path.startswith(("/", "\\")) or (len(path) > 1 and path[1] == ":"):
            continue  # absolute: checked above
        if not scope.inside(path, base):
            return tr("the file {path} outside the recipe").format(path=path[:120])
    called = functions_called(value)
    if called:
        return tr("a function that reads outside the recipe ({name})").format(name=called[0])
    return ""


def file_source_problem(datasource: str, scope: Scope) -> str:
    """For a layer of a file provider: the path part must be a plain path inside the recipe folder."""
    path = source_file(datasource).strip()
    if not path:
        return ""
    if path.lower().startswith("/vsi"):  # archives inside the recipe, /vsicurl/ to a declared service
        return problem(datasource, scope)
    prefix = path.split(":", 1)[0]
    if ":" in path and len(prefix) > 1 and "/" not in prefix and "\\" not in prefix:
        return tr("a GDAL/OGR connection ({prefix}:)").format(prefix=prefix)
    if "?" in path and not Path(path.split("?", 1)[0]).suffix:
        return tr("a GDAL/OGR connection")
    if not path.startswith(("./", "../", ".\\", "..\\")) and not Path(path).is_absolute():
        # QGIS resolves only ./ and ../ against the project; any other relative path is opened from the
        # working folder of QGIS, wherever that is
        return tr("the file {path} relative to the working folder, not to the recipe").format(path=path[:120])
    reason = problem(datasource, scope)
    if not reason and not scope.inside(path):
        reason = tr("the file {path} outside the recipe").format(path=str(PurePosixPath(path.replace("\\", "/")))[:120])
    return reason
