"""The validator committee: JSON form, thresholds and stake counting."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.spec.ledger_support import KEYS, committee
from twin_spec import (
    Committee,
    LedgerError,
    Multicodec,
    Validator,
    add_prefix,
    did_key_from_public_key,
    multibase_encode,
)


@pytest.mark.requirement("TWIN-CONSENSUS-001")
def test_a_committee_round_trips_through_json() -> None:
    members = committee((1, 2, 3))
    as_json: Any = members.to_json()
    assert as_json["epoch"] == 0
    first = as_json["validators"][0]
    assert first == {
        "index": 0,
        "publicKey": did_key_from_public_key(KEYS[0].public_key).removeprefix("did:key:"),
        "stake": 1,
        "address": "http://127.0.0.1:8080",
    }
    assert first["publicKey"].startswith("z6Mk")
    assert Committee.from_json(as_json) == members


@pytest.mark.requirement("TWIN-CONSENSUS-001")
def test_the_address_is_optional() -> None:
    members = Committee(3, (Validator(0, KEYS[0].public_key, 5),))
    assert "address" not in members.to_json()["validators"][0]  # type: ignore[index,operator]
    assert Committee.from_json(members.to_json()) == members


@pytest.mark.requirement("TWIN-CONSENSUS-002")
@pytest.mark.parametrize(
    ("stakes", "total", "quorum", "validity"),
    [
        ((1,), 1, 1, 1),
        ((1, 1, 1), 3, 3, 1),
        ((1, 1, 1, 1), 4, 3, 2),
        ((1,) * 7, 7, 5, 3),
        ((5, 3, 1, 1), 10, 7, 4),
        ((2, 2, 3), 7, 5, 3),
        ((100, 1), 101, 68, 34),
    ],
)
def test_thresholds(stakes: tuple[int, ...], total: int, quorum: int, validity: int) -> None:
    members = committee(stakes)
    assert (members.total_stake, members.quorum_threshold, members.validity_threshold) == (
        total,
        quorum,
        validity,
    )


@pytest.mark.requirement("TWIN-CONSENSUS-003")
def test_stake_is_counted_once_per_validator() -> None:
    members = committee((5, 3, 1, 1))
    assert members.stake_of([0, 0, 0]) == 5
    assert members.stake_of([1, 2, 1, 2]) == 4
    assert not members.is_quorum([0, 2, 2, 2])  # 6 < 7
    assert members.is_quorum([0, 1])  # 8 >= 7
    with pytest.raises(LedgerError, match="4 is not a validator index"):
        members.stake_of([4])


def _with(change: dict[str, Any]) -> dict[str, Any]:
    value = copy.deepcopy(committee().to_json())
    for path, new in change.items():
        target: Any = value
        *parents, last = path.split("/")
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if new is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = new
    return value


_DELETE = object()
_X25519 = multibase_encode(add_prefix(Multicodec.X25519_PUB, bytes(32)))
# A small-order point (the identity, y = 1) with the ed25519-pub prefix.
_SMALL_ORDER = multibase_encode(add_prefix(Multicodec.ED25519_PUB, b"\x01" + bytes(31)))


@pytest.mark.requirement("TWIN-CONSENSUS-001")
@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"epoch": _DELETE}, "committee.epoch", "is missing"),
        ({"epoch": -1}, "epoch", "outside 0..2"),
        ({"epoch": "0"}, "epoch", "must be an integer"),
        ({"extra": 1}, "committee.extra", "not a member"),
        ({"validators": {}}, "validators", "must be an array"),
        ({"validators": []}, "validators", "1..1024 validators"),
        ({"validators/1/index": 2}, "validators[1].index", "expected 1"),
        ({"validators/1/stake": 0}, "validators[1].stake", "outside 1..2"),
        ({"validators/1/stake": True}, "validators[1].stake", "must be an integer"),
        ({"validators/1/stake": 1.5}, "validators[1].stake", "must be an integer"),
        ({"validators/1/publicKey": "f00"}, "validators[1].publicKey", "base16"),
        ({"validators/1/publicKey": "z0OIl"}, "validators[1].publicKey", "not a base58btc"),
        ({"validators/1/publicKey": _X25519}, "validators[1].publicKey", "x25519-pub"),
        ({"validators/1/publicKey": _SMALL_ORDER}, "validators[1].publicKey", "small order"),
        ({"validators/1/address": "ftp://x"}, "validators[1].address", "http or https"),
        ({"validators/1/address": 8080}, "validators[1].address", "must be a string"),
        ({"validators/1/weight": 1}, "validators[1].weight", "not a member"),
        ({"validators/1": "z6Mk"}, "validators[1]", "must be a JSON object"),
    ],
)
def test_bad_committee_json_is_refused_naming_the_field(
    change: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(LedgerError, match=message) as caught:
        Committee.from_json(_with(change))
    assert caught.value.field == field
    assert caught.value.requirement == "TWIN-CONSENSUS-001"


@pytest.mark.requirement("TWIN-CONSENSUS-001")
def test_two_validators_may_not_share_a_key() -> None:
    value = committee().to_json()
    value["validators"][2]["publicKey"] = value["validators"][0]["publicKey"]  # type: ignore[call-overload,index]
    with pytest.raises(LedgerError, match="also the key of an earlier validator") as caught:
        Committee.from_json(value)
    assert caught.value.field == "validators[2].publicKey"
