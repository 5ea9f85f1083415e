"""The egress point without a browser: address rules, host rules, pinning, and the SOCKS5
server itself, with real sockets on 127.0.0.1 proving which connections arrived."""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from collector.browser.egress.policy import EgressRules, address_category, origin_key, parse_ip
from collector.browser.egress.resolve import HostRules, PinnedResolver, RulesError
from collector.browser.egress.socks import EgressPoint, allowed_origin

# ------------------------------------------------------------------ addresses and rules


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("127.0.0.2", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "non-global"),  # CGNAT shared address space
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),  # unique local
        ("::ffff:127.0.0.1", "loopback (inside an IPv6 address)"),
        ("::ffff:10.0.0.1", "private (inside an IPv6 address)"),
        ("2002:7f00:1::", "loopback (inside an IPv6 address)"),  # 6to4 of 127.0.0.1
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_categories(address: str, category: str | None) -> None:
    ip = parse_ip(address)
    assert ip is not None and address_category(ip) == category


def test_rules_refuse_private_and_unresolvable_and_let_named_origins_through() -> None:
    rules = EgressRules(block_private=True, allowed=frozenset({"127.0.0.1:8000"}))
    assert rules.judge("127.0.0.1", 8000, ["127.0.0.1"]).blocked is False
    assert rules.judge("127.0.0.1", 8001, ["127.0.0.1"]).blocked  # another port of the same host
    assert rules.judge("intranet.example", 80, ["10.0.0.5"]).reason == (
        "intranet.example:80: resolves to 10.0.0.5, private address"
    )
    assert rules.judge("mixed.example", 443, ["93.184.215.14", "127.0.0.1"]).blocked
    assert rules.judge("nowhere.example", 443, []).blocked
    assert not rules.judge("www.example", 443, ["93.184.215.14"]).blocked
    assert not EgressRules(block_private=False).judge("x", 1, ["10.0.0.1"]).blocked
    assert EgressRules(block_private=False).judge("x", 1, []).blocked


def test_allowed_origins_are_normalised() -> None:
    assert allowed_origin("LocalHost:8080") == "localhost:8080"
    assert allowed_origin("[::1]:80") == "[::1]:80" == origin_key("::1", 80)
    for bad in ("127.0.0.1", "host:port", ":80"):
        with pytest.raises(ValueError):
            allowed_origin(bad)


def test_host_rules_map_exclude_and_refuse() -> None:
    rules = HostRules.parse("MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost, MAP a.test 10.0.0.1")
    assert rules.target("www.example") == "~NOTFOUND"
    assert rules.target("localhost") is None
    assert HostRules.parse("MAP *.test 127.0.0.1").target("x.test") == "127.0.0.1"
    with pytest.raises(RulesError):
        HostRules.parse("REWRITE a b")


def test_a_name_keeps_its_first_answer() -> None:
    answers = [["93.184.215.14"], ["127.0.0.1"]]

    async def rebinding(host: str) -> list[str]:
        return answers.pop(0)

    async def run() -> tuple[list[str], list[str]]:
        resolver = PinnedResolver(system=rebinding)
        return await resolver.resolve("rebind.test"), await resolver.resolve("REBIND.test.")

    first, second = asyncio.run(run())
    assert first == second == ["93.184.215.14"]


# ------------------------------------------------------------------ the SOCKS5 server


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepted and echoes."""

    def __init__(self) -> None:
        self.accepted = 0
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.accepted += 1
            data = await reader.read(100)
            writer.write(b"echo:" + data)
            await writer.drain()
            writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])


async def socks_connect(proxy_port: int, host: str, port: int, payload: bytes = b"hi") -> tuple[int, bytes]:
    """Speak SOCKS5 as Chromium does (no authentication, CONNECT by name); return the reply
    code and what came back through the tunnel."""
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy_port)
    writer.write(b"\x05\x01\x00")
    await writer.drain()
    assert await reader.readexactly(2) == b"\x05\x00"
    ip = parse_ip(host)
    if ip is None:
        address = b"\x03" + bytes([len(host)]) + host.encode()
    elif ip.version == 4:
        address = b"\x01" + socket.inet_aton(host)
    else:
        address = b"\x04" + socket.inet_pton(socket.AF_INET6, host.strip("[]"))
    writer.write(b"\x05\x01\x00" + address + struct.pack("!H", port))
    await writer.drain()
    reply = await reader.readexactly(10)
    data = b""
    if reply[1] == 0:
        writer.write(payload)
        await writer.drain()
        data = await reader.read(100)
    writer.close()
    return reply[1], data


@asynccontextmanager
async def egress(
    rules: EgressRules, system: Callable[[str], Any] | None = None, **kw: Any
) -> AsyncIterator[tuple[EgressPoint, int]]:
    resolver = PinnedResolver(system=system) if system else PinnedResolver()
    point = EgressPoint(rules, resolver, **kw)
    await point.start()
    try:
        yield point, int(point.proxy_url.rsplit(":", 1)[1])
    finally:
        await point.close()


def test_allowed_origin_passes_and_every_other_private_target_is_refused() -> None:
    async def run() -> None:
        allowed, other = Listener(), Listener()
        allowed_port, other_port = await allowed.start(), await other.start()
        rules = EgressRules(block_private=True, allowed=frozenset({f"127.0.0.1:{allowed_port}"}))

        async def names(host: str) -> list[str]:
            return {"localhost": ["127.0.0.1"], "sneaky.example": ["127.0.0.1"]}.get(host, [])

        async with egress(rules, system=names) as (point, port):
            code, data = await socks_connect(port, "127.0.0.1", allowed_port)
            assert (code, data) == (0, b"echo:hi")
            for host in ("127.0.0.1", "localhost", "sneaky.example", "127.0.0.2", "::1"):
                code, _ = await socks_connect(port, host, other_port)
                assert code == 2, host  # connection not allowed by ruleset
            code, _ = await socks_connect(port, "nowhere.invalid", other_port)
            assert code == 2
            assert allowed.accepted == 1 and other.accepted == 0
            assert len(point.blocked) == 6
            assert point.address_for_url(f"http://127.0.0.1:{allowed_port}/x") == ("127.0.0.1", allowed_port)
            assert point.blocked_for_url(f"ws://localhost:{other_port}/socket") is not None
            assert await point.refusal_for_url(f"http://127.0.0.1:{other_port}/") is not None
            assert await point.refusal_for_url(f"http://127.0.0.1:{allowed_port}/") is None

    asyncio.run(run())


def test_rebinding_answer_is_never_connected_to() -> None:
    """The name is judged on its first answer (public) and connected to that address only;
    the private address a later lookup would give never receives a connection."""

    async def run() -> None:
        private = Listener()
        private_port = await private.start()
        answers = {"rebind.test": [["93.184.215.14"], ["127.0.0.1"]]}

        async def rebinding(host: str) -> list[str]:
            return answers[host].pop(0) if answers[host] else ["127.0.0.1"]

        async with egress(EgressRules(), system=rebinding, connect_timeout_s=0.5) as (point, port):
            for _ in range(3):
                code, _ = await socks_connect(port, "rebind.test", private_port)
                assert code == 4  # judged public, but that address does not answer here
            assert private.accepted == 0
            assert all(c.addresses == ["93.184.215.14"] for c in point.connections)

    asyncio.run(run())


def test_only_connect_by_socks5_without_authentication() -> None:
    async def run() -> None:
        async with egress(EgressRules()) as (_point, port):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x05\x01\x02")  # username/password only
            await writer.drain()
            assert await reader.readexactly(2) == b"\x05\xff"
            writer.close()
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"\x05\x01\x00\x05\x03\x00\x01\x01\x02\x03\x04\x00\x50")  # UDP ASSOCIATE
            await writer.drain()
            assert (await reader.readexactly(2), (await reader.readexactly(10))[1]) == (b"\x05\x00", 7)
            writer.close()

    asyncio.run(run())


def test_the_browsers_own_services_never_leave() -> None:
    from collector.browser.launch import (
        FEATURES_SWITCH,
        PLAYWRIGHT_FEATURES_SWITCH,
        features_warning,
        launch_args,
    )
    from collector.evidence.model import BrowserSettings

    args = launch_args(BrowserSettings())
    assert "--component-updater=url-source=http://component-updater.browser-service.invalid" in args
    # One --disable-features (Chromium applies only the last), carrying Playwright's list whole.
    features = [a for a in args if a.startswith("--disable-features=")]
    assert features == [FEATURES_SWITCH]
    assert FEATURES_SWITCH.startswith(PLAYWRIGHT_FEATURES_SWITCH + ",")
    assert features_warning(["--headless", *args]) is None
    verdict = EgressRules(block_private=False).judge("gaia.browser-service.invalid", 80, ["93.184.215.14"])
    assert verdict.blocked and "the browser's own service" in verdict.reason


def test_a_second_disable_features_switch_is_reported() -> None:
    """Chromium applies only the last --disable-features: a command line with two (Playwright's
    own list changed, so it was not left out) is reported with what was not disabled."""
    from collector.browser.launch import features_warning

    warning = features_warning(
        ["--disable-features=A,B,C", "--headless", "--disable-features=A,C,WebUIOmniboxPopup"]
    )
    assert warning is not None and "2 --disable-features switches" in warning
    assert warning.endswith("not disabled B")
    assert features_warning(["--disable-features=A,B"]) is None


def test_through_an_upstream_proxy_the_judged_address_is_what_is_asked_for() -> None:
    """With an agency proxy, the egress point asks it for `CONNECT address:port` (the address it
    judged), never for a name the proxy would resolve again."""

    async def run() -> None:
        target = Listener()
        target_port = await target.start()
        asked: list[bytes] = []

        async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            line = await reader.readline()
            asked.append(line)
            while (await reader.readline()).strip():
                pass
            host, port = line.split()[1].decode().rsplit(":", 1)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            data = await reader.read(100)
            up_writer.write(data)
            await up_writer.drain()
            writer.write(await up_reader.read(100))
            await writer.drain()
            writer.close()
            up_writer.close()

        upstream = await asyncio.start_server(proxy, "127.0.0.1", 0)
        upstream_port = upstream.sockets[0].getsockname()[1]

        async def names(host: str) -> list[str]:
            return {"site.test": ["127.0.0.1"]}[host]

        rules = EgressRules(block_private=False)
        async with egress(rules, system=names, upstream=f"http://127.0.0.1:{upstream_port}") as (point, port):
            code, data = await socks_connect(port, "site.test", target_port)
            assert (code, data) == (0, b"echo:hi")
        upstream.close()
        assert asked == [f"CONNECT 127.0.0.1:{target_port} HTTP/1.1\r\n".encode()]
        assert point.connections[0].connected_to == "127.0.0.1"

    asyncio.run(run())
