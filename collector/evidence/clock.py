"""Clock provenance: which clock a capture's times come from, and how far it is from NTP.

Times in a bundle come from the capturing machine's clock. `clock_report` records that clock's
time zone and, when an NTP server is configured, its measured offset from that server (one
SNTP query, RFC 4330). Network trouble never raises: it is recorded as `ntp_error` and a warning.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import ntplib

from collector.errors import UsageError
from collector.evidence.model import ClockReport

NTP_PORT = 123
NTP_VERSION = 4


def clock_report(
    ntp_server: str | None, warn_offset_s: float, timeout_s: float = 2.0
) -> ClockReport:
    """Describe the local clock and, if ``ntp_server`` ("host" or "host:port") is set, its offset.

    A warning is added when the offset exceeds ``warn_offset_s`` or the server does not answer.
    Raises `UsageError` only for bad input (a malformed server string, a negative limit).
    """
    if warn_offset_s < 0:
        raise UsageError(f"clock warning limit must not be negative: {warn_offset_s}")
    if timeout_s <= 0:
        raise UsageError(f"NTP timeout must be positive: {timeout_s}")
    server = None if ntp_server is None else parse_server(ntp_server)
    measured_at = datetime.now(UTC)
    local = datetime.now().astimezone()
    offset = local.utcoffset()
    report = ClockReport(
        timezone=local_timezone_name(),
        utc_offset_s=int(offset.total_seconds()) if offset is not None else 0,
        ntp_server=None if server is None else _join(*server),
        measured_at=measured_at,
    )
    if server is None:
        return report
    name = _join(*server)
    try:
        stats = _query(server[0], server[1], timeout_s)
    except _NtpFailed as exc:
        report.ntp_error = str(exc)
        report.warnings.append(f"NTP server {name} did not answer: {exc}")
        return report
    report.ntp_offset_s = round(float(stats.offset), 6)
    report.ntp_delay_s = round(float(stats.delay), 6)
    report.ntp_stratum = int(stats.stratum)
    if abs(report.ntp_offset_s) > warn_offset_s:
        direction = "behind" if report.ntp_offset_s > 0 else "ahead"
        report.warnings.append(
            f"local clock differs from NTP server {name} by {report.ntp_offset_s:+.1f} s "
            f"(local clock {direction}; limit {warn_offset_s:.1f} s)"
        )
    return report


_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    name = host[:-1] if host.endswith(".") else host
    return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in name.split("."))


def parse_server(value: str) -> tuple[str, int]:
    """Split "host", "host:port", "[v6]:port" or a bare IPv6 address; raise `UsageError`."""
    text = value.strip()
    if not text or any(c.isspace() for c in text) or "/" in text:
        raise UsageError(f"NTP server must be host or host:port, not {value!r}")
    host, port_text = text, None
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise UsageError(f"NTP server has an unclosed '[': {value!r}")
        host, rest = text[1:end], text[end + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise UsageError(f"NTP server must be [address]:port, not {value!r}")
            port_text = rest[1:]
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host:
        raise UsageError(f"NTP server has no host: {value!r}")
    if not _valid_host(host):
        raise UsageError(f"NTP server {value[:100]!r} is neither an IP address nor a host name")
    if port_text is None:
        return host, NTP_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise UsageError(f"NTP server port must be a number from 1 to 65535, not {port_text!r}")
    return host, int(port_text)


def local_timezone_name() -> str:
    """The IANA time-zone name when determinable (TZ, /etc/timezone, /etc/localtime), else tzname."""
    tz = os.environ.get("TZ", "").strip().removeprefix(":")
    if tz:
        return _zoneinfo_name(tz) or tz
    try:
        name = Path("/etc/timezone").read_text(encoding="utf-8").strip()
    except OSError:
        name = ""
    if name:
        return name
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        target = ""
    from_link = _zoneinfo_name(target) if target else None
    if from_link:
        return from_link
    return time.tzname[0] or "unknown"


class _NtpFailed(Exception):
    """The NTP query failed; the message says why, on one line."""


def _query(host: str, port: int, timeout_s: float) -> ntplib.NTPStats:
    before = time.time()
    try:
        stats = ntplib.NTPClient().request(host, version=NTP_VERSION, port=port, timeout=timeout_s)
    except ntplib.NTPException as exc:
        message = str(exc)
        if "No response" in message:
            message = f"no answer within {timeout_s:g} s"
        raise _NtpFailed(message) from exc
    except socket.gaierror as exc:
        raise _NtpFailed(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    except TimeoutError as exc:
        raise _NtpFailed(f"no answer within {timeout_s:g} s") from exc
    except OSError as exc:
        raise _NtpFailed(exc.strerror or str(exc) or type(exc).__name__) from exc
    after = time.time()
    if stats.mode not in (4, 5):
        raise _NtpFailed(f"answer is not from a server (mode {stats.mode})")
    if stats.leap == 3 or not 1 <= stats.stratum <= 15:
        raise _NtpFailed(f"server is not synchronised (stratum {stats.stratum}, leap {stats.leap})")
    if not before - 0.001 <= stats.orig_time <= after + 0.001:
        raise _NtpFailed("answer does not echo our request (originate timestamp mismatch)")
    return stats


def _zoneinfo_name(path: str) -> str | None:
    marker = "zoneinfo/"
    index = path.find(marker)
    if index < 0:
        return None
    name = path[index + len(marker) :]
    for prefix in ("posix/", "right/"):
        name = name.removeprefix(prefix)
    return name or None


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
