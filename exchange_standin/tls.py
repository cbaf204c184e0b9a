"""HTTPS for the stand-in: a CA and a server certificate for 127.0.0.1, ::1 and localhost, made at
start. The CA's certificate goes to CERT_DIR/ca.pem so that clients can verify TLS for real; the
keys stay in memory (and in CERT_DIR/server.pem's chain for the server socket only)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE = "ca.pem"
VALIDITY = dt.timedelta(days=30)


@dataclass(frozen=True)
class Certificates:
    ca_pem: bytes
    server_chain_pem: bytes  # the server's certificate, then the CA's
    server_key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Exchange stand-in"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_certificates(now: dt.datetime | None = None) -> Certificates:
    """A fresh CA and a server certificate it signs, valid for the loopback names."""
    start = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Exchange stand-in CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ]
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    return Certificates(
        ca_pem=ca_pem,
        server_chain_pem=server_cert.public_bytes(serialization.Encoding.PEM) + ca_pem,
        server_key_pem=server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def write_ca(certificates: Certificates, cert_dir: Path) -> Path:
    """Write CERT_DIR/ca.pem (making CERT_DIR if need be) and return its path."""
    cert_dir.mkdir(parents=True, exist_ok=True)
    path = cert_dir / CA_FILE
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_bytes(certificates.ca_pem)
    os.replace(temporary, path)
    return path


def server_context(certificates: Certificates) -> ssl.SSLContext:
    """The server side's TLS context. ssl loads a key only from a file, so it lives in a private
    temporary file for the moment of loading and is removed at once."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with tempfile.TemporaryDirectory(prefix="standin-tls-") as scratch:
        chain = Path(scratch) / "chain.pem"
        key = Path(scratch) / "key.pem"
        chain.write_bytes(certificates.server_chain_pem)
        key.touch(mode=0o600)
        key.write_bytes(certificates.server_key_pem)
        context.load_cert_chain(chain, key)
    return context
