"""A time-limit error names the limit that ran out: the capture's total, or one call's."""

from __future__ import annotations

from pathlib import Path

from collector.browser import _timeout_message
from collector.browser.session import CaptureSession
from collector.evidence.model import BrowserSettings


def test_total_limit_is_named_only_when_the_total_ran_out(tmp_path: Path) -> None:
    ended = CaptureSession("http://h/x", BrowserSettings(total_timeout_s=0.001), tmp_path)
    ended.journal.current = "scroll"
    message = _timeout_message(ended, "http://h/x", ended.settings, TimeoutError())
    assert message == "capture of http://h/x exceeded the total time limit of 0.001s (during the scroll step)"

    running = CaptureSession("http://h/x", BrowserSettings(total_timeout_s=120), tmp_path)
    running.journal.current = "screenshot"
    message = _timeout_message(running, "http://h/x", running.settings, TimeoutError())
    assert "total time limit" not in message
    assert "a call in the screenshot step ran out of its own time limit" in message
