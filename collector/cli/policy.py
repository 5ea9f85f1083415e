"""The agency's policy (show, check, record its review) and the equipment registry."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from collector.cli.common import (
    JsonOpt,
    acting_user,
    echo,
    emit,
    equipment_app,
    open_for_reading,
    open_store,
    policy_app,
    require_actor,
    review_app,
    warn,
)
from collector.errors import Refused


@policy_app.command("show")
def policy_show(json_out: JsonOpt = False) -> None:
    """Show the policy in force, its version and SHA-256 (stamped into every bundle)."""
    store = open_for_reading()
    stamp = store.policy_stamp()
    data = store.config.policy.model_dump(mode="json")
    if json_out:
        emit({"stamp": stamp.model_dump(mode="json"), "policy": data})
        return
    echo(
        f"policy version {stamp.version}  sha256 {stamp.sha256}  last reviewed {stamp.last_reviewed}"
    )
    echo(json.dumps(data, indent=2, ensure_ascii=False))


@policy_app.command("check")
def policy_check(json_out: JsonOpt = False) -> None:
    """Check the policy for mistakes an agency could make editing it. Exit 1 on any problem."""
    from collector.policy.check import problems

    store = open_store()
    found = problems(store.config)
    if json_out:
        emit({"version": store.config.policy.version, "consistent": not found, "problems": found})
        raise typer.Exit(1 if found else 0)
    for problem in found:
        echo(f"✗ {problem}")
    if not found:
        echo(f"✓ policy version {store.config.policy.version} is consistent")
    raise typer.Exit(1 if found else 0)


@policy_app.command("reviewed")
def policy_reviewed(
    reason: Annotated[str, typer.Option(help="What the review covered and concluded.")],
    version: Annotated[str | None, typer.Option(help="New policy version, if it changed.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Record the policy's periodic review (a supervisor or admin): sets last_reviewed to today."""
    from collector.policy.check import record_review

    store = open_store()
    stamp = record_review(store, require_actor(store), reason, version)
    if json_out:
        emit(stamp.model_dump(mode="json"))
        return
    echo(
        f"policy version {stamp.version} reviewed {stamp.last_reviewed}; sha256 {stamp.sha256}"
    )


@equipment_app.command("add")
def equipment_add(
    equipment_id: Annotated[str, typer.Argument(metavar="ID")],
    kind: Annotated[str, typer.Option(help="agency or personal")],
    description: Annotated[str, typer.Option(help="Make, model, asset tag.")],
    machine_id: Annotated[
        str | None,
        typer.Option(
            help="The machine's id from `collector equipment whoami` (default: this one)."
        ),
    ] = None,
    assigned_to: Annotated[
        str | None, typer.Option(help="User the equipment is issued to.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Register equipment (administration: the store's owner, an admin or a supervisor)."""
    from collector.policy import equipment

    store = open_store()
    entry = equipment.register(
        store, acting_user(store, required=False), equipment_id, kind=kind,
        description=description, machine_id=machine_id, assigned_to=assigned_to,
    )  # fmt: skip
    if json_out:
        emit(entry.model_dump(mode="json"))
    else:
        echo(
            f"equipment {entry.id} ({entry.kind}) registered: machine {entry.machine_id[:16]}…"
        )


@equipment_app.command("list")
def equipment_list(json_out: JsonOpt = False) -> None:
    """The equipment registry."""
    from collector.policy import equipment

    entries = equipment.registry(open_for_reading())
    if json_out:
        emit([e.model_dump(mode="json") for e in entries])
        return
    for e in entries:
        echo(
            f"{e.id:<20} {e.kind:<9} {e.machine_id[:16]}…  {e.description}  {e.assigned_to or ''}"
        )


@equipment_app.command("whoami")
def equipment_whoami(json_out: JsonOpt = False) -> None:
    """This machine's id and how the registry knows it."""
    from collector.policy import equipment

    store = open_store()
    machine = equipment.identify(store)
    if json_out:
        emit(machine.model_dump(mode="json"))
        return
    echo(
        f"machine {machine.machine_id}  host {machine.host_name}  {machine.kind} {machine.equipment_id or ''}"
    )
    try:
        why = equipment.refusal(store, machine, allows_personal=False)
    except Refused:  # pragma: no cover - refusal() only returns text
        why = None
    if why:
        warn(f"captures here are refused by the policy: {why}")


@review_app.command("protected")
def review_protected(
    bundle_id: str,
    approve: Annotated[bool, typer.Option("--approve", help="Keep it: state the nexus.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Purge it: state the reason.")] = False,
    nexus: Annotated[
        str | None, typer.Option(help="How the protected content relates to the criminal conduct.")
    ] = None,
    reason: Annotated[str | None, typer.Option(help="Why it is rejected.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Decide a quarantined bundle's protected-content review (a supervisor)."""
    from collector.errors import UsageError
    from collector.policy import protected

    if approve == reject:
        raise UsageError("give exactly one of --approve or --reject")
    store = open_store()
    decision = protected.review(
        store, require_actor(store), bundle_id, approve=approve, nexus=nexus, reason=reason
    )
    if json_out:
        emit({"bundle_id": bundle_id, "review": decision})
        return
    echo(f"{bundle_id}: protected-content review {decision}")


@review_app.command("pending")
def review_pending(json_out: JsonOpt = False) -> None:
    """Reviews owed: exigent captures and quarantined bundles, with their deadlines."""
    from collector.policy import reviews

    owed = [
        {"kind": r.kind, "id": r.id, "due": r.due.isoformat() if r.due else None}
        for r in reviews.owed(open_for_reading())
    ]
    if json_out:
        emit(owed)
        return
    for item in owed:
        echo(f"{item['kind']:<10} {item['id']:<32} due {item['due']}")
    if not owed:
        echo("no reviews owed")
