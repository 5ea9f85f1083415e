"""RFC 3161 client and verifier against real OpenSSL time-stamp authorities on 127.0.0.1."""

from __future__ import annotations

import hashlib
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from collector.errors import IntegrityError, UsageError
from collector.evidence.timestamp import (
    TimestampInfo,
    TimestampInvalid,
    TimestampUnavailable,
    check_time_window,
    request_timestamp,
    verify_timestamp,
)
from fixtures.tsa import POLICY_OID, TsaServer

DATA = b"tagmanifest-sha256 bytes of a sealed bundle\n"
OTHER = b"tagmanifest-sha256 bytes of another bundle\n"


@pytest.fixture(scope="module")
def tsa() -> Iterator[TsaServer]:
    with TsaServer() as server:
        yield server


@pytest.fixture(scope="module")
def other_tsa() -> Iterator[TsaServer]:
    with TsaServer(name="Other TSA") as server:
        yield server


@pytest.fixture(autouse=True)
def _healthy(tsa: TsaServer, other_tsa: TsaServer) -> Iterator[None]:
    """Tests that break an authority leave it working for the next test."""
    yield
    for server in (tsa, other_tsa):
        server.set_down(False)
        server.set_garbage(False)
        server.set_replay(False)


@pytest.fixture(scope="module")
def stamped(tsa: TsaServer) -> tuple[bytes, TimestampInfo, datetime]:
    """One token over DATA from the first authority, and when it was asked for."""
    asked = datetime.now(UTC)
    tsr, info, attempts = request_timestamp(DATA, [tsa.url], [tsa.root_pem])
    assert [a.ok for a in attempts] == [True]
    return tsr, info, asked


def _der_sha256(pem: str | bytes) -> str:
    text = pem.encode() if isinstance(pem, str) else pem
    cert = x509.load_pem_x509_certificate(text)
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _openssl_verify(
    tmp_path: Path, tsr: bytes, data: bytes, root: Path
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "seal.tsr").write_bytes(tsr)
    (tmp_path / "data.bin").write_bytes(data)
    return subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(tmp_path / "data.bin"),
         "-in", str(tmp_path / "seal.tsr"), "-CAfile", str(root)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- getting a token


def test_token_is_obtained_and_describes_the_data(
    tsa: TsaServer, stamped: tuple[bytes, TimestampInfo, datetime]
) -> None:
    tsr, info, asked = stamped
    assert info.url == tsa.url
    assert info.hash_algorithm == "sha256"
    assert info.message_imprint == hashlib.sha256(DATA).hexdigest()
    assert info.policy_oid == POLICY_OID
    assert info.gen_time.tzinfo is not None and info.gen_time.utcoffset() == timedelta(0)
    # OpenSSL writes whole seconds: the token time is the second we asked in, or just after.
    assert asked - timedelta(seconds=2) <= info.gen_time <= datetime.now(UTC) + timedelta(seconds=2)
    assert info.nonce is not None and int(info.nonce) > 0
    assert int(info.serial_number) >= 1
    assert info.accuracy_s == 1.0
    assert info.tsa_name is not None and "CN=Test TSA" in info.tsa_name
    # chain: the signer first (what the fixture signs with), the configured root last
    assert info.tsa_certificate_sha256 == _der_sha256(tsa.tsa_cert_path.read_bytes())
    assert _der_sha256(info.chain[0]) == info.tsa_certificate_sha256
    assert _der_sha256(info.chain[-1]) == tsa.root_sha256
    assert len(info.chain) == 2  # `certs =` is left out of tsa.cnf: only the signer is carried
    assert tsr[:1] == b"\x30"  # a DER SEQUENCE: the TimeStampResp itself, for seal.tsr


def test_stored_token_verifies_again_offline(
    tsa: TsaServer, stamped: tuple[bytes, TimestampInfo, datetime]
) -> None:
    tsr, info, _ = stamped
    again = verify_timestamp(tsr, DATA, [tsa.root_pem])
    assert again.url is None
    assert again.model_dump(exclude={"url"}) == info.model_dump(exclude={"url"})


def test_each_request_reaches_the_authority_with_a_fresh_nonce(tsa: TsaServer) -> None:
    before = tsa.requests
    _, first, _ = request_timestamp(DATA, [tsa.url], [tsa.root_pem])
    _, second, _ = request_timestamp(DATA, [tsa.url], [tsa.root_pem])
    assert tsa.requests == before + 2
    assert first.nonce != second.nonce
    assert first.serial_number != second.serial_number


def test_openssl_cli_verifies_the_token_and_only_for_the_same_data(
    tsa: TsaServer, stamped: tuple[bytes, TimestampInfo, datetime], tmp_path: Path
) -> None:
    tsr, _, _ = stamped
    ok = _openssl_verify(tmp_path, tsr, DATA, tsa.root_cert_path)
    assert ok.returncode == 0, ok.stderr
    assert "Verification: OK" in ok.stdout
    bad = _openssl_verify(tmp_path, tsr, OTHER, tsa.root_cert_path)
    assert bad.returncode != 0
    assert "Verification: OK" not in bad.stdout


# --------------------------------------------------------------------------- rejecting a token


def test_token_over_other_data_is_invalid(
    tsa: TsaServer, stamped: tuple[bytes, TimestampInfo, datetime]
) -> None:
    tsr, _, _ = stamped
    with pytest.raises(TimestampInvalid, match="other data") as caught:
        verify_timestamp(tsr, OTHER, [tsa.root_pem])
    assert isinstance(caught.value, IntegrityError)
    assert caught.value.exit_code == 1
    assert hashlib.sha256(OTHER).hexdigest() in str(caught.value)
    assert "\n" not in str(caught.value)


def test_token_from_an_untrusted_authority_is_invalid(tsa: TsaServer, other_tsa: TsaServer) -> None:
    tsr, info, _ = request_timestamp(DATA, [other_tsa.url], [other_tsa.root_pem])
    assert _der_sha256(info.chain[-1]) == other_tsa.root_sha256
    with pytest.raises(TimestampInvalid, match="not signed by a trusted time-stamp authority"):
        verify_timestamp(tsr, DATA, [tsa.root_pem])
    # trusting both roots accepts it, and the chain ends at the root it really chains to
    both = verify_timestamp(tsr, DATA, [tsa.root_pem, other_tsa.root_pem])
    assert _der_sha256(both.chain[-1]) == other_tsa.root_sha256


def test_tampered_token_has_a_bad_signature(
    tsa: TsaServer, stamped: tuple[bytes, TimestampInfo, datetime], tmp_path: Path
) -> None:
    tsr, info, _ = stamped
    # Backdate the genTime inside the signed TSTInfo by one second.
    stamp = info.gen_time.strftime("%Y%m%d%H%M%S").encode()
    assert tsr.count(stamp) == 1
    earlier = (info.gen_time - timedelta(seconds=1)).strftime("%Y%m%d%H%M%S").encode()
    forged = tsr.replace(stamp, earlier)
    with pytest.raises(TimestampInvalid, match="bad signature"):
        verify_timestamp(forged, DATA, [tsa.root_pem])
    assert _openssl_verify(tmp_path, forged, DATA, tsa.root_cert_path).returncode != 0


@pytest.mark.parametrize("junk", [b"", b"not DER at all", b"\x30\x03\x02\x01"])
def test_malformed_response_is_invalid(tsa: TsaServer, junk: bytes) -> None:
    with pytest.raises(TimestampInvalid, match="malformed"):
        verify_timestamp(junk, DATA, [tsa.root_pem])


def test_truncated_token_is_invalid(
    tsa: TsaServer, stamped: tuple[bytes, TimestampInfo, datetime]
) -> None:
    tsr, _, _ = stamped
    with pytest.raises(TimestampInvalid, match="malformed"):
        verify_timestamp(tsr[:-20], DATA, [tsa.root_pem])


# --------------------------------------------------------------------------- several authorities


def test_falls_over_to_the_next_authority_when_one_is_down(
    tsa: TsaServer, other_tsa: TsaServer
) -> None:
    tsa.set_down(True)
    roots = [tsa.root_pem, other_tsa.root_pem]
    tsr, info, attempts = request_timestamp(DATA, [tsa.url, other_tsa.url], roots)
    assert info.url == other_tsa.url
    assert [(a.url, a.ok) for a in attempts] == [(tsa.url, False), (other_tsa.url, True)]
    assert attempts[0].error is not None and "503" in attempts[0].error
    assert attempts[1].error is None
    assert attempts[0].at <= attempts[1].at
    assert _der_sha256(verify_timestamp(tsr, DATA, roots).chain[-1]) == other_tsa.root_sha256


def test_garbage_answer_counts_as_a_failure(tsa: TsaServer, other_tsa: TsaServer) -> None:
    tsa.set_garbage(True)
    roots = [tsa.root_pem, other_tsa.root_pem]
    _, info, attempts = request_timestamp(DATA, [tsa.url, other_tsa.url], roots)
    assert info.url == other_tsa.url
    assert attempts[0].ok is False
    assert attempts[0].error is not None and "malformed" in attempts[0].error


def test_unverifiable_answer_counts_as_a_failure(tsa: TsaServer, other_tsa: TsaServer) -> None:
    # The other authority answers well, but we do not trust its root: try the next one.
    _, info, attempts = request_timestamp(DATA, [other_tsa.url, tsa.url], [tsa.root_pem])
    assert info.url == tsa.url
    assert attempts[0].ok is False
    assert attempts[0].error is not None and "trusted" in attempts[0].error


def test_replayed_token_is_rejected_by_its_nonce(tsa: TsaServer) -> None:
    request_timestamp(DATA, [tsa.url], [tsa.root_pem])  # a good token over the same data
    tsa.set_replay(True)  # answers each query with the reply made for the query before it
    with pytest.raises(TimestampUnavailable, match="nonce"):
        request_timestamp(DATA, [tsa.url], [tsa.root_pem])


def test_all_authorities_down_is_unavailable_with_every_attempt(
    tsa: TsaServer, other_tsa: TsaServer
) -> None:
    tsa.set_down(True)
    other_tsa.set_garbage(True)
    refused = f"http://127.0.0.1:{_free_tcp_port()}/tsa"
    urls = [tsa.url, other_tsa.url, refused]
    with pytest.raises(TimestampUnavailable) as caught:
        request_timestamp(DATA, urls, [tsa.root_pem, other_tsa.root_pem], timeout_s=2)
    error = caught.value
    assert error.exit_code == 4
    assert [a.url for a in error.attempts] == urls
    assert not any(a.ok for a in error.attempts)
    assert all(a.error for a in error.attempts)
    assert "refused" in (error.attempts[2].error or "").lower()
    for url in urls:
        assert url in str(error)


def test_silent_authority_times_out(tsa: TsaServer) -> None:
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/tsa"
        _, info, attempts = request_timestamp(DATA, [url, tsa.url], [tsa.root_pem], timeout_s=0.3)
    assert info.url == tsa.url
    assert attempts[0].error is not None and "0.3 s" in attempts[0].error


def test_bad_input_is_a_usage_error(tsa: TsaServer) -> None:
    with pytest.raises(UsageError, match="http"):
        request_timestamp(DATA, ["file:///etc/passwd"], [tsa.root_pem])
    with pytest.raises(UsageError, match="empty"):
        request_timestamp(b"", [tsa.url], [tsa.root_pem])
    with pytest.raises(UsageError, match="root"):
        request_timestamp(DATA, [tsa.url], [b"not a certificate"])
    with pytest.raises(UsageError, match="root"):
        verify_timestamp(b"", DATA, [])


# --------------------------------------------------------------------------- time window


T0 = datetime(2026, 11, 23, 23, 1, 2, tzinfo=UTC)
T1 = T0 + timedelta(seconds=40)


@pytest.mark.parametrize(
    ("stamp", "ok", "reason"),
    [
        (T0 + timedelta(seconds=10), True, "during the capture"),
        (T0 - timedelta(milliseconds=800), True, "during the capture"),  # within 1 s slack
        (T1 + timedelta(seconds=5), True, "5 s after the capture ended"),
        (T1 + timedelta(seconds=600), True, "10 min after the capture ended"),
        (T0 - timedelta(seconds=5), False, "stamped 5 s before the capture started"),
        (T1 + timedelta(seconds=601), False, "late stamp"),
        (
            T1 + timedelta(hours=3, minutes=12),
            False,
            "stamped 3 h 12 min after the capture ended (late stamp",
        ),
    ],
)
def test_time_window(stamp: datetime, ok: bool, reason: str) -> None:
    result, why = check_time_window(stamp, T0, T1)
    assert result is ok
    assert reason in why


def test_time_window_slack_and_limit_are_honoured() -> None:
    assert check_time_window(T0 - timedelta(seconds=3), T0, T1, slack_s=5)[0] is True
    assert check_time_window(T1 + timedelta(seconds=61), T0, T1, limit_s=60)[0] is False


def test_time_window_needs_aware_times() -> None:
    with pytest.raises(ValueError, match="timezone"):
        check_time_window(T0.replace(tzinfo=None), T0, T1)
