"""The capture browser: one fresh, hermetic Chromium per capture, recorded step by step.

Public API::

    capture(url, settings, workdir) -> CaptureRecord          # blocking
    await capture_async(url, settings, workdir) -> CaptureRecord
    chromium_version_warning(version) -> str | None
    TESTED_CHROMIUM_MAJORS

`workdir` receives exactly ARTIFACTS: screenshot.png, page.html, response.html,
page.mhtml and traffic.warc.gz. Technical failures raise `collector.errors.CaptureFailed`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from collector.browser.journal import one_line
from collector.browser.launch import TESTED_CHROMIUM_MAJORS, chromium_version_warning
from collector.browser.session import ARTIFACTS, CaptureSession
from collector.errors import CaptureFailed
from collector.models import BrowserSettings, CaptureRecord

__all__ = [
    "ARTIFACTS",
    "TESTED_CHROMIUM_MAJORS",
    "capture",
    "capture_async",
    "chromium_version_warning",
]


async def capture_async(url: str, settings: BrowserSettings, workdir: Path) -> CaptureRecord:
    """Capture `url` into `workdir` within `settings.total_timeout_s`.

    Raises CaptureFailed (never a Playwright error) when the browser cannot start, the URL
    cannot be reached at all, or the time limit passes before the capture is complete; the
    files written so far are then removed.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    session = CaptureSession(url, settings, workdir)
    try:
        return await asyncio.wait_for(session.run(), timeout=settings.total_timeout_s)
    except CaptureFailed:
        session.remove_artifacts()
        raise
    except TimeoutError as exc:
        session.remove_artifacts()
        raise CaptureFailed(
            f"capture of {url} exceeded the total time limit of {settings.total_timeout_s:g}s"
        ) from exc
    except Exception as exc:
        session.remove_artifacts()
        raise CaptureFailed(f"capture of {url} failed: {one_line(exc)}") from exc


def capture(url: str, settings: BrowserSettings, workdir: Path) -> CaptureRecord:
    """Blocking wrapper around `capture_async` (not for use inside a running event loop)."""
    return asyncio.run(capture_async(url, settings, workdir))
