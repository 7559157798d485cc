"""`make demo`: the main job end to end on the embedded sample infrastructure (the sandbox).

Search the catalogue for the Delft buildings and terrain, load them (2D and 3D), run the flood
screening locally and remotely, package a signed recipe, verify it, re-cook it on a second area,
render a map image and a 3D image. Prints a summary; exits non-zero on any failure; stops what it started.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
OUT = ROOT / "demo-output"
SHARED = Path(os.environ.get("DTFL_SHARED_DATA", ROOT.parent / "shared" / "data"))
DTM = SHARED / "3d/derived/ahn3_delft_dtm_1m_filled.tif"
BGT = SHARED / "3d/bgt/bgt_delft.gpkg"
CITYJSON = SHARED / "3d/cityjson/delft_3dfier.city.json"
EPT = SHARED / "3d/derived/ahn3_delft_ept/ept.json"

NEEDED = {
    "3d/derived/ahn3_delft_dtm_1m_filled.tif": "AHN3 terrain (DTM) of Delft, 1 m — AHN, https://www.ahn.nl (CC0)",
    "3d/bgt/bgt_delft.gpkg": "BGT pand/wegdeel/waterdeel/begroeidterreindeel of the same area — PDOK BGT download (CC0)",
    "3d/cityjson/delft_3dfier.city.json": "3dfier LoD1 CityJSON of Delft (tudelft3d/3dfier example data)",
    "3d/derived/ahn3_delft_ept/ept.json": "AHN3 point cloud crop as EPT (AHN, CC0)",
    "catalogue/iso19139": "Nationaal Georegister ISO 19139 records (nationaalgeoregister.nl, CSW)",
    "catalogue/pdok-layers/layers-pdok-2022.json": "PDOK layer list (pdokservicesplugin resources/layers-pdok.json)",
}


class Demo:
    def __init__(self) -> None:
        self.steps: list[tuple[str, float, str]] = []
        self.endpoints: dict[str, str] = {}

    def step(self, title: str, func, *args):
        print(f"▶ {title} …", flush=True)
        start = time.monotonic()
        result = func(*args)
        seconds = time.monotonic() - start
        detail = result if isinstance(result, str) else ""
        self.steps.append((title, seconds, detail))
        print(f"  ✓ {title} ({seconds:.1f} s){': ' + detail if detail else ''}", flush=True)
        return result


def check_data() -> None:
    missing = [(rel, what) for rel, what in NEEDED.items() if not (SHARED / rel).exists()]
    if missing:
        print(f"The sample data folder {SHARED} is incomplete. Fetch these public open datasets and put them there:")
        for rel, what in missing:
            print(f"  {SHARED / rel}: {what}")
        print("See ../shared/data/README.md for the exact files, or set DTFL_SHARED_DATA to their folder.")
        sys.exit(2)


def main() -> int:
    check_data()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    demo = Demo()
    t0 = time.monotonic()
    import sandbox

    already = bool(sandbox.running())
    try:
        demo.endpoints = demo.step("Start the local national infrastructure (sandbox)", sandbox.start)
    except sandbox.SandboxError as err:
        print(f"\n✗ The sandbox did not start: {err}\n  Logs: {ROOT / '.sandbox' / 'logs'}")
        return 1
    try:
        from demo_steps import run_job

        run_job(demo, OUT)
    except Exception as err:  # noqa: BLE001 - the demo reports any failure as a failed run, with the reason
        print(f"\n✗ The demo failed: {err}")
        with open(OUT / "error.log", "w", encoding="utf-8") as log:
            traceback.print_exc(file=log)
        print(f"  details: {OUT / 'error.log'}")
        return 1
    finally:
        if not already:
            sandbox.stop()
    total = time.monotonic() - t0
    print("\nDTFL demo — summary")
    for title, seconds, detail in demo.steps:
        print(f"  {seconds:6.1f} s  {title}{' — ' + detail if detail else ''}")
    print(f"  {total:6.1f} s  total. Outputs in {OUT}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
