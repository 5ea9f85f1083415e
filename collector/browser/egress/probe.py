"""Which local address the operating system uses to reach the server (best effort)."""

from __future__ import annotations

import contextlib
import ipaddress
import socket

from collector.evidence.model import Egress

METHOD = "udp-route-probe"


def route_probe(ip: str, port: int) -> str | None:
    """The source address the OS would route from to (ip, port).

    Connecting a UDP socket sends nothing; it only makes the kernel pick a route and a
    source address, which getsockname() then reports.
    """
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(ip).version == 6 else socket.AF_INET
    except ValueError:
        return None
    with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((ip, port or 443))
        return str(sock.getsockname()[0])
    return None


def egress_for(ip: str | None, port: int | None, proxy: str | None) -> Egress:
    local = route_probe(ip, port or 0) if ip else None
    return Egress(local_address=local, method=METHOD if local else "", proxy=proxy)
