"""The stand-in over HTTPS: a client that verifies TLS against CERT_DIR/ca.pem gets through, one
that does not know the CA is refused."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import requests
from cryptography import x509

from exchange_standin import EmulatorServer
from exchange_standin.server import EmulatorError
from exchange_standin.tls import make_certificates

from .conftest import ANNA, envelope, response_codes

GET_CALENDAR = (
    "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>"
    '<m:FolderIds><t:DistinguishedFolderId Id="calendar"/></m:FolderIds></m:GetFolder>'
)


@pytest.fixture
def tls_emulator(tmp_path: Path):
    server = EmulatorServer(mailboxes=[ANNA], tls_dir=tmp_path / "certs").start()
    yield server
    server.stop()


def test_writes_the_ca_and_serves_https(tls_emulator: EmulatorServer, tmp_path: Path):
    ca = tmp_path / "certs" / "ca.pem"
    assert tls_emulator.ca_file == ca
    assert tls_emulator.url.startswith("https://127.0.0.1:")
    certificate = x509.load_pem_x509_certificate(ca.read_bytes())
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    response = requests.post(
        tls_emulator.url,
        data=envelope(GET_CALENDAR),
        auth=ANNA,
        headers={"Content-Type": "text/xml; charset=utf-8"},
        verify=str(ca),
    )
    assert response.status_code == 200
    assert response_codes(response) == ["NoError"]


def test_the_certificate_names_localhost_too(tls_emulator: EmulatorServer, tmp_path: Path):
    context = ssl.create_default_context(cafile=str(tmp_path / "certs" / "ca.pem"))
    response = httpx.get(f"https://localhost:{tls_emulator.port}/emulator/state", verify=context)
    assert response.status_code == 200
    assert response.json()["url"] == tls_emulator.url


def test_a_client_without_the_ca_is_refused(tls_emulator: EmulatorServer):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{tls_emulator.base_url}/emulator/state", timeout=5)
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{tls_emulator.base_url}/emulator/state", timeout=5)


def test_a_plain_http_client_gets_no_answer(tls_emulator: EmulatorServer):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{tls_emulator.port}/emulator/state", timeout=5)


def test_each_start_makes_a_new_ca():
    first, second = make_certificates(), make_certificates()
    assert first.ca_pem != second.ca_pem
    server = x509.load_pem_x509_certificates(first.server_chain_pem)
    names = server[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert {str(address) for address in names.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "::1"}
    assert server[0].issuer == server[1].subject


def test_an_unwritable_cert_dir_is_a_clear_refusal(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(EmulatorError, match="cannot write the CA"):
        EmulatorServer(mailboxes=[ANNA], tls_dir=blocker / "certs")
