"""Replay a WARC or WACZ offline in pywb and report which expected texts the replayed page shows.

    .venv/bin/python scripts/replay_check.py WARC-OR-WACZ URL --expect TEXT [--expect TEXT ...]

Builds a throw-away pywb collection (`wb-manager` from .venv-tools), starts `wayback` on a
free 127.0.0.1 port, opens the archived URL in headless Chromium, scrolls until the last
expected text appears (or time runs out) and prints ✓/✗ per text. Exit 0 only if all appear.
Used by scripts/demo and by the replay test: pywb is a replay engine we did not write.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import sync_playwright

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / ".venv-tools" / "bin"
HERMETIC = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - our own loopback URL
            return int(response.status) < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def _start_wayback(root: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [TOOLS / "wayback", "-p", str(port), "-b", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _answers(f"http://127.0.0.1:{port}/replay/"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("pywb wayback did not start")
        time.sleep(0.2)
    return proc


def build_collection(root: Path, warc: Path) -> str:
    """Make a pywb collection holding `warc` (a WARC, or a WACZ package: its WARC and its own
    index) under `root`; return its CDXJ index text."""
    root.mkdir(parents=True, exist_ok=True)
    unpack = ["--unpack-wacz"] if warc.suffix.lower() == ".wacz" else []
    for args in (["init", "replay"], ["add", *unpack, "replay", str(warc)]):
        subprocess.run(
            [TOOLS / "wb-manager", *args], cwd=root, check=True, capture_output=True, timeout=120
        )
    return "".join(
        p.read_text() for p in (root / "collections" / "replay" / "indexes").glob("*.cdxj")
    )


@contextlib.contextmanager
def _wayback_over(archive: Path) -> Iterator[int]:
    """pywb serving a throw-away collection of `archive` on 127.0.0.1; yields its port."""
    with tempfile.TemporaryDirectory(prefix="replay-") as tmp:
        root = Path(tmp)
        build_collection(root, archive)
        try:
            port = _free_port()
            proc = _start_wayback(root, port)
        except RuntimeError:  # the port picked free was taken meanwhile, or a slow start: once more
            port = _free_port()
            proc = _start_wayback(root, port)
        try:
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def replay_raw(archive: Path, url: str) -> bytes:
    """The archived response body pywb serves for `url` from `archive` (its `id_` mode: the
    bytes as recorded, no rewriting and no browser)."""
    with _wayback_over(archive) as port, urllib.request.urlopen(
        f"http://127.0.0.1:{port}/replay/2id_/{url}", timeout=30
    ) as response:
        return bytes(response.read())


def replay_text(
    warc: Path, url: str, *, chromium: str, scroll_until: str | None = None, seconds: float = 20
) -> str:
    """The visible text of `url` as pywb replays it from `warc`, after scrolling."""
    with _wayback_over(warc) as port, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium,
            headless=True,
            args=[f"--host-resolver-rules={HERMETIC}"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/replay/{url}", wait_until="load")
            # pywb shows the archived page in an iframe (mp_ mode) under its banner.
            page.wait_for_selector("iframe#replay_iframe", timeout=15_000)
            deadline = time.monotonic() + seconds
            frame = None
            while frame is None and time.monotonic() < deadline:
                frame = next((f for f in page.frames if "/mp_/" in f.url), None)
                page.wait_for_timeout(100)
            if frame is None:
                raise RuntimeError("pywb did not open the archived page")
            frame.wait_for_load_state("load")
            while time.monotonic() < deadline:
                if scroll_until is None or scroll_until in frame.inner_text("body"):
                    break
                frame.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
                page.wait_for_timeout(200)
            return frame.inner_text("body")
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warc", type=Path)
    parser.add_argument("url")
    parser.add_argument("--expect", action="append", default=[], help="text the replay must show")
    parser.add_argument(
        "--chromium", default=os.environ.get("COLLECTOR_CHROMIUM", "/usr/bin/chromium")
    )
    args = parser.parse_args()
    text = replay_text(
        args.warc,
        args.url,
        chromium=args.chromium,
        scroll_until=args.expect[-1] if args.expect else None,
    )
    missing = [t for t in args.expect if t not in text]
    for expected in args.expect:
        print(f"  {'✗' if expected in missing else '✓'} replayed page shows {expected!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
