"""End-to-end fixtures: one fixture site and one store per session, real Chromium."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from fixtures.server import FixtureServer
from tests.helpers import Cli, make_store, sealed_capture


@pytest.fixture(scope="session")
def site() -> Iterator[FixtureServer]:
    with FixtureServer() as server:
        yield server


def configure(cli: Cli, **browser: Any) -> None:
    """Change browser settings in a store's collector.toml (as an agency administrator would)."""
    path = cli.store / "collector.toml"
    config = tomllib.loads(path.read_text())
    config["browser"].update(browser)
    path.write_text(tomli_w.dumps(config))


@pytest.fixture(scope="session")
def e2e_template(tmp_path_factory: pytest.TempPathFactory, site: FixtureServer) -> Cli:
    cli = make_store(tmp_path_factory.mktemp("e2e-template"))
    configure(
        cli,
        extra_ca_certs=[str(site.ca_cert_path)],
        navigation_timeout_s=15.0,
        settle_timeout_s=2.0,
        scroll_max_time_s=15.0,
        total_timeout_s=60.0,
        script_busy_s=2.0,
        host_resolver_rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    )
    return cli


@pytest.fixture
def store(e2e_template: Cli, tmp_path: Path) -> Cli:
    target = tmp_path / "store"
    shutil.copytree(e2e_template.store, target)
    return Cli(target)


@pytest.fixture(scope="session")
def sealed(e2e_template: Cli, site: FixtureServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One capture of the lazily loaded thread through its short link, shared read-only."""
    return sealed_capture(e2e_template, tmp_path_factory.mktemp("sealed") / "store", site.http_url)
