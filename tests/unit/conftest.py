"""Unit and evidence-core fixtures: no real browser, the command line in-process.

Captures replay recordings of the fixture site (tests/fakes/browser.py): everything after the
browser step (screening, sealing, ledger, custody, verify, export, retention, audit) runs
for real, without Chromium. `site.http_url(path)` names a recorded page.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from collector import capture
from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from tests.fakes import browser as fake
from tests.helpers import Cli, make_store, sealed_capture

PLAYER = fake.FakeBrowser()
UNIT = Path(__file__).resolve().parent


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Every capture made while a unit test runs (its fixtures included, whatever their scope)
    replays a recording instead of starting Chromium; end-to-end tests are left alone."""
    if UNIT not in item.path.parents:  # this hook sees every item of the session
        yield
        return
    with mock.patch.object(capture, "browser_capture", PLAYER):
        yield


class RecordedSite:
    """The fixture site as the recordings saw it (nothing listens there)."""

    def http_url(self, path: str) -> str:
        return fake.url(path)


@pytest.fixture(scope="session")
def site() -> RecordedSite:
    return RecordedSite()


@pytest.fixture(scope="session")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return make_store(tmp_path_factory.mktemp("template"))


@pytest.fixture
def cli(store_template: Cli, tmp_path: Path) -> Cli:
    """A fresh copy of a store with the standard users (see tests/helpers.py)."""
    target = tmp_path / "store"
    shutil.copytree(store_template.store, target)
    return Cli(target)


@pytest.fixture
def store(cli: Cli) -> Cli:
    return cli


@pytest.fixture(scope="session")
def sealed(store_template: Cli, site: RecordedSite, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One capture of the lazily loaded thread through its short link, shared read-only."""
    return sealed_capture(store_template, tmp_path_factory.mktemp("sealed") / "store", site.http_url)


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this test process (each test makes its own database)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[SeaweedServer]:
    """A real S3 server with Object Lock for this test process (each test makes its own bucket)."""
    with SeaweedServer() as server:
        yield server
