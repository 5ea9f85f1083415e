"""Gathering an exhibit packet: only verified bundles, hashes recomputed now, a qualified declarant.

Fail closed: a bundle that does not verify, or any file whose SHA-256 recomputed now differs
from its acquisition hash, stops the exhibit before anything is written, and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from collector import TOOL_NAME, __version__
from collector.disclosure import profiles
from collector.disclosure.exhibit.model import Declarant, ExhibitItem, HashCheck, LedgerRef, Packet
from collector.errors import IntegrityError, Refused, UsageError
from collector.evidence import text
from collector.evidence.bundle import layout
from collector.evidence.bundle.hashing import digest_file
from collector.evidence.bundle.verify import failures, read_manifest
from collector.evidence.model import Metadata
from collector.policy import protected
from collector.store import storage, tombstones
from collector.store.actions import LedgerAction
from collector.store.ledger import now
from collector.store.model import LedgerEvent
from collector.store.roles import Action
from collector.store.store import Actor, Store
from collector.store.verify import verify_in_store


def assemble(
    store: Store,
    actor: Actor,
    bundle_ids: Sequence[str],
    *,
    number: str,
    declarant: str,
    jurisdiction: str = "us-federal",
    bates_prefix: str = "",
    bates_start: int = 1,
    recipient: str | None = None,
    reason: str | None = None,
) -> Packet:
    """A packet of the named bundles, each verified and re-hashed now."""
    if not bundle_ids:
        raise UsageError("name at least one bundle")
    if len(set(bundle_ids)) != len(bundle_ids):
        raise UsageError("a bundle is named twice")
    number = text.exhibit_number(number)
    bates_prefix, bates_start = text.bates(bates_prefix, bates_start)
    who = _declarant(store, declarant)
    items = [_item(store, actor, bundle_id) for bundle_id in bundle_ids]
    cases = sorted({item.metadata.case_number for item in items})
    return Packet(
        number=number,
        case_number=", ".join(cases),
        agency=store.config.agency,
        items=items,
        declarant=who,
        jurisdiction=jurisdiction,
        bates_prefix=bates_prefix,
        bates_start=bates_start,
        generated_at=now(),
        tool_name=TOOL_NAME,
        tool_version=__version__,
        recipient=recipient,
        reason=reason,
    )


def _declarant(store: Store, name: str) -> Declarant:
    user = store.ledger.user(name)
    if user is None:
        raise UsageError(f"unknown declarant {name!r}")
    if user.retired_at is not None:
        raise UsageError(f"declarant {name!r} is retired")
    stated = profiles.profile(store, name)
    if stated is None:
        raise UsageError(
            f"declarant {name!r} has stated no title and qualifications: no certification can be "
            f"made; as {name}, run `collector user profile {name} --title … --qualifications …`"
        )
    role = store.certified_role(name)
    if role is None:
        raise UsageError(
            f"declarant {name!r} has no valid certificate: no certification can be made"
        )
    return Declarant(person=user.person(), role=role.value, profile=stated)


def _item(store: Store, actor: Actor, bundle_id: str) -> ExhibitItem:
    store.require(actor, Action.export, subject=bundle_id)
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    if tombstones.tombstone(store.ledger, bundle_id) is not None:
        raise UsageError(f"{bundle_id} was purged under the policy: only its tombstone remains")
    if protected.state(store, bundle_id) in ("pending", "rejected"):
        raise Refused(
            f"{bundle_id} is quarantined for protected content: no exhibit before its review clears it"
        )
    report = verify_in_store(store, bundle_id, actor)
    if not report.ok:
        failed = "; ".join(failures(report.checks))
        raise IntegrityError(f"{bundle_id} does not verify, so no exhibit is made: {failed}")
    path = storage.working_copy(store, row)
    meta = Metadata.model_validate_json((path / "data" / layout.METADATA).read_bytes())
    hashes = _recompute(path, meta, bundle_id)
    events = store.ledger.events(subject=bundle_id)
    approved = _first(store.ledger.events(subject=meta.authorization.id), LedgerAction.auth_approve)
    refs = {
        key: LedgerRef(id=e.seq, action=e.action, at=e.at.isoformat(), actor=e.actor)
        for key, e in (
            ("captured", _first(events, LedgerAction.capture_sealed)),
            ("approved", approved),
            ("verified", _last(events, LedgerAction.bundle_verify)),
        )
        if e is not None
    }
    return ExhibitItem(
        bundle_id=bundle_id,
        bundle_path=path,
        metadata=meta,
        seal_sha256=row.seal_sha256,
        verify_checks=[f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in report.checks],
        hashes=hashes,
        hashes_checked_at=now(),
        custody=store.ledger.custody(bundle_id),
        ledger=refs,
        captured_by=meta.operator,
        authorized_by=meta.authorization.approved_by,
    )


def _recompute(bag: Path, meta: Metadata, bundle_id: str) -> list[HashCheck]:
    """SHA-256 of every payload file now, against metadata.json and the signed manifest."""
    manifest = read_manifest(bag / "manifest-sha256.txt")
    checks: list[HashCheck] = []
    for art in meta.artifacts:
        now_sha = digest_file(bag / "data" / art.path).sha256
        listed = manifest.get(f"data/{art.path}")
        checks.append(HashCheck(path=art.path, size=art.size, acquired_sha256=art.sha256,
                                recomputed_sha256=now_sha,
                                match=now_sha == art.sha256 and listed == art.sha256))  # fmt: skip
    meta_sha = digest_file(bag / "data" / layout.METADATA).sha256
    listed_meta = manifest.get(f"data/{layout.METADATA}", "")
    checks.append(HashCheck(path=layout.METADATA, size=(bag / "data" / layout.METADATA).stat().st_size,
                            acquired_sha256=listed_meta, recomputed_sha256=meta_sha,
                            match=meta_sha == listed_meta))  # fmt: skip
    bad = [c.path for c in checks if not c.match]
    if bad:
        raise IntegrityError(
            f"{bundle_id}: the SHA-256 recomputed now differs from the acquisition hash for "
            f"{', '.join(bad)}; no exhibit is made"
        )
    return checks


def _first(events: list[LedgerEvent], action: str) -> LedgerEvent | None:
    return next((e for e in events if e.action == action and e.outcome == "ok"), None)


def _last(events: list[LedgerEvent], action: str) -> LedgerEvent | None:
    return next((e for e in reversed(events) if e.action == action), None)
