"""A fake capture browser that replays captures recorded from the fixture site by real Chromium.

Everything after the browser step (post reading already done, screening, sealing, the ledger,
custody, verification, exports, retention, audits) is then tested without starting Chromium.
The recordings live in `tests/data/recorded/<name>/`: the files the real browser wrote into
its work directory and `record.json`, its `CaptureRecord`. They were made by

    .venv/bin/python -m tests.fakes.browser --record [--page NAME ...]

which serves the fixture site on RECORDED_ORIGIN and captures each page of PAGES for real.
A recording that no longer matches the `CaptureRecord` model fails to load: record again.

Replaying copies the files byte for byte and returns the record with every time moved so
that the capture seems to have happened just now (so time-stamps, retention dates and
capture windows line up); nothing else is changed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from collector.browser import AliasSession
from collector.errors import CaptureFailed
from collector.evidence.model import BrowserSettings, CaptureRecord

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded"
RECORDED_ORIGIN = "http://127.0.0.1:48080"
PAGES = {
    "thread": "/s/abc123",
    "index": "/index.html",
    "login-wall": "/login-wall.html",
    "protected-rally": "/protected/rally.html",
    "protected-credit-union": "/protected/credit-union.html",
    "hostile-title": "/hostile-title.html",
    "hostile-post": "/hostile-post.html",
}
TIME_KEYS = ("started_at", "ended_at", "at")


def url(path: str) -> str:
    """The recorded URL of a fixture-site path (what tests capture with the fake browser)."""
    return RECORDED_ORIGIN + path


class FakeBrowser:
    """Call it like `collector.browser.capture`; it replays the recording of the URL's page."""

    def __init__(self, recorded: Path = RECORDED) -> None:
        self.recorded = recorded
        self.calls: list[str] = []

    def __call__(
        self,
        url: str,
        settings: BrowserSettings,
        workdir: Path,
        session: AliasSession | None = None,
        scopes: Sequence[str] = (),
    ) -> CaptureRecord:
        self.calls.append(url)
        # Under an alias session the recording of the public page is replayed: what a logged-in
        # session changes in the browser (cookies, redaction) is tested with real Chromium.
        parts = urlsplit(url)
        name = next((n for n, p in PAGES.items() if p == parts.path), None)
        if f"{parts.scheme}://{parts.netloc}" != RECORDED_ORIGIN or name is None:
            raise CaptureFailed(f"capture of {url} failed: the fake browser has no recording of it")
        source = self.recorded / name
        data = json.loads((source / "record.json").read_text(encoding="utf-8"))
        record = CaptureRecord.model_validate(_shift(data, _offset(data)))
        workdir.mkdir(parents=True, exist_ok=True)
        for rel in record.artifacts:
            target = workdir / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / "files" / rel, target)
        return record


def _offset(data: dict[str, Any]) -> float:
    started = datetime.fromisoformat(str(data["started_at"]))
    return (datetime.now(UTC) - started).total_seconds()


def _shift(value: Any, seconds: float) -> Any:
    if isinstance(value, dict):
        return {
            k: _moved(v, seconds) if k in TIME_KEYS and isinstance(v, str) else _shift(v, seconds)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_shift(v, seconds) for v in value]
    return value


def _moved(text: str, seconds: float) -> str:
    from datetime import timedelta

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment + timedelta(seconds=seconds)).isoformat()


def record(target: Path = RECORDED, only: Sequence[str] = ()) -> None:
    """Capture every page of PAGES (or those named in `only`) with real Chromium and store the
    recordings."""
    from collector.browser import capture
    from collector.store.config import StoreConfig
    from fixtures.server import FixtureServer

    port = int(RECORDED_ORIGIN.rsplit(":", 1)[1])
    with FixtureServer(http_port=port) as site, tempfile.TemporaryDirectory() as tmp:
        settings = StoreConfig(agency="Recording").browser.model_copy(
            update={
                "executable_path": "/usr/bin/chromium",
                "extra_ca_certs": [str(site.ca_cert_path)],
                "block_private_network": False,
                "host_resolver_rules": "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
            }
        )
        for name, path in PAGES.items():
            if only and name not in only:
                continue
            workdir = Path(tmp) / name
            result = capture(url(path), settings, workdir)
            out = target / name
            if out.exists():
                shutil.rmtree(out)
            (out / "files").mkdir(parents=True)
            for rel in result.artifacts:
                (out / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(workdir / rel, out / "files" / rel)
            (out / "record.json").write_text(
                result.model_dump_json(indent=1) + "\n", encoding="utf-8"
            )
            print(f"{name}: {len(result.artifacts)} files, {result.final_url}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--record", action="store_true", help="capture PAGES with real Chromium")
    parser.add_argument("--page", action="append", default=[], help="only this page of PAGES")
    args = parser.parse_args()
    if args.record:
        record(only=args.page)


class FakeShared:
    """Stands in for `collector.browser.SharedBrowser` (what a batch captures with): every
    capture replays a recording through `player`; `interrupt` stops the captures not yet begun."""

    def __init__(self, player: FakeBrowser, delay_s: float = 0.0) -> None:
        self.player = player
        self.delay_s = delay_s  # how long each capture seems to take (a worker killed mid-capture)
        self.stopped = False
        self.started_early = 0  # calls of start_early (a gate has passed: launch in the background)

    def __enter__(self) -> FakeShared:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def capture(self, url: str, settings: BrowserSettings, workdir: Path,
                session: AliasSession | None = None, scopes: Sequence[str] = ()) -> CaptureRecord:  # fmt: skip
        if self.stopped:
            raise CaptureFailed("interrupted: the capture was stopped before it finished")
        (workdir / "screenshot.png").write_bytes(b"half-written")  # what a killed capture leaves
        time.sleep(self.delay_s)
        (workdir / "screenshot.png").unlink()
        return self.player(url, settings, workdir, session, scopes)

    def start_early(self) -> None:
        self.started_early += 1

    def interrupt(self) -> None:
        self.stopped = True
