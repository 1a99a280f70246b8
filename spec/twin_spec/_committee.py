"""The validator committee of an epoch: who signs blocks and checkpoints, with what stake.

Every consensus and checkpoint decision weighs stake against the committee's two thresholds,
so they are computed here once, by integer arithmetic every implementation reproduces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from twin_spec._ed25519 import Ed25519PublicKey
from twin_spec._errors import LedgerError
from twin_spec._jcs import MAX_SAFE_INTEGER, JSONValue
from twin_spec._ledger_json import (
    encode_public_key,
    ledger_fail,
    read_int,
    read_list,
    read_object,
    read_public_key,
    read_str,
)

MAX_COMMITTEE_SIZE = 1024
_COMMITTEE = "TWIN-CONSENSUS-001"
# An http or https URL with a host and no whitespace (the spec core parses, it never connects).
_ADDRESS = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?\Z")


@dataclass(frozen=True)
class Validator:
    """One committee member: its index, signing key, stake and (optionally) its node's URL."""

    index: int
    public_key: Ed25519PublicKey
    stake: int
    address: str | None = None

    def to_json(self) -> dict[str, JSONValue]:
        """Return the validator's committee JSON entry (``address`` only when known)."""
        entry: dict[str, JSONValue] = {
            "index": self.index,
            "publicKey": encode_public_key(self.public_key),
            "stake": self.stake,
        }
        if self.address is not None:
            entry["address"] = self.address
        return entry


@dataclass(frozen=True)
class Committee:
    """The validators of one epoch, indexed 0..n-1 in order."""

    epoch: int
    validators: tuple[Validator, ...]

    def __post_init__(self) -> None:
        # TWIN-CONSENSUS-001 "A committee MUST list at least one validator, with indices 0..n-1
        # in order, positive integer stakes and distinct public keys."
        if not 0 <= self.epoch <= MAX_SAFE_INTEGER:
            raise LedgerError(
                f"epoch {self.epoch} is outside 0..2**53-1", field="epoch", requirement=_COMMITTEE
            )
        if not 1 <= len(self.validators) <= MAX_COMMITTEE_SIZE:
            raise LedgerError(
                f"a committee has 1..{MAX_COMMITTEE_SIZE} validators, got {len(self.validators)}",
                field="validators",
                requirement=_COMMITTEE,
            )
        keys = set()
        for position, validator in enumerate(self.validators):
            field = f"validators[{position}]"
            if validator.index != position:
                raise LedgerError(
                    f"{field}.index is {validator.index}, expected {position} (indices are 0..n-1)",
                    field=f"{field}.index",
                    requirement=_COMMITTEE,
                )
            if not 1 <= validator.stake <= MAX_SAFE_INTEGER:
                raise LedgerError(
                    f"{field}.stake {validator.stake} is not a positive safe integer",
                    field=f"{field}.stake",
                    requirement=_COMMITTEE,
                )
            if validator.public_key in keys:
                raise LedgerError(
                    f"{field}.publicKey is also the key of an earlier validator",
                    field=f"{field}.publicKey",
                    requirement=_COMMITTEE,
                )
            keys.add(validator.public_key)
        if self.total_stake > MAX_SAFE_INTEGER:
            raise LedgerError(
                "the total stake exceeds 2**53-1", field="validators", requirement=_COMMITTEE
            )

    @property
    def size(self) -> int:
        """The number of validators, n."""
        return len(self.validators)

    @property
    def total_stake(self) -> int:
        """T, the sum of all stakes."""
        return sum(validator.stake for validator in self.validators)

    @property
    def quorum_threshold(self) -> int:
        """The stake a quorum needs: 2*T//3 + 1 (more than two thirds)."""
        # TWIN-CONSENSUS-002 "The quorum threshold MUST be 2*T//3 + 1 and the validity threshold
        # (T + 2)//3, with T the total stake and // integer division."
        return 2 * self.total_stake // 3 + 1

    @property
    def validity_threshold(self) -> int:
        """The stake that surely includes one honest validator: (T + 2)//3."""
        return (self.total_stake + 2) // 3

    def validator(self, index: int) -> Validator:
        """Return the validator at ``index``, or raise :class:`LedgerError` if none is."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise LedgerError(
                f"{index!r} is not a validator index of this committee (0..{self.size - 1})",
                requirement=_COMMITTEE,
            )
        return self.validators[index]

    def stake_of(self, indices: Iterable[int]) -> int:
        """Return the stake of a set of authors, each counted once however often it appears."""
        # TWIN-CONSENSUS-003 "Stake MUST be counted once per validator, however many of its
        # blocks or signatures are counted."
        return sum(self.validator(index).stake for index in set(indices))

    def is_quorum(self, indices: Iterable[int]) -> bool:
        """Tell whether the authors' stake reaches the quorum threshold."""
        return self.stake_of(indices) >= self.quorum_threshold

    def to_json(self) -> dict[str, JSONValue]:
        """Return the committee JSON (as served at GET /consensus/committee)."""
        return {
            "epoch": self.epoch,
            "validators": [validator.to_json() for validator in self.validators],
        }

    @classmethod
    def from_json(cls, value: object) -> Committee:
        """Read committee JSON strictly; a bad member raises :class:`LedgerError` naming it."""
        body = read_object(value, "committee", ledger_fail, _COMMITTEE, ("epoch", "validators"))
        epoch = read_int(body["epoch"], "epoch", ledger_fail, _COMMITTEE)
        entries = read_list(
            body["validators"], "validators", ledger_fail, _COMMITTEE, max_items=MAX_COMMITTEE_SIZE
        )
        validators = tuple(
            _validator_from_json(entry, f"validators[{position}]")
            for position, entry in enumerate(entries)
        )
        return cls(epoch, validators)


def _validator_from_json(value: object, field: str) -> Validator:
    entry: Mapping[str, object] = read_object(
        value, field, ledger_fail, _COMMITTEE, ("index", "publicKey", "stake"), ("address",)
    )
    index = read_int(entry["index"], f"{field}.index", ledger_fail, _COMMITTEE)
    key = read_public_key(entry["publicKey"], f"{field}.publicKey", ledger_fail, _COMMITTEE)
    stake = read_int(entry["stake"], f"{field}.stake", ledger_fail, _COMMITTEE, minimum=1)
    address = None
    if "address" in entry:
        address = read_str(entry["address"], f"{field}.address", ledger_fail, _COMMITTEE)
        if not _ADDRESS.match(address):
            raise ledger_fail(f"{field}.address", "must be an http or https URL", _COMMITTEE)
    return Validator(index, key, stake, address)
