"""An allow-list for HTML kept in a recipe (map tips, form text, layout HTML frames).

QGIS renders these in a web view: a script, a frame or a style sheet there runs or fetches whatever
it likes. Only formatting tags and attributes pass; references in them (``src``, ``href``) are
checked like every other value by references.py.
"""

from __future__ import annotations

from html.parser import HTMLParser

from ..i18n import tr

SAFE_TAGS = {
    "a", "b", "i", "u", "s", "em", "strong", "p", "br", "div", "span", "table", "tr", "td", "th", "thead",
    "tbody", "tfoot", "caption", "col", "colgroup", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl",
    "dt", "dd", "hr", "font", "small", "big", "sub", "sup", "center", "pre", "code", "blockquote", "img",
    "html", "head", "body", "title", "label", "abbr", "cite", "q", "mark", "del", "ins", "nobr",
}  # fmt: skip
SAFE_ATTRIBUTES = {
    "class", "align", "valign", "width", "height", "colspan", "rowspan", "border", "cellpadding", "cellspacing",
    "color", "size", "face", "title", "id", "dir", "lang", "style", "href", "src", "alt", "bgcolor", "nowrap",
}  # fmt: skip
_STYLE_BAD = ("url(", "expression(", "@import", "behavior", "-moz-binding", "javascript:")


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problem = ""

    def handle_starttag(self, tag, attrs) -> None:
        if self.problem:
            return
        if tag not in SAFE_TAGS:
            self.problem = tr("HTML element <{tag}>").format(tag=tag)
            return
        for name, value in attrs:
            value = (value or "").lower()
            if name not in SAFE_ATTRIBUTES:
                self.problem = tr("HTML attribute {name}").format(name=name)
            elif name == "style" and any(bad in value.replace(" ", "") for bad in _STYLE_BAD):
                self.problem = tr("a style that loads or runs something")
            elif name in ("href", "src") and value.strip().startswith(("javascript:", "vbscript:", "data:text")):
                self.problem = tr("a script address")
            if self.problem:
                return

    handle_startendtag = handle_starttag


def unsafe_html(text: str) -> str:
    """A translated reason when ``text`` holds HTML outside the allow-list, else ''."""
    checker = _Checker()
    try:
        checker.feed(text)
        checker.close()
    except (ValueError, AssertionError):  # pragma: no cover - html.parser is lenient
        return tr("HTML that cannot be read")
    return checker.problem


_ESCAPE = "replace(replace(replace(to_string("
_ESCAPE_END = "), '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"


def escape_substitutions(template: str) -> str:
    """Every ``[% expression %]`` of an HTML template (map tip, layout HTML) made to give escaped text: the values
    come from the recipe's data, and a value holding ``<script>`` would otherwise become part of the page.
    Idempotent; a linear scan."""
    out, pos = [], 0
    while True:
        start = template.find("[%", pos)
        end = template.find("%]", start + 2) if start != -1 else -1
        if start == -1 or end == -1:
            break
        expression = template[start + 2 : end].strip()
        if not expression.startswith(_ESCAPE):
            expression = f"{_ESCAPE}{expression}{_ESCAPE_END}"
        out += [template[pos:start], f"[% {expression} %]"]
        pos = end + 2
    out.append(template[pos:])
    return "".join(out)
