"""Certifying: checkpoint signatures, from the validator and its peers, until a quorum.

Each commit gets a checkpoint summary the validator signs; the checkpoint is certified once
signatures of a quorum of the committee verify over that same summary (TWIN-CONSENSUS-105),
and stored, in sequence order; only then are the writes it holds answered
(TWIN-CONSENSUS-106). Signatures that arrive before the validator's own summary are kept
(bounded by :data:`SIGNATURE_WINDOW`) and checked once it exists.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from twin_reference._group_commit import GroupCommit
from twin_reference._ledger_codec import pack_certified
from twin_reference._ledger_store import LedgerStore, dump_json
from twin_reference._peers import PeerNetwork
from twin_reference._transactions import Outcome
from twin_spec import (
    Committee,
    Ed25519SigningKey,
    JSONValue,
    LedgerError,
    MessageKind,
    SignatureError,
    TwinSpecError,
    check_certified_checkpoint,
    checkpoint_digest,
    checkpoint_signature,
    checkpoint_signature_entry,
    make_checkpoint_summary,
    read_certified_checkpoint,
    verify_message,
)

LOG = logging.getLogger("twin_reference.ledger")
ZERO_DIGEST = bytes(32)
SIGNATURE_WINDOW = 1024
"""Checkpoint signatures are kept for at most this many sequences beyond the last certified."""


class SignatureRefusedError(Exception):
    """A checkpoint signature from a peer that does not verify: its code and field."""

    def __init__(self, code: str, field: str, message: str) -> None:
        super().__init__(message)
        self.code, self.field, self.message = code, field, message


@dataclass
class _Uncertified:
    """A checkpoint summary the validator signed, waiting for a quorum of signatures."""

    summary: dict[str, JSONValue]
    digest: bytes
    signatures: dict[int, bytes]
    """Each signer's 64 signature bytes, verified over the summary."""
    outcomes: list[Outcome] = field(default_factory=list)
    stored: bool = True
    """Whether the summary has its row (one certified in the transaction that signs it has
    none: the certified checkpoint holds it)."""
    created: float = field(default_factory=time.monotonic)
    sent: float = field(default_factory=time.monotonic)


class Certifier:
    """The validator's checkpoint summaries until certified, and the signatures on them."""

    def __init__(
        self,
        committee: Committee,
        own_index: int,
        key: Ed25519SigningKey,
        ledger: LedgerStore,
        network: PeerNetwork,
        io: GroupCommit,
    ) -> None:
        self._committee = committee
        self._own = own_index
        self._key = key
        self._ledger = ledger
        self._network = network
        self._io = io
        self._uncertified: dict[int, _Uncertified] = {}
        self._early_signatures: dict[int, dict[int, dict[str, JSONValue]]] = {}
        self.last_summary: tuple[int, bytes] = (0, ZERO_DIGEST)
        """(sequence, digest) of the last summary the validator signed."""
        self.last_certified = 0
        """The sequence of the last certified checkpoint stored."""

    def load(self) -> None:
        """Rebuild the summaries left uncertified by a restart (signing each again)."""
        self._ledger.forget_certified_summaries()
        checkpoint = self._ledger.last_checkpoint()
        if checkpoint is not None:
            self.last_certified = checkpoint[0]
            self.last_summary = checkpoint
        summary = self._ledger.last_summary()
        if summary is not None and summary[0] > self.last_summary[0]:
            self.last_summary = summary
        for sequence, digest, body in self._ledger.summaries_after(self.last_certified):
            own_signature = checkpoint_signature(self._key, body)
            self._uncertified[sequence] = _Uncertified(
                body, digest, {self._own: own_signature}, created=0.0, sent=0.0
            )

    # -- the validator's own summaries --------------------------------------------------------

    def sign(
        self,
        connection: sqlite3.Connection,
        summary: dict[str, JSONValue],
        outcomes: list[Outcome],
    ) -> tuple[bytes, list[Outcome]]:
        """Store and sign the next summary in the caller's transaction; certify what is ready.

        Return the validator's signature (to send with :meth:`send_signature` once the
        transaction commits) and the outcomes of the checkpoints certified by this (to answer
        once synced).
        """
        sequence = self.last_summary[0] + 1
        digest = checkpoint_digest(summary)
        own_signature = checkpoint_signature(self._key, summary)
        pending = _Uncertified(summary, digest, {self._own: own_signature}, list(outcomes))
        for signer, entry in self._early_signatures.pop(sequence, {}).items():
            signature = self._verified_signature(summary, signer, entry)
            if signature is not None:
                pending.signatures[signer] = signature
        # A summary certified at once (a committee of one, or its peers' signatures already
        # here) is stored only within its certified checkpoint, in this same transaction.
        pending.stored = not (
            sequence == self.last_certified + 1 and self._committee.is_quorum(pending.signatures)
        )
        if pending.stored:
            self._ledger.insert_summary(connection, sequence, digest, summary)
        previous = self.last_summary
        self._uncertified[sequence] = pending
        self.last_summary = (sequence, digest)
        try:
            return own_signature, self.certify_ready(connection)
        except BaseException:
            # The caller's transaction rolls back: so does the summary.
            self._uncertified.pop(sequence, None)
            self.last_summary = previous
            raise

    def send_signature(self, sequence: int, signature: bytes) -> None:
        """Send the validator's signature of a summary to its peers (a committee of one: none)."""
        if self._committee.size > 1:
            entry = checkpoint_signature_entry(self._own, signature)
            self._network.broadcast(
                f"/consensus/checkpoints/{sequence}/signatures", dump_json(entry).encode()
            )

    def wait_for(self, outcome: Outcome) -> bool:
        """Answer ``outcome`` when its checkpoint is certified; False if it already is."""
        pending = self._uncertified.get(outcome.checkpoint)
        if pending is None:
            return False
        pending.outcomes.append(outcome)
        return True

    # -- peers' signatures --------------------------------------------------------------------

    def _verified_signature(
        self, summary: Mapping[str, JSONValue], signer: int, entry: Mapping[str, JSONValue]
    ) -> bytes | None:
        """The signature bytes of an entry that verifies over ``summary``, else None."""
        try:
            _parsed_signer, signature = self._parse_signature(entry)
            verify_message(
                self._committee.validator(signer).public_key,
                MessageKind.CHECKPOINT,
                summary,
                signature,
            )
        except (SignatureRefusedError, TwinSpecError):
            return None
        return signature

    def _parse_signature(self, entry: Mapping[str, JSONValue]) -> tuple[int, bytes]:
        """Read ``{signer, signature}`` strictly: (signer, the 64 signature bytes)."""
        probe = {"summary": _PROBE_SUMMARY, "signatures": [dict(entry)]}
        try:
            parsed = read_certified_checkpoint(probe, field="body", max_signers=1)
        except LedgerError as exc:
            field_name = (exc.field or "body").replace("body.signatures[0]", "body")
            raise SignatureRefusedError("malformed", field_name, exc.message) from None
        ((signer, signature),) = parsed.signatures
        return signer, signature

    def receive_signature(self, sequence: int, entry: Mapping[str, JSONValue]) -> str:
        """Take a peer's checkpoint signature; return counted, pending or ignored.

        Raises SignatureRefusedError (malformed, unknownSigner, badSignature) when it does not
        verify under the signer's committee key over the node's own summary.
        """
        # TWIN-CONSENSUS-105 "A node MUST verify a checkpoint signature from a peer under the
        # signer's committee key over its own summary of that sequence, refusing it with 400
        # and properties.code (malformed, unknownSigner, badSignature) otherwise, and MUST
        # store a checkpoint only once signatures of a quorum of the committee verify."
        signer, signature = self._parse_signature(entry)
        if signer >= self._committee.size:
            raise SignatureRefusedError(
                "unknownSigner", "body.signer", f"{signer} is not a committee index"
            )
        summary: Mapping[str, JSONValue] | None = None
        pending = self._uncertified.get(sequence)
        if pending is not None:
            summary = pending.summary
        elif sequence <= self.last_certified:
            summary = self._ledger.certified_summary(sequence)
        if summary is None:
            if self.last_summary[0] < sequence <= self.last_certified + SIGNATURE_WINDOW:
                self._early_signatures.setdefault(sequence, {})[signer] = dict(entry)
                return "pending"
            return "ignored"
        try:
            key = self._committee.validator(signer).public_key
            verify_message(key, MessageKind.CHECKPOINT, summary, signature)
        except SignatureError as exc:
            raise SignatureRefusedError(
                "badSignature",
                "body.signature",
                f"does not verify under validator {signer} over the node's summary of "
                f"sequence {sequence}: {exc.message}",
            ) from None
        if pending is not None and signer not in pending.signatures:
            pending.signatures[signer] = signature
            self._store_certified()
        return "counted"

    def offer_certified(self, certified: object) -> bool:
        """Take a certified checkpoint fetched from a peer for a summary still uncertified here.

        It is used only when its summary is the node's own for that sequence and its
        signatures verify under the committee; return whether it was.
        """
        try:
            parsed = read_certified_checkpoint(certified, max_signers=self._committee.size)
        except LedgerError:
            return False
        pending = self._uncertified.get(parsed.fields.sequence)
        if pending is None:
            return False
        if checkpoint_digest(parsed.summary) != pending.digest:
            LOG.error(
                "a peer certified another summary for sequence %d than this node committed",
                parsed.fields.sequence,
            )
            return False
        try:
            check_certified_checkpoint(parsed, self._committee)
        except LedgerError:
            return False
        for signer, signature in parsed.signatures:
            pending.signatures.setdefault(signer, signature)
        self._store_certified()
        return True

    # -- certifying ---------------------------------------------------------------------------

    def _store_certified(self) -> None:
        """Store the checkpoints now certified (in one transaction) and answer once synced."""
        pending = self._uncertified.get(self.last_certified + 1)
        if pending is None or not self._committee.is_quorum(pending.signatures):
            return
        with self._ledger.write(durable=False) as connection:
            answered = self.certify_ready(connection)
        self._io.answer_after_sync(answered)

    def certify_ready(self, connection: sqlite3.Connection) -> list[Outcome]:
        """Store, in sequence order, every checkpoint whose signatures reach a quorum."""
        # TWIN-CONSENSUS-106 "A validator MUST answer a write only once the checkpoint holding
        # its transaction is certified by signatures of a quorum of the committee and stored
        # durably": the outcomes returned here are answered after this transaction commits.
        outcomes: list[Outcome] = []
        while (pending := self._uncertified.get(self.last_certified + 1)) is not None:
            if not self._committee.is_quorum(pending.signatures):
                break
            # TWIN-ANCHORING-025: the signatures in ascending order of their distinct signers.
            stored = pack_certified(pending.summary, sorted(pending.signatures.items()))
            sequence = self.last_certified + 1
            self._ledger.insert_checkpoint(
                connection, sequence, stored, summary_stored=pending.stored
            )
            outcomes.extend(pending.outcomes)
            LOG.debug("checkpoint %d certified", sequence)
            del self._uncertified[sequence]
            self._early_signatures.pop(sequence, None)
            self.last_certified = sequence
        return outcomes

    def stale(self, age: float) -> list[int]:
        """Sequences signed at least ``age`` seconds ago and still uncertified."""
        now = time.monotonic()
        return [seq for seq, item in self._uncertified.items() if now - item.created >= age]

    def resend(self, age: float) -> None:
        """Send the own signature again for checkpoints uncertified for ``age`` seconds."""
        now = time.monotonic()
        for sequence, pending in list(self._uncertified.items())[:256]:
            if now - pending.sent >= age:
                pending.sent = now
                self.send_signature(sequence, pending.signatures[self._own])


_PROBE_SUMMARY: dict[str, JSONValue] = make_checkpoint_summary(1, 1, 1, bytes(32), [], bytes(32), 0)
"""A well-formed summary, so that read_certified_checkpoint reads one signature entry."""
