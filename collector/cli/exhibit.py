"""`collector exhibit`: a PDF exhibit packet for prosecutors, with its certification."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from collector.cli.common import (
    JsonOpt,
    app,
    ask_passphrase,
    echo,
    emit,
    open_store,
    output_file,
    require_actor,
    warn,
)


@app.command()
def exhibit(
    bundle_ids: Annotated[list[str], typer.Argument(metavar="ID...", help="Bundles, in exhibit order.")],
    number: Annotated[str, typer.Option(help="Exhibit number, e.g. 12 or GX-12.")],
    declarant: Annotated[str, typer.Option(help="User who certifies (needs a stated profile).")],
    out: Annotated[Path, typer.Option(help="The PDF to write (never overwritten).")],
    recipient: Annotated[str, typer.Option(help="Who receives it (recorded).")] = "prosecutor",
    reason: Annotated[str, typer.Option(help="Why it is disseminated (recorded).")] = "exhibit for court",
    html_only: Annotated[bool, typer.Option("--html-only", help="Write the HTML instead of the PDF.")] = False,
    bates_prefix: Annotated[str, typer.Option(help="Bates prefix, e.g. HPD-.")] = "",
    bates_start: Annotated[int, typer.Option(help="First Bates number.")] = 1,
    jurisdiction: Annotated[
        str, typer.Option(help="Declaration form: us-federal (§ 1746(2)) or us-federal-abroad (§ 1746(1)).")
    ] = "us-federal",
    sign: Annotated[
        Path | None,
        typer.Option(help="PKCS#12 file to sign the PDF with (PAdES); passphrase from $COLLECTOR_SIGN_PASSPHRASE or a prompt."),
    ] = None,
    redact: Annotated[
        list[str] | None,
        typer.Option(help="Also write FILE.redacted.pdf (Fed. R. Crim. P. 49.1 identifiers by pattern); repeat for each extra term, e.g. a minor's name. Use --redact '' for patterns only."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Make an exhibit packet (custodian): cover, screenshot pages, post metadata, technical
    report, hashes recomputed now, custody, verification steps, a draft FRE 902(13)/(14)
    certification and a 902(11) notice. Each bundle gets a `disseminated` custody event."""
    from collector.disclosure.exhibit.make import make_exhibit
    from collector.evidence import text

    number = text.exhibit_number(number)
    bates_prefix, bates_start = text.bates(bates_prefix, bates_start)
    output_file(out)
    if sign is not None:  # the file is checked before anyone is asked for its passphrase
        from collector.evidence import files

        files.read_regular(sign, "--sign", 64 * files.MIB)
    store = open_store()
    actor = require_actor(store)
    passphrase = None
    if sign is not None:
        passphrase = ask_passphrase(f"Passphrase of {sign.name}: ", "COLLECTOR_SIGN_PASSPHRASE").encode()
    result = make_exhibit(
        store, actor, bundle_ids, number=number, declarant=declarant, out=out,
        recipient=recipient, reason=reason, html_only=html_only, bates_prefix=bates_prefix,
        bates_start=bates_start, jurisdiction=jurisdiction, sign_with=sign,
        sign_passphrase=passphrase,
        redact_terms=None if redact is None else [t for t in redact if t.strip()],
    )  # fmt: skip
    for message in result.warnings:
        warn(message)
    if json_out:
        emit(result.model_dump(mode="json"))
        return
    made = result.exhibit
    echo(f"exhibit {result.number}: {len(result.bundles)} bundle(s), declarant {result.declarant}")
    echo(f"  file     {made.path}")
    if made.pages is not None:
        echo(f"  pages    {made.pages}  Bates {made.bates_first} – {made.bates_last}")
    echo(f"  sha256   {made.sha256}")
    if result.signed_by:
        echo(f"  signed   {result.signed_by} (certificate sha256 {result.signer_sha256})")
    if result.redacted is not None:
        echo(f"  redacted {result.redacted.path}  ({result.redactions} redaction(s))")
        echo(f"  sha256   {result.redacted.sha256}")
    echo("  recorded as a `disseminated` custody event in each bundle")
