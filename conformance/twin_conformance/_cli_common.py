"""What every ``twin-conformance`` command shares: the exit-2 line, reading and writing files."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from twin_conformance._results import EXIT_COULD_NOT_RUN


def could_not_run(reason: str) -> NoReturn:
    """Print the one-line reason and exit 2."""
    click.echo(f"twin-conformance: could not run: {reason}", err=True)
    sys.exit(EXIT_COULD_NOT_RUN)


def read_json(path: Path, what: str) -> Any:  # noqa: ANN401 - any JSON document
    """A JSON file, or exit 2 naming the file and what was wrong."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        could_not_run(f"{what} {path}: {error.strerror}")
    except ValueError as error:
        could_not_run(f"{what} {path} is not JSON: {error}")


def write_atomic(path: Path, text: str) -> None:
    """Write a file whole or not at all."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
