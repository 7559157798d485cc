"""Layering and hygiene rules of the codebase, checked on the source (AST), so a broken rule fails the build.

Rules (see the team brief and ARCHITECTURE.md):
- catalogue/, recipe/, provenance/ import no qgis.gui and no iface: testable headless, shared by GUI and Processing;
- every dtfl_plugin/**/__init__.py imports nothing from qgis, so qgis-free modules import cleanly;
- modules named *_core.py (imported by the pygeoapi server process) import no qgis, even indirectly;
- no tests inside the plugin package;
- one Processing algorithm class per file under */algorithms/;
- no silent `except Exception: pass` (nor bare except / BaseException / contextlib.suppress(Exception));
- no Python file over 500 lines (over 400 gives a warning), no function over 80 lines (def to last line);
- every algorithm subclasses the DTFL base: `createInstance` is defined once (processing/base.py);
- layer sources are taken apart by QGIS (`QgsProviderRegistry.decodeUri`), never split by hand on "|";
- no module import cycles inside dtfl_plugin, counting imports placed inside functions;
- the flow: a module imports its own room, the foundations and earlier rooms only (docs/architecture.md,
  which names every package and module, and states the same flow order).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dtfl_plugin"
# Built, generated or installed copies (see .gitignore), not sources.
SKIP_DIRS = {
    ".venv", ".git", "build", "dist", ".sandbox", "__pycache__", ".run-profile", "demo-output", "test-output",
    ".qgis-settings", ".pytest_cache", ".ruff_cache", "node_modules",
}  # fmt: skip
HEADLESS_ROOMS = ("catalogue", "recipe", "provenance", "publish")
WARN_LINES, MAX_LINES = 400, 500
MAX_FUNCTION_LINES = 80


def project_files() -> list[Path]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).parts
        if any(part in SKIP_DIRS or part.startswith(".venv") for part in rel) or rel[:2] == ("bench", "out"):
            continue
        out.append(path)
    return out


def parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(tree: ast.AST) -> list[tuple[int, str, list[str]]]:
    """(line, absolute module or '' for relative, imported names) for every import anywhere in the tree."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            found.append((node.lineno, "" if node.level else module, [a.name for a in node.names]))
    return found


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_headless_rooms_import_no_gui():
    offenders = []
    for room in HEADLESS_ROOMS:
        for path in sorted((PACKAGE / room).rglob("*.py")):
            for line, module, names in imported_modules(parse(path)):
                gui = module == "qgis.gui" or module.startswith("qgis.gui.") or (module == "qgis" and "gui" in names)
                iface = "iface" in names or module == "qgis.utils"
                if gui or iface:
                    offenders.append(f"{rel(path)}:{line} imports {module} {names or ''}".strip())
    assert not offenders, "catalogue/, recipe/ and provenance/ must not import qgis.gui or iface:\n" + "\n".join(
        offenders
    )


def test_package_init_files_import_no_qgis():
    offenders = []
    for path in sorted(PACKAGE.rglob("__init__.py")):
        for line, module, _ in imported_modules(parse(path)):
            if module.split(".")[0] in ("qgis", "PyQt5", "PyQt6"):
                offenders.append(f"{rel(path)}:{line} imports {module}")
    assert not offenders, "__init__.py files must stay free of qgis imports:\n" + "\n".join(offenders)


def test_core_modules_import_without_qgis():
    """A *_core.py module (run by the pygeoapi server process too) loads without pulling in qgis."""
    cores = sorted(PACKAGE.rglob("*_core.py"))
    if not cores:
        pytest.skip("no *_core.py modules yet")
    modules = [".".join(p.relative_to(ROOT).with_suffix("").parts) for p in cores]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('qgis', 'PyQt5', 'PyQt6'))\n"
        "print(','.join(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "", f"{modules} import qgis modules: {proc.stdout.strip()}"


def test_no_tests_inside_the_plugin_package():
    offenders = [
        rel(p)
        for p in PACKAGE.rglob("*")
        if p.name in ("tests", "test", "conftest.py")
        or (p.suffix == ".py" and (p.name.startswith("test_") or p.stem.endswith("_test")))
    ]
    for path in sorted(PACKAGE.rglob("*.py")):
        for line, module, _ in imported_modules(parse(path)):
            if module.split(".")[0] in ("pytest", "unittest", "pytest_qgis"):
                offenders.append(f"{rel(path)}:{line} imports {module}")
    assert not offenders, "tests belong in tests/, not in the plugin package:\n" + "\n".join(offenders)


def _algorithm_classes(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                base_name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                if base_name == "DtflAlgorithm" or (
                    base_name.startswith("QgsProcessing") and base_name.endswith("Algorithm")
                ):
                    names.append(node.name)
    return names


def test_one_algorithm_per_file():
    offenders = []
    for path in sorted(PACKAGE.glob("**/algorithms/*.py")):
        classes = _algorithm_classes(parse(path))
        if len(classes) > 1:
            offenders.append(f"{rel(path)}: {', '.join(classes)}")
    assert not offenders, "one Processing algorithm per file under */algorithms/:\n" + "\n".join(offenders)


def _is_broad(node: ast.expr | None) -> bool:
    if node is None:
        return True  # bare except
    if isinstance(node, ast.Tuple):
        return any(_is_broad(elt) for elt in node.elts)
    name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")
    return name in ("Exception", "BaseException")


def _does_nothing(body: list[ast.stmt]) -> bool:
    return all(
        isinstance(stmt, (ast.Pass, ast.Continue))
        or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))  # `...` or a string
        for stmt in body
    )


def test_no_silent_broad_except():
    offenders = []
    for path in project_files():
        tree = parse(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and _is_broad(node.type) and _does_nothing(node.body):
                offenders.append(f"{rel(path)}:{node.lineno} swallows every exception silently")
            if isinstance(node, ast.Call):
                func = node.func
                fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if fname == "suppress" and any(_is_broad(arg) for arg in node.args):
                    offenders.append(f"{rel(path)}:{node.lineno} suppress(Exception) swallows every exception silently")
    assert not offenders, "log or handle the error (or catch the specific exception):\n" + "\n".join(offenders)


def test_file_sizes():
    too_long, long = [], []
    for path in project_files():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_LINES:
            too_long.append(f"{rel(path)}: {lines} lines")
        elif lines > WARN_LINES:
            long.append(f"{rel(path)}: {lines} lines")
    if long:
        warnings.warn(f"files over {WARN_LINES} lines (split them soon): " + "; ".join(long), stacklevel=1)
    assert not too_long, f"files over {MAX_LINES} lines: split by capability:\n" + "\n".join(too_long)


def _long_functions(tree: ast.AST, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int, int]]:
    """(name, first line, length) of every function or method longer than ``limit`` lines."""
    return [
        (node.name, node.lineno, node.end_lineno - node.lineno + 1)
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > limit
    ]


def test_no_long_functions():
    offenders = [
        f"{rel(path)}:{line} {name}() has {length} lines"
        for path in project_files()
        for name, line, length in _long_functions(parse(path))
    ]
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines: split them into steps:\n" + "\n".join(offenders)


def test_rules_catch_what_they_should():
    """The detectors themselves: each rule recognises a violation (a layout test that cannot fail is useless)."""
    sample = parse_text(
        "from qgis.utils import iface\n"
        "from qgis import gui\n"
        "import contextlib\n"
        "try:\n    x = 1\nexcept Exception:\n    pass\n"
        "try:\n    x = 1\nexcept:\n    ...\n"
        "try:\n    x = 1\nexcept ValueError:\n    pass\n"
        "with contextlib.suppress(Exception):\n    x = 2\n"
        "class A(QgsProcessingAlgorithm):\n    pass\n"
        "class B(core.QgsProcessingFeatureBasedAlgorithm):\n    pass\n"
    )
    imports = imported_modules(sample)
    assert (1, "qgis.utils", ["iface"]) in imports and (2, "qgis", ["gui"]) in imports
    handlers = [n for n in ast.walk(sample) if isinstance(n, ast.ExceptHandler)]
    assert [(_is_broad(h.type) and _does_nothing(h.body)) for h in handlers] == [True, True, False]
    assert _algorithm_classes(sample) == ["A", "B"]
    splits = (
        'a = s.split("|", 1)[0]\nb, _, c = s.partition("|")\nd = s.split(",")\ne = X.split("|")  # not a layer source\n'
    )
    assert _hand_splits(parse_text(splits), splits) == [1, 2]
    body = "\n".join(f"    x = {i}" for i in range(80))
    assert _long_functions(parse_text(f"def short():\n{body[:-11]}\ndef long():\n{body}\n    return x\n")) == [
        ("long", 81, 82)
    ]
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert import_cycles(graph) == [["a", "b", "c"]]


def _defined(name: str, paths) -> list[str]:
    """Where a function or method called ``name`` is defined, as path:line."""
    return [
        f"{rel(path)}:{node.lineno}"
        for path in sorted(paths)
        for node in ast.walk(parse(path))
        if isinstance(node, ast.FunctionDef) and node.name == name
    ]


def test_create_instance_defined_once():
    """One base owns instance creation; an algorithm passes constructor arguments via instance_args()."""
    found = _defined("createInstance", PACKAGE.rglob("*.py"))
    assert len(found) == 1 and found[0].startswith("dtfl_plugin/processing/base.py:"), (
        "createInstance belongs to DtflAlgorithm only (subclass the DTFL base):\n" + "\n".join(found)
    )


def test_algorithm_ids_are_file_names():
    """The base names an algorithm after its file; a name() of its own could disagree with the file."""
    found = _defined("name", PACKAGE.glob("**/algorithms/*.py"))
    assert not found, "algorithms take their id from their file name (DtflAlgorithm.name):\n" + "\n".join(found)


def _hand_splits(tree: ast.AST, source: str = "") -> list[int]:
    """Lines that take a layer source apart by hand: x.split("|"...), x.rsplit("|"...), x.partition("|").
    A line that splits something else on "|" says so: ``# ... not a layer source``."""
    text_lines = source.splitlines()
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("split", "rsplit", "partition", "rpartition")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "|"
            and not (node.lineno <= len(text_lines) and "not a layer source" in text_lines[node.lineno - 1])
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_no_hand_split_layer_sources():
    offenders = [
        f"{rel(path)}:{line}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line in _hand_splits(parse(path), path.read_text(encoding="utf-8"))
    ]
    assert not offenders, (
        "take layer sources apart with QGIS (provenance.layer_props.split_source / source_file, i.e. "
        "QgsProviderRegistry.decodeUri), not by hand:\n" + "\n".join(offenders)
    )


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def module_graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it imports, anywhere in the file (function-level imports count:
    they hide a cycle from Python until the function runs, not from the reader)."""
    files = {_module_name(p): p for p in sorted(package.rglob("*.py")) if "__pycache__" not in p.parts}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        deps: set[str] = set()
        for node in ast.walk(parse(path)):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                anchor = base[: len(base) - node.level + 1] if node.level else []
                module = ".".join(anchor + ([node.module] if node.module else []))
                targets = [f"{module}.{a.name}" if f"{module}.{a.name}" in files else module for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    deps.add(target)
        graph[name] = deps
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for dep in sorted(graph.get(node, ())):
            if dep not in index:
                visit(dep)
                low[node] = min(low[node], low[dep])
            elif dep in on_stack:
                low[node] = min(low[node], index[dep])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(cycles)


def test_no_import_cycles():
    cycles = import_cycles(module_graph())
    assert not cycles, (
        "module import cycles (imports inside functions count): move the shared part down:\n"
        + "\n".join(" <-> ".join(c) for c in cycles)
    )


ARCHITECTURE_PAGE = ROOT / "docs" / "architecture.md"
# Imported by every room, importing no room (processing.base: the algorithm base; provider.py is the top).
FOUNDATIONS = (
    "__about__", "errors", "i18n", "compat", "settings", "deps", "files", "net", "net_transfer", "net_thread", "safexml", "task",
    "transforms",
    "provenance",
)  # fmt: skip
FOUNDATION_MODULES = ("processing.base",)
FLOW = ("catalogue", "layers", "models", "recipe", "publish", "gui")


def flow_place(module: str) -> int:
    """0 for a foundation, 1.. for the rooms in flow order, after them the top (plugin.py, processing/provider.py)."""
    name = module.removeprefix("dtfl_plugin").lstrip(".")
    if name.split(".")[0] in FOUNDATIONS or name in FOUNDATION_MODULES:
        return 0
    first = name.split(".")[0]
    return FLOW.index(first) + 1 if first in FLOW else len(FLOW) + 1


def test_data_moves_forward():
    graph = module_graph()
    offenders = [
        f"{module} imports {dep}"
        for module, deps in sorted(graph.items())
        for dep in sorted(deps)
        if flow_place(dep) > flow_place(module)
    ]
    assert not offenders, (
        f"imports against the flow ({' -> '.join(FLOW)}; foundations import no room; see docs/architecture.md):\n"
        + "\n".join(offenders)
    )


def test_architecture_page_agrees_with_the_code():
    text = ARCHITECTURE_PAGE.read_text(encoding="utf-8")
    assert "Flow order of the rooms: " + " → ".join(FLOW) + "." in text
    names = [
        f"`{p.name}/`" if p.is_dir() else f"`{p.name}`"
        for p in sorted(PACKAGE.iterdir())
        if (p.is_dir() and (p / "__init__.py").is_file()) or p.suffix == ".py"
    ]
    names += [f"`{m.replace('.', '/')}.py`" for m in FOUNDATION_MODULES]
    missing = [n for n in names if n not in text]
    assert not missing, "docs/architecture.md does not describe: " + ", ".join(missing)


def parse_text(text: str) -> ast.Module:
    return ast.parse(text)
