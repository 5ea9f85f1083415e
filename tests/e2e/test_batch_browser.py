"""A batch in one real Chromium: each capture in a fresh context that shares nothing with the
others (cookies, cache, storage, service workers), several at once."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fixtures.server import FixtureServer
from tests.helpers import Cli

pytestmark = pytest.mark.e2e


def _results(done: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _dom(store: Cli, bundle_id: str) -> str:
    return (store.store / "bundles" / bundle_id / "data" / "page.html").read_text()


def _launch_note(store: Cli, bundle_id: str) -> str:
    meta = json.loads((store.store / "bundles" / bundle_id / "data" / "metadata.json").read_text())
    steps = meta["capture"]["steps"]
    return str(next(s["detail"] for s in steps if s["name"] == "launch"))


def test_a_later_capture_sees_nothing_an_earlier_one_left(store: Cli, site: FixtureServer, tmp_path: Path) -> None:
    auth_id = store.approved([site.http_url("/*")])
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{site.http_url('/isolation/set.html')}\n{site.http_url('/isolation/check.html')}\n")
    before = len(site.requests)
    done = store.run("capture", "--from", str(urls), "--auth", auth_id, "--json", as_user="alice")
    assert done.returncode == 0, done.stderr
    first, second = _results(done)
    # The first page did leave its traces, in its own context...
    left = _dom(store, first["bundle_id"])
    assert re.search(r"traces: cookie=\[[^\]]*iso-script=one", left), left
    assert "local=[one]" in left and "cache=[set]" in left and "cached-script=[loaded]" in left
    # ...and the second page, in the same browser, saw none of them.
    seen = _dom(store, second["bundle_id"])
    assert "cookie header: []" in seen, seen
    assert "seen: cookie=[] local=[] session=[] idb=[] caches=[] workers=[0]" in seen, seen
    # Not served from the first context's HTTP cache: the browser asked the server again.
    requests = [path for _, path in site.requests[before:]]
    check = requests.index("/isolation/check.html")
    assert "/isolation/cached.js" in requests[check:], requests
    # Both ran in one browser, each in a context of its own.
    notes = [_launch_note(store, r["bundle_id"]) for r in (first, second)]
    assert "shared browser 1 " in notes[0] and "context is number 1 " in notes[0]
    assert "shared browser 1 " in notes[1] and "context is number 2 " in notes[1]


def test_a_batch_captures_several_pages_at_once(store: Cli, site: FixtureServer, tmp_path: Path) -> None:
    auth_id = store.approved([site.http_url("/*")])
    pages = ["/s/abc123", "/index.html", "/tall.html"]
    urls = tmp_path / "urls.txt"
    urls.write_text("".join(site.http_url(p) + "\n" for p in pages))
    done = store.run("capture", "--from", str(urls), "--auth", auth_id, "--concurrency", "3", "--json",
                     as_user="alice")  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = _results(done)
    assert sorted(r["item"] for r in results) == [1, 2, 3]
    assert all(r["outcome"] == "captured" for r in results)
    contexts = set()
    for r in results:
        assert store.run("verify", r["bundle_id"]).returncode == 0
        note = _launch_note(store, r["bundle_id"])
        assert "shared browser 1 " in note
        contexts.add(re.search(r"context is number (\d+)", note).group(1))  # type: ignore[union-attr]
    assert contexts == {"1", "2", "3"}
