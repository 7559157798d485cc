"""A layer loaded from the catalogue still draws after the pooled thread of its load task has ended.

QGIS ends pooled threads that idle for 30 s. An OGC API Features layer built on the load task's pooled
thread then drew nothing: the "long session" failure that made scripts/test.sh isolate the drawing tests.
Layers are now built on one long-lived thread (dtfl_plugin/layers/builder.py). Each case runs in a fresh
QGIS process whose pool expiry is shortened before any thread exists (an expiry set later does not reach
threads already running), so the task's thread surely ends before the layer is drawn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.sandbox

SCRIPT = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from qgis.core import (QgsApplication, QgsCoordinateReferenceSystem, QgsMapRendererParallelJob, QgsMapSettings,
                       QgsProject, QgsRectangle)
from qgis.PyQt.QtCore import QEventLoop, QSize, QThread, QThreadPool
from qgis.PyQt.QtGui import QColor
app = QgsApplication([], False)
app.initQgis()
QThreadPool.globalInstance().setExpiryTimeout(50)
from dtfl_plugin.catalogue.entry import Entry
from dtfl_plugin.layers.load import load_entry
kind, url, name = sys.argv[2:5]
done = {}
project = QgsProject()
load_entry(Entry(id="t", title=name, service_type=kind, service_url=url, name=name), project,
           on_done=lambda layer, error: done.update(layer=layer, error=error))
while "layer" not in done:
    QgsApplication.processEvents()
    time.sleep(0.01)
layer = done["layer"]
assert layer is not None, str(done["error"])
time.sleep(0.5)  # the task's pooled thread idles past the expiry and ends
settings = QgsMapSettings()
settings.setLayers([layer])
settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:28992"))
settings.setExtent(QgsRectangle(84590.0, 447360.0, 85170.0, 447800.0))
settings.setOutputSize(QSize(150, 115))
settings.setBackgroundColor(QColor(255, 255, 255))
job = QgsMapRendererParallelJob(settings)
loop = QEventLoop()
job.finished.connect(loop.quit)
job.start()
loop.exec()
image = job.renderedImage()
drawn = sum(1 for x in range(image.width()) for y in range(image.height())
            if QColor(image.pixel(x, y)).lightness() < 250)
print(json.dumps({"drawn": drawn, "main_thread": layer.thread() == app.thread()}))
project.clear()
app.exitQgis()
"""


@pytest.mark.parametrize(
    "kind, key, name",
    [("OGC API Features", "oapif", "bgt_waterdeel"), ("WFS", "wfs", "bgt_waterdeel"), ("COG", "files", "ahn_dtm")],
    ids=["oapif", "wfs", "cog"],
)
def test_a_layer_draws_after_its_task_thread_has_ended(kind, key, name, sandbox, tmp_path):
    url = sandbox[key] + ("/ahn/ahn3_delft_dtm_1m.cog.tif" if key == "files" else "")
    script = tmp_path / "draw_after_expiry.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, str(script), str(ROOT), kind, url, name], capture_output=True, text=True, timeout=240, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["main_thread"], "the layer must live on the main thread before it joins the project"
    assert result["drawn"] > 300, f"the {kind} layer draws {result['drawn']} pixels once its task's thread ended"
