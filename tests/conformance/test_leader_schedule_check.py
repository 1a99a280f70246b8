"""The harness's leader check computes each slot's leader from the served commits (issue 12).

The check used to require ``leader.author == leader.round % n``, round-robin for ever; past
commit 300 a node following TWIN-CONSENSUS-115 changes its schedule, so the check now scores
the served commit windows with the spec core and names the leader its schedule gives.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conformance.harness_runs import PASSWORD_ENV, against, harness
from tests.node_process import start_node
from twin_spec import COMMITS_PER_SCHEDULE

CHECK = "test_committed_leaders_follow_the_leader_schedule"


def commit_count(client: httpx.Client) -> int:
    count = 0
    for _ in range(100):
        page = client.get("/consensus/commits", params={"from": count + 1, "limit": 1000})
        page.raise_for_status()
        found = len(page.json()["commits"])
        count += found
        if found < 1000:
            return count
    raise AssertionError("more commits than expected")


@pytest.mark.requirement("TWIN-CONSENSUS-115", "TWIN-CONSENSUS-020")
def test_the_leader_check_passes_a_node_past_a_schedule_change(tmp_path: Path) -> None:
    # A committee of one commits once per round; anchors are answered on acceptance and its
    # rounds run --batch-interval apart, so a short one gives a commit every few anchors.
    running = start_node(tmp_path / "node-data", "--batch-interval", "0.001")
    try:
        token = running.login()
        with running.client(token) as client:
            for number in range(2000):
                if number % 20 == 0 and commit_count(client) > COMMITS_PER_SCHEDULE + 5:
                    break
                answer = client.post(
                    "/immutable-proof", json={"document": {"n": number, "check": "schedule"}}
                )
                assert answer.status_code == 201, answer.text
            commits = commit_count(client)
        assert commits > COMMITS_PER_SCHEDULE, "the node never crossed a schedule change"
        run = harness(
            tmp_path / "run",
            "run",
            *against(running),
            "--profile",
            "consensus",
            "-k",
            CHECK,
            "--fuzz-examples",
            "0",
            env=PASSWORD_ENV,
        )
    finally:
        running.stop()
    assert run.report is not None, run.describe()
    outcomes = {test["id"].rsplit("::", 1)[-1]: test["outcome"] for test in run.tests()}
    assert outcomes.get(CHECK) == "passed", run.describe()
