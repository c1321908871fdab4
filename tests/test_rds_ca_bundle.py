"""The RDS CA bundle PgBouncer verifies RDS against: AWS's global bundle, checked certificate by certificate."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import subprocess

import pytest

from infra.pgbouncer.component import RDS_CA_BUNDLE, rds_ca_bundle
from tests.conftest import built_phase, phase_config

PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----\n([A-Za-z0-9+/=\n]+?)-----END CERTIFICATE-----\n")

US_EAST_1_ROOTS = {
    # SHA-256 of the DER of the three roots bundled as rds_ca/us-east-1.pem before (RSA2048 G1,
    # RSA4096 G1, ECC384 G1), from `openssl x509 -noout -fingerprint -sha256`.
    "e4ce41d069f4bdcdb714259058961ee42ed18cf2bf627a3d647aff25437d4b68",
    "1c753cf0334ff82a47e0d3205839c8549b7d9a8a3d9a685cccecc80f82fe97e6",
    "82d99e9e409703044c3f886f87a0408c96cd74dee2c9ba920e6553a32e372539",
}


def der_certificates() -> list[bytes]:
    return [base64.b64decode(block) for block in PEM_BLOCK.findall(rds_ca_bundle())]


def der_length(der: bytes) -> int:
    """Total length of the outer DER element (a SEQUENCE), from its header."""
    assert der[0] == 0x30, "not a DER SEQUENCE"
    first = der[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    return 2 + count + int.from_bytes(der[2 : 2 + count], "big")


def test_the_bundle_is_115_whole_der_certificates_and_nothing_else() -> None:
    text = rds_ca_bundle()
    certificates = der_certificates()
    assert len(certificates) == 115
    assert text.count("-----BEGIN CERTIFICATE-----") == len(certificates)  # no block the pattern skipped
    for der in certificates:
        assert der_length(der) == len(der)  # one complete certificate, no truncation or trailing bytes


def test_the_bundle_names_rds_cas_of_every_commercial_region_we_could_deploy_to() -> None:
    text = b"".join(der_certificates())
    for region in ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "sa-east-1"):
        for kind in ("RSA2048 G1", "RSA4096 G1", "ECC384 G1"):
            assert f"Amazon RDS {region} Root CA {kind}".encode() in text, (region, kind)


def test_the_bundle_holds_the_us_east_1_roots_bundled_before() -> None:
    fingerprints = {hashlib.sha256(der).hexdigest() for der in der_certificates()}
    assert fingerprints >= US_EAST_1_ROOTS


def test_every_phase_mounts_the_global_bundle_whatever_its_region(phase: str) -> None:
    run = built_phase(phase)
    maps = [r for r in run.of_type("kubernetes:core/v1:ConfigMap") if r.name.endswith("server-ca")]
    if phase_config(phase).pgbouncer is None or phase_config(phase).eks is None:
        assert maps == []
        return
    (server_ca,) = maps
    assert list(server_ca.inputs["data"].values()) == [rds_ca_bundle()]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not on this machine")
def test_openssl_reads_every_certificate_of_the_bundle() -> None:
    listed = subprocess.run(
        ["openssl", "crl2pkcs7", "-nocrl", "-certfile", str(RDS_CA_BUNDLE)], capture_output=True, check=True
    )
    printed = subprocess.run(
        ["openssl", "pkcs7", "-print_certs", "-noout"], input=listed.stdout, capture_output=True, check=True
    )
    subjects = [line for line in printed.stdout.decode().splitlines() if line.startswith("subject=")]
    assert len(subjects) == 115
    assert all("OU = Amazon RDS" in subject or "OU=Amazon RDS" in subject for subject in subjects)
