"""Fuzzing a target from the spec's OpenAPI document with schemathesis, in-process.

The document is the spec's own (``openapi/twin.openapi.yaml``) with the JSON Schema files it
refers to bundled in from disk, so nothing is fetched from the network. Schemathesis runs with
the configuration the harness ships (``fuzz.toml``: its reasons are written there), every
check, the run's seed and budget, the target URL and token, a per-request timeout and no
redirects. :meth:`Fuzzer.operation` runs the examples, coverage and fuzzing phases on one
operation; :meth:`Fuzzer.stateful` runs the stateful phase over the spec's OpenAPI links. Each
schemathesis failure becomes a :class:`Finding` naming the TWIN requirement it breaks, with the
exchange as report evidence and a curl command that sends the failing request again.

A 429 (too many requests) is waited out as the harness's own client does (SUITE-024): every
fuzzed request goes through :class:`_WaitingAdapter`, which sends a request answered 429 again
after a ``Retry-After`` of at most 5 s, at most twice, so schemathesis judges the answer that
followed. An operation whose document declares 429 (a login, TWIN-CORE-063) keeps its 429 as
an answer to judge. A 429 still there is no finding: it is a :class:`Throttling` of the
operation, which the fuzz check reports as not run (or blocked), never as failed.
"""

from __future__ import annotations

import ast
import functools
import inspect
import json
import os
import re
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis.configuration
import jsonschema
import requests
import schemathesis
from requests.adapters import HTTPAdapter
from schemathesis.config import InferenceAlgorithm, SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.engine import events, from_schema
from schemathesis.engine.context import EngineContext
from schemathesis.engine.control import ExecutionControl
from schemathesis.engine.core import EventStream
from schemathesis.engine.errors import UnhealthyAPIError, UnresponsiveOperationError
from schemathesis.engine.observations import Observations
from schemathesis.engine.recorder import Interaction, ScenarioRecorder
from schemathesis.engine.run import PhaseName, PhaseSkipReason
from schemathesis.schemas import BaseSchema

from twin_conformance._bundle import FuzzError, _bundled, bundled_document
from twin_conformance._client import (
    BUSY_RETRIES,
    MAX_RETRY_AFTER_SECONDS,
    TOO_MANY_REQUESTS,
    evidence_text,
    retry_delay,
)
from twin_conformance._fast_regex import faster_regex_strings, plain_regex_strings
from twin_conformance._fuzz_environment import read_once, verify_with
from twin_conformance._paths import spec_dir

__all__ = [
    "FuzzError",
    "Fuzzer",
    "Throttling",
    "bundled_document",
    "spec_links",
    "spec_operations",
]

FUZZ_CONFIG = Path(__file__).resolve().with_name("fuzz.toml")
SERVER_ERROR = "TWIN-CORE-054"
ERROR_SHAPE = "TWIN-CORE-040"
CONTRACT = "TWIN-CORE-056"
REQUIREMENTS = ("TWIN-CORE-054", "TWIN-CORE-051", "TWIN-CORE-040", "TWIN-CORE-052", "TWIN-CORE-056")
"""The requirements fuzzing checks, most serious first (the order failures are reported in)."""

CHECK_REQUIREMENTS: Mapping[str, str] = {
    "not_a_server_error": SERVER_ERROR,
    "status_code_conformance": CONTRACT,
    "content_type_conformance": CONTRACT,
    "response_schema_conformance": CONTRACT,
    "response_headers_conformance": CONTRACT,
    "negative_data_rejection": "TWIN-CORE-052",
    "positive_data_acceptance": "TWIN-CORE-052",
    "ignored_auth": "TWIN-CORE-051",
    "object_level_authorization": "TWIN-CORE-051",
    "use_after_free": "TWIN-CORE-052",
    "ensure_resource_availability": "TWIN-CORE-052",
    "missing_required_header": "TWIN-CORE-052",
    "unsupported_method": "TWIN-CORE-052",
    "allow_header_conformance": "TWIN-CORE-052",
}
"""The TWIN requirement each schemathesis check stands for."""

RESPONSE_CHECKS = frozenset(
    {
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    }
)
"""Checks of the response against the document: an error body that breaks the error shape
breaks TWIN-CORE-040 rather than TWIN-CORE-056."""

NO_ANSWER = "no_answer"
"""The pseudo-check of a fuzzed request the target dropped or left unanswered."""
DID_RESOLUTION = "application/did-resolution"
MAX_EVIDENCE = 5
MAX_CURL_CHARS = 2000
_UNIT_PHASES = ["examples", "coverage", "fuzzing"]
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


@schemathesis.deserializer(DID_RESOLUTION)
def _did_resolution(_context: schemathesis.DeserializationContext, response: Any) -> Any:  # noqa: ANN401
    """Parse a DID resolution result (JSON, but not a ``+json`` type) so it is validated too."""
    return json.loads(response.content)


@dataclass(frozen=True)
class FuzzOperation:
    """One operation of the document: its id, method, path template, profile and resource."""

    operation_id: str
    method: str
    path: str
    profile: str
    resource: str
    """The operation's first OpenAPI tag: operations on one resource change what the others see."""
    answers_429: bool = False
    """The document declares 429 for it (a login, TWIN-CORE-063): a 429 is an answer to judge."""

    @property
    def label(self) -> str:
        """``METHOD /path/{template}``, as schemathesis names the operation."""
        return f"{self.method} {self.path}"


def spec_operations(root: Path | None = None) -> list[FuzzOperation]:
    """Every operation of the document, in document order, with its ``x-twin-profile``."""
    found = []
    for path, item in _bundled((root or spec_dir()).resolve()).get("paths", {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                found.append(
                    FuzzOperation(
                        operation_id=str(operation.get("operationId", f"{method} {path}")),
                        method=method.upper(),
                        path=path,
                        profile=str(operation.get("x-twin-profile", "core")),
                        resource=str((operation.get("tags") or [path])[0]),
                        answers_429="429" in (operation.get("responses") or {}),
                    )
                )
    return found


def spec_links(root: Path | None = None) -> list[tuple[str, str]]:
    """Every OpenAPI link of the document as (source operationId, target operationId)."""
    document = _bundled((root or spec_dir()).resolve())
    declared = document.get("components", {}).get("links", {})
    found = []
    for item in document.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            for response in operation.get("responses", {}).values():
                links = response.get("links") if isinstance(response, dict) else None
                for link in (links or {}).values():
                    if isinstance(link, dict) and isinstance(link.get("$ref"), str):
                        link = declared.get(link["$ref"].rsplit("/", 1)[-1], {})
                    if isinstance(link, dict) and isinstance(link.get("operationId"), str):
                        found.append((str(operation.get("operationId")), link["operationId"]))
    return found


@functools.cache
def _error_validator(root: Path) -> jsonschema.Draft202012Validator:
    """A validator of the TWIN error body (``schemas/error.schema.json``)."""
    schema = json.loads((root / "schemas" / "error.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


@dataclass(frozen=True)
class FuzzSettings:
    """What one run fuzzes and how: target, token, seed, budget, timeouts, profiles."""

    url: str
    token: str | None
    seed: int
    examples: int
    request_timeout: float
    profiles: frozenset[str]
    deadline: float | None = None
    """The run's deadline (``time.monotonic()``), which shortens every time limit when near."""


@dataclass
class Finding:
    """One failure schemathesis found: the check, the requirement it breaks, the evidence."""

    check: str
    requirement: str | None
    title: str
    detail: str
    phase: str
    operation: str
    where: str
    evidence: list[dict[str, Any]]
    curl: str

    def summary(self) -> str:
        """One line: the operation, the check and the failure."""
        detail = f": {self.detail}" if self.detail and self.detail != self.title else ""
        what = (
            "a fuzzed request got no usable answer"
            if self.check == NO_ANSWER
            else f"schemathesis check {self.check} failed"
        )
        return (
            f"{self.operation}: {what} in the {self.phase} phase: "
            f"{self.title}{detail} ({self.where})"
        )


@dataclass
class Throttling:
    """An operation still answering 429 to a fuzzed request after the waits (SUITE-024)."""

    operation: str
    """The schemathesis label (``METHOD /path/{template}``)."""
    where: str
    """``METHOD /path`` of the request."""
    attempts: int
    """How many times the request was sent (the first and each one after a wait)."""
    retry_after: str | None
    """The ``Retry-After`` of the last 429, as the node wrote it."""
    evidence: list[dict[str, Any]] = field(default_factory=list)

    def message(self) -> str:
        """Why the operation's fuzzing was not judged, worded as the harness client's."""
        asked = (
            f"Retry-After {self.retry_after.strip()[:60]!r}"
            if self.retry_after
            else "no Retry-After"
        )
        return (
            f"the target throttled the harness: fuzzing {self.operation}, {self.where} answered "
            f"429 (too many requests) {self.attempts} time{'s' if self.attempts > 1 else ''}, "
            f"the last asking {asked}, honouring its Retry-After up to "
            f"{MAX_RETRY_AFTER_SECONDS:g} s: the operation could not be fuzzed; run again once "
            "the target serves it"
        )


@dataclass
class FuzzResult:
    """What one fuzzing run found: the target's failures, and errors of the fuzzer itself."""

    cases: int = 0
    findings: list[Finding] = field(default_factory=list)
    fuzzer_errors: list[str] = field(default_factory=list)
    budget_reached: bool = False
    """The time it was given ran out before schemathesis finished: ``cases`` ran, no more."""
    seconds: float = 0.0
    not_applicable: str | None = None
    waited: dict[str, float] = field(default_factory=dict)
    """Operation label → the first Retry-After waited out (a 429 sent again, SUITE-024)."""
    throttled: list[Throttling] = field(default_factory=list)
    """Operations still answering 429 after the waits, the first case of each, in order."""
    _seen: set[tuple[str, ...]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sent_again: dict[tuple[str, str], int] = field(default_factory=dict)
    """(method, url) of a request answered 429 → how many times it was sent, for the message."""
    _cut_short: set[tuple[str, str]] = field(default_factory=set)
    _adapted: bool = False
    _unjudged: int = 0
    """429s to requests schemathesis sent on a session of its own (its auth probes), unjudged."""

    def note_wait(self, label: str, delay: float) -> None:
        """A request of ``label`` answered 429 is sent again after ``delay`` seconds."""
        with self._lock:
            self.waited.setdefault(label, delay)

    def note_sent(self, method: str, url: str, attempts: int) -> None:
        """The last request to ``url`` answered 429 after ``attempts`` sends."""
        with self._lock:
            self._sent_again[(method, url)] = attempts

    def note_adapted(self) -> None:
        """The fuzzer's requests go through the waiting adapter (see :func:`_execute`)."""
        self._adapted = True

    def note_cut_short(self, method: str, url: str) -> None:
        """The budget ended the wait of a request answered 429: its case is not judged."""
        with self._lock:
            self._cut_short.add((method, url))

    def ordered(self) -> list[Finding]:
        """The findings, most serious requirement first, then in the order they were found."""
        rank = {requirement: index for index, requirement in enumerate(REQUIREMENTS)}
        return sorted(
            self.findings, key=lambda finding: rank.get(finding.requirement or "", len(rank))
        )


class Fuzzer:
    """Schemathesis against one target, with the harness's configuration and the run's settings."""

    def __init__(self, settings: FuzzSettings, root: Path | None = None) -> None:
        self.settings = settings
        self.root = (root or spec_dir()).resolve()
        self.operations = {op.operation_id: op for op in spec_operations(self.root)}
        self._temporary: tempfile.TemporaryDirectory[str] | None = None
        home = hypothesis_cache_dir()
        if home is None:
            self._temporary = tempfile.TemporaryDirectory(prefix="twin-conformance-hypothesis-")
            home = Path(self._temporary.name)
        self._home = home
        self._configs: dict[tuple[str, ...], SchemathesisConfig] = {}
        self._configs_lock = threading.Lock()

    def close(self) -> None:
        """Remove the temporary folder hypothesis wrote into."""
        if self._temporary is not None:
            self._temporary.cleanup()

    def _config(self, phases: list[str]) -> SchemathesisConfig:
        """The shipped config with the run's seed, read and validated once for these phases.

        Every schema of the same phases gets the same settings (below), so one config serves
        them all; a config is never changed while schemathesis runs.
        """
        with self._configs_lock:
            config = self._configs.get(tuple(phases))
            if config is None:
                config = SchemathesisConfig.from_path(FUZZ_CONFIG)
                config.update(seed=self.settings.seed, max_failures=None)
                self._configs[tuple(phases)] = config
            return config

    def _schema(self, phases: list[str]) -> BaseSchema:
        """The document loaded into schemathesis with the shipped config and the run's settings."""
        settings = self.settings
        schema = schemathesis.openapi.from_dict(
            bundled_document(self.root), config=self._config(phases)
        )
        headers = {"User-Agent": "twin-conformance"}
        if settings.token:
            # Spelt as schemathesis spells it, so that ignored_auth can leave it out.
            headers["Authorization"] = f"Bearer {settings.token}"
        schema.config.update(
            base_url=settings.url,
            headers=headers,
            request_timeout=settings.request_timeout,
            max_redirects=0,
            workers=1,
        )
        schema.config.generation.update(max_examples=settings.examples, database="none")
        schema.config.phases.update(phases=phases)
        return schema

    def answers_429(self, method: str, url: str) -> bool:
        """Whether the operation a request goes to declares 429 in the document (a login)."""
        operation = self._operation_at(method, url)
        return operation is not None and operation.answers_429

    def label_at(self, method: str, url: str) -> str:
        """The label of the operation a request goes to, as schemathesis names it.

        A method the document does not declare on the path (``unsupported_method`` sends one)
        is the fuzzing of an operation on that path; ``METHOD /path`` outside the document.
        """
        operation = self._operation_at(method, url) or self._operation_at(None, url)
        return operation.label if operation is not None else f"{method} {_path(url)}"

    def _operation_at(self, method: str | None, url: str) -> FuzzOperation | None:
        """The operation a request goes to (any method when None): fixed paths first."""
        path = _path(url)
        base = _path(self.settings.url).rstrip("/")
        if base and path.startswith(base):
            path = path[len(base) :] or "/"
        for operation, pattern in self._patterns:
            if (method is None or operation.method == method.upper()) and pattern.fullmatch(path):
                return operation
        return None

    @functools.cached_property
    def _patterns(self) -> list[tuple[FuzzOperation, re.Pattern[str]]]:
        """Each operation's path template as a pattern, those with fewer parameters first."""
        patterns = []
        for operation in self.operations.values():
            parts = re.split(r"(\{[^}]*\})", operation.path)
            regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
            patterns.append((operation, re.compile(regex)))
        return sorted(patterns, key=lambda entry: entry[0].path.count("{"))

    def operation_id_of(self, label: str) -> str | None:
        """The operationId of a schemathesis label (``METHOD /path``), if it is one of ours."""
        return next((op.operation_id for op in self.operations.values() if op.label == label), None)

    def operation(self, operation_id: str, seconds: float) -> FuzzResult:
        """Run the examples, coverage and fuzzing phases on one operation, for ``seconds`` at most.

        Call it inside :meth:`context` (entered once around all the fuzzing of a run).
        """
        label = self.operations[operation_id].label
        schema = self._schema(_UNIT_PHASES).exclude(
            lambda context: context.operation.label != label
        )
        return self._run(schema, operation_id, seconds)

    def stateful(self, seconds: float, excluded: frozenset[str] = frozenset()) -> FuzzResult:
        """Run the stateful phase over the links between the operations of the run's profiles.

        ``excluded`` operations (absent or stopped answering) are left out, with their links.
        It runs for ``seconds`` at most, inside :meth:`context`.
        """
        chosen = {
            op.operation_id
            for op in self.operations.values()
            if op.profile in self.settings.profiles and op.operation_id not in excluded
        }
        links = [link for link in spec_links(self.root) if set(link) <= chosen]
        if not links:
            return FuzzResult(
                not_applicable="no OpenAPI link joins two operations of the profiles checked"
            )
        labels = {self.operations[operation_id].label for operation_id in chosen}
        schema = self._schema(["stateful"]).exclude(
            lambda context: context.operation.label not in labels
        )
        with plain_regex_strings(_forget_strategies):
            return self._run(schema, "the stateful phase", seconds)

    def _run(self, schema: BaseSchema, what: str, seconds: float) -> FuzzResult:
        """Consume the engine's events in a thread, so a target that hangs cannot hang the run.

        After ``seconds`` (or at the run's deadline) the engine is stopped: what ran is kept,
        and the result says the budget was reached.
        """
        result = FuzzResult()
        stop = threading.Event()
        stream, control = _execute(schema, lambda: _WaitingAdapter(self, result, stop))

        def consume() -> None:
            try:
                for event in stream:
                    self._collect(result, event)
            except Exception as error:  # reported as an error of the fuzzer, not raised
                result.fuzzer_errors.append(f"{type(error).__name__}: {error}")

        started = time.monotonic()
        thread = threading.Thread(target=consume, name=f"twin-fuzz {what}", daemon=True)
        thread.start()
        limit = seconds
        if self.settings.deadline is not None:
            limit = min(limit, self.settings.deadline - started)
        thread.join(max(limit, 0.0))
        if thread.is_alive():
            result.budget_reached = True
            stop.set()  # a request waiting out a 429 goes no further
            if control is not None:
                # The budget is spent: schemathesis stops before its next case and reports the
                # cases of the scenario it was in, with their checks (a stop would drop them).
                control.max_time = 0
                thread.join(self.settings.request_timeout + 5)
            if thread.is_alive():
                stream.stop()
                thread.join(self.settings.request_timeout * 2 + 5)
        result.seconds = time.monotonic() - started
        return result

    @contextmanager
    def context(self) -> Iterator[None]:
        """Hypothesis set up for this fuzzer: its own home folder, draws from the seed alone.

        Operations are fuzzed in several threads at once (``_fuzz_schedule.py``), so Python
        source is parsed one thread at a time meanwhile (see :func:`_parse_one_at_a_time`).
        The schemas' patterns are drawn a run of characters at a time (``_fast_regex.py``).
        """
        with (
            _hypothesis_home(self._home),
            _no_local_constants(),
            _parse_one_at_a_time(),
            _lambda_descriptions_once(),
            faster_regex_strings(),
        ):
            yield

    def _collect(self, result: FuzzResult, event: events.EngineEvent) -> None:
        """Fold one engine event into the result."""
        if isinstance(event, events.ScenarioFinished):
            result.cases += len(event.recorder.cases)
            for case_id, checks in event.recorder.checks.items():
                for check in checks:
                    if check.failure_info is not None:
                        self._add(
                            result,
                            check.name,
                            check.failure_info.failure,
                            event.recorder,
                            case_id,
                            str(event.phase.value),
                            check.failure_info.code_sample,
                            [step.curl for step in check.failure_info.steps],
                        )
        elif isinstance(event, events.NonFatalError):
            phase = str(event.phase.value) if event.phase is not None else "setup"
            self._error(result, event.value, event.label, str(event.info), phase)
        elif isinstance(event, events.FatalError):
            result.fuzzer_errors.append(
                f"{type(event.exception).__name__}: {str(event.exception)[:500]}"
            )
        elif isinstance(event, events.EngineFinished):
            for failure in event.failures:
                name = type(failure).checks[0] if type(failure).checks else "custom"
                self._add(result, name, failure, None, None, "after-run", "", [])

    def _add(
        self,
        result: FuzzResult,
        check: str,
        failure: Failure,
        recorder: ScenarioRecorder | None,
        case_id: str | None,
        phase: str,
        code_sample: str,
        steps: list[str],
    ) -> None:
        """Record one check failure once, with its requirement, evidence and reproduction."""
        title = " ".join(failure.title.split())
        lines = [line.strip() for line in (failure.message or "").splitlines() if line.strip()]
        detail = " ".join(lines[0].split())[:300] if lines else ""
        interaction = None
        if recorder is not None and case_id is not None:
            interaction = recorder.interactions.get(failure.case_id or case_id)
        response = interaction.response if interaction is not None else None
        if (
            interaction is not None
            and response is not None
            and response.status_code == TOO_MANY_REQUESTS
            and not self.answers_429(interaction.request.method, interaction.request.uri)
        ):
            # SUITE-024: still throttled after the waits (or asked to wait too long): the node
            # gave no wrong answer, it asked the client to ask less. Not a finding, and not
            # counted as one, so a real finding of the same kind in another case still shows.
            self._throttled(result, interaction)
            return
        key = (check, type(failure).__name__, title, failure.operation or "")
        if key in result._seen:
            return
        result._seen.add(key)
        evidence = [self._evidence(interaction)] if interaction is not None else []
        where = "no request"
        requirement = CHECK_REQUIREMENTS.get(check)
        if interaction is not None:
            path = urllib.parse.urlsplit(interaction.request.uri).path
            status = response.status_code if response is not None else None
            where = f"{interaction.request.method} {path} answered {status}"
            if check in RESPONSE_CHECKS and self._breaks_error_shape(interaction):
                requirement = ERROR_SHAPE
        curl = "\n".join(dict.fromkeys(steps)) if len(steps) > 1 else code_sample
        result.findings.append(
            Finding(
                check=check,
                requirement=requirement,
                title=title,
                detail=detail,
                phase=phase,
                operation=failure.operation or (recorder.label if recorder is not None else ""),
                where=where,
                evidence=evidence,
                curl=self._scrub(curl)[:MAX_CURL_CHARS],
            )
        )

    def _throttled(self, result: FuzzResult, interaction: Interaction) -> None:
        """Note that a fuzzed request's operation still throttled the harness (once each).

        A wait the budget cut short leaves its case unjudged, and is no throttling.
        """
        request = interaction.request
        label = self.label_at(request.method, request.uri)
        key = (request.method.upper(), request.uri)
        with result._lock:
            attempts = result._sent_again.get(key, 1)
            cut_short = key in result._cut_short
            if result._adapted and key not in result._sent_again and not cut_short:
                # A request schemathesis sent on a session of its own (ignored_auth's probes
                # without credentials), which the harness cannot wait on: its 429 is neither a
                # finding nor a throttling of the operation, only a case left unjudged.
                result._unjudged += 1
                return
        if cut_short or any(throttling.operation == label for throttling in result.throttled):
            return
        response = interaction.response
        asked = _first(response.headers, "retry-after") if response is not None else ""
        evidence = [self._evidence(interaction)]
        result.throttled.append(
            Throttling(
                operation=label,
                where=f"{request.method} {_path(request.uri)}",
                attempts=attempts,
                retry_after=asked or None,
                evidence=evidence,
            )
        )

    def _breaks_error_shape(self, interaction: Interaction) -> bool:
        """Whether a 4xx/5xx response's body is not a TWIN error (TWIN-CORE-040)."""
        response = interaction.response
        if response is None or response.status_code < 400:
            return False
        media_type = _first(response.headers, "content-type").split(";")[0].strip().lower()
        if media_type == DID_RESOLUTION:
            return False  # The spec's one exception: a resolution result for every outcome.
        try:
            body = json.loads(response.content)
        except (UnicodeDecodeError, ValueError):
            return True
        return not _error_validator(self.root).is_valid(body)

    def _error(
        self, result: FuzzResult, error: Exception, label: str, text: str, phase: str
    ) -> None:
        """An error during the run: no usable answer from the target, or the fuzzer's own."""
        if not isinstance(
            error, (requests.RequestException, UnhealthyAPIError, UnresponsiveOperationError)
        ):
            first = " ".join(text.strip().splitlines()[:1])
            result.fuzzer_errors.append(f"{label}: {type(error).__name__}: {first}"[:600])
            return
        key = (NO_ANSWER, type(error).__name__, label)
        if key in result._seen:
            return
        result._seen.add(key)
        evidence = []
        where = "no answer"
        request = getattr(error, "request", None)
        if isinstance(request, requests.PreparedRequest):
            path = urllib.parse.urlsplit(str(request.url)).path
            where = f"{request.method} {path} got no answer"
            evidence.append(
                self._exchange(
                    str(request.method),
                    str(request.url),
                    {name: _text(value) for name, value in request.headers.items()},
                    _body_bytes(request.body),
                    None,
                    f"{type(error).__name__}: {error}"[:500],
                )
            )
        # A request the target drops or leaves unanswered is no better than a 5xx answer.
        result.findings.append(
            Finding(
                check=NO_ANSWER,
                requirement=SERVER_ERROR,
                title=type(error).__name__,
                detail=self._scrub(" ".join(str(error).split()))[:300],
                phase=phase,
                operation=label,
                where=where,
                evidence=evidence,
                curl="",
            )
        )

    def _evidence(self, interaction: Interaction) -> dict[str, Any]:
        """An exchange schemathesis recorded, as report evidence."""
        request = interaction.request
        response = interaction.response
        headers = {name: values[0] for name, values in request.headers.items() if values}
        return self._exchange(
            request.method,
            request.uri,
            headers,
            request.body,
            None
            if response is None
            else {
                "status": response.status_code,
                "headers": {
                    name.lower(): ", ".join(values) for name, values in response.headers.items()
                },
                "body": evidence_text(response.content),
                "elapsed": response.elapsed,
            },
            None if response is not None else "no response",
        )

    def _exchange(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None,
        response: dict[str, Any] | None,
        error: str | None,
    ) -> dict[str, Any]:
        """The exchange in the shape ``Exchange.evidence()`` gives, with no credentials."""
        elapsed = 0.0
        if response is not None:
            elapsed = float(response.pop("elapsed"))
            if response["body"] is not None:
                response["body"] = self._scrub(response["body"])
        request_body = evidence_text(body)
        return {
            "request": {
                "method": method,
                "url": self._scrub(url),
                "headers": {
                    name.lower(): self._scrub(value, header=name.lower() == "authorization")
                    for name, value in headers.items()
                },
                "body": self._scrub(request_body) if request_body is not None else None,
            },
            "response": response,
            "error": error,
            "elapsedSeconds": round(max(elapsed, 0.0), 4),
        }

    def _scrub(self, text: str, *, header: bool = False) -> str:
        """``text`` without the run's bearer token (Authorization becomes ``Bearer …``)."""
        if header and text.lower().startswith("bearer "):
            return "Bearer …"
        token = self.settings.token
        return text.replace(token, "…") if token else text


class _WaitingAdapter(HTTPAdapter):
    """Send a fuzzed request answered 429 again after its Retry-After, as the harness's client.

    SUITE-024's bounds: a ``Retry-After`` of at most 5 s in seconds (1 s when none is given),
    at most twice; a longer one, or a date, is not waited for. An operation whose document
    declares 429 (a login) gets its 429 back at once, to be judged. ``stop`` (the budget spent)
    ends a wait early and returns the 429 it had. Schemathesis sees only the last answer.
    """

    def __init__(self, fuzzer: Fuzzer, result: FuzzResult, stop: threading.Event) -> None:
        super().__init__()
        self._fuzzer = fuzzer
        self._result = result
        self._stop = stop
        self._ca_bundle: str | None = None

    def adopt(self, session: requests.Session) -> None:
        """Read the environment's settings for the target into ``session`` once.

        See ``_fuzz_environment.py``; its CA bundle is applied here, as requests did per request.
        """
        self._ca_bundle = read_once(session, self._fuzzer.settings.url)

    def send(  # type: ignore[override]
        self,
        request: requests.PreparedRequest,
        **kwargs: Any,  # noqa: ANN401 - HTTPAdapter.send's own options
    ) -> requests.Response:
        """Send ``request``; wait out a short 429 and send it again, at most twice."""
        self._result.note_adapted()
        if "verify" in kwargs:
            kwargs["verify"] = verify_with(kwargs["verify"], self._ca_bundle)
        response = super().send(request, **kwargs)
        if response.status_code != TOO_MANY_REQUESTS:
            return response
        method, url = str(request.method), str(request.url)
        if self._fuzzer.answers_429(method, url):
            return response
        attempts = 1
        while response.status_code == TOO_MANY_REQUESTS and attempts <= BUSY_RETRIES:
            delay = retry_delay(response.headers.get("retry-after"))
            if delay is None:
                break
            self._result.note_wait(self._fuzzer.label_at(method, url), delay)
            if self._stop.wait(delay):
                self._result.note_cut_short(method.upper(), url)
                break
            response.close()
            response = super().send(request, **kwargs)
            attempts += 1
        if response.status_code == TOO_MANY_REQUESTS:
            # Also after no wait (a long Retry-After): _throttled tells these from 429s to
            # requests that did not come through here.
            self._result.note_sent(method.upper(), url, attempts)
        return response


def _path(url: str) -> str:
    """The path of a URL."""
    return urllib.parse.urlsplit(url).path


def _first(headers: Mapping[str, list[str]], name: str) -> str:
    """The first value of a header, by case-insensitive name, or an empty string."""
    for key, values in headers.items():
        if key.lower() == name and values:
            return values[0]
    return ""


def _text(value: str | bytes) -> str:
    """A header value as text."""
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _body_bytes(body: object) -> bytes | None:
    """A prepared request's body as bytes."""
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    return str(body).encode("utf-8")


class _Context(EngineContext):
    """Schemathesis's engine context, each thread's session sending through ``adapter()``."""

    __slots__ = ("_adapter",)

    def __init__(self, *, adapter: Callable[[], HTTPAdapter], **kwargs: Any) -> None:  # noqa: ANN401
        super().__init__(**kwargs)
        self._adapter = adapter

    def get_session(self, *, operation: Any = None) -> requests.Session:  # noqa: ANN401
        """The thread's session (made once), with the adapter mounted for every URL."""
        if getattr(self._thread_local, "session", None) is None:
            session = super().get_session(operation=operation)
            adapter = self._adapter()
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if isinstance(adapter, _WaitingAdapter):
                adapter.adopt(session)
        return super().get_session(operation=operation)


def _execute(
    schema: BaseSchema, adapter: Callable[[], HTTPAdapter]
) -> tuple[EventStream, ExecutionControl | None]:
    """Start schemathesis on ``schema``: its event stream, and the control of its time budget.

    As ``Engine.execute`` does, keeping the engine's context so that the run can end its time
    budget the way schemathesis's own ``max_time`` does (the running scenario keeps its
    cases), and sending every request through ``adapter()`` (a 429 waited out, SUITE-024);
    without that part of schemathesis (another version), the stream alone: a 429 is then
    not waited out, and still not a finding (see :meth:`Fuzzer._add`).
    """
    engine = from_schema(schema)
    plan = getattr(engine, "_create_execution_plan", None)
    if plan is None or schema.config.auth.is_defined:
        return engine.execute(), None
    execution = plan()
    observations = None
    for phase in execution.phases:
        if (
            phase.name == PhaseName.STATEFUL_TESTING
            and phase.skip_reason in (None, PhaseSkipReason.NOT_APPLICABLE)
            and schema.config.phases.stateful.inference.is_algorithm_enabled(
                InferenceAlgorithm.LOCATION_HEADERS
            )
        ):
            observations = Observations()
    context = _Context(
        adapter=adapter, schema=schema, stop_event=threading.Event(), observations=observations
    )
    return EventStream(execution.execute(context), context.control.stop_event), context.control


def _forget_strategies() -> None:
    """Drop the strategies schemathesis keeps between schemas (rebuilt from them when needed).

    Its cache-clearing function is private; without it (another version) the strategies stay,
    and the stateful phase draws some patterns the fast way: other values, as valid.
    """
    try:
        from schemathesis.specs.openapi._caches import clear_all
    except ImportError:
        return
    clear_all()


_PARSE_LOCK = threading.Lock()


@contextmanager
def _parse_one_at_a_time() -> Iterator[None]:
    """Serialise ``ast.parse`` while fuzzing threads run.

    CPython 3.11 keeps the counter ``ast.parse`` uses to build the tree per interpreter, not per
    thread, so two threads parsing at once (hypothesis reads a test's source, schemathesis
    reads constants) fail with "SystemError: AST constructor recursion depth mismatch".
    """
    original = ast.parse

    def parse(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - ast.parse's own signature
        with _PARSE_LOCK:
            return original(*args, **kwargs)

    ast.parse = parse
    try:
        yield
    finally:
        ast.parse = original


def hypothesis_cache_dir() -> Path | None:
    """Where hypothesis keeps its Unicode tables between runs, or None if it cannot be made.

    With no example database (``fuzz.toml``), hypothesis writes only tables computed from
    Python's own Unicode data there (the characters of each category and codec): the same on
    every run, but two to three seconds of CPU to compute, so a per-user cache keeps them
    (``$XDG_CACHE_HOME/twin-conformance``, by default ``~/.cache``) rather than a fresh
    temporary folder each run. Nothing that could change a run's requests is kept.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "twin-conformance" / f"hypothesis-{hypothesis.__version__}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder if os.access(folder, os.W_OK) else None


@contextmanager
def _hypothesis_home(folder: Path) -> Iterator[None]:
    """Let hypothesis write its caches into ``folder``, not the folder the run started in."""
    hypothesis.configuration.set_hypothesis_home_dir(folder)
    try:
        yield
    finally:
        hypothesis.configuration.set_hypothesis_home_dir(None)


@contextmanager
def _lambda_descriptions_once() -> Iterator[None]:
    """Describe each lambda hypothesis meets once, not once per closure of it.

    Hypothesis names every ``.filter(lambda ...)`` and ``.map(lambda ...)`` of a strategy by
    finding the lambda in its source file and parsing it (tens of milliseconds each), and its
    own cache misses for the new closures schemathesis makes per operation: a fifth of a
    fuzzing run's CPU went there (99 descriptions of 12 lambdas in one run). A description
    depends only on the lambda's code and signature, so it is kept by those. The hook is
    private to hypothesis; without it (another hypothesis version) nothing changes.
    """
    from hypothesis.internal import lambda_sources

    original = getattr(lambda_sources, "_lambda_description", None)
    if original is None:
        yield
        return
    described: dict[tuple[Any, ...], str] = {}

    def describe(f: Any, *args: Any, **kwargs: Any) -> str:  # noqa: ANN401 - a lambda
        target = getattr(f, "__wrapped_target", f)
        try:
            key = (target.__code__, str(inspect.signature(target)), args, tuple(kwargs.items()))
            hash(key)
        except (AttributeError, TypeError, ValueError):
            return str(original(f, *args, **kwargs))
        if key not in described:
            described[key] = str(original(f, *args, **kwargs))
        return described[key]

    setattr(lambda_sources, "_lambda_description", describe)  # noqa: B010 - private hook
    try:
        yield
    finally:
        setattr(lambda_sources, "_lambda_description", original)  # noqa: B010 - private hook


@contextmanager
def _no_local_constants() -> Iterator[None]:
    """Draw from the seed alone, not also from constants in whatever source is loaded.

    Hypothesis mixes into generated data the literals of every non-library module imported so
    far, so the same seed sends other requests when other modules happen to be loaded: a full
    run and one check run alone, a source checkout and an installed wheel. The hook is private
    to hypothesis; without it (another hypothesis version) generation goes on as before.
    """
    from hypothesis.internal.conjecture import providers

    original = getattr(providers, "_get_local_constants", None)
    constants = getattr(providers, "Constants", None)
    cache = getattr(getattr(providers, "CONSTANTS_CACHE", None), "cache", None)
    if original is None or constants is None or cache is None or not hasattr(cache, "clear"):
        yield
        return
    empty = constants()
    setattr(providers, "_get_local_constants", lambda: empty)  # noqa: B010 - private hook
    cache.clear()
    try:
        yield
    finally:
        setattr(providers, "_get_local_constants", original)  # noqa: B010 - private hook
        cache.clear()
