"""The command line: thin wrappers that turn results and typed errors into text, JSON and exit codes.

Exit codes: 0 ok · 1 verification failed · 2 bad input · 3 refused · 4 technical failure.
"""

from __future__ import annotations

import getpass
import json
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from collector import __version__
from collector.bundle.verify import VerifyReport
from collector.errors import EXIT_TECHNICAL, CollectorError, Refused, UsageError
from collector.models import Authorization, Role
from collector.store import Actor, Store, default_store_path

app = typer.Typer(
    name="collector",
    help="Capture public social-media pages as sealed, verifiable evidence bundles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Users and their keys (administration).", no_args_is_help=True)
auth_app = typer.Typer(
    help="Authorizations: the legal predicate for capturing.", no_args_is_help=True
)
ledger_app = typer.Typer(help="The ledger of every decision and action.", no_args_is_help=True)
custody_app = typer.Typer(help="Chain of custody of a bundle.", no_args_is_help=True)
keys_app = typer.Typer(help="The key registry.", no_args_is_help=True)
timestamp_app = typer.Typer(help="RFC 3161 time-stamps of seals.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(auth_app, name="auth")
app.add_typer(ledger_app, name="ledger")
app.add_typer(custody_app, name="custody")
app.add_typer(keys_app, name="keys")
app.add_typer(timestamp_app, name="timestamp")


class State:
    store_path: Path = Path("evidence")
    acting: str | None = None


state = State()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def _global(
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", help="Evidence store directory [env: COLLECTOR_STORE; default ./evidence]."
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Acting user [env: COLLECTOR_USER]."),
    ] = None,
) -> None:
    state.store_path = store if store is not None else default_store_path()
    state.acting = as_user or os.environ.get("COLLECTOR_USER") or None


# --------------------------------------------------------------------- helpers


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def _store() -> Store:
    return Store.open(state.store_path)


def _passphrase(prompt: str, env: str, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise Refused(f"a passphrase is required: set {env} or run on a terminal")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise UsageError("passphrases do not match")
    return first


def _actor(store: Store, required: bool = True) -> Actor | None:
    """Authenticate the acting user by unlocking their key with their passphrase."""
    if state.acting is None:
        if required:
            raise Refused("no acting user: pass --as NAME or set COLLECTOR_USER")
        return None
    return store.authenticate(
        state.acting, _passphrase(f"Passphrase for {state.acting}: ", "COLLECTOR_PASSPHRASE")
    )


def _need_actor(store: Store) -> Actor:
    actor = _actor(store)
    assert actor is not None
    return actor


def _warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


# --------------------------------------------------------------------- store and users


@app.command()
def init(
    agency: Annotated[str, typer.Option(help="Agency name recorded in every bundle.")] = "Agency",
    allow_private_network: Annotated[
        bool,
        typer.Option(help="Allow capturing hosts on private, loopback or link-local addresses."),
    ] = False,
    chromium: Annotated[
        str | None, typer.Option(help="Path of the Chromium executable [env: COLLECTOR_CHROMIUM].")
    ] = None,
    tsa_url: Annotated[
        list[str] | None,
        typer.Option(
            "--tsa-url", help="RFC 3161 time-stamp authority; repeatable, tried in order."
        ),
    ] = None,
    tsa_root: Annotated[
        list[Path] | None,
        typer.Option("--tsa-root", help="PEM root CA the authority's tokens must chain to."),
    ] = None,
    ntp_server: Annotated[
        str | None,
        typer.Option(help="NTP server (host[:port]) to measure the clock offset against."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an evidence store: config and policy (TOML), ledger, bundles/ and keys/."""
    store = Store.init(
        state.store_path,
        agency=agency,
        allow_private_network=allow_private_network,
        chromium=chromium or os.environ.get("COLLECTOR_CHROMIUM"),
        tsa_urls=tsa_url,
        tsa_roots=tsa_root,
        ntp_server=ntp_server,
    )
    result = {"store": str(store.root.resolve()), "store_id": store.config.store_id}
    if json_out:
        _emit(result)
    else:
        typer.echo(f"evidence store created at {result['store']}")
        if allow_private_network:
            _warn("this store allows capturing private-network addresses")


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[
        Role, typer.Option(help="investigator, supervisor, custodian, auditor or admin")
    ],
    full_name: Annotated[str, typer.Option("--name", help="Full name.")],
    badge: Annotated[str, typer.Option(help="Badge or employee number.")],
    json_out: JsonOpt = False,
) -> None:
    """Create a user and an Ed25519 key pair encrypted with the user's own passphrase.

    The new user's passphrase comes from $COLLECTOR_NEW_PASSPHRASE or a prompt.
    Done with no acting user by whoever controls the store directory, or by an admin.
    """
    store = _store()
    actor = _actor(store, required=False)
    passphrase = _passphrase(
        f"New passphrase for {name}: ", "COLLECTOR_NEW_PASSPHRASE", confirm=True
    )
    user = store.add_user(
        name, role=role, full_name=full_name, badge=badge, passphrase=passphrase, actor=actor
    )
    if json_out:
        _emit({"name": user.name, "role": user.role.value, "key_fingerprint": user.key_fingerprint})
    else:
        typer.echo(f"user {user.name} ({user.role.value}) created; key {user.key_fingerprint}")


@user_app.command("retire")
def user_retire(name: str) -> None:
    """Retire a user: their key stays registered for verifying what it signed."""
    store = _store()
    store.retire_user(name, actor=_actor(store, required=False))
    typer.echo(f"user {name} retired")


@user_app.command("list")
def user_list(json_out: JsonOpt = False) -> None:
    """List users, roles and key fingerprints."""
    users = _store().ledger.users()
    if json_out:
        _emit([u.model_dump(mode="json", exclude={"public_key_pem"}) for u in users])
        return
    for u in users:
        retired = f"  retired {u.retired_at:%Y-%m-%d}" if u.retired_at else ""
        typer.echo(
            f"{u.name:<16} {u.role.value:<13} {u.full_name} (badge {u.badge})  key {u.key_fingerprint[:16]}…{retired}"
        )


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
    json_out: JsonOpt = False,
) -> None:
    """Request an authorization to capture (needs a supervisor's approval)."""
    from collector import authorizations
    from collector.config import REASONABLE_SUSPICION

    store = _store()
    actor = _need_actor(store)
    if not json_out:
        typer.echo(REASONABLE_SUSPICION, err=True)
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
        ),
    )
    if json_out:
        _emit({"id": auth.id, "status": auth.status.value})
    else:
        typer.echo(f"{auth.id} requested for case {auth.case_number}: pending approval")


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
    ]
    if auth.approved_by and auth.approved_at and auth.valid_until:
        lines.append(
            f"  approved     {auth.approved_by} at {auth.approved_at:%Y-%m-%d %H:%M:%SZ},"
            f" valid until {auth.valid_until:%Y-%m-%d %H:%M:%SZ}"
        )
    if auth.decision_reason:
        lines.append(
            f"  decision     {auth.status.value} by {auth.decided_by}: {auth.decision_reason}"
        )
    typer.echo("\n".join(lines))


@auth_app.command("approve")
def auth_approve(auth_id: str, json_out: JsonOpt = False) -> None:
    """Approve and sign a pending authorization (a supervisor who is not the requester)."""
    from collector import authorizations

    store = _store()
    auth = authorizations.approve(store, _need_actor(store), auth_id)
    if json_out:
        _emit(auth.model_dump(mode="json"))
    else:
        typer.echo(f"{auth.id} approved by {auth.approved_by}, valid until {auth.valid_until}")


@auth_app.command("deny")
def auth_deny(
    auth_id: str,
    reason: Annotated[str, typer.Option(help="Why it is denied.")],
    json_out: JsonOpt = False,
) -> None:
    """Deny a pending authorization."""
    from collector import authorizations

    store = _store()
    auth = authorizations.deny(store, _need_actor(store), auth_id, reason)
    _emit(auth.model_dump(mode="json")) if json_out else typer.echo(f"{auth.id} denied")


@auth_app.command("revoke")
def auth_revoke(
    auth_id: str,
    reason: Annotated[str, typer.Option(help="Why it is revoked.")],
    json_out: JsonOpt = False,
) -> None:
    """Revoke an approved authorization: no further captures under it."""
    from collector import authorizations

    store = _store()
    auth = authorizations.revoke(store, _need_actor(store), auth_id, reason)
    _emit(auth.model_dump(mode="json")) if json_out else typer.echo(f"{auth.id} revoked")


@auth_app.command("list")
def auth_list(json_out: JsonOpt = False) -> None:
    """List authorizations."""
    auths = _store().ledger.authorizations()
    if json_out:
        _emit([a.model_dump(mode="json") for a in auths])
        return
    for a in auths:
        typer.echo(
            f"{a.id}  {a.status.value:<9} {a.case_number:<18} {a.requested_by:<12} {', '.join(a.scopes)}"
        )


@auth_app.command("show")
def auth_show(auth_id: str, json_out: JsonOpt = False) -> None:
    """Show one authorization."""
    auth = _store().ledger.authorization(auth_id)
    if auth is None:
        raise UsageError(f"unknown authorization {auth_id!r}")
    _emit(auth.model_dump(mode="json")) if json_out else _show_auth(auth)


# --------------------------------------------------------------------- capture and verify


@app.command()
def capture(
    url: str,
    auth: Annotated[str | None, typer.Option("--auth", help="Approved authorization id.")] = None,
    note: Annotated[
        str | None, typer.Option(help="Investigator's note, stored in metadata.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Capture URL under an approved authorization and seal an evidence bundle.

    Exit 3 when the gate refuses (nothing is written), 4 on a technical failure.
    """
    from collector import capture as capturing

    store = _store()
    actor = _need_actor(store)
    result = capturing.run(store, actor, url, auth, note)
    for warning in result.warnings:
        _warn(warning)
    if json_out:
        _emit(result.model_dump(mode="json"))
        return
    typer.echo(f"sealed {result.bundle_id}")
    typer.echo(f"  url      {result.requested_url}")
    if result.final_url != result.requested_url:
        typer.echo(f"  final    {result.final_url}")
    typer.echo(f"  status   {result.status}  title {result.title!r}")
    typer.echo(f"  path     {result.path}")
    typer.echo(f"  seal     sha256 {result.seal_sha256}")
    stamp = result.timestamp
    if stamp.status == "stamped" and stamp.gen_time:
        typer.echo(f"  time     RFC 3161 {stamp.gen_time:%Y-%m-%d %H:%M:%SZ} from {stamp.url}")
    else:
        typer.echo(f"  time     {stamp.status}")


def _print_report(report: VerifyReport) -> None:
    typer.echo(f"bundle {report.bundle_id or '?'}  {report.path}")
    for check in report.checks:
        mark = "✗" if not check.ok else ("!" if check.warning else "✓")
        typer.echo(f"  {mark} {check.name}: {check.detail}")
    typer.echo("VERIFIED" if report.ok else "FAILED")


@app.command()
def verify(
    target: Annotated[
        str,
        typer.Argument(metavar="PATH-OR-ID", help="Bundle directory, bundle id, or export .zip."),
    ],
    trust: Annotated[
        Path | None,
        typer.Option(help="For an export: the agency's key list (`collector keys export`)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Verify a bundle or an export: hashes, signatures, time-stamps, custody. Exit 0 only if all pass.

    With --as (and the passphrase) verifying a stored bundle is also a signed `verified`
    custody event. An export .zip is verified without any store.
    """
    from collector import verification

    if target.lower().endswith(".zip") and Path(target).is_file():
        _verify_export(Path(target), trust, json_out)
    if trust is not None:
        raise UsageError("--trust applies to an export .zip")
    store = verification.open_store_if_any(state.store_path)
    actor = _actor(store) if store is not None and state.acting else None
    report = verification.verify_in_store(store, target, actor)
    if json_out:
        _emit(report.model_dump(mode="json"))
    else:
        _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


def _verify_export(path: Path, trust_path: Path | None, json_out: bool) -> None:
    from collector.export_verify import load_trust, verify_export

    report = verify_export(path, load_trust(trust_path) if trust_path else None)
    if json_out:
        _emit(report.model_dump(mode="json"))
        raise typer.Exit(0 if report.ok else 1)
    typer.echo(f"export {report.export_id or '?'}  {report.path}")
    for check in report.checks:
        mark = "✗" if not check.ok else ("!" if check.warning else "✓")
        typer.echo(f"  {mark} {check.name}: {check.detail}")
    for bundle in report.bundles:
        _print_report(bundle)
    typer.echo("signers:")
    for fingerprint, owner in sorted(report.signers.items(), key=lambda kv: kv[1]):
        typer.echo(f"  {fingerprint}  {owner}")
    typer.echo("VERIFIED" if report.ok else "FAILED")
    raise typer.Exit(0 if report.ok else 1)


@app.command("export")
def export_cmd(
    bundle_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Bundles to export.")],
    recipient: Annotated[str, typer.Option(help="Who receives the export (name).")],
    reason: Annotated[str, typer.Option(help="Why (need to know / right to know).")],
    out: Annotated[Path, typer.Option(help="The .zip to write (never overwritten).")],
    agency: Annotated[str | None, typer.Option(help="The recipient's agency.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Export bundles for a recipient (custodian): a zip they can verify without a store.

    Recorded as a signed `exported` custody event in each bundle (the dissemination record).
    """
    from collector.export import export

    store = _store()
    result = export(
        store,
        _need_actor(store),
        bundle_ids,
        recipient=recipient,
        recipient_agency=agency,
        reason=reason,
        out=out,
    )
    for warning in result.warnings:
        _warn(warning)
    if json_out:
        _emit(result.model_dump(mode="json"))
    else:
        typer.echo(f"exported {len(result.bundles)} bundle(s) as {result.export_id}")
        typer.echo(f"  file     {result.path}")
        typer.echo(f"  sha256   {result.sha256}")


@keys_app.command("list")
def keys_list(json_out: JsonOpt = False) -> None:
    """The key registry: fingerprint, owner, role, created and retired times."""
    entries = _store().ledger.key_registry()
    if json_out:
        _emit([{k: v for k, v in e.items() if k != "public_key_pem"} for e in entries])
        return
    for e in entries:
        retired = f"  retired {e['retired_at']}" if e["retired_at"] else ""
        typer.echo(
            f"{e['fingerprint']}  {e['owner']:<12} {e['role']:<12} created {e['created_at']}{retired}"
        )


@keys_app.command("export")
def keys_export(
    out: Annotated[
        Path | None, typer.Option(help="File to write; default standard output.")
    ] = None,
) -> None:
    """Publish the agency's public keys and time-stamp roots, for `verify --trust`."""
    from collector.export import key_list

    text = key_list(_store()).model_dump_json(indent=2) + "\n"
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}")


@app.command()
def show(bundle_id: str, json_out: JsonOpt = False) -> None:
    """Show a bundle's metadata summary; recorded as a signed `viewed` custody event."""
    from collector import services
    from collector.bundle.layout import METADATA
    from collector.custody import EventType
    from collector.models import Metadata
    from collector.roles import Action

    store = _store()
    actor = _need_actor(store)
    store.require(actor, Action.read, subject=bundle_id)
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    meta = Metadata.model_validate_json((store.bundle_path(row) / "data" / METADATA).read_bytes())
    services.append(store, actor, bundle_id, EventType.viewed, {"what": "metadata"})
    if json_out:
        _emit(meta.model_dump(mode="json"))
        return
    cap = meta.capture
    typer.echo(f"{meta.bundle_id}  case {meta.case_number}  authorization {meta.authorization.id}")
    typer.echo(f"  url        {cap.requested_url}")
    typer.echo(f"  final      {cap.final_url} ({cap.status})  {cap.title!r}")
    typer.echo(
        f"  captured   {cap.started_at:%Y-%m-%d %H:%M:%SZ} by {meta.operator.full_name} (badge {meta.operator.badge})"
    )
    typer.echo(
        f"  authorized by {meta.authorization.approved_by.full_name} (badge {meta.authorization.approved_by.badge})"
    )
    typer.echo(f"  retention  {meta.retention_class}")
    for art in meta.artifacts:
        typer.echo(f"  {art.path:<18} {art.size:>10} B  {art.mime_type:<24} sha256 {art.sha256}")


# --------------------------------------------------------------------- custody


@custody_app.command("show")
def custody_show(bundle_id: str, json_out: JsonOpt = False) -> None:
    """Show a bundle's chain of custody, oldest first."""
    store = _store()
    if store.ledger.bundle(bundle_id) is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    events = store.ledger.custody(bundle_id)
    if json_out:
        _emit([e.model_dump(mode="json") for e in events])
        return
    for e in events:
        detail = json.dumps(e.details, ensure_ascii=False)
        typer.echo(
            f"{e.seq:>3} {e.at}  {e.type.value:<12} {e.actor.full_name} (badge {e.actor.badge}, "
            f"{e.actor.user})  {detail[:140]}"
        )
        typer.echo(f"     hash {e.hash}  key {e.key_fingerprint[:16]}…")


@custody_app.command("transfer")
def custody_transfer(
    bundle_id: str,
    to: Annotated[str, typer.Option("--to", help="User receiving custody.")],
    reason: Annotated[str, typer.Option(help="Why custody changes hands.")],
    json_out: JsonOpt = False,
) -> None:
    """Transfer custody of a bundle to another user (a signed `transferred` event)."""
    from collector import services

    store = _store()
    event = services.transfer(store, _need_actor(store), bundle_id, to, reason)
    if json_out:
        _emit(event.model_dump(mode="json"))
    else:
        typer.echo(
            f"{bundle_id}: custody transferred from {event.details['from']} to {to} (event {event.seq})"
        )


@custody_app.command("verify")
def custody_verify(bundle_id: str, json_out: JsonOpt = False) -> None:
    """Check a bundle's custody chain: links, hashes, signatures, anchor, order and times."""
    from collector import verification

    report = verification.verify_custody(_store(), bundle_id)
    if json_out:
        _emit(
            {
                "ok": report.ok,
                "reason": report.reason,
                "signers": report.signers,
                "count": report.head.count if report.head else None,
            }
        )
    else:
        typer.echo(("✓ " if report.ok else "✗ ") + report.reason)
        for fingerprint, owner in report.signers.items():
            typer.echo(f"  signer {owner}: {fingerprint}")
    raise typer.Exit(0 if report.ok else 1)


# --------------------------------------------------------------------- time-stamps


@timestamp_app.command("pending")
def timestamp_pending(json_out: JsonOpt = False) -> None:
    """List bundles whose seal still lacks a time-stamp."""
    from collector import stamping

    ids = stamping.pending(_store())
    if json_out:
        _emit(ids)
    else:
        typer.echo("\n".join(ids) if ids else "no time-stamps pending")


@timestamp_app.command("retry")
def timestamp_retry(
    bundle_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID]...", help="Bundles; default: all pending.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Obtain missing time-stamps and append each as a signed `timestamped` custody event."""
    from collector import stamping

    store = _store()
    actor = _need_actor(store)
    targets = bundle_ids or stamping.pending(store)
    done = []
    for bundle_id in targets:
        event = stamping.retry(store, actor, bundle_id)
        done.append(
            {"bundle_id": bundle_id, "seq": event.seq, "gen_time": event.details["gen_time"]}
        )
        if not json_out:
            typer.echo(
                f"{bundle_id}: time-stamped {event.details['gen_time']} (custody event {event.seq})"
            )
    if json_out:
        _emit(done)
    elif not targets:
        typer.echo("no time-stamps pending")


# --------------------------------------------------------------------- ledger


@ledger_app.command("show")
def ledger_show(
    subject: Annotated[str | None, typer.Option(help="Only events about this id.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show ledger events, oldest first."""
    events = _store().ledger.events(subject)
    if json_out:
        _emit([e.model_dump(mode="json") for e in events])
        return
    for e in events:
        typer.echo(
            f"{e.seq:>5} {e.at:%Y-%m-%d %H:%M:%S}Z {e.outcome:<7} {e.action:<18} "
            f"{e.actor or '-':<12} {e.subject or '-'}  {json.dumps(e.details, ensure_ascii=False)[:160]}"
        )


@ledger_app.command("verify")
def ledger_verify() -> None:
    """Recompute the ledger's hash chain."""
    ok, reason = _store().ledger.verify_chain()
    typer.echo(("✓ " if ok else "✗ ") + reason)
    raise typer.Exit(0 if ok else 1)


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files.")] = Path(
        "schemas"
    ),
) -> None:
    """Write the JSON Schemas of the bundle metadata."""
    from collector.schemas import write_schemas

    for path in write_schemas(out):
        typer.echo(str(path))


@app.command()
def version() -> None:
    """Print the tool version."""
    typer.echo(f"collector {__version__}")


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    """Entry point: map typed errors to one-line messages and exit codes, never a traceback."""
    signal.signal(signal.SIGTERM, _interrupt)  # a killed capture cleans up like Ctrl-C
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("collector: aborted", err=True)
        sys.exit(130)
    except CollectorError as exc:
        typer.echo(f"collector: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("collector: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the last line of defence against tracebacks
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # bad command line
            typer.echo(f"collector: {exc.format_message()}", err=True)
            sys.exit(2)
        if os.environ.get("COLLECTOR_DEBUG"):
            raise
        typer.echo(f"collector: internal error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_TECHNICAL)
    sys.exit(code if isinstance(code, int) else 0)
