"""Authorizations: the legal predicate for capturing."""

from __future__ import annotations

from typing import Annotated

import typer

from collector.cli.common import (
    JsonOpt,
    auth_app,
    echo,
    emit,
    open_for_reading,
    open_store,
    require_actor,
)
from collector.errors import UsageError
from collector.store.model import Authorization

# --------------------------------------------------------------------- authorizations


@auth_app.command("request")
def auth_request(
    case: Annotated[str, typer.Option("--case", help="Case number in the policy's format.")],
    predicate: Annotated[str, typer.Option(help="criminal-predicate | public-safety-threat")],
    standard: Annotated[str, typer.Option(help="reasonable-suspicion | probable-cause")],
    purpose: Annotated[
        str,
        typer.Option(
            help="criminal-investigation | prosecution | crime-analysis | situational-awareness"
        ),
    ],
    facts: Annotated[str, typer.Option(help="The articulable facts supporting the predicate.")],
    scope: Annotated[list[str], typer.Option("--scope", help="http(s) URL glob; repeatable.")],
    retention: Annotated[str, typer.Option("--retention", help="Retention class from the policy.")],
    valid_days: Annotated[
        int | None, typer.Option(help="Validity after approval, in days.")
    ] = None,
    investigator: Annotated[
        list[str] | None, typer.Option("--investigator", help="Another investigator; repeatable.")
    ] = None,
    nexus: Annotated[
        str | None,
        typer.Option(
            help="How protected-category content (views, religion, ...) relates to the crime."
        ),
    ] = None,
    engagement: Annotated[
        str, typer.Option(help="public (logged out) or alias (online undercover).")
    ] = "public",
    alias: Annotated[
        str | None, typer.Option(help="With --engagement alias: the approved alias.")
    ] = None,
    allow_personal_equipment: Annotated[
        bool, typer.Option(help="Allow capturing on registered personal equipment.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Request an authorization to capture (needs a supervisor's approval)."""
    from collector.evidence.model import Conditions

    if engagement not in ("public", "alias"):
        raise UsageError("--engagement must be public or alias")
    from collector.policy import authorizations
    from collector.store.config import REASONABLE_SUSPICION

    store = open_store()
    actor = require_actor(store)
    auth = authorizations.request(
        store,
        actor,
        authorizations.AuthRequest(
            case_number=case,
            predicate=predicate,
            standard=standard,
            purpose=purpose,
            facts=facts,
            scopes=scope,
            retention_class=retention,
            valid_days=valid_days,
            investigators=investigator or [],
            conditions=Conditions(
                engagement=engagement,
                alias=alias,
                nexus=" ".join(nexus.split()) if nexus else None,
                allow_personal_equipment=allow_personal_equipment,
            ),
        ),
    )
    if json_out:
        emit({"id": auth.id, "status": auth.status.value})
    else:
        echo(REASONABLE_SUSPICION, err=True)  # the standard the request was made under
        echo(f"{auth.id} requested for case {auth.case_number}: pending approval")


def _show_auth(auth: Authorization) -> None:
    lines = [
        f"{auth.id}  {auth.status.value}",
        f"  case         {auth.case_number}",
        f"  predicate    {auth.predicate} ({auth.standard})",
        f"  purpose      {auth.purpose}",
        f"  facts        {auth.facts}",
        f"  scopes       {', '.join(auth.scopes)}",
        f"  retention    {auth.retention_class}",
        f"  requested    {auth.requested_by} at {auth.requested_at:%Y-%m-%d %H:%M:%SZ}",
        f"  investigators {', '.join(auth.investigators)}",
        f"  engagement   {auth.conditions.engagement}"
        + (f" as {auth.conditions.alias}" if auth.conditions.alias else ""),
    ]
    if auth.conditions.nexus:
        lines.append(f"  nexus        {auth.conditions.nexus}")
    if auth.conditions.allow_personal_equipment:
        lines.append("  personal equipment allowed")
    if auth.conditions.exigent:
        lines.append("  EXIGENT: captured without prior approval")
    if auth.approved_by and auth.approved_at and auth.valid_until:
        lines.append(
            f"  approved     {auth.approved_by} at {auth.approved_at:%Y-%m-%d %H:%M:%SZ},"
            f" valid until {auth.valid_until:%Y-%m-%d %H:%M:%SZ}"
        )
    if auth.decision_reason:
        lines.append(
            f"  decision     {auth.status.value} by {auth.decided_by}: {auth.decision_reason}"
        )
    echo("\n".join(lines))


@auth_app.command("approve")
def auth_approve(auth_id: str, json_out: JsonOpt = False) -> None:
    """Approve and sign a pending authorization (a supervisor who is not the requester)."""
    from collector.policy import authorizations

    store = open_store()
    auth = authorizations.approve(store, require_actor(store), auth_id)
    if json_out:
        emit(auth.model_dump(mode="json"))
    else:
        echo(f"{auth.id} approved by {auth.approved_by}, valid until {auth.valid_until}")


@auth_app.command("deny")
def auth_deny(
    auth_id: str,
    reason: Annotated[str, typer.Option(help="Why it is denied.")],
    json_out: JsonOpt = False,
) -> None:
    """Deny a pending authorization."""
    from collector.policy import authorizations

    store = open_store()
    auth = authorizations.deny(store, require_actor(store), auth_id, reason)
    emit(auth.model_dump(mode="json")) if json_out else echo(f"{auth.id} denied")


@auth_app.command("revoke")
def auth_revoke(
    auth_id: str,
    reason: Annotated[str, typer.Option(help="Why it is revoked.")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke an approved authorization: no further captures under it."""
    from collector.policy import authorizations

    store = open_store()
    auth = authorizations.revoke(store, require_actor(store), auth_id, reason)
    emit(auth.model_dump(mode="json")) if json_out else echo(f"{auth.id} revoked")


@auth_app.command("review")
def auth_review(
    auth_id: str,
    approve: Annotated[
        bool, typer.Option("--approve", help="The exigent capture was justified.")
    ] = False,
    reject: Annotated[
        bool, typer.Option("--reject", help="It was not: its bundles go to purge review.")
    ] = False,
    reason: Annotated[str, typer.Option(help="The supervisor's reasons.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Review an exigent capture (a supervisor other than the requester), within the deadline."""
    from collector.policy import exigent

    if approve == reject:
        raise UsageError("give exactly one of --approve or --reject")
    store = open_store()
    auth = exigent.review(store, require_actor(store), auth_id, approve=approve, reason=reason)
    if json_out:
        emit(auth.model_dump(mode="json"))
    else:
        echo(f"{auth.id} {auth.status.value} by {auth.decided_by}: {auth.decision_reason}")


@auth_app.command("list")
def auth_list(json_out: JsonOpt = False) -> None:
    """List authorizations."""
    auths = open_for_reading().ledger.authorizations()
    if json_out:
        emit([a.model_dump(mode="json") for a in auths])
        return
    for a in auths:
        echo(
            f"{a.id}  {a.status.value:<9} {a.case_number:<18} {a.requested_by:<12} {', '.join(a.scopes)}"
        )


@auth_app.command("show")
def auth_show(auth_id: str, json_out: JsonOpt = False) -> None:
    """Show one authorization."""
    auth = open_for_reading().ledger.authorization(auth_id)
    if auth is None:
        raise UsageError(f"unknown authorization {auth_id!r}")
    emit(auth.model_dump(mode="json")) if json_out else _show_auth(auth)
