"""Certificates, keys and tokens for one local control plane.

Each cluster gets its own CA so clients verify TLS for real (no insecure-skip-verify) and
the CA the controller-manager publishes as ``kube-root-ca.crt`` is a genuine one.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)


@dataclass(frozen=True)
class PkiFiles:
    """Paths of everything the control-plane processes read at start."""

    ca_cert: Path
    ca_key: Path
    serving_cert: Path
    serving_key: Path
    service_account_key: Path
    service_account_public: Path
    tokens_csv: Path

    @classmethod
    def under(cls, folder: Path) -> PkiFiles:
        return cls(
            ca_cert=folder / "ca.crt",
            ca_key=folder / "ca.key",
            serving_cert=folder / "apiserver.crt",
            serving_key=folder / "apiserver.key",
            service_account_key=folder / "sa.key",
            service_account_public=folder / "sa.pub",
            tokens_csv=folder / "tokens.csv",
        )


@dataclass(frozen=True)
class Tokens:
    """Bearer tokens of the two identities a local cluster knows."""

    admin: str
    controller_manager: str


def create_pki(folder: Path, cluster_name: str, service_cidr: str) -> tuple[PkiFiles, Tokens]:
    """Mint a CA, the apiserver's serving certificate, the SA key pair and tokens."""
    folder.mkdir(parents=True, exist_ok=True)
    files = PkiFiles.under(folder)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kbundle-{cluster_name}-ca")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )

    network: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.ip_network(service_cidr)
    first_service_ip = network.network_address + 1
    alternative_names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVING_DNS_NAMES]
    alternative_names += [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(first_service_ip),
    ]
    serving_key = ec.generate_private_key(ec.SECP256R1())
    serving_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]))
        .issuer_name(ca_name)
        .public_key(serving_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(alternative_names),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )

    service_account_key = ec.generate_private_key(ec.SECP256R1())

    _write_private(files.ca_key, _key_pem(ca_key))
    files.ca_cert.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.serving_key, _key_pem(serving_key))
    files.serving_cert.write_bytes(serving_cert.public_bytes(serialization.Encoding.PEM))
    _write_private(files.service_account_key, _key_pem(service_account_key))
    files.service_account_public.write_bytes(
        service_account_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    tokens = Tokens(admin=secrets.token_hex(24), controller_manager=secrets.token_hex(24))
    # Both identities are cluster administrators: the controller-manager runs every
    # controller under its own credentials here (no per-controller service accounts).
    _write_private(
        files.tokens_csv,
        (
            f'{tokens.admin},kbundle-admin,1000,"system:masters"\n'
            f'{tokens.controller_manager},kube-controller-manager,1001,"system:masters"\n'
        ).encode(),
    )
    return files, tokens


def read_tokens(files: PkiFiles) -> Tokens:
    """Tokens of an already provisioned cluster (order as written by create_pki)."""
    rows = [line.split(",", 1)[0] for line in files.tokens_csv.read_text().splitlines() if line]
    return Tokens(admin=rows[0], controller_manager=rows[1])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
