"""Job results -> files at the Processing destinations, all or nothing.

Each output is first written to a hidden temp file beside its destination ("staged");
only when every output is staged are they moved into place with os.replace. A failure
(malformed result, download error, cancel) removes the staged files: nothing half-written.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qgis.core import QgsRasterFileWriter, QgsVectorFileWriter

from ...i18n import tr
from .client import ProcessesClient, RemoteModelError, Results
from .mapping import Spec


class Staged:
    def __init__(self) -> None:
        self.items: list[tuple[str, Path]] = []  # (temp, destination)

    def temp_for(self, destination: Path, suffix: str) -> str:
        destination.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=suffix, dir=destination.parent)
        os.close(fd)
        self.items.append((tmp, destination))
        return tmp

    def scratch(self, destination: Path, suffix: str) -> str:
        """A temp file that is removed at the end whatever happens (not moved into place)."""
        tmp = self.temp_for(destination, suffix)
        self.items[-1] = (tmp, Path(""))
        return tmp

    def commit(self) -> None:
        for tmp, dest in self.items:
            if str(dest) not in ("", "."):
                os.replace(tmp, dest)
        self.discard()

    def discard(self) -> None:
        for tmp, _dest in self.items:
            Path(tmp).unlink(missing_ok=True)
        self.items.clear()


def _payload(value, client: ProcessesClient, base: str, scratch):
    """A result value as bytes, a JSON object, or a file: inline, qualified ({value, encoding}) or by
    reference ({href}: streamed into ``scratch()``, a temp file beside the destination, never into memory)."""
    if isinstance(value, dict) and "href" in value and "value" not in value:
        return client.fetch_to(str(value["href"]), scratch(), base)
    if isinstance(value, dict) and "value" in value and ("mediaType" in value or "encoding" in value):
        inner = value["value"]
        if str(value.get("encoding", "")).lower() == "base64" and isinstance(inner, str):
            try:
                return base64.b64decode(inner, validate=True)
            except (binascii.Error, ValueError) as err:
                raise RemoteModelError(tr("A result was announced as base64 but is not valid base64.")) from err
        return inner
    return value


def _put(payload, tmp: str) -> None:
    """Write a payload to ``tmp``: a downloaded file is moved (no copy in memory), anything else written."""
    if isinstance(payload, Path):
        shutil.move(str(payload), tmp)
    else:
        Path(tmp).write_bytes(_as_bytes(payload))


def _as_bytes(payload) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def _write_raster(data: bytes | Path, dest: Path, staged: Staged, title: str) -> None:
    from osgeo import gdal

    src = staged.scratch(dest, ".tif")
    _put(data, src)
    try:
        ds = gdal.Open(src)
    except RuntimeError:
        ds = None
    if ds is None:
        raise RemoteModelError(tr("The result {title} is not a raster GDAL can read.").format(title=title))
    if dest.suffix.lower() in (".tif", ".tiff"):
        ds = None
        tmp = staged.temp_for(dest, dest.suffix)
        os.replace(src, tmp)
        return
    driver = QgsRasterFileWriter.driverForExtension(dest.suffix.lstrip(".")) or "GTiff"
    tmp = staged.temp_for(dest, dest.suffix)
    try:
        out = gdal.Translate(tmp, ds, format=driver)
    except RuntimeError:  # gdal.UseExceptions() may be on in this process
        out = None
    if out is None:
        raise RemoteModelError(tr("Writing {title} as {fmt} failed.").format(title=title, fmt=driver))
    out = ds = None


def _write_vector(payload, dest: Path, staged: Staged, title: str) -> None:
    if isinstance(payload, Path):  # streamed to disk: GDAL reads the GeoJSON file itself
        _translate_vector(str(payload), dest, staged, title)
        return
    if isinstance(payload, (bytes, str)):
        try:
            payload = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as err:
            raise RemoteModelError(tr("The result {title} is not valid GeoJSON.").format(title=title)) from err
    if isinstance(payload, dict) and payload.get("type") == "Feature":
        payload = {"type": "FeatureCollection", "features": [payload]}
    if not isinstance(payload, dict) or payload.get("type") != "FeatureCollection":
        raise RemoteModelError(tr("The result {title} is not a GeoJSON feature collection.").format(title=title))
    src = staged.scratch(dest, ".geojson")
    Path(src).write_text(json.dumps(payload), encoding="utf-8")
    _translate_vector(src, dest, staged, title)


def _translate_vector(src: str, dest: Path, staged: Staged, title: str) -> None:
    from osgeo import gdal

    driver = QgsVectorFileWriter.driverForExtension(dest.suffix.lstrip(".")) or "GPKG"
    tmp = staged.temp_for(dest, dest.suffix)
    Path(tmp).unlink()  # OGR creates the file itself
    try:
        out = gdal.VectorTranslate(tmp, src, format=driver, layerName=dest.stem)
    except RuntimeError:
        out = None
    if out is None:
        raise RemoteModelError(tr("Writing {title} as {fmt} failed.").format(title=title, fmt=driver))
    out = None


def write_results(
    results: Results, specs: list[Spec], destinations: dict[str, str], client: ProcessesClient, base: str
) -> dict[str, str]:
    """Write each requested output; return {parameter name: path}. All or nothing."""
    written: dict[str, str] = {}
    with _all_or_nothing(results) as staged:
        for spec in specs:
            dest = destinations.get(spec.name)
            if not dest:
                continue
            path = Path(dest)
            if results.raw is not None:
                payload = results.raw if len(specs) == 1 or spec is specs[0] else None
            else:
                doc = results.document or {}
                scratch = lambda path=path: staged.scratch(path, ".download")  # noqa: E731
                payload = _payload(doc[spec.id], client, base, scratch) if spec.id in doc else None
            if payload is None:
                raise RemoteModelError(
                    tr("The server's results have no output {id}.").format(id=spec.id), detail=str(results.raw_type)
                )
            if spec.kind == "raster":
                _write_raster(payload if isinstance(payload, Path) else _as_bytes(payload), path, staged, spec.title)
            elif spec.kind == "vector":
                _write_vector(payload, path, staged, spec.title)
            else:
                _put(payload, staged.temp_for(path, path.suffix))
            written[spec.name] = str(path)
    return written


@contextmanager
def _all_or_nothing(results: Results) -> Iterator[Staged]:
    """Stage the outputs; move them all into place when the block ends, or none when it fails."""
    staged = Staged()
    try:
        yield staged
        staged.commit()
    except BaseException:
        staged.discard()
        raise
    finally:
        _drop_raw(results)


def _drop_raw(results: Results) -> None:
    """The raw body streamed to a temp file by the client: moved into place, or removed here."""
    if isinstance(results.raw, Path):
        results.raw.unlink(missing_ok=True)


_SUFFIX = {"tiff": ".tif", "geo+json": ".geojson", "geojson": ".geojson", "json": ".json", "csv": ".csv", "png": ".png"}


def _suffix(media_type: str, payload) -> str:
    media = media_type.lower()
    for key, suffix in _SUFFIX.items():
        if key in media:
            return suffix
    if isinstance(payload, Path):
        with payload.open("rb") as handle:
            payload = handle.read(4)  # the magic number is enough
        if payload[:1] in (b"{", b"["):
            return ".json"
    if isinstance(payload, bytes):
        return ".tif" if payload[:4] in (b"II*\x00", b"MM\x00*") else ".bin"
    if isinstance(payload, dict) and payload.get("type") in ("FeatureCollection", "Feature"):
        return ".geojson"
    return ".json"


def write_folder(results: Results, folder: str, client: ProcessesClient, base: str) -> list[str]:
    """Write every result into ``folder`` as <output id>.<suffix from its media type>. All or nothing."""
    target = Path(folder)
    written: list[str] = []
    with _all_or_nothing(results) as staged:
        if results.raw is not None:
            items = [("result", results.raw, results.raw_type)]
        else:
            items = []
            for key, value in (results.document or {}).items():
                media = str(value.get("mediaType") or value.get("type") or "") if isinstance(value, dict) else ""
                scratch = lambda: staged.scratch(target / "result", ".download")  # noqa: E731
                items.append((key, _payload(value, client, base, scratch), media))
        for key, payload, media in items:
            safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in str(key)) or "result"
            dest = target / (safe + _suffix(media, payload))
            _put(payload, staged.temp_for(dest, dest.suffix))
            written.append(str(dest))
    return written
