"""Starting a fresh, hermetic Chromium: arguments, trusted extra CAs, version checks."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from playwright.async_api import Browser, Playwright, ProxySettings

from collector.browser.egress.policy import BROWSER_SERVICES, EgressRules
from collector.browser.egress.resolve import HostRules, PinnedResolver
from collector.browser.egress.socks import EgressPoint, allowed_origin
from collector.errors import CaptureFailed
from collector.evidence.model import BrowserSettings

TESTED_CHROMIUM_MAJORS: tuple[int, int] = (156, 156)
"""Lowest and highest Chromium major versions this collector was tested with."""

BASE_ARGS: tuple[str, ...] = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    # The browser's own services (component updates, account lookups) are pointed at names
    # that never resolve, so they cannot leave even where the egress point lets public
    # addresses through; Playwright's `--disable-features` list is left whole (a second
    # `--disable-features` would replace it).
    f"--component-updater=url-source=http://component-updater.{BROWSER_SERVICES}",
    f"--gaia-url=http://gaia.{BROWSER_SERVICES}",
    f"--google-apis-url=http://apis.{BROWSER_SERVICES}",
    "--disable-default-apps",
)

PLAYWRIGHT_DISABLED_FEATURES: tuple[str, ...] = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
"""The features Playwright disables with its own `--disable-features` switch, in its order.
Chromium applies only the last `--disable-features` of a command line, so this collector's
switch carries these too and Playwright's is left out (`PLAYWRIGHT_FEATURES_SWITCH`)."""

DISABLED_FEATURES: tuple[str, ...] = (
    "WebUIOmniboxPopup",
    "WebUIOmniboxAimPopup",
)
"""Features this collector disables as well: the address bar's suggestion popup, which every
new browser window (one per page) loads ahead as pages of the browser's own
(chrome://omnibox-popup.top-chrome/) in a renderer process of its own. A headless browser never
shows it; loading it took about half a second of processor time for every page."""

PLAYWRIGHT_FEATURES_SWITCH = "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES)
"""Playwright's own switch, left out of the launch (`ignore_default_args`)."""
FEATURES_SWITCH = "--disable-features=" + ",".join(
    (*PLAYWRIGHT_DISABLED_FEATURES, *DISABLED_FEATURES)
)

LAUNCH_TIMEOUT_S = 30.0
CERTUTIL_TIMEOUT_S = 20.0


def features_warning(args: list[str]) -> str | None:
    """A warning when the browser's command line `args` carries more than one
    `--disable-features` (Playwright's own list is then not `PLAYWRIGHT_DISABLED_FEATURES`):
    Chromium applied only the last one."""
    switches = [arg for arg in args if arg.startswith("--disable-features=")]
    if len(switches) <= 1:
        return None
    applied = set(switches[-1].partition("=")[2].split(","))
    dropped = sorted(
        {name for arg in switches[:-1] for name in arg.partition("=")[2].split(",")} - applied
    )
    return (
        f"the command line carries {len(switches)} --disable-features switches and Chromium "
        f"applies only the last: not disabled {', '.join(dropped) or 'none'}"
    )


def chromium_version_warning(version: str) -> str | None:
    """A warning when `version`'s major is outside TESTED_CHROMIUM_MAJORS, else None."""
    match = re.search(r"(\d+)\.\d+", version)
    low, high = TESTED_CHROMIUM_MAJORS
    if match is None:
        return f"cannot read a Chromium version from {version!r}; tested majors {low}-{high}"
    major = int(match.group(1))
    if low <= major <= high:
        return None
    return (
        f"Chromium {version} is outside the tested major versions {low}-{high}: "
        "captures may behave differently"
    )


def launch_args(settings: BrowserSettings) -> list[str]:
    """The command-line switches this collector adds (Playwright adds its own defaults, but for
    its `--disable-features`, which `FEATURES_SWITCH` carries whole)."""
    args = [*BASE_ARGS, FEATURES_SWITCH]
    if settings.host_resolver_rules:
        args.append(f"--host-resolver-rules={settings.host_resolver_rules}")
    return args


@dataclass(frozen=True)
class TrustedCa:
    """An extra root CA placed in the browser's NSS database."""

    path: str
    nickname: str
    sha256: str  # of the DER certificate

    def describe(self) -> str:
        return f"{self.nickname} sha256={self.sha256} from {self.path}"


def _pem_der_sha256(pem_path: Path) -> str:
    cert = x509.load_pem_x509_certificate(pem_path.read_bytes())
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


@contextmanager
def browser_home(extra_ca_certs: list[str]) -> Iterator[tuple[Path, list[TrustedCa]]]:
    """A throw-away HOME whose NSS database trusts `extra_ca_certs` (and nothing else extra).

    Chromium on Linux reads user-added roots from $HOME/.pki/nssdb. A fresh HOME per
    capture also keeps anything from the operator's own profile out of the browser.
    """
    home = Path(tempfile.mkdtemp(prefix="collector-home-"))
    try:
        trusted: list[TrustedCa] = []
        if extra_ca_certs:
            nssdb = home / ".pki" / "nssdb"
            nssdb.mkdir(parents=True)
            _certutil("-d", f"sql:{nssdb}", "-N", "--empty-password")
            for index, pem in enumerate(extra_ca_certs):
                pem_path = Path(pem)
                if not pem_path.is_file():
                    raise CaptureFailed(f"extra CA certificate not found: {pem}")
                try:
                    digest = _pem_der_sha256(pem_path)
                except ValueError as exc:
                    raise CaptureFailed(
                        f"extra CA certificate is not a PEM certificate: {pem}"
                    ) from exc
                nickname = f"collector-extra-ca-{index + 1}"
                _certutil(
                    "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", nickname, "-i", str(pem_path)
                )
                trusted.append(TrustedCa(path=str(pem_path), nickname=nickname, sha256=digest))
        yield home, trusted
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _certutil(*args: str) -> None:
    exe = shutil.which("certutil")
    if exe is None:
        raise CaptureFailed("certutil (libnss3-tools) is needed to trust extra CA certificates")
    try:
        proc = subprocess.run(
            [exe, *args], capture_output=True, text=True, timeout=CERTUTIL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise CaptureFailed(f"certutil failed: {exc}") from exc
    if proc.returncode != 0:
        message = (proc.stderr or proc.stdout).strip().splitlines()
        raise CaptureFailed(f"certutil failed: {message[0] if message else proc.returncode}")


def egress_for(settings: BrowserSettings) -> EgressPoint:
    """An egress point (not yet started) with the settings' rules: private networks, allowed
    origins, host resolver rules, upstream proxy. CaptureFailed when the settings are unusable."""
    try:
        return EgressPoint(
            EgressRules(
                block_private=settings.block_private_network,
                allowed=frozenset(allowed_origin(text) for text in settings.allowed_hosts),
            ),
            PinnedResolver(HostRules.parse(settings.host_resolver_rules)),
            upstream=settings.proxy,
        )
    except ValueError as exc:
        raise CaptureFailed(f"egress settings are unusable: {exc}") from exc


async def launch_browser(
    playwright: Playwright,
    settings: BrowserSettings,
    args: list[str],
    home: Path,
    proxy_server: str | None = None,
) -> Browser:
    """Launch headless Chromium from `settings.executable_path`; CaptureFailed if it will not.

    `proxy_server` (a capture's egress point) carries all of the browser's traffic; Playwright
    sends loopback traffic through it too.
    """
    if not Path(settings.executable_path).exists():
        raise CaptureFailed(f"browser executable not found: {settings.executable_path}")
    env: dict[str, str | float | bool] = {k: v for k, v in os.environ.items() if k != "HOME"}
    env["HOME"] = str(home)
    server = proxy_server or settings.proxy
    proxy: ProxySettings | None = {"server": server} if server else None
    try:
        return await playwright.chromium.launch(
            executable_path=settings.executable_path,
            headless=True,
            args=args,
            env=env,
            proxy=proxy,
            ignore_default_args=[PLAYWRIGHT_FEATURES_SWITCH],
            timeout=LAUNCH_TIMEOUT_S * 1000,
        )
    except Exception as exc:  # Playwright raises its own Error or TimeoutError
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CaptureFailed(f"browser failed to launch: {first}") from exc


async def actual_command_line(browser: Browser) -> list[str] | None:
    """The browser process's real command line (ours plus Playwright's switches), if readable.

    Asks the browser for its process id over CDP (SystemInfo.getProcessInfo) and reads
    /proc/<pid>/cmdline. None where that is unavailable (not Linux, or the call fails).
    """
    try:
        session = await browser.new_browser_cdp_session()
        try:
            info = await session.send("SystemInfo.getProcessInfo")
        finally:
            await session.detach()
        pids = [p["id"] for p in info.get("processInfo", []) if p.get("type") == "browser"]
        if not pids:
            return None
        raw = Path(f"/proc/{int(pids[0])}/cmdline").read_bytes()
    except Exception:
        return None
    parts = [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]
    return parts or None
