"""Faults of the consensus profile: commit order, block validity, peer blocks, checkpoints."""

from __future__ import annotations

import json
from typing import Any

from tests.broken_variants._asgi import Context, HttpRequest, HttpResponse, rule, with_json
from twin_spec import TwinSpecError, block_digest


def _reverse_commit_blocks(commits: object) -> None:
    """Reverse each commit's block list: the leader comes first, rounds run backwards."""
    for commit in commits if isinstance(commits, list) else []:
        if isinstance(commit, dict) and isinstance(commit.get("blocks"), list):
            commit["blocks"].reverse()


async def wrong_commit_order(request: HttpRequest, context: Context) -> HttpResponse:
    """Linearise every commit in reverse order, in evaluation results and in /commits."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    _reverse_commit_blocks(body.get("commits"))
    return with_json(response, body)


async def duplicate_author_ancestor_accepted(
    request: HttpRequest, context: Context
) -> HttpResponse:
    """Report a block with two ancestors by one author as valid in evaluation verdicts."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    for verdict in body.get("verdicts", []):
        error = verdict.get("error") if isinstance(verdict, dict) else None
        if isinstance(error, dict) and error.get("code") == "duplicateAncestorAuthor":
            verdict["result"] = "valid"
            del verdict["error"]
    return with_json(response, body)


async def refused_block_accepted(request: HttpRequest, context: Context) -> HttpResponse:
    """Answer 202 to a peer block the receive rules refuse (it is still not stored)."""
    response = await context.forward(request)
    body = response.json()
    properties = body.get("properties") if isinstance(body, dict) else None
    if response.status != 400 or not isinstance(properties, dict) or "code" not in properties:
        return response
    try:
        block: Any = json.loads(request.body)
        digest = block_digest(block).hex()
    except (ValueError, TwinSpecError, TypeError):
        return response
    if not isinstance(block, dict):
        return response
    reference = {"round": block.get("round"), "author": block.get("author"), "digest": digest}
    return with_json(response, {"block": reference}, status=202)


async def checkpoint_served_differs(request: HttpRequest, context: Context) -> HttpResponse:
    """Serve checkpoints whose summary timestamp is one millisecond later than certified."""
    response = await context.forward(request)
    body = response.json()
    if response.status != 200 or not isinstance(body, dict):
        return response
    checkpoints = body.get("checkpoints", [body])
    for checkpoint in checkpoints if isinstance(checkpoints, list) else []:
        summary = checkpoint.get("summary") if isinstance(checkpoint, dict) else None
        if isinstance(summary, dict) and isinstance(summary.get("timestampMs"), int):
            summary["timestampMs"] += 1
    return with_json(response, body)


RULES = {
    "wrong-commit-order": (
        rule("POST", "/consensus/evaluate", wrong_commit_order),
        rule("GET", "/consensus/commits", wrong_commit_order),
    ),
    "duplicate-author-ancestor-accepted": (
        rule("POST", "/consensus/evaluate", duplicate_author_ancestor_accepted),
    ),
    "refused-block-accepted": (rule("POST", "/consensus/blocks", refused_block_accepted),),
    "checkpoint-served-differs": (
        rule("GET", "/consensus/checkpoints(/[^/]+)?", checkpoint_served_differs),
    ),
}
