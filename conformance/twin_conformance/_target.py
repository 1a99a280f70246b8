"""The node under test: a URL with credentials, a target file, or the embedded reference node.

The embedded node is the reference node started as a subprocess (``python -m twin_reference
serve``) in a temporary folder on loopback; the harness never imports it. Every way of reaching
a target fails fast with :class:`TargetError` naming what was wrong.
"""

from __future__ import annotations

import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from twin_conformance._client import (
    BUSY_RETRIES,
    MAX_RETRY_AFTER_SECONDS,
    TOO_MANY_REQUESTS,
    retry_delay,
)
from twin_conformance._tls import client_tls

START_TIMEOUT_SECONDS = 60.0
EMBEDDED_EMAIL = "admin@twin.example"
EMBEDDED_SECOND_EMAIL = "user@twin.example"
SECOND_EMAIL_ENV = "TWIN_TARGET_SECOND_EMAIL"
SECOND_PASSWORD_ENV = "TWIN_TARGET_SECOND_PASSWORD"  # noqa: S105 - a variable's name
"""The second user's password is read from the environment only, never from an option."""


class TargetError(Exception):
    """The target cannot be used: unreachable, bad target file, bad credentials."""


@dataclass
class Target:
    """Where the node under test is and how to log in to it."""

    url: str
    email: str | None = None
    password: str | None = None
    token: str | None = None
    profiles: list[str] | None = None
    image: str | None = None
    container: dict[str, Any] = field(default_factory=dict)
    embedded: bool = False
    committee_file: Path | None = None
    name: str | None = None
    """The implementation's name as its vendor declares it (the target file's ``name``)."""
    sign_key: Path | None = None
    """The certifier's key file that signs the report (the target file's ``signKey``)."""
    password_env: str | None = None
    token_env: str | None = None
    """The environment variables the credentials came from, named in reproduce commands."""
    second_email: str | None = None
    second_password: str | None = field(default=None, repr=False)
    """Another ordinary user of the target, for the rules about other users' data
    (TWIN-DOCUMENTS-050); without it those checks are skipped and the verdict incomplete."""
    second_password_env: str | None = None
    """The environment variable the second user's password came from."""


def check_url(url: str) -> str:
    """The target URL without a trailing slash; refuse anything but http(s) with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetError(f"target URL {url!r} is not an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise TargetError(f"target URL {url!r} must not carry a query or fragment")
    return url.rstrip("/")


_TARGET_FILE_KEYS = {
    "name",
    "url",
    "auth",
    "profiles",
    "image",
    "container",
    "committee",
    "signKey",
}
_CONTAINER_KEYS = {"port", "network", "env", "command"}


def load_target_file(path: Path) -> Target:
    """Read a target file (YAML or JSON): url or image, auth, claimed profiles, committee."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TargetError(f"target file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise TargetError(f"target file {path} is not YAML or JSON: {error}") from None
    if not isinstance(document, dict):
        raise TargetError(f"target file {path} must hold a mapping with at least url")
    unknown = sorted(set(document) - _TARGET_FILE_KEYS)
    if unknown:
        raise TargetError(f"target file {path}: unknown member(s) {', '.join(unknown)}")
    url, image = document.get("url"), document.get("image")
    if url is None and image is None:
        raise TargetError(f"target file {path}: needs url (or image)")
    if url is not None and not isinstance(url, str):
        raise TargetError(f"target file {path}: url must be a string")
    if image is not None and not isinstance(image, str):
        raise TargetError(f"target file {path}: image must be a string")
    auth = document.get("auth") or {}
    if not isinstance(auth, dict):
        raise TargetError(f"target file {path}: auth must be a mapping")
    unknown_auth = sorted(
        set(auth) - {"email", "password", "passwordEnv", "token", "tokenEnv", "secondUser"}
    )
    if unknown_auth:
        raise TargetError(f"target file {path}: unknown auth member(s) {', '.join(unknown_auth)}")
    second_email, second_password, second_env = _second_user(path, auth.get("secondUser"))
    password = auth.get("password")
    if "passwordEnv" in auth:
        password = os.environ.get(str(auth["passwordEnv"]))
        if password is None:
            raise TargetError(f"target file {path}: ${auth['passwordEnv']} is not set")
    token = auth.get("token")
    if "tokenEnv" in auth:
        token = os.environ.get(str(auth["tokenEnv"]))
        if token is None:
            raise TargetError(f"target file {path}: ${auth['tokenEnv']} is not set")
    profiles = document.get("profiles")
    if profiles is not None and not (
        isinstance(profiles, list) and all(isinstance(p, str) for p in profiles)
    ):
        raise TargetError(f"target file {path}: profiles must be a list of names")
    container = document.get("container") or {}
    _check_container(path, container, image)
    committee = document.get("committee")
    committee_file = None
    if committee is not None:
        committee_file = (path.parent / str(committee)).resolve()
        if not committee_file.is_file():
            raise TargetError(f"target file {path}: committee file {committee_file} not found")
    name = document.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        raise TargetError(f"target file {path}: name must be a non-empty string")
    sign_key = document.get("signKey")
    sign_key_file = None
    if sign_key is not None:
        if not isinstance(sign_key, str):
            raise TargetError(f"target file {path}: signKey must be a file name")
        sign_key_file = (path.parent / sign_key).resolve()
        if not sign_key_file.is_file():
            raise TargetError(f"target file {path}: signKey file {sign_key_file} not found")
    return Target(
        name=" ".join(name.split()) if isinstance(name, str) else None,
        sign_key=sign_key_file,
        password_env=str(auth["passwordEnv"]) if "passwordEnv" in auth else None,
        token_env=str(auth["tokenEnv"]) if "tokenEnv" in auth else None,
        url=check_url(url) if url else "",
        email=str(auth["email"]) if "email" in auth else None,
        password=str(password) if password is not None else None,
        token=str(token) if token is not None else None,
        second_email=second_email,
        second_password=second_password,
        second_password_env=second_env,
        profiles=profiles,
        image=image if url is None else None,
        container=container,
        committee_file=committee_file,
    )


def _second_user(path: Path, entry: object) -> tuple[str | None, str | None, str | None]:
    """A target file's ``auth.secondUser``: its email, and its password from ``passwordEnv``.

    Only a variable's name is taken, never a password written in the file: the file is
    often committed beside a pipeline.
    """
    if entry is None:
        return None, None, None
    if not isinstance(entry, dict):
        raise TargetError(f"target file {path}: auth.secondUser must be a mapping")
    unknown = sorted(set(entry) - {"email", "passwordEnv"})
    if unknown:
        raise TargetError(
            f"target file {path}: unknown auth.secondUser member(s) {', '.join(unknown)}"
            " (it takes email and passwordEnv, the name of the variable holding the password)"
        )
    email, env = entry.get("email"), entry.get("passwordEnv", SECOND_PASSWORD_ENV)
    if not (isinstance(email, str) and email.strip()):
        raise TargetError(f"target file {path}: auth.secondUser needs email")
    if not (isinstance(env, str) and env):
        raise TargetError(f"target file {path}: auth.secondUser.passwordEnv must be a name")
    password = os.environ.get(env)
    if not password:
        raise TargetError(f"target file {path}: ${env} (auth.secondUser's password) is not set")
    return email, password, env


def check_second_user(target: Target) -> None:
    """Refuse a second user given by halves, or the same as the first (exit 2, in words)."""
    if target.second_email and not target.second_password:
        raise TargetError(
            f"the second user {target.second_email} has no password: set "
            f"${SECOND_PASSWORD_ENV} (it is never taken on the command line)"
        )
    if target.second_email and target.second_email == target.email:
        raise TargetError(
            "the second user must be another user than the first: --second-email names "
            f"{target.second_email}, as --email does"
        )


def _check_container(path: Path, container: object, image: object) -> None:
    """Check a target file's ``container`` member: port, network, env, command."""
    if not isinstance(container, dict):
        raise TargetError(f"target file {path}: container must be a mapping")
    if container and image is None:
        raise TargetError(f"target file {path}: container needs image")
    unknown = sorted(set(container) - _CONTAINER_KEYS)
    if unknown:
        raise TargetError(f"target file {path}: unknown container member(s) {', '.join(unknown)}")
    port = container.get("port", 8080)
    if not (isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536):
        raise TargetError(f"target file {path}: container.port must be a TCP port number")
    if container.get("network", "bridge") not in ("bridge", "host"):
        raise TargetError(f"target file {path}: container.network must be bridge or host")
    env = container.get("env", {})
    if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
        raise TargetError(f"target file {path}: container.env must map names to strings")
    command = container.get("command", [])
    if not (isinstance(command, list) and all(isinstance(a, str) for a in command)):
        raise TargetError(f"target file {path}: container.command must be a list of strings")


def describe_transport_error(url: str, error: httpx.HTTPError) -> str:
    """A transport failure in words a user can act on: DNS, TLS, refused, silent, not HTTP."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    text = str(error)
    lowered = text.lower()
    if isinstance(error, httpx.ConnectTimeout):
        return f"no TCP connection to {host}:{port} within the probe's timeout"
    if isinstance(error, httpx.TimeoutException):
        return f"{host}:{port} accepted the connection but sent no answer in time"
    if isinstance(error, httpx.ConnectError):
        if any(
            word in lowered
            for word in ("name or service not known", "name resolution", "nodename nor servname")
        ):
            return f"the host name {host!r} does not resolve (DNS lookup failed)"
        if "ssl" in lowered or "tls" in lowered or "certificate" in lowered:
            return (
                f"the TLS handshake with {host}:{port} failed ({text[:160]}); "
                "is the target https, and its certificate valid?"
            )
        if "refused" in lowered:
            return f"nothing listens at {host}:{port} (connection refused)"
        return f"no connection to {host}:{port}: {text[:160]}"
    if isinstance(error, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return (
            f"{host}:{port} does not answer HTTP ({text[:160]}); "
            "is it an https port given as http, or not a web server?"
        )
    return f"{type(error).__name__}: {text[:160]}"


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response's body as a JSON object, when it is one."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def probe(url: str, timeout: float) -> dict[str, Any] | None:
    """Check the target is a TWIN node that answers; return its ``/info`` body when it has one.

    Raises :class:`TargetError` in words when the target cannot be reached (DNS, TLS,
    refused, silent, not HTTP) or is not a TWIN node at all: neither ``GET /health`` nor
    ``GET /info`` answers a JSON object, as with a wrong port or base path (SUITE-021). A TWIN
    node whose ``/info`` is present but malformed is not refused here: that is a core failure
    for the checks to report.
    """
    try:
        with httpx.Client(
            verify=client_tls(),
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            follow_redirects=False,
        ) as client:
            health = client.get(f"{url}/health")
            info = client.get(f"{url}/info")
    except httpx.HTTPError as error:
        raise TargetError(
            f"target {url} is unreachable: {describe_transport_error(url, error)}"
        ) from None
    if health.status_code >= 500:
        raise TargetError(f"{url}/health answered {health.status_code}: the node is not serving")
    health_body, info_body = _json_object(health), _json_object(info)
    if health_body is None and info_body is None:
        raise TargetError(
            f"{url} is not a TWIN node: GET /health answered {health.status_code} "
            f"({health.headers.get('content-type') or 'no content type'}) and GET /info "
            f"answered {info.status_code}, neither a JSON object; check the port and base path"
        )
    return info_body if info.status_code == 200 else None


@dataclass(frozen=True)
class Login:
    """A session token and where the target put it: the body, or only a cookie."""

    token: str
    cookie: str | None = None
    """The name of the Set-Cookie that carried the token when the body did not."""


def _looks_like_token(value: str) -> bool:
    parts = value.split(".")
    alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    return len(parts) == 3 and all(part and set(part) <= alphabet for part in parts)


def token_from_cookies(set_cookies: list[str]) -> tuple[str, str] | None:
    """(name, value) of the Set-Cookie that carries a session token, if any does."""
    for header in set_cookies:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0].strip().strip('"')
        if value and (_looks_like_token(value) or name.strip().lower() in _TOKEN_COOKIES):
            return name.strip(), value
    return None


_TOKEN_COOKIES = {"access_token", "token", "auth_token", "jwt", "session"}


def login(url: str, email: str, password: str, timeout: float) -> Login:
    """Log in with ``POST /authentication/login``; the token from the body, else a cookie.

    The TWIN node 0.0.2 sets the token only in an ``access_token`` cookie; the harness takes
    it from there as a real client would, and the core checks report the deviation once. A
    login the node throttles (429: an earlier run's failed logins from this address, say) is
    sent again after its Retry-After, as the checks' requests are (SUITE-024); one still
    throttled stops the run saying so, not that the credentials were refused.
    """
    attempts = 0
    try:
        with httpx.Client(verify=client_tls(), timeout=timeout, follow_redirects=False) as client:
            while True:
                response = client.post(
                    f"{url}/authentication/login", json={"email": email, "password": password}
                )
                attempts += 1
                delay = retry_delay(response.headers.get("retry-after"))
                if response.status_code != TOO_MANY_REQUESTS or attempts > BUSY_RETRIES:
                    break
                if delay is None:
                    break
                time.sleep(delay)
    except httpx.HTTPError as error:
        raise TargetError(
            f"login to {url} failed: {describe_transport_error(url, error)}"
        ) from None
    if response.status_code == TOO_MANY_REQUESTS:
        asked = response.headers.get("retry-after")
        raise TargetError(
            f"the target throttles the harness's logins: login as {email} answered 429 (too "
            f"many requests) {attempts} time{'s' if attempts > 1 else ''}, the last asking "
            + (f"Retry-After {asked.strip()[:60]!r}" if asked else "no Retry-After")
            + f", honouring its Retry-After up to {MAX_RETRY_AFTER_SECONDS:g} s; run again "
            "once it has passed"
        )
    if response.status_code != 200:
        raise TargetError(
            f"the target refused the credentials: login as {email} answered {response.status_code}"
        )
    body = _json_object(response)
    token = body.get("token") if body else None
    if isinstance(token, str) and token:
        return Login(token)
    cookie = token_from_cookies(response.headers.get_list("set-cookie"))
    if cookie is not None:
        return Login(cookie[1], cookie=cookie[0])
    raise TargetError(f"login to {url} answered 200 with no token in its body or its cookies")


def check_token(url: str, token: str, timeout: float) -> None:
    """Refuse a token the target does not accept (401 on ``GET /authentication/refresh``)."""
    try:
        with httpx.Client(verify=client_tls(), timeout=timeout, follow_redirects=False) as client:
            response = client.get(
                f"{url}/authentication/refresh", headers={"authorization": f"Bearer {token}"}
            )
    except httpx.HTTPError as error:
        raise TargetError(
            f"checking the token with {url} failed: {describe_transport_error(url, error)}"
        ) from None
    if response.status_code in (401, 403):
        raise TargetError(
            "the target refused the token: GET /authentication/refresh answered "
            f"{response.status_code}"
        )


LISTENING_LINE = "twin-node listening on "


def read_listening_url(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The URL a ``twin-node serve`` process prints once it listens (its stdout is a pipe)."""
    if process.stdout is None:
        raise TargetError("twin-node was started without a pipe for its output")
    deadline = time.monotonic() + timeout
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    buffer = b""
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise TargetError(f"twin-node exited with {process.returncode} before listening")
            if selector.select(timeout=0.2):
                buffer += os.read(process.stdout.fileno(), 4096)
                for line in buffer.decode(errors="replace").splitlines():
                    if line.startswith(LISTENING_LINE):
                        return line.removeprefix(LISTENING_LINE).strip()
    finally:
        selector.close()
    raise TargetError("twin-node did not print its address in time")


class EmbeddedNode:
    """The reference node in a temporary folder on 127.0.0.1, for a run with no target."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="twin-conformance-node-"))
        self.password = secrets.token_urlsafe(18)
        self.second_password = secrets.token_urlsafe(18)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> Target:
        """Start the node and wait until it answers ``/health``."""
        environment = {**os.environ, "TWIN_NODE_PASSWORD": self.password}
        environment["TWIN_NODE_ADMIN_EMAIL"] = EMBEDDED_EMAIL
        # An ordinary second user, so that the rules about other users' data are checked too.
        environment["TWIN_NODE_USER_EMAIL"] = EMBEDDED_SECOND_EMAIL
        environment["TWIN_NODE_USER_PASSWORD"] = self.second_password
        log = (self.directory / "node.log").open("ab")
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "twin_reference",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    "0",
                    "--data-dir",
                    str(self.directory / "data"),
                    "--log-level",
                    "warning",
                ],
                stdout=subprocess.PIPE,
                stderr=log,
                env=environment,
            )
        finally:
            log.close()
        try:
            self.url = self._read_url()
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return Target(
            url=self.url,
            email=EMBEDDED_EMAIL,
            password=self.password,
            embedded=True,
            second_email=EMBEDDED_SECOND_EMAIL,
            second_password=self.second_password,
        )

    def log(self) -> str:
        """The last lines the node wrote to stderr."""
        path = self.directory / "node.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-20:])

    def _read_url(self) -> str:
        if self.process is None:
            raise TargetError("the embedded reference node was not started")
        try:
            return read_listening_url(self.process, START_TIMEOUT_SECONDS)
        except TargetError as error:
            raise TargetError(f"the embedded reference node: {error}\n{self.log()}") from None

    def _wait_healthy(self) -> None:
        if self.process is None:
            raise TargetError("the embedded reference node was not started")
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise TargetError(f"the embedded reference node exited:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TargetError("the embedded reference node did not become healthy in time")

    def stop(self) -> None:
        """Stop the node and remove its folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.directory, ignore_errors=True)
