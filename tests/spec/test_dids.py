"""DID and DID URL syntax (DID Core 3.1 and 3.2), with TWIN's one legacy method name."""

from __future__ import annotations

import time

import pytest

from twin_spec import Did, DidError, DidErrorCode, parse_did, parse_did_url


@pytest.mark.requirement("TWIN-IDENTITY-001")
@pytest.mark.parametrize(
    "text",
    [
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:iota:tst:0xe3088ba9aa8c28e1d139708a14e8c0fdff11ee8223baac4aa5bcf3321e4bfc6a",
        "did:web:example.com%3A8443",
        "did:example:a:b:c",
        "did:entity-storage:0x01925e3244b7dc71b9b7bc3d31b13ad1f444e76bc5c689f4b4a3391fe20087fa",
    ],
)
def test_valid_dids_parse(text: str) -> None:
    assert str(parse_did(text)) == text


@pytest.mark.requirement("TWIN-IDENTITY-001")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must start with 'did:'"),
        ("did:", "the method name must be lowercase letters and digits"),
        ("did:Key:z6Mk", "the method name must be lowercase letters and digits"),
        ("did:other-method:abc", "the method name must be lowercase letters and digits"),
        ("did:key:", "the method-specific identifier is empty"),
        ("did:key:abc:", "characters DID Core does not allow"),
        ("did:key:a b", "characters DID Core does not allow"),
        ("did:key:z6Mk#frag", "characters DID Core does not allow"),
        ("did:key:%zz", "characters DID Core does not allow"),
        ("did:key:" + "z" * 3000, "longer than the 2048 accepted"),
    ],
)
def test_invalid_dids_are_invalid_did(text: str, message: str) -> None:
    with pytest.raises(DidError) as caught:
        parse_did(text)
    assert caught.value.code is DidErrorCode.INVALID_DID
    assert message in str(caught.value)


def test_a_non_string_is_invalid_did() -> None:
    with pytest.raises(DidError, match="a DID is a string, got int"):
        parse_did(42)  # type: ignore[arg-type]


@pytest.mark.requirement("TWIN-IDENTITY-001")
def test_did_urls_split_into_their_parts() -> None:
    url = parse_did_url("did:example:123/path/to?service=files&x=1#key-1")
    assert url.did == Did("example", "123")
    assert (url.path, url.query, url.fragment) == ("/path/to", "service=files&x=1", "key-1")
    assert str(url) == "did:example:123/path/to?service=files&x=1#key-1"
    bare = parse_did_url("did:example:123")
    assert (bare.path, bare.query, bare.fragment) == ("", None, None)


@pytest.mark.requirement("TWIN-IDENTITY-001")
def test_patterns_stay_fast_on_hostile_input() -> None:
    hostile = "did:example:" + "a:" * 1000 + "!"
    started = time.perf_counter()
    with pytest.raises(DidError):
        parse_did(hostile)
    with pytest.raises(DidError):
        parse_did_url("did:example:x/" + "%" * 2000)
    # Not a speed target, a guard against catastrophic backtracking (seconds, not millis).
    assert time.perf_counter() - started < 5
