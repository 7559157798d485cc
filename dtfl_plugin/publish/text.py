"""Texts of the published page in the page's language (nl/en), independent of the language QGIS runs in.

The page's own strings are written as ``text.tr("English")`` so scripts/i18n.py extracts them like every
other message; their Dutch comes from the compiled translation (i18n/dtfl_nl.qm) or, in a source checkout,
from the rooms' i18n/nl/*.json maps. ``any()`` brings a string QGIS produced (an option label, an algorithm
name) into the page's language whichever language QGIS was in.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..__about__ import i18n_path

CONTEXT = "DTFL"


def _json_maps() -> dict[str, str]:
    merged: dict[str, str] = {}
    for folder in (i18n_path("nl"), Path(__file__).resolve().parents[2] / "i18n" / "nl"):
        if folder.is_dir():
            for path in sorted(folder.glob("*.json")):
                try:
                    data = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    continue
                merged.update({k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)})
            break
    return merged


class PageText:
    def __init__(self, language: str) -> None:
        self.language = "nl" if str(language).lower().startswith("nl") else "en"
        self._map = _json_maps()
        self._translator = None
        if self.language == "nl" and not self._map:
            from qgis.PyQt.QtCore import QTranslator

            qm = i18n_path("dtfl_nl.qm")
            translator = QTranslator()
            if qm.is_file() and translator.load(str(qm)):
                self._translator = translator
        self._reverse = {v: k for k, v in self._map.items()}
        self._templates: list | None = None

    def tr(self, text: str) -> str:
        return self._lookup(text)

    def _lookup(self, text: str) -> str:
        if self.language == "en":
            return text
        if text in self._map:
            return self._map[text]
        if self._translator is not None:
            return self._translator.translate(CONTEXT, text) or text
        return text

    def any(self, text: str) -> str:
        """A QGIS-made string (in QGIS's language) in the page's language; a filled-in message
        ("more than 0.30 m") is matched against its template ("more than {depth} m") and filled in again."""
        table = self._reverse if self.language == "en" else self._map
        if text in table:
            return table[text]
        if self.language == "nl" and self._translator is not None:
            found = self._translator.translate(CONTEXT, text)
            if found:
                return found
        return self._from_template(text, table)

    def _from_template(self, text: str, table: dict[str, str]) -> str:
        if self._templates is None:
            self._templates = []
            for source, target in table.items():
                if "{" not in source or len(source) > 200:
                    continue
                parts = re.split(r"\{(\w+)(?::[^{}]*)?\}", source)
                if len(parts) < 3:
                    continue
                pattern = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
                try:
                    # the matched values are already formatted: drop the target's format specs
                    self._templates.append((re.compile(f"^{pattern}$"), re.sub(r"\{(\w+):[^{}]*\}", r"{\1}", target)))
                except re.error:
                    continue  # a placeholder used twice: not matchable this way
        for pattern, target in self._templates:
            match = pattern.match(text)
            if match:
                try:
                    return target.format(**match.groupdict())
                except (KeyError, IndexError, ValueError):
                    return text
        return text

    def date(self, iso: str) -> str:
        """2026-12-04 -> "4 december 2026" / "4 December 2026"."""
        try:
            year, month, day = (int(part) for part in iso[:10].split("-"))
        except ValueError:
            return iso
        months = MONTHS_NL if self.language == "nl" else MONTHS_EN
        return f"{day} {months[month - 1]} {year}" if 1 <= month <= 12 else iso


MONTHS_NL = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
             "november", "december")  # fmt: skip
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")  # fmt: skip
