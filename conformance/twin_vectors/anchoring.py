"""Offline vectors of the ``anchoring`` profile: object hashes, Merkle proofs, receipts.

A receipt is checked without asking any node: the vectors give the committee (with the seeds
of its test keys), the receipt and the transaction the verifier expects, and the answer is the
certified summary or the first failing part.
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from twin_spec import (
    MAX_TRANSACTION_DEPTH,
    Committee,
    DidError,
    InclusionProof,
    LedgerError,
    MerkleProofError,
    MessageKind,
    ProofVerificationError,
    ReceiptVerificationError,
    TransactionLimitError,
    TwinSpecError,
    Validator,
    canonicalize,
    certify_checkpoint,
    check_proof_object_hash,
    check_transaction,
    did_key_from_public_key,
    inclusion_proof,
    make_checkpoint_summary,
    make_receipt,
    merkle_tree_hash,
    multibase_encode,
    proof_object_hash,
    sign_checkpoint,
    sign_document,
    sign_message,
    transaction_digest,
    verify_inclusion_proof,
    verify_proof,
    verify_receipt,
)
from twin_vectors._format import (
    Family,
    Vector,
    vector_test_key,
    with_expected,
)
from twin_vectors._keys import (
    CREATED,
    method_of,
    resolve_did_key_method,
)
from twin_vectors.consensus import committee_input
from twin_vectors.dag_notation import make_committee, signing_key

OBJECT_HASH = "anchoring/object-hash"
MERKLE = "anchoring/merkle"
RECEIPT = "anchoring/receipt"
TRANSACTION = "anchoring/transaction"
IMMUTABLE_PROOF = "anchoring/immutable-proof"
BASE_TIME = 1_795_000_000_000

Case = tuple[str, str, list[str], dict[str, Any]]


# --- anchoring/object-hash --------------------------------------------------------------------


def object_hash_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """The proofObjectHash of a document, or whether a claimed one matches."""
    if "claimed" in input_:
        try:
            check_proof_object_hash(input_["document"], input_["claimed"])
        except TwinSpecError:
            return {"result": "invalid", "error": "objectHashMismatch"}
        return {"result": "valid"}
    return {"result": "valid", "proofObjectHash": proof_object_hash(input_["document"])}


def _object_hash_cases() -> list[Case]:
    rule = ["TWIN-ANCHORING-001", "TWIN-CORE-001"]
    document = {
        "@context": "https://schema.org",
        "type": "Invoice",
        "id": "urn:example:invoice:2026-4471",
        "total": 1250.5,
        "currency": "KES",
    }
    documents: list[tuple[str, str, object]] = [
        ("invoice", "a small JSON-LD document", document),
        ("empty-object", "an empty object", {}),
        ("key-order", "members given out of order", {"z": 1, "a": {"y": 2, "b": 3}}),
        (
            "quotes-and-backslashes",
            "characters the string literal must escape",
            {"text": 'say "hi" \\ bye'},
        ),
        (
            "control-characters",
            "control characters, escaped once by JCS and again as a literal",
            {"text": "line\nbreak\ttab\u0001"},
        ),
        (
            "non-ascii",
            "non-ASCII text and a line separator, left unescaped",
            {"text": "Nairobi \u2013 \u00e9t\u00e9 \u20ac \U0001f600 \u2028"},
        ),
        ("numbers", "numbers in their JCS form", {"n": [1e21, 0.1, -0.0, 100, 5e-324]}),
        ("array", "a bare array", [1, "two", None, True]),
    ]
    cases: list[Case] = [
        (name, description, rule, {"document": value}) for name, description, value in documents
    ]
    good = proof_object_hash(document)
    cases += [
        (
            "claimed-matches",
            "the claimed hash is the document's",
            rule,
            {"document": document, "claimed": good},
        ),
        (
            "claimed-of-another-document",
            "the hash of a changed document",
            rule,
            {"document": {**document, "total": 1250.51}, "claimed": good},
        ),
        (
            "claimed-unquoted-hash",
            "SHA-256 of the JCS text without the extra JSON quoting",
            rule,
            {"document": document, "claimed": _unquoted_hash(document)},
        ),
        (
            "claimed-base64url",
            "the right digest in base64url",
            rule,
            {"document": document, "claimed": good.replace("+", "-").replace("/", "_")},
        ),
    ]
    return cases


def _unquoted_hash(document: object) -> str:
    return "sha256:" + base64.b64encode(hashlib.sha256(canonicalize(document)).digest()).decode()


def object_hash_vectors() -> list[Vector]:
    """ProofObjectHash values of documents, as the TWIN node computes them."""
    return with_expected(OBJECT_HASH, object_hash_oracle, _object_hash_cases())


# --- anchoring/merkle -------------------------------------------------------------------------


def merkle_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """A tree's root, one leaf's inclusion proof, or the verdict on a proof."""
    operation = input_["op"]
    if operation == "root":
        leaves = [bytes.fromhex(leaf) for leaf in input_["leaves"]]
        return {"result": "valid", "root": merkle_tree_hash(leaves).hex()}
    if operation == "proof":
        leaves = [bytes.fromhex(leaf) for leaf in input_["leaves"]]
        return {"result": "valid", "proof": inclusion_proof(leaves, input_["index"]).to_json()}
    try:
        proof = InclusionProof.from_json(input_["proof"])
        verify_inclusion_proof(
            bytes.fromhex(input_["leafHash"]), proof, bytes.fromhex(input_["root"])
        )
    except MerkleProofError as exc:
        code = (
            "inclusionProofMalformed"
            if exc.requirement == "TWIN-ANCHORING-012"
            else "inclusionProofMismatch"
        )
        return {"result": "invalid", "error": code}
    return {"result": "valid"}


def _leaves(count: int) -> list[str]:
    return [f"anchored document {index}".encode().hex() for index in range(count)]


def _merkle_cases() -> list[Case]:
    tree = ["TWIN-ANCHORING-010"]
    verify = ["TWIN-ANCHORING-011"]
    shape = ["TWIN-ANCHORING-012"]
    cases: list[Case] = [
        (
            f"root-{count}-leaves",
            f"the root of {count} leaves",
            tree,
            {"op": "root", "leaves": _leaves(count)},
        )
        for count in (0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17)
    ]
    cases.append(
        (
            "root-of-an-empty-leaf",
            "one leaf of no bytes is not the empty tree",
            tree,
            {"op": "root", "leaves": [""]},
        )
    )
    for count, index in [(1, 0), (2, 1), (3, 2), (5, 4), (7, 3), (8, 0), (9, 8), (17, 16)]:
        cases.append(
            (
                f"proof-{index}-of-{count}",
                f"the inclusion proof of leaf {index} in a tree of {count}",
                [*tree, *shape],
                {"op": "proof", "leaves": _leaves(count), "index": index},
            )
        )
    leaves = [bytes.fromhex(leaf) for leaf in _leaves(7)]
    root = merkle_tree_hash(leaves).hex()
    proof: dict[str, Any] = inclusion_proof(leaves, 3).to_json()
    leaf = hashlib.sha256(b"\x00" + leaves[3]).hexdigest()
    path: list[str] = list(proof["auditPath"])
    flipped = path[0][:-1] + ("0" if path[0][-1] != "0" else "1")
    checks: list[tuple[str, str, list[str], dict[str, Any]]] = [
        ("verify-valid", "leaf 3 of 7 against the trusted root", verify, {}),
        (
            "verify-other-root",
            "a root the proof does not lead to",
            verify,
            {"root": merkle_tree_hash(leaves[:6]).hex()},
        ),
        (
            "verify-other-leaf",
            "the leaf hash of leaf 4",
            verify,
            {"leafHash": hashlib.sha256(b"\x00" + leaves[4]).hexdigest()},
        ),
        (
            "verify-unprefixed-leaf",
            "SHA-256 of the leaf data without the 0x00 prefix",
            verify,
            {"leafHash": hashlib.sha256(leaves[3]).hexdigest()},
        ),
        (
            "verify-flipped-path",
            "one audit path hash changed",
            verify,
            {"proof": {**proof, "auditPath": [flipped, *path[1:]]}},
        ),
        (
            "verify-index-not-below-size",
            "leafIndex 7 in a tree of 7",
            verify,
            {"proof": {**proof, "leafIndex": 7}},
        ),
        (
            "verify-path-too-long",
            "one hash too many",
            verify,
            {"proof": {**proof, "auditPath": [*path, path[0]]}},
        ),
        (
            "verify-path-too-short",
            "one hash too few",
            verify,
            {"proof": {**proof, "auditPath": path[:-1]}},
        ),
        (
            "verify-same-path-larger-size",
            "treeSize 8: leaf 3's path is the same as in a tree of 7, so the proof alone verifies",
            verify,
            {"proof": {**proof, "treeSize": 8}},
        ),
        (
            "verify-uppercase-hex",
            "an audit path hash in uppercase",
            shape,
            {"proof": {**proof, "auditPath": [path[0].upper(), *path[1:]]}},
        ),
        (
            "verify-wrong-type",
            "type is not MerkleInclusionProof",
            shape,
            {"proof": {**proof, "type": "InclusionProof"}},
        ),
        (
            "verify-sha512",
            "hashAlgorithm sha-512",
            shape,
            {"proof": {**proof, "hashAlgorithm": "sha-512"}},
        ),
        ("verify-size-zero", "treeSize 0", shape, {"proof": {**proof, "treeSize": 0}}),
        ("verify-negative-index", "leafIndex -1", shape, {"proof": {**proof, "leafIndex": -1}}),
        (
            "verify-index-string",
            "leafIndex as a string",
            shape,
            {"proof": {**proof, "leafIndex": "3"}},
        ),
        (
            "verify-path-not-array",
            "auditPath is a string",
            shape,
            {"proof": {**proof, "auditPath": path[0]}},
        ),
    ]
    for name, description, requirements, change in checks:
        input_ = {"op": "verify", "leafHash": leaf, "proof": proof, "root": root, **change}
        cases.append((name, description, requirements, input_))
    return cases


def merkle_vectors() -> list[Vector]:
    """RFC 9162 roots and inclusion proofs, built and verified."""
    return with_expected(MERKLE, merkle_oracle, _merkle_cases())


# --- anchoring/transaction --------------------------------------------------------------------


def transaction_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger transaction's digest, or its refusal: the limit it breaks, else its shape."""
    try:
        check_transaction(input_["transaction"])
    except TransactionLimitError as exc:
        return {"result": "invalid", "error": exc.code}
    except LedgerError:
        return {"result": "invalid", "error": "invalidTransaction"}
    return {"result": "valid", "digest": transaction_digest(input_["transaction"]).hex()}


def transaction(number: int, **payload: object) -> dict[str, Any]:
    """A small valid transaction sent by a test did:key."""
    return {
        "type": "immutableProof.create",
        "sender": did_key_from_public_key(vector_test_key("anchoring/sender").public_key),
        "nonce": f"{number:016x}",
        "timestampMs": BASE_TIME + number,
        "payload": dict(payload),
    }


def _sized_transaction(size: int) -> dict[str, Any]:
    empty = transaction(0, data="")
    return transaction(0, data="x" * (size - len(canonicalize(empty))))


def _nested_transaction(depth: int) -> dict[str, Any]:
    """A transaction nesting exactly ``depth`` levels (it is level 1, its payload level 2)."""
    data: dict[str, Any] = {}
    for _ in range(depth - 3):
        data = {"a": data}
    return transaction(0, data=data)


def _transaction_cases() -> list[Case]:
    shape = ["TWIN-ANCHORING-020"]
    limits = ["TWIN-ANCHORING-060"]
    base = transaction(1, id="immutable-proof:" + "ab" * 32)
    table: list[tuple[str, str, list[str], object]] = [
        ("minimal", "the five required members", shape, base),
        (
            "extra-members",
            "members beyond the required ones are kept and hashed",
            shape,
            {**base, "memo": "extra", "fee": 0},
        ),
        (
            "exactly-65536-bytes",
            "65536 bytes of JCS, the most a transaction may have",
            [*shape, *limits, "TWIN-CONSENSUS-004"],
            _sized_transaction(65536),
        ),
        (
            "65537-bytes",
            "one byte over the limit",
            [*shape, *limits, "TWIN-CONSENSUS-004"],
            _sized_transaction(65537),
        ),
        (
            f"nested-{MAX_TRANSACTION_DEPTH}-levels",
            f"{MAX_TRANSACTION_DEPTH} levels of nesting, the most a transaction may have",
            limits,
            _nested_transaction(MAX_TRANSACTION_DEPTH),
        ),
        (
            f"nested-{MAX_TRANSACTION_DEPTH + 1}-levels",
            "one level of nesting over the limit",
            limits,
            _nested_transaction(MAX_TRANSACTION_DEPTH + 1),
        ),
        ("missing-sender", "no sender", shape, {k: v for k, v in base.items() if k != "sender"}),
        ("missing-payload", "no payload", shape, {k: v for k, v in base.items() if k != "payload"}),
        ("timestamp-string", "timestampMs is a string", shape, {**base, "timestampMs": "1"}),
        ("timestamp-negative", "timestampMs is negative", shape, {**base, "timestampMs": -1}),
        ("nonce-number", "nonce is a number", shape, {**base, "nonce": 7}),
        ("payload-array", "payload is an array", shape, {**base, "payload": []}),
        ("not-an-object", "an array", shape, [base]),
    ]
    return [
        (name, description, requirements, {"transaction": value})
        for name, description, requirements, value in table
    ]


def transaction_vectors() -> list[Vector]:
    """Ledger transactions and their digests (SHA-256 of the JCS form)."""
    return with_expected(TRANSACTION, transaction_oracle, _transaction_cases())


# --- anchoring/receipt ------------------------------------------------------------------------


def receipt_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Verify a receipt offline against the committee: the certified summary or the failure."""
    committee = Committee.from_json(input_["committee"])
    expected = input_.get("transactionDigest")
    try:
        summary = verify_receipt(
            input_["receipt"],
            committee,
            transaction_digest=bytes.fromhex(expected) if expected is not None else None,
        )
    except ReceiptVerificationError as exc:
        failure: dict[str, Any] = {"result": "invalid", "error": exc.part.value}
        if exc.part.value == "receiptMalformed":
            failure["field"] = exc.field
        return failure
    return {"result": "valid", "summary": summary}


def certified(
    committee: Committee,
    digests: Sequence[bytes],
    signers: Sequence[int],
    *,
    epoch: int | None = None,
    sequence: int = 1,
) -> dict[str, Any]:
    """A certified checkpoint over ``digests``, signed by the test keys of ``signers``."""
    summary = make_checkpoint_summary(
        committee.epoch if epoch is None else epoch,
        sequence,
        sequence,
        hashlib.sha256(b"commit %d" % sequence).digest(),
        digests,
        bytes(32) if sequence == 1 else hashlib.sha256(b"previous").digest(),
        BASE_TIME + sequence,
    )
    return certify_checkpoint(
        summary, [sign_checkpoint(signing_key(index), index, summary) for index in signers]
    )


def _receipt_cases() -> list[Case]:
    committee = make_committee([1, 1, 1, 1])
    transactions = [transaction(number) for number in range(5)]
    digests = [transaction_digest(tx) for tx in transactions]
    checkpoint = certified(committee, digests, [0, 1, 2])
    receipt: dict[str, Any] = make_receipt(digests[2], digests, checkpoint)
    members = committee_input(committee)
    verify = ["TWIN-ANCHORING-030"]
    cases: list[Case] = []

    def add(
        name: str,
        description: str,
        requirements: list[str],
        value: object,
        *,
        expected_digest: bytes | None = digests[2],
        inputs: Mapping[str, Any] = members,
    ) -> None:
        input_: dict[str, Any] = {**inputs, "receipt": value}
        if expected_digest is not None:
            input_["transactionDigest"] = expected_digest.hex()
        cases.append((name, description, [*verify, *requirements], input_))

    def changed(path: Sequence[Any], value: object) -> dict[str, Any]:
        result = copy.deepcopy(receipt)
        target: Any = result
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value
        return result

    valid = [
        "TWIN-ANCHORING-021",
        "TWIN-ANCHORING-022",
        "TWIN-ANCHORING-024",
        "TWIN-ANCHORING-025",
        "TWIN-ANCHORING-026",
        "TWIN-ANCHORING-028",
        "TWIN-ANCHORING-029",
        "TWIN-CONSENSUS-106",
    ]
    add("valid", "transaction 2 of 5, signed by 3 of 4 validators", valid, receipt)
    add(
        "valid-without-expected-digest",
        "the verifier names no transaction",
        valid,
        receipt,
        expected_digest=None,
    )
    every = certified(committee, digests, [0, 1, 2, 3])
    add(
        "valid-four-signatures",
        "signed by every validator",
        valid,
        make_receipt(digests[0], digests, every),
        expected_digest=digests[0],
    )
    single = certified(committee, digests[:1], [1, 2, 3])
    add(
        "valid-single-transaction",
        "a checkpoint of one transaction: an empty audit path",
        valid,
        make_receipt(digests[0], digests[:1], single),
        expected_digest=digests[0],
    )
    storage = {
        **transaction(9),
        "type": "verifiable.create",
        "payload": {"id": "verifiable:twin:" + "cd" * 32},
    }
    storage_digests = [*digests[:2], transaction_digest(storage)]
    storage_checkpoint = certified(committee, storage_digests, [0, 2, 3])
    add(
        "valid-verifiable-storage-create",
        "the receipt of a verifiable storage write",
        [*valid, "TWIN-ANCHORING-051"],
        make_receipt(storage_digests[2], storage_digests, storage_checkpoint),
        expected_digest=storage_digests[2],
    )
    heavy = Committee(
        0,
        tuple(
            Validator(index, signing_key(index).public_key, stake)
            for index, stake in enumerate([1, 1, 1, 3])
        ),
    )
    heavy_members = committee_input(heavy)
    add(
        "valid-quorum-by-stake",
        "stakes 1 1 1 3: validators 0, 1 and 3 hold 5 of 6",
        [*valid, "TWIN-CONSENSUS-002"],
        make_receipt(digests[2], digests, certified(heavy, digests, [0, 1, 3])),
        inputs=heavy_members,
    )
    add(
        "quorum-missing-by-stake",
        "stakes 1 1 1 3: validators 0, 1 and 2 hold 3 of 6",
        ["TWIN-ANCHORING-026", "TWIN-CONSENSUS-002"],
        make_receipt(digests[2], digests, certified(heavy, digests, [0, 1, 2])),
        inputs=heavy_members,
    )
    add(
        "quorum-missing",
        "two of four signatures",
        ["TWIN-ANCHORING-026"],
        make_receipt(digests[2], digests, certified(committee, digests, [0, 3])),
    )
    add(
        "transaction-mismatch",
        "the verifier expects transaction 3",
        ["TWIN-ANCHORING-032"],
        receipt,
        expected_digest=digests[3],
    )
    epoch_one = {**members, "committee": Committee(1, committee.validators).to_json()}
    add(
        "epoch-mismatch",
        "the committee is of epoch 1, the checkpoint of epoch 0",
        ["TWIN-ANCHORING-027"],
        receipt,
        inputs=epoch_one,
    )
    add(
        "transaction-checked-before-epoch",
        "both the digest and the epoch are wrong",
        ["TWIN-ANCHORING-032"],
        receipt,
        expected_digest=digests[3],
        inputs=epoch_one,
    )
    signatures = checkpoint["signatures"]
    add(
        "signature-flipped",
        "validator 1's signature is another summary's",
        ["TWIN-ANCHORING-025"],
        changed(
            ["checkpoint", "signatures", 1, "signature"],
            certified(committee, digests, [1], sequence=2)["signatures"][0]["signature"],
        ),
    )
    add(
        "signature-in-block-domain",
        "validator 0 signed the summary in the block domain",
        ["TWIN-ANCHORING-024", "TWIN-CORE-021"],
        changed(
            ["checkpoint", "signatures", 0, "signature"],
            multibase_encode(
                sign_message(signing_key(0), MessageKind.BLOCK, checkpoint["summary"])
            ),
        ),
    )
    add(
        "signers-out-of-order",
        "signatures by 1, 0 and 2",
        ["TWIN-ANCHORING-025"],
        changed(["checkpoint", "signatures"], [signatures[1], signatures[0], signatures[2]]),
    )
    add(
        "signer-twice",
        "validator 0 listed twice",
        ["TWIN-ANCHORING-025", "TWIN-CONSENSUS-003"],
        changed(["checkpoint", "signatures"], [signatures[0], signatures[0], signatures[1]]),
    )
    add(
        "signer-not-in-committee",
        "a signature by index 4",
        ["TWIN-ANCHORING-025"],
        changed(["checkpoint", "signatures"], [*signatures, {**signatures[2], "signer": 4}]),
    )
    add(
        "inclusion-wrong-index",
        "the proof says leaf 3",
        ["TWIN-ANCHORING-029"],
        changed(["inclusionProof", "leafIndex"], 3),
    )
    add(
        "inclusion-size-not-count",
        "treeSize 6 for a checkpoint of 5 transactions",
        ["TWIN-ANCHORING-029"],
        changed(["inclusionProof", "treeSize"], 6),
    )
    path: list[str] = list(receipt["inclusionProof"]["auditPath"])
    add(
        "inclusion-path-changed",
        "the first audit path hash is another's",
        ["TWIN-ANCHORING-029"],
        changed(["inclusionProof", "auditPath"], [path[1], *path[1:]]),
    )
    add(
        "other-transaction-digest",
        "the receipt names transaction 3 with transaction 2's proof",
        ["TWIN-ANCHORING-029"],
        changed(["transactionDigest"], digests[3].hex()),
        expected_digest=None,
    )
    malformed = ["TWIN-ANCHORING-031", "TWIN-ANCHORING-028"]
    table: list[tuple[str, str, list[Any], object]] = [
        ("type-wrong", "type LedgerReceipt", ["type"], "LedgerReceipt"),
        ("checkpoint-missing", "no checkpoint", ["checkpoint"], _DELETE),
        ("extra-member", "a member receipts do not have", ["note"], "extra"),
        (
            "digest-uppercase",
            "transactionDigest in uppercase hex",
            ["transactionDigest"],
            digests[2].hex().upper(),
        ),
        (
            "digest-short",
            "transactionDigest of 31 bytes",
            ["transactionDigest"],
            digests[2][:31].hex(),
        ),
        ("proof-not-object", "inclusionProof is an array", ["inclusionProof"], []),
        (
            "proof-path-uppercase",
            "an audit path hash in uppercase",
            ["inclusionProof", "auditPath"],
            [item.upper() for item in path],
        ),
        (
            "signature-base16",
            "a signature in base16 multibase",
            ["checkpoint", "signatures", 0, "signature"],
            "f" + "00" * 64,
        ),
        (
            "signature-63-bytes",
            "a signature of 63 bytes",
            ["checkpoint", "signatures", 0, "signature"],
            multibase_encode(bytes(63)),
        ),
        ("signer-string", "signer is a string", ["checkpoint", "signatures", 0, "signer"], "0"),
        (
            "next-committee-not-null",
            "the summary's nextCommittee is an object",
            ["checkpoint", "summary", "nextCommittee"],
            {},
        ),
        (
            "summary-root-missing",
            "the summary has no transactionsRoot",
            ["checkpoint", "summary", "transactionsRoot"],
            _DELETE,
        ),
        ("summary-sequence-zero", "sequence 0", ["checkpoint", "summary", "sequence"], 0),
    ]
    for name, description, path_, value in table:
        add(f"malformed-{name}", description, malformed, changed(path_, value))
    return cases


_DELETE = object()


def receipt_vectors() -> list[Vector]:
    """TwinLedgerReceipts verified offline against a committee, in the fixed order of checks."""
    return with_expected(RECEIPT, receipt_oracle, _receipt_cases())


# --- anchoring/immutable-proof ----------------------------------------------------------------


def immutable_proof_oracle(input_: Mapping[str, Any]) -> dict[str, Any]:
    """Check an ImmutableProof against its document: the hash, then the signature."""
    proof = input_["immutableProof"]
    try:
        check_proof_object_hash(input_["document"], proof.get("proofObjectHash"))
    except TwinSpecError:
        return {"result": "invalid", "error": "objectHashMismatch"}
    try:
        verify_proof(proof, resolve_did_key_method, expected_purpose="assertionMethod")
    except ProofVerificationError as exc:
        return {"result": "invalid", "error": exc.reason.value}
    except DidError as exc:
        return {"result": "invalid", "error": exc.code.value}
    return {"result": "valid"}


def _proof_of(secured: Mapping[str, object]) -> dict[str, Any]:
    proof = secured["proof"]
    if not isinstance(proof, dict):
        raise TypeError("sign_document attaches the proof as an object")
    return proof


def _immutable_proof_cases() -> list[Case]:
    node_key = vector_test_key("immutable-proof/node")
    node_did = did_key_from_public_key(node_key.public_key)
    document = {"@context": "https://schema.org", "type": "Invoice", "id": "urn:example:inv:1"}
    unsigned = {
        "@context": [
            "https://schema.twindev.org/immutable-proof/",
            "https://schema.twindev.org/common/",
            "https://www.w3.org/ns/credentials/v2",
        ],
        "id": "8c2ea8d65a3ca2dafd1bf506e501722f67c706994ba084eb84abb336da6d139e",
        "type": "ImmutableProof",
        "nodeIdentity": node_did,
        "userIdentity": "did:key:z6MkmkYBJkNitKnZcBioox1fMLpSYaiFXcDnCgPPyhwUxWTM",
        "proofObjectHash": proof_object_hash(document),
        "proofObjectId": "urn:example:inv:1",
    }
    signed = sign_document(
        unsigned, node_key, verification_method=method_of(node_did), created=CREATED
    )
    proof = _proof_of(signed)
    shape = ["TWIN-ANCHORING-050", "TWIN-ANCHORING-001", "TWIN-IDENTITY-020"]
    return [
        (
            "valid",
            "an ImmutableProof signed by the node key, for its document",
            shape,
            {"immutableProof": signed, "document": document},
        ),
        (
            "document-changed",
            "the document changed after anchoring",
            shape,
            {"immutableProof": signed, "document": {**document, "type": "Receipt"}},
        ),
        (
            "user-identity-changed",
            "userIdentity changed after signing",
            [*shape, "TWIN-IDENTITY-025"],
            {"immutableProof": {**signed, "userIdentity": node_did}, "document": document},
        ),
        (
            "authentication-purpose",
            "signed for authentication, not assertionMethod",
            [*shape, "TWIN-IDENTITY-026"],
            {
                "immutableProof": sign_document(
                    unsigned,
                    node_key,
                    verification_method=method_of(node_did),
                    created=CREATED,
                    proof_purpose="authentication",
                ),
                "document": document,
            },
        ),
        (
            "proof-value-of-another-proof",
            "the proofValue of a proof made a second later",
            [*shape, "TWIN-IDENTITY-025"],
            {
                "immutableProof": {
                    **signed,
                    "proof": {
                        **proof,
                        "proofValue": _proof_of(
                            sign_document(
                                unsigned,
                                node_key,
                                verification_method=method_of(node_did),
                                created="2026-11-21T08:00:01Z",
                            )
                        )["proofValue"],
                    },
                },
                "document": document,
            },
        ),
    ]


def immutable_proof_vectors() -> list[Vector]:
    """ImmutableProofs (signed by a did:key node key) checked against their documents."""
    return with_expected(IMMUTABLE_PROOF, immutable_proof_oracle, _immutable_proof_cases())


FAMILIES = [
    Family(
        "anchoring",
        "object-hash",
        False,
        object_hash_vectors,
        object_hash_oracle,
        "documents and their proofObjectHash, as the TWIN node computes it",
    ),
    Family(
        "anchoring",
        "merkle",
        False,
        merkle_vectors,
        merkle_oracle,
        "RFC 9162 roots and inclusion proofs, built and verified",
    ),
    Family(
        "anchoring",
        "transaction",
        False,
        transaction_vectors,
        transaction_oracle,
        "ledger transactions and their digests, or why they are refused",
    ),
    Family(
        "anchoring",
        "receipt",
        False,
        receipt_vectors,
        receipt_oracle,
        "a committee, a receipt and the transaction expected: the certified summary, or the "
        "first failing part",
    ),
    Family(
        "anchoring",
        "immutable-proof",
        False,
        immutable_proof_vectors,
        immutable_proof_oracle,
        "ImmutableProofs checked against their documents",
    ),
]
