"""Identity profiles: the public part on the ledger, the private part in the node's own storage.

Blocks are served to anyone (``GET /consensus/blocks``), so the ledger holds the public part
and only a salted SHA-256 of the private part; the private part and its salt stay in the
``profile_private`` table of this node, found again by that hash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any

from twin_reference._errors import ApiError, NotFoundError, ValidationError, WritePending
from twin_reference._node import Node
from twin_reference._transactions import PROFILE_CREATE, PROFILE_REMOVE, PROFILE_UPDATE
from twin_spec import JSONValue, TwinSpecError, canonicalize

PROPERTY_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}\Z")
FILTER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
MAX_NAMES = 32
DEFAULT_PAGE = 20
MAX_PAGE = 100
# A filter keeps these members whatever properties it names.
_ALWAYS = ("@context", "@type")


def property_names(text: str | None, field: str) -> list[str] | None:
    """Parse a comma-separated list of property names, or None when it is absent."""
    if text is None:
        return None
    names = text.split(",")
    if len(names) > MAX_NAMES or not all(PROPERTY_NAME.match(name) for name in names):
        raise ValidationError(
            f"{field} must be 1 to {MAX_NAMES} comma-separated property names of 1 to 64"
            " characters from A-Z a-z 0-9 _ - .",
            field=field,
        )
    return names


def pick(profile: dict[str, Any] | None, names: list[str] | None) -> dict[str, Any] | None:
    """Keep only the named properties (and @context, @type); all of them when names is None."""
    if profile is None or names is None:
        return profile
    return {key: value for key, value in profile.items() if key in _ALWAYS or key in names}


async def create_profile(node: Node, caller: str, body: dict[str, Any]) -> None:
    """Create the caller's profile: the public part and the private hash through the ledger."""
    await _write(
        node, caller, PROFILE_CREATE, body.get("publicProfile"), body.get("privateProfile")
    )


async def update_profile(node: Node, caller: str, body: dict[str, Any]) -> None:
    """Replace the parts of the caller's profile the body gives; keep the others."""
    current = _ledger_row(node, caller)
    public = body["publicProfile"] if "publicProfile" in body else current[0]
    private = body["privateProfile"] if "privateProfile" in body else _private(node, caller)
    await _write(node, caller, PROFILE_UPDATE, public, private)


async def remove_profile(node: Node, caller: str) -> None:
    """Remove the caller's profile; its private part is deleted from this node's storage."""
    _ledger_row(node, caller)
    await node.execute(PROFILE_REMOVE, caller, {})
    with node.store.write() as connection:
        connection.execute("DELETE FROM profile_private WHERE identity = ?", (caller,))


def get_profile(
    node: Node, caller: str, public_names: list[str] | None, private_names: list[str] | None
) -> dict[str, JSONValue]:
    """The caller's own profile, both parts."""
    # TWIN-IDENTITY-080 "GET returns the caller's own identity, publicProfile and
    # privateProfile; no request reads another identity's private profile."
    public, _hash = _ledger_row(node, caller)
    answer: dict[str, Any] = {"identity": caller}
    if public is not None:
        answer["publicProfile"] = pick(public, public_names)
    private = _private(node, caller)
    if private is not None:
        answer["privateProfile"] = pick(private, private_names)
    return answer


def get_public(node: Node, identity: str, names: list[str] | None) -> dict[str, JSONValue]:
    """The public part of an identity's profile, for anyone."""
    # TWIN-IDENTITY-081 "GET /identity/profile/{identity}/public MUST answer the public profile
    # and MUST NOT reveal a property of the private profile": only the ledger's public part is
    # read here, never the private table.
    public, _hash = _ledger_row(node, identity, field="path.identity")
    result: dict[str, JSONValue] = pick(public, names) or {}
    return result


def query_profiles(
    node: Node,
    filters: list[tuple[str, str]],
    names: list[str] | None,
    cursor: str | None,
    page_size: int,
) -> dict[str, JSONValue]:
    """A page of public profiles in identity order, with the cursor of the next page."""
    # TWIN-IDENTITY-082 "GET /identity/profile/query MUST answer public profiles only, at most
    # pageSize per page, with a cursor while more remain; following the cursors MUST list
    # every matching profile exactly once": keyset paging on the identity, which never repeats.
    sql = "SELECT identity, public FROM profiles WHERE identity > ?"
    params: list[object] = [cursor or ""]
    for name, value in filters:
        sql += " AND json_extract(public, ?) = ?"
        params += [f'$."{name}"', value]
    sql += " ORDER BY identity LIMIT ?"
    params.append(page_size + 1)
    rows = node.store.all(sql, *params)
    items: list[JSONValue] = []
    for identity, public in rows[:page_size]:
        item: dict[str, JSONValue] = {"identity": str(identity)}
        loaded = json.loads(str(public))
        if loaded is not None:
            item["publicProfile"] = pick(loaded, names)
        items.append(item)
    answer: dict[str, JSONValue] = {"items": items}
    if len(rows) > page_size:
        answer["cursor"] = str(rows[page_size - 1][0])
    return answer


def private_hash(salt: bytes, private: dict[str, Any]) -> str:
    """The ledger's record of a private part: sha256 of the salt and the JCS of the part."""
    digest = hashlib.sha256(salt + canonicalize(private)).digest()
    return "sha256:" + base64.b64encode(digest).decode("ascii")


async def _write(node: Node, caller: str, kind: str, public: object, private: object) -> None:
    payload: dict[str, JSONValue] = {"publicProfile": _object(public, "publicProfile")}
    checked_private = _object(private, "privateProfile")
    if checked_private is None:
        payload["privateHash"] = None
    else:
        salt = secrets.token_bytes(16)
        try:
            digest = private_hash(salt, checked_private)
        except TwinSpecError as exc:
            # TWIN-CORE-054: a part JCS cannot canonicalise is bad input (400), never a crash.
            raise ValidationError(
                f"body.privateProfile cannot be canonicalised: {exc.message}",
                field="body.privateProfile",
            ) from None
        payload["privateHash"] = digest
        # Kept before the transaction is submitted, so that a write answered 202 (pending)
        # finds its private part once it commits; reads take the part whose hash the ledger
        # holds, so a staged part of a write that failed is never answered.
        with node.store.write() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO profile_private (identity, hash, salt, private)"
                " VALUES (?, ?, ?, ?)",
                (caller, digest, salt, json.dumps(checked_private, separators=(",", ":"))),
            )
    try:
        await node.execute(kind, caller, payload)
    except WritePending:
        raise
    except ApiError:
        if checked_private is not None:
            with node.store.write() as connection:
                connection.execute(
                    "DELETE FROM profile_private WHERE identity = ? AND hash = ?",
                    (caller, payload["privateHash"]),
                )
        raise
    with node.store.write() as connection:
        connection.execute(
            "DELETE FROM profile_private WHERE identity = ? AND hash IS NOT ?",
            (caller, payload["privateHash"]),
        )


def _object(value: object, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError(f"body.{name} must be a JSON object", field=f"body.{name}")
    return value


def _ledger_row(
    node: Node, identity: str, *, field: str | None = None
) -> tuple[dict[str, Any] | None, str | None]:
    """The ledger's public part and private hash of an identity's profile, or 404."""
    row = node.store.one("SELECT public, private_hash FROM profiles WHERE identity = ?", identity)
    if row is None:
        # The caller's own profile is named by its token, not by a part of the request.
        where: dict[str, JSONValue] = {} if field is None else {"field": field}
        raise NotFoundError(f"{identity[:80]} has no profile", **where)
    public = json.loads(str(row[0]))
    return public, None if row[1] is None else str(row[1])


def _private(node: Node, identity: str) -> dict[str, Any] | None:
    row = node.store.one(
        "SELECT p.private FROM profile_private p JOIN profiles l"
        " ON l.identity = p.identity AND l.private_hash = p.hash WHERE p.identity = ?",
        identity,
    )
    if row is None:
        return None
    private: dict[str, Any] = json.loads(str(row[0]))
    return private
