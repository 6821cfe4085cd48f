"""Sign and verify .difypkg packages exactly as the Dify plugin daemon does.

Daemon sources (langgenius/dify-plugin-daemon):
- keys: pkg/utils/encryption/rsa.go (LoadPrivateKey, LoadPublicKey, RSASign, VerifySign) and
  cmd/commandline/signature/generate.go: PKCS#1 PEM only ("RSA PRIVATE KEY" / "RSA PUBLIC KEY");
  a PKCS#8 or SubjectPublicKeyInfo key fails to load.
- signing: pkg/plugin_packager/signer/withkey/sign_with_key.go (SignPluginWithPrivateKey).
- verifying: pkg/plugin_packager/decoder/verifier.go (VerifyPluginWithPublicKeys,
  VerifyPluginWithPublicKeyPaths) reading the zip through decoder/zip.go (Walk, ReadFile, decode).

The signed data is the SHA-256 digest of every zip entry in the zip's own order (the verification
file included), then the signing time in decimal; the RSA PKCS#1 v1.5 / SHA-256 signature and the
time travel in the zip comment as {"signature": base64, "time": unix seconds}.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import json
import re
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

VERIFICATION_FILE = ".verification.dify.json"  # pkg/plugin_packager/consts/verification.go
CATEGORIES = ("langgenius", "partner", "community")  # decoder/entities.go AuthorizedCategory

# A PEM block as Go's encoding/pem.Decode finds it: the BEGIN line at the start or after a newline,
# the END line naming the same type, only blanks after it on its line.
_PEM_BLOCK = re.compile(rb"(?:\A|\n)-----BEGIN ([^\n]*?)-----[ \t\r]*\n(.*?)\n?-----END \1-----[ \t\r]*(?:\n|\Z)", re.S)


class SignatureError(Exception):
    """The daemon would not take this package (or key) as signed; the message says why."""


def generate_key_pair(private_path: Path) -> Path:
    """An RSA-4096 pair in PKCS#1 PEM, as `dify signature generate` writes it; returns the public path.

    The private key goes to `private_path` (mode 0600); the public one beside it, `private` in the
    name replaced by `public` (or `.public.pem` appended)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,  # = PKCS#1
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path = private_path.with_name(private_path.name.replace("private", "public"))
    if public_path == private_path:
        public_path = private_path.with_name(private_path.name + ".public.pem")
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1))
    return public_path


def load_private_key(data: bytes) -> rsa.RSAPrivateKey:
    """rsa.go LoadPrivateKey: one "RSA PRIVATE KEY" block (PKCS#1) and nothing after it."""
    key = serialization.load_pem_private_key(_pkcs1_block(data, "RSA PRIVATE KEY", "private"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def load_public_key(data: bytes) -> rsa.RSAPublicKey:
    """rsa.go LoadPublicKey: one "RSA PUBLIC KEY" block (PKCS#1) and nothing after it."""
    key = serialization.load_pem_public_key(_pkcs1_block(data, "RSA PUBLIC KEY", "public"))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def sign(package: Path, private_key: Path, category: str = "community", output: Path | None = None) -> Path:
    """Write <package>.signed.difypkg (or `output`), signed as SignPluginWithPrivateKey signs.

    Every entry is copied in order and hashed, the verification file is appended last and hashed,
    then the time. Refuses an already signed package: the daemon's signer would add a second
    verification file beside the first."""
    try:
        key = load_private_key(private_key.read_bytes())
    except OSError as e:
        raise SignatureError(f"cannot read the private key {private_key}: {e.strerror}") from e
    entries = _entries(package)
    if any(name == VERIFICATION_FILE for name, _ in entries) or _comment(package):
        raise SignatureError(f"{package} is already signed; sign the unsigned package")
    verification = json.dumps({"authorized_category": category}, separators=(",", ":")).encode()
    entries.append((VERIFICATION_FILE, verification))
    created = int(time.time())
    signed_data = b"".join(hashlib.sha256(data).digest() for _, data in entries) + str(created).encode()
    signature = key.sign(signed_data, padding.PKCS1v15(), hashes.SHA256())
    output = output or package.with_name(package.stem + ".signed" + package.suffix)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
        archive.comment = json.dumps(
            {"signature": base64.b64encode(signature).decode(), "time": created}, separators=(",", ":")
        ).encode()
    output.write_bytes(buffer.getvalue())
    return output


def verify(package: Path, public_keys: list[Path]) -> dict:
    """Check the signature with the given public keys, as the daemon does; raises SignatureError.

    Like VerifyPluginWithPublicKeyPaths, a key that cannot be read or loaded fails the whole check
    (the daemon then treats every package as unverified), even when another key would match.
    Returns {"time": signing time (UTC), "authorized_category": ... or None}."""
    keys = []
    for path in public_keys:
        path = Path(str(path).strip())  # the daemon trims spaces around each configured path
        try:
            keys.append(load_public_key(path.read_bytes()))
        except OSError as e:
            raise SignatureError(
                f"cannot read the public key {path}: {e.strerror}; the daemon then treats every package as unverified"
            ) from e
        except SignatureError as e:
            raise SignatureError(f"{path}: {e}; the daemon then treats every package as unverified") from e
    if not keys:
        raise SignatureError("no public key given")
    signed = b"".join(hashlib.sha256(data).digest() for _, data in _entries(package))
    signature, created, verification = _signature_fields(package)
    signed += str(created).encode()
    for key in keys:
        try:
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            continue
        return {
            "time": datetime.fromtimestamp(created, UTC),
            "authorized_category": (verification or {}).get("authorized_category"),
        }
    raise SignatureError(
        "the signature does not match: the package was changed after signing, or was signed with another key"
    )


def _pkcs1_block(data: bytes, expected: str, kind: str) -> bytes:
    """The PEM block re-encoded alone, after the checks rsa.go makes on pem.Decode's result."""
    match = _PEM_BLOCK.search(data)
    if not match or match.group(1).decode(errors="replace") != expected:
        found = f' (found "{match.group(1).decode(errors="replace")}")' if match else ""
        raise SignatureError(
            f'not a PKCS#1 {kind} key: the daemon loads only a PEM "{expected}" block{found}. '
            "Make keys with `python -m devkit keygen`, or convert with `openssl rsa "
            f"{'-pubin -RSAPublicKey_out ' if kind == 'public' else '-traditional '}-in KEY -out NEW`"
        )
    if data[match.end() :]:
        raise SignatureError(
            "extra data after the PEM block (the daemon refuses it: one key per file, nothing after its END line)"
        )
    body = re.sub(rb"[ \t\r]", b"", match.group(2))
    try:
        base64.b64decode(body.replace(b"\n", b""), validate=True)
    except binascii.Error as e:
        raise SignatureError(f"the PEM block is not valid base64: {e}") from e
    pem = b"-----BEGIN %s-----\n%s\n-----END %s-----\n" % (expected.encode(), body, expected.encode())
    try:
        if kind == "private":
            serialization.load_pem_private_key(pem, password=None)
        else:
            serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise SignatureError(f"the {kind} key cannot be parsed as PKCS#1: {e}") from e
    return pem


def _entries(package: Path) -> list[tuple[str, bytes]]:
    """Every zip entry in the zip's order, as decoder/zip.go Walk and ReadFile give them."""
    try:
        with zipfile.ZipFile(package) as archive:
            entries = []
            for info in archive.infolist():
                if info.is_dir():  # ReadFile on a directory entry fails in the daemon
                    raise SignatureError(
                        f"the package has a directory entry {info.filename!r}: the daemon cannot "
                        "read it, so it cannot check the signature (build with devkit package)"
                    )
                entries.append((info.filename, archive.read(info)))
            if "manifest.yaml" not in archive.namelist():  # NewZipPluginDecoder reads the manifest first
                raise SignatureError("the package has no manifest.yaml: the daemon does not open it")
            return entries
    except (OSError, zipfile.BadZipFile) as e:
        raise SignatureError(f"cannot read {package} as a difypkg: {e}") from e


def _comment(package: Path) -> bytes:
    with zipfile.ZipFile(package) as archive:
        return archive.comment


def _signature_fields(package: Path) -> tuple[bytes, int, dict | None]:
    """decoder/zip.go decode(): the comment as JSON {signature: string, time: int64}, and the
    verification file as JSON when there is one; either failing to parse fails the check."""
    comment = _comment(package)
    if not comment:
        raise SignatureError("the package is not signed (its zip comment is empty)")
    try:
        fields = json.loads(comment)
    except ValueError as e:
        raise SignatureError(f"the zip comment is not the daemon's signature JSON: {e}") from e
    if fields is None:
        fields = {}
    if not isinstance(fields, dict):
        raise SignatureError("the zip comment is not a JSON object")
    signature, created = fields.get("signature", ""), fields.get("time", 0)
    if not isinstance(signature, str) or isinstance(created, bool) or not isinstance(created, int):
        raise SignatureError('the zip comment needs "signature" as a string and "time" as an integer')
    verification = None
    with zipfile.ZipFile(package) as archive:
        if VERIFICATION_FILE in archive.namelist():
            try:
                verification = json.loads(archive.read(VERIFICATION_FILE))
            except ValueError as e:
                raise SignatureError(f"{VERIFICATION_FILE} is not JSON: {e}") from e
            if verification is not None and (
                not isinstance(verification, dict) or not isinstance(verification.get("authorized_category", ""), str)
            ):
                raise SignatureError(f'{VERIFICATION_FILE} is not a JSON object with a string "authorized_category"')
    try:
        decoded = base64.b64decode(signature.replace("\r", "").replace("\n", ""), validate=True)
    except binascii.Error as e:
        raise SignatureError(f"the signature is not valid base64: {e}") from e
    return decoded, created, verification
