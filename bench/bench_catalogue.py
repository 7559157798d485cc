"""Catalogue search: speed at 100,000 records and relevance, against the two methods people use today.

Data: the real PDOK layer list (2022 + current shapes) and the real NGR records in ../shared/data/catalogue,
scaled to 100,000 records (10,000 with quick=True) by deterministic synthetic variants (seeded): each variant
is a real record with a place, year and owner added to its title/abstract/name and a variant service path.

Baselines, in the same run on the same records:
- "PDOK plugin": the PDOK services plugin's filter, a case-insensitive regex of the typed words joined by
  ``.*`` (so words must appear in that order) over each record's concatenated type, title, abstract and
  name, results in list order;
- "AnyText LIKE": what a CSW ``PropertyIsLike csw:AnyText '%<query>%'`` (QGIS MetaSearch) does, as an SQLite
  ``LIKE`` scan over a concatenated text column, results in table order.

Relevance is measured on the real records only (103 entries; the synthetic variants would make many
near-identical "right answers"): 40 queries written as users type them (Dutch and English, other word
order, typos, synonyms, compounds, function words), each with the ids of the records a user wants; hit@3 and MRR.

Run alone: .venv/bin/python bench/bench_catalogue.py [--quick]
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data")) / "catalogue"

# (query as typed, predicate on the wanted entries)
QUERIES: list[tuple[str, str]] = [
    ("luchtfoto", "title~Luchtfoto Landelijke"),
    ("aerial photo 2015", "title~Luchtfoto Landelijke"),
    ("luchfoto", "title~Luchtfoto Landelijke"),  # typo
    ("kadastrale kaart", "name=Kadastralekaart"),
    ("kadastralekaart wmts", "name=Kadastralekaart"),
    ("cadastral map", "name=Kadastralekaart"),
    ("bgt pastel", "name=pastelvisualisatie|bgtpastel"),
    ("pastel bgt", "name=pastelvisualisatie|bgtpastel"),  # other word order
    ("hoogtekaart", "name^ahn"),
    ("ahn3 dtm", "name=ahn3_05m_dtm|ahn3_5m_dtm"),
    ("dtm ahn3 0.5", "name=ahn3_05m_dtm"),
    ("gemeentegrenzen", "name=bestuurlijkegebieden:Gemeentegebied|Gemeentegebied"),
    ("municipalities", "name=bestuurlijkegebieden:Gemeentegebied|Gemeentegebied"),
    ("provincies", "name=bestuurlijkegebieden:Provinciegebied|Provinciegebied"),
    ("landsgrens", "name=bestuurlijkegebieden:Landgebied|Landgebied"),
    ("natura 2000", "name=natura2000:natura2000|natura2000"),
    ("natura2000 gebieden", "name=natura2000:natura2000|natura2000"),
    ("flood risk", "name~ror_risico"),
    ("historische overstromingen", "name~ror_overstromingen"),
    ("overstromngen", "name~ror_overstromingen"),  # typo
    ("geluid spoorwegen nacht", "name=geluidskaartspoorwegennacht:lnight"),
    ("railway noise", "name=geluidskaartspoorwegennacht:lnight"),
    ("schiphol geluid", "name~schiphol_"),
    ("windsnelheid", "name~windsnelheden100m"),
    ("wind speed 100m", "name~windsnelheden100m"),
    ("population grid", "name=pd:pd-nl-grid-2012"),
    ("bevolking", "name^pd:pd-nl"),
    ("top10nl", "name=top10nlv2"),
    ("brt achtergrondkaart grijs", "name=grijs"),
    ("shellfish", "name=schelpdierenpercelen"),
    ("wandelroutes", "title~wandelnetwerken"),
    ("walking network", "title~wandelnetwerken"),
    ("waterways", "title~Waterwegen"),
    ("geologisch model", "title~Geologisch Model"),
    ("ammoniak veehouderij", "name=PS.ProtectedSitesEnvironment"),
    ("kaart van de gemeenten", "name=bestuurlijkegebieden:Gemeentegebied|Gemeentegebied"),  # function words
    ("actueel hoogtebestand", "name^ahn"),
    ("luchtfoto's", "title~Luchtfoto Landelijke"),  # possessive plural
    ("emissies riool", "name~facility_pollutant_transfer"),
    ("zwemwater", "name=HH.HealthDeterminantMeasure"),
]

PLACES = (
    "Amsterdam Rotterdam Den-Haag Utrecht Eindhoven Groningen Tilburg Almere Breda Nijmegen Apeldoorn Haarlem "
    "Arnhem Enschede Amersfoort Zaanstad Haarlemmermeer Den-Bosch Zwolle Zoetermeer Leiden Maastricht Dordrecht "
    "Ede Alphen Westland Alkmaar Emmen Delft Venlo Deventer Sittard Helmond Oss Amstelveen Hilversum Heerlen "
    "Nissewaard Hengelo Purmerend Schiedam Lelystad Roosendaal Leeuwarden Vlaardingen Almelo Gouda Zeist Assen "
    "Katwijk Veenendaal Hoorn Capelle Velsen Bergen Terneuzen Middelburg Vlissingen Texel Ameland Urk Goes"
).split()
OWNERS = (
    "Kadaster", "Rijkswaterstaat", "Provincie Utrecht", "Provincie Gelderland", "Waterschap Rivierenland",
    "Hoogheemraadschap Delfland", "Gemeente Amsterdam", "RIVM", "CBS", "TNO", "Rijksdienst voor Ondernemend Nederland",
)  # fmt: skip
EXTRA = ("actueel", "historisch", "concept", "definitief", "jaarlijks", "archief", "beta", "INSPIRE", "tijdreeks")
TYPE_CODES = {
    "WMS": "wms", "WMTS": "wmts", "WFS": "wfs", "WCS": "wcs", "OGC API Features": "api features",
    "OGC API Tiles": "api tiles", "ATOM": "atom", "Download": "download",
}  # fmt: skip


def base_entries():
    """The real records: PDOK layer list (both shapes) and NGR records (ISO 19139, OGC API - Records)."""
    from dtfl_plugin.catalogue.sources.base import SourceResult
    from dtfl_plugin.catalogue.sources.iso19139 import find_records, merge, parse_record, to_entries
    from dtfl_plugin.catalogue.sources.ogcapi_records import add_records, features_of
    from dtfl_plugin.catalogue.sources.pdok_layers import parse_layer_list
    from dtfl_plugin.catalogue.xmlsafe import parse

    out = []
    for path in sorted((DATA / "pdok-layers").glob("*.json")):
        out += parse_layer_list(json.loads(path.read_text("utf-8")), "pdok").entries
    ngr = SourceResult()
    for path in sorted((DATA / "iso19139").glob("*.xml")):
        for md in find_records(parse(path.read_bytes())):
            ngr.entries += to_entries(parse_record(md), "ngr")
    for path in sorted((DATA / "ogcapi-records").glob("*.json")):
        add_records(features_of(json.loads(path.read_text("utf-8"))), ngr, "ngr")
    return out + merge(ngr.entries)


def to_layer_record(entry) -> dict:
    """An Entry back in the PDOK layer-list shape (what a 100k layer list file would hold)."""
    return {
        "name": entry.name, "title": entry.title, "abstract": entry.abstract, "dataset_md_id": entry.dataset_id,
        "service_md_id": entry.service_id or entry.id.split(":", 1)[0], "service_url": entry.service_url,
        "service_type": TYPE_CODES.get(entry.service_type, "download"), "organisation": entry.organisation,
        "licence": entry.licence, "service_title": " ".join(entry.keywords[:1]),
    }  # fmt: skip


def synthetic_records(base: list, n: int, seed: int = 20260101) -> list[dict]:
    rng = random.Random(seed)
    records = [to_layer_record(e) for e in base]
    for e in records:
        e["name"] = e["name"] or "layer"
    i = 0
    while len(records) < n:
        src = base[rng.randrange(len(base))]
        place, year, extra, owner = rng.choice(PLACES), rng.randint(1995, 2026), rng.choice(EXTRA), rng.choice(OWNERS)
        rec = to_layer_record(src)
        slug = place.lower()
        rec["name"] = f"{src.name or 'layer'}_{slug}_{year}_{i}"
        rec["title"] = f"{src.title} {place.replace('-', ' ')} {year} {extra}"
        rec["abstract"] = f"{src.abstract} Gegevens voor {place.replace('-', ' ')} ({owner}), stand {year}."[:1500]
        rec["organisation"] = owner
        rec["dataset_md_id"] = f"synthetic-{i:06d}"
        base_url = src.service_url.split("?")[0].rstrip("/")
        rec["service_url"] = f"{base_url}/{slug}/v{year % 7 + 1}_0"
        records.append(rec)
        i += 1
    return records


def anytext(rec: dict) -> str:
    return " ".join(str(rec.get(k) or "") for k in ("title", "abstract", "name", "organisation", "service_url"))


class RegexBaseline:
    """The PDOK services plugin's filter: words joined by '.*', case-insensitive, list order."""

    def __init__(self, records: list[dict]) -> None:
        self.rows = [
            (i, f"{r['service_type']} {r['title']} {r['abstract']} {r['name']}") for i, r in enumerate(records)
        ]

    def search(self, query: str, limit: int = 20) -> list[int]:
        pattern = re.compile(".*".join(re.escape(w) for w in query.split()), re.IGNORECASE)
        out = []
        for i, text in self.rows:
            if pattern.search(text):
                out.append(i)
                if len(out) >= limit:
                    break
        return out


class LikeBaseline:
    """csw:AnyText LIKE '%query%' as an SQLite scan (MetaSearch sends the whole text as one pattern)."""

    def __init__(self, records: list[dict], path: str) -> None:
        self.conn = sqlite3.connect(path)
        self.conn.execute("CREATE TABLE records(id INTEGER PRIMARY KEY, anytext TEXT)")
        with self.conn:
            self.conn.executemany("INSERT INTO records VALUES (?, ?)", ((i, anytext(r)) for i, r in enumerate(records)))

    def search(self, query: str, limit: int = 20) -> list[int]:
        sql = "SELECT id FROM records WHERE anytext LIKE ? ORDER BY id LIMIT ?"
        return [r[0] for r in self.conn.execute(sql, (f"%{query.strip()}%", limit))]


def wanted(rule: str, entry) -> bool:
    field, op, values = re.match(r"(\w+)([~=^])(.*)", rule).groups()
    value = getattr(entry, field) or ""
    options = values.split("|")
    if op == "=":
        return value in options
    if op == "^":
        return any(value.startswith(v) for v in options)
    return any(v.lower() in value.lower() for v in options)


def relevance(ranked: list[list[int]], relevant: list[set[int]]) -> tuple[float, float]:
    hits, rr = 0, 0.0
    for got, want in zip(ranked, relevant):
        ranks = [i for i, rid in enumerate(got, 1) if rid in want]
        hits += bool(ranks and ranks[0] <= 3)
        rr += 1.0 / ranks[0] if ranks else 0.0
    return hits / len(ranked), rr / len(ranked)


def timed(fn, queries: list[str], repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall-clock ms per call; CPU ms per call appended to ``cpu`` (the machine is shared: CPU time is
    what the code costs, wall time what a user waits under that load)."""
    out = []
    for _ in range(repeat):
        for q in queries:
            start, start_cpu = time.perf_counter(), time.thread_time()
            fn(q)
            out.append((time.perf_counter() - start) * 1000.0)
            if cpu is not None:
                cpu.append((time.thread_time() - start_cpu) * 1000.0)
    return out


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def row(benchmark, metric, ours, baseline=None, unit="", note="", lower_is_better=True) -> dict:
    ratio = None
    if baseline not in (None, 0) and ours is not None:
        ratio = round(ours / baseline, 4)
    return {"benchmark": benchmark, "metric": metric, "ours": round(ours, 4), "baseline": None if baseline is None else round(baseline, 4),
            "ratio": ratio, "unit": unit, "note": note}  # fmt: skip


def run(quick: bool = False) -> list[dict]:
    from qgis.core import QgsApplication

    app = QgsApplication.instance() or QgsApplication([], False)
    if not QgsApplication.instance().platform():
        app.initQgis()
    n = 10_000 if quick else 100_000
    repeat = 3 if quick else 5
    base = base_entries()
    queries = [q for q, _ in QUERIES]
    rows = _speed_rows(base, n, repeat, queries)
    relevance_rows, run.details = _relevance_rows(base, queries)  # details: per query, for the report
    return rows + relevance_rows


def _speed_rows(base, n: int, repeat: int, queries: list[str]) -> list[dict]:
    """Import, index size and search latency on n synthetic records, against the two baselines."""
    from dtfl_plugin.catalogue.harvest import SourceConfig, harvest
    from dtfl_plugin.catalogue.index import CatalogueIndex

    rows: list[dict] = []
    records = synthetic_records(base, n)
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-cat-") as tmp:
        list_path = Path(tmp) / "layers.json"
        list_path.write_text(json.dumps(records, ensure_ascii=False), "utf-8")

        # Import: ours = read the layer list file + parse + Dutch text prep + FTS5 write in one transaction.
        index = CatalogueIndex(Path(tmp) / "catalogue.sqlite")
        start, start_cpu = time.perf_counter(), time.process_time()
        report = harvest(SourceConfig("pdok-layers", str(list_path), "bench"), index)
        ours_import, ours_import_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        start = time.perf_counter()
        regex = RegexBaseline(json.loads(list_path.read_text("utf-8")))
        regex_import = time.perf_counter() - start
        start, start_cpu = time.perf_counter(), time.process_time()
        like = LikeBaseline(json.loads(list_path.read_text("utf-8")), str(Path(tmp) / "like.sqlite"))
        like_import, like_import_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        rows.append(row("catalogue import", f"{n} records", ours_import, like_import, "s",
                        f"{report.total} entries; baseline: LIKE table load; PDOK-plugin list load {regex_import:.2f} s"))  # fmt: skip
        rows.append(
            row("catalogue import", f"{n} records, CPU", ours_import_cpu, like_import_cpu, "s", "process CPU time")
        )
        rows.append(
            row("catalogue import", "throughput", report.total / ours_import, None, "records/s", "aim: 100k < 20 s")
        )
        index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = index.path.stat().st_size / 1e6
        rows.append(row("catalogue index size", f"{n} records", size, Path(tmp, "like.sqlite").stat().st_size / 1e6, "MB",
                        f"baseline: LIKE table; layer list JSON {list_path.stat().st_size / 1e6:.1f} MB"))  # fmt: skip

        # What the harvest task does after a harvest, off the GUI thread: vocabulary, statistics, forward index.
        start, start_cpu = time.perf_counter(), time.process_time()
        index.warm()
        rows.append(row("catalogue search", "warm-up after a harvest", time.perf_counter() - start, None, "s",
                        f"CPU {time.process_time() - start_cpu:.2f} s; in the harvest task, searches go on meanwhile"))  # fmt: skip
        forward = index.forward()
        rows.append(row("catalogue search", "forward index in memory", forward.nbytes / 1e6, None, "MB",
                        f"{forward.ids.size} terms of {len(forward.lens)} rows, 4 bytes a term"))  # fmt: skip
        # Search latency per query (limit 20), the first call per connection warms caches as in the dock.
        start = time.perf_counter()
        index.search("warm up", 20)
        rows.append(row("catalogue search", "first search, cold caches", (time.perf_counter() - start) * 1000, None,
                        "ms", "once per harvest; done by the harvest task"))  # fmt: skip
        ours_cpu: list[float] = []
        regex_cpu: list[float] = []
        like_cpu: list[float] = []
        ours_ms = timed(lambda q: index.search(q, 20), queries, repeat, ours_cpu)
        regex_ms = timed(lambda q: regex.search(q, 20), queries, repeat, regex_cpu)
        like_ms = timed(lambda q: like.search(q, 20), queries, repeat, like_cpu)
        for name, base_ms, base_cpu in (
            ("PDOK plugin regex", regex_ms, regex_cpu),
            ("AnyText LIKE", like_ms, like_cpu),
        ):
            rows.append(row("catalogue search", f"median vs {name}", statistics.median(ours_ms), statistics.median(base_ms), "ms",
                            f"{len(queries)} queries x {repeat}"))  # fmt: skip
            rows.append(row("catalogue search", f"p95 vs {name}", p95(ours_ms), p95(base_ms), "ms", "aim: p95 < 10 ms"))
            rows.append(row("catalogue search", f"CPU median vs {name}", statistics.median(ours_cpu),
                            statistics.median(base_cpu), "ms", "thread CPU time"))  # fmt: skip
            rows.append(
                row("catalogue search", f"CPU p95 vs {name}", p95(ours_cpu), p95(base_cpu), "ms", "thread CPU time")
            )
        # As-you-type: every keystroke of every query (prefix search), ours only.
        keystrokes = sorted({q[:k] for q in queries for k in range(2, len(q) + 1)})
        typing_cpu: list[float] = []
        typing_ms = timed(lambda q: index.search(q, 20), keystrokes, 1, typing_cpu)
        rows.append(row("catalogue search", "as-you-type CPU p95", p95(typing_cpu), None, "ms", "thread CPU time"))
        rows.append(
            row("catalogue search", "as-you-type p95", p95(typing_ms), None, "ms", f"{len(keystrokes)} keystrokes")
        )
        rows += _cold_rows(index, queries)
        index.close()
        like.conn.close()
    return rows


def _cold_rows(index, queries: list[str]) -> list[dict]:
    """Search before the forward index is ready (right after a harvest, while the task builds it): candidates
    scored one by one from their prepared text, none kept from earlier searches."""
    from dtfl_plugin.catalogue import ranking

    cold_cpu: list[float] = []
    ranking.FORWARD = False
    try:
        cold_ms = timed(lambda q: (index.doc_cache().clear(), index.search(q, 20)), queries, 1, cold_cpu)
    finally:
        ranking.FORWARD = True
    note = "before the forward index is ready; nothing cached"
    return [
        row("catalogue search", "p95, text path", p95(cold_ms), None, "ms", f"{len(queries)} queries once; {note}"),
        row("catalogue search", "CPU p95, text path", p95(cold_cpu), None, "ms", "thread CPU time"),
        row("catalogue search", "median, text path", statistics.median(cold_ms), None, "ms", note),
    ]


def _relevance_rows(base, queries: list[str]) -> tuple[list[dict], list]:
    """hit@3 and MRR on the real records, against the two baselines; and the rank of the first hit per query."""
    from dtfl_plugin.catalogue.index import CatalogueIndex

    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="dtfl-bench-rel-") as tmp:
        index = CatalogueIndex(Path(tmp) / "real.sqlite")
        index.apply_harvest("real", base)  # as harvested: service-level NGR entries have no layer name
        entries = index.entries("real")
        pos = {(e.service_url, e.name, e.title): i for i, e in enumerate(entries)}
        regex = RegexBaseline([to_layer_record(e) for e in entries])
        like = LikeBaseline([to_layer_record(e) for e in entries], str(Path(tmp) / "like.sqlite"))
        relevant = [{i for i, e in enumerate(entries) if wanted(rule, e)} for _, rule in QUERIES]
        missing = [q for (q, _), want in zip(QUERIES, relevant) if not want]
        if missing:
            raise RuntimeError(f"relevance queries without a wanted record: {missing}")
        ours_ranked = [
            [pos[(h.entry.service_url, h.entry.name, h.entry.title)] for h in index.search(q, 10)] for q in queries
        ]
        results = {
            "ours": ours_ranked,
            "PDOK plugin regex": [regex.search(q, 10) for q in queries],
            "AnyText LIKE": [like.search(q, 10) for q in queries],
        }
        scores = {name: relevance(ranked, relevant) for name, ranked in results.items()}
        for name in ("PDOK plugin regex", "AnyText LIKE"):
            rows.append(row("catalogue relevance", f"hit@3 vs {name}", scores["ours"][0], scores[name][0], "fraction",
                            f"{len(QUERIES)} queries, {len(entries)} real records"))  # fmt: skip
            rows.append(
                row("catalogue relevance", f"MRR vs {name}", scores["ours"][1], scores[name][1], "", "higher is better")
            )
        details = [
            (q, *(next((r for r, rid in enumerate(results[m][k], 1) if rid in relevant[k]), None) for m in results))
            for k, q in enumerate(queries)
        ]
        index.close()
        like.conn.close()
    return rows, details


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    result = run(quick="--quick" in sys.argv)
    for r in result:
        print(" | ".join(str(r[k]) for k in ("benchmark", "metric", "ours", "baseline", "ratio", "unit", "note")))
    print("\nquery | rank ours | rank PDOK plugin regex | rank AnyText LIKE")
    for detail in getattr(run, "details", []):
        print(" | ".join("–" if v is None else str(v) for v in detail))
