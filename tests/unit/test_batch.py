"""Batches (`collector capture --from FILE`): each URL through the gate on its own and sealed as
its own bundle; a refused or failing URL never stops the others; `--resume` never captures a URL
twice. Pages are replayed from recordings (no browser)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector import batch
from collector.errors import Interrupted
from tests.helpers import Cli
from tests.unit.conftest import RecordedSite


def _lines(done: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _list(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "urls.txt"
    path.write_text(text)
    return path


def test_a_batch_captures_each_url_on_its_own_and_reports_each(cli: Cli, site: RecordedSite, tmp_path: Path) -> None:
    auth_id = cli.approved([site.http_url("/*")])
    urls = _list(tmp_path, "\n".join([
        "# the tip's links", site.http_url("/s/abc123"), "", "https://elsewhere.example/post/1",
        site.http_url("/no-recording.html"), site.http_url("/index.html"),
    ]) + "\n")  # fmt: skip
    done = cli.run("capture", "--from", str(urls), "--auth", auth_id, "--json", as_user="alice")
    assert done.returncode == 4, done.stderr  # one failed (and one refused)
    results = sorted(_lines(done), key=lambda r: r["item"])  # a refusal is known before any capture
    assert [r["outcome"] for r in results] == ["captured", "refused", "failed", "captured"]
    assert [r["item"] for r in results] == [1, 2, 3, 4]
    batch_id = results[0]["batch"]
    assert all(r["batch"] == batch_id for r in results)
    assert "scope" in results[1]["detail"] and "no recording" in results[2]["detail"]
    sealed = [r["bundle_id"] for r in results if r["outcome"] == "captured"]
    assert len(set(sealed)) == 2 and all(cli.run("verify", b).returncode == 0 for b in sealed)
    events = [e for e in cli.events() if e["subject"] == batch_id]
    assert events[0]["action"] == "batch.started" and events[0]["details"]["count"] == 4
    finals = [e for e in events if e["action"] == "batch.item" and e["details"]["state"] != "started"]
    assert sorted((e["details"]["item"], e["outcome"]) for e in finals) == [(1, "ok"), (2, "refused"), (3, "failed"), (4, "ok")]
    # The investigator signed a request for each URL the gate let through, then let their key go:
    # the workstation's local capture system sealed each.
    assert [e["details"]["job_id"] is not None for e in events if e["details"].get("state") == "started"] == [True] * 3
    assert {cli.json("show", b, as_user="alice")["operator"]["user"] for b in sealed} == {"local-capture"}


def test_resume_captures_only_what_the_batch_has_not(cli: Cli, site: RecordedSite, tmp_path: Path) -> None:
    auth_id = cli.approved([site.http_url("/*")])
    urls = _list(tmp_path, f"{site.http_url('/s/abc123')}\n{site.http_url('/no-recording.html')}\n")
    first = _lines(cli.run("capture", "--from", str(urls), "--auth", auth_id, "--json", as_user="alice"))
    again = cli.run("capture", "--resume", first[0]["batch"], "--json", as_user="alice")
    assert again.returncode == 4
    results = _lines(again)
    assert results[0]["already_captured"] and results[0]["bundle_id"] == first[0]["bundle_id"]
    assert results[1]["outcome"] == "failed" and not results[1]["already_captured"]
    assert len(cli.bundles()) == 1  # nothing captured twice
    other = cli.run("capture", "--resume", first[0]["batch"], as_user="dave")
    assert other.returncode == 2 and "only they resume it" in other.stderr


def test_a_batch_killed_after_sealing_is_not_captured_twice(cli: Cli, site: RecordedSite, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Killed between sealing a URL's bundle and recording its outcome: resume finds the bundle
    sealed after the URL's attempt began and does not capture it again."""
    auth_id = cli.approved([site.http_url("/*")])
    urls = _list(tmp_path, f"{site.http_url('/s/abc123')}\n{site.http_url('/index.html')}\n")
    real = batch._one
    killed: list[bool] = []

    def sealed_then_killed(*args: Any) -> batch.ItemResult:
        # The process dies right after the first seal: nothing after it runs, not even a
        # capture the pool's thread picks up before the batch hears of the interrupt.
        if not killed:
            real(*args)
            killed.append(True)
        raise Interrupted("interrupted")

    with monkeypatch.context() as patch:
        patch.setattr(batch, "_one", sealed_then_killed)
        stopped = cli.run("capture", "--from", str(urls), "--auth", auth_id, as_user="alice")
    assert stopped.returncode != 0 and len(cli.bundles()) == 1
    batch_id = next(e["subject"] for e in cli.events() if e["action"] == "batch.started")
    resumed = _lines(cli.run("capture", "--resume", batch_id, "--json", as_user="alice"))
    assert [r["already_captured"] for r in resumed] == [True, False]
    assert all(r["outcome"] == "captured" for r in resumed) and len(cli.bundles()) == 2


def test_a_csv_list_carries_notes(cli: Cli, site: RecordedSite, tmp_path: Path) -> None:
    auth_id = cli.approved([site.http_url("/*")])
    urls = _list(tmp_path, f'url,note\n{site.http_url("/s/abc123")},"from the tip, item 1"\n')
    result = _lines(cli.run("capture", "--from", str(urls), "--auth", auth_id, "--json", as_user="alice"))
    assert result[0]["outcome"] == "captured"
    shown = cli.json("show", result[0]["bundle_id"], as_user="alice")
    assert "from the tip, item 1" in json.dumps(shown)


@pytest.mark.parametrize(("text", "message"), [
    ("", "no URLs in it"),
    ("# only a comment\n", "no URLs in it"),
    ("https://a.example/x y\n", "line 1: a URL holds no spaces"),
    ("url,note\nhttps://a.example/,one,two\n", "line 2: expected url,note"),
    ("https://a.example/\x07\n", "line 1: too long, or holds control characters"),
])  # fmt: skip
def test_a_bad_list_is_one_line_naming_the_line(cli: Cli, tmp_path: Path, text: str, message: str) -> None:
    done = cli.run("capture", "--from", str(_list(tmp_path, text)), "--auth", "A-1", as_user="alice")
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_batch_takes_no_single_capture_options(cli: Cli, tmp_path: Path) -> None:
    urls = _list(tmp_path, "https://a.example/\n")
    for extra in (["https://b.example/"], ["--note", "x"], ["--exigent"]):
        done = cli.run("capture", *extra, "--from", str(urls), "--auth", "A-1", as_user="alice")
        assert done.returncode == 2 and "a batch takes its URLs" in done.stderr
    assert cli.run("capture", as_user="alice").returncode == 2


def test_the_live_display_counts_outcomes_and_escapes_urls() -> None:
    import io

    from rich.console import Console

    from collector.cli.progress import BatchProgress

    out = io.StringIO()
    live = BatchProgress(3, console=Console(file=out, force_terminal=True, width=120))
    with live.shown():
        live.working(1, "https://a.example/\x1b[31mred")
        live.working(2, "https://a.example/[/][bold]x")  # not rich markup either
        live.done(1, "captured")
        live.done(2, "failed")
    text = out.getvalue()
    assert "2/3" in text and "1 captured, 1 failed" in text
    assert "\x1b[31mred" not in text and "\\x1b" in text  # a URL never drives the terminal
    assert "[2] capturing https://a.example/[/][bold]x" in text


def test_a_batch_runs_captures_at_once_each_recorded_once(cli: Cli, site: RecordedSite, tmp_path: Path) -> None:
    auth_id = cli.approved([site.http_url("/*")])
    pages = ["/s/abc123", "/index.html", "/login-wall.html", "/hostile-title.html"]
    urls = _list(tmp_path, "".join(site.http_url(p) + "\n" for p in pages) + "https://elsewhere.example/\n")
    done = cli.run("capture", "--from", str(urls), "--auth", auth_id, "--concurrency", "3", "--json", as_user="alice")
    assert done.returncode == 3, done.stdout  # one refused, none failed
    results = sorted(_lines(done), key=lambda r: r["item"])
    assert [r["item"] for r in results] == [1, 2, 3, 4, 5]
    assert [r["outcome"] for r in results] == ["captured"] * 4 + ["refused"]
    assert len({r["bundle_id"] for r in results[:4]}) == 4 and len(cli.bundles()) == 4
    items = [e for e in cli.events() if e["action"] == "batch.item"]
    assert sorted(e["details"]["item"] for e in items if e["details"]["state"] == "started") == [1, 2, 3, 4]
    assert sorted(e["details"]["item"] for e in items if e["details"]["state"] != "started") == [1, 2, 3, 4, 5]
    assert cli.ok("ledger", "verify").returncode == 0  # threads appended to one unbroken chain


@pytest.mark.parametrize("extra", [["--concurrency", "0"], ["--concurrency", "9"]])
def test_concurrency_is_bounded(cli: Cli, tmp_path: Path, extra: list[str]) -> None:
    urls = _list(tmp_path, "https://a.example/\n")
    done = cli.run("capture", "--from", str(urls), "--auth", "A-1", *extra, as_user="alice")
    assert done.returncode == 2 and "--concurrency must be between 1 and 8" in done.stderr
    single = cli.run("capture", "https://a.example/", "--auth", "A-1", "--concurrency", "2", as_user="alice")
    assert single.returncode == 2 and "goes with a batch" in single.stderr


def test_an_interrupted_batch_stops_what_has_not_begun_and_resume_finishes_it(
        cli: Cli, site: RecordedSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Ctrl-C arrives while the batch waits for its captures: none not yet begun is begun, every
    one begun has its outcome recorded, and resume captures the rest, none twice."""
    auth_id = cli.approved([site.http_url("/*")])
    pages = ["/s/abc123", "/index.html", "/login-wall.html", "/hostile-title.html"]
    urls = _list(tmp_path, "".join(site.http_url(p) + "\n" for p in pages))
    real = batch.as_completed

    def interrupted_after_one(futures: Any) -> Any:
        for future in real(futures):
            yield future
            raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(batch, "as_completed", interrupted_after_one)
        stopped = cli.run("capture", "--from", str(urls), "--auth", auth_id, as_user="alice")
    assert stopped.returncode == 130, stopped.stderr
    batch_id = next(e["subject"] for e in cli.events() if e["action"] == "batch.started")
    assert f"collector capture --resume {batch_id}" in stopped.stderr
    assert len(stopped.stderr.strip().splitlines()) == 1
    items = [e for e in cli.events() if e["action"] == "batch.item"]
    begun = [e["details"]["item"] for e in items if e["details"]["state"] == "started"]
    ended = [e["details"]["item"] for e in items if e["details"]["state"] != "started"]
    assert sorted(begun) == sorted(ended) and len(begun) < len(pages)
    sealed = [e for e in items if e["details"]["state"] == "captured"]
    assert len(cli.bundles()) == len(sealed) >= 1
    resumed = _lines(cli.run("capture", "--resume", batch_id, "--json", as_user="alice"))
    assert all(r["outcome"] == "captured" for r in resumed) and len(resumed) == len(pages)
    assert len(cli.bundles()) == len(pages)  # none captured twice


def test_a_batch_killed_with_sigkill_is_resumed_without_capturing_twice(cli: Cli, site: RecordedSite,
                                                                        tmp_path: Path) -> None:  # fmt: skip
    """The batch's process is killed (SIGKILL) in the middle of a capture: resume captures the
    rest, the killed capture left nothing sealed, no URL is sealed twice."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.helpers import REPO
    from tests.unit.test_capture_queue import WORKER

    auth_id = cli.approved([site.http_url("/*")])
    pages = ["/s/abc123", "/index.html", "/login-wall.html"]
    urls = _list(tmp_path, "".join(site.http_url(p) + "\n" for p in pages))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(cli.environment("alice", None, None))
    env.update(PYTHONPATH=str(REPO), FAKE_CAPTURE_DELAY_S="1.5")
    batch_run = subprocess.Popen([sys.executable, "-c", WORKER, "capture", "--from", str(urls), "--auth", auth_id,
                                  "--json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(list((cli.store / "bundles").glob("B-*"))) < 1:
            time.sleep(0.05)
        time.sleep(0.5)  # the second capture is under way
        batch_run.send_signal(signal.SIGKILL)
        batch_run.communicate(timeout=30)
    finally:
        batch_run.kill()
    sealed_before = len(cli.bundles())
    assert 1 <= sealed_before < len(pages)
    batch_id = next(e["subject"] for e in cli.events() if e["action"] == "batch.started")
    resumed = _lines(cli.run("capture", "--resume", batch_id, "--json", as_user="alice"))
    assert sorted(r["item"] for r in resumed) == [1, 2, 3]
    assert all(r["outcome"] == "captured" for r in resumed)
    assert sum(r["already_captured"] for r in resumed) == sealed_before
    assert len(cli.bundles()) == len(pages)  # none twice, and the killed one left nothing sealed
    assert not list((cli.store / "work").glob("*.partial"))  # the next command cleared its leftovers


def test_the_shared_browser_starts_early_only_once_a_gate_has_passed(cli: Cli, site: RecordedSite,
                                                                      tmp_path: Path) -> None:  # fmt: skip
    """The batch's browser starts while the rest of the requests are signed, and only after the
    gate has let one through: a batch the gate refuses whole launches nothing."""
    from unittest import mock

    from collector import capture
    from tests.fakes import browser as fake
    from tests.unit.conftest import PLAYER

    auth_id = cli.approved([site.http_url("/*")])
    hosts: list[fake.FakeShared] = []

    def shared(store: object) -> fake.FakeShared:
        hosts.append(fake.FakeShared(PLAYER))
        return hosts[-1]

    refused = _list(tmp_path, "https://elsewhere.example/1\nhttps://elsewhere.example/2\n")
    mixed = tmp_path / "mixed.txt"
    mixed.write_text(f"https://elsewhere.example/1\n{site.http_url('/s/abc123')}\n{site.http_url('/index.html')}\n")
    with mock.patch.object(capture, "shared_browser", shared):
        assert cli.run("capture", "--from", str(refused), "--auth", auth_id, as_user="alice").returncode == 3
        done = cli.run("capture", "--from", str(mixed), "--auth", auth_id, "--json", as_user="alice")
    assert done.returncode == 3, done.stderr
    assert [h.started_early for h in hosts] == [0, 1]
    assert sorted(r["outcome"] for r in _lines(done)) == ["captured", "captured", "refused"]
