"""Clock provenance against a real SNTP server on 127.0.0.1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from collector.errors import UsageError
from collector.evidence.clock import ClockReport, clock_report, local_timezone_name, parse_server
from fixtures.ntp import NtpServer


@pytest.fixture(scope="module")
def ntp() -> Iterator[NtpServer]:
    with NtpServer(offset_s=0.0) as server:
        yield server


@pytest.fixture(scope="module")
def skewed() -> Iterator[NtpServer]:
    with NtpServer(offset_s=120.0) as server:
        yield server


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_agreeing_server_gives_small_offset_and_no_warning(ntp: NtpServer) -> None:
    before = ntp.requests
    report = clock_report(ntp.address, warn_offset_s=1.0)
    assert ntp.requests == before + 1
    assert report.source == "local system clock"
    assert report.ntp_server == ntp.address
    assert report.ntp_offset_s is not None and abs(report.ntp_offset_s) < 0.5
    assert report.ntp_delay_s is not None and 0 <= report.ntp_delay_s < 0.5
    assert report.ntp_stratum == 1
    assert report.ntp_error is None
    assert report.warnings == []
    assert report.measured_at.utcoffset() == timedelta(0)
    assert abs((datetime.now(UTC) - report.measured_at).total_seconds()) < 5
    assert report.timezone


def test_server_two_minutes_ahead_is_measured_and_warned(skewed: NtpServer) -> None:
    report = clock_report(skewed.address, warn_offset_s=1.0)
    assert report.ntp_offset_s is not None and abs(report.ntp_offset_s - 120.0) < 0.5
    assert len(report.warnings) == 1
    warning = report.warnings[0]
    assert skewed.address in warning
    assert "+120.0 s" in warning
    assert "limit 1.0 s" in warning


def test_server_behind_us_gives_negative_offset() -> None:
    with NtpServer(offset_s=-30.0) as behind:
        report = clock_report(behind.address, warn_offset_s=5.0)
    assert report.ntp_offset_s is not None and abs(report.ntp_offset_s + 30.0) < 0.5
    assert report.warnings and "-30.0 s" in report.warnings[0]


def test_offset_within_the_limit_is_not_warned(skewed: NtpServer) -> None:
    report = clock_report(skewed.address, warn_offset_s=300.0)
    assert report.ntp_offset_s is not None and report.ntp_offset_s > 100
    assert report.warnings == []


def test_unanswered_query_is_recorded_not_raised() -> None:
    port = _free_udp_port()
    report = clock_report(f"127.0.0.1:{port}", warn_offset_s=1.0, timeout_s=0.3)
    assert report.ntp_server == f"127.0.0.1:{port}"
    assert report.ntp_offset_s is None and report.ntp_stratum is None
    assert report.ntp_error is not None and "0.3 s" in report.ntp_error
    assert len(report.warnings) == 1 and "did not answer" in report.warnings[0]


def test_no_server_configured_queries_nothing() -> None:
    report = clock_report(None, warn_offset_s=1.0)
    assert report.ntp_server is None
    assert report.ntp_offset_s is None and report.ntp_error is None
    assert report.warnings == []


@pytest.mark.parametrize(
    "bad", ["host:notaport", "host:0", "host:70000", "", ":123", "[::1", "[::1]x", "a b"]
)
def test_bad_server_string_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError):
        clock_report(bad, warn_offset_s=1.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pool.ntp.org", ("pool.ntp.org", 123)),
        ("127.0.0.1:1234", ("127.0.0.1", 1234)),
        ("[::1]:5", ("::1", 5)),
        ("::1", ("::1", 123)),
    ],
)
def test_server_strings(text: str, expected: tuple[str, int]) -> None:
    assert parse_server(text) == expected


def test_timezone_name_prefers_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert local_timezone_name() == "Europe/Berlin"
    monkeypatch.setenv("TZ", ":/usr/share/zoneinfo/America/New_York")
    assert local_timezone_name() == "America/New_York"


def test_report_round_trips_and_forbids_unknown_fields(ntp: NtpServer) -> None:
    report = clock_report(ntp.address, warn_offset_s=1.0)
    assert ClockReport.model_validate_json(report.model_dump_json()) == report
    with pytest.raises(ValidationError):
        ClockReport.model_validate({**report.model_dump(), "surprise": 1})
