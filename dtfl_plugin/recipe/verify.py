"""Verify a recipe before anything in it is used.

Order: signature → manifest → every file's hash → no file the manifest does not list →
RO-Crate structure. The verdict is ``valid`` only when every step passes AND the manifest is
signed by a trusted key: hashes without a signature prove nothing about who made it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import RecipeError
from ..i18n import tr
from . import sign
from .crate import METADATA_NAME, as_list, load_graph
from .pack import MANIFEST, SIGNATURE
from .progress import Progress
from .zipsafe import Limits, SafeZip, UnsafeZipError, check_name

_LINE = re.compile(r"^(?P<hash>[0-9a-f]{64}) [ *](?P<path>.+)$")


@dataclass
class Problem:
    entry: str  # the file or crate entry concerned ("" for the whole recipe)
    message: str


@dataclass
class VerifyReport:
    recipe: str
    valid: bool = False
    # valid | unknown-key | invalid | missing | cannot-check (not checked here: never a sign of tampering)
    signature: str = "missing"
    key_id: str = ""
    signer: str = ""  # name of the trusted key that signed
    trusted_comment: str = ""
    recipe_id: str = ""
    files_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    def add(self, entry: str, message: str) -> None:
        self.problems.append(Problem(entry, message))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["problems"] = [asdict(p) for p in self.problems]
        return data


def parse_manifest(data: bytes, report: VerifyReport) -> dict[str, str]:
    entries: dict[str, str] = {}
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        report.add(MANIFEST, tr("The manifest is not UTF-8 text."))
        return entries
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            report.add(MANIFEST, tr("Manifest line {n} is malformed.").format(n=number))
            continue
        path = match.group("path")
        problem = check_name(path)
        if problem:
            report.add(path, problem)
            continue
        if path in entries:
            report.add(path, tr("The manifest lists '{path}' twice.").format(path=path))
            continue
        entries[path] = match.group("hash")
    return entries


def _check_signature(
    zipped: SafeZip, manifest: bytes, trusted: list[tuple[str, sign.PublicKey]], report: VerifyReport
) -> None:
    if not zipped.has(SIGNATURE):
        report.signature = "missing"
        report.add(SIGNATURE, tr("The recipe is not signed: nobody vouches for its content."))
        return
    try:
        sig_text = zipped.read_small(SIGNATURE, 4096).decode("utf-8")
        key_id = sign.signature_key_id(sig_text)
    except sign.CannotCheckError as err:
        _cannot_check(report, str(err))
        return
    except (RecipeError, UnicodeDecodeError) as err:
        report.signature = "invalid"
        report.add(SIGNATURE, tr("The signature file is damaged: {error}").format(error=err))
        return
    report.key_id = key_id[::-1].hex().upper()
    matches = [(name, key) for name, key in trusted if key.key_id == key_id]
    if not matches:
        report.signature = "unknown-key"
        report.add(
            SIGNATURE,
            tr("The recipe is signed by key {key}, which is not among your trusted keys.").format(key=report.key_id),
        )
        return
    name, key = matches[0]
    try:
        info = sign.verify_data(manifest, sig_text, key)
    except sign.CannotCheckError as err:
        _cannot_check(report, str(err))
        return
    except RecipeError as err:
        report.signature = "invalid"
        report.add(SIGNATURE, tr("The signature is invalid: {error}").format(error=err))
        return
    report.signature = "valid"
    report.signer = name
    report.trusted_comment = info.trusted_comment


def verify_recipe(
    path: str | Path,
    trusted: list[tuple[str, sign.PublicKey]] | None = None,
    *,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    progress = progress or Progress()
    report = VerifyReport(recipe=str(path))
    trusted = trusted or []
    try:
        zipped = SafeZip(path, limits)
    except UnsafeZipError as err:
        report.add(err.entry, err.message)
        return report
    with zipped:
        try:
            manifest = zipped.read_small(MANIFEST)
        except UnsafeZipError as err:
            report.add(err.entry or MANIFEST, err.message)
            _check_signature_only(zipped, trusted, report)
            return report
        _check_signature(zipped, manifest, trusted, report)
        entries = parse_manifest(manifest, report)
        _check_hashes(zipped, entries, report, progress)
        for name in zipped.names():
            if name not in entries and name not in (MANIFEST, SIGNATURE):
                report.add(name, tr("'{name}' is in the recipe but not in the signed manifest.").format(name=name))
        _check_crate(zipped, entries, report)
    report.valid = report.signature == "valid" and not report.problems
    progress.set_percent(100.0)
    return report


def _check_signature_only(zipped: SafeZip, trusted, report: VerifyReport) -> None:
    """The manifest could not be read, so a signature over it cannot be checked (the unreadable manifest
    is already a problem of its own): "cannot-check", not "invalid"."""
    if zipped.has(SIGNATURE):
        _cannot_check(report, tr("the signed manifest could not be read"))
    else:
        report.signature = "missing"


def _cannot_check(report: VerifyReport, reason: str) -> None:
    report.signature = "cannot-check"
    report.add(
        SIGNATURE,
        tr("The signature could not be checked here ({reason}). This does not mean the recipe was changed.").format(
            reason=reason
        ),
    )


def _check_hashes(zipped: SafeZip, entries: dict[str, str], report: VerifyReport, progress: Progress) -> None:
    total = sum(zipped.infos[n].file_size for n in entries if zipped.has(n)) or 1
    done = 0
    budget = [zipped.limits.max_total_bytes]
    for name, expected in sorted(entries.items()):
        if progress.is_cancelled():
            raise RecipeError(tr("Verification was cancelled."))
        if not zipped.has(name):
            report.add(name, tr("'{name}' is listed in the manifest but missing from the recipe.").format(name=name))
            continue
        digest = hashlib.sha256()
        try:
            for chunk in zipped.iter_chunks(name, budget):
                digest.update(chunk)
                done += len(chunk)
                progress.set_percent(min(99.0, 100.0 * done / total))
        except UnsafeZipError as err:
            report.add(name, err.message)
            if budget[0] < 0:
                return
            continue
        report.files_checked += 1
        if digest.hexdigest() != expected:
            report.add(name, tr("'{name}' was changed: its SHA-256 does not match the manifest.").format(name=name))


def _check_crate(zipped: SafeZip, entries: dict[str, str], report: VerifyReport) -> None:
    if not zipped.has(METADATA_NAME):
        report.add(METADATA_NAME, tr("The recipe has no RO-Crate metadata file."))
        return
    try:
        root, graph = load_graph(zipped.read_small(METADATA_NAME))
    except (ValueError, UnicodeDecodeError, UnsafeZipError) as err:
        report.add(METADATA_NAME, tr("The RO-Crate metadata is not valid: {error}").format(error=err))
        return
    report.recipe_id = str(root.get("identifier", ""))
    if not as_list(root.get("conformsTo")):
        report.add("./", tr("The RO-Crate root does not say which profile it conforms to."))
    described = set()
    for ref in as_list(root.get("hasPart")):
        ident = ref.get("@id", "") if isinstance(ref, dict) else ""
        entity = graph.get(ident)
        if entity is None:
            report.add(ident, tr("The crate lists '{id}' but does not describe it.").format(id=ident))
            continue
        if "://" in ident:
            continue
        described.add(ident)
        types = as_list(entity.get("@type"))
        if "File" in types:
            if ident not in entries:
                report.add(ident, tr("The crate describes '{id}', which the manifest does not list.").format(id=ident))
                continue
            if entity.get("sha256") != entries[ident]:
                report.add(ident, tr("The crate's hash of '{id}' differs from the manifest.").format(id=ident))
            size = zipped.infos[ident].file_size if zipped.has(ident) else -1
            if str(entity.get("contentSize", "")) != str(size):
                report.add(ident, tr("The crate's size of '{id}' differs from the file.").format(id=ident))
    for name in entries:
        if name not in described and name not in (METADATA_NAME, MANIFEST):
            report.add(name, tr("'{name}' is not described in the RO-Crate metadata.").format(name=name))
    for ref in as_list(root.get("mentions")):
        action = graph.get(ref.get("@id", "") if isinstance(ref, dict) else "")
        if action is None or "CreateAction" not in as_list(action.get("@type")):
            continue
        instrument = (action.get("instrument") or {}).get("@id", "")
        if instrument not in graph:
            report.add(action["@id"], tr("Run '{id}' names no algorithm (instrument).").format(id=action["@id"]))
        for item in as_list(action.get("object")) + as_list(action.get("result")):
            if isinstance(item, dict) and item.get("@id") not in graph:
                report.add(
                    action["@id"],
                    tr("Run '{id}' refers to '{ref}', which the crate does not describe.").format(
                        id=action["@id"], ref=item.get("@id")
                    ),
                )
