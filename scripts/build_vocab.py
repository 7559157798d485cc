"""Build dtfl_plugin/catalogue/data/vocabulary.json: Dutch <-> English search terms from GEMET and INSPIRE.

The catalogue's query expansion needs the words of the whole environmental/geodata domain, not a hand
list. Two public multilingual vocabularies give them:
- GEMET, the EEA's General Multilingual Environmental Thesaurus (about 5,500 concepts), one Dutch
  and one English preferred label per concept;
- the 34 INSPIRE spatial data themes, with their labels in every EU language.

Inputs are the SKOS/RDF files as GeoNetwork ships them (https://github.com/geonetwork/util-gemet,
``thesauri/gemet-en.rdf``, ``gemet-nl.rdf``, ``inspire-theme.rdf``); they are not part of this
repository. The output keeps one concept per line with its Dutch and English labels, skipping concepts
whose labels are the same word in both languages (nothing to expand) or longer than five words (no one
types them), so it stays small.

    python3 scripts/build_vocab.py --gemet-en gemet-en.rdf --gemet-nl gemet-nl.rdf --inspire inspire-theme.rdf
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "dtfl_plugin" / "catalogue" / "data" / "vocabulary.json"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
SKOS = "{http://www.w3.org/2004/02/skos/core#}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
MAX_WORDS = 5

SOURCES = [
    {
        "name": "GEMET - General Multilingual Environmental Thesaurus, version 4.0.1",
        "publisher": "European Environment Agency (EEA)",
        "url": "https://www.eionet.europa.eu/gemet/",
        "via": "https://github.com/geonetwork/util-gemet thesauri/gemet-en.rdf, gemet-nl.rdf (commit b145c8d)",
        "licence": "(c) EEA; free reuse with acknowledgement of the source (EEA copyright notice)",
    },
    {
        "name": "INSPIRE spatial data themes",
        "publisher": "European Commission, INSPIRE registry",
        "url": "https://inspire.ec.europa.eu/theme",
        "via": "https://github.com/geonetwork/util-gemet thesauri/inspire-theme.rdf (commit b145c8d)",
        "licence": "(c) European Union; reuse authorised (Commission Decision 2011/833/EU)",
    },
]


def labels(path: Path, langs: tuple[str, ...]) -> dict[str, dict[str, list[str]]]:
    """concept URI -> {lang: [labels]} of every skos:Concept in a SKOS/RDF file (streamed)."""
    out: dict[str, dict[str, list[str]]] = {}
    for _event, elem in ET.iterparse(str(path), events=("end",)):
        if elem.tag != f"{SKOS}Concept":
            continue
        uri = elem.get(f"{RDF}about", "")
        found: dict[str, list[str]] = {}
        for tag in (f"{SKOS}prefLabel", f"{SKOS}altLabel"):
            for label in elem.findall(tag):
                lang = label.get(XML_LANG, "")
                text = " ".join((label.text or "").split())
                if lang in langs and text and text not in found.setdefault(lang, []):
                    found[lang].append(text)
        if uri:
            out[uri] = found
        elem.clear()
    return out


def usable(term: str) -> bool:
    return 0 < len(term.split()) <= MAX_WORDS and not any(c in term for c in "()[]/;")


def concept(found: dict[str, list[str]], source: str, uri: str) -> dict | None:
    en = [t for t in found.get("en", []) if usable(t)]
    nl = [t for t in found.get("nl", []) if usable(t)]
    if not en or not nl or {t.lower() for t in en} == {t.lower() for t in nl}:
        return None
    return {"src": source, "id": uri.rstrip("/").rsplit("/", 1)[-1], "en": en, "nl": nl}


def build(gemet_en: Path, gemet_nl: Path, inspire: Path) -> dict:
    concepts: list[dict] = []
    for uri, found in sorted(labels(inspire, ("en", "nl")).items()):
        item = concept(found, "inspire", uri)
        if item:
            concepts.append(item)
    english = labels(gemet_en, ("en",))
    dutch = labels(gemet_nl, ("nl",))
    for uri in sorted(set(english) & set(dutch), key=lambda u: (len(u), u)):
        item = concept({**english[uri], **dutch[uri]}, "gemet", uri)
        if item:
            concepts.append(item)
    return {
        "about": "Dutch <-> English search terms of the environmental and geodata domain, built by "
        "scripts/build_vocab.py from GEMET and the INSPIRE themes. Generated: do not edit; rebuild.",
        "sources": SOURCES,
        "concepts": concepts,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gemet-en", type=Path, required=True)
    ap.add_argument("--gemet-nl", type=Path, required=True)
    ap.add_argument("--inspire", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    data = build(args.gemet_en, args.gemet_nl, args.inspire)
    lines = ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in data["concepts"])
    head = json.dumps({k: v for k, v in data.items() if k != "concepts"}, ensure_ascii=False, indent=1)[:-2]
    args.out.write_text(f'{head},\n "concepts": [\n{lines}\n]}}\n', encoding="utf-8")
    counts = {s: sum(1 for c in data["concepts"] if c["src"] == s) for s in ("inspire", "gemet")}
    print(f"{args.out}: {counts['inspire']} INSPIRE themes, {counts['gemet']} GEMET concepts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
