"""Drafts of the certification under FRE 902(13)/(14) and the notice under FRE 902(11).

The certification is not conclusory: it names the declarant (identity, title, role),
their qualifications and training from their own profile statement, the basis of their
knowledge, the process and why it produces an accurate result (tool, version,
configuration hash, the verification checklist of each bundle, the tool validation report),
and for each item the files, the algorithm, the acquisition hash and the hash recomputed
at export (date, tool, person) and that they match. Every factual statement cites the
ledger event or custody event it rests on (`custody #seq hash-prefix`, `ledger #id
action`). It ends with the declaration under penalty of perjury of 28 U.S.C. § 1746 in
the form of the packet's jurisdiction.

A jurisdiction is a template name: `collector/templates/exhibit/declarations/<name>.html.j2`
extends `_base.html.j2` and fills its `jurat` block. `us-federal` is § 1746(2) (executed
within the United States); `us-federal-abroad` is § 1746(1) (executed outside it). A state
court's form is one more file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from collector.disclosure.exhibit.model import ExhibitItem, LedgerRef, Packet
from collector.errors import UsageError
from collector.evidence.custody import CustodyEvent, EventType
from collector.store.actions import LedgerAction

DECLARATIONS = "exhibit/declarations"
VALIDATION_REPORT = "docs/VALIDATION.md"
HASH_PREFIX = 16
_JURISDICTION = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")

# Which ledger rows (by ExhibitItem.ledger key, or by action) each statement rests on.
_LEDGER_SOURCES: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    "captured": (frozenset({"captured", "capture", "sealed"}), (LedgerAction.capture_sealed,)),
    "approved": (
        frozenset({"approved", "approval", "authorization"}),
        (LedgerAction.auth_approve, LedgerAction.auth_review),
    ),
    "timestamped": (frozenset({"timestamped", "timestamp"}), ("timestamp.",)),
    "verified": (frozenset({"verified", "verify"}), (LedgerAction.bundle_verify,)),
    "hashes": (frozenset({"hashes", "recomputed", "exhibit", "hash-check"}), ("exhibit.",)),
}


def jurisdictions() -> list[str]:
    """The declaration forms installed (template names without the extension)."""
    folder = resources.files("collector").joinpath("templates", *DECLARATIONS.split("/"))
    names = [
        entry.name.removesuffix(".html.j2")
        for entry in folder.iterdir()
        if entry.name.endswith(".html.j2") and not entry.name.startswith("_")
    ]
    return sorted(names)


def declaration_template(jurisdiction: str) -> str:
    """The template of the jurisdiction's declaration; UsageError if there is none."""
    available = jurisdictions()
    if not _JURISDICTION.fullmatch(jurisdiction) or jurisdiction not in available:
        raise UsageError(
            f"no declaration form for jurisdiction {jurisdiction!r}; "
            f"available: {', '.join(available)}"
        )
    return f"{DECLARATIONS}/{jurisdiction}.html.j2"


def check_declarant(packet: Packet) -> None:
    """No certification without the declarant's own title and qualifications."""
    profile = packet.declarant.profile
    person = packet.declarant.person
    if profile.user != person.user:
        raise UsageError(
            f"the profile of {profile.user!r} cannot qualify declarant {person.user!r}"
        )
    if not profile.title.strip() or not profile.qualifications.strip():
        raise UsageError(
            f"declarant {person.user!r} has stated no title and qualifications: no certification "
            f"can be made (collector user profile {person.user} --title … --qualifications …)"
        )


def custody_cite(event: CustodyEvent) -> str:
    return f"custody #{event.seq} {event.type.value} {event.hash[:HASH_PREFIX]}"


def ledger_cite(ref: LedgerRef) -> str:
    return f"ledger #{ref.id} {ref.action}"


def _matches(key: str, ref: LedgerRef, statement: str) -> bool:
    keys, actions = _LEDGER_SOURCES[statement]
    return key in keys or any(
        ref.action == a or (a.endswith(".") and ref.action.startswith(a)) for a in actions
    )


def _citations(item: ExhibitItem) -> dict[str, list[str]]:
    cites: dict[str, list[str]] = {name: [] for name in _LEDGER_SOURCES}
    used: set[str] = set()
    for statement in _LEDGER_SOURCES:
        for key, ref in item.ledger.items():
            if _matches(key, ref, statement):
                cites[statement].append(ledger_cite(ref))
                used.add(key)
    by_type: dict[str, list[CustodyEvent]] = {}
    for event in item.custody:
        by_type.setdefault(event.type.value, []).append(event)
    for event in by_type.get("captured", [])[:1]:
        cites["captured"].insert(0, custody_cite(event))
    for event in by_type.get("timestamped", []):
        cites["timestamped"].append(custody_cite(event))
    for event in by_type.get("verified", [])[-1:]:
        cites["verified"].append(custody_cite(event))
    cites["custody"] = [custody_cite(item.custody[-1])] if item.custody else []
    cites["other"] = [
        f"{ledger_cite(ref)} ({key})" for key, ref in item.ledger.items() if key not in used
    ]
    return cites


def item_view(
    packet: Packet,
    index: int,
    item: ExhibitItem,
    bundle: dict[str, Any],
    cap: Callable[[str | None], str | None],
) -> dict[str, Any]:
    meta = item.metadata
    prepared = packet.prepared_by or packet.declarant.person
    return {
        "label": bundle["label"],
        "bundle_id": item.bundle_id,
        "bundle_dir": item.bundle_path.name,
        "url": bundle["requested_url"],
        "final_url": bundle["final_url"],
        "post_url": bundle["post_url"],
        "captured_at": meta.capture.started_at,
        "ended_at": meta.capture.ended_at,
        "investigator": bundle["investigator"],
        "authorizing_officer": bundle["authorizing_officer"],
        "authorization_id": meta.authorization.id,
        "approved_at": meta.authorization.approved_at,
        "approval_signed": meta.authorization.approval_signature is not None,
        "exigent": meta.exigent,
        "tool": meta.tool,
        "browser": f"{meta.capture.browser.name} {meta.capture.browser.version}",
        "timestamping": meta.timestamping.statement,
        "time_stamp_file": (item.bundle_path / "seal.tsr").is_file(),
        "seal_sha256": item.seal_sha256,
        "files": [h.path for h in item.hashes],
        "hashes": item.hashes,
        "checked_at": item.hashes_checked_at,
        "checked_by": f"{prepared.full_name}, badge {prepared.badge} (user {prepared.user})",
        "checked_tool": f"{packet.tool_name} {packet.tool_version}",
        "all_match": all(h.match for h in item.hashes),
        "verify_checks": bundle["verify_checks"],
        "custody": [
            {
                "seq": e.seq,
                "type": e.type.value,
                "actor": bundle["custody"][n]["actor"],
                "at": e.at,
                "cite": custody_cite(e),
            }
            for n, e in enumerate(item.custody)
        ],
        "cites": _citations(item),
        "declarant_captured": item.captured_by.user == packet.declarant.person.user,
        "declarant_approved": (
            item.authorized_by is not None
            and item.authorized_by.user == packet.declarant.person.user
        ),
        "page_state": bundle["page_state"],
        "platform": bundle["platform_long"],
        "redacted": bundle["redacted"],
        "requested": _requested(item),
    }


def _requested(item: ExhibitItem) -> dict[str, Any] | None:
    """For a capture a capture system made: who requested it, when, and their later review."""
    asked = item.metadata.request
    if asked is None:
        return None
    reviewed = [e for e in item.custody if e.type is EventType.requester_reviewed]
    return {
        "job_id": asked.job_id,
        "requested_by": asked.requested_by,
        "requested_at": asked.requested_at,
        "reviewed": custody_cite(reviewed[0]) if reviewed else None,
        "reviewed_at": reviewed[0].at if reviewed else None,
    }


def view(
    packet: Packet,
    bundles: Sequence[dict[str, Any]],
    cap: Callable[[str | None], str | None],
) -> dict[str, Any]:
    """What the declaration and the notice show (escaped by the templates)."""
    check_declarant(packet)
    d = packet.declarant
    tools = sorted({(i.metadata.tool.name, i.metadata.tool.version) for i in packet.items})
    return {
        "declarant": d.person,
        "title": d.profile.title,
        "role": d.role,
        "qualifications": d.profile.qualifications,
        "training": d.profile.training,
        "profile_cite": f"ledger #{d.profile.ledger_event} user.profile",
        "profile_set_at": d.profile.set_at,
        "agency": packet.agency,
        "case_number": packet.case_number,
        "number": packet.number,
        "generated_at": packet.generated_at,
        "tool_name": packet.tool_name,
        "tool_version": packet.tool_version,
        "capture_tools": [f"{name} {version}" for name, version in tools],
        "validation_report": VALIDATION_REPORT,
        "items": [
            item_view(packet, n, item, bundles[n], cap) for n, item in enumerate(packet.items)
        ],
        "recipient": packet.recipient,
        "jurisdiction": packet.jurisdiction,
    }
