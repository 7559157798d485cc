"""Serve a published folder on loopback and open it in Debian's headless Chromium through Playwright.

Chromium runs with the flags that work on these machines (software WebGL) and a resolver rule that makes
every host except 127.0.0.1 unreachable; every request the page makes is recorded, so a test proves the
page asks no other host. Playwright drives the system chromium (executable_path): it never downloads one.
"""

from __future__ import annotations

import functools
import shutil
import threading
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or (None if not Path("/usr/bin/chromium").exists() else "/usr/bin/chromium")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep test output readable
        pass


@contextmanager
def serve(folder: Path):
    """A static web server for ``folder`` on 127.0.0.1 and a free port; yields the base URL."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Page:
    """One page in Chromium with its console errors and every requested URL."""

    def __init__(self, page) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        page.on("request", lambda req: self.requests.append(req.url))
        page.on("requestfailed", lambda req: self.errors.append(f"request failed: {req.url} {req.failure}"))


class Browser:
    """Debian's chromium; each ``open`` is a fresh context (viewport, phone or desktop)."""

    def __init__(self, browser) -> None:
        self.browser = browser
        self.contexts: list = []

    def open(self, url: str, width: int = 1280, height: int = 900, mobile: bool = False) -> Page:
        context = self.browser.new_context(
            viewport={"width": width, "height": height}, is_mobile=mobile, has_touch=mobile,
            device_scale_factor=2 if mobile else 1,
        )  # fmt: skip
        self.contexts.append(context)
        page = Page(context.new_page())
        page.page.goto(url, wait_until="load")
        return page


@contextmanager
def chromium():
    """Yields a :class:`Browser`; closes it afterwards."""
    from playwright.sync_api import sync_playwright

    path = chromium_path()
    if path is None:
        raise RuntimeError("Debian's chromium is not installed (scripts/setup.sh installs it: requirements/apt.txt)")
    with sync_playwright() as pw:
        browser = Browser(pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True))
        try:
            yield browser
        finally:
            for context in browser.contexts:
                context.close()
            browser.browser.close()
