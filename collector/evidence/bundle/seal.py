"""Sealing: artifacts in a work directory become a signed, read-only BagIt bag.

Order: describe artifacts → metadata.json → BagIt (SHA-256 + SHA-512 manifests) →
signer key and its certificate chain as tag files → tag manifests → Ed25519 signature over
tagmanifest-sha256.txt (`seal.sig`) → self-check → RFC 3161 token over seal.sig
(`seal.tsr`, when an authority answers) → read-only → rename into place.
Until the final rename nothing exists where bundles live.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bagit
import magic
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from collector.errors import CaptureFailed
from collector.evidence import keys
from collector.evidence.bundle import layout
from collector.evidence.bundle.hashing import digest_file, sha256_bytes
from collector.evidence.model import Artifact, Metadata

logging.getLogger("bagit").setLevel(logging.WARNING)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

BAGIT_CWD = threading.Lock()
"""bagit changes the process's working directory while it writes a bag: the captures of a batch
(threads of one process) make and check their bags one at a time."""


@dataclass(frozen=True)
class Sealed:
    bundle_id: str
    path: Path
    seal_sha256: str
    stamped: bool


Stamper = Callable[[bytes], bytes | None]
"""Given the bytes of seal.sig, return an RFC 3161 TimeStampResp, or None when none was had."""


def describe(path: Path, relative: str, role: str) -> Artifact:
    """Size, MIME type (libmagic), both digests and, for images, the pixel size."""
    digests = digest_file(path)
    mime = magic.from_file(str(path), mime=True)
    width = height = None
    if mime.startswith("image/"):
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (OSError, ValueError, SyntaxError):  # SVG, HEIC, ... from the web: no pixel size
            width = height = None
    return Artifact(
        path=relative,
        role=role,
        size=digests.size,
        mime_type=mime,
        sha256=digests.sha256,
        sha512=digests.sha512,
        width=width,
        height=height,
    )


def clean_bag_info(value: str) -> str:
    """bag-info values are single lines: control characters from the web become spaces."""
    return _CONTROL.sub(" ", value).strip()


def seal(
    workdir: Path,
    metadata: Metadata,
    bag_info: dict[str, str],
    signing_key: Ed25519PrivateKey,
    public_key_pem: bytes,
    signer_chain_pem: bytes,
    destination: Path,
    stamp: Stamper | None = None,
    before_rename: Callable[[str], None] | None = None,
    tag_files: dict[str, bytes] | None = None,
) -> Sealed:
    """Turn `workdir` (payload files only) into a sealed bag at `destination`.

    `tag_files` are written at the bag's root beside the signer's key, covered by the tag
    manifests (a capture system's bundle carries the investigator's signed request there).

    `before_rename` is told the seal digest once the bag is complete and just before it is
    moved into place (the capture records its intent there, so a crash between the move and
    the ledger row can be recovered). Raises CaptureFailed if any step or the final
    self-check fails; `workdir` is then left for the caller to remove and `destination` does
    not exist.
    """
    if destination.exists():
        raise CaptureFailed(f"refusing to overwrite existing bundle {destination}")
    (workdir / layout.METADATA).write_text(
        metadata.model_dump_json(indent=2) + "\n", encoding="utf-8"
    )
    info = {key: clean_bag_info(value) for key, value in bag_info.items()}
    try:
        with BAGIT_CWD:
            bag = bagit.make_bag(str(workdir), info, processes=1, checksums=list(layout.ALGORITHMS))
            (workdir / layout.SIGNER_KEY).write_bytes(public_key_pem)
            (workdir / layout.SIGNER_CHAIN).write_bytes(signer_chain_pem)
            for name, content in (tag_files or {}).items():
                (workdir / name).write_bytes(content)
            bag.save(manifests=False)  # rewrites the tag manifests, now covering both
    except (bagit.BagError, OSError) as exc:
        raise CaptureFailed(f"could not write the BagIt bag: {exc}") from exc
    signed = (workdir / layout.SIGNED_FILE).read_bytes()
    (workdir / layout.SIGNATURE).write_bytes(keys.sign(signing_key, signed))
    _self_check(workdir, public_key_pem)
    token = stamp((workdir / layout.SIGNATURE).read_bytes()) if stamp is not None else None
    if token is not None:
        (workdir / layout.TIMESTAMP).write_bytes(token)
    _make_read_only(workdir)
    _sync_tree(workdir)
    digest = sha256_bytes(signed)
    if before_rename is not None:
        before_rename(digest)
    try:
        os.rename(workdir, destination)
    except OSError as exc:
        raise CaptureFailed(f"could not move the sealed bundle into place: {exc}") from exc
    _sync_directory(destination.parent)
    return Sealed(metadata.bundle_id, destination, digest, token is not None)


def _sync_tree(root: Path) -> None:
    """Every file and directory of the bag on disk before it is moved into place."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _sync_directory(Path(dirpath))


def _sync_directory(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _self_check(bag_dir: Path, public_key_pem: bytes) -> None:
    """Fail closed: the bag must validate and the signature verify before it is kept."""
    try:
        with BAGIT_CWD:
            bagit.Bag(str(bag_dir)).validate(processes=1)
    except bagit.BagError as exc:
        raise CaptureFailed(f"sealed bag failed validation: {exc}") from exc
    signed = (bag_dir / layout.SIGNED_FILE).read_bytes()
    signature = (bag_dir / layout.SIGNATURE).read_bytes()
    if not keys.verify(public_key_pem, signed, signature):
        raise CaptureFailed("seal signature does not verify")


def _make_read_only(root: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o440)
    for dirpath, _dirnames, _ in sorted(os.walk(root), key=lambda t: -len(t[0])):
        os.chmod(dirpath, 0o550)  # noqa: S103 - owner and group read sealed bundles
