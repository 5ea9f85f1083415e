"""Reliability and validity: `grade`, `corroborate` and `grades` (wiring only; see `collector.grading`)."""

from __future__ import annotations

from typing import Annotated

import typer

from collector.cli.common import JsonOpt, app, echo, emit, open_store, require_actor


@app.command()
def grade(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The bundle to grade.")],
    source: Annotated[str, typer.Option("--source", help="Source reliability code.")],
    content: Annotated[str, typer.Option("--content", help="Content (information) validity code.")],
    scale: Annotated[
        str | None,
        typer.Option(
            "--scale",
            help="Grading scale id from the policy (admiralty, us-4x4, uk-3x5x2); "
            "default: the policy's default scale.",
        ),
    ] = None,
    handling: Annotated[
        str | None,
        typer.Option("--handling", help="Handling code; required when the scale has one."),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Why this grade.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Grade a bundle's source and content on a policy scale (a signed `graded` custody event)."""
    from collector.policy import grading

    store = open_store()
    event = grading.grade(
        store,
        require_actor(store),
        bundle_id,
        scale_id=scale,
        source=source,
        content=content,
        handling=handling,
        note=note,
    )
    if json_out:
        emit(event.model_dump(mode="json"))
        return
    d = event.details
    echo(
        f"{bundle_id}: graded {d['label']} on {d['scale']} ({d['scale_description']}) "
        f"(custody event {event.seq})"
    )
    echo(f"  source   {d['source']}: {d['source_meaning']}")
    echo(f"  content  {d['content']}: {d['content_meaning']}")
    if d.get("handling"):
        echo(f"  handling {d['handling']}: {d['handling_meaning']}")


@app.command()
def corroborate(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The corroborated bundle.")],
    other: Annotated[str, typer.Option("--with", help="The bundle that corroborates it.")],
    note: Annotated[str, typer.Option("--note", help="How the two corroborate each other.")],
    json_out: JsonOpt = False,
) -> None:
    """Link two bundles as corroborating each other (a signed `graded` event on both logs)."""
    from collector.policy import grading

    store = open_store()
    events = grading.corroborate(store, require_actor(store), bundle_id, other, note)
    if json_out:
        emit([e.model_dump(mode="json") for e in events])
        return
    for event in events:
        echo(
            f"{event.bundle_id}: corroboration with {event.details['corroborates']} "
            f"(custody event {event.seq})"
        )


@app.command()
def grades(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The bundle.")],
    json_out: JsonOpt = False,
) -> None:
    """Show a bundle's latest grade, its grade history (oldest first) and corroboration links."""
    from collector.policy import grading

    report = grading.grades(open_store(), bundle_id)
    if json_out:
        emit(report.model_dump(mode="json"))
        return
    echo(f"bundle {report.bundle_id}")
    g = report.latest
    if g is None:
        echo("  not graded")
    else:
        handling = f"; handling {g.handling_meaning}" if g.handling else ""
        echo(
            f"  latest  {g.label} on {g.scale}: source {g.source_meaning}; "
            f"content {g.content_meaning}{handling}"
        )
        echo(f"  history ({len(report.history)}, oldest first)")
    for g in report.history:
        note = f"  {g.note!r}" if g.note else ""
        echo(
            f"    {g.seq:>3} {g.at}  {g.label:<10} {g.scale:<9} "
            f"by {g.by.full_name} (badge {g.by.badge}, {g.by.user}){note}"
        )
    if report.corroborations:
        echo(f"  corroborations ({len(report.corroborations)})")
    for c in report.corroborations:
        first, second = (
            (report.bundle_id, c.other)
            if c.direction == "outgoing"
            else (c.other, report.bundle_id)
        )
        echo(
            f"    {c.seq:>3} {c.at}  with {c.other} (corroborate {first} --with {second}) "
            f"by {c.by.full_name} ({c.by.user})  {c.note!r}"
        )
