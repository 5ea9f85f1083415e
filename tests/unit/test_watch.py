"""Watches without a browser (recorded pages): the schedule, the end cut to the authorization's,
stopping by hand and by revocation, the audit's count. The edit and deletion of a real page are
in tests/e2e/test_watch.py."""

from __future__ import annotations

import json
import time
from datetime import datetime

import pytest

from tests.helpers import Cli
from tests.unit.conftest import RecordedSite


def _start(cli: Cli, site: RecordedSite, *extra: str) -> tuple[str, dict[str, object]]:
    auth_id = cli.approved([site.http_url("/*")])
    started = cli.json("watch", site.http_url("/s/abc123"), "--auth", auth_id, "--every", "1s", *extra,
                       as_user="alice")  # fmt: skip
    return auth_id, started


def test_a_watch_runs_when_due_and_stops_when_its_authorization_is_revoked(cli: Cli, site: RecordedSite) -> None:
    auth_id, started = _start(cli, site)
    watch_id = str(started["watch_id"])
    first = cli.ok("watch", "run", "--once", as_user="alice").stdout
    assert first.startswith(f"{watch_id} run 1: captured B-")
    assert cli.ok("watch", "run", "--once", as_user="alice").stdout == ""  # not due for a second
    time.sleep(1.1)
    second = cli.ok("watch", "run", "--once", as_user="alice").stdout
    assert second.startswith(f"{watch_id} run 2: captured") and "\n  " not in second.strip()  # nothing changed
    assert cli.run("watch", "run", "--once", as_user="dave").stdout == ""  # only one's own watches
    cli.ok("auth", "revoke", auth_id, "--reason", "case closed", as_user="bob")
    time.sleep(1.1)
    stopped = cli.ok("watch", "run", "--once", as_user="alice").stdout
    assert stopped.strip() == f"{watch_id} run 2: stopped (authorization {auth_id} is revoked)"
    assert len(cli.bundles()) == 2
    listed = cli.json("watch", "list", as_user="erin")
    assert listed == [{"id": watch_id, "url": started["url"], "requested_by": "alice", "runs": 2,
                       "changes": 0, "deleted": False, "stopped": True}]  # fmt: skip
    report = cli.run("audit", "report", "--format", "json", as_user="bob")
    watches = json.loads(report.stdout)["watches"]
    assert watches["summary"]["watches"] == 1 and watches["summary"]["runs"] == 2
    assert "revoked" in watches["rows"][0]["stopped"]


def test_a_watch_ends_with_its_authorization_and_is_stopped_by_its_requester_or_a_supervisor(
        cli: Cli, site: RecordedSite) -> None:  # fmt: skip
    _, started = _start(cli, site, "--until", "2999-01-01")
    auth = cli.json("auth", "show", str(started["authorization_id"]), as_user="alice")
    assert datetime.fromisoformat(str(started["until"])) == datetime.fromisoformat(auth["valid_until"])
    watch_id = str(started["watch_id"])
    other = cli.run("watch", "stop", watch_id, "--reason", "not mine", as_user="dave")
    assert other.returncode == 3 and "only alice" in other.stderr
    refused = [(e["actor"], e["subject"]) for e in cli.events() if e["action"] == "denied.watch.stopped"]
    assert refused == [("dave", watch_id)]  # recorded, as every refusal is
    cli.ok("watch", "stop", watch_id, "--reason", "the account was closed", as_user="bob")
    assert cli.run("watch", "stop", watch_id, "--reason", "again", as_user="bob").returncode == 2
    assert cli.ok("watch", "run", "--once", as_user="alice").stdout == ""
    shown = cli.json("watch", "show", watch_id, as_user="erin")
    assert shown["stopped"].endswith("stopped by bob: the account was closed") and shown["entries"] == []


@pytest.mark.parametrize("every", ["0s", "6", "1w", "-1h", "h"])
def test_a_bad_interval_is_one_line(cli: Cli, site: RecordedSite, every: str) -> None:
    done = cli.run("watch", site.http_url("/s/abc123"), "--auth", "A-1", "--every", every, as_user="alice")
    assert done.returncode == 2 and "--every" in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_watch_outside_the_scope_is_refused_and_never_recorded(cli: Cli, site: RecordedSite) -> None:
    auth_id = cli.approved([site.http_url("/*")])
    done = cli.run("watch", "https://elsewhere.example/", "--auth", auth_id, as_user="alice")
    assert done.returncode == 3 and "scope" in done.stderr
    assert not any(e["action"] == "watch.started" for e in cli.events())
