"""Aliases: the registry (two different supervisors, signed approvals, expiry, forged rows)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

import pytest

from collector.errors import Refused
from collector.evidence import keys
from collector.policy import aliases
from collector.policy.aliases import AliasStatus, alias_terms, approval_payload
from collector.store.ledger import iso, now
from collector.store.store import Store
from tests.helpers import PASSPHRASES, Cli

NAME = "river-watch"
REASON = "Observe the closed group that sells bikes stolen on the river trail."


def alias_request(cli: Cli, name: str = NAME, *extra: str) -> dict[str, Any]:
    return dict(
        cli.json("alias", "request", name, "--platform", "mastodon", "--handle", "@river_watch",
                 "--reason", REASON, *extra, as_user="alice")
    )  # fmt: skip


def shown_terms(shown: dict[str, Any]) -> dict[str, Any]:
    """The signed terms, rebuilt from `alias show --json` as an auditor would."""
    return alias_terms(
        shown["name"], shown["platform"], shown["handle"], shown["reason"], shown["days"],
        shown["requested_by"], datetime.fromisoformat(shown["requested_at"]),
    )  # fmt: skip


def refused(cli: Cli, *args: str, as_user: str) -> str:
    result = cli.run(*args, as_user=as_user)
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    return result.stderr


# ------------------------------------------------------------------ the registry


def test_alias_needs_two_different_supervisors_and_expires(store: Cli) -> None:
    requested = alias_request(store, NAME, "--days", "1")
    assert requested["status"] == "pending" and requested["approvals_required"] == 2
    assert "separation of duties" in refused(store, "alias", "approve", NAME, as_user="alice")
    assert "may not approve an alias" in refused(store, "alias", "approve", NAME, as_user="dave")
    one = store.json("alias", "approve", NAME, as_user="bob")
    assert one["status"] == "pending" and one["activated_at"] is None
    assert "already approved" in refused(store, "alias", "approve", NAME, as_user="bob")

    opened = Store.open(store.store)
    assert aliases.active_alias(opened, NAME) is None
    with pytest.raises(Refused, match=r"alias river-watch is not approved \(1 of 2 approvals\)"):
        aliases.require_active(opened, NAME)
    with pytest.raises(Refused, match="is not registered"):
        aliases.require_active(opened, "no-such-alias")

    two = store.json("alias", "approve", NAME, as_user="carol")
    assert two["status"] == "active"
    alias = aliases.require_active(opened, NAME)
    assert alias.activated_at == alias.counted()[1].approved_at
    assert alias.expires_at == alias.activated_at + timedelta(days=1)  # counted from activation
    assert alias.virtual_identity == "alias river-watch: @river_watch on mastodon"
    assert aliases.active_alias(opened, NAME, at=alias.expires_at - timedelta(minutes=1))
    assert aliases.active_alias(opened, NAME, at=alias.expires_at) is None
    with pytest.raises(Refused, match="alias river-watch expired on"):
        aliases.require_active(opened, NAME, at=alias.expires_at + timedelta(hours=1))
    assert "may not request an alias" in refused(
        store, "alias", "request", "other", "--platform", "x", "--handle", "h", "--reason", REASON,
        as_user="bob",
    )  # fmt: skip

    # An auditor checks each approval's signature against the key registry.
    shown = store.json("alias", "show", NAME, as_user="erin")
    assert [a["approver"] for a in shown["approvals"]] == ["bob", "carol"]
    for approval in shown["approvals"]:
        key = opened.ledger.key(approval["key_fingerprint"])
        assert key is not None and key.owner == approval["approver"] and approval["valid"]
        payload = approval_payload(
            shown_terms(shown), approval["approver"], datetime.fromisoformat(approval["approved_at"])
        )
        assert keys.verify(key.public_key_pem.encode(), payload, keys.unb64(approval["signature"]))

    events = [(e["action"], e["outcome"], e["actor"]) for e in store.events()
              if e["action"].startswith(("alias.", "denied.alias"))]  # fmt: skip
    assert events == [
        ("alias.request", "ok", "alice"),
        ("denied.alias", "refused", "alice"),
        ("denied.alias", "refused", "dave"),
        ("alias.approve", "ok", "bob"),
        ("denied.alias", "refused", "bob"),
        ("alias.approve", "ok", "carol"),
        ("denied.alias", "refused", "bob"),
    ]
    reasons = [e["details"]["reason"] for e in store.events() if e["action"] == "denied.alias"]
    assert all(reasons) and "separation of duties" in reasons[0]


def test_request_is_validated(store: Cli) -> None:
    bad = store.run("alias", "request", "River Watch", "--platform", "Mastodon!", "--handle", " ",
                    "--reason", "too short", "--days", "999", as_user="alice")  # fmt: skip
    assert bad.returncode == 2
    for text in ("slug", "--platform", "--handle", "--reason", "--days must be 1 to 180"):
        assert text in bad.stderr
    alias_request(store)
    again = store.run("alias", "request", NAME, "--platform", "mastodon", "--handle", "@x",
                      "--reason", REASON, as_user="alice")  # fmt: skip
    assert again.returncode == 2 and "never reused" in again.stderr
    page_name = store.run("alias", "request", "new", "--platform", "mastodon", "--handle", "@x",
                          "--reason", REASON, as_user="alice")  # fmt: skip
    assert page_name.returncode == 2 and "names a page of the web application" in page_name.stderr
    assert alias_request(store, "second")["days"] == 180  # policy.alias_max_days


def test_deny_and_retire(store: Cli) -> None:
    alias_request(store, "denied-one")
    assert "separation of duties" in refused(
        store, "alias", "deny", "denied-one", "--reason", "not needed", as_user="alice"
    )
    denied = store.json("alias", "deny", "denied-one", "--reason", "no predicate yet", as_user="bob")
    assert denied["status"] == "denied" and denied["close_reason"] == "no predicate yet"
    late = store.run("alias", "approve", "denied-one", as_user="carol")
    assert late.returncode == 2 and "only a pending alias" in late.stderr

    alias_request(store, "used-one")
    store.ok("alias", "approve", "used-one", as_user="bob")
    store.ok("alias", "approve", "used-one", as_user="carol")
    assert "may not retire" in refused(
        store, "alias", "retire", "used-one", "--reason", "burned", as_user="dave"
    )
    store.ok("alias", "retire", "used-one", "--reason", "the group spotted it", as_user="alice")
    opened = Store.open(store.store)
    assert aliases.active_alias(opened, "used-one") is None
    with pytest.raises(Refused, match="alias used-one was retired"):
        aliases.require_active(opened, "used-one")
    listed = {a["name"]: a["status"] for a in store.json("alias", "list")}
    assert listed == {"denied-one": "denied", "used-one": "retired"}
    text = store.ok("alias", "show", "used-one").stdout
    assert "signature valid" in text and "retired      by alice: the group spotted it" in text


def _insert(db: sqlite3.Connection, name: str, requested_days_ago: int, days: int) -> dict[str, Any]:
    requested = now() - timedelta(days=requested_days_ago)
    db.execute("INSERT INTO alias_requests VALUES (?, ?, ?, ?, ?, ?, ?)",
               (name, "mastodon", "@old", REASON, days, "alice", iso(requested)))  # fmt: skip
    return alias_terms(name, "mastodon", "@old", REASON, days, "alice", requested)


def _approve(db: sqlite3.Connection, name: str, terms: dict[str, Any], signer: Any,
             as_name: str, fingerprint: str, days_ago: int) -> None:  # fmt: skip
    at = now() - timedelta(days=days_ago)
    signature = keys.b64(keys.sign(signer.key, approval_payload(terms, as_name, at)))
    db.execute(
        "INSERT INTO alias_decisions (alias, decision, actor, at, key_fingerprint, signature)"
        " VALUES (?, 'approve', ?, ?, ?, ?)",
        (name, as_name, iso(at), fingerprint, signature),
    )


def test_past_activation_expired_and_forged_approvals_do_not_count(
    store: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = Store.open(store.store)
    # The approvals below are dated weeks before this test store's certificates were issued,
    # which on its own would void them (see the next test): here bob and carol count as the
    # supervisors they are, whatever the date.
    real = Store.certified_role
    monkeypatch.setattr(Store, "certified_role", lambda self, name, at=None: real(self, name))
    bob = opened.authenticate("bob", PASSPHRASES["bob"])
    carol = opened.authenticate("carol", PASSPHRASES["carol"])
    db = sqlite3.connect(store.store / "ledger.sqlite")
    # Approved 39 and 38 days ago for 30 days: active from the second approval, now expired.
    terms = _insert(db, "old-alias", 40, 30)
    _approve(db, "old-alias", terms, bob, "bob", bob.user.key_fingerprint, 39)
    _approve(db, "old-alias", terms, carol, "carol", carol.user.key_fingerprint, 38)
    # One real approval, and one in carol's name signed with bob's key (or claiming his key).
    forged = _insert(db, "forged-alias", 2, 30)
    _approve(db, "forged-alias", forged, bob, "bob", bob.user.key_fingerprint, 1)
    _approve(db, "forged-alias", forged, bob, "carol", carol.user.key_fingerprint, 1)
    _approve(db, "forged-alias", forged, bob, "carol", bob.user.key_fingerprint, 1)
    db.commit()
    db.close()

    old = aliases.get(opened, "old-alias")
    assert old is not None and old.status is AliasStatus.expired
    assert old.activated_at is not None and old.expires_at == old.activated_at + timedelta(days=30)
    assert (now() - old.activated_at).days == 38
    assert aliases.active_alias(opened, "old-alias") is None
    assert aliases.active_alias(opened, "old-alias", at=old.activated_at + timedelta(days=1))
    with pytest.raises(Refused, match="alias old-alias expired on"):
        aliases.require_active(opened, "old-alias")

    fake = aliases.get(opened, "forged-alias")
    assert fake is not None and [a.valid for a in fake.approvals] == [True, False, False]
    with pytest.raises(Refused, match=r"not approved \(1 of 2 approvals\)"):
        aliases.require_active(opened, "forged-alias")
    shown = store.ok("alias", "show", "forged-alias").stdout
    assert shown.count("NOT COUNTED") == 2
    monkeypatch.undo()
    old = aliases.get(opened, "old-alias")
    assert old is not None and [a.valid for a in old.approvals] == [False, False], (
        "an approval dated before the approver held a supervisor's certificate does not count"
    )
    # The tables are append-only.
    db = sqlite3.connect(store.store / "ledger.sqlite")
    for sql in ("UPDATE alias_decisions SET at = at", "DELETE FROM alias_requests"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(sql)
    db.close()
