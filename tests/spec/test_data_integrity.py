"""eddsa-jcs-2022 Data Integrity proofs: the W3C vectors, the TWIN node's proof, failure reasons."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support import external_vectors_dir, read_json, upstream_file
from twin_spec import (
    DidError,
    DidErrorCode,
    Ed25519PublicKey,
    Ed25519SigningKey,
    ProofFailureReason,
    ProofVerificationError,
    TwinSpecError,
    canonicalize,
    create_proof,
    did_key_document,
    did_key_from_public_key,
    hash_data,
    multibase_decode,
    multibase_encode,
    sign_document,
    split_prefix,
    verification_key,
    verify_proof,
)

W3C = "w3c-vc-di-eddsa/TestVectors"


def resolve_did_key_method(method_id: str, purpose: str) -> Ed25519PublicKey:
    """A verifier's own resolution: expand the did:key, then take the authorized method."""
    return verification_key(did_key_document(method_id.split("#")[0]), method_id, purpose)


def _w3c_folder() -> Path:
    folder = external_vectors_dir() / W3C
    if not folder.is_dir():
        pytest.skip(f"public vectors not found at {folder}")
    return folder


def _w3c_signing_key(folder: Path) -> Ed25519SigningKey:
    code, seed = split_prefix(
        multibase_decode(read_json(folder / "keyPair.json")["privateKeyMultibase"])
    )
    assert code == 0x1300  # ed25519-priv
    return Ed25519SigningKey(seed)


@pytest.mark.external_vectors("w3c-eddsa-jcs-2022")
@pytest.mark.requirement("TWIN-IDENTITY-020", "TWIN-IDENTITY-021", "TWIN-IDENTITY-026")
def test_w3c_eddsa_jcs_2022_vector_reproduces_and_verifies() -> None:
    folder = _w3c_folder()
    jcs = folder / "eddsa-jcs-2022"
    key = _w3c_signing_key(folder)
    unsigned = read_json(folder / "unsigned.json")
    config = read_json(jcs / "proofConfigJCS.json")

    assert "did:key:" + read_json(folder / "keyPair.json")["publicKeyMultibase"] == (
        did_key_from_public_key(key.public_key)
    )
    assert canonicalize(unsigned) == (jcs / "canonDocJCS.txt").read_bytes().strip()
    assert canonicalize(config) == (jcs / "proofCanonJCS.txt").read_bytes().strip()
    assert hashlib.sha256(canonicalize(unsigned)).hexdigest() == _text(jcs / "docHashJCS.txt")
    assert hashlib.sha256(canonicalize(config)).hexdigest() == _text(jcs / "proofHashJCS.txt")
    assert hash_data(unsigned, config).hex() == _text(jcs / "combinedHashJCS.txt")

    signed = sign_document(
        unsigned,
        key,
        verification_method=config["verificationMethod"],
        created=config["created"],
        include_context=True,
    )
    signature = multibase_decode(signed["proof"]["proofValue"])  # type: ignore[index]
    assert signature.hex() == _text(jcs / "sigHexJCS.txt")
    assert signed["proof"]["proofValue"] == _text(jcs / "sigBTC58JCS.txt")  # type: ignore[index]
    assert signed == read_json(jcs / "signedJCS.json")
    verify_proof(read_json(jcs / "signedJCS.json"), resolve_did_key_method)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


@pytest.mark.requirement("TWIN-IDENTITY-020", "TWIN-IDENTITY-013", "TWIN-IDENTITY-026")
def test_the_twin_nodes_own_proof_verifies_against_its_did_document() -> None:
    # A proof made by a running TWIN node 0.0.2, verified with the key from the node's DID
    # document as resolved from the node, not from anything inside the proof.
    node_document = read_json(upstream_file("samples/node-did.json"))
    immutable_proof = read_json(upstream_file("samples/verifiable-item-immutable-proof.json"))
    verify_proof(
        immutable_proof,
        lambda method, purpose: verification_key(node_document, method, purpose),
        expected_purpose="assertionMethod",
    )
    tampered = {**immutable_proof, "proofObjectId": "urn:example:125"}
    with pytest.raises(ProofVerificationError) as caught:
        verify_proof(tampered, lambda m, p: verification_key(node_document, m, p))
    assert caught.value.reason is ProofFailureReason.SIGNATURE_MISMATCH


SIGNER = Ed25519SigningKey(bytes(range(32)))
SIGNER_DID = did_key_from_public_key(SIGNER.public_key)
METHOD = f"{SIGNER_DID}#{SIGNER_DID[8:]}"
CREDENTIAL = {
    "@context": ["https://www.w3.org/ns/credentials/v2"],
    "type": ["VerifiableCredential"],
    "issuer": SIGNER_DID,
    "credentialSubject": {"id": "did:example:exporter", "document": "bill-of-lading"},
}


def _signed(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = copy.deepcopy(
        sign_document(
            CREDENTIAL, SIGNER, verification_method=METHOD, created="2026-11-21T05:00:00Z"
        )
    )
    document["proof"].update(changes)
    return document


def test_a_proof_made_here_verifies() -> None:
    verify_proof(_signed(), resolve_did_key_method, expected_purpose="assertionMethod")


@pytest.mark.requirement("TWIN-IDENTITY-022")
@pytest.mark.parametrize("document", [CREDENTIAL, {**CREDENTIAL, "proof": None}])
def test_no_proof_is_proof_missing(document: dict[str, Any]) -> None:
    with pytest.raises(ProofVerificationError, match="no proof member") as caught:
        verify_proof(document, resolve_did_key_method)
    assert caught.value.reason.value == "proofMissing"


@pytest.mark.requirement("TWIN-IDENTITY-023")
@pytest.mark.parametrize("proof_type", ["Ed25519Signature2020", "JwtProof", None])
def test_another_proof_type_is_proof_type_mismatch(proof_type: str | None) -> None:
    with pytest.raises(ProofVerificationError, match="expected 'DataIntegrityProof'") as caught:
        verify_proof(_signed(type=proof_type), resolve_did_key_method)
    assert caught.value.reason.value == "proofTypeMismatch"


@pytest.mark.requirement("TWIN-IDENTITY-024")
@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "ecdsa-jcs-2019", None])
def test_another_cryptosuite_is_crypto_suite_mismatch(suite: str | None) -> None:
    with pytest.raises(ProofVerificationError, match="expected 'eddsa-jcs-2022'") as caught:
        verify_proof(_signed(cryptosuite=suite), resolve_did_key_method)
    assert caught.value.reason.value == "cryptoSuiteMismatch"
    assert caught.value.requirement == "TWIN-IDENTITY-024"


@pytest.mark.requirement("TWIN-IDENTITY-025")
@pytest.mark.parametrize(
    "change",
    [
        {"credentialSubject": {"id": "did:example:exporter", "document": "forged"}},
        {"issuer": "did:example:someone-else"},
    ],
)
def test_a_changed_document_is_signature_mismatch(change: dict[str, Any]) -> None:
    document = {**_signed(), **change}
    with pytest.raises(ProofVerificationError, match="does not satisfy") as caught:
        verify_proof(document, resolve_did_key_method)
    assert caught.value.reason.value == "signatureMismatch"


@pytest.mark.requirement("TWIN-IDENTITY-025")
def test_changed_proof_options_are_signature_mismatch() -> None:
    with pytest.raises(ProofVerificationError) as caught:
        verify_proof(_signed(created="2026-11-21T05:00:01Z"), resolve_did_key_method)
    assert caught.value.reason is ProofFailureReason.SIGNATURE_MISMATCH


@pytest.mark.requirement("TWIN-IDENTITY-021")
@pytest.mark.parametrize(
    ("proof_value", "message"),
    [
        ("u" + "A" * 86, "multibase prefix 'u' (base64url) is not accepted here"),
        ("z0000", "is not a base58btc character"),
        (multibase_encode(bytes(63)), "decodes to 63 bytes"),
    ],
)
def test_a_malformed_proof_value_is_signature_mismatch(proof_value: str, message: str) -> None:
    with pytest.raises(ProofVerificationError) as caught:
        verify_proof(_signed(proofValue=proof_value), resolve_did_key_method)
    assert caught.value.reason is ProofFailureReason.SIGNATURE_MISMATCH
    assert message in str(caught.value)


@pytest.mark.requirement("TWIN-IDENTITY-026")
def test_a_key_named_by_the_document_itself_is_not_trusted() -> None:
    # A forger signs with its own key and points verificationMethod at a did:key of that key,
    # while claiming to be the issuer. The proof is valid for the forger's key only; a verifier
    # that checks the method belongs to the expected issuer rejects it.
    forger = Ed25519SigningKey(bytes(32))
    forger_did = did_key_from_public_key(forger.public_key)
    forged = sign_document(
        CREDENTIAL,
        forger,
        verification_method=f"{forger_did}#{forger_did[8:]}",
        created="2026-11-21T05:00:00Z",
    )
    issuer_document = did_key_document(SIGNER_DID)
    with pytest.raises(DidError) as caught:
        verify_proof(
            forged, lambda method, purpose: verification_key(issuer_document, method, purpose)
        )
    assert caught.value.code is DidErrorCode.VERIFICATION_METHOD_NOT_FOUND


@pytest.mark.requirement("TWIN-IDENTITY-026")
def test_a_different_purpose_than_expected_is_refused() -> None:
    document = sign_document(
        CREDENTIAL,
        SIGNER,
        verification_method=METHOD,
        created="2026-11-21T05:00:00Z",
        proof_purpose="authentication",
    )
    verify_proof(document, resolve_did_key_method, expected_purpose="authentication")
    with pytest.raises(ProofVerificationError) as caught:
        verify_proof(document, resolve_did_key_method, expected_purpose="assertionMethod")
    assert caught.value.reason.value == "proofPurposeMismatch"


@pytest.mark.requirement("TWIN-IDENTITY-026")
def test_a_purpose_the_method_is_not_authorized_for_is_refused() -> None:
    document = sign_document(
        CREDENTIAL,
        SIGNER,
        verification_method=METHOD,
        created="2026-11-21T05:00:00Z",
        proof_purpose="keyAgreement",
    )
    with pytest.raises(DidError) as caught:
        verify_proof(document, resolve_did_key_method)
    assert caught.value.code is DidErrorCode.VERIFICATION_METHOD_NOT_AUTHORIZED


@pytest.mark.requirement("TWIN-IDENTITY-027")
def test_proof_context_must_prefix_the_document_context() -> None:
    with_context = sign_document(
        CREDENTIAL,
        SIGNER,
        verification_method=METHOD,
        created="2026-11-21T05:00:00Z",
        include_context=True,
    )
    verify_proof(with_context, resolve_did_key_method)
    # Appending a context after signing is allowed; the proof's context is the one hashed.
    extended = {**with_context, "@context": [*CREDENTIAL["@context"], "https://example.org/v1"]}
    verify_proof(extended, resolve_did_key_method)
    replaced = {**with_context, "@context": ["https://example.org/v1"]}
    with pytest.raises(ProofVerificationError, match="does not start with the proof's @context"):
        verify_proof(replaced, resolve_did_key_method)


@pytest.mark.requirement("TWIN-IDENTITY-028")
@pytest.mark.parametrize(
    ("proof_change", "message"),
    [
        ({"verificationMethod": None}, "verificationMethod is missing"),
        ({"proofPurpose": ""}, "proofPurpose is missing or not a non-empty string"),
        ({"proofValue": 12}, "proofValue is missing"),
        ({"created": "21 Nov 2026"}, "is not an XML Schema dateTime"),
        ({"created": "2026-11-21T05:00:00"}, "with a time zone"),
    ],
)
def test_malformed_proofs_are_named(proof_change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProofVerificationError) as caught:
        verify_proof(_signed(**proof_change), resolve_did_key_method)
    assert caught.value.reason is ProofFailureReason.PROOF_MALFORMED
    assert message in str(caught.value)


@pytest.mark.requirement("TWIN-IDENTITY-028")
@pytest.mark.parametrize(
    ("proof", "message"),
    [
        ([{"type": "DataIntegrityProof"}], "proof set of 1"),
        ("z3abc", "proof is a str, not a JSON object"),
    ],
)
def test_proof_sets_and_non_objects_are_malformed(proof: object, message: str) -> None:
    with pytest.raises(ProofVerificationError, match=message):
        verify_proof({**CREDENTIAL, "proof": proof}, resolve_did_key_method)


@pytest.mark.requirement("TWIN-IDENTITY-028")
def test_creating_a_proof_checks_its_inputs() -> None:
    with pytest.raises(TwinSpecError, match="already carries a proof"):
        create_proof(_signed(), SIGNER, verification_method=METHOD, created="2026-11-21T05:00:00Z")
    with pytest.raises(TwinSpecError, match="not an XML Schema dateTime"):
        create_proof(CREDENTIAL, SIGNER, verification_method=METHOD, created="yesterday")


@pytest.mark.requirement("TWIN-IDENTITY-020", "TWIN-IDENTITY-025")
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=6).filter(lambda name: name != "proof"),
        st.one_of(st.text(max_size=10), st.integers(-(10**6), 10**6), st.booleans()),
        max_size=5,
    )
)
def test_any_document_signs_verifies_and_detects_a_change(document: dict[str, Any]) -> None:
    signed = sign_document(
        document, SIGNER, verification_method=METHOD, created="2026-01-01T00:00:00Z"
    )
    verify_proof(signed, resolve_did_key_method)
    changed = {**signed, "added": "member"} if "added" not in signed else {**signed, "added": 0}
    with pytest.raises(ProofVerificationError):
        verify_proof(changed, resolve_did_key_method)
