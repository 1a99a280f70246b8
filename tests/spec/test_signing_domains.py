"""Domain-separated signing: each message kind signs under its own prefix."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin_spec import (
    Ed25519SigningKey,
    MessageKind,
    SignatureError,
    domain_prefix,
    find_signing_domain,
    sign_message,
    signing_input,
    verify_message,
)

KEY = Ed25519SigningKey(
    bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
)
BLOCK = {"epoch": 0, "round": 7, "author": 2, "ancestors": [], "transactions": []}


@pytest.mark.requirement("TWIN-CORE-020")
def test_the_signed_bytes_are_the_prefix_then_the_canonical_message() -> None:
    assert domain_prefix(MessageKind.BLOCK) == b"TWIN-SIGNED-MESSAGE/v1/block\x00"
    assert signing_input(MessageKind.BLOCK, {"round": 7, "epoch": 0}) == (
        b'TWIN-SIGNED-MESSAGE/v1/block\x00{"epoch":0,"round":7}'
    )


@pytest.mark.requirement("TWIN-CORE-020")
def test_no_prefix_is_a_prefix_of_another() -> None:
    prefixes = [domain_prefix(kind) for kind in MessageKind]
    assert len(set(prefixes)) == len(prefixes)
    for first, second in itertools.permutations(prefixes, 2):
        assert not second.startswith(first)


@pytest.mark.requirement("TWIN-CORE-020", "TWIN-CORE-021")
def test_a_message_verifies_under_its_own_kind() -> None:
    signature = sign_message(KEY, MessageKind.BLOCK, BLOCK)
    verify_message(KEY.public_key, MessageKind.BLOCK, BLOCK, signature)
    # The signature is not a plain signature of the JSON: the prefix is part of what is signed.
    with pytest.raises(SignatureError):
        KEY.public_key.verify(b'{"ancestors":[]}', signature)


@pytest.mark.requirement("TWIN-CORE-021")
@pytest.mark.parametrize(("signed_as", "checked_as"), list(itertools.permutations(MessageKind, 2)))
def test_a_signature_for_one_kind_is_rejected_as_every_other(
    signed_as: MessageKind, checked_as: MessageKind
) -> None:
    signature = sign_message(KEY, signed_as, BLOCK)
    with pytest.raises(SignatureError, match="does not satisfy") as caught:
        verify_message(KEY.public_key, checked_as, BLOCK, signature)
    assert caught.value.requirement == "TWIN-CORE-014"
    # The harness can still explain the failure as a cross-domain replay.
    assert find_signing_domain(KEY.public_key, BLOCK, signature) is signed_as


@pytest.mark.requirement("TWIN-CORE-021")
def test_a_signature_under_no_domain_is_found_under_none() -> None:
    raw = KEY.sign(b'{"epoch":0}')
    assert find_signing_domain(KEY.public_key, {"epoch": 0}, raw) is None


@pytest.mark.requirement("TWIN-CORE-020")
@given(st.dictionaries(st.text(max_size=5), st.integers(-1000, 1000), max_size=4))
def test_signing_is_over_the_canonical_form_so_key_order_does_not_matter(
    message: dict[str, int],
) -> None:
    reordered = dict(reversed(list(message.items())))
    signature = sign_message(KEY, MessageKind.CHECKPOINT, message)
    verify_message(KEY.public_key, MessageKind.CHECKPOINT, reordered, signature)
