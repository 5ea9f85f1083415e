"""Watching a page in real Chromium: a post edited, then deleted (404), each run sealed and
compared with the one before, the changes reported in order; revoking the authorization stops
the watch."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from fixtures.server import FixtureServer
from tests.helpers import REPO, Cli

pytestmark = pytest.mark.e2e
POST = REPO / "fixtures" / "site" / "mastodon" / "status.html"


def _run(store: Cli) -> list[str]:
    time.sleep(1.1)  # the watch runs every second: the next run is due a second after the last
    done = store.ok("watch", "run", "--once", as_user="alice")
    return done.stdout.splitlines()


def test_a_watch_proves_an_edit_and_a_deletion_then_stops_at_revocation(
        store: Cli, site: FixtureServer, tmp_path: Path) -> None:  # fmt: skip
    served = tmp_path / "watched"
    served.mkdir()
    page = served / "status.html"
    shutil.copyfile(POST, page)
    url = site.http_url(site.mount("watched", served) + "status.html")
    auth_id = store.approved([site.http_url("/*")])
    started = store.json("watch", url, "--auth", auth_id, "--every", "1s", as_user="alice")
    watch_id = started["watch_id"]
    assert watch_id.startswith("W-") and started["every_s"] == 1

    first = _run(store)
    assert first[0].startswith(f"{watch_id} run 1: captured B-"), first
    text = page.read_text()
    page.write_text(text.replace("Found this bike dumped", "Found this scooter dumped")
                    .replace("/media/photo1.png", "/media/avatar-5.png"))  # fmt: skip
    second = _run(store)
    assert second[0].startswith(f"{watch_id} run 2: captured"), second
    assert any("text: post.text" in line and "scooter" in line for line in second), second
    assert any("media-removed: media" in line and "photo1" in line for line in second), second
    assert any("media-added: media" in line for line in second), second
    page.unlink()
    third = _run(store)
    assert third[0].startswith(f"{watch_id} run 3: captured"), third
    assert any("deleted-or-hidden: page_state content -> not-found" in line for line in third), third

    shown = store.json("watch", "show", watch_id, as_user="erin")
    changes = [e for e in shown["entries"] if e["kind"] == "change"]
    assert [e["run"] for e in shown["entries"] if e["kind"] == "run"] == [1, 2, 3]
    assert [c["run"] for c in changes] == sorted(c["run"] for c in changes) and {2, 3} == {c["run"] for c in changes}
    assert any("deleted-or-hidden" in c["line"] for c in changes if c["run"] == 3)
    assert not any("deleted-or-hidden" in c["line"] for c in changes if c["run"] == 2)
    events: list[dict[str, Any]] = store.events()
    assert len([e for e in events if e["action"] == "watch.changed" and e["subject"] == watch_id]) == 2

    # Each run is a sealed bundle carrying the watch's signed request and its run number.
    runs = [e for e in events if e["action"] == "watch.run" and e["subject"] == watch_id]
    last = runs[-1]["details"]["bundle_id"]
    report = store.json("verify", last, as_user="erin")
    request = next(c for c in report["checks"] if c["name"] == "capture request")
    assert report["ok"] and f"watch {watch_id} run 3" in request["detail"]
    meta = json.loads((store.store / "bundles" / last / "data" / "metadata.json").read_text())
    assert meta["run"] == 3 and meta["request"]["repeat"]["every_s"] == 1

    store.ok("auth", "revoke", auth_id, "--reason", "case closed", as_user="bob")
    stopped = _run(store)
    assert stopped == [f"{watch_id} run 3: stopped (authorization {auth_id} is revoked)"], stopped
    assert store.json("watch", "show", watch_id, as_user="erin")["stopped"].endswith(f"authorization {auth_id} is revoked")
    assert _run(store) == []  # a stopped watch never runs again
