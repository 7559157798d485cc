"""Reading untrusted zip files safely.

Checks every central-directory entry before anything is extracted (absolute paths, ``..``,
drive letters, backslashes, symlinks, duplicate names — also case-insensitive, since the receiver may be
on Windows or macOS —, entry count), reads small members with a size cap, and extracts with
caps on total size and compression ratio counted on the bytes actually read, never on the
sizes the archive declares (a zip bomb lies about them).
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from qgis.core import QgsFileUtils

from ..errors import RecipeError
from ..i18n import tr

CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    max_entries: int = 10_000
    max_total_bytes: int = 20 * 1024**3  # 20 GiB of extracted data
    max_ratio: float = 200.0  # extracted / compressed, per entry
    ratio_slack: int = 1 << 20  # small entries may compress better than max_ratio
    max_metadata_bytes: int = 16 * 1024**2  # ro-crate-metadata.json, manifest, signature, project


class UnsafeZipError(RecipeError):
    """One thing wrong with an archive; ``entry`` names it."""

    def __init__(self, message: str, entry: str = "") -> None:
        super().__init__(message, detail=entry)
        self.entry = entry


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    mode = info.external_attr >> 16
    return info.create_system == 3 and stat.S_ISLNK(mode)


def check_name(name: str) -> str | None:
    """A translated problem with this member name, or None when it is a safe relative path."""
    if not name or "\x00" in name:
        return tr("An entry has an empty or invalid name.")
    if "\\" in name:
        return tr("Entry '{name}' contains a backslash (a Windows path separator).").format(name=name)
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return tr("Entry '{name}' has an absolute path.").format(name=name)
    parts = PurePosixPath(name).parts
    if any(part == ".." for part in parts):
        return tr("Entry '{name}' points outside the recipe folder ('..').").format(name=name)
    return None


class SafeZip:
    """An opened, checked archive. Use as a context manager."""

    def __init__(self, path: str | Path, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.limits = limits or Limits()
        try:
            self.zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError) as err:
            raise UnsafeZipError(
                tr("The recipe is not a readable zip file (damaged or truncated)."), str(path)
            ) from err
        try:
            self.infos = self._check_entries()
        except UnsafeZipError:
            self.zf.close()
            raise

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.zf.close()

    def _check_entries(self) -> dict[str, zipfile.ZipInfo]:
        infos = self.zf.infolist()
        if len(infos) > self.limits.max_entries:
            raise UnsafeZipError(
                tr("The recipe has {n} entries, more than the limit of {limit}.").format(
                    n=len(infos), limit=self.limits.max_entries
                )
            )
        seen: dict[str, zipfile.ZipInfo] = {}
        folded: set[str] = set()
        for info in infos:
            problem = check_name(info.filename)
            if problem:
                raise UnsafeZipError(problem, info.filename)
            if _is_symlink(info):
                raise UnsafeZipError(tr("Entry '{name}' is a symbolic link.").format(name=info.filename), info.filename)
            key = info.filename.rstrip("/")
            if key in seen or key.casefold() in folded:
                raise UnsafeZipError(tr("Entry '{name}' appears twice.").format(name=info.filename), info.filename)
            if info.flag_bits & 0x1:
                raise UnsafeZipError(tr("Entry '{name}' is encrypted.").format(name=info.filename), info.filename)
            seen[key] = info
            folded.add(key.casefold())
        return seen

    def names(self) -> list[str]:
        return [name for name, info in self.infos.items() if not info.is_dir()]

    def has(self, name: str) -> bool:
        return name in self.infos and not self.infos[name].is_dir()

    def iter_chunks(self, name: str, budget: list[int] | None = None) -> Iterator[bytes]:
        """Yield the member's bytes, enforcing the ratio cap and a shared total budget on bytes read."""
        info = self.infos[name]
        allowed = int(info.compress_size * self.limits.max_ratio) + self.limits.ratio_slack
        read = 0
        try:
            with self.zf.open(info) as src:
                while True:
                    chunk = src.read(CHUNK)
                    if not chunk:
                        break
                    read += len(chunk)
                    if read > allowed:
                        raise UnsafeZipError(
                            tr("Entry '{name}' expands more than {ratio:.0f} times: refused as a zip bomb.").format(
                                name=name, ratio=self.limits.max_ratio
                            ),
                            name,
                        )
                    if budget is not None:
                        budget[0] -= len(chunk)
                        if budget[0] < 0:
                            raise UnsafeZipError(
                                tr("The recipe expands to more than {size}: refused.").format(
                                    size=QgsFileUtils.representFileSize(self.limits.max_total_bytes)
                                ),
                                name,
                            )
                    yield chunk
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as err:  # CRC error, truncated member, bad deflate
            if isinstance(err, UnsafeZipError):
                raise
            raise UnsafeZipError(tr("Entry '{name}' is damaged: {error}").format(name=name, error=err), name) from err

    def read_small(self, name: str, cap: int | None = None) -> bytes:
        """Read a metadata member whole, refusing it when it is larger than ``cap`` bytes actually read."""
        cap = cap or self.limits.max_metadata_bytes
        if not self.has(name):
            raise UnsafeZipError(tr("The recipe has no '{name}'.").format(name=name), name)
        out = bytearray()
        for chunk in self.iter_chunks(name):
            out += chunk
            if len(out) > cap:
                raise UnsafeZipError(
                    tr("Entry '{name}' is larger than {cap} bytes allowed for metadata.").format(name=name, cap=cap),
                    name,
                )
        return bytes(out)

    def extract_all(
        self,
        folder: str | Path,
        *,
        only: set[str] | None = None,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> list[Path]:
        """Extract regular files under ``folder`` (which must be empty or absent). Nothing is written
        outside it; on any problem the files written so far are removed."""
        root = Path(folder).resolve()
        root.mkdir(parents=True, exist_ok=True)
        budget = [self.limits.max_total_bytes]
        names = [n for n in self.names() if only is None or n in only]
        total = sum(self.infos[n].file_size for n in names) or 1
        done = 0
        written: list[Path] = []
        try:
            for name in names:
                target = (root / name).resolve()
                if root not in target.parents:
                    raise UnsafeZipError(tr("Entry '{name}' points outside the recipe folder.").format(name=name), name)
                target.parent.mkdir(parents=True, exist_ok=True)
                # O_EXCL|O_NOFOLLOW: never write through a link or over a file placed there meanwhile
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
                written.append(target)
                with os.fdopen(fd, "wb") as out:
                    for chunk in self.iter_chunks(name, budget):
                        out.write(chunk)
                        done += len(chunk)
                        if cancelled is not None and cancelled():
                            raise RecipeError(tr("Unpacking was cancelled."))
                        if progress is not None:
                            progress(min(100.0, 100.0 * done / total))
        except BaseException:
            for path in written:
                try:
                    path.unlink()
                except OSError:
                    continue
            raise
        return written
