"""Captures under an alias through the command line, with real Chromium: the logged-in
session's credentials reach the page and are absent from every stored file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fixtures.server import FixtureServer
from tests.helpers import FACTS, Cli

pytestmark = pytest.mark.e2e


def last_event(cli: Cli, prefix: str) -> dict[str, Any]:
    return [e for e in cli.events() if e["action"].startswith(prefix)][-1]


# ------------------------------------------------------------------ scope: aliases through the CLI

SECRET = "s3cr3t-session-value-0123456789"


def profile_file(tmp_path: Path) -> Path:
    state = {"cookies": [{"name": "_social_session", "value": SECRET, "domain": "127.0.0.1", "path": "/",
                          "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}],
             "origins": []}
    path = tmp_path / "alias-profile.json"
    path.write_text(json.dumps(state))
    return path


def active_alias(cli: Cli) -> None:
    cli.ok("alias", "request", "river-watcher", "--platform", "mastodon", "--handle", "@rw@social.example",
           "--reason", "Undercover monitoring of the stolen-goods marketplace group", as_user="alice")
    cli.ok("alias", "approve", "river-watcher", as_user="bob")
    cli.ok("alias", "approve", "river-watcher", as_user="carol")


def test_logged_in_profile_refused_without_alias_engagement(store: Cli, site: FixtureServer, tmp_path: Path) -> None:
    auth_id = store.approved([site.http_url("/*")])
    result = store.run("capture", site.http_url("/login-wall.html"), "--auth", auth_id,
                       "--profile", str(profile_file(tmp_path)), as_user="alice")
    assert result.returncode == 3 and "approved alias engagement" in result.stderr
    assert store.bundles() == []
    assert last_event(store, "capture.")["details"]["code"] == "alias"


def test_alias_engagement_needs_an_active_alias(store: Cli, site: FixtureServer) -> None:
    store.ok("alias", "request", "river-watcher", "--platform", "mastodon", "--handle", "@rw@social.example",
             "--reason", "Undercover monitoring of the stolen-goods marketplace group", as_user="alice")
    store.ok("alias", "approve", "river-watcher", as_user="bob")
    result = store.run("auth", "request", "--case", "HPD-2026-000123", "--predicate", "criminal-predicate",
                       "--standard", "reasonable-suspicion", "--purpose", "criminal-investigation",
                       "--facts", FACTS, "--retention", "case-evidence", "--scope", site.http_url("/*"),
                       "--engagement", "alias", "--alias", "river-watcher", as_user="alice")
    assert result.returncode == 3 and "1 of 2 approvals" in result.stderr


def test_alias_capture_records_identity_and_hides_credentials(store: Cli, site: FixtureServer, tmp_path: Path) -> None:
    active_alias(store)
    auth_id = store.approved([site.http_url("/*")], **{"--engagement": "alias", "--alias": "river-watcher"})
    result = store.json("capture", site.http_url("/login-wall.html"), "--auth", auth_id,
                        "--profile", str(profile_file(tmp_path)), as_user="alice")
    bundle = Path(result["path"])
    meta = json.loads((bundle / "data" / "metadata.json").read_text())
    assert meta["engagement"] == "alias"
    assert meta["virtual_identity"].startswith("alias river-watcher") and "logged in" in meta["virtual_identity"]
    import gzip

    for path in bundle.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".gz":
                data = gzip.decompress(data)
            assert SECRET.encode() not in data, path
    assert meta["capture"]["redactions"], "the replacement must be recorded"
    assert store.run("verify", result["bundle_id"]).returncode == 0
