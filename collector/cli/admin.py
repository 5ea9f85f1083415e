"""Store set-up, users, keys and the ledger."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

import collector
from collector.cli.common import (
    JsonOpt,
    acting_user,
    admin_passphrase,
    app,
    ask_passphrase,
    echo,
    emit,
    keys_app,
    ledger_app,
    open_for_reading,
    open_store,
    output_directory,
    output_file,
    require_actor,
    root_app,
    state,
    store_app,
    user_app,
    warn,
)
from collector.errors import DamagedStore, UsageError
from collector.store import checkpoints
from collector.store.model import Role
from collector.store.roles import Action
from collector.store.store import Store

# --------------------------------------------------------------------- store and users


@app.command()
def init(
    agency: Annotated[str, typer.Option(help="Agency name recorded in every bundle.")] = "Agency",
    allow_private_network: Annotated[
        bool,
        typer.Option(help="Allow capturing hosts on private, loopback or link-local addresses."),
    ] = False,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="HOST:PORT let through the private-network block (repeatable), e.g. an "
            "internal test page.",
        ),
    ] = None,
    chromium: Annotated[
        str | None, typer.Option(help="Path of the Chromium executable (env COLLECTOR_CHROMIUM).")
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
    ledger: Annotated[
        str | None,
        typer.Option(help="An empty PostgreSQL database for the agency ledger, "
                     "postgresql://HOST[:PORT]/DB; credentials from PGUSER/PGPASSWORD, ~/.pgpass "
                     "or a service file (the role that makes it owns its tables)."),
    ] = None,
    ledger_role: Annotated[
        str | None,
        typer.Option(help="With --ledger: the role workstations connect as (default "
                     "collector_app); it may read and append, never delete or own."),
    ] = None,
    bundles: Annotated[
        str | None,
        typer.Option(help="With --ledger: an S3 bucket made with Object Lock, s3://BUCKET, that "
                     "sealed bundles are committed to (credentials from the AWS environment)."),
    ] = None,
    s3_endpoint: Annotated[
        str | None, typer.Option(help="With --bundles: the S3 endpoint (storage other than AWS).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create an evidence store: config and policy (TOML), ledger, the agency PKI, bundles/ and keys/.

    The administrator's passphrase ($COLLECTOR_ADMIN_PASSPHRASE or a prompt) protects the agency
    root and issuing CA; it is needed again to add, retire or re-role users.
    """
    store = Store.init(
        state.store_path,
        admin_passphrase=lambda: admin_passphrase(confirm=True),
        agency=agency,
        allow_private_network=allow_private_network,
        allow_hosts=allow_host,
        chromium=chromium or os.environ.get("COLLECTOR_CHROMIUM"),
        tsa_urls=tsa_url,
        tsa_roots=tsa_root,
        ntp_server=ntp_server,
        ledger_url=ledger,
        ledger_role=ledger_role,
        bundles_url=bundles,
        s3_endpoint=s3_endpoint,
    )
    made = checkpoints.make(store, None, "init")
    result = {"store": str(store.root.resolve()), "store_id": store.config.store_id}
    if made.warning:
        warn(made.warning)
    if json_out:
        emit(result)
    else:
        echo(f"evidence store created at {result['store']}")
        if allow_private_network:
            warn("this store allows capturing private-network addresses")
        for origin in store.config.policy.allowed_hosts:
            warn(f"{origin} is let through the private-network block")


@store_app.command("status")
def store_status(json_out: JsonOpt = False) -> None:
    """Show the store's schema revision and whether this version can use it as it is."""
    store = Store.open(state.store_path, check_schema=False)
    found = store.ledger.schema_status()
    if json_out:
        emit({"revision": found.revision, "head": found.head, "state": found.state})
    else:
        echo(f"{store.root}: {found.describe()}")
        if found.state in ("older", "unversioned"):
            echo("run `collector store upgrade` to bring it to this version's schema")


@store_app.command("flush")
def store_flush(json_out: JsonOpt = False) -> None:
    """Commit the bundles waiting in this workstation's outbox to the store's bucket (an
    agency store; also tried at the start of later commands). Exit 4 if any still waits."""
    from collector.store import storage

    store = open_store()
    actor = acting_user(store, required=False)
    done, left = storage.flush(store, actor.user.name if actor else None)
    if json_out:
        emit({"committed": done, "waiting": left})
    else:
        for bundle_id in done:
            echo(f"{bundle_id}: committed to {store.config.bundles.url}")
        for why in left:
            warn(why)
        if not done and not left:
            echo("nothing waits in the outbox")
    if left:
        raise typer.Exit(4)


@store_app.command("copy")
def store_copy(
    to: Annotated[Path, typer.Option("--to", help="The agency store's directory (its collector.toml).")],
    root_sha256: Annotated[str, typer.Option(
        "--root-sha256", help="SHA-256 of this workstation's root certificate (DER), as the administrator "
        "knows it from elsewhere: the agency cross-certifies that root and no other.")],
    json_out: JsonOpt = False,
) -> None:
    """Move this workstation store into an agency store: every bundle verified here, committed
    to the agency's bucket with its custody log and a signed `moved` event, and verified again
    from the bucket; this store's ledger archived as its own verifiable chain, its root
    cross-certified by the agency's issuing CA (the administrator's passphrase unlocks it). The
    acting user is a custodian of the agency store. This store is read, never changed."""
    from collector.evidence.bundle.verify import failures
    from collector.store import imports
    from collector.store.verify import verify_in_store

    source = Store.open(state.store_path)
    target = Store.open(to)
    actor = acting_user(target)
    assert actor is not None
    report = imports.copy_in(source, target, actor, admin_passphrase(), root_sha256)
    for bundle_id in report.moved:
        after = verify_in_store(target, bundle_id, actor)
        if not after.ok:
            report.failed_after[bundle_id] = "; ".join(failures(after.checks))
    if json_out:
        emit({"store_id": report.store_id, "agency": report.agency, "events": report.events,
              "moved": report.moved, "purged": report.purged, "waiting": report.waiting,
              "failed_after": report.failed_after})  # fmt: skip
    else:
        echo(f"workstation store {report.store_id} ({report.agency}): {report.events} ledger events "
             f"archived as their own chain, {len(report.moved)} bundles moved and verified again "
             f"from the bucket, {len(report.purged)} purged (their tombstones stay in that ledger)")  # fmt: skip
        for why in report.waiting:
            warn(why)
        for bundle_id, why in report.failed_after.items():
            warn(f"{bundle_id} does not verify in the agency store: {why}")
    if report.failed_after:
        raise typer.Exit(1)


@store_app.command("upgrade")
def store_upgrade(json_out: JsonOpt = False) -> None:
    """Upgrade an older store's ledger to this version's schema, recorded in the ledger.

    Done with no acting user by whoever controls the store directory, or by an admin. Take
    a copy of the store first: an upgraded store cannot be used by older versions.
    """
    store = Store.open(state.store_path, check_schema=False)
    actor = acting_user(store, required=False)
    admin = None if store.ledger.schema_status().state == "current" else admin_passphrase()
    result = store.upgrade(actor, admin)
    if result["upgraded"]:
        made = checkpoints.make(store, actor, "upgrade")
        if made.warning:
            warn(made.warning)
    if json_out:
        emit(result)
    elif not result["upgraded"]:
        echo(f"{store.root}: already at schema revision {result['to']}; nothing to do")
    else:
        created = ", ".join(result["tables_created"]) or "none"
        echo(
            f"{store.root}: upgraded from {result['from'] or 'before schema revisions'} "
            f"to schema revision {result['to']} (tables created: {created})"
        )


@user_app.command("add")
def user_add(
    name: str,
    role: Annotated[
        Role, typer.Option(help="investigator, supervisor, custodian, auditor, admin, or "
                           "capture-system (a capture worker's machine: --name says what it is, "
                           "--badge is its host name)")
    ],
    full_name: Annotated[str, typer.Option("--name", help="Full name.")],
    badge: Annotated[str, typer.Option(help="Badge or employee number.")],
    json_out: JsonOpt = False,
) -> None:
    """Create a user, an Ed25519 key pair encrypted with the user's own passphrase, and the
    user's certificate (name, badge, role) from the agency's issuing CA.

    The new user's passphrase comes from $COLLECTOR_NEW_PASSPHRASE or a prompt; the
    administrator's, which unlocks the issuing CA, from $COLLECTOR_ADMIN_PASSPHRASE or a prompt.
    Done with no acting user by whoever controls the store directory, or by an admin.
    """
    store = open_store()
    actor = acting_user(store, required=False)
    passphrase = ask_passphrase(
        f"New passphrase for {name}: ", "COLLECTOR_NEW_PASSPHRASE", confirm=True
    )
    user = store.add_user(
        name, role=role, full_name=full_name, badge=badge, passphrase=passphrase, actor=actor,
        admin_passphrase=admin_passphrase(),
    )  # fmt: skip
    if json_out:
        emit({"name": user.name, "role": user.role.value, "key_fingerprint": user.key_fingerprint})
    else:
        echo(f"user {user.name} ({user.role.value}) created; key {user.key_fingerprint}")


@user_app.command("retire")
def user_retire(
    name: str,
    compromised_since: Annotated[
        datetime | None,
        typer.Option(
            formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
            help="The key was compromised: revoke from this time (UTC unless a zone is given); "
            "what it signed from then on no longer verifies.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Retire a user: their certificates are revoked from now on (or from when their key was
    compromised); their key stays registered for verifying what it signed before."""
    store = open_store()
    since = None
    if compromised_since is not None:
        since = compromised_since if compromised_since.tzinfo else compromised_since.replace(tzinfo=UTC)
    store.retire_user(name, actor=acting_user(store, required=False),
                      admin_passphrase=admin_passphrase(), compromised_since=since)  # fmt: skip
    if json_out:
        emit({"user": name, "retired": True,
              "revoked_from": since.isoformat() if since is not None else "now"})  # fmt: skip
        return
    when = "from now on" if since is None else f"from {since.isoformat()} (key compromised)"
    echo(f"user {name} retired; certificates revoked {when}")


@user_app.command("role")
def user_role(
    name: str,
    role: Annotated[Role, typer.Option(help="investigator, supervisor, custodian, auditor or admin")],
    json_out: JsonOpt = False,
) -> None:
    """Give a user another role: a new certificate, the old one superseded from now on."""
    store = open_store()
    user = store.change_role(
        name, role, actor=acting_user(store, required=False), admin_passphrase=admin_passphrase()
    )
    if json_out:
        emit({"name": user.name, "role": user.role.value})
    else:
        echo(f"user {name} is now {role.value}; a new certificate was issued")


@user_app.command("list")
def user_list(json_out: JsonOpt = False) -> None:
    """List users, roles and key fingerprints."""
    users = open_for_reading().ledger.users()
    if json_out:
        emit([u.model_dump(mode="json", exclude={"public_key_pem"}) for u in users])
        return
    for u in users:
        retired = f"  retired {u.retired_at:%Y-%m-%d}" if u.retired_at else ""
        echo(
            f"{u.name:<16} {u.role.value:<13} {u.full_name} (badge {u.badge})  key {u.key_fingerprint[:16]}…{retired}"
        )


@user_app.command("profile")
def user_profile(
    name: str,
    title: Annotated[str | None, typer.Option(help="Job title, e.g. 'Detective, Digital Evidence Unit'.")] = None,
    qualifications: Annotated[
        str | None, typer.Option(help="Qualifications and experience, in the user's own words.")
    ] = None,
    training: Annotated[str | None, typer.Option(help="Training relevant to the capture tool.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show a user's profile, or (as that user) state title, qualifications and training.

    Certifications for exhibits take these from here and from nowhere else.
    """
    from collector.disclosure import profiles

    if title is None and qualifications is None and training is None:
        store = open_for_reading()
        if store.ledger.user(name) is None:
            raise UsageError(f"no such user {name!r}")
        found = profiles.profile(store, name)
        if json_out:
            emit(found.model_dump(mode="json") if found else None)
        elif found is None:
            echo(f"{name} has stated no profile")
        else:
            echo(f"{name}: {found.title}\n  qualifications: {found.qualifications}")
            if found.training:
                echo(f"  training: {found.training}")
            echo(f"  stated {found.set_at:%Y-%m-%d %H:%M:%SZ} (ledger #{found.ledger_event})")
        return
    if title is None or qualifications is None:
        raise UsageError("a profile needs both --title and --qualifications")
    store = open_store()
    actor = require_actor(store)
    saved = profiles.set_profile(
        store, actor, name, title=title, qualifications=qualifications, training=training
    )
    if json_out:
        emit(saved.model_dump(mode="json"))
    else:
        echo(f"profile of {name} recorded (ledger #{saved.ledger_event})")


@keys_app.command("list")
def keys_list(json_out: JsonOpt = False) -> None:
    """The key registry: fingerprint, owner, role, created and retired times."""
    entries = open_for_reading().ledger.key_registry()
    if json_out:
        emit([{k: v for k, v in e.items() if k != "public_key_pem"} for e in entries])
        return
    for e in entries:
        retired = f"  retired {e['retired_at']}" if e["retired_at"] else ""
        echo(
            f"{e['fingerprint']}  {e['owner']:<12} {e['role']:<12} created {e['created_at']}{retired}"
        )


@keys_app.command("export")
def keys_export(
    out: Annotated[
        Path | None, typer.Option(help="File to write; default standard output.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Publish the agency's public keys, PKI (root, issuing CA, certificates with their
    recorded issuance, revocation list) and time-stamp roots, for `verify --trust`."""
    from collector.disclosure.keylist import key_list

    if out is not None:
        output_file(out, overwrite=True)
    text = key_list(open_store()).text()
    if out is None:
        echo(text, nl=False)  # the key list is JSON already, with or without --json
        return
    out.write_text(text, encoding="utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if json_out:
        emit({"wrote": str(out), "sha256": digest})
    else:
        echo(f"wrote {out} (sha256 {digest})")


@keys_app.command("archive-signer")
def keys_archive_signer(json_out: JsonOpt = False) -> None:
    """Make (or replace) the store's WACZ signing key, ECDSA P-256, certified by the issuing
    CA with the role archive-signer (administration; a store made by this version has one)."""
    from collector.evidence.pki import ARCHIVE_SIGNER_ROLE
    from collector.store import archive_signer
    from collector.store.pki import certificate_sha256

    store = open_store()
    actor = acting_user(store, required=False)
    if actor is not None:
        store.require(actor, Action.store_admin)
    issuer = store.pki.unlock(admin_passphrase())
    certificate = archive_signer.make(store, issuer, actor.user.name if actor else None)
    result = {"role": ARCHIVE_SIGNER_ROLE, "serial": str(certificate.serial_number),
              "subject": certificate.subject.rfc4514_string(),
              "sha256": certificate_sha256(certificate)}  # fmt: skip
    if json_out:
        emit(result)
        return
    echo(f"certified the store's WACZ signing key: {result['subject']} (serial {result['serial']})")


@root_app.command("export")
def root_export(
    out: Annotated[Path, typer.Option(help="File to write: the root's key (still encrypted "
                                          "with the administrator's passphrase) and certificate.")],
    remove: Annotated[bool, typer.Option("--remove", help="Then delete the root's key from "
                                         "this machine (it is needed only to renew the issuing CA).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Take the agency root's private key off-line (administration)."""
    output_file(out)
    store = open_store()
    actor = acting_user(store, required=False)
    if actor is not None:
        store.require(actor, Action.store_admin)
    digest = store.pki.export_root(
        admin_passphrase(), out, remove=remove, actor=actor.user.name if actor else None
    )
    if json_out:
        emit({"wrote": str(out), "sha256": digest, "removed": remove})
        return
    echo(f"wrote {out} (sha256 {digest})")
    if remove:
        echo("the root's key was removed from this machine: keep the file off-line")


# --------------------------------------------------------------------- ledger


@ledger_app.command("show")
def ledger_show(
    subject: Annotated[str | None, typer.Option(help="Only events about this id.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Show ledger events, oldest first."""
    events = open_for_reading().ledger.events(subject)
    if json_out:
        emit([e.model_dump(mode="json") for e in events])
        return
    for e in events:
        echo(
            f"{e.seq:>5} {e.at:%Y-%m-%d %H:%M:%S}Z {e.outcome:<7} {e.action:<18} "
            f"{e.actor or '-':<12} {e.subject or '-'}  {json.dumps(e.details, ensure_ascii=False)[:160]}"
        )


@ledger_app.command("verify")
def ledger_verify(
    against: Annotated[
        Path | None,
        typer.Option(help="A checkpoint held elsewhere (an export's checkpoint.json, a copy "
                     "from the checkpoint directory) that the ledger must still extend."),
    ] = None,
    imported: Annotated[
        str | None,
        typer.Option("--imported", metavar="STORE-ID",
                     help="Check instead the ledger of a workstation store copied into this agency "
                          "store, as archived in the bucket, on its own terms."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check the ledger: hash chain, every event's signature, every checkpoint it keeps."""
    from collector.store import ledger_verify
    from collector.store.ledger_verify import verify_ledger

    held = checkpoints.read_file(against) if against is not None else None
    try:
        store = open_store()
        if imported is not None:
            report = _verify_imported(store, imported, held, against.name if against else "")
        else:
            report = verify_ledger(store, held, against.name if against else "")
    except DamagedStore as exc:  # a ledger that cannot be read has failed verification
        if json_out:
            emit({"ok": False, "event_count": None,
                  "checks": [{"name": "ledger", "ok": False, "detail": str(exc), "warning": False}]})  # fmt: skip
        else:
            echo(f"✗ ledger: {exc}")
            echo("LEDGER FAILED")
        raise typer.Exit(1) from None
    ledger_verify.record(store, report, state.acting if state.acting in store.ledger.signers.people else None,
                         {"against": against.name if against else None, "imported": imported})
    if json_out:
        emit(report.model_dump(mode="json"))
    else:
        for c in report.checks:
            echo(f"{'✗' if not c.ok else ('!' if c.warning else '✓')} {c.name}: {c.detail}")
        echo("LEDGER INTACT" if report.ok else "LEDGER FAILED")
    raise typer.Exit(0 if report.ok else 1)


def _verify_imported(store: Store, store_id: str, held: Any, source: str) -> Any:
    """An imported workstation ledger checked on its own terms, and against what was recorded
    when it was copied in (its digest, event count and head) and this agency's endorsement."""
    from collector.evidence.bundle.verify import Check
    from collector.store import imports
    from collector.store.ledger_verify import verify_ledger

    recorded = imports.record_of(store, store_id)
    with imports.archived(store, store_id) as view:
        report = verify_ledger(view, held, source)
        events = view.ledger.events()
        same = (len(events), events[-1].hash if events else "") == (recorded["event_count"], recorded["head_hash"])
        report.checks.append(Check(
            name="archive", ok=same,
            detail=(f"the archived ledger is the one copied in ({recorded['event_count']} events, recorded "
                    f"{recorded['imported_at']} by {recorded['imported_by']})") if same else
            "the archived ledger's length or head differs from what was recorded at the copy"))  # fmt: skip
        problem = imports.endorsement(store, store_id, view)
        report.checks.append(Check(name="cross-certificate", ok=problem is None,
                                   detail=problem or "its root is cross-certified by this agency's issuing CA"))  # fmt: skip
        report.ok = all(c.ok for c in report.checks)
    return report


@ledger_app.command("checkpoint")
def ledger_checkpoint(
    out: Annotated[Path, typer.Option(help="File to write the newest checkpoint to (JSON).")],
    new: Annotated[bool, typer.Option("--new", help="Make a checkpoint now and write that.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write the newest ledger checkpoint, to keep where the store's writer cannot reach it."""
    output_file(out)
    store = open_store()
    if new:
        actor = acting_user(store, required=False)
        made = checkpoints.make(store, actor, "request")
        if made.warning:
            warn(made.warning)
    newest = checkpoints.newest(store)
    if newest is None:
        raise UsageError("this store has no checkpoint yet: pass --new")
    if out.exists():
        raise UsageError(f"{out} exists: a checkpoint is never written over a file")
    out.write_text(checkpoints.as_file(newest), encoding="utf-8")
    st = newest.statement
    if json_out:
        emit({"wrote": str(out), "event_count": st.event_count, "head_hash": st.head_hash,
              "made_at": st.made_at.isoformat(), "timestamp": newest.timestamp_status})  # fmt: skip
        return
    echo(f"wrote {out}: {st.event_count} events, head {st.head_hash}, made "
               f"{st.made_at:%Y-%m-%d %H:%M:%SZ} ({newest.timestamp_status})")  # fmt: skip


@app.command()
def schema(
    out: Annotated[Path, typer.Option(help="Directory for the JSON Schema files.")] = Path(
        "schemas"
    ),
    json_out: JsonOpt = False,
) -> None:
    """Write the JSON Schemas of the bundle metadata."""
    from collector.evidence.schemas import write_schemas

    output_directory(out)
    written = write_schemas(out)
    if json_out:
        emit({"wrote": [str(path) for path in written]})
        return
    for path in written:
        echo(str(path))


@app.command()
def version(json_out: JsonOpt = False) -> None:
    """Print the tool version."""
    if json_out:
        emit({"tool": collector.TOOL_NAME, "version": collector.__version__})
        return
    echo(f"collector {collector.__version__}")
