"""Catching up with the peers: missing ancestors, whole rounds, and certified checkpoints.

Blocks from peers are self-authenticating (signed by a committee key, pinned by digest), so
the validator fetches what it misses from any peer and checks it by the receive rules like a
pushed block:

- a block whose ancestors are missing is held (``_receiving.py``) and each missing ancestor is
  fetched by digest (``GET /consensus/blocks/{digest}``), first from the validator that
  referenced it, then from its author, then from the others; at most
  :data:`FETCH_BATCH` at a time and :data:`FETCH_PASSES` batches per pass, each block at most
  :data:`FETCH_ATTEMPTS` times (a block nobody has is given up, and what waits for it expires);
- a validator that finds itself more than a round or two behind (a held block far above its
  quorum round, or a probe of a peer while no block has arrived for a while) fetches whole
  rounds (``GET /consensus/blocks?round=N``) upwards from its quorum round, at most
  :data:`MAX_SYNC_ROUNDS` per pass, and does not propose while it does so. Each round is asked
  of every peer in turn, peers whose outbox backs off included, until one serves it; the
  validator counts as caught up only once every peer was asked for the next round and none
  served a block of it. A peer that gave no answer at all counts as asked, and is passed by,
  for :attr:`NetworkSettings.backoff_max_seconds` (one timeout, not one a round); a pass in
  which no peer answered is tried again after as long, and one that reached its bound goes on
  at once;
- a validator whose quorum round has not moved for :data:`STALL_SECONDS` although something
  waits for a commit (after a partition heals, each side may hold blocks of the top rounds the
  other never received, and no new block will reference them) asks every peer for the rounds
  at and around its own highest rounds and sends its own latest blocks to every peer again,
  every :data:`STALL_PROBE_MIN_SECONDS` to :data:`STALL_PROBE_MAX_SECONDS` (doubling while a
  probe finds nothing), as IOTA's synchronizer periodically fetches what it lacks from several
  peers and a re-subscribing peer streams its blocks again from the last round received;
- a checkpoint left uncertified for :data:`STALE_CHECKPOINT_SECONDS` (the peers' signatures
  were lost, or the validator was down) gets the validator's signature sent again, and the
  certified checkpoints are fetched from a peer (``GET /consensus/checkpoints?from=S``) and
  used when their summary is the validator's own and their signatures verify.

Every loop is bounded per pass, and a pass runs at most every :data:`TICK_SECONDS` unless
something new is wanted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from enum import Enum
from typing import Protocol

from twin_reference._errors import ApiError
from twin_reference._peers import Fetched, PeerNetwork
from twin_spec import (
    BlockRef,
    BlockRejectedError,
    BlockRejection,
    JSONValue,
    LedgerError,
    TwinSpecError,
    block_ref,
    read_commit,
)

LOG = logging.getLogger("twin_reference.sync")
TICK_SECONDS = 0.25
FETCH_BATCH = 32
FETCH_PASSES = 16
FETCH_ATTEMPTS = 8
MAX_WANTED = 4096
MAX_SYNC_ROUNDS = 1000
PROBE_IDLE_SECONDS = 1.0
PROBE_INTERVAL_SECONDS = 2.0
STALE_CHECKPOINT_SECONDS = 1.0
RETENTION_CHECK_SECONDS = 10.0
"""Without a commit that long, it asks whether its peers still hold the blocks it needs."""
CHECKPOINT_PAGE = 100
STALL_SECONDS = 1.0
STALL_PROBE_MIN_SECONDS = 0.25
STALL_PROBE_MAX_SECONDS = 1.0
STALL_ROUNDS_BELOW = 1
"""Rounds asked below the quorum round (the last round a quorum holds may lack blocks)."""
STALL_ROUNDS_ABOVE = 2
"""Rounds asked above the highest round held (a peer may be slightly ahead)."""
MAX_STALL_ROUNDS = 8
RESEND_BLOCKS = 4


class PassEnd(Enum):
    """How a pass of catching up by rounds ended."""

    CAUGHT_UP = "caught up"
    """Every peer was asked for the next round; some answered, and none served a block of it."""
    NO_PEER_ANSWERED = "no peer answered"
    """No peer answered at all: still behind, tried again after a pause."""
    BOUND = "bound"
    """The pass fetched its bound of rounds: still behind, the next pass goes on."""


class SyncedLedger(Protocol):
    """What the synchronizer needs of the validator (``_ledger.py``'s LedgerEngine)."""

    catching_up: bool

    @property
    def quorum_round(self) -> int:
        """The highest round at which the DAG holds blocks of a quorum."""

    @property
    def highest_round(self) -> int:
        """The highest round of any block in the DAG."""

    @property
    def wants_progress(self) -> bool:
        """Whether something waits for a commit."""

    @property
    def last_peer_block(self) -> float:
        """When (time.monotonic) a peer's block last passed the receive rules."""

    def own_blocks_to_resend(self, from_round: int, limit: int) -> list[bytes]:
        """The validator's sent blocks from ``from_round`` up, as JSON texts."""

    def receive_block(self, block: object, size: int = 0) -> tuple[BlockRef, bool]:
        """Check a block by the receive rules and keep it."""

    def wanted(self) -> list[BlockRef]:
        """Ancestors that held blocks are waiting for, lowest round first."""

    def held_above(self, round_: int) -> bool:
        """Whether a held block is above ``round_``."""

    def expire_held(self) -> None:
        """Forget held blocks that waited too long."""

    @property
    def commit_index(self) -> int:
        """The index of the last commit applied."""

    def note_beyond_retention(self, first_missing: int | None) -> None:
        """The first commit its peers no longer hold the blocks of, or None (it moved on)."""

    def stale_checkpoints(self, age: float) -> list[int]:
        """Sequences signed at least ``age`` seconds ago and still uncertified."""

    def resend_signatures(self, age: float) -> None:
        """Send the own signature again for checkpoints uncertified for ``age`` seconds."""

    def offer_certified(self, certified: object) -> bool:
        """Take a certified checkpoint fetched from a peer."""

    def wake(self) -> None:
        """Have the validator's loop look at the state again."""


class Synchronizer:
    """Fetches what the validator misses from its peers, in bounded passes."""

    def __init__(self, engine: SyncedLedger, network: PeerNetwork) -> None:
        self._engine = engine
        self._network = network
        self._hints: dict[BlockRef, int] = {}
        self._attempts: dict[BlockRef, int] = {}
        self._kick = asyncio.Event()
        self._behind = True
        self._behind_signals = 0
        self._retry_at = 0.0
        self._last_source: int | None = None
        self._silent_until: dict[int, float] = {}
        """Peers that gave no answer to a round lately, and until when a pass passes them by."""
        self._last_probe = 0.0
        self._turn = 0
        self._task: asyncio.Task[None] | None = None
        self._stall_round = -1
        self._stall_since = 0.0
        self._stall_backoff = STALL_PROBE_MIN_SECONDS
        self._next_stall_probe = 0.0
        self._stall_task: asyncio.Task[None] | None = None
        self._commit_seen = -1
        self._commit_since = 0.0
        self._next_retention_check = 0.0

    def start(self) -> None:
        """Start the sync loop (a committee of one has no peers and needs none)."""
        if self._network.indices:
            self._task = asyncio.create_task(self._run(), name="twin-sync")

    async def stop(self) -> None:
        """Stop the sync loop (and a stall probe under way)."""
        if self._stall_task is not None:
            self._stall_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stall_task
            self._stall_task = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def want(self, ref: BlockRef, referenced_by: int) -> None:
        """Note a missing block and the validator whose block referenced it."""
        if ref not in self._hints and len(self._hints) < MAX_WANTED:
            self._hints[ref] = referenced_by
        self._kick.set()

    def behind(self) -> None:
        """Note that the validator is behind its peers: fetch whole rounds."""
        self._behind = True
        self._behind_signals += 1
        self._kick.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), TICK_SECONDS)
            self._kick.clear()
            try:
                self._watch_stall()
                if self._engine.held_above(self._engine.quorum_round + 2):
                    self.behind()
                # Far behind, the round pass fetches upwards from the DAG; walking down from
                # the held blocks' ancestors one digest at a time would only delay it.
                await self._fetch_wanted(self._engine.quorum_round + 2 if self._behind else None)
                await self._catch_up()
                await self._certify_stale()
                await self._check_retention()
                self._engine.expire_held()
                wanted = set(self._engine.wanted())
                self._hints = {ref: hint for ref, hint in self._hints.items() if ref in wanted}
                self._attempts = {
                    ref: count for ref, count in self._attempts.items() if ref in wanted
                }
            except Exception:
                # Whatever failed, the loop goes on: a synchronizer that stops leaves the
                # validator behind for good (the log collapses a failure that repeats).
                LOG.exception("a sync pass failed")

    def _sources(self, first: list[int]) -> list[int]:
        """Peers to ask, the given ones first, then the rest in turn."""
        peers = self._network.indices
        self._turn = (self._turn + 1) % max(1, len(peers))
        rest = peers[self._turn :] + peers[: self._turn]
        ordered = [index for index in first if index in peers]
        ordered += [index for index in rest if index not in ordered]
        # Peers that gave no answer lately go last (a request to a silent peer costs a timeout).
        now = time.monotonic()
        return [i for i in ordered if not self._lately_silent(i, now)] + [
            i for i in ordered if self._lately_silent(i, now)
        ]

    async def _get(self, index: int, path: str, *, even_if_backing_off: bool = False) -> Fetched:
        """GET from a peer, noting whether it answered (see :meth:`_lately_silent`)."""
        fetched = await self._network.fetch_json(
            index, path, even_if_backing_off=even_if_backing_off
        )
        if fetched.answered:
            self._silent_until.pop(index, None)
        elif fetched.asked:
            pause = self._network.settings.backoff_max_seconds
            self._silent_until[index] = time.monotonic() + pause
        return fetched

    def _lately_silent(self, index: int, now: float) -> bool:
        """Whether the peer gave no answer at all to a fetch in the last backoff period."""
        return self._silent_until.get(index, 0.0) > now

    # -- missing ancestors --------------------------------------------------------------------

    async def _fetch_wanted(self, up_to: int | None = None) -> None:
        """Fetch missing ancestors by digest, lowest round first (only up to round ``up_to``)."""
        for _ in range(FETCH_PASSES):
            wanted = [
                ref
                for ref in self._engine.wanted()
                if self._attempts.get(ref, 0) < FETCH_ATTEMPTS
                and (up_to is None or ref.round <= up_to)
            ][:FETCH_BATCH]
            if not wanted:
                return
            for ref in wanted:
                self._attempts[ref] = self._attempts.get(ref, 0) + 1
            found = await asyncio.gather(*(self._fetch(ref) for ref in wanted))
            if not any(found):
                given_up = [ref for ref in wanted if self._attempts[ref] >= FETCH_ATTEMPTS]
                if given_up:
                    LOG.info(
                        "%d missing blocks given up after %d attempts each (lowest round %d)",
                        len(given_up),
                        FETCH_ATTEMPTS,
                        min(ref.round for ref in given_up),
                    )
                return

    async def _fetch(self, ref: BlockRef) -> bool:
        # TWIN-CONSENSUS-112 "A validator that misses blocks MUST fetch them from its peers
        # ... and check them by the receive rules": a fetched block goes through
        # receive_block like a pushed one.
        hint = self._hints.get(ref)
        for index in self._sources([*([hint] if hint is not None else []), ref.author]):
            if self._lately_silent(index, time.monotonic()):
                continue  # asked again once the pause is over (FETCH_ATTEMPTS bounds the tries)
            block = (await self._get(index, f"/consensus/blocks/{ref.digest.hex()}")).body
            if not isinstance(block, dict):
                continue
            # A block held for its own missing ancestors was found all the same: asking the
            # next peer for it would only fetch it again.
            if self._offer(block, held_counts=True) == ref:
                return True
        return False

    def _offer(self, block: JSONValue, *, held_counts: bool = False) -> BlockRef | None:
        """Take a fetched block through the receive rules; its reference if it was taken.

        With ``held_counts``, also the reference of a block kept aside until its own missing
        ancestors arrive.
        """
        try:
            ref, _added = self._engine.receive_block(block)
        except BlockRejectedError as exc:
            if (
                held_counts
                and exc.code is BlockRejection.MISSING_ANCESTOR
                and isinstance(block, dict)
            ):
                return block_ref(block)
            LOG.debug("fetched block refused: %s", exc)
            return None
        except (LedgerError, ApiError) as exc:
            LOG.debug("fetched block refused: %s", exc)
            return None
        return ref

    # -- whole rounds -------------------------------------------------------------------------

    async def _catch_up(self) -> None:
        engine = self._engine
        now = time.monotonic()
        if not self._behind:
            idle = now - engine.last_peer_block >= PROBE_IDLE_SECONDS
            if not idle or now - self._last_probe < PROBE_INTERVAL_SECONDS:
                return
            self._last_probe = now
            probe = engine.quorum_round + 2
            (index,) = self._sources([])[:1]
            blocks, fetched = await self._round_blocks(index, probe)
            LOG.debug("idle probe: peer %d for round %d: %s", index, probe, fetched.outcome)
            if not blocks:
                return
            LOG.info(
                "idle probe: peer %d holds round %d (%d blocks): catching up",
                index,
                probe,
                len(blocks),
            )
            self._behind = True
        if now < self._retry_at:
            return
        signals = self._behind_signals
        ended = await self._sync_rounds()
        if ended is PassEnd.CAUGHT_UP:
            # Behind again only if told so while the pass ran (a held block far above it).
            self._behind = self._behind_signals != signals
        elif ended is PassEnd.NO_PEER_ANSWERED:
            # Still behind; the next pass waits as long as the outboxes back off at most.
            self._retry_at = time.monotonic() + self._network.settings.backoff_max_seconds

    async def _round_blocks(self, index: int, round_: int) -> tuple[list[JSONValue], Fetched]:
        """The blocks one peer serves for one round, and how it answered.

        Asked even while the peer's outbox backs off (``_peers.py``): every caller paces its
        own requests (the idle probe, a pass of at most one request per peer and round), and
        a peer that did not take the validator's messages during a partition has the rounds
        it needs once the partition heals. Each request is bounded by the network's timeouts.
        """
        fetched = await self._get(
            index, f"/consensus/blocks?round={round_}", even_if_backing_off=True
        )
        answer = fetched.body
        blocks = answer.get("blocks") if isinstance(answer, dict) else None
        if not isinstance(blocks, list):
            if fetched.body is not None:
                fetched = Fetched(None, "no list of blocks", answered=True)
            return [], fetched
        return blocks, Fetched(None, f"{len(blocks)} blocks", answered=True)

    async def _sync_rounds(self) -> PassEnd:
        """Fetch rounds upwards from the quorum round until no peer has the next one."""
        # TWIN-CONSENSUS-112 "... when rounds behind it MUST ask every peer for a round, a peer
        # it currently fails to send to included, before it concludes that no peer holds it":
        # each round is asked of every peer in turn (the one that gave the last round first)
        # until one serves blocks of it; a peer that did not answer at all is not asked again
        # in this pass, so a pass costs at most one timeout per peer besides one request per
        # round.
        engine = self._engine
        engine.catching_up = True
        first = round_ = engine.quorum_round + 1
        taken = 0
        silent: set[int] = set()
        ended, why = PassEnd.BOUND, f"the bound of {MAX_SYNC_ROUNDS} rounds a pass"
        LOG.info("catching up from round %d (highest round held %d)", first, engine.highest_round)
        try:
            for _ in range(MAX_SYNC_ROUNDS):
                blocks, answers, answered = await self._fetch_round(round_, silent)
                if not blocks:
                    ended = PassEnd.CAUGHT_UP if answered else PassEnd.NO_PEER_ANSWERED
                    why = f"no block of round {round_}: {'; '.join(answers)}"
                    break
                for block in blocks:
                    taken += int(self._offer(block) is not None)
                await self._fetch_wanted(round_)
                round_ = max(round_ + 1, engine.quorum_round + 1)
                await asyncio.sleep(0)
            LOG.info(
                "catch-up pass from round %d: %d blocks taken, quorum round %d, highest %d;"
                " ended by %s",
                first,
                taken,
                engine.quorum_round,
                engine.highest_round,
                why,
            )
        finally:
            engine.catching_up = False
            engine.wake()
        return ended

    async def _fetch_round(
        self, round_: int, silent: set[int]
    ) -> tuple[list[JSONValue], list[str], bool]:
        """Ask the peers in turn for one round: its blocks, every answer, whether one answered.

        A peer that gives no answer joins ``silent`` and is not asked again by this pass, nor
        by the next passes for :attr:`NetworkSettings.backoff_max_seconds` (a pass that asked
        no peer at all is tried again after as long, when every peer is asked again).
        """
        first = [self._last_source] if self._last_source is not None else []
        answers: list[str] = []
        answered = False
        now = time.monotonic()
        for index in self._sources(first):
            if index in silent or self._lately_silent(index, now):
                answers.append(f"peer {index} not asked (no answer lately)")
                continue
            blocks, fetched = await self._round_blocks(index, round_)
            LOG.debug("round %d from peer %d: %s", round_, index, fetched.outcome)
            answers.append(f"peer {index} {fetched.outcome}")
            if not fetched.answered:
                silent.add(index)
                continue
            answered = True
            if blocks:
                self._last_source = index
                return blocks, answers, True
        return [], answers, answered

    # -- a stalled quorum round (a healed partition) -------------------------------------------

    def _watch_stall(self) -> None:
        """Start a stall probe when the quorum round has not moved while something waits."""
        engine = self._engine
        now = time.monotonic()
        round_ = engine.quorum_round
        if round_ != self._stall_round or not engine.wants_progress:
            self._stall_round, self._stall_since = round_, now
            self._stall_backoff = STALL_PROBE_MIN_SECONDS
            self._next_stall_probe = 0.0
            return
        if (
            now - self._stall_since < STALL_SECONDS
            or now < self._next_stall_probe
            or (self._stall_task is not None and not self._stall_task.done())
            or engine.catching_up
        ):
            return
        self._stall_task = asyncio.create_task(self._unstall(round_), name="twin-sync-stall")

    async def _unstall(self, quorum_round: int) -> None:
        # TWIN-CONSENSUS-118 "A validator whose quorum round has not moved for a while although
        # it has something to commit MUST, periodically and with bounded requests, ask every
        # peer for the blocks of the rounds at and around its own highest rounds ... and MUST
        # send its own blocks of those rounds to every peer again": every peer, concurrently,
        # each request bounded by the network's timeouts, the probes spaced by a backoff.
        engine = self._engine
        low = max(1, quorum_round - STALL_ROUNDS_BELOW)
        high = min(
            max(engine.highest_round, quorum_round) + STALL_ROUNDS_ABOVE, low + MAX_STALL_ROUNDS - 1
        )
        found = 0
        try:
            resend = engine.own_blocks_to_resend(low, RESEND_BLOCKS)
            for index in self._network.indices:
                if not self._network.queued(index):
                    for text in resend:
                        self._network.send(index, "/consensus/blocks", text)
            counts = await asyncio.gather(
                *(
                    self._probe_rounds(index, low, high, quorum_round)
                    for index in self._network.indices
                )
            )
            found = sum(counts)
        except (OSError, LedgerError, ApiError, ValueError, KeyError, TypeError):
            LOG.exception("a stall probe failed")
        if found:
            LOG.info("stalled at round %d: %d blocks fetched from the peers", quorum_round, found)
            self._stall_backoff = STALL_PROBE_MIN_SECONDS
            self._kick.set()
        else:
            self._stall_backoff = min(STALL_PROBE_MAX_SECONDS, 2 * self._stall_backoff)
        self._next_stall_probe = time.monotonic() + self._stall_backoff

    async def _probe_rounds(self, index: int, low: int, high: int, quorum_round: int) -> int:
        """Ask one peer for rounds ``low`` to ``high``; return how many new blocks it gave.

        A peer that serves round ``high`` although it is two or more above ``quorum_round``
        (the validator's when the probe began) has the validator behind: the round pass then
        catches it up.
        """
        added = 0
        for round_ in range(low, high + 1):
            answer = (
                await self._get(
                    index, f"/consensus/blocks?round={round_}", even_if_backing_off=True
                )
            ).body
            blocks = answer.get("blocks") if isinstance(answer, dict) else None
            if not isinstance(blocks, list):
                return added  # unreachable, or no such round: no need to ask higher
            if blocks and round_ == high and high >= quorum_round + 2:
                # The peer holds rounds above all the validator asked for: it is behind, and
                # the round pass (every peer, upwards from the quorum round) catches it up.
                LOG.info("stall probe: peer %d holds round %d: catching up", index, round_)
                self.behind()
            for block in blocks:
                try:
                    _ref, new = self._engine.receive_block(block)
                except (LedgerError, ApiError) as exc:
                    LOG.debug("probed block refused: %s", exc)
                    continue
                added += int(new)
        return added

    # -- beyond the peers' block retention ----------------------------------------------------

    async def _check_retention(self) -> None:
        """Note when its peers committed past it and none holds the blocks it needs any more.

        Blocks are deleted below a peer's retention; a validator that stays up while cut off
        longer than that finds no peer serving the rounds it asks for, and cannot tell that from
        rounds not made yet. So, while it has not committed for RETENTION_CHECK_SECONDS, it asks
        whether a peer has its next commit and whether any peer still serves that commit's
        leader block; when peers answer and none does, the engine reports it (its catch-up from
        certified checkpoints runs when the node starts, ``_checkpoint_catch_up.py``).
        """
        engine = self._engine
        now = time.monotonic()
        index = engine.commit_index
        if index != self._commit_seen:
            if self._commit_seen >= 0:
                engine.note_beyond_retention(None)
            self._commit_seen, self._commit_since = index, now
            return
        if now - self._commit_since < RETENTION_CHECK_SECONDS:
            return
        if now < self._next_retention_check:
            return
        self._next_retention_check = now + RETENTION_CHECK_SECONDS
        leader: BlockRef | None = None
        for peer in self._sources([]):
            body = (await self._get(peer, f"/consensus/commits?from={index + 1}&limit=1")).body
            commits = body.get("commits") if isinstance(body, dict) else None
            if isinstance(commits, list) and commits:
                try:
                    leader = read_commit(commits[0])[3]
                except TwinSpecError:
                    continue
                break
        if leader is None:
            return  # no peer committed past it (or none answers)
        answered = False
        for peer in self._sources([]):
            fetched = await self._get(peer, f"/consensus/blocks/{leader.digest.hex()}")
            if fetched.body is not None:
                return  # a peer still holds it: catching up by blocks goes on
            answered |= fetched.answered
        if answered:
            engine.note_beyond_retention(index + 1)

    # -- checkpoints --------------------------------------------------------------------------

    async def _certify_stale(self) -> None:
        engine = self._engine
        stale = engine.stale_checkpoints(STALE_CHECKPOINT_SECONDS)
        if not stale:
            return
        engine.resend_signatures(2 * STALE_CHECKPOINT_SECONDS)
        start = min(stale)
        (index,) = self._sources([])[:1]
        answer = (
            await self._get(index, f"/consensus/checkpoints?from={start}&limit={CHECKPOINT_PAGE}")
        ).body
        checkpoints = answer.get("checkpoints") if isinstance(answer, dict) else None
        for certified in checkpoints if isinstance(checkpoints, list) else []:
            engine.offer_certified(certified)
