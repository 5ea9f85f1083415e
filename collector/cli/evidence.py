"""Capture, verify, show, export and time-stamps."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from collector.cli.common import (
    JsonOpt,
    acting_user,
    app,
    echo,
    emit,
    open_for_reading,
    open_store,
    output_directory,
    output_file,
    print_report,
    require_actor,
    state,
    timestamp_app,
    warn,
)
from collector.errors import EXIT_REFUSED, EXIT_TECHNICAL, Interrupted, UsageError
from collector.evidence.text import brief, shown
from collector.platforms import summary

if TYPE_CHECKING:
    from collector.batch import Item, ItemResult
    from collector.store.store import Actor, Store

# --------------------------------------------------------------------- capture and verify


@app.command()
def capture(
    url: Annotated[str | None, typer.Argument(help="The URL (or --from FILE for a batch).")] = None,
    auth: Annotated[str | None, typer.Option("--auth", help="Approved authorization id.")] = None,
    note: Annotated[
        str | None, typer.Option(help="Investigator's note, stored in metadata.")
    ] = None,
    exigent: Annotated[
        bool,
        typer.Option(help="Imminent threat to public safety: capture now, supervisor review owed."),
    ] = False,
    case: Annotated[
        str | None, typer.Option("--case", help="With --exigent: the case number.")
    ] = None,
    facts: Annotated[
        str | None, typer.Option(help="With --exigent: the articulable facts of the threat.")
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(help="Playwright storage state of an approved alias (logged-in capture)."),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from", help="A batch: a file of URLs, one a line, or CSV with the header url,note."),
    ] = None,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="BATCH", help="Finish an interrupted batch.")
    ] = None,
    queue_it: Annotated[
        bool,
        typer.Option("--queue", help="Agency store: sign the request and queue it for a capture "
                     "worker instead of capturing here."),
    ] = False,
    concurrency: Annotated[
        int | None,
        typer.Option("--concurrency", metavar="N", help="A batch: captures at once (default 1, at most 8)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Capture URL under an approved authorization and seal an evidence bundle.

    Exit 3 when the gate refuses (nothing is written), 4 on a technical failure. A batch
    (--from) exits 0 only if every URL was captured, 4 if any failed, else 3 if any was refused.
    """
    from collector import capture as capturing

    if from_file is not None or resume is not None:
        _capture_batch(url, auth, from_file, resume, note, exigent, profile, json_out,
                       1 if concurrency is None else concurrency, queue_it)
        return
    if concurrency is not None:
        raise UsageError("--concurrency goes with a batch (--from FILE or --resume BATCH)")
    if url is None:
        raise UsageError("name the URL to capture (or --from FILE for a batch)")
    if queue_it:
        _queue_one(url, auth, note, exigent, profile, json_out)
        return
    if exigent and (not case or not facts):
        raise UsageError("--exigent needs --case and --facts")
    if not exigent and (case or facts):
        raise UsageError("--case and --facts go with --exigent; otherwise use --auth")
    store = open_store()
    actor = require_actor(store)
    result = capturing.run(
        store,
        actor,
        url,
        auth,
        note,
        exigent_case=(case, facts) if exigent and case and facts else None,
        profile=profile,
    )
    for warning in result.warnings:
        warn(warning)
    if json_out:
        emit(result.model_dump(mode="json"))
        return
    echo(f"sealed {result.bundle_id}")
    echo(f"  url      {result.requested_url}")
    if result.final_url != result.requested_url:
        echo(f"  final    {result.final_url}")
    echo(f"  status   {result.status}  title {shown(result.title)}")
    echo(f"  path     {result.path}")
    echo(f"  seal     sha256 {result.seal_sha256}")
    stamp = result.timestamp
    if stamp.status == "stamped" and stamp.gen_time:
        echo(f"  time     RFC 3161 {stamp.gen_time:%Y-%m-%d %H:%M:%SZ} from {stamp.url}")
    else:
        echo(f"  time     {stamp.status}")
    for label, text in summary.lines(result.post, result.page_state):
        echo(f"  {label:<8} {brief(text, 1000)}")


def _queue_one(url: str, auth: str | None, note: str | None, exigent: bool, profile: Path | None,
               json_out: bool) -> None:  # fmt: skip
    from collector.jobs import queue
    from collector.jobs.enqueue import enqueue

    if exigent or profile is not None:
        raise UsageError("--queue takes neither --exigent nor --profile: capture those here")
    store = open_store()
    actor = require_actor(store)
    with queue.opened(store) as app:
        queued = enqueue(store, actor, app, url, auth, note)
    if json_out:
        emit(queued.model_dump(mode="json"))
        return
    echo(f"queued {queued.job_id} (queue id {queued.queue_id}): {shown(queued.url)} under "
         f"{queued.authorization_id}; a capture worker will seal it (`collector jobs`)")  # fmt: skip


def _capture_batch(url: str | None, auth: str | None, from_file: Path | None, resume: str | None,
                   note: str | None, exigent: bool, profile: Path | None, json_out: bool,
                   concurrency: int, queue_it: bool = False) -> None:  # fmt: skip
    from collector import batch
    from collector.cli.progress import batch_progress

    if url is not None or note is not None or exigent or profile is not None:
        raise UsageError("a batch takes its URLs and notes from --from FILE (no URL, --note, --exigent "
                         "or --profile with it)")  # fmt: skip
    if (from_file is None) == (resume is None):
        raise UsageError("a batch is either --from FILE --auth ID, or --resume BATCH")
    if not 1 <= concurrency <= batch.MAX_CONCURRENCY:
        raise UsageError(f"--concurrency must be between 1 and {batch.MAX_CONCURRENCY}")
    items = batch.read_list(from_file) if from_file is not None else []
    if from_file is not None and not auth:
        raise UsageError("--from needs --auth: the authorization every URL is judged against")
    store = open_store()
    actor = require_actor(store)
    if resume is not None:
        auth, items, started_by = batch.recorded(store, resume)
        if started_by != actor.user.name:
            raise UsageError(f"batch {resume} was started by {started_by}: only they resume it")
        batch_id = resume
    else:
        assert from_file is not None and auth is not None
        batch_id = batch.start(store, actor, items, auth, from_file.name)
    if not json_out:
        echo(f"batch {batch_id}: {len(items)} URLs under {auth}")
    if queue_it:
        _queue_batch(store, actor, batch_id, auth, items, json_out)
        return
    counts = {"captured": 0, "queued": 0, "refused": 0, "failed": 0}
    try:
        with batch_progress(len(items), wanted=not json_out) as live:
            results = batch.run(store, actor, batch_id, auth, items, live.working if live else None,
                                concurrency)  # fmt: skip
            del actor  # the batch lets the investigator's key go once it has signed the requests
            for result in results:
                counts[result.outcome] += 1
                if live is not None:
                    live.done(result.number, result.outcome)
                _batch_line(result, batch_id, len(items), json_out)
    except KeyboardInterrupt:
        raise Interrupted(
            f"batch {batch_id} interrupted after {sum(counts.values())} of {len(items)} URLs: "
            "captures still in the browser were stopped and left nothing, those already sealing "
            f"were finished and recorded; finish it with `collector capture --resume {batch_id}`"
        ) from None
    if not json_out:
        echo(f"batch {batch_id}: {counts['captured']} captured, {counts['refused']} refused, "
             f"{counts['failed']} failed")  # fmt: skip
    _batch_exit(counts)


def _queue_batch(store: Store, actor: Actor, batch_id: str, auth: str, items: list[Item], json_out: bool) -> None:
    """Every URL of the batch signed and queued (each judged by the gate now)."""
    from collector import batch
    from collector.jobs import queue

    counts = {"queued": 0, "refused": 0, "failed": 0}
    with queue.opened(store) as app:
        for result in batch.queue(store, actor, batch_id, auth, items, app):
            counts[result.outcome] += 1
            _batch_line(result, batch_id, len(items), json_out)
    if not json_out:
        echo(f"batch {batch_id}: {counts['queued']} queued, {counts['refused']} refused, "
             f"{counts['failed']} failed; `collector jobs` follows them")  # fmt: skip
    _batch_exit(counts)


def _batch_exit(counts: dict[str, int]) -> None:
    """A batch's exit code: 4 if any URL failed, else 3 if any was refused, else 0."""
    if counts["failed"]:
        raise typer.Exit(EXIT_TECHNICAL)
    if counts["refused"]:
        raise typer.Exit(EXIT_REFUSED)


def _batch_line(result: ItemResult, batch_id: str, total: int, json_out: bool) -> None:
    """One line per URL: a JSON object with --json, else a readable line."""
    import json

    if json_out:
        echo(json.dumps({"batch": batch_id, **result.as_json()}, ensure_ascii=False))
        return
    mark = {"captured": "✓", "queued": "→", "refused": "✗", "failed": "!"}[result.outcome]
    echo(f"[{result.number}/{total}] {mark} {brief(result.url, 200)}: {result.outcome}"
         + (f" {result.bundle_id}" if result.bundle_id else "")
         + (f" ({brief(result.detail, 300)})" if result.outcome not in ("captured", "queued") else ""))  # fmt: skip


@app.command()
def verify(
    target: Annotated[
        str,
        typer.Argument(metavar="PATH-OR-ID", help="Bundle directory, bundle id, export .zip or WACZ package."),
    ],
    trust: Annotated[
        Path | None,
        typer.Option(
            help="The agency's key list (`collector keys export`) to check an export, a WACZ "
            "package or a bundle directory against, with no store."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Verify a bundle, an export or a WACZ package: hashes, signatures, time-stamps, custody.
    Exit 0 only if all pass.

    With --as (and the passphrase) verifying a stored bundle is also a signed `verified`
    custody event. An export .zip is verified without any store.
    """
    from collector.store import verify as verification

    if target.lower().endswith(".zip") and Path(target).is_file():
        _verify_export(Path(target), trust, json_out)
    if target.lower().endswith(".wacz") and Path(target).is_file():
        from collector.cli.wacz import verify_package

        verify_package(Path(target), trust, json_out)
    if trust is not None:
        from collector.disclosure.export.verify import verify_bundle_dir
        from collector.disclosure.keylist import load_trust

        if not (Path(target) / "bagit.txt").is_file():
            raise UsageError("--trust applies to an export .zip or a bundle directory")
        report = verify_bundle_dir(Path(target), load_trust(trust))
    else:
        store = verification.open_store_if_any(state.store_path)
        actor = acting_user(store) if store is not None and state.acting else None
        report = verification.verify_in_store(store, target, actor)
    if json_out:
        emit(report.model_dump(mode="json"))
    else:
        print_report(report)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def fetch(
    bundle_id: str,
    out: Annotated[Path, typer.Option(help="A new directory for the copy.")],
    json_out: JsonOpt = False,
) -> None:
    """Write a verified copy of a bundle to a new directory (from the agency bucket by its
    recorded versions), to check with `sha256sum -c` and `bagit.py` without this tool. A copy
    that does not verify is removed. Exit 1 then."""
    import shutil

    from collector.evidence.bundle.verify import verify_bundle
    from collector.store import storage
    from collector.store import verify as verification
    from collector.store.actions import LedgerAction
    from collector.store.roles import Action

    output_directory(out.parent if str(out.parent) else Path("."))
    store = open_store()
    actor = acting_user(store) if state.acting else None
    if actor is not None:
        store.require(actor, Action.read)
    row = store.ledger.bundle(bundle_id)
    if row is None:
        raise UsageError(f"unknown bundle {bundle_id!r}")
    files = storage.fetch_copy(store, row, out)
    report = verify_bundle(out, store.key_lookup(), verification.custody_input(store, row.id),
                                        verification.time_trust(store), store.pki.trust())  # fmt: skip
    if not report.ok:
        shutil.rmtree(out, ignore_errors=True)
    if not store.read_only:
        store.ledger.record(LedgerAction.bundle_fetched, "ok" if report.ok else "failed",
                            actor=actor.user.name if actor else None, subject=row.id,
                            details={"out": str(out.resolve()), "files": files})  # fmt: skip
    if json_out:
        emit({"bundle_id": row.id, "out": str(out), "files": files, "verified": report.ok,
              "report": report.model_dump(mode="json")})  # fmt: skip
    else:
        print_report(report)
        echo(f"wrote {out}: {files} files" if report.ok else f"{out} removed: the copy did not verify")
    raise typer.Exit(0 if report.ok else 1)


def _verify_export(path: Path, trust_path: Path | None, json_out: bool) -> None:
    from collector.disclosure.export.verify import verify_export
    from collector.disclosure.keylist import load_trust

    report = verify_export(path, load_trust(trust_path) if trust_path else None)
    if json_out:
        emit(report.model_dump(mode="json"))
        raise typer.Exit(0 if report.ok else 1)
    echo(f"export {report.export_id or '?'}  {report.path}")
    for check in report.checks:
        mark = "✗" if not check.ok else ("!" if check.warning else "✓")
        echo(f"  {mark} {check.name}: {check.detail}")
    for bundle in report.bundles:
        print_report(bundle)
    echo("signers:")
    for fingerprint, owner in sorted(report.signers.items(), key=lambda kv: kv[1]):
        echo(f"  {fingerprint}  {owner}")
    echo("VERIFIED" if report.ok else "FAILED")
    raise typer.Exit(0 if report.ok else 1)


class ExportFormat(StrEnum):
    bags = "bags"
    wacz = "wacz"


@app.command("export")
def export_cmd(
    bundle_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Bundles to export.")],
    recipient: Annotated[str, typer.Option(help="Who receives the export (name).")],
    reason: Annotated[str, typer.Option(help="Why (need to know / right to know).")],
    out: Annotated[Path, typer.Option(help="The .zip to write (never overwritten).")],
    agency: Annotated[str | None, typer.Option(help="The recipient's agency.")] = None,
    format_: Annotated[
        ExportFormat,
        typer.Option("--format", help="bags: the bags only; wacz: also each bundle's signed WACZ."),
    ] = ExportFormat.bags,
    json_out: JsonOpt = False,
) -> None:
    """Export bundles for a recipient (custodian): a zip they can verify without a store.

    Recorded as a signed `exported` custody event in each bundle (the dissemination record);
    with --format wacz each package made is also a signed `derived` event.
    """
    from collector.disclosure.export.build import export

    output_file(out)
    store = open_store()
    result = export(
        store,
        require_actor(store),
        bundle_ids,
        recipient=recipient,
        recipient_agency=agency,
        reason=reason,
        out=out,
        packages=format_ is ExportFormat.wacz,
    )
    for warning in result.warnings:
        warn(warning)
    if json_out:
        emit(result.model_dump(mode="json"))
    else:
        echo(f"exported {len(result.bundles)} bundle(s) as {result.export_id}")
        echo(f"  file     {result.path}")
        echo(f"  sha256   {result.sha256}")
        for package in result.packages:
            echo(f"  package  {package}")


@app.command()
def show(bundle_id: str, json_out: JsonOpt = False) -> None:
    """Show a bundle's metadata summary; recorded as a signed `viewed` custody event."""
    from collector.evidence.custody import EventType
    from collector.policy.viewing import open_metadata
    from collector.store import custody_log as services

    store = open_store()
    actor = require_actor(store)
    _row, meta = open_metadata(store, actor, bundle_id)
    if store.read_only:
        warn("this view could not be recorded: the store is on read-only media")
    else:
        services.append(store, actor, bundle_id, EventType.viewed, {"what": "metadata"})
    if json_out:
        emit(meta.model_dump(mode="json"))
        return
    cap = meta.capture
    echo(f"{meta.bundle_id}  case {meta.case_number}  authorization {meta.authorization.id}")
    echo(f"  url        {cap.requested_url}")
    echo(f"  final      {brief(cap.final_url, 1000)} ({cap.status})  {shown(cap.title)}")
    echo(
        f"  captured   {cap.started_at:%Y-%m-%d %H:%M:%SZ} by {meta.operator.full_name} (badge {meta.operator.badge})"
    )
    approver = meta.authorization.approved_by
    echo(
        f"  authorized by {approver.full_name} (badge {approver.badge})"
        if approver
        else "  authorized by nobody yet: exigent capture, review owed"
    )
    echo(f"  retention  {meta.retention_class}")
    for label, text in summary.lines(cap.post, cap.page_state):
        echo(f"  {label:<10} {brief(text, 1000)}")
    for art in meta.artifacts:
        echo(f"  {art.path:<18} {art.size:>10} B  {art.mime_type:<24} sha256 {art.sha256}")


# --------------------------------------------------------------------- time-stamps


@timestamp_app.command("pending")
def timestamp_pending(json_out: JsonOpt = False) -> None:
    """List bundles whose seal still lacks a time-stamp."""
    from collector.store import stamping

    ids = stamping.pending(open_for_reading())
    if json_out:
        emit(ids)
    else:
        echo("\n".join(ids) if ids else "no time-stamps pending")


@timestamp_app.command("retry")
def timestamp_retry(
    bundle_ids: Annotated[
        list[str] | None, typer.Argument(metavar="[ID]...", help="Bundles; default: all pending.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Obtain missing time-stamps and append each as a signed `timestamped` custody event."""
    from collector.store import stamping

    store = open_store()
    actor = require_actor(store)
    targets = stamping.targets(store, bundle_ids)
    done = []
    for bundle_id in targets:
        event = stamping.retry(store, actor, bundle_id)
        done.append(
            {"bundle_id": bundle_id, "seq": event.seq, "gen_time": event.details["gen_time"]}
        )
        if not json_out:
            echo(
                f"{bundle_id}: time-stamped {event.details['gen_time']} (custody event {event.seq})"
            )
    if json_out:
        emit(done)
    elif not targets:
        echo("no time-stamps pending")
