"""Faults of the consensus rules as ``POST /consensus/evaluate`` applies them.

Each fault changes one rule (a threshold, the vote, certificate, skip, commit, anchor or
sequencing rule, one receive rule, their order) in a copy of the spec core's module, and points
only the evaluate route at that copy: the node's own ledger keeps the true rules, so it still
commits and answers writes. The commit-rule and block-validity vectors, replayed through the
route, catch them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tests.broken_variants._asgi import Context, HttpRequest, HttpResponse, rule, with_json
from tests.broken_variants._fault import Fault, fault
from tests.broken_variants._patching import patched_copy, rebind
from twin_spec import BlockRef, Committee, Dag

COMMIT_RULE = "twin_spec._commit_rule"
KEEP_COMMIT_RULE = ("LeaderDecision", "LeaderDecisionKind", "BlockRef", "Committee", "Dag")
KEEP_BLOCKS = ("BlockRef", "Committee")
COMMIT_SEQUENCE = "twin_spec._commit_sequence"
KEEP_COMMIT_SEQUENCE = ("LeaderDecision", "LeaderDecisionKind", "BlockRef", "Committee", "Dag")
LEADER_SCHEDULE = "twin_spec._leader_schedule"
KEEP_LEADER_SCHEDULE = ("BlockRef", "Committee", "Dag", "CommittedSubDag")


def _evaluate_commit_rule(
    replacements: dict[str, str], schedule: dict[str, str] | None = None
) -> None:
    """Make the evaluate route decide and linearise with a changed copy of the commit rule.

    The route sequences through :class:`CommitSequencer`, so it gets a copy of the sequencer
    that calls the changed rule (and, with ``schedule``, a changed copy of the leader
    schedule); the node's own ledger keeps the spec core's.
    """
    from twin_reference import _routes_consensus

    rules = patched_copy(COMMIT_RULE, replacements, keep=KEEP_COMMIT_RULE)
    sequencing = patched_copy(COMMIT_SEQUENCE, {}, keep=KEEP_COMMIT_SEQUENCE)
    if schedule is not None:
        schedules = patched_copy(LEADER_SCHEDULE, schedule, keep=KEEP_LEADER_SCHEDULE)
        for name in ("LeaderSchedule", "VoteTally", "next_leader_schedule"):
            if hasattr(rules, name):
                setattr(rules, name, getattr(schedules, name))
            setattr(sequencing, name, getattr(schedules, name))
    sequencing.try_commit = rules.try_commit  # type: ignore[attr-defined]
    sequencing.linearize = rules.linearize  # type: ignore[attr-defined]
    rebind(_routes_consensus, "CommitSequencer", sequencing.CommitSequencer)


def _receive_rules_changed(
    blocks: dict[str, str],
    validity: dict[str, str] | None = None,
    dag: dict[str, str] | None = None,
    limits: dict[str, str] | None = None,
) -> Callable[[], None]:
    """A patch checking evaluated blocks with the receive rules changed as given.

    ``dag`` changes the DAG's own joining rules too (it checks ancestors and timestamps again
    when a block is added), for a fault of those; ``limits`` changes the transaction limits
    the rules apply to each transaction of a block.
    """

    def patch() -> None:
        from twin_reference import _routes_consensus

        alone = patched_copy("twin_spec._blocks", blocks, keep=KEEP_BLOCKS)
        if limits is not None:
            changed = patched_copy("twin_spec._limits", limits)
            alone.check_transaction_limits = changed.check_transaction_limits  # type: ignore[attr-defined]
        with_dag = patched_copy(
            "twin_spec._block_validity", validity or {}, keep=("Committee", "Dag", "BlockRef")
        )
        with_dag.check_block = alone.check_block  # type: ignore[attr-defined]
        if dag is not None:
            joining = patched_copy("twin_spec._dag", dag, keep=("BlockRef", "Committee"))
            rebind(_routes_consensus, "Dag", joining.Dag)

        def accept(block: object, committee: Committee, dag: Dag) -> BlockRef:
            ref: BlockRef = with_dag.validate_block(block, committee, dag)
            assert isinstance(block, dict)
            return dag.add(block, ref)

        rebind(_routes_consensus, "accept_block", accept)

    return patch


class CeilingQuorumCommittee(Committee):
    """A committee whose quorum is ceil(2T/3): two thirds, where the spec wants more."""

    @property
    def quorum_threshold(self) -> int:
        """-(-2T // 3), which equals 2T/3 (not 2T/3 + 1) when 3 divides T."""
        return -(-2 * self.total_stake // 3)


class PerEntryStakeCommittee(Committee):
    """A committee that counts an author's stake once per block or vote it meets."""

    def stake_of(self, indices: Iterable[int]) -> int:
        """The stake of every entry, repeats included."""
        return sum(self.validator(index).stake for index in indices)


def _evaluate_committee(kind: type[Committee]) -> Callable[[], None]:
    """A patch making the evaluate route read the committee as ``kind``."""

    def patch() -> None:
        from twin_reference import _routes_consensus

        rebind(_routes_consensus, "Committee", kind)

    return patch


def _commit_rule_changed(
    replacements: dict[str, str], schedule: dict[str, str] | None = None
) -> Callable[[], None]:
    """A patch making the evaluate route decide with the commit rule (or schedule) changed."""

    def patch() -> None:
        _evaluate_commit_rule(replacements, schedule)

    return patch


SLOT_VOTE = {
    "return voter.round == leader_block.round + 1 and leader_block in dag.ancestors(voter)": (
        "return voter.round == leader_block.round + 1 and any("
        "ref.round == leader_block.round and ref.author == leader_block.author "
        "for ref in dag.ancestors(voter))"
    ),
}
"""A block of round r+1 votes for every block of the leader's slot it could have seen."""
VALIDITY_CERTIFICATE = {
    "return committee.is_quorum(voters)": (
        "return committee.stake_of(voters) >= committee.validity_threshold"
    ),
}
"""A certificate needs the votes of a third of the stake, not of a quorum."""
STRICT_SKIP = {
    "if committee.is_quorum(blamers):": (
        "if committee.stake_of(blamers) > committee.quorum_threshold:"
    ),
}
"""A slot is skipped directly only when blamers carry more than a quorum."""
VALIDITY_DIRECT_COMMIT = {
    "        if committee.is_quorum(\n            ref.author for ref in certifiers": (
        "        if _by_a_third(\n            committee, [ref.author for ref in certifiers"
    ),
    "if is_certificate(dag, committee, ref, block)\n        )\n    ]": (
        "if is_certificate(dag, committee, ref, block)]\n        )\n    ]"
    ),
    "def _one_certified(": (
        "def _by_a_third(committee, authors):\n"
        "    return committee.stake_of(authors) >= committee.validity_threshold\n\n\n"
        "def _one_certified("
    ),
}
"""A slot is committed directly on certificates from a third of the stake."""
ANCHOR_PAST_UNDECIDED = {
    "            break\n        anchor = decision.block": (
        "            continue\n        anchor = decision.block"
    ),
}
"""The anchor search passes over undecided slots instead of stopping at the first."""
INDIRECT_BY_VOTE = {
    "if any(is_certificate(dag, committee, ref, block) for ref in certifiers)": (
        "if any(is_vote(dag, ref, block) for ref in _history_at(dag, anchor, round_ + 1))"
    ),
}
"""Through an anchor, a leader block is committed when the anchor's history votes for it."""
FIRST_OF_TWO_CERTIFIED = {"if len(supported) > 1:": "if len(supported) > 1 and False:"}
"""Of two certified blocks of one slot, the first is committed and no fault is reported."""
PAST_UNDECIDED_SLOTS = {
    "            break\n        decided.append(decision)": (
        "            continue\n        decided.append(decision)"
    ),
}
"""The decided slots after an undecided one are output too."""
LEADER_OFF_BY_ONE = {"leader = round_ % self.size": "leader = (round_ + 1) % self.size"}
"""The leader of round r is validator (r + 1) mod n."""

EVERY_PARENT_A_VOTE = {"                    and ancestor in self._leaders\n": ""}
"""A block scores for every parent it lists, leader of the window or not."""
TABLE_A_ROUND_LATE = {"leader_round + 1, tuple(scores)": "leader_round + 2, tuple(scores)"}
"""A new swap table applies from two rounds above its commit's leader round, not one."""
STAKE_LIMIT_ROUNDED_UP = {
    "limit = bad_nodes_stake_threshold * committee.total_stake // 100": (
        "limit = -(-bad_nodes_stake_threshold * committee.total_stake // 100)"
    ),
}
"""Good and bad nodes may hold up to P percent of the stake rounded up, not down."""
SWAP_BY_ROUND = {
    "return self.good[swap_draw(round_) % len(self.good)]": (
        "return self.good[round_ % len(self.good)]"
    ),
}
"""A swapped slot goes to the good node at position r mod g, not at the hash draw."""
DEPTH_UNCHECKED = {"if depth > MAX_TRANSACTION_DEPTH:": "if depth > 4 * MAX_TRANSACTION_DEPTH:"}
"""In a block's receive rules (``_blocks._check_limits``)."""
"""A block's transactions may nest 256 levels deep, not 64."""
TIMESTAMP_UNCHECKED = {"if timestamp < dag.timestamp(ancestor):": "if False:"}
DAG_TIMESTAMP_UNCHECKED = {"if timestamp < self.timestamp(ancestor):": "if False:"}
EXTRA_TRANSACTIONS = {"if len(sizes) > MAX_BLOCK_TRANSACTIONS:": "if len(sizes) > 4 * 1024:"}
EPOCH_UNCHECKED = {"if epoch != committee.epoch:": "if False:"}
ANCESTOR_AUTHOR_UNCHECKED = {
    "    for field, ref in zip(fields, ancestors, strict=True):\n"
    "        if ref.author >= committee.size:": (
        "    for field, ref in zip(fields, ancestors, strict=True):\n        if False:"
    ),
    "parents = [ref.author for ref in ancestors if ref.round == round_ - 1]": (
        "parents = [ref.author for ref in ancestors if ref.round == round_ - 1 "
        "and ref.author < committee.size]"
    ),
}
OWN_ANCESTOR_ANYWHERE = {"        if ref.author == author:": "        if False:"}
ANCESTOR_CODES = {
    "noAncestors",
    "unknownAncestorAuthor",
    "firstAncestorNotOwn",
    "ownAncestorNotFirst",
    "ancestorRoundNotBelow",
    "unknownGenesisAncestor",
    "duplicateAncestorAuthor",
    "parentQuorumMissing",
}
"""The codes of the ancestor rules, which the codes-in-own-words fault folds into one."""


async def ancestor_codes_folded(request: HttpRequest, context: Context) -> HttpResponse:
    """Name every refusal by an ancestor rule invalidAncestors, not the rule's own code."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    for verdict in body.get("verdicts", []):
        error = verdict.get("error") if isinstance(verdict, dict) else None
        if isinstance(error, dict) and error.get("code") in ANCESTOR_CODES:
            error["code"] = "invalidAncestors"
    return with_json(response, body)


def _rule_fault(
    name: str,
    requirement: str,
    description: str,
    patch: Callable[[], None],
    also: tuple[str, ...] = (),
) -> Fault:
    """A consensus fault of the evaluate route, patched into the variant's process."""
    return fault(name, "consensus", requirement, description, patch=patch, also=also)


FAULTS = (
    _rule_fault(
        "quorum-two-thirds-rounded-up",
        "TWIN-CONSENSUS-002",
        "evaluation takes ceil(2T/3) as the quorum, not 2T/3 + 1 (3 of 4, but 2 of 3)",
        _evaluate_committee(CeilingQuorumCommittee),
    ),
    _rule_fault(
        "stake-counted-per-block",
        "TWIN-CONSENSUS-003",
        "evaluation counts an equivocator's stake once per block it meets; on the vector of an "
        "equivocating certifier that decides as a commit on a third of the stake does, and the "
        "harness cannot tell the two apart there (TWIN-CONSENSUS-024)",
        _evaluate_committee(PerEntryStakeCommittee),
        also=("TWIN-CONSENSUS-024",),
    ),
    _rule_fault(
        "too-many-transactions-accepted",
        "TWIN-CONSENSUS-004",
        "evaluation accepts a block of up to 4096 transactions, not 1024",
        _receive_rules_changed(EXTRA_TRANSACTIONS),
    ),
    _rule_fault(
        "block-epoch-unchecked",
        "TWIN-CONSENSUS-008",
        "evaluation accepts a block of another epoch",
        _receive_rules_changed(EPOCH_UNCHECKED),
    ),
    _rule_fault(
        "block-timestamp-unchecked",
        "TWIN-CONSENSUS-013",
        "evaluation accepts a block whose timestamp is below an ancestor's",
        _receive_rules_changed({}, TIMESTAMP_UNCHECKED, DAG_TIMESTAMP_UNCHECKED),
    ),
    _rule_fault(
        "ancestor-author-unchecked",
        "TWIN-CONSENSUS-014",
        "evaluation accepts an ancestor whose author is not a committee index",
        _receive_rules_changed(ANCESTOR_AUTHOR_UNCHECKED),
    ),
    _rule_fault(
        "own-ancestor-anywhere",
        "TWIN-CONSENSUS-015",
        "evaluation accepts the author's own block as an ancestor after the first",
        _receive_rules_changed(OWN_ANCESTOR_ANYWHERE),
    ),
    fault(
        "ancestor-codes-folded",
        "consensus",
        "TWIN-CONSENSUS-016",
        "evaluation refuses a block breaking any ancestor rule as invalidAncestors, not by the "
        "code of the rule",
        rules=(rule("POST", "/consensus/evaluate", ancestor_codes_folded),),
    ),
    _rule_fault(
        "leader-off-by-one",
        "TWIN-CONSENSUS-020",
        "evaluation takes validator (r + 1) mod n as the leader of round r",
        _commit_rule_changed({}, LEADER_OFF_BY_ONE),
    ),
    _rule_fault(
        "reputation-counts-every-parent",
        "TWIN-CONSENSUS-114",
        "evaluation scores a validator for every parent its blocks list, not only for the "
        "window's committed leaders",
        _commit_rule_changed({}, EVERY_PARENT_A_VOTE),
    ),
    _rule_fault(
        "swap-table-a-round-late",
        "TWIN-CONSENSUS-115",
        "evaluation applies a new leader swap table from two rounds above its commit's leader "
        "round, not one",
        _commit_rule_changed({}, TABLE_A_ROUND_LATE),
    ),
    _rule_fault(
        "bad-node-stake-rounded-up",
        "TWIN-CONSENSUS-116",
        "evaluation lets the good and the bad nodes hold up to P percent of the stake rounded "
        "up (3 of 7 validators at 33 %, not 2)",
        _commit_rule_changed({}, STAKE_LIMIT_ROUNDED_UP),
    ),
    _rule_fault(
        "swap-by-round-not-draw",
        "TWIN-CONSENSUS-117",
        "evaluation gives a swapped slot to the good node at position r mod g, not to the one "
        "SHA-256 of the round draws",
        _commit_rule_changed({}, SWAP_BY_ROUND),
    ),
    _rule_fault(
        "block-transaction-depth-unchecked",
        "TWIN-CONSENSUS-130",
        "evaluation accepts a block whose transaction nests 256 levels deep, not only 64",
        _receive_rules_changed(DEPTH_UNCHECKED),
    ),
    _rule_fault(
        "vote-for-the-slot",
        "TWIN-CONSENSUS-021",
        "evaluation counts a round r+1 block as a vote for every block of the leader's slot; "
        "on the split-votes vector that sees two certified blocks, as a certificate on a third "
        "or an indirect commit on votes would, and the harness names the indirect decision "
        "the spec makes there (TWIN-CONSENSUS-026) or the fault the node reports where the "
        "spec sees none (TWIN-CONSENSUS-027)",
        _commit_rule_changed(SLOT_VOTE),
        also=("TWIN-CONSENSUS-026", "TWIN-CONSENSUS-027"),
    ),
    _rule_fault(
        "certificate-by-a-third",
        "TWIN-CONSENSUS-022",
        "evaluation counts a round r+2 block as a certificate on votes of a third of the stake; "
        "on the split-votes vector that sees two certified blocks, as a vote for the slot or "
        "an indirect commit on votes would, and the harness names the indirect decision the "
        "spec makes there (TWIN-CONSENSUS-026) or the fault the node reports where the spec "
        "sees none (TWIN-CONSENSUS-027)",
        _commit_rule_changed(VALIDITY_CERTIFICATE),
        also=("TWIN-CONSENSUS-026", "TWIN-CONSENSUS-027"),
    ),
    _rule_fault(
        "skip-needs-more-than-quorum",
        "TWIN-CONSENSUS-023",
        "evaluation skips a slot directly only when its blamers carry more than a quorum",
        _commit_rule_changed(STRICT_SKIP),
    ),
    _rule_fault(
        "direct-commit-by-a-third",
        "TWIN-CONSENSUS-024",
        "evaluation commits a slot directly on certificates from a third of the stake",
        _commit_rule_changed(VALIDITY_DIRECT_COMMIT),
    ),
    _rule_fault(
        "anchor-past-undecided",
        "TWIN-CONSENSUS-025",
        "evaluation's anchor search passes over undecided slots instead of stopping there",
        _commit_rule_changed(ANCHOR_PAST_UNDECIDED),
    ),
    _rule_fault(
        "indirect-commit-by-vote",
        "TWIN-CONSENSUS-026",
        "through an anchor, evaluation commits a leader block its history votes for; on the "
        "split-votes vector both blocks of the slot then count as certified, and the harness "
        "names the fault the node reports where the spec sees none (TWIN-CONSENSUS-027)",
        _commit_rule_changed(INDIRECT_BY_VOTE),
        also=("TWIN-CONSENSUS-027",),
    ),
    _rule_fault(
        "first-of-two-certified",
        "TWIN-CONSENSUS-027",
        "evaluation commits the first of two certified blocks of a slot and reports no fault",
        _commit_rule_changed(FIRST_OF_TWO_CERTIFIED),
    ),
    _rule_fault(
        "decided-past-undecided",
        "TWIN-CONSENSUS-028",
        "evaluation outputs the decided slots after an undecided one",
        _commit_rule_changed(PAST_UNDECIDED_SLOTS),
    ),
)
