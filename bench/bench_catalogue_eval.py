"""Catalogue search relevance, reported honestly: the public development set, per category, next to FTS5.

Data: the PDOK layer list of October 2021 (10,175 records) and the 80 judged queries in
../shared/data/catalogue/eval (scored by its own eval.py: hit@1, hit@3, hit@10, MRR@10, zero results).
The 80 queries were split before tuning: ids ending in -04 and -08 (two per category, 20 queries) were
kept aside as a held-out part; the other 60 are the development part. A second held-out check,
bench/data/catalogue_extra_queries.json, holds 36 queries written from user intents over the same list.

Baseline, in the same run: eval.py's plain SQLite FTS5 (bm25, AND of the quoted words).
Ablation: each mechanism of the engine switched off in turn (query.MECHANISMS), hit@3 / MRR@10 /
zero results over all 116 queries, so each one's contribution is visible.

Run alone: .venv/bin/python bench/bench_catalogue_eval.py [--quick] [-v]
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data")) / "catalogue" / "eval"
EXTRA = ROOT / "bench" / "data" / "catalogue_extra_queries.json"
HELD_OUT_SUFFIXES = ("-04", "-08")


def load_eval():
    spec = importlib.util.spec_from_file_location("dtfl_catalogue_eval", EVAL / "eval.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def query_sets(ev, records: list[dict]) -> dict[str, list[dict]]:
    queries = json.loads((EVAL / "queries.json").read_text("utf-8"))["queries"]
    extra = json.loads(EXTRA.read_text("utf-8"))["queries"]
    for q in extra:
        q["relevant"] = [i for i, r in enumerate(records) if ev.rule_matches(q["rule"], r)]
    return {
        "dev": [q for q in queries if not q["id"].endswith(HELD_OUT_SUFFIXES)],
        "held-out": [q for q in queries if q["id"].endswith(HELD_OUT_SUFFIXES)],
        "extra": extra,
    }


def build_index(path: Path):
    from dtfl_plugin.catalogue.index import CatalogueIndex
    from dtfl_plugin.catalogue.sources.pdok_layers import parse_layer_list

    index = CatalogueIndex(path)
    # The original pre-2022 shape ({"services": [...]}), read as the pdok-layers source reads it.
    data = json.loads((EVAL / "pdok-layers-2021.json").read_text("utf-8"))
    index.apply_harvest("pdok-layers", parse_layer_list(data, "pdok-layers").entries)
    return index


def engine(index):
    def search(query: str) -> list[dict]:
        return [{"service_url": h.entry.service_url, "name": h.entry.name} for h in index.search(query, limit=10)]

    return search


def table(title: str, summary: dict, out) -> None:
    print(f"\n{title}", file=out)
    print("| category | n | hit@1 | hit@3 | hit@10 | MRR@10 | zero |", file=out)
    print("|---|---|---|---|---|---|---|", file=out)
    for cat, m in summary.items():
        print(f"| {cat} | {m['n']} | {m['hit@1']:.3f} | {m['hit@3']:.3f} | {m['hit@10']:.3f} | {m['mrr@10']:.3f} "
              f"| {m['zero_results']} |", file=out)  # fmt: skip


def summary_rows(name: str, ours: dict, base: dict) -> list[dict]:
    """Rows for make bench: every metric for the whole set, hit@3 and zero results per category."""
    rows = []
    for metric in ("hit@1", "hit@3", "hit@10", "mrr@10", "zero_results"):
        rows.append({"benchmark": "catalogue relevance", "metric": f"{name} {metric}",
                     "ours": round(ours["ALL"][metric], 3), "baseline": round(base["ALL"][metric], 3),
                     "ratio": None, "unit": "", "note": "baseline: plain FTS5 bm25 (eval.py)"})  # fmt: skip
    for cat, m in ours.items():
        if cat != "ALL":
            rows.append({"benchmark": "catalogue relevance", "metric": f"{name} {cat} hit@3",
                         "ours": round(m["hit@3"], 3), "baseline": round(base[cat]["hit@3"], 3), "ratio": None,
                         "unit": "", "note": f"zero results {m['zero_results']} (FTS5 {base[cat]['zero_results']})"})  # fmt: skip
    return rows


def size_row(index, like_path: Path, out) -> dict:
    """The index's size on real records (no synthetic repetition) against a plain LIKE table of the same."""
    import sqlite3

    entries = index.entries()
    like = sqlite3.connect(str(like_path))
    like.execute("CREATE TABLE records(id INTEGER PRIMARY KEY, anytext TEXT)")
    fields = ("title", "abstract", "name", "organisation", "service_url")
    with like:
        like.executemany("INSERT INTO records(anytext) VALUES (?)",
                         ((" ".join(str(getattr(e, f) or "") for f in fields),) for e in entries))  # fmt: skip
    like.close()
    index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ours, base = index.path.stat().st_size / 1e6, like_path.stat().st_size / 1e6
    print(f"index size on the real list: {ours:.1f} MB, LIKE table {base:.1f} MB ({ours / base:.2f}x)", file=out)
    return {"benchmark": "catalogue index size", "metric": f"real 2021 list, {len(entries)} entries", "ours": round(ours, 2),
            "baseline": round(base, 2), "ratio": round(ours / base, 3), "unit": "MB", "note": "baseline: LIKE table; aim <= 2x"}  # fmt: skip


def latency_rows(ev, records, sets, index, conn, out) -> list[dict]:
    """Wall time per search on the real list (the dev and extra queries, 5 times, and every keystroke of
    them), against plain FTS5 bm25 on the same records in the same run."""
    queries = [q["query"] for name in ("dev", "extra") for q in sets[name]]
    keystrokes = sorted({q[:k] for q in queries for k in range(2, len(q) + 1)})
    index.warm()  # vocabulary, statistics, forward index: what the harvest task does after a harvest
    index.search("warm up", 20)
    ours = timed(lambda q: index.search(q, 20), queries * 5)
    base = timed(lambda q: ev.baseline_search(conn, records, q, 20), queries * 5)
    typing = timed(lambda q: index.search(q, 20), keystrokes)
    print(f"search on the real list: p95 {p95(ours):.2f} ms (FTS5 bm25 {p95(base):.2f} ms), "
          f"{len(keystrokes)} keystrokes p95 {p95(typing):.2f} ms", file=out)  # fmt: skip
    note = f"{len(queries)} queries x 5; baseline: plain FTS5 bm25 (eval.py)"
    return [
        {"benchmark": "catalogue search", "metric": "real 2021 list, median", "ours": round(statistics.median(ours), 3),
         "baseline": round(statistics.median(base), 3), "ratio": round(statistics.median(ours) / statistics.median(base), 3),
         "unit": "ms", "note": note},
        {"benchmark": "catalogue search", "metric": "real 2021 list, p95", "ours": round(p95(ours), 3),
         "baseline": round(p95(base), 3), "ratio": round(p95(ours) / p95(base), 3), "unit": "ms", "note": note},
        {"benchmark": "catalogue search", "metric": "real 2021 list, as-you-type p95", "ours": round(p95(typing), 3),
         "baseline": None, "ratio": None, "unit": "ms", "note": f"{len(keystrokes)} keystrokes"},
    ]  # fmt: skip


def timed(search, queries: list[str]) -> list[float]:
    out = []
    for query in queries:
        start = time.perf_counter()
        search(query)
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def ablation(ev, records, sets, index) -> list[tuple[str, dict]]:
    from dtfl_plugin.catalogue.query import MECHANISMS

    everything = [q for qs in sets.values() for q in qs]
    out = [("all mechanisms", ev.score(everything, records, engine(index))["summary"]["ALL"])]
    for name in list(MECHANISMS):
        MECHANISMS[name] = False
        try:
            out.append((f"without {name}", ev.score(everything, records, engine(index))["summary"]["ALL"]))
        finally:
            MECHANISMS[name] = True
    return out


def run(quick: bool = False, out=sys.stdout) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    ev = load_eval()
    records = ev.load_records(str(EVAL / "pdok-layers-2021.json"))
    sets = query_sets(ev, records)
    rows: list[dict] = []
    conn = ev.baseline_index(records)
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-eval-") as tmp:
        start = time.perf_counter()
        index = build_index(Path(tmp) / "eval.sqlite")
        print(f"index of {len(records)} records built in {time.perf_counter() - start:.1f} s", file=out)
        rows.append(size_row(index, Path(tmp) / "like.sqlite", out))
        rows += latency_rows(ev, records, sets, index, conn, out)
        for name, queries in sets.items():
            ours = ev.score(queries, records, engine(index))["summary"]
            base = ev.score(queries, records, lambda q: ev.baseline_search(conn, records, q, 10))["summary"]
            table(f"{name} ({len(queries)} queries): DTFL", ours, out)
            table(f"{name} ({len(queries)} queries): FTS5 baseline", base, out)
            rows += summary_rows(name, ours, base)
        if not quick:
            print("\nablation over all queries (hit@3, MRR@10, zero results)", file=out)
            for label, m in ablation(ev, records, sets, index):
                print(f"| {label} | {m['hit@3']:.3f} | {m['mrr@10']:.3f} | {m['zero_results']} |", file=out)
                rows.append({"benchmark": "catalogue ablation", "metric": f"{label} hit@3", "ours": round(m["hit@3"], 3),
                             "baseline": None, "ratio": None, "unit": "", "note": f"zero results {m['zero_results']}"})  # fmt: skip
        index.close()
    return rows


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    run(quick="--quick" in sys.argv)
