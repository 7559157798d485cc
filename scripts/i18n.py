#!/usr/bin/env python3
"""Build the Dutch translation: i18n/nl/*.json + tr("...") calls -> i18n/dtfl_nl.ts -> i18n/dtfl_nl.qm.

Why an AST scan and not pylupdate5: our ``tr()`` is a module-level function with one fixed
context ("DTFL", see dtfl_plugin/i18n.py), which pylupdate does not understand, and rooms keep
their translations as flat english->dutch JSON maps that merge without XML conflicts.

Usage:
    scripts/i18n.py            write the .ts, compile the .qm, list what is untranslated
    scripts/i18n.py --check    the same, and exit 1 if anything is untranslated or not literal
    scripts/i18n.py --no-compile  only write the .ts (no lrelease needed)
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dtfl_plugin"
I18N = ROOT / "i18n"
CONTEXT = "DTFL"
LANGUAGES = {"nl": "nl_NL"}


@dataclass
class Message:
    source: str
    locations: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class Extraction:
    messages: dict[str, Message] = field(default_factory=dict)
    non_literal: list[tuple[str, int]] = field(default_factory=list)


def _is_tr_call(node: ast.Call) -> bool:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id == "tr"
    # self.tr("...") / DtflPlugin.tr("...") route to the same context
    return isinstance(func, ast.Attribute) and func.attr == "tr"


class _TrVisitor(ast.NodeVisitor):
    """Collects tr() calls; a call forwarding a parameter inside `def tr(...)` is not a message."""

    def __init__(self) -> None:
        self.calls: list[tuple[ast.Call, bool]] = []
        self._functions: list[str] = []

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # noqa: N815 - ast.NodeVisitor's naming

    def visit_Call(self, node: ast.Call) -> None:
        if _is_tr_call(node):
            forwarding = bool(self._functions) and self._functions[-1] == "tr"
            self.calls.append((node, forwarding))
        self.generic_visit(node)


def extract(package: Path = PACKAGE, root: Path = ROOT) -> Extraction:
    """Every tr("literal") in the package, in a stable order (file, line)."""
    result = Extraction()
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = path.relative_to(root).as_posix()
        visitor = _TrVisitor()
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), filename=rel))
        for call, forwarding in sorted(visitor.calls, key=lambda c: (c[0].lineno, c[0].col_offset)):
            arg = call.args[0] if len(call.args) == 1 and not call.keywords else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                msg = result.messages.setdefault(arg.value, Message(arg.value))
                msg.locations.append((rel, call.lineno))
            elif not (forwarding and isinstance(arg, ast.Name)):
                result.non_literal.append((rel, call.lineno))
    return result


def load_translations(lang: str, i18n_dir: Path = I18N) -> tuple[dict[str, str], list[str]]:
    """Merge i18n/<lang>/*.json; returns (map, problems). Conflicting duplicates are problems."""
    merged: dict[str, str] = {}
    origin: dict[str, str] = {}
    problems: list[str] = []
    for path in sorted((i18n_dir / lang).glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            problems.append(f"{path.relative_to(ROOT)}: not valid JSON ({err})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{path.relative_to(ROOT)}: must be a JSON object english -> {lang}")
            continue
        for english, translated in data.items():
            if not isinstance(translated, str) or not translated.strip():
                continue
            if english in merged and merged[english] != translated:
                problems.append(
                    f"{path.name} and {origin[english]} translate {english!r} differently "
                    f"({translated!r} vs {merged[english]!r}); {origin[english]} wins"
                )
                continue
            merged[english] = translated
            origin.setdefault(english, path.name)
    return merged, problems


def placeholder_problems(source: str, translation: str) -> list[str]:
    """A translation must keep every {name} placeholder, or .format() raises KeyError at run time."""
    import string

    def names(text: str) -> set[str]:
        try:
            return {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
        except ValueError:
            return {"<malformed>"}

    missing = names(source) ^ names(translation)
    return [f"{source!r}: placeholders differ in translation ({', '.join(sorted(missing))})"] if missing else []


def render_ts(lang: str, extraction: Extraction, translations: dict[str, str], ts_dir: Path = I18N) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!DOCTYPE TS>",
        f'<TS version="2.1" language="{LANGUAGES.get(lang, lang)}" sourcelanguage="en">',
        "<context>",
        f"    <name>{CONTEXT}</name>",
    ]
    for source, msg in extraction.messages.items():
        lines.append("    <message>")
        for rel, line in msg.locations:
            filename = os.path.relpath(ROOT / rel, ts_dir).replace(os.sep, "/")
            lines.append(f'        <location filename="{escape(filename, {chr(34): "&quot;"})}" line="{line}"/>')
        lines.append(f"        <source>{escape(source)}</source>")
        if source in translations:
            lines.append(f"        <translation>{escape(translations[source])}</translation>")
        else:
            lines.append('        <translation type="unfinished"></translation>')
        lines.append("    </message>")
    lines += ["</context>", "</TS>", ""]
    return "\n".join(lines)


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a built file is as readable as any other
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def find_lrelease() -> str | None:
    """lrelease of Qt 5 (qttools5-dev-tools): the Qt-version-specific paths first, then PATH."""
    candidates = [
        os.environ.get("LRELEASE", ""),
        "/usr/lib/qt5/bin/lrelease",
        "/usr/lib/x86_64-linux-gnu/qt5/bin/lrelease",
        "/usr/lib/aarch64-linux-gnu/qt5/bin/lrelease",
        shutil.which("lrelease-qt5") or "",
        shutil.which("lrelease") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def compile_qm(ts: Path, qm: Path) -> None:
    lrelease = find_lrelease()
    if lrelease is None:
        raise SystemExit("lrelease not found: install qttools5-dev-tools (make setup does) or set LRELEASE=/path")
    fd, tmp = tempfile.mkstemp(prefix=f".{qm.name}.", suffix=".qm", dir=qm.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    try:
        proc = subprocess.run(
            [lrelease, "-silent", "-nounfinished", str(ts), "-qm", tmp], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0 or os.path.getsize(tmp) == 0:
            raise SystemExit(f"lrelease failed on {ts}: {proc.stdout}{proc.stderr}")
        os.replace(tmp, qm)
    finally:
        Path(tmp).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a string is untranslated or not literal")
    parser.add_argument("--no-compile", action="store_true", help="write the .ts only")
    args = parser.parse_args(argv)

    extraction = extract()
    failed = False
    for rel, line in extraction.non_literal:
        print(f"NOT LITERAL  {rel}:{line}: tr() needs one literal string (use .format() for values)")
        failed = True
    for lang in LANGUAGES:
        translations, problems = load_translations(lang)
        for problem in problems:
            print(f"WARNING  {problem}")
        for source in extraction.messages:
            if source in translations:
                for problem in placeholder_problems(source, translations[source]):
                    print(f"PLACEHOLDER  {problem}")
                    failed = True
        ts = I18N / f"dtfl_{lang}.ts"
        write_atomic(ts, render_ts(lang, extraction, translations))
        missing = [m for s, m in extraction.messages.items() if s not in translations]
        unused = sorted(set(translations) - set(extraction.messages))
        done = len(extraction.messages) - len(missing)
        print(f"{lang}: {done}/{len(extraction.messages)} strings translated -> {ts.relative_to(ROOT)}")
        for msg in missing:
            rel, line = msg.locations[0]
            print(f"  UNTRANSLATED  {rel}:{line}  {msg.source!r}")
        if unused:
            print(f"  ({len(unused)} translations in i18n/{lang}/*.json match no tr() call any more)")
        if missing:
            failed = True
        if not args.no_compile:
            qm = ts.with_suffix(".qm")
            compile_qm(ts, qm)
            print(f"{lang}: compiled {qm.relative_to(ROOT)} ({qm.stat().st_size} bytes)")
    return 1 if (args.check and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
