"""Packing the layers that read a service: OGC web services, and rasters GDAL reads over the network
(``/vsicurl/`` COGs, ``/vsis3/``…). Each becomes a service entry with the time it was read; with an
area and "also embed a snapshot", the layer reads a snapshot of the area, and ``dtfl/snapshot_of``
keeps the original source so a re-cook reads the service again.
"""

from __future__ import annotations

import json
import uuid

from ..i18n import tr
from ..provenance.layer_props import source_file
from . import embed, qgsxml, sanitize, sources
from .crate import ServiceEntry, slug
from .services import service_identity


class ServicePacking:
    """Mixed into the packer (uses its options, stage folder, writer and warnings)."""

    def _entry(self, layer, source, licence, owner, url, layer_name, kind) -> ServiceEntry:
        clean_url, _ = sanitize.scrub_text(url)
        entry = ServiceEntry(
            url=clean_url,
            name=(source.title if source and source.title else layer.name),
            service_type=(source.service_type if source and source.service_type else kind),
            read_at=(source.loaded_at if source and source.loaded_at else self.created),
            version=source.service_version if source else "",
            licence=licence,
            organisation=owner,
            layer_name=layer_name,
        )
        self.services.append(entry)
        return entry

    def _wants_snapshot(self) -> bool:
        return bool(self.o.embed_services and self.o.area is not None)

    def _service(self, layer: qgsxml.LayerXml, source, licence: str, owner: str) -> str:
        url, layer_name, kind = service_identity(layer.provider, layer.datasource)
        entry = self._entry(layer, source, licence, owner, url, layer_name, kind)
        if not self._wants_snapshot():
            return ""
        if layer.layer_type not in ("vector", "raster"):
            self.warnings.append(
                tr(
                    "Layer '{layer}': snapshots of this kind of service are not supported; it stays a service reference."
                ).format(layer=layer.name)
            )
            return ""
        suffix = ".gpkg" if layer.layer_type == "vector" else ".tif"
        staged = self.stage / f"{uuid.uuid4().hex}{suffix}"
        if layer.layer_type == "vector":
            out_name = embed.snapshot_vector_service(
                layer.provider, layer.datasource, staged, self.o.area, layer.crs, slug(layer.name)
            )
        else:
            embed.snapshot_raster_service(layer.provider, layer.datasource, staged, self.o.area, layer.crs, layer.name)
            out_name = ""
        return self._use_snapshot(layer, staged, suffix, entry, out_name, replace_renderer=True)

    def _network_raster(self, layer: qgsxml.LayerXml, source, licence: str, owner: str) -> str:
        """A raster GDAL reads over the network (a COG from the catalogue): a service reference, or a
        snapshot of the area with the raster's own values (no resampling) when EMBED asks for one."""
        url = sources.vsi_url(layer.datasource)
        entry = self._entry(
            layer, source, licence, owner, url, "", "COG" if "/vsicurl/" in layer.datasource else "GDAL"
        )
        if not self._wants_snapshot() or layer.layer_type != "raster":
            return ""
        staged = self.stage / f"{uuid.uuid4().hex}.tif"
        embed.export_raster(source_file(layer.datasource), staged, self.o.area, layer.crs)
        return self._use_snapshot(layer, staged, ".tif", entry, "", replace_renderer=False)

    def _use_snapshot(self, layer, staged, suffix, entry, out_name: str, *, replace_renderer: bool) -> str:
        member = self._add(
            self._member("data", f"snapshot-{layer.name}", suffix),
            staged,
            licence=entry.licence,
            organisation=entry.organisation,
            source=entry.url,
            name=layer.name,
            description=f"snapshot of the service read at {self.created}, clipped to the recipe area",
        )
        staged.unlink()
        origin, _ = sanitize.scrub_text(json.dumps({"provider": layer.provider, "datasource": layer.datasource}))
        qgsxml.set_custom_property(layer.element, "dtfl/snapshot_of", origin)  # a re-cook reads the service again
        layer.set_datasource(f"../{member}|layername={out_name}" if out_name else f"../{member}")
        node = layer.element.find("provider")
        if node is not None:
            node.text = "ogr" if out_name else "gdal"
        pipe = layer.element.find("pipe")
        renderer = pipe.find("rasterrenderer") if pipe is not None else None
        if replace_renderer and renderer is not None:
            # a map service's renderer reads one ARGB band: the RGBA file gets QGIS's default
            pipe.remove(renderer)
        return member
