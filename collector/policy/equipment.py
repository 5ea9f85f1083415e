"""Off-duty conduct and personal equipment: the equipment registry and this machine's identity.

Every bundle records the machine it was made on. The policy may refuse captures on
unregistered or personal equipment unless the authorization allows personal equipment.
"""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path
from typing import Literal

from sqlalchemy import insert, or_, select

from collector.errors import Refused, UsageError
from collector.evidence.model import MachineRecord, Model
from collector.store.actions import LedgerAction
from collector.store.ledger import iso, now
from collector.store.model import Role
from collector.store.schema import equipment as table
from collector.store.store import Actor, Store

EQUIPMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))
REGISTRARS: frozenset[Role] = frozenset({Role.admin, Role.supervisor})
"""Who may register equipment (besides the store's owner, with no acting user)."""


class Equipment(Model):
    id: str
    machine_id: str
    kind: Literal["agency", "personal"]
    description: str
    assigned_to: str | None = None
    registered_by: str | None = None
    registered_at: str


def this_machine_id() -> str:
    """A stable identifier of this machine: SHA-256 of the OS machine id (or the host name)."""
    for path in MACHINE_ID_FILES:
        try:
            raw = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if raw:
            return hashlib.sha256(raw.encode()).hexdigest()
    return hashlib.sha256(f"host:{socket.gethostname()}".encode()).hexdigest()


def register(
    store: Store,
    actor: Actor | None,
    equipment_id: str,
    *,
    kind: str,
    description: str,
    machine_id: str | None,
    assigned_to: str | None,
) -> Equipment:
    """Register a machine; administration (no actor, or an admin or supervisor)."""
    if actor is not None and actor.user.role not in REGISTRARS:
        reason = f"role {actor.user.role.value!r} may not register equipment"
        store.ledger.record(LedgerAction.denied_equipment, "refused", actor=actor.user.name,
                            subject=equipment_id, details={"reason": reason})  # fmt: skip
        raise Refused(f"{actor.user.name}: {reason}")
    if not EQUIPMENT_ID.match(equipment_id):
        raise UsageError("equipment ids are 1-64 letters, digits, '.', '_' or '-'")
    if kind not in ("agency", "personal"):
        raise UsageError("--kind must be agency or personal")
    if not description.strip():
        raise UsageError("--description must not be empty")
    if assigned_to is not None and store.ledger.user(assigned_to) is None:
        raise UsageError(f"no such user {assigned_to!r}")
    mid = machine_id or this_machine_id()
    if not re.fullmatch(r"[0-9a-f]{64}", mid):
        raise UsageError("--machine-id must be the 64-hex id `collector equipment whoami` prints")
    entry = Equipment(
        id=equipment_id, machine_id=mid, kind=kind,
        description=description.strip(), assigned_to=assigned_to,
        registered_by=actor.user.name if actor else None, registered_at=iso(now()),
    )  # fmt: skip
    with store.ledger.transaction() as db:
        taken = select(table.c.id).where(or_(table.c.id == entry.id, table.c.machine_id == mid))
        if db.execute(taken).first():
            raise UsageError("that equipment id or machine is already registered")
        db.execute(insert(table).values(**entry.model_dump()))
        store.ledger.record_in(
            db, LedgerAction.equipment_add, actor=entry.registered_by, subject=entry.id,
            details=entry.model_dump(mode="json"),
        )  # fmt: skip
    return entry


def registry(store: Store) -> list[Equipment]:
    return [
        Equipment.model_validate(dict(r))
        for r in store.ledger.rows(select(table).order_by(table.c.id))
    ]


def identify(store: Store) -> MachineRecord:
    """This machine as the registry knows it."""
    mid = this_machine_id()
    rows = store.ledger.rows(select(table).where(table.c.machine_id == mid))
    host = socket.gethostname()
    if not rows:
        return MachineRecord(host_name=host, machine_id=mid, equipment_id=None, kind="unregistered")
    entry = Equipment.model_validate(dict(rows[0]))
    return MachineRecord(
        host_name=host, machine_id=mid, equipment_id=entry.id, kind=entry.kind,
        description=entry.description,
    )  # fmt: skip


def refusal(store: Store, machine: MachineRecord, allows_personal: bool) -> str | None:
    """The policy's reason to refuse a capture on this machine, or None."""
    rules = store.config.policy.equipment
    if machine.kind == "unregistered" and rules.refuse_unregistered:
        return "this machine is not in the equipment registry and the policy refuses unregistered equipment"
    if machine.kind == "personal" and rules.refuse_personal and not allows_personal:
        return (
            f"{machine.equipment_id} is personal equipment and the authorization does not allow "
            "personal equipment"
        )
    return None
