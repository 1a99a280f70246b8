"""The Docker engine, reached through the docker SDK (never the docker CLI).

Interop's container clients need an engine; without one the run is refused in one line
(exit 2) before anything starts. Local command clients need none.
"""

from __future__ import annotations

import importlib
from typing import Any

PING_TIMEOUT_SECONDS = 10
CALL_TIMEOUT_SECONDS = 600
"""Each later call's limit: creating a container copies its image on some storage drivers
(vfs), which took about a minute on a loaded 2-core machine."""


class EngineUnavailable(RuntimeError):
    """No Docker engine answers (or the docker SDK is not installed), in words."""


def docker_client() -> Any:  # noqa: ANN401 - docker.DockerClient, an optional dependency
    """A docker SDK client whose engine answered a ping; :class:`EngineUnavailable` if none."""
    try:
        docker: Any = importlib.import_module("docker")
        docker.from_env  # noqa: B018 - the SDK, not a folder named docker on the path
    except (ImportError, AttributeError):
        raise EngineUnavailable(
            "the docker SDK is not installed (pip install 'twin-conformance[containers]')"
        ) from None
    try:
        client = docker.from_env(timeout=PING_TIMEOUT_SECONDS)
        client.ping()
    except Exception as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise EngineUnavailable(f"no Docker engine answers ({reason[:200]})") from None
    # The engine answered at once; what it is asked next may take longer, within a bound.
    client.api.timeout = CALL_TIMEOUT_SECONDS
    return client


def engine_problem() -> str | None:
    """Why container clients cannot run here, or None when an engine answers."""
    try:
        docker_client().close()
    except EngineUnavailable as error:
        return str(error)
    return None
