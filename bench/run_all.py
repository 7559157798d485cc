#!/usr/bin/env python3
"""make bench: run every bench/bench_*.py, print one table, write bench/results.md.

Each module exposes ``run(quick: bool = False) -> list[dict]`` with rows
{benchmark, metric, ours, baseline, ratio, unit, note}. Each runs in its own process; one that raises, crashes
or times out is listed as failed and the others still run; the exit status is non-zero if any failed.

Usage: .venv/bin/python bench/run_all.py [--quick] [--only NAME ...] [--output PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
ROWS_MARK = "DTFL-BENCH-ROWS "
COLUMNS = ("benchmark", "metric", "ours", "baseline", "ratio", "unit", "note")


def discover(only: list[str] | None = None) -> list[Path]:
    paths = sorted(BENCH.glob("bench_*.py"))
    if only:
        paths = [p for p in paths if p.stem in only or p.stem.removeprefix("bench_") in only]
    return paths


def load(path: Path):
    spec = importlib.util.spec_from_file_location(f"dtfl_bench_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def child(path: Path, quick: bool) -> int:
    """In the child process: run one benchmark and print its rows as the last line."""
    rows = load(path).run(quick=quick)
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "metric" in r and "ours" in r for r in rows):
        raise TypeError("run() must return a list of row dicts with at least 'metric' and 'ours'")
    sys.stdout.flush()
    print("\n" + ROWS_MARK + json.dumps(rows, default=str), flush=True)
    return 0


def run_one(path: Path, quick: bool, timeout: float) -> tuple[list[dict], str | None, float]:
    """(rows, error or None, seconds). Each benchmark runs in its own process: one that crashes (a segfault,
    a Qt abort) or hangs is reported as failed and the others still run; QGIS apps never share a process."""
    start = time.perf_counter()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(path)] + (["--quick"] if quick else [])
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A profile of its own per benchmark: a bench never writes a person's QGIS settings or Processing folders.
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-profile-") as profile:
        env.update(QGIS_CUSTOM_CONFIG_PATH=profile, XDG_CONFIG_HOME=str(Path(profile) / "xdg"))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return [], f"timed out after {timeout:.0f} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    marked = [line for line in proc.stdout.splitlines() if line.startswith(ROWS_MARK)]
    if proc.returncode == 0 and marked:
        return json.loads(marked[-1][len(ROWS_MARK) :]), None, seconds
    tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
    return [], f"exit status {proc.returncode}\n{tail}", seconds


def fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def machine_header(quick: bool) -> list[str]:
    try:
        from qgis.core import Qgis

        qgis_version = Qgis.version()
    except ImportError:
        qgis_version = "not importable"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        cpu = platform.processor() or "unknown"
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").is_file() else "?"
    return [
        f"- date: {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- QGIS {qgis_version}, Python {platform.python_version()}, Debian {debian}",
        f"- machine: {cpu}, {os.cpu_count()} cores (shared), {platform.machine()}",
        f"- mode: {'--quick' if quick else 'full'}; ratio = ours / baseline (lower is better for times)",
    ]


def table(rows: list[dict]) -> list[str]:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in COLUMNS) + " |" for r in rows]
    return lines


def write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    mask = os.umask(0)
    os.umask(mask)
    os.fchmod(fd, 0o666 & ~mask)  # mkstemp makes 0600: results are for everyone to read
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (smoke run)")
    parser.add_argument("--only", nargs="*", help="bench module names (startup or bench_startup)")
    parser.add_argument("--output", type=Path, default=BENCH / "results.md")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per benchmark (default 600, quick 300)")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.child:
        return child(args.child, args.quick)
    timeout = args.timeout or (300.0 if args.quick else 600.0)

    rows: list[dict] = []
    failures: list[tuple[str, str]] = []
    timings: list[str] = []
    paths = discover(args.only)
    if not paths:
        print("no bench/bench_*.py found")
        return 1
    for path in paths:
        print(f"[bench] {path.stem} ...", flush=True)
        got, error, seconds = run_one(path, args.quick, timeout)
        timings.append(f"{path.stem}: {seconds:.1f} s")
        if error is None:
            rows += got
        else:
            failures.append((path.stem, error))
            rows.append({"benchmark": path.stem.removeprefix("bench_"), "metric": "FAILED", "ours": None,
                         "note": error.strip().splitlines()[-1]})  # fmt: skip
            print(error, file=sys.stderr)

    lines = table(rows)
    print("\n".join(lines))
    doc = ["# DTFL benchmarks", "", *machine_header(args.quick), "", *lines, ""]
    doc += ["Run times: " + "; ".join(timings) + ".", ""]
    if failures:
        doc += ["## Failed", ""]
        for name, error in failures:
            doc += [f"### {name}", "", "```", error.rstrip(), "```", ""]
    write_atomic(args.output, "\n".join(doc))
    print(f"[bench] wrote {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")
    if failures:
        print(f"[bench] {len(failures)} failed: {', '.join(n for n, _ in failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
