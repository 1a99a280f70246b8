"""Errors raised by the executable spec, one class per kind of broken rule.

Every error is a ``ValueError`` (bad input, never a bug in the caller's control flow), says in
its message what was wrong, and names the requirement it enforces where one rule applies, so the
harness can turn it straight into a report row.
"""

from __future__ import annotations

from enum import StrEnum


class TwinSpecError(ValueError):
    """An input broke a rule of the TWIN spec."""

    def __init__(self, message: str, *, requirement: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.requirement = requirement


class JsonLimit(StrEnum):
    """Which limit of JSON a value or a text breaks, where one limit is the reason (a code)."""

    NESTING_TOO_DEEP = "nestingTooDeep"
    NUMBER_OUT_OF_RANGE = "numberOutOfRange"
    INVALID_STRING = "invalidString"


class CanonicalizationError(TwinSpecError):
    """A value cannot be represented in RFC 8785 canonical JSON, or JSON text is not I-JSON.

    ``limit`` names the limit broken when one is the reason (too deep, a number out of range,
    a string with no UTF-8 form), and is None for text that is not JSON at all.
    """

    def __init__(
        self, message: str, *, requirement: str | None = None, limit: JsonLimit | None = None
    ) -> None:
        super().__init__(message, requirement=requirement)
        self.limit = limit


class EncodingError(TwinSpecError):
    """Text that should hold base58btc, base64url, multibase or multicodec data does not."""


class KeyFormatError(TwinSpecError):
    """A key (raw bytes or a JWK) does not have the shape an Ed25519 key must have."""


class SignatureRejection(StrEnum):
    """Why an Ed25519 signature was rejected, in the order the verification policy checks."""

    SIGNATURE_LENGTH = "signatureLength"
    NON_CANONICAL_S = "nonCanonicalS"
    NON_CANONICAL_A = "nonCanonicalPublicKey"
    SMALL_ORDER_A = "smallOrderPublicKey"
    NON_CANONICAL_R = "nonCanonicalR"
    SMALL_ORDER_R = "smallOrderR"
    INVALID_POINT_A = "publicKeyNotOnCurve"
    INVALID_POINT_R = "rNotOnCurve"
    EQUATION = "equationMismatch"


class SignatureError(TwinSpecError):
    """An Ed25519 signature does not verify under the TWIN verification policy."""

    def __init__(
        self, reason: SignatureRejection, message: str, *, requirement: str | None = None
    ) -> None:
        super().__init__(message, requirement=requirement)
        self.reason = reason


class DidErrorCode(StrEnum):
    """DID resolution error codes (W3C DID Core section 7.1.2 and the did:key method)."""

    INVALID_DID = "invalidDid"
    INVALID_DID_DOCUMENT = "invalidDidDocument"
    NOT_FOUND = "notFound"
    METHOD_NOT_SUPPORTED = "methodNotSupported"
    INVALID_PUBLIC_KEY = "invalidPublicKey"
    INVALID_PUBLIC_KEY_LENGTH = "invalidPublicKeyLength"
    UNSUPPORTED_PUBLIC_KEY_TYPE = "unsupportedPublicKeyType"
    VERIFICATION_METHOD_NOT_FOUND = "verificationMethodNotFound"
    VERIFICATION_METHOD_NOT_AUTHORIZED = "verificationMethodNotAuthorized"


class DidError(TwinSpecError):
    """A DID, DID URL or DID document breaks DID Core or a DID method's rules."""

    def __init__(self, code: DidErrorCode, message: str, *, requirement: str | None = None) -> None:
        super().__init__(message, requirement=requirement)
        self.code = code


class ProofFailureReason(StrEnum):
    """Why a Data Integrity proof failed; the first four are the TWIN node's own codes."""

    PROOF_MISSING = "proofMissing"
    CRYPTOSUITE_MISMATCH = "cryptoSuiteMismatch"
    PROOF_TYPE_MISMATCH = "proofTypeMismatch"
    SIGNATURE_MISMATCH = "signatureMismatch"
    PROOF_MALFORMED = "proofMalformed"
    PROOF_PURPOSE_MISMATCH = "proofPurposeMismatch"


class ProofVerificationError(TwinSpecError):
    """A Data Integrity proof does not verify."""

    def __init__(
        self, reason: ProofFailureReason, message: str, *, requirement: str | None = None
    ) -> None:
        super().__init__(message, requirement=requirement)
        self.reason = reason


class MerkleProofError(TwinSpecError):
    """A Merkle inclusion proof is malformed or does not lead to the expected root."""


class LedgerError(TwinSpecError):
    """A committee, block, commit or checkpoint breaks a ledger rule; ``field`` names where."""

    def __init__(
        self, message: str, *, field: str | None = None, requirement: str | None = None
    ) -> None:
        super().__init__(message, requirement=requirement)
        self.field = field


class TransactionLimitError(LedgerError):
    """A transaction breaks one of the limits every transaction keeps (``_limits.py``).

    ``code`` names the limit (``transactionTooLarge``, ``transactionTooDeep``,
    ``numberOutOfRange``, ``invalidString``) and ``maximum`` is its bound where it has one.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        maximum: int | None = None,
        field: str | None = None,
        requirement: str | None = None,
    ) -> None:
        super().__init__(message, field=field, requirement=requirement)
        self.code = code
        self.maximum = maximum


class ReceiptFailure(StrEnum):
    """Which part of a ledger receipt (or of its certified checkpoint) failed verification."""

    RECEIPT_MALFORMED = "receiptMalformed"
    TRANSACTION_MISMATCH = "transactionMismatch"
    CHECKPOINT_EPOCH_MISMATCH = "checkpointEpochMismatch"
    CHECKPOINT_SIGNATURE = "checkpointSignature"
    CHECKPOINT_QUORUM = "checkpointQuorum"
    INCLUSION_PROOF = "inclusionProof"


class ReceiptVerificationError(LedgerError):
    """A TwinLedgerReceipt or certified checkpoint does not verify; ``part`` says which part."""

    def __init__(
        self,
        part: ReceiptFailure,
        message: str,
        *,
        field: str | None = None,
        requirement: str | None = None,
    ) -> None:
        super().__init__(message, field=field, requirement=requirement)
        self.part = part


class JwtFailure(StrEnum):
    """Why a compact JWS, a JWT or a VC-JWT was refused."""

    MALFORMED = "malformed"
    TOO_LARGE = "tooLarge"
    UNSUPPORTED_ALGORITHM = "unsupportedAlgorithm"
    CRITICAL_HEADER = "criticalHeader"
    SIGNATURE_MISMATCH = "signatureMismatch"
    EXPIRED = "expired"
    NOT_YET_VALID = "notYetValid"
    ISSUER_MISMATCH = "issuerMismatch"
    CREDENTIAL_MALFORMED = "credentialMalformed"


class JwtError(TwinSpecError):
    """A JWT (or the verifiable credential it carries) breaks a rule; ``.reason`` says which."""

    def __init__(self, reason: JwtFailure, message: str, *, requirement: str | None = None) -> None:
        super().__init__(message, requirement=requirement)
        self.reason = reason


class StatusListError(TwinSpecError):
    """A BitstringStatusList (its data: URL, gzip stream, length or an index) is not valid."""


class BlockRejection(StrEnum):
    """Why a received consensus block was refused: one code per receive rule.

    The rules are applied in this order, and a block breaking several is refused with the code
    of the first (spec/prose/consensus.md, "Accepting a block").
    """

    MALFORMED = "malformed"
    TOO_MANY_ANCESTORS = "tooManyAncestors"
    TOO_MANY_TRANSACTIONS = "tooManyTransactions"
    TRANSACTION_TOO_LARGE = "transactionTooLarge"
    TRANSACTION_TOO_DEEP = "transactionTooDeep"
    WRONG_EPOCH = "wrongEpoch"
    ROUND_ZERO = "roundZero"
    UNKNOWN_AUTHOR = "unknownAuthor"
    BAD_SIGNATURE = "badSignature"
    NO_ANCESTORS = "noAncestors"
    UNKNOWN_ANCESTOR_AUTHOR = "unknownAncestorAuthor"
    FIRST_ANCESTOR_NOT_OWN = "firstAncestorNotOwn"
    OWN_ANCESTOR_NOT_FIRST = "ownAncestorNotFirst"
    ANCESTOR_ROUND_NOT_BELOW = "ancestorRoundNotBelow"
    UNKNOWN_GENESIS_ANCESTOR = "unknownGenesisAncestor"
    DUPLICATE_ANCESTOR_AUTHOR = "duplicateAncestorAuthor"
    PARENT_QUORUM_MISSING = "parentQuorumMissing"
    MISSING_ANCESTOR = "missingAncestor"
    TIMESTAMP_BEFORE_ANCESTOR = "timestampBeforeAncestor"


class BlockRejectedError(LedgerError):
    """A received block breaks a receive rule; ``.code`` names the rule, ``.field`` where."""

    def __init__(
        self,
        code: BlockRejection,
        message: str,
        *,
        field: str | None = None,
        requirement: str | None = None,
    ) -> None:
        super().__init__(message, field=field, requirement=requirement)
        self.code = code


TWO_CERTIFIED_BLOCKS = "twoCertifiedBlocks"
"""The code of the commit rule's one fault, as vectors and POST /consensus/evaluate report it."""


class TwoCertifiedBlocksError(LedgerError):
    """Two blocks of one leader slot are certified: more than a third of the stake is faulty.

    ``.code`` is always ``twoCertifiedBlocks``; ``.round`` and ``.leader`` name the slot.
    """

    code = TWO_CERTIFIED_BLOCKS

    def __init__(self, round_: int, leader: int, certified: int) -> None:
        super().__init__(
            f"slot of round {round_} (leader {leader}) has {certified} certified blocks: "
            "more than a third of the stake equivocated",
            requirement="TWIN-CONSENSUS-027",
        )
        self.round = round_
        self.leader = leader
