"""`collector serve`: the web application over the store (README, "The web application")."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from collector.cli.common import app, echo, open_store, state, warn
from collector.errors import UsageError
from collector.evidence import files


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8000,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="PEM certificate (chain) to serve HTTPS with.")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="PEM private key of --tls-cert.")
    ] = None,
) -> None:
    """Serve the web application over the store until interrupted: log-in, dashboard,
    authorizations and bundles, under the same rules and records as the command line."""
    import uvicorn

    from collector.web.app import create_app
    from collector.web.settings import WebConfig

    if (tls_cert is None) != (tls_key is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if not 1 <= port <= 65535:
        raise UsageError("--port must be between 1 and 65535")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path is not None:
            files.read_regular(path, option, 1 * files.MIB)  # readable and a regular file, now
    tls = tls_cert is not None
    if not tls and not _loopback(host):
        warn(f"serving on {host} without TLS: passphrases and session cookies cross the network "
             "in clear; give --tls-cert and --tls-key")  # fmt: skip
    store = open_store()  # recovery, outbox and checkpoint, as every command; refused if no store
    try:
        if not store.read_only:
            from collector.web import downloads

            for ident in downloads.sweep(store):
                echo(f"removed download {ident}: kept long enough (recorded)")
    finally:
        store.close()
    scheme = "https" if tls else "http"
    echo(f"collector: serving {state.store_path} at {scheme}://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(
        create_app(WebConfig(store_path=state.store_path, tls=tls)),
        host=host,
        port=port,
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        server_header=False,
        proxy_headers=False,
        log_level="warning",
    )
