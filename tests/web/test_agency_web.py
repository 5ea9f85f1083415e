"""The web application over an agency store: the PostgreSQL ledger and the Object Lock bucket,
the same pages and rules; a capture requested in it is queued for the capture workers."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from playwright.sync_api import Browser

from collector import capture
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from tests.fakes import browser as fake
from tests.helpers import PASSPHRASES, Cli, make_store, sealed_capture
from tests.web.conftest import Server, _visitor, serving


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresServer]:
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="module")
def s3() -> Iterator[SeaweedServer]:
    with SeaweedServer() as server:
        yield server


@pytest.fixture(scope="module")
def agency_server(tmp_path_factory: pytest.TempPathFactory, pg: PostgresServer, s3: SeaweedServer) -> Iterator[Server]:
    player = fake.FakeBrowser()
    with (mock.patch.object(capture, "browser_capture", player),
          mock.patch.object(capture, "shared_browser", lambda store: fake.FakeShared(player))):  # fmt: skip
        made = make_store(tmp_path_factory.mktemp("agency-web"), env={**pg.env("owner"), **s3.env("app")},
                          extra=["--ledger", pg.fresh_database(), "--bundles", f"s3://{s3.bucket()}",
                                 "--s3-endpoint", s3.endpoint])  # fmt: skip
        template = Cli(made.store, env={**pg.env("app"), **s3.env("app")})
        sealed = sealed_capture(template, tmp_path_factory.mktemp("agency-web-store") / "store", fake.url)
    cli: Cli = sealed["cli"]
    with serving(cli, info={"bundle": sealed["result"]["bundle_id"], "auth": sealed["auth"]}) as running:
        yield running


def test_a_bundle_in_the_agency_bucket_is_shown_verified(browser: Browser, agency_server: Server) -> None:
    with contextlib.closing(_visitor(browser, agency_server)) as made:
        erin = next(made)
        erin.log_in("erin")
        erin.go(f"/bundles/{agency_server.info['bundle']}")
        assert erin.page.locator("#verdict").inner_text() == "VERIFIED"
        erin.go(f"/bundles/{agency_server.info['bundle']}/screenshot")
        assert erin.page.locator(".tiles img").count() >= 1
        assert erin.dialogs == []


def test_a_capture_requested_on_an_agency_store_is_queued_for_the_workers(
    browser: Browser, agency_server: Server
) -> None:
    cli = agency_server.cli
    with contextlib.closing(_visitor(browser, agency_server)) as made:
        alice = next(made)
        alice.log_in("alice")
        alice.go("/capture")
        alice.page.get_by_label("Authorization", exact=True).select_option(agency_server.info["auth"])
        alice.page.get_by_label("URLs to capture").fill(fake.url("/index.html"))
        alice.page.get_by_label("Your passphrase (each capture request is signed)").fill(PASSPHRASES["alice"])
        alice.page.get_by_role("button", name="Sign and capture").click()
        alice.page.wait_for_url("**/capture/*")
        item = alice.page.locator("li.item").first
        assert item.get_attribute("data-state") == "queued"
    jobs: list[dict[str, Any]] = cli.json("jobs", as_user="alice")
    queued = [j for j in jobs if j.get("url") == fake.url("/index.html")]
    assert queued and queued[0]["requested_by"] == "alice", json.dumps(jobs)[:500]
    requested = [e for e in cli.events() if e["action"] == "capture.requested"]
    assert requested and requested[-1]["actor"] == "alice"


def test_the_agency_ledger_stays_verifiable(agency_server: Server, tmp_path: Path) -> None:
    done = agency_server.cli.run("ledger", "verify")
    assert done.returncode == 0, done.stdout + done.stderr
