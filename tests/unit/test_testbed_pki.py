"""Each local cluster gets its own CA and a serving certificate clients can verify."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from testbed.pki import create_pki, read_tokens


def test_serving_certificate_names_loopback_and_the_kubernetes_service(tmp_path: Path) -> None:
    files, tokens = create_pki(tmp_path, "source", "10.112.0.0/16")
    cert = x509.load_pem_x509_certificate(files.serving_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("10.112.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "kubernetes.default.svc" in names.get_values_for_type(x509.DNSName)
    cert.verify_directly_issued_by(ca)
    assert read_tokens(files) == tokens


def test_keys_and_tokens_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    files, _ = create_pki(tmp_path, "source", "10.96.0.0/16")
    for secret in (files.ca_key, files.serving_key, files.service_account_key, files.tokens_csv):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600, secret.name


def test_two_clusters_never_share_a_ca_or_a_token(tmp_path: Path) -> None:
    a_files, a_tokens = create_pki(tmp_path / "a", "a", "10.96.0.0/16")
    b_files, b_tokens = create_pki(tmp_path / "b", "b", "10.96.0.0/16")
    assert a_files.ca_cert.read_bytes() != b_files.ca_cert.read_bytes()
    assert a_tokens.admin != b_tokens.admin
