"""The harness's shared TLS context verifies as httpx's own default does."""

from __future__ import annotations

import ssl

import httpx
import pytest

from twin_conformance._tls import client_tls


def test_the_shared_context_verifies_like_httpx_default() -> None:
    shared = client_tls()
    default = httpx.create_ssl_context()
    assert shared is client_tls()  # made once
    assert shared.verify_mode == default.verify_mode == ssl.CERT_REQUIRED
    assert shared.check_hostname
    assert default.check_hostname
    assert shared.minimum_version == default.minimum_version
    assert len(shared.get_ca_certs()) == len(default.get_ca_certs())


def test_clients_made_with_it_refuse_an_unverified_server() -> None:
    # A TLS client pointed at a plain HTTP port fails the handshake rather than sending in clear.
    with httpx.Client(verify=client_tls(), timeout=2.0) as client, pytest.raises(httpx.HTTPError):
        client.get("https://127.0.0.1:9/")
