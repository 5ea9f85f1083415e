"""Watching a page: `watch URL`, `watch run`, `watch show`, `watch list`, `watch stop` (wiring
only; see `collector.watch`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from collector.cli.common import JsonOpt, app, echo, emit, open_store, require_actor
from collector.errors import UsageError
from collector.evidence.text import brief, shown

MAX_SLEEP_S = 60.0


class _UrlStarts(TyperGroup):
    """`collector watch URL …` is `collector watch start URL …`."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        if args and args[0] not in self.commands and "://" in args[0]:
            return "start", self.commands["start"], args
        return super().resolve_command(ctx, args)


watch_app = typer.Typer(cls=_UrlStarts, no_args_is_help=True,
                        help="Watch a page: capture it again on a schedule and report what changed.")  # fmt: skip
app.add_typer(watch_app, name="watch")


@watch_app.command("start")
def watch_start(
    url: Annotated[str, typer.Argument(help="The page to watch.")],
    auth: Annotated[str | None, typer.Option("--auth", help="Approved authorization id.")] = None,
    every: Annotated[str, typer.Option("--every", help="How often: 30m, 6h, 1d…")] = "6h",
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"],
                     help="Stop then (UTC unless a zone is given); never after the authorization ends."),
    ] = None,
    note: Annotated[str | None, typer.Option(help="Investigator's note, in every run's metadata.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Start watching URL (also `collector watch URL …`): a standing capture request signed now;
    the runs are captured by `collector watch run` (workstation) or the capture workers (agency)."""
    from collector.watch import watches

    every_s = watches.parse_every(every)
    store = open_store()
    when = until.replace(tzinfo=UTC) if until is not None and until.tzinfo is None else until
    watch = watches.start(store, require_actor(store), url, auth, every_s, when, note)
    repeat = watch.repeat
    if json_out:
        emit({"watch_id": watch.id, "url": watch.request.url, "every_s": repeat.every_s,
              "until": repeat.until.isoformat(), "authorization_id": watch.request.authorization_id})  # fmt: skip
        return
    echo(f"watch {watch.id}: {shown(watch.request.url)} every {every} until "
         f"{repeat.until:%Y-%m-%d %H:%M:%SZ} under {watch.request.authorization_id}")  # fmt: skip


@watch_app.command("run")
def watch_run(
    once: Annotated[bool, typer.Option("--once", help="Run what is due now, then stop.")] = False,
) -> None:
    """Run your watches on this workstation until stopped (Ctrl-C): each due run is captured,
    sealed by the store's local capture system and compared with the one before; ended watches
    are stopped. One line per run."""
    from collector.watch import run as running

    store = open_store()
    actor = require_actor(store)
    mine = actor.user.name
    sealer = running.sealer(store, actor)
    del actor  # with a local capture system, the investigator's key is not used again
    while True:
        for result in running.run_due(store, sealer, requested_by=mine):
            echo(f"{result.watch_id} run {result.run}: {result.outcome}"
                 + (f" {result.bundle_id}" if result.bundle_id else "")
                 + (f" ({brief(result.detail, 300)})" if result.outcome != "captured" else "")
                 + "".join(f"\n  {c.kind}: {c.field} {brief(str(c.before), 120)} -> {brief(str(c.after), 120)}"
                           for c in result.changes))  # fmt: skip
        if once:
            return
        due = running.next_due(store, mine)
        if due is None:
            echo("no running watches")
            return
        time.sleep(min(MAX_SLEEP_S, max(0.5, (due - datetime.now(UTC)).total_seconds())))


@watch_app.command("show")
def watch_show(watch_id: Annotated[str, typer.Argument(metavar="ID")], json_out: JsonOpt = False) -> None:
    """A watch's timeline: each run (bundle, or why it was refused or failed) and what changed."""
    from collector.watch import timeline

    store = open_store()
    shown_watch = timeline.timeline(store, require_actor(store), watch_id)
    if json_out:
        emit(shown_watch.model_dump(mode="json"))
        return
    echo(f"watch {shown_watch.id}: {shown(shown_watch.url)} every {shown_watch.every_s}s until "
         f"{shown_watch.until:%Y-%m-%d %H:%M:%SZ}, by {shown_watch.requested_by} under "
         f"{shown_watch.authorization_id}")  # fmt: skip
    for entry in shown_watch.entries:
        echo(f"  {entry.at:%Y-%m-%d %H:%M:%SZ}  {entry.line}")
    if shown_watch.stopped:
        echo(f"  stopped: {shown_watch.stopped}")


@watch_app.command("list")
def watch_list(json_out: JsonOpt = False) -> None:
    """Watches: running or stopped, with their runs and changes found."""
    from collector.watch import timeline

    store = open_store()
    rows = timeline.summaries(store, require_actor(store))
    if json_out:
        emit([row.model_dump(mode="json") for row in rows])
        return
    for row in rows:
        echo(f"{row.id}  {'stopped' if row.stopped else 'running'}  runs {row.runs}  changes {row.changes}  "
             f"{shown(row.url)}")  # fmt: skip
    if not rows:
        echo("no watches")


@watch_app.command("stop")
def watch_stop(
    watch_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="Why the watch stops.")],
    json_out: JsonOpt = False,
) -> None:
    """Stop a watch (its requester or a supervisor)."""
    from collector.watch import timeline

    if not reason.strip():
        raise UsageError("--reason must not be empty")
    store = open_store()
    timeline.stop(store, require_actor(store), watch_id, reason.strip())
    if json_out:
        emit({"watch_id": watch_id, "stopped": True})
    else:
        echo(f"watch {watch_id} stopped")
