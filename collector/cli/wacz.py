"""Signed WACZ packages: making one from a bundle, and printing a package's verification."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli.common import (
    JsonOpt,
    app,
    echo,
    emit,
    open_store,
    output_file,
    require_actor,
    warn,
)


@app.command("wacz")
def wacz_cmd(
    bundle_id: Annotated[str, typer.Argument(metavar="ID", help="The bundle to package.")],
    out: Annotated[Path, typer.Option(help="The .wacz to write (never overwritten).")],
    json_out: JsonOpt = False,
) -> None:
    """Write a bundle's signed WACZ (WARC, index, page, screenshot, metadata and seal) for
    ReplayWeb.page or pywb; recorded as a signed `derived` custody event with its SHA-256."""
    from collector.disclosure.wacz.build import make_wacz

    output_file(out)
    store = open_store()
    result = make_wacz(store, require_actor(store), bundle_id, out)
    for warning in result.warnings:
        warn(warning)
    if json_out:
        emit(result.model_dump(mode="json"))
        return
    echo(f"wrote {result.path} (WACZ of {result.bundle_id}, custody event {result.custody_seq})")
    echo(f"  sha256   {result.sha256}")
    echo(f"  signed   {result.signed_hash}{'  time-stamped' if result.time_stamped else ''}")


def verify_package(path: Path, trust_path: Path | None, json_out: bool) -> None:
    """`collector verify FILE.wacz`: print the package's checks; exit 0 only if all pass."""
    from collector.disclosure.keylist import load_trust
    from collector.disclosure.wacz.verify import verify_wacz

    report = verify_wacz(path, load_trust(trust_path) if trust_path else None)
    if json_out:
        emit(report.model_dump(mode="json"))
        raise typer.Exit(0 if report.ok else 1)
    what = f"of bundle {report.bundle_id}" if report.bundle_id else "(not made by collector)"
    echo(f"WACZ {what}  {report.path}")
    for check in report.checks:
        mark = "✗" if not check.ok else ("!" if check.warning else "✓")
        echo(f"  {mark} {check.name}: {check.detail}")
    echo("VERIFIED" if report.ok else "FAILED")
    raise typer.Exit(0 if report.ok else 1)
