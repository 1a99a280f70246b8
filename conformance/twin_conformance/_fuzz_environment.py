"""What requests reads from the environment for the fuzzer's sessions, read once per session.

A requests session that trusts the environment reads the proxy variables and ``~/.netrc`` again
for every request (3 % of a fuzzing run's CPU). Every fuzzed request goes to the one target, so
each read finds the same: :func:`read_once` reads them for the target's URL into the session and
stops the reads per request. The CA bundle variables requests would also apply per request are
returned, for the adapter to apply as requests did (:func:`verify_with`).
"""

from __future__ import annotations

import os

import requests
from requests.utils import get_environ_proxies, get_netrc_auth

__all__ = ["read_once", "verify_with"]


def read_once(session: requests.Session, url: str) -> str | None:
    """Put the environment's proxies and netrc credentials for ``url`` into ``session``.

    Returns the CA bundle the environment names (``REQUESTS_CA_BUNDLE``, else
    ``CURL_CA_BUNDLE``), or None; a session that does not trust the environment is left as it is.
    """
    if not session.trust_env:
        return None
    # As Session.request would per request: environment proxies (no_proxy honoured for the
    # target's host) below the session's own, and netrc credentials only without the session's.
    for scheme, proxy in get_environ_proxies(url).items():
        session.proxies.setdefault(scheme, proxy)
    if session.auth is None:
        session.auth = get_netrc_auth(url)
    session.trust_env = False
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or None


def verify_with(verify: object, bundle: str | None) -> object:
    """The ``verify`` a trusting session would have sent: the bundle in place of True or None."""
    if bundle and (verify is True or verify is None):
        return bundle
    return verify
