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
# Everything in a vertices array that is not part of a number becomes a separator.
_TO_SPACE = str.maketrans({"[": " ", "]": " ", ",": " "})
_SCAN_SLICE = 1 << 17
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
        """Skip the next value without building it: bracket depth is counted with numpy, strings masked out."""
        first = self.peek()
        if first not in "{[":
            self.value()
            return
        opener, closer = (123, 125) if first == "{" else (91, 93)
        state = [0, False, False]  # depth, inside a string, after a backslash inside a string
        while True:
            # Slices of 128k characters keep the numpy temporaries (~40 bytes per character) small.
            for start in range(self.pos, len(self.buf), _SCAN_SLICE):
                piece = self.buf[start : start + _SCAN_SLICE]
                slow = state[2] or "\\" in piece  # an escape, or one pending from the previous piece
                end = _scan_slow(piece, opener, closer, state) if slow else _scan_fast(piece, opener, closer, state)
                if end >= 0:
                    self.pos = start + end
                    return
            self.pos = len(self.buf)
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

    @staticmethod
    def _numbers(text: str, dtype) -> np.ndarray:
        text = text.translate(_TO_SPACE)
        if not text.strip():  # fromstring turns an empty text into one bogus value
            return np.zeros(0, dtype=dtype)
        values = np.fromstring(text, dtype=dtype, sep=" ")
        # Integers (CityJSON with a transform) are kept as int32 per chunk when they fit: the vertex array
        # is the one big thing the reader holds, and int64 chunks plus their concatenation doubled the peak.
        if values.dtype == np.int64 and values.size and -(2**31) < values.min() and values.max() < 2**31:
            return values.astype(np.int32)
        return values

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
                    parts.append(self._numbers(self.buf[self.pos : end], dtype))
                self.pos = end
                break
            # Parse the rows before the last row start in the buffer; that row waits for more text.
            cut = self.buf.rfind("[", self.pos + 1)
            if cut > self.pos:
                if keep:
                    parts.append(self._numbers(self.buf[self.pos : cut], dtype))
                self.pos = cut
            if not self._fill():
                raise JsonStreamError("truncated vertices array")
        if not keep:
            return None
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        if flat.size % width:
            raise JsonStreamError(f"vertex list length {flat.size} is not a multiple of {width}")
        return flat.reshape(-1, width)


def _scan_fast(piece: str, opener: int, closer: int, state: list) -> int:
    """End offset of the value in ``piece`` (or -1); ``state`` carries depth and string state over pieces.

    Without backslashes every quote toggles the string state, so a cumulative sum finds what is inside strings.
    """
    codes = np.frombuffer(piece.encode("utf-32-le"), dtype=np.uint32)
    quotes = codes == 34
    parity = (np.cumsum(quotes) + int(state[1])) & 1  # 1 = inside a string after this character
    inside_before = np.empty(len(codes), dtype=bool)
    inside_before[0] = state[1]
    inside_before[1:] = parity[:-1].astype(bool)
    delta = (codes == opener).astype(np.int64) - (codes == closer)
    delta[inside_before] = 0
    running = state[0] + np.cumsum(delta)
    closed = np.flatnonzero((running == 0) & (delta == -1))
    if len(closed):
        return int(closed[0]) + 1
    state[0], state[1] = int(running[-1]), bool(parity[-1])
    return -1


def _scan_slow(piece: str, opener: int, closer: int, state: list) -> int:
    """Character loop for pieces with backslash escapes (rare in CityJSON)."""
    depth, inside, escaped = state
    open_char, close_char = chr(opener), chr(closer)
    for index, char in enumerate(piece):
        if inside:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                inside = False
        elif char == '"':
            inside = True
        elif char == open_char:
            depth += 1
        elif char == close_char:
            depth -= 1
            if depth == 0:
                return index + 1
    state[0], state[1], state[2] = depth, inside, escaped
    return -1
