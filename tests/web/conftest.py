"""Web application fixtures: `collector serve` started for real on 127.0.0.1 over a copy of a
test store (users, one sealed bundle in the custodian's hands, one capture of a page whose
title carries markup), driven by Playwright in Debian's Chromium.

The store's bundles are sealed from recordings of the fixture site (tests/fakes/browser.py),
as the unit tests make them; the browser here is the one looking at the application.
Screenshots of the pages visited are kept in test-artifacts/web/ (ignored by git).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from collector import capture
from tests.fakes import browser as fake
from tests.helpers import PASSPHRASES, REPO, Cli, make_store, sealed_capture

CHROMIUM = os.environ.get("COLLECTOR_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "web"
SERIOUS = ("serious", "critical")


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store with the standard users; bundle 1 (the thread) transferred to erin, bundle 2 a
    page whose title and text carry markup and script."""
    player = fake.FakeBrowser()
    with (mock.patch.object(capture, "browser_capture", player),
          mock.patch.object(capture, "shared_browser", lambda store: fake.FakeShared(player))):  # fmt: skip
        template = make_store(tmp_path_factory.mktemp("web-template"))
        made = sealed_capture(template, tmp_path_factory.mktemp("web") / "store", fake.url)
        cli: Cli = made["cli"]
        hostile = cli.json("capture", fake.url("/hostile-title.html"), "--auth", made["auth"],
                           as_user="alice")  # fmt: skip
        scripted = cli.json("capture", fake.url("/hostile-post.html"), "--auth", made["auth"],
                            as_user="alice")  # fmt: skip
    bundle_id = made["result"]["bundle_id"]
    cli.ok("custody", "transfer", bundle_id, "--to", "erin", "--reason", "evidence room", as_user="alice")
    return {"cli": cli, "bundle": bundle_id, "hostile": hostile["bundle_id"], "hostile_title": hostile["title"],
            "scripted": scripted["bundle_id"]}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    cli: Cli
    process: subprocess.Popen[str]
    info: dict[str, Any] = field(default_factory=dict)

    def events(self) -> list[dict[str, Any]]:
        return self.cli.events()


@contextmanager
def serving(cli: Cli, *extra: str, scheme: str = "http", info: dict[str, Any] | None = None) -> Iterator[Server]:
    """`collector serve` in its own process, as an operator starts it; stopped afterwards."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COLLECTOR_")}
    env.update(cli.env)  # an agency store's database and bucket credentials
    env["PYTHONPATH"] = str(REPO)  # this checkout's package, whichever is installed
    process = subprocess.Popen(
        [sys.executable, "-m", "collector", "--store", str(cli.store), "serve", "--port", str(port), *extra],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                out = process.stdout.read() if process.stdout else ""
                process.kill()
                raise RuntimeError(f"collector serve did not start: {out}") from None
            time.sleep(0.1)
    try:
        yield Server(f"{scheme}://127.0.0.1:{port}", cli, process, info or {})
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def server(web_store: dict[str, Any]) -> Iterator[Server]:
    with serving(web_store["cli"], info=web_store) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per test module: Playwright's synchronous API keeps an event loop running
    in this thread while it is open, so it must be closed before another module's captures
    (which run their own event loop) come to this worker."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"],
        )  # fmt: skip
        yield launched
        launched.close()


@dataclass
class Visitor:
    """One person's browser: a context of its own, the dialogs and requests it saw."""

    context: BrowserContext
    page: Page
    base: str
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None
        return response

    def log_in(self, user: str) -> None:
        self.go("/login")
        self.page.get_by_label("User name").fill(user)
        self.page.get_by_label("Passphrase").fill(PASSPHRASES[user])
        self.page.get_by_role("button", name="Log in").click()
        self.page.wait_for_url(self.base + "/")

    def check(self, name: str) -> None:
        """No serious or critical accessibility violation on the page; a screenshot kept."""
        results = Axe().run(self.page)
        bad = [v for v in results.response["violations"] if v.get("impact") in SERIOUS]
        assert not bad, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} "
                                  f"{[n['target'] for n in v['nodes']][:5]}" for v in bad)  # fmt: skip
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def visitor(browser: Browser, server: Server) -> Iterator[Visitor]:
    yield from _visitor(browser, server)


@pytest.fixture
def second(browser: Browser, server: Server) -> Iterator[Visitor]:
    yield from _visitor(browser, server)


def _visitor(browser: Browser, server: Server) -> Iterator[Visitor]:
    context = browser.new_context()
    page = context.new_page()
    found = Visitor(context, page, server.url)
    page.on("dialog", lambda dialog: (found.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: found.requests.append(request.url))
    yield found
    context.close()
