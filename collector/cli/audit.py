"""Audits: `collector audit report [--from DATE] [--to DATE] [--format md|json|csv|html] [--out FILE]`.

Wiring only; the report is built in `collector.audit`. Exit codes as everywhere: 0 ok,
2 bad input, 3 refused (an investigator or custodian; recorded as `denied.audit`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli.common import app, echo, open_store, output_file, require_actor

audit_app = typer.Typer(
    help="Audits: reports over any period of what the policy asks an auditor to see.",
    no_args_is_help=True,
)
app.add_typer(audit_app, name="audit")


@audit_app.command("report")
def audit_report(
    start: Annotated[
        str | None,
        typer.Option("--from", metavar="YYYY-MM-DD", help="First day (UTC, inclusive)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", metavar="YYYY-MM-DD", help="Last day (UTC, inclusive)."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="md|json|csv|html", help="Output format.")
    ] = "md",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (never overwritten); default standard output."),
    ] = None,
) -> None:
    """The audit report (an auditor, supervisor or admin): captures, refusals, exigent and alias
    use, protected-content matches, equipment, grades, retention, holds and purges,
    disseminations, denied attempts, policy review and integrity. Recorded as `audit.report`.
    """
    from collector.disclosure import audit

    first = audit.parse_date(start, "--from")
    last = audit.parse_date(end, "--to")
    if fmt not in audit.FORMATS:
        from collector.errors import UsageError

        raise UsageError(f"--format must be one of {', '.join(audit.FORMATS)}, not {fmt!r}")
    if out is not None:
        output_file(out)
    store = open_store()
    run = audit.run_report(store, require_actor(store), start=first, end=last, fmt=fmt, out=out)
    if out is None:
        echo(run.text, nl=False)
        return
    items = sum(run.counts.values())
    echo(
        f"wrote {out} ({fmt}, {items} items in {len(run.counts)} sections); sha256 {run.sha256}; "
        + (f"recorded as ledger event {run.event_seq}" if run.event_seq is not None
           else "NOT recorded: the store is on read-only media")
    )  # fmt: skip
