"""Client definitions: how the harness starts one implementation as a committee member.

A client definition (YAML or JSON, schema ``spec/schemas/client.schema.json``, rules
``spec/prose/launch.md``) is a local command template or a container image. It is read and
checked whole before anything starts: a file that cannot be used is a
:class:`ClientDefinitionError` naming the file and the member that is wrong.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from twin_conformance._paths import spec_dir

PLACEHOLDERS = (
    "python",
    "genesis",
    "validator_key",
    "validator_index",
    "host",
    "port",
    "peer_urls",
    "data_dir",
    "member_dir",
    "admin_email",
    "admin_password_file",
)
"""What a command template may name in braces (launch.md, "Command templates")."""

CONTRACT_VARIABLES = (
    "TWIN_GENESIS_FILE",
    "TWIN_VALIDATOR_KEY_FILE",
    "TWIN_VALIDATOR_INDEX",
    "TWIN_HOST",
    "TWIN_PORT",
    "TWIN_PEER_URLS_FILE",
    "TWIN_DATA_DIR",
    "TWIN_MEMBER_DIR",
    "TWIN_ADMIN_EMAIL",
    "TWIN_ADMIN_PASSWORD_FILE",
)
"""The environment the harness gives every member (launch.md, "Environment")."""

SHIPPED_CLIENTS = Path(__file__).resolve().parent / "clients"
MAX_DEFINITION_BYTES = 256 * 1024
DEFAULT_START_SECONDS = 90.0
DEFAULT_STOP_SECONDS = 10.0
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class ClientDefinitionError(ValueError):
    """A client definition that cannot be used: the file and what is wrong with it."""


@dataclass(frozen=True)
class ClientDefinition:
    """One implementation to start: a local command or a container image."""

    name: str
    source: Path
    admin_email: str
    command: tuple[str, ...] = ()
    image: str | None = None
    container_command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    profiles: tuple[str, ...] | None = None
    start_seconds: float = DEFAULT_START_SECONDS
    stop_seconds: float = DEFAULT_STOP_SECONDS

    @property
    def is_container(self) -> bool:
        """Whether the client is a container image (it needs a Docker engine)."""
        return self.image is not None


@functools.cache
def _schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        (spec_dir() / "schemas" / "client.schema.json").read_text(encoding="utf-8")
    )
    return loaded


def resolve_client_path(argument: str) -> Path:
    """The definition file an argument names: a path, or the name of a shipped definition."""
    path = Path(argument)
    if path.is_file():
        return path
    shipped = SHIPPED_CLIENTS / path.name
    if path.parent == Path() and shipped.is_file():
        return shipped
    raise ClientDefinitionError(
        f"client definition {argument}: no such file (shipped definitions: "
        + ", ".join(sorted(p.name for p in SHIPPED_CLIENTS.glob("*.yaml")))
        + ")"
    )


def load_client_definition(path: Path) -> ClientDefinition:
    """Read and check a client definition; raise :class:`ClientDefinitionError` if unusable."""
    from jsonschema import Draft202012Validator

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_DEFINITION_BYTES + 1)
    except OSError as error:
        raise ClientDefinitionError(f"client definition {path}: {error.strerror}") from None
    if len(raw) > MAX_DEFINITION_BYTES:
        raise ClientDefinitionError(
            f"client definition {path} is over {MAX_DEFINITION_BYTES} bytes"
        )
    try:
        document = yaml.safe_load(raw.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ClientDefinitionError(
            f"client definition {path} is not YAML or JSON: {first}"
        ) from None
    errors = sorted(
        Draft202012Validator(_schema()).iter_errors(document),
        key=lambda error: (len(error.absolute_path), list(map(str, error.absolute_path))),
    )
    if errors:
        first_error = errors[0]
        where = "/".join(str(part) for part in first_error.absolute_path) or "(the document)"
        raise ClientDefinitionError(
            f"client definition {path}: {where}: {_short(first_error.message)}"
            + (" (give command or image, not both)" if first_error.validator == "oneOf" else "")
        )
    assert isinstance(document, dict)  # noqa: S101 - the schema says it is an object
    templates = [*document.get("command", []), *document.get("container", {}).get("command", [])]
    for template in templates:
        for name in _PLACEHOLDER.findall(template):
            if name not in PLACEHOLDERS:
                raise ClientDefinitionError(
                    f"client definition {path}: command names {{{name}}}, which the launch"
                    f" contract does not define (it defines {', '.join(PLACEHOLDERS)})"
                )
    container = document.get("container", {})
    return ClientDefinition(
        name=str(document["name"]),
        source=path,
        admin_email=str(document["admin"]["email"]),
        command=tuple(document.get("command", ())),
        image=document.get("image"),
        container_command=tuple(container.get("command", ())),
        env={str(k): str(v) for k, v in document.get("env", {}).items()},
        profiles=tuple(document["profiles"]) if "profiles" in document else None,
        start_seconds=float(document.get("startSeconds", DEFAULT_START_SECONDS)),
        stop_seconds=float(document.get("stopSeconds", DEFAULT_STOP_SECONDS)),
    )


def expand(template: str, values: dict[str, str]) -> str:
    """A command template with its placeholders replaced (names checked on loading)."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def _short(message: str) -> str:
    return message if len(message) <= 300 else message[:297] + "..."
