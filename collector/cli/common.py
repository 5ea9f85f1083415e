"""Shared pieces of the command line: the Typer apps, global options, prompts, output."""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from collector.errors import Refused, UsageError
from collector.evidence.bundle.verify import VerifyReport
from collector.evidence.text import for_terminal, json_for_terminal, shown
from collector.store import storage
from collector.store.pki import ADMIN_PASSPHRASE_ENV
from collector.store.recovery import reconcile
from collector.store.store import USER_NAME, Actor, Store, default_store_path

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
root_app = typer.Typer(help="The agency root of trust (administration).", no_args_is_help=True)
timestamp_app = typer.Typer(help="RFC 3161 time-stamps of seals.", no_args_is_help=True)
policy_app = typer.Typer(help="The agency's social-media policy.", no_args_is_help=True)
equipment_app = typer.Typer(
    help="The equipment registry (agency and personal).", no_args_is_help=True
)
review_app = typer.Typer(help="Supervisor reviews owed under the policy.", no_args_is_help=True)
store_app = typer.Typer(
    help="The store itself: its schema revision and upgrades.", no_args_is_help=True
)
app.add_typer(store_app, name="store")
app.add_typer(user_app, name="user")
app.add_typer(auth_app, name="auth")
app.add_typer(ledger_app, name="ledger")
app.add_typer(custody_app, name="custody")
app.add_typer(keys_app, name="keys")
app.add_typer(root_app, name="root")
app.add_typer(timestamp_app, name="timestamp")
app.add_typer(policy_app, name="policy")
app.add_typer(equipment_app, name="equipment")
app.add_typer(review_app, name="review")


class State:
    store_path: Path = Path("evidence")
    acting: str | None = None
    warned: bool = False
    warned_read_only: bool = False


state = State()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


@app.callback()
def _global(
    store: Annotated[
        Path | None,
        typer.Option(
            "--store", help="Evidence store directory (env COLLECTOR_STORE; default ./evidence)."
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Acting user (env COLLECTOR_USER)."),
    ] = None,
) -> None:
    state.store_path = store if store is not None else default_store_path()
    state.acting = as_user or os.environ.get("COLLECTOR_USER") or None
    if state.acting is not None and not USER_NAME.match(state.acting):
        raise UsageError(f"--as {shown(state.acting)} is not a user name")
    state.warned = False
    state.warned_read_only = False


# --------------------------------------------------------------------- helpers


def echo(message: str = "", *, err: bool = False, nl: bool = True) -> None:
    """Print to the terminal: control and bidirectional-override characters (from pages,
    names, facts) are shown as escapes, never interpreted."""
    typer.echo(for_terminal(message), err=err, nl=nl)


def emit(data: Any) -> None:
    typer.echo(json_for_terminal(json.dumps(data, indent=2, default=str, ensure_ascii=False)))


def open_store() -> Store:
    """Open the store and show, once, the standing warnings (overdue reviews)."""
    store = Store.open(state.store_path)
    if store.read_only:
        if not state.warned_read_only:
            state.warned_read_only = True
            warn("the store is on read-only media: this command records nothing (no recovery, "
                 "no checkpoint)")  # fmt: skip
        return _standing(store)
    for message in reconcile(store).messages():
        warn(message)
    for message in storage.flush(store, None)[1]:  # the outbox: sealed while the bucket was away
        warn(message)
    checkpoint_if_due(store)
    return _standing(store)


def _standing(store: Store) -> Store:
    if not state.warned:
        from collector.policy.standing import warnings

        state.warned = True
        for message in warnings(store):
            warn(message)
    return store


def checkpoint_if_due(store: Store) -> None:
    """The first command after `[ledger] checkpoint_interval_h` without a checkpoint makes one."""
    from collector.store import checkpoints

    if checkpoints.due(store):
        made = checkpoints.make(store, None, "interval")
        if made.warning:
            warn(made.warning)


def output_file(path: Path, option: str = "--out", *, overwrite: bool = False) -> Path:
    """Check a file to be written before any work: its directory exists, it is not a
    directory, and (unless `overwrite`) it does not exist."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: the directory {parent} does not exist")
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory; name a file")
    if path.exists() and not overwrite:
        raise UsageError(f"{option} {path} exists: it is never overwritten")
    if path.exists() and not path.is_file():
        raise UsageError(f"{option} {path} exists and is not a regular file")
    return path


def output_directory(path: Path, option: str = "--out") -> Path:
    """A directory to write into: it exists, or its parent does."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {path} exists and is not a directory")
    if not path.exists() and not (path.parent if str(path.parent) else Path(".")).is_dir():
        raise UsageError(f"{option} {path}: the directory {path.parent} does not exist")
    return path


def ask_passphrase(prompt: str, env: str, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise Refused(f"a passphrase is required: set {env} or run on a terminal")
    first = getpass.getpass(prompt)
    if confirm and getpass.getpass("Repeat passphrase: ") != first:
        raise UsageError("passphrases do not match")
    return first


def admin_passphrase(confirm: bool = False) -> str:
    """The administrator's passphrase, which unlocks the agency's issuing CA."""
    return ask_passphrase(
        "Administrator's passphrase (agency PKI): ", ADMIN_PASSPHRASE_ENV, confirm=confirm
    )


def acting_user(store: Store, required: bool = True) -> Actor | None:
    """Authenticate the acting user by unlocking their key with their passphrase."""
    if state.acting is None:
        if required:
            raise Refused("no acting user: pass --as NAME or set COLLECTOR_USER")
        return None
    return store.authenticate(
        state.acting, ask_passphrase(f"Passphrase for {state.acting}: ", "COLLECTOR_PASSPHRASE")
    )


def open_for_reading() -> Store:
    """Open the store for a read-only command.

    With an acting user, the read permission is checked (and a denial recorded). Without
    one, the command runs as the store's owner: the directory's permissions are the boundary.
    """
    store = open_store()
    if state.acting:
        from collector.store.roles import Action

        actor = acting_user(store)
        assert actor is not None
        store.require(actor, Action.read)
    return store


def require_actor(store: Store) -> Actor:
    actor = acting_user(store)
    assert actor is not None
    return actor


def warn(message: str) -> None:
    echo(f"warning: {message}", err=True)


def print_report(report: VerifyReport) -> None:
    echo(f"bundle {report.bundle_id or '?'}  {report.path}")
    for check in report.checks:
        mark = "✗" if not check.ok else ("!" if check.warning else "✓")
        echo(f"  {mark} {check.name}: {check.detail}")
    echo("VERIFIED" if report.ok else "FAILED")
