"""Unit and evidence-core fixtures: no real browser, the command line in-process.

Captures replay recordings of the fixture site (tests/fakes/browser.py): everything after the
browser step (screening, sealing, ledger, custody, verify, export, retention, audit) runs
for real, without Chromium. `site.http_url(path)` names a recorded page.
"""

from __future__ import annotations

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
    with (mock.patch.object(capture, "browser_capture", PLAYER),
          mock.patch.object(capture, "shared_browser", lambda store: fake.FakeShared(PLAYER))):  # fmt: skip
        yield


class RecordedSite:
    """The fixture site as the recordings saw it (nothing listens there)."""

    def http_url(self, path: str) -> str:
        return fake.url(path)


@pytest.fixture(scope="session")
def site() -> RecordedSite:
    return RecordedSite()


BACKENDS = ("workstation", "agency")
"""Where a store keeps its ledger and bundles: SQLite and a directory, or PostgreSQL and an
S3 Object Lock bucket. Tests marked `both_backends` run on each; the others on a workstation."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_backends: run on a workstation store and on an agency "
                            "store (PostgreSQL ledger, Object Lock bucket)")  # fmt: skip


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_backends") and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    return str(getattr(request, "param", "workstation"))


@pytest.fixture(scope="session")
def workstation_template(tmp_path_factory: pytest.TempPathFactory) -> Cli:
    return make_store(tmp_path_factory.mktemp("template"))


@pytest.fixture(scope="session")
def agency_template(tmp_path_factory: pytest.TempPathFactory, pg: PostgresServer, s3: SeaweedServer) -> Cli:
    """The standard store and users on PostgreSQL and an Object Lock bucket; copies of it get
    their own database (`Cli.copy`) and share the bucket."""
    made = make_store(tmp_path_factory.mktemp("agency-template"), env={**pg.env("owner"), **s3.env("app")},
                      extra=["--ledger", pg.fresh_database(), "--bundles", f"s3://{s3.bucket()}",
                             "--s3-endpoint", s3.endpoint])  # fmt: skip
    return Cli(made.store, env={**pg.env("app"), **s3.env("app")}, clone_ledger=pg.clone_database)


@pytest.fixture
def store_template(backend: str, request: pytest.FixtureRequest) -> Cli:
    """The standard store and users on this test's backend (shared: copy it before changing it)."""
    return request.getfixturevalue(f"{backend}_template")  # type: ignore[no-any-return]


@pytest.fixture
def cli(store_template: Cli, tmp_path: Path) -> Cli:
    """A fresh copy of a store with the standard users (see tests/helpers.py)."""
    return store_template.copy(tmp_path / "store")


@pytest.fixture
def store(cli: Cli) -> Cli:
    return cli


@pytest.fixture(scope="session")
def workstation_sealed(workstation_template: Cli, site: RecordedSite,
                       tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # fmt: skip
    return sealed_capture(workstation_template, tmp_path_factory.mktemp("sealed") / "store", site.http_url)


@pytest.fixture(scope="session")
def agency_sealed(agency_template: Cli, site: RecordedSite,
                  tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:  # fmt: skip
    return sealed_capture(agency_template, tmp_path_factory.mktemp("agency-sealed") / "store", site.http_url)


@pytest.fixture
def sealed(backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """One capture of the lazily loaded thread through its short link, shared read-only (copy
    `sealed["cli"]` before changing anything)."""
    return request.getfixturevalue(f"{backend}_sealed")  # type: ignore[no-any-return]


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


@pytest.fixture
def agency(pg: PostgresServer, s3: SeaweedServer, tmp_path: Path) -> tuple[Cli, str]:
    """A new agency store of its own (database and bucket) with the standard users, and the
    name of its bucket; the command line runs with the workstations' credentials."""
    bucket = s3.bucket()
    made = make_store(tmp_path / "agency", env={**pg.env("owner"), **s3.env("app")},
                      extra=["--ledger", pg.fresh_database(), "--bundles", f"s3://{bucket}",
                             "--s3-endpoint", s3.endpoint])  # fmt: skip
    return Cli(made.store, env={**pg.env("app"), **s3.env("app")}), bucket
