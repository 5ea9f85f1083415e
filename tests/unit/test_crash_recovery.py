"""A capture killed anywhere leaves no unknown sealed bundle and no leftovers after the next
command: a bundle sealed before the kill is recovered, never lost; one not sealed leaves
nothing that looks sealed. (The recorded browser stands in for Chromium: the browser is not
the point here; the process really dies by SIGKILL.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes.browser import url
from tests.fakes.crash import POINTS
from tests.helpers import PASSPHRASES, REPO, Cli

ALL_POINTS = [f"{name}:{when}" for name in POINTS for when in ("before", "after")]
# points at which the bag is already in bundles/ (the first call of `sync-directory` is still
# inside the bag, before the move)
SEALED_POINTS = {"rename:after", "add-bundle:before", "add-bundle:after", "screening-record:before",
                 "screening-record:after"}  # fmt: skip


def killed_capture(cli: Cli, auth: str, point: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(COLLECTOR_STORE=str(cli.store), COLLECTOR_USER="alice",
               COLLECTOR_PASSPHRASE=PASSPHRASES["alice"])  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "tests.fakes.crash", point, "capture", url("/index.html"), "--auth", auth],
        env=env, capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip


def test_there_are_twenty_points_or_more() -> None:
    assert len(ALL_POINTS) >= 20


@pytest.mark.parametrize("point", ALL_POINTS)
def test_a_capture_killed_at_any_point_leaves_the_store_whole(cli: Cli, point: str) -> None:
    auth = cli.approved([url("/*")])
    died = killed_capture(cli, auth, point)
    assert died.returncode == -signal.SIGKILL, died.stderr

    after = cli.run("ledger", "verify")  # the next command reconciles first
    assert after.returncode == 0, after.stdout + after.stderr
    assert list((cli.store / "work").iterdir()) == []
    known = {e["subject"] for e in cli.events() if e["action"] in ("capture.sealed", "capture.recovered")}
    present = {p.name for p in (cli.store / "bundles").iterdir()}
    assert present <= known, "a sealed bundle the ledger does not know"
    assert not (cli.store / "unrecorded").exists()
    if point in SEALED_POINTS:
        assert len(present) == 1, "a bundle sealed before the kill was lost"
        (bundle_id,) = present
        assert cli.ok("verify", bundle_id).stdout.rstrip().endswith("VERIFIED")
        assert cli.run("custody", "verify", bundle_id).returncode == 0
        if point in ("rename:after", "add-bundle:before"):
            assert "recorded now (custody event `recovered`)" in after.stderr
            row = next(e for e in cli.events() if e["action"] == "capture.recovered")
            assert row["actor"] == "system" and row["details"]["captured_by"] == "alice"
            first = cli.json("custody", "show", bundle_id)
            events = first["events"] if isinstance(first, dict) else first
            assert events[0]["type"] == "recovered" and events[0]["actor"]["user"] == "system"
    else:
        assert present == set()
    again = cli.run("ledger", "verify")
    assert again.returncode == 0 and again.stderr == ""  # nothing left to put right


def test_a_bundle_nobody_recorded_sealing_is_set_aside(cli: Cli) -> None:
    """A directory dropped into bundles/ by hand is never taken for evidence."""
    auth = cli.approved([url("/*")])
    captured = cli.json("capture", url("/index.html"), "--auth", auth, as_user="alice")
    source = Path(captured["path"])
    planted = cli.store / "bundles" / "B-20260101T000000Z-DEADBEEF"
    subprocess.run(["cp", "-a", str(source), str(planted)], check=True)
    result = cli.run("ledger", "verify")
    assert "moved to unrecorded/B-20260101T000000Z-DEADBEEF" in result.stderr
    assert not planted.exists() and (cli.store / "unrecorded" / planted.name).is_dir()
    row = [e for e in cli.events() if e["action"] == "capture.unrecorded"][-1]
    assert row["details"]["reason"] == "the ledger holds no record of its sealing"


def test_interrupt_before_sealing_says_nothing_was_sealed(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from collector import capture

    def interrupted(*_args: object, **_kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(capture, "build_metadata", interrupted)
    auth = cli.approved([url("/*")])
    result = cli.run("capture", url("/index.html"), "--auth", auth, as_user="alice")
    assert result.returncode == 130
    assert result.stderr.strip() == (
        "collector: interrupted before sealing: nothing was sealed and the partial capture was removed"
    )
    assert list((cli.store / "work").iterdir()) == [] and list((cli.store / "bundles").iterdir()) == []


def test_interrupt_after_sealing_says_where_the_bundle_is(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from collector.store.ledger import Ledger

    def interrupted(*_args: object, **_kw: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(Ledger, "add_bundle", interrupted)
    auth = cli.approved([url("/*")])
    result = cli.run("capture", url("/index.html"), "--auth", auth, as_user="alice")
    assert result.returncode == 130
    assert "interrupted after sealing" in result.stderr and "the next command records it" in result.stderr
    monkeypatch.undo()
    after = cli.run("ledger", "verify")
    assert "recorded now" in after.stderr
    actions = [e["action"] for e in json.loads(cli.run("ledger", "show", "--json").stdout)]
    assert actions[-3:] == ["capture.recovered", "custody.recovered", "ledger.verify"]
