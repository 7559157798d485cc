"""Open an untrusted recipe safely: verify, unpack inside one folder, neutralise, then (GUI) read.

Nothing in the recipe runs: the project XML and every QML style are cleaned of macros, Python
expression functions, layer actions and form init code before QGIS reads them; credentials
are removed and ``authcfg`` placeholders mapped to the receiver's own configurations; layers
that point outside the recipe folder are cut off. The user's QGIS settings are never changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import settings
from ..errors import RecipeError
from ..i18n import tr
from . import confine, qgsxml, sanitize, sign, trust
from .pack import PROJECT_MEMBER
from .progress import Progress
from .verify import VerifyReport, verify_recipe
from .zipsafe import Limits, SafeZip, UnsafeZipError

AUTH_MAP_KEY = settings.RECIPE_AUTH_MAP
INTEGRITY_OK = ("valid", "unknown-key", "missing", "cannot-check")


@dataclass
class OpenResult:
    folder: Path
    project: Path
    report: VerifyReport
    findings: list[sanitize.Finding] = field(default_factory=list)
    placeholders: dict[str, str] = field(default_factory=dict)
    unmapped_auth: list[str] = field(default_factory=list)

    def messages(self) -> list[str]:
        return [f.message for f in self.findings]


def refusal(report: VerifyReport, allow_untrusted: bool) -> str:
    """Why a recipe must not be unpacked ("" when it may be)."""
    if report.signature == "invalid":
        return tr("The recipe's signature is invalid: it was changed after signing. It was not opened.")
    integrity = [p for p in report.problems if p.entry not in ("manifest-sha256.txt.minisig",)]
    if integrity:
        first = integrity[0]
        return tr("The recipe is damaged or was tampered with ({entry}: {message}). It was not opened.").format(
            entry=first.entry or tr("archive"), message=first.message
        )
    if report.signature != "valid" and not allow_untrusted:
        if report.signature == "missing":
            return tr(
                "The recipe is not signed. Open it only if you trust where it came from (allow untrusted recipes)."
            )
        if report.signature == "cannot-check":
            return tr(
                "The recipe's signature could not be checked here; nothing shows it was changed. "
                "Open it only if you trust where it came from (allow untrusted recipes)."
            )
        return tr(
            "The recipe is signed by key {key}, which you do not trust. Add the key to your trusted keys, or allow untrusted recipes."
        ).format(key=report.key_id)
    return ""


def clean_project(
    path: Path, folder: Path, auth_map: dict[str, str]
) -> tuple[list[sanitize.Finding], dict[str, str], list[str]]:
    """Neutralise code, references outside ``folder`` and its declared services, and credentials (confine.py)."""
    return confine.clean_project(path, folder, auth_map)


def clean_style(path: Path) -> list[sanitize.Finding]:
    folder = path.parent.parent
    return confine.clean_xml_file(path, folder, confine.declared_services(folder))


def unpack(
    recipe: str | Path,
    folder: str | Path,
    *,
    trusted: list[tuple[str, sign.PublicKey]] | None = None,
    allow_untrusted: bool = False,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> OpenResult:
    """Verify, then extract into ``folder`` (new or empty) and neutralise. Raises RecipeError to refuse."""
    progress = progress or Progress()
    folder = free_folder(Path(folder))  # a folder in use gets a new sibling: nothing of the user's is touched
    report = verify_recipe(
        recipe,
        trusted,
        limits=limits,
        progress=Progress(lambda p: progress.set_percent(p * 0.4), progress.is_cancelled),
    )
    reason = refusal(report, allow_untrusted)
    if reason:
        raise RecipeError(reason, detail="; ".join(f"{p.entry}: {p.message}" for p in report.problems))
    created = not folder.exists()
    try:
        with SafeZip(recipe, limits) as zipped:
            if not zipped.has(PROJECT_MEMBER):
                raise RecipeError(tr("The recipe holds no project ({name}).").format(name=PROJECT_MEMBER))
            zipped.extract_all(
                folder, progress=lambda p: progress.set_percent(40 + p * 0.5), cancelled=progress.is_cancelled
            )
        project = folder / PROJECT_MEMBER
        findings, placeholders, unmapped = clean_project(project, folder, settings.get_json(AUTH_MAP_KEY, {}))
        findings += confine.clean_folder(folder, project)
    except (RecipeError, UnsafeZipError, OSError) as err:
        _remove_tree(folder, created)
        if isinstance(err, RecipeError):
            raise
        raise RecipeError(tr("The recipe could not be unpacked: {error}").format(error=err)) from err
    progress.set_percent(100.0)
    result = OpenResult(folder, project, report, findings, placeholders, unmapped)
    if not report.valid:
        result.findings.insert(0, sanitize.Finding("trust", "", refusal(report, False)))
    for name in unmapped:
        result.findings.append(
            sanitize.Finding(
                "authcfg",
                name,
                tr("Credentials '{name}' are needed: map them to one of your authentication configurations.").format(
                    name=name
                ),
            )
        )
    return result


def recipe_name(recipe: str | Path) -> str:
    name = Path(recipe).name
    for suffix in (".dtfl.zip", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "recipe"
    return Path(recipe).stem or "recipe"


def default_folder(recipe: str | Path, parent: str | Path | None = None) -> Path:
    """Where a recipe unpacks unless the person chooses otherwise: a free subfolder named after the recipe,
    under the folder used last time (or Documents/DTFL recipes)."""
    if parent is None:
        home = Path.home()
        parent = (home / "Documents" if (home / "Documents").is_dir() else home) / "DTFL recipes"
    return free_folder(Path(parent) / recipe_name(recipe))


def free_folder(folder: Path) -> Path:
    """``folder`` when it does not exist or is empty, else the first free sibling ``name-2``, ``name-3``…"""
    candidate, n = folder, 1
    while candidate.exists() and (not candidate.is_dir() or any(candidate.iterdir())):
        n += 1
        candidate = folder.with_name(f"{folder.name}-{n}")
    return candidate


def _remove_tree(folder: Path, created: bool) -> None:
    import shutil

    if not folder.exists():
        return
    for child in folder.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
    if created:
        folder.rmdir()


def map_credentials(result: OpenResult, mapping: dict[str, str], *, remember: bool = True) -> list[str]:
    """Point the recipe's ``${authcfg:name}`` placeholders at the receiver's own authentication configurations
    (ids from the QGIS auth database); remembered in settings for the next recipe. Returns names still unmapped."""
    mapping = {k: v for k, v in mapping.items() if v}
    if remember and mapping:
        stored = settings.get_json(AUTH_MAP_KEY, {})
        stored.update(mapping)
        settings.set_json(AUTH_MAP_KEY, stored)
    tree = qgsxml.read_project_xml(result.project)
    result.unmapped_auth = sanitize.apply_auth_map(tree, mapping)
    qgsxml.write_project_xml(tree, result.project)
    return result.unmapped_auth


def open_in_project(result: OpenResult, project) -> bool:
    """Read the cleaned project into ``project`` (main thread). Never touches qgis/enableMacros, and never adds the
    recipe to QGIS 4's trusted project folders (it is denied for the session where QGIS allows that)."""
    keep_untrusted(result)
    return bool(project.read(str(result.project)))


def keep_untrusted(result: OpenResult) -> None:
    """Before QGIS reads the project (also through iface.addProject): its folder stays untrusted for code."""
    state = trust.keep_untrusted(result.project)
    if state.already_trusted:
        result.findings.append(
            sanitize.Finding(
                "trust",
                "",
                tr(
                    "QGIS is set to trust this folder for embedded code; the recipe's code was removed all the same. "
                    "Remove the folder from Settings > Options > Security if you did not mean to trust it."
                ),
            )
        )
