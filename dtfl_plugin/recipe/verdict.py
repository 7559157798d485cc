"""The verdict on a recipe in plain words, before anything in it is unpacked.

Who signed it (organisation and key id) and whether the reader trusts that key; what is inside
(layers, models and runs, area, licences, size); what is missing or only referenced; what opening
will neutralise. Technical details (problems per file, key ids, the signed comment) are kept apart
for experts. Built from the verification report and a capped read of the recipe's metadata and
project; no QGIS needed, so the GUI only shows it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import unquote

from ..errors import RecipeError
from ..i18n import tr
from ..provenance.layer_props import source_file
from . import confine, qgsxml, sign
from .crate import METADATA_NAME, as_list, load_graph
from .open import refusal
from .pack import PROJECT_MEMBER, SIGNATURE
from .verify import VerifyReport
from .zipsafe import SafeZip, UnsafeZipError

CANNOT_CHECK = ("cannot-check", "unchecked", "unverifiable")


@dataclass
class Verdict:
    state: str  # trusted | untrusted | unsigned | cannot-check | refused
    headline: str
    signer: str
    contents: list[str] = field(default_factory=list)
    referenced: list[str] = field(default_factory=list)
    neutralised: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    may_open: bool = False
    override: bool = False  # opening needs the "open anyway (untrusted)" choice


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1000
    return str(size)


def _comment_fields(comment: str) -> dict[str, str]:
    return {k: unquote(v) for k, _, v in (part.partition("=") for part in comment.split()) if v}


def _claimed(zipped: SafeZip) -> dict[str, str]:
    """The signature's comment as written (verified only when the key is trusted)."""
    try:
        return _comment_fields(sign.read_signature(zipped.read_small(SIGNATURE, 4096).decode("utf-8"))[3])
    except (RecipeError, UnsafeZipError, UnicodeDecodeError, ValueError, IndexError):
        return {}


def _signer(report: VerifyReport, claimed: dict[str, str]) -> tuple[str, str, str]:
    """(state, headline, signer sentence)."""
    org = claimed.get("org", "")
    blocked = refusal(report, allow_untrusted=True)
    if blocked:
        return "refused", tr("Do not open: this recipe was changed after it was made, or is damaged."), blocked
    if report.signature in CANNOT_CHECK:
        head = tr(
            "Signature not checked: this QGIS could not check it (see below). That is not a sign of tampering, "
            "but nobody vouches for who made the recipe until it is checked."
        )
        reasons = [p.message for p in report.problems if p.entry == SIGNATURE]
        return "cannot-check", head, " ".join(reasons) or tr("Key {key}.").format(key=report.key_id or "?")
    if report.signature == "valid":
        who = report.signer or org or tr("an unnamed organisation")
        head = tr("Made by {who}, signed with a key you trust. Nothing was changed since.").format(who=who)
        return (
            "trusted",
            head,
            tr("Signed by {who} (key {key}); you trust this key.").format(who=who, key=report.key_id),
        )
    if report.signature == "missing":
        head = tr("Not signed: nobody vouches for who made this recipe. Open it only if you know where it came from.")
        return "unsigned", head, tr("No signature.")
    claim = tr(" It says it comes from {org}, but that cannot be confirmed.").format(org=org) if org else ""
    head = tr("Signed with a key you do not trust yet. The files are intact, but you cannot be sure who made it.")
    return "untrusted", head, tr("Signed with key {key}, which is not among your trusted keys.").format(key=report.key_id) + claim  # fmt: skip


def _licence_names(graph: dict, ids: list) -> set[str]:
    names = set()
    for ref in ids:
        ident = ref.get("@id", "") if isinstance(ref, dict) else str(ref)
        if ident and ident != "#license-per-dataset":
            names.add(str(graph.get(ident, {}).get("name") or ident))
    return names


def _contents(graph: dict, root: dict, layers: list[qgsxml.LayerXml], members: set[str]) -> tuple[list[str], list[str]]:
    """(what is inside, what is only referenced) from the crate and the project."""
    files = [e for e in graph.values() if "File" in as_list(e.get("@type"))]
    models = [e.get("name") or e["@id"] for e in files if "ComputationalWorkflow" in as_list(e.get("@type"))]
    runs = [a for a in graph.values() if "CreateAction" in as_list(a.get("@type"))]
    total = sum(int(e.get("contentSize") or 0) for e in files)
    names = ", ".join(sorted(layer.name for layer in layers)[:8]) + (" …" if len(layers) > 8 else "")
    inside = [tr("Layers ({n}): {names}").format(n=len(layers), names=names or "-")]
    steps = sorted({str((graph.get((a.get("instrument") or {}).get("@id", "")) or {}).get("name", "?")) for a in runs})
    inside.append(tr("Recorded steps that can be re-run ({n}): {steps}").format(n=len(runs), steps=", ".join(steps) or "-"))  # fmt: skip
    if models:
        inside.append(tr("Models: {names}").format(names=", ".join(sorted(models))))
    area = graph.get("#area-shape", {}).get("box", "")
    crs = graph.get("#area-crs", {}).get("value", "")
    if area:
        south, west, north, east = (float(v) for v in area.split())
        size = abs(north - south) * abs(east - west) / 10_000 if crs and crs != "EPSG:4326" else 0
        inside.append(tr("Area: {w:.0f} × {h:.0f} m ({ha:.1f} ha, {crs})").format(w=abs(east - west), h=abs(north - south), ha=size, crs=crs))  # fmt: skip
    else:
        inside.append(tr("Area: the whole project (no area was chosen)."))
    licences = _licence_names(graph, [e.get("license") for e in graph.values() if e.get("license")])
    inside.append(tr("Licences of the sources: {names}").format(names=", ".join(sorted(licences)) or tr("not stated")))
    inside.append(tr("Total size: {size}").format(size=human_size(total)))
    referenced = []
    parts = [graph.get(ref.get("@id", ""), {}) for ref in as_list(root.get("hasPart")) if isinstance(ref, dict)]
    for entity in parts:  # the services the project's layers read (a run's service inputs are not layers)
        if "://" in entity.get("@id", "") and "Dataset" in as_list(entity.get("@type")):
            name, kind = entity.get("name", ""), entity.get("encodingFormat", "")
            text = tr("“{name}” is read from its service ({kind}) when you open the recipe.") if kind else tr("“{name}” is read from its service when you open the recipe.")  # fmt: skip
            referenced.append(text.format(name=name, kind=kind))
    for layer in layers:
        if not layer.datasource or layer.provider == "memory":
            referenced.append(tr("Layer “{name}” has no data in the recipe; it will be empty.").format(name=layer.name))
        elif layer.provider in qgsxml.FILE_PROVIDERS and layer.datasource.startswith("../"):
            member = source_file(layer.datasource)[3:]
            if member and member not in members and not any(m.startswith(member + "/") for m in members):
                referenced.append(tr("Layer “{name}” reads a file the recipe does not hold; it will not open.").format(name=layer.name))  # fmt: skip
    based_on = (root.get("isBasedOn") or {}).get("@id", "") if isinstance(root.get("isBasedOn"), dict) else ""
    if based_on:
        inside.append(tr("Re-cooked from recipe {id}").format(id=based_on))
    return inside, referenced


def _neutralised(zipped: SafeZip, tree: ET.ElementTree | None, root: dict, graph: dict) -> list[str]:
    styles = {}
    for name in zipped.names():
        if name.endswith((".qml", ".sld", ".svg", ".vrt")):
            try:
                styles[name] = zipped.read_small(name, 16 * 1024**2)
            except UnsafeZipError:
                continue
    found = confine.preview(tree, styles, confine.services_in(root, graph.values()))  # the same walk as opening
    return list(dict.fromkeys(f.message for f in found))


def build_verdict(report: VerifyReport, recipe: str) -> Verdict:
    """The plain-language verdict on a verified recipe (reads only its metadata and project, capped)."""
    details = [f"{p.entry}: {p.message}" if p.entry else p.message for p in report.problems]
    details += [tr("Recipe id: {id}").format(id=report.recipe_id)] if report.recipe_id else []
    details += [tr("Signed comment: {text}").format(text=report.trusted_comment)] if report.trusted_comment else []
    details.append(tr("Files checked against their fingerprints (SHA-256): {n}").format(n=report.files_checked))
    try:
        zipped = SafeZip(recipe)
    except UnsafeZipError as err:
        state, head, signer = _signer(report, {})
        return Verdict(state, head, signer, details=[err.message, *details])
    with zipped:
        claimed = _claimed(zipped)
        state, head, signer = _signer(report, claimed)
        verdict = Verdict(state, head, signer, details=details)
        if state == "refused":
            return verdict
        try:
            root, graph = load_graph(zipped.read_small(METADATA_NAME))
            tree = qgsxml.parse_project_bytes(zipped.read_small(PROJECT_MEMBER, qgsxml.MAX_PROJECT_BYTES))
        except (ValueError, RecipeError, UnsafeZipError, UnicodeDecodeError) as err:
            verdict.details.append(str(err))
            root, graph, tree = {}, {}, None
        layers = qgsxml.layers(tree) if tree is not None else []
        verdict.contents, verdict.referenced = _contents(graph, root, layers, set(zipped.names()))
        verdict.neutralised = _neutralised(zipped, tree, root, graph)
    verdict.may_open = state != "refused"
    verdict.override = state != "trusted"
    return verdict
