"""Commit-rule cases written in the DAG notation of :mod:`.dag_notation`, as plain data.

Every expectation was worked out by hand from the rules (spec/prose/consensus.md). Leaders are
fixed: round r is led by validator r mod n, so with four validators B leads round 1, C round 2,
D round 3, A round 4, B round 5. Quorum: 1 of 1, 3 of 4, 5 of 7, 7 of 10 (equal stakes).

A decision is written ``commit B1`` (direct), ``commit B1 indirect``, ``skip``, ``skip
indirect``, ``undecided`` or ``fault`` (two certified blocks in the slot). Every slot from round 1
to (highest round - 2) is listed. ``commits`` lists the leaders ``try_commit`` outputs from round
0, in order; ``linear`` gives, for some of them, the blocks of their commit. A case may set
``gc_depth``: its commits then leave out the blocks at or below the previous commit's leader
round minus that depth (TWIN-CONSENSUS-108; the protocol's depth, 50, when unset).

The spec tests (tests/spec/test_commit_rule_cases.py) check each case against the spec core; the
vector generator turns each into a ``consensus/commit-rule`` vector.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CommitRuleCase:
    """One DAG, the decision of every leader slot, the leaders committed and some commits."""

    name: str
    text: str
    decisions: Mapping[int, str]
    commits: str
    requirements: tuple[str, ...]
    linear: Mapping[str, str] = field(default_factory=dict)
    gc_depth: int | None = None
    """The garbage-collection depth the commits use (None: the protocol's 50, left unsaid)."""


Stage = tuple[str, Mapping[int, str], str]
"""Blocks to add (notation), then the decisions and the leaders committed from round 0."""


@dataclass(frozen=True)
class LateCase:
    """A DAG built in stages, with a committer run after each stage."""

    stages: list[Stage]
    name: str
    requirements: tuple[str, ...]


@dataclass(frozen=True)
class ScheduleCase:
    """A DAG committed under a leader schedule that changes every ``commits_per_schedule`` commits.

    ``decisions`` gives every slot the sequencer decides, in round order, as ``commit A7`` or
    ``skip D`` (the leader's letter: the schedule decides it); ``schedules`` gives each change as
    (the commit after which it comes in, the scores ``A2 B2 C2 D0``, the good nodes, the bad
    nodes).
    """

    name: str
    text: str
    commits_per_schedule: int
    decisions: Mapping[int, str]
    schedules: tuple[tuple[int, str, str, str], ...]
    requirements: tuple[str, ...]
    bad_nodes_stake_threshold: int = 33


def needs(*requirements: str) -> tuple[str, ...]:
    """The requirement IDs a case checks."""
    return requirements


def case(
    name: str,
    text: str,
    decisions: Mapping[int, str],
    commits: str,
    requirements: tuple[str, ...],
    linear: Mapping[str, str] | None = None,
    *,
    gc_depth: int | None = None,
) -> CommitRuleCase:
    """A case in the order the table below writes it."""
    return CommitRuleCase(
        name, text, decisions, commits, requirements, dict(linear or {}), gc_depth
    )


_SPLIT_VOTES = """
committee: 4
r1: A B C D
r2: A B C<-[A C D] D<-[A C D]   # two votes for B1, two blamers
r3: A B C D
r4: A B C D
r5: A B C D
"""

_ONE_CERTIFICATE = """
committee: 4
r1: A B C D
r2: A<-[A B C] B<-[B A C] C<-[C A B] D<-[D A C]   # B1 has votes A B C; C2 will get two
r3: A<-[A B C] B<-[B A D] C<-[C A D] D<-[D A B]   # only A3 certifies B1
r4: A B C D
r5: A B C D
"""

# B leads round 1 but has no round-1 block; B2 names its own B0 first. IOTA's blame rule counts
# a voter as a blame only when no ancestor at all is B's, so B2 is no blame: A2 and C2 are two
# blames of the three needed, and the slot is undecided (a "no block of B at round 1" rule
# would count three and skip it).
_OLD_LEADER_BLOCK = """
committee: 4
r1: A C D                               # B, the leader of round 1, has no round-1 block
r2: A<-[A C D] B<-[A C D] C<-[A C D]    # B2 is B<-[B0 A1 C1 D1]: not a blame
"""

# Nobody but D names D1, so no commit takes it until D3's. With a garbage-collection depth of 1,
# D3's commit leaves out every block at or below round 1 (C2's round minus 1), D1 included.
_LATE_BLOCK = """
committee: 4
r1: A B C D
r2: A<-[A B C] B<-[B A C] C<-[C A B] D   # only D2 names D1
r3: A B C D
r4: A B C D
r5: A B C D
"""

CASES: list[CommitRuleCase] = [
    # --- direct commit --------------------------------------------------------------------------
    case(
        "four-full-3-rounds",
        "committee: 4\nr1: A B C D\nr2: A B C D\nr3: A B C D",
        {1: "commit B1"},
        "B1",
        needs(
            "TWIN-CONSENSUS-021", "TWIN-CONSENSUS-022", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028"
        ),
        {"B1": "B1"},
    ),
    case(
        "four-full-5-rounds",
        "committee: 4\n" + "".join(f"r{r}: A B C D\n" for r in range(1, 6)),
        {1: "commit B1", 2: "commit C2", 3: "commit D3"},
        "B1 C2 D3",
        needs(
            "TWIN-CONSENSUS-020", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028", "TWIN-CONSENSUS-029"
        ),
        {"B1": "B1", "C2": "A1 C1 D1 C2", "D3": "A2 B2 D2 D3"},
    ),
    case(
        "four-one-validator-silent-at-the-voting-round",
        "committee: 4\nr1: A B C D\nr2: A B C\nr3: A B C D   # D3 names its own D1\nr4: A B C D",
        {1: "commit B1", 2: "commit C2"},
        "B1 C2",
        needs("TWIN-CONSENSUS-009", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-029"),
        {"C2": "A1 C1 D1 C2"},
    ),
    # --- direct skip ----------------------------------------------------------------------------
    case(
        "four-skip-when-three-ignore-the-leader",
        "committee: 4\nr1: A B C D\nr2: A<-[A C D] B C<-[A C D] D<-[A C D]\nr3: A B C D",
        {1: "skip"},
        "",
        needs("TWIN-CONSENSUS-023", "TWIN-CONSENSUS-028"),
    ),
    case(
        "four-absent-leader-is-skipped",
        "committee: 4\n" + "".join(f"r{r}: A B C\n" for r in range(1, 6)),
        {1: "commit B1", 2: "commit C2", 3: "skip"},
        "B1 C2",
        needs(
            "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028", "TWIN-CONSENSUS-029"
        ),
        {"B1": "B1", "C2": "A1 C1 C2"},
    ),
    case(
        "four-blame-needs-no-ancestor-by-the-leader",
        _OLD_LEADER_BLOCK + "r3: A<-[A B C]",
        {1: "undecided"},
        "",
        needs("TWIN-CONSENSUS-023", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028"),
    ),
    case(
        "four-blame-needs-no-ancestor-by-the-leader-4-rounds",
        _OLD_LEADER_BLOCK + "r3: A B C D   # D3 names its own D1\nr4: A B C D",
        {1: "undecided", 2: "commit C2"},
        "",
        needs("TWIN-CONSENSUS-023", "TWIN-CONSENSUS-025", "TWIN-CONSENSUS-028"),
    ),
    case(
        "four-blame-needs-no-ancestor-by-the-leader-6-rounds",
        _OLD_LEADER_BLOCK + "".join(f"r{r}: A B C D\n" for r in range(3, 7)),
        {1: "skip indirect", 2: "commit C2", 3: "commit D3", 4: "commit A4"},
        "C2 D3 A4",
        needs(
            "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-029"
        ),
        {"C2": "A1 C1 D1 C2", "D3": "A2 B2 D3", "A4": "A3 B3 C3 A4"},
    ),
    # --- undecided ------------------------------------------------------------------------------
    case(
        "four-split-votes-undecided",
        "committee: 4\nr1: A B C D\nr2: A B C<-[A C D] D<-[A C D]\nr3: A B C D",
        {1: "undecided"},
        "",
        needs(
            "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-025", "TWIN-CONSENSUS-028"
        ),
    ),
    case(
        "four-undecided-slot-holds-back-later-commits",
        _SPLIT_VOTES,
        {1: "undecided", 2: "commit C2", 3: "commit D3"},
        "",
        needs("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-028"),
    ),
    case(
        "four-too-few-certificates",
        "committee: 4\nr1: A B C D\nr2: A B C D\nr3: A B   # two certificates of three needed",
        {1: "undecided"},
        "",
        needs("TWIN-CONSENSUS-022", "TWIN-CONSENSUS-024"),
    ),
    case(
        "one-validator-two-rounds-decides-nothing",
        "committee: 1\nr1: A\nr2: A",
        {},
        "",
        needs("TWIN-CONSENSUS-028"),
    ),
    # --- indirect -------------------------------------------------------------------------------
    case(
        "four-indirect-commit-and-indirect-skip",
        _ONE_CERTIFICATE + "r6: A B C D\nr7: A B C D",
        {
            1: "commit B1 indirect",
            2: "skip indirect",
            3: "commit D3",
            4: "commit A4",
            5: "commit B5",
        },
        "B1 D3 A4 B5",
        needs(
            "TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-028", "TWIN-CONSENSUS-029"
        ),
        {"B1": "B1", "D3": "A1 C1 D1 A2 B2 D2 D3", "A4": "C2 A3 B3 C3 A4", "B5": "B4 C4 D4 B5"},
    ),
    case(
        "four-indirect-without-anchor-yet",
        _ONE_CERTIFICATE,
        {1: "undecided", 2: "undecided", 3: "commit D3"},
        "",
        needs("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-028"),
    ),
    case(
        "four-indirect-skip-through-later-anchor",
        _SPLIT_VOTES + "r6: A B C D",
        {1: "skip indirect", 2: "commit C2", 3: "commit D3", 4: "commit A4"},
        "C2 D3 A4",
        needs("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-028"),
        {"C2": "A1 C1 D1 C2", "D3": "B1 A2 B2 D2 D3", "A4": "A3 B3 C3 A4"},
    ),
    case(
        "four-anchor-search-passes-over-a-skip",
        _ONE_CERTIFICATE.replace(
            "r5: A B C D", "r5: A B<-[B C D] C<-[B C D] D<-[B C D]   # A4 is skipped"
        )
        + "r6: A B C D\nr7: A B C D",
        {
            1: "commit B1 indirect",
            2: "skip indirect",
            3: "commit D3",
            4: "skip",
            5: "commit B5",
        },
        "B1 D3 B5",
        needs(
            "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-028"
        ),
    ),
    case(
        "four-anchor-search-stops-at-an-undecided-slot",
        _ONE_CERTIFICATE.replace(
            "r5: A B C D", "r5: A B C<-[B C D] D<-[B C D]   # A4: two votes, two blamers"
        )
        + "r6: A B C D\nr7: A B C D",
        {
            1: "undecided",
            2: "skip indirect",
            3: "commit D3",
            4: "undecided",
            5: "commit B5",
        },
        "",
        needs("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-028"),
    ),
    # --- garbage collection --------------------------------------------------------------------
    case(
        "gc-depth-1-leaves-out-a-block-no-commit-took",
        _LATE_BLOCK,
        {1: "commit B1", 2: "commit C2", 3: "commit D3"},
        "B1 C2 D3",
        needs("TWIN-CONSENSUS-029", "TWIN-CONSENSUS-108"),
        {"B1": "B1", "C2": "A1 C1 C2", "D3": "A2 B2 D2 D3"},
        gc_depth=1,
    ),
    case(
        "gc-depth-2-keeps-a-block-above-the-gc-round",
        _LATE_BLOCK,
        {1: "commit B1", 2: "commit C2", 3: "commit D3"},
        "B1 C2 D3",
        needs("TWIN-CONSENSUS-029", "TWIN-CONSENSUS-108"),
        {"B1": "B1", "C2": "A1 C1 C2", "D3": "D1 A2 B2 D2 D3"},
        gc_depth=2,
    ),
    # --- committees of 1, 7 and 10 --------------------------------------------------------------
    case(
        "one-validator-three-rounds",
        "committee: 1\nr1: A\nr2: A\nr3: A",
        {1: "commit A1"},
        "A1",
        needs("TWIN-CONSENSUS-020", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028"),
        {"A1": "A1"},
    ),
    case(
        "one-validator-five-rounds",
        "committee: 1\nr1: A\nr2: A\nr3: A\nr4: A\nr5: A",
        {1: "commit A1", 2: "commit A2", 3: "commit A3"},
        "A1 A2 A3",
        needs(
            "TWIN-CONSENSUS-020", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028", "TWIN-CONSENSUS-029"
        ),
        {"A1": "A1", "A2": "A2", "A3": "A3"},
    ),
    case(
        "seven-full-4-rounds",
        "committee: 7\n" + "".join(f"r{r}: A B C D E F G\n" for r in range(1, 5)),
        {1: "commit B1", 2: "commit C2"},
        "B1 C2",
        needs("TWIN-CONSENSUS-020", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-029"),
        {"C2": "A1 C1 D1 E1 F1 G1 C2"},
    ),
    case(
        "seven-skip-by-five-blamers",
        "committee: 7\nr1: A B C D E F G\n"
        "r2: A<-[A C D E F] B C<-[A C D E F] D<-[A C D E F] E<-[A C D E F] F<-[A C D E F] G\n"
        "r3: A B C D E F G",
        {1: "skip"},
        "",
        needs("TWIN-CONSENSUS-002", "TWIN-CONSENSUS-023"),
    ),
    case(
        "seven-four-blamers-three-voters-undecided",
        "committee: 7\nr1: A B C D E F G\n"
        "r2: A<-[A C D E F] B C<-[A C D E F] D<-[A C D E F] E<-[A C D E F] F G\n"
        "r3: A B C D E F G",
        {1: "undecided"},
        "",
        needs("TWIN-CONSENSUS-002", "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-024"),
    ),
    case(
        "ten-full-3-rounds",
        "committee: 10\n" + "".join(f"r{r}: A B C D E F G H I J\n" for r in range(1, 4)),
        {1: "commit B1"},
        "B1",
        needs("TWIN-CONSENSUS-020", "TWIN-CONSENSUS-024"),
    ),
    case(
        "ten-exactly-seven-votes-commit",
        "committee: 10\nr1: A B C D E F G H I J\n"
        "r2: A B C D E F G H<-[A C D E F G H] I<-[A C D E F G I] J<-[A C D E F G J]\n"
        "r3: A B C D E F G H I J",
        {1: "commit B1"},
        "B1",
        needs("TWIN-CONSENSUS-002", "TWIN-CONSENSUS-022", "TWIN-CONSENSUS-024"),
    ),
    case(
        "ten-six-votes-undecided",
        "committee: 10\nr1: A B C D E F G H I J\n"
        "r2: A B C D E F G<-[A C D E F G H] H<-[A C D E F G H] I<-[A C D E F G I] "
        "J<-[A C D E F G J]\n"
        "r3: A B C D E F G H I J",
        {1: "undecided"},
        "",
        needs(
            "TWIN-CONSENSUS-002", "TWIN-CONSENSUS-022", "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-024"
        ),
    ),
    case(
        "ten-missing-certifiers-undecided",
        "committee: 10\nr1: A B C D E F G H I J\nr2: A B C D E F G H I J\nr3: A B C D E F",
        {1: "undecided"},
        "",
        needs("TWIN-CONSENSUS-002", "TWIN-CONSENSUS-024"),
    ),
    # --- unequal stakes -------------------------------------------------------------------------
    case(
        "stakes-1113-three-of-four-votes-are-not-a-quorum",
        "stakes: 1 1 1 3\nr1: A B C D\n"
        "r2: A<-[A B D] B<-[B A D] C<-[C B D] D<-[D A C]\nr3: A B C D",
        {1: "undecided"},
        "",
        needs(
            "TWIN-CONSENSUS-002", "TWIN-CONSENSUS-003", "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-024"
        ),
    ),
    case(
        "stakes-11115-three-of-five-votes-commit",
        "stakes: 1 1 1 1 5\nr1: A B C D E\n"
        "r2: A<-[A B E] B<-[B A E] C<-[C D E] D<-[D C E] E<-[E A B]\nr3: A B C D E",
        {1: "commit B1"},
        "B1",
        needs("TWIN-CONSENSUS-002", "TWIN-CONSENSUS-022", "TWIN-CONSENSUS-024"),
    ),
    case(
        "stakes-11115-three-of-five-blamers-skip",
        "stakes: 1 1 1 1 5\nr1: A B C D E\nr2: A B C<-[C D E] D<-[D C E] E<-[E C D]\nr3: A B C D E",
        {1: "skip"},
        "",
        needs("TWIN-CONSENSUS-002", "TWIN-CONSENSUS-023"),
    ),
    # --- equivocation ---------------------------------------------------------------------------
    case(
        "equivocating-leader-one-block-certified",
        "committee: 4\nr1: A B C D B'\nr2: A<-[A B C] B<-[B A C] C<-[C B D] D<-[D B' C]\n"
        "r3: A B C D",
        {1: "commit B1"},
        "B1",
        needs("TWIN-CONSENSUS-021", "TWIN-CONSENSUS-022", "TWIN-CONSENSUS-024"),
        {"B1": "B1"},
    ),
    case(
        "equivocating-leader-split-votes-skipped-through-anchor",
        "committee: 4\nr1: A B C D B'\nr2: A<-[A B C] B<-[B A C] C<-[C B' D] D<-[D B' C]\n"
        + "".join(f"r{r}: A B C D\n" for r in range(3, 7)),
        {1: "skip indirect", 2: "commit C2", 3: "commit D3", 4: "commit A4"},
        "C2 D3 A4",
        needs(
            "TWIN-CONSENSUS-021", "TWIN-CONSENSUS-023", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-029"
        ),
        {"C2": "B1' C1 D1 C2", "D3": "A1 B1 A2 B2 D2 D3", "A4": "A3 B3 C3 A4"},
    ),
    case(
        "equivocating-voter-blames-with-its-second-block",
        "committee: 4\nr1: A B C D\nr2: A<-[A B C] A'<-[A C D] B C<-[A C D] D<-[A C D]\n"
        "r3: A B C D",
        {1: "skip"},
        "",
        needs("TWIN-CONSENSUS-003", "TWIN-CONSENSUS-023"),
    ),
    case(
        "equivocating-blamer-counted-once",
        "committee: 4\nr1: A B C D\nr2: A<-[A C D] A'<-[A C D] B C<-[A C D] D\nr3: A B C D",
        {1: "undecided"},
        "",
        needs("TWIN-CONSENSUS-003", "TWIN-CONSENSUS-023"),
    ),
    case(
        "equivocating-certifier-counted-once",
        "committee: 4\nr1: A B C D\nr2: A B C D\nr3: A A' B",
        {1: "undecided"},
        "",
        needs("TWIN-CONSENSUS-003", "TWIN-CONSENSUS-024"),
    ),
    # Found by the safety property (tests/spec/test_commit_rule_safety.py) run against a rule that
    # skipped a slot on blames of validity stake (f+1) instead of quorum: C's round-4 blocks
    # blame D3 (C4') and vote for it (C4), so blames reach 3 of 7 while votes and certificates
    # reach a quorum. A validator that saw C4' late had committed D3; one that saw it early
    # skipped. Quorum 5 of stakes 3 1 2 1; slot 2's leader C has no round-2 block and C3 names
    # C1, so C3 is no blame, but A B D (5) are.
    case(
        "equivocator-blames-with-one-block-and-votes-with-the-other",
        "stakes: 3 1 2 1\n"
        "r1: A B C D\n"
        "r2: A<-[A B C] B D\n"
        "r3: A<-[A B D] B<-[B A D] C<-[A B D] C'<-[A B D] D<-[D A B]\n"
        "r4: A B<-[B A C] C<-[C A B D] C'<-[C A] D\n"
        "r5: A B C C'<-[C A] D\n"
        "r6: A B C C'<-[C A] D",
        {1: "commit B1", 2: "skip", 3: "commit D3", 4: "commit A4"},
        "B1 D3 A4",
        needs(
            "TWIN-CONSENSUS-002",
            "TWIN-CONSENSUS-003",
            "TWIN-CONSENSUS-023",
            "TWIN-CONSENSUS-024",
            "TWIN-CONSENSUS-029",
        ),
        {"B1": "B1", "D3": "A1 C1 D1 A2 B2 D2 D3", "A4": "A3 B3 C3 A4"},
    ),
    case(
        "two-certified-leader-blocks-are-a-fault",
        "committee: 4\nr1: A B C D B'\n"
        "r2: A<-[A B C D] A'<-[A B' C D] B<-[B A C] C<-[C B D] C'<-[C B' D] D<-[D B C] "
        "D'<-[D B' C]\n"
        "r3: A<-[A C D] C<-[C A D] D<-[D A C] A'<-[A' C' D'] C'<-[C' A' D'] D'<-[D' A' C']",
        {1: "fault"},
        "",
        needs("TWIN-CONSENSUS-027"),
    ),
]


# Each stage adds blocks (the first builds the DAG); after it, the decisions and the leaders
# committed from round 0 are as given, and try_commit from the previous stage's last decided
# round outputs just the newly decided slots.
LATE_CASES: list[LateCase] = [
    LateCase(
        [
            ("committee: 4\nr1: A B C D\nr2: A B C D\nr3: A B", {1: "undecided"}, ""),
            ("r3: C   # a third certificate arrives", {1: "commit B1"}, "B1"),
        ],
        name="late-certificate-commits",
        requirements=needs("TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028"),
    ),
    LateCase(
        [
            (_SPLIT_VOTES, {1: "undecided", 2: "commit C2", 3: "commit D3"}, ""),
            (
                "r6: A B C D",
                {1: "skip indirect", 2: "commit C2", 3: "commit D3", 4: "commit A4"},
                "C2 D3 A4",
            ),
        ],
        name="late-round-provides-an-anchor",
        requirements=needs("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-028"),
    ),
    LateCase(
        [
            (_ONE_CERTIFICATE, {1: "undecided", 2: "undecided", 3: "commit D3"}, ""),
            (
                "r6: A B C D\nr7: A B C D",
                {
                    1: "commit B1 indirect",
                    2: "skip indirect",
                    3: "commit D3",
                    4: "commit A4",
                    5: "commit B5",
                },
                "B1 D3 A4 B5",
            ),
        ],
        name="late-rounds-commit-indirectly",
        requirements=needs("TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026", "TWIN-CONSENSUS-028"),
    ),
    LateCase(
        [
            ("committee: 1\nr1: A\nr2: A\nr3: A", {1: "commit A1"}, "A1"),
            ("r4: A", {1: "commit A1", 2: "commit A2"}, "A1 A2"),
            ("r5: A", {1: "commit A1", 2: "commit A2", 3: "commit A3"}, "A1 A2 A3"),
        ],
        name="one-validator-continues-after-the-last-decided-round",
        requirements=needs("TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028", "TWIN-CONSENSUS-029"),
    ),
    LateCase(
        [
            (
                "committee: 10\nr1: A B C D E F G H I J\nr2: A B C D E F G H I J\nr3: A B C D E F",
                {1: "undecided"},
                "",
            ),
            ("r3: G   # the seventh certificate", {1: "commit B1"}, "B1"),
        ],
        name="ten-late-seventh-certificate-commits",
        requirements=needs("TWIN-CONSENSUS-002", "TWIN-CONSENSUS-024", "TWIN-CONSENSUS-028"),
    ),
    LateCase(
        [
            (_OLD_LEADER_BLOCK + "r3: A<-[A B C]", {1: "undecided"}, ""),
            ("r3: B C D\nr4: A B C D", {1: "undecided", 2: "commit C2"}, ""),
            (
                "r5: A B C D\nr6: A B C D   # A4 commits: the anchor that skips slot 1",
                {1: "skip indirect", 2: "commit C2", 3: "commit D3", 4: "commit A4"},
                "C2 D3 A4",
            ),
        ],
        name="late-anchor-skips-the-slot-whose-leader-has-no-block",
        requirements=needs("TWIN-CONSENSUS-023", "TWIN-CONSENSUS-025", "TWIN-CONSENSUS-026"),
    ),
]


# D crashes after round 1. Round-robin skips its slots (3, 7, 11); with a schedule changing every
# 3 commits, the first change (after commit 3, A4) scores the window's votes: B1 got C2's (in
# commit 2) and A2's and B2's (commit 3), C2 got A3's, B3's and C3's; A4's voters are committed
# later. Scores A2 B2 C2 D0; SHA-256 tie-break keys of commit 3 start 893016c4 (A), c694a206 (B),
# f15e3b9a (C), so the order is A B C D. P = 33 of 4 allows stake 1: good A, bad D. Round 7,
# D's, goes to A (the only good node), and commits. After commit 6 (A7): A got votes for B5 and
# C6, B and C for B5 only: A2 B1 C1 D0, good A. After commit 9 (C10): votes for A8 by B9, A9,
# C9 and for B9 by C10: A1 B1 C2 D0, good C, so round 11, D's, goes to C.
_ONE_CRASHED = "committee: 4\nr1: A B C D\n" + "".join(f"r{r}: A B C\n" for r in range(2, 15))

# F and G crash after round 1 in a committee of seven: P = 33 of 7 allows stake 2, so two good
# and two bad nodes. In each window of three commits the first leader gets the votes of the five
# validators up and the second one vote, from the third leader's block: after commit 3 (D3),
# B1 was voted for by C2, A2, B2, D2, E2 and C2 by D3, so D2 and A B C E 1. Tie-break keys of
# commit 3 put E (590e1515) before A (893016c4), B (c694a206), C (f15e3b9a), and G (a1eb1c3b)
# before F (a1f77fed): the order is D E A B C G F, good D E, bad F G. The swap draw
# SHA-256(swap domain || round) mod 2 is 0 for rounds 5, 6, 12 and 13 and 1 for 19 and 20:
# rounds 19 and 20 go to the second good node of the table made after commit 18, B.
_TWO_CRASHED = "committee: 7\nr1: A B C D E F G\n" + "".join(
    f"r{r}: A B C D E\n" for r in range(2, 23)
)

SCHEDULE_CASES: list[ScheduleCase] = [
    ScheduleCase(
        "schedule-every-3-commits-swaps-a-crashed-leader",
        _ONE_CRASHED,
        3,
        {
            1: "commit B1",
            2: "commit C2",
            3: "skip D",
            4: "commit A4",
            5: "commit B5",
            6: "commit C6",
            7: "commit A7",
            8: "commit A8",
            9: "commit B9",
            10: "commit C10",
            11: "commit C11",
            12: "commit A12",
        },
        (
            (3, "A2 B2 C2 D0", "A", "D"),
            (6, "A2 B1 C1 D0", "A", "D"),
            (9, "A1 B1 C2 D0", "C", "D"),
        ),
        needs(
            "TWIN-CONSENSUS-020",
            "TWIN-CONSENSUS-114",
            "TWIN-CONSENSUS-115",
            "TWIN-CONSENSUS-116",
            "TWIN-CONSENSUS-117",
        ),
    ),
    ScheduleCase(
        "schedule-of-seven-draws-between-two-good-nodes",
        _TWO_CRASHED,
        3,
        {
            1: "commit B1",
            2: "commit C2",
            3: "commit D3",
            4: "commit E4",
            5: "commit D5",
            6: "commit D6",
            7: "commit A7",
            8: "commit B8",
            9: "commit C9",
            10: "commit D10",
            11: "commit E11",
            12: "commit C12",
            13: "commit C13",
            14: "commit A14",
            15: "commit B15",
            16: "commit C16",
            17: "commit D17",
            18: "commit E18",
            19: "commit B19",
            20: "commit B20",
        },
        (
            (3, "A1 B1 C1 D2 E1 F0 G0", "D E", "F G"),
            (6, "A1 B1 C1 D2 E1 F0 G0", "D A", "F G"),
            (9, "A1 B1 C2 D1 E1 F0 G0", "C E", "G F"),
            (12, "A1 B1 C2 D1 E1 F0 G0", "C E", "F G"),
            (15, "A1 B2 C1 D1 E1 F0 G0", "B C", "F G"),
            (18, "A1 B1 C1 D1 E2 F0 G0", "E B", "G F"),
        ),
        needs(
            "TWIN-CONSENSUS-114",
            "TWIN-CONSENSUS-115",
            "TWIN-CONSENSUS-116",
            "TWIN-CONSENSUS-117",
        ),
    ),
]
