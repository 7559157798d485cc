"""The catalogue room: harvest national catalogues into a local index and search it.

    sources/    one CatalogueSource per kind (pdok-layers, csw, ogcapi-records) -> Entry objects
    harvest.py  harvest(source, index) reads a whole source, then writes it in one transaction;
                configured_sources() from settings; HarvestTask (tasks.py) runs it in the background
    index.py    CatalogueIndex: SQLite FTS5 in the profile; search(), get(), facets(), changes(),
                last_harvest(), replacement_for(); default_index() seeds from the bundled snapshot
    text.py, thesaurus.py, query.py, ranking.py, scoring.py   Dutch-aware terms, synonyms, typo tolerance, BM25F
    stale.py    project layers whose service moved or retired, and their replacement
    xmlsafe.py  hardened XML parsing for everything a catalogue sends

No qgis.gui here (the GUI lives in gui/catalogue_*.py); this __init__ imports nothing.
"""
