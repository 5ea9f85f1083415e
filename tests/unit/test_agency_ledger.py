"""A store whose ledger is a PostgreSQL database: made by the owner role, then used by the
workstations' role for the evidence path (request, approve, capture, verify, custody, hold,
export), with the ledger and every custody chain verifying."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from fixtures.postgres import APP, PostgresServer
from tests.helpers import Cli, make_store
from tests.unit.conftest import RecordedSite


@pytest.fixture
def agency(pg: PostgresServer, tmp_path: Path) -> tuple[Cli, str]:
    """An agency store made by the owner role; the returned command line works as the
    application role, as a workstation does."""
    url = pg.fresh_database()
    owner = make_store(tmp_path / "made", extra=["--ledger", url], env=pg.env("owner"))
    return Cli(owner.store, env=pg.env("app")), url


def test_init_writes_no_credentials_and_no_local_ledger(pg: PostgresServer, agency: tuple[Cli, str]) -> None:
    cli, url = agency
    config = (cli.store / "collector.toml").read_text()
    assert f'url = "{url}"' in config and f'app_role = "{APP}"' in config
    for secret in (pg.passwords.values()):
        assert secret not in config
    assert not (cli.store / "ledger.sqlite").exists()
    status = cli.json("store", "status")
    assert status["state"] == "current"


def test_the_evidence_path_runs_on_the_agency_ledger(pg: PostgresServer, agency: tuple[Cli, str],
                                                     site: RecordedSite, tmp_path: Path) -> None:  # fmt: skip
    cli, url = agency
    auth_id = cli.approved([site.http_url("/*")])
    result = cli.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, as_user="alice")
    bundle_id = result["bundle_id"]
    assert cli.run("verify", bundle_id, as_user="erin").returncode == 0
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "evidence room", as_user="alice")
    cli.ok("hold", bundle_id, "--reason", "litigation hold for the trial", as_user="erin")
    out = tmp_path / "export.zip"
    cli.ok("export", bundle_id, "--recipient", "ADA Roe", "--reason", "discovery", "--out", str(out),
           as_user="erin")  # fmt: skip
    keys = tmp_path / "agency-keys.json"
    cli.ok("keys", "export", "--out", str(keys))
    outside = Cli(tmp_path / "nowhere").run("verify", str(out), "--trust", str(keys))
    assert outside.returncode == 0, outside.stdout
    assert cli.run("custody", "verify", bundle_id, as_user="erin").returncode == 0
    report = cli.json("ledger", "verify")
    assert report["ok"], report
    with pg.connect(url, "owner") as conn:
        rows = conn.execute("SELECT count(*), max(seq) FROM events").fetchone()
        custody = conn.execute("SELECT count(*) FROM custody WHERE bundle_id = %s", (bundle_id,)).fetchone()
    assert rows is not None and rows[0] == rows[1] and rows[0] > 10
    assert custody is not None and custody[0] >= 4
    types = [e["type"] for e in _events(cli.json("custody", "show", bundle_id))]
    assert types[:1] == ["captured"] and "transferred" in types and "held" in types


def test_a_second_workstation_needs_only_the_configuration(agency: tuple[Cli, str], site: RecordedSite,
                                                           tmp_path: Path) -> None:  # fmt: skip
    """Another directory holding nothing but `collector.toml` works on the same store: users,
    their encrypted keys, the agency PKI and the store's own key come from the database."""
    cli, _url = agency
    assert not (cli.store / "keys").exists() and not (cli.store / "pki").exists()
    other = Cli(tmp_path / "second", env=cli.env)
    other.store.mkdir()
    (other.store / "collector.toml").write_bytes((cli.store / "collector.toml").read_bytes())
    auth_id = cli.approved([site.http_url("/*")])
    assert any(a["id"] == auth_id for a in other.json("auth", "list", as_user="erin"))
    captured = other.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, as_user="alice")
    assert other.run("verify", captured["bundle_id"], as_user="erin").returncode == 0
    assert any(b["bundle_id"] == captured["bundle_id"] for b in cli.json("retention", "status",
                                                                          captured["bundle_id"]))  # fmt: skip
    cli.ok("user", "add", "frank", "--role", "investigator", "--name", "Frank Ford", "--badge", "I-103",
           new_passphrase="frank-passphrase")  # fmt: skip
    assert other.run("auth", "list", as_user="frank", passphrase="frank-passphrase").returncode == 0
    assert cli.json("ledger", "verify")["ok"] and other.json("ledger", "verify")["ok"]


def test_an_unreachable_ledger_stops_a_capture_before_the_browser(agency: tuple[Cli, str],
                                                                   site: RecordedSite) -> None:  # fmt: skip
    cli, _url = agency
    config = cli.store / "collector.toml"
    text = config.read_text()
    down = Cli(cli.store, env={**cli.env, "PGCONNECT_TIMEOUT": "2"})
    config.write_text(text.replace(_url, "postgresql://127.0.0.1:1/collector"))
    try:
        result = down.run("capture", site.http_url("/s/abc123"), "--auth", "AUTH-00000000", as_user="alice")
    finally:
        config.write_text(text)
    assert result.returncode == 4, result.stderr
    assert result.stderr.strip().startswith("collector: cannot reach the ledger database postgresql://127.0.0.1:1/")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not any((cli.store / "work").iterdir())



def _events(shown: Any) -> list[dict[str, Any]]:
    return list(shown["events"] if isinstance(shown, dict) else shown)


def test_the_fixture_does_not_leak_credentials_into_the_environment() -> None:
    assert "PGPASSWORD" not in os.environ and json.dumps(dict(os.environ)).count("collector_app") == 0


def test_a_root_swapped_in_the_database_is_not_trusted(pg: PostgresServer, agency: tuple[Cli, str],
                                                       site: RecordedSite) -> None:  # fmt: skip
    """Every workstation's role may write the database, vault included; the agency root is
    pinned in each workstation's configuration, so a root put into the vault is caught."""
    import base64
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from collector.evidence import pki

    cli, url = agency
    authority = next(e for e in cli.events() if e["action"] == "pki.authority" and e["subject"] == "root")
    assert f'agency_root_sha256 = "{authority["details"]["sha256"]}"' in (cli.store / "collector.toml").read_text()
    auth_id = cli.approved([site.http_url("/*")])
    bundle_id = cli.json("capture", site.http_url("/s/abc123"), "--auth", auth_id, as_user="alice")["bundle_id"]
    assert cli.run("verify", bundle_id).returncode == 0
    forged = pki.pem(pki.make_root("Test Police Department", Ed25519PrivateKey.generate(), datetime.now(UTC)))
    with pg.connect(url, "app") as conn:
        conn.execute("UPDATE vault SET data = %s WHERE name = 'pki/root.cert.pem'",
                     (base64.b64encode(forged.encode()).decode(),))  # fmt: skip
    swapped = cli.run("verify", bundle_id)
    assert swapped.returncode == 1, swapped.stdout + swapped.stderr
    assert "this store's configuration pins" in swapped.stderr
