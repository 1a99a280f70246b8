"""The DAG notation now lives in the harness package; this name stays for older imports."""

from __future__ import annotations

from twin_vectors.dag_notation import (
    LETTERS,
    NotationDag,
    block_name,
    make_committee,
    parse_dag,
    signing_key,
)

__all__ = ["LETTERS", "NotationDag", "block_name", "make_committee", "parse_dag", "signing_key"]
