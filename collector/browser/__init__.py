"""The capture browser: a fresh, hermetic Chromium per capture (or a fresh context of one
shared by a batch, `SharedBrowser`), recorded step by step.

Public API::

    capture(url, settings, workdir, session=None, scopes=()) -> CaptureRecord          # blocking
    await capture_async(url, settings, workdir, session=None, scopes=()) -> CaptureRecord
    AliasSession(storage_state, redaction_key)   # a logged-in capture under an alias
    SharedBrowser(settings)   # context manager; .capture(...) like capture(), from any thread
    start_early() / stop_early()   # the Playwright driver started with the command (driver.py)
    chromium_version_warning(version) -> str | None
    TESTED_CHROMIUM_MAJORS

`workdir` receives ARTIFACTS (screenshot.png, page.html, response.html, page.mhtml,
traffic.warc.gz), plus the post's media under media/ and, for a virtualised feed,
feed-items.jsonl and viewport/NNNN.png; `CaptureRecord.artifacts` lists every file.
Technical failures raise `collector.errors.CaptureFailed`.
With a `session`, the alias's credentials are redacted from every file and from the record
(`CaptureRecord.redactions` lists each replacement; see `collector.browser.redaction`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from collector.browser.driver import EarlyDriver, start_early, stop_early, take_early
from collector.browser.journal import one_line
from collector.browser.launch import TESTED_CHROMIUM_MAJORS, chromium_version_warning
from collector.browser.redaction import CREDENTIAL_PARAMS, AliasSession, Redactor
from collector.browser.session import ARTIFACTS, CaptureSession
from collector.browser.shared import SharedBrowser
from collector.errors import CaptureFailed, NavigationRefused
from collector.evidence.model import BrowserSettings, CaptureRecord

__all__ = [
    "ARTIFACTS",
    "CREDENTIAL_PARAMS",
    "TESTED_CHROMIUM_MAJORS",
    "AliasSession",
    "Redactor",
    "SharedBrowser",
    "capture",
    "capture_async",
    "chromium_version_warning",
    "start_early",
    "stop_early",
]


async def capture_async(
    url: str,
    settings: BrowserSettings,
    workdir: Path,
    session: AliasSession | None = None,
    scopes: Sequence[str] = (),
    shared: SharedBrowser | None = None,
    early: EarlyDriver | None = None,
) -> CaptureRecord:
    """Capture `url` into `workdir` within `settings.total_timeout_s`.

    With `shared` the capture runs in a fresh context of that browser (`collector.browser.shared`)
    instead of a browser of its own; with `early`, its browser is launched through that driver,
    started with the command (`collector.browser.driver`).

    With `session`, the browser context starts with the alias's storage state and the
    alias's credentials are redacted from everything stored (files, WARC, record, and the
    message of a CaptureFailed).

    With `scopes` (the authorization's scope globs) every document the main frame is about to
    load is judged against them first (`collector.browser.navigation`).

    Raises NavigationRefused when the page led outside the scope or the egress point refused
    the main document, and CaptureFailed (never a Playwright error) when the browser cannot start, the URL
    cannot be reached at all, or the time limit passes before the capture is complete; the
    files written so far are then removed.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    run = CaptureSession(url, settings, workdir, session, scopes)
    run.warm_up()
    try:
        return await asyncio.wait_for(run.run(shared, early), timeout=settings.total_timeout_s)
    except NavigationRefused as exc:
        run.remove_artifacts()
        if run.redactor is not None:
            raise NavigationRefused(run.redactor.scrub(str(exc))) from None
        raise
    except CaptureFailed as exc:
        run.remove_artifacts()
        if run.redactor is not None:
            raise CaptureFailed(run.redactor.scrub(str(exc))) from None
        raise
    except TimeoutError as exc:
        run.remove_artifacts()
        raise CaptureFailed(_timeout_message(run, url, settings, exc)) from exc
    except Exception as exc:
        run.remove_artifacts()
        message = f"capture of {url} failed: {one_line(exc)}"
        if run.redactor is not None:
            raise CaptureFailed(run.redactor.scrub(message)) from None
        raise CaptureFailed(message) from exc


def _timeout_message(
    run: CaptureSession, url: str, settings: BrowserSettings, exc: TimeoutError
) -> str:
    """Name the limit that ran out: the capture's total, or one call's inside a step."""
    step = run.journal.current or "between steps"
    if run.deadline.remaining() <= 0.5:
        return (
            f"capture of {_shown(run, url)} exceeded the total time limit of "
            f"{settings.total_timeout_s:g}s (during the {step} step)"
        )
    detail = f": {one_line(exc)}" if str(exc) else ""
    return (
        f"capture of {_shown(run, url)}: a call in the {step} step ran out of its own time "
        f"limit{detail}, {run.deadline.elapsed():.0f}s into the capture"
    )


def _shown(run: CaptureSession, url: str) -> str:
    return url if run.redactor is None else run.redactor.scrub(url)


def capture(
    url: str,
    settings: BrowserSettings,
    workdir: Path,
    session: AliasSession | None = None,
    scopes: Sequence[str] = (),
) -> CaptureRecord:
    """Blocking wrapper around `capture_async` (not for use inside a running event loop).

    Runs on the driver started with the command when there is one (`start_early`)."""
    early = take_early()
    if early is not None:
        early.set_exception_handler(_interrupts_reported_once)
        return early.run(
            lambda _driver: capture_async(url, settings, workdir, session, scopes, early=early)
        )
    with asyncio.Runner() as runner:
        runner.get_loop().set_exception_handler(_interrupts_reported_once)
        return runner.run(capture_async(url, settings, workdir, session, scopes))


def _interrupts_reported_once(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An interrupt (Ctrl-C, SIGTERM) raised inside a browser task ends the capture and is
    reported once by the command line; asyncio would also print that task's traceback."""
    if isinstance(context.get("exception"), KeyboardInterrupt | asyncio.CancelledError):
        return
    loop.default_exception_handler(context)
