"""HTTP errors of the reference node, each rendered as a TWIN error body (TWIN-CORE-040)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Self

from twin_spec import TRANSACTION_TOO_LARGE, JSONValue, TransactionLimitError


class ApiError(Exception):
    """An error answered to the client: a status, a TWIN error name, a message, details."""

    status: ClassVar[int] = 500
    name: ClassVar[str] = "GeneralError"

    def __init__(self, message: str, **properties: JSONValue) -> None:
        super().__init__(message)
        self.message = message
        self.properties = properties
        self.headers: dict[str, str] = {}

    def with_headers(self, headers: Mapping[str, str]) -> Self:
        """Add response headers (such as Retry-After) to the error's answer."""
        self.headers.update(headers)
        return self

    def body(self) -> dict[str, JSONValue]:
        """Return the TWIN error body: name, message, and properties when there are any."""
        # TWIN-CORE-040 "The body of every 4xx and 5xx response MUST be a JSON object with a
        # non-empty string name and a string message."
        body: dict[str, JSONValue] = {"name": self.name, "message": self.message}
        if self.properties:
            body["properties"] = dict(self.properties)
        return body


class ValidationError(ApiError):
    """The request is malformed; ``properties.field`` names the part that is wrong."""

    # TWIN-CORE-052 "A malformed request MUST be answered 400 with properties.field naming the
    # part that is wrong (body.document, path.identity, ...)."

    status = 400
    name = "ValidationError"


class UnauthorizedError(ApiError):
    """No valid bearer token was presented."""

    status = 401
    name = "UnauthorizedError"


class ForbiddenError(ApiError):
    """The caller is authenticated but may not do this."""

    status = 403
    name = "ForbiddenError"


class NotFoundError(ApiError):
    """The resource does not exist."""

    status = 404
    name = "NotFoundError"


class MethodNotAllowedError(ApiError):
    """The route exists, but not with this method."""

    status = 405
    name = "MethodNotAllowedError"


class NotAcceptableError(ApiError):
    """No representation the client accepts can be produced."""

    status = 406
    name = "NotAcceptableError"


class RequestTimeoutError(ApiError):
    """The request (its body) did not arrive within the node's bound."""

    status = 408
    name = "RequestTimeoutError"


class ConflictError(ApiError):
    """The request conflicts with the current state (a duplicate id, a stale version)."""

    status = 409
    name = "ConflictError"


class GoneError(ApiError):
    """The resource existed and was permanently removed (a deactivated DID)."""

    status = 410
    name = "GoneError"


class PayloadTooLargeError(ApiError):
    """The request body is over the node's documented limit."""

    status = 413
    name = "PayloadTooLargeError"


class UnsupportedMediaTypeError(ApiError):
    """The request body is not JSON."""

    status = 415
    name = "UnsupportedMediaTypeError"


class TooManyRequestsError(ApiError):
    """The client has made too many failed attempts; Retry-After says when to try again."""

    status = 429
    name = "TooManyRequestsError"


class NotImplementedApiError(ApiError):
    """The node does not implement this (for example a DID method it cannot resolve)."""

    status = 501
    name = "NotImplementedError"


class ServiceUnavailableError(ApiError):
    """The node cannot answer now (the ledger did not commit in time)."""

    status = 503
    name = "ServiceUnavailableError"


def transaction_refused(error: TransactionLimitError, field: str) -> ApiError:
    """The answer to a write whose transaction breaks a transaction limit (TWIN-ANCHORING-061).

    413 for the size, 400 for the others; ``properties.code`` names the limit and
    ``properties.limit`` gives its bound where it has one.
    """
    properties: dict[str, JSONValue] = {"field": field, "code": error.code}
    if error.maximum is not None:
        properties["limit"] = error.maximum
    if error.code == TRANSACTION_TOO_LARGE:
        return PayloadTooLargeError(error.message, **properties)
    return ValidationError(error.message, **properties)


class WritePending(Exception):
    """A write whose transaction the node holds but has not committed in time (TWIN-CORE-067).

    It is answered 202 with the transaction's digest and where to look its outcome up, never
    as a failure: the transaction may still be committed.
    """

    def __init__(self, digest: bytes, message: str) -> None:
        super().__init__(message)
        self.digest = digest
        self.message = message
