"""The catalogue in the QGIS window: search dock, locator filter, Browser favourites, harvest bar, stale layers.

Thin: every decision (ranking, which service a row loads by default, which entry replaces a moved
layer) is made in dtfl_plugin/catalogue/; these modules wire it to widgets.
- feature.py: registers the dock, locator filter, Browser provider and drop handler with QGIS;
- dock.py: the search dock (CatalogueDock); widgets.py its result list and filter bar; detail.py
  the record pane; search.py the worker thread that runs searches; harvest.py the Update bar;
- locator.py, browser.py: the locator bar filter and the Browser favourites;
- loader.py: loading an entry as a layer; stale.py: the moved-services message.
"""
