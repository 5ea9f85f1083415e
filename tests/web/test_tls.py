"""`collector serve` over TLS: the cookie is Secure and `__Host-`, and HSTS is sent; the two TLS
options go together."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser

from tests.helpers import PASSPHRASES, Cli
from tests.web.conftest import serving


def test_under_tls_the_cookie_is_secure_and_hsts_is_sent(browser: Browser, web_store: dict[str, Any],
                                                          tmp_path: Path) -> None:  # fmt: skip
    cert, key = tmp_path / "web.pem", tmp_path / "web.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)  # fmt: skip
    cli = web_store["cli"].copy(tmp_path / "store")
    with serving(cli, "--tls-cert", str(cert), "--tls-key", str(key), scheme="https") as server:
        context = browser.new_context(ignore_https_errors=True)  # a throw-away self-signed certificate
        page = context.new_page()
        response = page.goto(server.url + "/login")
        assert response is not None and response.headers["strict-transport-security"].startswith("max-age=")
        page.get_by_label("User name").fill("erin")
        page.get_by_label("Passphrase").fill(PASSPHRASES["erin"])
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server.url + "/")
        (cookie,) = context.cookies()
        assert cookie["name"] == "__Host-collector-session"
        assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"]) == (True, True, "Strict")
        context.close()


def test_the_tls_options_go_together(tmp_path: Path) -> None:
    result = Cli(tmp_path / "none").run("serve", "--tls-cert", str(tmp_path / "web.pem"))
    assert result.returncode == 2 and "go together" in result.stderr
