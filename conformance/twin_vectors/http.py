"""Live HTTP exchanges, one family per profile (``<profile>/http``), replayed against a node.

``input`` is a request: ``method``, ``path``, optional ``headers``, and a body given as
``body`` (text), ``bodyHex`` (bytes), ``bodyJson`` (a value sent as compact JSON, optionally
with ``fill``: a member set to ``count`` copies of ``item``) or ``bodySize`` (a JSON object
padded to exactly that many bytes, built at replay time so no large file is stored).
``auth`` true sends the harness's bearer token; ``{nodeIdentity}`` in the path is the target's
own DID from ``GET /info``.

``expected`` gives the ``status``; for errors the ``error`` code and, where the request names
the part that is wrong, ``field`` (``properties.field``, or a part inside it) and ``code``
(``properties.code``); for answers, ``members`` the JSON object must have, ``includes`` values
its arrays must hold, and ``check`` a rule the body must pass (``committee``: a valid committee;
``genesisBlocks``: the genesis blocks of the target's committee). Every error body must be a
TWIN error. The requests change nothing on a conformant node.
"""

from __future__ import annotations

import hashlib
from typing import Any

from twin_spec import (
    MAX_SAFE_INTEGER,
    base58btc_encode,
    did_key_from_public_key,
    encode_jwt,
    sign_block,
)
from twin_vectors._format import (
    HTTP_ERROR_CODES,
    Family,
    Vector,
    make_vector,
    vector_test_key,
)
from twin_vectors._keys import UNKNOWN_DID_TWIN, raw_jwt

JSON = {"content-type": "application/json"}
MIB = 1024 * 1024
UNKNOWN_PROOF_ID = "immutable-proof:" + hashlib.sha256(b"twin-vectors: no such proof").hexdigest()

Case = tuple[str, str, list[str], dict[str, Any], dict[str, Any]]


def _error(status: int, *, field: str | None = None, code: str | None = None) -> dict[str, Any]:
    expected: dict[str, Any] = {"result": "invalid", "error": HTTP_ERROR_CODES[status]}
    expected["status"] = status
    if field is not None:
        expected["field"] = field
    if code is not None:
        expected["code"] = code
    return expected


def _post(path: str, body: str, **extra: object) -> dict[str, Any]:
    return {"method": "POST", "path": path, "headers": dict(JSON), "body": body, **extra}


def _unknown_key_token() -> str:
    key = vector_test_key("http/unknown-token-signer")
    payload = {
        "sub": did_key_from_public_key(key.public_key),
        "iat": 1_767_225_600,
        "exp": 4_102_444_800,
        "jti": "0" * 32,
    }
    return encode_jwt({"alg": "EdDSA", "typ": "JWT"}, payload, key)


def _alg_none_token() -> str:
    key = vector_test_key("http/unknown-token-signer")
    token = raw_jwt({"alg": "none", "typ": "JWT"}, {"sub": "admin", "exp": 4_102_444_800}, key)
    return token.rsplit(".", 1)[0] + "."


def _core_cases() -> list[Case]:
    login = "/authentication/login"
    malformed = ["TWIN-CORE-052", "TWIN-CORE-054", "TWIN-CORE-040"]
    ijson = [*malformed, "TWIN-CORE-003"]
    parse_limits = ["TWIN-CORE-060", "TWIN-CORE-054", "TWIN-CORE-040"]
    limits = ["TWIN-CORE-053", "TWIN-CORE-054", "TWIN-CORE-040"]
    auth = ["TWIN-CORE-051", "TWIN-CORE-052", "TWIN-CORE-040"]
    good_login = '{"email": "nobody@twin.example", "password": "not a password"}'
    return [
        (
            "info",
            "GET /info names the node, its version, spec version and profiles",
            ["TWIN-CORE-050", "TWIN-CORE-056", "TWIN-CORE-070"],
            {"method": "GET", "path": "/info"},
            {
                "result": "valid",
                "status": 200,
                "members": ["name", "version", "specVersion", "profiles"],
                "includes": {"profiles": "core"},
                "schema": "ServerInfo",
            },
        ),
        (
            "unknown-route",
            "a path no route has",
            ["TWIN-CORE-052", "TWIN-CORE-040"],
            {"method": "GET", "path": "/no-such-route"},
            _error(404),
        ),
        (
            "unknown-route-below-info",
            "a path below /info",
            ["TWIN-CORE-052", "TWIN-CORE-040"],
            {"method": "GET", "path": "/info/more"},
            _error(404),
        ),
        (
            "method-not-allowed-info",
            "DELETE on /info",
            ["TWIN-CORE-052", "TWIN-CORE-040"],
            {"method": "DELETE", "path": "/info"},
            _error(405),
        ),
        (
            "method-not-allowed-health",
            "PUT on /health",
            ["TWIN-CORE-052", "TWIN-CORE-040"],
            {"method": "PUT", "path": "/health", "headers": dict(JSON), "body": "{}"},
            _error(405),
        ),
        (
            "login-malformed-json",
            "the body breaks off inside an object",
            malformed,
            _post(login, '{"email": "a@b.example", "password": '),
            _error(400, field="body"),
        ),
        (
            "login-duplicate-member",
            "the body names email twice",
            ijson,
            _post(login, '{"email": "a@b.example", "email": "c@d.example", "password": "x"}'),
            _error(400, field="body"),
        ),
        (
            "login-nan",
            "the body holds NaN",
            ijson,
            _post(login, '{"email": "a@b.example", "password": NaN}'),
            _error(400, field="body"),
        ),
        (
            "login-not-utf8",
            "the body holds the byte 0xff",
            ijson,
            {
                "method": "POST",
                "path": login,
                "headers": dict(JSON),
                "bodyHex": b'{"email": "\xff", "password": "x"}'.hex(),
            },
            _error(400, field="body"),
        ),
        (
            "login-integer-of-4400-digits",
            "the password is an integer literal of 4400 digits, more than a double holds",
            parse_limits,
            _post(login, '{"email": "a@b.example", "password": ' + "1" * 4400 + "}"),
            _error(400, field="body", code="numberOutOfRange"),
        ),
        (
            "login-nested-300-levels",
            "the password nests 300 arrays, beyond the 256 levels a node parses",
            parse_limits,
            _post(login, '{"email": "a@b.example", "password": ' + "[" * 300 + "]" * 300 + "}"),
            _error(400, field="body", code="nestingTooDeep"),
        ),
        (
            "login-lone-surrogate",
            "the email holds a lone surrogate escape, a string with no UTF-8 form",
            parse_limits,
            _post(login, '{"email": "a\\ud800@b.example", "password": "x"}'),
            _error(400, field="body", code="invalidString"),
        ),
        (
            "login-array-body",
            "the body is a JSON array",
            malformed,
            _post(login, "[]"),
            _error(400, field="body"),
        ),
        (
            "login-missing-password",
            "no password",
            malformed,
            _post(login, '{"email": "a@b.example"}'),
            _error(400, field="body.password"),
        ),
        (
            "login-password-number",
            "the password is a number",
            malformed,
            _post(login, '{"email": "a@b.example", "password": 7}'),
            _error(400, field="body.password"),
        ),
        (
            "login-unknown-member",
            "a member login does not take",
            malformed,
            _post(login, '{"email": "a@b.example", "password": "x", "remember": true}'),
            _error(400, field="body.remember"),
        ),
        (
            "login-body-over-1-mib",
            "a JSON body one byte over 1 MiB",
            limits,
            {"method": "POST", "path": login, "headers": dict(JSON), "bodySize": MIB + 1},
            _error(413),
        ),
        (
            "login-text-plain",
            "the body labelled text/plain",
            limits,
            {
                "method": "POST",
                "path": login,
                "headers": {"content-type": "text/plain"},
                "body": good_login,
            },
            _error(415),
        ),
        (
            "login-form-encoded",
            "the body labelled as a form",
            limits,
            {
                "method": "POST",
                "path": login,
                "headers": {"content-type": "application/x-www-form-urlencoded"},
                "body": "email=a%40b.example&password=x",
            },
            _error(415),
        ),
        (
            "login-unlabelled",
            "no content-type at all",
            limits,
            {"method": "POST", "path": login, "body": good_login},
            _error(415),
        ),
        (
            "login-unknown-user",
            "credentials no user has",
            auth,
            _post(login, good_login),
            _error(401),
        ),
        (
            "login-plus-json-media-type",
            "a +json media type is JSON too (the login still fails)",
            [*auth, "TWIN-CORE-053"],
            {
                "method": "POST",
                "path": login,
                "headers": {"content-type": "application/ld+json"},
                "body": good_login,
            },
            _error(401),
        ),
        (
            "refresh-without-token",
            "GET /authentication/refresh with no token",
            auth,
            {"method": "GET", "path": "/authentication/refresh"},
            _error(401),
        ),
        (
            "refresh-garbage-token",
            "a bearer token that is not a JWT",
            auth,
            {
                "method": "GET",
                "path": "/authentication/refresh",
                "headers": {"authorization": "Bearer garbage"},
            },
            _error(401),
        ),
        (
            "refresh-token-of-another-signer",
            "a well-formed EdDSA token the node did not sign",
            auth,
            {
                "method": "GET",
                "path": "/authentication/refresh",
                "headers": {"authorization": f"Bearer {_unknown_key_token()}"},
            },
            _error(401),
        ),
        (
            "refresh-alg-none-token",
            "an unsigned token (alg none)",
            [*auth, "TWIN-IDENTITY-036"],
            {
                "method": "GET",
                "path": "/authentication/refresh",
                "headers": {"authorization": f"Bearer {_alg_none_token()}"},
            },
            _error(401),
        ),
        (
            "refresh-basic-scheme",
            "the Basic scheme instead of Bearer",
            auth,
            {
                "method": "GET",
                "path": "/authentication/refresh",
                "headers": {"authorization": "Basic YWRtaW46YWRtaW4="},
            },
            _error(401),
        ),
    ]


def _identity_cases() -> list[Case]:
    auth = ["TWIN-CORE-051", "TWIN-CORE-052", "TWIN-CORE-040"]
    malformed = ["TWIN-CORE-052", "TWIN-CORE-054", "TWIN-CORE-040"]
    verify = "/identity/proof/verify"
    credential = "/identity/verifiable-credential/verify"
    document = '{"@context": "https://www.w3.org/ns/credentials/v2", "id": "urn:example:1"}'
    return [
        (
            "create-without-token",
            "POST /identity with no token",
            auth,
            _post("/identity", "{}"),
            _error(401),
        ),
        (
            "create-garbage-token",
            "POST /identity with a token that is not a JWT",
            auth,
            _post("/identity", "{}", headers={**JSON, "authorization": "Bearer x.y.z"}),
            _error(401),
        ),
        (
            "create-token-of-another-signer",
            "POST /identity with a token the node did not sign",
            auth,
            _post(
                "/identity",
                "{}",
                headers={**JSON, "authorization": f"Bearer {_unknown_key_token()}"},
            ),
            _error(401),
        ),
        (
            "deactivate-without-token",
            "DELETE /identity/{did} with no token: the route is served, and refuses (not 404)",
            [*auth, "TWIN-CORE-070"],
            {"method": "DELETE", "path": f"/identity/{UNKNOWN_DID_TWIN}"},
            _error(401),
        ),
        (
            "service-of-unknown-did",
            "adding a service to a did:twin no ledger holds",
            ["TWIN-IDENTITY-061", "TWIN-CORE-052", "TWIN-CORE-054", "TWIN-CORE-040"],
            _post(
                f"/identity/{UNKNOWN_DID_TWIN}/service",
                '{"serviceId": "probe", "type": "LinkedDomains", '
                '"endpoint": "https://example.com/"}',
                auth=True,
            ),
            _error(404, code="notFound"),
        ),
        (
            "verify-malformed-json",
            "POST /identity/proof/verify with broken JSON",
            malformed,
            _post(verify, '{"document": {'),
            _error(400, field="body"),
        ),
        (
            "verify-document-not-object",
            "document is a string",
            malformed,
            _post(verify, '{"document": "text", "proof": {}}'),
            _error(400, field="body.document"),
        ),
        (
            "verify-missing-proof",
            "no proof member",
            malformed,
            _post(verify, f'{{"document": {document}}}'),
            _error(400, field="body.proof"),
        ),
        (
            "verify-text-plain",
            "the body labelled text/plain",
            ["TWIN-CORE-053", "TWIN-CORE-040"],
            {
                "method": "POST",
                "path": verify,
                "headers": {"content-type": "text/plain"},
                "body": f'{{"document": {document}, "proof": {{}}}}',
            },
            _error(415),
        ),
        (
            "credential-verify-without-jwt",
            "no jwt query parameter",
            malformed,
            {"method": "GET", "path": credential},
            _error(400, field="query.jwt"),
        ),
        (
            "credential-verify-not-a-jws",
            "jwt is not three base64url parts",
            malformed,
            {"method": "GET", "path": f"{credential}?jwt=not-a-jws"},
            _error(400, field="query.jwt"),
        ),
        (
            "resolve-malformed-did-error-body",
            "GET /identity/{not a DID}: 400 with the DID code",
            ["TWIN-IDENTITY-061", "TWIN-IDENTITY-001", *malformed],
            {
                "method": "GET",
                "path": "/identity/did:example",
                "headers": {"accept": "application/json"},
            },
            _error(400, field="path.identity", code="invalidDid"),
        ),
        (
            "presentation-verify-without-jwt",
            "GET /identity/verifiable-presentation/verify without the jwt parameter",
            ["TWIN-IDENTITY-075", *malformed],
            {"method": "GET", "path": "/identity/verifiable-presentation/verify"},
            _error(400, field="query.jwt"),
        ),
        (
            "public-profile-of-unknown-did",
            "GET /identity/profile/{did}/public of an identity with no profile: 404",
            ["TWIN-IDENTITY-081", "TWIN-CORE-040"],
            {"method": "GET", "path": f"/identity/profile/{UNKNOWN_DID_TWIN}/public"},
            _error(404),
        ),
    ]


def _anchoring_cases() -> list[Case]:
    auth = ["TWIN-CORE-051", "TWIN-CORE-052", "TWIN-CORE-040"]
    malformed = ["TWIN-CORE-052", "TWIN-CORE-054", "TWIN-CORE-040"]
    return [
        (
            "committee",
            "GET /consensus/committee answers the committee receipts verify against",
            ["TWIN-ANCHORING-030", "TWIN-CONSENSUS-001", "TWIN-CORE-056"],
            {"method": "GET", "path": "/consensus/committee"},
            {
                "result": "valid",
                "status": 200,
                "members": ["epoch", "validators"],
                "check": "committee",
                "schema": "Committee",
            },
        ),
        (
            "anchor-without-token",
            "POST /immutable-proof with no token",
            [*auth, "TWIN-ANCHORING-050"],
            _post("/immutable-proof", '{"document": {"a": 1}}'),
            _error(401),
        ),
        (
            "read-proof-without-token",
            "GET /immutable-proof/{id} with no token",
            auth,
            {"method": "GET", "path": f"/immutable-proof/{UNKNOWN_PROOF_ID}"},
            _error(401),
        ),
        (
            "store-without-token",
            "POST /verifiable with no token",
            [*auth, "TWIN-ANCHORING-051"],
            _post("/verifiable", '{"data": "aGVsbG8"}'),
            _error(401),
        ),
        (
            "unknown-proof",
            "an immutable proof id no node issued",
            ["TWIN-CORE-052", "TWIN-CORE-040"],
            {"method": "GET", "path": f"/immutable-proof/{UNKNOWN_PROOF_ID}", "auth": True},
            _error(404),
        ),
        (
            "malformed-proof-id",
            "an immutable proof id of the wrong form",
            malformed,
            {"method": "GET", "path": "/immutable-proof/not-an-id", "auth": True},
            _error(400, field="path.id"),
        ),
        (
            "anchor-document-not-object",
            "document is an array",
            malformed,
            _post("/immutable-proof", '{"document": [1, 2]}', auth=True),
            _error(400, field="body.document"),
        ),
        (
            "anchor-text-plain",
            "the body labelled text/plain",
            ["TWIN-CORE-053", "TWIN-CORE-040"],
            {
                "method": "POST",
                "path": "/immutable-proof",
                "headers": {"content-type": "text/plain"},
                "body": '{"document": {"a": 1}}',
                "auth": True,
            },
            _error(415),
        ),
    ]


def _consensus_cases() -> list[Case]:
    auth = ["TWIN-CORE-051", "TWIN-CORE-052", "TWIN-CORE-040"]
    malformed = ["TWIN-CORE-052", "TWIN-CORE-054", "TWIN-CORE-040"]
    evaluate = ["TWIN-CONSENSUS-103", "TWIN-CORE-054", "TWIN-CORE-040"]
    key = vector_test_key("http/stranger-validator")
    one = {
        "epoch": 0,
        "validators": [
            {
                "index": 0,
                "publicKey": "z" + base58btc_encode(b"\xed\x01" + key.public_key.raw),
                "stake": 1,
            }
        ],
    }
    far_epoch = sign_block(
        key,
        {
            "epoch": MAX_SAFE_INTEGER,
            "round": 1,
            "author": 0,
            "timestampMs": 1_700_000_001_000,
            "ancestors": [{"round": 0, "author": 0, "digest": "00" * 32}],
            "transactions": [],
        },
    )
    sender = did_key_from_public_key(key.public_key)
    tx = {"type": "anchor", "sender": sender, "nonce": "01", "timestampMs": 1, "payload": {}}
    return [
        (
            "genesis-blocks",
            "GET /consensus/blocks?round=0: the genesis of the node's committee",
            ["TWIN-CONSENSUS-100", "TWIN-CONSENSUS-007", "TWIN-CORE-056"],
            {"method": "GET", "path": "/consensus/blocks?round=0"},
            {
                "result": "valid",
                "status": 200,
                "members": ["blocks"],
                "check": "genesisBlocks",
                "schema": "ConsensusBlockList",
            },
        ),
        (
            "round-one-blocks",
            "GET /consensus/blocks?round=1: signed blocks that pass the receive "
            "rules a syncing peer applies",
            ["TWIN-CONSENSUS-100", "TWIN-CONSENSUS-005", "TWIN-CORE-056"],
            {"method": "GET", "path": "/consensus/blocks?round=1"},
            {
                "result": "valid",
                "status": 200,
                "members": ["blocks"],
                "check": "signedBlocks",
                "schema": "ConsensusBlockList",
            },
        ),
        (
            "commit-chain",
            "GET /consensus/commits: commits chained from index 1",
            [
                "TWIN-CONSENSUS-100",
                "TWIN-CONSENSUS-010",
                "TWIN-CONSENSUS-011",
                "TWIN-CONSENSUS-113",
                "TWIN-CORE-056",
            ],
            {"method": "GET", "path": "/consensus/commits?from=1&limit=1000"},
            {
                "result": "valid",
                "status": 200,
                "members": ["commits"],
                "check": "commitChain",
                "schema": "ConsensusCommitList",
            },
        ),
        (
            "checkpoint-chain",
            "GET /consensus/checkpoints: checkpoints chained from sequence 1, "
            "each certified by a quorum of the committee",
            [
                "TWIN-CONSENSUS-100",
                "TWIN-CONSENSUS-106",
                "TWIN-ANCHORING-021",
                "TWIN-ANCHORING-023",
                "TWIN-ANCHORING-024",
                "TWIN-ANCHORING-025",
                "TWIN-ANCHORING-026",
                "TWIN-ANCHORING-027",
                "TWIN-CORE-056",
            ],
            {"method": "GET", "path": "/consensus/checkpoints?from=1&limit=1000"},
            {
                "result": "valid",
                "status": 200,
                "members": ["checkpoints"],
                "check": "checkpointChain",
                "schema": "ConsensusCheckpointList",
            },
        ),
        (
            "equivocations",
            "GET /consensus/equivocations: evidence that verifies under the committee",
            ["TWIN-CONSENSUS-107", "TWIN-CONSENSUS-030"],
            {"method": "GET", "path": "/consensus/equivocations"},
            {
                "result": "valid",
                "status": 200,
                "members": ["equivocations"],
                "check": "equivocationEvidence",
            },
        ),
        (
            "unknown-block",
            "a digest no block has",
            ["TWIN-CONSENSUS-100", "TWIN-CORE-052"],
            {"method": "GET", "path": "/consensus/blocks/" + "00" * 32},
            _error(404),
        ),
        (
            "malformed-block-digest",
            "a digest in uppercase hex",
            ["TWIN-CONSENSUS-100", *malformed],
            {"method": "GET", "path": "/consensus/blocks/" + "AB" * 32},
            _error(400, field="path.digest"),
        ),
        (
            "submit-malformed-block",
            "an empty object as a block, sent with no token",
            ["TWIN-CONSENSUS-101", "TWIN-CONSENSUS-110", *malformed],
            _post("/consensus/blocks", "{}"),
            _error(400, code="malformed"),
        ),
        (
            "submit-block-of-another-epoch",
            "a well-formed block of epoch 2^53 - 1",
            ["TWIN-CONSENSUS-101", "TWIN-CONSENSUS-008", "TWIN-CONSENSUS-110", *malformed],
            {
                "method": "POST",
                "path": "/consensus/blocks",
                "headers": dict(JSON),
                "bodyJson": far_epoch,
            },
            _error(400, code="wrongEpoch"),
        ),
        (
            "submit-block-body-of-1-5-mib",
            "a 1.5 MiB body is read (not 413) and refused as a block",
            ["TWIN-CONSENSUS-110", "TWIN-CONSENSUS-101", *malformed],
            {
                "method": "POST",
                "path": "/consensus/blocks",
                "headers": dict(JSON),
                "bodySize": 3 * MIB // 2,
            },
            _error(400, code="malformed"),
        ),
        (
            "checkpoint-signature-malformed",
            "a signature that is not multibase, sent with no token",
            ["TWIN-CONSENSUS-105", "TWIN-CONSENSUS-110", *malformed],
            {
                "method": "POST",
                "path": "/consensus/checkpoints/1/signatures",
                "headers": dict(JSON),
                "bodyJson": {"signer": 0, "signature": "not multibase"},
            },
            _error(400, code="malformed"),
        ),
        (
            "checkpoint-signature-unknown-signer",
            "a signer index beyond any committee",
            ["TWIN-CONSENSUS-105", "TWIN-CONSENSUS-110", *malformed],
            {
                "method": "POST",
                "path": "/consensus/checkpoints/1/signatures",
                "headers": dict(JSON),
                "bodyJson": {"signer": 1024, "signature": "z" + base58btc_encode(bytes(64))},
            },
            _error(400, code="unknownSigner"),
        ),
        (
            "transaction-without-token",
            "POST /consensus/transactions with no token",
            auth,
            {
                "method": "POST",
                "path": "/consensus/transactions",
                "headers": dict(JSON),
                "bodyJson": tx,
            },
            _error(401),
        ),
        (
            "transaction-without-sender",
            "a transaction lacking its sender",
            ["TWIN-CONSENSUS-104", "TWIN-ANCHORING-020", *malformed],
            {
                "method": "POST",
                "path": "/consensus/transactions",
                "headers": dict(JSON),
                "bodyJson": {k: v for k, v in tx.items() if k != "sender"},
                "auth": True,
            },
            _error(400, field="body.sender"),
        ),
        (
            "transaction-of-another-sender",
            "a transaction whose sender is not the caller",
            ["TWIN-CONSENSUS-104", *malformed],
            {
                "method": "POST",
                "path": "/consensus/transactions",
                "headers": dict(JSON),
                "bodyJson": tx,
                "auth": True,
            },
            _error(400, field="body.sender"),
        ),
        (
            "evaluate-too-many-blocks",
            "20001 blocks",
            evaluate,
            {
                "method": "POST",
                "path": "/consensus/evaluate",
                "headers": dict(JSON),
                "bodyJson": {"committee": one, "blocks": []},
                "fill": {"member": "blocks", "item": {}, "count": 20001},
            },
            _error(413),
        ),
        (
            "evaluate-body-over-16-mib",
            "a body one byte over 16 MiB",
            evaluate,
            {
                "method": "POST",
                "path": "/consensus/evaluate",
                "headers": dict(JSON),
                "bodySize": 16 * MIB + 1,
            },
            _error(413),
        ),
        (
            "evaluate-malformed-committee",
            "a committee without validators",
            evaluate,
            {
                "method": "POST",
                "path": "/consensus/evaluate",
                "headers": dict(JSON),
                "bodyJson": {"committee": {"epoch": 0}, "blocks": []},
            },
            _error(400, field="body.committee"),
        ),
        (
            "evaluate-blocks-not-array",
            "blocks is an object",
            evaluate,
            {
                "method": "POST",
                "path": "/consensus/evaluate",
                "headers": dict(JSON),
                "bodyJson": {"committee": one, "blocks": {}},
            },
            _error(400, field="body.blocks"),
        ),
    ]


def _vectors(profile: str, cases: list[Case]) -> list[Vector]:
    return [
        make_vector(f"{profile}/http", name, description, requirements, input_, expected)
        for name, description, requirements, input_, expected in cases
    ]


def core_http_vectors() -> list[Vector]:
    """Exchanges with the core routes."""
    return _vectors("core", _core_cases())


def identity_http_vectors() -> list[Vector]:
    """Exchanges with the identity routes."""
    return _vectors("identity", _identity_cases())


def anchoring_http_vectors() -> list[Vector]:
    """Exchanges with the anchoring routes."""
    return _vectors("anchoring", _anchoring_cases())


def consensus_http_vectors() -> list[Vector]:
    """Exchanges with the consensus routes."""
    return _vectors("consensus", _consensus_cases())


FAMILIES = [
    Family(
        "core",
        "http",
        True,
        core_http_vectors,
        None,
        "raw HTTP exchanges with the core routes: statuses, error bodies, limits, tokens",
    ),
    Family(
        "identity",
        "http",
        True,
        identity_http_vectors,
        None,
        "raw HTTP exchanges with the identity routes: tokens, unknown DIDs, bad bodies",
    ),
    Family(
        "anchoring",
        "http",
        True,
        anchoring_http_vectors,
        None,
        "raw HTTP exchanges with the anchoring routes: the committee, tokens, bad ids",
    ),
    Family(
        "consensus",
        "http",
        True,
        consensus_http_vectors,
        None,
        "raw HTTP exchanges with the consensus routes: genesis, peer input, evaluate limits",
    ),
]
