"""`exchange-gateway run --ca-bundle FILE` (and `[exchange] ca_bundle`): a server whose certificate
a private CA signed is trusted through FILE, besides the system's CAs; without FILE it is refused;
a FILE that is not there or holds no certificate is one clear line at start."""

from __future__ import annotations

import ssl

import pytest
import requests
from click.testing import CliRunner

from exchange_gateway.cli import main
from exchange_gateway.ews.connection import ExchangeSettings, tls_adapter, trust_context
from exchange_standin import EmulatorServer


@pytest.fixture
def standin(tmp_path):
    server = EmulatorServer(mailboxes=[("anna@club.example", "pw")], tls_dir=tmp_path / "tls").start()
    yield server
    server.stop()


def _get(settings: ExchangeSettings, url: str) -> requests.Response:
    with requests.Session() as session:
        session.mount("https://", tls_adapter(settings)())
        return session.get(url, timeout=10)


def test_a_private_ca_is_trusted_through_the_bundle(standin):
    answer = _get(ExchangeSettings(ca_bundle=str(standin.ca_file)), standin.url)
    assert answer.status_code == 401  # TLS verified; the stand-in wants credentials


def test_without_the_bundle_the_private_ca_is_refused(standin):
    with pytest.raises(requests.exceptions.SSLError):
        _get(ExchangeSettings(), standin.url)


def test_the_bundle_is_added_to_the_systems_trust_not_put_in_its_place(standin):
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    combined = trust_context(str(standin.ca_file)).cert_store_stats()["x509_ca"]
    assert combined == system + 1


def test_a_missing_bundle_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(
        main, ["--home", str(tmp_path / "home"), "run", "--ca-bundle", str(tmp_path / "no.pem")]
    )
    assert result.exit_code == 2
    assert "--ca-bundle" in result.output and "does not exist" in result.output


def test_a_bundle_with_no_certificate_is_one_clear_line(tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_text("not a certificate\n")
    result = CliRunner().invoke(main, ["--home", str(tmp_path / "home"), "run", "--ca-bundle", str(bundle)])
    assert result.exit_code == 1
    assert f"the CA bundle {str(bundle)!r} could not be read as PEM certificates" in result.output
    assert "Traceback" not in result.output
