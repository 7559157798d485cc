"""OGC API - Processes client (Part 1: Core, 1.0) over dtfl_plugin.net only.

Written for what real servers do, not only what the standard says (see QGIS-NOTES.md):
the 201 body of an async execute differs by server version (null, {"id"}, {"jobID"}), so the
job is found through the ``Location`` header; a status may jump from ``accepted`` straight to
``successful``; ``/results`` answers 404 until the job is done (and sometimes just after);
a failure reason is only in the status ``message``; servers throttle with 429 + Retry-After.

Every error a user can meet is a RemoteModelError with a translated message.
Thread-safe: one client per run, no shared mutable state.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from qgis.core import QgsFeedback

from ... import net
from ...errors import ModelError, NetError
from ...i18n import tr

RESULTS_REL = "http://www.opengis.net/def/rel/ogc/1.0/results"
JSON_TYPES = ("application/json", "application/geo+json", "application/problem+json")
FINAL = ("successful", "failed", "dismissed")

# Poll schedule: first status check at once (fast jobs finish before it), then backoff with jitter.
POLL_FIRST_S = 0.05
POLL_FACTOR = 1.6
POLL_MAX_S = 5.0
RETRIES = 5  # per request, for throttling (429/503)
NET_RETRIES = 2  # per request, for dropped connections and gateway errors
RETRY_AFTER_CAP_S = 60.0
RESULT_MAX_BYTES = 64 * 1024**3  # results stream to disk: the cap guards the disk, not the memory
RESULT_MIN_TIMEOUT_S = 3600.0  # a large result takes longer than an API call; cancel stays immediate
JSON_RESULTS_MAX_BYTES = 256 * 1024 * 1024  # a JSON results document is parsed in memory up to this


class RemoteModelError(ModelError):
    """A remote model (OGC API - Processes) run or listing failed; the message says what to do."""

    def __init__(self, message: str, *, detail: str = "", job_url: str = "") -> None:
        super().__init__(message, detail=detail)
        self.job_url = job_url


@dataclass
class JobStatus:
    url: str
    status: str  # accepted | running | successful | failed | dismissed (or a server's own word)
    message: str = ""
    progress: int | None = None
    links: list = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.status in FINAL


@dataclass
class Results:
    """A job's results: either a JSON document {output id: value} or one raw body (a file when it came
    from the server: bodies are streamed to disk, never held in memory)."""

    document: dict | None = None
    raw: bytes | Path | None = None
    raw_type: str = ""


class ProcessesClient:
    def __init__(
        self,
        base_url: str,
        *,
        authcfg: str = "",
        timeout_s: float = net.DEFAULT_TIMEOUT_S,
        feedback: QgsFeedback | None = None,
        sleep=time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.authcfg = authcfg
        self.timeout_s = timeout_s
        self.feedback = feedback
        self._sleep = sleep

    # --- low level ---------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def _request(self, url: str, *, method: str = "GET", body=None, headers=None, idempotent: bool = True):
        """One request with retries on 429/503 (honouring Retry-After) and, when idempotent, on network failures."""
        hdrs = {"Accept": "application/json", **(headers or {})}
        data = None
        if body is not None:
            hdrs["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        delay = 0.5
        for attempt in range(RETRIES + 1):
            self._check_cancel()
            try:
                return net.request(
                    url,
                    method=method,
                    headers=hdrs,
                    body=data,
                    timeout_s=self.timeout_s,
                    authcfg=self.authcfg,
                    feedback=self.feedback,
                    allow_local=False,
                )
            except NetError as err:
                self._check_cancel()
                throttled = err.status in (429, 503)
                # A dropped connection is retried briefly; a throttling server gets more patience.
                transient = idempotent and (err.status is None or err.status in (502, 504)) and attempt < NET_RETRIES
                if attempt == RETRIES or not (throttled or transient):
                    raise
                asked = getattr(err, "retry_after", None)
                wait = max(0.1, min(float(asked), RETRY_AFTER_CAP_S)) if asked is not None else delay
                if self.feedback is not None and throttled:
                    self.feedback.pushInfo(
                        tr("The server is busy (HTTP {status}); trying again in {seconds:.1f} s.").format(
                            status=err.status, seconds=wait
                        )
                    )
                self._wait(wait)
                delay = min(delay * 2, POLL_MAX_S)
        raise AssertionError("unreachable")

    def _json(self, response: net.Response, what: str):
        try:
            return json.loads(response.content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise RemoteModelError(
                tr(
                    "The server at {url} sent {what} that is not valid JSON. Check the server or try again later."
                ).format(url=response.url, what=what),
                detail=response.text()[:500],
            ) from err

    def link(self, base: str, href: str, what: str = "") -> str:
        """A link from a server document (next page, job Location, result): resolved, and only http(s).
        A file:// link would make the client read local files as job status or copy them into results."""
        try:
            return net.follow_link(base, href)
        except NetError as err:
            raise RemoteModelError(err.message, detail=f"{what}: {err.detail}") from err

    def download(self, url: str, destination: str | Path, accept: str = "*/*") -> net.Response:
        """GET ``url`` into ``destination``, streamed (flat memory, resumed where the server allows).
        The API's credentials go only to the API's own host."""
        same_host = urlsplit(url).netloc.lower() == urlsplit(self.base_url).netloc.lower()
        return net.fetch_file(
            url,
            destination,
            headers={"Accept": accept},
            timeout_s=max(self.timeout_s, RESULT_MIN_TIMEOUT_S),
            authcfg=self.authcfg if same_host else "",
            feedback=self.feedback,
            max_bytes=RESULT_MAX_BYTES,
            allow_local=False,
        )

    def _check_cancel(self) -> None:
        if self.feedback is not None and self.feedback.isCanceled():
            raise NetError(tr("Cancelled."))

    def _wait(self, seconds: float) -> None:
        """Sleep in small steps so a cancel is honoured quickly."""
        end = time.monotonic() + seconds
        while True:
            self._check_cancel()
            left = end - time.monotonic()
            if left <= 0:
                return
            self._sleep(min(left, 0.1))

    def _fail(self, err: NetError, doing: str, job_url: str = "") -> RemoteModelError:
        return RemoteModelError(
            tr("{doing} failed: {reason}").format(doing=doing, reason=err.message), detail=err.detail, job_url=job_url
        )

    # --- discovery -----------------------------------------------------------------
    def landing(self) -> dict:
        try:
            return self._json(self._request(self.base_url + "/"), tr("a landing page"))
        except NetError as err:
            raise self._fail(err, tr("Reading the server's landing page")) from err

    def conformance(self) -> list[str]:
        try:
            doc = self._json(self._request(self.url("conformance")), tr("a conformance list"))
        except NetError as err:
            raise self._fail(err, tr("Reading the server's conformance classes")) from err
        return list(doc.get("conformsTo", [])) if isinstance(doc, dict) else []

    def processes(self) -> list[dict]:
        """Summaries of all processes, following ``next`` links (bounded)."""
        url, out = self.url("processes"), []
        for _page in range(50):
            try:
                doc = self._json(self._request(url), tr("a process list"))
            except NetError as err:
                raise self._fail(err, tr("Listing the server's processes")) from err
            if not isinstance(doc, dict) or not isinstance(doc.get("processes"), list):
                raise RemoteModelError(
                    tr("The server at {url} did not answer with an OGC API - Processes process list.").format(url=url)
                )
            out.extend(p for p in doc["processes"] if isinstance(p, dict) and p.get("id"))
            nxt = next((lk.get("href") for lk in doc.get("links", []) if lk.get("rel") == "next"), None)
            if not nxt:
                break
            url = self.link(url, nxt, "next")
        return out

    def describe(self, process_id: str) -> dict:
        try:
            doc = self._json(self._request(self.url(f"processes/{process_id}")), tr("a process description"))
        except NetError as err:
            raise self._fail(err, tr("Reading the description of process {id}").format(id=process_id)) from err
        if not isinstance(doc, dict) or not isinstance(doc.get("inputs", {}), (dict, list)):
            raise RemoteModelError(tr("The description of process {id} is not usable.").format(id=process_id))
        doc.setdefault("id", process_id)
        return doc

    # --- execution -------------------------------------------------------------------
    def execute_async(self, process_id: str, inputs: dict, outputs: dict | None = None) -> str:
        """Submit a job; return its URL (from ``Location``, whatever the 201 body says)."""
        body: dict = {"inputs": inputs}
        if outputs:
            body["outputs"] = outputs
        url = self.url(f"processes/{process_id}/execution")
        try:
            response = self._request(
                url, method="POST", body=body, headers={"Prefer": "respond-async"}, idempotent=False
            )
        except NetError as err:
            raise self._submit_error(err, process_id) from err
        location = response.header("location")
        if location:
            return self.link(url, location, "Location")
        # Some servers give the job only in the body ({"jobID"} in 1.0, {"id"} in drafts).
        doc = None
        try:
            doc = json.loads(response.content.decode("utf-8") or "null")
        except (ValueError, UnicodeDecodeError):
            doc = None
        job_id = doc.get("jobID") or doc.get("id") if isinstance(doc, dict) else None
        if job_id and response.status in (200, 201):
            return self.url(f"jobs/{job_id}")
        raise RemoteModelError(
            tr(
                "The server ran process {id} without giving a job to follow (HTTP {status}, no Location). "
                "It may not support asynchronous execution."
            ).format(id=process_id, status=response.status),
            detail=response.text()[:500],
        )

    def _submit_error(self, err: NetError, process_id: str) -> RemoteModelError:
        reason = err.message
        if err.status in (400, 422):
            reason = tr("the server rejected the inputs (HTTP {status})").format(status=err.status)
        return RemoteModelError(
            tr("Starting process {id} failed: {reason}").format(id=process_id, reason=reason), detail=err.detail
        )

    def status(self, job_url: str) -> JobStatus:
        try:
            response = self._request(job_url)
        except NetError as err:
            if err.status == 404:
                raise RemoteModelError(
                    tr("The job {url} no longer exists on the server (it was dismissed or removed).").format(
                        url=job_url
                    ),
                    job_url=job_url,
                ) from err
            raise RemoteModelError(
                tr(
                    "Lost contact with the server while following job {url}: {reason} "
                    "The job may still run on the server."
                ).format(url=job_url, reason=err.message),
                detail=err.detail,
                job_url=job_url,
            ) from err
        doc = self._json(response, tr("a job status"))
        if not isinstance(doc, dict) or "status" not in doc:
            raise RemoteModelError(
                tr("The server sent a job status without a status for {url}.").format(url=job_url), job_url=job_url
            )
        progress = doc.get("progress")
        try:
            progress = int(progress) if progress is not None else None
        except (TypeError, ValueError):
            progress = None
        return JobStatus(
            url=job_url,
            status=str(doc["status"]).lower(),
            message=str(doc.get("message") or ""),
            progress=progress,
            links=[lk for lk in doc.get("links", []) if isinstance(lk, dict)],
        )

    def wait(
        self, job_url: str, *, on_status=None, max_wait_s: float = 24 * 3600.0, first_delay_s: float = 0.0
    ) -> JobStatus:
        """Poll until the job is final; backoff with jitter so many clients don't poll in step.

        ``first_delay_s``: a caller that knows the job takes a while can skip the early polls.
        """
        delay = POLL_FIRST_S
        deadline = time.monotonic() + max_wait_s
        first = True
        if first_delay_s > 0:
            self._wait(first_delay_s)
        while True:
            if not first:
                self._wait(delay * random.uniform(0.8, 1.2))
                delay = min(delay * POLL_FACTOR, POLL_MAX_S)
            first = False
            st = self.status(job_url)
            if on_status is not None:
                on_status(st)
            if st.status == "successful":
                return st
            if st.status == "failed":
                raise RemoteModelError(
                    tr("The server reports that the job failed: {message}").format(
                        message=st.message or tr("no reason given")
                    ),
                    job_url=job_url,
                )
            if st.status == "dismissed":
                raise RemoteModelError(
                    tr("The job {url} was dismissed on the server.").format(url=job_url), job_url=job_url
                )
            if time.monotonic() > deadline:
                raise RemoteModelError(
                    tr("The job {url} did not finish within {seconds} seconds; it may still run on the server.").format(
                        url=job_url, seconds=int(max_wait_s)
                    ),
                    job_url=job_url,
                )

    def results(self, status: JobStatus) -> Results:
        """The results of a successful job. A 404 just after success is retried (stores lag behind)."""
        url = next(
            (
                lk["href"]
                for lk in status.links
                if lk.get("rel") in (RESULTS_REL, "results") and str(lk.get("type", "")).startswith("application/json")
            ),
            status.url.rstrip("/") + "/results",
        )
        url = self.link(status.url, url, "results")
        fd, tmp = tempfile.mkstemp(prefix="dtfl-results-", suffix=".part")
        os.close(fd)
        body = Path(tmp)
        try:
            response = self._download_results(url, body, status.url)
            ctype = response.header("content-type").split(";")[0].strip().lower()
            size = body.stat().st_size
            with body.open("rb") as handle:
                head = handle.read(1)
            if (ctype in JSON_TYPES or (not ctype and head in (b"{", b"["))) and size <= JSON_RESULTS_MAX_BYTES:
                response.content = body.read_bytes()
                return Results(document=_results_document(self._json(response, tr("results"))))
        except BaseException:
            body.unlink(missing_ok=True)
            raise
        return Results(raw=body, raw_type=response.header("content-type"))

    def _download_results(self, url: str, body: Path, job_url: str) -> net.Response:
        """The results body into ``body``; a 404 just after success, or throttling, is retried."""
        delay = 0.2
        for attempt in range(RETRIES + 1):
            try:
                return self.download(url, body, accept="application/json")
            except NetError as err:
                if err.status in (404, 429, 503) and attempt < RETRIES:
                    asked = getattr(err, "retry_after", None)
                    self._wait(min(float(asked), RETRY_AFTER_CAP_S) if asked else delay)
                    delay *= 2
                    continue
                raise self._fail(err, tr("Downloading the results of job {url}").format(url=job_url), job_url) from err
        raise AssertionError("unreachable")

    def fetch_to(self, href: str, destination: str | Path, base: str = "") -> Path:
        """A result or input published by reference (absolute or relative to ``base``), streamed into
        ``destination``. Only http(s); a link to other storage (S3, a CDN) never gets the API's credentials."""
        url = self.link(base or self.base_url + "/", href, "href")
        try:
            self.download(url, destination)
        except NetError as err:
            raise self._fail(err, tr("Downloading {url}").format(url=url)) from err
        return Path(destination)

    def dismiss(self, job_url: str) -> bool:
        """DELETE the job. Best effort: pygeoapi marks it dismissed but may not stop a running job."""
        try:
            net.request(
                job_url,
                method="DELETE",
                headers={"Accept": "application/json"},
                timeout_s=min(self.timeout_s, 10.0),
                authcfg=self.authcfg,
                allow_local=False,
            )
            return True
        except NetError:
            return False


def _results_document(doc) -> dict:
    """pygeoapi's response=document wraps the processor's dict as {"outputs": [dict]}: unwrap it."""
    if (
        isinstance(doc, dict)
        and set(doc) <= {"outputs", "links"}
        and isinstance(doc.get("outputs"), list)
        and all(isinstance(item, dict) for item in doc["outputs"])
    ):
        merged: dict = {}
        for item in doc["outputs"]:
            merged.update(item)
        doc = merged
    return doc if isinstance(doc, dict) else {"result": doc}
