"""The fault in the node's worker process too, where the public evaluate route runs.

The reference node runs ``POST /consensus/evaluate`` in a spawned worker process
(``twin_reference._offload``), which imports the node afresh: a patch applied only in the
variant's main process would not reach it. The variant's pool therefore starts its worker with
the fault's patch as part of the worker's initializer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from tests.broken_variants._patching import rebind


def apply_in_worker(fault_name: str, then: Callable[..., None] | None, *args: Any) -> None:
    """Run the node's own worker initializer (with its ``initargs``), then the fault's patch."""
    from tests.broken_variants.catalog import fault_named

    if then is not None:
        then(*args)
    patch = fault_named(fault_name).patch
    if patch is not None:
        patch()


def patch_worker_pool(fault_name: str) -> None:
    """Make every worker pool the node starts apply ``fault_name``'s patch in its process."""
    from twin_reference import _offload

    pool = getattr(_offload, "ProcessPoolExecutor")  # noqa: B009 - a name it imports

    def with_fault(
        *args: Any, initializer: Callable[..., None] | None = None, **kwargs: Any
    ) -> Any:
        starter = functools.partial(apply_in_worker, fault_name, initializer)
        return pool(*args, initializer=starter, **kwargs)

    rebind(_offload, "ProcessPoolExecutor", with_fault)
