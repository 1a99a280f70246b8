"""Login under attack, against a real node: throttled, off the event loop, no timing leak.

Issue 13, finding 4: passwords were hashed on the event loop, so a flood of logins held every
other request; failed logins were never throttled; an unknown email was answered at once
while a known one took a hash; and a token refreshed before a logout stayed valid after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.node_process import ADMIN_EMAIL, ADMIN_PASSWORD, RunningNode, start_node

FLOOD_ADDRESSES = [f"127.0.0.{last}" for last in range(2, 6)]
FLOOD_CONNECTIONS_PER_ADDRESS = 2
MEASURE_SECONDS = 4.0
MIN_SHARE = 0.2  # of the idle write rate that a writer keeps while logins are flooded


@pytest.fixture
def login_node(tmp_path: Path) -> Iterator[RunningNode]:
    """A node of its own for each test: throttling state must start empty."""
    running = start_node(tmp_path / "data")
    yield running
    running.stop()


def client_from(node: RunningNode, address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any of 127.0.0.0/8 works)."""
    return httpx.Client(
        base_url=node.url, transport=httpx.HTTPTransport(local_address=address), timeout=30
    )


def login(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/authentication/login", json={"email": email, "password": password})


def writes_per_second(node: RunningNode, token: str, seconds: float) -> float:
    """Anchor documents one after the other for ``seconds``; the rate answered 201."""
    done = 0
    with node.client(token) as writer:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answer = writer.post("/immutable-proof", json={"document": {"n": done}})
            assert answer.status_code == 201, answer.text
            done += 1
    return done / seconds


@pytest.mark.requirement("TWIN-CORE-063")
def test_a_writer_keeps_its_rate_during_a_login_flood_from_many_addresses(
    login_node: RunningNode,
) -> None:
    token = login_node.login()
    writes_per_second(login_node, token, 1.0)  # warm up
    idle = writes_per_second(login_node, token, MEASURE_SECONDS)
    stop = threading.Event()
    answers: dict[int, int] = {}
    lock = threading.Lock()

    def flood(address: str, worker: int) -> None:
        number = 0
        with client_from(login_node, address) as client:
            while not stop.is_set():
                number += 1
                email = f"flood-{address}-{worker}-{number}@twin.example"
                status = login(client, email, "wrong password").status_code
                with lock:
                    answers[status] = answers.get(status, 0) + 1

    flooders = [
        threading.Thread(target=flood, args=(address, worker), daemon=True)
        for address in FLOOD_ADDRESSES
        for worker in range(FLOOD_CONNECTIONS_PER_ADDRESS)
    ]
    for flooder in flooders:
        flooder.start()
    try:
        time.sleep(0.5)
        # While every address still has failures to spend, the hashing thread is busy...
        hashing = writes_per_second(login_node, token, MEASURE_SECONDS)
        deadline = time.monotonic() + 60
        while 429 not in answers and time.monotonic() < deadline:
            time.sleep(0.2)
        # ... and once they are throttled, the flood is a stream of cheap 429s.
        throttled = writes_per_second(login_node, token, MEASURE_SECONDS)
    finally:
        stop.set()
        for flooder in flooders:
            flooder.join(timeout=60)
    print(f"writes/s: idle {idle:.1f}, hashing {hashing:.1f}, throttled {throttled:.1f}; {answers}")
    assert set(answers) <= {401, 429, 503}, answers
    assert 429 in answers, f"no address was throttled: {answers}"
    # Hashed on the event loop, a write would wait behind the flood's queued 50-ms hashes: a few
    # writes a second against hundreds idle (under 0.02 of idle). A fifth of idle holds on a loaded
    # 2-core machine (CI measured 0.39 while another test ran beside it) and still tells them apart.
    assert hashing >= MIN_SHARE * idle, f"{hashing:.1f} writes/s during the flood, {idle:.1f} idle"
    assert throttled >= MIN_SHARE * idle, f"{throttled:.1f} writes/s throttled, {idle:.1f} idle"


@pytest.mark.requirement("TWIN-CORE-063")
def test_failed_logins_are_throttled_per_account_and_per_address(
    login_node: RunningNode,
) -> None:
    failures = 0
    with client_from(login_node, "127.0.0.6") as first:
        for _ in range(40):
            answer = login(first, ADMIN_EMAIL, "wrong password")
            if answer.status_code == 429:
                break
            assert answer.status_code == 401, answer.text
            failures += 1
        assert answer.status_code == 429, "the account was never throttled"
        assert int(answer.headers["retry-after"]) >= 1
        assert answer.json()["name"] == "TooManyRequestsError"
    assert 5 <= failures <= 20
    # The account is throttled wherever the attempts come from, even with its password.
    with client_from(login_node, "127.0.0.7") as second:
        assert login(second, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 429
    # An address that fails with ever new emails is throttled too; another is not.
    with client_from(login_node, "127.0.0.8") as third:
        statuses = []
        for number in range(60):
            statuses.append(login(third, f"nobody-{number}@twin.example", "x").status_code)
            if statuses[-1] == 429:
                break
    assert statuses[0] == 401
    assert statuses[-1] == 429
    with client_from(login_node, "127.0.0.9") as fourth:
        assert login(fourth, "someone@twin.example", "x").status_code == 401


@pytest.mark.requirement("TWIN-CORE-064")
def test_an_unknown_email_takes_as_long_as_a_wrong_password(login_node: RunningNode) -> None:
    known: list[float] = []
    unknown: list[float] = []
    # Below every throttle: eight failures for the account, two per address. The samples
    # alternate, and each kind's fastest is compared: what a login costs at least, which the
    # load of a shared machine only ever adds to.
    for round_ in range(8):
        for samples, email in ((known, ADMIN_EMAIL), (unknown, f"ghost-{round_}@twin.example")):
            with client_from(login_node, f"127.0.1.{10 + round_}") as client:
                started = time.perf_counter()
                answer = login(client, email, "wrong password")
                samples.append(time.perf_counter() - started)
            assert answer.status_code == 401, answer.text
            assert answer.json()["message"] == "the email or the password is wrong"
    known_time, unknown_time = min(known), min(unknown)
    print(f"fastest login, ms: known {known_time * 1000:.1f}, unknown {unknown_time * 1000:.1f}")
    # Before: about 2 ms against 50 ms (a difference of 96 % of the longer). Within half of the
    # longer holds on a loaded machine, where eight samples' fastest still moves by a fifth.
    assert abs(known_time - unknown_time) < 0.5 * max(known_time, unknown_time), (known, unknown)


@pytest.mark.requirement("TWIN-CORE-065", "TWIN-CORE-051")
def test_a_logout_ends_every_token_refreshed_from_the_same_login(login_node: RunningNode) -> None:
    first = login_node.login()
    with login_node.client() as client:
        refreshed = client.get(
            "/authentication/refresh", headers={"authorization": f"Bearer {first}"}
        ).json()["token"]
        again = client.get(
            "/authentication/refresh", headers={"authorization": f"Bearer {refreshed}"}
        ).json()["token"]
        other = login_node.login()
        assert client.get("/authentication/logout", params={"token": first}).status_code == 204
        for token in (first, refreshed, again):
            write = client.post("/identity", headers={"authorization": f"Bearer {token}"})
            assert write.status_code == 401, write.text
            renewal = client.get(
                "/authentication/refresh", headers={"authorization": f"Bearer {token}"}
            )
            assert renewal.status_code == 401
        # Another login is another session.
        write = client.post("/identity", headers={"authorization": f"Bearer {other}"}, timeout=30)
        assert write.status_code == 200, write.text
