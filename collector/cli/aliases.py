"""Aliases (online undercover identities): request, two supervisors' approval, deny, retire."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.common import (
    JsonOpt,
    app,
    echo,
    emit,
    open_for_reading,
    open_store,
    require_actor,
)
from collector.errors import UsageError

if TYPE_CHECKING:
    from collector.policy.aliases import Alias

alias_app = typer.Typer(
    help="Aliases for online undercover work: approved by two supervisors before use.",
    no_args_is_help=True,
)
app.add_typer(alias_app, name="alias")

NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The alias's name (a slug).")]
ReasonOpt = Annotated[str, typer.Option(help="Why (recorded in the ledger).")]


def _say(alias: Alias, json_out: bool, text: str) -> None:
    if json_out:
        emit(alias.model_dump(mode="json"))
    else:
        echo(text)


@alias_app.command("request")
def alias_request(
    name: NameArg,
    platform: Annotated[str, typer.Option(help="The platform, one short word: mastodon, x ...")],
    handle: Annotated[str, typer.Option(help="The alias's user name on the platform.")],
    reason: Annotated[str, typer.Option(help="Why the alias is needed (at least 20 characters).")],
    days: Annotated[
        int | None, typer.Option(help="Days it stays active once approved (policy maximum).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Request an alias (an investigator); it needs two different supervisors' approval."""
    from collector.policy import aliases

    store = open_store()
    alias = aliases.request(
        store, require_actor(store), name, platform=platform, handle=handle, reason=reason,
        days=days,
    )  # fmt: skip
    _say(alias, json_out, f"alias {alias.name} requested: {alias.describe()}")


@alias_app.command("approve")
def alias_approve(name: NameArg, json_out: JsonOpt = False) -> None:
    """Approve a pending alias (a supervisor other than the requester); signed with your key."""
    from collector.policy import aliases

    store = open_store()
    alias = aliases.approve(store, require_actor(store), name)
    _say(alias, json_out, f"alias {alias.name} approved: {alias.describe()}")


@alias_app.command("deny")
def alias_deny(name: NameArg, reason: ReasonOpt, json_out: JsonOpt = False) -> None:
    """Deny a pending alias (a supervisor other than the requester)."""
    from collector.policy import aliases

    store = open_store()
    alias = aliases.deny(store, require_actor(store), name, reason)
    _say(alias, json_out, f"alias {alias.name} {alias.describe()}")


@alias_app.command("retire")
def alias_retire(name: NameArg, reason: ReasonOpt, json_out: JsonOpt = False) -> None:
    """Retire an alias (a supervisor or its requester): it can never be used again."""
    from collector.policy import aliases

    store = open_store()
    alias = aliases.retire(store, require_actor(store), name, reason)
    _say(alias, json_out, f"alias {alias.name} {alias.describe()}")


@alias_app.command("list")
def alias_list(json_out: JsonOpt = False) -> None:
    """Every alias and its state now."""
    from collector.policy import aliases

    found = aliases.aliases(open_for_reading())
    if json_out:
        emit([a.model_dump(mode="json") for a in found])
        return
    for a in found:
        echo(f"{a.name:<24} {a.platform:<12} {a.handle:<24} {a.describe()}")
    if not found:
        echo("no aliases")


@alias_app.command("show")
def alias_show(name: NameArg, json_out: JsonOpt = False) -> None:
    """One alias: its terms, approvals (with signature checks) and state."""
    from collector.policy import aliases

    alias = aliases.get(open_for_reading(), name)
    if alias is None:
        raise UsageError(f"unknown alias {name!r}")
    if json_out:
        emit(alias.model_dump(mode="json"))
        return
    lines = [
        f"{alias.name}  {alias.describe()}",
        f"  platform     {alias.platform}",
        f"  handle       {alias.handle}",
        f"  reason       {alias.reason}",
        f"  days         {alias.days}",
        f"  requested    {alias.requested_by} at {alias.requested_at:%Y-%m-%d %H:%M:%SZ}",
    ]
    for a in alias.approvals:
        check = "signature valid" if a.valid else "NOT COUNTED: signature or approver invalid"
        lines.append(
            f"  approved     {a.approver} at {a.approved_at:%Y-%m-%d %H:%M:%SZ}"
            f" (key {a.key_fingerprint[:16]}…, {check})"
        )
    if alias.activated_at and alias.expires_at:
        lines.append(
            f"  active       {alias.activated_at:%Y-%m-%d %H:%M:%SZ}"
            f" to {alias.expires_at:%Y-%m-%d %H:%M:%SZ}"
        )
    if alias.closed_by:
        lines.append(f"  {alias.status.value:<12} by {alias.closed_by}: {alias.close_reason}")
    echo("\n".join(lines))
