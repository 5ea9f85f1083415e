"""Replay a WARC offline in pywb and report which expected texts the replayed page shows.

    .venv/bin/python scripts/replay_check.py WARC URL --expect TEXT [--expect TEXT ...]

Builds a throw-away pywb collection (`wb-manager` from .venv-tools), starts `wayback` on a
free 127.0.0.1 port, opens the archived URL in headless Chromium, scrolls until the last
expected text appears (or time runs out) and prints ✓/✗ per text. Exit 0 only if all appear.
Used by scripts/demo and by the replay test: pywb is a replay engine we did not write.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
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
    """Make a pywb collection holding `warc` under `root`; return its CDXJ index text."""
    root.mkdir(parents=True, exist_ok=True)
    for args in (["init", "replay"], ["add", "replay", str(warc)]):
        subprocess.run(
            [TOOLS / "wb-manager", *args], cwd=root, check=True, capture_output=True, timeout=120
        )
    return "".join(
        p.read_text() for p in (root / "collections" / "replay" / "indexes").glob("*.cdxj")
    )


def replay_text(
    warc: Path, url: str, *, chromium: str, scroll_until: str | None = None, seconds: float = 20
) -> str:
    """The visible text of `url` as pywb replays it from `warc`, after scrolling."""
    with tempfile.TemporaryDirectory(prefix="replay-") as tmp:
        root = Path(tmp)
        build_collection(root, warc)
        port = _free_port()
        proc = _start_wayback(root, port)
        try:
            with sync_playwright() as pw:
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
                        frame.evaluate(
                            "() => window.scrollTo(0, document.documentElement.scrollHeight)"
                        )
                        page.wait_for_timeout(200)
                    return frame.inner_text("body")
                finally:
                    browser.close()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


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
