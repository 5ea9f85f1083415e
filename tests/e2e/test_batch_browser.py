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


def test_a_capture_worker_seals_a_queued_request_in_real_chromium(site: FixtureServer, tmp_path: Path) -> None:
    """The whole path on an agency store: an investigator queues, a worker process (its own key,
    one shared Chromium) captures and seals, the bundle carries both signatures."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from fixtures.postgres import PostgresServer
    from fixtures.seaweed import SeaweedServer
    from tests.e2e.conftest import configure
    from tests.helpers import PASSPHRASES, make_store

    with PostgresServer() as pg, SeaweedServer() as s3:
        made = make_store(tmp_path / "agency", env={**pg.env("owner"), **s3.env("app")},
                          extra=["--ledger", pg.fresh_database(), "--bundles", f"s3://{s3.bucket()}",
                                 "--s3-endpoint", s3.endpoint])  # fmt: skip
        cli = Cli(made.store, env={**pg.env("app"), **s3.env("app")})
        configure(cli, extra_ca_certs=[str(site.ca_cert_path)], settle_timeout_s=2.0, total_timeout_s=60.0,
                  host_resolver_rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost")  # fmt: skip
        cli.ok("user", "add", "cap-01", "--role", "capture-system", "--name", "Capture system cap01",
               "--badge", "cap01.pd.example", new_passphrase=PASSPHRASES["cap-01"])  # fmt: skip
        auth_id = cli.approved([site.http_url("/*")])
        queued = cli.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, "--queue", as_user="alice")
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        env.update(cli.environment("cap-01", None, None))
        worker = subprocess.Popen([str(Path(sys.executable).with_name("collector")), "worker"], env=env,
                                  cwd=cli.store, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                jobs = cli.json("jobs", as_user="erin")
                if jobs[0]["status"] in ("succeeded", "failed"):
                    break
                time.sleep(0.5)
        finally:
            worker.send_signal(signal.SIGTERM)
            _out, err = worker.communicate(timeout=60)
        assert jobs[0]["status"] == "succeeded", (jobs, err)
        assert jobs[0]["job_id"] == queued["job_id"] and worker.returncode == 0, err
        report = cli.json("verify", jobs[0]["bundle_id"], as_user="erin")
        checks = {c["name"]: c for c in report["checks"]}
        assert report["ok"] and checks["capture request"]["ok"] and checks["requester certificate"]["ok"]
        assert "captured by system cap-01" in checks["capture request"]["detail"]
        # The exhibit says who asked, which system captured, and on what its authentication rests.
        bundle_id = jobs[0]["bundle_id"]
        cli.ok("custody", "review", bundle_id, as_user="alice")
        cli.ok("user", "profile", "erin", "--title", "Evidence Custodian", "--qualifications",
               "Nine years handling digital evidence", as_user="erin")  # fmt: skip
        out = tmp_path / "exhibit.pdf"
        cli.ok("exhibit", bundle_id, "--number", "7", "--declarant", "erin", "--out", str(out), as_user="erin")
        text = " ".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True,
                                       check=True).stdout.split())  # fmt: skip
        assert "at the request of user alice" in text and queued["job_id"] in text
        assert "the capture system Capture system cap01" in text
        assert "901(b)(9)" in text and "not on a witness who saw the page" in text
        assert "stated that they reviewed the capture" in text


def test_the_installed_command_runs_a_batch_on_the_driver_started_with_it(store: Cli, site: FixtureServer,
                                                                           tmp_path: Path) -> None:  # fmt: skip
    """`collector capture --from FILE` in a real process: the shared browser runs on the driver
    started as the command began, each capture's journal says so, and each bundle verifies."""
    auth_id = store.approved([site.http_url("/*")])
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{site.http_url('/index.html')}\n{site.http_url('/login-wall.html')}\n")
    done = store.run_process("capture", "--from", str(urls), "--auth", auth_id, "--concurrency", "2", "--json",
                             as_user="alice")  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = _results(done)
    assert [r["outcome"] for r in results] == ["captured", "captured"]
    for result in results:
        note = _launch_note(store, result["bundle_id"])
        assert "shared browser 1" in note and "its driver (Playwright) was started with the command at" in note
        assert store.run("verify", result["bundle_id"]).returncode == 0
