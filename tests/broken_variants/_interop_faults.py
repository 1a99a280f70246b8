"""Faults only a committee shows: each breaks a rule between members, caught by interop.

A node judged alone cannot show them (no other member updates a DID, no peer sees its blocks
across a restart, no frozen committee leaves a slot undecided), so they are not in
``CATALOG`` (whose variants a single-node run must catch) but in ``INTEROP``: served by
``python -m tests.broken_variants NAME`` like any other, and started as a client of
``twin-conformance interop`` by ``tests/conformance/test_interop_broken_clients.py``, which
names the scenario and the requirement that must catch each.
"""

from __future__ import annotations

from typing import Any

from tests.broken_variants._asgi import Context, HttpRequest, HttpResponse, rule
from tests.broken_variants._consensus_rule_faults import (
    KEEP_COMMIT_RULE,
    KEEP_COMMIT_SEQUENCE,
    VALIDITY_DIRECT_COMMIT,
    PerEntryStakeCommittee,
)
from tests.broken_variants._fault import fault
from tests.broken_variants._patching import patched_copy, rebind
from twin_spec import CommitSequencer, Committee

DID_PATH = "/identity/(?P<did>did:[^/]+)"
STALE = "stale-documents"


def _cache(context: Context) -> dict[tuple[str, str], HttpResponse]:
    """The resolver's cache: (DID, Accept) to the first 200 it answered."""
    found: dict[tuple[str, str], HttpResponse] = context.memory.setdefault(STALE, {})
    return found


async def resolve_cached(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer a DID's first resolution again, whatever changed since (a stale resolver)."""
    key = (request.params["did"], request.headers.get("accept", ""))
    cached = _cache(context).get(key)
    if cached is not None:
        return HttpResponse(cached.status, list(cached.headers), cached.body)
    response = await context.forward(request)
    if response.status == 200:
        _cache(context)[key] = response
    return response


async def write_refreshes(request: HttpRequest, context: Context) -> HttpResponse:
    """A write through this node forgets the DID's cached document (its own updates show)."""
    did = request.params["did"]
    for key in [key for key in _cache(context) if key[0] == did]:
        del _cache(context)[key]
    return await context.forward(request)


def patch_dag_lost_on_restart() -> None:
    """Make the node lose, at every start, the blocks above its last commit's leader round."""
    from twin_reference import _ledger

    engine = _ledger.LedgerEngine
    load = engine._load

    def load_truncated(self: Any) -> None:
        last = self._ledger.last_commit()
        floor = int(last[2]["leader"]["round"]) if last is not None else 0
        with self._ledger.write(durable=True) as connection:
            connection.execute("DELETE FROM blocks WHERE round > ?", (floor,))
        load(self)

    setattr(engine, "_load", load_truncated)  # noqa: B010 - the method is replaced on purpose


def patch_commit_without_quorum() -> None:
    """Make the node's own ledger commit a slot directly on certificates of a third."""
    from twin_reference import _committing

    rules = patched_copy("twin_spec._commit_rule", VALIDITY_DIRECT_COMMIT, keep=KEEP_COMMIT_RULE)
    sequencing = patched_copy("twin_spec._commit_sequence", {}, keep=KEEP_COMMIT_SEQUENCE)
    sequencing.try_commit = rules.try_commit  # type: ignore[attr-defined]
    sequencing.linearize = rules.linearize  # type: ignore[attr-defined]
    rebind(_committing, "CommitSequencer", sequencing.CommitSequencer)


class _PerEntrySequencer(CommitSequencer):
    """The spec core's sequencer over a committee that counts stake once per block met."""

    def __init__(self, committee: Committee, **options: Any) -> None:
        super().__init__(PerEntryStakeCommittee.from_json(committee.to_json()), **options)


def patch_equivocator_counted_twice() -> None:
    """Make the node's own ledger count a validator's stake once per block of it it meets."""
    from twin_reference import _committing

    rebind(_committing, "CommitSequencer", _PerEntrySequencer)


INTEROP = (
    fault(
        "resolver-stale-after-remote-update",
        "consensus",
        "TWIN-CONSENSUS-113",
        "GET /identity/{did} answers a DID's first resolution again after another member "
        "updated it (a write through this node refreshes it, so its own updates show)",
        rules=(
            rule("GET", DID_PATH, resolve_cached),
            rule("POST PUT DELETE", f"{DID_PATH}(/.*)?", write_refreshes),
        ),
    ),
    fault(
        "dag-lost-on-restart",
        "consensus",
        "TWIN-CONSENSUS-107",
        "at every start the node deletes the blocks above its last commit's leader round, so "
        "after a restart it signs again rounds it had signed",
        patch=patch_dag_lost_on_restart,
    ),
    fault(
        "commit-without-quorum",
        "consensus",
        "TWIN-CONSENSUS-024",
        "the node's ledger commits a slot directly on the certificates of a third of the "
        "stake, not a quorum (evaluation keeps the spec's rule)",
        patch=patch_commit_without_quorum,
    ),
    fault(
        "equivocator-counted-twice",
        "consensus",
        "TWIN-CONSENSUS-003",
        "the node's ledger counts a validator's stake once per block of it a count meets, so "
        "an equivocator's two blocks of one round count twice (evaluation keeps the spec's)",
        patch=patch_equivocator_counted_twice,
    ),
)
"""Faults of a committee member, each caught by the interop scenario that observes it."""
