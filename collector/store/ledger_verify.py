"""`collector ledger verify`: the hash chain, every event's signature (`store/signing.py`),
every checkpoint the ledger keeps, and optionally a checkpoint held elsewhere
(`--against FILE`), which the ledger must still extend."""

from __future__ import annotations

from typing import Any

from collector.evidence import keys
from collector.evidence.bundle.verify import Check, failures
from collector.evidence.checkpoint import Checkpoint, check
from collector.evidence.keys import KeyLookup
from collector.evidence.model import Model
from collector.store import checkpoints
from collector.store.actions import LedgerAction
from collector.store.model import LedgerEvent
from collector.store.signing import BEGINS, SYSTEM_USER, event_message, must_be_signed_by_actor
from collector.store.store import Store

_BEGINNERS = {LedgerAction.store_init.value, LedgerAction.store_upgrade.value}


class LedgerReport(Model):
    ok: bool
    event_count: int
    checks: list[Check]


def record(store: Store, report: LedgerReport, actor: str | None, details: dict[str, Any]) -> None:
    """Record a verification as a `ledger.verify` event (`actor` only when their key is unlocked
    to sign it), or, on read-only media, add to the report that it could not be recorded."""
    if store.read_only:
        report.checks.append(Check(name="recorded", ok=True, warning=True, detail=(
            "this verification could not be recorded: the store is on read-only media")))  # fmt: skip
        return
    store.ledger.record(
        LedgerAction.ledger_verify, "ok" if report.ok else "failed", actor=actor,
        details={"events": report.event_count, **details, "failed": failures(report.checks)},
    )  # fmt: skip


def verify_ledger(store: Store, against: Checkpoint | None = None, source: str = "") -> LedgerReport:
    events = store.ledger.events()
    lookup = store.key_lookup()
    found: list[Check] = []

    def add(name: str, ok: bool, detail: str, warning: bool = False) -> None:
        found.append(Check(name=name, ok=ok, detail=detail, warning=warning))

    chain_ok, chain_detail = store.ledger.verify_chain()
    add("hash chain", chain_ok, chain_detail)
    if store.ledger.signed():
        ok, detail, warning = _signatures(events, lookup)
        add("signatures", ok, detail, warning)
    else:
        add("signatures", True, "this ledger predates signed events: run `collector store upgrade`",
            warning=True)  # fmt: skip
    kept = checkpoints.every(store) if store.ledger.signed() else []
    problems = [p for p in (_extends(events, cp, lookup, store) for cp in kept) if p]
    if not kept:
        add("checkpoints", True, "none yet", warning=True)
    else:
        newest = kept[-1].statement
        add("checkpoints", not problems, "; ".join(problems) or (
            f"{len(kept)} checkpoints, each extended by the ledger; the newest at "
            f"{newest.made_at:%Y-%m-%d %H:%M:%SZ} covers {newest.event_count} events"))  # fmt: skip
    if against is not None:
        judged = check(against, lookup, store.tsa_roots())
        problem = _extends(events, against, lookup, store)
        add(f"against {source or 'checkpoint'}", judged.ok and problem is None,
            problem or f"the ledger extends it: {judged.detail}", warning=judged.warning)  # fmt: skip
    ok = all(c.ok for c in found)
    return LedgerReport(ok=ok, event_count=len(events), checks=found)


def _extends(events: list[LedgerEvent], cp: Checkpoint, lookup: KeyLookup, store: Store) -> str | None:
    """Why the ledger does not extend the checkpoint (or its signature fails), or None."""
    st = cp.statement
    judged = check(cp, lookup, store.tsa_roots())
    if not judged.ok:
        return f"checkpoint of {st.made_at:%Y-%m-%d %H:%M:%SZ}: {judged.detail}"
    if st.store_id != store.config.store_id:
        return f"checkpoint of {st.made_at:%Y-%m-%d %H:%M:%SZ} is of another store ({st.store_id})"
    if st.event_count > len(events):
        return (f"checkpoint of {st.made_at:%Y-%m-%d %H:%M:%SZ} covers {st.event_count} events; "
                f"the ledger now has {len(events)}: events were removed")  # fmt: skip
    held = events[st.event_count - 1] if st.event_count else None
    if held is None or held.seq != st.event_count or held.hash != st.head_hash:
        return (f"checkpoint of {st.made_at:%Y-%m-%d %H:%M:%SZ}: event {st.event_count} is no longer "
                f"the one it names (head {st.head_hash[:16]}…): the ledger was rewritten below it")  # fmt: skip
    return None


def _signatures(events: list[LedgerEvent], lookup: KeyLookup) -> tuple[bool, str, bool]:
    begin = next((e for e in events if e.action in _BEGINNERS
                  and e.details.get("ledger_signing") == BEGINS), None)  # fmt: skip
    if begin is None:
        return False, "no event begins the signed ledger (store.init or store.upgrade): the " \
                      "signed history was removed or rewritten", False  # fmt: skip
    by_person = by_store = 0
    for event in events:
        if event.seq < begin.seq:
            continue
        if not event.signer or not event.signature:
            return False, f"event {event.seq} ({event.action}) is not signed", False
        key = lookup(event.signer)
        if key is None:
            return False, (f"event {event.seq} ({event.action}) is signed by a key the agency "
                           f"PKI did not certify ({event.signer[:16]}…)"), False  # fmt: skip
        if not keys.verify(key.public_key_pem.encode(), event_message(event.hash),
                           keys.unb64(event.signature)):  # fmt: skip
            return False, f"event {event.seq} ({event.action}): the signature does not verify", False
        if must_be_signed_by_actor(event.actor, event.outcome):
            if key.owner != event.actor:
                return False, (f"event {event.seq} says {event.actor} did {event.action}, but it "
                               f"is signed by {key.owner}'s key"), False  # fmt: skip
            by_person += 1
        elif key.owner not in (event.actor, SYSTEM_USER):
            return False, (f"event {event.seq} ({event.action}) is signed by {key.owner}, neither "
                           "its actor nor the store"), False  # fmt: skip
        else:
            by_store += key.owner == SYSTEM_USER
            by_person += key.owner != SYSTEM_USER
    detail = (f"{by_person + by_store} events signed: {by_person} by the people who acted, "
              f"{by_store} by the store's own key")  # fmt: skip
    if begin.seq > 1:
        detail += (f"; the {begin.seq - 1} events before event {begin.seq} (the upgrade that began "
                   "signing) rest on the hash chain alone")  # fmt: skip
        return True, detail, True
    return True, detail, False
