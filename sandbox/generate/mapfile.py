"""MapServer mapfile for the sandbox's WFS 2.0 (what PDOK runs): the WFS-published datasets of sandbox.datasets."""

from __future__ import annotations

from pathlib import Path

from ..datasets import DATASETS
from ..endpoints import metadata_url
from . import geodata


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mapfile(endpoints: dict, features: Path, extents: dict) -> str:
    layers = []
    boxes = []
    for ds in DATASETS:
        if not ds.wfs:
            continue
        source = geodata.GPKG if ds.key in geodata.BGT_LAYERS else features / f"{ds.key}.gpkg"
        boxes.append(extents[ds.key]["rd"])
        meta = {
            "wfs_title": ds.title,
            "wfs_abstract": ds.abstract,
            "wfs_keywordlist": ",".join(ds.keywords),
            "wfs_metadataurl_href": metadata_url(endpoints, ds.uuid),
            "wfs_metadataurl_format": "text/xml",
            "wfs_metadataurl_type": "TC211",
            "wfs_extent": " ".join(str(v) for v in extents[ds.key]["rd"]),
            "gml_include_items": "all",
            "gml_featureid": "identificatie" if ds.key == "gebouwen_3d" else "gml_id",
            "gml_types": "auto",
        }
        body = "\n".join(f"      {_q(k)} {_q(v)}" for k, v in meta.items())
        layers.append(f"""  LAYER
    NAME {_q(ds.key)}
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE OGR
    CONNECTION {_q(str(source))}
    DATA {_q(ds.key)}
    PROJECTION "init=epsg:28992" END
    METADATA
{body}
    END
  END""")
    ext = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    service = {
        "ows_title": "Sandbox WFS 2.0 (MapServer, Delft)",
        "ows_abstract": "Lokale WFS 2.0 (MapServer, zoals PDOK) met BGT-objecten en 3D-gebouwen van Delft.",
        "ows_keywordlist": "BGT,Delft,sandbox,infoFeatureAccessService",
        "ows_onlineresource": endpoints["wfs2"] + "?",
        "ows_srs": "EPSG:28992 EPSG:4326 EPSG:3857 EPSG:4258",
        "ows_enable_request": "*",
        "ows_contactorganization": "Kadaster",
        "ows_contactelectronicmailaddress": "beheerpdok@kadaster.nl",
        "ows_fees": "CC0 (BGT); CC BY 4.0 (gebouwen_3d)",
        "ows_accessconstraints": "Geen beperkingen",
        "wfs_getfeature_formatlist": "geojson",
        "wfs_maxfeatures": "10000",
        "wfs_compute_number_matched": "true",
    }
    meta = "\n".join(f"      {_q(k)} {_q(v)}" for k, v in service.items())
    return f"""MAP
  NAME "sandbox"
  SIZE 512 512
  EXTENT {ext[0]} {ext[1]} {ext[2]} {ext[3]}
  PROJECTION "init=epsg:28992" END
  WEB
    METADATA
{meta}
    END
  END
  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json; subtype=geojson"
    FORMATOPTION "STORAGE=stream"
    FORMATOPTION "FORM=SIMPLE"
  END
{chr(10).join(layers)}
END
"""
