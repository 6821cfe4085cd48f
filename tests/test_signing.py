"""Signing and verifying as the daemon does, proven against the daemon's own keys and packages.

The daemon's fixtures are read from its git mirror (DIFY_DAEMON_GIT, default below) at the commit
the dev kit was checked against; these tests skip when the mirror is absent. The workplace forbids
committing files taken from another project's repository, so they are not copied into tests/.
"""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from devkit import package, signing
from tests.conftest import ROOT

DAEMON_GIT = Path(os.environ.get("DIFY_DAEMON_GIT", "/work/.mirror/langgenius+dify-plugin-daemon/repo"))
DAEMON_COMMIT = "bdb5642a19009c944b78eca12f3d176801a4a8be"
DAEMON_FILES = {
    "marketplace.difypkg": "integration/plugin/testdata/langgenius-agent_0.0.14.difypkg",
    "official.public.pem": "pkg/license/public_key/PUBLIC_KEY.pem",
    "pair1.private.pem": "pkg/plugin_packager/testdata/keys/test_key_pair_1.private.pem",
    "pair1.public.pem": "pkg/plugin_packager/testdata/keys/test_key_pair_1.public.pem",
    "pair2.public.pem": "pkg/plugin_packager/testdata/keys/test_key_pair_2.public.pem",
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory) -> dict[str, Path]:
    """The daemon's fixtures, extracted from its git mirror (git show COMMIT:path)."""
    if not (DAEMON_GIT / "HEAD").exists():
        pytest.skip(f"the dify-plugin-daemon git mirror is not at {DAEMON_GIT} (set DIFY_DAEMON_GIT)")
    target = tmp_path_factory.mktemp("daemon")
    files = {}
    for name, path in DAEMON_FILES.items():
        run = subprocess.run(["git", "-C", str(DAEMON_GIT), "show", f"{DAEMON_COMMIT}:{path}"], capture_output=True)
        if run.returncode:
            pytest.skip(f"the daemon mirror has no {path} at {DAEMON_COMMIT[:7]}: {run.stderr.decode().strip()}")
        files[name] = target / name
        files[name].write_bytes(run.stdout)
    return files


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return package.build(ROOT, tmp_path_factory.mktemp("pkg"))


def cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "devkit", *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def tampered_copy(source: Path, target: Path, entry: str, suffix: bytes = b"#") -> Path:
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for info in original.infolist():
            data = original.read(info)
            copy.writestr(info, data + suffix if info.filename == entry else data)
        copy.comment = original.comment
    return target


# The daemon's own fixtures ---------------------------------------------------------------------


def test_the_marketplace_package_verifies_with_the_official_key(daemon):
    result = signing.verify(daemon["marketplace.difypkg"], [daemon["official.public.pem"]])
    assert result["time"].year == 2025 and result["authorized_category"] is None
    run = cli("verify", daemon["marketplace.difypkg"], "-k", daemon["official.public.pem"])
    assert run.returncode == 0 and "verified: signed 2025-" in run.stdout


def test_the_marketplace_package_does_not_verify_with_a_test_key(daemon):
    with pytest.raises(signing.SignatureError, match="signature does not match"):
        signing.verify(daemon["marketplace.difypkg"], [daemon["pair1.public.pem"]])
    run = cli("verify", daemon["marketplace.difypkg"], "-k", daemon["pair1.public.pem"])
    assert run.returncode == 1 and "not verified" in run.stderr


def test_one_changed_entry_breaks_the_marketplace_signature(daemon, tmp_path):
    with zipfile.ZipFile(daemon["marketplace.difypkg"]) as archive:
        entry = archive.namelist()[-1]  # the last one: every entry counts, not only the first few
    tampered = tampered_copy(daemon["marketplace.difypkg"], tmp_path / "tampered.difypkg", entry)
    with pytest.raises(signing.SignatureError, match="signature does not match"):
        signing.verify(tampered, [daemon["official.public.pem"]])


def test_duck_signed_with_the_daemons_test_key_pair(daemon, built, tmp_path):
    signed = signing.sign(built, daemon["pair1.private.pem"], "partner", tmp_path / "duck.signed.difypkg")
    assert signing.verify(signed, [daemon["pair1.public.pem"]])["authorized_category"] == "partner"
    with pytest.raises(signing.SignatureError, match="signature does not match"):
        signing.verify(signed, [daemon["pair2.public.pem"]])
    # several keys: any one that matches is enough (VerifyPluginWithPublicKeys)
    assert signing.verify(signed, [daemon["pair2.public.pem"], daemon["pair1.public.pem"]])
    run = cli("verify", signed, "-k", daemon["pair2.public.pem"], "-k", daemon["pair1.public.pem"])
    assert run.returncode == 0 and "authorized category partner" in run.stdout


def test_one_unreadable_key_leaves_every_package_unverified(daemon, tmp_path):
    """VerifyPluginWithPublicKeyPaths returns on the first key that fails to load."""
    for bad in (tmp_path / "missing.pem", daemon["pair1.private.pem"]):
        with pytest.raises(signing.SignatureError, match="every package as unverified"):
            signing.verify(daemon["marketplace.difypkg"], [daemon["official.public.pem"], bad])


# Keys ----------------------------------------------------------------------------------------


def test_keygen_writes_pkcs1_pem_as_the_daemon_cli_does(tmp_path):
    run = cli("keygen", tmp_path / "me.private.pem")
    assert run.returncode == 0, run.stderr
    private, public = (tmp_path / "me.private.pem").read_bytes(), (tmp_path / "me.public.pem").read_bytes()
    assert private.startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    assert public.startswith(b"-----BEGIN RSA PUBLIC KEY-----\n")
    assert signing.load_private_key(private).key_size == 4096
    assert (tmp_path / "me.private.pem").stat().st_mode & 0o077 == 0


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    private = tmp_path_factory.mktemp("keys") / "author.private.pem"
    return private, signing.generate_key_pair(private)


def test_pkcs8_and_spki_keys_do_not_load(pair, tmp_path):
    """rsa.go accepts only the PKCS#1 block types; today's common PEM forms fail there."""
    private = signing.load_private_key(pair[0].read_bytes())
    pkcs8 = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    spki = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(signing.SignatureError, match='"RSA PRIVATE KEY".*found "PRIVATE KEY"'):
        signing.load_private_key(pkcs8)
    with pytest.raises(signing.SignatureError, match='"RSA PUBLIC KEY".*found "PUBLIC KEY"'):
        signing.load_public_key(spki)
    with pytest.raises(signing.SignatureError, match="extra data"):
        signing.load_public_key(pair[1].read_bytes() + b"\n")  # pem.Decode's rest must be empty
    assert signing.load_public_key(pair[1].read_bytes().replace(b"\n", b"\r\n"))  # CRLF is fine
    (tmp_path / "old.private.pem").write_bytes(pkcs8)
    run = cli("sign", ROOT / "manifest.yaml", "-k", tmp_path / "old.private.pem")
    assert run.returncode == 1 and "openssl rsa -traditional" in run.stderr


def test_sign_and_verify_round_trip(pair, built, tmp_path):
    run = cli("sign", built, "-k", pair[0], "-o", tmp_path / "signed.difypkg")
    assert run.returncode == 0, run.stderr
    signed = tmp_path / "signed.difypkg"
    with zipfile.ZipFile(signed) as archive:
        assert archive.namelist()[:-1] == zipfile.ZipFile(built).namelist()
        assert archive.namelist()[-1] == signing.VERIFICATION_FILE
        assert archive.read(signing.VERIFICATION_FILE) == b'{"authorized_category":"community"}'
    assert signing.verify(signed, [pair[1]])["authorized_category"] == "community"
    with pytest.raises(signing.SignatureError, match="already signed"):
        signing.sign(signed, pair[0])
    other = signing.generate_key_pair(tmp_path / "other.private.pem")
    with pytest.raises(signing.SignatureError, match="does not match"):
        signing.verify(signed, [other])
    for entry in ("main.py", signing.VERIFICATION_FILE):  # the verification file is signed too
        with pytest.raises(signing.SignatureError, match="does not match"):
            signing.verify(tampered_copy(signed, tmp_path / f"t-{entry}.difypkg", entry, b" "), [pair[1]])


def test_packages_the_daemon_cannot_check(pair, built, tmp_path):
    with pytest.raises(signing.SignatureError, match="not signed"):
        signing.verify(built, [pair[1]])
    signed = signing.sign(built, pair[0], output=tmp_path / "signed.difypkg")
    with_dir = tmp_path / "with-dir.difypkg"
    with zipfile.ZipFile(signed) as source, zipfile.ZipFile(with_dir, "w") as target:
        target.writestr("endpoints/", b"")  # `zip -r` writes these; the daemon cannot ReadFile them
        for info in source.infolist():
            target.writestr(info, source.read(info))
        target.comment = source.comment
    with pytest.raises(signing.SignatureError, match="directory entry 'endpoints/'"):
        signing.verify(with_dir, [pair[1]])
    for comment in (b"not json", b'{"signature": "AAAA", "time": "1"}', b'{"signature": "%%%", "time": 1}'):
        broken = tmp_path / "broken.difypkg"
        with zipfile.ZipFile(signed) as source, zipfile.ZipFile(broken, "w") as target:
            for info in source.infolist():
                target.writestr(info, source.read(info))
            target.comment = comment
        with pytest.raises(signing.SignatureError):
            signing.verify(broken, [pair[1]])
