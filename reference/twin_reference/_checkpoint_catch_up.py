"""Catching up past the peers' block retention, from certified checkpoints, at start-up.

A validator down (or cut off) for longer than its peers keep blocks (``--block-retention-rounds``
below their garbage-collection round) cannot fetch the blocks of the commits it missed: its
peers deleted them. What they keep for good is every commit, every certified checkpoint and
every committed transaction (TWIN-CONSENSUS-134), and those verify against the committee alone:

- each certified checkpoint's signatures verify under the committee (a quorum), and its summary
  chains onto the one before (the validator's own, or one taken before it);
- the commit of that sequence has the summary's ``commitDigest`` and chains onto the commit
  before it;
- the checkpoint's transactions, in commit order, are the leaves of its ``transactionsRoot``.

So before its engine loads, a validator of a committee of several asks its peers whether they
committed past it, and whether they still serve the leader block of the first commit it lacks.
If one has committed past it and none serves that block, it takes the commits from one peer at
a time, each verified as above, and applies their transactions as its own commit would have,
storing the commit, the outcome of each transaction and the certified checkpoint in one SQLite
transaction per checkpoint (an interrupted catch-up resumes where it stopped). Then it fetches
what its engine reads to resume: the blocks of the commits the leader schedule depends on
(``CommitSequencer.resume``) and the blocks above the new garbage-collection round, each pinned
by its digest and checked by the receive rules' signature check. From there it catches up by
blocks like any validator after a restart (``_sync.py``).

Nothing from a peer is taken on its word: a page that does not verify is dropped and the next
peer asked. Every request has a timeout and every loop a bound; the catch-up goes on while pages
are taken, and stops once :data:`CATCH_UP_SECONDS` pass without one (the node then starts with
what it took, and takes the rest when it starts again).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx

from twin_reference._ledger_codec import pack_certified
from twin_reference._ledger_store import LedgerStore, dump_json
from twin_reference._transactions import apply_transaction
from twin_spec import (
    COMMITS_PER_SCHEDULE,
    GC_DEPTH,
    BlockRef,
    Committee,
    TwinSpecError,
    block_digest,
    canonicalize,
    check_block,
    check_certified_checkpoint,
    check_checkpoint_follows,
    check_checkpoint_transactions,
    check_commit_follows,
    checkpoint_digest,
    commit_digest,
    gc_round_after,
    parse_json,
    read_certified_checkpoint,
    read_commit,
    transaction_digest,
)

LOG = logging.getLogger("twin_reference.catch_up")
CATCH_UP_SECONDS = 60.0
"""How long the catch-up may go without taking a page; the node then starts with what it took."""
REQUEST_SECONDS = 2.0
"""Each request's timeout (1 s to connect): a peer that does not answer is passed by."""
PAGE = 100
"""Checkpoints and commits asked for at once."""
TRANSACTION_PAGE = 1000
MAX_TRANSACTION_PAGES = 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
BLOCK_ATTEMPTS = 3
"""Checkpoints, then the blocks they resume from, taken again at most this many times."""
MAX_OWN_BLOCKS = 10_000
"""Its own blocks above its garbage-collection round read for their transactions, at most."""
MAX_ROUNDS_ABOVE = 1000
"""Rounds above the new garbage-collection round fetched before the engine starts, at most."""


class CatchUpError(Exception):
    """A peer's answer that does not verify (the next peer is asked)."""


def catch_up_past_retention(
    ledger: LedgerStore,
    committee: Committee,
    own_index: int,
    peers: Mapping[int, str],
    *,
    gc_depth: int = GC_DEPTH,
    patience_seconds: float = CATCH_UP_SECONDS,
) -> int:
    """Take, from the peers, the certified commits it can no longer catch up by blocks.

    Return how many commits it took (0 when the peers still serve the blocks it needs, or no
    peer is ahead, or none answers).
    """
    others = {index: url.rstrip("/") for index, url in peers.items() if index != own_index}
    if not others:
        return 0
    timeout = httpx.Timeout(REQUEST_SECONDS, connect=1.0)
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        peer = _Peers(client, others, patience_seconds)
        if not _behind_the_retention(ledger, peer):
            return 0
        last = ledger.last_commit()
        LOG.warning(
            "the peers no longer hold the blocks after commit %d: catching up from their"
            " certified checkpoints",
            last[0] if last is not None else 0,
        )
        pending = _own_pending(ledger, own_index, gc_depth)
        for _attempt in range(BLOCK_ATTEMPTS):
            _take_checkpoints(ledger, committee, peer)
            # The peers keep the blocks their own restart resumes from; had they committed far
            # on meanwhile, those it needs are gone again, and it takes the newer commits.
            if _take_blocks(ledger, committee, peer, gc_depth):
                break
        else:
            LOG.error("the blocks its commits resume from could not all be fetched")
        # Each checkpoint is stored in its own transaction: what a page refused later left
        # stored counts too.
        after = ledger.last_commit()
        taken = (after[0] if after is not None else 0) - (last[0] if last is not None else 0)
        if taken:
            _keep_pending(ledger, pending)
        LOG.warning("took %d commits from certified checkpoints", taken)
        return taken


class _Peers:
    """GETs to the peers, bounded in size and time; each asked in turn."""

    def __init__(self, client: httpx.Client, urls: Mapping[int, str], patience: float) -> None:
        self._client = client
        self._urls = dict(urls)
        self._patience = patience
        self.deadline = time.monotonic() + patience

    def progressed(self) -> None:
        """A page was taken: the deadline moves on."""
        self.deadline = time.monotonic() + self._patience

    @property
    def indices(self) -> list[int]:
        return sorted(self._urls)

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def get(self, index: int, path: str) -> Any:  # noqa: ANN401 - JSON
        """The JSON a peer answers with 200, else None (an error, a timeout, too large)."""
        if self.expired():
            return None
        try:
            with self._client.stream("GET", self._urls[index] + path) as answer:
                if answer.status_code != 200:
                    return None
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BODY_BYTES:
                        return None
        except httpx.HTTPError:
            return None
        try:
            return parse_json(bytes(body))
        except ValueError:
            return None


def _behind_the_retention(ledger: LedgerStore, peers: _Peers) -> bool:
    """Whether a peer committed past it and no peer serves the next commit's leader block."""
    last = ledger.last_commit()
    start = (last[0] if last is not None else 0) + 1
    next_commit = None
    for index in peers.indices:
        page = peers.get(index, f"/consensus/commits?from={start}&limit=1")
        commits = page.get("commits") if isinstance(page, dict) else None
        if isinstance(commits, list) and commits and isinstance(commits[0], dict):
            next_commit = commits[0]
            break
    if next_commit is None:
        return False
    try:
        leader = read_commit(next_commit)[3]
    except TwinSpecError:
        return False
    return not any(
        peers.get(index, f"/consensus/blocks/{leader.digest.hex()}") is not None
        for index in peers.indices
    )


def _own_pending(
    ledger: LedgerStore, own_index: int, gc_depth: int
) -> list[tuple[bytes, dict[str, Any]]]:
    """The transactions of its own blocks above its garbage-collection round.

    After a restart within the retention, the engine loads those blocks and queues again the
    transactions no commit took; blocks the catch-up leaves below the new garbage-collection
    round are not loaded, so their transactions are kept for it here.
    """
    last = ledger.last_commit()
    leader_round = BlockRef.from_json(last[2]["leader"]).round if last is not None else 0
    floor = gc_round_after(leader_round, gc_depth)
    found: list[tuple[bytes, dict[str, Any]]] = []
    for text in ledger.block_texts_of(own_index, floor + 1, MAX_OWN_BLOCKS):
        block = parse_json(text)
        listed = block.get("transactions") if isinstance(block, dict) else None
        for transaction in listed if isinstance(listed, list) else []:
            if not isinstance(transaction, dict):
                continue
            try:
                found.append((transaction_digest(transaction), transaction))
            except TwinSpecError:
                continue
    return found


def _keep_pending(ledger: LedgerStore, pending: list[tuple[bytes, dict[str, Any]]]) -> None:
    """Keep the transactions of its own blocks no commit took, to propose them again."""
    kept = 0
    for digest, transaction in pending:
        if not ledger.is_executed(digest):
            ledger.accept(digest, "", canonicalize(transaction))
            kept += 1
    if kept:
        LOG.warning("%d transactions of its own blocks no commit took are queued again", kept)


def _take_checkpoints(ledger: LedgerStore, committee: Committee, peers: _Peers) -> None:
    """Verify and apply certified checkpoints, a page at a time, from any peer that has them."""
    while not peers.expired():
        for index in peers.indices:
            try:
                stored = _take_page(ledger, committee, peers, index)
            except CatchUpError as exc:
                LOG.warning("validator %d's checkpoints do not verify: %s", index, exc)
                continue
            if stored:
                peers.progressed()
                break
        else:
            return  # no peer had a checkpoint more that verifies


def _take_page(ledger: LedgerStore, committee: Committee, peers: _Peers, index: int) -> int:
    """Take a page of one peer's certified checkpoints after the last one held.

    Return how many it stored: of commits it had made itself (left uncertified), only the
    certificate; of the others, the commit applied too. A checkpoint that does not verify
    raises :class:`CatchUpError`; those before it stay stored.
    """
    held = ledger.last_checkpoint()
    certified_to = held[0] if held is not None else 0
    last = ledger.last_commit()
    committed_to = last[0] if last is not None else 0
    start = certified_to + 1
    page = peers.get(index, f"/consensus/checkpoints?from={start}&limit={PAGE}")
    checkpoints = page.get("checkpoints") if isinstance(page, dict) else None
    if not isinstance(checkpoints, list) or not checkpoints:
        return 0
    commits: list[Any] = []
    if start + len(checkpoints) - 1 > committed_to:
        first = max(start, committed_to + 1)
        commits_page = peers.get(index, f"/consensus/commits?from={first}&limit={PAGE}")
        listed = commits_page.get("commits") if isinstance(commits_page, dict) else None
        if not isinstance(listed, list):
            raise CatchUpError(f"no commits from {first}")
        commits = listed
    previous_summary = _summary_of(ledger, certified_to)
    stored_count = 0
    for position, certified in enumerate(checkpoints[:PAGE]):
        sequence = start + position
        try:
            parsed = read_certified_checkpoint(certified, max_signers=committee.size)
            summary = check_certified_checkpoint(parsed, committee)
            check_checkpoint_follows(previous_summary, summary)
        except TwinSpecError as exc:
            raise CatchUpError(f"checkpoint {sequence}: {exc}") from None
        if summary["sequence"] != sequence or summary["commitIndex"] != sequence:
            raise CatchUpError(f"checkpoint {sequence} names sequence {summary['sequence']}")
        stored = pack_certified(summary, sorted(parsed.signatures))
        if sequence <= committed_to:
            # Its own commit, left uncertified: the peers' certificate of the same summary.
            own = ledger.summary_of(sequence)
            if own is None or checkpoint_digest(own) != checkpoint_digest(summary):
                raise CatchUpError(f"checkpoint {sequence} certifies another summary than its own")
            with ledger.write() as connection:
                ledger.insert_checkpoint(connection, sequence, stored, summary_stored=True)
        else:
            offset = sequence - max(start, committed_to + 1)
            if offset >= len(commits):
                break
            _apply_commit(ledger, peers, index, summary, commits[offset], stored)
        stored_count += 1
        previous_summary = summary
    return stored_count


def _summary_of(ledger: LedgerStore, sequence: int) -> dict[str, Any] | None:
    """The summary of a checkpoint held (certified or its own), None before the first."""
    if sequence == 0:
        return None
    summary = ledger.certified_summary(sequence) or ledger.summary_of(sequence)
    if summary is None:
        raise CatchUpError(f"the summary of checkpoint {sequence} is not held")
    return summary


def _apply_commit(
    ledger: LedgerStore,
    peers: _Peers,
    index: int,
    summary: Mapping[str, Any],
    commit: object,
    stored: bytes,
) -> None:
    """Verify one commit and its transactions against the summary, then apply and store them."""
    sequence = int(summary["sequence"])
    last = ledger.last_commit()
    try:
        check_commit_follows(last[2] if last is not None else None, commit)  # type: ignore[arg-type]
        digest = commit_digest(commit)  # type: ignore[arg-type]
    except TwinSpecError as exc:
        raise CatchUpError(f"commit {sequence}: {exc}") from None
    if digest.hex() != summary["commitDigest"]:
        raise CatchUpError(f"commit {sequence} is not the one checkpoint {sequence} certifies")
    transactions = _transactions(peers, index, sequence)
    try:
        digests = check_checkpoint_transactions(summary, transactions)
    except TwinSpecError as exc:
        raise CatchUpError(f"the transactions of checkpoint {sequence}: {exc}") from None
    assert isinstance(commit, dict)  # noqa: S101 - a commit read above
    timestamp = int(commit["timestampMs"])
    with ledger.write() as connection:
        ledger.insert_commit(connection, sequence, digest, commit)
        for position, (tx_digest, transaction) in enumerate(
            zip(digests, transactions, strict=True)
        ):
            effects = apply_transaction(connection, transaction, tx_digest, timestamp)
            ledger.insert_transaction(
                connection, tx_digest, sequence, position, transaction, effects
            )
        ledger.forget_accepted(connection, digests)
        ledger.insert_checkpoint(connection, sequence, stored, summary_stored=False)
        ledger.set_decided_round(connection, BlockRef.from_json(commit["leader"]).round)


def _transactions(peers: _Peers, index: int, sequence: int) -> list[Any]:
    """Every transaction of a checkpoint, from one peer, a page at a time."""
    transactions: list[Any] = []
    path = f"/consensus/checkpoints/{sequence}/transactions"
    for _page in range(MAX_TRANSACTION_PAGES):
        page = peers.get(index, f"{path}?from={len(transactions) + 1}&limit={TRANSACTION_PAGE}")
        items = page.get("transactions") if isinstance(page, dict) else None
        if not isinstance(items, list):
            raise CatchUpError(f"no transactions of checkpoint {sequence}")
        transactions.extend(items)
        if len(items) < TRANSACTION_PAGE:
            return transactions
    raise CatchUpError(f"checkpoint {sequence} has more than {MAX_TRANSACTION_PAGES} pages")


def _take_blocks(ledger: LedgerStore, committee: Committee, peers: _Peers, gc_depth: int) -> bool:
    """Fetch the blocks the engine reads to resume after the commits taken, and those above.

    Return whether every block it resumes from is stored (those above are fetched again by
    the engine's synchronizer if need be).
    """
    last = ledger.last_commit()
    if last is None:
        return True
    leader_round = BlockRef.from_json(last[2]["leader"]).round
    floor = gc_round_after(leader_round, gc_depth)
    needed = max(1, (last[0] // COMMITS_PER_SCHEDULE - 1) * COMMITS_PER_SCHEDULE + 1)
    wanted: list[BlockRef] = []
    for commit in ledger.commits_newest_first():
        index = int(commit["index"])
        refs = [BlockRef.from_json(item) for item in commit["blocks"]]
        wanted.extend(ref for ref in refs if not ledger.has_block(ref.digest))
        if index <= needed and BlockRef.from_json(commit["leader"]).round <= floor:
            break
    missing = 0
    for ref in wanted:
        if peers.expired():
            return False
        stored = False
        for index in peers.indices:
            block = peers.get(index, f"/consensus/blocks/{ref.digest.hex()}")
            if _store_block(ledger, committee, block, ref):
                stored = True
                break
        missing += not stored
    if missing:
        return False
    for round_ in range(floor + 1, floor + 1 + MAX_ROUNDS_ABOVE):
        found = False
        for index in peers.indices:
            page = peers.get(index, f"/consensus/blocks?round={round_}")
            blocks = page.get("blocks") if isinstance(page, dict) else None
            for block in blocks[: 2 * committee.size] if isinstance(blocks, list) else []:
                found |= _store_block(ledger, committee, block, None)
            if found:
                break
        if not found or peers.expired():
            break
    return True


def _store_block(
    ledger: LedgerStore, committee: Committee, block: object, ref: BlockRef | None
) -> bool:
    """Store a peer's block whose digest is ``ref``'s (any, when None) and signature checks."""
    if not isinstance(block, dict):
        return False
    try:
        check_block(block, committee)
        digest = block_digest(block)
        made = BlockRef(int(block["round"]), int(block["author"]), digest)
    except (TwinSpecError, KeyError, TypeError, ValueError):
        return False
    if ref is not None and made != ref:
        return False
    if ledger.has_block(digest):
        return True
    with ledger.write() as connection:
        ledger.insert_block(connection, made, dump_json(block), or_ignore=True)
    return True
