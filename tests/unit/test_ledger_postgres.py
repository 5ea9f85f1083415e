"""The ledger on a real PostgreSQL server: the same schema and migrations, append-only enforced
by the database for the workstations' role, and writers from several processes that leave a
chain without gaps."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from collector.errors import CollectorError, UsageError
from collector.store import schema
from collector.store.actions import LedgerAction
from collector.store.database import Location, postgres_url
from collector.store.ledger import Ledger
from collector.store.signing import SigningKey
from fixtures.postgres import APP, PostgresServer
from tests.helpers import REPO


@pytest.fixture
def url(pg: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new agency ledger made by the owner role; the test then works as the application role."""
    database = pg.fresh_database()
    for name, value in pg.env("owner").items():
        monkeypatch.setenv(name, value)
    Ledger.create(Location(url=database), app_role=APP).close()
    for name, value in pg.env("app").items():
        monkeypatch.setenv(name, value)
    return database


def _ledger(url: str) -> Ledger:
    ledger = Ledger(Location(url=url))
    ledger.signers.system = SigningKey.of(Ed25519PrivateKey.generate())
    return ledger



def test_the_same_schema_is_made_and_the_chain_verifies(url: str) -> None:
    ledger = _ledger(url)
    for n in range(5):
        ledger.record(LedgerAction.store_init if n == 0 else LedgerAction.policy_reviewed,
                      actor=None, subject=f"s{n}", details={"n": n})  # fmt: skip
    assert [e.seq for e in ledger.events()] == [1, 2, 3, 4, 5]
    assert ledger.verify_chain()[0]
    assert ledger.schema_status().state == "current"
    assert set(ledger.table_names()) >= set(schema.metadata.tables)
    ledger.close()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE events SET actor = 'mallory'", "DELETE FROM events", "TRUNCATE events",
     "DELETE FROM custody", "TRUNCATE certificates", "DELETE FROM users", "TRUNCATE authorizations",
     "DELETE FROM vault", "TRUNCATE vault",
     "ALTER TABLE events DISABLE TRIGGER events_no_change", "DROP TABLE events"],
)  # fmt: skip
def test_the_workstations_role_cannot_change_history(pg: PostgresServer, url: str, statement: str) -> None:
    ledger = _ledger(url)
    ledger.record(LedgerAction.store_init, actor=None, subject="x", details={})
    ledger.close()
    with pg.connect(url, "app") as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute(statement)
    assert isinstance(refused.value, psycopg.errors.InsufficientPrivilege), refused.value
    with pg.connect(url, "owner") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)


def test_even_the_owner_meets_the_triggers(pg: PostgresServer, url: str) -> None:
    """The owner may alter its tables (it could disable the triggers: that is why workstations
    never hold its credentials), but an ordinary UPDATE, DELETE or TRUNCATE is refused."""
    ledger = _ledger(url)
    ledger.record(LedgerAction.store_init, actor=None, subject="x", details={})
    ledger.close()
    with pg.connect(url, "owner") as conn:
        for statement in ("UPDATE events SET actor = 'mallory'", "DELETE FROM events",
                          "TRUNCATE events"):  # fmt: skip
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="events are append-only"):
                conn.execute(statement)


def test_the_workstations_role_may_do_what_the_tool_does(pg: PostgresServer, url: str) -> None:
    with pg.connect(url, "app") as conn:
        conn.execute("INSERT INTO authorizations (id, body) VALUES ('A-1', '{}')")
        conn.execute("UPDATE authorizations SET body = '{\"x\": 1}' WHERE id = 'A-1'")
        assert conn.execute("SELECT body FROM authorizations").fetchone() == ('{"x": 1}',)


def test_an_agency_ledger_is_made_only_in_an_empty_database(pg: PostgresServer, url: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    for name, value in pg.env("owner").items():
        monkeypatch.setenv(name, value)
    with pytest.raises(UsageError, match="already holds tables"):
        Ledger.create(Location(url=url), app_role=APP)


def test_urls_never_hold_credentials() -> None:
    assert postgres_url("postgresql://db.example:5432/evidence") == "postgresql://db.example:5432/evidence"
    assert postgres_url("postgres://clerk@db.example/evidence") == "postgresql://clerk@db.example/evidence"
    for bad, why in (("postgresql://u:secret@db/e", "must not hold a password"),
                     ("postgresql://db.example", "must name a host and a database"),
                     ("postgresql://db/e?sslmode=disable", "service file"),
                     ("mysql://db/e", "only postgresql://"),
                     ("not a url", "not a database URL")):  # fmt: skip
        with pytest.raises(UsageError, match=why):
            postgres_url(bad)


def test_a_server_that_is_down_is_one_line(pg: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "2")
    ledger = Ledger(Location(url="postgresql://127.0.0.1:1/collector"), check_schema=False)
    with pytest.raises(CollectorError, match=re.escape("cannot reach the ledger database postgresql://127.0.0.1:1/collector")):
        ledger.events()
    wrong = Ledger(Location(url=pg.url), check_schema=False)
    monkeypatch.setenv("PGPASSWORD", "not-the-password")
    with pytest.raises(CollectorError, match="refused the credentials") as refused:
        wrong.events()
    assert "not-the-password" not in str(refused.value)


WRITER = """
import sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from collector.store.actions import LedgerAction
from collector.store.database import Location
from collector.store.ledger import Ledger
from collector.store.signing import SigningKey
ledger = Ledger(Location(url=sys.argv[1]))
ledger.signers.system = SigningKey.of(Ed25519PrivateKey.generate())
for n in range(int(sys.argv[3])):
    ledger.record(LedgerAction.policy_reviewed, actor=None, subject=sys.argv[2], details={"n": n})
"""


def test_writers_in_several_processes_leave_a_chain_without_gaps(url: str, tmp_path: Path) -> None:
    per_writer, writers = 25, 4
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    running = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"w{w}", str(per_writer)], env=env,
                                stderr=subprocess.PIPE, text=True) for w in range(writers)]  # fmt: skip
    for process in running:
        _out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    ledger = _ledger(url)
    events = ledger.events()
    assert [e.seq for e in events] == list(range(1, per_writer * writers + 1))
    assert ledger.verify_chain() == (True, ledger.verify_chain()[1])
    for w in range(writers):  # each writer's own events in the order it wrote them
        assert [e.details["n"] for e in events if e.subject == f"w{w}"] == list(range(per_writer))
    ledger.close()
