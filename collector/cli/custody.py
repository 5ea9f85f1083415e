"""The chain of custody of a bundle."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from collector.cli.common import (
    JsonOpt,
    custody_app,
    echo,
    emit,
    open_for_reading,
    open_store,
    require_actor,
)
from collector.errors import UsageError

# --------------------------------------------------------------------- custody


@custody_app.command("show")
def custody_show(bundle_id: str, json_out: JsonOpt = False) -> None:
    """Show a bundle's chain of custody, oldest first."""
    store = open_for_reading()
    if store.ledger.bundle(bundle_id) is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    events = store.ledger.custody(bundle_id)
    if json_out:
        emit([e.model_dump(mode="json") for e in events])
        return
    for e in events:
        detail = json.dumps(e.details, ensure_ascii=False)
        echo(
            f"{e.seq:>3} {e.at}  {e.type.value:<12} {e.actor.full_name} (badge {e.actor.badge}, "
            f"{e.actor.user})  {detail[:140]}"
        )
        echo(f"     hash {e.hash}  key {e.key_fingerprint[:16]}…")


@custody_app.command("transfer")
def custody_transfer(
    bundle_id: str,
    to: Annotated[str, typer.Option("--to", help="User receiving custody.")],
    reason: Annotated[str, typer.Option(help="Why custody changes hands.")],
    json_out: JsonOpt = False,
) -> None:
    """Transfer custody of a bundle to another user (a signed `transferred` event)."""
    from collector.store import custody_log as services

    store = open_store()
    event = services.transfer(store, require_actor(store), bundle_id, to, reason)
    if json_out:
        emit(event.model_dump(mode="json"))
    else:
        echo(
            f"{bundle_id}: custody transferred from {event.details['from']} to {to} (event {event.seq})"
        )


@custody_app.command("review")
def custody_review(
    bundle_id: str,
    note: Annotated[str | None, typer.Option(help="What you looked at, in your words.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """As the investigator who requested a capture worker's capture: say you reviewed it and it
    shows the page you asked for (a signed `requester-reviewed` custody event; optional, once)."""
    from collector.store import custody_log as services

    store = open_store()
    event = services.review_as_requester(store, require_actor(store), bundle_id, note)
    if json_out:
        emit(event.model_dump(mode="json"))
    else:
        echo(f"{bundle_id}: reviewed by its requester {event.actor.user} (event {event.seq})")


@custody_app.command("verify")
def custody_verify(bundle_id: str, json_out: JsonOpt = False) -> None:
    """Check a bundle's custody chain: links, hashes, signatures, anchor, order and times."""
    from collector.store import verify as verification

    report = verification.verify_custody(open_store(), bundle_id)
    if json_out:
        emit(
            {
                "ok": report.ok,
                "reason": report.reason,
                "signers": report.signers,
                "count": report.head.count if report.head else None,
            }
        )
    else:
        echo(("✓ " if report.ok else "✗ ") + report.reason)
        for fingerprint, owner in report.signers.items():
            echo(f"  signer {owner}: {fingerprint}")
    raise typer.Exit(0 if report.ok else 1)
