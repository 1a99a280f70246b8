"""One TLS context for the harness's HTTP clients, made once a run rather than once a client.

``httpx.Client()`` builds a context for every client (the CA bundle read and parsed again, about
20 ms of CPU each); the harness makes one for the probe, each login and each check client. The
context is the one httpx would make (``httpx.create_ssl_context()``: certifi's bundle, or
``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), made at first use and shared: verification is unchanged.
"""

from __future__ import annotations

import functools
import ssl

import httpx

__all__ = ["client_tls"]


@functools.cache
def client_tls() -> ssl.SSLContext:
    """The run's TLS context for ``httpx.Client(verify=...)``, as httpx's default would be."""
    return httpx.create_ssl_context()
