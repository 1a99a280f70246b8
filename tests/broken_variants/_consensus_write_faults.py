"""Faults of the ledger's writes: admission limits, transaction status, block bounds, poison.

Issue 13's ledger findings, put back one at a time: transactions queued without the limits
every validator applies, a status route that claims to know every digest, blocks built past
the bounds a peer takes, and a transaction that cannot be applied retried for ever.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from tests.broken_variants._asgi import Context, HttpRequest, HttpResponse, json_response, rule
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import patched_copy, rebind

GATHER_SECONDS = 0.2
"""How long the unbounded-blocks variant waits for another transaction before proposing."""


def patch_limits_unchecked_at_admission() -> None:
    """Make the write routes queue their transaction without checking its limits."""
    from twin_reference import _node

    def unchecked(transaction: object, field: str = "transaction") -> int:
        return 0

    rebind(_node, "check_transaction_limits", unchecked)


def patch_depth_limit_doubled() -> None:
    """Make POST /consensus/transactions take transactions nesting up to 128 levels deep."""
    from twin_reference import _routes_consensus

    limits = patched_copy(
        "twin_spec._limits", {"if depth > MAX_TRANSACTION_DEPTH:": "if depth > 128:"}
    )
    blocks = patched_copy("twin_spec._blocks", {}, keep=("BlockRef", "Committee"))
    blocks.check_transaction_limits = limits.check_transaction_limits  # type: ignore[attr-defined]
    rebind(_routes_consensus, "check_transaction", blocks.check_transaction)


async def every_digest_pending(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer any well-formed digest the node does not know as pending, not 404."""
    response = await context.forward(request)
    digest = request.path.rsplit("/", 1)[-1]
    if response.status != 404 or not re.fullmatch("[0-9a-f]{64}", digest):
        return response
    return json_response({"digest": digest, "status": "pending"})


def patch_blocks_unbounded() -> None:
    """Gather queued transactions until none arrives for 0.2 s; put them all in one block."""
    from twin_reference import _proposing

    proposer = _proposing.Proposer
    start, propose_when_ready = proposer.__init__, proposer.propose_when_ready

    def unbounded(self: Any, *args: Any, **kwargs: Any) -> None:
        start(self, *args, **kwargs)
        self._settings = dataclasses.replace(
            self._settings, max_block_bytes=1 << 30, max_block_values=1 << 30
        )
        self._gathered = (0, 0.0)

    def gathering(self: Any, now: float) -> float | None:
        # The transactions wait in the mempool (pending) while the block gathers them.
        count, since = self._gathered
        if len(self._mempool) != count:
            self._gathered = count, since = len(self._mempool), now
        if self._mempool and now - since < GATHER_SECONDS:
            return float(GATHER_SECONDS - (now - since))
        return propose_when_ready(self, now)

    setattr(proposer, "__init__", unbounded)  # noqa: B010 - the method is replaced on purpose
    setattr(proposer, "propose_when_ready", gathering)  # noqa: B010 - replaced on purpose


def patch_failed_transaction_retried() -> None:
    """Make a transaction whose payload breaks the code applying it stop the commit, for ever."""
    from twin_reference import _committing

    copy = patched_copy(
        "twin_reference._transactions",
        {"    except Exception as exc:\n": "    except ArithmeticError as exc:\n"},
    )
    rebind(_committing, "apply_transaction", copy.apply_transaction)


FAULTS = (
    fault(
        "transaction-depth-limit-doubled",
        "anchoring",
        "TWIN-ANCHORING-060",
        "POST /consensus/transactions takes transactions nesting up to 128 levels deep, not "
        "64 (no peer takes a block holding one)",
        patch=patch_depth_limit_doubled,
        run_profile="consensus",
    ),
    fault(
        "transaction-limits-unchecked-at-admission",
        "anchoring",
        "TWIN-ANCHORING-061",
        "the write routes (all but POST /consensus/transactions) queue their transaction "
        "without checking the transaction limits: one over 65536 bytes is not refused with 413",
        patch=patch_limits_unchecked_at_admission,
    ),
    fault(
        "status-of-any-digest-pending",
        "consensus",
        "TWIN-CONSENSUS-132",
        "GET /consensus/transactions/{digest} answers a digest the node never saw as pending, "
        "not 404",
        rules=(rule("GET", "/consensus/transactions/[^/]+", every_digest_pending),),
    ),
    fault(
        "blocks-unbounded",
        "consensus",
        "TWIN-CONSENSUS-133",
        "the node gathers queued transactions until none arrives for 0.2 s and puts them all "
        "in one block, past 2 MiB if they are that large (no peer takes such a block)",
        patch=patch_blocks_unbounded,
    ),
    fault(
        "failed-transaction-retried",
        "consensus",
        "TWIN-CONSENSUS-131",
        "a committed transaction whose payload breaks the code applying it stops the commit, "
        "which the ledger then retries for ever",
        patch=patch_failed_transaction_retried,
        destructive=True,
    ),
)
