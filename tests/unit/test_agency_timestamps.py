"""Trusted time in an agency store: the authority's roots live in the database (pinned by the
store's signed `store.init` event), a stamp missed at sealing is obtained later from any
workstation, and the bucket's copy with its `timestamped` event verifies."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.postgres import PostgresServer
from fixtures.seaweed import SeaweedServer
from fixtures.tsa import TsaServer
from tests.helpers import Cli, make_store
from tests.unit.conftest import RecordedSite


@pytest.fixture(scope="module")
def tsa() -> Iterator[TsaServer]:
    with TsaServer() as server:
        yield server


@pytest.fixture
def stamped_agency(pg: PostgresServer, s3: SeaweedServer, tsa: TsaServer, tmp_path: Path) -> tuple[Cli, str]:
    url = pg.fresh_database()
    made = make_store(tmp_path / "made", env={**pg.env("owner"), **s3.env("app")},
                      extra=["--ledger", url, "--bundles", f"s3://{s3.bucket()}", "--s3-endpoint", s3.endpoint,
                             "--tsa-url", tsa.url, "--tsa-root", str(tsa.root_cert_path)])  # fmt: skip
    return Cli(made.store, env={**pg.env("app"), **s3.env("app")}), url


def test_a_stamp_missed_at_sealing_is_obtained_from_another_workstation(
    stamped_agency: tuple[Cli, str], tsa: TsaServer, site: RecordedSite, tmp_path: Path
) -> None:
    cli, _url = stamped_agency
    assert not (cli.store / "tsa").exists()  # the roots are in the database
    config = cli.store / "collector.toml"
    text = config.read_text()
    config.write_text(text.replace(tsa.url, "http://127.0.0.1:9/"))
    auth_id = cli.approved([site.http_url("/*")])
    try:
        bundle_id = cli.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, as_user="alice")["bundle_id"]
    finally:
        config.write_text(text)
    other = Cli(tmp_path / "second", env=cli.env)
    other.store.mkdir()
    shutil.copy(config, other.store / "collector.toml")
    assert bundle_id in other.json("timestamp", "pending")
    other.ok("timestamp", "retry", bundle_id, as_user="erin")
    assert bundle_id not in other.json("timestamp", "pending")
    report = other.json("verify", bundle_id, as_user="erin")
    stamp = next(c for c in report["checks"] if c["name"] == "time-stamp")
    assert report["ok"] and stamp["ok"] and stamp["detail"].startswith("late stamp"), stamp
    assert " d " not in stamp["detail"], stamp  # obtained seconds after sealing


def test_a_time_stamp_root_swapped_in_the_database_is_refused(
    stamped_agency: tuple[Cli, str], pg: PostgresServer, site: RecordedSite
) -> None:
    """The workstations' role may write the vault: a root put there is not trusted unless it is
    the one the signed `store.init` event recorded."""
    cli, url = stamped_agency
    auth_id = cli.approved([site.http_url("/*")])
    bundle_id = cli.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, as_user="alice")["bundle_id"]
    with TsaServer(name="Rogue TSA") as rogue, pg.connect(url, "app") as db:
        pem = rogue.root_cert_path.read_bytes()
        db.execute("UPDATE vault SET data = %s WHERE name = 'tsa/root-1.pem'", (base64.b64encode(pem).decode(),))
    refused = cli.run("verify", bundle_id, as_user="erin")
    assert refused.returncode == 1 and "not those recorded when the store was made" in refused.stderr
