"""One enum of ledger action names, used by every writer and reader."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from collector.errors import CollectorError
from collector.evidence.custody import EventType
from collector.store.actions import (
    DENIALS,
    LedgerAction,
    custody_action,
    custody_actions,
    denied_action,
    family,
)
from collector.store.roles import Action
from collector.store.store import Store
from tests.helpers import Cli

PACKAGE = Path(__file__).resolve().parents[2] / "collector"
# A string that is part of a signed format keeps its text even if the action were renamed.
FROZEN_LITERALS = {("policy/aliases.py", "alias.approve")}


def test_every_permission_and_custody_event_has_its_action() -> None:
    assert {denied_action(a) for a in Action} <= set(LedgerAction)
    assert {custody_action(t) for t in EventType} <= set(LedgerAction)
    assert LedgerAction.custody_transfer.value not in custody_actions()
    assert "denied.audit" in DENIALS and "auth.login" not in DENIALS
    assert family("alias") == {"alias.request", "alias.approve", "alias.deny", "alias.retire"}


def test_no_module_spells_an_action_name_outside_the_enum() -> None:
    names = {a.value for a in LedgerAction} - {a.value for a in Action}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel == "store/actions.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            literal = isinstance(node, ast.Constant) and node.value in names
            if literal and (rel, node.value) not in FROZEN_LITERALS:
                found.append(f"{rel}:{node.lineno} {node.value!r}")
    assert found == []


def test_the_ledger_takes_no_free_text_action(cli: Cli) -> None:
    store = Store.open(cli.store)
    with pytest.raises(CollectorError, match="not a ledger action"):
        store.ledger.record("made.up")  # type: ignore[arg-type]
    recorded = {e.action for e in store.ledger.events()}
    assert recorded and recorded <= {a.value for a in LedgerAction}
