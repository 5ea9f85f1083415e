"""Documentation and retention: `retention due|status|review`, `hold`, `release`, `purge`.

Wiring only; the rules are in `collector.retention`. Exit codes as everywhere: 0 ok,
2 bad input, 3 refused (recorded in the ledger). `collector verify` of a purged bundle
exits 5 (`collector.errors.EXIT_PURGED`).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from collector.cli.common import JsonOpt, app, echo, emit, open_store, require_actor, warn
from collector.errors import UsageError


class _PurgeGroup(TyperGroup):
    """`collector purge ID --reason …` is `purge request`; `approve` and `list` are subcommands."""

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["request", *args]
        return super().resolve_command(ctx, args)


retention_app = typer.Typer(
    help="Retention: review and purge dates, supervisors' reviews.", no_args_is_help=True
)
purge_app = typer.Typer(
    cls=_PurgeGroup,
    help="Purges: `purge ID --reason` (custodian), `purge approve ID` (another supervisor), "
    "`purge list`.",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")
app.add_typer(purge_app, name="purge")

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", metavar="YYYY-MM-DD", help="Date to judge by (default today, UTC)."),
]


def _as_of(value: str | None) -> date:
    from collector.policy import retention

    if value is None:
        return retention.today()
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise UsageError(f"--as-of must be a date YYYY-MM-DD, not {value!r}") from exc


def _hold_text(held: bool) -> str:
    return "HELD (no purge)" if held else "-"


# --------------------------------------------------------------------- retention


@retention_app.command("due")
def retention_due(as_of: AsOf = None, json_out: JsonOpt = False) -> None:
    """Bundles whose review or purge is due or overdue (legal holds shown: they block purge)."""
    from collector.policy import retention

    when = _as_of(as_of)
    found = retention.due(open_store(), when)
    if json_out:
        emit([s.listing(when) for s in found])
        return
    if not found:
        echo(f"nothing due as of {when}")
        return
    echo(f"{'bundle':<28} {'case':<18} {'class':<22} {'due':<10} {'overdue':>8}  "
               f"{'action':<16} hold")  # fmt: skip
    for s in found:
        echo(f"{s.bundle_id:<28} {s.case_number:<18} {s.retention_class:<22} "
                   f"{s.until[:10]:<10} {s.days_overdue(when) or 0:>6} d  {s.action:<16} "
                   f"{_hold_text(s.held)}"
                   + (f"  purge request {s.pending_request}" if s.pending_request else ""))  # fmt: skip


@retention_app.command("status")
def retention_status(
    bundle_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID]...", help="Bundles; default: all.")
    ] = None,
    as_of: AsOf = None,
    json_out: JsonOpt = False,
) -> None:
    """Every bundle's retention state: class, period, due date or "until case disposition"."""
    from collector.policy import retention

    store = open_store()
    when = _as_of(as_of)
    found = (
        [retention.state(store, b) for b in bundle_ids] if bundle_ids else retention.states(store)
    )
    if json_out:
        emit([s.listing(when) for s in found])
        return
    for s in found:
        flag = " DUE" if s.is_due(when) else ""
        echo(f"{s.bundle_id:<28} {s.retention_class:<22} {s.until:<24} {s.action}{flag}"
                   + ("  HELD" if s.held else "")
                   + (f"  purge request {s.pending_request}" if s.pending_request else ""))  # fmt: skip


@retention_app.command("review")
def retention_review(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The bundle reviewed.")],
    reason: Annotated[
        str,
        typer.Option(help="The facts: for --retain, stating the class's justification."),
    ],
    retain: Annotated[
        bool, typer.Option("--retain", help="Validated: keep it; starts a new period.")
    ] = False,
    purge: Annotated[
        bool, typer.Option("--purge", help="Not validated: open a purge request.")
    ] = False,
    years: Annotated[
        int | None,
        typer.Option(help="With --retain: a shorter new period (default the class's maximum)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """A supervisor's retention review (28 CFR 23.20(h)): a signed `reviewed` custody event."""
    from collector.policy import retention

    if retain == purge:
        raise UsageError("give exactly one of --retain or --purge")
    store = open_store()
    event, request = retention.review(
        store, require_actor(store), bundle_id, retain=retain, reason=reason, years=years
    )
    if json_out:
        emit({"event": event.model_dump(mode="json"),
              "request": request.model_dump(mode="json") if request else None})  # fmt: skip
        return
    d = event.details
    if request is None:
        echo(f"{bundle_id}: retained until {d['period_end'] or 'case disposition'} "
                   f"(custody event {event.seq})")  # fmt: skip
        echo(f"  requirement  {d['requirement']}")
        echo(f"  reason       {d['reason']}")
    else:
        echo(f"{bundle_id}: purge request {request.id} opened (custody event {event.seq}); "
                   f"needs another supervisor: `collector purge approve {request.id}`")  # fmt: skip


# --------------------------------------------------------------------- legal hold


@app.command("hold")
def hold_cmd(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The bundle to hold.")],
    reason: Annotated[str, typer.Option(help="The matter the hold preserves it for.")],
    json_out: JsonOpt = False,
) -> None:
    """Place a legal hold (custodian or supervisor): no purge until released."""
    from collector.policy import retention

    store = open_store()
    event = retention.hold(store, require_actor(store), bundle_id, reason)
    if json_out:
        emit(event.model_dump(mode="json"))
    else:
        echo(f"{bundle_id}: on legal hold (custody event {event.seq})")


@app.command("release")
def release_cmd(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The bundle to release.")],
    reason: Annotated[str, typer.Option(help="Why the hold ends.")],
    json_out: JsonOpt = False,
) -> None:
    """Release a legal hold (custodian or supervisor)."""
    from collector.policy import retention

    store = open_store()
    event = retention.release(store, require_actor(store), bundle_id, reason)
    if json_out:
        emit(event.model_dump(mode="json"))
    else:
        echo(f"{bundle_id}: legal hold released (custody event {event.seq})")


# --------------------------------------------------------------------- purges


@purge_app.command("request")
def purge_request(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The bundle to purge.")],
    reason: Annotated[str, typer.Option(help="Why it is to be destroyed.")],
    json_out: JsonOpt = False,
) -> None:
    """Request a purge (custodian); `collector purge ID` is the same command."""
    from collector.policy import retention

    store = open_store()
    request = retention.request_purge(store, require_actor(store), bundle_id, reason)
    if json_out:
        emit(request.model_dump(mode="json"))
    else:
        echo(f"{bundle_id}: purge request {request.id} pending; "
                   f"a supervisor approves with `collector purge approve {request.id}`")  # fmt: skip


@purge_app.command("approve")
def purge_approve(
    ref: Annotated[str, typer.Argument(metavar="ID", help="Purge request id, or bundle id.")],
    json_out: JsonOpt = False,
) -> None:
    """Approve a purge (a supervisor other than the requester); the last approval carries it out.

    Refused under legal hold. The files are destroyed; the tombstone, the ledger rows and
    the custody log (ending with a signed `purged` event) remain.
    """
    from collector.policy import retention

    store = open_store()
    outcome = retention.approve_purge(store, require_actor(store), ref)
    for message in outcome.warnings:
        warn(message)
    if json_out:
        emit(outcome.model_dump(mode="json"))
        return
    request = outcome.request
    if outcome.tombstone is None:
        echo(f"{request.bundle_id}: purge request {request.id} approved "
                   f"({1 + len(request.approvals)} of {request.people_needed} people; "
                   f"custody event {outcome.event.seq})")  # fmt: skip
        return
    grave = outcome.tombstone
    echo(f"{grave.bundle_id}: PURGED (custody event {grave.custody_seq}); "
               f"{grave.files} files, {grave.bytes} B destroyed")  # fmt: skip
    echo(f"  requested by {grave.requested_by}, approved by {', '.join(grave.approved_by)}")
    echo(f"  reason       {grave.reason}")
    echo(f"  seal sha256  {grave.seal_sha256} (kept in the tombstone)")


@purge_app.command("list")
def purge_list(
    all_requests: Annotated[
        bool, typer.Option("--all", help="Also carried-out and superseded requests.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Purge requests: pending by default."""
    from collector.policy import retention

    found = [
        r for r in retention.purge_requests(open_store()) if all_requests or r.status == "pending"
    ]
    if json_out:
        emit([r.model_dump(mode="json") for r in found])
        return
    if not found:
        echo("no pending purge requests" if not all_requests else "no purge requests")
    for r in found:
        approvers = ", ".join(a.approver for a in r.approvals) or "none yet"
        echo(f"{r.id}  {r.bundle_id}  {r.status:<10} requested {r.requested_at:%Y-%m-%d} "
                   f"by {r.requested_by} ({r.origin}); approvals: {approvers} "
                   f"({1 + len(r.approvals)}/{r.people_needed} people)  {r.reason}")  # fmt: skip
