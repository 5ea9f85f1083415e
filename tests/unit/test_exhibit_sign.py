"""PAdES signing of exhibit PDFs, checked by validators we did not write: poppler's pdfsig
(with an NSS database that trusts a throw-away test CA) and pyHanko's own validation."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes

from collector.disclosure.exhibit.sign import SUBFILTER, SignResult, sign_pdf
from collector.errors import SigningInputError, UsageError
from tests.exhibit_pki import PASSPHRASE, PKI, hanko_status, make_pki


def _tools() -> None:
    """pdfsig and certutil come with scripts/setup (poppler-utils, libnss3-tools): required."""
    missing = [tool for tool in ("pdfsig", "certutil") if shutil.which(tool) is None]
    assert missing == [], f"missing {missing}: run ./scripts/setup"


# ------------------------------------------------------------------ throw-away PKI and PDF


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return make_pki(tmp_path_factory.mktemp("pki"))


TEXT = "Exhibit 12 - HPD-2026-000123 - sha256 0f1e2d3c"


def make_pdf(path: Path, text: str = TEXT) -> Path:
    """A one-page PDF with one line of text, its cross-reference table computed here."""
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


@pytest.fixture(scope="module")
def signed(pki: PKI, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, SignResult]:
    d = tmp_path_factory.mktemp("signed")
    src = make_pdf(d / "exhibit.pdf")
    dst = d / "exhibit-signed.pdf"
    result = sign_pdf(
        src,
        dst,
        pki.p12,
        PASSPHRASE,
        reason="Exhibit 12 for the prosecution",
        location="Harbor City, US",
    )
    return src, dst, result


def nss_trusting(ca_pem: Path, directory: Path) -> str:
    """An NSS database in which the test CA is a trusted issuer, for pdfsig."""
    directory.mkdir(exist_ok=True)
    db = f"sql:{directory}"
    subprocess.run(
        ["certutil", "-N", "-d", db, "--empty-password"], check=True, capture_output=True
    )
    subprocess.run(
        ["certutil", "-A", "-d", db, "-n", "test-ca", "-t", "CT,C,C", "-i", str(ca_pem)],
        check=True,
        capture_output=True,
    )
    return db


def pdfsig(path: Path, nssdir: str) -> str:
    # No -no-ocsp: poppler 22.12 then reports a generic certificate error for any chain.
    # The test certificates name no OCSP responder, so nothing is fetched.
    done = subprocess.run(
        ["pdfsig", "-nssdir", nssdir, str(path)], capture_output=True, text=True, timeout=60
    )
    return done.stdout + done.stderr


# ------------------------------------------------------------------ signing works


def test_sign_result_describes_signer_time_and_file(
    signed: tuple[Path, Path, SignResult], pki: PKI
) -> None:
    src, dst, result = signed
    data = dst.read_bytes()
    assert result.path == dst
    assert result.sha256 == hashlib.sha256(data).hexdigest() and result.size == len(data)
    assert result.source_sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert "CN=Erin Evans\\, Evidence Custodian" in result.signer_subject
    assert "CN=Test Exhibit Signing CA" in result.signer_issuer
    assert result.signer_sha256 == pki.signer_cert.fingerprint(hashes.SHA256()).hex()
    assert abs((datetime.now(UTC) - result.signed_at).total_seconds()) < 120
    assert result.subfilter == SUBFILTER == "ETSI.CAdES.detached"
    # an incremental update: the unsigned exhibit is kept byte for byte at the start
    assert data.startswith(src.read_bytes())


def test_pdfsig_finds_a_valid_trusted_pades_signature(
    signed: tuple[Path, Path, SignResult], pki: PKI, tmp_path: Path
) -> None:
    _tools()
    _, dst, _ = signed
    out = pdfsig(dst, nss_trusting(pki.ca_pem, tmp_path / "nss"))
    assert "Signature #1" in out and "Signature #2" not in out, out
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Certificate Validation: Certificate is Trusted." in out, out
    assert "Erin Evans" in out, out
    assert "Signature Type: ETSI.CAdES.detached" in out, out
    assert "Total document signed" in out, out


def test_pyhanko_validates_the_signature_against_the_test_ca(
    signed: tuple[Path, Path, SignResult], pki: PKI
) -> None:
    _, dst, result = signed
    status = hanko_status(dst, pki.ca_cert)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.bottom_line
    assert status.signing_cert.sha256.hex() == result.signer_sha256
    assert status.coverage.name == "ENTIRE_FILE"
    # and without the CA the same signature is intact but not trusted: trust is the recipient's
    untrusted = hanko_status(dst, None)
    assert untrusted.intact and untrusted.valid and not untrusted.trusted


def test_one_changed_byte_after_signing_makes_pdfsig_report_invalid(
    signed: tuple[Path, Path, SignResult], pki: PKI, tmp_path: Path
) -> None:
    _tools()
    _, dst, _ = signed
    data = bytearray(dst.read_bytes())
    at = data.index(b"HPD-2026-000123")  # inside the signed byte range: the page's own text
    data[at] = ord("X")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    out = pdfsig(tampered, nss_trusting(pki.ca_pem, tmp_path / "nss"))
    # poppler's word for a signed byte range whose hash no longer matches
    assert "Signature Validation: Digest Mismatch." in out, out
    assert "Signature is Valid." not in out, out
    assert not hanko_status(tampered, pki.ca_cert).intact


# ------------------------------------------------------------------ bad input: typed errors


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("wrong-passphrase", "wrong passphrase for"),
        ("no-passphrase", "needs a passphrase"),
        ("not-p12", "is not a PKCS#12"),
        ("missing-p12", "absent.p12: no such file"),
        ("expired", "expired on"),
        ("no-key", "holds no private key"),
        ("encrypt-only", "may not sign documents"),
        ("not-pdf", "is not a readable PDF"),
        ("missing-pdf", "absent.pdf: no such file"),
        ("truncated-pdf", "is not a readable PDF"),
        ("encrypted-pdf", "is an encrypted PDF"),
        ("empty-reason", "needs a reason"),
    ],
)
def test_bad_input_raises_a_one_line_usage_error_and_writes_nothing(
    case: str, message: str, pki: PKI, tmp_path: Path
) -> None:
    src = make_pdf(tmp_path / "exhibit.pdf")
    p12, passphrase, reason = pki.p12, PASSPHRASE, "Exhibit 12"
    if case == "wrong-passphrase":
        passphrase = b"not-the-passphrase"
    elif case == "no-passphrase":
        passphrase = None
    elif case == "not-p12":
        p12 = tmp_path / "cert.p12"
        p12.write_bytes(pki.ca_pem.read_bytes())  # a PEM certificate is not a PKCS#12 file
    elif case == "missing-p12":
        p12 = tmp_path / "absent.p12"
    elif case == "expired":
        p12 = pki.expired_p12
    elif case == "no-key":
        p12 = pki.no_key_p12
    elif case == "encrypt-only":
        p12 = pki.encrypt_only_p12
    elif case == "not-pdf":
        src.write_bytes(b"%PDF-1.7\nthis is not really a PDF at all\n")
    elif case == "truncated-pdf":
        src.write_bytes(src.read_bytes()[:200])
    elif case == "encrypted-pdf":
        from pyhanko.pdf_utils.writer import PdfFileWriter

        writer = PdfFileWriter()
        writer.encrypt(b"owner-pass", b"user-pass")
        out = BytesIO()
        writer.write(out)
        src.write_bytes(out.getvalue())
    elif case == "missing-pdf":
        src = tmp_path / "absent.pdf"
    elif case == "empty-reason":
        reason = "  "
    dst = tmp_path / "out" / "signed.pdf"
    with pytest.raises(SigningInputError) as raised:
        sign_pdf(src, dst, p12, passphrase, reason=reason, location=None)
    assert isinstance(raised.value, UsageError) and raised.value.exit_code == 2
    text = str(raised.value)
    assert message in text and "\n" not in text and "Traceback" not in text
    assert not dst.exists()
    assert not dst.parent.exists() or list(dst.parent.iterdir()) == []


def test_existing_output_is_never_overwritten(pki: PKI, tmp_path: Path) -> None:
    src = make_pdf(tmp_path / "exhibit.pdf")
    dst = tmp_path / "signed.pdf"
    dst.write_bytes(b"earlier file")
    with pytest.raises(SigningInputError, match="will not overwrite"):
        sign_pdf(src, dst, pki.p12, PASSPHRASE, reason="Exhibit 12", location=None)
    assert dst.read_bytes() == b"earlier file"
