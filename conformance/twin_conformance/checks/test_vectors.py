"""Replay of the signed live vectors against the target, one check per vector.

The manifest is verified before anything is replayed (a tampered, unsigned or untrusted set
ends the run with code 2); each vector names the requirements it covers, and a vector the
target answers differently fails the most specific of them. With ``--twin-concurrency`` above
1, pure vectors are replayed ahead over that many connections less one (``_prefetch.py``);
each check still judges its own vector's answers in its turn.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from twin_conformance._client import TwinClient, fail
from twin_conformance._manifest import (
    ManifestError,
    VerifiedVectors,
    load_trusted_publishers,
    load_vectors,
    verify_manifest,
)
from twin_conformance._paths import spec_dir, vectors_dir
from twin_conformance._prefetch import RecordedAnswers, ReplayPrefetch
from twin_conformance._run import TwinState
from twin_conformance._vector_replay import HttpResponse, is_live, replay_vector
from twin_conformance.checks._support import node_did_method
from twin_conformance.plugin import state


def _live_vectors(config: pytest.Config) -> list[dict[str, Any]]:
    """The verified live vectors of this run (the run stops with code 2 if they fail checks)."""
    run = state(config)
    folder = Path(config.getoption("--twin-vectors") or vectors_dir())
    trusted_file = Path(
        config.getoption("--twin-trusted-publishers") or spec_dir() / "trusted-publishers.json"
    )
    allow_unsigned = bool(config.getoption("--twin-allow-unsigned-vectors"))
    # twin-conformance run verified the manifest before pytest started; not again.
    handed = next(
        (
            each.verified(folder, trusted_file, allow_unsigned)
            for each in config.pluginmanager.get_plugins()
            if isinstance(each, VerifiedVectors)
        ),
        None,
    )
    try:
        verified = handed or verify_manifest(
            folder, load_trusted_publishers(trusted_file), allow_unsigned=allow_unsigned
        )
        vectors = load_vectors(verified)
    except ManifestError as error:
        run.could_not_run = f"vectors refused: {error}"
        pytest.exit(f"could not run: vectors refused: {error}", returncode=2)
    run.vectors = {
        "manifestSha256": verified.sha256,
        "publisher": verified.publisher,
        "verified": verified.publisher is not None,
        "files": len(vectors),
    }
    return [vector for vector in vectors if is_live(vector)]


READ_ONLY_FAMILIES = {
    "identity/proof-verify",
    "identity/credential-verify",
    "identity/did-key-resolve",
    "consensus/block-validity",
    "consensus/commit-rule",
}
"""Families whose every request changes nothing: verification, resolution, evaluation."""
PURE_PATHS = ("/identity/proof/verify", "/consensus/evaluate", "/authentication/login")
DID_TWIN_SPECIFIC_ERRORS = {"invalidDid", "notFound"}


def read_only(vector: Mapping[str, Any]) -> bool:
    """Whether replaying the vector writes nothing, even to a node that misbehaves."""
    family = "/".join(str(vector["id"]).split("/")[:2])
    if family in READ_ONLY_FAMILIES:
        return True
    inputs = vector.get("input")
    if not isinstance(inputs, Mapping) or "method" not in inputs:
        return False
    method, path = str(inputs["method"]).upper(), str(inputs.get("path", ""))
    return method == "GET" or (method == "POST" and path.split("?")[0] in PURE_PATHS)


def applies_to(vector: Mapping[str, Any], did_method: str | None) -> bool:
    """Whether the vector's expected answer holds for a node minting ``did_method`` DIDs.

    Vectors that expect a did:twin to be malformed or unknown assume the node's DIDs are
    did:twin; a node of another method rightly answers methodNotSupported to them.
    """
    if did_method in (None, "twin"):
        return True
    error = vector["expected"].get("error")
    return not (error in DID_TWIN_SPECIFIC_ERRORS and "did:twin:" in json.dumps(vector["input"]))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One ``test_vector`` per live vector, marked with its profile and requirements."""
    if "vector" not in metafunc.fixturenames:
        return
    params = [
        pytest.param(
            vector,
            id=str(vector["id"]),
            marks=[
                pytest.mark.twin_profile(str(vector["id"]).split("/")[0]),
                pytest.mark.twin_requirement(*vector["requirements"]),
                *([pytest.mark.twin_read_only] if read_only(vector) else []),
            ],
        )
        for vector in _live_vectors(metafunc.config)
    ]
    metafunc.parametrize("vector", params)


def prefetchable(vector: Mapping[str, Any]) -> bool:
    """Whether the vector may be replayed ahead, side by side with others.

    Pure vectors only; and none that logs in, since failed logins change the node's throttle
    state (TWIN-CORE-063), so their order matters.
    """
    return read_only(vector) and "/authentication/" not in json.dumps(vector.get("input"))


_PREFETCH = pytest.StashKey[ReplayPrefetch | None]()


@pytest.fixture
def prefetch(
    twin: TwinClient, twin_state: TwinState, request: pytest.FixtureRequest
) -> ReplayPrefetch | None:
    """The run's replay-ahead of pure vectors (``--twin-concurrency`` above 1), or None."""
    config = request.config
    if _PREFETCH in config.stash:
        return config.stash[_PREFETCH]
    concurrency = int(config.getoption("--twin-concurrency"))
    if concurrency <= 1:
        config.stash[_PREFETCH] = None
        return None
    usable = twin_state.requested & twin_state.claimed
    did_method = node_did_method(twin_state)
    vectors = []
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        vector = callspec.params.get("vector") if callspec is not None else None
        if (
            isinstance(vector, Mapping)
            and str(vector["id"]).split("/")[0] in usable
            and prefetchable(vector)
            and applies_to(vector, did_method)
        ):
            vectors.append(vector)
    # The check's own requests take one connection; the replay-ahead takes the others.
    created = ReplayPrefetch(
        twin.base_url,
        twin.token,
        twin.timeout,
        concurrency - 1,
        twin_state.run_deadline,
    )
    config.stash[_PREFETCH] = created
    config.add_cleanup(created.close)
    created.start(vectors)
    return created


def test_vector(
    twin: TwinClient,
    twin_state: TwinState,
    vector: Mapping[str, Any],
    prefetch: ReplayPrefetch | None,
) -> None:
    did_method = node_did_method(twin_state)
    if not applies_to(vector, did_method):
        pytest.skip(f"not applicable: it assumes did:twin, and the node mints did:{did_method}")
    expect_rejection = vector["expected"].get("result") == "invalid"
    recorded = RecordedAnswers(prefetch.take(str(vector["id"])) if prefetch else [])

    def send(
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> HttpResponse:
        prepared = twin.prepare(method, path, content=body, headers=headers, auth=auth)
        exchange = twin.request(
            method,
            path,
            content=body,
            headers=headers,
            auth=auth,
            expect_rejection=expect_rejection,
            prefetched=recorded.next_for(prepared),
        )
        assert exchange.status is not None  # The client fails the check when none came.
        return HttpResponse(exchange.status, exchange.headers, exchange.body)

    outcome = replay_vector(vector, send)
    if not outcome.passed:
        fail(outcome.requirement, f"vector {vector['id']}: {outcome.message}", outcome.cause)
