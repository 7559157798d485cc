"""A small streaming reader for one big JSON object (a CityJSON file), without QGIS.

``json.load`` on a 1 GB CityJSON tile builds every boundary list as Python objects at once
(several times the file size in memory). This reader walks the top-level object in chunks:
each CityObject is decoded on its own (C speed, ``JSONDecoder.raw_decode``) and dropped
after use, the ``vertices`` array is parsed straight into a compact numpy array, and a
value can be skipped without building it (a brace counter that runs over regex tokens).
Memory is bounded by the vertex array plus the largest single CityObject.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()
# Tokens that matter when skipping a value: complete strings (which may hide brackets) and brackets.
_SKIP_OBJ = re.compile(r'"(?:[^"\\]|\\.)*"|[{}]')
_SKIP_ARR = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]]')
# Everything in a vertices array that is not part of a number becomes a separator.
_TO_SPACE = str.maketrans({"[": " ", "]": " ", ",": " "})
_VERTS_END = re.compile(r"\]\s*\]|\[\s*\]")


class JsonStreamError(ValueError):
    """The text is not the JSON we expected (truncated, wrong type)."""


class JsonStream:
    """Cursor over a text stream holding one JSON document, read in growing chunks."""

    def __init__(self, handle: IO[str], chunk_chars: int = 1 << 20) -> None:
        self._fh = handle
        self._chunk = chunk_chars
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.consumed = 0  # characters dropped from the front of buf (progress reporting)

    # --- buffer ---
    def _fill(self) -> bool:
        """Read more text; the request grows with the buffer so one huge value costs O(n), not O(n^2)."""
        if self.eof:
            return False
        size = max(self._chunk, len(self.buf) - self.pos)
        data = self._fh.read(size)
        if not data:
            self.eof = True
            return False
        self.consumed += self.pos
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def peek(self) -> str:
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._fill():
                return ""

    def expect(self, char: str) -> None:
        got = self.peek()
        if got != char:
            raise JsonStreamError(f"expected {char!r} at character {self.consumed + self.pos}, found {got!r}")
        self.pos += 1

    def accept(self, char: str) -> bool:
        if self.peek() == char:
            self.pos += 1
            return True
        return False

    # --- values ---
    def value(self) -> Any:
        """Decode the next complete JSON value."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as err:
                if self._fill():
                    continue
                raise JsonStreamError(
                    f"invalid or truncated JSON: {err.msg} near character {self.consumed + err.pos}"
                ) from err
            # A number that touches the end of the buffer may continue in the next chunk.
            if end == len(self.buf) and not isinstance(value, (dict, list, str)) and self._fill():
                continue
            self.pos = end
            return value

    def skip(self) -> None:
        """Skip the next value without building it."""
        first = self.peek()
        if first not in "{[":
            self.value()
            return
        pattern, opener = (_SKIP_OBJ, "{") if first == "{" else (_SKIP_ARR, "[")
        depth = 0
        while True:
            last_end = self.pos
            for match in pattern.finditer(self.buf, self.pos):
                token = match.group()
                last_end = match.end()
                if token[0] == '"':
                    continue
                depth += 1 if token == opener else -1
                if depth == 0:
                    self.pos = last_end
                    return
            # Keep an unterminated string (a quote no token consumed) for the next round.
            quote = self.buf.find('"', last_end)
            self.pos = quote if quote >= 0 else len(self.buf)
            if not self._fill():
                raise JsonStreamError("truncated JSON while skipping a value")

    def members(self) -> Iterator[str]:
        """Iterate the keys of the object at the cursor; the caller reads or skips each value."""
        self.expect("{")
        if self.accept("}"):
            return
        while True:
            key = self.value()
            if not isinstance(key, str):
                raise JsonStreamError("object key is not a string")
            self.expect(":")
            yield key
            if self.accept(","):
                continue
            self.expect("}")
            return

    def number_rows(self, width: int = 3, *, floats: bool = False, keep: bool = True) -> np.ndarray | None:
        """Parse ``[[a,b,c],...]`` into an (n, width) array straight from the text (or skip it)."""
        self.expect("[")
        self.pos -= 1
        parts: list[np.ndarray] = []
        dtype = np.float64 if floats else np.int64
        while True:
            match = _VERTS_END.search(self.buf, self.pos)
            if match is not None:
                end = match.end()
                if keep:
                    parts.append(np.fromstring(self.buf[self.pos : end].translate(_TO_SPACE), dtype=dtype, sep=" "))
                self.pos = end
                break
            # Parse the rows before the last row start in the buffer; that row waits for more text.
            cut = self.buf.rfind("[", self.pos + 1)
            if cut > self.pos:
                if keep:
                    parts.append(np.fromstring(self.buf[self.pos : cut].translate(_TO_SPACE), dtype=dtype, sep=" "))
                self.pos = cut
            if not self._fill():
                raise JsonStreamError("truncated vertices array")
        if not keep:
            return None
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        if flat.size % width:
            raise JsonStreamError(f"vertex list length {flat.size} is not a multiple of {width}")
        return flat.reshape(-1, width)
