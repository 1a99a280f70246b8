"""A node killed with SIGKILL mid-stream keeps every write it acknowledged, with valid receipts."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.node_process import RunningNode, start_node
from tests.support import proof_with_receipt
from twin_spec import Committee, verify_receipt

WRITERS = 4
KILL_AFTER_ACKS = 150
STREAM_DEADLINE_SECONDS = 60.0


def _write_stream(
    node: RunningNode, token: str, acked: list[str], stop: threading.Event, number: int
) -> None:
    with node.client(token, timeout=10.0) as client:
        sequence = 0
        while not stop.is_set():
            sequence += 1
            try:
                response = client.post(
                    "/immutable-proof", json={"document": {"writer": number, "sequence": sequence}}
                )
            except httpx.HTTPError:
                return  # The node died under us: whatever was not answered was not acknowledged.
            if response.status_code == 201:
                acked.append(response.headers["location"])


@pytest.mark.requirement("TWIN-CORE-055")
def test_sigkill_during_anchoring_loses_no_acknowledged_anchor(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    node = start_node(data_dir)
    try:
        token = node.login()
        acked: list[str] = []
        stop = threading.Event()
        writers = [
            threading.Thread(
                target=_write_stream, args=(node, token, acked, stop, number), daemon=True
            )
            for number in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        deadline = time.monotonic() + STREAM_DEADLINE_SECONDS
        while len(acked) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        node.stop(signal.SIGKILL)
        stop.set()
        for writer in writers:
            writer.join(timeout=30)
        assert len(acked) >= KILL_AFTER_ACKS, (
            f"only {len(acked)} anchors acknowledged:\n{node.log()}"
        )
        acknowledged = list(acked)
    finally:
        node.stop(signal.SIGKILL)

    restarted = start_node(data_dir)
    try:
        committee = Committee.from_json(json.loads((data_dir / "committee.json").read_text()))
        token = restarted.login()
        with restarted.client(token) as client:
            for proof_id in acknowledged:
                # Acknowledged means durably accepted: committed, if not before the kill,
                # by the restarted node (TWIN-ANCHORING-050).
                verify_receipt(proof_with_receipt(client, proof_id)["immutableReceipt"], committee)
            # The restarted node keeps committing on top of the recovered ledger.
            after = client.post("/immutable-proof", json={"document": {"after": "restart"}})
            assert after.status_code == 201, after.text
            proof = proof_with_receipt(client, after.headers["location"])
            verify_receipt(proof["immutableReceipt"], committee)
    finally:
        restarted.stop()
