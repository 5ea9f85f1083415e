"""One schema, versioned: migrations build exactly `schema.metadata`, stores know their
revision, older stores are upgraded only on request, and append-only tables stay so."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import Connection

from collector.errors import UsageError
from collector.store import migrate, schema
from collector.store.database import sqlite_engine
from collector.store.ledger import Ledger
from collector.store.store import Store
from tests.helpers import Cli

LEGACY_STORE = Path(__file__).resolve().parents[1] / "data" / "legacy" / "store-1.2"


def _fresh(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite"
    Ledger.create(path).close()
    return path


def _legacy_copy(tmp_path: Path) -> Cli:
    assert (LEGACY_STORE / "ledger.sqlite").is_file(), "the legacy store is part of the suite"
    target = tmp_path / "old-store"
    shutil.copytree(LEGACY_STORE, target)
    (target / "work").mkdir(exist_ok=True)
    return Cli(target)


def _append_only_refusals(db: sqlite3.Connection, table: str) -> list[str]:
    """Try an UPDATE and a DELETE of every row; return the errors (both must fail)."""
    column = next(r[1] for r in db.execute(f"PRAGMA table_info({table})"))
    errors = []
    for sql in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
        try:
            db.execute(sql)
        except sqlite3.DatabaseError as exc:
            errors.append(str(exc))
    db.rollback()
    return errors


def test_migrations_build_exactly_the_declared_schema(tmp_path: Path) -> None:
    engine = sqlite_engine(_fresh(tmp_path))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), schema.metadata)
    engine.dispose()
    assert diff == []


def test_head_is_the_newest_migration_and_revisions_form_one_line() -> None:
    known = migrate.revisions()
    assert known[0] == "0001" and known[-1] == schema.HEAD
    assert len(set(known)) == len(known)


def test_new_store_records_its_revision_and_triggers(tmp_path: Path) -> None:
    db = sqlite3.connect(_fresh(tmp_path))
    assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(schema.HEAD,)]
    triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")}
    assert triggers == {f"{t}_no_{op}" for t in schema.APPEND_ONLY for op in ("update", "delete")}


def test_table_rebuild_drops_triggers_and_upgrade_restores_them(tmp_path: Path) -> None:
    """A future migration in batch mode rebuilds a table, which drops its triggers; the
    upgrade path puts them back, so the database keeps refusing UPDATE and DELETE."""
    path = _fresh(tmp_path)
    engine = sqlite_engine(path)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO events VALUES (1, 'now', NULL, 'store.init', 'ok', NULL, '{}', 'p', 'h', NULL, NULL)"
        )
        with Operations(MigrationContext.configure(conn)).batch_alter_table(
            "events", recreate="always"
        ) as batch:
            batch.alter_column("actor", nullable=True)
    with sqlite3.connect(path) as db:
        assert _append_only_refusals(db, "events") == []  # the rebuild dropped them
    with engine.begin() as conn:
        migrate.restore_triggers(conn)
    engine.dispose()
    with sqlite3.connect(path) as db:
        assert len(_append_only_refusals(db, "events")) == 2


def test_old_store_is_refused_until_upgraded_then_everything_verifies(tmp_path: Path) -> None:
    cli = _legacy_copy(tmp_path)
    refused = cli.run("ledger", "verify")
    assert refused.returncode == 2
    assert "out of date" in refused.stderr and "collector store upgrade" in refused.stderr
    assert cli.json("store", "status") == {"revision": None, "head": schema.HEAD, "state": "unversioned"}
    events_before = sqlite3.connect(cli.store / "ledger.sqlite").execute(
        "SELECT count(*) FROM events").fetchone()[0]  # fmt: skip

    done = cli.json("store", "upgrade")
    assert done["from"] is None and done["to"] == schema.HEAD and done["upgraded"] is True
    assert done["tables_created"] == ["alembic_version", "api_token_revocations", "api_tokens", "authorities",
                                      "bundle_objects", "certificates", "checkpoints", "imported_bundles",
                                      "imported_stores", "job_seals", "revocations", "vault"]
    users = cli.json("user", "list")
    assert sorted(done["pki"]["certified"]) == sorted(u["name"] for u in users if u["name"] not in ("system", "local-capture"))
    assert {u["name"]: u["role"] for u in users}["local-capture"] == "capture-system"  # made with the PKI
    retired = {u["name"] for u in users if u["retired_at"] is not None}
    assert retired, "the legacy store has a retired user"
    revoked = [e for e in cli.events() if e["action"] == "pki.revoked"]
    assert {e["subject"] for e in revoked} == retired
    assert all(e["details"]["reason"] == "retired" for e in revoked)
    assert cli.json("store", "status")["state"] == "current"
    upgrade = next(e for e in cli.events() if e["action"] == "store.upgrade")
    assert upgrade["seq"] > events_before and upgrade["details"]["to"] == schema.HEAD
    assert upgrade["details"]["ledger_signing"] == "begins"
    checked = {c["name"]: c for c in cli.json("ledger", "verify")["checks"]}
    assert checked["signatures"]["ok"] and checked["signatures"]["warning"]
    assert checked["signatures"]["detail"].endswith(
        f"the {upgrade['seq'] - 1} events before event {upgrade['seq']} (the upgrade that began signing) "
        "rest on the hash chain alone"
    )
    assert checked["checkpoints"]["ok"] and "1 checkpoints" in checked["checkpoints"]["detail"]
    count = len(cli.events())
    again = cli.json("store", "upgrade")
    assert again["upgraded"] is False and len(cli.events()) == count

    bundles = [b for b in cli.json("ledger", "show") if b["action"] == "capture.sealed"]
    assert len(bundles) == 3
    present = [b["subject"] for b in bundles if (cli.store / "bundles" / b["subject"]).is_dir()]
    assert len(present) == 2  # the third was purged under policy before the upgrade
    for bundle_id in present:
        assert cli.ok("verify", bundle_id).stdout.rstrip().endswith("VERIFIED")
        assert cli.run("custody", "verify", bundle_id).returncode == 0


def test_every_append_only_table_refuses_update_and_delete_after_upgrade(tmp_path: Path) -> None:
    cli = _legacy_copy(tmp_path)
    cli.ok("store", "upgrade")
    cli.ok("user", "retire", "frank")  # a revocation, so that every append-only table has rows
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    db.execute("INSERT INTO bundle_objects VALUES ('B-1', 'bagit.txt', 'v1', 'ab', 1, 'now')")  # as S3 stores do
    db.execute("INSERT INTO imported_stores VALUES ('s', 'a', 'imports/s', 'ab', 1, 'cd', 'ef', 'pem', 'now', 'erin')")
    db.execute("INSERT INTO imported_bundles VALUES ('B-1', 's')")  # as agency stores do
    db.execute("INSERT INTO job_seals VALUES ('J-1', 'B-1', 'alice', 'cap-01', 'now')")  # as workers do
    db.execute("INSERT INTO api_tokens VALUES ('T-1', 'frank', 'a script', 'read', 'ab', 'now', 'later', 1)")
    db.execute("INSERT INTO api_token_revocations VALUES ('T-1', 'now', 'frank', 2)")  # as /tokens does
    db.commit()
    for table in schema.APPEND_ONLY:
        rows = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert rows > 0, f"the legacy store has rows in {table}"
        errors = _append_only_refusals(db, table)
        assert len(errors) == 2 and all("append-only" in e for e in errors), table


def test_failed_upgrade_leaves_the_store_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = _legacy_copy(tmp_path)
    last_seq = sqlite3.connect(cli.store / "ledger.sqlite").execute(
        "SELECT max(seq) FROM events").fetchone()[0]  # fmt: skip
    original = migrate.restore_triggers

    def fail_after_migrating(conn: Connection) -> None:
        original(conn)
        raise UsageError("disk full (simulated)")

    monkeypatch.setattr(migrate, "restore_triggers", fail_after_migrating)
    result = cli.run("store", "upgrade")
    assert result.returncode == 2 and "disk full" in result.stderr
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "alembic_version" not in tables
    assert db.execute("SELECT max(seq) FROM events").fetchone()[0] == last_seq
    assert cli.json("store", "status")["state"] == "unversioned"


def test_store_written_by_a_newer_version_is_refused(cli: Cli) -> None:
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    with db:
        db.execute("UPDATE alembic_version SET version_num = '9999'")
    for args in (("ledger", "verify"), ("store", "upgrade")):
        result = cli.run(*args)
        assert result.returncode == 2
        assert "revision 9999 was written by a newer collector" in result.stderr
    with pytest.raises(migrate.SchemaMismatch):
        Store.open(cli.store)
    assert cli.json("store", "status")["state"] == "newer"


def test_missing_ledger_is_an_error_not_a_new_empty_one(cli: Cli) -> None:
    (cli.store / "ledger.sqlite").unlink()
    result = cli.run("auth", "list")
    assert result.returncode == 2 and "its ledger" in result.stderr and "is missing" in result.stderr
    checked = cli.run("ledger", "verify")
    assert checked.returncode == 1 and "is missing" in checked.stdout
    assert not (cli.store / "ledger.sqlite").exists()


def test_store_made_before_feature_tables_existed_gets_them_with_their_triggers(tmp_path: Path) -> None:
    """Stores of the first releases had only the core tables; the baseline adds the rest."""
    cli = _legacy_copy(tmp_path)
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    with db:
        for table in ("alias_decisions", "alias_requests", "equipment"):
            for op in ("update", "delete"):
                db.execute(f"DROP TRIGGER IF EXISTS {table}_no_{op}")
            db.execute(f"DROP TABLE {table}")
    db.close()
    done = cli.json("store", "upgrade")
    assert done["tables_created"] == ["alembic_version", "alias_decisions", "alias_requests", "api_token_revocations",
                                      "api_tokens", "authorities", "bundle_objects", "certificates", "checkpoints",
                                      "equipment", "imported_bundles", "imported_stores", "job_seals", "revocations",
                                      "vault"]
    db = sqlite3.connect(cli.store / "ledger.sqlite")
    triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"alias_requests_no_update", "alias_decisions_no_delete"} <= triggers
    assert cli.json("alias", "list") == [] and cli.json("equipment", "list") == []


def test_only_an_admin_or_the_store_owner_upgrades(tmp_path: Path) -> None:
    cli = _legacy_copy(tmp_path)
    refused = cli.run("store", "upgrade", as_user="alice", passphrase="legacy-alice-passphrase")
    assert refused.returncode == 3 and "may not store.admin" in refused.stderr
    assert cli.json("store", "status")["state"] == "unversioned"
    done = cli.json("store", "upgrade", as_user="adam", passphrase="legacy-adam-passphrase")
    assert done["upgraded"] is True
    assert next(e for e in cli.events() if e["action"] == "store.upgrade")["actor"] == "adam"
