"""Child process: a finished background task is deleted by QGIS while a worker thread holds the GIL.

    python tests/gil_deadlock_child.py dtfl_task|runner_task [--no-detach]

Stages, deterministically, the hang that stalled a CI run: QGIS's event loop (here ``sendPostedEvents``, no
GIL) deletes a finished task; Qt's ~QObject holds the task's signal-slot mutex and calls disconnectNotify on
a feedback made in Python, where sip needs the GIL; a worker thread holds the GIL and makes a PyQt call that
connects to an object sharing that mutex (Qt hashes objects onto 131 mutexes: the object is picked to share
it). ``__dtor__`` (sip calls it as the C++ task goes) wakes the worker at the right moment, and each thread
keeps the GIL in one long bytecode where Python does not hand it over (hold_gil_in_c). Prints "survived" and
exits 0, or hangs.
``--no-detach`` replaces ``dtfl_plugin.task.detach`` with a no-op: the control, which must hang.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qgis.core import QgsApplication, QgsProcessingAlgRunnerTask, QgsVectorLayer  # noqa: E402
from qgis.PyQt import sip  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QSortFilterProxyModel, QStringListModel  # noqa: E402

app = QgsApplication([], False)
app.initQgis()
go = threading.Event()
KEEP: list = []
BASE, EXPONENT = 7, 4_000_000
# A thread waiting for the GIL asks for it after this long: longer than the few bytecodes each thread runs
# between taking the GIL and holding it, even on a busy machine; shorter than a hold.
sys.setswitchinterval(0.5)


def hold_gil_in_c() -> None:
    # A power of big integers is one bytecode (BINARY_OP) that runs for ~1 s in C: the interpreter cannot hand
    # the GIL over in it, nor (unlike after a call) right after it.
    _ = BASE**EXPONENT


def twin_of(obj) -> QStringListModel:
    """An object that Qt locks with the same signal-slot mutex as ``obj`` (qobject.cpp's signalSlotLock)."""
    slot = (sip.unwrapinstance(obj) % (131 * 8)) // 8
    keep = []
    while True:
        model = QStringListModel()
        if (sip.unwrapinstance(model) % (131 * 8)) // 8 == slot:
            return model
        keep.append(model)  # held until a twin is found, so the next one gets a new address


def dtfl_task():
    from dtfl_plugin.task import DtflTask

    class Task(DtflTask):
        def __dtor__(self) -> None:
            go.set()
            hold_gil_in_c()

    task = Task("probe", lambda feedback: feedback.setProgress(50))
    QgsApplication.taskManager().addTask(task)
    return task


def runner_task():
    from qgis.analysis import QgsNativeAlgorithms

    from dtfl_plugin.gui import background

    class Runner(QgsProcessingAlgRunnerTask):
        def __dtor__(self) -> None:
            go.set()
            hold_gil_in_c()

    QgsApplication.processingRegistry().addProvider(QgsNativeAlgorithms())
    background.QgsProcessingAlgRunnerTask = Runner  # the same task class, with the hook the staging needs
    layer = QgsVectorLayer("Point?crs=EPSG:28992", "points", "memory")
    KEEP.append(layer)  # the algorithm reads it in the task's thread
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("native:buffer")
    parameters = {"INPUT": layer, "DISTANCE": 1.0, "OUTPUT": "memory:"}
    return background.run_in_background(algorithm, parameters, lambda *_: None)


def main(kind: str, detach: bool) -> None:
    if not detach:
        import dtfl_plugin.task

        dtfl_plugin.task.detach = lambda sender: None
        import dtfl_plugin.gui.background as background

        background.detach = dtfl_plugin.task.detach
    task = dtfl_task() if kind == "dtfl_task" else runner_task()
    twin = twin_of(task)

    proxy = QSortFilterProxyModel()

    def worker() -> None:
        go.wait()
        hold_gil_in_c()  # the main thread is in ~QObject by now, holding the task's mutex, asking for the GIL
        proxy.setSourceModel(twin)  # connects to the twin under the shared mutex, GIL held

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not sip.isdeleted(task) and time.monotonic() < deadline:  # QGIS runs the task, then deletes it
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        time.sleep(0.01)
    thread.join()
    print("survived", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], "--no-detach" not in sys.argv)
