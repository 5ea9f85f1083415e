"""Shared test helpers: drive the `collector` command line against a store.

`Cli.run` runs the command line in-process (the same `collector.cli.run` the installed
entry point calls, with its own environment and captured output); `Cli.run_process` runs
the installed entry point in a subprocess, for the few tests that prove the process itself.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from collector.cli import run

REPO = Path(__file__).resolve().parents[1]
PASSPHRASES = {
    "alice": "alice-passphrase",
    "dave": "dave-passphrase",
    "bob": "bob-passphrase",
    "carol": "carol-passphrase",
    "erin": "erin-passphrase",
    "root": "root-passphrase",
    "cap-01": "cap-01-machine-passphrase",
    "cap-02": "cap-02-machine-passphrase",
}
USERS = [
    ("alice", "investigator", "Alice Adams", "I-101"),
    ("dave", "investigator", "Dave Diaz", "I-102"),
    ("bob", "supervisor", "Bob Brown", "S-201"),
    ("carol", "supervisor", "Carol Chen", "S-202"),
    ("erin", "custodian", "Erin Evans", "C-301"),
    ("root", "admin", "Rita Root", "A-401"),
]
ADMIN_PASSPHRASE = "agency-admin-passphrase"
FACTS = (
    "On 2026-11-20 the account posted a photo of a handgun with its serial number removed "
    "and offered it for sale to anyone who sends a direct message."
)


@dataclass
class Cli:
    """A store and the command line pointed at it."""

    store: Path
    env: dict[str, str] = field(default_factory=dict)
    clone_ledger: Callable[[str], str] | None = None
    """For a store whose ledger is in PostgreSQL: copies its database, returns the copy's URL."""

    @property
    def ledger_url(self) -> str:
        """An agency store's PostgreSQL URL, from its configuration."""
        found = re.search(r'(?m)^url = "(postgresql://[^"]+)"', (self.store / "collector.toml").read_text())
        assert found is not None, "an agency store's configuration names its ledger"
        return found.group(1)

    def copy(self, target: Path) -> Cli:
        """A private copy of this store at `target` (and of its database, for an agency store;
        its bucket is shared, which bundle ids keep apart)."""
        shutil.copytree(self.store, target)
        if self.clone_ledger is not None:
            config = target / "collector.toml"
            config.write_text(config.read_text().replace(self.ledger_url, self.clone_ledger(self.ledger_url)))
        return Cli(target, env=dict(self.env), clone_ledger=self.clone_ledger)

    def environment(
        self, as_user: str | None, passphrase: str | None, new_passphrase: str | None
    ) -> dict[str, str]:
        """COLLECTOR_* variables for one call (any others in the environment are dropped)."""
        env = {"COLLECTOR_ADMIN_PASSPHRASE": ADMIN_PASSPHRASE, **self.env}
        env["COLLECTOR_STORE"] = str(self.store)
        if as_user:
            env["COLLECTOR_USER"] = as_user
            env["COLLECTOR_PASSPHRASE"] = passphrase if passphrase is not None else PASSPHRASES[as_user]
        if new_passphrase:
            env["COLLECTOR_NEW_PASSPHRASE"] = new_passphrase
        return env

    def run(
        self,
        *args: str,
        as_user: str | None = None,
        passphrase: str | None = None,
        new_passphrase: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run one command line in this process, as the entry point would."""
        env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("COLLECTOR_")}
        env.update(self.environment(as_user, passphrase, new_passphrase))
        with CliRunner().isolation(input=b"", env=env) as (out, err, _):
            code = run([*args])
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        return subprocess.CompletedProcess(["collector", *args], code, stdout, stderr)

    def run_process(
        self,
        *args: str,
        as_user: str | None = None,
        passphrase: str | None = None,
        new_passphrase: str | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed entry point in a subprocess (signals, real exit status)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
        env.update(self.environment(as_user, passphrase, new_passphrase))
        return subprocess.run(
            [str(Path(sys.executable).with_name("collector")), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            cwd=REPO,
        )

    def ok(self, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        result = self.run(*args, **kw)
        assert result.returncode == 0, f"{args}: rc={result.returncode}\n{result.stdout}\n{result.stderr}"
        return result

    def json(self, *args: str, **kw: Any) -> Any:
        return json.loads(self.ok(*args, "--json", **kw).stdout)

    def request(self, scopes: list[str], as_user: str = "alice", **extra: str) -> str:
        args = {
            "--case": "HPD-2026-000123",
            "--predicate": "criminal-predicate",
            "--standard": "reasonable-suspicion",
            "--purpose": "criminal-investigation",
            "--facts": FACTS,
            "--retention": "case-evidence",
        }
        args.update(extra)
        flat = [x for key, value in args.items() for x in ((key, value) if value else (key,))]
        for scope in scopes:
            flat += ["--scope", scope]
        return str(self.json("auth", "request", *flat, as_user=as_user)["id"])

    def approved(self, scopes: list[str], approver: str = "bob", **extra: str) -> str:
        auth_id = self.request(scopes, **extra)
        self.ok("auth", "approve", auth_id, as_user=approver)
        return auth_id

    def events(self) -> list[dict[str, Any]]:
        return list(self.json("ledger", "show"))

    def bundles(self) -> list[Path]:
        return sorted((self.store / "bundles").iterdir())


TEST_SCRYPT_N = 16
"""Keys made by the test stores use this scrypt cost (the store setting `[keys] scrypt_n`):
unlocking at the default cost takes about 0.1 s, and the suite unlocks keys thousands of times."""


def set_key_cost(store: Path, scrypt_n: int) -> None:
    import tomllib

    import tomli_w

    path = store / "collector.toml"
    config = tomllib.loads(path.read_text())
    config.setdefault("keys", {})["scrypt_n"] = scrypt_n
    path.write_text(tomli_w.dumps(config))


def make_store(
    root: Path, *, allow_private: bool = True, chromium: str | None = None, extra: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> Cli:
    cli = Cli(root / "store", env=dict(env or {}))
    args = ["init", "--agency", "Test Police Department", *(extra or [])]
    if allow_private:
        args.append("--allow-private-network")
    if chromium:
        args += ["--chromium", chromium]
    cli.ok(*args)
    set_key_cost(cli.store, TEST_SCRYPT_N)
    for name, role, full, badge in USERS:
        cli.ok("user", "add", name, "--role", role, "--name", full, "--badge", badge,
               new_passphrase=PASSPHRASES[name])
    return cli


def sealed_capture(template: Cli, target: Path, url: Callable[[str], str]) -> dict[str, Any]:
    """A copy of `template` at `target` with one capture of the thread through its short link."""
    cli = template.copy(target)
    auth_id = cli.approved([url("/*")])
    result = cli.json("capture", url("/s/abc123"), "--auth", auth_id, "--note", "session capture",
                      as_user="alice")  # fmt: skip
    return {"cli": cli, "auth": auth_id, "result": result, "path": Path(result["path"])}
