"""The fuzzer's sessions read requests' environment settings once, and send as requests did."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from twin_conformance._fuzz_environment import read_once, verify_with

TARGET = "https://node.vendor.example:8443/"


def _merged(session: requests.Session) -> dict[str, object]:
    """What a session sends a request to the target with: its environment settings merged."""
    prepared = session.prepare_request(requests.Request("GET", TARGET))
    settings = session.merge_environment_settings(TARGET, {}, None, True, None)
    return {
        "proxies": settings["proxies"],
        "verify": settings["verify"],
        "authorization": prepared.headers.get("Authorization"),
    }


@pytest.mark.parametrize("no_proxy", ["", "node.vendor.example"])
def test_a_session_read_once_sends_what_a_trusting_session_sent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, no_proxy: str
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine node.vendor.example login vendor password s3cret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "ca.pem"))
    trusting = _merged(requests.Session())
    session = requests.Session()
    bundle = read_once(session, TARGET)
    assert not session.trust_env
    once = _merged(session)
    once["verify"] = verify_with(once["verify"], bundle)
    assert once == trusting
    assert trusting["authorization"] is not None
    assert bool(trusting["proxies"]) is (no_proxy == "")
    assert trusting["verify"] == str(tmp_path / "ca.pem")


def test_an_empty_environment_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "absent"))
    session = requests.Session()
    assert read_once(session, TARGET) is None
    assert session.proxies == {}
    assert session.auth is None
    assert verify_with(True, None) is True
    assert verify_with(False, "/ca.pem") is False


def test_a_session_that_does_not_trust_the_environment_is_left_alone() -> None:
    session = requests.Session()
    session.trust_env = False
    assert read_once(session, TARGET) is None
    assert session.proxies == {}
