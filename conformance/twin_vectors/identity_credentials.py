"""Identity vectors about credentials: credential-verify (live), jwt, credential, status-list."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Mapping
from typing import Any

from twin_spec import (
    STATUS_LIST_PREFIX,
    DidError,
    Ed25519PublicKey,
    Ed25519SigningKey,
    JwtError,
    StatusListError,
    TwinSpecError,
    base64url_decode,
    base64url_encode,
    build_credential,
    canonicalize,
    credential_jwt_claims,
    decode_jwt,
    decode_status_list,
    did_key_from_public_key,
    encode_jwt,
    encode_status_list,
    new_status_list,
    sign_credential_jwt,
    status_bit,
    status_list_service,
    verify_credential_jwt,
    verify_decoded_jwt,
    with_status_bit,
)
from twin_spec import check_jwt_times as _check_jwt_times
from twin_vectors import _edwards as edwards
from twin_vectors._format import (
    Family,
    Vector,
    vector_test_key,
    with_expected,
)
from twin_vectors._keys import (
    FAR_FUTURE_SECONDS,
    ISSUED_SECONDS,
    NOW_SECONDS,
    VC_CONTEXT,
    Case,
    bump_base64url,
    did_key_of,
    json_object,
    method_of,
    raw_jwt,
    raw_jwt_text,
    resolve_did_key_method,
)

CREDENTIAL_VERIFY = "identity/credential-verify"


JWT = "identity/jwt"


CREDENTIAL = "identity/credential"


STATUS_LIST = "identity/status-list"


def credential_key_resolver(kid: str) -> Ed25519PublicKey:
    """Resolve a VC-JWT's kid for assertionMethod, for did:key issuers only."""
    return resolve_did_key_method(kid, "assertionMethod")


def credential_verify_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """What GET /identity/verifiable-credential/verify answers at ``input.now``."""
    try:
        credential = verify_credential_jwt(input_["jwt"], credential_key_resolver, input_["now"])
    except JwtError as exc:
        return {"result": "invalid", "error": exc.reason.value}
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    except TwinSpecError:
        return {"result": "invalid", "error": "credentialMalformed"}
    return {"result": "valid", "revoked": False, "credential": credential}


def _resign(token: str, key: Ed25519SigningKey) -> str:
    head, body, _ = token.split(".")
    signing_input = f"{head}.{body}"
    return signing_input + "." + base64url_encode(key.sign(signing_input.encode("ascii")))


def _credential_cases() -> list[Case]:
    key = vector_test_key("credential-verify/issuer")
    other = vector_test_key("credential-verify/other")
    issuer = did_key_from_public_key(key.public_key)
    kid = method_of(issuer)
    subject = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "id": "did:key:z6MkmkYBJkNitKnZcBioox1fMLpSYaiFXcDnCgPPyhwUxWTM",
        "name": "Nairobi Tea Exporters Ltd",
    }
    issued_ms = ISSUED_SECONDS * 1000
    credential = build_credential(
        issuer,
        subject,
        credential_id="https://exporter.example/credentials/1",
        issued_at_ms=issued_ms,
    )
    token = sign_credential_jwt(
        credential, key, verification_method=kid, issued_at_seconds=ISSUED_SECONDS
    )
    claims = credential_jwt_claims(credential, ISSUED_SECONDS)
    header = {"kid": kid, "typ": "JWT", "alg": "EdDSA"}
    verify = ["TWIN-IDENTITY-065", "TWIN-IDENTITY-042"]
    cases: list[Case] = []

    def add(name: str, description: str, requirements: list[str], jwt: str) -> None:
        cases.append(
            (
                name,
                description,
                [*verify, *requirements],
                {"jwt": jwt, "now": NOW_SECONDS, "issuerSeed": key.seed.hex()},
            )
        )

    add("valid", "a VC-JWT issued by a did:key", ["TWIN-IDENTITY-041", "TWIN-IDENTITY-038"], token)
    future = build_credential(
        issuer,
        {"id": "urn:example:x", "type": "Permit"},
        issued_at_ms=issued_ms,
        expiration_date="2100-01-01T00:00:00.000Z",
    )
    add(
        "valid-with-expiration",
        "an expiration in 2100; no id, so no jti",
        ["TWIN-IDENTITY-039", "TWIN-IDENTITY-041"],
        sign_credential_jwt(future, key, verification_method=kid, issued_at_seconds=ISSUED_SECONDS),
    )
    expired = build_credential(
        issuer, subject, issued_at_ms=issued_ms, expiration_date="2026-01-01T00:01:00.000Z"
    )
    add(
        "expired",
        "expired one minute after issuance, on 2026-01-01",
        ["TWIN-IDENTITY-039"],
        sign_credential_jwt(
            expired, key, verification_method=kid, issued_at_seconds=ISSUED_SECONDS
        ),
    )
    add(
        "not-yet-valid",
        "nbf in the year 2100",
        ["TWIN-IDENTITY-039"],
        sign_credential_jwt(
            credential, key, verification_method=kid, issued_at_seconds=FAR_FUTURE_SECONDS
        ),
    )
    add(
        "exp-not-an-integer",
        "exp is a string",
        ["TWIN-IDENTITY-039"],
        encode_jwt(header, {**claims, "exp": "4102444800"}, key),
    )
    add(
        "alg-none",
        "alg none (with a signature part, so the token still looks like a compact JWS)",
        ["TWIN-IDENTITY-036"],
        raw_jwt({**header, "alg": "none"}, claims, key),
    )
    add(
        "alg-hs256",
        "alg HS256",
        ["TWIN-IDENTITY-036"],
        raw_jwt({**header, "alg": "HS256"}, claims, key),
    )
    add(
        "alg-missing",
        "no alg in the header",
        ["TWIN-IDENTITY-036"],
        raw_jwt({k: v for k, v in header.items() if k != "alg"}, claims, key),
    )
    add(
        "crit-header",
        "the header carries crit",
        ["TWIN-IDENTITY-037"],
        raw_jwt({**header, "crit": ["exp"]}, claims, key),
    )
    add(
        "signed-by-another-key",
        "the issuer's kid, another key's signature",
        ["TWIN-IDENTITY-038"],
        _resign(token, other),
    )
    head, body, sig = token.split(".")
    vc = json_object(claims["vc"])
    tampered_claims = {**claims, "vc": {**vc, "type": ["VerifiableCredential", "Permit"]}}
    add(
        "tampered-payload",
        "the payload changed after signing",
        ["TWIN-IDENTITY-038"],
        f"{head}.{base64url_encode(canonicalize(tampered_claims))}.{sig}",
    )
    raw_signature = key.sign(f"{head}.{body}".encode("ascii"))
    s = int.from_bytes(raw_signature[32:], "little") + edwards.L
    add(
        "s-not-below-l",
        "the signature's S replaced by S + L",
        ["TWIN-IDENTITY-038", "TWIN-CORE-011"],
        f"{head}.{body}.{base64url_encode(raw_signature[:32] + s.to_bytes(32, 'little'))}",
    )
    add(
        "signature-63-bytes",
        "the signature part decodes to 63 bytes",
        ["TWIN-IDENTITY-035"],
        f"{head}.{body}.{base64url_encode(raw_signature[:63])}",
    )
    add(
        "signature-spare-bits",
        "the signature's last character has non-zero spare bits",
        ["TWIN-IDENTITY-035", "TWIN-CORE-031"],
        f"{head}.{body}.{sig[:-1]}{bump_base64url(sig[-1])}",
    )
    add(
        "header-not-json",
        "the header part is base64url of 'not json'",
        ["TWIN-IDENTITY-035"],
        f"{base64url_encode(b'not json')}.{body}.{sig}",
    )
    add(
        "payload-duplicate-member",
        "the payload names iss twice",
        ["TWIN-IDENTITY-035", "TWIN-CORE-003"],
        raw_jwt_text(header, '{"iss":"a","iss":"b"}', key),
    )
    other_did = did_key_from_public_key(other.public_key)
    add(
        "kid-of-another-did",
        "kid names a method of a DID other than iss",
        ["TWIN-IDENTITY-042"],
        encode_jwt({**header, "kid": method_of(other_did)}, claims, other),
    )
    add(
        "kid-missing",
        "the header has no kid",
        ["TWIN-IDENTITY-042"],
        encode_jwt({"typ": "JWT", "alg": "EdDSA"}, claims, key),
    )
    add(
        "kid-without-fragment",
        "kid is the issuer DID without a fragment",
        ["TWIN-IDENTITY-042"],
        encode_jwt({**header, "kid": issuer}, claims, key),
    )
    small_did = did_key_of((1).to_bytes(32, "little"))
    add(
        "issuer-small-order-key",
        "the issuer's did:key holds a key of small order",
        ["TWIN-IDENTITY-003", "TWIN-CORE-013"],
        encode_jwt({**header, "kid": method_of(small_did)}, {**claims, "iss": small_did}, key),
    )
    for name, description, changed in [
        (
            "vc-context-not-v2-first",
            "vc @context does not start with the VC v2 context",
            {**vc, "@context": ["https://schema.org", VC_CONTEXT]},
        ),
        ("vc-without-type", "vc type lacks VerifiableCredential", {**vc, "type": ["Organization"]}),
        (
            "vc-carries-issuer",
            "vc repeats issuer, which is the iss claim",
            {**vc, "issuer": issuer},
        ),
        (
            "vc-subject-not-object",
            "credentialSubject is a string",
            {**vc, "credentialSubject": "x"},
        ),
    ]:
        add(
            name,
            description,
            ["TWIN-IDENTITY-043"],
            encode_jwt(header, {**claims, "vc": changed}, key),
        )
    add(
        "sub-differs",
        "sub differs from credentialSubject.id",
        ["TWIN-IDENTITY-043"],
        encode_jwt(header, {**claims, "sub": "did:example:someone-else"}, key),
    )
    status = build_credential(issuer, subject, issued_at_ms=issued_ms, status_index=5)
    status_claims = credential_jwt_claims(status, ISSUED_SECONDS)
    status_vc = json_object(status_claims["vc"])
    bad_entry = {**json_object(status_vc["credentialStatus"]), "revocationBitmapIndex": "05"}
    bad_status = {**status_vc, "credentialStatus": bad_entry}
    add(
        "status-index-leading-zero",
        "revocationBitmapIndex is '05'",
        ["TWIN-IDENTITY-044"],
        encode_jwt(header, {**status_claims, "vc": bad_status}, key),
    )
    return cases


def credential_verify_vectors() -> list[Vector]:
    """VC-JWTs issued by did:keys, for the live verification route."""
    return with_expected(CREDENTIAL_VERIFY, credential_verify_oracle, _credential_cases())


def jwt_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Parse and verify a compact JWS with a given key; check its times when ``now`` is given."""
    try:
        decoded = decode_jwt(input_["jwt"])
        verify_decoded_jwt(decoded, Ed25519PublicKey(bytes.fromhex(input_["publicKey"])))
        if "now" in input_:
            _check_jwt_times(decoded.payload, input_["now"], input_.get("leeway", 0))
    except JwtError as exc:
        return {"result": "invalid", "error": exc.reason.value}
    return {"result": "valid", "header": decoded.header, "payload": decoded.payload}


def _sized_token(key: Ed25519SigningKey, length: int) -> str:
    """A valid EdDSA token of exactly ``length`` characters (padding header and payload)."""
    for header_pad in range(4):
        header = {"alg": "EdDSA", "typ": "JWT", "x": "x" * header_pad}
        empty = len(encode_jwt(header, {"pad": ""}, key))
        pad = max(0, (length - empty) * 3 // 4 - 3)
        while len(token := encode_jwt(header, {"pad": "x" * pad}, key)) < length:
            pad += 1
        if len(token) == length:
            return token
    raise AssertionError(f"no token of exactly {length} characters")


def _jwt_cases() -> list[Case]:
    key = vector_test_key("jwt/key")
    other = vector_test_key("jwt/other")
    header = {"alg": "EdDSA", "typ": "JWT"}
    payload = {"sub": "did:example:alice", "iat": ISSUED_SECONDS}
    token = encode_jwt(header, payload, key)
    head, body, sig = token.split(".")
    public = key.public_key.raw.hex()
    cases: list[Case] = []

    def add(name: str, description: str, requirements: list[str], jwt: str, **extra: int) -> None:
        cases.append((name, description, requirements, {"jwt": jwt, "publicKey": public, **extra}))

    shape = ["TWIN-IDENTITY-035"]
    add("valid", "a compact JWS with alg EdDSA", ["TWIN-IDENTITY-038", *shape], token)
    add("length-65536", "exactly the longest token accepted", shape, _sized_token(key, 65536))
    add("length-65537", "one character too long", shape, _sized_token(key, 65537))
    add("two-parts", "header and payload only", shape, f"{head}.{body}")
    add("four-parts", "an extra part", shape, f"{token}.{sig}")
    add("five-parts", "the shape of a JWE", shape, f"{token}.{sig}.{sig}")
    add(
        "padded-part",
        "the payload part padded with '='",
        [*shape, "TWIN-CORE-031"],
        f"{head}.{body}==.{sig}",
    )
    signature = base64url_decode(sig)
    add(
        "signature-spare-bits",
        "the signature's last character has non-zero spare bits",
        [*shape, "TWIN-CORE-031"],
        f"{head}.{body}.{sig[:-1]}{bump_base64url(sig[-1])}",
    )
    add(
        "signature-63-bytes",
        "the signature is 63 bytes",
        shape,
        f"{head}.{body}.{base64url_encode(signature[:63])}",
    )
    add(
        "header-array",
        "the header is a JSON array",
        shape,
        f"{base64url_encode(b'[]')}.{body}.{sig}",
    )
    add(
        "payload-not-json", "the payload is not JSON", shape, raw_jwt_text(header, "{not json", key)
    )
    add(
        "payload-nan",
        "the payload holds NaN",
        [*shape, "TWIN-CORE-003"],
        raw_jwt_text(header, '{"n":NaN}', key),
    )
    add("alg-none", "alg none", ["TWIN-IDENTITY-036"], raw_jwt({"alg": "none"}, payload, key))
    add(
        "alg-ed25519",
        "alg Ed25519 is not the JWS name TWIN uses",
        ["TWIN-IDENTITY-036"],
        raw_jwt({"alg": "Ed25519"}, payload, key),
    )
    add("alg-missing", "no alg", ["TWIN-IDENTITY-036"], raw_jwt({"typ": "JWT"}, payload, key))
    add(
        "alg-none-before-signature",
        "alg none with a garbage signature part: refused for alg",
        ["TWIN-IDENTITY-036"],
        raw_jwt({"alg": "none"}, payload, key).rsplit(".", 1)[0] + ".!!",
    )
    add(
        "crit",
        "crit names a header",
        ["TWIN-IDENTITY-037"],
        raw_jwt({**header, "crit": ["b64"], "b64": False}, payload, key),
    )
    add(
        "wrong-key",
        "signed by another key",
        ["TWIN-IDENTITY-038"],
        encode_jwt(header, payload, other),
    )
    add(
        "tampered-payload",
        "the payload changed after signing",
        ["TWIN-IDENTITY-038"],
        f"{head}.{base64url_encode(canonicalize({**payload, 'sub': 'did:example:bob'}))}.{sig}",
    )
    s = int.from_bytes(signature[32:], "little") + edwards.L
    add(
        "s-not-below-l",
        "S + L in place of S",
        ["TWIN-IDENTITY-038", "TWIN-CORE-011"],
        f"{head}.{body}.{base64url_encode(signature[:32] + s.to_bytes(32, 'little'))}",
    )
    times = ["TWIN-IDENTITY-039"]
    now = NOW_SECONDS
    table: list[tuple[str, str, dict[str, object], dict[str, int]]] = [
        ("exp-in-the-future", "exp one second after now", {"exp": now + 1}, {}),
        ("exp-now", "exp equal to now: expired", {"exp": now}, {}),
        ("exp-past", "exp an hour ago", {"exp": now - 3600}, {}),
        (
            "exp-within-leeway",
            "exp 30 s ago with 60 s of leeway",
            {"exp": now - 30},
            {"leeway": 60},
        ),
        ("nbf-now", "nbf equal to now", {"nbf": now}, {}),
        ("nbf-future", "nbf one second after now", {"nbf": now + 1}, {}),
        ("iat-future", "iat one second after now", {"iat": now + 1}, {}),
        (
            "nbf-within-leeway",
            "nbf 30 s ahead with 60 s of leeway",
            {"nbf": now + 30},
            {"leeway": 60},
        ),
        ("exp-string", "exp is a string", {"exp": str(now + 60)}, {}),
        ("exp-fraction", "exp is 1.5 seconds", {"exp": 1.5}, {}),
        ("nbf-boolean", "nbf is true", {"nbf": True}, {}),
    ]
    for name, description, claims, extra in table:
        add(
            name,
            description,
            times,
            encode_jwt(header, {"sub": "x", **claims}, key),
            now=now,
            **extra,
        )
    return cases


def jwt_vectors() -> list[Vector]:
    """Compact JWS parsing, algorithm and crit refusals, signatures and validity times."""
    return with_expected(JWT, jwt_oracle, _jwt_cases())


def credential_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The credential a node issues, its VC-JWT claims and the JWT signed with ``seed``."""
    try:
        credential = build_credential(
            input_["issuer"],
            input_["subject"],
            credential_id=input_.get("credentialId"),
            issued_at_ms=input_["issuedAtMs"],
            status_index=input_.get("statusIndex"),
            expiration_date=input_.get("expirationDate"),
        )
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    except JwtError as exc:
        return {"result": "invalid", "error": exc.reason.value}
    seconds = input_["issuedAtMs"] // 1000
    jwt = sign_credential_jwt(
        credential,
        Ed25519SigningKey(bytes.fromhex(input_["seed"])),
        verification_method=input_["verificationMethod"],
        issued_at_seconds=seconds,
    )
    return {
        "result": "valid",
        "credential": credential,
        "claims": credential_jwt_claims(credential, seconds),
        "jwt": jwt,
    }


def _credential_build_cases() -> list[Case]:
    key = vector_test_key("credential/issuer")
    issuer = "did:twin:0x" + hashlib.sha256(b"credential/issuer").hexdigest()
    base = {
        "issuer": issuer,
        "issuedAtMs": 1_795_256_047_123,
        "seed": key.seed.hex(),
        "verificationMethod": f"{issuer}#my-assertion",
    }
    subject = {
        "@context": "https://schema.org",
        "@type": "Organization",
        "id": "did:key:z6MkmkYBJkNitKnZcBioox1fMLpSYaiFXcDnCgPPyhwUxWTM",
        "name": "Nairobi Tea Exporters Ltd",
    }
    build = ["TWIN-IDENTITY-040", "TWIN-IDENTITY-041"]
    status = ["TWIN-IDENTITY-044"]
    table: list[tuple[str, str, list[str], dict[str, Any]]] = [
        (
            "organization",
            "a subject with @context and @type, and a credential id",
            build,
            {"subject": subject, "credentialId": "https://exporter.example/credentials/3732"},
        ),
        (
            "no-id-no-subject-id",
            "neither a credential id nor a subject id: no jti, no sub",
            build,
            {"subject": {"type": "Permit", "number": 7}},
        ),
        (
            "context-list",
            "subject @context as a list, and type as a list",
            build,
            {
                "subject": {
                    "@context": ["https://schema.org", "https://w3id.org/traceability/v1"],
                    "type": ["Permit", "ExportPermit"],
                    "id": "urn:example:permit:1",
                }
            },
        ),
        (
            "expiration-whole-seconds",
            "an expiration with milliseconds is kept at whole seconds",
            build,
            {"subject": subject, "expirationDate": "2027-11-21T10:20:30.456Z"},
        ),
        (
            "status-index-0",
            "the first status entry",
            [*build, *status],
            {"subject": subject, "statusIndex": 0},
        ),
        (
            "status-index-131071",
            "the last status entry",
            [*build, *status],
            {"subject": subject, "statusIndex": 131071},
        ),
        (
            "status-index-131072",
            "an entry beyond the list",
            status,
            {"subject": subject, "statusIndex": 131072},
        ),
        (
            "issuer-not-a-did",
            "the issuer is not a DID",
            ["TWIN-IDENTITY-040", "TWIN-IDENTITY-001"],
            {"subject": subject, "issuer": "issuer"},
        ),
    ]
    return [
        (name, description, requirements, {**base, **fields})
        for name, description, requirements, fields in table
    ]


def credential_vectors() -> list[Vector]:
    """Credentials as a node issues them, their VC-JWT claims and deterministic JWTs."""
    return with_expected(CREDENTIAL, credential_oracle, _credential_build_cases())


def _set_bits(bits: bytes) -> list[int]:
    return [
        index * 8 + offset
        for index, byte in enumerate(bits)
        if byte
        for offset in range(8)
        if byte >> (7 - offset) & 1
    ]


def status_list_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Decode a status list endpoint, read one entry, or describe a new identity's list."""
    try:
        if input_["op"] == "service":
            service = status_list_service(input_["did"], new_status_list())
            bits = decode_status_list(str(service["serviceEndpoint"]))
            return {
                "result": "valid",
                "id": service["id"],
                "type": service["type"],
                "endpointPrefix": STATUS_LIST_PREFIX,
                "length": len(bits),
                "set": _set_bits(bits),
            }
        bits = decode_status_list(input_["endpoint"])
        if input_["op"] == "bit":
            return {"result": "valid", "revoked": status_bit(bits, input_["index"])}
    except StatusListError:
        return {"result": "invalid", "error": "invalidStatusList"}
    return {"result": "valid", "length": len(bits), "set": _set_bits(bits)}


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _endpoint(compressed: bytes) -> str:
    return STATUS_LIST_PREFIX + base64url_encode(compressed)


def _status_list_cases() -> list[Case]:
    empty = new_status_list()
    some = with_status_bit(with_status_bit(with_status_bit(empty, 0, True), 13, True), 131071, True)
    first_byte_low = bytes([0x01]) + empty[1:]
    decode = ["TWIN-IDENTITY-052"]
    bit = ["TWIN-IDENTITY-051"]
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = raw_deflate.compress(empty) + raw_deflate.flush()
    good = _gzip(empty)
    endpoint = encode_status_list(some)
    cases: list[Case] = [
        (
            "new-identity-service",
            "the #revocation service of a new identity: 16384 zero bytes",
            ["TWIN-IDENTITY-050"],
            {"op": "service", "did": "did:twin:0x" + hashlib.sha256(b"status").hexdigest()},
        ),
        (
            "decode-empty",
            "a new list",
            ["TWIN-IDENTITY-050", *decode],
            {"op": "decode", "endpoint": encode_status_list(empty)},
        ),
        (
            "decode-some-set",
            "entries 0, 13 and 131071 set",
            decode,
            {"op": "decode", "endpoint": endpoint},
        ),
        (
            "decode-two-gzip-members",
            "two gzip members of 8192 bytes each",
            decode,
            {"op": "decode", "endpoint": _endpoint(_gzip(some[:8192]) + _gzip(some[8192:]))},
        ),
        (
            "decode-longest",
            "262144 bytes, the longest list accepted",
            decode,
            {"op": "decode", "endpoint": _endpoint(_gzip(bytes(262144)))},
        ),
        (
            "decode-bomb",
            "262145 bytes: refused, reading no further",
            decode,
            {"op": "decode", "endpoint": _endpoint(_gzip(bytes(262145)))},
        ),
        (
            "decode-too-short",
            "16383 bytes",
            decode,
            {"op": "decode", "endpoint": _endpoint(_gzip(bytes(16383)))},
        ),
        (
            "decode-truncated",
            "the gzip trailer cut off",
            decode,
            {"op": "decode", "endpoint": _endpoint(good[:-4])},
        ),
        (
            "decode-trailing-bytes",
            "two zero bytes after the gzip member",
            decode,
            {"op": "decode", "endpoint": _endpoint(good + b"\x00\x00")},
        ),
        (
            "decode-raw-deflate",
            "deflate without the gzip wrapper",
            decode,
            {"op": "decode", "endpoint": _endpoint(deflated)},
        ),
        (
            "decode-wrong-prefix",
            "a data: URL of another media type",
            decode,
            {"op": "decode", "endpoint": endpoint.replace("octet-stream", "gzip")},
        ),
        (
            "decode-padded",
            "base64url with padding",
            [*decode, "TWIN-CORE-031"],
            {
                "op": "decode",
                "endpoint": endpoint + "=" * (-(len(endpoint) - len(STATUS_LIST_PREFIX)) % 4 or 4),
            },
        ),
        (
            "decode-standard-base64",
            "'+' in place of '-'",
            [*decode, "TWIN-CORE-031"],
            {
                "op": "decode",
                "endpoint": STATUS_LIST_PREFIX + "+" + endpoint[len(STATUS_LIST_PREFIX) + 1 :],
            },
        ),
        (
            "bit-0-is-the-first-bit",
            "entry 0 is the most significant bit of byte 0",
            bit,
            {"op": "bit", "endpoint": endpoint, "index": 0},
        ),
        (
            "bit-13",
            "entry 13 is bit 2 of byte 1",
            bit,
            {"op": "bit", "endpoint": endpoint, "index": 13},
        ),
        (
            "bit-12-clear",
            "entry 12 is not set",
            bit,
            {"op": "bit", "endpoint": endpoint, "index": 12},
        ),
        ("bit-131071", "the last entry", bit, {"op": "bit", "endpoint": endpoint, "index": 131071}),
        (
            "bit-7-of-low-byte",
            "byte 0 is 0x01: entry 7 is set",
            bit,
            {"op": "bit", "endpoint": encode_status_list(first_byte_low), "index": 7},
        ),
        (
            "bit-0-of-low-byte",
            "byte 0 is 0x01: entry 0 is not set",
            bit,
            {"op": "bit", "endpoint": encode_status_list(first_byte_low), "index": 0},
        ),
        (
            "bit-out-of-range",
            "entry 131072 of a 16384-byte list",
            bit,
            {"op": "bit", "endpoint": endpoint, "index": 131072},
        ),
        ("bit-negative", "entry -1", bit, {"op": "bit", "endpoint": endpoint, "index": -1}),
    ]
    return cases


def status_list_vectors() -> list[Vector]:
    """BitstringStatusList endpoints decoded or refused, and single entries read."""
    return with_expected(STATUS_LIST, status_list_oracle, _status_list_cases())


FAMILIES = [
    Family(
        "identity",
        "credential-verify",
        True,
        credential_verify_vectors,
        credential_verify_oracle,
        "a VC-JWT issued by a did:key (GET /identity/verifiable-credential/verify): the "
        "credential, or the failure reason",
    ),
    Family(
        "identity",
        "jwt",
        False,
        jwt_vectors,
        jwt_oracle,
        "compact JWS parsing, algorithms, signatures and validity times",
    ),
    Family(
        "identity",
        "credential",
        False,
        credential_vectors,
        credential_oracle,
        "the credential, VC-JWT claims and JWT a node issues for a subject",
    ),
    Family(
        "identity",
        "status-list",
        False,
        status_list_vectors,
        status_list_oracle,
        "BitstringStatusList endpoints decoded or refused, and entries read",
    ),
]
