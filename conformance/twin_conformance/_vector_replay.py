"""Replay live vectors against a target over HTTP, and check offline vectors with the spec core.

``replay_vector`` builds the request of a live vector's family, sends it with the caller's
``send`` (which adds the base URL, the token, timeouts, size caps and evidence), and compares
the answer with ``expected``: a difference fails the most specific requirement the vector
names. A target answering garbage (not JSON, the wrong shape, a server error) fails too, never
raising anything but what ``send`` raises. ``check_offline_vector`` recomputes a vector's
expected answer with the spec core, as a vendor's own unit tests do with their code.
"""

from __future__ import annotations

import functools
import json
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from twin_conformance._diagnosis import (
    block_domain_misuse,
    checkpoint_domain_misuse,
    commit_rule_slip,
)
from twin_conformance._failures import status_cause
from twin_conformance._paths import spec_dir
from twin_conformance._yaml import load_yaml
from twin_spec import (
    BLOCK_REJECTION_REQUIREMENTS,
    BlockRejection,
    Committee,
    TwinSpecError,
    check_block,
    check_checkpoint_follows,
    check_commit_follows,
    check_error_body,
    genesis_blocks,
    parse_did,
    parse_json,
    public_key_from_did_key,
    public_key_from_verification_method,
    verify_certified_checkpoint,
    verify_equivocation_evidence,
)
from twin_vectors import family_of
from twin_vectors._keys import method_of
from twin_vectors.core import SIGNATURE_REJECTION_REQUIREMENTS

JSON_HEADERS = {"content-type": "application/json"}
DID_RESOLUTION = "application/did-resolution"


@dataclass(frozen=True)
class HttpResponse:
    """What the target answered: status, lower-cased headers, and the body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class Send(Protocol):
    """Sends one request to the target (the caller adds base URL, token and limits)."""

    def __call__(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = False,
    ) -> HttpResponse:
        """Send ``method path`` with an optional body and headers; ``auth`` adds the token."""


@dataclass(frozen=True)
class ReplayOutcome:
    """Whether a vector passed; for a failure, the requirement broken and what differed."""

    passed: bool
    requirement: str | None
    message: str
    cause: str | None = None
    """The root cause of a failure the same divergence shows elsewhere (a wrong status)."""


class _Mismatch(Exception):
    """The target's answer differs from the vector's: the requirement and a one-line reason."""

    def __init__(self, requirement: str | None, message: str, cause: str | None = None) -> None:
        super().__init__(message)
        self.requirement = requirement
        self.message = message
        self.cause = cause


def _fail(requirement: str | None, message: str, cause: str | None = None) -> NoReturn:
    raise _Mismatch(requirement, message, cause)


def is_live(vector: Mapping[str, Any]) -> bool:
    """Whether the vector is replayed against a node (otherwise it is checked offline)."""
    try:
        return family_of(str(vector["id"])).live
    except KeyError:
        return False


def _family_name(vector: Mapping[str, Any]) -> str:
    try:
        return family_of(str(vector["id"])).name
    except KeyError:
        raise ValueError(f"{vector.get('id')!r} is not the id of a vector family") from None


def replay_vector(vector: Mapping[str, Any], send: Send) -> ReplayOutcome:
    """Replay one live vector through ``send`` and compare the answer with ``expected``."""
    name = _family_name(vector)
    replay = _LIVE.get(name)
    if replay is None:
        raise ValueError(f"{vector['id']} is not a live vector (family {name})")
    try:
        message = replay(vector, send)
    except _Mismatch as mismatch:
        return ReplayOutcome(False, mismatch.requirement, mismatch.message, mismatch.cause)
    except (TypeError, KeyError, IndexError, AttributeError, RecursionError) as exc:
        # An answer of a shape no check foresaw: a failure of the target, not of the harness.
        return ReplayOutcome(
            False, _primary(vector), f"the answer could not be read: {type(exc).__name__}: {exc}"
        )
    return ReplayOutcome(True, None, message)


def check_offline_vector(vector: Mapping[str, Any]) -> ReplayOutcome:
    """Recompute a vector's expected answer with the spec core and compare."""
    family = family_of(_family_name(vector))
    if family.oracle is None:
        raise ValueError(f"{vector['id']}: {family.name} vectors are live only; replay them")
    expected = vector["expected"]
    try:
        actual = family.oracle(vector["input"])
    except (TwinSpecError, KeyError, TypeError, ValueError, AttributeError) as exc:
        requirement = getattr(exc, "requirement", None) or _primary(vector, expected.get("error"))
        return ReplayOutcome(False, requirement, f"the spec core cannot evaluate the input: {exc}")
    if actual == expected:
        return ReplayOutcome(True, None, f"the spec core gives the expected {actual['result']}")
    where = _first_difference(expected, actual, "expected")
    return ReplayOutcome(
        False,
        _primary(vector, expected.get("error") or actual.get("error")),
        f"the spec core differs at {where}",
    )


# --- naming the requirement a difference breaks ------------------------------------------------

# Requirements every vector of a kind lists; a more specific one is named when there is one.
_GENERIC = frozenset(
    {
        "TWIN-CORE-040",
        "TWIN-CORE-052",
        "TWIN-CORE-054",
        "TWIN-CORE-056",
        "TWIN-IDENTITY-020",
        "TWIN-IDENTITY-042",
        "TWIN-IDENTITY-064",
        "TWIN-IDENTITY-065",
        "TWIN-CONSENSUS-016",
        "TWIN-CONSENSUS-102",
        "TWIN-ANCHORING-030",
    }
)
# The Ed25519, JCS and encoding rules that a vector exercising one of them exists for.
_CRYPTO = (
    "TWIN-CORE-011",
    "TWIN-CORE-012",
    "TWIN-CORE-013",
    "TWIN-CORE-014",
    "TWIN-CORE-010",
    "TWIN-CORE-001",
    "TWIN-CORE-030",
    "TWIN-CORE-031",
    "TWIN-CORE-032",
)
# The codes of DID Resolution itself, which a resolution result carries (TWIN-IDENTITY-060).
_RESOLUTION_CODES = {"invalidDid", "notFound", "methodNotSupported"}
# The did:key codes about the key, which a resolver reaches only once the encoding is read.
_DID_KEY_KEY_CODES = {"unsupportedPublicKeyType", "invalidPublicKeyLength", "invalidPublicKey"}
# The rules a signature made for another kind of message breaks, when a verifier takes it.
_DOMAIN = ("TWIN-CORE-021",)
_CODE_REQUIREMENTS: Mapping[str, str] = {
    **{code.value: requirement for code, requirement in BLOCK_REJECTION_REQUIREMENTS.items()},
    **SIGNATURE_REJECTION_REQUIREMENTS,
    "twoCertifiedBlocks": "TWIN-CONSENSUS-027",
    "proofMissing": "TWIN-IDENTITY-022",
    "proofTypeMismatch": "TWIN-IDENTITY-023",
    "cryptoSuiteMismatch": "TWIN-IDENTITY-024",
    "proofMalformed": "TWIN-IDENTITY-028",
    "proofPurposeMismatch": "TWIN-IDENTITY-026",
    "verificationMethodNotFound": "TWIN-IDENTITY-026",
    "verificationMethodNotAuthorized": "TWIN-IDENTITY-026",
    "invalidPublicKey": "TWIN-IDENTITY-003",
    "invalidPublicKeyLength": "TWIN-IDENTITY-003",
    "unsupportedPublicKeyType": "TWIN-IDENTITY-003",
    "tooLarge": "TWIN-IDENTITY-035",
    "unsupportedAlgorithm": "TWIN-IDENTITY-036",
    "criticalHeader": "TWIN-IDENTITY-037",
    "expired": "TWIN-IDENTITY-039",
    "notYetValid": "TWIN-IDENTITY-039",
    "issuerMismatch": "TWIN-IDENTITY-042",
    "credentialMalformed": "TWIN-IDENTITY-043",
    "receiptMalformed": "TWIN-ANCHORING-031",
    "transactionMismatch": "TWIN-ANCHORING-032",
    "checkpointEpochMismatch": "TWIN-ANCHORING-027",
    "checkpointSignature": "TWIN-ANCHORING-025",
    "checkpointQuorum": "TWIN-ANCHORING-026",
    "inclusionProof": "TWIN-ANCHORING-029",
}


def _primary(vector: Mapping[str, Any], code: object = None, *prefer: str) -> str | None:
    """The most specific requirement of the vector for a difference about ``code``."""
    listed: Sequence[str] = vector.get("requirements", [])
    for requirement in (*prefer, *_CRYPTO):
        if requirement in listed:
            return requirement
    mapped = _CODE_REQUIREMENTS.get(str(code)) if code else None
    if mapped in listed:
        return mapped
    specific = [requirement for requirement in listed if requirement not in _GENERIC]
    if specific:
        return specific[0]
    return listed[0] if listed else None


def _first_difference(expected: object, actual: object, path: str) -> str:
    """The JSON path of the first place two values differ, with both values, shortened."""
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key in sorted(set(expected) | set(actual)):
            if expected.get(key, _ABSENT) != actual.get(key, _ABSENT):
                return _first_difference(
                    expected.get(key, _ABSENT), actual.get(key, _ABSENT), f"{path}.{key}"
                )
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            if left != right:
                return _first_difference(left, right, f"{path}[{index}]")
    return f"{path}: expected {_short(expected)}, got {_short(actual)}"


class _Absent:
    """Marks a member one side of a comparison does not have."""


_ABSENT: Any = _Absent()


def _short(value: object) -> str:
    text = "nothing" if value is _ABSENT else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


# --- reading answers ---------------------------------------------------------------------------


def _where(method: str, path: str) -> str:
    shown = path if len(path) <= 100 else path[:97] + "..."
    return f"{method} {shown}"


def _json_body(response: HttpResponse, where: str, requirement: str | None) -> Any:  # noqa: ANN401
    """The body as strict JSON; a body that is not JSON breaks ``requirement``."""
    try:
        return parse_json(response.body)
    except TwinSpecError as exc:
        _fail(
            requirement,
            f"{where} answered {response.status} with a body that is not JSON: {exc.message[:80]}",
        )


def _expect_status(
    response: HttpResponse, status: int, where: str, requirement: str | None, *, bad_input: bool
) -> None:
    if response.status == status:
        return
    if response.status >= 500 and status < 500 and bad_input:
        _fail(
            "TWIN-CORE-054", f"{where} answered {response.status} to bad input, expected {status}"
        )
    _fail(
        requirement,
        f"{where} answered {response.status}, expected {status}",
        status_cause(requirement, status, response.status),
    )


def _object(value: object, where: str, requirement: str | None) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        _fail(requirement, f"{where} answered a JSON {type(value).__name__}, not an object")
    return value


def _error_body(response: HttpResponse, where: str) -> Mapping[str, Any]:
    """An error answer's body, which must be a TWIN error (TWIN-CORE-040)."""
    body = _json_body(response, where, "TWIN-CORE-040")
    try:
        check_error_body(body)
    except TwinSpecError as exc:
        _fail("TWIN-CORE-040", f"{where} answered {response.status} with {exc.message[:120]}")
    return _object(body, where, "TWIN-CORE-040")


def _media_type(response: HttpResponse) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _json_request(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


@functools.cache
def _openapi_registry() -> tuple[str, Registry[Any]]:
    """The spec's OpenAPI document as a schema resource, with its sibling schema files."""
    root = spec_dir()
    openapi_path = root / "openapi" / "twin.openapi.yaml"

    # Each file read once: a registry that retrieves does not keep what it retrieved, so a
    # $ref into a sibling file would read and parse it again on every validation.
    @functools.cache
    def retrieve(uri: str) -> Resource[Any]:
        path = (root / "openapi" / urllib.parse.urlparse(uri).path).resolve()
        if root.resolve() not in path.parents:
            raise LookupError(uri)
        text = path.read_text(encoding="utf-8")
        contents = load_yaml(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    document = load_yaml(openapi_path.read_text(encoding="utf-8"))
    base = openapi_path.resolve().as_uri()
    registry: Registry[Any] = Registry(retrieve=retrieve).with_resource(  # type: ignore[call-arg]
        base, Resource.from_contents(document, default_specification=DRAFT202012)
    )
    return base, registry


@functools.cache
def _component_validator(name: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<name>`` of the spec's OpenAPI document."""
    base, registry = _openapi_registry()
    return Draft202012Validator(
        {"$ref": f"{base}#/components/schemas/{name}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _check_schema(body: object, schema: str | None, where: str) -> None:
    """Validate a body against an OpenAPI component (TWIN-CORE-056)."""
    if schema is None:
        return
    error = next(iter(_component_validator(schema).iter_errors(body)), None)
    if error is not None:
        location = "/".join(str(part) for part in error.absolute_path) or "(root)"
        _fail(
            "TWIN-CORE-056",
            f"{where}: the body breaks the {schema} schema at {location}: {error.message[:100]}",
        )


# --- consensus: POST /consensus/evaluate -------------------------------------------------------

EVALUATE = "/consensus/evaluate"


# Members of a vector's input that POST /consensus/evaluate takes as they are, when present.
_EVALUATE_OPTIONS = ("gcDepth", "leaderSchedule")


def _evaluate(vector: Mapping[str, Any], send: Send, blocks: list[Any]) -> Mapping[str, Any]:
    where = _where("POST", EVALUATE)
    inputs = vector["input"]
    request = {"committee": inputs["committee"], "blocks": blocks}
    request.update({name: inputs[name] for name in _EVALUATE_OPTIONS if name in inputs})
    body = _json_request(request)
    response = send("POST", EVALUATE, body=body, headers=JSON_HEADERS)
    _expect_status(response, 200, where, "TWIN-CONSENSUS-102", bad_input=False)
    answer = _object(_json_body(response, where, "TWIN-CONSENSUS-102"), where, "TWIN-CONSENSUS-102")
    verdicts = answer.get("verdicts")
    if not isinstance(verdicts, list) or len(verdicts) != len(blocks):
        _fail(
            "TWIN-CONSENSUS-102",
            f"{where} answered {_count(verdicts)} verdicts for {len(blocks)} blocks",
        )
    for position, verdict in enumerate(verdicts):
        if not isinstance(verdict, Mapping) or verdict.get("result") not in ("valid", "invalid"):
            _fail("TWIN-CONSENSUS-102", f"{where}: verdict {position} is {_short(verdict)}")
    return answer


def _count(value: object) -> str:
    return str(len(value)) if isinstance(value, list) else "no list of"


def _verdict_code(verdict: Mapping[str, Any]) -> str | None:
    error = verdict.get("error")
    return str(error.get("code")) if isinstance(error, Mapping) else None


def _refused_valid_block(position: int, verdict: Mapping[str, Any], where: str) -> NoReturn:
    code = _verdict_code(verdict)
    requirement = _CODE_REQUIREMENTS.get(str(code), "TWIN-CONSENSUS-102")
    _fail(requirement, f"{where} refused block {position} as {code}; it is valid")


def _replay_block_validity(vector: Mapping[str, Any], send: Send) -> str:
    inputs, expected = vector["input"], vector["expected"]
    blocks = [*inputs["dag"], inputs["block"]]
    verdicts = _evaluate(vector, send, blocks)["verdicts"]
    where = _where("POST", EVALUATE)
    for position, verdict in enumerate(verdicts[:-1]):
        if verdict["result"] != "valid":
            _refused_valid_block(position, verdict, where)
    last = verdicts[-1]
    if expected["result"] == "valid":
        if last["result"] != "valid":
            _refused_valid_block(len(blocks) - 1, last, where)
        if last.get("digest") != expected["ref"]["digest"]:
            _fail(
                "TWIN-CONSENSUS-006",
                f"{where} gave the block digest {_short(last.get('digest'))}"
                f", expected {expected['ref']['digest']}",
            )
        return "the block is valid, as expected"
    code = expected["error"]
    if last["result"] == "valid":
        # A block refused for its signature's domain or encoding blames that rule first.
        listed = set(vector["requirements"])
        specific = [rule for rule in (*_DOMAIN, *_CRYPTO) if rule in listed]
        _fail(
            specific[0] if specific else BLOCK_REJECTION_REQUIREMENTS[BlockRejection(code)],
            f"{where} accepted the block; expected it refused as {code}",
        )
    actual = _verdict_code(last)
    if actual != code:
        order = [rejection.value for rejection in BlockRejection]
        later = actual in order and order.index(actual) > order.index(code)
        # Refused for a later rule: the node did not apply the first rule the block breaks,
        # whose requirement is broken (the order itself, when the vector names no other).
        skipped = BLOCK_REJECTION_REQUIREMENTS[BlockRejection(code)]
        requirement = (
            (skipped if skipped in vector["requirements"] else "TWIN-CONSENSUS-016")
            if later
            else _CODE_REQUIREMENTS.get(str(actual), "TWIN-CONSENSUS-016")
        )
        _fail(
            requirement,
            f"{where} refused the block as {actual}; the first rule it breaks is {code}",
        )
    return f"the block is refused as {code}, as expected"


def _decision(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    kind = entry.get("kind", entry.get("decision"))
    return (entry.get("round"), entry.get("leader"), kind, entry.get("direct"), entry.get("block"))


def _decision_requirement(expected: Mapping[str, Any] | None) -> str:
    if expected is None:
        return "TWIN-CONSENSUS-028"
    if not expected.get("direct", True):
        return "TWIN-CONSENSUS-026"
    return "TWIN-CONSENSUS-024" if expected.get("decision") == "commit" else "TWIN-CONSENSUS-023"


def _run_requirement(
    want: Mapping[str, Any] | None, got: object, slots: Mapping[int, Mapping[str, Any]]
) -> str:
    """The rule broken when the node decided more or fewer slots in a row than the spec.

    Deciding a slot the spec leaves undecided breaks the rule of the decision made; leaving
    undecided a slot the spec decides breaks the rule of the spec's decision; deciding past an
    undecided slot breaks the sequencing rule.
    """
    if want is not None:
        return _decision_requirement(want)
    if not isinstance(got, Mapping):
        return "TWIN-CONSENSUS-028"
    round_ = got.get("round")
    spec = slots.get(round_) if isinstance(round_, int) else None
    if spec is None or spec["decision"] != "undecided":
        return "TWIN-CONSENSUS-028"
    if got.get("direct") is False:
        return "TWIN-CONSENSUS-026"
    return "TWIN-CONSENSUS-024" if got.get("kind") == "commit" else "TWIN-CONSENSUS-023"


def _replay_commit_rule(vector: Mapping[str, Any], send: Send) -> str:
    inputs, expected = vector["input"], vector["expected"]
    answer = _evaluate(vector, send, list(inputs["blocks"]))
    where = _where("POST", EVALUATE)
    for position, verdict in enumerate(answer["verdicts"]):
        if verdict["result"] != "valid":
            _refused_valid_block(position, verdict, where)
    decisions, commits = answer.get("decisions"), answer.get("commits")
    if not isinstance(decisions, list) or not isinstance(commits, list):
        _fail("TWIN-CONSENSUS-102", f"{where} answered no decisions or commits list")
    size = len(inputs["committee"]["validators"])
    # Below the first leader schedule's fromRound the leaders are round-robin (TWIN-CONSENSUS-115).
    first_swap = _first_swap_round(expected)
    for got in decisions:
        slot = got.get("round") if isinstance(got, Mapping) else None
        # Round-robin leaders (TWIN-CONSENSUS-020) below the first swap table.
        if first_swap is not None and isinstance(slot, int) and slot >= first_swap:
            break
        if isinstance(slot, int) and got.get("leader") != slot % size:
            _fail(
                "TWIN-CONSENSUS-020",
                f"{where}: the slot of round {slot} is given leader {_short(got.get('leader'))}; "
                f"its leader is validator {slot % size}",
            )
    if expected["result"] == "invalid":
        fault = answer.get("fault")
        if not isinstance(fault, Mapping):
            _fail(
                "TWIN-CONSENSUS-027",
                f"{where} reported no fault; round {expected['round']} "
                "holds two certified leader blocks",
            )
        if fault.get("code") != expected["error"]:
            _fail(
                "TWIN-CONSENSUS-027",
                f"{where} reported the fault as {_short(fault.get('code'))}, "
                f"expected {expected['error']}",
            )
        if decisions or commits:
            _fail("TWIN-CONSENSUS-027", f"{where} decided slots despite two certified blocks")
        return f"the fault {expected['error']} is reported, as expected"
    if answer.get("fault") is not None:
        # A fault where the spec sees none is a slip in the rule that certified a second block,
        # when exactly one common slip gives it; else the fault rule's own.
        slip = commit_rule_slip(inputs["committee"], list(inputs["blocks"]), [], fault=True)
        if slip is not None:
            _fail(slip[0], f"{where} reported a fault, {_short(answer['fault'])}; {slip[1]}")
        _fail("TWIN-CONSENSUS-027", f"{where} reported a fault, {_short(answer['fault'])}; none is")
    run: list[Mapping[str, Any]] = []
    for decision in expected["decisions"]:
        if decision["decision"] == "undecided":
            break
        run.append(decision)
    faulted = isinstance(answer.get("fault"), Mapping)
    if faulted or [_decision(got) for got in decisions] != [_decision(want) for want in run]:
        slip = commit_rule_slip(
            inputs["committee"],
            list(inputs["blocks"]),
            [_decision(got) if isinstance(got, Mapping) else got for got in decisions],
            fault=faulted,
        )
        if slip is not None:
            _fail(slip[0], f"{where}: {slip[1]}")
    slots = {decision["round"]: decision for decision in expected["decisions"]}
    if first_swap is not None and _same_below(run, decisions, first_swap):
        # The slots before the first swap table agree: a difference after it starts with the
        # table itself (its scores, its good and bad nodes), not with the decision rule.
        _check_leader_schedules(expected["leaderSchedules"], answer.get("leaderSchedules"), where)
    for position in range(max(len(run), len(decisions))):
        want = run[position] if position < len(run) else None
        got = decisions[position] if position < len(decisions) else None
        if want is None or got is None or not isinstance(got, Mapping):
            _fail(
                _run_requirement(want, got, slots),
                f"{where} decided {len(decisions)} slots in a row, expected {len(run)}",
            )
        if _decision(got) != _decision(want):
            scheduled = (
                first_swap is not None
                and want["round"] >= first_swap
                and got.get("leader") != want.get("leader")
            )
            same_slot = got.get("round") == want["round"]
            _fail(
                "TWIN-CONSENSUS-117"
                if scheduled
                else "TWIN-CONSENSUS-020"
                if same_slot and got.get("leader") != want["leader"]
                else _decision_requirement(want),
                f"{where}: slot of round {want['round']} decided "
                f"{_short(got)}, expected {_short(want)}",
            )
    if "leaderSchedules" in expected:
        _check_leader_schedules(expected["leaderSchedules"], answer.get("leaderSchedules"), where)
    wanted = [{"leader": c["leader"], "blocks": c["blocks"]} for c in expected["commits"]]
    if len(commits) != len(wanted):
        _fail(
            "TWIN-CONSENSUS-029", f"{where} answered {len(commits)} commits, expected {len(wanted)}"
        )
    # A vector that sets a garbage-collection depth exists for the blocks that depth leaves out.
    linearizer = "TWIN-CONSENSUS-108" if "gcDepth" in inputs else "TWIN-CONSENSUS-029"
    for index, (got, want) in enumerate(zip(commits, wanted, strict=True)):
        if got != want:
            # The same blocks in another order break the linearisation order, whatever depth.
            reordered = (
                isinstance(got, Mapping)
                and got.get("leader") == want["leader"]
                and _block_set(got) == _block_set(want)
            )
            _fail(
                "TWIN-CONSENSUS-029" if reordered else linearizer,
                f"{where}: commit {index + 1} differs at {_first_difference(want, got, 'commit')}",
            )
    return f"{len(run)} slots decided and {len(wanted)} commits, as expected"


def _block_set(commit: object) -> frozenset[str] | None:
    """The blocks a commit lists, as a set of their JSON (None when it lists none)."""
    blocks = commit.get("blocks") if isinstance(commit, Mapping) else None
    if not isinstance(blocks, list):
        return None
    return frozenset(json.dumps(block, sort_keys=True) for block in blocks)


def _first_swap_round(expected: Mapping[str, Any]) -> int | None:
    """The fromRound of the first leader swap table a vector expects, or None."""
    tables = expected.get("leaderSchedules") or []
    rounds = [table["fromRound"] for table in tables if isinstance(table.get("fromRound"), int)]
    return min(rounds) if rounds else None


def _same_below(run: list[Mapping[str, Any]], decisions: list[Any], round_: int) -> bool:
    """Whether the decided slots below ``round_`` are the expected ones."""
    want = [_decision(decision) for decision in run if decision["round"] < round_]
    got = [
        _decision(decision)
        for decision in decisions
        if isinstance(decision, Mapping)
        and isinstance(decision.get("round"), int)
        and decision["round"] < round_
    ]
    return want == got


# Which requirement a difference in a leader swap table breaks, by the member that differs.
_SCHEDULE_MEMBERS = (
    ("afterCommit", "TWIN-CONSENSUS-115"),
    ("fromRound", "TWIN-CONSENSUS-115"),
    ("scores", "TWIN-CONSENSUS-114"),
    ("goodNodes", "TWIN-CONSENSUS-116"),
    ("badNodes", "TWIN-CONSENSUS-116"),
)


def _check_leader_schedules(expected: list[Any], actual: object, where: str) -> None:
    if not isinstance(actual, list) or len(actual) != len(expected):
        _fail(
            "TWIN-CONSENSUS-115",
            f"{where} answered {_count(actual)} leader schedules, expected {len(expected)}",
        )
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        if not isinstance(got, Mapping):
            _fail("TWIN-CONSENSUS-115", f"{where}: leader schedule {index + 1} is {_short(got)}")
        for member, requirement in _SCHEDULE_MEMBERS:
            if got.get(member) != want[member]:
                _fail(
                    requirement,
                    f"{where}: leader schedule {index + 1} has {member} {_short(got.get(member))}"
                    f", expected {_short(want[member])}",
                )


# --- identity: proofs, did:key resolution, credentials -----------------------------------------


def _replay_proof_verify(vector: Mapping[str, Any], send: Send) -> str:
    inputs, expected = vector["input"], vector["expected"]
    path = "/identity/proof/verify"
    where = _where("POST", path)
    body = _json_request({"document": inputs["document"], "proof": inputs["proof"]})
    response = send("POST", path, body=body, headers=JSON_HEADERS)
    invalid = expected["result"] == "invalid"
    _expect_status(response, 200, where, "TWIN-IDENTITY-064", bad_input=invalid)
    answer = _object(_json_body(response, where, "TWIN-IDENTITY-064"), where, "TWIN-IDENTITY-064")
    _check_schema(answer, "IdentityProofVerifyResponse", where)
    verified = answer.get("verified")
    if not isinstance(verified, bool):
        _fail("TWIN-IDENTITY-064", f"{where} answered verified {_short(verified)}, not a boolean")
    code = expected.get("error")
    if expected["result"] == "valid":
        if not verified:
            _fail(
                _primary(vector, answer.get("failure")),
                f"{where} answered verified false ({answer.get('failure')}); the proof verifies",
            )
        return "verified true, as expected"
    if verified:
        _fail(_primary(vector, code), f"{where} answered verified true; expected {code}")
    if answer.get("failure") != code:
        _fail(
            _primary(vector, code),
            f"{where} answered failure {_short(answer.get('failure'))}, expected {code}",
        )
    return f"verified false ({code}), as expected"


def _check_did_key_document(document: object, did: str, where: str) -> None:
    """A did:key document as TWIN-IDENTITY-004 requires it (any key representation)."""
    rule = "TWIN-IDENTITY-004"
    body = _object(document, where, rule)
    if body.get("id") != did:
        _fail(rule, f"{where}: the document's id is {_short(body.get('id'))}, not the DID")
    method_id = method_of(did)
    methods = body.get("verificationMethod")
    if not isinstance(methods, list):
        _fail(rule, f"{where}: the document has no verificationMethod list")
    matching = [m for m in methods if isinstance(m, Mapping) and m.get("id") == method_id]
    if len(matching) != 1:
        _fail(rule, f"{where}: the document has {len(matching)} methods with id {method_id}")
    method = matching[0]
    if method.get("controller") != did:
        _fail(rule, f"{where}: the method's controller is {_short(method.get('controller'))}")
    try:
        key = public_key_from_verification_method(method)
    except TwinSpecError as exc:
        _fail(rule, f"{where}: the method's key cannot be read: {exc.message[:80]}")
    if key != public_key_from_did_key(did):
        # The document is well formed; the key in it is not the one the DID encodes.
        _fail("TWIN-IDENTITY-002", f"{where}: the method holds another key than the DID")
    for relationship in (
        "authentication",
        "assertionMethod",
        "capabilityInvocation",
        "capabilityDelegation",
    ):
        entries = body.get(relationship)
        listed = isinstance(entries, list) and any(
            entry == method_id or (isinstance(entry, Mapping) and entry.get("id") == method_id)
            for entry in entries
        )
        if not listed:
            _fail(rule, f"{where}: {relationship} does not list {method_id}")
    _check_schema(body, "DidDocument", where)


def _answered_did_code(response: HttpResponse) -> object:
    """The DID error code an answer carries (properties.code or didResolutionMetadata.error)."""
    try:
        body = parse_json(response.body)
    except TwinSpecError:
        return None
    if not isinstance(body, Mapping):
        return None
    for member, key in (("properties", "code"), ("didResolutionMetadata", "error")):
        holder = body.get(member)
        if isinstance(holder, Mapping) and key in holder:
            return holder[key]
    return None


def _replay_did_key_resolve(vector: Mapping[str, Any], send: Send) -> str:
    inputs, expected = vector["input"], vector["expected"]
    did = inputs["did"]
    accept = inputs.get("accept", "application/json")
    path = "/identity/" + urllib.parse.quote(did, safe=":")
    where = _where("GET", path)
    response = send("GET", path, headers={"accept": accept})
    resolution = accept == DID_RESOLUTION
    if expected["result"] == "valid":
        _expect_status(response, 200, where, "TWIN-IDENTITY-004", bad_input=False)
        answer = _json_body(response, where, "TWIN-IDENTITY-004")
        if resolution:
            if _media_type(response) != DID_RESOLUTION:
                _fail(
                    "TWIN-IDENTITY-060",
                    f"{where} answered {_media_type(response)!r}, expected {DID_RESOLUTION}",
                )
            answer = _object(answer, where, "TWIN-IDENTITY-060").get("didDocument")
        _check_did_key_document(answer, did, where)
        return "the did:key document, as expected"
    code, status = expected["error"], expected["status"]
    requirement = (
        "TWIN-IDENTITY-061" if status != 400 or code == "invalidDid" else "TWIN-IDENTITY-003"
    )
    # The rule that makes the DID bad (an encoding or the DID syntax), for a node that read it
    # as good: it resolved it, or took it for well formed (notFound), or read past the bad part
    # to a key code.
    misread = _primary(vector, None, *_CRYPTO, "TWIN-IDENTITY-030", "TWIN-IDENTITY-001")
    if misread not in (*_CRYPTO, "TWIN-IDENTITY-030", "TWIN-IDENTITY-001"):
        misread = None
    answered = _answered_did_code(response) if response.status < 500 else None
    accepted = 200 <= response.status < 300
    if misread is not None and (
        (accepted and (code == "invalidDid" or misread in _CRYPTO))
        or (code == "invalidDid" and 400 < response.status < 500 and answered != code)
        or (code == "invalidDid" and answered in _DID_KEY_KEY_CODES)
    ):
        _fail(
            misread,
            f"{where} answered {response.status} {_short(answered)}; the spec refuses it as {code}",
        )
    _expect_status(response, status, where, requirement, bad_input=True)
    if resolution:
        if _media_type(response) != DID_RESOLUTION:
            _fail(
                "TWIN-IDENTITY-060",
                f"{where} answered {_media_type(response)!r} for a failed "
                f"resolution, expected {DID_RESOLUTION}",
            )
        answer = _object(
            _json_body(response, where, "TWIN-IDENTITY-060"), where, "TWIN-IDENTITY-060"
        )
        metadata = answer.get("didResolutionMetadata")
        error = metadata.get("error") if isinstance(metadata, Mapping) else None
        if error != code:
            # The DID Resolution codes are the result's rule; a did:key code is the did:key one.
            _fail(
                "TWIN-IDENTITY-060" if code in _RESOLUTION_CODES else requirement,
                f"{where}: didResolutionMetadata.error is {_short(error)}, expected {code}",
            )
        return f"a resolution result with error {code}, as expected"
    body = _error_body(response, where)
    properties = body.get("properties")
    actual = properties.get("code") if isinstance(properties, Mapping) else None
    if actual != code:
        _fail(requirement, f"{where}: properties.code is {_short(actual)}, expected {code}")
    return f"{status} with code {code}, as expected"


def _replay_credential_verify(vector: Mapping[str, Any], send: Send) -> str:
    inputs, expected = vector["input"], vector["expected"]
    path = "/identity/verifiable-credential/verify?jwt=" + urllib.parse.quote(
        inputs["jwt"], safe=""
    )
    where = _where("GET", "/identity/verifiable-credential/verify?jwt=...")
    response = send("GET", path)
    invalid = expected["result"] == "invalid"
    _expect_status(response, 200, where, "TWIN-IDENTITY-065", bad_input=invalid)
    answer = _object(_json_body(response, where, "TWIN-IDENTITY-065"), where, "TWIN-IDENTITY-065")
    _check_schema(answer, "IdentityVerifiableCredentialVerifyResponse", where)
    verified = answer.get("verified")
    code = expected.get("error")
    if expected["result"] == "valid":
        if verified is not True:
            _fail(
                _primary(vector, answer.get("failure")),
                f"{where} answered verified "
                f"{_short(verified)} ({answer.get('failure')}); the credential verifies",
            )
        if answer.get("revoked") is not False:
            _fail("TWIN-IDENTITY-065", f"{where} answered revoked {_short(answer.get('revoked'))}")
        if answer.get("verifiableCredential") != expected["credential"]:
            where_diff = _first_difference(
                expected["credential"], answer.get("verifiableCredential"), "credential"
            )
            _fail("TWIN-IDENTITY-041", f"{where}: the credential differs at {where_diff}")
        return "verified true, as expected"
    if verified is not False:
        _fail(
            _primary(vector, code), f"{where} answered verified {_short(verified)}; expected {code}"
        )
    if answer.get("failure") != code:
        _fail(
            _primary(vector, code),
            f"{where} answered failure {_short(answer.get('failure'))}, expected {code}",
        )
    return f"verified false ({code}), as expected"


# --- HTTP exchanges ----------------------------------------------------------------------------


def _request_body(inputs: Mapping[str, Any]) -> bytes | None:
    if "body" in inputs:
        return str(inputs["body"]).encode("utf-8")
    if "bodyHex" in inputs:
        return bytes.fromhex(inputs["bodyHex"])
    if "bodyJson" in inputs:
        value = inputs["bodyJson"]
        fill = inputs.get("fill")
        if isinstance(fill, Mapping) and isinstance(value, Mapping):
            value = {**value, fill["member"]: [fill["item"]] * int(fill["count"])}
        return _json_request(value)
    if "bodySize" in inputs:
        size = int(inputs["bodySize"])
        frame = b'{"padding":""}'
        return frame[:-2] + b"x" * (size - len(frame)) + frame[-2:]
    return None


def _node_identity(send: Send) -> str:
    response = send("GET", "/info")
    where = _where("GET", "/info")
    _expect_status(response, 200, where, "TWIN-CORE-050", bad_input=False)
    identity = _object(_json_body(response, where, "TWIN-CORE-050"), where, "TWIN-CORE-050").get(
        "nodeIdentity"
    )
    if not isinstance(identity, str):
        _fail("TWIN-CORE-050", f"{where} gave no nodeIdentity, which the vector needs")
    try:
        parse_did(identity)
    except TwinSpecError:
        _fail("TWIN-CORE-050", f"{where} gave nodeIdentity {_short(identity)}, not a DID")
    return identity


def _http_requirement(vector: Mapping[str, Any], answered: int) -> str | None:
    """The requirement a wrong status breaks, from what was expected and what came."""
    expected = vector["expected"]
    status = int(expected["status"])
    listed = vector["requirements"]
    if "TWIN-CONSENSUS-110" in listed and answered in (401, 413):
        return "TWIN-CONSENSUS-110"
    prefer = {
        401: ("TWIN-CORE-051",),
        403: ("TWIN-IDENTITY-063",),
        413: ("TWIN-CONSENSUS-103", "TWIN-CORE-053"),
        415: ("TWIN-CORE-053",),
    }.get(status, ())
    if expected.get("code") is not None:
        prefer = (*prefer, "TWIN-IDENTITY-061", "TWIN-CONSENSUS-101", "TWIN-CONSENSUS-105")
    if status == 400:
        # A malformed request of a kind a specific rule refuses (not I-JSON, a transaction of
        # another sender, a malformed DID) breaks that rule before the status rule.
        specific = [rule for rule in listed if rule not in _GENERIC]
        prefer = (*prefer, "TWIN-CORE-003", *specific)
    return _primary(vector, None, *prefer, "TWIN-CORE-052")


def _replay_http(vector: Mapping[str, Any], send: Send) -> str:
    inputs, expected = vector["input"], vector["expected"]
    method, path = str(inputs["method"]), str(inputs["path"])
    if "{nodeIdentity}" in path:
        path = path.replace("{nodeIdentity}", urllib.parse.quote(_node_identity(send), safe=":"))
    where = _where(method, path)
    headers = dict(inputs.get("headers", {}))
    response = send(
        method,
        path,
        body=_request_body(inputs),
        headers=headers or None,
        auth=bool(inputs.get("auth", False)),
    )
    status = int(expected["status"])
    invalid = expected["result"] == "invalid"
    if response.status != status:
        if response.status >= 500 and invalid:
            _fail(
                "TWIN-CORE-054",
                f"{where} answered {response.status} to bad input, expected {status}",
            )
        requirement = _http_requirement(vector, response.status)
        _fail(
            requirement,
            f"{where} answered {response.status}, expected {status}",
            status_cause(requirement, status, response.status),
        )
    if invalid:
        body = _error_body(response, where)
        properties = body.get("properties")
        properties = properties if isinstance(properties, Mapping) else {}
        field = expected.get("field")
        actual_field = properties.get("field")
        if field is not None and not (
            isinstance(actual_field, str)
            and (actual_field == field or actual_field.startswith((field + ".", field + "[")))
        ):
            _fail(
                "TWIN-CORE-052",
                f"{where}: properties.field is {_short(actual_field)}, expected {field}",
            )
        code = expected.get("code")
        if code is not None and properties.get("code") != code:
            _fail(
                _http_requirement(vector, status),
                f"{where}: properties.code is {_short(properties.get('code'))}, expected {code}",
            )
        return f"{status} with a TWIN error, as expected"
    answer = _object(_json_body(response, where, _primary(vector)), where, _primary(vector))
    for member in expected.get("members", []):
        if member not in answer:
            _fail(_primary(vector), f"{where}: the answer has no {member}")
    for member, value in expected.get("includes", {}).items():
        if not isinstance(answer.get(member), list) or value not in answer[member]:
            _fail(_primary(vector), f"{where}: {member} does not include {value!r}")
    _check_schema(answer, expected.get("schema"), where)
    check = expected.get("check")
    if check is not None:
        _READ_CHECKS[check](answer, send, where)
    return f"{status}, as expected"


def _target_committee(send: Send) -> Committee:
    path = "/consensus/committee"
    where = _where("GET", path)
    response = send("GET", path)
    _expect_status(response, 200, where, "TWIN-ANCHORING-030", bad_input=False)
    try:
        return Committee.from_json(_json_body(response, where, "TWIN-CONSENSUS-001"))
    except TwinSpecError as exc:
        _fail("TWIN-CONSENSUS-001", f"{where} answered no valid committee: {exc.message[:100]}")


def _check_committee(answer: Mapping[str, Any], send: Send, where: str) -> None:
    try:
        Committee.from_json(answer)
    except TwinSpecError as exc:
        _fail("TWIN-CONSENSUS-001", f"{where}: not a valid committee: {exc.message[:100]}")


def _check_genesis(answer: Mapping[str, Any], send: Send, where: str) -> None:
    expected = genesis_blocks(_target_committee(send))
    if answer.get("blocks") != expected:
        _fail(
            "TWIN-CONSENSUS-007",
            f"{where}: the round-0 blocks are not the committee's "
            f"genesis ({_first_difference(expected, answer.get('blocks'), 'blocks')})",
        )


def _items(answer: Mapping[str, Any], member: str, where: str, requirement: str) -> list[Any]:
    items = answer.get(member)
    if not isinstance(items, list):
        _fail(requirement, f"{where}: {member} is not a list")
    return items


def _check_signed_blocks(answer: Mapping[str, Any], send: Send, where: str) -> None:
    blocks = _items(answer, "blocks", where, "TWIN-CONSENSUS-100")
    committee = _target_committee(send) if blocks else None
    for position, block in enumerate(blocks):
        try:
            check_block(block, committee)  # type: ignore[arg-type]
        except TwinSpecError as exc:
            misuse = block_domain_misuse(block, committee)  # type: ignore[arg-type]
            if misuse is not None:
                _fail(misuse[0], f"{where}: block {position}: {misuse[1]}")
            _fail(
                _CODE_REQUIREMENTS.get(str(getattr(exc, "code", "")), "TWIN-CONSENSUS-100"),
                f"{where}: block {position} fails a receive rule: {exc.message[:100]}",
            )


def _check_commit_chain(answer: Mapping[str, Any], send: Send, where: str) -> None:
    previous: Mapping[str, Any] | None = None
    for position, commit in enumerate(_items(answer, "commits", where, "TWIN-CONSENSUS-100")):
        try:
            check_commit_follows(previous, commit)
        except TwinSpecError as exc:
            requirement = exc.requirement or "TWIN-CONSENSUS-113"
            _fail(requirement, f"{where}: commit {position} does not chain: {exc.message[:100]}")
        previous = commit


def _check_checkpoint_chain(answer: Mapping[str, Any], send: Send, where: str) -> None:
    checkpoints = _items(answer, "checkpoints", where, "TWIN-CONSENSUS-100")
    committee = _target_committee(send) if checkpoints else None
    previous: Mapping[str, Any] | None = None
    for position, checkpoint in enumerate(checkpoints):
        try:
            summary = verify_certified_checkpoint(checkpoint, committee)  # type: ignore[arg-type]
            check_checkpoint_follows(previous, summary)
        except TwinSpecError as exc:
            misuse = checkpoint_domain_misuse(checkpoint, committee)  # type: ignore[arg-type]
            if misuse is not None:
                _fail(misuse[0], f"{where}: checkpoint {position}: {misuse[1]}")
            requirement = exc.requirement or "TWIN-CONSENSUS-106"
            _fail(requirement, f"{where}: checkpoint {position} fails: {exc.message[:100]}")
        previous = summary


def _check_equivocations(answer: Mapping[str, Any], send: Send, where: str) -> None:
    items = _items(answer, "equivocations", where, "TWIN-CONSENSUS-107")
    committee = _target_committee(send) if items else None
    for position, evidence in enumerate(items):
        try:
            verify_equivocation_evidence(evidence, committee)  # type: ignore[arg-type]
        except TwinSpecError as exc:
            _fail(
                "TWIN-CONSENSUS-030",
                f"{where}: evidence {position} does not verify: {exc.message[:100]}",
            )


_READ_CHECKS: Mapping[str, Callable[[Mapping[str, Any], Send, str], None]] = {
    "committee": _check_committee,
    "genesisBlocks": _check_genesis,
    "signedBlocks": _check_signed_blocks,
    "commitChain": _check_commit_chain,
    "checkpointChain": _check_checkpoint_chain,
    "equivocationEvidence": _check_equivocations,
}

_LIVE: Mapping[str, Callable[[Mapping[str, Any], Send], str]] = {
    "consensus/block-validity": _replay_block_validity,
    "consensus/commit-rule": _replay_commit_rule,
    "identity/proof-verify": _replay_proof_verify,
    "identity/did-key-resolve": _replay_did_key_resolve,
    "identity/credential-verify": _replay_credential_verify,
    "core/http": _replay_http,
    "identity/http": _replay_http,
    "anchoring/http": _replay_http,
    "consensus/http": _replay_http,
}

__all__ = [
    "HttpResponse",
    "ReplayOutcome",
    "Send",
    "check_offline_vector",
    "is_live",
    "replay_vector",
]
