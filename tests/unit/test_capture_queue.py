"""The agency's capture queue (Procrastinate on the ledger's PostgreSQL): investigators queue
signed requests, capture workers (processes with their own keys) seal them; a worker killed
mid-capture leaves nothing sealed and its job is sealed once, by another worker. Pages are
replayed from recordings (no browser), each capture made to take a while."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from fixtures.seaweed import SeaweedServer
from tests.helpers import REPO, Cli
from tests.unit.conftest import RecordedSite
from tests.unit.test_capture_requests import enroll

# A worker: the command line in its own process, each capture replayed after DELAY seconds.
WORKER = """
import os, sys
from unittest import mock
from collector import capture
from collector.cli import run
from tests.fakes import browser as fake
shared = fake.FakeShared(fake.FakeBrowser(), float(os.environ["FAKE_CAPTURE_DELAY_S"]))
with mock.patch.object(capture, "shared_browser", lambda store: shared):
    sys.exit(run(sys.argv[1:]))
"""
QUEUE_TIMING = {"heartbeat_s": 0.5, "stalled_after_s": 3.0, "stalled_check_s": 1.0, "poll_s": 0.5}


def _worker(cli: Cli, name: str, delay_s: float, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(cli.environment(name, None, None))
    env.update(PYTHONPATH=str(REPO), FAKE_CAPTURE_DELAY_S=str(delay_s))
    return subprocess.Popen([sys.executable, "-c", WORKER, "worker", *args], env=env, cwd=cli.store,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def _jobs(cli: Cli) -> list[dict[str, Any]]:
    return list(cli.json("jobs", as_user="erin"))


def _until(cli: Cli, done: Any, timeout_s: float = 90.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = _jobs(cli)
        if done(jobs):
            return jobs
        time.sleep(0.3)
    raise AssertionError(f"the queue did not get there in {timeout_s:.0f}s: {_jobs(cli)}")


@pytest.fixture
def queued(agency_template: Cli, site: RecordedSite, tmp_path: Path) -> tuple[Cli, list[dict[str, Any]]]:
    cli = agency_template.copy(tmp_path / "store")
    config = cli.store / "collector.toml"
    settings = tomllib.loads(config.read_text())
    settings["queue"] = QUEUE_TIMING
    config.write_text(tomli_w.dumps(settings))
    enroll(cli, "cap-01")
    enroll(cli, "cap-02")
    auth_id = cli.approved([site.http_url("/*")])
    jobs = [cli.json("capture", site.http_url(page), "--auth", auth_id, "--queue", as_user="alice")
            for page in ("/s/abc123", "/index.html")]  # fmt: skip
    return cli, jobs


def test_queued_jobs_wait_for_a_worker_and_a_killed_worker_s_job_is_sealed_once(
        queued: tuple[Cli, list[dict[str, Any]]], s3: SeaweedServer) -> None:  # fmt: skip
    cli, asked = queued
    assert [j["status"] for j in _jobs(cli)] == ["todo", "todo"]
    # The first worker takes a job and is killed in the middle of its capture.
    first = _worker(cli, "cap-01", 60.0)
    try:
        running = _until(cli, lambda jobs: any(j["status"] == "doing" for j in jobs))
        killed = next(j for j in running if j["status"] == "doing")["job_id"]
        time.sleep(0.5)
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    finally:
        first.kill()
    assert not list((cli.store / "bundles").glob("B-*"))  # nothing sealed, nothing looks sealed
    assert list((cli.store / "work").glob("*.partial"))  # only the killed capture's leftovers
    # A second worker finds the stalled job and seals both, each once.
    second = _worker(cli, "cap-02", 0.0, "--concurrency", "2")
    try:
        done = _until(cli, lambda jobs: all(j["status"] == "succeeded" for j in jobs))
    finally:
        second.send_signal(signal.SIGTERM)
        _out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert f"{killed}: its worker stopped answering; back in the queue" in err
    bundles = {j["job_id"]: j["bundle_id"] for j in done}
    assert set(bundles) == {a["job_id"] for a in asked} and len(set(bundles.values())) == 2
    assert all(j["sealed_by"] == "cap-02" for j in done)
    events = cli.events()
    assert [e["subject"] for e in events if e["action"] == "job.retried"] == [killed]
    sealing = [e for e in events if e["action"] == "capture.sealing"]
    assert sorted(e["details"]["job_id"] for e in sealing) == sorted(bundles)  # one sealing per job
    for job_id, bundle_id in bundles.items():
        report = cli.json("verify", bundle_id, as_user="erin")
        request = next(c for c in report["checks"] if c["name"] == "capture request")
        assert request["ok"] and job_id in request["detail"] and "captured by system cap-02" in request["detail"]
    bucket = tomllib.loads((cli.store / "collector.toml").read_text())["bundles"]["url"].removeprefix("s3://")
    stored = {v["Key"].split("/")[0] for v in s3.versions(bucket, "B-")}
    assert set(bundles.values()) <= stored
    assert cli.ok("ledger", "verify").returncode == 0  # every event signed by whoever acted


def test_the_queue_refuses_what_the_gate_refuses_and_a_workstation_has_no_queue(
        agency_template: Cli, cli: Cli, site: RecordedSite, tmp_path: Path) -> None:  # fmt: skip
    agency = agency_template.copy(tmp_path / "agency")
    auth_id = agency.approved([site.http_url("/*")])
    refused = agency.run("capture", "https://elsewhere.example/", "--auth", auth_id, "--queue", as_user="alice")
    assert refused.returncode == 3 and "scope" in refused.stderr
    assert _jobs(agency) == []
    local = cli.run("capture", site.http_url("/s/abc123"), "--auth", cli.approved([site.http_url("/*")]),
                    "--queue", as_user="alice")  # fmt: skip
    assert local.returncode == 2 and "agency store" in local.stderr
    assert json.loads(cli.run("ledger", "show", "--json").stdout)[-1]["action"] != "job.queued"


def test_workers_run_an_agency_watch_and_stop_it_at_revocation(
        queued: tuple[Cli, list[dict[str, Any]]], site: RecordedSite) -> None:  # fmt: skip
    cli, _asked = queued
    auth_id = cli.approved([site.http_url("/*")])
    watch = cli.json("watch", site.http_url("/s/abc123"), "--auth", auth_id, "--every", "1s", as_user="alice")
    worker = _worker(cli, "cap-01", 0.0, "--concurrency", "2")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            shown = cli.json("watch", "show", watch["watch_id"], as_user="erin")
            if sum(e["kind"] == "run" for e in shown["entries"]) >= 2:
                break
            time.sleep(0.3)
        cli.ok("auth", "revoke", auth_id, "--reason", "case closed", as_user="bob")
        while time.monotonic() < deadline and not cli.json("watch", "show", watch["watch_id"], as_user="erin")["stopped"]:
            time.sleep(0.3)
    finally:
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=60)
    shown = cli.json("watch", "show", watch["watch_id"], as_user="erin")
    runs = [e for e in shown["entries"] if e["kind"] == "run"]
    assert [r["run"] for r in runs] == list(range(1, len(runs) + 1)) and len(runs) >= 2, (shown, err)
    assert shown["stopped"] and f"authorization {auth_id} is revoked" in shown["stopped"], err
    sealed = [e for e in cli.events() if e["action"] == "capture.sealing" and e["details"]["job_id"].startswith("W-")]
    assert len(sealed) == len({e["details"]["job_id"] for e in sealed}) >= 2  # each run sealed once
    report = cli.json("verify", sealed[0]["subject"], as_user="erin")
    request = next(c for c in report["checks"] if c["name"] == "capture request")
    assert request["ok"] and "captured by system cap-01" in request["detail"] and "run 1" in request["detail"]
